//! Interop with a real Alertmanager (Debian package `prometheus-alertmanager`). In-process: an
//! alert evaluated by `RuleManager` (real engine over `MemStorage`, 1s interval, scheduler
//! threads) goes pending → firing → reaches Alertmanager's `/api/v2/alerts` with the right
//! labels and annotations → resolves there when the condition clears. Through `cairn serve`
//! with a Prometheus-style config: external labels on the received alerts,
//! `alert_relabel_configs` dropping and rewriting alerts, an Alertmanager found by file SD while
//! Cairn runs (and one dropped by `relabel_configs`, listed by `/api/v1/alertmanagers`), an
//! Alertmanager behind basic auth, one behind TLS, and the whole chain with node_exporter
//! (scrape → recording rule → alert → Alertmanager). Every wait is bounded.

use crate::support::CairnServer;
use crate::support::peers::{AM_PASSWORD, AM_USER, Alertmanager};
use cairn::config::Config;
use cairn::rules::api::alerts_json;
use cairn::rules::local::{EngineQuerier, MemAppender};
use cairn::rules::notifier::{Notifier, NotifierConfig, NotifierOptions};
use cairn::rules::{ManagerOptions, RuleManager, now_ms};
use cairn_format::Labels;
use cairn_query::mem::MemStorage;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

#[test]
fn alert_reaches_alertmanager_and_resolves() {
    let Some(am) = Alertmanager::start(false) else { return };
    let dir = tempfile::tempdir().unwrap();

    let storage = Arc::new(MemStorage::new());
    let value = Arc::new(AtomicU64::new(1f64.to_bits()));
    let _writer = Writer::start(storage.clone(), value.clone());
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();

    let external = Labels::from_pairs([("cluster", "eu1")]);
    let cfg = Config::parse(
        &format!(
            "global:\n  external_labels: {{cluster: eu1}}\nalerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
            am.port
        ),
        "prometheus.yml",
    )
    .unwrap();
    let notifier = Notifier::new(NotifierOptions::default());
    notifier.apply(NotifierConfig::from_config(&cfg).unwrap());
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
    assert_eq!(am.alerts().map(|v| v.len()), Some(0), "pending alert reached Alertmanager");
    wait_for("firing", 15, || state(&mgr).filter(|s| s == "firing"));

    let alert = wait_for("alert in Alertmanager", 30, || am.alerts().and_then(|v| v.into_iter().next()));
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
        let alerts = am.alerts()?;
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
    // /metrics renders the rule manager's and the notifier's families side by side.
    let mut metrics = mgr.metrics();
    metrics.extend(notifier.metrics());
    let get = |name: &str| metrics.iter().filter(|(n, _, _)| n == name).map(|(_, _, v)| *v).sum::<f64>();
    assert!(get("cairn_notifications_sent_total") >= 2.0, "firing and resolved were sent: {metrics:?}");
    assert_eq!(get("cairn_notifications_dropped_total"), 0.0);
    assert_eq!(get("cairn_rule_evaluation_failures_total"), 0.0);
    mgr.stop();
    notifier.stop();
}

/// Rules that fire on the first evaluation (1s interval).
const SERVE_RULES: &str = r#"
groups:
  - name: always
    interval: 1s
    rules:
      - alert: Kept
        expr: vector(1)
        labels: {severity: page}
      - alert: Noisy
        expr: vector(1)
      - alert: Rewritten
        expr: vector(1)
        labels: {team: db}
"#;

/// Alert names → labels, of the alerts Alertmanager lists once `want` names are all there.
fn wait_for_alerts(am: &Alertmanager, want: &[&str]) -> BTreeMap<String, serde_json::Value> {
    wait_for("alerts in Alertmanager", 60, || {
        let by_name: BTreeMap<String, serde_json::Value> = am
            .alerts()?
            .into_iter()
            .map(|a| (a["labels"]["alertname"].as_str().unwrap_or("").to_string(), a["labels"].clone()))
            .collect();
        if want.iter().all(|w| by_name.contains_key(*w)) { Some(by_name) } else { None }
    })
}

#[tokio::test]
async fn serve_sends_to_file_sd_alertmanager_with_external_labels_and_alert_relabeling() {
    let Some(am) = Alertmanager::start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("am")).unwrap();
    std::fs::write(dir.path().join("rules.yml"), SERVE_RULES).unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        r#"
global:
  evaluation_interval: 1s
  external_labels:
    cluster: eu1
    severity: external
