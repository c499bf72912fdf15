//! Rule files in Prometheus's YAML format: parsing (serde-saphyr, unknown fields rejected)
//! and validation as `promtool check rules` does it (metric and label names, expressions
//! parse, templates parse, duplicate group names, `record` xor `alert`, …). Every error names
//! the file, the line and column, and the reason. Owns no evaluation.

use crate::rules::duration;
use crate::rules::template::check_alert_template;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

/// A problem in a rule file: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: u64,
    pub column: u64,
    pub msg: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}: {}:{}: {}", self.file, self.line, self.column, self.msg)
        } else {
            write!(f, "{}: {}", self.file, self.msg)
        }
    }
}

impl std::error::Error for RuleError {}

/// A YAML scalar read as text (Go's yaml decodes `expr: 1` or `severity: 2` into strings).
#[derive(Debug, Clone, Default)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar(String::new()))
            }
        }
        // As a string: YAML-1.1 plain scalars like `y`, `off`, `no` stay text (as go-yaml v3).
        d.deserialize_string(V)
    }
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<Spanned<RawGroup>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    name: Option<Spanned<Scalar>>,
    #[serde(default)]
    interval: Option<Spanned<Scalar>>,
    #[serde(default)]
    query_offset: Option<Spanned<Scalar>>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    labels: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    record: Option<Spanned<Scalar>>,
    #[serde(default)]
    alert: Option<Spanned<Scalar>>,
    #[serde(default)]
    expr: Option<Spanned<Scalar>>,
    #[serde(default, rename = "for")]
    for_: Option<Spanned<Scalar>>,
    #[serde(default)]
    keep_firing_for: Option<Spanned<Scalar>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, Scalar>>,
}

/// A validated rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    pub path: String,
    pub groups: Vec<GroupSpec>,
}

impl RuleFile {
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

/// A validated rule group (durations in ms).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    /// `None` = the global evaluation interval.
    pub interval_ms: Option<i64>,
    pub query_offset_ms: Option<i64>,
    /// 0 = no limit.
    pub limit: usize,
    /// Group labels, added to every rule's labels (rule labels win).
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleKindSpec {
    Recording { record: String },
    Alerting { alert: String, for_ms: i64, keep_firing_for_ms: i64, annotations: BTreeMap<String, String> },
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub kind: RuleKindSpec,
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    pub line: u64,
}

impl RuleSpec {
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKindSpec::Recording { record } => record,
            RuleKindSpec::Alerting { alert, .. } => alert,
        }
    }
}

pub fn is_valid_metric_name(s: &str) -> bool {
    let mut it = s.chars();
    match it.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    it.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub fn is_valid_label_name(s: &str) -> bool {
    let mut it = s.chars();
    match it.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    it.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Longest expression accepted (the parser recurses; see DEPENDENCIES.md).
pub const EXPR_BYTES_MAX: usize = 64 * 1024;

/// Parses a PromQL expression without letting the parser's panics escape.
pub fn parse_expr(expr: &str) -> Result<promql_parser::parser::Expr, String> {
    if expr.len() > EXPR_BYTES_MAX {
        return Err(format!("expression longer than {EXPR_BYTES_MAX} bytes"));
    }
    let owned = expr.to_string();
    // A thread with a large stack keeps deeply nested input from overflowing ours.
    let handle = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || std::panic::catch_unwind(|| promql_parser::parser::parse(&owned)))
        .map_err(|e| format!("cannot start parser thread: {e}"))?;
    match handle.join() {
        Ok(Ok(res)) => res,
        _ => Err("parser panicked on this expression".into()),
    }
}

/// Reads and validates a rule file.
pub fn parse_rule_file(path: &Path) -> Result<RuleFile, Vec<RuleError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![RuleError { file: name.clone(), line: 0, column: 0, msg: e.to_string() }])?;
    parse_rule_str(&name, &text)
}

