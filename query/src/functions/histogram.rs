//! `histogram_quantile` over classic (`le`-bucketed) float histograms: grouping buckets into
//! histograms per step, Prometheus's bucket-quantile interpolation, monotonicity fixes and
//! their annotations. Native histograms are out of scope.

use std::collections::HashMap;

use cairn_format::Labels;
use promql_parser::parser::Expr;

use super::math::format_go_g;
use crate::error::QueryError;
use crate::eval::{Evaluator, SSeries, Steps, Val, merge_series};

/// Relative tolerance under which bucket count differences are treated as rounding noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a == b {
        return true;
    }
    let min_normal = f64::from_bits(0x0010_0000_0000_0000);
    let d = (a - b).abs();
    if a == 0.0 || b == 0.0 || d < min_normal {
        return d < eps * min_normal;
    }
    d / (a.abs() + b.abs()).min(f64::MAX) < eps
}

/// Prometheus's BucketQuantile on (upper bound, cumulative count) pairs. Returns the value
/// and whether monotonicity had to be forced.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    match buckets.last() {
        Some(b) if b.0 == f64::INFINITY => {}
        _ => return (f64::NAN, false),
    }
    // Coalesce equal upper bounds.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, c) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    let mut forced = false;
    let mut prev = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        let cur = b.1;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, SMALL_DELTA_TOLERANCE) {
            b.1 = prev;
            continue;
        }
        if cur < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    if merged.len() < 2 {
        return (f64::NAN, forced);
    }
    let n = merged.len();
    let observations = merged[n - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let b = merged[..n - 1].iter().position(|x| x.1 >= rank).unwrap_or(n - 1);
    if b == n - 1 {
        return (merged[n - 2].0, forced);
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return (merged[0].0, forced);
    }
    let mut start = 0.0;
    let end = merged[b].0;
    let mut count = merged[b].1;
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    (start + (end - start) * (rank / count), forced)
}

fn parse_le(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse::<f64>().ok(),
    }
}

pub(crate) fn histogram_quantile(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    s: &Steps,
) -> Result<Val, QueryError> {
    let q = ev.eval_scalar(args[0], s)?;
    let v = ev.eval_vector(args[1], s)?;
    if let Some(bad) = q.iter().find(|x| x.is_nan() || **x < 0.0 || **x > 1.0) {
        let near = args[0].to_string();
        ev.warn(&format!("quantile value should be between 0 and 1, got {}", format_go_g(*bad)), &near);
    }
    // Group buckets by labels without `le`.
    let mut index: HashMap<Labels, usize> = HashMap::new();
    type Group = (Labels, Vec<(f64, usize)>, bool);
    let mut groups: Vec<Group> = Vec::new();
    for (i, ser) in v.iter().enumerate() {
        let le = ser.labels.get("le").and_then(parse_le);
        let Some(le) = le else {
            let name = ser.labels.metric_name().unwrap_or("").to_string();
            let raw = ser.labels.get("le").unwrap_or("").to_string();
            let near = args[1].to_string();
            ev.warn(
                &format!("bucket label \"le\" is missing or has a malformed value of {raw:?} for metric name {name:?}"),
                &near,
            );
            continue;
        };
        let mut key = ser.labels.clone();
        key.remove("le");
        let g = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new(), ser.drop_name));
            groups.len() - 1
        });
        groups[g].1.push((le, i));
    }
    let mut out = Vec::with_capacity(groups.len());
    let mut buf: Vec<(f64, f64)> = Vec::new();
    for (labels, members, _) in groups {
        let mut vals = vec![None; s.n];
        let mut forced_any = false;
        for (step, slot) in vals.iter_mut().enumerate() {
            buf.clear();
            buf.extend(members.iter().filter_map(|&(le, i)| v[i].vals[step].map(|c| (le, c))));
            if buf.is_empty() {
                continue;
            }
            let (val, forced) = bucket_quantile(q[step], &mut buf);
            forced_any |= forced;
            *slot = Some(val);
        }
        if forced_any {
            let name = labels.metric_name().unwrap_or("").to_string();
            let near = args[1].to_string();
            ev.info(
                &format!(
                    "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?}"
                ),
                &near,
            );
        }
        out.push(SSeries { labels, vals, drop_name: true });
    }
    Ok(Val::Vector(merge_series(out)?))
}
