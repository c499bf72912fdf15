//! Scrape targets from discovered target groups: Prometheus's `PopulateLabels` (defaults for
//! `job`, `__scheme__`, `__metrics_path__`, `__param_*`, `__scrape_interval__`,
//! `__scrape_timeout__`; `relabel_configs`; `instance` defaulting to `__address__`; `__meta_*`
//! removed) and the scrape URL. Does not discover or fetch anything.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_format::Labels;

use crate::config::{PromDuration, ScrapeConfig};
use crate::ingest::relabel::relabel;

pub const ADDRESS: &str = "__address__";
pub const SCHEME: &str = "__scheme__";
pub const METRICS_PATH: &str = "__metrics_path__";
pub const PARAM_PREFIX: &str = "__param_";
pub const SCRAPE_INTERVAL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
pub const META_PREFIX: &str = "__meta_";
pub const JOB: &str = "job";
pub const INSTANCE: &str = "instance";

/// A target ready to scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Labels after relabeling, `__meta_*` removed, internal `__*` labels still present (they
    /// carry address, scheme, path and params). What `/api/v1/targets` shows as `labels` is
    /// [`Target::labels`].
    pub full_labels: Labels,
    /// Labels before relabeling (`discoveredLabels` in the targets API).
    pub discovered_labels: Labels,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Why a discovered target cannot be scraped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no address")]
    NoAddress,
    #[error("invalid address {0:?}")]
    InvalidAddress(String),
    #[error("invalid {label} {value:?}: {reason}")]
    InvalidDuration { label: &'static str, value: String, reason: String },
    #[error("scrape timeout {timeout} greater than scrape interval {interval}")]
    TimeoutOverInterval { timeout: String, interval: String },
}

impl Target {
    /// The labels attached to every sample of this target: no `__`-prefixed names.
    pub fn labels(&self) -> Labels {
        Labels::from_sorted(self.full_labels.iter().filter(|l| !l.name.starts_with("__")).cloned().collect())
    }

    pub fn address(&self) -> &str {
        self.full_labels.get(ADDRESS).unwrap_or("")
    }

    /// `scheme://address/path?params`, with `__param_<name>` overriding the first value of
    /// `params[name]`.
    pub fn url(&self, config_params: &BTreeMap<String, Vec<String>>) -> String {
        let scheme = self.full_labels.get(SCHEME).unwrap_or("http");
        let path = self.full_labels.get(METRICS_PATH).unwrap_or("/metrics");
        let mut params: BTreeMap<String, Vec<String>> = config_params.clone();
        for l in self.full_labels.iter() {
            if let Some(name) = l.name.strip_prefix(PARAM_PREFIX) {
                let vals = params.entry(name.to_string()).or_default();
                if vals.is_empty() {
                    vals.push(l.value.clone());
                } else {
                    vals[0] = l.value.clone();
                }
            }
        }
        let mut url = format!("{scheme}://{}{path}", self.address());
        let mut sep = if path.contains('?') { '&' } else { '?' };
        for (k, vs) in &params {
            for v in vs {
                url.push(sep);
                sep = '&';
                url.push_str(&query_escape(k));
                url.push('=');
                url.push_str(&query_escape(v));
            }
        }
        url
    }
}

/// Percent-encoding for query keys and values (Go's `url.QueryEscape`: space becomes '+').
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Builds the target for one discovered address. `Ok(None)` means relabeling dropped it.
pub fn populate_labels(
    group_labels: &BTreeMap<String, String>,
    address: &str,
    cfg: &ScrapeConfig,
) -> Result<Option<Target>, TargetError> {
    let mut pairs: BTreeMap<String, String> = group_labels.clone();
    pairs.insert(ADDRESS.into(), address.into());
    let mut defaults = vec![
        (JOB.to_string(), cfg.job().to_string()),
        (SCRAPE_INTERVAL.to_string(), cfg.scrape_interval.to_string()),
        (SCRAPE_TIMEOUT.to_string(), cfg.scrape_timeout.to_string()),
        (METRICS_PATH.to_string(), cfg.metrics_path.clone()),
        (SCHEME.to_string(), cfg.scheme.clone()),
    ];
    for (k, v) in &cfg.params {
        if let Some(first) = v.first() {
            defaults.push((format!("{PARAM_PREFIX}{k}"), first.clone()));
        }
    }
    for (k, v) in defaults {
        pairs.entry(k).or_insert(v);
    }
    let discovered = Labels::from_pairs(pairs);
    let Some(mut lb) = relabel(&discovered, &cfg.relabel_configs) else {
        return Ok(None);
    };
    let addr = lb.get(ADDRESS).map(str::to_string).ok_or(TargetError::NoAddress)?;
    if addr.is_empty() || addr.contains('/') || addr.contains(char::is_whitespace) {
        return Err(TargetError::InvalidAddress(addr));
    }
    let duration = |label: &'static str, lb: &Labels| -> Result<PromDuration, TargetError> {
        let v = lb.get(label).unwrap_or("");
        PromDuration::parse(v).map_err(|reason| TargetError::InvalidDuration {
            label,
            value: v.into(),
            reason,
        })
    };
    let interval = duration(SCRAPE_INTERVAL, &lb)?;
    let timeout = duration(SCRAPE_TIMEOUT, &lb)?;
    if interval.is_zero() {
        return Err(TargetError::InvalidDuration {
            label: SCRAPE_INTERVAL,
            value: interval.to_string(),
            reason: "scrape interval cannot be 0".into(),
        });
    }
    if timeout > interval {
        return Err(TargetError::TimeoutOverInterval {
            timeout: timeout.to_string(),
            interval: interval.to_string(),
        });
    }
    let metas: Vec<String> =
        lb.iter().filter(|l| l.name.starts_with(META_PREFIX)).map(|l| l.name.clone()).collect();
    for m in metas {
        lb.remove(&m);
    }
    if lb.get(INSTANCE).is_none() {
        lb.set(INSTANCE, &addr);
    }
    Ok(Some(Target {
        full_labels: lb,
        discovered_labels: discovered,
        interval: interval.0,
        timeout: timeout.0,
    }))
}
