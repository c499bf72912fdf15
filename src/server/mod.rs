//! `cairn serve`: wires storage, the query engine, ingest and the HTTP API together, and owns
//! the process lifecycle (signals, reload, graceful shutdown). Holds no business logic itself.

use crate::cli::ServeArgs;
use crate::selfmetrics::{Metric, Registry};
use crate::storage::{Db, FsyncPolicy, Options};
use cairn_format::Labels;
use parking_lot::RwLock;
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
}

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

fn civil_from_days(z: i64) -> (i64, i64, i64) {
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
    let lookback_delta_ms = parse_flag_duration("query.lookback-delta", &args.lookback_delta)?;
    let query_timeout_ms = parse_flag_duration("query.timeout", &args.query_timeout)?;
    let fsync = match args.wal_fsync.as_str() {
        "always" => FsyncPolicy::Always,
        ms => FsyncPolicy::Interval(std::time::Duration::from_millis(ms.parse().map_err(|_| {
            anyhow::anyhow!("invalid --wal-fsync {ms:?}: expected `always` or milliseconds")
        })?)),
    };
    let data_dir = args.data.clone();
    let db =
        tokio::task::spawn_blocking(move || Db::open(&data_dir, Options { fsync, ..Options::default() }))
            .await?
            .map_err(|e| anyhow::anyhow!("cannot open data directory {}: {e}", args.data.display()))?;
    let engine = cairn_query::Engine::new(cairn_query::EngineOptions {
        lookback_delta_ms,
        max_samples: args.query_max_samples,
        timeout: std::time::Duration::from_millis(query_timeout_ms as u64),
        ..Default::default()
    });
    let state = AppState {
        flags: Arc::new(args.flag_map()),
        registry: registry.clone(),
        ready: Arc::new(AtomicBool::new(false)),
        start_time_rfc3339: rfc3339(now_ms()).into(),
        retention_text: args.retention.clone().into(),
        config_text: Arc::new(RwLock::new(String::new())),
        reload_status: Arc::new(RwLock::new(ReloadStatus { success: true, time_rfc3339: rfc3339(now_ms()) })),
        enable_admin_api: args.enable_admin_api,
        queryable: Arc::new(db.clone()),
        db: db.clone(),
        engine: Arc::new(engine),
        query_slots: Arc::new(tokio::sync::Semaphore::new(args.query_max_concurrency.max(1))),
        lookback_delta_ms,
        external_labels: Arc::new(RwLock::new(Labels::empty())),
        queries_total: registry
            .counter("cairn_engine_queries_total", "Queries executed through the HTTP API."),
        query_duration: registry.counter(
            "cairn_engine_query_duration_seconds_total",
            "Total wall time spent executing API queries.",
        ),
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(addr = %args.listen, "listening");
    state.ready.store(true, Ordering::Relaxed);
    let app = crate::api::router(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    tokio::task::spawn_blocking(move || db.close())
        .await?
        .map_err(|e| anyhow::anyhow!("closing database: {e}"))?;
    tracing::info!("shut down");
    Ok(())
}

fn parse_flag_duration(flag: &str, v: &str) -> anyhow::Result<i64> {
    crate::api::params::parse_prom_duration(v)
        .ok_or_else(|| anyhow::anyhow!("invalid --{flag} {v:?}: expected a duration like 5m"))
}

async fn shutdown_signal() {
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
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
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
