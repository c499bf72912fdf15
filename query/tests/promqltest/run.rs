//! Executes parsed test scripts against the engine over a `MemStorage`, classifies each eval
//! (float+stable, native histograms, experimental syntax, start timestamps) and checks results,
//! errors and annotations as FORMAT.md §6–7 describe. Reports; does not decide pass/fail of
//! the whole run.

use std::collections::HashMap;

use cairn_format::{Labels, Sample, is_stale_nan, matches_all};
use cairn_query::mem::MemStorage;
use cairn_query::{Engine, QueryOptions, Queryable, Value};
use promql_parser::parser::{Expr, token};

use crate::script::{Command, Eval, ExpectKind, ExpectText, Item, Query, SeriesLine};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    FloatStable,
    Histogram,
    Experimental,
    StartTimestamps,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::FloatStable => "float+stable",
            Class::Histogram => "native-hist",
            Class::Experimental => "experimental",
            Class::StartTimestamps => "start-ts",
        }
    }
}

#[derive(Default, Debug)]
pub struct FileReport {
    /// class → (passed, total)
    pub counts: HashMap<Class, (usize, usize)>,
    pub failures: Vec<String>,
    pub fatal: Option<String>,
}

fn almost_equal(a: f64, b: f64) -> bool {
    const EPS: f64 = 1e-6;
    let min_normal = f64::from_bits(0x0010_0000_0000_0000);
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let d = (a - b).abs();
    let s = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || s < min_normal {
        return d < EPS * min_normal;
    }
    d / s.min(f64::MAX) < EPS
}

/// Textual markers of experimental syntax the parser may not even accept.
fn experimental_text(expr: &str) -> bool {
    let markers = [
        "anchored",
        "smoothed",
        "fill(",
        "fill (",
        "fill_left",
        ">/",
        "</",
        "fill_right",
        "step()",
        "range()",
        "min_of(",
        "max_of(",
        "info(",
    ];
    let lower = expr.to_ascii_lowercase();
    if markers.iter().any(|m| lower.contains(m)) {
        return true;
    }
    // Duration arithmetic inside brackets or after offset / @.
    let re = regex::Regex::new(
        r"\[[^\]]*[-+*/^%()][^\]]*\]|offset\s*\(|offset\s+-?\d+[a-z]*\s*[-+*/^%]\s*\d|@\s*\(",
    )
    .unwrap();
    re.is_match(expr)
}

fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, f);
            }
            walk(&a.expr, f);
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, f)),
        _ => {}
    }
}

fn classify(ev: &Eval, hist_series: &[Labels], start_ts_file: bool) -> Class {
    if start_ts_file {
        return Class::StartTimestamps;
    }
    let expects_hist = ev.series.iter().any(|s| s.items.iter().any(|i| matches!(i, Item::Hist)));
    let parsed = promql_parser::parser::parse(&ev.expr);
    let mut exp = false;
    let mut selects_hist = false;
    match &parsed {
        Ok(e) => {
            walk(e, &mut |n| match n {
                Expr::Call(c) if c.func.experimental => exp = true,
                Expr::Aggregate(a) if matches!(a.op.id(), token::T_LIMITK | token::T_LIMIT_RATIO) => {
                    exp = true
                }
                Expr::Binary(b) => {
                    if let Some(m) = &b.modifier
                        && (m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
                    {
                        exp = true;
                    }
                }
                Expr::VectorSelector(vs) => selects_hist |= selector_hits(vs, hist_series),
                Expr::MatrixSelector(ms) => selects_hist |= selector_hits(&ms.vs, hist_series),
                _ => {}
            });
            if experimental_text(&ev.expr) && ev.expr.contains("anchored") | ev.expr.contains("smoothed") {
                exp = true;
            }
        }
        Err(_) => exp = experimental_text(&ev.expr),
    }
    if expects_hist || selects_hist {
        Class::Histogram
    } else if exp {
        Class::Experimental
    } else {
        Class::FloatStable
    }
}

fn selector_hits(vs: &promql_parser::parser::VectorSelector, hist: &[Labels]) -> bool {
    if hist.is_empty() {
        return false;
    }
    let mut ms = Vec::new();
    if let Some(n) = &vs.name {
        ms.push(cairn_format::Matcher::equal("__name__", n.clone()));
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            promql_parser::label::MatchOp::Equal => cairn_format::MatchOp::Equal,
            promql_parser::label::MatchOp::NotEqual => cairn_format::MatchOp::NotEqual,
            promql_parser::label::MatchOp::Re(_) => cairn_format::MatchOp::RegexMatch,
            promql_parser::label::MatchOp::NotRe(_) => cairn_format::MatchOp::RegexNoMatch,
        };
        match cairn_format::Matcher::new(op, m.name.clone(), m.value.clone()) {
            Ok(x) => ms.push(x),
            Err(_) => return false,
        }
    }
    hist.iter().any(|l| matches_all(&ms, l))
}

