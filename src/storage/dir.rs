//! The data directory: its file names, the exclusive lock (`flock` on `LOCK`), the metadata
//! file (`cairn.meta`: format version and shard count, fixed at creation) and the one helper
//! that publishes a file atomically (write tmp, fsync, rename, fsync dir). Owns no WAL or head
//! logic.

use super::error::StorageError;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "LOCK";
pub const META_FILE: &str = "cairn.meta";
pub const WAL_DIR: &str = "wal";
/// Head minimum valid time (ms) set by the last `truncate_head`, as decimal text.
pub const HEAD_MIN_FILE: &str = "head.mint";
/// Version of the data-directory layout written into `cairn.meta`.
pub const LAYOUT_VERSION: u32 = 1;

/// Attempts at the directory lock, 25 ms apart, before `Locked` is reported.
const LOCK_TRIES: u32 = 20;

/// Holds the directory lock for as long as it lives (the kernel drops a `flock` when the file
/// is closed, also when the process dies).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the exclusive, non-blocking lock on `dir/LOCK`, writing our pid into it for humans.
pub fn lock_dir(dir: &Path) -> Result<DirLock, StorageError> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| StorageError::io(&path, e))?;
    // A lock just released by `Db::close` can stay held for a moment by a child process
    // this process is spawning (it shares the descriptor between fork and exec, where
    // close-on-exec drops it), so a busy lock is retried briefly before giving up.
    let mut tries = 0;
    loop {
        // SAFETY: `flock` is called on a valid, open file descriptor owned by `file`, which
        // outlives the call; it has no memory-safety preconditions beyond that.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(StorageError::io(&path, err));
        }
        tries += 1;
        if tries >= LOCK_TRIES {
            return Err(StorageError::Locked { dir: dir.to_path_buf(), lock: path });
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    file.set_len(0).map_err(|e| StorageError::io(&path, e))?;
    writeln!(file, "{}", std::process::id()).map_err(|e| StorageError::io(&path, e))?;
    Ok(DirLock { _file: file, path })
}

/// Contents of `cairn.meta`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub version: u32,
    pub shards: usize,
}

impl Meta {
    fn encode(&self) -> String {
        format!("cairn-data-dir\nversion {}\nshards {}\n", self.version, self.shards)
    }

    fn decode(file: &Path, text: &str) -> Result<Meta, StorageError> {
        let bad = |reason: String| StorageError::BadMeta { file: file.to_path_buf(), reason };
        let mut lines = text.lines();
        if lines.next() != Some("cairn-data-dir") {
            return Err(bad("first line is not `cairn-data-dir`".into()));
        }
        let (mut version, mut shards) = (None, None);
        for line in lines {
            let (k, v) = line.split_once(' ').ok_or_else(|| bad(format!("malformed line {line:?}")))?;
            let n: u64 = v.parse().map_err(|_| bad(format!("{k}: {v:?} is not a number")))?;
            match k {
                "version" => version = Some(n),
                "shards" => shards = Some(n),
                _ => return Err(bad(format!("unknown key {k:?}"))),
            }
        }
        let version = version.ok_or_else(|| bad("missing `version`".into()))?;
        if version != u64::from(LAYOUT_VERSION) {
            return Err(bad(format!(
                "layout version {version} is not supported (this build: {LAYOUT_VERSION})"
            )));
        }
        let shards = shards.ok_or_else(|| bad("missing `shards`".into()))?;
        if shards == 0 || shards > super::options::SHARDS_MAX as u64 {
            return Err(bad(format!("shards {shards} out of range")));
        }
        Ok(Meta { version: LAYOUT_VERSION, shards: shards as usize })
    }
}

/// Reads `cairn.meta`, or creates it with `shards` when the directory is new.
pub fn load_or_create_meta(dir: &Path, shards: usize) -> Result<Meta, StorageError> {
    let path = dir.join(META_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Meta::decode(&path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let meta = Meta { version: LAYOUT_VERSION, shards };
            publish_file(dir, META_FILE, meta.encode().as_bytes())?;
            Ok(meta)
        }
        Err(e) => Err(StorageError::io(&path, e)),
    }
}

/// Reads `head.mint` (absent: no truncation yet).
pub fn load_head_min(dir: &Path) -> Result<Option<i64>, StorageError> {
    let path = dir.join(HEAD_MIN_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<i64>().map(Some).map_err(|_| StorageError::BadMeta {
            file: path.clone(),
            reason: format!("{:?} is not a timestamp", text.trim()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io(&path, e)),
    }
}

/// fsyncs a directory so that creations, renames and deletions in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StorageError::io(dir, e))
}

/// Atomically publishes `dir/name` with `data`: write `name.tmp`, fsync, rename, fsync dir.
/// A crash leaves either the old file (or none) or the complete new one.
pub fn publish_file(dir: &Path, name: &str, data: &[u8]) -> Result<(), StorageError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dst = dir.join(name);
    let mut f = File::create(&tmp).map_err(|e| StorageError::io(&tmp, e))?;
    f.write_all(data).and_then(|_| f.sync_all()).map_err(|e| StorageError::io(&tmp, e))?;
    drop(f);
    publish_path(dir, &tmp, &dst)
}

/// Renames an already fsynced `tmp` to `dst` inside `dir` and fsyncs `dir`.
pub fn publish_path(dir: &Path, tmp: &Path, dst: &Path) -> Result<(), StorageError> {
    fs::rename(tmp, dst).map_err(|e| StorageError::io(dst, e))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trip_and_errors() {
        let d = tempfile::tempdir().unwrap();
        let m = load_or_create_meta(d.path(), 8).unwrap();
        assert_eq!(m.shards, 8);
        // The recorded number wins over a different request.
        assert_eq!(load_or_create_meta(d.path(), 64).unwrap().shards, 8);
        fs::write(d.path().join(META_FILE), "cairn-data-dir\nversion 1\nshards x\n").unwrap();
        let e = load_or_create_meta(d.path(), 8).unwrap_err();
        assert!(e.to_string().contains("cairn.meta"), "{e}");
    }

    #[test]
    fn second_lock_fails_naming_the_dir() {
        let d = tempfile::tempdir().unwrap();
        let l = lock_dir(d.path()).unwrap();
        let e = lock_dir(d.path()).unwrap_err();
        assert!(matches!(e, StorageError::Locked { .. }));
        assert!(e.to_string().contains(&d.path().display().to_string()));
        drop(l);
        lock_dir(d.path()).unwrap();
    }
}
