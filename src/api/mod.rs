//! The Prometheus-compatible HTTP API (axum): routing, parameter parsing, JSON shapes and error
//! bodies. The only module that knows HTTP and JSON.

pub mod error;
pub mod json;
pub mod params;