/// Label sets of the NHCB series `load_with_nhcb` would build from classic series.
fn nhcb_bases(series: &[SeriesLine]) -> Vec<Labels> {
    let mut out = Vec::new();
    for s in series {
        let Some(name) = s.labels.metric_name() else { continue };
        let base = ["_bucket", "_count", "_sum"].iter().find_map(|suf| name.strip_suffix(suf));
        if let Some(b) = base {
            let mut l = s.labels.clone();
            l.remove("le");
            l.set("__name__", b);
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

fn fmt_val(v: f64) -> String {
    if is_stale_nan(v) { "stale".into() } else { format!("{v}") }
}

fn check_annotations(ev: &Eval, warnings: &[String], infos: &[String]) -> Result<(), String> {
    for (kinds, actual, label) in [
        ((ExpectKind::Warn, ExpectKind::NoWarn), warnings, "warning"),
        ((ExpectKind::Info, ExpectKind::NoInfo), infos, "info"),
    ] {
        let want: Vec<&ExpectText> = ev
            .expects
            .iter()
            .filter(|e| std::mem::discriminant(&e.kind) == std::mem::discriminant(&kinds.0))
            .map(|e| &e.text)
            .collect();
        let no =
            ev.expects.iter().any(|e| std::mem::discriminant(&e.kind) == std::mem::discriminant(&kinds.1));
        if no && !actual.is_empty() {
            return Err(format!("expected no {label}s, got {actual:?}"));
        }
        if want.is_empty() {
            continue;
        }
        if actual.is_empty() {
            return Err(format!("expected {label}s {want:?}, got none"));
        }
        let matches = |t: &ExpectText, a: &str| match t {
            ExpectText::Any => true,
            ExpectText::Msg(m) => m == a,
            ExpectText::Regex(r) => regex::Regex::new(r).map(|re| re.is_match(a)).unwrap_or(false),
        };
        for w in &want {
            if !actual.iter().any(|a| matches(w, a)) {
                return Err(format!("expected {label} {w:?} not found in {actual:?}"));
            }
        }
        for a in actual {
            if !want.iter().any(|w| matches(w, a)) {
                return Err(format!("unexpected {label} {a:?}"));
            }
        }
    }
    Ok(())
}

fn expected_points(items: &[Item], start: i64, step: i64) -> Vec<Sample> {
    items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| match it {
            Item::Float(v) => Some(Sample::new(start + i as i64 * step, *v)),
            _ => None,
        })
        .collect()
}

fn compare_matrix(
    exp: &[SeriesLine],
    got: &[(Labels, Vec<Sample>)],
    start: i64,
    step: i64,
) -> Result<(), String> {
    for w in got.windows(2) {
        if w[0].0 >= w[1].0 {
            return Err(format!("matrix not sorted by labels: {} before {}", w[0].0, w[1].0));
        }
    }
    let gmap: HashMap<&Labels, &Vec<Sample>> = got.iter().map(|(l, s)| (l, s)).collect();
    for e in exp {
        let Some(actual) = gmap.get(&e.labels) else {
            return Err(format!(
                "missing series {}; got {:?}",
                e.labels,
                got.iter().map(|g| g.0.to_string()).collect::<Vec<_>>()
            ));
        };
        let want = expected_points(&e.items, start, step);
        if want.len() != actual.len() {
            return Err(format!(
                "series {}: expected {} points {:?}, got {} {:?}",
                e.labels,
                want.len(),
                want.iter().map(|p| (p.t, fmt_val(p.v))).collect::<Vec<_>>(),
                actual.len(),
                actual.iter().map(|p| (p.t, fmt_val(p.v))).collect::<Vec<_>>()
            ));
        }
        for (w, a) in want.iter().zip(actual.iter()) {
            if w.t != a.t || !almost_equal(w.v, a.v) {
                return Err(format!(
                    "series {}: expected ({}, {}), got ({}, {})",
                    e.labels,
                    w.t,
                    fmt_val(w.v),
                    a.t,
                    fmt_val(a.v)
                ));
            }
        }
    }
    for (l, _) in got {
        if !exp.iter().any(|e| &e.labels == l) {
            return Err(format!("unexpected series {l}"));
        }
    }
    Ok(())
}

/// Functions whose value depends on the evaluation time: no `@` variants for these (§8.1).
const TIME_FUNCS: [&str; 15] = [
    "time",
    "timestamp",
    "predict_linear",
    "start",
    "end",
    "range",
    "step",
    "hour",
    "minute",
    "month",
    "year",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
];

fn add_at(e: &mut Expr, at: std::time::SystemTime) {
    use promql_parser::parser::AtModifier;
    match e {
        Expr::VectorSelector(vs) if vs.at.is_none() => vs.at = Some(AtModifier::At(at)),
        Expr::MatrixSelector(ms) if ms.vs.at.is_none() => ms.vs.at = Some(AtModifier::At(at)),
        // Once a subquery has an `@` (given or added), its inside is left alone.
        Expr::Subquery(sq) if sq.at.is_none() => sq.at = Some(AtModifier::At(at)),
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                add_at(p, at);
            }
            add_at(&mut a.expr, at);
        }
        Expr::Unary(u) => add_at(&mut u.expr, at),
        Expr::Binary(b) => {
            add_at(&mut b.lhs, at);
            add_at(&mut b.rhs, at);
        }
        Expr::Paren(p) => add_at(&mut p.expr, at),
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| add_at(a, at)),
        _ => {}
    }
}

