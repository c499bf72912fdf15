//! Bad input to the remote-write receiver: every malformed or refused request gets the right
//! status and a message naming the problem, and samples accepted before are never lost.

use crate::support::CairnServer;
use crate::support::remote::{encode, post_raw, series, write};

async fn count(server: &CairnServer, selector: &str) -> usize {
    let v = server.get_json(&format!("/api/v1/query?query=count_over_time({selector}[1h])&time=100")).await;
    v["data"]["result"][0]["value"][1].as_str().and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0) as usize
}

#[tokio::test]
async fn malformed_requests_are_refused_and_accepted_data_survives() {
    // No scrape jobs: the default self-scrape would add samples at the current time, and the
    // head, spanning 1970 to now, could then be persisted past this test's 1970 timestamps.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cairn.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1h\n").unwrap();
    let server = CairnServer::start(&["--config", cfg.to_str().unwrap()]).await;
    let base = format!("http://{}", server.addr);
    // Accepted first: 3 samples.
    let (st, body) = write(
        &base,
        vec![series(&[("__name__", "good"), ("a", "1")], &[(1000, 1.0), (2000, 2.0), (3000, 3.0)])],
    )
    .await;
    assert_eq!(st, 204, "{body}");

    // Truncated snappy.
    let mut b = encode(vec![series(&[("__name__", "x")], &[(1000, 1.0)])]);
    b.truncate(b.len() / 2);
    let (st, body) = post_raw(&base, b, "application/x-protobuf").await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("snappy"), "{body}");

    // Valid snappy around bytes that are not a WriteRequest.
    let junk = snap::raw::Encoder::new().compress_vec(&[0xff, 0xff, 0xff, 0x01, 0x02]).unwrap();
    let (st, body) = post_raw(&base, junk, "application/x-protobuf").await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("protobuf"), "{body}");

    // Wrong content type.
    let (st, body) =
        post_raw(&base, encode(vec![series(&[("__name__", "x")], &[(1000, 1.0)])]), "application/json").await;
    assert_eq!(st, 415, "{body}");
    assert!(body.contains("Content-Type"), "{body}");

    // Remote-write 2.0 is refused with advice.
    let (st, body) = post_raw(
        &base,
        encode(vec![series(&[("__name__", "x")], &[(1000, 1.0)])]),
        "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    )
    .await;
    assert_eq!(st, 415, "{body}");

    // Huge body (over the 32 MiB default) is refused before decompression.
    let (st, body) = post_raw(&base, vec![0u8; 33 << 20], "application/x-protobuf").await;
    assert_eq!(st, 413, "{body}");

    // Too many labels.
    let names: Vec<String> = (0..100).map(|i| format!("l{i}")).collect();
    let mut labels: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    labels.push(("__name__", "wide"));
    let (st, body) = write(&base, vec![series(&labels, &[(1000, 1.0)])]).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("labels_per_series_max"), "{body}");

    // Invalid UTF-8 in a label value: hand-edit the protobuf.
    let raw = prost::Message::encode_to_vec(&cairn::ingest::remote::proto::WriteRequest {
        timeseries: vec![series(&[("__name__", "bad"), ("v", "AAAA")], &[(1000, 1.0)])],
        metadata: Vec::new(),
    });
    let pos = raw.windows(4).position(|w| w == b"AAAA").unwrap();
    let mut raw = raw;
    raw[pos] = 0xff;
    let (st, body) =
        post_raw(&base, snap::raw::Encoder::new().compress_vec(&raw).unwrap(), "application/x-protobuf")
            .await;
    assert_eq!(st, 400, "{body}");

    // Invalid label name.
    let (st, body) = write(&base, vec![series(&[("__name__", "m"), ("0bad", "x")], &[(1000, 1.0)])]).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("0bad"), "{body}");

    // Out of order and conflicting duplicate: refused with 400 naming them; the request's
    // valid sample (t=4000) is stored.
    let (st, body) = write(
        &base,
        vec![series(&[("__name__", "good"), ("a", "1")], &[(1500, 9.0), (3000, 7.0), (4000, 4.0)])],
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("2 of 3 samples rejected"), "{body}");
    // A duplicate with the same value is accepted silently.
    let (st, body) = write(&base, vec![series(&[("__name__", "good"), ("a", "1")], &[(4000, 4.0)])]).await;
    assert_eq!(st, 204, "{body}");

    // Nothing accepted was lost: 1000, 2000, 3000 (value 3), 4000.
    assert_eq!(count(&server, "good").await, 4);
    let v = server.get_json("/api/v1/query?query=good&time=3.5").await;
    assert_eq!(v["data"]["result"][0]["value"][1], "3");
    // /api/v1/series lists a series only when it has a sample in [start, end].
    let n = |v: serde_json::Value| v["data"].as_array().map_or(usize::MAX, |a| a.len());
    assert_eq!(n(server.get_json("/api/v1/series?match[]=good").await), 1);
    assert_eq!(n(server.get_json("/api/v1/series?match[]=good&start=2.5&end=3").await), 1);
    assert_eq!(n(server.get_json("/api/v1/series?match[]=good&start=10&end=20").await), 0);
    // Refused requests left nothing behind.
    for m in ["x", "wide", "bad", "m"] {
        assert_eq!(count(&server, m).await, 0, "{m} should not exist");
    }
    // Limit hits are counted on /metrics.
    let (_, metrics) = server.get_raw("/metrics").await;
    assert!(metrics.contains("cairn_limit_hits_total{limit=\"labels_per_series_max\"} 1"), "{metrics}");
    assert!(metrics.contains("cairn_limit_hits_total{limit=\"body_size_bytes_max\"} 1"), "{metrics}");
}

