//! Process plumbing: a guard that owns one child server process (SIGTERM for a clean stop,
//! SIGKILL on drop), readings from `/proc/<pid>` (CPU time, peak RSS) and on-disk sizes.
//! Knows nothing of which system runs inside the process (see `system.rs`).

use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A started server process. Dropping the guard kills it by PID (SIGKILL) and reaps it, so an
/// error, a panic or Ctrl-C never leaves a server behind.
pub struct ProcGuard {
    child: Option<Child>,
    pub pid: u32,
}

impl ProcGuard {
    /// Start `cmd` with stdout/stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<ProcGuard> {
        let out = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().with_context(|| format!("start {name}: {cmd:?}"))?;
        let pid = child.id();
        Ok(ProcGuard { child: Some(child), pid })
    }

    /// Whether the process has exited (reaping it if so).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Ask for a clean shutdown (SIGTERM) and wait up to `timeout`; SIGKILL after that.
    /// Returns whether the process exited on its own within the timeout.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        self.stop_with(libc::SIGTERM, timeout)
    }

    /// Send `signal`, wait up to `timeout` for the exit, SIGKILL after that.
    pub fn stop_with(&mut self, signal: libc::c_int, timeout: Duration) -> anyhow::Result<bool> {
        let Some(child) = self.child.as_mut() else { return Ok(true) };
        if child.try_wait()?.is_none() {
            let pid = libc::pid_t::try_from(self.pid).context("pid out of range")?;
            // SAFETY: plain kill(2) on the PID of a child we spawned and have not reaped yet, so
            // the PID cannot have been reused by another process.
            unsafe { libc::kill(pid, signal) };
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                self.child = None;
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        self.child = None;
        Ok(false)
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// CPU time (user + system) the process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; fields are counted after its closing ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 is at index 0, so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    // SAFETY: sysconf with a valid name has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks <= 0 {
        bail!("sysconf(_SC_CLK_TCK) failed");
    }
    Ok((utime + stime) as f64 / ticks as f64)
}

/// A `kB` field of `/proc/<pid>/status` (e.g. `VmHWM`, `VmRSS`), in bytes.
pub fn status_bytes(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    for line in status.lines() {
        if let Some(v) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let kb: u64 = v.trim().trim_end_matches("kB").trim().parse()?;
            return Ok(kb * 1024);
        }
    }
    bail!("{field} not in /proc/{pid}/status")
}

/// Sizes of a directory tree: apparent (sum of file lengths) and allocated (st_blocks × 512).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DirSize {
    pub apparent_bytes: u64,
    pub allocated_bytes: u64,
    pub files: u64,
}

/// Walk `dir` (not following symlinks), skipping top-level entries named in `skip`.
pub fn dir_size(dir: &Path, skip: &[&str]) -> anyhow::Result<DirSize> {
    use std::os::unix::fs::MetadataExt;
    let mut total = DirSize::default();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    let mut visited = 0usize;
    while let Some((d, depth)) = stack.pop() {
        visited += 1;
        if visited > 1_000_000 {
            bail!("more than a million directories under {}", dir.display());
        }
        for entry in std::fs::read_dir(&d).with_context(|| format!("read_dir {}", d.display()))? {
            let entry = entry?;
            if depth == 0 && skip.iter().any(|s| entry.file_name() == *s) {
                continue;
            }
            let meta = entry.path().symlink_metadata()?;
            if meta.is_dir() {
                stack.push((entry.path(), depth + 1));
            } else if meta.is_file() {
                total.apparent_bytes += meta.len();
                total.allocated_bytes += meta.blocks() * 512;
                total.files += 1;
            }
        }
    }
    Ok(total)
}

/// A free TCP port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
