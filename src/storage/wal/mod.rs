//! The write-ahead log writer: segmented files of framed records, group commit, the fsync
//! policy, poisoning, and checkpoints. Byte layout: `storage-format/src/wal.md`.
//!
//! Group commit: appenders add whole frames to a shared in-memory buffer (`pending`, a short
//! critical section) and get back the logical end offset of their bytes. `flush(end)` then
//! takes the I/O lock; whoever gets it first writes *everything* pending (one `write`, and
//! under `FsyncPolicy::Always` one `fsync`) so every appender queued behind it finds its
//! bytes already durable and returns without a syscall. Under `Interval`, `flush` writes to
//! the OS (surviving a process crash) and a background thread fsyncs every interval.
//!
//! After any failed write or fsync the log is poisoned: every later append, flush and
//! checkpoint fails with `StorageError::Poisoned` until the database is reopened (the kernel
//! may have dropped the dirty pages, so retrying the fsync could falsely succeed).

pub mod replay;
pub mod segments;

use super::dir::sync_dir;
use super::error::StorageError;
use super::options::FsyncPolicy;
use cairn_format::frame::{begin_frame, finish_frame};
use parking_lot::{Condvar, Mutex};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

struct Pending {
    buf: Vec<u8>,
    /// Logical offset (bytes ever appended) at the end of `buf`.
    end: u64,
}

struct Io {
    file: File,
    path: PathBuf,
    segment: u64,
    segment_len: u64,
    /// Logical offset written to the OS / fsynced.
    written: u64,
    synced: u64,
    spare: Vec<u8>,
}

pub struct Wal {
    dir: PathBuf,
    policy: FsyncPolicy,
    segment_bytes: u64,
    pending: Mutex<Pending>,
    io: Mutex<Io>,
    /// Fast-path copies of `io.written` / `io.synced`.
    written: AtomicU64,
    synced: AtomicU64,
    poisoned: Mutex<Option<String>>,
    is_poisoned: AtomicBool,
    stop: Mutex<bool>,
    stop_cv: Condvar,
}

fn open_segment(dir: &Path, n: u64) -> Result<(File, PathBuf), StorageError> {
    let path = dir.join(segments::segment_name(n));
    let file =
        OpenOptions::new().create(true).append(true).open(&path).map_err(|e| StorageError::io(&path, e))?;
    sync_dir(dir)?;
    Ok((file, path))
}

impl Wal {
    /// Opens a writer on a new segment numbered `last_segment + 1`.
    pub fn open(
        dir: &Path,
        last_segment: u64,
        policy: FsyncPolicy,
        segment_bytes: u64,
    ) -> Result<Arc<Wal>, StorageError> {
        let segment = last_segment + 1;
        let (file, path) = open_segment(dir, segment)?;
        let wal = Arc::new(Wal {
            dir: dir.to_path_buf(),
            policy,
            segment_bytes,
            pending: Mutex::new(Pending { buf: Vec::with_capacity(1 << 16), end: 0 }),
            io: Mutex::new(Io {
                file,
                path,
                segment,
                segment_len: 0,
                written: 0,
                synced: 0,
                spare: Vec::new(),
            }),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            poisoned: Mutex::new(None),
            is_poisoned: AtomicBool::new(false),
            stop: Mutex::new(false),
            stop_cv: Condvar::new(),
        });
        if let FsyncPolicy::Interval(every) = policy {
            let w = Arc::downgrade(&wal);
            std::thread::Builder::new()
                .name("cairn-wal-sync".into())
                .spawn(move || Self::sync_loop(w, every))
                .map_err(|e| StorageError::io(dir, e))?;
        }
        Ok(wal)
    }

    fn sync_loop(w: std::sync::Weak<Wal>, every: Duration) {
        loop {
            let Some(wal) = w.upgrade() else { return };
            {
                let mut stop = wal.stop.lock();
                if !*stop {
                    wal.stop_cv.wait_for(&mut stop, every);
                }
                if *stop {
                    return;
                }
            }
            // Errors poison the log; the next commit reports them.
            let _ = wal.sync();
        }
    }

    pub fn check_poisoned(&self) -> Result<(), StorageError> {
        if self.is_poisoned.load(Ordering::Acquire) {
            let cause = self.poisoned.lock().clone().unwrap_or_default();
            return Err(StorageError::Poisoned { cause });
        }
        Ok(())
    }

    fn poison(&self, what: String) -> StorageError {
        tracing::error!(cause = %what, "WAL write failed; refusing further writes until reopen");
        *self.poisoned.lock() = Some(what.clone());
        self.is_poisoned.store(true, Ordering::Release);
        StorageError::Poisoned { cause: what }
    }

    /// Appends one framed record whose payload `encode` writes; returns the logical end
    /// offset to pass to [`flush`](Self::flush). Cheap: no I/O.
    pub fn append(&self, encode: impl FnOnce(&mut Vec<u8>)) -> u64 {
        let mut p = self.pending.lock();
        let start = begin_frame(&mut p.buf);
        encode(&mut p.buf);
        finish_frame(&mut p.buf, start);
        p.end += (p.buf.len() - start) as u64;
        p.end
    }

    /// Appends already framed bytes (one or more whole frames built with
    /// `cairn_format::frame`); returns the logical end offset like [`append`](Self::append).
    /// Lets callers encode and checksum outside the shared buffer's lock.
    pub fn append_framed(&self, frames: &[u8]) -> u64 {
        let mut p = self.pending.lock();
        p.buf.extend_from_slice(frames);
        p.end += frames.len() as u64;
        p.end
    }

