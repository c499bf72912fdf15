//! Per-request ingestion limits (DESIGN.md "Limits"): every limit has a name, a unit and a
//! reason. Shared by remote-write decoding and scraping. Does not count or enforce global
//! limits (active series, new series per second): those belong to storage.

use serde::Deserialize;

/// Limits applied to one remote-write request (and, where they make sense, to one scrape).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestLimits {
    /// Largest request body, compressed or decompressed, in bytes. Bounds the memory one request
    /// can claim; checked against snappy's declared length before decompressing.
    /// Default 32 MiB, VictoriaMetrics's `-maxInsertRequestSize`; Prometheus senders stay far
    /// below it (2000 samples per request by default).
    pub body_size_bytes_max: usize,
    /// Most series in one remote-write request. Bounds label-set allocations per request.
    pub series_per_request_max: usize,
    /// Most labels on one series (`__name__` included). Default 64: generous for Kubernetes
    /// target labels, low enough to stop label explosions.
    pub labels_per_series_max: usize,
    /// Longest label name, in bytes. Default 256, as VictoriaMetrics's `-maxLabelNameLen`.
    pub label_name_length_max: usize,
    /// Longest label value, in bytes. Default 4096: long values are almost always a mistake
    /// (query text, stack traces) and cost index memory for every sample.
    pub label_value_length_max: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            body_size_bytes_max: 32 << 20,
            series_per_request_max: 200_000,
            labels_per_series_max: 64,
            label_name_length_max: 256,
            label_value_length_max: 4096,
        }
    }
}
