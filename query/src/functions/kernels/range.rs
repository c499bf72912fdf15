//! Range-vector kernels that depend on the order of samples: `rate`, `increase`, `delta`,
//! `irate`, `idelta`, `changes`, `resets`, `deriv`, `predict_linear` and
//! `double_exponential_smoothing` (formerly `holt_winters`).
//!
//! Owns the arithmetic on the float samples of one series inside one window. The engine selects
//! the samples of the left-open window `(range_start_ms, range_end_ms]`, removes stale markers,
//! and passes them sorted by strictly increasing timestamp. Histogram samples are not handled here
//! (Prometheus ignores or rejects them per function; that is the engine's decision).
//!
//! Contracts (all return `None` where Prometheus emits no element):
//! - [`extrapolated_rate`]: needs ≥ 2 samples. `delta` = (`is_counter`=false, `is_rate`=false),
//!   `increase` = (true, false), `rate` = (true, true). Counter resets add the pre-reset value.
//!   The result is extrapolated to the window edges; an edge farther than 1.1 × the average sample
//!   interval from the nearest sample is only extrapolated by half an interval. Counters are not
//!   extrapolated below zero. `rate` divides by the window length in seconds.
//! - [`irate`] / [`idelta`]: the last two samples; `None` with < 2 samples or when the two share a
//!   timestamp. `irate` treats a decrease as a counter reset (the result is then `last / Δt`).
//! - [`changes`] / [`resets`]: counts over consecutive pairs; `None` on an empty slice. Two NaNs in
//!   a row are not a change.
//! - [`deriv`] / [`predict_linear`]: least-squares regression with Kahan-compensated sums, ≥ 2
//!   samples. `deriv` takes the first sample's time as x-origin; `predict_linear` takes the
//!   evaluation time, and returns `slope * horizon_s + intercept`. All-equal y gives slope 0
//!   (or NaN if that y is ±Inf).
//! - [`double_exponential_smoothing`]: validates 0 < sf < 1 and 0 < tf < 1 first (NaN passes, as in
//!   Prometheus, because every comparison with NaN is false) and returns `Err` with the message
//!   Prometheus fails the query with; then needs ≥ 2 samples.

use cairn_format::Sample;

use super::aggr::kahan_inc;

