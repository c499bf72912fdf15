//! Counters of the ingest paths (remote-write, scrape) on Cairn's own `/metrics`, including one
//! counter per named limit so that every limit hit is visible.

use crate::ingest::remote::RemoteError;
use crate::selfmetrics::{Kind, Metric, Registry};

#[derive(Clone)]
pub struct IngestMetrics {
    registry: Registry,
    pub samples_received: Metric,
    pub samples_rejected: Metric,
    pub overloaded: Metric,
}

impl IngestMetrics {
    pub fn new(registry: &Registry) -> Self {
        IngestMetrics {
            registry: registry.clone(),
            samples_received: registry
                .counter("cairn_remote_write_samples_total", "Samples stored from remote-write requests."),
            samples_rejected: registry.counter(
                "cairn_remote_write_samples_rejected_total",
                "Remote-write samples refused by the database (out of order, duplicate, too old, limits).",
            ),
            overloaded: registry.counter(
                "cairn_remote_write_overloaded_total",
                "Remote-write requests answered 503 because too many were in flight.",
            ),
        }
    }

    /// The counter of hits of the named limit.
    pub fn limit(&self, name: &str) -> Metric {
        self.registry.metric(
            "cairn_limit_hits_total",
            "Requests or samples refused because a named limit was exceeded.",
            Kind::Counter,
            &[("limit", name)],
        )
    }

    /// Counts `e` against its limit, if it is a limit error.
    pub fn limit_hit(&self, e: &RemoteError) {
        let name = match e {
            RemoteError::BodyTooLarge { .. } | RemoteError::DecompressedTooLarge { .. } => {
                "body_size_bytes_max"
            }
            RemoteError::TooManySeries { .. } => "series_per_request_max",
            RemoteError::TooManyLabels { .. } => "labels_per_series_max",
            RemoteError::LabelNameTooLong { .. } => "label_name_length_max",
            RemoteError::LabelValueTooLong { .. } => "label_value_length_max",
            _ => return,
        };
        self.limit(name).inc();
    }
}
