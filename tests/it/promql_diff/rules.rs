//! Known semantic differences between the reference Prometheus 2.42 and Prometheus 3.x (which
//! Cairn implements), as RULES applied to every query automatically: a rule either rewrites the
//! query for Cairn or excludes it when it detects the condition under which the versions differ.
//! Sources: the Prometheus 3.0 migration guide (PromQL section) and the 2.42 vs 3.x engine code.
//! Owns the detection logic; knows nothing of HTTP or comparison.

use std::collections::{BTreeSet, HashSet};
use std::time::UNIX_EPOCH;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{AtModifier, Expr, LabelModifier, Offset, VectorSelector};

use super::data::{STALE_NAN_BITS, Series};
use super::queries::Mode;

/// The default lookback both servers use (`--query.lookback-delta=5m`).
pub const LOOKBACK_MS: i64 = 300_000;
/// Prometheus's default subquery step (global evaluation_interval).
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

pub struct Rule {
    pub id: &'static str,
    pub what: &'static str,
}

/// Every rule, in the order they are applied.
pub const RULES: &[Rule] = &[
    Rule {
        id: "holt_winters_renamed",
        what: "3.x renamed holt_winters to double_exponential_smoothing (same maths). REWRITE: Prometheus \
               2.42 gets holt_winters, Cairn gets double_exponential_smoothing.",
    },
    Rule {
        id: "atan2_drops_name",
        what: "3.x drops __name__ for the atan2 operator like for the other arithmetic operators; 2.42 \
               keeps the left-hand name. NORMALISE: for queries using atan2, __name__ is removed from \
               both answers before comparing.",
    },
    Rule {
        id: "left_open_subquery",
        what: "3.x subquery windows are left-open: an inner step landing exactly on (eval time - offset - \
               range) is dropped, 2.x keeps it. EXCLUDE when any evaluation time of any subquery puts its \
               window start on its step grid.",
    },
    Rule {
        id: "left_open_raw",
        what: "3.x range selectors and the lookback are left-open: a sample exactly at t - range (or t - \
               5m) is excluded, 2.x includes it. EXCLUDE when any selector's window start, at any \
               evaluation time, equals a sample timestamp in the data (the data avoids this: samples are \
               never on whole seconds).",
    },
    Rule {
        id: "rate_zero_point_order",
        what: "3.x caps the extrapolation to the start of a window at half the average sample spacing \
               BEFORE limiting it to the counter's zero point; 2.x limits to the zero point first, then \
               applies the 1.1 × average-spacing threshold. They differ when the first sample is far from \
               the window start and the zero point falls between half and 1.1 × the average spacing. \
               EXCLUDE rate/increase over a selector when any matched series at any evaluation time hits \
               that case (checked exactly on the data; over subqueries the data's invariant — counters \
               start >= 1000 and never have gaps — keeps it from arising, asserted in data checks).",
    },
    Rule {
        id: "stddev_single_nonfinite",
        what: "3.x stddev/stdvar of a group whose only value is NaN or ±Inf is NaN; 2.42 answers 0. \
               EXCLUDE stddev/stdvar over a selector when, at any evaluation time, some group has \
               exactly one series and its value is not finite (checked on the data).",
    },
    Rule {
        id: "utf8_label_names",
        what: "3.x accepts any UTF-8 string as a label name (e.g. \"1bad\") where 2.42 requires \
               [a-zA-Z_][a-zA-Z0-9_]* and fails with an execution error. EXCLUDE queries whose \
               label_replace/label_join/count_values label-name arguments are not legacy names.",
    },
    Rule {
        id: "regex_dot_newline",
        what: "3.x regex '.' matches newline, 2.x does not. EXCLUDE queries with regex matchers or \
               label_replace when any label value in the data contains a newline (none does).",
    },
];

/// What the rules decided for one query.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The expression Cairn gets (after rewrites).
    pub cairn_expr: String,
    /// Rewrites applied.
    pub rewritten_by: Vec<&'static str>,
    /// Exclusions that fired (the query is not compared if non-empty).
    pub excluded_by: BTreeSet<&'static str>,
    /// Remove `__name__` from both answers before comparing.
    pub strip_name: bool,
    /// The top-level expression sorts (order of an instant vector matters).
    pub sorts: bool,
    /// The analysis could not parse the expression (compared anyway).
    pub parse_error: Option<String>,
}

