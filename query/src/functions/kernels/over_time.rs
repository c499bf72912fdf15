//! The `*_over_time` family over the float samples of one series in one window: avg, sum, count,
//! min, max, first, last, present, stddev, stdvar, quantile, mad, and the experimental
//! `ts_of_{min,max,first,last}_over_time`.
//!
//! Owns the arithmetic only. The engine passes the window's float samples (stale markers removed,
//! sorted by time) and handles histogram samples itself: Prometheus ignores them with an info
//! annotation for min/max/stddev/stdvar/quantile/mad/ts_of_min/ts_of_max, refuses mixed windows for
//! avg/sum (warning, no element), counts them in `count_over_time`, and compares timestamps for
//! first/last.
//!
//! Contracts: every function returns `None` for an empty slice (no output element).
//! - `avg`: Kahan sum divided by the count; once the running sum would overflow to ±Inf, switches
//!   to an incremental mean (`mean = mean*(n-1)/n + v/n`, Kahan-compensated). This is Prometheus
//!   3's avg_over_time, which differs slightly from the `avg` aggregation (see `aggr::AvgAcc`).
//! - `sum`: Kahan–Neumaier sum; `±Inf` sums are returned without compensation.
//! - `min`/`max`: NaN is replaced by any other value; NaN only if all values are NaN.
//! - `stddev`/`stdvar`: population variance, Welford's algorithm with Kahan-compensated mean and
//!   sum of squares (as Prometheus's varianceOverTime).
//! - `quantile`: as `aggr::quantile` (q < 0 → -Inf, q > 1 → +Inf, NaN q → NaN). The engine emits
//!   the "quantile value should be between 0 and 1" warning itself.
//! - `mad`: median absolute deviation from the median; any NaN sample → NaN.
//! - `ts_of_*`: timestamps in seconds (`t_ms / 1000`). For min/max the *last* sample holding the
//!   extreme value wins (`>=`/`<=` comparison), NaN replaced as in min/max.
//!
//! The quantile and mad kernels need a scratch buffer to sort values; pass a reused `Vec` to avoid
//! allocating per step.

use cairn_format::Sample;

use super::aggr::{kahan_inc, quantile};

/// `avg_over_time`.
pub fn avg_over_time(samples: &[Sample]) -> Option<f64> {
    let (first, rest) = samples.split_first()?;
    let mut sum = first.v;
    let mut c = 0.0;
    let mut mean = 0.0;
    let mut count = 1.0;
    let mut incremental = false;
    for s in rest {
        count += 1.0;
        if !incremental {
            let (new_sum, new_c) = kahan_inc(s.v, sum, c);
            if !new_sum.is_infinite() {
                sum = new_sum;
                c = new_c;
                continue;
            }
            // The direct sum would overflow: carry on with an incremental mean.
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(s.v / count, q * mean, q * c);
    }
    Some(if incremental { mean + c } else { sum / count + c / count })
}

/// `sum_over_time`.
pub fn sum_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let (mut sum, mut c) = (0.0, 0.0);
    for s in samples {
        (sum, c) = kahan_inc(s.v, sum, c);
    }
    Some(if sum.is_infinite() { sum } else { sum + c })
}

/// `count_over_time` of float samples (the engine adds histogram samples).
pub fn count_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() { None } else { Some(samples.len() as f64) }
}

/// `present_over_time`: 1 if there is any sample.
pub fn present_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() { None } else { Some(1.0) }
}

/// `last_over_time` of float samples.
pub fn last_over_time(samples: &[Sample]) -> Option<f64> {
    samples.last().map(|s| s.v)
}

/// `first_over_time` of float samples.
pub fn first_over_time(samples: &[Sample]) -> Option<f64> {
    samples.first().map(|s| s.v)
}

/// Scans for the sample that `better(candidate, current)` selects; a NaN current is always replaced.
fn select(samples: &[Sample], better: impl Fn(f64, f64) -> bool) -> Option<Sample> {
    let mut best = *samples.first()?;
    for s in samples {
        if better(s.v, best.v) || best.v.is_nan() {
            best = *s;
        }
    }
    Some(best)
}

