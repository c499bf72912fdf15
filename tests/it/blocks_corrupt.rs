//! Risk: a damaged block file returns wrong data silently or takes the whole database down.
//! A flipped byte in a chunk or in an index section must fail the queries that touch that
//! block with an error naming the block directory, the file and the byte offset; a block
//! whose index cannot even be opened is skipped and reported; every other block stays
//! queryable with its exact data.

use crate::util::select_all;
use cairn::storage::{BlockInfo, Db, FsyncPolicy, Options};
use cairn_format::{Labels, Matcher};
use std::path::Path;

const RANGE: i64 = 1000;

fn opts() -> Options {
    Options {
        fsync: FsyncPolicy::Always,
        shards: 2,
        block_range_ms: RANGE,
        background_compaction: false,
        ..Options::default()
    }
}

/// Five blocks of 1 s, 20 series, a sample every 10 ms.
fn build(dir: &Path) -> Vec<BlockInfo> {
    let db = Db::open(dir, opts()).unwrap();
    let mut app = db.appender();
    for t in (0..5 * RANGE).step_by(10) {
        for i in 0..20 {
            let l = Labels::from_pairs([("__name__", "cor".to_string()), ("i", i.to_string())]);
            app.append(&l, t, (t * 100 + i) as f64).unwrap();
        }
        app.commit().unwrap();
    }
    assert_eq!(db.persist_head(true).unwrap(), 5);
    let blocks = db.blocks();
    db.close().unwrap();
    blocks
}

fn flip(path: &Path, offset: u64) {
    let mut b = std::fs::read(path).unwrap();
    b[offset as usize] ^= 0x5A;
    std::fs::write(path, b).unwrap();
}

/// Queries block `k`'s range (all series).
fn query_block(db: &Db, b: &BlockInfo) -> Result<Vec<String>, String> {
    let q = db.querier(b.min_time, b.max_time - 1).unwrap();
    match q.select(&[Matcher::equal("__name__", "cor")]) {
        Ok(set) => Ok(set.map(|s| format!("{} {}", s.labels, s.samples().count())).collect()),
        Err(e) => Err(e.to_string()),
    }
}

fn assert_intact(db: &Db, b: &BlockInfo) {
    let q = db.querier(b.min_time, b.max_time - 1).unwrap();
    let got = select_all(&q, &[]);
    assert_eq!(got.len(), 20);
    for (l, s) in got {
        let i: i64 = l.get("i").unwrap().parse().unwrap();
        assert_eq!(s.len(), 100);
        for (t, v) in s {
            assert_eq!(f64::from_bits(v), (t * 100 + i) as f64);
        }
    }
}

#[test]
fn corrupt_chunk_and_index_sections_are_named_and_contained() {
    let dir = tempfile::tempdir().unwrap();
    let blocks = build(dir.path());
    // Block 1: a byte inside the first chunk's payload (header 8 bytes, then len varint,
    // encoding byte, payload).
    let seg = blocks[1].dir.join("chunks").join("000001");
    flip(&seg, 8 + 2 + 5);
    // Block 2: a byte inside the symbols section of the index (starts at offset 8).
    let idx2 = blocks[2].dir.join("index");
    flip(&idx2, 8 + 4 + 3);
    // Block 3: the index's table of contents (its last bytes): the block cannot be opened.
    let idx3 = blocks[3].dir.join("index");
    let len = std::fs::metadata(&idx3).unwrap().len();
    flip(&idx3, len - 10);

    let db = Db::open(dir.path(), opts()).expect("a damaged block must not stop the database from opening");
    let broken = db.broken_blocks();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(broken[0].0, blocks[3].dir);
    assert!(broken[0].1.contains("index") && broken[0].1.contains("offset"), "{}", broken[0].1);

    let e = query_block(&db, &blocks[1]).unwrap_err();
    assert!(e.contains(&blocks[1].ulid) && e.contains("chunks/000001") && e.contains("offset 8"), "{e}");
    assert!(e.contains("checksum"), "{e}");
    let e = query_block(&db, &blocks[2]).unwrap_err();
    assert!(e.contains(&blocks[2].ulid) && e.contains("/index") && e.contains("offset 8"), "{e}");

    // The rest stays queryable with exact data.
    assert_intact(&db, &blocks[0]);
    assert_intact(&db, &blocks[4]);
    // verify_blocks finds both damaged blocks, naming them.
    let bad = db.verify_blocks();
    let dirs: Vec<_> = bad.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(dirs, vec![blocks[1].dir.clone(), blocks[2].dir.clone()]);
    // Compaction does not spread the damage: merges fail, inputs stay, nothing is lost.
    let _ = db.compact();
    assert_intact(&db, &blocks[0]);
    assert_intact(&db, &blocks[4]);
}
