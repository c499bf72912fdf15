//! Numeric helpers of PromQL aggregations (`sum`, `avg`, `min`, `max`, `stddev`, `stdvar`,
//! `quantile`), shared with the `*_over_time` kernels.
//!
//! Owns the arithmetic only. Grouping, label handling, skipping histogram samples (with their info
//! annotations), `count`, `group`, `topk`/`bottomk`/`limitk` and `count_values` are the engine's.
//!
//! Contracts:
//! - [`kahan_inc`] is one step of Kahan summation with Neumaier's improvement, exactly as
//!   Prometheus's `kahansum.Inc`: when the running sum becomes ±Inf the compensation is reset to 0.
//!   [`KahanSum`] wraps it; `sum()` returns `sum + c` (or `sum` alone once it is ±Inf). Both the
//!   `sum` aggregation and `sum_over_time` are `KahanSum::new()` + `add` of every value.
//! - [`AvgAcc`] is the `avg` aggregation of Prometheus 3: a Kahan sum divided by the count at the
//!   end, switching to an incremental (Kahan-compensated) mean `mean*(n-1)/n + v/n` only when the
//!   sum would overflow to ±Inf; an infinite mean is kept when a finite value or a same-signed
//!   infinity arrives. Mixed +Inf/-Inf gives NaN, any NaN gives NaN. (Older 3.x releases used
//!   `mean + (v/n - mean/n)` in the incremental branch; the two differ only in the last ULPs.)
//! - [`VarianceAcc`] is the `stddev`/`stdvar` aggregation (Welford's algorithm without Kahan, as
//!   Prometheus's aggregation does). If the *first* value is NaN or ±Inf the result is NaN.
//!   Population variance (divides by n).
//! - [`max_step`]/[`min_step`] fold like Prometheus's `max`/`min`: a NaN accumulator is replaced by
//!   the next value, a NaN value never replaces a non-NaN accumulator. So the result is NaN only
//!   when every value is NaN.
//! - [`sort_asc_cmp`]/[`sort_desc_cmp`] order values like `sort()`/`sort_desc()`: NaN always last.
//! - [`format_value_label`] renders a value like Go's `strconv.FormatFloat(v, 'f', -1, 64)`, as
//!   `count_values` uses for its label (`+Inf`, `-Inf`, `NaN`, no exponent).
//! - [`quantile`] sorts its input in place (NaN first, as Prometheus's sort which treats NaN as
//!   the smallest value) and interpolates linearly between the two closest ranks:
//!   empty or NaN q → NaN, q < 0 → -Inf, q > 1 → +Inf.

/// One Kahan–Neumaier summation step: returns the new `(sum, compensation)`.
#[inline]
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A compensated sum of floats.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KahanSum {
    pub sum: f64,
    pub c: f64,
}

impl KahanSum {
    /// An empty sum (0), as `sum_over_time` starts.
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub fn add(&mut self, v: f64) {
        (self.sum, self.c) = kahan_inc(v, self.sum, self.c);
    }

    /// The compensated total.
    pub fn sum(&self) -> f64 {
        if self.sum.is_infinite() { self.sum } else { self.sum + self.c }
    }
}

