//! Classic-histogram kernels: `histogram_quantile` and `histogram_fraction` over `le` buckets
//! (Prometheus's `BucketQuantile` / `BucketFraction`).
//!
//! Owns the arithmetic on one histogram's buckets. The engine groups `*_bucket` series by their
//! labels without `le`, parses `le` into [`Bucket::upper_bound`] (see [`parse_le`]), skips series
//! without a parsable `le`, handles native histograms, emits the invalid-quantile warning for q
//! outside [0, 1] or NaN, and turns [`MonotonicityFix::forced_monotonic`] into Prometheus's info annotation
//! "input to histogram_quantile needed to be fixed for monotonicity" (newer Prometheus versions
//! also report the bucket range and largest decrease, which [`MonotonicityFix`] carries).
//!
//! Contracts of [`bucket_quantile`] (the slice is sorted and rewritten in place; pass a scratch
//! copy if the original is still needed):
//! - q NaN → NaN; q < 0 → -Inf; q > 1 → +Inf (checked first, buckets untouched).
//! - Buckets are sorted by upper bound; if the highest is not +Inf → NaN.
//! - Buckets with equal upper bounds are merged by adding their counts.
//! - Counts are then made monotonic: a difference to the previous accepted count with relative
//!   size below 1e-12 is silently flattened (`fixed_precision`), any remaining decrease is raised to
//!   the previous count (`forced_monotonic`, with the lowest/highest affected upper bound and the
//!   largest decrease).
//! - Fewer than 2 buckets, or 0 observations in the +Inf bucket → NaN.
//! - rank = q × total; the first bucket (excluding +Inf) whose count ≥ rank holds the quantile. If
//!   none does, the result is the second-highest upper bound. If it is the lowest bucket and its
//!   upper bound is ≤ 0, that bound is returned; otherwise the lowest bucket interpolates from 0.
//!   Interpolation is linear inside the bucket.
//!
//! Contracts of [`bucket_fraction`] (fraction of observations in [lower, upper]):
//! - Sorts and merges like `bucket_quantile`; no +Inf bucket, no buckets, 0 observations, or a NaN
//!   bound → NaN; lower ≥ upper → 0.
//! - The lowest bucket spans (0, ub] when ub > 0, else (-Inf, ub]; a bound inside a bucket with an
//!   infinite edge contributes nothing from that bucket (no interpolation over an infinite width);
//!   otherwise linear interpolation. Counts are not made monotonic here (as in Prometheus).

/// One classic-histogram bucket: cumulative count of observations ≤ `upper_bound`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub upper_bound: f64,
    pub count: f64,
}

impl Bucket {
    pub fn new(upper_bound: f64, count: f64) -> Self {
        Bucket { upper_bound, count }
    }
}

/// Parses an `le` label value the way Prometheus does with Go's `strconv.ParseFloat`: decimal
/// numbers with optional sign and exponent, and `Inf`/`Infinity`/`NaN` in any case. A finite
/// spelling that overflows (`1e400`) is rejected like Go's range error. Not supported: Go's
/// hexadecimal floats (`0x1p-2`), which no known client writes. `None` means the engine skips the
/// series (Prometheus adds a "bad bucket label" warning).
pub fn parse_le(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    if v.is_infinite() {
        let unsigned = s.trim_start_matches(['+', '-']);
        let spelled_inf = unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity");
        if !spelled_inf {
            return None;
        }
    }
    Some(v)
}

/// What `bucket_quantile` had to correct in the bucket counts.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct MonotonicityFix {
    /// A real decrease in cumulative counts was removed (→ info annotation).
    pub forced_monotonic: bool,
    /// A tiny (relative < 1e-12) difference was flattened as floating-point noise.
    pub fixed_precision: bool,
    /// Lowest upper bound whose count was raised (+Inf if none; 0 if the pass did not run).
    pub min_bucket: f64,
    /// Highest upper bound whose count was raised (-Inf if none; 0 if the pass did not run).
    pub max_bucket: f64,
    /// Largest decrease that was removed.
    pub max_diff: f64,
}

/// Relative tolerance below which differences between successive bucket counts are treated as
/// floating-point noise (Prometheus's `smallDeltaTolerance`).
pub const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Go's `almost.Equal`: true if `a` and `b` differ by less than `epsilon` relative to their sum.
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE; // 2.2250738585072014e-308
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Sorts by upper bound and merges equal bounds; returns the number of buckets left at the front.
fn sort_and_coalesce(buckets: &mut [Bucket]) -> usize {
    // total_cmp: a total order (never panics); equal finite/infinite bounds stay adjacent.
    buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    let Some(&first) = buckets.first() else {
        return 0;
    };
    let mut last = first;
    let mut n = 0;
    for i in 1..buckets.len() {
        let b = buckets[i];
        if b.upper_bound == last.upper_bound {
            last.count += b.count;
        } else {
            buckets[n] = last;
            last = b;
            n += 1;
        }
    }
    buckets[n] = last;
    n + 1
}

