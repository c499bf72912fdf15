//! Scrape tests: target label population, the append state machine (honor_labels, timestamps,
//! limits, staleness, report series) against an in-memory sink, HTTP fetching against a local
//! axum server started in the test, and a real node_exporter (Debian package).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_format::{Labels, is_stale_nan};

use super::*;
use crate::config::Config;

/// Records committed appends; pending ones are dropped on rollback.
#[derive(Default)]
struct MemorySink {
    pending: Vec<(Labels, i64, f64)>,
    committed: Vec<(Labels, i64, f64)>,
    reject_metric: Option<String>,
}

impl ScrapeSink for MemorySink {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        if self.reject_metric.as_deref() == labels.metric_name() {
            return Err(AppendError::Rejected("out of order".into()));
        }
        self.pending.push((labels.clone(), t, v));
        Ok(())
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        self.committed.append(&mut self.pending);
        Ok(())
    }
    fn rollback(&mut self) {
        self.pending.clear();
    }
}

impl MemorySink {
    fn take(&mut self) -> Vec<(Labels, i64, f64)> {
        std::mem::take(&mut self.committed)
    }
}

fn value_of(s: &[(Labels, i64, f64)], text: &str) -> Option<f64> {
    s.iter().find(|(l, _, _)| l.to_string() == text).map(|(_, _, v)| *v)
}

fn job(yaml: &str) -> crate::config::ScrapeConfig {
    let c = Config::parse(yaml, "test.yml").unwrap_or_else(|e| panic!("{e}"));
    c.scrape_configs.into_iter().next().unwrap()
}

const TEXT: Option<&str> = Some("text/plain; version=0.0.4");

