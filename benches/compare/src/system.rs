//! The three systems under test: where their binaries are, how each is started fresh on
//! 127.0.0.1 with its own temporary data directory, how readiness is detected, and how each is
//! made to persist its data before the on-disk size is measured.
//!
//! Owns per-system command lines and flush procedures; process mechanics are in `proc.rs`,
//! the measurements themselves in `run.rs`.

use crate::proc::{DirSize, ProcGuard, dir_size, free_port};
use anyhow::{Context, bail};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Cairn,
    Prometheus,
    Victoriametrics,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Cairn => "Cairn",
            Kind::Prometheus => "Prometheus",
            Kind::Victoriametrics => "VictoriaMetrics",
        }
    }

    fn ready_path(self) -> &'static str {
        match self {
            Kind::Cairn | Kind::Prometheus => "/-/ready",
            Kind::Victoriametrics => "/health",
        }
    }
}

/// How long a server may take to become ready, and to shut down cleanly.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(180);

/// Locate a system's binary: an explicit path, else the usual places. Errors say what to do.
pub fn find_binary(kind: Kind, explicit: Option<&Path>, workspace: &Path) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        bail!("{} binary {} does not exist", kind.label(), p.display());
    }
    let candidates: Vec<PathBuf> = match kind {
        Kind::Cairn => vec![workspace.join("target/release/cairn"), workspace.join("target/debug/cairn")],
        Kind::Prometheus => vec!["/usr/bin/prometheus".into(), "/usr/local/bin/prometheus".into()],
        Kind::Victoriametrics => {
            vec!["/usr/bin/victoria-metrics".into(), "/usr/local/bin/victoria-metrics".into()]
        }
    };
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return Ok(p.clone());
    }
    let hint = match kind {
        Kind::Cairn => "build it (`cargo build --release`) or pass --cairn-bin",
        Kind::Prometheus => {
            "install it (`apt-get install -y prometheus`, or pass --install) or pass --prometheus-bin"
        }
        Kind::Victoriametrics => {
            "install it (`apt-get install -y victoria-metrics`, or pass --install) or pass --vm-bin"
        }
    };
    bail!("{} binary not found (looked at {:?}); {hint}", kind.label(), candidates)
}

/// A version string for the report (best effort).
pub fn version(kind: Kind, bin: &Path) -> String {
    let out = match kind {
        Kind::Cairn => Command::new(bin).arg("--version").output(),
        Kind::Prometheus => Command::new(bin).arg("--version").output(),
        Kind::Victoriametrics => {
            Command::new("dpkg-query").args(["-W", "-f=${Version}", "victoria-metrics"]).output()
        }
    };
    match out {
        Ok(o) => {
            let text = String::from_utf8_lossy(if o.stdout.is_empty() { &o.stderr } else { &o.stdout })
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            if text.is_empty() { "unknown".into() } else { text }
        }
        Err(_) => "unknown".into(),
    }
}

/// `apt-get install` the peers and stop the services the packages start.
pub fn install_peers() -> anyhow::Result<()> {
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "prometheus", "victoria-metrics"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("run apt-get")?;
    if !status.success() {
        bail!("apt-get install prometheus victoria-metrics failed: {status}");
    }
    stop_system_services();
    Ok(())
}

/// Stop the Debian services so they do not compete for the CPU (errors ignored).
pub fn stop_system_services() {
    for svc in ["prometheus", "victoria-metrics"] {
        let ok = Command::new("systemctl").args(["stop", svc]).output().is_ok_and(|o| o.status.success());
        if !ok {
            let _ = Command::new("service").args([svc, "stop"]).output();
        }
    }
}

/// A running system with its own data directory (removed when this is dropped, after the
/// process guard has killed the server).
pub struct Running {
    pub kind: Kind,
    pub guard: ProcGuard,
    pub base: String,
    pub data: PathBuf,
    _tmp: tempfile::TempDir,
}

const EMPTY_CONFIG: &str = "global:\n  scrape_interval: 15s\nscrape_configs: []\n";