/// `max_over_time`.
pub fn max_over_time(samples: &[Sample]) -> Option<f64> {
    select(samples, |cur, best| cur > best).map(|s| s.v)
}

/// `min_over_time`.
pub fn min_over_time(samples: &[Sample]) -> Option<f64> {
    select(samples, |cur, best| cur < best).map(|s| s.v)
}

/// `ts_of_max_over_time`: seconds of the last sample with the maximum value.
pub fn ts_of_max_over_time(samples: &[Sample]) -> Option<f64> {
    select(samples, |cur, best| cur >= best).map(|s| s.t as f64 / 1000.0)
}

/// `ts_of_min_over_time`: seconds of the last sample with the minimum value.
pub fn ts_of_min_over_time(samples: &[Sample]) -> Option<f64> {
    select(samples, |cur, best| cur <= best).map(|s| s.t as f64 / 1000.0)
}

/// `ts_of_first_over_time` of float samples (the engine takes the min with histogram samples).
pub fn ts_of_first_over_time(samples: &[Sample]) -> Option<f64> {
    samples.first().map(|s| s.t as f64 / 1000.0)
}

/// `ts_of_last_over_time` of float samples (the engine takes the max with histogram samples).
pub fn ts_of_last_over_time(samples: &[Sample]) -> Option<f64> {
    samples.last().map(|s| s.t as f64 / 1000.0)
}

/// Population variance with Kahan-compensated Welford updates.
fn variance(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for s in samples {
        count += 1.0;
        let delta = s.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (s.v - (mean + c_mean)), aux, c_aux);
    }
    Some((aux + c_aux) / count)
}

/// `stdvar_over_time`.
pub fn stdvar_over_time(samples: &[Sample]) -> Option<f64> {
    variance(samples)
}

/// `stddev_over_time`.
pub fn stddev_over_time(samples: &[Sample]) -> Option<f64> {
    variance(samples).map(f64::sqrt)
}

/// `quantile_over_time(q, ...)`; `scratch` is overwritten.
pub fn quantile_over_time(q: f64, samples: &[Sample], scratch: &mut Vec<f64>) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    scratch.clear();
    scratch.extend(samples.iter().map(|s| s.v));
    Some(quantile(q, scratch))
}

/// `mad_over_time`: median of the absolute deviations from the median; `scratch` is overwritten.
pub fn mad_over_time(samples: &[Sample], scratch: &mut Vec<f64>) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    if samples.iter().any(|s| s.v.is_nan()) {
        return Some(f64::NAN);
    }
    scratch.clear();
    scratch.extend(samples.iter().map(|s| s.v));
    let median = quantile(0.5, scratch);
    for v in scratch.iter_mut() {
        *v = (*v - median).abs();
    }
    Some(quantile(0.5, scratch))
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // expected values are quoted verbatim from Prometheus's tests
mod tests {
    use super::*;
    use crate::functions::kernels::test_util::{assert_close, assert_some_close, series};

    const INF: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;

    fn v(values: &[f64]) -> Vec<Sample> {
        series(0, 10_000, values)
    }

    #[test]
    fn empty_windows_give_no_element() {
        let mut scratch = Vec::new();
        type Kernel = fn(&[Sample]) -> Option<f64>;
        let fns: [Kernel; 14] = [
            avg_over_time,
            sum_over_time,
            count_over_time,
            present_over_time,
            last_over_time,
            first_over_time,
            max_over_time,
            min_over_time,
            ts_of_max_over_time,
            ts_of_min_over_time,
            ts_of_first_over_time,
            ts_of_last_over_time,
            stdvar_over_time,
            stddev_over_time,
        ];
        for f in fns {
            assert_eq!(f(&[]), None);
        }
        assert_eq!(quantile_over_time(0.5, &[], &mut scratch), None);
        assert_eq!(mad_over_time(&[], &mut scratch), None);
    }

