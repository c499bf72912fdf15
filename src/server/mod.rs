//! `cairn serve`: wires storage, the query engine, ingest and the HTTP API together, and owns
//! the process lifecycle (signals, reload, graceful shutdown). Holds no business logic itself.

pub mod ingest_metrics;
pub mod runtime;
pub mod snapshot;

use crate::cli::ServeArgs;
use crate::ingest::limits::IngestLimits;
use crate::rules::local::EngineQuerier;
use crate::rules::{ManagerOptions, Notifier, NotifierOptions, RuleManager};
use crate::scrape::ScrapeManager;
use crate::selfmetrics::{Kind, Metric, Registry, TypedFamily};
use crate::storage::{Db, FsyncPolicy, Options};
use cairn_format::Labels;
use ingest_metrics::IngestMetrics;
use parking_lot::RwLock;
use runtime::{DbRuleAppender, Runtime, external_labels_of, read_config};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Outcome of the last config (re)load, for `/api/v1/status/runtimeinfo`.
#[derive(Clone, Debug, Default)]
pub struct ReloadStatus {
    pub success: bool,
    pub time_rfc3339: String,
}

/// Shared state of every HTTP handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub flags: Arc<Vec<(String, String)>>,
    pub registry: Registry,
    pub ready: Arc<AtomicBool>,
    pub start_time_rfc3339: Arc<str>,
    pub retention_text: Arc<str>,
    pub config_text: Arc<RwLock<String>>,
    pub reload_status: Arc<RwLock<ReloadStatus>>,
    pub enable_admin_api: bool,
    /// What the query engine and metadata endpoints read from (the database).
    pub queryable: Arc<dyn cairn_query::Queryable>,
    pub db: Db,
    pub engine: Arc<cairn_query::Engine>,
    /// Bounds concurrently executing queries (`--query.max-concurrency`).
    pub query_slots: Arc<tokio::sync::Semaphore>,
    pub lookback_delta_ms: i64,
    /// Labels added to federation output and alerts (`global.external_labels`).
    pub external_labels: Arc<RwLock<Labels>>,
    pub queries_total: Metric,
    pub query_duration: Metric,
    pub scrape: Arc<ScrapeManager>,
    pub runtime: Arc<Runtime>,
    pub ingest_limits: Arc<RwLock<IngestLimits>>,
    pub ingest: IngestMetrics,
    /// Bounds concurrently processed remote-write requests; beyond it requests get 503.
    pub write_slots: Arc<tokio::sync::Semaphore>,
    /// `POST /-/quit` is served (`--web.enable-lifecycle`).
    pub enable_lifecycle: bool,
    /// Notified by `POST /-/quit`: starts the same graceful shutdown as SIGTERM.
    pub quit: Arc<tokio::sync::Notify>,
}

/// How long shutdown waits for queued alerts to reach the Alertmanagers.
const NOTIFIER_DRAIN_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// Remote-write requests processed at once before answering 503 (retried by senders).
const WRITES_IN_FLIGHT_MAX: usize = 64;

