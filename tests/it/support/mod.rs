//! Test support shared by the integration tests: starting the real `cairn` binary on a free
//! loopback port, HTTP helpers, locating Debian-packaged peer programs (which must exist
//! when `CI` is set), and the kill -9 crash harness (`crash`).

#![allow(dead_code)]

pub mod crash;
pub mod peers;
pub mod remote;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Polls `f` every `every` until it returns `Some`, at most `limit` long; `None` on time-out.
pub async fn poll_every<T, F, Fut>(limit: Duration, every: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if start.elapsed() >= limit {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// Installs the rustls crypto provider reqwest needs (idempotent) and builds a client.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("reqwest client")
}

/// A running `cairn serve` child process, killed on drop.
pub struct CairnServer {
    child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl CairnServer {
    /// Starts `cairn serve` with a fresh temp data dir plus `extra` args, and waits until ready.
    pub async fn start(extra: &[&str]) -> CairnServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let mut s = Self::start_in(&data, extra).await;
        s._tmp = Some(tmp);
        s
    }

    /// Starts `cairn serve` on an existing data dir (for restart tests).
    pub async fn start_in(data: &Path, extra: &[&str]) -> CairnServer {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(data.with_extension(format!("log.{port}"))).ok();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.arg("serve").arg("--data").arg(data).arg("--listen").arg(&addr).args(extra);
        cmd.stdout(Stdio::null());
        match log {
            Some(f) => cmd.stderr(Stdio::from(f)),
            None => cmd.stderr(Stdio::null()),
        };
        let child = cmd.spawn().expect("spawn cairn");
        let server = CairnServer { child, addr, data_dir: data.to_path_buf(), _tmp: None };
        server.wait_ready(Duration::from_secs(30)).await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn wait_ready(&self, max: Duration) {
        let client = http_client();
        let deadline = Instant::now() + max;
        while Instant::now() < deadline {
            if let Ok(r) = client.get(self.url("/-/ready")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cairn did not become ready on {} within {max:?}; log: {}", self.addr, self.log());
    }

    /// The server's stderr log so far.
    pub fn log(&self) -> String {
        let port = self.addr.rsplit(':').next().unwrap_or("");
        std::fs::read_to_string(self.data_dir.with_extension(format!("log.{port}"))).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM and wait (bounded), for restart tests.
    pub fn stop(mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: plain kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (bounded) for the process to exit on its own; `None` if it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// GET and parse JSON, asserting HTTP 200.
    pub async fn get_json(&self, path_and_query: &str) -> serde_json::Value {
        let r = http_client().get(self.url(path_and_query)).send().await.expect("GET");
        let status = r.status();
        let text = r.text().await.expect("body");
        assert!(status.is_success(), "GET {path_and_query} -> {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON from {path_and_query}: {e}: {text}"))
    }

    /// GET returning (status, body text) without asserting.
    pub async fn get_raw(&self, path_and_query: &str) -> (u16, String) {
        let r = http_client().get(self.url(path_and_query)).send().await.expect("GET");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }
}

impl Drop for CairnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
