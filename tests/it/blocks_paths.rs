//! Risk: a query answers differently depending on where the data lives. One generated
//! scenario (counters, gauges, stale markers, gaps, out-of-order samples inside the window)
//! is queried through the `Querier` and through the PromQL engine from the head, after a
//! restart, after head → block, after compaction of several blocks, and after another
//! restart; every answer must be identical to the head's.

use crate::util::{Rng, select_all};
use cairn::storage::{Db, FsyncPolicy, Options};
use cairn_format::{Labels, Matcher, stale_nan};
use cairn_query::{Engine, EngineOptions, QueryOptions};

const RANGE: i64 = 600_000; // 10 min blocks
const T0: i64 = 1_700_000_000_000;
const END: i64 = T0 + 6 * RANGE; // 1 h of data
const STEP: i64 = 15_000;

fn opts() -> Options {
    Options {
        shards: 4,
        fsync: FsyncPolicy::Always,
        block_range_ms: RANGE,
        out_of_order_window_ms: 5 * 60_000,
        background_compaction: false,
        ..Options::default()
    }
}

fn series(kind: &str, i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("scn_{kind}")),
        ("job", format!("j{}", i % 3)),
        ("instance", format!("i{i}")),
    ])
}

/// Appends the scenario: in-order samples every 15 s with gaps and stale markers, then
/// out-of-order samples filling some gaps (inside the 5 min window of the newest sample).
fn load(db: &Db) {
    let mut rng = Rng::new(42);
    let mut app = db.appender();
    let mut counters = [0f64; 12];
    let mut t = T0;
    let mut ooo: Vec<(Labels, i64, f64)> = Vec::new();
    while t < END {
        for (i, counter) in counters.iter_mut().enumerate() {
            // Gaps: each series skips about 1 in 12 steps, some of them refilled out of order.
            if rng.chance(0.08) {
                if rng.chance(0.5) {
                    ooo.push((series("gauge", i), t + 1, (i as f64) * -0.5));
                }
                continue;
            }
            *counter += rng.below(100) as f64;
            if rng.chance(0.02) {
                *counter = rng.below(5) as f64; // counter reset
            }
            app.append(&series("counter", i), t + i as i64, *counter).unwrap();
            let g = if rng.chance(0.03) { stale_nan() } else { (rng.below(1000) as f64) / 7.0 };
            app.append(&series("gauge", i), t, g).unwrap();
        }
        app.commit().unwrap();
        // Out-of-order samples arrive within the window.
        let (due, keep): (Vec<_>, Vec<_>) = ooo.drain(..).partition(|x| x.1 + 60_000 < t);
        ooo = keep;
        for (l, ts, v) in due {
            app.append(&l, ts, v).unwrap();
        }
        app.commit().unwrap();
        t += STEP;
    }
    for (l, ts, v) in ooo {
        app.append(&l, ts, v).unwrap();
    }
    app.commit().unwrap();
}

const EXPRS: [&str; 7] = [
    "scn_counter",
    "rate(scn_counter[5m])",
    "sum by (job) (increase(scn_counter[10m]))",
    "scn_gauge",
    "avg_over_time(scn_gauge[7m])",
    "count_over_time(scn_gauge[3m])",
    "max by (job) (last_over_time(scn_gauge[2m]))",
];

/// Everything the paths must agree on, as text (NaN-safe comparison).
fn answers(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    let q = db.querier(T0 - 1, END + 1).unwrap();
    for m in [vec![], vec![Matcher::equal("job", "j1")], vec![Matcher::equal("__name__", "scn_gauge")]] {
        out.push(format!("{:?}", select_all(&q, &m)));
    }
    out.push(format!("{:?}", q.label_names(&[]).unwrap()));
    out.push(format!("{:?}", q.label_values("instance", &[]).unwrap()));
    out.push(format!("{:?}", q.label_values("instance", &[Matcher::equal("job", "j2")]).unwrap()));
    // A window inside one block range and one spanning a range boundary.
    let q = db.querier(T0 + RANGE + 1000, T0 + 2 * RANGE + 30_000).unwrap();
    out.push(format!("{:?}", select_all(&q, &[Matcher::equal("instance", "i3")])));
    let engine = Engine::new(EngineOptions::default());
    for e in EXPRS {
        let r = engine.range_query(db, e, T0, END + 60_000, 60_000, &QueryOptions::default()).unwrap();
        out.push(format!("{e}: {:?}", r.value));
        let r = engine.instant_query(db, e, T0 + 3 * RANGE + 7_000, &QueryOptions::default()).unwrap();
        out.push(format!("{e} @ instant: {:?}", r.value));
    }
    out
}

fn assert_same(what: &str, want: &[String], got: &[String]) {
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(got) {
        assert!(
            w == g,
            "{what}: answer differs from the head's\nhead: {}\n{what}: {}",
            &w[..w.len().min(600)],
            &g[..g.len().min(600)]
        );
    }
}