/// FORMAT.md §8.1: the expression with `@ <t>` on every selector, run at other instants.
pub fn at_variants(ev: &Eval) -> Vec<(String, i64)> {
    let Query::Instant { at } = ev.query else { return Vec::new() };
    let Ok(mut e) = promql_parser::parser::parse(&ev.expr) else { return Vec::new() };
    let mut time_dependent = false;
    walk(&e, &mut |n| {
        if let Expr::Call(c) = n
            && TIME_FUNCS.contains(&c.func.name)
        {
            time_dependent = true;
        }
    });
    if time_dependent {
        return Vec::new();
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at as u64);
    add_at(&mut e, t);
    let text = e.to_string();
    let times = if at == 0 { vec![-1000, 0, 1000] } else { vec![-10 * at, 0, at / 5, at, 10 * at] };
    times.into_iter().map(|ts| (text.clone(), ts)).collect()
}

fn check_eval(engine: &Engine, st: &dyn Queryable, ev: &Eval) -> Result<(), String> {
    check_eval_once(engine, st, ev)?;
    if std::env::var_os("CAIRN_PROMQLTEST_NO_AT_VARIANTS").is_none() {
        for (text, ts) in at_variants(ev) {
            let mut v = ev.clone();
            v.expr = text;
            v.query = Query::Instant { at: ts };
            // Annotation positions refer to the rewritten text; only check their presence.
            for e in &mut v.expects {
                if matches!(e.kind, ExpectKind::Warn | ExpectKind::Info) {
                    e.text = ExpectText::Any;
                }
            }
            check_eval_once(engine, st, &v).map_err(|m| format!("@-variant {:?} at {ts}: {m}", v.expr))?;
        }
    }
    Ok(())
}

