//! `POST /api/v1/admin/tsdb/snapshot`: a point-in-time copy of the database under
//! `<data>/snapshots/<time>-<random>`, made like Prometheus's: every block hard-linked (copied
//! where linking fails) and, unless `skip_head`, the head's samples written as one more block
//! ([`Db::snapshot_into`]). The snapshot holds blocks and `cairn.meta` only (no WAL) and is
//! openable as a data directory of its own (`cairn serve --data <snapshot>`). It is built in a
//! temporary directory renamed into place, so it is either complete or absent.

use crate::storage::Db;
use std::path::PathBuf;

/// Directory under the data dir that holds snapshots.
pub const SNAPSHOTS_DIR: &str = "snapshots";

/// Takes a snapshot (with the head's data unless `skip_head`) and returns its directory name.
pub fn snapshot(db: &Db, skip_head: bool) -> Result<String, String> {
    let now = super::rfc3339(super::now_ms());
    // 2026-11-22T11:28:25.157Z -> 20261122T112825Z, as Prometheus names snapshots.
    let stamp: String = now[..19].chars().filter(|c| *c != '-' && *c != ':').collect::<String>() + "Z";
    let rand = xxhash_rust::xxh3::xxh3_64(format!("{now}{:?}", std::time::Instant::now()).as_bytes());
    let name = format!("{stamp}-{:016x}", rand);
    let root: PathBuf = db.dir().join(SNAPSHOTS_DIR);
    std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let tmp = root.join(format!(".tmp-{name}"));
    let res = db
        .snapshot_into(&tmp, !skip_head)
        .map_err(|e| e.to_string())
        .and_then(|_| std::fs::rename(&tmp, root.join(&name)).map_err(|e| e.to_string()))
        .and_then(|_| std::fs::File::open(&root).and_then(|f| f.sync_all()).map_err(|e| e.to_string()));
    if let Err(e) = res {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("creating snapshot {name}: {e}"));
    }
    Ok(name)
}
