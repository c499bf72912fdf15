//! Configuration tests: a full Prometheus-style file, defaults and inheritance, and each
//! refusal with the key, job and line it names.

use super::*;
use crate::ingest::relabel::Action;

const FULL: &str = r#"
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    cluster: eu1
  query_log_file: /tmp/q.log
  sample_limit: 5000

rule_files:
  - rules/*.yml

alerting:
  alert_relabel_configs:
    - source_labels: [severity]
      regex: debug
      action: drop
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:9093']
      path_prefix: /am
      timeout: 5s

scrape_configs:
  - job_name: node
    scrape_interval: 5s
    honor_labels: true
    honor_timestamps: false
    scheme: https
    metrics_path: /probe
    params:
      module: [http_2xx]
    sample_limit: 100
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
    body_size_limit: 10MB
    fallback_scrape_protocol: PrometheusText0.0.4
    scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]
    basic_auth:
      username: u
      password_file: /etc/pw
    tls_config:
      ca_file: /etc/ca.pem
      cert_file: /etc/c.pem
      key_file: /etc/k.pem
      server_name: node.local
      insecure_skip_verify: true
    static_configs:
      - targets: ['127.0.0.1:9100', 'other:9100']
        labels:
          env: prod
    file_sd_configs:
      - files: ['sd/*.json', 'sd/static.yml']
        refresh_interval: 1m
    relabel_configs:
      - source_labels: [__address__]
        target_label: instance
    metric_relabel_configs:
      - regex: go_.*
        source_labels: [__name__]
        action: drop
  - job_name: api
    authorization:
      credentials_file: /etc/token
    static_configs:
      - targets: ['127.0.0.1:8080']

remote_write:
  - url: http://example/api/v1/write
    queue_config: {max_samples_per_send: 500}

cairn:
  storage:
    retention: 30d
    out_of_order_window: 10m
  limits:
    series_per_request_max: 1000
    active_series_max: 2000000
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "prometheus.yml")
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn full_file() {
    let c = parse(FULL).unwrap();
    assert_eq!(c.global.scrape_interval.to_string(), "15s");
    assert_eq!(c.global.scrape_timeout.to_string(), "10s");
    assert_eq!(c.global.evaluation_interval.to_string(), "30s");
    assert_eq!(c.global.external_labels.get("cluster").map(String::as_str), Some("eu1"));
    assert_eq!(c.rule_files, ["rules/*.yml"]);
    assert_eq!(c.alerting.alert_relabel_configs[0].action, Action::Drop);
    let am = &c.alerting.alertmanagers[0];
    assert_eq!(
        (am.path_prefix.as_str(), am.timeout.to_string(), am.api_version.as_str()),
        ("/am", "5s".into(), "v2")
    );

    let node = &c.scrape_configs[0];
    assert_eq!(node.job(), "node");
    assert_eq!(node.line(), 25);
    assert!(node.honor_labels && !node.honor_timestamps);
    assert_eq!((node.scheme.as_str(), node.metrics_path.as_str()), ("https", "/probe"));
    assert_eq!(node.params.get("module").map(Vec::as_slice), Some(&["http_2xx".to_string()][..]));
    assert_eq!(node.scrape_interval.to_string(), "5s");
    assert_eq!(node.scrape_timeout.to_string(), "5s", "timeout capped at the job's interval");
    assert_eq!(node.sample_limit, 100);
    assert_eq!(node.body_size_limit, ByteSize(10 << 20));
    assert_eq!(node.protocols, [ScrapeProtocol::OpenMetricsText1_0_0, ScrapeProtocol::PrometheusText0_0_4]);
    assert_eq!(node.fallback_protocol, Some(ScrapeProtocol::PrometheusText0_0_4));
    assert_eq!(node.basic_auth.as_ref().map(|b| b.password_file.as_deref()), Some(Some("/etc/pw")));
    assert!(node.tls_config.insecure_skip_verify);
    assert_eq!(node.tls_config.server_name.as_deref(), Some("node.local"));
    assert_eq!(node.static_configs[0].targets.len(), 2);
    assert_eq!(node.file_sd_configs[0].refresh_interval.to_string(), "1m");
    assert_eq!(node.relabel_configs[0].target_label, "instance");
    assert_eq!(node.metric_relabel_configs[0].action, Action::Drop);

    let api = &c.scrape_configs[1];
    assert_eq!(api.scrape_interval.to_string(), "15s", "inherited from global");
    assert_eq!(api.scrape_timeout.to_string(), "10s");
    assert_eq!(api.sample_limit, 5000, "inherited from global");
    assert!(api.honor_timestamps && !api.honor_labels);
    assert_eq!((api.scheme.as_str(), api.metrics_path.as_str()), ("http", "/metrics"));
    assert_eq!(api.authorization.as_ref().map(|a| a.kind.as_str()), Some("Bearer"));
    assert_eq!(api.protocols, ScrapeProtocol::DEFAULT);

    assert_eq!(c.cairn.storage.retention.to_string(), "30d");
    assert_eq!(c.cairn.storage.out_of_order_window.to_string(), "10m");
    assert_eq!(c.cairn.limits.series_per_request_max, 1000);
    assert_eq!(c.cairn.limits.ingest_limits().labels_per_series_max, 64);
    assert_eq!(c.cairn.limits.active_series_max, 2_000_000);
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings.iter().any(|w| w.starts_with("remote_write is accepted but ignored")));
}

#[test]
fn defaults_like_prometheus() {
    let c = parse("").unwrap();
    assert_eq!(c.global.scrape_interval.to_string(), "1m");
    assert_eq!(c.global.scrape_timeout.to_string(), "10s");
    assert_eq!(c.global.evaluation_interval.to_string(), "1m");
    assert_eq!(c.cairn.storage.retention.to_string(), "15d");
    let c = parse("global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: a\n").unwrap();
    assert_eq!(c.global.scrape_timeout.to_string(), "5s", "default timeout capped at the interval");
    assert_eq!(c.scrape_configs[0].scrape_timeout.to_string(), "5s");
    let c = Config::self_scrape("127.0.0.1:9090");
    assert_eq!(c.scrape_configs[0].static_configs[0].targets, ["127.0.0.1:9090"]);
    assert_eq!(c.scrape_configs[0].scrape_interval.to_string(), "15s");
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = err("global:\n  scrape_interval: 15s\n  scrape_intervall: 1m\n");
    assert!(e.contains("scrape_intervall") && e.contains("prometheus.yml"), "{e}");
    assert!(e.contains("line 3") || e.contains("3:"), "{e}");
    let e = err("scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: []\n");
    assert!(e.contains("kubernetes_sd_configs") && (e.contains("line 3") || e.contains("3:")), "{e}");
    assert!(e.contains("service discovery Cairn does not support"), "{e}");
    let e = err("storage:\n  tsdb:\n    max_block_duration: 1d\n");
    assert!(e.contains("max_block_duration") && e.contains("line 3"), "{e}");
    let e = err("cairn:\n  storage:\n    retension: 1d\n");
    assert!(e.contains("retension"), "{e}");
}

#[test]
fn semantic_errors_name_job_and_line() {
    let e = err("scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n");
    assert!(e.contains("line 4") && e.contains("multiple scrape configs with job name \"a\""), "{e}");
    let e = err("scrape_configs:\n  - job_name: slow\n    scrape_interval: 5s\n    scrape_timeout: 10s\n");
    assert!(
        e.contains("line 2")
            && e.contains("scrape timeout greater than scrape interval")
            && e.contains("\"slow\""),
        "{e}"
    );
    let e = err("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n");
    assert!(e.contains("global scrape timeout greater than scrape interval"), "{e}");
    let e = err(
        "scrape_configs:\n  - job_name: r\n    relabel_configs:\n      - source_labels: [a]\n        regex: '(('\n",
    );
    assert!(
        e.contains("invalid regex")
            && (e.contains("line 4") || e.contains("line 5") || e.contains("5:") || e.contains("4:")),
        "{e}"
    );
    let e = err("scrape_configs:\n  - job_name: ''\n");
    assert!(e.contains("job_name is empty"), "{e}");
    let e = err("scrape_configs:\n  - job_name: s\n    scheme: ftp\n");
    assert!(e.contains("invalid scheme \"ftp\"") && e.contains("\"s\""), "{e}");
    let e = err("scrape_configs:\n  - job_name: t\n    bearer_token: x\n    bearer_token_file: y\n");
    assert!(e.contains("at most one of bearer_token & bearer_token_file"), "{e}");
    let e = err(
        "scrape_configs:\n  - job_name: t\n    basic_auth: {username: u, password: p}\n    authorization: {credentials: c}\n",
    );
    assert!(e.contains("at most one of basic_auth"), "{e}");
    let e = err("scrape_configs:\n  - job_name: t\n    authorization: {type: Basic, credentials: c}\n");
    assert!(e.contains("use \"basic_auth\" instead"), "{e}");
    let e = err(
        "scrape_configs:\n  - job_name: t\n    scrape_protocols: [PrometheusText0.0.4, PrometheusText0.0.4]\n",
    );
    assert!(e.contains("duplicated protocol"), "{e}");
    let e = err("scrape_configs:\n  - job_name: t\n    scrape_protocols: [Json]\n");
    assert!(e.contains("unknown scrape protocol \"Json\""), "{e}");
    let e = err("scrape_configs:\n  - job_name: t\n    file_sd_configs:\n      - files: ['a/*/b.json']\n");
    assert!(e.contains("is not valid for file discovery"), "{e}");
    let e = err("scrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['http://x:1/']\n");
    assert!(e.contains("not a valid target address"), "{e}");
    let e = err("scrape_configs:\n  - job_name: t\n    scrape_interval: 5x\n");
    assert!(e.contains("not a valid duration string"), "{e}");
    let e = err("alerting:\n  alertmanagers:\n    - api_version: v1\n");
    assert!(e.contains("api version to be one of [v2]"), "{e}");
    let e = err("scrape_configs:\n  - job_name: t\n    body_size_limit: 10XB\n");
    assert!(e.contains("unknown unit"), "{e}");
}

