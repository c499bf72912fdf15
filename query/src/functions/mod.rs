//! Function dispatch: evaluates a `Call` node's arguments over all steps and applies the
//! function, deciding for each function whether the metric name is dropped (delayed
//! removal), which annotations it raises, and how its output series are merged. The pure
//! per-window / per-value math lives in [`range`], [`math`], [`labels`], [`time`],
//! [`histogram`] (and, once merged, the `kernels` module of the funcs helper).

pub(crate) mod histogram;
pub(crate) mod labels;
pub(crate) mod math;
pub(crate) mod range;
pub(crate) mod time;

use cairn_format::{Labels, METRIC_NAME};
use promql_parser::parser::{Call, Expr};

use crate::error::QueryError;
use crate::eval::{Evaluator, MatrixVal, SSeries, Steps, Val, merge_series};

/// Go's `math.Max` (NaN wins).
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

/// Go's `math.Min` (NaN wins).
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

/// A simple one-argument float function, if `name` is one.
fn simple_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => |v: f64| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v: f64| v * 180.0 / std::f64::consts::PI,
        "rad" => |v: f64| v * std::f64::consts::PI / 180.0,
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
    if range::is_range_fn(name) {
        return range_call(ev, name, &args, s);
    }
    if let Some(f) = simple_fn(name) {
        let v = ev.eval_vector(args[0], s)?;
        return Ok(Val::Vector(merge_series(map_values(v, true, |_, x| Some(f(x))))?));
    }
    match name {
        "time" => Ok(Val::Scalar((0..s.n).map(|i| s.ts(i) as f64 / 1000.0).collect())),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; s.n])),
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
            Ok(Val::Vector(merge_series(map_values(v, true, |i, x| {
                let inv = 1.0 / to[i];
                Some((x * inv + 0.5).floor() / inv)
            }))?))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let v = ev.eval_vector(args[0], s)?;
            let a = ev.eval_scalar(args[1], s)?;
            let b = match args.get(2) {
                Some(e) => ev.eval_scalar(e, s)?,
                None => vec![f64::NAN; s.n],
            };
            Ok(Val::Vector(merge_series(map_values(v, true, |i, x| match name {
                "clamp" => {
                    (a[i] <= b[i] || a[i].is_nan() || b[i].is_nan()).then(|| go_max(a[i], go_min(b[i], x)))
                }
                "clamp_min" => Some(go_max(a[i], x)),
                _ => Some(go_min(a[i], x)),
            }))?))
        }
        "sort" | "sort_desc" => {
            if ev.query_start != ev.query_end {
                let near = format!("{name}(");
                ev.warn(
                    &format!(
                        "{name} is ineffective for range queries since results are always ordered by labels"
                    ),
                    &near,
                );
            }
            let mut v = ev.eval_vector(args[0], s)?;
            let desc = name == "sort_desc";
            v.sort_by(|a, b| {
                let (x, y) = (a.vals[0].unwrap_or(f64::NAN), b.vals[0].unwrap_or(f64::NAN));
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => {
                        if desc {
                            y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal)
                        } else {
                            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
                        }
                    }
                }
            });
            Ok(Val::Vector(v))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            if ev.query_start != ev.query_end {
                let near = format!("{name}(");
                ev.warn(
                    &format!(
                        "{name} is ineffective for range queries since results are always ordered by labels"
                    ),
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
            Ok(Val::Vector(merge_series(map_values(v, true, |_, x| Some(time::date_fn(name, x))))?))
        }
        "histogram_quantile" => histogram::histogram_quantile(ev, &args, s),
        "histogram_count"
        | "histogram_sum"
        | "histogram_avg"
        | "histogram_stddev"
        | "histogram_stdvar"
        | "histogram_fraction"
        | "histogram_quantiles" => {
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
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut dup: Vec<String> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, promql_parser::label::MatchOp::Equal) {
            if pairs.iter().any(|(n, _)| *n == m.name) {
                dup.push(m.name.clone());
            } else {
                pairs.push((m.name.clone(), m.value.clone()));
            }
        }
    }
    pairs.retain(|(n, _)| !dup.contains(n));
    Labels::from_pairs(pairs)
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

fn range_call(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr], s: &Steps) -> Result<Val, QueryError> {
    // Scalar parameters come before the range argument for quantile_over_time, after it otherwise.
    let (matrix_arg, param_args): (&Expr, Vec<&Expr>) =
        if name == "quantile_over_time" { (args[1], vec![args[0]]) } else { (args[0], args[1..].to_vec()) };
    let mut params: Vec<Vec<f64>> = Vec::new();
    for p in &param_args {
        params.push(ev.eval_scalar(p, s)?);
    }
    let m = eval_range_arg(ev, matrix_arg, s, name)?;
    match name {
        "quantile_over_time" => {
            if let Some(q) = params[0].iter().find(|q| q.is_nan() || **q < 0.0 || **q > 1.0) {
                let near = param_args[0].to_string();
                ev.warn(
                    &format!("quantile value should be between 0 and 1, got {}", math::format_go_g(*q)),
                    &near,
                );
            }
        }
        "holt_winters" | "double_exponential_smoothing" => {
            for (&sf, &tf) in params[0].iter().zip(&params[1]) {
                if !(sf > 0.0 && sf < 1.0) {
                    return Err(QueryError::exec(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    )));
                }
                if !(tf > 0.0 && tf < 1.0) {
                    return Err(QueryError::exec(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    )));
                }
            }
        }
        _ => {}
    }
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let counter_fn = matches!(name, "rate" | "increase");
    let mut out = Vec::with_capacity(m.series.len());
    let mut pbuf = vec![0.0; params.len()];
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
            vals[i] = range::apply(name, &win);
        });
        if vals.iter().any(Option::is_some) {
            out.push(SSeries { labels: ser.labels.clone(), vals, drop_name: ser.drop_name || !keep_name });
        }
    }
    Ok(Val::Vector(out))
}
