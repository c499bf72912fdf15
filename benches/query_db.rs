//! PromQL queries through the real database: the engine reading a [`Db`] whose first 2 h sit in
//! a persisted block and whose last hour is in the head, so every query goes through the
//! querier, the head snapshot, block reads and the storage adapter (`MemStorage` benches in
//! `query/benches/engine.rs` skip all of that). The dataset is node_exporter-like, the queries
//! mirror the side-by-side harness's set. Each query has a `/cpu` case (process CPU time, the
//! figure that means something on a shared machine). `cargo bench --bench query_db`;
//! `CAIRN_BENCH_HOSTS` overrides 100 hosts (57 series each). Figures: benches/README.md.

use cairn::storage::{Db, Options};
use cairn_format::Labels;
use cairn_query::{Engine, EngineOptions, QueryOptions};
use criterion::Criterion;
use std::hint::black_box;
use std::time::Duration;

const SCRAPE_MS: i64 = 15_000;
const HOUR: i64 = 3600 * 1000;
/// Samples end 3 s before the whole minute, as in the harness (no sample on a window edge).
const SHIFT: i64 = -3_000;
const MODES: [&str; 8] = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"];
const LES: [&str; 12] =
    ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

/// One host's series, each with the per-scrape increment of a counter (0 for a gauge).
fn host_series(h: usize) -> Vec<(Labels, f64, bool)> {
    let inst = format!("host-{h:05}:9100");
    let mut v = Vec::new();
    for cpu in 0..4 {
        for (m, mode) in MODES.iter().enumerate() {
            let l = Labels::from_pairs([
                ("__name__", "node_cpu_seconds_total".to_string()),
                ("cpu", cpu.to_string()),
                ("instance", inst.clone()),
                ("job", "node".to_string()),
                ("mode", mode.to_string()),
            ]);
            v.push((l, 0.01 * (1 + (m + cpu + h) % 7) as f64, true));
        }
    }
    v.push((
        Labels::from_pairs([("__name__", "node_load1"), ("instance", &inst), ("job", "node")]),
        0.0,
        false,
    ));
    for handler in ["/api", "/metrics"] {
        for (b, le) in LES.iter().enumerate() {
            let l = Labels::from_pairs([
                ("__name__", "http_request_duration_seconds_bucket"),
                ("handler", handler),
                ("instance", &inst),
                ("job", "node"),
                ("le", le),
            ]);
            v.push((l, (b + 1 + h % 3) as f64, true));
        }
    }
    v
}

/// Appends `[from, to)` of every series, one commit per scrape.
fn fill(db: &Db, series: &[(Labels, f64, bool)], from: i64, to: i64) {
    let mut app = db.appender();
    let mut t = from;
    let mut refs = Vec::with_capacity(series.len());
    for (i, (l, inc, counter)) in series.iter().enumerate() {
        let k = (t / SCRAPE_MS) as f64;
        let v = if *counter { k * inc } else { (i % 13) as f64 };
        refs.push(app.append(l, t + SHIFT, v).expect("append"));
    }
    app.commit().expect("commit");
    t += SCRAPE_MS;
    while t < to {
        let k = (t / SCRAPE_MS) as f64;
        for (i, ((_, inc, counter), r)) in series.iter().zip(&refs).enumerate() {
            let v = if *counter { k * inc } else { ((i as f64 + k) % 13.0) / 4.0 };
            app.append_ref(*r, t + SHIFT, v).expect("append");
        }
        app.commit().expect("commit");
        t += SCRAPE_MS;
    }
}

/// CPU time consumed by the whole process.
fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_PROCESS_CPUTIME_ID is valid.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    let hosts: usize = std::env::var("CAIRN_BENCH_HOSTS").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { background_compaction: false, ..Options::default() };
    let db = Db::open(dir.path(), opts).expect("open");
    let series: Vec<_> = (0..hosts).flat_map(host_series).collect();
    // Hours 0–2 into a block, hour 2–3 stays in the head.
    fill(&db, &series, SCRAPE_MS, 2 * HOUR);
    assert_eq!(db.persist_head(true).expect("persist"), 1, "one block expected");
    fill(&db, &series, 2 * HOUR + SCRAPE_MS, 3 * HOUR + SCRAPE_MS);
    eprintln!("{} series, 3 h at 15 s: hours 0–2 in a block, 2–3 in the head", series.len());

    let engine = Engine::new(EngineOptions::default());
    let qopts = QueryOptions::default();
    // As in the harness: the newest samples are 3 s older than the evaluation time.
    let end = 3 * HOUR;
    let start = end - HOUR;
    let mut c =
        Criterion::default().configure_from_args().sample_size(10).measurement_time(Duration::from_secs(5));
    let mut g = c.benchmark_group("query_db");
    g.warm_up_time(Duration::from_secs(1));
    let instant = [
        ("selector", "node_load1"),
        ("count_by", "count by (mode) (node_cpu_seconds_total)"),
        ("rate_sum_by", r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))"#),
        (
            "histogram_quantile",
            "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        ),
        ("topk", "topk(5, rate(node_cpu_seconds_total[5m]))"),
        ("subquery", "max_over_time(sum by (instance) (rate(node_cpu_seconds_total[5m]))[30m:1m])"),
        ("block_offset", "sum(rate(node_cpu_seconds_total[5m] offset 90m))"),
    ];
    let range = [
        ("rate_sum_by_range", "sum by (mode) (rate(node_cpu_seconds_total[5m]))"),
        (
            "histogram_quantile_range",
            "histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))",
        ),
        ("avg_over_time_range", "avg_over_time(node_load1[10m])"),
    ];
    for (name, q) in instant {
        g.bench_function(format!("{name}/cpu"), |b| {
            b.iter_custom(|n| {
                let t0 = process_cpu();
                for _ in 0..n {
                    black_box(engine.instant_query(&db, q, end, &qopts).expect("query"));
                }
                process_cpu().saturating_sub(t0)
            })
        });
    }
    for (name, q) in range {
        g.bench_function(format!("{name}/cpu"), |b| {
            b.iter_custom(|n| {
                let t0 = process_cpu();
                for _ in 0..n {
                    black_box(engine.range_query(&db, q, start, end, 60_000, &qopts).expect("query"));
                }
                process_cpu().saturating_sub(t0)
            })
        });
    }
    g.finish();
    c.final_summary();
}