/// Applies every rule to `expr` evaluated as `mode` over `data`.
pub fn judge(expr: &str, mode: Mode, data: &[Series], timestamps: &HashSet<i64>) -> Verdict {
    let mut v = Verdict { cairn_expr: expr.to_string(), ..Verdict::default() };
    if expr.contains("holt_winters(") {
        v.cairn_expr = expr.replace("holt_winters(", "double_exponential_smoothing(");
        v.rewritten_by.push("holt_winters_renamed");
    }
    let ast = match promql_parser::parser::parse(&v.cairn_expr) {
        Ok(a) => a,
        Err(e) => {
            v.parse_error = Some(e);
            return v;
        }
    };
    let (times, start, end) = match mode {
        Mode::Instant { time_ms } => (vec![time_ms], time_ms, time_ms),
        Mode::Range { start_ms, end_ms, step_ms } => {
            ((0..).map(|k| start_ms + k * step_ms).take_while(|t| *t <= end_ms).collect(), start_ms, end_ms)
        }
    };
    let ctx = Ctx { data, timestamps, start, end };
    walk(&ast, &times, &ctx, &mut v.excluded_by);
    let newline_in_data = data.iter().any(|s| s.labels.values().any(|x| x.contains('\n')));
    if newline_in_data && (has_regex(&ast) || v.cairn_expr.contains("label_replace")) {
        v.excluded_by.insert("regex_dot_newline");
    }
    if names_non_legacy_label(&ast) {
        v.excluded_by.insert("utf8_label_names");
    }
    if uses_atan2(&ast) {
        v.strip_name = true;
        v.rewritten_by.push("atan2_drops_name");
    }
    v.sorts = matches!(mode, Mode::Instant { .. }) && top_level_sorts(&ast);
    v
}

struct Ctx<'a> {
    data: &'a [Series],
    timestamps: &'a HashSet<i64>,
    start: i64,
    end: i64,
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn top_level_sorts(e: &Expr) -> bool {
    matches!(unwrap_parens(e), Expr::Call(c) if c.func.name == "sort" || c.func.name == "sort_desc")
}

fn legacy_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a label-name argument of label_replace/label_join/count_values is not a legacy name.
fn names_non_legacy_label(e: &Expr) -> bool {
    let lit = |e: &Expr| match unwrap_parens(e) {
        Expr::StringLiteral(s) => Some(s.val.clone()),
        _ => None,
    };
    let here = match e {
        Expr::Call(c) => {
            let name_args: &[usize] = match c.func.name {
                "label_replace" => &[1, 3],
                "label_join" => &[1, 3, 4, 5, 6, 7, 8],
                _ => &[],
            };
            name_args
                .iter()
                .filter_map(|i| c.args.args.get(*i))
                .filter_map(|a| lit(a))
                .any(|n| !legacy_label_name(&n))
        }
        Expr::Aggregate(a) if a.op.to_string() == "count_values" => {
            a.param.as_deref().and_then(lit).is_some_and(|n| !legacy_label_name(&n))
        }
        _ => false,
    };
    here || children(e).into_iter().any(names_non_legacy_label)
}

/// Direct sub-expressions of `e` (including an aggregation's parameter).
fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Aggregate(a) => std::iter::once(&*a.expr).chain(a.param.as_deref()).collect(),
        Expr::Unary(u) => vec![&u.expr],
        Expr::Binary(b) => vec![&b.lhs, &b.rhs],
        Expr::Paren(p) => vec![&p.expr],
        Expr::Subquery(s) => vec![&s.expr],
        Expr::Call(c) => c.args.args.iter().map(|a| &**a).collect(),
        _ => vec![],
    }
}

fn uses_atan2(e: &Expr) -> bool {
    matches!(e, Expr::Binary(b) if b.op.to_string() == "atan2") || children(e).into_iter().any(uses_atan2)
}

fn has_regex(e: &Expr) -> bool {
    let mut found = false;
    visit_selectors(e, &mut |vs| {
        found |= vs
            .matchers
            .matchers
            .iter()
            .chain(vs.matchers.or_matchers.iter().flatten())
            .any(|m| matches!(m.op, MatchOp::Re(_) | MatchOp::NotRe(_)))
    });
    found
}

