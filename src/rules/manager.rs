//! The rule manager: loads rule files (all-or-nothing: on any error the old rules keep
//! running), builds groups, keeps state across reloads, runs each group on its own thread at
//! aligned timestamps (`k × interval + hash offset`), restores alert state after start-up,
//! hands due alerts to the notifier, and exposes groups and metrics for the API. Owns no
//! parsing (see `file.rs`) and no rule semantics (see `group.rs`, `alerting.rs`).

use crate::rules::file::{GroupSpec, RuleError, RuleKindSpec, parse_rule_file};
use crate::rules::group::{EvalContext, Group, Rule};
use crate::rules::notifier::{Notifier, OutAlert};
use crate::rules::{AlertingRule, RecordingRule, RuleAppender, RuleQuerier, now_ms};
use cairn_format::Labels;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// Interval of groups that set none (`global.evaluation_interval`).
    pub eval_interval_ms: i64,
    /// `global.rule_query_offset`, for groups that set none.
    pub query_offset_ms: i64,
    pub external_labels: Labels,
    pub external_url: String,
    /// Minimum time between re-sends of a firing alert.
    pub resend_delay_ms: i64,
    /// How far back `ALERTS_FOR_STATE` is looked up on restore.
    pub outage_tolerance_ms: i64,
    /// Minimum `for` time left after a restore.
    pub for_grace_period_ms: i64,
    /// Restore alert state from `ALERTS_FOR_STATE` on the first load.
    pub restore_on_start: bool,
    /// Run the per-group threads. Off = evaluate only through [`RuleManager::eval_all_at`].
    pub run_scheduler: bool,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            eval_interval_ms: 60_000,
            query_offset_ms: 0,
            external_labels: Labels::empty(),
            external_url: "http://localhost:9090".into(),
            resend_delay_ms: 60_000,
            outage_tolerance_ms: 3_600_000,
            for_grace_period_ms: 600_000,
            restore_on_start: true,
            run_scheduler: true,
        }
    }
}

/// Stop signal of one group thread.
#[derive(Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl StopSignal {
    /// Sleeps until `deadline_ms` (wall clock) or a stop; true if stopped.
    fn sleep_until(&self, deadline_ms: i64) -> bool {
        let mut s = self.stopped.lock();
        loop {
            if *s {
                return true;
            }
            let left = deadline_ms - now_ms();
            if left <= 0 {
                return false;
            }
            self.cv.wait_for(&mut s, std::time::Duration::from_millis(left as u64));
        }
    }

    fn stop(&self) {
        *self.stopped.lock() = true;
        self.cv.notify_all();
    }
}

struct Running {
    group: Arc<Group>,
    stop: Arc<StopSignal>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    opts: ManagerOptions,
    querier: Arc<dyn RuleQuerier>,
    appender: Arc<dyn RuleAppender>,
    notifier: Option<Arc<Notifier>>,
}

impl Shared {
    fn ctx(&self) -> EvalContext<'_> {
        EvalContext {
            querier: self.querier.as_ref(),
            appender: self.appender.as_ref(),
            external_labels: &self.opts.external_labels,
            external_url: &self.opts.external_url,
        }
    }

    /// One evaluation of a group at `ts` plus sending of due alerts.
    fn eval_and_notify(&self, g: &Group, ts: i64) {
        g.eval(ts, &self.ctx());
        let due = g.alerts_to_send(ts, self.opts.resend_delay_ms);
        if let Some(n) = &self.notifier
            && !due.is_empty()
        {
            n.send(
                due.iter().map(|(expr, a)| OutAlert::from_alert(a, expr, &self.opts.external_url)).collect(),
            );
        }
    }
}

/// Loads and runs rule groups. Dropping it stops every group thread.
pub struct RuleManager {
    shared: RwLock<Arc<Shared>>,
    running: RwLock<Vec<Running>>,
    files: RwLock<Vec<PathBuf>>,
    loaded_once: Mutex<bool>,
}

impl RuleManager {
    pub fn new(
        opts: ManagerOptions,
        querier: Arc<dyn RuleQuerier>,
        appender: Arc<dyn RuleAppender>,
        notifier: Option<Arc<Notifier>>,
    ) -> Self {
        RuleManager {
            shared: RwLock::new(Arc::new(Shared { opts, querier, appender, notifier })),
            running: RwLock::new(Vec::new()),
            files: RwLock::new(Vec::new()),
            loaded_once: Mutex::new(false),
        }
    }

    fn shared(&self) -> Arc<Shared> {
        self.shared.read().clone()
    }

    pub fn options(&self) -> ManagerOptions {
        self.shared().opts.clone()
    }

    pub fn notifier(&self) -> Option<Arc<Notifier>> {
        self.shared().notifier.clone()
    }