/// Parses and validates rule-file text; `file` is used in error messages.
pub fn parse_rule_str(file: &str, text: &str) -> Result<RuleFile, Vec<RuleError>> {
    let err = |line: u64, column: u64, msg: String| RuleError { file: file.to_string(), line, column, msg };
    let raw: RawFile = if text.trim().is_empty() {
        RawFile::default()
    } else {
        match serde_saphyr::from_str::<Option<RawFile>>(text) {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => {
                let (line, col) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
                let msg = e.to_string();
                // The library's message may carry its own location/snippet; keep the first line.
                let mut first = msg.lines().next().unwrap_or("").to_string();
                if let Some(rest) = first.strip_prefix("error: line ")
                    && let Some(i) = rest.find(": ")
                {
                    first = rest[i + 2..].to_string();
                }
                return Err(vec![err(line, col, first)]);
            }
        }
    };
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut groups = Vec::new();
    for g in raw.groups {
        let (gl, gc) = (g.referenced.line(), g.referenced.column());
        let g = g.value;
        let gname = g.name.as_ref().map(|n| n.value.0.clone()).unwrap_or_default();
        let (nl, nc) =
            g.name.as_ref().map(|n| (n.referenced.line(), n.referenced.column())).unwrap_or((gl, gc));
        if gname.is_empty() {
            errors.push(err(nl, nc, "Groupname must not be empty".into()));
        } else if !seen.insert(gname.clone()) {
            errors.push(err(nl, nc, format!("groupname: \"{gname}\" is repeated in the same file")));
        }
        let dur = |d: &Option<Spanned<Scalar>>, errors: &mut Vec<RuleError>| -> Option<i64> {
            let d = d.as_ref()?;
            match duration::parse(&d.value.0) {
                Ok(ms) => Some(ms),
                Err(e) => {
                    errors.push(err(d.referenced.line(), d.referenced.column(), e));
                    None
                }
            }
        };
        // As Prometheus: a zero interval means the global one, a limit <= 0 means none.
        let interval_ms = dur(&g.interval, &mut errors).filter(|&ms| ms > 0);
        let query_offset_ms = dur(&g.query_offset, &mut errors);
        let limit = g.limit.unwrap_or(0);
        let mut glabels = BTreeMap::new();
        for (k, v) in g.labels.unwrap_or_default() {
            if !is_valid_label_name(&k) || k == "__name__" {
                errors.push(err(gl, gc, format!("group \"{gname}\": invalid label name: {k}")));
            }
            glabels.insert(k, v.0);
        }
        let mut rules = Vec::new();
        for (i, r) in g.rules.into_iter().enumerate() {
            let (rl, rc) = (r.referenced.line(), r.referenced.column());
            match validate_rule(&gname, i + 1, r.value, (rl, rc)) {
                Ok(spec) => rules.push(spec),
                Err(errs) => {
                    for (line, col, msg) in errs {
                        errors.push(err(
                            if line > 0 { line } else { rl },
                            if line > 0 { col } else { rc },
                            msg,
                        ));
                    }
                }
            }
        }
        groups.push(GroupSpec {
            name: gname,
            interval_ms,
            query_offset_ms,
            limit: limit.max(0) as usize,
            labels: glabels,
            rules,
        });
    }
    if errors.is_empty() { Ok(RuleFile { path: file.to_string(), groups }) } else { Err(errors) }
}

