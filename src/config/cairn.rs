//! The `cairn:` section: Cairn's own settings that have no Prometheus equivalent in the file
//! (storage retention and out-of-order window, ingestion and storage limits). Command-line
//! flags, where both exist, are applied by the CLI on top of these.

use serde::Deserialize;

use super::duration::PromDuration;
use crate::ingest::limits::IngestLimits;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CairnConfig {
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub storage: StorageSettings,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub limits: LimitsSettings,
}

fn default_retention() -> PromDuration {
    PromDuration::from_secs(15 * 24 * 3600)
}

/// `cairn.storage`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// How long samples are kept (Prometheus's default 15d).
    #[serde(default = "default_retention")]
    pub retention: PromDuration,
    /// How far behind a series' newest sample an older sample is still accepted; 0 = in order
    /// only (Prometheus's `out_of_order_time_window` default).
    #[serde(default)]
    pub out_of_order_window: PromDuration,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings { retention: default_retention(), out_of_order_window: PromDuration::default() }
    }
}

/// `cairn.limits`: the per-request ingestion limits plus the storage-wide caps.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSettings {
    pub body_size_bytes_max: usize,
    pub series_per_request_max: usize,
    pub labels_per_series_max: usize,
    pub label_name_length_max: usize,
    pub label_value_length_max: usize,
    /// Most series in the head at once; 0 = no limit.
    pub active_series_max: u64,
    /// Most new series created per second; 0 = no limit.
    pub new_series_per_second_max: u64,
}

impl Default for LimitsSettings {
    fn default() -> Self {
        let i = IngestLimits::default();
        LimitsSettings {
            body_size_bytes_max: i.body_size_bytes_max,
            series_per_request_max: i.series_per_request_max,
            labels_per_series_max: i.labels_per_series_max,
            label_name_length_max: i.label_name_length_max,
            label_value_length_max: i.label_value_length_max,
            active_series_max: 0,
            new_series_per_second_max: 0,
        }
    }
}

impl LimitsSettings {
    pub fn ingest_limits(&self) -> IngestLimits {
        IngestLimits {
            body_size_bytes_max: self.body_size_bytes_max,
            series_per_request_max: self.series_per_request_max,
            labels_per_series_max: self.labels_per_series_max,
            label_name_length_max: self.label_name_length_max,
            label_value_length_max: self.label_value_length_max,
        }
    }
}