    /// Expands `rule_files` globs (`*`, `?` in any path element, as Go's `filepath.Glob`)
    /// relative to `base`, sorted per pattern. A pattern without wildcards is kept as is
    /// (so a missing file is reported by `load`).
    pub fn expand_globs(base: &Path, patterns: &[String]) -> Result<Vec<PathBuf>, String> {
        let mut out = Vec::new();
        for p in patterns {
            let full = if Path::new(p).is_absolute() { PathBuf::from(p) } else { base.join(p) };
            if !full.to_string_lossy().contains(['*', '?']) {
                out.push(full);
                continue;
            }
            let mut current = vec![PathBuf::new()];
            for comp in full.components() {
                let part = comp.as_os_str().to_string_lossy().into_owned();
                if !part.contains(['*', '?']) {
                    for c in &mut current {
                        c.push(comp.as_os_str());
                    }
                    continue;
                }
                let re = glob_regex(&part)?;
                let mut next = Vec::new();
                for dir in &current {
                    let Ok(rd) =
                        std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
                    else {
                        continue;
                    };
                    for e in rd.filter_map(|e| e.ok()) {
                        if re.is_match(&e.file_name().to_string_lossy()) {
                            next.push(dir.join(e.file_name()));
                        }
                    }
                }
                current = next;
            }
            current.sort();
            out.extend(current.into_iter().filter(|p| p.is_file()));
        }
        Ok(out)
    }

    /// Loads rule files, replacing the running groups. On any error nothing changes and
    /// every error is returned (file, line, reason).
    pub fn load(&self, files: &[PathBuf]) -> Result<(), Vec<RuleError>> {
        self.load_with_options(files, None)
    }

