//! An alert in the form sent to Alertmanager (`POST /api/v2/alerts` JSON) and its building from
//! a rule's alert. Owns no queueing or sending.

use crate::rules::Alert;
use cairn_format::Labels;

/// An alert as sent to Alertmanager (times in ms; `ends_at` 0 = unset).
#[derive(Clone, Debug, PartialEq)]
pub struct OutAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
}

impl OutAlert {
    /// Builds the outgoing form of a rule's alert (Prometheus's `sendAlerts`): starts at
    /// the firing time, ends at the resolve time or at `valid_until`.
    pub fn from_alert(a: &Alert, expr: &str, external_url: &str) -> OutAlert {
        OutAlert {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: a.fired_at.unwrap_or(a.active_at),
            ends_at: a.resolved_at.unwrap_or(a.valid_until),
            generator_url: format!(
                "{}/graph?g0.expr={}&g0.tab=1",
                external_url.trim_end_matches('/'),
                crate::rules::template::funcs::query_escape(expr)
            ),
        }
    }

    pub(super) fn to_json(&self) -> serde_json::Value {
        let map = |l: &Labels| {
            serde_json::Value::Object(
                l.iter().map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone()))).collect(),
            )
        };
        let mut o = serde_json::Map::new();
        o.insert("labels".into(), map(&self.labels));
        o.insert("annotations".into(), map(&self.annotations));
        o.insert("startsAt".into(), crate::server::rfc3339(self.starts_at).into());
        if self.ends_at != 0 {
            o.insert("endsAt".into(), crate::server::rfc3339(self.ends_at).into());
        }
        o.insert("generatorURL".into(), self.generator_url.clone().into());
        serde_json::Value::Object(o)
    }
}