#[test]
fn target_labels_are_populated_like_prometheus() {
    let cfg = job(
        "scrape_configs:\n  - job_name: node\n    scrape_interval: 30s\n    params: {module: [a, b]}\n    relabel_configs:\n      - source_labels: [__meta_zone]\n        target_label: zone\n",
    );
    let mut group = BTreeMap::new();
    group.insert("__meta_zone".to_string(), "z1".to_string());
    group.insert("env".to_string(), "prod".to_string());
    let t = populate_labels(&group, "10.0.0.1:9100", &cfg).unwrap().unwrap();
    assert_eq!(t.labels().to_string(), r#"{env="prod", instance="10.0.0.1:9100", job="node", zone="z1"}"#);
    assert_eq!(t.full_labels.get("__scheme__"), Some("http"));
    assert_eq!(t.full_labels.get("__param_module"), Some("a"));
    assert_eq!(t.full_labels.get("__meta_zone"), None);
    assert_eq!(t.discovered_labels.get("__meta_zone"), Some("z1"));
    assert_eq!((t.interval, t.timeout), (Duration::from_secs(30), Duration::from_secs(10)));
    assert_eq!(t.url(&cfg.params), "http://10.0.0.1:9100/metrics?module=a&module=b");

    // Relabeling can rewrite address, path, params, scheme, instance — or drop the target.
    let cfg = job(
        "scrape_configs:\n  - job_name: probe\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n      - target_label: __address__\n        replacement: exporter:9115\n      - target_label: __metrics_path__\n        replacement: /probe\n      - source_labels: [__param_target]\n        target_label: instance\n      - source_labels: [instance]\n        regex: skip.*\n        action: drop\n",
    );
    let t = populate_labels(&BTreeMap::new(), "example.org:443", &cfg).unwrap().unwrap();
    assert_eq!(t.url(&cfg.params), "http://exporter:9115/probe?target=example.org%3A443");
    assert_eq!(t.labels().get("instance"), Some("example.org:443"));
    assert_eq!(populate_labels(&BTreeMap::new(), "skip-me:1", &cfg).unwrap(), None);

    let cfg = job(
        "scrape_configs:\n  - job_name: x\n    relabel_configs:\n      - target_label: __scrape_timeout__\n        replacement: 2m\n",
    );
    assert!(matches!(
        populate_labels(&BTreeMap::new(), "a:1", &cfg),
        Err(TargetError::TimeoutOverInterval { .. })
    ));
}

#[test]
fn samples_staleness_and_report() {
    let target = Labels::from_pairs([("job", "j"), ("instance", "i:1")]);
    let mut lp =
        ScrapeLoop::new(target, ScrapeOptions { honor_timestamps: true, ..ScrapeOptions::default() });
    let mut sink = MemorySink::default();
    let body1 =
        b"# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\nb{job=\"exposed\"} 3\nc{x=\"\"} 4 999\n";
    let r = lp.process(&mut sink, Ok((body1, TEXT)), 1000, Duration::from_millis(5));
    assert!(r.up && r.error.is_none(), "{r:?}");
    assert_eq!((r.samples_scraped, r.samples_post_metric_relabeling, r.series_added), (4, 4, 4));
    let s = sink.take();
    assert_eq!(value_of(&s, r#"a_total{instance="i:1", job="j", x="1"}"#), Some(1.0));
    // A conflicting exposed label is kept as exported_<name>; empty values are dropped.
    assert_eq!(value_of(&s, r#"b{exported_job="exposed", instance="i:1", job="j"}"#), Some(3.0));
    let c = s.iter().find(|(l, _, _)| l.metric_name() == Some("c")).unwrap();
    assert_eq!((c.0.get("x"), c.1), (None, 999), "honored timestamp");
    assert_eq!(value_of(&s, r#"up{instance="i:1", job="j"}"#), Some(1.0));
    assert_eq!(value_of(&s, r#"scrape_samples_scraped{instance="i:1", job="j"}"#), Some(4.0));
    assert_eq!(value_of(&s, r#"scrape_series_added{instance="i:1", job="j"}"#), Some(4.0));
    assert_eq!(value_of(&s, r#"scrape_duration_seconds{instance="i:1", job="j"}"#), Some(0.005));

    // Second scrape: a_total{x="2"} disappeared → one stale marker; nothing new.
    let body2 = b"a_total{x=\"1\"} 5\nb{job=\"exposed\"} 6\nc{x=\"\"} 7 1999\n";
    let r = lp.process(&mut sink, Ok((body2, TEXT)), 2000, Duration::ZERO);
    assert_eq!((r.series_added, r.stale_markers), (0, 1));
    let s = sink.take();
    let stale: Vec<_> = s.iter().filter(|(_, _, v)| is_stale_nan(*v)).collect();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].0.get("x"), Some("2"));
    assert_eq!(stale[0].1, 2000);

    // Third scrape fails: everything of the last scrape goes stale (c has an explicit
    // timestamp, so it is not tracked), up is 0 and no sample is kept.
    let r = lp.process(&mut sink, Err("connection refused".into()), 3000, Duration::ZERO);
    assert!(!r.up);
    assert_eq!(r.error.as_deref(), Some("connection refused"));
    let s = sink.take();
    assert_eq!(s.iter().filter(|(_, _, v)| is_stale_nan(*v)).count(), 2);
    assert_eq!(value_of(&s, r#"up{instance="i:1", job="j"}"#), Some(0.0));
    assert_eq!(s.len(), 2 + 5);

    // The target goes away: report series get stale markers too.
    lp.stop(&mut sink, 4000);
    let s = sink.take();
    assert_eq!(s.len(), 5);
    assert!(s.iter().all(|(_, t, v)| *t == 4000 && is_stale_nan(*v)));
}

#[test]
fn honor_labels_timestamps_relabel_and_limits() {
    let target = Labels::from_pairs([("job", "j"), ("instance", "i")]);
    let cfg = job(
        "scrape_configs:\n  - job_name: j\n    honor_labels: true\n    honor_timestamps: false\n    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: drop_me\n        action: drop\n",
    );
    let mut lp = ScrapeLoop::new(target.clone(), ScrapeOptions::from_config(&cfg));
    let mut sink = MemorySink::default();
    let r = lp.process(
        &mut sink,
        Ok((b"m{job=\"mine\"} 1 5\ndrop_me 2\nm{job=\"mine\"} 3\n", TEXT)),
        100,
        Duration::ZERO,
    );
    assert_eq!((r.samples_scraped, r.samples_post_metric_relabeling, r.samples_rejected), (3, 2, 1), "{r:?}");
    let s = sink.take();
    let m: Vec<_> = s.iter().filter(|(l, _, _)| l.metric_name() == Some("m")).collect();
    assert_eq!(m.len(), 1, "the duplicate within one scrape is skipped");
    assert_eq!((m[0].0.get("job"), m[0].1), (Some("mine"), 100), "exposed job kept; timestamp ignored");

    let limited = |opts: ScrapeOptions, body: &[u8]| {
        let mut lp = ScrapeLoop::new(target.clone(), opts);
        let mut sink = MemorySink::default();
        let r = lp.process(&mut sink, Ok((body, TEXT)), 1, Duration::ZERO);
        let s = sink.take();
        assert!(!r.up);
        assert_eq!(s.len(), 5, "only the report series are written: {s:?}");
        r.error.unwrap()
    };
    let e = limited(ScrapeOptions { sample_limit: 1, ..ScrapeOptions::default() }, b"a 1\nb 2\n");
    assert_eq!(e, "sample limit exceeded (limit: 1)");
    let e = limited(ScrapeOptions { label_limit: 3, ..ScrapeOptions::default() }, b"a{x=\"1\",y=\"2\"} 1\n");
    assert!(e.starts_with("label_limit exceeded (metric: a, number of labels: 5, limit: 3)"), "{e}");
    let e = limited(
        ScrapeOptions { label_name_length_limit: 4, ..ScrapeOptions::default() },
        b"a{xxxxx=\"1\"} 1\n",
    );
    assert!(e.starts_with("label_name_length_limit exceeded"), "{e}");
    let e = limited(
        ScrapeOptions { label_value_length_limit: 2, ..ScrapeOptions::default() },
        b"a{x=\"123\"} 1\n",
    );
    assert!(e.starts_with("label_value_length_limit exceeded"), "{e}");
    let e = limited(ScrapeOptions::default(), b"a 1\nb{ 2\n");
    assert!(e.starts_with("parse error: line 2, column 4"), "{e}");
    let mut lp = ScrapeLoop::new(target.clone(), ScrapeOptions::default());
    let r =
        lp.process(&mut MemorySink::default(), Ok((b"a 1\n", Some("application/json"))), 1, Duration::ZERO);
    assert!(r.error.unwrap().contains("unsupported Content-Type"));
    let mut lp = ScrapeLoop::new(target.clone(), ScrapeOptions::default());
    let r = lp.process(
        &mut MemorySink::default(),
        Ok((b"a 1\n# EOF\n", Some("application/openmetrics-text"))),
        1,
        Duration::ZERO,
    );
    assert!(r.up);

    // Sink rejections are counted, not fatal.
    let mut lp = ScrapeLoop::new(target.clone(), ScrapeOptions::default());
    let mut sink = MemorySink { reject_metric: Some("a".into()), ..MemorySink::default() };
    let r = lp.process(&mut sink, Ok((b"a 1\nb 2\n", TEXT)), 1, Duration::ZERO);
    assert!(r.up);
    assert_eq!(r.samples_rejected, 1);
}

// ----- HTTP -----

#[derive(Default)]
struct ServerState {
    body: String,
    status: u16,
    requests: Vec<axum::http::HeaderMap>,
}

async fn start_server(state: Arc<Mutex<ServerState>>) -> std::net::SocketAddr {
    use axum::http::{StatusCode, header};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let state = state.clone();
            async move {
                let mut s = state.lock().unwrap();
                s.requests.push(headers);
                let status = StatusCode::from_u16(if s.status == 0 { 200 } else { s.status }).unwrap();
                (status, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], s.body.clone())
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test]
async fn scrapes_a_local_http_server() {
    let state =
        Arc::new(Mutex::new(ServerState { body: "x{a=\"1\"} 1\ny 2\n".into(), ..ServerState::default() }));
    let addr = start_server(state.clone()).await;
    let cfg = job(&format!(
        "scrape_configs:\n  - job_name: local\n    scrape_timeout: 5s\n    basic_auth: {{username: u, password: p}}\n    static_configs:\n      - targets: ['{addr}']\n"
    ));
    let target = populate_labels(&cfg.static_configs[0].labels, &cfg.static_configs[0].targets[0], &cfg)
        .unwrap()
        .unwrap();
    let scraper = HttpScraper::new(&cfg).unwrap();
    let mut lp = ScrapeLoop::new(target.labels(), ScrapeOptions::from_config(&cfg));
    let mut sink = MemorySink::default();
    let url = target.url(&cfg.params);
    let r = scrape_once(&scraper, &mut lp, &mut sink, &url, target.timeout).await;
    assert!(r.up, "{r:?}");
    let s = sink.take();
    let inst = addr.to_string();
    assert_eq!(value_of(&s, &format!(r#"x{{a="1", instance="{inst}", job="local"}}"#)), Some(1.0));
    {
        let st = state.lock().unwrap();
        let h = &st.requests[0];
        let accept = h.get("accept").unwrap().to_str().unwrap();
        assert!(accept.starts_with("application/openmetrics-text;version=1.0.0"), "{accept}");
        assert_eq!(h.get("x-prometheus-scrape-timeout-seconds").unwrap(), "5");
        assert_eq!(h.get("authorization").unwrap(), "Basic dTpw");
        assert!(h.get("accept-encoding").unwrap().to_str().unwrap().contains("gzip"));
        assert!(h.get("user-agent").unwrap().to_str().unwrap().starts_with("Cairn/"));
    }

    // The server fails: up=0 with the status, and the previous series go stale.
    state.lock().unwrap().status = 503;
    let r = scrape_once(&scraper, &mut lp, &mut sink, &url, target.timeout).await;
    assert!(!r.up);
    assert!(r.error.as_deref().unwrap().contains("503"), "{r:?}");
    assert_eq!(sink.take().iter().filter(|(_, _, v)| is_stale_nan(*v)).count(), 2);

    // Body size limit.
    let small = job(&format!(
        "scrape_configs:\n  - job_name: local\n    body_size_limit: 8\n    static_configs:\n      - targets: ['{addr}']\n"
    ));
    state.lock().unwrap().status = 200;
    let e = HttpScraper::new(&small).unwrap().fetch(&url, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(e.to_string(), "body size limit exceeded (limit: 8 bytes)");

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let e = scraper.fetch(&format!("http://{closed}/metrics"), Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(e, FetchError::Request(_)), "{e}");
}

/// Kills the child process when dropped (also when the test fails).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

#[tokio::test]
async fn scrapes_a_real_node_exporter() {
    if !std::path::Path::new(NODE_EXPORTER).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI needs the prometheus-node-exporter package");
        eprintln!("skipping: {NODE_EXPORTER} not installed (apt-get install -y prometheus-node-exporter)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let _child = KillOnDrop(
        std::process::Command::new(NODE_EXPORTER)
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let cfg = job(&format!(
        "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['{addr}']\n"
    ));
    let target = populate_labels(&BTreeMap::new(), &addr, &cfg).unwrap().unwrap();
    let scraper = HttpScraper::new(&cfg).unwrap();
    let url = target.url(&cfg.params);
    // Wait (bounded: 100 × 100 ms) for the exporter to listen.
    let mut ready = false;
    for _ in 0..100 {
        if scraper.fetch(&url, Duration::from_secs(2)).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "node_exporter did not answer on {addr}");
    let mut lp = ScrapeLoop::new(target.labels(), ScrapeOptions::from_config(&cfg));
    let mut sink = MemorySink::default();
    let r = scrape_once(&scraper, &mut lp, &mut sink, &url, target.timeout).await;
    assert!(r.up, "{r:?}");
    assert!(r.samples_scraped > 100, "{r:?}");
    assert_eq!(r.samples_scraped, r.samples_post_metric_relabeling);
    assert_eq!(r.series_added, r.samples_scraped);
    let s = sink.take();
    let build = s.iter().find(|(l, _, _)| l.metric_name() == Some("node_exporter_build_info")).unwrap();
    assert_eq!((build.0.get("job"), build.0.get("instance")), (Some("node"), Some(addr.as_str())));
    assert!(s.iter().any(|(l, _, _)| l.metric_name() == Some("node_cpu_seconds_total")));
    // A second scrape adds no series and marks nothing stale.
    let r = scrape_once(&scraper, &mut lp, &mut sink, &url, target.timeout).await;
    assert!(r.up);
    assert_eq!(r.series_added, 0);
}

// ----- manager -----

type Collected = Arc<Mutex<Vec<(Labels, i64, f64)>>>;

/// Every target's sink appends into one shared, committed list.
#[derive(Clone, Default)]
struct SharedSink {
    all: Collected,
    pending: Vec<(Labels, i64, f64)>,
}

impl ScrapeSink for SharedSink {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        self.pending.push((labels.clone(), t, v));
        Ok(())
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        self.all.lock().unwrap().append(&mut self.pending);
        Ok(())
    }
    fn rollback(&mut self) {
        self.pending.clear();
    }
}

impl SinkFactory for SharedSink {
    fn sink(&self) -> Box<dyn ScrapeSink + Send> {
        Box::new(SharedSink { all: self.all.clone(), pending: Vec::new() })
    }
}

/// Waits (bounded: 150 × 100 ms) until `cond` holds over the collected samples.
async fn wait_for(all: &Collected, what: &str, cond: impl Fn(&[(Labels, i64, f64)]) -> bool) {
    for _ in 0..150 {
        if cond(&all.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn has_up(s: &[(Labels, i64, f64)], instance: &str, stale: bool) -> bool {
    s.iter().any(|(l, _, v)| {
        l.metric_name() == Some("up") && l.get("instance") == Some(instance) && is_stale_nan(*v) == stale
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_follows_config_and_file_sd() {
    let a = start_server(Arc::new(Mutex::new(ServerState {
        body: "a_metric 1\n".into(),
        ..ServerState::default()
    })))
    .await;
    let b = start_server(Arc::new(Mutex::new(ServerState {
        body: "b_metric 2\n".into(),
        ..ServerState::default()
    })))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SharedSink::default();
    let all = sink.all.clone();
    let mgr = ScrapeManager::new(Arc::new(sink));

    let c1 = Config::parse(
        &format!("scrape_configs:\n  - job_name: m\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{a}']\n"),
        "m.yml",
    )
    .unwrap();
    mgr.apply_config(&c1);
    wait_for(&all, "first scrape of A", |s| has_up(s, &a.to_string(), false)).await;
    let t = mgr.targets();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].scrape_url, format!("http://{a}/metrics"));
    assert_eq!(t[0].health, Health::Up);
    assert_eq!(t[0].labels.get("job"), Some("m"));

    // Add file SD with B (the job's config changes, so its targets restart).
    let sd = dir.path().join("targets.json");
    std::fs::write(&sd, format!(r#"[{{"targets": ["{b}"], "labels": {{"team": "x"}}}}]"#)).unwrap();
    let mut c2 = Config::parse(
        &format!(
            "scrape_configs:\n  - job_name: m\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{a}']\n    file_sd_configs:\n      - files: ['*.json']\n"
        ),
        "m.yml",
    )
    .unwrap();
    c2.base_dir = dir.path().to_path_buf();
    mgr.apply_config(&c2);
    wait_for(&all, "first scrape of B", |s| {
        s.iter()
            .any(|(l, _, v)| l.metric_name() == Some("b_metric") && l.get("team") == Some("x") && *v == 2.0)
    })
    .await;
    assert_eq!(mgr.targets().len(), 2);

    // B leaves the file: its series and report series get stale markers.
    std::fs::write(&sd, "[]").unwrap();
    wait_for(&all, "B to go stale", |s| has_up(s, &b.to_string(), true)).await;
    assert!(
        all.lock().unwrap().iter().any(|(l, _, v)| l.metric_name() == Some("b_metric") && is_stale_nan(*v))
    );
    assert_eq!(mgr.targets().len(), 1);

    // Removing the job stops A the same way.
    mgr.apply_config(&Config::parse("", "m.yml").unwrap());
    wait_for(&all, "A to go stale", |s| has_up(s, &a.to_string(), true)).await;
    assert!(mgr.targets().is_empty());
    mgr.stop();
}
