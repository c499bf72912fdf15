//! Range-vector functions over one window of samples: the rate family with Prometheus's
//! extrapolation, `irate`/`idelta`, `deriv`/`predict_linear`, every `*_over_time`,
//! `changes`/`resets`, `double_exponential_smoothing`. Each takes the window, its bounds and
//! per-step parameters and returns the value or `None` (no output at that step). Does not
//! select data or build series.

use cairn_format::Sample;

use super::math::{kahan_inc, quantile_sorted};
use crate::eval::aggregate::{Mean, Var};

/// Per-step inputs of a range function.
pub(crate) struct Window<'a> {
    pub samples: &'a [Sample],
    /// Left-open window bounds `(start, end]` in ms.
    pub start: i64,
    pub end: i64,
    /// The (outer) evaluation time of this step in ms.
    pub ts: i64,
    /// Scalar parameters at this step (e.g. φ, smoothing factors).
    pub params: &'a [f64],
}

/// Is `name` a range function this module evaluates?
pub(crate) fn is_range_fn(name: &str) -> bool {
    matches!(
        name,
        "rate"
            | "increase"
            | "delta"
            | "irate"
            | "idelta"
            | "deriv"
            | "predict_linear"
            | "avg_over_time"
            | "min_over_time"
            | "max_over_time"
            | "sum_over_time"
            | "count_over_time"
            | "last_over_time"
            | "first_over_time"
            | "present_over_time"
            | "stddev_over_time"
            | "stdvar_over_time"
            | "quantile_over_time"
            | "mad_over_time"
            | "changes"
            | "resets"
            | "holt_winters"
            | "double_exponential_smoothing"
            | "ts_of_min_over_time"
            | "ts_of_max_over_time"
            | "ts_of_first_over_time"
            | "ts_of_last_over_time"
    )
}

/// Evaluates range function `name` on one window.
pub(crate) fn apply(name: &str, w: &Window<'_>) -> Option<f64> {
    let s = w.samples;
    if s.is_empty() {
        return None;
    }
    match name {
        "rate" => extrapolated_rate(w, true, true),
        "increase" => extrapolated_rate(w, true, false),
        "delta" => extrapolated_rate(w, false, false),
        "irate" => instant_value(s, true),
        "idelta" => instant_value(s, false),
        "deriv" => (s.len() >= 2).then(|| linear_regression(s, s[0].t).0),
        "predict_linear" => {
            if s.len() < 2 {
                return None;
            }
            let (slope, intercept) = linear_regression(s, w.ts);
            Some(slope * w.params.first().copied().unwrap_or(f64::NAN) + intercept)
        }
        "avg_over_time" => {
            let mut m = Mean::default();
            s.iter().for_each(|p| m.add(p.v));
            Some(m.value())
        }
        "min_over_time" => {
            Some(s.iter().fold(f64::NAN, |acc, p| if acc.is_nan() || p.v < acc { p.v } else { acc }))
        }
        "max_over_time" => {
            Some(s.iter().fold(f64::NAN, |acc, p| if acc.is_nan() || p.v > acc { p.v } else { acc }))
        }
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for p in s {
                (sum, c) = kahan_inc(p.v, sum, c);
            }
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        "count_over_time" => Some(s.len() as f64),
        "last_over_time" => s.last().map(|p| p.v),
        "first_over_time" => Some(s[0].v),
        "present_over_time" => Some(1.0),
        "stddev_over_time" | "stdvar_over_time" => {
            let mut v = Var::default();
            s.iter().for_each(|p| v.add(p.v));
            Some(if name == "stddev_over_time" { v.variance().sqrt() } else { v.variance() })
        }
        "quantile_over_time" => {
            let mut vals: Vec<f64> = s.iter().map(|p| p.v).collect();
            vals.sort_by(|a, b| a.total_cmp(b));
            Some(quantile_sorted(w.params.first().copied().unwrap_or(f64::NAN), &vals))
        }
        "mad_over_time" => {
            let mut vals: Vec<f64> = s.iter().map(|p| p.v).collect();
            vals.sort_by(|a, b| a.total_cmp(b));
            let median = quantile_sorted(0.5, &vals);
            let mut dev: Vec<f64> = vals.iter().map(|v| (v - median).abs()).collect();
            dev.sort_by(|a, b| a.total_cmp(b));
            Some(quantile_sorted(0.5, &dev))
        }
        "changes" => {
            let mut n = 0usize;
            for pair in s.windows(2) {
                let (prev, cur) = (pair[0].v, pair[1].v);
                if cur != prev && !(cur.is_nan() && prev.is_nan()) {
                    n += 1;
                }
            }
            Some(n as f64)
        }
        "resets" => Some(s.windows(2).filter(|p| p[1].v < p[0].v).count() as f64),
        "holt_winters" | "double_exponential_smoothing" => {
            let sf = w.params.first().copied().unwrap_or(f64::NAN);
            let tf = w.params.get(1).copied().unwrap_or(f64::NAN);
            double_exponential_smoothing(s, sf, tf)
        }
        "ts_of_min_over_time" => {
            let mut best = s[0];
            for p in s {
                if p.v <= best.v || best.v.is_nan() {
                    best = *p;
                }
            }
            Some(best.t as f64 / 1000.0)
        }
        "ts_of_max_over_time" => {
            let mut best = s[0];
            for p in s {
                if p.v >= best.v || best.v.is_nan() {
                    best = *p;
                }
            }
            Some(best.t as f64 / 1000.0)
        }
        "ts_of_first_over_time" => Some(s[0].t as f64 / 1000.0),
        "ts_of_last_over_time" => s.last().map(|p| p.t as f64 / 1000.0),
        _ => None,
    }
}

