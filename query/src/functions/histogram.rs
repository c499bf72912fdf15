//! `histogram_quantile` over classic (`le`-bucketed) float histograms: grouping buckets into
//! histograms per step (the interpolation is `kernels::histogram::bucket_quantile`) and the
//! annotations. Native histograms are out of scope.

use foldhash::{HashMap, HashMapExt};

use cairn_format::Labels;
use promql_parser::parser::Expr;

use super::kernels::histogram::{Bucket, bucket_fraction, bucket_quantile, parse_le};
use super::math::format_go_g;
use crate::error::QueryError;
use crate::eval::{Evaluator, SSeries, Steps, Val, merge_series};

/// `histogram_fraction(lower, upper, v)` over classic buckets.
pub(crate) fn histogram_fraction(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    s: &Steps,
) -> Result<Val, QueryError> {
    let lo = ev.eval_scalar(args[0], s)?;
    let hi = ev.eval_scalar(args[1], s)?;
    let v = ev.eval_vector(args[2], s)?;
    classic(ev, v, args[2], s, |step, buckets| (bucket_fraction(lo[step], hi[step], buckets), false))
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
    classic(ev, v, args[1], s, |step, buckets| {
        let (val, fix) = bucket_quantile(q[step], buckets);
        (val, fix.forced_monotonic)
    })
}

/// `histogram_quantiles(v, "label", q1, q2, …)` (experimental): one output series per
/// histogram and quantile, the quantile written into `label`.
pub(crate) fn histogram_quantiles(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    s: &Steps,
) -> Result<Val, QueryError> {
    let v = ev.eval_vector(args[0], s)?;
    let label = match ev.eval(args[1], s)? {
        Val::Str(l) => l,
        other => return Err(QueryError::BadData(format!("expected string, got {}", other.type_name()))),
    };
    if !super::labels::valid_label_name(&label) {
        return Err(QueryError::exec(format!("invalid label name {}", super::labels::go_quote(&label))));
    }
    if v.iter().any(|ser| ser.labels.get(&label).is_some()) {
        return Err(QueryError::exec(format!("label {label:?} already exists on the input series")));
    }
    let mut out = Vec::new();
    for qa in &args[2..] {
        let q = ev.eval_scalar(qa, s)?;
        if let Some(bad) = q.iter().find(|x| x.is_nan() || **x < 0.0 || **x > 1.0) {
            let near = qa.to_string();
            ev.warn(&format!("quantile value should be between 0 and 1, got {}", format_go_g(*bad)), &near);
        }
        let Val::Vector(series) = classic(ev, v.clone(), args[0], s, |step, buckets| {
            let (val, fix) = bucket_quantile(q[step], buckets);
            (val, fix.forced_monotonic)
        })?
        else {
            continue;
        };
        let qs = if q[0].is_finite() && q[0].fract() == 0.0 {
            format!("{:.1}", q[0])
        } else {
            format!("{}", q[0])
        };
        for mut ser in series {
            ser.labels.set(&label, &qs);
            out.push(ser);
        }
    }
    Ok(Val::Vector(merge_series(out)?))
}

/// Groups `le` series into classic histograms and applies `f(step, buckets)` per step;
/// `f` returns the value and whether monotonicity had to be forced.
fn classic(
    ev: &mut Evaluator<'_>,
    v: Vec<SSeries>,
    arg: &Expr,
    s: &Steps,
    mut f: impl FnMut(usize, &mut [Bucket]) -> (f64, bool),
) -> Result<Val, QueryError> {
    let args = [arg, arg];
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
    let mut buf: Vec<Bucket> = Vec::new();
    for (labels, members, _) in groups {
        let mut vals = vec![None; s.n];
        let mut forced_any = false;
        for (step, slot) in vals.iter_mut().enumerate() {
            buf.clear();
            buf.extend(members.iter().filter_map(|&(le, i)| v[i].vals[step].map(|c| Bucket::new(le, c))));
            if buf.is_empty() {
                continue;
            }
            let (val, forced) = f(step, &mut buf);
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