    #[test]
    fn avg_over_time_functions_test() {
        assert_eq!(avg_over_time(&v(&[5.0])), Some(5.0));
        assert_eq!(avg_over_time(&v(&[1.0, 2.0, 3.0, 4.0, 5.0])), Some(3.0));
        assert_eq!(avg_over_time(&v(&[1.0, 2.0, 3.0, 4.0, INF])), Some(INF));
        assert_eq!(avg_over_time(&v(&[1.0, 2.0, 3.0, 4.0, -INF])), Some(-INF));
        assert!(avg_over_time(&v(&[1.0, 2.0, 3.0, INF, -INF])).is_some_and(f64::is_nan));
        assert_eq!(avg_over_time(&v(&[INF, 0.0, INF])), Some(INF));
        assert!(avg_over_time(&v(&[INF, INF, INF, -INF])).is_some_and(f64::is_nan));
        assert_eq!(avg_over_time(&v(&[1.0, 2.0, 3.0, -INF, -INF])), Some(-INF));
        assert_eq!(avg_over_time(&v(&[-INF, 0.0, -INF])), Some(-INF));
        assert!(avg_over_time(&v(&[-INF, -INF, -INF, INF])).is_some_and(f64::is_nan));
        assert!(avg_over_time(&v(&[1.0, 2.0, -INF, -INF, INF])).is_some_and(f64::is_nan));
        let big = 9.988465674311579e+307;
        assert_some_close(avg_over_time(&v(&[big, big])), big);
        assert_some_close(avg_over_time(&v(&[-big, -big, -big])), -big);
        assert_eq!(avg_over_time(&v(&[-big, big])), Some(0.0));
        assert_eq!(avg_over_time(&v(&[1.0, 2.0])), Some(1.5));
        assert!(avg_over_time(&v(&[1.0, 2.0, 3.0, NAN])).is_some_and(f64::is_nan));
        // Kahan keeps the small values next to huge ones.
        assert_eq!(avg_over_time(&v(&[1.0, 1e100, 1.0, -1e100])), Some(0.5));
        // Exactness for repeated values (foo 52+0x100 over 10..13 samples).
        for n in 10..=13 {
            assert_eq!(avg_over_time(&v(&vec![52.0; n])), Some(52.0));
        }
    }

    #[test]
    fn avg_over_time_extreme_magnitudes() {
        assert_some_close(avg_over_time(&v(&[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6])), 1.6666666666666675e+09);
        let m2 = [
            5.30921651659898,
            0.961118537914768,
            1.62091361305318,
            0.865089463758091,
            0.323055185914577,
            0.951811357687154,
        ];
        assert_some_close(avg_over_time(&v(&m2)), 1.67186744582113);
        assert_some_close(
            avg_over_time(&v(&[1.78264e50, 0.76342771, 1.9592258, 7.69805412, 458.90154])),
            3.56528E+49,
        );
        assert_some_close(
            avg_over_time(&v(&[1.78264E+50, 0.76342771, 1.9592258, 2.258E+220, 7.69805412, 458.90154])),
            3.76333333333333E+219,
        );
        assert_some_close(
            avg_over_time(&v(&[-1.78264E+50, 0.76342771, 1.9592258, -2.258E+220, 7.69805412, -458.90154])),
            -3.76333333333333E+219,
        );
        assert_some_close(
            avg_over_time(&v(&[-1.78264E+215, 0.76342771, 1.9592258, 2.258E+220, 7.69805412, -458.90154])),
            3.76330362266667E+219,
        );
        assert_some_close(
            avg_over_time(&v(&[
                -1.78264E+215,
                0.76342771,
                1.9592258,
                2.258E+220,
                7.69805412,
                1.78264E+215,
                -458.90154,
            ])),
            3.225714285714286e+219,
        );
        assert_some_close(
            avg_over_time(&v(&[
                -1.78264E+219,
                0.76342771,
                1.9592258,
                2.3757689E+217,
                -2.3757689E+217,
                2.258E+220,
                7.69805412,
                1.78264E+219,
                -458.90154,
            ])),
            2.5088888888888888e+219,
        );
        // Documented as "Kahan cannot cope": Prometheus returns 0 here.
        assert_some_close(
            avg_over_time(&v(&[
                -2.258E+220,
                -1.78264E+219,
                0.76342771,
                1.9592258,
                2.3757689E+217,
                -2.3757689E+217,
                2.258E+220,
                7.69805412,
                1.78264E+219,
                -458.90154,
            ])),
            0.0,
        );
    }