/// The `avg` aggregation over a stream of floats (at least one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AvgAcc {
    sum: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl AvgAcc {
    /// Starts with the group's first value.
    pub fn new(first: f64) -> Self {
        AvgAcc { sum: first, c: 0.0, mean: first, count: 1.0, incremental: false }
    }

    pub fn add(&mut self, f: f64) {
        self.count += 1.0;
        if !self.incremental {
            let (new_sum, new_c) = kahan_inc(f, self.sum, self.c);
            if !new_sum.is_infinite() {
                self.sum = new_sum;
                self.c = new_c;
                return;
            }
            // The sum would overflow: continue with an incremental mean from here on.
            self.incremental = true;
            self.mean = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        if self.mean.is_infinite() {
            if f.is_infinite() && (self.mean > 0.0) == (f > 0.0) {
                // Same-signed infinities: the mean is already right (and Inf - Inf would be NaN).
                return;
            }
            if f.is_finite() {
                // An infinite mean stays infinite when a finite value is added.
                return;
            }
        }
        // mean_n = mean_{n-1} * (n-1)/n + f/n, with the compensation scaled alike.
        let q = (self.count - 1.0) / self.count;
        (self.mean, self.c) = kahan_inc(f / self.count, q * self.mean, q * self.c);
    }

    /// Number of values seen.
    pub fn count(&self) -> f64 {
        self.count
    }

    /// The mean of all values added so far.
    pub fn value(&self) -> f64 {
        if self.incremental { self.mean + self.c } else { (self.sum + self.c) / self.count }
    }
}

/// The `stddev`/`stdvar` aggregation over a stream of floats (at least one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VarianceAcc {
    /// Running sum of squared deviations (NaN if the first value was not finite).
    m2: f64,
    mean: f64,
    count: f64,
}

impl VarianceAcc {
    /// Starts with the group's first value.
    pub fn new(first: f64) -> Self {
        let m2 = if first.is_finite() { 0.0 } else { f64::NAN };
        VarianceAcc { m2, mean: first, count: 1.0 }
    }

    pub fn add(&mut self, f: f64) {
        self.count += 1.0;
        let delta = f - self.mean;
        self.mean += delta / self.count;
        self.m2 += delta * (f - self.mean);
    }

    /// Population variance (`stdvar`).
    pub fn stdvar(&self) -> f64 {
        self.m2 / self.count
    }

    /// Population standard deviation (`stddev`).
    pub fn stddev(&self) -> f64 {
        (self.m2 / self.count).sqrt()
    }
}

/// One step of the `max` aggregation / `max_over_time`.
#[inline]
pub fn max_step(acc: f64, v: f64) -> f64 {
    if acc < v || acc.is_nan() { v } else { acc }
}

/// One step of the `min` aggregation / `min_over_time`.
#[inline]
pub fn min_step(acc: f64, v: f64) -> f64 {
    if acc > v || acc.is_nan() { v } else { acc }
}

