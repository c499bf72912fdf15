//! The server stack a UI test runs against: a real `cairn serve` on 127.0.0.1 with a temp data
//! dir and a config that scrapes Cairn itself every second (plus one unreachable target) and
//! loads a rule file with a recording rule, a firing alert and a pending alert.
//!
//! The UI is always served by Cairn. For developing the UI before Cairn's API is complete, set
//! `CAIRN_UI_TEST_API=prometheus`: a Prometheus (Debian package) is started with the same config
//! and the page is opened with `?api=` pointing at it, so the embedded UI talks to Prometheus.

use super::process::{ChildGuard, free_port, poll};
use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const PROMETHEUS: &str = "/usr/bin/prometheus";

/// Rule file loaded by the config; the tests assert these names on the rules and alerts pages.
pub const RULES_YAML: &str = r#"groups:
  - name: ui-test
    interval: 1s
    rules:
      - record: ui_test:temperature:sum
        expr: sum(ui_test_temperature)
      - alert: UiTestAlwaysFiring
        expr: vector(1)
        labels:
          severity: page
        annotations:
          summary: always firing
      - alert: UiTestPending
        expr: vector(1)
        for: 1h
        annotations:
          summary: waits an hour
"#;

pub struct Stack {
    /// Base URL of the Cairn server (serves the UI).
    pub ui: String,
    /// Base URL of the API the UI talks to (Cairn itself, or Prometheus in dev mode).
    pub api: String,
    pub cairn_port: u16,
    pub http: reqwest::Client,
    pub artifacts: PathBuf,
    pub dir: tempfile::TempDir,
    dev_override: bool,
    _children: Vec<ChildGuard>,
}

/// `target/ui-screenshots`, created if needed.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("ui-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn config_yaml(cairn_port: u16, unreachable_port: u16) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n\
         scrape_configs:\n  - job_name: cairn\n    static_configs:\n      - targets: ['127.0.0.1:{cairn_port}']\n\
         \x20 - job_name: unreachable\n    static_configs:\n      - targets: ['127.0.0.1:{unreachable_port}']\n"
    )
}

async fn wait_ready(http: &reqwest::Client, base: &str, child: &mut ChildGuard) -> anyhow::Result<()> {
    let ok = poll(Duration::from_secs(30), Duration::from_millis(100), || async {
        let r = http.get(format!("{base}/-/ready")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    if ok.is_none() {
        let exited = child.exited();
        bail!("{} at {base} did not become ready (exited: {exited:?})", child.name());
    }
    Ok(())
}

impl Stack {
    pub async fn start() -> anyhow::Result<Stack> {
        let dir = tempfile::tempdir()?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        let cairn_port = free_port();
        let unreachable = free_port();
        let cfg = dir.path().join("cairn.yml");
        std::fs::write(&cfg, config_yaml(cairn_port, unreachable))?;
        std::fs::write(dir.path().join("rules.yml"), RULES_YAML)?;
        let artifacts = artifacts_dir();
        let mut children = Vec::new();

        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.arg("serve")
            .arg(format!("--listen=127.0.0.1:{cairn_port}"))
            .arg("--data")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&cfg);
        let mut cairn = ChildGuard::spawn("cairn", cmd, Some(&dir.path().join("cairn.log")))?;
        let ui = format!("http://127.0.0.1:{cairn_port}");
        wait_ready(&http, &ui, &mut cairn).await?;
        children.push(cairn);

        let mut api = ui.clone();
        let dev_override = std::env::var("CAIRN_UI_TEST_API").is_ok_and(|v| v == "prometheus");
        if dev_override {
            let port = free_port();
            let mut cmd = Command::new(PROMETHEUS);
            cmd.arg(format!("--config.file={}", cfg.display()))
                .arg(format!("--storage.tsdb.path={}", dir.path().join("prom").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--web.cors.origin=.*")
                .arg("--web.enable-remote-write-receiver");
            let mut prom = ChildGuard::spawn("prometheus", cmd, Some(&dir.path().join("prometheus.log")))?;
            api = format!("http://127.0.0.1:{port}");
            wait_ready(&http, &api, &mut prom).await?;
            children.push(prom);
        }
        Ok(Stack { ui, api, cairn_port, http, artifacts, dir, dev_override, _children: children })
    }

    /// URL of a UI page (`/query?…`), carrying the dev API override when one is in use.
    pub fn page(&self, path: &str) -> String {
        if !self.dev_override {
            return format!("{}{path}", self.ui);
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api={}", self.ui, self.api)
    }

    /// GET an API path (with query string) and return the whole JSON body, whatever the status.
    pub async fn api_get(&self, path_and_query: &str) -> anyhow::Result<(u16, Value)> {
        let r = self.http.get(format!("{}{path_and_query}", self.api)).send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        let v = serde_json::from_str(&text).with_context(|| format!("{path_and_query}: not JSON: {text}"))?;
        Ok((status, v))
    }

    /// The `data` of a successful API answer.
    pub async fn api_data(&self, path_and_query: &str) -> anyhow::Result<Value> {
        let (status, v) = self.api_get(path_and_query).await?;
        if v["status"] != "success" {
            return Err(anyhow!("{path_and_query}: HTTP {status}: {v}"));
        }
        Ok(v["data"].clone())
    }

    /// The server log so far (for failure messages).
    pub fn log(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        let mut s = read("cairn.log");
        if self.dev_override {
            s.push_str(&read("prometheus.log"));
        }
        s.chars().rev().take(4000).collect::<Vec<_>>().into_iter().rev().collect()
    }
}
