//! Risk: losing acknowledged writes in a crash. A child process (this test binary, running
//! the ignored `crash_child` test) appends from two threads with `fsync = Always` and prints
//! each acknowledged commit; the parent `kill -9`s it at random moments over 30 rounds,
//! reopens the directory and requires every acknowledged sample to be there.

use crate::util::Rng;
use cairn::storage::{Db, FsyncPolicy, Options};
use cairn_format::{Labels, Matcher};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
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
    let Ok(dir) = std::env::var(ENV_DIR) else { return };
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
                println!("READY");
                // Bounded in time (the parent kills us long before) and in commits per run
                // (keeps the WAL, hence every later replay, small).
                while Instant::now() < deadline && seq - first < COMMITS_PER_RUN {
                    for i in 0..series_in_commit(seq) {
                        app.append(&labels(w, i), seq, seq as f64).unwrap();
                    }
                    app.commit().unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {w} {seq}").unwrap();
                    out.flush().unwrap();
                    seq += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Kills the child by PID if the test fails half-way.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn crash_kill9_keeps_every_acknowledged_sample() {
    let dir = tempfile::tempdir().unwrap();
    let dir = match std::env::var("CAIRN_CRASH_KEEP") {
        Ok(_) => tempfile::TempDir::with_prefix_in("crash", "/tmp").unwrap().keep(),
        Err(_) => dir.path().to_path_buf(),
    };
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(0xC0FFEE);
    // Every acknowledged (writer, seq). Not "all seqs up to the highest": a commit cut short
    // by a kill is unacknowledged, partly durable, and the next child continues after it.
    let mut acked: Vec<Vec<i64>> = vec![Vec::new(); WRITERS];
    let mut rounds_with_acks = 0;
    for round in 0..30 {
        let child = Command::new(&exe)
            .args(["storage_crash::crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(ENV_DIR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut guard = KillOnDrop(child);
        let stdout = guard.0.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "READY" {
                    let _ = ready_tx.send(());
                }
                if let Some(rest) = line.strip_prefix("ACK ") {
                    let mut it = rest.split(' ').map(|x| x.parse::<i64>().unwrap());
                    got.push((it.next().unwrap() as usize, it.next().unwrap()));
                }
            }
            got
        });
        // Mostly kill while writing; sometimes while the child is still opening (replay).
        let ready = rng.chance(0.85) && ready_rx.recv_timeout(Duration::from_secs(10)).is_ok();
        std::thread::sleep(Duration::from_millis(if ready { 1 + rng.below(100) } else { rng.below(50) }));
        // SIGKILL: no destructors, no flushing; only what the kernel has survives.
        guard.0.kill().unwrap();
        guard.0.wait().unwrap();
        let got = reader.join().unwrap();
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
