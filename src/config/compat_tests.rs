//! Tests of Prometheus compatibility beyond the core keys: keys accepted with a warning, keys
//! refused with an explanation, `storage.tsdb.out_of_order_time_window`, `scrape_config_files`,
//! `rule_query_offset`, and values go-yaml reads as strings (`password: 1234`).

use super::*;

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
fn ignored_keys_warn_with_their_line() {
    let c = parse(
        "global:\n  keep_dropped_targets: 10\ntracing:\n  endpoint: localhost:4317\nstorage:\n  exemplars:\n    max_exemplars: 100\nscrape_configs:\n  - job_name: a\n    target_limit: 5\n    native_histogram_bucket_limit: 10\n    track_timestamps_staleness: true\n",
    )
    .unwrap();
    let w = c.warnings.join("\n");
    assert_eq!(c.warnings.len(), 6, "{w}");
    assert!(w.contains("line 2: global.keep_dropped_targets is accepted but ignored"), "{w}");
    assert!(w.contains("tracing is accepted but ignored: Cairn exports no traces"), "{w}");
    assert!(w.contains("storage.exemplars is accepted but ignored"), "{w}");
    assert!(w.contains("line 10: job \"a\": target_limit is accepted but ignored"), "{w}");
    assert!(w.contains("line 11: job \"a\": native_histogram_bucket_limit"), "{w}");
    assert!(w.contains("track_timestamps_staleness is accepted but ignored"), "{w}");
}

#[test]
fn unsupported_keys_are_refused_with_a_reason() {
    for (yaml, key, line) in [
        (
            "scrape_configs:\n  - job_name: a\n    consul_sd_configs: [{server: 'x:8500'}]\n",
            "consul_sd_configs",
            3,
        ),
        (
            "scrape_configs:\n  - job_name: a\n    oauth2: {client_id: a, client_secret: b, token_url: 'http://x'}\n",
            "oauth2",
            3,
        ),
        ("scrape_configs:\n  - job_name: a\n    proxy_url: 'http://proxy:3128'\n", "proxy_url", 3),
        ("alerting:\n  alertmanagers:\n    - dns_sd_configs: [{names: [am.example]}]\n", "dns_sd_configs", 3),
        (
            "alerting:\n  alertmanagers:\n    - static_configs: []\n      http_headers: {}\n",
            "http_headers",
            4,
        ),
    ] {
        let e = err(yaml);
        assert!(e.contains(key) && e.contains(&format!("line {line}")), "{e}");
        assert!(e.contains("not support"), "{e}");
    }
    // An unknown key that Prometheus does not have either stays a plain unknown-field error.
    let e = err("scrape_configs:\n  - job_name: a\n    scrape_intervl: 1m\n");
    assert!(e.contains("unknown field `scrape_intervl`") && e.contains("line 3"), "{e}");
}

#[test]
fn out_of_order_window_from_prometheus_storage_section() {
    let c = parse("storage:\n  tsdb:\n    out_of_order_time_window: 30m\n").unwrap();
    assert_eq!(c.cairn.storage.out_of_order_window.to_string(), "30m");
    let c = parse("storage:\n  tsdb:\n    out_of_order_time_window: 30m\ncairn:\n  storage:\n    out_of_order_window: 30m\n")
        .unwrap();
    assert_eq!(c.cairn.storage.out_of_order_window.to_string(), "30m");
    let e = err(
        "storage:\n  tsdb:\n    out_of_order_time_window: 30m\ncairn:\n  storage:\n    out_of_order_window: 5m\n",
    );
    assert!(e.contains("disagree"), "{e}");
}

