//! The Prometheus-compatible HTTP API (axum): routing, parameter parsing, JSON shapes and error
//! bodies. The only module that knows HTTP and JSON.

pub mod envelope;
pub mod error;
pub mod json;
pub mod meta;
pub mod params;
pub mod selector;
pub mod status;

use crate::server::AppState;
use axum::Router;
use axum::routing::get;

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
        .merge(crate::web::routes())
        .fallback(envelope::not_found)
        .with_state(state)
}