#[tokio::test]
async fn global_series_limits_refuse_new_series_and_keep_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cairn.yml");
    // No scrape jobs, so only our series count; a burst of 5 new series per second.
    std::fs::write(&cfg, "cairn:\n  limits:\n    new_series_per_second_max: 5\n    active_series_max: 8\n")
        .unwrap();
    let server = CairnServer::start(&["--config", cfg.to_str().unwrap()]).await;
    let base = format!("http://{}", server.addr);
    let names: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    let batch: Vec<_> =
        names.iter().map(|n| series(&[("__name__", "storm"), ("id", n)], &[(1000, 1.0)])).collect();
    let (st, body) = write(&base, batch).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("15 of 20 samples rejected"), "{body}");
    assert!(body.contains("new_series_per_second_max"), "{body}");
    let v = server.get_json("/api/v1/query?query=count(count_over_time(storm%5B1h%5D))&time=100").await;
    assert_eq!(v["data"]["result"][0]["value"][1], "5", "{v}");
    // Samples for existing series are not limited.
    let again: Vec<_> =
        names[..5].iter().map(|n| series(&[("__name__", "storm"), ("id", n)], &[(2000, 2.0)])).collect();
    let (st, body) = write(&base, again).await;
    assert_eq!(st, 204, "{body}");
    // After the bucket refills, the active-series cap (8) stops creation at 8.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let more: Vec<_> =
        names[5..10].iter().map(|n| series(&[("__name__", "storm"), ("id", n)], &[(1000, 1.0)])).collect();
    let (st, body) = write(&base, more).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("max_active_series"), "{body}");
    let v = server.get_json("/api/v1/query?query=count(count_over_time(storm%5B1h%5D))&time=100").await;
    assert_eq!(v["data"]["result"][0]["value"][1], "8", "{v}");
    let (_, metrics) = server.get_raw("/metrics").await;
    assert!(metrics.contains("cairn_limit_hits_total{limit=\"new_series_per_second_max\"} 15"), "{metrics}");
    assert!(metrics.contains("cairn_limit_hits_total{limit=\"active_series_max\"} 2"), "{metrics}");
}
