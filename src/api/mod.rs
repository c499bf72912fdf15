//! The Prometheus-compatible HTTP API (axum): routing, parameter parsing, JSON shapes and error
//! bodies. The only module that knows HTTP and JSON.

pub mod envelope;
pub mod error;
pub mod federate;
pub mod json;
pub mod meta;
pub mod params;
pub mod query;
pub mod remote;
pub mod rules;
pub mod selector;
pub mod status;
pub mod targets;
pub mod tsdb;

use crate::server::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// Largest request body buffered for remote write/read before Cairn's own (smaller,
/// configurable) `body_size_bytes_max` is checked.
const BODY_BYTES_HARD_MAX: usize = 256 << 20;

/// Upper bounds of `cairn_http_request_duration_seconds` (Prometheus's own buckets).
const DURATION_BUCKETS: [f64; 9] = [0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0];

/// Counts every request by route and status code and times it by route.
async fn track(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let handler = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    let code = resp.status().as_u16().to_string();
    st.registry
        .metric(
            "cairn_http_requests_total",
            "Counter of HTTP requests.",
            crate::selfmetrics::Kind::Counter,
            &[("code", &code), ("handler", &handler)],
        )
        .inc();
    st.registry
        .histogram(
            "cairn_http_request_duration_seconds",
            "Histogram of latencies for HTTP requests.",
            &[("handler", &handler)],
            &DURATION_BUCKETS,
        )
        .observe(start.elapsed().as_secs_f64());
    resp
}

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    let tracked = axum::middleware::from_fn_with_state(state.clone(), track);
    Router::new()
        .route("/-/healthy", get(status::healthy).head(status::healthy))
        .route("/-/ready", get(status::ready).head(status::ready))
        .route("/metrics", get(status::metrics))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/walreplay", get(status::walreplay))
        .route("/api/v1/series", get(meta::series).post(meta::series))
        .route("/api/v1/labels", get(meta::labels).post(meta::labels))
        .route("/api/v1/label/{name}/values", get(meta::label_values))
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/format_query", get(federate::format_query).post(federate::format_query))
        .route("/api/v1/status/tsdb", get(tsdb::status))
        .route("/api/v1/admin/tsdb/delete_series", post(tsdb::delete_series).put(tsdb::delete_series))
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(tsdb::clean_tombstones).put(tsdb::clean_tombstones),
        )
        .route("/api/v1/admin/tsdb/snapshot", post(tsdb::snapshot).put(tsdb::snapshot))
        .route("/federate", get(federate::federate))
        // The ingest limits (configurable, checked in `remote`) replace axum's 2 MiB default;
        // the hard cap only bounds what is buffered before they run.
        .route("/api/v1/write", post(remote::write).layer(DefaultBodyLimit::max(BODY_BYTES_HARD_MAX)))
        .route("/api/v1/read", post(remote::read).layer(DefaultBodyLimit::max(BODY_BYTES_HARD_MAX)))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/targets/metadata", get(targets::targets_metadata))
        .route("/api/v1/scrape_pools", get(targets::scrape_pools))
        .route("/api/v1/metadata", get(targets::metadata))
        .route("/api/v1/query_exemplars", get(meta::query_exemplars).post(meta::query_exemplars))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/alertmanagers", get(rules::alertmanagers))
        .route("/-/reload", post(rules::reload).put(rules::reload))
        .route("/-/quit", post(status::quit).put(status::quit))
        .merge(crate::web::routes())
        .fallback(envelope::not_found)
        .layer(tracked)
        .with_state(state)
}
