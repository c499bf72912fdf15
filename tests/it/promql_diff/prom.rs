//! Starting the reference Prometheus (Debian package `prometheus`, 2.42) on a free loopback port
//! with the remote-write receiver on, a temp TSDB and a config without scrape jobs. Killed by
//! PID on drop (via `support::peers::Peer`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, peers::Peer};

pub struct Prometheus {
    // Field order matters: the process dies before its directory is removed.
    _peer: Peer,
    pub base: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    pub async fn start(bin: &Path) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  evaluation_interval: 1m\n").expect("write config");
        let port = support::free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let mut cmd = Command::new(bin);
        cmd.arg("--web.enable-remote-write-receiver")
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--config.file={}", config.display()))
            .arg("--query.lookback-delta=5m")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let p = Prometheus {
            _peer: Peer { child, name: "prometheus".into() },
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        p.wait_ready(Duration::from_secs(60)).await;
        p
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    async fn wait_ready(&self, max: Duration) {
        let client = support::http_client();
        let deadline = Instant::now() + max;
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/-/ready", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus not ready on {} within {max:?}; log:\n{}", self.base, self.log());
    }
}
