//! Interop with a real Alertmanager (Debian package `prometheus-alertmanager`): an alert
//! evaluated by `RuleManager` (real engine over `MemStorage`, 1s interval, scheduler threads)
//! goes pending → firing → reaches Alertmanager's `/api/v2/alerts` with the right labels and
//! annotations → resolves there when the condition clears. Every wait is bounded.

use crate::support::free_port;
use crate::support::peers::{Peer, require};
use cairn::rules::api::alerts_json;
use cairn::rules::local::{EngineQuerier, MemAppender};
use cairn::rules::notifier::{AlertmanagerConfig, Notifier, NotifierOptions};
use cairn::rules::{ManagerOptions, RuleManager, now_ms};
use cairn_format::Labels;
use cairn_query::mem::MemStorage;
use std::io::{Read, Write};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A plain HTTP/1.1 GET on 127.0.0.1; returns (status, body).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `f` every 200ms until it returns `Some`, at most `secs` seconds.
fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs}s waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Writes `probe_failures{instance="web-1"} = value` at the current time every 100ms.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(storage: Arc<MemStorage>, value: Arc<AtomicU64>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            let l = Labels::from_pairs([
                ("__name__", "probe_failures"),
                ("instance", "web-1"),
                ("job", "blackbox"),
            ]);
            while !st.load(Ordering::Relaxed) {
                storage.append(&l, now_ms(), f64::from_bits(value.load(Ordering::Relaxed)));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Writer { stop, thread: Some(thread) }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const RULES: &str = r#"
groups:
  - name: probes
    interval: 1s
    rules:
      - alert: ProbeFailing
        expr: probe_failures > 0
        for: 2s
        labels:
          severity: page
          team: '{{ $labels.job }}-oncall'
        annotations:
          summary: 'Probe of {{ $labels.instance }} failing ({{ $value }} failures)'
          runbook: 'https://runbooks/{{ $externalLabels.cluster }}/probe'
"#;

/// Alertmanager's current alerts; `None` if the request failed.
fn am_alerts(port: u16) -> Option<Vec<serde_json::Value>> {
    match http_get(port, "/api/v2/alerts") {
        Some((200, body)) => {
            serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v.as_array().cloned())
        }
        _ => None,
    }
}

#[test]
fn alert_reaches_alertmanager_and_resolves() {
    let Some(am_bin) = require("prometheus-alertmanager", "prometheus-alertmanager") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(&cfg, "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n")
        .unwrap();
    let port = free_port();
    let mut cmd = Command::new(am_bin);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=");
    let _am = Peer::spawn("alertmanager", cmd);
    wait_for("Alertmanager ready", 30, || http_get(port, "/-/ready").filter(|(s, _)| *s == 200));

    let storage = Arc::new(MemStorage::new());
    let value = Arc::new(AtomicU64::new(1f64.to_bits()));
    let _writer = Writer::start(storage.clone(), value.clone());
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();

    let external = Labels::from_pairs([("cluster", "eu1")]);
    let notifier = Notifier::new(NotifierOptions { external_labels: external.clone(), ..Default::default() });
    notifier.apply_config(&[AlertmanagerConfig::for_target(&format!("127.0.0.1:{port}"))]).unwrap();
    let opts = ManagerOptions {
        eval_interval_ms: 1000,
        external_labels: external,
        external_url: "http://cairn.test:9090".into(),
        // Long enough that endsAt (now + 4 × 1m) cannot expire during the test: the alert can
        // only resolve in Alertmanager through our resolved notification.
        resend_delay_ms: 60_000,
        restore_on_start: false,
        ..Default::default()
    };
    let mgr = RuleManager::new(
        opts,
        Arc::new(EngineQuerier::new(storage.clone())),
        Arc::new(MemAppender(storage.clone())),
        Some(notifier.clone()),
    );
    mgr.load(&[rules]).unwrap();

    let state = |mgr: &RuleManager| -> Option<String> {
        alerts_json(mgr)["alerts"].as_array()?.first().map(|a| a["state"].as_str().unwrap_or("").to_string())
    };
    wait_for("pending", 15, || state(&mgr).filter(|s| s == "pending"));
    // Pending alerts are never sent.
    assert_eq!(am_alerts(port).map(|v| v.len()), Some(0), "pending alert reached Alertmanager");
    wait_for("firing", 15, || state(&mgr).filter(|s| s == "firing"));

    let alert = wait_for("alert in Alertmanager", 30, || am_alerts(port).and_then(|v| v.into_iter().next()));
    let labels = &alert["labels"];
    assert_eq!(labels["alertname"], "ProbeFailing");
    assert_eq!(labels["severity"], "page");
    assert_eq!(labels["team"], "blackbox-oncall");
    assert_eq!(labels["instance"], "web-1");
    assert_eq!(labels["job"], "blackbox");
    assert_eq!(labels["cluster"], "eu1", "external label added by the notifier");
    assert_eq!(labels.as_object().unwrap().len(), 6, "{labels}");
    assert_eq!(alert["annotations"]["summary"], "Probe of web-1 failing (1 failures)");
    assert_eq!(alert["annotations"]["runbook"], "https://runbooks/eu1/probe");
    assert_eq!(alert["status"]["state"], "active");
    let generator = alert["generatorURL"].as_str().unwrap();
    assert!(generator.starts_with("http://cairn.test:9090/graph?g0.expr=probe_failures"), "{generator}");
    let ends_at = cairn::api::params::parse_rfc3339(alert["endsAt"].as_str().unwrap()).unwrap();
    assert!(ends_at > now_ms() + 180_000, "endsAt = now + 4 × resend_delay, got {}", alert["endsAt"]);

    // Clear the condition: the rule resolves, the resolved alert is sent, and Alertmanager
    // stops listing it as active.
    value.store(0f64.to_bits(), Ordering::Relaxed);
    wait_for("rule resolved", 15, || if state(&mgr).is_none() { Some(()) } else { None });
    wait_for("alert resolved in Alertmanager", 30, || {
        let alerts = am_alerts(port)?;
        let active = alerts.iter().filter(|a| a["status"]["state"] == "active").count();
        if active == 0 { Some(()) } else { None }
    });
    // The scheduler evaluated on the group's grid: k × 1s + the group's hash offset.
    let g = &mgr.groups()[0];
    let off = (g.hash() % 1000) as i64;
    assert_eq!(
        (g.last_eval_ms() - off).rem_euclid(1000),
        0,
        "last evaluation {} off the grid",
        g.last_eval_ms()
    );
    let metrics = mgr.metrics();
    let get = |name: &str| metrics.iter().filter(|(n, _, _)| n == name).map(|(_, _, v)| *v).sum::<f64>();
    assert!(get("cairn_notifications_sent_total") >= 2.0, "firing and resolved were sent: {metrics:?}");
    assert_eq!(get("cairn_notifications_dropped_total"), 0.0);
    assert_eq!(get("cairn_rule_evaluation_failures_total"), 0.0);
    mgr.stop();
    notifier.stop();
}
