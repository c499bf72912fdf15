//! Interop with a real Prometheus (Debian package `prometheus`, 2.42): it remote-writes its
//! own scraped samples to a small axum server in this test that decodes them with
//! [`decode_write_request`]/[`write_batch`], and it remote-reads from the same server, which
//! answers with [`encode_read_response`]; the samples then come back through Prometheus's own
//! query API. Checks the protocol bytes both ways against the real implementation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use cairn_format::{Labels, Sample, matches_all};

use super::proto::{QueryResult, ReadResponse};
use super::*;
use crate::ingest::limits::IngestLimits;

const PROMETHEUS: &str = "/usr/bin/prometheus";

#[derive(Default)]
struct Received {
    batches: Vec<WriteBatch>,
    write_headers: Vec<HeaderMap>,
    errors: Vec<String>,
    read_matchers: Vec<String>,
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The series the fake remote storage holds for remote-read.
fn fake_series(now: i64) -> (Labels, Vec<Sample>) {
    let labels = Labels::from_pairs([("__name__", "cairn_interop_metric"), ("source", "fake")]);
    let samples = (0..12).map(|i| Sample::new(now - 110_000 + i * 10_000, 42.0 + i as f64)).collect();
    (labels, samples)
}

async fn start_receiver(state: Arc<Mutex<Received>>, now: i64) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let write_state = state.clone();
    let read_state = state;
    let app = axum::Router::new()
        .route(
            "/api/v1/write",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = write_state.clone();
                async move {
                    let limits = IngestLimits::default();
                    let r = decode_write_request(
                        &body,
                        header(&headers, "content-type"),
                        header(&headers, "content-encoding"),
                        &limits,
                    )
                    .and_then(|req| write_batch(req, &limits));
                    let mut s = state.lock().unwrap();
                    s.write_headers.push(headers);
                    match r {
                        Ok(b) => {
                            s.batches.push(b);
                            (StatusCode::NO_CONTENT, String::new())
                        }
                        Err(e) => {
                            s.errors.push(e.to_string());
                            (StatusCode::from_u16(e.http_status()).unwrap(), e.to_string())
                        }
                    }
                }
            }),
        )
        .route(
            "/api/v1/read",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = read_state.clone();
                async move {
                    let limits = IngestLimits::default();
                    let req = match decode_read_request(
                        &body,
                        header(&headers, "content-type"),
                        header(&headers, "content-encoding"),
                        &limits,
                    ) {
                        Ok(r) => r,
                        Err(e) => {
                            return (
                                StatusCode::BAD_REQUEST,
                                [(header::CONTENT_TYPE, "text/plain")],
                                e.to_string().into_bytes(),
                            );
                        }
                    };
                    assert_eq!(negotiate_response_type(&req), Ok(proto::ResponseType::Samples));
                    let (labels, samples) = fake_series(now);
                    let mut results = Vec::new();
                    for q in &req.queries {
                        let matchers = query_matchers(q).unwrap();
                        state.lock().unwrap().read_matchers.extend(
                            matchers.iter().map(|m| format!("{}{}{}", m.name, m.op.as_str(), m.value)),
                        );
                        let mut timeseries = Vec::new();
                        if matches_all(&matchers, &labels) {
                            let inside: Vec<Sample> = samples
                                .iter()
                                .copied()
                                .filter(|s| s.t >= q.start_timestamp_ms && s.t <= q.end_timestamp_ms)
                                .collect();
                            timeseries.push(time_series(&labels, &inside));
                        }
                        results.push(QueryResult { timeseries });
                    }
                    let body = encode_read_response(&ReadResponse { results }).unwrap();
                    (StatusCode::OK, [(header::CONTENT_TYPE, SAMPLES_CONTENT_TYPE)], body)
                }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_writes_and_reads() {
    if !std::path::Path::new(PROMETHEUS).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI needs the prometheus package");
        eprintln!("skipping: {PROMETHEUS} not installed (apt-get install -y prometheus)");
        return;
    }
    let now = crate::server::now_ms();
    let state = Arc::new(Mutex::new(Received::default()));
    let recv = start_receiver(state.clone(), now).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let prom = format!("127.0.0.1:{port}");
    let cfg = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['{prom}']\n\
         remote_write:\n  - url: http://{recv}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n\
         remote_read:\n  - url: http://{recv}/api/v1/read\n    read_recent: true\n"
    );
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let _child = KillOnDrop(
        std::process::Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={prom}"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    // Remote write: wait (bounded: 120 × 250 ms) until Prometheus has sent its own `up`.
    let mut got_up = false;
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let s = state.lock().unwrap();
        if s.batches.iter().flat_map(|b| &b.series).any(|x| x.labels.metric_name() == Some("up")) {
            got_up = true;
            break;
        }
    }
    let log_text = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert!(got_up, "no remote-written `up` received; prometheus log:\n{log_text}");
    {
        let s = state.lock().unwrap();
        assert!(s.errors.is_empty(), "rejected real remote-write requests: {:?}", s.errors);
        let h = &s.write_headers[0];
        assert_eq!(header(h, "content-type"), Some("application/x-protobuf"));
        assert_eq!(header(h, "content-encoding"), Some("snappy"));
        assert_eq!(header(h, "x-prometheus-remote-write-version"), Some("0.1.0"));
        let series: Vec<_> = s.batches.iter().flat_map(|b| &b.series).collect();
        let up = series.iter().find(|x| x.labels.metric_name() == Some("up")).unwrap();
        assert_eq!(up.labels.get("job"), Some("self"));
        assert_eq!(up.labels.get("instance"), Some(prom.as_str()));
        assert_eq!(up.samples[0].v, 1.0);
        assert!((up.samples[0].t - now).abs() < 120_000, "timestamp {} vs now {now}", up.samples[0].t);
        assert!(series.iter().any(|x| x.labels.metric_name() == Some("prometheus_build_info")));
        for x in &series {
            assert!(x.labels.as_slice().windows(2).all(|w| w[0].name < w[1].name), "{:?}", x.labels);
        }
    }

    // Remote read: Prometheus answers a query for a series only the fake storage has.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("http://{prom}/api/v1/query?query=cairn_interop_metric&time={}", now as f64 / 1000.0);
    let mut answer = serde_json::Value::Null;
    for _ in 0..40 {
        let body = match client.get(&url).send().await {
            Ok(resp) => resp.bytes().await.unwrap_or_default(),
            Err(_) => Default::default(),
        };
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if v["data"]["result"].as_array().is_some_and(|r| !r.is_empty()) {
            answer = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let result = &answer["data"]["result"][0];
    assert_eq!(result["metric"]["source"], "fake", "{answer}");
    // The fake samples run every 10 s from now-110 s (42) to now (53); the query at `now`
    // returns the newest.
    assert_eq!(result["value"][1], "53", "{answer}");
    let m = state.lock().unwrap().read_matchers.clone();
    assert!(m.iter().any(|x| x == "__name__=cairn_interop_metric"), "{m:?}");
}
