//! Risk: a torn or corrupt WAL tail (crash mid-write, bad disk). Replay must report it (file
//! and offset), truncate there, and keep everything before it; the database must stay
//! writable and a second reopen must be clean.

use crate::util::select_all;
use cairn::storage::{Db, FsyncPolicy, Options};
use cairn_format::{Labels, Matcher};
use std::path::{Path, PathBuf};

fn opts() -> Options {
    Options { fsync: FsyncPolicy::Always, shards: 4, ..Options::default() }
}

/// Three commits of one sample each at t = 1, 2, 3; returns the segment file holding them.
fn write_three(dir: &Path) -> PathBuf {
    let db = Db::open(dir, opts()).unwrap();
    let l = Labels::from_pairs([("__name__", "m"), ("k", "v")]);
    for t in 1..=3 {
        let mut a = db.appender();
        a.append(&l, t, t as f64).unwrap();
        a.commit().unwrap();
    }
    db.close().unwrap();
    let wal = dir.join("wal");
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    segs.sort();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs.pop().unwrap()
}

fn times(db: &Db) -> Vec<i64> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = select_all(&q, &[Matcher::equal("__name__", "m")]);
    all.into_iter().flat_map(|(_, s)| s.into_iter().map(|(t, _)| t)).collect()
}

/// Size of the last frame of the file (walks the frames from the start).
fn last_frame_start(data: &[u8]) -> usize {
    let (mut pos, mut last) = (0, 0);
    while pos < data.len() {
        last = pos;
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    last
}

fn check_repaired(dir: &Path, seg: &Path, cut: usize) {
    let db = Db::open(dir, opts()).unwrap();
    let (file, offset, reason) = db.replay_report().truncated.clone().expect("damage must be reported");
    assert_eq!(file, seg);
    assert_eq!(offset, cut as u64, "reported offset");
    assert!(!reason.is_empty());
    assert_eq!(times(&db), vec![1, 2], "earlier records intact, damaged last one dropped");
    assert_eq!(std::fs::metadata(seg).unwrap().len(), cut as u64, "segment truncated at the damage");
    // Still writable, and the next reopen is clean.
    let mut a = db.appender();
    a.append(&Labels::from_pairs([("__name__", "m"), ("k", "v")]), 4, 4.0).unwrap();
    a.commit().unwrap();
    db.close().unwrap();
    let db = Db::open(dir, opts()).unwrap();
    assert_eq!(db.replay_report().truncated, None);
    assert_eq!(times(&db), vec![1, 2, 4]);
    db.close().unwrap();
}

#[test]
fn truncated_last_record_is_cut_and_reported() {
    for keep in [1usize, 4, 8, 12] {
        let dir = tempfile::tempdir().unwrap();
        let seg = write_three(dir.path());
        let data = std::fs::read(&seg).unwrap();
        let start = last_frame_start(&data);
        std::fs::write(&seg, &data[..start + keep]).unwrap();
        check_repaired(dir.path(), &seg, start);
    }
}

#[test]
fn bit_flipped_last_record_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let seg = write_three(dir.path());
    let data = std::fs::read(&seg).unwrap();
    let start = last_frame_start(&data);
    // Flip one bit in the header, the checksum and the payload in turn.
    for (i, at) in [start + 1, start + 5, data.len() - 3].into_iter().enumerate() {
        let d = tempfile::tempdir().unwrap();
        let seg2 = d.path().join("wal").join(seg.file_name().unwrap());
        std::fs::create_dir_all(seg2.parent().unwrap()).unwrap();
        std::fs::copy(dir.path().join("cairn.meta"), d.path().join("cairn.meta")).unwrap();
        let mut bad = data.clone();
        bad[at] ^= 1 << (i + 2);
        std::fs::write(&seg2, &bad).unwrap();
        check_repaired(d.path(), &seg2, start);
    }
}

#[test]
fn damage_in_an_older_segment_drops_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let seg = write_three(dir.path());
    // A later segment exists (written by another session).
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut a = db.appender();
    a.append(&Labels::from_pairs([("__name__", "m"), ("k", "v")]), 10, 1.0).unwrap();
    a.commit().unwrap();
    db.close().unwrap();
    let data = std::fs::read(&seg).unwrap();
    let start = last_frame_start(&data);
    let mut bad = data.clone();
    let n = bad.len();
    bad[n - 1] ^= 0x80;
    std::fs::write(&seg, &bad).unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.replay_report().truncated.as_ref().map(|t| t.1), Some(start as u64));
    assert_eq!(times(&db), vec![1, 2], "samples after the damage cannot be trusted and are gone");
    db.close().unwrap();
}