/// Formats a Unix time in ms as RFC 3339 UTC with millisecond precision.
pub fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// (year, month, day) of day `z` after 1970-01-01 (proleptic Gregorian, UTC).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Current wall-clock time in ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let registry = Registry::new();
    crate::selfmetrics::process::register(&registry);
    let lookback_delta_ms = parse_flag_duration("query.lookback-delta", &args.lookback_delta)?;
    let query_timeout_ms = parse_flag_duration("query.timeout", &args.query_timeout)?;
    let fsync = match args.wal_fsync.as_str() {
        "always" => FsyncPolicy::Always,
        ms => FsyncPolicy::Interval(std::time::Duration::from_millis(ms.parse().map_err(|_| {
            anyhow::anyhow!("invalid --wal-fsync {ms:?}: expected `always` or milliseconds")
        })?)),
    };
    // A bad configuration stops the start, naming the file and line.
    let (cfg, cfg_text) = read_config(&args.config, &args.listen).map_err(|e| anyhow::anyhow!(e))?;

    let data_dir = args.data.clone();
    // The flag wins over the config's `cairn.storage.retention` (default 15d).
    let retention_text = match &args.retention {
        Some(r) => r.clone(),
        None => cfg.cairn.storage.retention.to_string(),
    };
    let retention_ms = parse_flag_duration("storage.tsdb.retention.time", &retention_text)?;
    let retention_bytes = crate::config::ByteSize::parse(&args.retention_size)
        .map_err(|e| anyhow::anyhow!("invalid --storage.tsdb.retention.size: {e}"))?
        .0;
    let storage_opts = Options {
        fsync,
        retention_ms,
        retention_bytes,
        out_of_order_window_ms: cfg.cairn.storage.out_of_order_window.as_millis() as i64,
        max_active_series: match cfg.cairn.limits.active_series_max {
            0 => None,
            n => Some(n as usize),
        },
        new_series_per_second_max: match cfg.cairn.limits.new_series_per_second_max {
            0 => None,
            n => Some(n),
        },
        ..Options::default()
    };
    let db = tokio::task::spawn_blocking(move || Db::open(&data_dir, storage_opts))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot open data directory {}: {e}", args.data.display()))?;
    let engine = Arc::new(cairn_query::Engine::new(cairn_query::EngineOptions {
        lookback_delta_ms,
        max_samples: args.query_max_samples,
        timeout: std::time::Duration::from_millis(query_timeout_ms as u64),
        ..Default::default()
    }));

    let external = external_labels_of(&cfg);
    let expand_external_labels = args.enable_feature.iter().any(|f| f == "expand-external-labels");
    for f in args.enable_feature.iter().filter(|f| *f != "expand-external-labels") {
        tracing::warn!(feature = %f, "--enable-feature is accepted for compatibility and ignored");
    }
    let notifier = Notifier::new(NotifierOptions {
        queue_capacity: args.notification_queue_capacity.max(1),
        ..NotifierOptions::default()
    });
    let resend_delay_ms = parse_flag_duration("rules.alert.resend-delay", &args.alert_resend_delay)?;
    let outage_tolerance_ms =
        parse_flag_duration("rules.alert.for-outage-tolerance", &args.alert_for_outage_tolerance)?;
    let for_grace_period_ms =
        parse_flag_duration("rules.alert.for-grace-period", &args.alert_for_grace_period)?;
    let external_url = args
        .external_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let rules = Arc::new(RuleManager::new(
        ManagerOptions {
            eval_interval_ms: cfg.global.evaluation_interval.as_millis() as i64,
            external_labels: external.clone(),
            external_url,
            resend_delay_ms,
            outage_tolerance_ms,
            for_grace_period_ms,
            ..ManagerOptions::default()
        },
        Arc::new(EngineQuerier { engine: (*engine).clone(), storage: Arc::new(db.clone()) }),
        Arc::new(DbRuleAppender(db.clone())),
        Some(notifier.clone()),
    ));
    let scrape = ScrapeManager::new(db.clone());
    let config_text = Arc::new(RwLock::new(String::new()));
    let reload_status =
        Arc::new(RwLock::new(ReloadStatus { success: true, time_rfc3339: rfc3339(now_ms()) }));
    let external_labels = Arc::new(RwLock::new(external));
    let ingest_limits = Arc::new(RwLock::new(cfg.cairn.limits.ingest_limits()));
    let mut runtime = Runtime::new(
        args.config.clone(),
        args.listen.clone(),
        scrape.clone(),
        rules.clone(),
        notifier.clone(),
        config_text.clone(),
        reload_status.clone(),
        external_labels.clone(),
        ingest_limits.clone(),
    );
    runtime.expand_external_labels = expand_external_labels;
    let runtime = Arc::new(runtime);
    runtime.apply(cfg, cfg_text).map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    register_collectors(&registry, &db, &runtime);

    let state = AppState {
        flags: Arc::new(args.flag_map()),
        registry: registry.clone(),
        ready: Arc::new(AtomicBool::new(false)),
        start_time_rfc3339: rfc3339(now_ms()).into(),
        retention_text: retention_text.clone().into(),
        config_text,
        reload_status,
        enable_admin_api: args.enable_admin_api,
        queryable: Arc::new(db.clone()),
        db: db.clone(),
        engine,
        query_slots: Arc::new(tokio::sync::Semaphore::new(args.query_max_concurrency.max(1))),
        lookback_delta_ms,
        external_labels,
        queries_total: registry
            .counter("cairn_engine_queries_total", "Queries executed through the HTTP API."),
        query_duration: registry.counter(
            "cairn_engine_query_duration_seconds_total",
            "Total wall time spent executing API queries.",
        ),
        scrape: scrape.clone(),
        runtime: runtime.clone(),
        ingest_limits,
        ingest: IngestMetrics::new(&registry),
        write_slots: Arc::new(tokio::sync::Semaphore::new(WRITES_IN_FLIGHT_MAX)),
        enable_lifecycle: args.enable_lifecycle,
        quit: Arc::new(tokio::sync::Notify::new()),
    };
    let quit = state.quit.clone();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(addr = %args.listen, data = %args.data.display(), "listening");
    spawn_reload_on_sighup(runtime.clone());
    spawn_file_sd_refresh(runtime.clone());
    state.ready.store(true, Ordering::Relaxed);
    let app = crate::api::router(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal(quit)).await?;
    scrape.stop_all().await;
    rules.stop();
    // Alerts already queued still go out, within a bound.
    let n = notifier.clone();
    tokio::task::spawn_blocking(move || n.shutdown(NOTIFIER_DRAIN_MAX)).await?;
    tokio::task::spawn_blocking(move || db.close())
        .await?
        .map_err(|e| anyhow::anyhow!("closing database: {e}"))?;
    tracing::info!("shut down");
    Ok(())
}

