//! Reading the WAL on open: the newest checkpoint, then every later segment, frame by frame.
//! The first unreadable frame (torn or corrupt) is reported with file and offset through
//! `tracing::warn`, the segment is truncated there and later segments are deleted, so the
//! WAL again ends with intact records; nothing before the damage is lost. Owns no head logic:
//! decoded records go to a callback.

use super::segments::{self, Listing};
use crate::storage::dir::sync_dir;
use crate::storage::error::StorageError;
use cairn_format::frame::{FrameError, decode_frame};
use cairn_format::record::{self, Record};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

/// What replay found, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub records: u64,
    pub checkpoint: Option<u64>,
    pub segments: Vec<u64>,
    /// Where the WAL was cut, if it was: file, offset, reason.
    pub truncated: Option<(PathBuf, u64, String)>,
    /// Number of the last segment read (new writes go to the next one).
    pub last_segment: u64,
}

/// Reads one file's frames; returns `Err((offset, reason))` at the first bad frame.
fn read_file(path: &Path, on: &mut dyn FnMut(Record)) -> Result<Result<u64, (u64, String)>, StorageError> {
    let data = std::fs::read(path).map_err(|e| StorageError::io(path, e))?;
    let mut pos = 0usize;
    let mut n = 0u64;
    loop {
        match decode_frame(&data[pos..]) {
            Ok(None) => return Ok(Ok(n)),
            Ok(Some((payload, used))) => match record::decode(payload) {
                Ok(rec) => {
                    on(rec);
                    n += 1;
                    pos += used;
                }
                Err(e) => return Ok(Err((pos as u64, format!("bad record: {e}")))),
            },
            Err(e @ (FrameError::Truncated { .. } | FrameError::Zeroed)) => {
                return Ok(Err((pos as u64, format!("torn write: {e}"))));
            }
            Err(e) => return Ok(Err((pos as u64, format!("corrupt frame: {e}")))),
        }
    }
}

/// Replays `dir` (the WAL directory) into `on`, repairing a damaged tail.
pub fn replay(dir: &Path, mut on: impl FnMut(Record)) -> Result<ReplayReport, StorageError> {
    let Listing { segments, checkpoints, temporaries } = segments::list(dir)?;
    for t in temporaries {
        let _ = std::fs::remove_file(&t);
    }
    let mut report = ReplayReport::default();
    let start_after = match checkpoints.last() {
        Some((n, path)) => {
            match read_file(path, &mut on)? {
                Ok(k) => report.records += k,
                // A checkpoint is published atomically (tmp + fsync + rename); damage here is
                // not a torn write but lost data, so refuse to guess.
                Err((offset, reason)) => {
                    return Err(StorageError::Corrupt { file: path.clone(), offset, reason });
                }
            }
            report.checkpoint = Some(*n);
            *n
        }
        None => 0,
    };
    report.last_segment = start_after;
    let mut cut_at: Option<usize> = None;
    for (i, (n, path)) in segments.iter().enumerate() {
        if *n <= start_after {
            continue;
        }
        report.last_segment = *n;
        report.segments.push(*n);
        match read_file(path, &mut on)? {
            Ok(k) => report.records += k,
            Err((offset, reason)) => {
                tracing::warn!(file = %path.display(), offset, %reason, "WAL damaged; truncating it here (earlier records are intact)");
                let f = OpenOptions::new().write(true).open(path).map_err(|e| StorageError::io(path, e))?;
                f.set_len(offset).and_then(|_| f.sync_all()).map_err(|e| StorageError::io(path, e))?;
                report.truncated = Some((path.clone(), offset, reason));
                cut_at = Some(i);
                break;
            }
        }
    }
    if let Some(i) = cut_at {
        for (n, path) in &segments[i + 1..] {
            tracing::warn!(file = %path.display(), "deleting WAL segment after the damaged one");
            std::fs::remove_file(path).map_err(|e| StorageError::io(path, e))?;
            report.last_segment = report.last_segment.max(*n);
        }
        sync_dir(dir)?;
    }
    // Segments covered by the checkpoint are leftovers of an interrupted cleanup.
    for (n, path) in segments.iter().filter(|(n, _)| *n <= start_after) {
        let _ = n;
        let _ = std::fs::remove_file(path);
    }
    for (n, path) in checkpoints.iter().filter(|(n, _)| *n < start_after) {
        let _ = n;
        let _ = std::fs::remove_file(path);
    }
    Ok(report)
}
