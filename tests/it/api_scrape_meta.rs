//! Scrape-related API endpoints and Cairn's own `/metrics`, checked against a real Prometheus
//! scraping the same real node_exporter with the same configuration: `/api/v1/scrape_pools`,
//! `/api/v1/targets/metadata` and `droppedTargetCounts` must give the same data; Cairn's
//! `/metrics` must parse, have no duplicate series and carry the standard `process_*` and
//! HTTP request metrics.

use crate::support::CairnServer;
use crate::support::peers::{get_json, poll, start_node_exporter, start_prometheus};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

fn config(ne_addr: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [\"{ne_addr}\"]\n        labels:\n          env: test\n  - job_name: zz_empty\n    static_configs: []\n  - job_name: dropped\n    static_configs:\n      - targets: [\"127.0.0.1:1\"]\n    relabel_configs:\n      - action: drop\n        source_labels: [__address__]\n        regex: .*\n"
    )
}

/// Waits until `addr` has node_load1 metadata from a scrape, and returns the API's data.
async fn metadata_of(addr: &str) -> Value {
    let addr = addr.to_string();
    let got = poll(Duration::from_secs(60), || {
        let addr = addr.clone();
        async move {
            let v = get_json(&addr, "/api/v1/targets/metadata?metric=node_load1").await?;
            v["data"].as_array().filter(|a| !a.is_empty())?;
            Some(v["data"].clone())
        }
    })
    .await;
    got.unwrap_or_else(|| panic!("{addr}: no targets metadata for node_load1"))
}

#[tokio::test]
async fn scrape_endpoints_agree_with_prometheus() {
    let Some((_ne, ne_addr)) = start_node_exporter() else { return };
    let cfg_text = config(&ne_addr);
    let Some(prom) = start_prometheus(&cfg_text, &[]) else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cairn.yml");
    std::fs::write(&cfg, &cfg_text).unwrap();
    let cairn = CairnServer::start(&["--config", cfg.to_str().unwrap()]).await;

    let (pm, cm) = (metadata_of(&prom.addr).await, metadata_of(&cairn.addr).await);
    assert_eq!(pm, cm, "targets/metadata?metric=node_load1");

    for path in ["/api/v1/scrape_pools", "/api/v1/targets/metadata?match_target=%7Bjob%3D%22nope%22%7D"] {
        let p = get_json(&prom.addr, path).await.expect("prometheus answers");
        let c = cairn.get_json(path).await;
        assert_eq!(p, c, "{path}");
    }
    // Without `metric`, each entry names its metric; both list the same metric names.
    let names = |v: &Value| -> BTreeSet<String> {
        v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["metric"].as_str().map(String::from))
            .collect()
    };
    let path = "/api/v1/targets/metadata?match_target=%7Bjob%3D%22node%22%7D";
    let (p, c) = (get_json(&prom.addr, path).await.expect("prometheus answers"), cairn.get_json(path).await);
    assert!(names(&p).contains("node_load1") && names(&c).contains("node_load1"), "{c}");
    assert_eq!(names(&p), names(&c), "metric names of the node target");

    let p = get_json(&prom.addr, "/api/v1/targets").await.expect("prometheus answers");
    let c = cairn.get_json("/api/v1/targets").await;
    // Prometheus 2.42 predates `droppedTargetCounts` (3.x has it): compare when it is there.
    let counts = &c["data"]["droppedTargetCounts"];
    assert_eq!(*counts, serde_json::json!({"dropped": 1, "node": 0, "zz_empty": 0}), "{c}");
    if !p["data"]["droppedTargetCounts"].is_null() {
        assert_eq!(p["data"]["droppedTargetCounts"], *counts);
    }
    // 2.42's dropped targets lack `scrapePool` (3.x has it): compare the discovered labels.
    let discovered = |v: &Value| -> Vec<Value> {
        v["data"]["droppedTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["discoveredLabels"].clone())
            .collect()
    };
    assert_eq!(discovered(&p), discovered(&c));
    assert_eq!(c["data"]["droppedTargets"][0]["scrapePool"], "dropped");
}

#[tokio::test]
async fn own_metrics_are_complete_and_unique() {
    let cairn = CairnServer::start(&[]).await;
    // One API call so that the HTTP counters have a series for it.
    let _ = cairn.get_json("/api/v1/query?query=1").await;
    let (status, text) = cairn.get_raw("/metrics").await;
    assert_eq!(status, 200);
    let mut seen = BTreeSet::new();
    let parser = cairn::ingest::exposition::Parser::new(
        text.as_bytes(),
        cairn::ingest::exposition::Format::PrometheusText,
    );
    for entry in parser {
        let entry = entry.unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{text}"));
        if let cairn::ingest::exposition::Entry::Sample(s) = entry {
            let key = s.to_labels().to_string();
            assert!(seen.insert(key.clone()), "duplicate series {key} in /metrics:\n{text}");
        }
    }
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "cairn_head_series",
    ] {
        assert!(text.lines().any(|l| l.starts_with(&format!("{name} "))), "{name} missing:\n{text}");
    }
    assert!(
        text.contains("cairn_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 1"),
        "HTTP request counter missing:\n{text}"
    );
    assert!(
        text.contains("cairn_http_request_duration_seconds_count{handler=\"/api/v1/query\"} 1"),
        "{text}"
    );
}
