//! From the configuration to scrape targets: static and file-SD target groups, the implicit
//! `__address__`/`__scheme__`/`__metrics_path__`/`__param_*`/`job` labels, `relabel_configs`,
//! `instance` defaulting, the target URL and the HTTP client (built from the shared
//! `config::HttpClientConfig`). Target groups (static and file SD) are gathered here for the
//! Alertmanager notifier too. File-SD files are read here (on every rebuild); watching them for
//! changes is the server's job.

use super::target::{DroppedTarget, MetricRelabel, ScrapeLimits, TargetSpec};
use crate::config::file_sd::{TargetGroup, expand_pattern, parse_file_sd};
use crate::config::{Config, FileSdConfig, ScrapeConfig, StaticConfig};
use crate::ingest::exposition::accept_header;
use crate::ingest::relabel::relabel;
use cairn_format::Labels;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Targets of every scrape config, and the ones relabeling dropped. Errors name the job.
pub fn build_targets(cfg: &Config) -> Result<(Vec<TargetSpec>, Vec<DroppedTarget>), String> {
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    for sc in &cfg.scrape_configs {
        let job = sc.job().to_string();
        let ctx = |e: String| format!("scrape config {job:?}: {e}");
        let client = build_client(sc, &cfg.base_dir).map_err(ctx)?;
        let authorization = sc.http().authorization_header(&cfg.base_dir).map_err(ctx)?;
        let fingerprint = xxhash_rust::xxh3::xxh3_64(format!("{sc:?}|{authorization:?}").as_bytes());
        let metric_relabel: Option<MetricRelabel> = if sc.metric_relabel_configs.is_empty() {
            None
        } else {
            let cfgs = sc.metric_relabel_configs.clone();
            Some(Arc::new(move |l: Labels| relabel(&l, &cfgs)))
        };
        for group in target_groups(&sc.static_configs, &sc.file_sd_configs, &cfg.base_dir) {
            for addr in &group.targets {
                let discovered = discovered_labels(sc, &group, addr);
                let Some(after) = relabel(&discovered, &sc.relabel_configs) else {
                    dropped.push(DroppedTarget { pool: job.clone(), discovered_labels: discovered });
                    continue;
                };
                match make_spec(sc, discovered.clone(), after, &client, &authorization, fingerprint) {
                    Some(mut spec) => {
                        spec.metric_relabel = metric_relabel.clone();
                        active.push(spec);
                    }
                    None => dropped.push(DroppedTarget { pool: job.clone(), discovered_labels: discovered }),
                }
            }
        }
    }
    Ok((active, dropped))
}

/// Static groups followed by every file-SD group (unreadable or invalid files are logged and
/// contribute nothing, as in Prometheus). Used for scrape jobs and Alertmanager sets alike.
pub fn target_groups(
    static_configs: &[StaticConfig],
    file_sd: &[FileSdConfig],
    base: &Path,
) -> Vec<TargetGroup> {
    let mut groups: Vec<TargetGroup> = static_configs
        .iter()
        .map(|s| TargetGroup { targets: s.targets.clone(), labels: s.labels.clone(), source: String::new() })
        .collect();
    for f in file_sd {
        for path in file_sd_paths(base, &f.files) {
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_file_sd(&path, &b).map_err(|e| e.to_string()))
            {
                Ok(g) => groups.extend(g),
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "file_sd: cannot read target file")
                }
            }
        }
    }
    groups
}

/// Every file matching the file-SD patterns of a scrape config.
pub fn file_sd_paths(base: &Path, patterns: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in patterns {
        match expand_pattern(base, p) {
            Ok(v) => out.extend(v),
            Err(e) => tracing::warn!(pattern = %p, error = %e, "file_sd: cannot expand pattern"),
        }
    }
    out
}

/// Every file-SD file of the whole config (scrape jobs and Alertmanagers), for change
/// detection.
pub fn all_file_sd_paths(cfg: &Config) -> Vec<PathBuf> {
    cfg.scrape_configs
        .iter()
        .flat_map(|sc| sc.file_sd_configs.iter())
        .chain(cfg.alerting.alertmanagers.iter().flat_map(|am| am.file_sd_configs.iter()))
        .flat_map(|f| file_sd_paths(&cfg.base_dir, &f.files))
        .collect()
}