/// Flattens noise-sized differences and removes decreases (see the module contract).
fn ensure_monotonic(buckets: &mut [Bucket], tolerance: f64) -> MonotonicityFix {
    let mut fix =
        MonotonicityFix { min_bucket: f64::INFINITY, max_bucket: f64::NEG_INFINITY, ..Default::default() };
    let Some(first) = buckets.first() else {
        return fix;
    };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, tolerance) {
            // Noise in either direction; `prev` stays the last accepted count.
            b.count = prev;
            fix.fixed_precision = true;
            continue;
        }
        if curr < prev {
            b.count = prev;
            fix.forced_monotonic = true;
            fix.min_bucket = fix.min_bucket.min(b.upper_bound);
            fix.max_bucket = fix.max_bucket.max(b.upper_bound);
            fix.max_diff = fix.max_diff.max(prev - curr);
            continue;
        }
        prev = curr;
    }
    fix
}

/// `histogram_quantile(q, ...)` over classic buckets. See the module contract.
pub fn bucket_quantile(q: f64, buckets: &mut [Bucket]) -> (f64, MonotonicityFix) {
    let no_fix = MonotonicityFix::default();
    if q.is_nan() {
        return (f64::NAN, no_fix);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, no_fix);
    }
    if q > 1.0 {
        return (f64::INFINITY, no_fix);
    }
    let n = sort_and_coalesce(buckets);
    if n == 0 || buckets[n - 1].upper_bound != f64::INFINITY {
        return (f64::NAN, no_fix);
    }
    let buckets = &mut buckets[..n];
    let fix = ensure_monotonic(buckets, SMALL_DELTA_TOLERANCE);
    if n < 2 {
        return (f64::NAN, fix);
    }
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return (f64::NAN, fix);
    }
    let mut rank = q * observations;
    // First bucket (the +Inf one excluded) with count >= rank; counts are monotonic now.
    let b = buckets[..n - 1].partition_point(|bk| bk.count < rank);
    if b == n - 1 {
        return (buckets[n - 2].upper_bound, fix);
    }
    if b == 0 && buckets[0].upper_bound <= 0.0 {
        return (buckets[0].upper_bound, fix);
    }
    let bucket_end = buckets[b].upper_bound;
    let mut bucket_start = 0.0;
    let mut count = buckets[b].count;
    if b > 0 {
        bucket_start = buckets[b - 1].upper_bound;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (bucket_start + (bucket_end - bucket_start) * (rank / count), fix)
}

