//! Property tests across the kernels (test-only): invariants that must hold for any input, checked
//! with `proptest` against independent reference computations.

use cairn_format::Sample;
use proptest::prelude::*;

use super::aggr::{AvgAcc, KahanSum, quantile};
use super::histogram::{Bucket, bucket_quantile};
use super::over_time::{avg_over_time, sum_over_time};
use super::range::{deriv, extrapolated_rate, predict_linear};
use super::time::{civil_from_days, civil_from_unix, is_leap_year};

/// Days since 1970-01-01 of a proleptic Gregorian date: the inverse of `civil_from_days`,
/// written independently (count whole 400-year cycles, then years, then months).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    const DAYS_PER_400Y: i64 = 146_097;
    let cycles = (y - 1970).div_euclid(400);
    let mut year = 1970 + cycles * 400;
    let mut days = cycles * DAYS_PER_400Y;
    while year < y {
        days += if is_leap_year(year) { 366 } else { 365 };
        year += 1;
    }
    for month in 1..m {
        days += i64::from(super::time::days_in_month_of(y, month));
    }
    days + i64::from(d) - 1
}

proptest! {
    #[test]
    fn calendar_roundtrip(days in -1_000_000_000i64..1_000_000_000) {
        let (y, m, d) = civil_from_days(days);
        prop_assert!((1..=12).contains(&m));
        prop_assert!(d >= 1 && d <= super::time::days_in_month_of(y, m));
        prop_assert_eq!(days_from_civil(y, m, d), days);
    }

    #[test]
    fn weekday_advances_daily(secs in -100_000_000_000i64..100_000_000_000) {
        let a = civil_from_unix(secs);
        let b = civil_from_unix(secs + 86_400);
        prop_assert_eq!((a.weekday + 1) % 7, b.weekday);
        prop_assert_eq!((a.hour, a.minute, a.second), (b.hour, b.minute, b.second));
    }

    #[test]
    fn kahan_sum_of_integers_is_exact(values in prop::collection::vec(-(1i64 << 40)..(1i64 << 40), 0..200)) {
        let mut s = KahanSum::new();
        for &v in &values {
            s.add(v as f64);
        }
        let exact: i128 = values.iter().map(|&v| i128::from(v)).sum();
        prop_assert_eq!(s.sum(), exact as f64);
        let samples: Vec<Sample> = values.iter().enumerate().map(|(i, &v)| Sample::new(i as i64, v as f64)).collect();
        if !values.is_empty() {
            prop_assert_eq!(sum_over_time(&samples), Some(exact as f64));
        }
    }

    #[test]
    fn means_of_small_integers(values in prop::collection::vec(-1000i64..1000, 1..100)) {
        let exact = values.iter().sum::<i64>() as f64 / values.len() as f64;
        let mut acc = AvgAcc::new(values[0] as f64);
        for &v in &values[1..] {
            acc.add(v as f64);
        }
        prop_assert!((acc.value() - exact).abs() <= 1e-12 * exact.abs().max(1.0));
        let samples: Vec<Sample> = values.iter().enumerate().map(|(i, &v)| Sample::new(i as i64, v as f64)).collect();
        let got = avg_over_time(&samples).unwrap_or(f64::NAN);
        prop_assert!((got - exact).abs() <= 1e-12 * exact.abs().max(1.0));
    }

    #[test]
    fn quantile_is_monotonic_and_bounded(
        values in prop::collection::vec(-1e6f64..1e6, 1..50),
        q1 in 0.0f64..=1.0,
        q2 in 0.0f64..=1.0,
    ) {
        let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
        let a = quantile(lo, &mut values.clone());
        let b = quantile(hi, &mut values.clone());
        let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(a <= b + 1e-9 * max.abs().max(1.0));
        prop_assert!(a >= min - 1e-9 * min.abs().max(1.0) && b <= max + 1e-9 * max.abs().max(1.0));
    }

    #[test]
    fn rate_of_a_steady_counter_is_its_slope(
        per_sec in 0.001f64..1000.0,
        step_s in 1i64..60,
        n in 2i64..100,
        start_s in 0i64..1_000_000_000,
    ) {
        // Samples exactly on the grid (start, start + n*step]; the counter is 0 at `start`.
        let start_ms = start_s * 1000;
        let end_ms = start_ms + n * step_s * 1000;
        let samples: Vec<Sample> = (1..=n)
            .map(|k| Sample::new(start_ms + k * step_s * 1000, per_sec * (k * step_s) as f64))
            .collect();
        let rate = extrapolated_rate(&samples, start_ms, end_ms, true, true).unwrap_or(f64::NAN);
        prop_assert!((rate - per_sec).abs() <= 1e-9 * per_sec, "rate {} want {}", rate, per_sec);
        let d = deriv(&samples).unwrap_or(f64::NAN);
        prop_assert!((d - per_sec).abs() <= 1e-6 * per_sec, "deriv {} want {}", d, per_sec);
        let p = predict_linear(&samples, end_ms, 60.0).unwrap_or(f64::NAN);
        let want = per_sec * (n * step_s + 60) as f64;
        prop_assert!((p - want).abs() <= 1e-6 * want, "predict {} want {}", p, want);
    }

    #[test]
    fn bucket_quantile_is_monotonic_in_q(
        counts in prop::collection::vec(0u32..1000, 2..10),
        q1 in 0.0f64..=1.0,
        q2 in 0.0f64..=1.0,
    ) {
        // Cumulative counts over bounds 1, 2, 3, ..., +Inf.
        let mut cum = 0.0;
        let mut buckets: Vec<Bucket> = Vec::new();
        for (i, c) in counts.iter().enumerate() {
            cum += f64::from(*c);
            let ub = if i + 1 == counts.len() { f64::INFINITY } else { (i + 1) as f64 };
            buckets.push(Bucket::new(ub, cum));
        }
        let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
        let (a, fa) = bucket_quantile(lo, &mut buckets.clone());
        let (b, _) = bucket_quantile(hi, &mut buckets.clone());
        prop_assert!(!fa.forced_monotonic);
        if cum == 0.0 {
            prop_assert!(a.is_nan() && b.is_nan());
        } else {
            let second_highest = (counts.len() - 1) as f64;
            prop_assert!(a <= b + 1e-9);
            prop_assert!(a >= 0.0 && b <= second_highest);
        }
    }
}