fn visit_selectors(e: &Expr, f: &mut dyn FnMut(&VectorSelector)) {
    match e {
        Expr::VectorSelector(vs) => f(vs),
        Expr::MatrixSelector(ms) => f(&ms.vs),
        Expr::Aggregate(a) => {
            visit_selectors(&a.expr, f);
            if let Some(p) = &a.param {
                visit_selectors(p, f);
            }
        }
        Expr::Unary(u) => visit_selectors(&u.expr, f),
        Expr::Binary(b) => {
            visit_selectors(&b.lhs, f);
            visit_selectors(&b.rhs, f);
        }
        Expr::Paren(p) => visit_selectors(&p.expr, f),
        Expr::Subquery(s) => visit_selectors(&s.expr, f),
        Expr::Call(c) => c.args.args.iter().for_each(|a| visit_selectors(a, f)),
        _ => {}
    }
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
        None => 0,
    }
}

/// The time a selector or subquery is evaluated at for outer time `t`: `@` then offset.
fn anchored(t: i64, at: &Option<AtModifier>, off: &Option<Offset>, ctx: &Ctx) -> i64 {
    let base = match at {
        None => t,
        Some(AtModifier::Start) => ctx.start,
        Some(AtModifier::End) => ctx.end,
        Some(AtModifier::At(st)) => match st.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        },
    };
    base - offset_ms(off)
}

/// `left_open_raw`: a selector's window (lookback or range) starts exactly on a sample.
fn window_starts_on_sample(
    vs: &VectorSelector,
    range: i64,
    times: &[i64],
    ctx: &Ctx,
    out: &mut BTreeSet<&'static str>,
) {
    if times.iter().any(|t| ctx.timestamps.contains(&(anchored(*t, &vs.at, &vs.offset, ctx) - range))) {
        out.insert("left_open_raw");
    }
}

/// Walks `e` evaluated at `times`, recording the exclusion rules that fire.
fn walk(e: &Expr, times: &[i64], ctx: &Ctx, out: &mut BTreeSet<&'static str>) {
    match e {
        Expr::VectorSelector(vs) => window_starts_on_sample(vs, LOOKBACK_MS, times, ctx, out),
        Expr::MatrixSelector(ms) => {
            window_starts_on_sample(&ms.vs, ms.range.as_millis() as i64, times, ctx, out)
        }
        Expr::Subquery(sq) => {
            let range = sq.range.as_millis() as i64;
            let step = sq.step.map(|d| d.as_millis() as i64).unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
            let mut inner = BTreeSet::new();
            for t in times {
                let te = anchored(*t, &sq.at, &sq.offset, ctx);
                let lo = te - range;
                if lo.rem_euclid(step) == 0 {
                    out.insert("left_open_subquery");
                }
                // The 2.x grid (left-closed), a superset of 3.x's.
                let mut s = lo.div_euclid(step) * step;
                if s < lo {
                    s += step;
                }
                while s <= te {
                    inner.insert(s);
                    s += step;
                }
            }
            let inner: Vec<i64> = inner.into_iter().collect();
            walk(&sq.expr, &inner, ctx, out);
        }
        Expr::Call(c) => {
            if matches!(c.func.name, "rate" | "increase")
                && let Some(Expr::MatrixSelector(ms)) = c.args.args.first().map(|a| unwrap_parens(a))
                && rate_versions_differ(ms, times, ctx)
            {
                out.insert("rate_zero_point_order");
            }
            for a in &c.args.args {
                walk(a, times, ctx, out);
            }
        }
        Expr::Aggregate(a) => {
            if matches!(a.op.to_string().as_str(), "stddev" | "stdvar")
                && let Expr::VectorSelector(vs) = unwrap_parens(&a.expr)
                && single_nonfinite_group(vs, a.modifier.as_ref(), times, ctx)
            {
                out.insert("stddev_single_nonfinite");
            }
            walk(&a.expr, times, ctx, out);
            if let Some(p) = &a.param {
                walk(p, times, ctx, out);
            }
        }
        Expr::Unary(u) => walk(&u.expr, times, ctx, out),
        Expr::Binary(b) => {
            walk(&b.lhs, times, ctx, out);
            walk(&b.rhs, times, ctx, out);
        }
        Expr::Paren(p) => walk(&p.expr, times, ctx, out),
        _ => {}
    }
}

