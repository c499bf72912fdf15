//! From the `alerting` section to the Alertmanagers to notify, as Prometheus resolves them:
//! per `alertmanagers` entry, target groups from static and file SD (the scrape discovery code),
//! each target labelled `__address__`, `__scheme__`, `__alerts_path__` plus its group's labels
//! (`__meta_*` included), `relabel_configs` applied (dropped targets are kept for the API), and
//! one endpoint per distinct URL sharing the entry's HTTP client, Authorization header and
//! timeout. Sends nothing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use cairn_format::Labels;

use crate::config::{AlertmanagerConfig, Config};
use crate::ingest::relabel::{RelabelConfig, relabel};
use crate::scrape::discovery::target_groups;

/// The label holding the path alerts are POSTed to.
pub const ALERTS_PATH_LABEL: &str = "__alerts_path__";

/// One Alertmanager to send to, and its counters.
#[derive(Debug)]
pub struct Endpoint {
    pub url: String,
    /// `Authorization` header sent with every request.
    pub auth: Option<String>,
    pub timeout: Duration,
    pub client: reqwest::Client,
    pub sent: AtomicU64,
    pub errors: AtomicU64,
}

/// Everything the notifier needs from a configuration: endpoints, the targets relabeling
/// dropped (as URLs), alert relabeling and external labels.
#[derive(Clone, Default)]
pub struct NotifierConfig {
    pub endpoints: Vec<Arc<Endpoint>>,
    pub dropped: Vec<String>,
    pub alert_relabel: Vec<RelabelConfig>,
    pub external_labels: Labels,
}

impl NotifierConfig {
    /// Resolves the `alerting` section of `cfg` (reading file-SD files and secret files now).
    /// Errors name the `alertmanagers` entry; an unreadable file-SD file only logs.
    pub fn from_config(cfg: &Config) -> Result<NotifierConfig, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut out = NotifierConfig {
            alert_relabel: cfg.alerting.alert_relabel_configs.clone(),
            external_labels: Labels::from_pairs(
                cfg.global.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())),
            ),
            ..NotifierConfig::default()
        };
        for (i, am) in cfg.alerting.alertmanagers.iter().enumerate() {
            let ctx = |m: String| format!("alerting.alertmanagers[{i}]: {m}");
            let (active, dropped) = resolve_set(am, &cfg.base_dir).map_err(ctx)?;
            let client = am
                .http()
                .client_builder(&cfg.base_dir)
                .and_then(|b| b.build().map_err(|e| format!("cannot build HTTP client: {e}")))
                .map_err(ctx)?;
            let auth = am.http().authorization_header(&cfg.base_dir).map_err(ctx)?;
            let timeout = Duration::from_millis(am.timeout.as_millis().max(1));
            for url in active {
                out.endpoints.push(Arc::new(Endpoint {
                    url,
                    auth: auth.clone(),
                    timeout,
                    client: client.clone(),
                    sent: AtomicU64::new(0),
                    errors: AtomicU64::new(0),
                }));
            }
            out.dropped.extend(dropped);
        }
        Ok(out)
    }
}

/// `path_prefix` joined with the v2 alerts path, as Go's `path.Join("/", prefix, ...)`.
fn alerts_path(prefix: &str) -> String {
    let mut parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    parts.extend(["api", "v2", "alerts"]);
    format!("/{}", parts.join("/"))
}

fn url_of(l: &Labels) -> String {
    format!(
        "{}://{}{}",
        l.get("__scheme__").unwrap_or("http"),
        l.get("__address__").unwrap_or(""),
        l.get(ALERTS_PATH_LABEL).unwrap_or("")
    )
}

/// The URLs of one `alertmanagers` entry: (active, dropped), each deduplicated in order.
fn resolve_set(am: &AlertmanagerConfig, base: &Path) -> Result<(Vec<String>, Vec<String>), String> {
    let path = alerts_path(&am.path_prefix);
    let mut active: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for group in target_groups(&am.static_configs, &am.file_sd_configs, base) {
        for addr in &group.targets {
            let mut l = Labels::from_pairs(group.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            l.set("__address__", addr);
            l.set("__scheme__", &am.scheme);
            l.set(ALERTS_PATH_LABEL, &path);
            match relabel(&l, &am.relabel_configs) {
                None => {
                    let u = url_of(&l);
                    if !dropped.contains(&u) {
                        dropped.push(u);
                    }
                }
                Some(after) => {
                    let a = after.get("__address__").unwrap_or("");
                    if a.is_empty() || a.contains('/') {
                        return Err(format!("{a:?} is not a valid Alertmanager address: expected host:port"));
                    }
                    let u = url_of(&after);
                    if !active.contains(&u) {
                        active.push(u);
                    }
                }
            }
        }
    }
    Ok((active, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_go() {
        assert_eq!(alerts_path(""), "/api/v2/alerts");
        assert_eq!(alerts_path("/am/"), "/am/api/v2/alerts");
        assert_eq!(alerts_path("am//x"), "/am/x/api/v2/alerts");
    }

    #[test]
    fn static_and_file_sd_with_relabeling() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("am.json"),
            r#"[{"targets": ["b:9093", "c:9093"], "labels": {"dc": "x"}}]"#,
        )
        .unwrap();
        let yaml = r#"
global:
  external_labels: {cluster: eu1}
alerting:
  alertmanagers:
    - scheme: https
      path_prefix: /am
      timeout: 3s
      static_configs:
        - targets: ['a:9093', 'a:9093']
      file_sd_configs:
        - files: ['*.json']
      relabel_configs:
        - source_labels: [__address__, __meta_filepath]
          regex: 'c:9093;.*am\.json'
          action: drop
        - source_labels: [dc]
          regex: x
          target_label: __alerts_path__
          replacement: /custom/alerts
"#;
        let mut cfg = Config::parse(yaml, "p.yml").unwrap();
        cfg.base_dir = dir.path().to_path_buf();
        let n = NotifierConfig::from_config(&cfg).unwrap();
        let urls: Vec<&str> = n.endpoints.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(urls, ["https://a:9093/am/api/v2/alerts", "https://b:9093/custom/alerts"]);
        assert_eq!(n.dropped, ["https://c:9093/am/api/v2/alerts"]);
        assert_eq!(n.endpoints[0].timeout, Duration::from_secs(3));
        assert_eq!(n.external_labels.get("cluster"), Some("eu1"));
    }

    #[test]
    fn relabeled_address_must_be_host_port() {
        let yaml = "alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['a:1']}]\n      relabel_configs:\n        - target_label: __address__\n          replacement: 'http://x/'\n";
        let cfg = Config::parse(yaml, "p.yml").unwrap();
        let e = NotifierConfig::from_config(&cfg).err().unwrap();
        assert!(e.contains("alertmanagers[0]") && e.contains("not a valid Alertmanager address"), "{e}");
    }
}