    #[test]
    fn avg_over_time_switches_to_incremental_mean_on_overflow() {
        let big = 1e308;
        // 1e308 + 1e308 overflows; the mean is still representable.
        assert_some_close(avg_over_time(&v(&[big, big, big])), big);
        assert_some_close(avg_over_time(&v(&[big, big, 0.0, 0.0])), big / 2.0);
    }

    #[test]
    fn sum_over_time_functions_test() {
        assert_eq!(sum_over_time(&v(&[1.0, 1e100, 1.0, -1e100])), Some(2.0));
        assert_eq!(sum_over_time(&v(&[1.0, 2.0, 3.0, 4.0, 5.0])), Some(15.0));
        let big = 9.988465674311579e+307;
        assert_eq!(sum_over_time(&v(&[big, big])), Some(INF));
        assert!(sum_over_time(&v(&[INF, -INF])).is_some_and(f64::is_nan));
        // Dense samples: 1000 ones sum to exactly 1000.
        assert_eq!(sum_over_time(&series(0, 1, &vec![1.0; 1000])), Some(1000.0));
        assert_eq!(sum_over_time(&series(0, 1, &vec![1.0; 3003])), Some(3003.0));
    }

    #[test]
    fn min_max_first_last_functions_test() {
        // data{type=...} at 1m over [2m].
        assert_eq!(min_over_time(&v(&[2.0, 0.0, 3.0])), Some(0.0));
        assert_eq!(min_over_time(&v(&[2.0, 0.0, NAN])), Some(0.0));
        assert_eq!(min_over_time(&v(&[2.0, NAN, 1.0])), Some(1.0));
        assert_eq!(min_over_time(&v(&[NAN, 0.0, 1.0])), Some(0.0));
        assert!(min_over_time(&v(&[NAN, NAN, NAN])).is_some_and(f64::is_nan));
        assert_eq!(max_over_time(&v(&[2.0, 0.0, 3.0])), Some(3.0));
        assert_eq!(max_over_time(&v(&[2.0, 0.0, NAN])), Some(2.0));
        assert_eq!(max_over_time(&v(&[2.0, NAN, 1.0])), Some(2.0));
        assert_eq!(max_over_time(&v(&[NAN, 0.0, 1.0])), Some(1.0));
        assert!(max_over_time(&v(&[NAN, NAN, NAN])).is_some_and(f64::is_nan));
        assert_eq!(last_over_time(&v(&[2.0, 0.0, 3.0])), Some(3.0));
        assert!(last_over_time(&v(&[2.0, 0.0, NAN])).is_some_and(f64::is_nan));
        assert_eq!(first_over_time(&v(&[2.0, 0.0, 3.0])), Some(2.0));
        assert!(first_over_time(&v(&[NAN, 0.0, 1.0])).is_some_and(f64::is_nan));
        assert_eq!(count_over_time(&v(&[NAN, NAN, NAN])), Some(3.0));
        assert_eq!(present_over_time(&v(&[NAN])), Some(1.0));
    }

    #[test]
    fn ts_of_functions_test() {
        // load 10s53ms: metric 1 2 3 0 5 6 2 1 4 — at 90s over [90s] (samples from 10.053s on).
        let s: Vec<Sample> = [1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 2.0, 1.0, 4.0]
            .iter()
            .enumerate()
            .map(|(i, &x)| Sample::new(i as i64 * 10_053, x))
            .collect();
        let window = &s[1..];
        assert_some_close(ts_of_min_over_time(window), 30.159);
        assert_some_close(ts_of_max_over_time(window), 50.265);
        assert_some_close(ts_of_last_over_time(&s[..3]), 20.106);
        assert_some_close(ts_of_first_over_time(&s[2..5]), 20.106);
        // Ties: the last occurrence wins.
        let s = series(0, 1000, &[1.0, 5.0, 5.0, 0.0, 0.0]);
        assert_eq!(ts_of_max_over_time(&s), Some(2.0));
        assert_eq!(ts_of_min_over_time(&s), Some(4.0));
        // A leading NaN is replaced.
        let s = series(0, 1000, &[NAN, 3.0, 2.0]);
        assert_eq!(ts_of_max_over_time(&s), Some(1.0));
        assert_eq!(ts_of_min_over_time(&s), Some(2.0));
    }

