//! Function dispatch: evaluates a `Call` node's arguments over all steps and applies the
//! function, deciding for each function whether the metric name is dropped (delayed
//! removal), which annotations it raises, and how its output series are merged. The pure
//! per-window / per-value math lives in [`kernels`] (pure, owned by the funcs helper); [`range`]
//! maps range functions onto them, [`labels`] and [`histogram`] hold the label-aware parts.

pub(crate) mod extended;
pub(crate) mod histogram;
pub(crate) mod info;
pub mod kernels;
pub(crate) mod labels;
pub(crate) mod math;
pub(crate) mod range;

use cairn_format::{Labels, METRIC_NAME};
use promql_parser::parser::{Call, Expr};

use crate::error::QueryError;
use kernels::math as km;

/// Applies calendar function `name` to Unix seconds `v` (UTC).
fn date_fn(name: &str, v: f64) -> f64 {
    use kernels::time as kt;
    match name {
        "year" => kt::year(v),
        "month" => kt::month(v),
        "day_of_month" => kt::day_of_month(v),
        "day_of_week" => kt::day_of_week(v),
        "day_of_year" => kt::day_of_year(v),
        "days_in_month" => kt::days_in_month(v),
        "hour" => kt::hour(v),
        _ => kt::minute(v),
    }
}
use crate::eval::{Evaluator, MatrixVal, SSeries, Steps, Val, merge_series};

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

/// A simple one-argument float function, if `name` is one.
fn simple_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => km::abs,
        "ceil" => km::ceil,
        "floor" => km::floor,
        "exp" => km::exp,
        "ln" => km::ln,
        "log2" => km::log2,
        "log10" => km::log10,
        "sqrt" => km::sqrt,
        "sgn" => km::sgn,
        "sin" => km::sin,
        "cos" => km::cos,
        "tan" => km::tan,
        "asin" => km::asin,
        "acos" => km::acos,
        "atan" => km::atan,
        "sinh" => km::sinh,
        "cosh" => km::cosh,
        "tanh" => km::tanh,
        "asinh" => km::asinh,
        "acosh" => km::acosh,
        "atanh" => km::atanh,
        "deg" => km::deg,
        "rad" => km::rad,
        _ => return None,
    })
}

fn map_values(
    mut v: Vec<SSeries>,
    drop_name: bool,
    mut f: impl FnMut(usize, f64) -> Option<f64>,
) -> Vec<SSeries> {
    for s in &mut v {
        for (i, slot) in s.vals.iter_mut().enumerate() {
            if let Some(x) = *slot {
                *slot = f(i, x);
            }
        }
        if drop_name {
            s.drop_name = true;
        }
    }
    v.retain(|s| s.vals.iter().any(Option::is_some));
    v
}

