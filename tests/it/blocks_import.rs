//! Risk: backfilled data differs from what was in the file, lands in misaligned or partial
//! blocks, or a bad file leaves half an import behind. Also runs the `cairn import` and
//! `cairn inspect --json` binaries end to end.

use crate::util::select_all;
use cairn::cli::import::{ImportError, import_file};
use cairn::storage::{Db, Options, StorageError};
use cairn_format::{Labels, Matcher};
use std::fmt::Write;
use std::path::Path;

const H: i64 = 3600 * 1000;
const T0: i64 = 1_700_000_000_000;

/// 5 h of two counters and a gauge every 30 s, OpenMetrics with float-second timestamps.
fn openmetrics() -> (String, Vec<(Labels, i64, f64)>) {
    let mut s = String::from("# TYPE imp_requests counter\n");
    let mut want = Vec::new();
    for (i, code) in ["200", "500"].iter().enumerate() {
        for k in 0..600i64 {
            let t = T0 + k * 30_000;
            let v = (k * (i as i64 + 1)) as f64;
            writeln!(s, "imp_requests_total{{code=\"{code}\"}} {v} {}.{:03}", t / 1000, t % 1000).unwrap();
            want.push((Labels::from_pairs([("__name__", "imp_requests_total"), ("code", code)]), t, v));
        }
    }
    s.push_str("# TYPE imp_temp gauge\n");
    for k in 0..600i64 {
        let t = T0 + k * 30_000 + 1;
        let v = 20.0 + (k % 7) as f64 * 0.25;
        writeln!(s, "imp_temp {v} {}.{:03}", t / 1000, t % 1000).unwrap();
        want.push((Labels::from_pairs([("__name__", "imp_temp")]), t, v));
    }
    s.push_str("# EOF\n");
    (s, want)
}

fn no_block_dirs(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().all(|e| {
        let n = e.unwrap().file_name().into_string().unwrap();
        n.len() != 26 && !n.contains(".tmp-for-")
    })
}

#[test]
fn import_matches_head_ingest_and_aligns_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let (text, want) = openmetrics();
    let file = tmp.path().join("in.om");
    std::fs::write(&file, &text).unwrap();
    let data = tmp.path().join("data");
    let sum = import_file(&file, &data, false).unwrap();
    assert_eq!(sum.samples, want.len() as u64);
    assert_eq!(sum.series, 3);
    let range = Options::default().block_range_ms;
    for b in &sum.blocks {
        assert_eq!(b.min_time.rem_euclid(range), 0, "{b:?}");
        assert_eq!(b.max_time - b.min_time, range);
    }
    let first = T0.div_euclid(range) * range;
    assert_eq!(sum.blocks.len() as i64, (T0 + 5 * H - 1 - first) / range + 1);

    // Same samples through the head of another directory: identical answers.
    let other = tmp.path().join("head");
    let hdb = Db::open(&other, Options { background_compaction: false, ..Options::default() }).unwrap();
    let mut app = hdb.appender();
    for (l, t, v) in &want {
        app.append(l, *t, *v).unwrap();
        app.commit().unwrap();
    }
    let db = Db::open(&data, Options { background_compaction: false, ..Options::default() }).unwrap();
    assert_eq!(db.blocks().len(), sum.blocks.len());
    for m in [vec![], vec![Matcher::equal("code", "500")]] {
        let a = select_all(&hdb.querier(T0 - H, T0 + 6 * H).unwrap(), &m);
        let b = select_all(&db.querier(T0 - H, T0 + 6 * H).unwrap(), &m);
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }
    // A second importer cannot take a directory an open database owns.
    match import_file(&file, &data, false) {
        Err(ImportError::Storage(StorageError::Locked { .. })) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[test]
fn bad_line_stops_the_import_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (text, _) = openmetrics();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(700, "imp_requests_total{code=\"200\" 5 1700000000.000");
    let file = tmp.path().join("bad.om");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let data = tmp.path().join("data");
    let e = import_file(&file, &data, false).unwrap_err();
    match &e {
        ImportError::BadLine { line, .. } => assert_eq!(*line, 701, "{e}"),
        other => panic!("expected BadLine, got {other:?}"),
    }
    assert!(e.to_string().contains("bad.om") && e.to_string().contains("line 701"), "{e}");
    assert!(no_block_dirs(&data));

    // A sample without a timestamp is refused too, naming its line.
    std::fs::write(&file, "a 1 1700000000\nb 2\n").unwrap();
    let e = import_file(&file, &data, false).unwrap_err();
    assert!(matches!(e, ImportError::BadLine { line: 2, .. }), "{e:?}");
    assert!(no_block_dirs(&data));
}

#[test]
fn cli_import_then_inspect_json() {
    let tmp = tempfile::tempdir().unwrap();
    let (text, want) = openmetrics();
    let file = tmp.path().join("in.om");
    std::fs::write(&file, &text).unwrap();
    let data = tmp.path().join("data");
    let bin = env!("CARGO_BIN_EXE_cairn");
    let out =
        std::process::Command::new(bin).arg("import").arg(&file).arg("--data").arg(&data).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("imported {} samples of 3 series", want.len())), "{stdout}");

    let out = std::process::Command::new(bin).arg("inspect").arg(&data).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totalSamples"], want.len() as u64);
    let blocks = v["blocks"].as_array().unwrap();
    assert!(blocks.len() >= 3);
    assert!(v["bytesPerSample"].as_f64().unwrap() > 0.0);
    assert_eq!(v["topMetrics"][0]["name"], "imp_requests_total");
    assert_eq!(v["topMetrics"][0]["series"], 2 * blocks.len() as u64);
    let text = std::process::Command::new(bin).arg("inspect").arg(&data).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("top metrics by series") && text.contains("code=500"), "{text}");
}

/// Importing the same file twice makes overlapping blocks: queries see every sample once,
/// and compaction merges the overlapping blocks into one per window.
#[test]
fn overlapping_blocks_deduplicate_and_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let (text, want) = openmetrics();
    let file = tmp.path().join("in.om");
    std::fs::write(&file, &text).unwrap();
    let data = tmp.path().join("data");
    let once = import_file(&file, &data, false).unwrap().blocks.len();
    import_file(&file, &data, false).unwrap();
    let o = Options { background_compaction: false, ..Options::default() };
    let db = Db::open(&data, o).unwrap();
    assert_eq!(db.blocks().len(), 2 * once);
    let all = || select_all(&db.querier(T0 - H, T0 + 6 * H).unwrap(), &[]);
    let before = all();
    assert_eq!(before.iter().map(|(_, s)| s.len()).sum::<usize>(), want.len());
    let r = db.compact().unwrap();
    assert!(r.merges >= once, "{r:?}");
    let blocks = db.blocks();
    for w in blocks.windows(2) {
        assert!(w[0].max_time <= w[1].min_time, "blocks still overlap: {blocks:?}");
    }
    assert_eq!(blocks.iter().map(|b| b.num_samples).sum::<u64>(), want.len() as u64);
    assert_eq!(all(), before);
}