/// `rate`/`increase`/`delta` with Prometheus's extrapolation to the window bounds.
pub(crate) fn extrapolated_rate(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let s = w.samples;
    if s.len() < 2 {
        return None;
    }
    let first = s[0];
    let last = s[s.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        let mut prev = first.v;
        for p in &s[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut to_start = (first.t - w.start) as f64 / 1000.0;
    let mut to_end = (w.end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg = sampled / (s.len() - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if is_counter && result > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= (w.end - w.start) as f64 / 1000.0;
    }
    Some(result * factor)
}

fn instant_value(s: &[Sample], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let last = s[s.len() - 1];
    let prev = s[s.len() - 2];
    let mut v = if is_rate && last.v < prev.v { last.v } else { last.v - prev.v };
    let dt = last.t - prev.t;
    if dt == 0 {
        return None;
    }
    if is_rate {
        v /= dt as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares slope and intercept (at `intercept_t`), times in seconds.
pub(crate) fn linear_regression(s: &[Sample], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = s[0].v;
    let mut const_y = true;
    for (i, p) in s.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1000.0;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}

fn double_exponential_smoothing(s: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut b = s[1].v - s[0].v;
    for (i, p) in s.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(samples: &[Sample], start: i64, end: i64) -> Window<'_> {
        Window { samples, start, end, ts: end, params: &[] }
    }

    #[test]
    fn rate_of_regular_counter_covers_window() {
        // 0,10,20,…,100 every 10s over (0, 100s]: first sample at 10s.
        let s: Vec<Sample> = (1..=10).map(|i| Sample::new(i * 10_000, i as f64 * 10.0)).collect();
        let r = extrapolated_rate(&w(&s, 0, 100_000), true, true).unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn counter_reset_is_compensated() {
        let s = [Sample::new(10_000, 5.0), Sample::new(20_000, 1.0), Sample::new(30_000, 3.0)];
        let inc = extrapolated_rate(&w(&s, 0, 30_000), true, false).unwrap();
        assert!(inc > 3.0);
    }

    #[test]
    fn regression_slope() {
        let s: Vec<Sample> = (0..5).map(|i| Sample::new(i * 1000, 2.0 * i as f64)).collect();
        let (slope, icpt) = linear_regression(&s, 0);
        assert!((slope - 2.0).abs() < 1e-12 && icpt.abs() < 1e-12);
    }
}
