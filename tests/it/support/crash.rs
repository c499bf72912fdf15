//! The kill -9 crash harness shared by the crash tests: the parent re-runs this test binary
//! with one ignored "child" test selected and an environment variable naming the data
//! directory; the child prints `READY` once it is writing and `ACK <payload>` after each
//! acknowledged commit; the parent lets it run for a while, SIGKILLs it (no destructors, no
//! flushing: only what the kernel has survives) and collects the acknowledged payloads. What is
//! written and what must survive stay in each test.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child test process, killed by PID if the parent fails half-way.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Child side: the data directory when this process runs as the crash child, `None` when the
/// child test is run on its own (then it does nothing).
pub fn child_dir(env_dir: &str) -> Option<PathBuf> {
    std::env::var_os(env_dir).map(PathBuf::from)
}

/// Child side: tells the parent the child is about to write.
pub fn ready() {
    println!("READY");
}

/// Child side: reports an acknowledged commit; flushed before returning, so the parent has
/// the line before anything after the commit happens.
pub fn ack(payload: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ACK {payload}").expect("write ACK");
    out.flush().expect("flush ACK");
}

/// Parent side: one child test of this binary, run against one directory.
pub struct CrashHarness {
    /// Full libtest name of the ignored child test (`module::function`).
    pub child_test: &'static str,
    /// Environment variable that carries the data directory to the child.
    pub env_dir: &'static str,
    pub dir: PathBuf,
}

impl CrashHarness {
    pub fn new(child_test: &'static str, env_dir: &'static str, dir: &Path) -> CrashHarness {
        CrashHarness { child_test, env_dir, dir: dir.to_path_buf() }
    }

    /// Starts the child, waits (at most 10 s) for `READY` if `wait_for_ready`, lets it run for
    /// `pause(ready)` and SIGKILLs it. Returns the payloads of every `ACK` line it printed.
    pub fn kill_round(&self, wait_for_ready: bool, pause: impl FnOnce(bool) -> Duration) -> Vec<String> {
        let exe = std::env::current_exe().expect("test binary path");
        let child = Command::new(exe)
            .args([self.child_test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(self.env_dir, &self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn crash child");
        let mut guard = KillOnDrop(child);
        let stdout = guard.0.stdout.take().expect("child stdout");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest may print its own text before ours on the first line.
                if line.ends_with("READY") {
                    let _ = ready_tx.send(());
                }
                if let Some(rest) = line.strip_prefix("ACK ") {
                    acks.push(rest.to_string());
                }
            }
            acks
        });
        let ready = wait_for_ready && ready_rx.recv_timeout(Duration::from_secs(10)).is_ok();
        std::thread::sleep(pause(ready));
        guard.0.kill().expect("SIGKILL crash child");
        guard.0.wait().expect("reap crash child");
        reader.join().expect("stdout reader")
    }
}
