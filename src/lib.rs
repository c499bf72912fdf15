//! Cairn: a Prometheus-compatible time-series database (storage, ingest, api, cli).

pub mod api;
pub mod cli;
pub mod selfmetrics;
pub mod server;
pub mod web;
