//! Child processes of a test: spawned in their own process group and killed (the whole group,
//! by the group's id) when the guard drops, also when the test panics. Plus free-port lookup
//! and bounded polling.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// A running child process; dropping it kills its process group and reaps it.
pub struct ChildGuard {
    child: Child,
    name: String,
}

impl ChildGuard {
    /// Spawns `cmd` in a new process group, its stdout/stderr appended to `log` if given.
    pub fn spawn(name: &str, mut cmd: Command, log: Option<&std::path::Path>) -> anyhow::Result<Self> {
        cmd.process_group(0).stdin(Stdio::null());
        match log {
            Some(path) => {
                let f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                cmd.stdout(f.try_clone()?).stderr(f);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = cmd.spawn().map_err(|e| anyhow::anyhow!("cannot start {name}: {e}"))?;
        Ok(ChildGuard { child, name: name.to_string() })
    }

    /// The child's exit status if it has already exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // process_group(0) made the child's group id equal its pid: kill that group (the child
        // and whatever it started, e.g. chromedriver's Chromium), then the child itself.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use crate::support::{free_port, poll_every as poll};