/// Evaluates a function call over all steps.
pub(crate) fn call(ev: &mut Evaluator<'_>, c: &Call, s: &Steps) -> Result<Val, QueryError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();
    if let Some(f) = range::resolve(name) {
        return range_call(ev, name, f, &args, s);
    }
    if let Some(f) = simple_fn(name) {
        let v = ev.eval_vector(args[0], s)?;
        return Ok(Val::Vector(merge_series(map_values(v, true, |_, x| Some(f(x))))?));
    }
    match name {
        "time" => Ok(Val::Scalar((0..s.n).map(|i| s.ts(i) as f64 / 1000.0).collect())),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; s.n])),
        "min_of" | "max_of" => {
            let a = ev.eval_scalar(args[0], s)?;
            let b = ev.eval_scalar(args[1], s)?;
            let f = if name == "min_of" { km::min_of } else { km::max_of };
            Ok(Val::Scalar(a.iter().zip(&b).map(|(&x, &y)| f(x, y)).collect()))
        }
        "start" => Ok(Val::Scalar(vec![ev.query_start as f64 / 1000.0; s.n])),
        "end" => Ok(Val::Scalar(vec![ev.query_end as f64 / 1000.0; s.n])),
        "step" => {
            Ok(Val::Scalar(vec![
                if ev.query_start == ev.query_end { 0.0 } else { s.step as f64 / 1000.0 };
                s.n
            ]))
        }
        "range" => Ok(Val::Scalar(vec![(ev.query_end - ev.query_start) as f64 / 1000.0; s.n])),
        "vector" => {
            let v = ev.eval_scalar(args[0], s)?;
            Ok(Val::Vector(vec![SSeries {
                labels: Labels::empty(),
                vals: v.into_iter().map(Some).collect(),
                drop_name: false,
            }]))
        }
        "scalar" => {
            let v = ev.eval_vector(args[0], s)?;
            let out = (0..s.n)
                .map(|i| {
                    let mut it = v.iter().filter_map(|ser| ser.vals[i]);
                    match (it.next(), it.next()) {
                        (Some(x), None) => x,
                        _ => f64::NAN,
                    }
                })
                .collect();
            Ok(Val::Scalar(out))
        }
        "timestamp" => {
            let v = match unwrap_parens(args[0]) {
                Expr::VectorSelector(vs) => ev.vector_selector(vs, s, true)?,
                other => {
                    let v = ev.eval_vector(other, s)?;
                    map_values(v, false, |i, _| Some(s.ts(i) as f64 / 1000.0))
                }
            };
            Ok(Val::Vector(merge_series(map_values(v, true, |_, x| Some(x)))?))
        }
        "round" => {
            let v = ev.eval_vector(args[0], s)?;
            let to = match args.get(1) {
                Some(e) => ev.eval_scalar(e, s)?,
                None => vec![1.0; s.n],
            };
            Ok(Val::Vector(merge_series(map_values(v, true, |i, x| Some(km::round(x, to[i]))))?))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let v = ev.eval_vector(args[0], s)?;
            let a = ev.eval_scalar(args[1], s)?;
            let b = match args.get(2) {
                Some(e) => ev.eval_scalar(e, s)?,
                None => vec![f64::NAN; s.n],
            };
            Ok(Val::Vector(merge_series(map_values(v, true, |i, x| match name {
                "clamp" => km::clamp(x, a[i], b[i]),
                "clamp_min" => Some(km::clamp_min(x, a[i])),
                _ => Some(km::clamp_max(x, a[i])),
            }))?))
        }
        "sort" | "sort_desc" => {
            if ev.query_start != ev.query_end {
                let near = format!("{name}(");
                ev.warn(
                    "sort is ineffective for range queries since results are always ordered by labels",
                    &near,
                );
            }
            let mut v = ev.eval_vector(args[0], s)?;
            let desc = name == "sort_desc";
            v.sort_by(|a, b| {
                let (x, y) = (a.vals[0].unwrap_or(f64::NAN), b.vals[0].unwrap_or(f64::NAN));
                if desc { kernels::aggr::sort_desc_cmp(x, y) } else { kernels::aggr::sort_asc_cmp(x, y) }
            });
            Ok(Val::Vector(v))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            if ev.query_start != ev.query_end {
                let near = format!("{name}(");
                ev.warn(
                    "sort is ineffective for range queries since results are always ordered by labels",
                    &near,
                );
            }
            let mut v = ev.eval_vector(args[0], s)?;
            let mut names = Vec::new();
            for a in &args[1..] {
                match ev.eval(a, s)? {
                    Val::Str(st) => names.push(st),
                    other => {
                        return Err(QueryError::BadData(format!(
                            "expected string, got {}",
                            other.type_name()
                        )));
                    }
                }
            }
            labels::sort_by_label(&mut v, &names, name == "sort_by_label_desc");
            Ok(Val::Vector(v))
        }
        "label_replace" => labels::label_replace(ev, &args, s),
        "label_join" => labels::label_join(ev, &args, s),
        "absent" => {
            let v = ev.eval_vector(args[0], s)?;
            let labels = absent_labels(args[0]);
            let vals =
                (0..s.n).map(|i| (!v.iter().any(|ser| ser.vals[i].is_some())).then_some(1.0)).collect();
            Ok(Val::Vector(vec![SSeries { labels, vals, drop_name: false }]))
        }
        "absent_over_time" => {
            let m = eval_range_arg(ev, args[0], s, name)?;
            let labels = absent_labels(args[0]);
            let mut present = vec![false; s.n];
            for ser in &m.series {
                m.windows(ser, |i, w| present[i] |= !w.is_empty());
            }
            let vals = present.into_iter().map(|p| (!p).then_some(1.0)).collect();
            Ok(Val::Vector(vec![SSeries { labels, vals, drop_name: false }]))
        }
        "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute" | "month"
        | "year" => {
            let v = match args.first() {
                Some(e) => ev.eval_vector(e, s)?,
                None => vec![SSeries {
                    labels: Labels::empty(),
                    vals: (0..s.n).map(|i| Some(s.ts(i) as f64 / 1000.0)).collect(),
                    drop_name: false,
                }],
            };
            Ok(Val::Vector(merge_series(map_values(v, true, |_, x| Some(date_fn(name, x))))?))
        }
        "histogram_quantile" => histogram::histogram_quantile(ev, &args, s),
        "info" => info::info(ev, &args, s),
        "histogram_fraction" => histogram::histogram_fraction(ev, &args, s),
        "histogram_quantiles" => histogram::histogram_quantiles(ev, &args, s),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev" | "histogram_stdvar" => {
            // Native histograms only; float samples produce no output.
            for a in &args {
                ev.eval(a, s)?;
            }
            Ok(Val::Vector(Vec::new()))
        }
        _ => Err(QueryError::BadData(format!("function {name:?} is not supported"))),
    }
}

