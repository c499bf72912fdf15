//! A rule group: its rules in file order, evaluated together at one timestamp; writes their
//! output and stale markers for series a rule stopped producing; keeps the group's
//! evaluation metrics. Owns no scheduling (see `manager.rs`) and no sending (the notifier).

use crate::rules::alerting::{AlertEnv, AlertingRule};
use crate::rules::health::RuleHealth;
use crate::rules::recording::RecordingRule;
use crate::rules::{Alert, RuleAppender, RuleQuerier};
use cairn_format::{Labels, stale_nan};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Debug)]
pub enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(r) => &r.name,
        }
    }

    pub fn expr(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(r) => &r.expr,
        }
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        match self {
            Rule::Recording(r) => &r.labels,
            Rule::Alerting(r) => &r.labels,
        }
    }

    pub fn health(&self) -> &RuleHealth {
        match self {
            Rule::Recording(r) => &r.health,
            Rule::Alerting(r) => &r.health,
        }
    }

    /// Identity across reloads (Prometheus matches rules by name and labels).
    fn key(&self) -> (bool, String, BTreeMap<String, String>) {
        (matches!(self, Rule::Alerting(_)), self.name().to_string(), self.labels().clone())
    }
}

/// Counters and gauges of one group (exposed through `RuleManager::metrics`).
#[derive(Debug, Default)]
pub struct GroupMetrics {
    pub evaluations: AtomicU64,
    pub failures: AtomicU64,
    pub iterations: AtomicU64,
    pub iterations_missed: AtomicU64,
    /// f64 bits of the last group evaluation's duration in seconds.
    pub last_duration_bits: AtomicU64,
    /// Evaluation timestamp (ms) of the last group evaluation.
    pub last_eval_ms: AtomicU64,
}

/// What a group evaluation reads from and writes to.
pub struct EvalContext<'a> {
    pub querier: &'a dyn RuleQuerier,
    pub appender: &'a dyn RuleAppender,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
}

#[derive(Debug)]
pub struct Group {
    pub name: String,
    pub file: String,
    pub interval_ms: i64,
    pub query_offset_ms: i64,
    pub limit: usize,
    pub rules: Vec<Rule>,
    pub metrics: GroupMetrics,
    /// Per rule: the series it wrote at the previous evaluation.
    prev_series: Mutex<Vec<HashSet<Labels>>>,
    /// Series of rules removed by a reload, marked stale at the next evaluation.
    pending_stale: Mutex<Vec<Labels>>,
}

impl Group {
    pub fn new(
        name: String,
        file: String,
        interval_ms: i64,
        query_offset_ms: i64,
        limit: usize,
        rules: Vec<Rule>,
    ) -> Self {
        let n = rules.len();
        Group {
            name,
            file,
            interval_ms,
            query_offset_ms,
            limit,
            rules,
            metrics: GroupMetrics::default(),
            prev_series: Mutex::new(vec![HashSet::new(); n]),
            pending_stale: Mutex::new(Vec::new()),
        }
    }

    /// `file;name`, the key Prometheus uses for groups.
    pub fn key(&self) -> String {
        format!("{};{}", self.file, self.name)
    }

    /// Stable 64-bit hash of the group, used to spread evaluation offsets.
    pub fn hash(&self) -> u64 {
        Labels::from_pairs([("name", self.name.as_str()), ("file", self.file.as_str())]).stable_hash()
    }

