//! `POST /api/v1/admin/tsdb/snapshot`: a point-in-time copy of the data directory under
//! `<data>/snapshots/<time>-<random>`, openable as a data directory of its own (`cairn serve
//! --data <snapshot>` replays it). The WAL is synced first; files are copied into a temporary
//! directory that is renamed into place, so a snapshot is either complete or absent. The lock
//! file and earlier snapshots are not copied.

use crate::storage::Db;
use std::path::{Path, PathBuf};

/// Directory under the data dir that holds snapshots.
pub const SNAPSHOTS_DIR: &str = "snapshots";

fn copy_tree(from: &Path, to: &Path, top: bool) -> std::io::Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if top && (name == "LOCK" || name == SNAPSHOTS_DIR) {
            continue;
        }
        let ty = entry.file_type()?;
        let dst = to.join(&name);
        if ty.is_dir() {
            bytes += copy_tree(&entry.path(), &dst, false)?;
        } else if ty.is_file() {
            bytes += std::fs::copy(entry.path(), &dst)?;
            std::fs::File::open(&dst)?.sync_all()?;
        }
    }
    std::fs::File::open(to)?.sync_all()?;
    Ok(bytes)
}

/// Takes a snapshot and returns its directory name.
pub fn snapshot(db: &Db) -> Result<String, String> {
    db.sync().map_err(|e| format!("syncing the WAL: {e}"))?;
    let now = super::rfc3339(super::now_ms());
    // 2026-11-22T11:28:25.157Z -> 20261122T112825Z, as Prometheus names snapshots.
    let stamp: String = now[..19].chars().filter(|c| *c != '-' && *c != ':').collect::<String>() + "Z";
    let rand = xxhash_rust::xxh3::xxh3_64(format!("{now}{:?}", std::time::Instant::now()).as_bytes());
    let name = format!("{stamp}-{:016x}", rand);
    let root: PathBuf = db.dir().join(SNAPSHOTS_DIR);
    let tmp = root.join(format!(".tmp-{name}"));
    let res = copy_tree(db.dir(), &tmp, true)
        .and_then(|_| std::fs::rename(&tmp, root.join(&name)))
        .and_then(|_| std::fs::File::open(&root)?.sync_all());
    if let Err(e) = res {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("creating snapshot {name}: {e}"));
    }
    Ok(name)
}