fn discovered_labels(sc: &ScrapeConfig, group: &TargetGroup, addr: &str) -> Labels {
    let mut l = Labels::from_pairs(group.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    l.set("__address__", addr);
    l.set("__scheme__", &sc.scheme);
    l.set("__metrics_path__", &sc.metrics_path);
    l.set(
        "__scrape_interval__",
        &super::super::api::targets::fmt_duration(sc.scrape_interval.as_millis() as i64),
    );
    l.set(
        "__scrape_timeout__",
        &super::super::api::targets::fmt_duration(sc.scrape_timeout.as_millis() as i64),
    );
    for (k, vals) in &sc.params {
        if let Some(v) = vals.first() {
            l.set(&format!("__param_{k}"), v);
        }
    }
    if l.get("job").is_none() {
        l.set("job", sc.job());
    }
    l
}

fn make_spec(
    sc: &ScrapeConfig,
    discovered: Labels,
    after: Labels,
    client: &reqwest::Client,
    authorization: &Option<String>,
    fingerprint: u64,
) -> Option<TargetSpec> {
    let addr = after.get("__address__").filter(|a| !a.is_empty())?.to_string();
    if addr.contains('/') {
        tracing::warn!(job = sc.job(), address = %addr, "target dropped: address after relabeling is not host:port");
        return None;
    }
    let scheme = after.get("__scheme__").unwrap_or("http").to_string();
    let path = after.get("__metrics_path__").unwrap_or("/metrics").to_string();
    let interval_ms = after
        .get("__scrape_interval__")
        .and_then(crate::api::params::parse_prom_duration)
        .unwrap_or(sc.scrape_interval.as_millis() as i64);
    let timeout_ms = after
        .get("__scrape_timeout__")
        .and_then(crate::api::params::parse_prom_duration)
        .unwrap_or(sc.scrape_timeout.as_millis() as i64);
    // Query parameters: configured ones, with `__param_<name>` overriding the first value.
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, vals) in &sc.params {
        for (i, v) in vals.iter().enumerate() {
            let v =
                if i == 0 { after.get(&format!("__param_{k}")).unwrap_or(v).to_string() } else { v.clone() };
            query.push((k.clone(), v));
        }
    }
    for l in after.iter() {
        if let Some(k) = l.name.strip_prefix("__param_")
            && !sc.params.contains_key(k)
        {
            query.push((k.to_string(), l.value.clone()));
        }
    }
    let mut url = format!("{scheme}://{addr}{path}");
    if !query.is_empty() {
        url.push(if path.contains('?') { '&' } else { '?' });
        let q: Vec<String> =
            query.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect();
        url.push_str(&q.join("&"));
    }
    let mut labels =
        Labels::from_sorted(after.iter().filter(|l| !l.name.starts_with("__")).cloned().collect());
    if labels.get("instance").is_none() {
        labels.set("instance", &addr);
    }
    Some(TargetSpec {
        pool: sc.job().to_string(),
        url,
        labels,
        discovered_labels: discovered,
        interval_ms,
        timeout_ms,
        honor_labels: sc.honor_labels,
        honor_timestamps: sc.honor_timestamps,
        limits: ScrapeLimits {
            sample_limit: sc.sample_limit as usize,
            label_limit: sc.label_limit as usize,
            label_name_length_limit: sc.label_name_length_limit as usize,
            label_value_length_limit: sc.label_value_length_limit as usize,
            body_size_limit: sc.body_size_limit.0 as usize,
        },
        metric_relabel: None,
        accept: accept_header(&sc.protocols),
        fallback_protocol: sc.fallback_protocol,
        client: client.clone(),
        authorization: authorization.clone(),
        config_fingerprint: fingerprint,
    })
}

fn urlencode(s: &str) -> String {
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

fn build_client(sc: &ScrapeConfig, base: &Path) -> Result<reqwest::Client, String> {
    let mut b = sc
        .http()
        .client_builder(base)?
        .connect_timeout(Duration::from_millis(sc.scrape_timeout.as_millis().max(1)));
    if !sc.enable_compression {
        b = b.no_gzip();
    }
    b.build().map_err(|e| format!("cannot build HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_static_config_with_relabeling() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cfg = Config::parse(
            r#"
scrape_configs:
  - job_name: node
    params: {module: [a]}
    static_configs:
      - targets: ["h1:9100", "h2:9100"]
        labels: {env: prod}
    relabel_configs:
      - source_labels: [__address__]
        regex: "h2:.*"
        action: drop
      - target_label: __param_module
        replacement: b
"#,
            "t.yml",
        )
        .unwrap();
        let (active, dropped) = build_targets(&cfg).unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(dropped.len(), 1);
        let t = &active[0];
        assert_eq!(t.url, "http://h1:9100/metrics?module=b");
        assert_eq!(t.labels.get("instance"), Some("h1:9100"));
        assert_eq!(t.labels.get("job"), Some("node"));
        assert_eq!(t.labels.get("env"), Some("prod"));
        assert!(t.labels.iter().all(|l| !l.name.starts_with("__")));
    }
}