/// Total order used for sorting before taking quantiles: NaN first, then ascending.
#[inline]
pub fn nan_first_cmp(a: &f64, b: &f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Comparator for `sort()`: ascending, NaN last.
pub fn sort_asc_cmp(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Comparator for `sort_desc()`: descending, NaN last.
pub fn sort_desc_cmp(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it: the shortest decimal that
/// reads back to the same value, never in exponent form; `+Inf`, `-Inf`, `NaN`, `-0`.
pub fn format_value_label(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust's Display for f64 is the shortest round-trip representation without exponent.
        format!("{v}")
    }
}

/// The φ-quantile of `values` (sorted in place). See the module contract.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_unstable_by(nan_first_cmp);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // expected values are quoted verbatim from Prometheus's tests
mod tests {
    use super::*;
    use crate::functions::kernels::test_util::assert_close;

    fn avg(values: &[f64]) -> f64 {
        let mut acc = AvgAcc::new(values[0]);
        for &v in &values[1..] {
            acc.add(v);
        }
        acc.value()
    }

    fn var(values: &[f64]) -> VarianceAcc {
        let mut acc = VarianceAcc::new(values[0]);
        for &v in &values[1..] {
            acc.add(v);
        }
        acc
    }

    #[test]
    fn kahan_recovers_small_terms() {
        // aggregators.test: sum of 2, 8, 1e100, -1e100 is 10 with Kahan summation.
        let mut s = KahanSum::new();
        for v in [2.0, 8.0, 1e100, -1e100] {
            s.add(v);
        }
        assert_eq!(s.sum(), 10.0);
        // Plain summation would lose them.
        assert_eq!(2.0 + 8.0 + 1e100 - 1e100, 0.0);
    }

    #[test]
    fn kahan_infinities_and_nan() {
        let mut s = KahanSum::new();
        s.add(f64::INFINITY);
        s.add(2.0);
        assert_eq!(s.sum(), f64::INFINITY);
        s.add(f64::NEG_INFINITY);
        assert!(s.sum().is_nan());
        let mut s = KahanSum::new();
        s.add(f64::NAN);
        s.add(1.0);
        assert!(s.sum().is_nan());
        assert_eq!(KahanSum::new().sum(), 0.0);
    }

    #[test]
    fn avg_matches_aggregators_test() {
        assert_eq!(avg(&[8.0, 10.0, 12.0]), 10.0);
        assert_eq!(avg(&[2.0, 8.0, 1e100, -1e100]), 2.5);
        assert_eq!(avg(&[0.0, f64::INFINITY, f64::INFINITY, 0.0]), f64::INFINITY);
        assert_eq!(avg(&[f64::INFINITY, 0.0, f64::INFINITY]), f64::INFINITY);
        assert_eq!(avg(&[f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0]), f64::NEG_INFINITY);
        assert_eq!(avg(&[f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert!(avg(&[f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(avg(&[f64::NEG_INFINITY, f64::NEG_INFINITY, f64::INFINITY]).is_nan());
        assert!(avg(&[f64::NEG_INFINITY, 0.0, f64::INFINITY]).is_nan());
        assert!(avg(&[f64::NAN, 2.0]).is_nan());
        assert!(avg(&[2.0, f64::NAN]).is_nan());
        assert_eq!(avg(&[f64::INFINITY, 2.0]), f64::INFINITY);
        assert_eq!(avg(&[2.0, f64::INFINITY]), f64::INFINITY);
        assert_eq!(avg(&[f64::NEG_INFINITY, 2.0]), f64::NEG_INFINITY);
        assert!(avg(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert_eq!(avg(&[5.0]), 5.0);
    }

    #[test]
    fn avg_near_overflow() {
        let big = 9.988465674311579e+307;
        assert_close(avg(&[big, big, big, big]), big);
        assert_close(avg(&[-big, -big, -big, -big]), -big);
        assert_eq!(avg(&[-big, -big, big, big]), 0.0);
        // The incremental branch: 1e308 + 1e308 overflows, the mean does not.
        assert_close(avg(&[1e308, 1e308, 1e308]), 1e308);
        assert_close(avg(&[1e308, 1e308, 0.0, 0.0]), 5e307);
        assert_close(avg(&[1e308, 1e308, -1e308, -1e308]), 0.0);
        // Exact mean of repeated values (aggregators.test: avg(foo) == 52 for 12 series).
        assert_eq!(avg(&[52.0; 12]), 52.0);
        assert_eq!(avg(&[52.0; 8]), 52.0);
    }

    #[test]
    fn variance_matches_aggregators_test() {
        // http_requests at 50m: 100, 200, ..., 800.
        let v = var(&[100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0]);
        assert_close(v.stddev(), 229.12878474779);
        assert_close(v.stdvar(), 52500.0);
        let v = var(&[100.0, 300.0, 500.0, 700.0]);
        assert_close(v.stddev(), 223.60679774998);
        assert_close(v.stdvar(), 50000.0);
        // Float precision: two equal values give exactly 0.
        let v = var(&[13.3, 13.3]);
        assert_eq!(v.stdvar(), 0.0);
        assert_eq!(v.stddev(), 0.0);
        let v = var(&[1.0, 2.0]);
        assert_eq!(v.stddev(), 0.5);
        assert_eq!(v.stdvar(), 0.25);
        assert_eq!(var(&[7.0]).stddev(), 0.0);
    }

    #[test]
    fn variance_non_finite() {
        assert!(var(&[f64::NAN]).stdvar().is_nan());
        assert!(var(&[f64::INFINITY]).stdvar().is_nan());
        assert!(var(&[1.0, f64::INFINITY]).stdvar().is_nan());
        assert!(var(&[1.0, f64::NAN, 2.0]).stddev().is_nan());
    }

    #[test]
    fn min_max_nan_handling() {
        let fold = |f: fn(f64, f64) -> f64, vs: &[f64]| vs[1..].iter().fold(vs[0], |a, &v| f(a, v));
        assert_eq!(fold(max_step, &[f64::NAN, 1.0, 3.0, 2.0]), 3.0);
        assert_eq!(fold(max_step, &[1.0, f64::NAN, 3.0]), 3.0);
        assert_eq!(fold(min_step, &[f64::NAN, 1.0, 3.0, 0.5]), 0.5);
        assert_eq!(fold(min_step, &[2.0, f64::NAN]), 2.0);
        assert!(fold(max_step, &[f64::NAN, f64::NAN]).is_nan());
        assert_eq!(fold(max_step, &[f64::NEG_INFINITY, f64::INFINITY]), f64::INFINITY);
    }

    #[test]
    fn quantile_matches_aggregators_test() {
        let q = |q: f64, vs: &[f64]| quantile(q, &mut vs.to_vec());
        assert_close(q(0.8, &[0.0, 1.0]), 0.8);
        assert_close(q(0.8, &[0.0, 1.0, 2.0]), 1.6);
        assert_close(q(0.8, &[0.0, 1.0, 4.0]), 2.8);
        assert_close(q(0.8, &[0.0, 1.0, f64::NAN]), 0.6);
        assert_close(q(0.2, &[0.0, 1.0]), 0.2);
        assert_close(q(0.2, &[0.0, 1.0, 2.0]), 0.4);
        assert_close(q(0.2, &[0.0, 1.0, 4.0]), 0.4);
        assert!(q(0.2, &[0.0, 1.0, f64::NAN]).is_nan());
    }

    #[test]
    fn sort_comparators_put_nan_last() {
        let mut v = [3.0, f64::NAN, 1.0, f64::NEG_INFINITY, 2.0];
        v.sort_by(|a, b| sort_asc_cmp(*a, *b));
        assert_eq!(&v[..4], &[f64::NEG_INFINITY, 1.0, 2.0, 3.0]);
        assert!(v[4].is_nan());
        v.sort_by(|a, b| sort_desc_cmp(*a, *b));
        assert_eq!(&v[..4], &[3.0, 2.0, 1.0, f64::NEG_INFINITY]);
        assert!(v[4].is_nan());
    }

    #[test]
    fn value_labels_like_go() {
        assert_eq!(format_value_label(1.0), "1");
        assert_eq!(format_value_label(0.1), "0.1");
        assert_eq!(format_value_label(-2.5), "-2.5");
        assert_eq!(format_value_label(1e21), "1000000000000000000000");
        assert_eq!(format_value_label(1e-7), "0.0000001");
        assert_eq!(format_value_label(-0.0), "-0");
        assert_eq!(format_value_label(f64::INFINITY), "+Inf");
        assert_eq!(format_value_label(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value_label(f64::NAN), "NaN");
        assert_eq!(format_value_label(123456789.125), "123456789.125");
    }

    #[test]
    fn quantile_edges() {
        let q = |q: f64, vs: &[f64]| quantile(q, &mut vs.to_vec());
        assert!(q(0.5, &[]).is_nan());
        assert!(q(f64::NAN, &[1.0]).is_nan());
        assert_eq!(q(-0.1, &[1.0]), f64::NEG_INFINITY);
        assert_eq!(q(1.1, &[1.0]), f64::INFINITY);
        assert_eq!(q(0.0, &[3.0, 1.0, 2.0]), 1.0);
        assert_eq!(q(1.0, &[3.0, 1.0, 2.0]), 3.0);
        assert_eq!(q(0.5, &[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(q(0.5, &[42.0]), 42.0);
        // Interpolation weight 0 still multiplies the neighbour: 1*1 + Inf*0 = NaN, as in Prometheus.
        assert!(q(0.5, &[f64::NEG_INFINITY, f64::INFINITY, 1.0]).is_nan());
        assert_eq!(q(0.25, &[f64::NEG_INFINITY, 3.0, 1.0]), f64::NEG_INFINITY);
    }
}