rule_files: ['rules.yml']
alerting:
  alert_relabel_configs:
    - source_labels: [alertname]
      regex: Noisy
      action: drop
    - source_labels: [alertname, team]
      regex: 'Rewritten;db'
      target_label: team
      replacement: storage
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:1']
      file_sd_configs:
        - files: ['am/*.json']
      relabel_configs:
        # Keep only what file SD found (static targets have no __meta_filepath).
        - source_labels: [__meta_filepath]
          regex: ''
          action: drop
"#,
    )
    .unwrap();
    // Firing alerts are re-sent every second, so an Alertmanager found later gets them soon.
    let cairn =
        CairnServer::start(&["--config", cfg.to_str().unwrap(), "--rules.alert.resend-delay=1s"]).await;
    let ams = cairn.get_json("/api/v1/alertmanagers").await;
    assert_eq!(ams["data"]["activeAlertmanagers"], serde_json::json!([]), "no file-SD file yet");
    // The Alertmanager appears in a file-SD file while Cairn runs.
    std::fs::write(
        dir.path().join("am/local.json"),
        format!(r#"[{{"targets": ["127.0.0.1:{}"]}}]"#, am.port),
    )
    .unwrap();

    let got = wait_for_alerts(&am, &["Kept", "Rewritten"]);
    // The three alerts of one evaluation go out in one batch: Noisy would be here by now.
    assert_eq!(got.keys().collect::<Vec<_>>(), ["Kept", "Rewritten"], "{got:?}");
    let kept = &got["Kept"];
    assert_eq!(kept["cluster"], "eu1", "external label added: {kept}");
    assert_eq!(kept["severity"], "page", "the alert's own label wins over the external one: {kept}");
    let rewritten = &got["Rewritten"];
    assert_eq!(rewritten["team"], "storage", "{rewritten}");
    assert_eq!(rewritten["cluster"], "eu1");
    assert_eq!(rewritten["severity"], "external");

    let ams = cairn.get_json("/api/v1/alertmanagers").await;
    assert_eq!(
        ams["data"],
        serde_json::json!({
            "activeAlertmanagers": [{"url": format!("http://127.0.0.1:{}/api/v2/alerts", am.port)}],
            "droppedAlertmanagers": [{"url": "http://127.0.0.1:1/api/v2/alerts"}],
        })
    );
    cairn.stop();
}

#[tokio::test]
async fn serve_sends_to_alertmanager_behind_basic_auth() {
    let Some(am) = Alertmanager::start(true) else { return };
    // The web config really demands credentials.
    let unauthenticated = crate::support::peers::http_get(am.port, "/api/v2/alerts", None).map(|(s, _)| s);
    assert_eq!(unauthenticated, Some(401));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), SERVE_RULES).unwrap();
    std::fs::write(dir.path().join("am-password"), format!("{AM_PASSWORD}\n")).unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  evaluation_interval: 1s\n  external_labels:\n    home: '${{HOME}}'\nrule_files: ['rules.yml']\nalerting:\n  alertmanagers:\n    - basic_auth:\n        username: {AM_USER}\n        password_file: am-password\n      timeout: 5s\n      static_configs:\n        - targets: ['127.0.0.1:{}']\n",
            am.port
        ),
    )
    .unwrap();
    // Prometheus's flags as a start script would pass them.
    let cairn = CairnServer::start(&[
        "--config.file",
        cfg.to_str().unwrap(),
        "--web.enable-lifecycle",
        "--web.external-url=http://cairn.example:9090/",
        "--rules.alert.resend-delay=1m",
        "--alertmanager.notification-queue-capacity=100",
        "--enable-feature=expand-external-labels",
    ])
    .await;
    let got = wait_for_alerts(&am, &["Kept", "Noisy", "Rewritten"]);
    assert_eq!(got["Rewritten"]["team"], "db", "no relabeling configured");
    let alerts = am.alerts().unwrap();
    let generator = alerts[0]["generatorURL"].as_str().unwrap();
    assert_eq!(generator, "http://cairn.example:9090/graph?g0.expr=vector%281%29&g0.tab=1");
    // expand-external-labels: `${HOME}` became the server's environment value.
    match std::env::var("HOME").ok().filter(|h| !h.is_empty()) {
        Some(home) => assert_eq!(got["Kept"]["home"], home.as_str()),
        None => assert!(got["Kept"].get("home").is_none()),
    }
    cairn.stop();
}

