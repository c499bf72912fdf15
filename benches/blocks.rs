//! Blocks: writing a 2 h block of node_exporter-like data (15 s interval) from the head,
//! opening a data directory of blocks, and range reads over mmapped chunks. Prints the
//! on-disk bytes per sample. `cargo bench --bench blocks` (`CAIRN_BENCH_SERIES` overrides
//! 10 000 series).

use cairn::storage::{Db, Options};
use cairn_format::{Labels, Matcher};
use criterion::{BatchSize, Criterion, Throughput};
use std::time::Duration;

const RANGE: i64 = 2 * 3600 * 1000;

fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("node_metric_{:02}", i % 100)),
        ("instance", format!("10.0.{}.{}:9100", (i / 100) >> 8 & 255, (i / 100) & 255)),
        ("job", "node".to_string()),
        ("mode", ["user", "system", "idle", "iowait"][i % 4].to_string()),
    ])
}

fn opts() -> Options {
    Options { background_compaction: false, ..Options::default() }
}

/// `n` series over 2 h at 15 s: counters rising by small steps, gauges wandering.
fn fill(db: &Db, n: usize) {
    let mut app = db.appender();
    let refs: Vec<_> = (0..n).map(|i| app.append(&labels(i), 0, 0.0).expect("append")).collect();
    app.commit().expect("commit");
    for k in 1..(RANGE / 15_000) {
        for (i, r) in refs.iter().enumerate() {
            let v = if i % 2 == 0 {
                (k * (i as i64 % 7 + 1)) as f64
            } else {
                ((k * 31 + i as i64) % 97) as f64 / 4.0
            };
            app.append_ref(*r, k * 15_000, v).expect("append");
        }
        app.commit().expect("commit");
    }
}

fn main() {
    let n: usize = std::env::var("CAIRN_BENCH_SERIES").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let mut c =
        Criterion::default().configure_from_args().sample_size(10).measurement_time(Duration::from_secs(10));
    let samples = n as u64 * (RANGE / 15_000) as u64;

    let mut g = c.benchmark_group("block");
    g.throughput(Throughput::Elements(samples));
    g.bench_function("write_from_head", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let db = Db::open(dir.path(), opts()).expect("open");
                fill(&db, n);
                (dir, db)
            },
            |(dir, db)| {
                assert_eq!(db.persist_head(true).expect("persist"), 1);
                (dir, db)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // A directory with 12 blocks of the same shape, for open and reads.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Db::open(dir.path(), opts()).expect("open");
        fill(&db, n);
        db.persist_head(true).expect("persist");
        let info = db.blocks();
        let b = &info[0];
        eprintln!(
            "block of {} series, {} samples: {} bytes on disk, {:.3} bytes/sample",
            b.num_series,
            b.num_samples,
            b.size_bytes,
            b.size_bytes as f64 / b.num_samples as f64
        );
        db.close().expect("close");
    }
    let src = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.len() == 26))
        .expect("block dir");
    for k in 1..12 {
        // Same content under new ULIDs (overlapping blocks: reads also deduplicate).
        let dst = dir.path().join(format!("01J000000000000000000000{k:02}"));
        copy_dir(&src, &dst);
    }
    c.bench_function("open_dir_12_blocks", |b| {
        b.iter(|| {
            let db = Db::open(dir.path(), opts()).expect("open");
            assert_eq!(db.blocks().len(), 12);
            db.close().expect("close");
        })
    });
    let db =
        Db::open(dir.path(), Options { background_compaction: false, ..Options::default() }).expect("open");
    let q = db.querier(0, RANGE).expect("querier");
    let mut g = c.benchmark_group("block_read");
    g.throughput(Throughput::Elements(12 * RANGE as u64 / 15_000));
    g.bench_function("one_series_12_blocks_2h", |b| {
        let m = [Matcher::equal("__name__", "node_metric_07"), Matcher::equal("instance", "10.0.0.0:9100")];
        b.iter(|| q.select(&m).expect("select").map(|s| s.samples().count()).sum::<usize>())
    });
    g.finish();
}

fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read_dir").flatten() {
        let p = e.path();
        let to = dst.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &to);
        } else {
            std::fs::copy(&p, &to).expect("copy");
        }
    }
}
