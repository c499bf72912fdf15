//! An alerting rule and its alert state machine (inactive → pending → firing → resolved,
//! with `for`, `keep_firing_for` and resolved-alert retention as Prometheus), the `ALERTS` /
//! `ALERTS_FOR_STATE` samples it produces, which alerts are due for (re)sending, and the
//! restore of `for` state from `ALERTS_FOR_STATE` after a restart. Owns no scheduling, no
//! writing and no HTTP.

use crate::rules::health::RuleHealth;
use crate::rules::recording::to_vector;
use crate::rules::template::{AlertData, FuncEnv, expand_alert};
use crate::rules::{QueryValue, RuleQuerier};
use cairn_format::{Labels, METRIC_NAME};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// How long a resolved alert is kept (and re-sent) so Alertmanager learns it resolved.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert instance (a label set of an alerting rule). Times are ms since the epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: Labels,
    pub state: AlertState,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: i64,
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// Prometheus's `needsSending`: never pending ones; resolved since the last send; or
    /// not sent for `resend_delay`.
    fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        match (self.resolved_at, self.last_sent_at) {
            (Some(r), Some(s)) if r > s => return true,
            (Some(_), None) => return true,
            _ => {}
        }
        match self.last_sent_at {
            None => true,
            Some(s) => s + resend_delay_ms < ts,
        }
    }
}

/// What an alerting rule needs from its surroundings at evaluation time.
pub struct AlertEnv<'a> {
    pub querier: &'a dyn RuleQuerier,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
}

#[derive(Debug)]
pub struct AlertingRule {
    pub name: String,
    pub expr: String,
    pub hold_ms: i64,
    pub keep_firing_for_ms: i64,
    /// Label templates (group labels merged in, rule labels winning).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub health: RuleHealth,
    active: Mutex<BTreeMap<Labels, Alert>>,
    restored: AtomicBool,
}

impl AlertingRule {
    pub fn new(
        name: String,
        expr: String,
        hold_ms: i64,
        keep_firing_for_ms: i64,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        AlertingRule {
            name,
            expr,
            hold_ms,
            keep_firing_for_ms,
            labels,
            annotations,
            health: RuleHealth::default(),
            active: Mutex::new(BTreeMap::new()),
            restored: AtomicBool::new(true),
        }
    }

    /// Marks the rule as waiting for state restore: until [`AlertingRule::restore`] runs it
    /// writes no `ALERTS`/`ALERTS_FOR_STATE` samples (as Prometheus).
    pub fn set_restored(&self, restored: bool) {
        self.restored.store(restored, Ordering::Relaxed);
    }

    pub fn is_restored(&self) -> bool {
        self.restored.load(Ordering::Relaxed)
    }

    /// All alerts currently held (including resolved ones kept for notification).
    pub fn alerts(&self) -> Vec<Alert> {
        self.active.lock().values().cloned().collect()
    }

