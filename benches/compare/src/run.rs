//! One system's run, start to finish: start it fresh, send the load and time it, read CPU and
//! memory from `/proc`, check the data is visible, time the query set, persist and stop, and
//! measure the disk. Owns the measurement sequence; the report is built in `report.rs`.

use crate::ingest::{IngestOutcome, send_all};
use crate::load::{Load, SAMPLE_INTERVAL_MS};
use crate::proc::{cpu_seconds, status_bytes};
use crate::profile;
use crate::query::{self, Normalized, QuerySpec};
use crate::system::{self, DiskReport, Kind};
use bytes::Bytes;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Knobs shared by every system's run.
pub struct RunOptions {
    pub concurrency: usize,
    pub reps: usize,
    pub query_timeout: Duration,
    /// The send phase stops at this point at the latest.
    pub ingest_budget: Duration,
    pub tmp_parent: PathBuf,
    pub log_dir: PathBuf,
    /// Profile this system's send phase and timed queries with `perf` into this directory.
    pub profile: Option<(Kind, PathBuf)>,
}

/// Latency of one query on one system.
#[derive(Debug, Clone, Serialize)]
pub struct QueryTiming {
    pub name: &'static str,
    pub median_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub reps: usize,
    pub result_series: usize,
    pub result_points: usize,
    pub error: Option<String>,
}

/// Everything measured for one system.
#[derive(Debug, Clone, Serialize)]
pub struct SystemResult {
    pub system: Kind,
    pub label: &'static str,
    pub version: String,
    pub binary: String,
    pub startup_seconds: f64,
    /// `/proc/loadavg` when this system's run started and ended (the machine may be shared).
    pub loadavg_start: String,
    pub loadavg_end: String,
    /// How many rounds the figures are the median of (see `rounds.rs`).
    pub rounds: usize,
    pub ingest: IngestOutcome,
    pub ingest_samples_per_second: f64,
    pub ingest_cpu_seconds: f64,
    pub cpu_seconds_per_million_samples: f64,
    pub rss_before_ingest_bytes: u64,
    pub rss_after_ingest_bytes: u64,
    /// VmHWM right after the send phase.
    pub peak_rss_ingest_bytes: u64,
    /// VmHWM at the end (after the queries).
    pub peak_rss_bytes: u64,
    /// `peak_rss_ingest_bytes / series`.
    pub peak_rss_per_series_bytes: f64,
    /// `(peak_rss_ingest_bytes - rss_before_ingest_bytes) / series`: the growth the load caused.
    pub rss_growth_per_series_bytes: f64,
    pub visible_series: Option<u64>,
    pub visible_samples: Option<u64>,
    pub visibility_wait_seconds: f64,
    pub queries: Vec<QueryTiming>,
    /// Sum over the query set of each query's median latency.
    pub query_latency_sum_ms: Option<f64>,
    /// CPU seconds the server used during the timed query repetitions.
    pub query_cpu_seconds: f64,
    pub disk: Option<DiskReport>,
    /// `disk.measured.apparent_bytes / samples`.
    pub disk_bytes_per_sample: Option<f64>,
    /// `disk.after_shutdown.apparent_bytes / samples`.
    pub disk_after_shutdown_bytes_per_sample: Option<f64>,
    /// `perf report` files written for this system (`--profile`).
    pub profiles: Vec<String>,
    pub errors: Vec<String>,
}

/// A system's figures plus its query results (for the cross-system comparison).
pub struct SystemRun {
    pub result: SystemResult,
    pub responses: Vec<Option<Normalized>>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 })
}

/// Run an instant query and return its single scalar-like value, if any.
async fn instant_value(
    client: &reqwest::Client,
    base: &str,
    expr: &str,
    time_ms: i64,
    timeout: Duration,
) -> anyhow::Result<Option<f64>> {
    let url = query::url(base, &query::QueryKind::Instant { time_ms }, expr);
    let (_, body) = query::fetch(client, &url, timeout).await?;
    let n = query::parse(&body)?;
    Ok(n.series.first().and_then(|s| s.points.first()).map(|p| p.1))
}

