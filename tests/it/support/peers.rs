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

/// A started Alertmanager (Debian's `prometheus-alertmanager`) with its temp dir and port.
pub struct Alertmanager {
    pub peer: Peer,
    pub port: u16,
    /// `Authorization` header its web config demands, if any.
    pub auth: Option<String>,
    _dir: tempfile::TempDir,
}

/// bcrypt (cost 4) of the password [`AM_PASSWORD`], for Alertmanager's `basic_auth_users`.
/// Made once with `python3 -c 'import crypt; print(crypt.crypt("s3cret",
/// crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))'` so the tests need no bcrypt library.
pub const AM_PASSWORD_BCRYPT: &str = "$2b$04$D4yUNoZaJCwygKFv.YD4de9OQKjCFO5fNfx.KJ58MmlcAQB/Dp9hK";
/// The password behind [`AM_PASSWORD_BCRYPT`].
pub const AM_PASSWORD: &str = "s3cret";
/// The user Alertmanager's web config admits when started with basic auth.
pub const AM_USER: &str = "cairn";

impl Alertmanager {
    /// Starts an Alertmanager with a null receiver on a free port, optionally behind basic auth
    /// ([`AM_USER`] / [`AM_PASSWORD`]), and waits (bounded) until `/-/ready` answers. `None`
    /// outside CI when the program is missing.
    pub fn start(basic_auth: bool) -> Option<Alertmanager> {
        Self::start_with(basic_auth, None)
    }

    /// Like [`Alertmanager::start`]; with `tls = Some((cert_file, key_file))` it serves HTTPS
    /// only, and readiness is a TCP connect (the plain GET helpers do not speak TLS).
    pub fn start_with(
        basic_auth: bool,
        tls: Option<(&std::path::Path, &std::path::Path)>,
    ) -> Option<Alertmanager> {
        let bin = require("prometheus-alertmanager", "prometheus-alertmanager")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("am.yml");
        std::fs::write(&cfg, "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n")
            .expect("write am.yml");
        let port = super::free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=");
        let mut auth = None;
        let mut web = String::new();
        if basic_auth {
            web.push_str(&format!("basic_auth_users:\n  {AM_USER}: '{AM_PASSWORD_BCRYPT}'\n"));
            let b64 = base64(format!("{AM_USER}:{AM_PASSWORD}").as_bytes());
            auth = Some(format!("Basic {b64}"));
        }
        if let Some((cert, key)) = tls {
            web.push_str(&format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if !web.is_empty() {
            let path = dir.path().join("web.yml");
            std::fs::write(&path, web).expect("write web.yml");
            cmd.arg(format!("--web.config.file={}", path.display()));
        }
        let am = Alertmanager { peer: Peer::spawn("alertmanager", cmd), port, auth, _dir: dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let ready = |am: &Alertmanager| match tls {
            Some(_) => std::net::TcpStream::connect(("127.0.0.1", am.port)).is_ok(),
            None => am.get("/-/ready").map(|(s, _)| s) == Some(200),
        };
        while !ready(&am) {
            assert!(std::time::Instant::now() < deadline, "Alertmanager on port {port} not ready in 30s");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(am)
    }

    /// A plain HTTP/1.1 GET (with the auth header if configured); (status, body).
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path, self.auth.as_deref())
    }

    /// Alertmanager's current alerts; `None` if the request failed.
    pub fn alerts(&self) -> Option<Vec<serde_json::Value>> {
        match self.get("/api/v2/alerts") {
            Some((200, body)) => {
                serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v.as_array().cloned())
            }
            _ => None,
        }
    }
}

/// A plain HTTP/1.1 GET on 127.0.0.1 with an optional Authorization header; (status, body).
pub fn http_get(port: u16, path: &str, auth: Option<&str>) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n").ok()?;
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

/// Standard base64 with padding (test-side, to build Basic auth headers independently of Cairn).
pub fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() { A[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    out
}
