//! Pure numeric kernels of PromQL functions and aggregations, with Prometheus 3.x semantics.
//!
//! Owns: arithmetic on plain `f64` values and on slices of [`cairn_format::Sample`] — no labels,
//! no series selection, no annotations text, no AST. The engine picks the samples (stale markers
//! already removed, window already applied), calls a kernel, and turns a `None` into "no output
//! element" and the flags/errors returned here into Prometheus's annotations and error texts.
//!
//! Files, split by what they compute:
//! - [`range`]: rate/increase/delta, irate/idelta, changes/resets, deriv/predict_linear,
//!   double_exponential_smoothing — kernels that look at the order of samples in a window.
//! - [`over_time`]: the `*_over_time` family (and `ts_of_*_over_time`).
//! - [`aggr`]: Kahan/Neumaier summation, `quantile`, accumulators for sum/avg/stddev/stdvar/min/max
//!   aggregations.
//! - [`histogram`]: classic (`le`-bucket) `histogram_quantile` and `histogram_fraction`.
//! - [`math`]: element-wise instant-vector math (abs, round, clamp, trig, ...).
//! - [`time`]: calendar functions (year, month, ...) in UTC without a date crate.
//!
//! Conventions: a kernel that Prometheus would make produce "no element" returns `None`; a kernel
//! that Prometheus would make fail the whole query returns `Err`. Values are compared the way Go
//! compares float64 (NaN unequal to everything), and `min`/`max` follow Go's `math.Min`/`math.Max`
//! where Prometheus uses them.

pub mod aggr;
pub mod histogram;
pub mod math;
pub mod over_time;
pub mod range;
pub mod time;

#[cfg(test)]
mod props;

#[cfg(test)]
pub(crate) mod test_util {
    use cairn_format::Sample;

    /// Samples at `start_ms + i*step_ms` with the given values.
    pub fn series(start_ms: i64, step_ms: i64, values: &[f64]) -> Vec<Sample> {
        values.iter().enumerate().map(|(i, &v)| Sample::new(start_ms + i as i64 * step_ms, v)).collect()
    }

    /// Relative/absolute closeness as the Prometheus test runner checks it (1e-6 relative).
    pub fn close(a: f64, b: f64) -> bool {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        if a == b {
            return true;
        }
        let diff = (a - b).abs();
        diff <= 1e-6 * a.abs().max(b.abs()) || diff < 1e-12
    }

    #[track_caller]
    pub fn assert_close(got: f64, want: f64) {
        assert!(close(got, want), "got {got:?}, want {want:?}");
    }

    #[track_caller]
    pub fn assert_some_close(got: Option<f64>, want: f64) {
        match got {
            Some(g) => assert_close(g, want),
            None => panic!("got None, want {want:?}"),
        }
    }
}
