//! The scrape manager: turns a [`Config`] into one tokio task per target, each scraping at
//! its interval with a stable per-target offset, and keeps the set in sync on reload and when
//! file SD files change. A target that disappears gets stale markers for its last series and
//! its report series. Target health is kept for `GET /api/v1/targets`.
//!
//! Storage is reached only through [`SinkFactory`] (one [`ScrapeSink`] per target loop). A sink
//! is called from the target's task; an implementation that blocks (WAL fsync) blocks only that
//! target. Does not serve HTTP.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::append::{ScrapeLoop, ScrapeOptions, ScrapeSink};
use super::fetch::HttpScraper;
use super::target::{Target, populate_labels};
use super::{now_ms, scrape_once};
use crate::config::file_sd::{expand_pattern, parse_file_sd};
use crate::config::{Config, ScrapeConfig};

/// Creates the sink each target loop appends to.
pub trait SinkFactory: Send + Sync + 'static {
    fn sink(&self) -> Box<dyn ScrapeSink + Send>;
}

/// Health of a target as the targets API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// One target's state, in the shape of Prometheus's `/api/v1/targets` `activeTargets` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetStatus {
    pub scrape_pool: String,
    pub scrape_url: String,
    pub labels: cairn_format::Labels,
    pub discovered_labels: cairn_format::Labels,
    pub health: Health,
    pub last_error: String,
    /// Milliseconds since the epoch of the last scrape's start.
    pub last_scrape_ms: Option<i64>,
    pub last_scrape_duration: Duration,
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
}

struct Running {
    status: Arc<Mutex<TargetStatus>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Pool {
    cfg: Arc<ScrapeConfig>,
    targets: HashMap<u64, Running>,
    discovery: Option<JoinHandle<()>>,
}

struct State {
    pools: BTreeMap<String, Pool>,
}

/// Runs scrape loops for the targets of a configuration.
#[derive(Clone)]
pub struct ScrapeManager {
    factory: Arc<dyn SinkFactory>,
    state: Arc<Mutex<State>>,
}

/// How often file SD files are checked for changes (besides every `refresh_interval`).
const FILE_SD_POLL: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in another holder leaves the data usable (plain maps and statuses).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ScrapeManager {
    pub fn new(factory: Arc<dyn SinkFactory>) -> Self {
        ScrapeManager { factory, state: Arc::new(Mutex::new(State { pools: BTreeMap::new() })) }
    }

    /// Applies a (re)loaded configuration: new jobs start, removed jobs stop (with stale
    /// markers), changed jobs restart their targets, unchanged targets keep running. Must be
    /// called within a tokio runtime.
    pub fn apply_config(&self, cfg: &Config) {
        let mut st = lock(&self.state);
        let wanted: BTreeMap<String, Arc<ScrapeConfig>> =
            cfg.scrape_configs.iter().map(|c| (c.job().to_string(), Arc::new(c.clone()))).collect();
        let old: Vec<String> = st.pools.keys().cloned().collect();
        for job in old {
            let keep = wanted.get(&job).is_some_and(|c| st.pools.get(&job).is_some_and(|p| *p.cfg == **c));
            if !keep && let Some(p) = st.pools.remove(&job) {
                stop_pool(p);
            }
        }
        for (job, sc) in wanted {
            if st.pools.contains_key(&job) {
                continue;
            }
            let pool = Pool { cfg: sc.clone(), targets: HashMap::new(), discovery: None };
            st.pools.insert(job.clone(), pool);
            let groups = static_groups(&sc);
            if sc.file_sd_configs.is_empty() {
                self.sync_targets(&mut st, &job, groups);
            } else {
                let me = self.clone();
                let base = cfg.base_dir.clone();
                let j = job.clone();
                let task = tokio::spawn(async move { me.discover_files(j, sc, base, groups).await });
                if let Some(p) = st.pools.get_mut(&job) {
                    p.discovery = Some(task);
                }
            }
        }
    }

    /// Stops everything (targets get stale markers).
    pub fn stop(&self) {
        let mut st = lock(&self.state);
        for (_, p) in std::mem::take(&mut st.pools) {
            stop_pool(p);
        }
    }

    /// Snapshot of every active target, ordered by pool then URL.
    pub fn targets(&self) -> Vec<TargetStatus> {
        let st = lock(&self.state);
        let mut out: Vec<TargetStatus> =
            st.pools.values().flat_map(|p| p.targets.values().map(|r| lock(&r.status).clone())).collect();
        out.sort_by(|a, b| (&a.scrape_pool, &a.scrape_url).cmp(&(&b.scrape_pool, &b.scrape_url)));
        out
    }

    /// Re-reads the job's file SD files whenever one changes or `refresh_interval` passes.
    async fn discover_files(
        &self,
        job: String,
        sc: Arc<ScrapeConfig>,
        base: PathBuf,
        static_groups: Vec<(BTreeMap<String, String>, Vec<String>)>,
    ) {
        let refresh =
            sc.file_sd_configs.iter().map(|f| f.refresh_interval.0).min().unwrap_or(Duration::from_secs(300));
        let mut last_stamp: Option<Vec<(PathBuf, Option<SystemTime>)>> = None;
        let mut last_read = tokio::time::Instant::now();
        loop {
            let mut files = Vec::new();
            for f in &sc.file_sd_configs {
                for pattern in &f.files {
                    files.extend(expand_pattern(&base, pattern).unwrap_or_default());
                }
            }
            let stamp: Vec<_> = files
                .iter()
                .map(|p| (p.clone(), std::fs::metadata(p).and_then(|m| m.modified()).ok()))
                .collect();
            if last_stamp.as_ref() != Some(&stamp) || last_read.elapsed() >= refresh {
                let mut groups = static_groups.clone();
                for p in &files {
                    // A file that cannot be read or parsed contributes nothing this round, as in
                    // Prometheus; the error surfaces in the log of the caller's choosing.
                    if let Ok(bytes) = std::fs::read(p)
                        && let Ok(gs) = parse_file_sd(p, &bytes)
                    {
                        groups.extend(gs.into_iter().map(|g| (g.labels, g.targets)));
                    }
                }
                let mut st = lock(&self.state);
                if !st.pools.contains_key(&job) {
                    return;
                }
                self.sync_targets(&mut st, &job, groups);
                drop(st);
                last_stamp = Some(stamp);
                last_read = tokio::time::Instant::now();
            }
            tokio::time::sleep(FILE_SD_POLL.min(refresh)).await;
        }
    }

    /// Starts loops for new targets of `job` and stops those no longer present.
    fn sync_targets(&self, st: &mut State, job: &str, groups: Vec<(BTreeMap<String, String>, Vec<String>)>) {
        let Some(pool) = st.pools.get_mut(job) else { return };
        let sc = pool.cfg.clone();
        let mut wanted: HashMap<u64, Target> = HashMap::new();
        for (labels, targets) in groups {
            for addr in targets {
                // Targets whose labels are invalid are left out, as Prometheus drops them.
                if let Ok(Some(t)) = populate_labels(&labels, &addr, &sc) {
                    wanted.insert(target_hash(job, &t), t);
                }
            }
        }
        let gone: Vec<u64> = pool.targets.keys().filter(|h| !wanted.contains_key(h)).copied().collect();
        for h in gone {
            if let Some(r) = pool.targets.remove(&h) {
                let _ = r.stop.send(true);
            }
        }
        let scraper = match HttpScraper::new(&sc) {
            Ok(s) => Arc::new(s),
            Err(_) => return,
        };
        for (h, t) in wanted {
            if pool.targets.contains_key(&h) {
                continue;
            }
            let url = t.url(&sc.params);
            let status = Arc::new(Mutex::new(TargetStatus {
                scrape_pool: job.to_string(),
                scrape_url: url.clone(),
                labels: t.labels(),
                discovered_labels: t.discovered_labels.clone(),
                health: Health::Unknown,
                last_error: String::new(),
                last_scrape_ms: None,
                last_scrape_duration: Duration::ZERO,
                scrape_interval: t.interval,
                scrape_timeout: t.timeout,
            }));
            let (stop_tx, stop_rx) = watch::channel(false);
            let lp = ScrapeLoop::new(t.labels(), ScrapeOptions::from_config(&sc));
            let task = tokio::spawn(run_target(
                lp,
                self.factory.sink(),
                scraper.clone(),
                url,
                t.interval,
                t.timeout,
                h,
                status.clone(),
                stop_rx,
            ));
            pool.targets.insert(h, Running { status, stop: stop_tx, task });
        }
    }
}

fn stop_pool(p: Pool) {
    if let Some(d) = p.discovery {
        d.abort();
    }
    for (_, r) in p.targets {
        let _ = r.stop.send(true);
        drop(r.task);
    }
}

fn static_groups(sc: &ScrapeConfig) -> Vec<(BTreeMap<String, String>, Vec<String>)> {
    sc.static_configs.iter().map(|s| (s.labels.clone(), s.targets.clone())).collect()
}

/// Identity of a target within its job: a hash of its full label set.
fn target_hash(job: &str, t: &Target) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    job.hash(&mut h);
    t.full_labels.hash(&mut h);
    h.finish()
}

