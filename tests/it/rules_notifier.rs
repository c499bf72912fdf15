//! The Alertmanager notifier against a small capturing HTTP server on 127.0.0.1, configured
//! through the `alerting` section of a real configuration: batching (at most 64 alerts per
//! POST), retries, drops when every Alertmanager fails, the bounded queue, external labels
//! (alert labels win), `alert_relabel_configs`, auth headers, the active/dropped lists of
//! `/api/v1/alertmanagers`, the drain at shutdown, and the JSON it posts.

use cairn::config::Config;
use cairn::rules::api::alertmanagers_json;
use cairn::rules::notifier::{Notifier, NotifierConfig, NotifierOptions, OutAlert};
use cairn_format::Labels;
use parking_lot::Mutex;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Accepts POSTs, records (path, body), answers 500 to the first `fail_first` requests.
struct Capture {
    port: u16,
    bodies: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    auth: Arc<Mutex<Vec<String>>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    fn start(fail_first: usize) -> Capture {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let (b, r, st, au) = (bodies.clone(), requests.clone(), stop.clone(), auth.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut rd = BufReader::new(s);
                // Serve requests on this connection until it closes.
                loop {
                    let mut line = String::new();
                    if rd.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if rd.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if h.to_ascii_lowercase().starts_with("authorization:") {
                            au.lock().push(h["authorization:".len()..].trim().to_string());
                        }
                    }
                    let mut body = vec![0u8; len];
                    if rd.read_exact(&mut body).is_err() {
                        break;
                    }
                    let n = r.fetch_add(1, Ordering::SeqCst);
                    let status = if n < fail_first { "500 Internal Server Error" } else { "200 OK" };
                    if n >= fail_first {
                        b.lock()
                            .push((path, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)));
                    }
                    let resp = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                    if rd.get_mut().write_all(resp.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        Capture { port, bodies, auth, requests, stop, thread: Some(thread) }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn alert(i: usize) -> OutAlert {
    OutAlert {
        labels: Labels::from_pairs([
            ("alertname", "A".to_string()),
            ("i", i.to_string()),
            ("cluster", "own".to_string()),
        ]),
        annotations: Labels::from_pairs([("summary", format!("alert {i}"))]),
        starts_at: 1_000,
        ends_at: 250_000,
        generator_url: "http://x/graph?g0.expr=up&g0.tab=1".into(),
    }
}

fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// A notifier configured from `prometheus.yml` text: `global` (indented body) and extra keys
/// of the `alerting` section, with one Alertmanager at `port` behind basic auth.
fn notifier_with(port: u16, opts: NotifierOptions, global: &str, alerting: &str) -> Arc<Notifier> {
    let yaml = format!(
        "global:\n  scrape_interval: 1m\n{global}alerting:\n{alerting}  alertmanagers:\n    - path_prefix: /am/\n      basic_auth: {{username: cairn, password: s3cret}}\n      static_configs:\n        - targets: ['127.0.0.1:{port}']\n"
    );
    let cfg = Config::parse(&yaml, "prometheus.yml").unwrap();
    let n = Notifier::new(opts);
    n.apply(NotifierConfig::from_config(&cfg).unwrap());
    n
}

fn notifier(port: u16, opts: NotifierOptions) -> Arc<Notifier> {
    notifier_with(port, opts, "", "")
}

#[test]
fn batches_of_at_most_64_with_labels_and_json_shape() {
    let cap = Capture::start(0);
    let n = notifier_with(
        cap.port,
        NotifierOptions::default(),
        "  external_labels: {cluster: eu1, region: west}\n",
        "",
    );
    n.send((0..150).map(alert).collect());
    assert!(wait_until(20, || cap
        .bodies
        .lock()
        .iter()
        .map(|(_, b)| b.as_array().map_or(0, |a| a.len()))
        .sum::<usize>()
        == 150));
    let bodies = cap.bodies.lock().clone();
    assert!(
        bodies.iter().all(|(p, b)| p == "/am/api/v2/alerts" && b.as_array().unwrap().len() <= 64),
        "{bodies:?}"
    );
    assert!(bodies.len() >= 3);
    let first = &bodies[0].1[0];
    assert_eq!(first["labels"]["cluster"], "own", "alert labels win over external labels");
    assert_eq!(first["labels"]["region"], "west");
    assert_eq!(first["annotations"]["summary"], "alert 0");
    assert_eq!(first["startsAt"], "1970-01-01T00:00:01.000Z");
    assert_eq!(first["endsAt"], "1970-01-01T00:04:10.000Z");
    assert_eq!(first["generatorURL"], "http://x/graph?g0.expr=up&g0.tab=1");
    assert_eq!(n.dropped(), 0);
    let auth = cap.auth.lock().clone();
    assert!(!auth.is_empty() && auth.iter().all(|a| a == "Basic Y2Fpcm46czNjcmV0"), "{auth:?}");
    let am = alertmanagers_json(Some(&n));
    assert_eq!(
        am["activeAlertmanagers"][0]["url"],
        format!("http://127.0.0.1:{}/am/api/v2/alerts", cap.port)
    );
    n.stop();
}

#[test]
fn retries_then_succeeds() {
    let cap = Capture::start(2);
    let n = notifier(cap.port, NotifierOptions { attempts: 3, ..Default::default() });
    n.send(vec![alert(1)]);
    assert!(wait_until(20, || cap.bodies.lock().len() == 1));
    assert_eq!(cap.requests.load(Ordering::SeqCst), 3);
    assert_eq!(n.dropped(), 0);
    let m = n.metrics();
    let sent = m.iter().find(|(k, _, _)| k == "cairn_notifications_sent_total").unwrap().2;
    assert_eq!(sent, 1.0);
    n.stop();
}

#[test]
fn failing_alertmanager_counts_drops_and_errors() {
    let cap = Capture::start(usize::MAX);
    let n = notifier(cap.port, NotifierOptions { attempts: 2, ..Default::default() });
    n.send(vec![alert(1), alert(2)]);
    assert!(wait_until(20, || n.dropped() == 2));
    assert_eq!(cap.requests.load(Ordering::SeqCst), 2);
    let m = n.metrics();
    assert_eq!(m.iter().find(|(k, _, _)| k == "cairn_notifications_errors_total").unwrap().2, 2.0);
    n.stop();
}

#[test]
fn bounded_queue_drops_oldest_and_relabel_can_drop() {
    // One send of 25 alerts into a queue of 10: the overflow is counted before the sender
    // thread can take anything.
    let relabel = "  alert_relabel_configs:\n    - source_labels: [i]\n      regex: '0'\n      action: drop\n    - target_label: relabelled\n      replacement: 'yes'\n";
    let cap = Capture::start(0);
    let n =
        notifier_with(cap.port, NotifierOptions { queue_capacity: 10, ..Default::default() }, "", relabel);
    n.send((0..26).map(alert).collect());
    // 1 dropped by relabelling (not counted), 25 queued into 10 places: 15 dropped.
    assert_eq!(n.dropped(), 15);
    assert!(wait_until(20, || cap
        .bodies
        .lock()
        .iter()
        .map(|(_, b)| b.as_array().map_or(0, |a| a.len()))
        .sum::<usize>()
        == 10));
    let bodies = cap.bodies.lock().clone();
    let got: Vec<String> = bodies
        .iter()
        .flat_map(|(_, b)| b.as_array().unwrap().clone())
        .map(|a| a["labels"]["i"].as_str().unwrap().to_string())
        .collect();
    // The newest 10 survive.
    assert_eq!(got, (16..26).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(
        bodies
            .iter()
            .flat_map(|(_, b)| b.as_array().unwrap().clone())
            .all(|a| a["labels"]["relabelled"] == "yes")
    );
    n.stop();
}

#[test]
fn shutdown_drains_the_queue_within_its_bound() {
    // The first POST fails, so alerts are still queued or being retried when shutdown starts.
    let cap = Capture::start(1);
    let n = notifier(cap.port, NotifierOptions { attempts: 3, ..Default::default() });
    n.send((0..150).map(alert).collect());
    n.shutdown(Duration::from_secs(20));
    let received: usize = cap.bodies.lock().iter().map(|(_, b)| b.as_array().map_or(0, |a| a.len())).sum();
    assert_eq!(received, 150, "every queued alert was sent before shutdown returned");
    assert_eq!(n.dropped(), 0);
    assert_eq!(n.queue_len(), 0);
}

#[test]
fn stop_abandons_what_cannot_be_sent() {
    // Nothing listens on the port: with a zero drain bound, queued alerts are counted as dropped.
    let port = crate::support::free_port();
    let n = notifier(port, NotifierOptions { attempts: 1, ..Default::default() });
    n.send((0..200).map(alert).collect());
    n.stop();
    assert_eq!(n.queue_len(), 0);
    assert_eq!(n.dropped(), 200, "sent nowhere, so all dropped");
}

#[test]
fn bearer_token_file_and_dropped_alertmanagers() {
    let cap = Capture::start(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "t0ken\n").unwrap();
    let yaml = format!(
        "alerting:\n  alertmanagers:\n    - authorization:\n        credentials_file: token\n      static_configs:\n        - targets: ['127.0.0.1:{}', 'drop-me:9093']\n      relabel_configs:\n        - source_labels: [__address__]\n          regex: 'drop-me:.*'\n          action: drop\n",
        cap.port
    );
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, yaml).unwrap();
    let cfg = Config::load(&path).unwrap();
    let n = Notifier::new(NotifierOptions::default());
    n.apply(NotifierConfig::from_config(&cfg).unwrap());
    let am = alertmanagers_json(Some(&n));
    assert_eq!(
        am,
        serde_json::json!({
            "activeAlertmanagers": [{"url": format!("http://127.0.0.1:{}/api/v2/alerts", cap.port)}],
            "droppedAlertmanagers": [{"url": "http://drop-me:9093/api/v2/alerts"}],
        })
    );
    n.send(vec![alert(1)]);
    assert!(wait_until(20, || cap.bodies.lock().len() == 1));
    assert_eq!(cap.auth.lock().clone(), ["Bearer t0ken"]);
    n.stop();
}

#[test]
fn shutdown_abandons_a_request_the_alertmanager_never_answers() {
    // Accepts connections and never answers; the Alertmanager timeout is an hour.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        for s in l.incoming().take(4).flatten() {
            h.lock().push(s);
        }
    });
    let yaml = format!(
        "alerting:\n  alertmanagers:\n    - timeout: 1h\n      static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    );
    let n = Notifier::new(NotifierOptions { attempts: 1, ..Default::default() });
    n.apply(NotifierConfig::from_config(&Config::parse(&yaml, "p.yml").unwrap()).unwrap());
    n.send(vec![alert(1)]);
    assert!(wait_until(20, || !held.lock().is_empty()), "request under way");
    // shutdown returns within its drain bound although the request would wait an hour; the
    // 60 s below is only a liveness bound for the test, far above the 200 ms asked for.
    let (tx, rx) = std::sync::mpsc::channel();
    let n2 = n.clone();
    std::thread::spawn(move || {
        n2.shutdown(Duration::from_millis(200));
        let _ = tx.send(());
    });
    assert!(rx.recv_timeout(Duration::from_secs(60)).is_ok(), "shutdown did not return");
    assert_eq!(n.dropped(), 1);
}
