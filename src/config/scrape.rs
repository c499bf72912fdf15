//! `scrape_configs` entries and the pieces they share with `alerting.alertmanagers`: static and
//! file service discovery and byte-size limits (the HTTP client settings are in `http.rs`). Owns defaults and
//! per-job validation; does not scrape.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::duration::PromDuration;
use super::http::with_http_client;
use super::unsupported::Accepted;
use crate::ingest::exposition::ScrapeProtocol;
use crate::ingest::relabel::RelabelConfig;

fn yes() -> bool {
    true
}

fn default_scheme() -> String {
    "http".into()
}

fn default_metrics_path() -> String {
    "/metrics".into()
}

with_http_client! {
    /// One `scrape_configs` entry. Durations and limits left at zero inherit from `global` when the
    /// whole file is resolved (see `Config::parse`).
    #[derive(Clone, Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ScrapeConfig {
        pub job_name: Spanned<String>,
        #[serde(default)]
        pub honor_labels: bool,
        #[serde(default = "yes")]
        pub honor_timestamps: bool,
        #[serde(default)]
        pub track_timestamps_staleness: bool,
        #[serde(default = "default_scheme")]
        pub scheme: String,
        #[serde(default = "default_metrics_path")]
        pub metrics_path: String,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub params: BTreeMap<String, Vec<String>>,
        #[serde(default)]
        pub scrape_interval: PromDuration,
        #[serde(default)]
        pub scrape_timeout: PromDuration,
        /// Samples per scrape after metric relabeling; 0 = no limit. Over it, the scrape fails.
        #[serde(default)]
        pub sample_limit: u64,
        /// Labels per series; 0 = no limit.
        #[serde(default)]
        pub label_limit: u64,
        /// Bytes per label name; 0 = no limit.
        #[serde(default)]
        pub label_name_length_limit: u64,
        /// Bytes per label value; 0 = no limit.
        #[serde(default)]
        pub label_value_length_limit: u64,
        /// Uncompressed response bytes; 0 = no limit.
        #[serde(default)]
        pub body_size_limit: ByteSize,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub scrape_protocols: Option<Vec<String>>,
        #[serde(default)]
        pub fallback_scrape_protocol: Option<String>,
        #[serde(default = "yes")]
        pub enable_compression: bool,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub static_configs: Vec<StaticConfig>,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub file_sd_configs: Vec<FileSdConfig>,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub relabel_configs: Vec<RelabelConfig>,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub metric_relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        pub target_limit: Accepted,
        #[serde(default)]
        pub keep_dropped_targets: Accepted,
        #[serde(default)]
        pub native_histogram_bucket_limit: Accepted,
        #[serde(default)]
        pub native_histogram_min_bucket_factor: Accepted,
        #[serde(default)]
        pub scrape_classic_histograms: Accepted,
        #[serde(default)]
        pub always_scrape_classic_histograms: Accepted,
        #[serde(default)]
        pub convert_classic_histograms_to_nhcb: Accepted,
        #[serde(default)]
        pub scrape_failure_log_file: Accepted,
        #[serde(default)]
        pub metric_name_validation_scheme: Accepted,
        #[serde(default)]
        pub metric_name_escaping_scheme: Accepted,
        /// The `scrape_config_files` file this job came from; empty for the main file.
        #[serde(skip)]
        pub file: String,
        /// Resolved from `scrape_protocols` (PrometheusProto removed) by `Config::parse`.
        #[serde(skip)]
        pub protocols: Vec<ScrapeProtocol>,
        /// Resolved from `fallback_scrape_protocol` by `Config::parse`.
        #[serde(skip)]
        pub fallback_protocol: Option<ScrapeProtocol>,
    }
}

impl ScrapeConfig {
    pub fn job(&self) -> &str {
        &self.job_name.value
    }

    /// The line of `job_name` in the file, for messages.
    pub fn line(&self) -> u64 {
        self.job_name.referenced.line()
    }
}

/// `static_configs` entry: a target group written inline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub targets: Vec<String>,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub labels: BTreeMap<String, String>,
}

fn default_refresh() -> PromDuration {
    PromDuration::from_secs(300)
}

/// `file_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    pub files: Vec<String>,
    #[serde(default = "default_refresh")]
    pub refresh_interval: PromDuration,
}

/// A byte count written as Prometheus's `units.Base2Bytes`: `0`, `512`, `10MB`, `1GiB`, ...
/// (all units base 2: KB = KiB = 1024).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Result<ByteSize, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num.parse().map_err(|_| format!("invalid byte size {s:?}"))?;
        let mult: u64 = match unit {
            "" | "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            "TB" | "TiB" => 1 << 40,
            "PB" | "PiB" => 1 << 50,
            "EB" | "EiB" => 1 << 60,
            _ => return Err(format!("invalid byte size {s:?}: unknown unit {unit:?}")),
        };
        n.checked_mul(mult).map(ByteSize).ok_or_else(|| format!("byte size {s:?} out of range"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

pub(crate) fn validate_scheme(scheme: &str) -> Result<(), String> {
    match scheme {
        "http" | "https" => Ok(()),
        other => Err(format!("invalid scheme {other:?}: expected http or https")),
    }
}

/// Prometheus's file_sd name pattern: a `*` only in the last path element; .json/.yml/.yaml.
pub(crate) fn validate_file_sd_name(name: &str) -> Result<(), String> {
    let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
    let ext_ok = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"].iter().any(|e| file.ends_with(e));
    if dir.contains('*') || file.matches('*').count() > 1 || !ext_ok {
        return Err(format!("path name {name:?} is not valid for file discovery"));
    }
    Ok(())
}