fn check_eval_once(engine: &Engine, st: &dyn Queryable, ev: &Eval) -> Result<(), String> {
    let opts = QueryOptions::default();
    let res = match &ev.query {
        Query::Instant { at } => engine.instant_query(st, &ev.expr, *at, &opts),
        Query::Range { start, end, step } => engine.range_query(st, &ev.expr, *start, *end, *step, &opts),
    };
    let fail = ev.expects.iter().find(|e| matches!(e.kind, ExpectKind::Fail));
    let res = match (res, fail) {
        (Err(e), Some(f)) => {
            let msg = e.to_string();
            return match &f.text {
                ExpectText::Any => Ok(()),
                ExpectText::Msg(m) if *m == msg => Ok(()),
                ExpectText::Regex(r) if regex::Regex::new(r).map(|re| re.is_match(&msg)).unwrap_or(false) => {
                    Ok(())
                }
                t => Err(format!("error {msg:?} does not match {t:?}")),
            };
        }
        (Err(e), None) => return Err(format!("unexpected error: {e}")),
        (Ok(_), Some(_)) => return Err("expected error, query succeeded".into()),
        (Ok(r), None) => r,
    };
    check_annotations(ev, &res.warnings, &res.infos)?;
    if let Query::Instant { at } = ev.query {
        range_cross_check(engine, st, ev, at)?;
    }
    match (&ev.query, &res.value) {
        (Query::Range { start, step, .. }, Value::Matrix(m)) => compare_matrix(&ev.series, m, *start, *step),
        (Query::Range { .. }, v) => Err(format!("range query returned {}", v.type_name())),
        (Query::Instant { .. }, Value::Scalar(_, v)) => match ev.scalar {
            Some(want) if almost_equal(want, *v) => Ok(()),
            Some(want) => Err(format!("expected scalar {want}, got {v}")),
            None => Err(format!("got scalar {v}, expected {} series", ev.series.len())),
        },
        (Query::Instant { .. }, Value::String(_, s)) => match &ev.string {
            Some(w) if w == s => Ok(()),
            w => Err(format!("expected string {w:?}, got {s:?}")),
        },
        (Query::Instant { .. }, Value::Matrix(m)) => match ev.range_vector {
            Some((a, _, s)) => compare_matrix(&ev.series, m, a, s),
            None => Err("instant query returned a range vector without `expect range vector`".into()),
        },
        (Query::Instant { .. }, Value::Vector(v)) => {
            if ev.scalar.is_some() {
                return Err(format!("expected scalar, got vector of {}", v.len()));
            }
            if ev.range_vector.is_some() || ev.string.is_some() {
                return Err("expected range vector/string, got vector".into());
            }
            let ordered = ev.expects.iter().any(|e| matches!(e.kind, ExpectKind::Ordered));
            if v.len() != ev.series.len() {
                return Err(format!(
                    "expected {} samples, got {}: {:?}",
                    ev.series.len(),
                    v.len(),
                    v.iter().map(|(l, _, x)| format!("{l} {}", fmt_val(*x))).collect::<Vec<_>>()
                ));
            }
            for (pos, (l, _, x)) in v.iter().enumerate() {
                let Some(idx) = ev.series.iter().position(|e| &e.labels == l) else {
                    return Err(format!("unexpected sample {l} {}", fmt_val(*x)));
                };
                if ordered && idx != pos {
                    return Err(format!("sample {l} at position {pos}, expected {idx}"));
                }
                let want = match ev.series[idx].items.first() {
                    Some(Item::Float(w)) => *w,
                    other => return Err(format!("unusable expectation {other:?} for {l}")),
                };
                if !almost_equal(want, *x) {
                    return Err(format!("{l}: expected {}, got {}", fmt_val(want), fmt_val(*x)));
                }
            }
            Ok(())
        }
    }
}

/// FORMAT.md §8.2: the instant expression run as a range query t-1m..t+1m step 1m must
/// succeed, be sorted, and give the expected values at its middle step.
fn range_cross_check(engine: &Engine, st: &dyn Queryable, ev: &Eval, at: i64) -> Result<(), String> {
    if ev.range_vector.is_some() || ev.string.is_some() {
        return Ok(());
    }
    if ["start()", "end()", "range()", "step()"].iter().any(|f| ev.expr.contains(f)) {
        return Ok(());
    }
    let res = engine
        .range_query(st, &ev.expr, at - 60_000, at + 60_000, 60_000, &QueryOptions::default())
        .map_err(|e| format!("range-mode cross-check failed: {e}"))?;
    let Value::Matrix(m) = res.value else {
        return Err("range-mode cross-check: not a matrix".into());
    };
    for w in m.windows(2) {
        if w[0].0 >= w[1].0 {
            return Err("range-mode cross-check: matrix not sorted".into());
        }
    }
    if ev.expects.iter().any(|e| matches!(e.kind, ExpectKind::Ordered)) && ev.scalar.is_none() {
        // Values still compared below; order cannot be.
    }
    let mid: Vec<(Labels, f64)> =
        m.iter().filter_map(|(l, pts)| pts.iter().find(|p| p.t == at).map(|p| (l.clone(), p.v))).collect();
    if let Some(want) = ev.scalar {
        return match mid.as_slice() {
            [(l, v)] if l.is_empty() && almost_equal(want, *v) => Ok(()),
            other => Err(format!("range-mode cross-check: expected scalar {want}, got {other:?}")),
        };
    }
    if mid.len() != ev.series.len() {
        return Err(format!(
            "range-mode cross-check: expected {} series at t, got {}: {:?}",
            ev.series.len(),
            mid.len(),
            mid
        ));
    }
    for (l, v) in &mid {
        let Some(e) = ev.series.iter().find(|e| &e.labels == l) else {
            return Err(format!("range-mode cross-check: unexpected series {l}"));
        };
        match e.items.first() {
            Some(Item::Float(w)) if almost_equal(*w, *v) => {}
            other => return Err(format!("range-mode cross-check: {l}: expected {other:?}, got {v}")),
        }
    }
    Ok(())
}