/// Gauges computed when `/metrics` is scraped: head size, rule and notifier metrics.
fn register_collectors(registry: &Registry, db: &Db, runtime: &Arc<Runtime>) {
    let db = db.clone();
    registry.typed_collector(move || {
        let c = db.head_counts();
        let one = |name, help, kind, v: u64| TypedFamily {
            name,
            help,
            kind,
            samples: vec![(Vec::new(), v as f64)],
        };
        vec![
            one("cairn_head_series", "Series in the in-memory head.", Kind::Gauge, c.series),
            one("cairn_head_samples", "Samples in the in-memory head.", Kind::Gauge, c.samples),
            one(
                "cairn_head_samples_dropped_at_commit_total",
                "Samples dropped at commit (out of order or duplicates with other values).",
                Kind::Counter,
                c.dropped_at_commit,
            ),
        ]
    });
    let rt = runtime.clone();
    registry.collector(move || {
        let mut v = rt.rules.metrics();
        v.extend(rt.notifier.metrics());
        v
    });
}

fn spawn_reload_on_sighup(runtime: Arc<Runtime>) {
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot install SIGHUP handler; reload with POST /-/reload");
            return;
        };
        while hup.recv().await.is_some() {
            let rt = runtime.clone();
            let _ = tokio::task::spawn_blocking(move || rt.reload()).await;
        }
    });
}

/// How often file-SD files are checked for changes (mtime and size).
const FILE_SD_POLL: std::time::Duration = std::time::Duration::from_secs(2);

fn spawn_file_sd_refresh(runtime: Arc<Runtime>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FILE_SD_POLL);
        loop {
            tick.tick().await;
            let rt = runtime.clone();
            let _ = tokio::task::spawn_blocking(move || rt.refresh_file_sd()).await;
        }
    });
}

fn parse_flag_duration(flag: &str, v: &str) -> anyhow::Result<i64> {
    crate::api::params::parse_prom_duration(v)
        .ok_or_else(|| anyhow::anyhow!("invalid --{flag} {v:?}: expected a duration like 5m"))
}

async fn shutdown_signal(quit: Arc<tokio::sync::Notify>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {}, _ = quit.notified() => {} }
    tracing::info!("received shutdown signal");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_435_781_451_781), "2015-07-01T20:10:51.781Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }
}