    /// Active (pending or firing) alerts.
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.active.lock().values().filter(|a| a.state != AlertState::Inactive).cloned().collect()
    }

    /// The rule's state: the highest of its alerts'.
    pub fn state(&self) -> AlertState {
        self.active.lock().values().map(|a| a.state).max().unwrap_or(AlertState::Inactive)
    }

    /// Takes over the alerts of the same rule from before a reload.
    pub fn copy_state(&self, old: &AlertingRule) {
        *self.active.lock() = old.active.lock().clone();
        self.health.copy_from(&old.health);
        self.set_restored(old.is_restored());
    }

    fn template_name(&self) -> String {
        format!("__alert_{}", self.name)
    }

    /// Evaluates at `ts` (query at `ts - query_offset_ms`), advances alert states, and
    /// returns the `ALERTS` / `ALERTS_FOR_STATE` samples to write (at `ts - query_offset_ms`).
    pub fn eval(
        &self,
        env: &AlertEnv,
        ts: i64,
        query_offset_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let qts = ts - query_offset_ms;
        let res = to_vector(env.querier.query(&self.expr, qts)?)?;
        let fenv =
            FuncEnv { querier: Some(env.querier), ts_ms: ts, external_url: env.external_url.to_string() };
        let tname = self.template_name();
        let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
        let mut seen = HashSet::new();
        for (sample_labels, value) in res {
            let data = AlertData {
                labels: &sample_labels,
                external_labels: env.external_labels,
                external_url: env.external_url,
                value,
            };
            let mut lb = sample_labels.without_metric_name();
            for (k, t) in &self.labels {
                lb.set(k, &expand_alert(&tname, t, &data, &fenv));
            }
            lb.set("alertname", &self.name);
            let annotations = Labels::from_pairs(
                self.annotations.iter().map(|(k, t)| (k.clone(), expand_alert(&tname, t, &data, &fenv))),
            );
            if !seen.insert(lb.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels".into()
                );
            }
            fresh.insert(
                lb.clone(),
                Alert {
                    labels: lb,
                    annotations,
                    state: AlertState::Pending,
                    value,
                    active_at: ts,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    valid_until: 0,
                    keep_firing_since: None,
                },
            );
        }
        let mut active = self.active.lock();
        for (k, a) in fresh {
            if let Some(old) = active.get_mut(&k)
                && old.state != AlertState::Inactive
            {
                old.value = a.value;
                old.annotations = a.annotations;
                continue;
            }
            active.insert(k, a);
        }
        let mut out = Vec::new();
        let mut active_pending = 0usize;
        let restored = self.is_restored();
        let mut remove = Vec::new();
        for (k, a) in active.iter_mut() {
            if !seen.contains(k) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < self.keep_firing_for_ms;
                }
                if a.state == AlertState::Pending
                    || a.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                {
                    remove.push(k.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            active_pending += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= self.hold_ms {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            if restored {
                let mut l = a.labels.clone();
                l.set(METRIC_NAME, "ALERTS");
                l.set("alertstate", a.state.as_str());
                out.push((l, 1.0));
                let mut f = a.labels.clone();
                f.set(METRIC_NAME, "ALERTS_FOR_STATE");
                out.push((f, (a.active_at / 1000) as f64));
            }
        }
        for k in remove {
            active.remove(&k);
        }
        if limit > 0 && active_pending > limit {
            active.clear();
            return Err(format!("exceeded limit of {limit} with {active_pending} alerts"));
        }
        Ok(out)
    }

    /// Alerts due for sending at `ts`; marks them sent and sets how long they stay valid.
    pub fn alerts_to_send(&self, ts: i64, resend_delay_ms: i64, interval_ms: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        for a in self.active.lock().values_mut() {
            if a.needs_sending(ts, resend_delay_ms) {
                a.last_sent_at = Some(ts);
                a.valid_until = ts + 4 * resend_delay_ms.max(interval_ms);
                out.push(a.clone());
            }
        }
        out
    }

    /// Restores `for` state of the current pending alerts from `ALERTS_FOR_STATE` written
    /// before a restart (Prometheus's `RestoreForState`): looks back `outage_tolerance_ms`
    /// from `ts`; `grace_ms` is the minimum time an alert still waits before firing.
    pub fn restore(
        &self,
        querier: &dyn RuleQuerier,
        ts: i64,
        outage_tolerance_ms: i64,
        grace_ms: i64,
    ) -> Result<(), String> {
        let _done = RestoreGuard(self);
        if self.hold_ms < grace_ms {
            return Ok(());
        }
        let mut active = self.active.lock();
        for a in active.values_mut() {
            let mut sel = String::from("ALERTS_FOR_STATE{");
            for (i, l) in a.labels.iter().enumerate() {
                if i > 0 {
                    sel.push(',');
                }
                sel.push_str(&format!("{}={}", l.name, promql_quote(&l.value)));
            }
            sel.push_str(&format!("}}[{}ms]", outage_tolerance_ms.max(1)));
            let res = querier.query(&sel, ts)?;
            let QueryValue::Matrix(series) = res else {
                return Err("restore query did not return a range vector".into());
            };
            let Some((down_at, v)) = series
                .iter()
                .filter(|(l, _)| l.without_metric_name() == a.labels)
                .filter_map(|(_, s)| s.iter().rev().find(|(_, v)| !cairn_format::is_stale_nan(*v)).copied())
                .max_by_key(|(t, _)| *t)
            else {
                continue;
            };
            let mut restored_active_at = (v * 1000.0) as i64;
            let spent = down_at - restored_active_at;
            let remaining = self.hold_ms - spent;
            if remaining <= 0 {
                // Was already firing when we went down; the next evaluation fires it again.
            } else if remaining < grace_ms {
                restored_active_at = ts + grace_ms - self.hold_ms;
            } else {
                restored_active_at += ts - down_at;
            }
            a.active_at = restored_active_at;
        }
        Ok(())
    }
}

struct RestoreGuard<'a>(&'a AlertingRule);

impl Drop for RestoreGuard<'_> {
    fn drop(&mut self) {
        self.0.set_restored(true);
    }
}

/// A PromQL double-quoted string literal.
pub fn promql_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
