//! `/api/v1/status/*` (buildinfo, flags, runtimeinfo, config, walreplay) and `/-/healthy`,
//! `/-/ready`.
//! The TSDB status lives with the storage-backed handlers in `meta.rs`.

use super::envelope::success_json;
use crate::server::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

pub async fn healthy() -> &'static str {
    "Cairn is Healthy.\n"
}

pub async fn ready(State(st): State<AppState>) -> Response {
    if st.ready.load(std::sync::atomic::Ordering::Relaxed) {
        "Cairn is Ready.\n".into_response()
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

pub async fn buildinfo() -> Response {
    success_json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": option_env!("CAIRN_GIT_REVISION").unwrap_or("unknown"),
        "branch": "main",
        "buildUser": "cairn",
        "buildDate": "unknown",
        "goVersion": "n/a (rust)",
    }))
}

pub async fn flags(State(st): State<AppState>) -> Response {
    let map: serde_json::Map<String, serde_json::Value> =
        st.flags.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    success_json(serde_json::Value::Object(map))
}

pub async fn runtimeinfo(State(st): State<AppState>) -> Response {
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default();
    let reload = st.reload_status.read().clone();
    success_json(serde_json::json!({
        "startTime": &*st.start_time_rfc3339,
        "CWD": cwd,
        "reloadConfigSuccess": reload.success,
        "lastConfigTime": reload.time_rfc3339,
        "corruptionCount": 0,
        "goroutineCount": 0,
        "GOMAXPROCS": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "GOMEMLIMIT": 0,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": &*st.retention_text,
    }))
}

pub async fn config(State(st): State<AppState>) -> Response {
    let yaml = st.config_text.read().clone();
    success_json(serde_json::json!({ "yaml": yaml }))
}

/// `/api/v1/status/walreplay`. Cairn replays its WAL before it starts listening, so whenever
/// this endpoint can answer the replay is complete: Prometheus reports a finished (or empty)
/// replay as `min = max = current`.
pub async fn walreplay() -> Response {
    success_json(serde_json::json!({ "min": 0, "max": 0, "current": 0 }))
}

/// `POST /-/quit` (with `--web.enable-lifecycle`): starts a graceful shutdown, as SIGTERM does.
pub async fn quit(State(st): State<AppState>) -> Response {
    if !st.enable_lifecycle {
        return (axum::http::StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response();
    }
    st.quit.notify_one();
    "Requesting termination... Goodbye!\n".into_response()
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], st.registry.render())
        .into_response()
}