/// The first scrape time at or after now that is `offset` past a multiple of `interval`: every
/// target keeps the same phase across restarts, and targets spread over the interval.
fn next_tick_ms(now: i64, interval_ms: i64, offset_ms: i64) -> i64 {
    let base = now - now.rem_euclid(interval_ms) + offset_ms;
    if base < now { base + interval_ms } else { base }
}

#[allow(clippy::too_many_arguments)]
async fn run_target(
    mut lp: ScrapeLoop,
    mut sink: Box<dyn ScrapeSink + Send>,
    scraper: Arc<HttpScraper>,
    url: String,
    interval: Duration,
    timeout: Duration,
    hash: u64,
    status: Arc<Mutex<TargetStatus>>,
    mut stop: watch::Receiver<bool>,
) {
    let interval_ms = (interval.as_millis() as i64).max(1);
    let offset_ms = (hash % interval_ms as u64) as i64;
    loop {
        let now = now_ms();
        let wait = Duration::from_millis((next_tick_ms(now, interval_ms, offset_ms) - now).max(0) as u64);
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        if *stop.borrow() {
            break;
        }
        let start_ms = now_ms();
        let report = scrape_once(&scraper, &mut lp, sink.as_mut(), &url, timeout).await;
        let mut s = lock(&status);
        s.health = if report.up { Health::Up } else { Health::Down };
        s.last_error = report.error.unwrap_or_default();
        s.last_scrape_ms = Some(start_ms);
        s.last_scrape_duration = report.duration;
    }
    lp.stop(sink.as_mut(), now_ms());
}

#[cfg(test)]
mod tests {
    use super::next_tick_ms;

    #[test]
    fn ticks_keep_their_phase() {
        assert_eq!(next_tick_ms(10_500, 1000, 300), 11_300);
        assert_eq!(next_tick_ms(10_200, 1000, 300), 10_300);
        assert_eq!(next_tick_ms(10_300, 1000, 300), 10_300);
        assert_eq!(next_tick_ms(0, 15_000, 14_999), 14_999);
    }
}
