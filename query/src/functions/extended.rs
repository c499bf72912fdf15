//! The experimental `anchored` and `smoothed` range-selector modifiers (Prometheus 3.x
//! "extended range selectors"). `anchored` adds the newest sample at or before the window
//! start (within the lookback) and takes differences without extrapolation; `smoothed`
//! interpolates the values at both window bounds (a counter reset between two neighbours is
//! read as growth from zero) and differences those. Owns only these window rules.

use cairn_format::{Sample, is_stale_nan};
use promql_parser::parser::MatrixSelector;

use crate::durexpr::RangeExt;
use crate::error::QueryError;
use crate::eval::selector::dur_ms;
use crate::eval::{Evaluator, SSeries, Steps, Val};

/// Checks that `func` accepts the modifier (before any data is read, like Prometheus).
pub(crate) fn validate(func: &str, ext: RangeExt) -> Result<(), QueryError> {
    match ext {
        RangeExt::Smoothed if !matches!(func, "delta" | "increase" | "rate") => Err(QueryError::exec(
            format!("smoothed modifier can only be used with: delta, increase, rate - not with {func}"),
        )),
        RangeExt::Anchored if !matches!(func, "changes" | "delta" | "increase" | "rate" | "resets") => {
            Err(QueryError::exec(format!(
                "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with {func}"
            )))
        }
        _ => Ok(()),
    }
}

/// Sum of increases along `seq`, a decrease counting as a reset to zero.
fn counter_increase(seq: impl Iterator<Item = f64>) -> f64 {
    let mut prev: Option<f64> = None;
    let mut total = 0.0;
    for v in seq {
        if let Some(p) = prev {
            total += if v < p { v } else { v - p };
        }
        prev = Some(v);
    }
    total
}

fn anchored(func: &str, s: &[Sample], start: i64, end: i64, lookback: i64) -> Option<f64> {
    let lo = s.partition_point(|p| p.t <= start);
    let hi = s.partition_point(|p| p.t <= end);
    if lo >= hi {
        return None;
    }
    let anchor = (lo > 0 && s[lo - 1].t > start - lookback).then(|| s[lo - 1]);
    let seq: Vec<f64> = anchor.iter().chain(&s[lo..hi]).map(|p| p.v).collect();
    let first = seq[0];
    let last = seq[seq.len() - 1];
    let range_s = (end - start) as f64 / 1000.0;
    Some(match func {
        "delta" => last - first,
        "increase" => counter_increase(seq.iter().copied()),
        "rate" => counter_increase(seq.iter().copied()) / range_s,
        "changes" => {
            seq.windows(2).filter(|w| w[0] != w[1] && !(w[0].is_nan() && w[1].is_nan())).count() as f64
        }
        _ => seq.windows(2).filter(|w| w[1] < w[0]).count() as f64,
    })
}

/// Value at `b`, interpolated between its neighbours within the lookback.
pub(crate) fn boundary(s: &[Sample], b: i64, lookback: i64, counter: bool) -> Option<f64> {
    let k = s.partition_point(|p| p.t <= b);
    let prev = (k > 0 && s[k - 1].t > b - lookback).then(|| s[k - 1]);
    let next = (k < s.len() && s[k].t <= b + lookback).then(|| s[k]);
    match (prev, next) {
        (Some(p), _) if p.t == b => Some(p.v),
        (Some(p), Some(n)) => {
            let f = (b - p.t) as f64 / (n.t - p.t) as f64;
            Some(if counter && n.v < p.v { n.v * f } else { p.v + (n.v - p.v) * f })
        }
        (Some(p), None) => Some(p.v),
        (None, Some(n)) => Some(n.v),
        (None, None) => None,
    }
}

fn smoothed(func: &str, s: &[Sample], start: i64, end: i64, lookback: i64) -> Option<f64> {
    let counter = func != "delta";
    // Data only before or only after the window gives no result.
    if s.partition_point(|p| p.t <= end) == 0 || s.partition_point(|p| p.t <= start) == s.len() {
        return None;
    }
    let first = boundary(s, start, lookback, counter)?;
    let last = boundary(s, end, lookback, counter)?;
    if func == "delta" {
        return Some(last - first);
    }
    let lo = s.partition_point(|p| p.t <= start);
    let hi = s.partition_point(|p| p.t < end);
    let inner = s[lo..hi.max(lo)].iter().map(|p| p.v);
    let inc = counter_increase(std::iter::once(first).chain(inner).chain(std::iter::once(last)));
    Some(if func == "rate" { inc / ((end - start) as f64 / 1000.0) } else { inc })
}

/// Evaluates `func(ms anchored|smoothed)` over all steps.
pub(crate) fn call(
    ev: &mut Evaluator<'_>,
    func: &str,
    ms: &MatrixSelector,
    ext: RangeExt,
    s: &Steps,
) -> Result<Val, QueryError> {
    validate(func, ext)?;
    let range = dur_ms(&ms.range);
    let lookback = ev.lookback;
    let ends: Vec<i64> = (0..s.n).map(|i| ev.effective_time(&ms.vs.at, &ms.vs.offset, s.ts(i))).collect();
    let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(Val::Vector(Vec::new()));
    };
    let after = if ext == RangeExt::Smoothed { lookback } else { 0 };
    let series = ev.select_raw(&ms.vs, lo - range - lookback + 1, hi + after, Some(func))?;
    let mut out = Vec::with_capacity(series.len());
    for ser in series {
        let samples: Vec<Sample> = ser.samples.into_iter().filter(|p| !is_stale_nan(p.v)).collect();
        let vals: Vec<Option<f64>> = ends
            .iter()
            .map(|&end| match ext {
                RangeExt::Anchored => anchored(func, &samples, end - range, end, lookback),
                RangeExt::Smoothed => smoothed(func, &samples, end - range, end, lookback),
            })
            .collect();
        if vals.iter().any(Option::is_some) {
            out.push(SSeries { labels: ser.labels, vals, drop_name: true });
        }
    }
    Ok(Val::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(step: i64, vals: &[f64]) -> Vec<Sample> {
        vals.iter().enumerate().map(|(i, &v)| Sample::new(i as i64 * step, v)).collect()
    }

    #[test]
    fn smoothed_counter_reset_interpolates_from_zero() {
        // 9 8 5 4 at 1m: increase over (15s, 135s] is 2 + 6 + 5 - ... = 12.
        let s = series(60_000, &[9.0, 8.0, 5.0, 4.0]);
        let v = smoothed("increase", &s, 15_000, 135_000, 300_000).unwrap();
        assert!((v - 12.0).abs() < 1e-9, "{v}");
    }

    #[test]
    fn anchored_uses_sample_before_window() {
        let s = series(15_000, &[1.0, 2.0, 3.0, 4.0, 5.0, 9.0]);
        assert_eq!(anchored("increase", &s, 20_000, 80_000, 300_000), Some(7.0));
        assert_eq!(anchored("increase", &s, -55_000, 5_000, 300_000), Some(0.0));
        assert!(validate("deriv", RangeExt::Anchored).is_err());
        assert!(validate("resets", RangeExt::Anchored).is_ok());
    }
}
