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