#[test]
fn every_path_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    load(&db);
    let head = answers(&db);
    // The scenario is not trivial: samples, stale markers and results everywhere.
    assert!(head[0].len() > 10_000, "scenario too small");
    assert!(head[0].contains(&cairn_format::STALE_NAN_BITS.to_string()), "no stale marker in the data");
    assert!(db.blocks().is_empty());

    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_same("after restart", &head, &answers(&db));

    let written = db.persist_head(false).unwrap();
    assert!(written >= 4, "head → block wrote {written} blocks");
    assert_eq!(db.blocks().len(), written);
    assert!(db.head_stats().num_samples > 0, "the newest range stays in the head");
    assert_same("after head → block", &head, &answers(&db));

    let r1 = db.compact().unwrap();
    assert!(r1.merges >= 1, "{r1:?}");
    assert_same("after compaction", &head, &answers(&db));
    let written = written + db.persist_head(true).unwrap();
    assert_same("with the whole head in blocks", &head, &answers(&db));
    let r2 = db.compact().unwrap();
    let blocks = db.blocks();
    assert!(
        r1.merges + r2.merges >= 2 && blocks.len() < written,
        "{r1:?} {r2:?}, {written} → {}",
        blocks.len()
    );
    assert!(blocks.iter().any(|b| b.level >= 2 && b.max_time - b.min_time >= 3 * RANGE), "{blocks:?}");
    assert_same("after compaction of several blocks", &head, &answers(&db));
    assert!(db.verify_blocks().is_empty());

    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_same("after restart with blocks", &head, &answers(&db));
    // Data already in blocks cannot be appended to the head again after a restart.
    let newest = db.blocks().iter().map(|b| b.max_time).max().unwrap();
    let mut app = db.appender();
    let e = app.append(&series("gauge", 0), newest - 1, 1.0).unwrap_err();
    assert!(matches!(e, cairn::storage::AppendError::OutOfBounds { .. }), "{e}");
    app.append(&series("gauge", 0), newest + STEP * 1000, 1.0).unwrap();
    app.commit().unwrap();
}

/// Deletion: visible at once in blocks and head, survives restart, applied by
/// clean-tombstones; retention drops whole blocks, oldest first.
#[test]
fn deletion_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    load(&db);
    db.persist_head(false).unwrap();
    let del = [Matcher::equal("instance", "i3")];
    let (a, b) = (T0 + RANGE / 2, END - RANGE / 4); // spans blocks and the head
    db.delete(&del, a, b).unwrap();
    let check = |db: &Db| {
        let q = db.querier(T0 - 1, END + 1).unwrap();
        let got = select_all(&q, &del);
        assert_eq!(got.len(), 2);
        for (_, s) in &got {
            assert!(s.iter().all(|(t, _)| *t < a || *t > b), "deleted samples still visible");
            assert!(s.iter().any(|(t, _)| *t < a) && s.iter().any(|(t, _)| *t > b));
        }
        got
    };
    let want = check(&db);
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(check(&db), want);
    let n = db.clean_tombstones().unwrap();
    assert!(n >= 1);
    assert_eq!(check(&db), want);
    assert!(db.blocks().iter().all(|b| !b.dir.join("tombstones").exists()));

    // Retention by size: keep at most the newest block's size.
    while db.compact().unwrap().merges > 0 {}
    let before = db.blocks();
    assert!(before.len() >= 2, "{before:?}");
    let newest = before.iter().map(|b| b.max_time).max().unwrap();
    let limit = before.iter().find(|b| b.max_time == newest).unwrap().size_bytes;
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), Options { retention_bytes: limit, ..opts() }).unwrap();
    let r = db.compact().unwrap();
    assert_eq!(r.retention_deleted, before.len() - 1, "{r:?}");
    let left = db.blocks();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].max_time, newest);
    let q = db.querier(T0 - 1, END + 1).unwrap();
    let oldest_left = select_all(&q, &[]).iter().flat_map(|(_, s)| s.first().map(|x| x.0)).min().unwrap();
    assert!(oldest_left >= left[0].min_time, "data older than the kept block is still visible");
}

/// The background thread writes blocks by itself, while appends go on.
#[test]
fn background_thread_persists_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options { background_compaction: true, ..opts() }).unwrap();
    load(&db);
    let want = answers(&db);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // Blocks may be merged by the same thread meanwhile: count the time they cover.
    let covered = |db: &Db| db.blocks().iter().map(|b| b.max_time - b.min_time).sum::<i64>();
    while covered(&db) < 4 * RANGE && std::time::Instant::now() < deadline {
        // Appends continue meanwhile (newer than everything loaded).
        let mut app = db.appender();
        app.append(&series("other", 0), END + 1000, 1.0).unwrap();
        app.commit().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(covered(&db) >= 4 * RANGE, "background persistence did not run: {:?}", db.blocks());
    // The extra series lies after every queried range and matches no query expression.
    assert_same("after background persistence", &want, &answers(&db));
}
