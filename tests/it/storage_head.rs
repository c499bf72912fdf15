//! Risks in the head beyond the model test: truncation + checkpoint losing or resurrecting
//! data, concurrent appenders breaking "replay restores the head exactly", the series limit,
//! statistics, and the `cairn_query::Queryable` adapter.

use crate::util::select_all;
use cairn::storage::{AppendError, Db, FsyncPolicy, Options};
use cairn_format::{Labels, MatchOp, Matcher};
use cairn_query::{Queryable, SelectHints};

fn l(name: &str, i: usize) -> Labels {
    Labels::from_pairs([("__name__", name.to_string()), ("i", i.to_string())])
}

#[test]
fn truncate_head_checkpoints_and_replays_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { shards: 4, wal_segment_bytes: 4096, chunk_samples_target: 16, ..Options::default() };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let mut app = db.appender();
    // Series 0..10 have samples at 0..200; series 10..12 only at 0..50 (will vanish).
    for i in 0..12 {
        let top = if i < 10 { 200 } else { 50 };
        for t in 0..top {
            app.append(&l("m", i), t, (i * 1000 + t as usize) as f64).unwrap();
        }
        app.commit().unwrap();
    }
    db.truncate_head(100).unwrap();
    let wal = dir.path().join("wal");
    let names: Vec<String> =
        std::fs::read_dir(&wal).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().any(|n| n.starts_with("checkpoint.")), "{names:?}");
    // Old data is gone from queries' point of view (chunks straddling 100 may keep a few).
    let q = db.querier(100, i64::MAX).unwrap();
    let before = select_all(&q, &[]);
    assert_eq!(before.len(), 10, "series with nothing left were removed");
    assert_eq!(db.head_stats().num_series, 10);
    // Older samples are now out of bounds.
    let e = app.append(&l("m", 0), 99, 1.0).unwrap_err();
    assert!(matches!(e, AppendError::OutOfBounds { .. }), "{e}");
    // More writes after the checkpoint, then reopen: same head.
    for i in 0..10 {
        app.append(&l("m", i), 300, 3.0).unwrap();
    }
    app.commit().unwrap();
    let all_before = select_all(&db.querier(i64::MIN, i64::MAX).unwrap(), &[]);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts).unwrap();
    assert!(db.replay_report().checkpoint.is_some());
    assert_eq!(select_all(&db.querier(i64::MIN, i64::MAX).unwrap(), &[]), all_before);
    // The lower bound survives the restart, also for a brand-new series.
    let e = db.appender().append(&l("new", 0), 50, 1.0).unwrap_err();
    assert!(matches!(e, AppendError::OutOfBounds { min_t: 100, .. }), "{e}");
    db.close().unwrap();
}

#[test]
fn concurrent_appenders_then_replay_restores_the_same_head() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        shards: 8,
        fsync: FsyncPolicy::Always,
        out_of_order_window_ms: 50,
        chunk_samples_target: 16,
        ..Options::default()
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    std::thread::scope(|s| {
        for w in 0..4usize {
            let db = db.clone();
            s.spawn(move || {
                let mut app = db.appender();
                for k in 0..300i64 {
                    // Own series, a shared series (contended: some samples dropped at
                    // commit), and out-of-order samples inside the window.
                    let t = k * 10 + w as i64;
                    app.append(&l("own", w), t, k as f64).unwrap();
                    let _ = app.append(&l("shared", 0), t, w as f64);
                    if k % 7 == 0 {
                        let _ = app.append(&l("own", w), t - 25, -1.0);
                    }
                    if k % 5 == 4 {
                        app.commit().unwrap();
                    }
                }
                app.commit().unwrap();
            });
        }
    });
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let live = select_all(&q, &[]);
    let stats = db.head_stats();
    db.close().unwrap();
    let db = Db::open(dir.path(), opts).unwrap();
    let replayed = select_all(&db.querier(i64::MIN, i64::MAX).unwrap(), &[]);
    assert_eq!(replayed, live, "replay must restore exactly what the live head held");
    let st2 = db.head_stats();
    assert_eq!((st2.num_series, st2.num_samples), (stats.num_series, stats.num_samples));
    // Every own-series in-order sample is there (only the shared series may drop samples).
    for w in 0..4 {
        let s = select_all(
            &db.querier(i64::MIN, i64::MAX).unwrap(),
            &[Matcher::equal("__name__", "own"), Matcher::equal("i", w.to_string())],
        );
        let in_order = s[0].1.iter().filter(|(_, v)| f64::from_bits(*v) >= 0.0).count();
        assert_eq!(in_order, 300);
    }
    db.close().unwrap();
}

#[test]
fn series_limit_is_enforced_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options { max_active_series: Some(3), ..Options::default() }).unwrap();
    let mut app = db.appender();
    for i in 0..3 {
        app.append(&l("m", i), 1, 1.0).unwrap();
    }
    let e = app.append(&l("m", 3), 1, 1.0).unwrap_err();
    assert!(matches!(e, AppendError::TooManySeries { limit: 3, .. }), "{e}");
    assert!(e.to_string().contains("max_active_series"), "{e}");
    // Existing series still accept samples.
    app.append(&l("m", 0), 2, 1.0).unwrap();
    app.commit().unwrap();
}

#[test]
fn head_stats_report_counts_bounds_and_cardinality() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut app = db.appender();
    for i in 0..5 {
        app.append(&l("big", i), 10 + i as i64, 1.0).unwrap();
    }
    app.append(&l("small", 0), 5, 1.0).unwrap();
    app.append(&l("small", 0), 50, 1.0).unwrap();
    app.commit().unwrap();
    let st = db.head_stats();
    assert_eq!(st.num_series, 6);
    assert_eq!(st.num_samples, 7);
    assert_eq!((st.min_time, st.max_time), (Some(5), Some(50)));
    assert_eq!(st.series_count_by_metric_name, vec![("big".to_string(), 5), ("small".to_string(), 1)]);
    assert_eq!(st.label_value_count_by_label_name[0], ("i".to_string(), 5));
    assert_eq!(st.series_count_by_label_value_pair[0], ("__name__=big".to_string(), 5));
}

#[test]
fn queryable_adapter_follows_the_engine_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut app = db.appender();
    for t in [10, 20, 30] {
        app.append(&l("a", 1), t, t as f64).unwrap();
    }
    app.append(&l("b", 1), 100, 1.0).unwrap();
    app.commit().unwrap();
    let qa: &dyn Queryable = &db;
    let q = qa.querier(15, 30).unwrap();
    let re = Matcher::new(MatchOp::RegexMatch, "__name__", "a|b").unwrap();
    let got = q.select(&[re], &SelectHints::default()).unwrap();
    assert_eq!(got.len(), 1, "b has no sample in [15, 30]");
    assert_eq!(got[0].samples.iter().map(|s| s.t).collect::<Vec<_>>(), vec![20, 30], "maxt inclusive");
    assert_eq!(q.label_values("__name__", &[]).unwrap(), vec!["a", "b"]);
}
