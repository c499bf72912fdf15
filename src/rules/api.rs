//! JSON shapes of `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers` as
//! Prometheus returns them (the `data` part of the envelope), rendered from the manager's
//! state. Owns no HTTP: the server parses parameters into [`RulesFilter`] and mounts routes.

use crate::rules::alerting::Alert;
use crate::rules::group::Rule;
use crate::rules::notifier::Notifier;
use crate::rules::template::gofmt::format_e_shortest;
use crate::rules::{AlertState, RuleManager};
use cairn_format::Labels;
use serde_json::{Map, Value, json};

/// Parameters of `/api/v1/rules`.
#[derive(Clone, Debug, Default)]
pub struct RulesFilter {
    /// `type`: "alert" or "record".
    pub typ: Option<String>,
    pub rule_names: Vec<String>,
    pub group_names: Vec<String>,
    pub files: Vec<String>,
    pub exclude_alerts: bool,
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(l.iter().map(|l| (l.name.clone(), Value::String(l.value.clone()))).collect())
}

fn map_json(m: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

fn time_json(ms: i64) -> Value {
    if ms == 0 {
        Value::String("0001-01-01T00:00:00Z".into())
    } else {
        Value::String(crate::server::rfc3339(ms))
    }
}

fn alert_json(a: &Alert) -> Value {
    let mut o = Map::new();
    o.insert("labels".into(), labels_json(&a.labels));
    o.insert("annotations".into(), labels_json(&a.annotations));
    o.insert("state".into(), a.state.as_str().into());
    o.insert("activeAt".into(), time_json(a.active_at));
    if let Some(k) = a.keep_firing_since {
        o.insert("keepFiringSince".into(), time_json(k));
    }
    o.insert("value".into(), format_e_shortest(a.value).into());
    Value::Object(o)
}

fn rule_json(r: &Rule, exclude_alerts: bool) -> Value {
    let h = r.health().snapshot();
    let mut o = Map::new();
    match r {
        Rule::Alerting(a) => {
            o.insert("state".into(), a.state().as_str().into());
            o.insert("name".into(), a.name.clone().into());
            o.insert("query".into(), a.expr.clone().into());
            o.insert("duration".into(), go_seconds(a.hold_ms as f64 / 1000.0));
            o.insert("keepFiringFor".into(), go_seconds(a.keep_firing_for_ms as f64 / 1000.0));
            o.insert("labels".into(), map_json(&a.labels));
            o.insert("annotations".into(), map_json(&a.annotations));
            if !exclude_alerts {
                o.insert("alerts".into(), Value::Array(a.active_alerts().iter().map(alert_json).collect()));
            }
        }
        Rule::Recording(rr) => {
            o.insert("name".into(), rr.name.clone().into());
            o.insert("query".into(), rr.expr.clone().into());
            o.insert("labels".into(), map_json(&rr.labels));
        }
    }
    o.insert("health".into(), h.health.into());
    if !h.last_error.is_empty() {
        o.insert("lastError".into(), h.last_error.into());
    }
    o.insert("evaluationTime".into(), go_seconds(h.eval_duration_s));
    o.insert("lastEvaluation".into(), time_json(h.last_eval_ms));
    o.insert("type".into(), if matches!(r, Rule::Alerting(_)) { "alerting" } else { "recording" }.into());
    Value::Object(o)
}

/// `data` of `/api/v1/rules`. Errors are bad-request messages (unknown `type`).
pub fn rules_json(m: &RuleManager, f: &RulesFilter) -> Result<Value, String> {
    let (want_alert, want_record) = match f.typ.as_deref() {
        None | Some("") => (true, true),
        Some("alert") => (true, false),
        Some("record") => (false, true),
        Some(other) => return Err(format!("unsupported type {other:?}; expected \"alert\" or \"record\"")),
    };
    let rule_filtered = f.typ.as_deref().is_some_and(|t| !t.is_empty()) || !f.rule_names.is_empty();
    let mut groups = Vec::new();
    for g in m.groups() {
        if !f.group_names.is_empty() && !f.group_names.contains(&g.name) {
            continue;
        }
        if !f.files.is_empty() && !f.files.contains(&g.file) {
            continue;
        }
        let rules: Vec<Value> = g
            .rules
            .iter()
            .filter(|r| match r {
                Rule::Alerting(_) => want_alert,
                Rule::Recording(_) => want_record,
            })
            .filter(|r| f.rule_names.is_empty() || f.rule_names.iter().any(|n| n == r.name()))
            .map(|r| rule_json(r, f.exclude_alerts))
            .collect();
        if rule_filtered && rules.is_empty() {
            continue;
        }
        let mut o = Map::new();
        o.insert("name".into(), g.name.clone().into());
        o.insert("file".into(), g.file.clone().into());
        o.insert("rules".into(), Value::Array(rules));
        o.insert("interval".into(), go_seconds(g.interval_ms as f64 / 1000.0));
        o.insert("limit".into(), json!(g.limit));
        o.insert("evaluationTime".into(), go_seconds(g.last_duration_s()));
        o.insert("lastEvaluation".into(), time_json(g.last_eval_ms()));
        groups.push(Value::Object(o));
    }
    Ok(json!({ "groups": groups }))
}

/// `data` of `/api/v1/alerts`: every pending or firing alert.
pub fn alerts_json(m: &RuleManager) -> Value {
    let mut alerts = Vec::new();
    for g in m.groups() {
        for r in &g.rules {
            if let Rule::Alerting(a) = r {
                alerts.extend(a.alerts().iter().filter(|x| x.state != AlertState::Inactive).map(alert_json));
            }
        }
    }
    json!({ "alerts": alerts })
}

/// Seconds as Go's JSON encoder writes a float64: a whole number without a fraction (`60`,
/// not `60.0`), as Prometheus's rules API shows `interval`, `duration` and `keepFiringFor`.
fn go_seconds(s: f64) -> Value {
    if s.is_finite() && s.fract() == 0.0 && s.abs() < 1e15 { json!(s as i64) } else { json!(s) }
}

/// `data` of `/api/v1/alertmanagers`.
pub fn alertmanagers_json(n: Option<&Notifier>) -> Value {
    let active: Vec<Value> =
        n.map(|n| n.endpoints().iter().map(|e| json!({ "url": e.url })).collect()).unwrap_or_default();
    let dropped: Vec<Value> = n
        .map(|n| n.dropped_alertmanagers().into_iter().map(|u| json!({ "url": u })).collect())
        .unwrap_or_default();
    json!({ "activeAlertmanagers": active, "droppedAlertmanagers": dropped })
}

#[cfg(test)]
mod go_number_tests {
    use super::*;

    #[test]
    fn seconds_print_like_go() {
        assert_eq!(go_seconds(60.0).to_string(), "60");
        assert_eq!(go_seconds(0.0).to_string(), "0");
        assert_eq!(go_seconds(3600.0).to_string(), "3600");
        assert_eq!(go_seconds(0.25).to_string(), "0.25");
        assert_eq!(go_seconds(1.5e-5).to_string(), "0.000015");
    }
}