    /// [`RuleManager::load`] that also replaces the options (evaluation interval, external
    /// labels, …) when the files are valid; the groups restart with the new options.
    pub fn load_with_options(
        &self,
        files: &[PathBuf],
        opts: Option<ManagerOptions>,
    ) -> Result<(), Vec<RuleError>> {
        let mut specs = Vec::new();
        let mut errors = Vec::new();
        for f in files {
            match parse_rule_file(f) {
                Ok(rf) => specs.push(rf),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut first = self.loaded_once.lock();
        if let Some(o) = opts {
            let old = self.shared();
            let new = Shared {
                opts: o,
                querier: old.querier.clone(),
                appender: old.appender.clone(),
                notifier: old.notifier.clone(),
            };
            *self.shared.write() = Arc::new(new);
        }
        let restore = !*first && self.shared().opts.restore_on_start;
        *first = true;
        let mut new_groups = Vec::new();
        for rf in &specs {
            for g in &rf.groups {
                new_groups.push(Arc::new(self.build_group(&rf.path, g, restore)));
            }
        }
        self.replace(new_groups, restore);
        *self.files.write() = files.to_vec();
        Ok(())
    }

    fn build_group(&self, file: &str, g: &GroupSpec, restore: bool) -> Group {
        let shared = self.shared();
        let o = &shared.opts;
        let rules = g
            .rules
            .iter()
            .map(|r| {
                let mut labels: BTreeMap<String, String> = g.labels.clone();
                labels.extend(r.labels.clone());
                match &r.kind {
                    RuleKindSpec::Recording { record } => {
                        Rule::Recording(RecordingRule::new(record.clone(), r.expr.clone(), labels))
                    }
                    RuleKindSpec::Alerting { alert, for_ms, keep_firing_for_ms, annotations } => {
                        let a = AlertingRule::new(
                            alert.clone(),
                            r.expr.clone(),
                            *for_ms,
                            *keep_firing_for_ms,
                            labels,
                            annotations.clone(),
                        );
                        a.set_restored(!restore);
                        Rule::Alerting(a)
                    }
                }
            })
            .collect();
        Group::new(
            g.name.clone(),
            file.to_string(),
            g.interval_ms.unwrap_or(o.eval_interval_ms),
            g.query_offset_ms.unwrap_or(o.query_offset_ms),
            g.limit,
            rules,
        )
    }

    fn replace(&self, new_groups: Vec<Arc<Group>>, restore: bool) {
        let mut running = self.running.write();
        let old: Vec<Running> = std::mem::take(&mut *running);
        // Stop old threads first so no evaluation races the state copy.
        for r in &old {
            r.stop.stop();
        }
        let mut old_by_key: BTreeMap<String, Running> = BTreeMap::new();
        for mut r in old {
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
            old_by_key.insert(r.group.key(), r);
        }
        for g in new_groups {
            let had_old = old_by_key.remove(&g.key()).map(|o| g.copy_state(&o.group)).is_some();
            let stop = Arc::new(StopSignal::default());
            let thread = if self.shared().opts.run_scheduler {
                let (shared, grp, st) = (self.shared(), g.clone(), stop.clone());
                let should_restore = restore && !had_old;
                std::thread::Builder::new()
                    .name(format!("cairn-rules-{}", g.name))
                    .spawn(move || run_group(shared, grp, st, should_restore))
                    .ok()
            } else {
                None
            };
            running.push(Running { group: g, stop, thread });
        }
        // Groups that disappeared: their series go stale.
        let now = now_ms();
        for (_, r) in old_by_key {
            if let Err(e) = r.group.stale_all(now, self.shared().appender.as_ref()) {
                tracing::warn!(group = %r.group.name, error = %e, "writing stale markers for a removed group failed");
            }
        }
    }

    /// The running groups, in file order.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.running.read().iter().map(|r| r.group.clone()).collect()
    }

    /// The rule files of the last successful load.
    pub fn files(&self) -> Vec<PathBuf> {
        self.files.read().clone()
    }

    /// Evaluates every group once at `ts` and sends due alerts (tests, `test rules`).
    pub fn eval_all_at(&self, ts: i64) {
        for g in self.groups() {
            self.shared().eval_and_notify(&g, ts);
        }
    }

    /// Evaluates one group at `ts` and sends its due alerts.
    pub fn eval_group_at(&self, g: &Group, ts: i64) {
        self.shared().eval_and_notify(g, ts);
    }

    /// Restores alert state of every group at `ts` (what the scheduler does after start).
    pub fn restore_all_at(&self, ts: i64) {
        let shared = self.shared();
        let o = &shared.opts;
        for g in self.groups() {
            g.restore(shared.querier.as_ref(), ts, o.outage_tolerance_ms, o.for_grace_period_ms);
        }
    }

    /// Rule evaluation metrics as `(name, labels, value)` for `/metrics`.
    pub fn metrics(&self) -> Vec<crate::rules::MetricSample> {
        let mut out = Vec::new();
        for g in self.groups() {
            let l = vec![("rule_group".to_string(), g.key())];
            let m = &g.metrics;
            let mut push = |n: &str, v: f64| out.push((n.to_string(), l.clone(), v));
            push("cairn_rule_evaluations_total", m.evaluations.load(Ordering::Relaxed) as f64);
            push("cairn_rule_evaluation_failures_total", m.failures.load(Ordering::Relaxed) as f64);
            push("cairn_rule_group_iterations_total", m.iterations.load(Ordering::Relaxed) as f64);
            push(
                "cairn_rule_group_iterations_missed_total",
                m.iterations_missed.load(Ordering::Relaxed) as f64,
            );
            push("cairn_rule_group_last_duration_seconds", g.last_duration_s());
            push("cairn_rule_group_last_evaluation_timestamp_seconds", g.last_eval_ms() as f64 / 1000.0);
            push("cairn_rule_group_interval_seconds", g.interval_ms as f64 / 1000.0);
            push("cairn_rule_group_rules", g.rules.len() as f64);
        }
        out
    }

    /// Stops all group threads.
    pub fn stop(&self) {
        let mut running = self.running.write();
        for r in running.iter() {
            r.stop.stop();
        }
        for r in running.iter_mut() {
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for RuleManager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The loop of one group: wait for the next slot on its grid, evaluate, repeat. After the
/// second evaluation following start-up, restore alert state (as Prometheus).
fn run_group(shared: Arc<Shared>, g: Arc<Group>, stop: Arc<StopSignal>, mut should_restore: bool) {
    let interval = g.interval_ms.max(1);
    let mut next = g.eval_timestamp(now_ms()) + interval;
    let mut evals_since_start = 0u32;
    loop {
        if stop.sleep_until(next) {
            return;
        }
        let now = now_ms();
        let missed = (now - next) / interval;
        if missed > 0 {
            g.metrics.iterations_missed.fetch_add(missed as u64, Ordering::Relaxed);
            next += missed * interval;
        }
        shared.eval_and_notify(&g, next);
        evals_since_start += 1;
        if should_restore && evals_since_start >= 2 {
            let o = &shared.opts;
            g.restore(shared.querier.as_ref(), now_ms(), o.outage_tolerance_ms, o.for_grace_period_ms);
            should_restore = false;
        }
        next += interval;
    }
}

fn glob_regex(pattern: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_expand_in_any_element() {
        let d = tempfile::tempdir().unwrap();
        for f in ["a/x.yml", "a/y.yaml", "b/z.yml", "c.yml"] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let got = RuleManager::expand_globs(
            d.path(),
            &["*/*.yml".into(), "c.y?l".into(), "none/*.yml".into(), "plain.yml".into()],
        )
        .unwrap();
        let rel: Vec<String> = got
            .iter()
            .map(|p| p.strip_prefix(d.path()).unwrap_or(p).to_string_lossy().into_owned())
            .collect();
        assert_eq!(rel, ["a/x.yml", "b/z.yml", "c.yml", "plain.yml"]);
    }
}
