//! A scrape target as the loop sees it: fully resolved settings (URL, labels, interval,
//! limits, auth) and its health for `/api/v1/targets`. Built by the manager from the config;
//! knows nothing of YAML or service discovery.

use cairn_format::Labels;
use parking_lot::RwLock;
use std::sync::Arc;

/// Relabeling applied to every scraped sample (`metric_relabel_configs`); `None` drops it.
pub type MetricRelabel = Arc<dyn Fn(Labels) -> Option<Labels> + Send + Sync>;

/// Per-scrape limits from the scrape config; 0 means unlimited, as in Prometheus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScrapeLimits {
    pub sample_limit: usize,
    pub label_limit: usize,
    pub label_name_length_limit: usize,
    pub label_value_length_limit: usize,
    /// Largest (decompressed) body, bytes.
    pub body_size_limit: usize,
}

/// Everything one scrape loop needs.
#[derive(Clone)]
pub struct TargetSpec {
    /// `job_name` of the scrape config (the scrape pool).
    pub pool: String,
    pub url: String,
    /// Target labels after relabeling (`job`, `instance`, static labels; no `__` labels).
    pub labels: Labels,
    /// Labels before relabeling (with `__address__`, `__meta_*`…), for the targets API.
    pub discovered_labels: Labels,
    pub interval_ms: i64,
    pub timeout_ms: i64,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub limits: ScrapeLimits,
    pub metric_relabel: Option<MetricRelabel>,
    /// Value of the Accept header.
    pub accept: String,
    /// Parser to use when the target sends no or an unknown Content-Type.
    pub fallback_protocol: Option<crate::ingest::exposition::ScrapeProtocol>,
    /// The HTTP client (TLS and timeouts of the scrape config).
    pub client: reqwest::Client,
    /// `Authorization` header value, if any (basic auth or bearer token).
    pub authorization: Option<String>,
    /// Fingerprint of the scrape config this target came from: a reload keeps a running loop
    /// only when its key and this fingerprint are unchanged.
    pub config_fingerprint: u64,
}

impl TargetSpec {
    /// Identity of a target within the manager: same pool, URL and labels = same target.
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.pool, self.url, self.labels)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// Outcome of the latest scrape of a target.
#[derive(Clone, Debug)]
pub struct TargetStatus {
    pub health: Health,
    pub last_error: String,
    /// Start of the last scrape, ms since the epoch (0 = never).
    pub last_scrape_ms: i64,
    pub last_duration_s: f64,
    pub last_samples: usize,
}

impl Default for TargetStatus {
    fn default() -> Self {
        TargetStatus {
            health: Health::Unknown,
            last_error: String::new(),
            last_scrape_ms: 0,
            last_duration_s: 0.0,
            last_samples: 0,
        }
    }
}

/// Metadata of one metric family from `# TYPE`/`# HELP`/`# UNIT` lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricMeta {
    pub metric_type: String,
    pub help: String,
    pub unit: String,
}

/// A running target as shared with the API.
#[derive(Clone)]
pub struct ActiveTarget {
    pub spec: Arc<TargetSpec>,
    pub status: Arc<RwLock<TargetStatus>>,
    /// Metric family name → metadata, from the latest successful scrape.
    pub metadata: Arc<RwLock<std::collections::BTreeMap<String, MetricMeta>>>,
}

/// A discovered target that relabeling dropped.
#[derive(Clone, Debug)]
pub struct DroppedTarget {
    pub pool: String,
    pub discovered_labels: Labels,
}