    #[test]
    fn stddev_stdvar_functions_test() {
        assert_some_close(stdvar_over_time(&v(&[0.0, 8.0, 8.0, 2.0, 3.0])), 10.56);
        assert_some_close(stddev_over_time(&v(&[0.0, 8.0, 8.0, 2.0, 3.0])), 3.249615);
        let x = 1.5990505637277868;
        assert_eq!(stdvar_over_time(&v(&[x, x, x])), Some(0.0));
        assert_eq!(stddev_over_time(&v(&[x, x, x])), Some(0.0));
        assert_eq!(stddev_over_time(&v(&[1.0, 1.0, 1.0])), Some(0.0));
        assert_eq!(stddev_over_time(&v(&[7.0])), Some(0.0));
        assert!(stddev_over_time(&v(&[1.0, NAN])).is_some_and(f64::is_nan));
        assert!(stdvar_over_time(&v(&[1.0, INF])).is_some_and(f64::is_nan));
    }

    #[test]
    fn quantile_over_time_functions_test() {
        let mut scratch = Vec::new();
        let two = v(&[0.0, 1.0]);
        let three = v(&[0.0, 1.0, 2.0]);
        let uneven = v(&[0.0, 1.0, 4.0]);
        let cases = [
            (0.0, [0.0, 0.0, 0.0]),
            (0.5, [0.5, 1.0, 1.0]),
            (0.75, [0.75, 1.5, 2.5]),
            (0.8, [0.8, 1.6, 2.8]),
            (1.0, [1.0, 2.0, 4.0]),
            (-1.0, [-INF, -INF, -INF]),
            (2.0, [INF, INF, INF]),
        ];
        for (q, want) in cases {
            for (s, w) in [&two, &three, &uneven].into_iter().zip(want) {
                let got = quantile_over_time(q, s, &mut scratch);
                assert_some_close(got, w);
            }
        }
        assert!(quantile_over_time(NAN, &two, &mut scratch).is_some_and(f64::is_nan));
        // The input slice is not reordered; only the scratch buffer is.
        let unsorted = v(&[3.0, 1.0, 2.0]);
        assert_some_close(quantile_over_time(0.5, &unsorted, &mut scratch), 2.0);
        assert_eq!(unsorted[0].v, 3.0);
    }

    #[test]
    fn mad_over_time_functions_test() {
        let mut scratch = Vec::new();
        // metric 4 6 2 1 999 1 2 at 70s over [70s]: the window holds 6 2 1 999 1 2 → MAD 1.
        assert_some_close(mad_over_time(&v(&[6.0, 2.0, 1.0, 999.0, 1.0, 2.0]), &mut scratch), 1.0);
        assert_some_close(mad_over_time(&v(&[4.0, 6.0, 2.0, 1.0, 999.0, 1.0, 2.0]), &mut scratch), 1.0);
        assert_some_close(mad_over_time(&v(&[1.0, 2.0, 3.0, 4.0, 5.0]), &mut scratch), 1.0);
        assert_some_close(mad_over_time(&v(&[7.0; 5]), &mut scratch), 0.0);
        assert_some_close(mad_over_time(&v(&[5.0]), &mut scratch), 0.0);
        assert!(mad_over_time(&v(&[1.0, 2.0, NAN, 4.0]), &mut scratch).is_some_and(f64::is_nan));
        assert_close(mad_over_time(&v(&[1.0, 1.0, 1.0]), &mut scratch).unwrap_or(-1.0), 0.0);
    }
}