fn matcher_ok(m: &Matcher, s: &Series) -> bool {
    m.is_match(s.labels.get(&m.name).map(String::as_str).unwrap_or(""))
}

/// Series of the data a selector matches.
pub fn select<'a>(vs: &VectorSelector, data: &'a [Series]) -> Vec<&'a Series> {
    data.iter()
        .filter(|s| vs.name.as_deref().is_none_or(|n| s.name() == n))
        .filter(|s| vs.matchers.matchers.iter().all(|m| matcher_ok(m, s)))
        .filter(|s| {
            vs.matchers.or_matchers.is_empty()
                || vs.matchers.or_matchers.iter().any(|group| group.iter().all(|m| matcher_ok(m, s)))
        })
        .collect()
}

/// The value an instant selector sees at `t` (3.x lookback: left-open, stale markers end it).
fn value_at(s: &Series, t: i64) -> Option<f64> {
    let (ts, v) = s.samples.iter().rev().find(|(ts, _)| *ts <= t)?;
    (*ts > t - LOOKBACK_MS && v.to_bits() != STALE_NAN_BITS).then_some(*v)
}

/// Whether some aggregation group of `vs` holds exactly one series with a non-finite value.
fn single_nonfinite_group(
    vs: &VectorSelector,
    modifier: Option<&LabelModifier>,
    times: &[i64],
    ctx: &Ctx,
) -> bool {
    let series = select(vs, ctx.data);
    let key = |s: &Series| -> Vec<(String, String)> {
        s.labels
            .iter()
            .filter(|(k, _)| match modifier {
                Some(LabelModifier::Include(l)) => l.labels.contains(k),
                Some(LabelModifier::Exclude(l)) => *k != "__name__" && !l.labels.contains(k),
                None => false,
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    for t in times {
        let te = anchored(*t, &vs.at, &vs.offset, ctx);
        let mut groups: std::collections::BTreeMap<Vec<(String, String)>, Vec<f64>> = Default::default();
        for s in &series {
            if let Some(v) = value_at(s, te) {
                groups.entry(key(s)).or_default().push(v);
            }
        }
        if groups.values().any(|g| g.len() == 1 && !g[0].is_finite()) {
            return true;
        }
    }
    false
}

/// Recomputes the start-of-window extrapolation both ways for every matched series and time.
fn rate_versions_differ(ms: &promql_parser::parser::MatrixSelector, times: &[i64], ctx: &Ctx) -> bool {
    let range = ms.range.as_millis() as i64;
    for s in select(&ms.vs, ctx.data) {
        for t in times {
            let te = anchored(*t, &ms.vs.at, &ms.vs.offset, ctx);
            let lo = te - range;
            let w: Vec<(i64, f64)> = s
                .samples
                .iter()
                .copied()
                .filter(|(ts, v)| *ts > lo && *ts <= te && v.to_bits() != STALE_NAN_BITS)
                .collect();
            if w.len() < 2 {
                continue;
            }
            let (first, last) = (w[0], w[w.len() - 1]);
            let mut result = last.1 - first.1;
            let mut prev = first.1;
            for (_, v) in &w[1..] {
                if *v < prev {
                    result += prev;
                }
                prev = *v;
            }
            let to_start = (first.0 - lo) as f64 / 1000.0;
            let sampled = (last.0 - first.0) as f64 / 1000.0;
            let avg = sampled / (w.len() - 1) as f64;
            let threshold = avg * 1.1;
            let zero = (result > 0.0 && first.1 >= 0.0).then(|| sampled * (first.1 / result));
            // 2.x: zero point first, then threshold.
            let mut d2 = to_start;
            if let Some(z) = zero
                && z < d2
            {
                d2 = z;
            }
            let d2 = if d2 < threshold { d2 } else { avg / 2.0 };
            // 3.x: threshold first, then zero point.
            let mut d3 = if to_start >= threshold { avg / 2.0 } else { to_start };
            if let Some(z) = zero
                && z < d3
            {
                d3 = z;
            }
            if (d2 - d3).abs() > 1e-9 * d2.abs().max(1.0) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn series(name: &str, samples: Vec<(i64, f64)>) -> Series {
        let mut labels = BTreeMap::new();
        labels.insert("__name__".to_string(), name.to_string());
        Series { labels, samples, counter: true }
    }

    fn judge1(expr: &str, t: i64, data: &[Series]) -> Verdict {
        let ts: HashSet<i64> = data.iter().flat_map(|s| s.samples.iter().map(|p| p.0)).collect();
        judge(expr, Mode::Instant { time_ms: t }, data, &ts)
    }

    #[test]
    fn subquery_alignment_is_detected() {
        assert!(judge1("max_over_time(x[5m:1m])", 600_000, &[]).excluded_by.contains("left_open_subquery"));
        assert!(judge1("max_over_time(x[5m:1m])", 607_000, &[]).excluded_by.is_empty());
        assert!(
            judge1("max_over_time(x[5m:1m] offset 7s)", 607_000, &[])
                .excluded_by
                .contains("left_open_subquery")
        );
        assert!(
            judge1("max_over_time(x[5m:] @ 1200)", 607_000, &[]).excluded_by.contains("left_open_subquery")
        );
    }

    #[test]
    fn raw_window_start_on_a_sample_is_detected() {
        let data = [series("x", vec![(300_000, 1.0), (315_000, 2.0)])];
        assert!(judge1("x[5m]", 600_000, &data).excluded_by.contains("left_open_raw"));
        assert!(judge1("x", 600_000, &data).excluded_by.contains("left_open_raw"));
        assert!(judge1("x[5m]", 601_000, &data).excluded_by.is_empty());
    }

    #[test]
    fn rate_zero_point_ordering_is_detected() {
        // Series born mid-window (far from the window start) with a small first value: the zero
        // point lies between half and 1.1 × the average spacing, where 2.x and 3.x differ.
        let data = [series("c", vec![(200_000, 1.0), (215_000, 2.0), (230_000, 3.0)])];
        assert!(judge1("rate(c[5m])", 240_000, &data).excluded_by.contains("rate_zero_point_order"));
        // Large first value: the zero point is far away, both versions agree.
        let data = [series("c", vec![(200_000, 1000.0), (215_000, 1001.0), (230_000, 1002.0)])];
        assert!(judge1("rate(c[5m])", 240_000, &data).excluded_by.is_empty());
    }

    #[test]
    fn single_nonfinite_stddev_group_is_detected() {
        let mut a = series("g", vec![(1_000, f64::NAN)]);
        a.labels.insert("k".into(), "a".into());
        let mut b = series("g", vec![(1_000, 1.0)]);
        b.labels.insert("k".into(), "b".into());
        let data = [a, b];
        assert!(judge1("stdvar by (k) (g)", 2_000, &data).excluded_by.contains("stddev_single_nonfinite"));
        assert!(judge1("stddev without (k) (g)", 2_000, &data).excluded_by.is_empty());
        assert!(judge1("stddev(g)", 2_000, &data).excluded_by.is_empty());
    }

    #[test]
    fn rewrites_and_flags() {
        let v = judge1("holt_winters(x[5m], 0.5, 0.5)", 1_000, &[]);
        assert_eq!(v.cairn_expr, "double_exponential_smoothing(x[5m], 0.5, 0.5)");
        assert!(judge1("a atan2 b", 1_000, &[]).strip_name);
        assert!(!judge1("a + b", 1_000, &[]).strip_name);
        assert!(judge1("sum(x atan2 y)", 1_000, &[]).strip_name);
        let utf8 = |q: &str| judge1(q, 1_000, &[]).excluded_by.contains("utf8_label_names");
        assert!(utf8(r#"label_replace(x, "1bad", "", "a", "")"#));
        assert!(utf8(r#"sum(label_join(x, "ok", "-", "a", "b-c"))"#));
        assert!(utf8(r#"count_values("1bad", x)"#));
        assert!(!utf8(r#"label_replace(x, "_ok1", "$1", "a", "(.*)")"#));
        assert!(judge1("(sort(x))", 1_000, &[]).sorts);
        assert!(!judge1("sum(sort(x))", 1_000, &[]).sorts);
    }
}
