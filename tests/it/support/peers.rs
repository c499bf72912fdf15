//! Locating and running Debian-packaged peers (prometheus, node_exporter, alertmanager, …).
//! When `CI` is set a missing program is a test failure; otherwise the test is skipped with a
//! printed notice.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Finds `name` on PATH (or in /usr/bin, /usr/sbin). `None` means "skip this test" outside CI;
/// inside CI it panics with an explanation.
pub fn require(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    match found {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => {
            panic!("{name} not found but CI is set: install the Debian package {package} (.ci/run does)")
        }
        None => {
            eprintln!(
                "SKIPPED: {name} not found (Debian package {package}); set CI=1 to make this a failure"
            );
            None
        }
    }
}

/// A child process killed (by PID) when dropped.
pub struct Peer {
    pub child: Child,
    pub name: String,
}

impl Peer {
    pub fn spawn(name: &str, mut cmd: Command) -> Peer {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Peer { child, name: name.to_string() }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A started Prometheus with its temp dir and address.
pub struct Prometheus {
    pub peer: Peer,
    pub addr: String,
    _dir: tempfile::TempDir,
}

/// Starts Debian's `prometheus` on a free port with `config_yaml` (None outside CI if absent).
pub fn start_prometheus(config_yaml: &str, extra: &[&str]) -> Option<Prometheus> {
    start_prometheus_at(config_yaml, &format!("127.0.0.1:{}", super::free_port()), extra)
}

/// Starts Debian's `prometheus` listening on `addr` (so its own config can scrape it).
pub fn start_prometheus_at(config_yaml: &str, addr: &str, extra: &[&str]) -> Option<Prometheus> {
    let bin = require("prometheus", "prometheus")?;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config_yaml).expect("write prometheus.yml");
    let addr = addr.to_string();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .args(extra);
    let peer = Peer::spawn("prometheus", cmd);
    Some(Prometheus { peer, addr, _dir: dir })
}

/// Starts Debian's node_exporter on a free port; returns it and its address.
pub fn start_node_exporter() -> Option<(Peer, String)> {
    let bin = require("prometheus-node-exporter", "prometheus-node-exporter")?;
    let addr = format!("127.0.0.1:{}", super::free_port());
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--web.listen-address={addr}"));
    Some((Peer::spawn("node_exporter", cmd), addr))
}

/// Polls `f` every 200 ms until it returns `Some` or `limit` passes.
pub async fn poll<T, F, Fut>(limit: std::time::Duration, f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    super::poll_every(limit, std::time::Duration::from_millis(200), f).await
}

/// GET `http://<addr><path>` as JSON, `None` on any failure.
pub async fn get_json(addr: &str, path: &str) -> Option<serde_json::Value> {
    let r = super::http_client().get(format!("http://{addr}{path}")).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    serde_json::from_str(&r.text().await.ok()?).ok()
}
