//! Prometheus configuration compatibility on the fixture files of `tests/fixtures/config/` (see
//! its README): Cairn's loader and Prometheus 2.42's `promtool check config` agree on every
//! good and bad file; `cairn serve --config` starts with each good file (and what it shows
//! matches the file) and refuses each bad one naming the file; stricter and unsupported files
//! are refused with their reason; files with keys of later Prometheus releases load; a reload
//! applies alerting changes and a refused key keeps the running configuration.
//! promtool comes from the Debian package `prometheus` (a failure under `CI` when missing).

use crate::support::CairnServer;
use crate::support::peers::require;
use cairn::config::Config;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config").join(kind)
}

/// The `.yml` files directly in a fixture directory, sorted.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {kind}");
    v
}

/// `promtool check config FILE` succeeded?
fn promtool_accepts(promtool: &Path, file: &Path) -> bool {
    let out = Command::new(promtool)
        .args(["check", "config"])
        .arg(file)
        .current_dir(file.parent().unwrap())
        .output()
        .expect("run promtool");
    out.status.success()
}

#[test]
fn good_files_load_in_cairn_and_promtool() {
    let promtool = require("promtool", "prometheus");
    for f in fixtures("good") {
        if let Err(e) = Config::load(&f) {
            panic!("Cairn refused {}: {e}", f.display());
        }
        if let Some(p) = &promtool {
            assert!(promtool_accepts(p, &f), "promtool refused {}", f.display());
        }
    }
}

#[test]
fn bad_files_fail_in_cairn_and_promtool() {
    let promtool = require("promtool", "prometheus");
    for f in fixtures("bad") {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        match Config::load(&f) {
            Ok(_) => panic!("Cairn accepted {name}"),
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains(&name), "error names the file: {e}");
            }
        }
        if let Some(p) = &promtool {
            assert!(!promtool_accepts(p, &f), "promtool accepted {name}");
        }
    }
}

#[test]
fn stricter_and_unsupported_files_are_refused_with_their_reason() {
    let promtool = require("promtool", "prometheus");
    for (kind, reason) in
        [("stricter", "expected http or https|must start with '/'"), ("unsupported", "not support")]
    {
        for f in fixtures(kind) {
            let e = match Config::load(&f) {
                Ok(_) => panic!("Cairn accepted {}", f.display()),
                Err(e) => e.to_string(),
            };
            assert!(reason.split('|').any(|r| e.contains(r)), "{}: {e}", f.display());
            // They are valid Prometheus: the difference is Cairn's, and deliberate.
            if let Some(p) = &promtool {
                assert!(promtool_accepts(p, &f), "promtool refused {}", f.display());
            }
        }
    }
}

#[test]
fn files_with_later_prometheus_keys_load() {
    let c = Config::load(fixture_dir("cairn-only").join("newer-prometheus.yml")).unwrap();
    let jobs: Vec<&str> = c.scrape_configs.iter().map(|s| s.job()).collect();
    assert_eq!(jobs, ["compressed", "node-from-file"]);
    assert!(!c.scrape_configs[0].enable_compression);
    assert_eq!(c.scrape_configs[1].body_size_limit.0, 10 << 20, "global limit inherited");
    assert_eq!(c.scrape_configs[1].sample_limit, 50_000);
    assert_eq!(c.global.rule_query_offset.to_string(), "10s");
    assert!(c.warnings.iter().any(|w| w.contains("keep_dropped_targets")), "{:?}", c.warnings);
}

/// Runs `cairn serve` on a config expected to be refused; returns its stderr. Bounded: the
/// process is killed after 30s.
fn serve_refused(cfg: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("serve")
        .arg("--config")
        .arg(cfg)
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", crate::support::free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cairn serve kept running with {}", cfg.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "cairn serve exited 0 with {}", cfg.display());
    err
}

#[test]
fn serve_refuses_bad_and_unsupported_files() {
    for f in fixtures("bad").into_iter().chain(fixtures("unsupported")) {
        let err = serve_refused(&f);
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(err.contains(&name), "{name}: {err}");
    }
    let err = serve_refused(&fixture_dir("unsupported").join("oauth2.yml"));
    assert!(err.contains("oauth2 is not supported by Cairn") && err.contains("line 3"), "{err}");
}