/// Start `kind` fresh on a free loopback port. Logs go to `log_dir/<kind>.log`.
pub fn start(kind: Kind, bin: &Path, tmp_parent: &Path, log_dir: &Path) -> anyhow::Result<Running> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("cairn-compare-{}-", kind.label().to_lowercase()))
        .tempdir_in(tmp_parent)
        .context("create temp dir")?;
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data)?;
    let config = tmp.path().join("config.yml");
    std::fs::write(&config, EMPTY_CONFIG)?;
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(bin);
    match kind {
        Kind::Cairn => {
            cmd.arg("serve")
                .arg("--config")
                .arg(&config)
                .arg("--data")
                .arg(&data)
                .arg("--listen")
                .arg(&addr)
                .arg("--enable-admin-api")
                .arg("--query.max-samples=500000000");
        }
        Kind::Prometheus => {
            cmd.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--web.enable-remote-write-receiver")
                .arg("--web.enable-admin-api")
                .arg("--query.max-samples=500000000")
                .arg("--log.level=warn");
        }
        Kind::Victoriametrics => {
            cmd.arg(format!("-storageDataPath={}", data.display()))
                .arg(format!("-httpListenAddr={addr}"))
                .arg("-retentionPeriod=100y")
                .arg("-search.latencyOffset=0s")
                .arg("-search.disableCache")
                .arg("-search.maxUniqueTimeseries=100000000")
                .arg("-search.maxSamplesPerQuery=10000000000")
                .arg("-loggerLevel=WARN");
        }
    }
    let log = log_dir.join(format!("{}.log", kind.label().to_lowercase()));
    let guard = ProcGuard::spawn(kind.label(), cmd, &log)?;
    Ok(Running { kind, guard, base: format!("http://{addr}"), data, _tmp: tmp })
}

impl Running {
    /// Poll the readiness endpoint until it answers 200, the process dies, or the timeout.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<Duration> {
        let t0 = Instant::now();
        let url = format!("{}{}", self.base, self.kind.ready_path());
        while t0.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.guard.exited() {
                bail!("{} exited during start-up ({status}); see its log", self.kind.label());
            }
            if let Ok(r) = client.get(&url).timeout(Duration::from_secs(2)).send().await
                && r.status().is_success()
            {
                return Ok(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{} not ready at {url} within {READY_TIMEOUT:?}", self.kind.label())
    }

    /// Make buffered data queryable (VictoriaMetrics keeps recent rows in memory for ~1-2s).
    pub async fn make_searchable(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        if self.kind == Kind::Victoriametrics {
            let url = format!("{}/internal/force_flush", self.base);
            let r = client.get(&url).timeout(Duration::from_secs(120)).send().await?;
            if !r.status().is_success() {
                bail!("GET {url}: {}", r.status());
            }
        }
        Ok(())
    }

    /// Persist everything, stop the server cleanly, and measure what is on disk.
    pub async fn persist_and_stop(&mut self, client: &reqwest::Client) -> anyhow::Result<DiskReport> {
        let mut notes = Vec::new();
        // Prometheus (and Cairn, if it offers the same admin API): a snapshot writes the whole
        // in-memory head as a compacted block, which is what the data becomes at rest.
        let mut snapshot = None;
        if matches!(self.kind, Kind::Prometheus | Kind::Cairn) {
            match self.snapshot(client).await {
                Ok(dir) => {
                    notes.push(format!("snapshot of the head into {}", dir.display()));
                    snapshot = Some(blocks_size(&dir)?);
                    if let Some(keep) = std::env::var_os(KEEP_SNAPSHOT_ENV) {
                        let dst = PathBuf::from(keep).join(self.kind.label());
                        copy_tree(&dir, &dst)?;
                        notes.push(format!("snapshot copied to {} ({KEEP_SNAPSHOT_ENV})", dst.display()));
                    }
                }
                Err(e) => notes.push(format!("no admin snapshot ({e:#})")),
            }
        }
        if self.kind == Kind::Victoriametrics {
            self.make_searchable(client).await?;
            notes.push("GET /internal/force_flush".into());
        }
        let clean = tokio::task::block_in_place(|| self.guard.terminate(SHUTDOWN_TIMEOUT))?;
        notes.push(if clean { "SIGTERM, clean exit".into() } else { "SIGTERM timed out, SIGKILL".into() });
        let after_shutdown = dir_size(&self.data, &["snapshots"])?;
        let mut breakdown = Vec::new();
        for entry in std::fs::read_dir(&self.data)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "snapshots" {
                continue;
            }
            let size = if entry.path().is_dir() {
                dir_size(&entry.path(), &[])?.apparent_bytes
            } else {
                entry.metadata()?.len()
            };
            breakdown.push((name, size));
        }
        breakdown.sort();
        let (method, measured) = match (self.kind, snapshot) {
            (_, Some(s)) => ("admin snapshot: block directories only (the head as one block)".to_string(), s),
            (Kind::Victoriametrics, None) => {
                let s = dir_size(&self.data, &["snapshots", "cache", "flock.lock"])?;
                ("data dir after force_flush + SIGTERM, without cache/".to_string(), s)
            }
            (_, None) => ("data dir after SIGTERM".to_string(), after_shutdown),
        };
        Ok(DiskReport { method, measured, after_shutdown, breakdown, notes })
    }

