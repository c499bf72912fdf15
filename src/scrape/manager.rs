//! The scrape manager: one tokio task per target, started, kept or stopped when the target
//! list changes (config reload, file SD refresh). Each loop scrapes at a stable offset within
//! its interval (derived from a hash of the target), so targets spread out and restarts keep
//! their phase. Stopping a loop writes stale markers for everything the target reported.

use super::append::{ScrapeOutcome, ScrapeState};
use super::fetch::fetch;
use super::target::{ActiveTarget, DroppedTarget, Health, TargetSpec, TargetStatus};
use crate::ingest::exposition::select_format;
use crate::server::now_ms;
use crate::storage::Db;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

struct Running {
    target: ActiveTarget,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

/// Owns the running scrape loops.
pub struct ScrapeManager {
    db: Db,
    running: RwLock<HashMap<String, Running>>,
    dropped: RwLock<Vec<DroppedTarget>>,
}

impl ScrapeManager {
    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(ScrapeManager { db, running: RwLock::new(HashMap::new()), dropped: RwLock::new(Vec::new()) })
    }

    /// Makes the running loops match `specs`: new targets start, vanished ones stop (with
    /// stale markers), unchanged ones keep running undisturbed. Must run inside the runtime.
    pub fn apply(&self, specs: Vec<TargetSpec>, dropped: Vec<DroppedTarget>) {
        let mut running = self.running.write();
        let mut next: HashMap<String, Running> = HashMap::new();
        for spec in specs {
            let key = spec.key();
            if next.contains_key(&key) {
                continue; // the same target listed twice
            }
            if let Some(r) = running.remove(&key) {
                if r.target.spec.config_fingerprint == spec.config_fingerprint {
                    next.insert(key, r);
                    continue;
                }
                let _ = r.stop.send(true);
            }
            let target = ActiveTarget {
                spec: Arc::new(spec),
                status: Arc::new(RwLock::new(TargetStatus::default())),
                metadata: Arc::new(RwLock::new(Default::default())),
            };
            let (tx, rx) = watch::channel(false);
            let handle = tokio::spawn(run_loop(self.db.clone(), target.clone(), rx));
            next.insert(key, Running { target, stop: tx, handle });
        }
        for (_, r) in running.drain() {
            let _ = r.stop.send(true);
        }
        *running = next;
        *self.dropped.write() = dropped;
    }

    /// Running targets, sorted by pool and URL.
    pub fn active(&self) -> Vec<ActiveTarget> {
        let mut v: Vec<ActiveTarget> = self.running.read().values().map(|r| r.target.clone()).collect();
        v.sort_by(|a, b| (&a.spec.pool, &a.spec.url).cmp(&(&b.spec.pool, &b.spec.url)));
        v
    }

    pub fn dropped(&self) -> Vec<DroppedTarget> {
        self.dropped.read().clone()
    }

    /// Stops every loop and waits (bounded) for their final stale markers.
    pub async fn stop_all(&self) {
        let all: Vec<Running> = self.running.write().drain().map(|(_, r)| r).collect();
        for r in &all {
            let _ = r.stop.send(true);
        }
        for r in all {
            let _ = tokio::time::timeout(Duration::from_secs(5), r.handle).await;
        }
    }
}

/// Stable phase of a target within its interval.
fn offset_ms(spec: &TargetSpec) -> i64 {
    let h = xxhash_rust::xxh3::xxh3_64(spec.key().as_bytes());
    (h % spec.interval_ms.max(1) as u64) as i64
}

async fn run_loop(db: Db, target: ActiveTarget, mut stop: watch::Receiver<bool>) {
    let spec = target.spec.clone();
    let interval = spec.interval_ms.max(1);
    let first = (offset_ms(&spec) - now_ms().rem_euclid(interval)).rem_euclid(interval);
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(first as u64)) => {}
        _ = stop.changed() => return,
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(interval as u64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut state = ScrapeState::default();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        let ts = now_ms();
        let started = Instant::now();
        let fetched = tokio::select! {
            r = fetch(&spec) => r,
            _ = stop.changed() => break,
        };
        let duration = started.elapsed().as_secs_f64();
        let (db2, spec2) = (db.clone(), spec.clone());
        let mut st = std::mem::take(&mut state);
        let joined = tokio::task::spawn_blocking(move || {
            let outcome = match fetched {
                Ok(f) => match select_format(f.content_type.as_deref(), spec2.fallback_protocol) {
                    Ok(choice) => {
                        if let Some(w) = choice.warning {
                            tracing::warn!(target = %spec2.url, "{w}");
                        }
                        st.ingest_body(&db2, &spec2, &f.body, choice.format, ts)
                    }
                    Err(e) => {
                        st.fail(&db2, ts);
                        ScrapeOutcome { error: Some(e.to_string()), ..Default::default() }
                    }
                },
                Err(e) => {
                    st.fail(&db2, ts);
                    ScrapeOutcome { error: Some(e), ..Default::default() }
                }
            };
            st.report(&db2, &spec2, ts, duration, &outcome);
            (st, outcome)
        })
        .await;
        let Ok((st, outcome)) = joined else {
            tracing::error!(target = %spec.url, "scrape task panicked");
            continue;
        };
        state = st;
        if let Some(e) = &outcome.error {
            tracing::debug!(target = %spec.url, error = %e, "scrape failed");
        }
        {
            let mut s = target.status.write();
            s.health = if outcome.error.is_none() { Health::Up } else { Health::Down };
            s.last_error = outcome.error.clone().unwrap_or_default();
            s.last_scrape_ms = ts;
            s.last_duration_s = duration;
            s.last_samples = outcome.post_relabel;
        }
        if outcome.error.is_none() {
            *target.metadata.write() = outcome.metadata;
        }
    }
    let _ = tokio::task::spawn_blocking(move || state.stop(&db, now_ms())).await;
}
