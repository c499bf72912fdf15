//! Risk: a crash while a block is written from the head, or while blocks are merged, loses
//! or duplicates data or leaves a directory that cannot be opened. A child process (this
//! test binary, running the ignored `blocks_crash_child` test) appends with `fsync = Always`,
//! prints each acknowledged commit and runs head persistence + compaction after every
//! commit (block range 1 s, so blocks are written and merged all the time); the parent
//! `kill -9`s it at random moments over 24 rounds, reopens the directory, and requires every
//! acknowledged sample exactly once with its value, no unopenable block and no leftovers.

use cairn::storage::{Db, FsyncPolicy, Options};
use cairn_format::{Labels, Matcher};
use std::time::{Duration, Instant};

use crate::support::crash::{self, CrashHarness};
use crate::util::Rng;

const ENV_DIR: &str = "CAIRN_BLOCKS_CRASH_DIR";
const SERIES: usize = 30;
const DT: i64 = 50; // ms between commits
const COMMITS_PER_RUN: i64 = 1500;

fn opts() -> Options {
    Options {
        fsync: FsyncPolicy::Always,
        shards: 4,
        block_range_ms: 1000,
        background_compaction: false,
        ..Options::default()
    }
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "bc".to_string()), ("i", i.to_string())])
}

#[test]
#[ignore = "child process of blocks_crash_kill9_during_block_write_and_compaction"]
fn blocks_crash_child() {
    let Some(dir) = crash::child_dir(ENV_DIR) else { return };
    let db = Db::open(&dir, opts()).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let last = q.select(&[]).unwrap().flat_map(|s| s.samples().map(|x| x.t).collect::<Vec<_>>()).max();
    let mut seq = last.map_or(1, |t| t / DT + 1);
    let first = seq;
    let mut app = db.appender();
    crash::ready();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && seq - first < COMMITS_PER_RUN {
        for i in 0..SERIES {
            app.append(&labels(i), seq * DT, seq as f64).unwrap();
        }
        app.commit().unwrap();
        crash::ack(seq);
        db.compact().unwrap();
        seq += 1;
    }
}

#[test]
fn blocks_crash_kill9_during_block_write_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_path_buf();
    let mut rng = Rng::new(0xB10C);
    let harness = CrashHarness::new("blocks_crash::blocks_crash_child", ENV_DIR, &dir);
    let mut acked: Vec<i64> = Vec::new();
    let mut max_blocks = 0;
    let mut max_level = 0;
    let mut killed_mid_block = 0;
    for round in 0..24 {
        let wait_for_ready = rng.chance(0.9);
        let got = harness.kill_round(wait_for_ready, |ready| {
            Duration::from_millis(if ready { 50 + rng.below(400) } else { rng.below(30) })
        });
        acked.extend(got.iter().map(|a| a.parse::<i64>().unwrap()));
        // Killed half-way through writing or removing a block?
        for e in std::fs::read_dir(&dir).unwrap() {
            if e.unwrap().file_name().to_string_lossy().contains(".tmp-for-") {
                killed_mid_block += 1;
            }
        }
        let (blocks, level) = verify(&dir, &acked, &format!("round {round}"));
        max_blocks = max_blocks.max(blocks);
        max_level = max_level.max(level);
    }
    // The rounds really exercised blocks and merges.
    assert!(acked.len() > 200, "only {} commits acknowledged", acked.len());
    assert!(max_blocks >= 2 && max_level >= 2, "blocks {max_blocks}, level {max_level}");
    eprintln!(
        "blocks crash test: {} acknowledged commits, up to {max_blocks} blocks, level {max_level}, \
         {killed_mid_block} kills left a half-written or half-removed block",
        acked.len()
    );
}

/// Reopens the directory: every acknowledged commit present once per series with its value,
/// every sample present has the right value, no broken block, every checksum good, no
/// leftover temp directory. Returns (blocks, highest level).
fn verify(dir: &std::path::Path, acked: &[i64], ctx: &str) -> (usize, u32) {
    let db = Db::open(dir, opts()).unwrap_or_else(|e| panic!("{ctx}: cannot reopen: {e}"));
    assert!(db.broken_blocks().is_empty(), "{ctx}: {:?}", db.broken_blocks());
    assert!(db.verify_blocks().is_empty(), "{ctx}: {:?}", db.verify_blocks());
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.contains(".tmp-for-"), "{ctx}: leftover {name}");
    }
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    for i in 0..SERIES {
        let set: Vec<_> = q.select(&[Matcher::equal("i", i.to_string())]).unwrap().collect();
        assert_eq!(set.len(), 1, "{ctx}: series {i}");
        let samples: Vec<_> = set[0].samples().collect();
        let mut prev = i64::MIN;
        for s in &samples {
            assert!(s.t > prev, "{ctx}: series {i}: timestamps not strictly increasing at {}", s.t);
            assert_eq!(s.v, (s.t / DT) as f64, "{ctx}: series {i}: wrong value at {}", s.t);
            prev = s.t;
        }
        let have: std::collections::HashSet<i64> = samples.iter().map(|s| s.t).collect();
        for &seq in acked {
            assert!(have.contains(&(seq * DT)), "{ctx}: acknowledged commit {seq} lost for series {i}");
        }
    }
    let blocks = db.blocks();
    db.close().unwrap();
    (blocks.len(), blocks.iter().map(|b| b.level).max().unwrap_or(0))
}