/// The notifier's (sent, errors) counters summed over its Alertmanagers.
fn sent_and_errors(n: &Notifier) -> (f64, f64) {
    let m = n.metrics();
    let sum = |name: &str| m.iter().filter(|(k, _, _)| k == name).map(|(_, _, v)| *v).sum::<f64>();
    (sum("cairn_notifications_sent_total"), sum("cairn_notifications_errors_total"))
}

#[test]
fn tls_alertmanager_checked_against_ca_file_and_server_name() {
    // The certificate is for `am.test` only, signed by the fixture CA; we connect to 127.0.0.1.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let Some(am) =
        Alertmanager::start_with(false, Some((&fixtures.join("server.pem"), &fixtures.join("server.key"))))
    else {
        return;
    };
    let notifier_for = |tls: &str| {
        let yaml = format!(
            "alerting:\n  alertmanagers:\n    - scheme: https\n      tls_config:\n{tls}      static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
            am.port
        );
        let mut cfg = Config::parse(&yaml, "prometheus.yml").unwrap();
        cfg.base_dir = fixtures.clone();
        let n = Notifier::new(NotifierOptions { attempts: 1, ..Default::default() });
        n.apply(NotifierConfig::from_config(&cfg).unwrap());
        n
    };
    let alert = cairn::rules::notifier::OutAlert {
        labels: Labels::from_pairs([("alertname", "TlsProbe")]),
        annotations: Labels::empty(),
        starts_at: now_ms(),
        ends_at: 0,
        generator_url: String::new(),
    };
    // Right CA and the certificate's name: delivered.
    let good = notifier_for("        ca_file: ca.pem\n        server_name: am.test\n");
    good.send(vec![alert.clone()]);
    wait_for("sent over TLS", 30, || (sent_and_errors(&good).0 == 1.0).then_some(()));
    good.stop();
    // The same CA without server_name: the certificate does not name 127.0.0.1, so it fails.
    let wrong_name = notifier_for("        ca_file: ca.pem\n");
    wrong_name.send(vec![alert.clone()]);
    wait_for("rejected certificate", 30, || (sent_and_errors(&wrong_name).1 == 1.0).then_some(()));
    assert_eq!(sent_and_errors(&wrong_name).0, 0.0);
    wrong_name.stop();
    // insecure_skip_verify accepts it without a CA.
    let insecure = notifier_for("        insecure_skip_verify: true\n");
    insecure.send(vec![alert]);
    wait_for("sent without verification", 30, || (sent_and_errors(&insecure).0 == 1.0).then_some(()));
    insecure.stop();
}

/// The whole chain with Debian's programs and a config written as for Prometheus: Cairn scrapes
/// node_exporter, a recording rule and an alert read the scraped series, and the alert reaches
/// Alertmanager with the target's labels, the external labels and its templated annotation.
#[tokio::test]
async fn serve_scrapes_node_exporter_and_alerts_alertmanager() {
    let Some((_node, node_addr)) = crate::support::peers::start_node_exporter() else { return };
    let Some(am) = Alertmanager::start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("node.rules.yml"),
        r#"
groups:
  - name: node
    rules:
      - record: job:node_cpu_seconds:count
        expr: count by (job) (node_cpu_seconds_total)
      - alert: NodeExporterUp
        expr: up{job="node"} == 1 and on(job) job:node_cpu_seconds:count > 0
        labels:
          severity: info
        annotations:
          summary: 'node_exporter on {{ $labels.instance }} is up (value {{ $value }})'
"#,
    )
    .unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"
global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels:
    monitor: 'e2e'
rule_files:
  - '*.rules.yml'
alerting:
  alertmanagers:
  - static_configs:
    - targets: ['127.0.0.1:{}']
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['{node_addr}']
"#,
            am.port
        ),
    )
    .unwrap();
    let cairn = CairnServer::start(&["--config.file", cfg.to_str().unwrap()]).await;
    let got = wait_for_alerts(&am, &["NodeExporterUp"]);
    let labels = &got["NodeExporterUp"];
    assert_eq!(labels["instance"], node_addr.as_str(), "{labels}");
    assert_eq!(labels["job"], "node");
    assert_eq!(labels["monitor"], "e2e");
    assert_eq!(labels["severity"], "info");
    let alerts = am.alerts().unwrap();
    let summary = alerts[0]["annotations"]["summary"].as_str().unwrap();
    assert_eq!(summary, format!("node_exporter on {node_addr} is up (value 1)"));
    cairn.stop();
}