/// The storage a script runs against: `load` commands go in through [`ScriptStorage::load`],
/// evals read it as a `Queryable`. [`run_file`] uses a `MemStorage`; the root crate runs the
/// same scripts over its database with [`run_file_on`].
pub trait ScriptStorage: Queryable {
    /// Appends one `load` command's float samples (each series in time order).
    fn load(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String>;
}

impl ScriptStorage for MemStorage {
    fn load(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String> {
        for (l, t, v) in samples {
            self.append(l, *t, *v);
        }
        Ok(())
    }
}

fn load(
    st: &dyn ScriptStorage,
    step: i64,
    series: &[SeriesLine],
    hist: &mut Vec<Labels>,
    nhcb: bool,
) -> Result<(), String> {
    let mut samples = Vec::new();
    // As in Prometheus's runner, a later line for the same series replaces an earlier one.
    let last_def = |i: usize| !series[i + 1..].iter().any(|t| t.labels == series[i].labels);
    for (_, s) in series.iter().enumerate().filter(|(i, _)| last_def(*i)) {
        if s.items.iter().any(|i| matches!(i, Item::Hist)) {
            hist.push(s.labels.clone());
            continue;
        }
        for (i, it) in s.items.iter().enumerate() {
            if let Item::Float(v) = it {
                samples.push((s.labels.clone(), i as i64 * step, *v));
            }
        }
    }
    if nhcb {
        hist.extend(nhcb_bases(series));
    }
    st.load(&samples)
}

pub fn run_file(engine: &Engine, name: &str, text: &str) -> FileReport {
    run_file_on(engine, name, text, &mut MemStorage::new)
}

/// Runs a script over storages made by `new_storage` (one at the start and one per `clear`).
/// A failed `load` is reported as a failure of its own (`[load] ...`), not counted in a class.
pub fn run_file_on<S: ScriptStorage>(
    engine: &Engine,
    name: &str,
    text: &str,
    new_storage: &mut dyn FnMut() -> S,
) -> FileReport {
    let mut rep = FileReport::default();
    let cmds = match crate::script::parse_script(text) {
        Ok(c) => c,
        Err(e) => {
            rep.fatal = Some(e);
            return rep;
        }
    };
    let mut st = new_storage();
    let mut hist: Vec<Labels> = Vec::new();
    let start_ts_file = name.starts_with("start_timestamps");
    for c in &cmds {
        match c {
            Command::Clear => {
                st = new_storage();
                hist.clear();
            }
            Command::Load { step, nhcb, series } => {
                if let Err(e) = load(&st, *step, series, &mut hist, *nhcb) {
                    rep.failures.push(format!("[load] {e}"));
                }
            }
            Command::Eval(ev) => {
                let class = classify(ev, &hist, start_ts_file);
                let r =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_eval(engine, &st, ev)))
                        .unwrap_or_else(|_| Err("panic".into()));
                let e = rep.counts.entry(class).or_default();
                e.1 += 1;
                match r {
                    Ok(()) => e.0 += 1,
                    Err(msg) => rep.failures.push(format!(
                        "[{}] line {}: {}: {}",
                        class.name(),
                        ev.line,
                        ev.expr,
                        msg
                    )),
                }
            }
        }
    }
    rep
}