    /// The last evaluation timestamp at or before `now_ms` on this group's grid
    /// (`k * interval + offset`, offset = hash % interval).
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        let interval = self.interval_ms.max(1);
        let offset = (self.hash() % interval as u64) as i64;
        let adj = now_ms - offset;
        adj - adj.rem_euclid(interval) + offset
    }

    pub fn last_duration_s(&self) -> f64 {
        f64::from_bits(self.metrics.last_duration_bits.load(Ordering::Relaxed))
    }

    pub fn last_eval_ms(&self) -> i64 {
        self.metrics.last_eval_ms.load(Ordering::Relaxed) as i64
    }

    /// Takes over rule state from the group of the same key before a reload. Rules match
    /// by kind, name and labels, in order (duplicates pair up one to one); series of old
    /// rules that found no match are marked stale at the next evaluation.
    pub fn copy_state(&self, old: &Group) {
        let old_prev = old.prev_series.lock();
        let mut prev = self.prev_series.lock();
        let mut used = vec![false; old.rules.len()];
        for (i, r) in self.rules.iter().enumerate() {
            let Some(j) = (0..old.rules.len()).find(|&j| !used[j] && old.rules[j].key() == r.key()) else {
                continue;
            };
            used[j] = true;
            prev[i] = old_prev[j].clone();
            match (r, &old.rules[j]) {
                (Rule::Alerting(n), Rule::Alerting(o)) => n.copy_state(o),
                (n, o) => n.health().copy_from(o.health()),
            }
        }
        let mut stale = self.pending_stale.lock();
        stale.extend(old.pending_stale.lock().iter().cloned());
        for (j, u) in used.iter().enumerate() {
            if !u {
                stale.extend(old_prev[j].iter().cloned());
            }
        }
        self.metrics.last_eval_ms.store(old.metrics.last_eval_ms.load(Ordering::Relaxed), Ordering::Relaxed);
        self.metrics
            .last_duration_bits
            .store(old.metrics.last_duration_bits.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Evaluates every rule in order at `ts` (ms), writing results and stale markers.
    pub fn eval(&self, ts: i64, ctx: &EvalContext) {
        let start = Instant::now();
        let qts = ts - self.query_offset_ms;
        let env = AlertEnv {
            querier: ctx.querier,
            external_labels: ctx.external_labels,
            external_url: ctx.external_url,
        };
        for (i, rule) in self.rules.iter().enumerate() {
            let rstart = Instant::now();
            self.metrics.evaluations.fetch_add(1, Ordering::Relaxed);
            // A panic in a querier or in rule code fails this rule, not the group's thread.
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match rule {
                Rule::Recording(r) => r.eval(ctx.querier, qts, self.limit),
                Rule::Alerting(r) => r.eval(&env, ts, self.query_offset_ms, self.limit),
            }))
            .unwrap_or_else(|_| Err("panic during rule evaluation".to_string()));
            let outcome = match res {
                Ok(samples) => self.write(i, qts, samples, ctx.appender),
                Err(e) => Err(e),
            };
            if outcome.is_err() {
                self.metrics.failures.fetch_add(1, Ordering::Relaxed);
            }
            rule.health().record(ts, rstart.elapsed().as_secs_f64(), &outcome);
        }
        self.write_pending_stale(qts, ctx.appender);
        self.metrics.iterations.fetch_add(1, Ordering::Relaxed);
        self.metrics.last_duration_bits.store(start.elapsed().as_secs_f64().to_bits(), Ordering::Relaxed);
        self.metrics.last_eval_ms.store(ts.max(0) as u64, Ordering::Relaxed);
    }

    fn write(
        &self,
        i: usize,
        qts: i64,
        samples: Vec<(Labels, f64)>,
        appender: &dyn RuleAppender,
    ) -> Result<(), String> {
        let current: HashSet<Labels> = samples.iter().map(|(l, _)| l.clone()).collect();
        let mut batch: Vec<(Labels, i64, f64)> = samples.into_iter().map(|(l, v)| (l, qts, v)).collect();
        let mut prev = self.prev_series.lock();
        if let Some(p) = prev.get(i) {
            for gone in p.difference(&current) {
                batch.push((gone.clone(), qts, stale_nan()));
            }
        }
        if let Some(p) = prev.get_mut(i) {
            *p = current;
        }
        drop(prev);
        if batch.is_empty() {
            return Ok(());
        }
        appender.append_batch(&batch)
    }

    /// Stale markers for series of rules dropped by a reload, unless a rule still writes them.
    fn write_pending_stale(&self, qts: i64, appender: &dyn RuleAppender) {
        let pending = std::mem::take(&mut *self.pending_stale.lock());
        if pending.is_empty() {
            return;
        }
        let live: HashSet<Labels> = self.prev_series.lock().iter().flatten().cloned().collect();
        let batch: Vec<(Labels, i64, f64)> =
            pending.into_iter().filter(|l| !live.contains(l)).map(|l| (l, qts, stale_nan())).collect();
        if !batch.is_empty()
            && let Err(e) = appender.append_batch(&batch)
        {
            tracing::warn!(group = %self.name, error = %e, "writing stale markers for removed rules failed");
        }
    }

    /// Stale markers for everything this group wrote last (when the group is removed).
    pub fn stale_all(&self, ts: i64, appender: &dyn RuleAppender) -> Result<(), String> {
        let mut prev = self.prev_series.lock();
        let batch: Vec<(Labels, i64, f64)> =
            prev.iter_mut().flat_map(|s| s.drain()).map(|l| (l, ts, stale_nan())).collect();
        if batch.is_empty() { Ok(()) } else { appender.append_batch(&batch) }
    }

    /// Alerts of this group's alerting rules that are due for sending at `ts`, with the
    /// expression that produced them (for the generator URL).
    pub fn alerts_to_send(&self, ts: i64, resend_delay_ms: i64) -> Vec<(String, Alert)> {
        let mut out = Vec::new();
        for r in &self.rules {
            if let Rule::Alerting(a) = r {
                for alert in a.alerts_to_send(ts, resend_delay_ms, self.interval_ms) {
                    out.push((a.expr.clone(), alert));
                }
            }
        }
        out
    }

    /// Restores alert `for` state after a restart (see [`AlertingRule::restore`]).
    pub fn restore(&self, querier: &dyn RuleQuerier, ts: i64, outage_tolerance_ms: i64, grace_ms: i64) {
        for r in &self.rules {
            if let Rule::Alerting(a) = r
                && let Err(e) = a.restore(querier, ts, outage_tolerance_ms, grace_ms)
            {
                tracing::warn!(group = %self.name, rule = %a.name, error = %e, "restoring alert state failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PanickingQuerier;
    impl RuleQuerier for PanickingQuerier {
        fn query(&self, _: &str, _: i64) -> Result<crate::rules::QueryValue, String> {
            panic!("boom")
        }
    }
    struct NullAppender;
    impl RuleAppender for NullAppender {
        fn append_batch(&self, _: &[(Labels, i64, f64)]) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn a_panicking_querier_fails_the_rule_not_the_group() {
        let rules = vec![
            Rule::Recording(RecordingRule::new("a".into(), "x".into(), BTreeMap::new())),
            Rule::Alerting(AlertingRule::new("B".into(), "y".into(), 0, 0, BTreeMap::new(), BTreeMap::new())),
        ];
        let g = Group::new("g".into(), "f".into(), 1000, 0, 0, rules);
        let ext = Labels::empty();
        let ctx = EvalContext {
            querier: &PanickingQuerier,
            appender: &NullAppender,
            external_labels: &ext,
            external_url: "",
        };
        g.eval(5000, &ctx);
        for r in &g.rules {
            let h = r.health().snapshot();
            assert_eq!((h.health, h.last_error.as_str()), ("err", "panic during rule evaluation"));
        }
        assert_eq!(g.metrics.failures.load(Ordering::Relaxed), 2);
        assert_eq!(g.last_eval_ms(), 5000);
    }

    #[test]
    fn eval_timestamps_are_aligned_with_a_stable_offset() {
        let g = Group::new("g".into(), "f.yml".into(), 60_000, 0, 0, Vec::new());
        let h = Group::new("h".into(), "f.yml".into(), 60_000, 0, 0, Vec::new());
        let off = (g.hash() % 60_000) as i64;
        assert_ne!(off, (h.hash() % 60_000) as i64, "different groups spread out");
        for now in [0i64, 1, 59_999, 60_000 + off, 1_700_000_123_456] {
            let ts = g.eval_timestamp(now);
            assert!(ts <= now && now - ts < 60_000, "{now} -> {ts}");
            assert_eq!((ts - off).rem_euclid(60_000), 0);
        }
        // Stable: the same group always gets the same offset.
        let g2 = Group::new("g".into(), "f.yml".into(), 60_000, 0, 0, Vec::new());
        assert_eq!(g.hash(), g2.hash());
    }
}