/// Labels `absent()` reports: the equality matchers of a plain selector argument.
fn absent_labels(arg: &Expr) -> Labels {
    let vs = match unwrap_parens(arg) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut labels = Labels::empty();
    let mut has: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, promql_parser::label::MatchOp::Equal) && !has.contains(&m.name.as_str()) {
            labels.set(&m.name, &m.value);
            has.push(&m.name);
        } else {
            labels.remove(&m.name);
        }
    }
    labels
}

/// Evaluates the range-vector argument of a range function.
fn eval_range_arg(
    ev: &mut Evaluator<'_>,
    arg: &Expr,
    s: &Steps,
    func: &str,
) -> Result<MatrixVal, QueryError> {
    match unwrap_parens(arg) {
        Expr::MatrixSelector(ms) => ev.matrix_selector(ms, s, Some(func)),
        other => ev.eval_matrix(other, s),
    }
}

fn range_call(
    ev: &mut Evaluator<'_>,
    name: &str,
    func: range::RangeFn,
    args: &[&Expr],
    s: &Steps,
) -> Result<Val, QueryError> {
    // Scalar parameters come before the range argument for quantile_over_time, after it otherwise.
    let (matrix_arg, param_args): (&Expr, Vec<&Expr>) =
        if name == "quantile_over_time" { (args[1], vec![args[0]]) } else { (args[0], args[1..].to_vec()) };
    let mut params: Vec<Vec<f64>> = Vec::new();
    for p in &param_args {
        params.push(ev.eval_scalar(p, s)?);
    }
    if let Expr::MatrixSelector(ms) = unwrap_parens(matrix_arg)
        && let Some(&ext) = ev.extended.get(&(ms as *const _ as usize))
    {
        return extended::call(ev, name, ms, ext, s);
    }
    let m = eval_range_arg(ev, matrix_arg, s, name)?;
    if name == "quantile_over_time"
        && let Some(q) = params[0].iter().find(|q| q.is_nan() || **q < 0.0 || **q > 1.0)
    {
        let near = param_args[0].to_string();
        ev.warn(&format!("quantile value should be between 0 and 1, got {}", math::format_go_g(*q)), &near);
    }
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let counter_fn = matches!(name, "rate" | "increase");
    let mut out = Vec::with_capacity(m.series.len());
    let mut pbuf = vec![0.0; params.len()];
    let mut scratch = Vec::new();
    let mut failure: Option<String> = None;
    for ser in &m.series {
        ev.check_interrupt()?;
        if counter_fn && ser.samples.len() >= 2 {
            let mname = ser.labels.metric_name().unwrap_or("");
            if !["_total", "_sum", "_count", "_bucket"].iter().any(|suf| mname.ends_with(suf)) {
                let near = matrix_arg.to_string();
                let near = near.split(['[', '{']).next().unwrap_or("").to_string();
                ev.info(&format!("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {mname:?}"), &near);
            }
        }
        let mut vals = vec![None; s.n];
        m.windows(ser, |i, w| {
            for (k, p) in params.iter().enumerate() {
                pbuf[k] = p[i];
            }
            let win = range::Window {
                samples: w,
                start: m.ends[i] - m.range,
                end: m.ends[i],
                ts: s.ts(i),
                params: &pbuf,
            };
            match range::apply(func, &win, &mut scratch) {
                Ok(v) => vals[i] = v,
                Err(e) => failure = Some(e),
            }
        });
        if let Some(e) = failure.take() {
            return Err(QueryError::exec(e));
        }
        if vals.iter().any(Option::is_some) {
            out.push(SSeries { labels: ser.labels.clone(), vals, drop_name: ser.drop_name || !keep_name });
        }
    }
    Ok(Val::Vector(out))
}
