//! Interoperability of ingestion with the real programs from Debian's packages: Cairn scrapes a
//! real node_exporter; a real Prometheus remote-writes to Cairn and the same selectors return
//! the same samples from both; a real Prometheus reads Cairn's data through remote-read.

use crate::support::CairnServer;
use crate::support::peers::{get_json, poll, start_node_exporter, start_prometheus, start_prometheus_at};
use serde_json::Value;
use std::time::Duration;

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn result(v: &Value) -> Vec<Value> {
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn scrapes_a_real_node_exporter() {
    let Some((_ne, ne_addr)) = start_node_exporter() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cairn.yml");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [\"{ne_addr}\"]\n"),
    )
    .unwrap();
    let server = CairnServer::start(&["--config", cfg.to_str().unwrap()]).await;
    let addr = server.addr.clone();
    let up = poll(Duration::from_secs(30), || {
        let addr = addr.clone();
        async move {
            let v = get_json(&addr, "/api/v1/query?query=up%7Bjob%3D%22node%22%7D").await?;
            let r = result(&v);
            (r.first()?["value"][1] == "1").then_some(r)
        }
    })
    .await
    .unwrap_or_else(|| panic!("node_exporter never scraped successfully; log:\n{}", server.log()));
    assert_eq!(up[0]["metric"]["instance"], ne_addr.as_str());

    // Real node_exporter content arrived: CPU counters by mode, and hundreds of samples.
    let v = server.get_json("/api/v1/query?query=count(node_cpu_seconds_total)").await;
    let n: f64 = result(&v)[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(n >= 1.0, "no node_cpu_seconds_total: {v}");
    let v = server.get_json("/api/v1/query?query=scrape_samples_scraped%7Bjob%3D%22node%22%7D").await;
    let scraped: f64 = result(&v)[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(scraped > 100.0, "only {scraped} samples scraped");
    // rate() over the scraped counters works once there are two scrapes.
    let ok = poll(Duration::from_secs(20), || {
        let addr = addr.clone();
        async move {
            let v = get_json(&addr, "/api/v1/query?query=sum(rate(node_cpu_seconds_total%5B10s%5D))").await?;
            (!result(&v).is_empty()).then_some(())
        }
    })
    .await;
    assert!(ok.is_some(), "rate over node_cpu_seconds_total never produced a value");

    let t = server.get_json("/api/v1/targets").await;
    let active = t["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["health"], "up");
    assert_eq!(active[0]["scrapePool"], "node");
    let md = server.get_json("/api/v1/metadata?metric=node_cpu_seconds_total").await;
    assert_eq!(md["data"]["node_cpu_seconds_total"][0]["type"], "counter", "{md}");
}

#[tokio::test]
async fn prometheus_remote_write_gives_the_same_samples() {
    let server = CairnServer::start(&[]).await;
    let port = crate::support::free_port();
    let self_addr = format!("127.0.0.1:{port}");
    let yml = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prom\n    static_configs:\n      - targets: [\"{self_addr}\"]\nremote_write:\n  - url: http://{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 500\n",
        server.addr
    );
    let Some(prom) = start_prometheus_at(&yml, &self_addr, &[]) else { return };
    let paddr = prom.addr.clone();
    // Wait until Prometheus has shipped a good amount of data.
    let caddr = server.addr.clone();
    let ready = poll(Duration::from_secs(40), || {
        let caddr = caddr.clone();
        async move {
            let v = get_json(&caddr, "/api/v1/query?query=count_over_time(up%7Bjob%3D%22prom%22%7D%5B1m%5D)")
                .await?;
            let n: f64 = result(&v).first()?["value"][1].as_str()?.parse().ok()?;
            (n >= 6.0).then_some(())
        }
    })
    .await;
    assert!(ready.is_some(), "remote-written samples never arrived; cairn log:\n{}", server.log());
    // Compare raw samples of a past window that both have complete (remote write lags ~1s).
    let now = crate::support::peers::get_json(&caddr, "/api/v1/query?query=time()").await.unwrap();
    let now: f64 = now["data"]["result"][1].as_str().unwrap().parse().unwrap();
    let t = now - 4.0;
    let selectors = [
        "up{job=\"prom\"}[5s]",
        "scrape_duration_seconds{job=\"prom\"}[5s]",
        "prometheus_http_requests_total{job=\"prom\"}[5s]",
        "{__name__=~\"go_memstats_.*_bytes\",job=\"prom\"}[5s]",
        "{__name__=~\"prometheus_tsdb_head_.*\",job=\"prom\"}[5s]",
    ];
    for sel in selectors {
        let q = format!("/api/v1/query?query={}&time={t}", urlenc(sel));
        let a = get_json(&paddr, &q).await.expect("prometheus query");
        let b = server.get_json(&q).await;
        let norm = |v: &Value| {
            let mut r = result(v);
            r.sort_by_key(|x| x["metric"].to_string());
            r
        };
        let (ra, rb) = (norm(&a), norm(&b));
        assert!(!ra.is_empty(), "{sel}: Prometheus returned nothing");
        assert_eq!(ra, rb, "{sel}: Prometheus and Cairn differ");
    }
}

#[tokio::test]
async fn prometheus_reads_cairn_through_remote_read() {
    let server = CairnServer::start(&[]).await; // scrapes itself every 15s
    let caddr = server.addr.clone();
    // Put known samples in Cairn.
    let base = format!("http://{}", server.addr);
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let t0 = (now_s - 120) * 1000;
    let samples: Vec<(i64, f64)> = (0..8).map(|i| (t0 + i * 15_000, i as f64 * 1.5)).collect();
    let (st, body) = crate::support::remote::write(
        &base,
        vec![crate::support::remote::series(&[("__name__", "rr_test"), ("k", "v")], &samples)],
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let yml = format!("remote_read:\n  - url: http://{caddr}/api/v1/read\n    read_recent: true\n");
    let Some(prom) = start_prometheus(&yml, &[]) else { return };
    let paddr = prom.addr.clone();
    let q = format!("/api/v1/query?query={}&time={}", urlenc("rr_test[3m]"), now_s);
    let got = poll(Duration::from_secs(30), || {
        let (paddr, q) = (paddr.clone(), q.clone());
        async move {
            let v = get_json(&paddr, &q).await?;
            (!result(&v).is_empty()).then_some(v)
        }
    })
    .await
    .expect("Prometheus never answered from remote-read");
    let mine = server.get_json(&q).await;
    assert_eq!(result(&got), result(&mine));
    assert_eq!(result(&got)[0]["values"].as_array().unwrap().len(), 8);
    drop(prom);
}
