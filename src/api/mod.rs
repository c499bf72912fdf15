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

/// All routes of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/-/healthy", get(status::healthy).head(status::healthy))
        .route("/-/ready", get(status::ready).head(status::ready))
        .route("/metrics", get(status::metrics))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/config", get(status::config))
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
        .route("/api/v1/metadata", get(targets::metadata))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/alertmanagers", get(rules::alertmanagers))
        .route("/-/reload", post(rules::reload).put(rules::reload))
        .merge(crate::web::routes())
        .fallback(envelope::not_found)
        .with_state(state)
}