/// The first three fields of `/proc/loadavg` (1, 5, 15 minutes).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// How long to wait for ingested data to become visible to queries.
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn run_system(
    kind: Kind,
    bin: &Path,
    load: &Load,
    shards: Arc<Vec<Vec<Bytes>>>,
    queries: &[QuerySpec],
    opts: &RunOptions,
) -> anyhow::Result<SystemRun> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(opts.concurrency.max(1)).build()?;
    let loadavg_start = loadavg();
    let version = system::version(kind, bin);
    eprintln!("[{}] starting {} ({version})", kind.label(), bin.display());
    let mut running = system::start(kind, bin, &opts.tmp_parent, &opts.log_dir)?;
    let startup = running.wait_ready(&client).await?;
    let pid = running.guard.pid;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut errors = Vec::new();

    // Send phase.
    let profiling = opts.profile.as_ref().filter(|(k, _)| *k == kind).map(|(_, d)| d.clone());
    let mut profiles = Vec::new();
    let phase = |p: &str| format!("{}-{p}", kind.label().to_lowercase());
    let rec = match &profiling {
        Some(dir) => Some(profile::start(pid, dir, &phase("ingest"))?),
        None => None,
    };
    let cpu0 = cpu_seconds(pid)?;
    let rss_before = status_bytes(pid, "VmRSS")?;
    let url = format!("{}/api/v1/write", running.base);
    eprintln!(
        "[{}] sending {} samples in {} requests over {} connections",
        kind.label(),
        load.samples,
        load.requests,
        shards.len()
    );
    let ingest = send_all(&client, &url, shards, Instant::now() + opts.ingest_budget).await;
    let cpu1 = cpu_seconds(pid)?;
    if let Some(rec) = rec {
        match rec.finish() {
            Ok(p) => profiles.push(p.display().to_string()),
            Err(e) => errors.push(format!("profile: {e:#}")),
        }
    }
    let peak_ingest = status_bytes(pid, "VmHWM")?;
    let rss_after = status_bytes(pid, "VmRSS")?;
    if ingest.requests_failed > 0 || ingest.aborted {
        errors.push(format!(
            "ingest: {} of {} requests failed{}; first: {:?}",
            ingest.requests_failed,
            ingest.requests_sent,
            if ingest.aborted { ", aborted" } else { "" },
            ingest.failures
        ));
    }
    let samples_ps = load.samples as f64 / ingest.wall_seconds.max(1e-9);
    eprintln!(
        "[{}] ingest: {:.1}s, {:.0} samples/s, {:.2} CPU s",
        kind.label(),
        ingest.wall_seconds,
        samples_ps,
        cpu1 - cpu0
    );

    // Visibility check: every series has a sample at the end time, and all samples are there.
    let t_vis = Instant::now();
    running.make_searchable(&client).await?;
    let mut visible_series = None;
    while t_vis.elapsed() < VISIBILITY_TIMEOUT {
        match instant_value(
            &client,
            &running.base,
            r#"count({job="node"})"#,
            load.query_time_ms,
            opts.query_timeout,
        )
        .await
        {
            Ok(v) => {
                visible_series = v.map(|v| v as u64);
                if visible_series == Some(load.series as u64) {
                    break;
                }
            }
            Err(e) => {
                errors.push(format!("visibility check: {e:#}"));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let visibility_wait = t_vis.elapsed().as_secs_f64();
    if visible_series != Some(load.series as u64) {
        errors.push(format!("visible series {visible_series:?}, expected {}", load.series));
    }
    // (query time - span, query time] holds every sample of every series.
    let span_s = (load.query_time_ms - load.start_ms) / 1000 + SAMPLE_INTERVAL_MS / 1000;
    // One term per metric name: `count_over_time` drops `__name__`, so summing over all names at
    // once would put series with equal label sets in one vector, which PromQL rejects.
    let count_expr = load
        .metric_names
        .iter()
        .map(|n| format!(r#"sum(count_over_time({n}{{job="node"}}[{span_s}s]))"#))
        .collect::<Vec<_>>()
        .join(" + ");
    let visible_samples = match instant_value(
        &client,
        &running.base,
        &count_expr,
        load.query_time_ms,
        opts.query_timeout,
    )
    .await
    {
        Ok(v) => v.map(|v| v as u64),
        Err(e) => {
            errors.push(format!("sample count check: {e:#}"));
            None
        }
    };
    if visible_samples.is_some() && visible_samples != Some(load.samples) {
        errors.push(format!("visible samples {visible_samples:?}, expected {}", load.samples));
    }

    // Queries: one warm-up pass whose results are compared across systems, then timed passes.
    let urls: Vec<String> = queries.iter().map(|q| query::url(&running.base, &q.kind, q.expr)).collect();
    let mut responses = Vec::with_capacity(queries.len());
    let mut query_errors: Vec<Option<String>> = vec![None; queries.len()];
    for (i, u) in urls.iter().enumerate() {
        let parsed = match query::fetch(&client, u, opts.query_timeout).await {
            Ok((_, body)) => query::parse(&body),
            Err(e) => Err(e),
        };
        match parsed {
            Ok(n) => responses.push(Some(n)),
            Err(e) => {
                query_errors[i] = Some(format!("{e:#}"));
                responses.push(None);
            }
        }
    }
    let rec = match &profiling {
        Some(dir) => Some(profile::start(pid, dir, &phase("query"))?),
        None => None,
    };
    let cpu_q0 = cpu_seconds(pid)?;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    for _ in 0..opts.reps {
        for (i, u) in urls.iter().enumerate() {
            if query_errors[i].is_some() {
                continue;
            }
            match query::fetch(&client, u, opts.query_timeout).await {
                Ok((d, _)) => times[i].push(d.as_secs_f64() * 1000.0),
                Err(e) => query_errors[i] = Some(format!("{e:#}")),
            }
        }
    }
    let query_cpu = cpu_seconds(pid)? - cpu_q0;
    if let Some(rec) = rec {
        match rec.finish() {
            Ok(p) => profiles.push(p.display().to_string()),
            Err(e) => errors.push(format!("profile: {e:#}")),
        }
    }
    let peak_total = status_bytes(pid, "VmHWM")?;
    let mut timings = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let t = &mut times[i];
        let (series, points) = responses[i].as_ref().map_or((0, 0), |n| (n.series.len(), n.points()));
        timings.push(QueryTiming {
            name: q.name,
            median_ms: median(t),
            min_ms: t.first().copied(),
            max_ms: t.last().copied(),
            reps: t.len(),
            result_series: series,
            result_points: points,
            error: query_errors[i].clone(),
        });
    }
    let query_latency_sum_ms = if timings.iter().all(|t| t.median_ms.is_some()) {
        Some(timings.iter().filter_map(|t| t.median_ms).sum::<f64>())
    } else {
        None
    };
    eprintln!(
        "[{}] queries: sum of medians {:?} ms, {} errors",
        kind.label(),
        query_latency_sum_ms.map(|v| (v * 10.0).round() / 10.0),
        query_errors.iter().flatten().count()
    );

    // Persist, stop, measure the disk.
    let disk = match running.persist_and_stop(&client).await {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(format!("persist/stop: {e:#}"));
            None
        }
    };
    let disk_bytes_per_sample = disk.as_ref().map(|d| d.measured.apparent_bytes as f64 / load.samples as f64);
    let disk_after = disk.as_ref().map(|d| d.after_shutdown.apparent_bytes as f64 / load.samples as f64);
    let ingest_cpu = cpu1 - cpu0;
    let result = SystemResult {
        system: kind,
        label: kind.label(),
        version,
        binary: bin.display().to_string(),
        startup_seconds: startup.as_secs_f64(),
        loadavg_start,
        loadavg_end: loadavg(),
        rounds: 1,
        ingest_samples_per_second: samples_ps,
        ingest_cpu_seconds: ingest_cpu,
        cpu_seconds_per_million_samples: ingest_cpu / (load.samples as f64 / 1e6),
        ingest,
        rss_before_ingest_bytes: rss_before,
        rss_after_ingest_bytes: rss_after,
        peak_rss_ingest_bytes: peak_ingest,
        peak_rss_bytes: peak_total,
        peak_rss_per_series_bytes: peak_ingest as f64 / load.series as f64,
        rss_growth_per_series_bytes: peak_ingest.saturating_sub(rss_before) as f64 / load.series as f64,
        visible_series,
        visible_samples,
        visibility_wait_seconds: visibility_wait,
        queries: timings,
        query_latency_sum_ms,
        query_cpu_seconds: query_cpu,
        disk,
        disk_bytes_per_sample,
        disk_after_shutdown_bytes_per_sample: disk_after,
        profiles,
        errors,
    };
    drop(running);
    Ok(SystemRun { result, responses })
}

/// Figures of a system that failed before producing any (the error is kept in the report).
pub fn failed_result(kind: Kind, bin: Option<&Path>, err: &anyhow::Error) -> SystemResult {
    SystemResult {
        system: kind,
        label: kind.label(),
        version: bin.map(|b| system::version(kind, b)).unwrap_or_default(),
        binary: bin.map(|b| b.display().to_string()).unwrap_or_default(),
        startup_seconds: 0.0,
        loadavg_start: String::new(),
        loadavg_end: loadavg(),
        rounds: 1,
        ingest: IngestOutcome {
            wall_seconds: 0.0,
            requests_sent: 0,
            requests_failed: 0,
            retries: 0,
            failures: Vec::new(),
            aborted: true,
        },
        ingest_samples_per_second: 0.0,
        ingest_cpu_seconds: 0.0,
        cpu_seconds_per_million_samples: 0.0,
        rss_before_ingest_bytes: 0,
        rss_after_ingest_bytes: 0,
        peak_rss_ingest_bytes: 0,
        peak_rss_bytes: 0,
        peak_rss_per_series_bytes: 0.0,
        rss_growth_per_series_bytes: 0.0,
        visible_series: None,
        visible_samples: None,
        visibility_wait_seconds: 0.0,
        queries: Vec::new(),
        query_latency_sum_ms: None,
        query_cpu_seconds: 0.0,
        disk: None,
        disk_bytes_per_sample: None,
        disk_after_shutdown_bytes_per_sample: None,
        profiles: Vec::new(),
        errors: vec![format!("{err:#}")],
    }
}