#[test]
fn scrape_config_files_are_appended() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("jobs")).unwrap();
    std::fs::write(
        dir.path().join("jobs/a.yml"),
        "scrape_configs:\n  - job_name: from-a\n    static_configs: [{targets: ['h:1']}]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("jobs/b.yml"), "scrape_configs:\n  - job_name: from-b\n").unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "global:\n  scrape_interval: 7s\nscrape_config_files: ['jobs/*.yml']\nscrape_configs:\n  - job_name: main\n",
    )
    .unwrap();
    let c = Config::load(&main).unwrap();
    let jobs: Vec<&str> = c.scrape_configs.iter().map(|s| s.job()).collect();
    assert_eq!(jobs, ["main", "from-a", "from-b"]);
    assert_eq!(c.scrape_configs[1].scrape_interval.to_string(), "7s", "global defaults apply");
    // A duplicate job name across files names the file and line.
    std::fs::write(dir.path().join("jobs/c.yml"), "scrape_configs:\n  - job_name: main\n").unwrap();
    let e = Config::load(&main).unwrap_err().to_string();
    assert!(e.contains("c.yml line 2") && e.contains("multiple scrape configs"), "{e}");
    std::fs::write(dir.path().join("jobs/c.yml"), "scrape_configs:\n  - job_name: x\n    bad_key: 1\n")
        .unwrap();
    let e = Config::load(&main).unwrap_err().to_string();
    assert!(e.contains("c.yml") && e.contains("bad_key") && e.contains("line 3"), "{e}");
}

#[test]
fn rule_query_offset_and_string_like_secrets() {
    let c = parse("global:\n  rule_query_offset: 30s\n").unwrap();
    assert_eq!(c.global.rule_query_offset.to_string(), "30s");
    // go-yaml reads any scalar into a string field; so must we.
    let c = parse(
        "scrape_configs:\n  - job_name: a\n    basic_auth: {username: 1234, password: yes}\n    tls_config: {server_name: 10}\n",
    )
    .unwrap();
    let b = c.scrape_configs[0].basic_auth.clone().unwrap();
    assert_eq!((b.username.as_str(), b.password.as_deref()), ("1234", Some("yes")));
    assert_eq!(c.scrape_configs[0].tls_config.server_name.as_deref(), Some("10"));
}

#[test]
fn yaml_anchors_aliases_and_merge_keys() {
    let c = parse(
        "scrape_configs:\n  - job_name: a\n    relabel_configs: &common\n      - source_labels: [__address__]\n        target_label: host\n  - &tmpl\n    job_name: b\n    scrape_interval: 30s\n    relabel_configs: *common\n  - <<: *tmpl\n    job_name: c\n",
    )
    .unwrap();
    let jobs: Vec<(&str, String, usize)> = c
        .scrape_configs
        .iter()
        .map(|s| (s.job(), s.scrape_interval.to_string(), s.relabel_configs.len()))
        .collect();
    assert_eq!(jobs, [("a", "1m".into(), 1), ("b", "30s".into(), 1), ("c", "30s".into(), 1)]);
}

#[test]
fn external_labels_expand_like_prometheus_feature_flag() {
    let mut c = parse(
        "global:\n  external_labels:\n    host: '${HOST}-x'\n    dc: $DC\n    gone: $UNSET\n    money: 'a$$b'\n    tail: 'end$'\n",
    )
    .unwrap();
    let env = |k: &str| match k {
        "HOST" => Some("h1".to_string()),
        "DC" => Some("eu".to_string()),
        _ => None,
    };
    c.expand_external_labels(&env);
    let got: Vec<(&str, &str)> =
        c.global.external_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(got, [("dc", "eu"), ("host", "h1-x"), ("money", "a$b"), ("tail", "end$")]);
}

#[test]
fn sections_written_without_a_value_are_empty() {
    // go-yaml reads `key:` with nothing under it as the zero value; Prometheus then defaults.
    let c = parse(
        "global:\nalerting:\nstorage:\n  tsdb:\nrule_files:\nscrape_configs:\n  - job_name: a\n    scrape_interval:\n    tls_config:\n    basic_auth:\n    static_configs:\n      - targets:\n        labels:\ncairn:\n",
    )
    .unwrap();
    assert_eq!(c.global.scrape_interval.to_string(), "1m");
    assert_eq!(c.scrape_configs[0].scrape_interval.to_string(), "1m", "null duration inherits");
    assert!(c.alerting.alertmanagers.is_empty() && c.rule_files.is_empty());
    assert_eq!(c.scrape_configs[0].tls_config, TlsConfig::default());
    assert!(c.scrape_configs[0].static_configs[0].targets.is_empty());
    assert_eq!(c.cairn.storage.retention.to_string(), "15d");
}
