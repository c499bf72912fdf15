//! Optional CPU profiles of the subject server: `perf record` (software `cpu-clock` event, so it
//! works without hardware counters) attached by PID during the send phase and during the timed
//! query repetitions, then `perf report` of the hottest symbols by self time into a text file.
//! Owns only the perf invocations; the phases are `run.rs`'s.

use crate::proc::ProcGuard;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Sampling frequency (Hz): enough samples in a few seconds, little overhead.
const SAMPLE_HZ: u32 = 499;

/// A running `perf record -p <pid>`.
pub struct Recording {
    guard: ProcGuard,
    data: PathBuf,
    report: PathBuf,
}

/// Start recording `pid` into `dir/perf-<phase>.data`.
pub fn start(pid: u32, dir: &Path, phase: &str) -> anyhow::Result<Recording> {
    std::fs::create_dir_all(dir)?;
    let data = dir.join(format!("perf-{phase}.data"));
    let mut cmd = Command::new("perf");
    cmd.args(["record", "-e", "cpu-clock", "-F", &SAMPLE_HZ.to_string(), "-p", &pid.to_string(), "-o"])
        .arg(&data);
    let guard = ProcGuard::spawn("perf", cmd, &dir.join(format!("perf-{phase}.log")))?;
    // perf needs a moment to attach before the phase starts.
    std::thread::sleep(Duration::from_millis(300));
    Ok(Recording { guard, data, report: dir.join(format!("perf-{phase}.txt")) })
}

impl Recording {
    /// Stop (SIGINT makes perf write its file) and write the top symbols; returns the report path.
    pub fn finish(mut self) -> anyhow::Result<PathBuf> {
        self.guard.stop_with(libc::SIGINT, Duration::from_secs(60))?;
        let out = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "dso,symbol",
                "--percent-limit",
                "0.5",
                "-i",
            ])
            .arg(&self.data)
            .output()
            .context("run perf report")?;
        if !out.status.success() {
            bail!("perf report failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::write(&self.report, &out.stdout)?;
        Ok(self.report)
    }
}
