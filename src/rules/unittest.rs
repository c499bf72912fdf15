//! Runner for `promtool test rules` unit-test files: input series in the expanding notation
//! (`1+1x10`, `_`, `_x3`, `stale`), rule files evaluated step by step on Cairn's engine over
//! an in-memory storage, `alert_rule_test` (firing alerts with labels and annotations) and
//! `promql_expr_test` (samples with labels and values). Owns no rule semantics: rules run
//! through [`RuleManager`] exactly as in the server.

use crate::rules::file::{Scalar, parse_expr};
use crate::rules::local::{EngineQuerier, MemAppender};
use crate::rules::recording::to_vector;
use crate::rules::{AlertState, ManagerOptions, RuleManager, RuleQuerier, duration, group::Rule};
use cairn_format::{Labels, METRIC_NAME, stale_nan};
use cairn_query::mem::MemStorage;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct UnitTestFile {
    #[serde(default)]
    pub rule_files: Vec<String>,
    #[serde(default)]
    pub evaluation_interval: Option<String>,
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTestCase>,
    #[serde(default)]
    pub promql_expr_test: Vec<PromqlTestCase>,
    #[serde(default)]
    pub external_labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub external_url: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    pub series: String,
    #[serde(default)]
    pub values: Scalar,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct AlertTestCase {
    pub eval_time: String,
    pub alertname: String,
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    #[serde(default)]
    pub exp_labels: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, Scalar>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct PromqlTestCase {
    pub expr: String,
    pub eval_time: String,
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    #[serde(default)]
    pub labels: String,
    pub value: Scalar,
}

/// One value of the expanding notation: a number, a stale marker, or nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeqValue {
    Value(f64),
    Stale,
    Omitted,
}

fn parse_num(s: &str) -> Result<f64, String> {
    match s {
        "Inf" | "+Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|_| format!("invalid number {s:?}")),
    }
}

/// Longest expansion allowed for one `xN` term.
pub const EXPANSION_VALUES_MAX: u64 = 1_000_000;

/// Expands `1+1x3 _ stale 5 _x2 7x1` into values (a `+b`/`-b` `xN` term gives N+1 values,
/// `_xN` gives N omitted values).
pub fn expand_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        if tok == "_" {
            out.push(SeqValue::Omitted);
            continue;
        }
        if tok == "stale" {
            out.push(SeqValue::Stale);
            continue;
        }
        let Some((head, times)) = tok.rsplit_once('x') else {
            out.push(SeqValue::Value(parse_num(tok)?));
            continue;
        };
        let n: u64 = times.parse().map_err(|_| format!("invalid repetition in {tok:?}"))?;
        if n > EXPANSION_VALUES_MAX {
            return Err(format!("repetition {n} in {tok:?} is larger than {EXPANSION_VALUES_MAX}"));
        }
        if head == "_" {
            out.extend(std::iter::repeat_n(SeqValue::Omitted, n as usize));
            continue;
        }
        // Split `a+b` / `a-b` at the sign that is not the leading one or an exponent's.
        let bytes = head.as_bytes();
        let split = (1..bytes.len())
            .rev()
            .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
        let (start, step) = match split {
            Some(i) => {
                let step = parse_num(&head[i + 1..])?;
                (parse_num(&head[..i])?, if bytes[i] == b'-' { -step } else { step })
            }
            None => (parse_num(head)?, 0.0),
        };
        for k in 0..=n {
            out.push(SeqValue::Value(start + step * k as f64));
        }
    }
    Ok(out)
}

