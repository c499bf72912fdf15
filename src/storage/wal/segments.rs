//! WAL file names: segments `NNNNNNNN` and checkpoints `checkpoint.NNNNNNNN` in `<data>/wal`
//! (layout in `storage-format/src/wal.md`). Owns naming and listing only.

use crate::storage::error::StorageError;
use std::path::{Path, PathBuf};

pub fn segment_name(n: u64) -> String {
    format!("{n:08}")
}

pub fn checkpoint_name(n: u64) -> String {
    format!("checkpoint.{n:08}")
}

/// What a WAL directory holds, sorted ascending.
#[derive(Debug, Default)]
pub struct Listing {
    pub segments: Vec<(u64, PathBuf)>,
    pub checkpoints: Vec<(u64, PathBuf)>,
    /// Leftover temporary files from an interrupted checkpoint.
    pub temporaries: Vec<PathBuf>,
}

pub fn list(dir: &Path) -> Result<Listing, StorageError> {
    let mut l = Listing::default();
    let rd = std::fs::read_dir(dir).map_err(|e| StorageError::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| StorageError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if name.ends_with(".tmp") {
            l.temporaries.push(path);
        } else if let Some(n) = name.strip_prefix("checkpoint.").and_then(|s| s.parse::<u64>().ok()) {
            l.checkpoints.push((n, path));
        } else if name.len() == 8
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = name.parse::<u64>()
        {
            l.segments.push((n, path));
        }
    }
    l.segments.sort();
    l.checkpoints.sort();
    Ok(l)
}
