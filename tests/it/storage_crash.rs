//! Risk: losing acknowledged writes in a crash. A child process (this test binary, running
//! the ignored `crash_child` test) appends from two threads with `fsync = Always` and prints
//! each acknowledged commit; the parent `kill -9`s it at random moments over 30 rounds,
//! reopens the directory and requires every acknowledged sample to be there.

use crate::support::crash::{self, CrashHarness};
use crate::util::Rng;
use cairn::storage::{Db, FsyncPolicy, Options};
use cairn_format::{Labels, Matcher};
use std::time::{Duration, Instant};

const ENV_DIR: &str = "CAIRN_CRASH_DIR";
const WRITERS: usize = 2;
const SERIES_PER_WRITER: usize = 40;
const COMMITS_PER_RUN: i64 = 3000;

fn opts() -> Options {
    Options { fsync: FsyncPolicy::Always, shards: 8, ..Options::default() }
}

fn labels(w: usize, i: usize) -> Labels {
    Labels::from_pairs([("__name__", "crash".to_string()), ("w", w.to_string()), ("i", i.to_string())])
}

/// Samples of commit `seq` of writer `w`: series 0..k(seq) get (t = seq, v = seq).
fn series_in_commit(seq: i64) -> usize {
    1 + (seq as usize * 7) % SERIES_PER_WRITER
}

#[test]
#[ignore = "child process of crash_kill9_keeps_every_acknowledged_sample"]
fn crash_child() {
    let Some(dir) = crash::child_dir(ENV_DIR) else { return };
    let db = Db::open(&dir, opts()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let q = db.querier(i64::MIN, i64::MAX).unwrap();
                let m = [Matcher::equal("w", w.to_string())];
                let last =
                    q.select(&m).unwrap().flat_map(|s| s.samples().map(|x| x.t).collect::<Vec<_>>()).max();
                let mut seq = last.unwrap_or(0) + 1;
                let first = seq;
                let mut app = db.appender();
                crash::ready();
                // Bounded in time (the parent kills us long before) and in commits per run
                // (keeps the WAL, hence every later replay, small).
                while Instant::now() < deadline && seq - first < COMMITS_PER_RUN {
                    for i in 0..series_in_commit(seq) {
                        app.append(&labels(w, i), seq, seq as f64).unwrap();
                    }
                    app.commit().unwrap();
                    crash::ack(format!("{w} {seq}"));
                    seq += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn crash_kill9_keeps_every_acknowledged_sample() {
    let dir = tempfile::tempdir().unwrap();
    let dir = match std::env::var("CAIRN_CRASH_KEEP") {
        Ok(_) => tempfile::TempDir::with_prefix_in("crash", "/tmp").unwrap().keep(),
        Err(_) => dir.path().to_path_buf(),
    };
    let mut rng = Rng::new(0xC0FFEE);
    let harness = CrashHarness::new("storage_crash::crash_child", ENV_DIR, &dir);
    // Every acknowledged (writer, seq). Not "all seqs up to the highest": a commit cut short
    // by a kill is unacknowledged, partly durable, and the next child continues after it.
    let mut acked: Vec<Vec<i64>> = vec![Vec::new(); WRITERS];
    let mut rounds_with_acks = 0;
    for round in 0..30 {
        // Mostly kill while writing; sometimes while the child is still opening (replay).
        let wait_for_ready = rng.chance(0.85);
        let got: Vec<(usize, i64)> = harness
            .kill_round(wait_for_ready, |ready| {
                Duration::from_millis(if ready { 1 + rng.below(100) } else { rng.below(50) })
            })
            .iter()
            .map(|a| {
                let mut it = a.split(' ').map(|x| x.parse::<i64>().unwrap());
                (it.next().unwrap() as usize, it.next().unwrap())
            })
            .collect();
        if !got.is_empty() {
            rounds_with_acks += 1;
        }
        let mut round_acks: Vec<Vec<i64>> = vec![Vec::new(); WRITERS];
        for (w, seq) in got {
            acked[w].push(seq);
            round_acks[w].push(seq);
        }
        // This round's acknowledgements now; all of them again at the end.
        verify(&dir, &round_acks, &format!("round {round}"));
    }
    verify(&dir, &acked, "final");
    assert!(
        rounds_with_acks >= 18,
        "only {rounds_with_acks} rounds acknowledged anything: the test proved little"
    );
    let counts: Vec<usize> = acked.iter().map(Vec::len).collect();
    eprintln!("crash test: {rounds_with_acks} rounds with acks, acknowledged commits per writer {counts:?}");
}

/// Reopens the directory and requires every acknowledged commit's samples.
fn verify(dir: &std::path::Path, acked: &[Vec<i64>], ctx: &str) {
    let db = Db::open(dir, opts()).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    for (w, seqs) in acked.iter().enumerate() {
        for i in 0..SERIES_PER_WRITER {
            let have: std::collections::HashMap<i64, f64> = q
                .select(&[Matcher::equal("w", w.to_string()), Matcher::equal("i", i.to_string())])
                .unwrap()
                .flat_map(|s| s.samples().map(|x| (x.t, x.v)).collect::<Vec<_>>())
                .collect();
            for &seq in seqs {
                if i < series_in_commit(seq) {
                    assert_eq!(
                        have.get(&seq),
                        Some(&(seq as f64)),
                        "{ctx}: acknowledged commit {seq} of writer {w} lost for series {i}"
                    );
                }
            }
        }
    }
    db.close().unwrap();
}