/// `histogram_fraction(lower, upper, ...)` over classic buckets. See the module contract.
pub fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [Bucket]) -> f64 {
    let n = sort_and_coalesce(buckets);
    if n == 0 || buckets[n - 1].upper_bound != f64::INFINITY {
        return f64::NAN;
    }
    let buckets = &buckets[..n];
    let total = buckets[n - 1].count;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }

    let mut rank = 0.0; // cumulative count below the current bucket
    let (mut lower_rank, mut upper_rank) = (0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if buckets[0].upper_bound > 0.0 { 0.0 } else { f64::NEG_INFINITY };
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            lower_bound = buckets[i - 1].upper_bound;
        }
        let upper_bound = b.upper_bound;
        // Rank at `v` inside this bucket; a bucket reaching down to -Inf can't be interpolated.
        let interpolate = |v: f64| -> f64 {
            if lower_bound == f64::NEG_INFINITY {
                return b.count;
            }
            rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > total {
        lower_rank = total;
    }
    if !upper_set || upper_rank > total {
        upper_rank = total;
    }
    (upper_rank - lower_rank) / total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::kernels::test_util::assert_close;

    const INF: f64 = f64::INFINITY;

    fn bk(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs.iter().map(|&(u, c)| Bucket::new(u, c)).collect()
    }

    fn q(q: f64, pairs: &[(f64, f64)]) -> f64 {
        bucket_quantile(q, &mut bk(pairs)).0
    }

    // histograms.test at 50m (10 increments).
    const POSITIVE: [(f64, f64); 4] = [(0.1, 50.0), (0.2, 70.0), (1.0, 110.0), (INF, 120.0)];
    const NEGATIVE: [(f64, f64); 4] = [(-0.2, 10.0), (-0.1, 20.0), (0.3, 20.0), (INF, 30.0)];

    #[test]
    fn quantile_histograms_test_values() {
        for (phi, pos, neg) in
            [(0.0, 0.0, -0.2), (1.0, 1.0, 0.3), (0.2, 0.048, -0.2), (0.5, 0.15, -0.15), (0.8, 0.72, 0.3)]
        {
            assert_close(q(phi, &POSITIVE), pos);
            assert_close(q(phi, &NEGATIVE), neg);
        }
        let h3_pos = [(0.0, 0.0), (0.1, 50.0), (0.2, 70.0), (1.0, 110.0), (INF, 110.0)];
        let h3_neg = [(-0.25, 0.0), (-0.2, 10.0), (-0.1, 20.0), (0.3, 20.0), (INF, 20.0)];
        for (phi, pos, neg) in [
            (0.0, 0.0, -0.25),
            (0.25, 0.055, -0.225),
            (0.5, 0.125, -0.2),
            (0.75, 0.45, -0.15),
            (1.0, 1.0, -0.1),
        ] {
            assert_close(q(phi, &h3_pos), pos);
            assert_close(q(phi, &h3_neg), neg);
        }
        // testhistogram2: quantiles in the middle of buckets.
        let h2 = [(0.0, 0.0), (2.0, 1.0), (4.0, 2.0), (6.0, 3.0), (INF, 3.0)];
        assert_close(q(1.0 / 6.0, &h2), 1.0);
        assert_close(q(0.5, &h2), 3.0);
        assert_close(q(5.0 / 6.0, &h2), 5.0);
    }

    #[test]
    fn quantile_out_of_range_q() {
        assert_eq!(q(-0.1, &POSITIVE), f64::NEG_INFINITY);
        assert_eq!(q(1.01, &POSITIVE), INF);
        assert!(q(f64::NAN, &POSITIVE).is_nan());
        // Out-of-range q is decided before looking at the buckets at all.
        assert_eq!(q(2.0, &[(1.0, 5.0)]), INF);
    }

    #[test]
    fn quantile_sorts_and_needs_inf_bucket() {
        let unsorted = [(INF, 120.0), (1.0, 110.0), (0.1, 50.0), (0.2, 70.0)];
        assert_close(q(0.2, &unsorted), 0.048);
        assert!(q(0.5, &[(0.1, 1.0), (1.0, 2.0)]).is_nan());
        assert!(q(0.5, &[]).is_nan());
        // Only the +Inf bucket: fewer than 2 buckets.
        assert!(q(0.5, &[(INF, 10.0)]).is_nan());
        // No observations.
        assert!(q(0.5, &[(1.0, 0.0), (INF, 0.0)]).is_nan());
    }

    #[test]
    fn quantile_coalesces_equal_bounds() {
        // Two series with the same le (e.g. le="1" and le="1.0") add up.
        let b = [(1.0, 2.0), (1.0, 3.0), (2.0, 10.0), (INF, 10.0)];
        // Merged: (1, 5), (2, 10): median rank 5 → exactly at the top of the first bucket.
        assert_close(q(0.5, &b), 1.0);
    }

    #[test]
    fn quantile_forced_monotonicity() {
        // histograms.test nonmonotonic_bucket at 50m.
        let b = [(0.1, 20.0), (1.0, 10.0), (10.0, 50.0), (100.0, 40.0), (1000.0, 90.0), (INF, 80.0)];
        let (v, fix) = bucket_quantile(0.01, &mut bk(&b));
        assert_close(v, 0.0045);
        assert!(fix.forced_monotonic);
        assert!(!fix.fixed_precision);
        assert_eq!((fix.min_bucket, fix.max_bucket, fix.max_diff), (1.0, INF, 10.0));
        assert_close(q(0.5, &b), 8.5);
        assert_close(q(0.99, &b), 979.75);
        // Monotonic input reports nothing.
        let (_, fix) = bucket_quantile(0.5, &mut bk(&POSITIVE));
        assert!(!fix.forced_monotonic && !fix.fixed_precision);
        // Early exits report the zero fix.
        let (_, fix) = bucket_quantile(-1.0, &mut bk(&b));
        assert_eq!(fix, MonotonicityFix::default());
    }

    #[test]
    fn quantile_ignores_tiny_precision_errors() {
        let c = 1e15;
        let b = [(1.0, c), (2.0, c * (1.0 - 1e-14)), (INF, c)];
        let (v, fix) = bucket_quantile(0.5, &mut bk(&b));
        assert!(fix.fixed_precision);
        assert!(!fix.forced_monotonic);
        assert_close(v, 0.5);
    }

    #[test]
    fn quantile_highest_bucket_returns_second_highest_bound() {
        // All observations above the last finite bound.
        assert_eq!(q(0.5, &[(1.0, 0.0), (2.0, 0.0), (INF, 10.0)]), 2.0);
    }

    #[test]
    fn fraction_histograms_test_values() {
        let h2 = [(0.0, 0.0), (2.0, 1.0), (4.0, 2.0), (6.0, 3.0), (INF, 3.0)];
        let f = |lo: f64, hi: f64, pairs: &[(f64, f64)]| bucket_fraction(lo, hi, &mut bk(pairs));
        assert_close(f(0.0, 4.0, &h2), 0.6666666666666666);
        assert_close(f(0.0, 6.0, &h2), 1.0);
        assert_close(f(0.0, 3.5, &h2), 0.5833333333333334);
        let h3_pos = [(0.0, 0.0), (0.1, 50.0), (0.2, 70.0), (1.0, 110.0), (INF, 110.0)];
        let h3_neg = [(-0.25, 0.0), (-0.2, 10.0), (-0.1, 20.0), (0.3, 20.0), (INF, 20.0)];
        assert_close(f(0.0, 0.2, &h3_pos), 0.6363636363636364);
        assert_close(f(0.0, 0.2, &h3_neg), 0.0);
        let pos = [(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (INF, 100.0)];
        let neg = [(-3.0, 10.0), (-2.0, 12.0), (-1.0, 15.0), (INF, 100.0)];
        assert_close(f(0.0, 1.5, &pos), 0.02);
        assert_close(f(-4.0, -2.0, &neg), 0.02);
        assert_close(f(f64::NEG_INFINITY, -1.5, &neg), 0.135);
        assert_close(f(f64::NEG_INFINITY, INF, &pos), 1.0);
        assert_close(f(f64::NEG_INFINITY, INF, &neg), 1.0);
        assert_close(f(4.0, 5.0, &pos), 0.0);
        assert_close(f(0.0, 1.0, &neg), 0.0);
        assert_close(f(2.0, 5.0, &pos), 0.03);
        assert_close(f(400.0, INF, &pos), 0.94);
        assert_eq!(f(2.0, 2.0, &pos), 0.0);
        assert_eq!(f(3.0, 2.0, &pos), 0.0);
    }

    #[test]
    fn fraction_edge_cases() {
        let f = |lo: f64, hi: f64, pairs: &[(f64, f64)]| bucket_fraction(lo, hi, &mut bk(pairs));
        assert!(f(0.0, 1.0, &[]).is_nan());
        assert!(f(0.0, 1.0, &[(INF, 0.0)]).is_nan());
        assert!(f(0.0, 1.0, &[(1.0, 5.0)]).is_nan());
        assert!(f(f64::NAN, 1.0, &[(1.0, 5.0), (INF, 5.0)]).is_nan());
        assert!(f(0.0, f64::NAN, &[(1.0, 5.0), (INF, 5.0)]).is_nan());
        // Two buckets with counts 10 and 30: (0, 0.5] holds 10 * 0.5 = 5 of 30.
        assert_close(f(0.0, 0.5, &[(1.0, 10.0), (INF, 30.0)]), 5.0 / 30.0);
        assert_close(f(0.0, INF, &[(1.0, 10.0), (INF, 30.0)]), 1.0);
        // Only the +Inf bucket: everything is in a bucket of infinite width.
        assert_close(f(f64::NEG_INFINITY, INF, &[(INF, 10.0)]), 1.0);
        // Unsorted input and duplicate bounds.
        assert_close(f(0.0, 0.5, &[(INF, 20.0), (1.0, 4.0), (1.0, 6.0), (INF, 10.0)]), 5.0 / 30.0);
    }

    #[test]
    fn le_parsing() {
        assert_eq!(parse_le("0.1"), Some(0.1));
        assert_eq!(parse_le(".2"), Some(0.2));
        assert_eq!(parse_le("1e0"), Some(1.0));
        assert_eq!(parse_le("-.2"), Some(-0.2));
        assert_eq!(parse_le("+Inf"), Some(INF));
        assert_eq!(parse_le("inf"), Some(INF));
        assert_eq!(parse_le("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_le("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_le("1e400"), None);
        assert_eq!(parse_le(""), None);
        assert_eq!(parse_le("abc"), None);
        assert_eq!(parse_le(" 1"), None);
    }

    #[test]
    fn almost_equal_rules() {
        assert!(almost_equal(f64::NAN, f64::NAN, 1e-12));
        assert!(almost_equal(1.0, 1.0 + 1e-13, 1e-12));
        assert!(!almost_equal(1.0, 1.0 + 1e-11, 1e-12));
        assert!(!almost_equal(0.0, 1e-300, 1e-12));
        assert!(almost_equal(0.0, 0.0, 1e-12));
    }
}