fn validate_rule(
    group: &str,
    idx: usize,
    r: RawRule,
    pos: (u64, u64),
) -> Result<RuleSpec, Vec<(u64, u64, String)>> {
    let line = pos.0;
    let at = |s: &Option<Spanned<Scalar>>| {
        s.as_ref().map(|s| (s.referenced.line(), s.referenced.column())).unwrap_or((0, 0))
    };
    let val = |s: &Option<Spanned<Scalar>>| s.as_ref().map(|s| s.value.0.clone()).unwrap_or_default();
    let record = val(&r.record);
    let alert = val(&r.alert);
    let rule_name = if !record.is_empty() { record.clone() } else { alert.clone() };
    let mut errs: Vec<(u64, u64, String)> = Vec::new();
    let mut push = |pos: (u64, u64), msg: String| {
        errs.push((pos.0, pos.1, format!("group \"{group}\", rule {idx}, \"{rule_name}\": {msg}")));
    };
    let expr = val(&r.expr);
    let expr_pos = at(&r.expr);
    let name_pos = if !record.is_empty() { at(&r.record) } else { at(&r.alert) };
    if !record.is_empty() && !alert.is_empty() {
        push(name_pos, "only one of 'record' and 'alert' must be set".into());
    }
    if record.is_empty() && alert.is_empty() {
        if r.record.is_some() {
            push(at(&r.record), "field 'record' must be set in rule".into());
        } else if r.alert.is_some() {
            push(at(&r.alert), "field 'alert' must be set in rule".into());
        } else {
            push(pos, "one of 'record' or 'alert' must be set".into());
        }
    }
    if expr.is_empty() {
        push(if r.expr.is_some() { expr_pos } else { pos }, "field 'expr' must be set in rule".into());
    } else if let Err(e) = parse_expr(&expr) {
        push(expr_pos, format!("could not parse expression: {e}"));
    }
    let labels: BTreeMap<String, String> =
        r.labels.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    let annotations: BTreeMap<String, String> =
        r.annotations.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    let mut for_ms = 0;
    let mut keep_ms = 0;
    for (field, target) in [(&r.for_, &mut for_ms), (&r.keep_firing_for, &mut keep_ms)] {
        if let Some(d) = field {
            match duration::parse(&d.value.0) {
                Ok(ms) => *target = ms,
                Err(e) => push(at(field), e),
            }
        }
    }
    if !record.is_empty() {
        if !annotations.is_empty() {
            push(name_pos, "invalid field 'annotations' in recording rule".into());
        }
        if r.for_.is_some() && for_ms != 0 {
            push(name_pos, "invalid field 'for' in recording rule".into());
        }
        if r.keep_firing_for.is_some() && keep_ms != 0 {
            push(name_pos, "invalid field 'keep_firing_for' in recording rule".into());
        }
        if !is_valid_metric_name(&record) {
            push(name_pos, format!("invalid recording rule name: {record}"));
        }
    }
    for k in labels.keys() {
        if !is_valid_label_name(k) || k == "__name__" {
            push(name_pos, format!("invalid label name: {k}"));
        }
    }
    for k in annotations.keys() {
        if !is_valid_label_name(k) {
            push(name_pos, format!("invalid annotation name: {k}"));
        }
    }
    if !alert.is_empty() {
        let tmpl_name = format!("__alert_{alert}");
        let all =
            labels.iter().map(|kv| ("label", kv)).chain(annotations.iter().map(|kv| ("annotation", kv)));
        for (what, (k, v)) in all {
            if let Err(e) = check_alert_template(&tmpl_name, v) {
                push(name_pos, format!("{what} \"{k}\": {e}"));
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let kind = if !record.is_empty() {
        RuleKindSpec::Recording { record }
    } else {
        RuleKindSpec::Alerting { alert, for_ms, keep_firing_for_ms: keep_ms, annotations }
    };
    Ok(RuleSpec { kind, expr, labels, line })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let f = parse_rule_str(
            "r.yml",
            r#"
groups:
  - name: g1
    interval: 30s
    query_offset: 1m
    limit: 10
    labels:
      team: a
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          x: "1"
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} down"
"#,
        )
        .unwrap();
        assert_eq!(f.rule_count(), 2);
        let g = &f.groups[0];
        assert_eq!((g.interval_ms, g.query_offset_ms, g.limit), (Some(30_000), Some(60_000), 10));
        assert_eq!(g.rules[0].name(), "job:up:sum");
        assert!(matches!(
            &g.rules[1].kind,
            RuleKindSpec::Alerting { for_ms: 300_000, keep_firing_for_ms: 60_000, .. }
        ));
        assert_eq!(g.rules[1].line, 14);
    }

    fn errors(text: &str) -> Vec<String> {
        parse_rule_str("bad.yml", text).unwrap_err().into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn rejects_with_file_line_and_reason() {
        let e = errors("groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n        expr: up\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("bad.yml: 4:"), "{e:?}");
        assert!(e[0].contains("invalid recording rule name: bad name"), "{e:?}");

        let e = errors("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(\n");
        assert!(e[0].starts_with("bad.yml: 5:") && e[0].contains("could not parse expression"), "{e:?}");

        let e = errors("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n");
        assert!(e[0].starts_with("bad.yml: 4:") && e[0].contains("repeated in the same file"), "{e:?}");

        let e = errors(
            "groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n        expr: up\n",
        );
        assert!(e[0].contains("only one of 'record' and 'alert' must be set"), "{e:?}");

        let e = errors("groups:\n  - name: g\n    rulez: []\n");
        assert!(e[0].starts_with("bad.yml: 3:"), "{e:?}");

        let e = errors(
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          s: '{{ $labels.x'\n",
        );
        assert!(e[0].contains("annotation \"s\": template: __alert_A:1: unclosed action"), "{e:?}");

        let e =
            errors("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 5x\n");
        assert!(e[0].starts_with("bad.yml: 6:"), "{e:?}");

        let e = errors(
            "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        labels:\n          0bad: x\n",
        );
        assert!(e[0].contains("invalid label name: 0bad"), "{e:?}");
    }

    #[test]
    fn empty_files_are_valid() {
        assert_eq!(parse_rule_str("e.yml", "").unwrap().rule_count(), 0);
        assert_eq!(parse_rule_str("e.yml", "groups: []\n").unwrap().rule_count(), 0);
    }

    #[test]
    fn parser_panics_are_contained() {
        // These make promql-parser panic; the panic must come back as an error.
        for e in ["foo[1e30]", "foo offset 1e30", "foo[5m:1e30]"] {
            assert!(parse_expr(e).is_err(), "{e}");
        }
        assert!(parse_expr(&"-".repeat(100_000)).is_err());
    }
}

#[cfg(test)]
mod scalar_tests {
    use super::*;

    #[test]
    fn plain_scalars_stay_text() {
        let f = parse_rule_str(
            "s.yml",
            "groups:\n  - name: off\n    rules:\n      - record: y\n        expr: 1\n        labels:\n          a: no\n          b: 2.50\n",
        )
        .unwrap();
        let g = &f.groups[0];
        assert_eq!(g.name, "off");
        assert_eq!(g.rules[0].name(), "y");
        assert_eq!(g.rules[0].expr, "1");
        assert_eq!(g.rules[0].labels["a"], "no");
        assert_eq!(g.rules[0].labels["b"], "2.50");
    }
}