    async fn snapshot(&self, client: &reqwest::Client) -> anyhow::Result<PathBuf> {
        let url = format!("{}/api/v1/admin/tsdb/snapshot?skip_head=false", self.base);
        let r = client.post(&url).timeout(Duration::from_secs(600)).send().await?;
        let status = r.status();
        let body = r.text().await?;
        if !status.is_success() {
            bail!("POST {url}: {status}: {}", body.chars().take(200).collect::<String>());
        }
        let v: serde_json::Value = serde_json::from_str(&body)?;
        let name = v["data"]["name"].as_str().context("snapshot response has no data.name")?;
        if name.contains('/') || name.contains("..") {
            bail!("suspicious snapshot name {name:?}");
        }
        Ok(self.data.join("snapshots").join(name))
    }
}

/// When set, each system's admin snapshot is copied to `$CAIRN_COMPARE_KEEP_SNAPSHOT/<system>`
/// before the temporary data directory is deleted (for offline analysis of the blocks).
const KEEP_SNAPSHOT_ENV: &str = "CAIRN_COMPARE_KEEP_SNAPSHOT";

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else {
            std::fs::copy(e.path(), &dst)?;
        }
    }
    Ok(())
}

/// Sum of the sizes of the block directories (ULID-named subdirectories) of a snapshot: what
/// the data is at rest, without side files such as Cairn's 35-byte `cairn.meta`.
fn blocks_size(snapshot: &Path) -> anyhow::Result<DirSize> {
    let mut total = DirSize::default();
    for entry in std::fs::read_dir(snapshot)? {
        let entry = entry?;
        let name = entry.file_name();
        let is_ulid =
            name.len() == 26 && name.to_str().is_some_and(|n| n.chars().all(|c| c.is_ascii_alphanumeric()));
        if is_ulid && entry.path().is_dir() {
            let d = dir_size(&entry.path(), &[])?;
            total.apparent_bytes += d.apparent_bytes;
            total.allocated_bytes += d.allocated_bytes;
            total.files += d.files;
        }
    }
    Ok(total)
}

/// What was measured on disk for one system.
#[derive(Debug, Clone, Serialize)]
pub struct DiskReport {
    /// How `measured` was obtained.
    pub method: String,
    /// The size used for bytes per sample.
    pub measured: DirSize,
    /// The data directory after a clean shutdown (snapshots excluded).
    pub after_shutdown: DirSize,
    /// Apparent bytes per top-level entry of the data directory after shutdown.
    pub breakdown: Vec<(String, u64)>,
    pub notes: Vec<String>,
}