    /// Makes everything up to logical offset `upto` written (and fsynced under `Always`).
    pub fn flush(&self, upto: u64) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let durable = match self.policy {
            FsyncPolicy::Always => &self.synced,
            FsyncPolicy::Interval(_) => &self.written,
        };
        if durable.load(Ordering::Acquire) >= upto {
            return Ok(());
        }
        let mut io = self.io.lock();
        self.check_poisoned()?;
        if io.written < upto {
            self.write_pending(&mut io)?;
        }
        if matches!(self.policy, FsyncPolicy::Always) && io.synced < upto {
            self.sync_locked(&mut io)?;
        }
        Ok(())
    }

    /// Writes all pending bytes (I/O lock held); rotates the segment when it is full.
    fn write_pending(&self, io: &mut Io) -> Result<(), StorageError> {
        let mut buf = std::mem::take(&mut io.spare);
        let end = {
            let mut p = self.pending.lock();
            std::mem::swap(&mut p.buf, &mut buf);
            p.end
        };
        if buf.is_empty() {
            io.spare = buf;
            return Ok(());
        }
        if let Err(e) = io.file.write_all(&buf) {
            return Err(self.poison(format!("write to {}: {e}", io.path.display())));
        }
        io.segment_len += buf.len() as u64;
        io.written = end;
        self.written.store(end, Ordering::Release);
        buf.clear();
        if buf.capacity() > 64 << 20 {
            buf = Vec::new();
        }
        io.spare = buf;
        if io.segment_len >= self.segment_bytes {
            self.rotate(io)?;
        }
        Ok(())
    }

    fn sync_locked(&self, io: &mut Io) -> Result<(), StorageError> {
        let target = io.written;
        if let Err(e) = io.file.sync_data() {
            return Err(self.poison(format!("fsync of {}: {e}", io.path.display())));
        }
        io.synced = target;
        self.synced.store(target, Ordering::Release);
        Ok(())
    }

    /// Closes the current segment (fsynced) and starts the next one.
    fn rotate(&self, io: &mut Io) -> Result<(), StorageError> {
        self.sync_locked(io)?;
        let (file, path) = match open_segment(&self.dir, io.segment + 1) {
            Ok(x) => x,
            Err(e) => return Err(self.poison(e.to_string())),
        };
        io.file = file;
        io.path = path;
        io.segment += 1;
        io.segment_len = 0;
        Ok(())
    }

    /// Writes and fsyncs everything appended so far.
    pub fn sync(&self) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let mut io = self.io.lock();
        self.write_pending(&mut io)?;
        if io.synced < io.written {
            self.sync_locked(&mut io)?;
        }
        Ok(())
    }

    /// Flushes, fsyncs and starts a new segment; returns the number of the last closed one.
    /// Every record appended before this call is in a segment <= the returned number.
    pub fn cut_segment(&self) -> Result<u64, StorageError> {
        self.check_poisoned()?;
        let mut io = self.io.lock();
        self.write_pending(&mut io)?;
        let closed = io.segment;
        self.rotate(&mut io)?;
        Ok(closed)
    }

    /// Publishes `checkpoint.N` built by `fill` (which appends framed records to a buffer
    /// through [`CheckpointWriter`]), then deletes segments <= N and older checkpoints.
    pub fn write_checkpoint(
        &self,
        n: u64,
        fill: impl FnOnce(&mut CheckpointWriter) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let name = segments::checkpoint_name(n);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let dst = self.dir.join(&name);
        let file = File::create(&tmp).map_err(|e| StorageError::io(&tmp, e))?;
        let mut w = CheckpointWriter {
            out: std::io::BufWriter::with_capacity(1 << 20, file),
            buf: Vec::new(),
            path: tmp.clone(),
        };
        fill(&mut w)?;
        let file = w.out.into_inner().map_err(|e| StorageError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| StorageError::io(&tmp, e))?;
        drop(file);
        super::dir::publish_path(&self.dir, &tmp, &dst)?;
        let listing = segments::list(&self.dir)?;
        for (k, path) in listing.segments.iter().filter(|(k, _)| *k <= n) {
            let _ = k;
            std::fs::remove_file(path).map_err(|e| StorageError::io(path, e))?;
        }
        for (k, path) in listing.checkpoints.iter().filter(|(k, _)| *k < n) {
            let _ = k;
            std::fs::remove_file(path).map_err(|e| StorageError::io(path, e))?;
        }
        sync_dir(&self.dir)
    }

    /// Stops the background syncer and makes everything durable.
    pub fn close(&self) -> Result<(), StorageError> {
        {
            *self.stop.lock() = true;
            self.stop_cv.notify_all();
        }
        self.sync()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Streams framed records into a checkpoint file.
pub struct CheckpointWriter {
    out: std::io::BufWriter<File>,
    buf: Vec<u8>,
    path: PathBuf,
}

impl CheckpointWriter {
    pub fn record(&mut self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), StorageError> {
        self.buf.clear();
        let start = begin_frame(&mut self.buf);
        encode(&mut self.buf);
        finish_frame(&mut self.buf, start);
        self.out.write_all(&self.buf).map_err(|e| StorageError::io(&self.path, e))
    }
}
