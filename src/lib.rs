//! Cairn: a Prometheus-compatible time-series database (storage, ingest, api, cli).

pub mod config;
pub mod ingest;