#[tokio::test]
async fn serve_starts_with_each_good_file() {
    for f in fixtures("good") {
        let server = CairnServer::start(&["--config", f.to_str().unwrap()]).await;
        let cfg = server.get_json("/api/v1/status/config").await;
        assert_eq!(cfg["data"]["yaml"].as_str().unwrap(), std::fs::read_to_string(&f).unwrap());
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        match name.as_str() {
            "packaged-default.yml" => {
                let am = server.get_json("/api/v1/alertmanagers").await;
                assert_eq!(
                    am["data"]["activeAlertmanagers"][0]["url"],
                    "http://localhost:9093/api/v2/alerts"
                );
                let t = server.get_json("/api/v1/targets").await;
                assert_eq!(t["data"]["activeTargets"].as_array().unwrap().len(), 2);
            }
            "full.yml" => {
                let am = server.get_json("/api/v1/alertmanagers").await;
                let urls = |k: &str| -> Vec<String> {
                    am["data"][k]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a["url"].as_str().unwrap().to_string())
                        .collect()
                };
                assert_eq!(
                    urls("activeAlertmanagers"),
                    ["http://am-1:9093/alertmanager/api/v2/alerts", "http://am-3:9093/api/v2/alerts"]
                );
                assert_eq!(urls("droppedAlertmanagers"), ["http://am-2:9093/alertmanager/api/v2/alerts"]);
                let rules = server.get_json("/api/v1/rules").await;
                let groups: Vec<&str> = rules["data"]["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g["name"].as_str().unwrap())
                    .collect();
                assert!(groups.contains(&"node") && groups.contains(&"up"), "{groups:?}");
                let log = server.log();
                assert!(log.contains("remote_write is accepted but ignored"), "{log}");
                // The blackbox pattern: URL-like static targets rewritten by relabeling.
                let t = server.get_json("/api/v1/targets").await;
                let mut probes: Vec<&str> = t["data"]["activeTargets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["labels"]["job"] == "blackbox")
                    .map(|t| t["scrapeUrl"].as_str().unwrap())
                    .collect();
                probes.sort();
                assert_eq!(
                    probes,
                    [
                        "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com",
                        "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.org",
                    ]
                );
            }
            "ignored-keys.yml" => {
                let log = server.log();
                for key in ["tracing", "storage.exemplars", "target_limit", "query_log_file", "remote_write"]
                {
                    assert!(log.contains(&format!("{key} is accepted but ignored")), "{key}: {log}");
                }
            }
            _ => {}
        }
        server.stop();
    }
}

#[tokio::test]
async fn reload_applies_alerting_changes_and_refuses_unsupported_keys() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    let alerting = |relabel: &str| {
        format!(
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['am-1:9093', 'am-2:9093']\n{relabel}"
        )
    };
    std::fs::write(&cfg, alerting("")).unwrap();
    let server =
        CairnServer::start(&["--config.file", cfg.to_str().unwrap(), "--web.enable-lifecycle"]).await;
    let count = |v: &serde_json::Value, k: &str| v["data"][k].as_array().unwrap().len();
    let am = server.get_json("/api/v1/alertmanagers").await;
    assert_eq!((count(&am, "activeAlertmanagers"), count(&am, "droppedAlertmanagers")), (2, 0));
    let reload = || async {
        let r = crate::support::http_client().post(server.url("/-/reload")).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };

    std::fs::write(
        &cfg,
        alerting("      relabel_configs:\n        - source_labels: [__address__]\n          regex: 'am-2:.*'\n          action: drop\n"),
    )
    .unwrap();
    assert_eq!(reload().await.0, 200);
    let am = server.get_json("/api/v1/alertmanagers").await;
    assert_eq!((count(&am, "activeAlertmanagers"), count(&am, "droppedAlertmanagers")), (1, 1));

    // A refused key: the reload fails naming it, and the previous Alertmanagers stay.
    std::fs::write(&cfg, format!("{}      oauth2: {{client_id: a}}\n", alerting(""))).unwrap();
    let (status, body) = reload().await;
    assert_ne!(status, 200);
    assert!(body.contains("oauth2 is not supported by Cairn"), "{body}");
    let am = server.get_json("/api/v1/alertmanagers").await;
    assert_eq!((count(&am, "activeAlertmanagers"), count(&am, "droppedAlertmanagers")), (1, 1));
    server.stop();
}

/// `cairn check config FILE` succeeded?
fn cairn_check_accepts(file: &Path) -> bool {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["check", "config"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run cairn check config")
        .success()
}

#[test]
fn check_config_command_agrees_with_promtool() {
    let promtool = require("promtool", "prometheus");
    for f in fixtures("good") {
        assert!(cairn_check_accepts(&f), "cairn check config refused {}", f.display());
    }
    for f in fixtures("bad").into_iter().chain(fixtures("stricter")).chain(fixtures("unsupported")) {
        assert!(!cairn_check_accepts(&f), "cairn check config accepted {}", f.display());
    }
    // The rule files a configuration names are checked too, as promtool does.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.rules.yml"),
        "groups:\n  - name: g\n    rules:\n      - record: 'not a name'\n        expr: up\n",
    )
    .unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "rule_files: ['*.rules.yml']\n").unwrap();
    assert!(!cairn_check_accepts(&cfg));
    if let Some(p) = &promtool {
        assert!(!promtool_accepts(p, &cfg), "promtool agrees the rule file is bad");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["check", "config"])
        .arg(fixture_dir("good").join("full.yml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("full.yml is valid prometheus config file syntax"), "{text}");
    assert!(text.contains("rules/recording.yml") && text.contains("SUCCESS: 1 rules found"), "{text}");
    assert!(text.contains("WARNING: remote_write is accepted but ignored"), "{text}");
}