#[test]
fn protobuf_protocol_is_dropped_with_a_warning() {
    let c = parse(
        "scrape_configs:\n  - job_name: t\n    scrape_protocols: [PrometheusProto, PrometheusText0.0.4]\n",
    )
    .unwrap();
    assert_eq!(c.scrape_configs[0].protocols, [ScrapeProtocol::PrometheusText0_0_4]);
    assert_eq!(c.warnings.len(), 1);
    let e = err("scrape_configs:\n  - job_name: t\n    scrape_protocols: [PrometheusProto]\n");
    assert!(e.contains("names no protocol Cairn supports"), "{e}");
}

#[test]
fn load_from_disk_sets_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("prometheus.yml");
    std::fs::write(&p, "rule_files: [r.yml]\n").unwrap();
    let c = Config::load(&p).unwrap();
    assert_eq!(c.rule_file_paths(), [dir.path().join("r.yml")]);
    let e = Config::load(dir.path().join("missing.yml")).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }) && e.to_string().contains("missing.yml"));
}

#[test]
fn syntax_errors_inside_a_job_name_the_job() {
    let e = err(
        "scrape_configs:\n  - job_name: r\n    relabel_configs:\n      - source_labels: [a]\n        regex: '(('\n",
    );
    assert!(e.contains("invalid regex \"((\": unclosed group"), "{e}");
    assert!(e.contains("(in scrape config with job name \"r\")"), "{e}");
    let e = err("global:\n  scrape_intervall: 1m\nscrape_configs:\n  - job_name: z\n");
    assert!(!e.contains("job name"), "{e}");
}