/// Parses a series description like `up{job="a"}` (equality matchers only); `{}` is empty.
pub fn parse_series(s: &str) -> Result<Labels, String> {
    let t = s.trim();
    if t.is_empty() || t == "{}" {
        return Ok(Labels::empty());
    }
    let expr = parse_expr(t)?;
    let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
        return Err(format!("{s:?} is not a series description"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(n) = vs.name {
        pairs.push((METRIC_NAME.into(), n));
    }
    for m in vs.matchers.matchers {
        if !matches!(m.op, promql_parser::label::MatchOp::Equal) {
            return Err(format!("{s:?}: only = matchers are allowed in a series description"));
        }
        if m.name == METRIC_NAME && pairs.iter().any(|(n, _)| n == METRIC_NAME) {
            continue;
        }
        pairs.push((m.name, m.value));
    }
    Ok(Labels::from_pairs(pairs))
}

/// Outcome of one unit-test file: errors of the file itself or failed assertions.
#[derive(Debug, Default)]
pub struct TestOutcome {
    pub failures: Vec<String>,
}

/// Runs a unit-test file. `Err` = the file could not be read or parsed.
pub fn run_test_file(path: &Path) -> Result<TestOutcome, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let file: UnitTestFile = serde_saphyr::from_str(&text).map_err(|e| {
        let loc = e.location().map(|l| format!("{}:{}: ", l.line(), l.column())).unwrap_or_default();
        vec![format!("{}: {loc}{}", path.display(), e.to_string().lines().next().unwrap_or(""))]
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let rule_files = RuleManager::expand_globs(base, &file.rule_files).map_err(|e| vec![e])?;
    let eval_interval = match &file.evaluation_interval {
        Some(s) => duration::parse(s).map_err(|e| vec![e])?,
        None => 60_000,
    };
    if eval_interval <= 0 {
        return Err(vec!["evaluation_interval must be greater than 0".into()]);
    }
    let mut outcome = TestOutcome::default();
    for (i, tg) in file.tests.iter().enumerate() {
        match run_group(tg, &rule_files, &file.group_eval_order, eval_interval) {
            Ok(mut f) => outcome.failures.append(&mut f),
            Err(errs) => {
                let label = if tg.name.is_empty() { format!("test {}", i + 1) } else { tg.name.clone() };
                outcome.failures.extend(errs.into_iter().map(|e| format!("{label}: {e}")));
            }
        }
    }
    Ok(outcome)
}

fn labels_of(m: &BTreeMap<String, Scalar>) -> Labels {
    Labels::from_pairs(m.iter().map(|(k, v)| (k.clone(), v.0.clone())))
}

fn fmt_alerts(v: &[(Labels, Labels)]) -> String {
    let parts: Vec<String> = v.iter().map(|(l, a)| format!("{{Labels:{l} Annotations:{a}}}")).collect();
    format!("[{}]", parts.join(" "))
}

fn run_group(
    tg: &TestGroup,
    rule_files: &[PathBuf],
    order: &[String],
    eval_interval: i64,
) -> Result<Vec<String>, Vec<String>> {
    let interval = match &tg.interval {
        Some(s) => duration::parse(s).map_err(|e| vec![e])?,
        None => eval_interval,
    };
    let storage = Arc::new(MemStorage::new());
    for s in &tg.input_series {
        let labels = parse_series(&s.series).map_err(|e| vec![format!("series {:?}: {e}", s.series)])?;
        let values = expand_values(&s.values.0).map_err(|e| vec![format!("series {:?}: {e}", s.series)])?;
        for (k, v) in values.into_iter().enumerate() {
            let t = k as i64 * interval;
            match v {
                SeqValue::Value(f) => storage.append(&labels, t, f),
                SeqValue::Stale => storage.append(&labels, t, stale_nan()),
                SeqValue::Omitted => {}
            }
        }
    }
    let querier = Arc::new(EngineQuerier::new(storage.clone()));
    let opts = ManagerOptions {
        eval_interval_ms: eval_interval,
        external_labels: labels_of(&tg.external_labels),
        external_url: tg.external_url.clone(),
        restore_on_start: false,
        run_scheduler: false,
        ..ManagerOptions::default()
    };
    let mgr = RuleManager::new(opts, querier.clone(), Arc::new(MemAppender(storage.clone())), None);
    mgr.load(rule_files).map_err(|errs| errs.into_iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let mut groups = mgr.groups();
    if !order.is_empty() {
        let mut ordered = Vec::new();
        for name in order {
            match groups.iter().position(|g| &g.name == name) {
                Some(i) => ordered.push(groups.remove(i)),
                None => return Err(vec![format!("group {name:?} in group_eval_order not found")]),
            }
        }
        ordered.extend(groups);
        groups = ordered;
    }
    let mut alert_times: Vec<i64> = Vec::new();
    let mut cases = Vec::new();
    for c in &tg.alert_rule_test {
        let t = duration::parse(&c.eval_time).map_err(|e| vec![e])?;
        alert_times.push(t);
        cases.push((t, c));
    }
    let mut expr_cases = Vec::new();
    for c in &tg.promql_expr_test {
        expr_cases.push((duration::parse(&c.eval_time).map_err(|e| vec![e])?, c));
    }
    alert_times.sort_unstable();
    alert_times.dedup();
    let maxt = alert_times.iter().chain(expr_cases.iter().map(|(t, _)| t)).copied().max().unwrap_or(0);
    // Firing alerts per (eval_time, alertname): labels and annotations.
    let mut got: BTreeMap<(i64, String), Vec<(Labels, Labels)>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut next_alert = 0usize;
    let mut ts = 0i64;
    let ctx_groups = groups;
    while ts <= maxt {
        for g in &ctx_groups {
            mgr.eval_group_at(g, ts);
            for r in &g.rules {
                let h = r.health().snapshot();
                if h.health == "err" {
                    failures.push(format!(
                        "    group {:?}, rule {:?}, time {}: {}",
                        g.name,
                        r.name(),
                        duration::format(ts),
                        h.last_error
                    ));
                }
            }
        }
        while next_alert < alert_times.len()
            && alert_times[next_alert] >= ts
            && alert_times[next_alert] < ts + eval_interval
        {
            let at = alert_times[next_alert];
            for g in &ctx_groups {
                for r in &g.rules {
                    if let Rule::Alerting(a) = r {
                        let e = got.entry((at, a.name.clone())).or_default();
                        for al in a.alerts().into_iter().filter(|x| x.state == AlertState::Firing) {
                            e.push((al.labels, al.annotations));
                        }
                    }
                }
            }
            next_alert += 1;
        }
        ts += eval_interval;
    }
    for (t, c) in cases {
        let mut exp: Vec<(Labels, Labels)> = c
            .exp_alerts
            .iter()
            .map(|a| {
                let mut l = labels_of(&a.exp_labels);
                l.set("alertname", &c.alertname);
                (l, labels_of(&a.exp_annotations))
            })
            .collect();
        let mut g = got.get(&(t, c.alertname.clone())).cloned().unwrap_or_default();
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        g.sort_by(|a, b| a.0.cmp(&b.0));
        if exp != g {
            failures.push(format!(
                "    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                c.alertname,
                duration::format(t),
                fmt_alerts(&exp),
                fmt_alerts(&g)
            ));
        }
    }
    for (t, c) in expr_cases {
        let res = match querier.query(&c.expr, t).and_then(to_vector) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("    expr: {:?}, time: {}, err: {e}", c.expr, duration::format(t)));
                continue;
            }
        };
        let mut exp = Vec::new();
        for s in &c.exp_samples {
            let l = parse_series(&s.labels)
                .map_err(|e| vec![format!("expr {:?}: labels {:?}: {e}", c.expr, s.labels)])?;
            let v = parse_num(s.value.0.trim()).map_err(|e| vec![format!("expr {:?}: {e}", c.expr)])?;
            exp.push((l, v));
        }
        let mut gotv = res;
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        gotv.sort_by(|a, b| a.0.cmp(&b.0));
        let same = exp.len() == gotv.len()
            && exp.iter().zip(&gotv).all(|(a, b)| a.0 == b.0 && (a.1 == b.1 || a.1.is_nan() && b.1.is_nan()));
        if !same {
            let f = |v: &[(Labels, f64)]| {
                v.iter().map(|(l, x)| format!("{{Labels:{l} Value:{x}}}")).collect::<Vec<_>>().join(" ")
            };
            failures.push(format!(
                "    expr: {:?}, time: {},\n        exp: [{}]\n        got: [{}]",
                c.expr,
                duration::format(t),
                f(&exp),
                f(&gotv)
            ));
        }
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expanding_notation() {
        use SeqValue::*;
        assert_eq!(expand_values("1+1x3").unwrap(), vec![Value(1.0), Value(2.0), Value(3.0), Value(4.0)]);
        assert_eq!(
            expand_values("10-2x2 _ stale").unwrap(),
            vec![Value(10.0), Value(8.0), Value(6.0), Omitted, Stale]
        );
        assert_eq!(expand_values("_x2 5x1").unwrap(), vec![Omitted, Omitted, Value(5.0), Value(5.0)]);
        assert_eq!(
            expand_values("-1+1x1 1e3 -2e-1+1e1x1").unwrap(),
            vec![Value(-1.0), Value(0.0), Value(1000.0), Value(-0.2), Value(9.8)]
        );
        assert!(expand_values("1+x3").is_err());
        assert!(expand_values("1x99999999999").is_err());
    }

    #[test]
    fn series_descriptions() {
        let l = parse_series(r#"up{job="a", instance="x"}"#).unwrap();
        assert_eq!(l.to_string(), r#"up{instance="x", job="a"}"#);
        assert!(parse_series("{}").unwrap().is_empty());
        assert!(parse_series(r#"up{job=~"a"}"#).is_err());
    }
}