/// `rate`, `increase` and `delta` over the samples of `(range_start_ms, range_end_ms]`.
pub fn extrapolated_rate(
    samples: &[Sample],
    range_start_ms: i64,
    range_end_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let (first, last) = match samples {
        [first, .., last] => (*first, *last),
        _ => return None,
    };
    let mut result = last.v - first.v;
    if is_counter {
        for pair in samples.windows(2) {
            if pair[1].v < pair[0].v {
                result += pair[0].v;
            }
        }
    }

    let mut duration_to_start = (first.t - range_start_ms) as f64 / 1000.0;
    let mut duration_to_end = (range_end_ms - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let average_interval = sampled_interval / (samples.len() - 1) as f64;

    // Extrapolate all the way to an edge only if a sample is "close enough" (within 110% of the
    // average interval) to it; otherwise assume the series starts/ends half an interval out.
    let threshold = average_interval * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = average_interval / 2.0;
    }
    if is_counter {
        // A counter can't go below zero: don't extrapolate past the point where it would be 0.
        if result > 0.0 && first.v >= 0.0 {
            let duration_to_zero = sampled_interval * (first.v / result);
            if duration_to_zero < duration_to_start {
                duration_to_start = duration_to_zero;
            }
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_interval / 2.0;
    }

    // Samples have strictly increasing timestamps, so the interval is never 0; stay finite anyway.
    let mut factor = if sampled_interval != 0.0 {
        (sampled_interval + duration_to_start + duration_to_end) / sampled_interval
    } else {
        1.0
    };
    if is_rate {
        factor /= (range_end_ms - range_start_ms) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// The last two samples, if there are at least two with distinct timestamps.
fn last_two(samples: &[Sample]) -> Option<(Sample, Sample)> {
    match samples {
        [.., prev, last] if last.t != prev.t => Some((*prev, *last)),
        _ => None,
    }
}

/// `irate`: per-second rate between the last two samples, with counter-reset handling.
pub fn irate(samples: &[Sample]) -> Option<f64> {
    let (prev, last) = last_two(samples)?;
    let diff = if last.v < prev.v { last.v } else { last.v - prev.v };
    Some(diff / ((last.t - prev.t) as f64 / 1000.0))
}

/// `idelta`: difference between the last two samples.
pub fn idelta(samples: &[Sample]) -> Option<f64> {
    let (prev, last) = last_two(samples)?;
    Some(last.v - prev.v)
}

/// `changes`: how often the value changed between consecutive samples.
pub fn changes(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.windows(2).filter(|p| p[1].v != p[0].v && !(p[1].v.is_nan() && p[0].v.is_nan())).count();
    Some(n as f64)
}

/// `resets`: how often the value decreased between consecutive samples.
pub fn resets(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    Some(samples.windows(2).filter(|p| p[1].v < p[0].v).count() as f64)
}

/// Least-squares fit `v = slope * x + intercept` with `x` in seconds relative to
/// `intercept_time_ms`. `samples` must not be empty.
pub fn linear_regression(samples: &[Sample], intercept_time_ms: i64) -> (f64, f64) {
    let Some(first) = samples.first() else {
        return (f64::NAN, f64::NAN);
    };
    let init_y = first.v;
    let mut const_y = true;
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    for (i, s) in samples.iter().enumerate() {
        if const_y && i > 0 && s.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (s.t - intercept_time_ms) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(s.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * s.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2);
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv`: per-second slope of the regression line.
pub fn deriv(samples: &[Sample]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    // An x-origin near the data avoids precision loss (Prometheus issue 2674).
    Some(linear_regression(samples, samples[0].t).0)
}

/// `predict_linear(v[range], horizon_s)` evaluated at `eval_ts_ms`.
pub fn predict_linear(samples: &[Sample], eval_ts_ms: i64, horizon_s: f64) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(samples, eval_ts_ms);
    Some(slope * horizon_s + intercept)
}

/// Why `double_exponential_smoothing` fails the query.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum SmoothingError {
    #[error("invalid smoothing factor. Expected: 0 < sf < 1, got: {}", go_percent_f(*.0))]
    SmoothingFactor(f64),
    #[error("invalid trend factor. Expected: 0 < tf < 1, got: {}", go_percent_f(*.0))]
    TrendFactor(f64),
}

/// Formats like Go's `%f`: six decimals, `+Inf`/`-Inf`/`NaN` for non-finite values.
fn go_percent_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v:.6}")
    }
}

/// Checks the factors of `double_exponential_smoothing` like Prometheus (NaN passes).
pub fn validate_smoothing_factors(sf: f64, tf: f64) -> Result<(), SmoothingError> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(SmoothingError::SmoothingFactor(sf));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(SmoothingError::TrendFactor(tf));
    }
    Ok(())
}

/// `double_exponential_smoothing(v[range], sf, tf)`: Holt's linear smoothing, last smoothed value.
pub fn double_exponential_smoothing(
    samples: &[Sample],
    sf: f64,
    tf: f64,
) -> Result<Option<f64>, SmoothingError> {
    validate_smoothing_factors(sf, tf)?;
    if samples.len() < 2 {
        return Ok(None);
    }
    // s1 is the current smoothed value, s0 the previous one, b the trend.
    let mut s0 = 0.0;
    let mut s1 = samples[0].v;
    let mut b = samples[1].v - samples[0].v;
    for (i, s) in samples.iter().enumerate().skip(1) {
        let x = sf * s.v;
        // The trend starts as the first difference and is smoothed from the second step on.
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Ok(Some(s1))
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // expected values are quoted verbatim from Prometheus's tests
mod tests {
    use super::*;
    use crate::functions::kernels::test_util::{assert_close, assert_some_close, series};

    const MIN: i64 = 60_000;

    #[test]
    fn rate_needs_two_samples() {
        assert_eq!(extrapolated_rate(&[], 0, 1000, true, true), None);
        assert_eq!(extrapolated_rate(&series(500, 1, &[1.0]), 0, 1000, true, true), None);
    }

    #[test]
    fn rate_increase_delta_from_functions_test() {
        // functions.test: http_requests{path="/foo"} 0+10x10 at 5m steps, evaluated at 50m over
        // [50m]: samples at 5m..50m (the sample at 0 is outside the left-open window).
        let foo = series(5 * MIN, 5 * MIN, &[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]);
        // Start is 5m away = 1 interval (< 1.1 intervals): extrapolate fully, but not below zero:
        // the zero point is exactly at 0, so increase = 100.
        assert_some_close(extrapolated_rate(&foo, 0, 50 * MIN, true, false), 100.0);
        assert_some_close(extrapolated_rate(&foo, 0, 50 * MIN, true, true), 100.0 / 3000.0);
        // delta is not limited by zero: (90 + 5m extrapolation) = 100 as well.
        assert_some_close(extrapolated_rate(&foo, 0, 50 * MIN, false, false), 100.0);
        // http_requests{path="/bar"} 0 1 2 3 4 5 1 2 3 4 5 at 5m: one reset.
        let bar = series(5 * MIN, 5 * MIN, &[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        // Raw increase 4 + 5 (reset) = 9 over 45m of samples, extrapolated by 5m at the start
        // (zero point 9m before the first sample is farther): 9 * 50/45 = 10.
        assert_some_close(extrapolated_rate(&bar, 0, 50 * MIN, true, false), 10.0);
        assert_some_close(extrapolated_rate(&bar, 0, 50 * MIN, true, true), 10.0 / 3000.0);
    }

    #[test]
    fn increase_zero_point_cases_from_functions_test() {
        // increase(http_requests_total[100m]) at 50m: every sample from 0 to 50m is inside.
        let all = |start: f64, step: f64| -> Vec<Sample> {
            (0..=10).map(|i| Sample::new(i * 5 * MIN, start + step * i as f64)).collect()
        };
        let range = (-50 * MIN, 50 * MIN);
        assert_some_close(extrapolated_rate(&all(0.0, 10.0), range.0, range.1, true, false), 100.0);
        assert_some_close(extrapolated_rate(&all(10.0, 10.0), range.0, range.1, true, false), 105.0);
        assert_some_close(extrapolated_rate(&all(1.0, 10.0), range.0, range.1, true, false), 101.0);
        // /bar 0+18x5 0+18x5: a reset in the middle.
        let bar = series(0, 5 * MIN, &[0.0, 18.0, 36.0, 54.0, 72.0, 90.0, 0.0, 18.0, 36.0, 54.0, 72.0]);
        assert_some_close(extrapolated_rate(&bar, range.0, range.1, true, false), 162.0);
    }

    #[test]
    fn delta_from_functions_test() {
        // delta(http_requests[20m]) at 20m: /foo 0 50 100 150 200 → 200, /bar 200 150 … 0 → -200.
        let foo = series(5 * MIN, 5 * MIN, &[50.0, 100.0, 150.0, 200.0]);
        assert_some_close(extrapolated_rate(&foo, 0, 20 * MIN, false, false), 200.0);
        let bar = series(5 * MIN, 5 * MIN, &[150.0, 100.0, 50.0, 0.0]);
        assert_some_close(extrapolated_rate(&bar, 0, 20 * MIN, false, false), -200.0);
    }

    #[test]
    fn rate_limits_extrapolation_to_half_interval() {
        // Samples every 10s from 30s to 60s in a (0, 120s] window: both edges are far away, so
        // only 5s are added on each side: 30 * (30+5+5)/30 = 40.
        let s = series(30_000, 10_000, &[0.0, 10.0, 20.0, 30.0]);
        assert_some_close(extrapolated_rate(&s, 0, 120_000, false, false), 40.0);
        // Counter starting at 0: no extrapolation before the zero point.
        assert_some_close(extrapolated_rate(&s, 0, 120_000, true, false), 35.0);
    }

    #[test]
    fn rate_counter_zero_point_limit() {
        // Counter 5 → 10 over 10s starting 10s after the window start: the zero point is 10s
        // before the first sample, equal to the start distance, so the full extrapolation holds;
        // a counter starting at 8 has its zero point only... farther: no limit.
        let s = vec![Sample::new(10_000, 5.0), Sample::new(20_000, 10.0)];
        assert_some_close(extrapolated_rate(&s, 0, 20_000, true, false), 10.0);
        // Starting value 1: zero point 2s before the first sample; limited to that.
        let s = vec![Sample::new(10_000, 1.0), Sample::new(20_000, 6.0)];
        assert_some_close(extrapolated_rate(&s, 0, 20_000, true, false), 5.0 * 12.0 / 10.0);
        // Gauge: no such limit.
        assert_some_close(extrapolated_rate(&s, 0, 20_000, false, false), 10.0);
        // Negative first value: the zero-point rule does not apply.
        let s = vec![Sample::new(10_000, -1.0), Sample::new(20_000, 4.0)];
        assert_some_close(extrapolated_rate(&s, 0, 20_000, true, false), 10.0);
    }

    #[test]
    fn rate_with_nan_and_inf() {
        // A NaN in the middle neither counts as a reset nor enters the difference.
        let s = series(10_000, 10_000, &[1.0, f64::NAN, 3.0]);
        assert_some_close(extrapolated_rate(&s, 0, 30_000, true, true), 0.1);
        // A NaN at either end poisons the result.
        let s = series(10_000, 10_000, &[f64::NAN, 2.0, 3.0]);
        assert!(extrapolated_rate(&s, 0, 30_000, true, true).is_some_and(f64::is_nan));
        let s = series(10_000, 10_000, &[1.0, f64::INFINITY]);
        assert_eq!(extrapolated_rate(&s, 0, 20_000, false, false), Some(f64::INFINITY));
    }

    #[test]
    fn irate_idelta() {
        // functions.test: testcounter_reset_middle 0+10x4 0+10x5 at 5m; idelta/irate at the end
        // use the last two samples.
        let s = series(0, 5 * MIN, &[0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 10.0]);
        assert_some_close(idelta(&s), 10.0);
        assert_some_close(irate(&s), 10.0 / 300.0);
        // The last pair is a reset: irate uses the last value.
        let s = series(0, 10_000, &[0.0, 40.0, 10.0]);
        assert_some_close(irate(&s), 1.0);
        assert_some_close(idelta(&s), -30.0);
        assert_eq!(irate(&series(0, 1, &[1.0])), None);
        assert_eq!(idelta(&[]), None);
        // Equal timestamps: no result.
        let s = vec![Sample::new(5, 1.0), Sample::new(5, 2.0)];
        assert_eq!(irate(&s), None);
        assert_eq!(idelta(&s), None);
        // functions.test: http_requests_nan 1 NaN NaN 5 11 at 5m → irate NaN NaN NaN 0.02,
        // idelta NaN NaN NaN 6.
        let nan = series(0, 5 * MIN, &[1.0, f64::NAN, f64::NAN, 5.0, 11.0]);
        for end in 2..=4 {
            assert!(irate(&nan[..end]).is_some_and(f64::is_nan));
            assert!(idelta(&nan[..end]).is_some_and(f64::is_nan));
        }
        assert_some_close(irate(&nan), 0.02);
        assert_some_close(idelta(&nan), 6.0);
        // NaN after a value is not a reset (NaN < x is false).
        let s = series(0, 1000, &[5.0, f64::NAN]);
        assert!(irate(&s).is_some_and(f64::is_nan));
    }

    #[test]
    fn changes_and_resets() {
        // functions.test: http_requests{path="/foo"} 1 2 3 0 1 0 0 1 2 0 at 5m; at 50m over [50m]
        // the window (0, 50m] holds the samples from 5m on: changes 7, resets 3.
        let s = series(5 * MIN, 5 * MIN, &[2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0]);
        assert_some_close(changes(&s), 7.0);
        assert_some_close(resets(&s), 3.0);
        // /bar 1 2 3 4 5 1 2 3 4 5: changes 8, resets 1; /biz 0 0 0 0 0 1 1 1 1 1: changes 1.
        let s = series(5 * MIN, 5 * MIN, &[2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_some_close(changes(&s), 8.0);
        assert_some_close(resets(&s), 1.0);
        let s = series(5 * MIN, 5 * MIN, &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_some_close(changes(&s), 1.0);
        assert_some_close(resets(&s), 0.0);
        // x{a="b"} NaN NaN NaN → 0 changes; x{a="c"} 0 NaN 0 → 2 changes.
        assert_some_close(changes(&series(0, 5 * MIN, &[f64::NAN, f64::NAN, f64::NAN])), 0.0);
        assert_some_close(changes(&series(0, 5 * MIN, &[0.0, f64::NAN, 0.0])), 2.0);
        // NaN → NaN is not a change; NaN → 1 and 1 → NaN are.
        let s = series(0, 1, &[f64::NAN, f64::NAN, 1.0, f64::NAN]);
        assert_some_close(changes(&s), 2.0);
        assert_some_close(resets(&s), 0.0);
        assert_some_close(changes(&series(0, 1, &[7.0])), 0.0);
        assert_eq!(changes(&[]), None);
        assert_eq!(resets(&[]), None);
    }

    #[test]
    fn deriv_and_predict_linear() {
        // functions.test: testcounter_reset_middle 0+10x4 0+10x5 at 5m;
        // deriv(...[100m]) at 50m = 0.010606060606060607.
        let s = series(0, 5 * MIN, &[0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_some_close(deriv(&s), 0.010606060606060607);
        // A perfect line: 1 per second.
        let line = series(0, 1000, &[0.0, 1.0, 2.0, 3.0]);
        assert_some_close(deriv(&line), 1.0);
        assert_some_close(predict_linear(&line, 3000, 10.0), 13.0);
        assert_some_close(predict_linear(&line, 5000, 0.0), 5.0);
        // functions.test: predict_linear(testcounter_reset_middle_total[50m], 3600) at 50m = 70,
        // and with @ 3000 over [55m] (all 11 samples) at 50m = 76.81818181818181.
        assert_some_close(predict_linear(&s[1..], 50 * MIN, 3600.0), 70.0);
        assert_some_close(predict_linear(&s, 50 * MIN, 3600.0), 76.81818181818181);
        // http_requests_total 0+80x10: deriv over [50m] at 50m = 0.26666666666666666.
        let c =
            series(5 * MIN, 5 * MIN, &[80.0, 160.0, 240.0, 320.0, 400.0, 480.0, 560.0, 640.0, 720.0, 800.0]);
        assert_some_close(deriv(&c), 0.26666666666666666);
        assert_eq!(deriv(&series(0, 1, &[1.0])), None);
        assert_eq!(predict_linear(&[], 0, 1.0), None);
    }

    #[test]
    fn regression_constant_values() {
        let s = series(0, 1000, &[3.0, 3.0, 3.0]);
        assert_eq!(linear_regression(&s, 0), (0.0, 3.0));
        assert_some_close(predict_linear(&s, 2000, 3600.0), 3.0);
        let s = series(0, 1000, &[f64::INFINITY, f64::INFINITY]);
        assert!(deriv(&s).is_some_and(f64::is_nan));
        let s = series(0, 1000, &[f64::NAN, f64::NAN]);
        assert!(deriv(&s).is_some_and(f64::is_nan));
        // functions.test: http_requests_inf -Inf 0+80x10 Inf; at 100m over [100m] the window holds
        // 0..800 and +Inf → deriv and predict_linear are NaN.
        let mut v: Vec<f64> = (0..=10).map(|i| 80.0 * i as f64).collect();
        v.push(f64::INFINITY);
        let s = series(5 * MIN, 5 * MIN, &v);
        assert!(deriv(&s).is_some_and(f64::is_nan));
        assert!(predict_linear(&s, 100 * MIN, 6000.0).is_some_and(f64::is_nan));
    }

    #[test]
    fn regression_far_from_origin_is_accurate() {
        // Large timestamps (year ~2024) and small slope: the x-origin choice keeps precision.
        let t0 = 1_700_000_000_000;
        let s: Vec<Sample> = (0..100).map(|i| Sample::new(t0 + i * 15_000, 1e6 + i as f64 * 0.15)).collect();
        assert_some_close(deriv(&s), 0.01);
    }

    #[test]
    fn smoothing_validation_and_messages() {
        let s = series(0, 1000, &[1.0, 2.0]);
        let err = double_exponential_smoothing(&s, 1.0, 0.5).unwrap_err();
        assert_eq!(err.to_string(), "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000");
        let err = double_exponential_smoothing(&s, 0.5, 0.0).unwrap_err();
        assert_eq!(err.to_string(), "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000");
        let err = validate_smoothing_factors(f64::NEG_INFINITY, 0.5).unwrap_err();
        assert_eq!(err.to_string(), "invalid smoothing factor. Expected: 0 < sf < 1, got: -Inf");
        // The factors are validated even when there are too few samples.
        assert!(double_exponential_smoothing(&[], 2.0, 0.5).is_err());
        // NaN factors pass validation (all comparisons false) and poison the result.
        assert!(double_exponential_smoothing(&s, f64::NAN, 0.5).unwrap().is_some_and(f64::is_nan));
        assert_eq!(double_exponential_smoothing(&series(0, 1, &[1.0]), 0.5, 0.5), Ok(None));
    }

    #[test]
    fn smoothing_values() {
        // functions.test: a linear series (0+10x1000 at 10s) smoothed over [1m] at 8000s gives
        // the last value exactly, for rising and falling trends.
        let up: Vec<Sample> = (795..=800).map(|i| Sample::new(i * 10_000, 10.0 * i as f64)).collect();
        assert_eq!(double_exponential_smoothing(&up, 0.01, 0.1), Ok(Some(8000.0)));
        let down: Vec<Sample> = (795..=800).map(|i| Sample::new(i * 10_000, -20.0 * i as f64)).collect();
        assert_eq!(double_exponential_smoothing(&down, 0.01, 0.1), Ok(Some(-16000.0)));
        // By hand: values 0,10,20 with sf=0.5, tf=0.5:
        // i=1: b=10, s1 = 0.5*10 + 0.5*(0+10) = 10
        // i=2: b = 0.5*(10-0) + 0.5*10 = 10, s1 = 0.5*20 + 0.5*(10+10) = 20
        let s = series(0, 1000, &[0.0, 10.0, 20.0]);
        assert_eq!(double_exponential_smoothing(&s, 0.5, 0.5), Ok(Some(20.0)));
        // A non-linear series: 0, 10, 0 with sf=0.5, tf=0.5:
        // i=1: s1 = 10; i=2: b = 0.5*10 + 0.5*10 = 10, s1 = 0 + 0.5*(10+10) = 10.
        let s = series(0, 1000, &[0.0, 10.0, 0.0]);
        assert_eq!(double_exponential_smoothing(&s, 0.5, 0.5), Ok(Some(10.0)));
        let got = double_exponential_smoothing(&series(0, 1000, &[1.0, 4.0, 2.0, 8.0]), 0.3, 0.6);
        // i=1: b=3, s1 = 0.3*4 + 0.7*(1+3) = 4
        // i=2: b = 0.6*(4-1) + 0.4*3 = 3, s1 = 0.6 + 0.7*(4+3) = 5.5
        // i=3: b = 0.6*(5.5-4) + 0.4*3 = 2.1, s1 = 2.4 + 0.7*(5.5+2.1) = 7.72
        assert_close(got.unwrap().unwrap(), 7.72);
    }
}
