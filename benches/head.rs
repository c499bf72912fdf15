//! Head append throughput through the `Appender` with 1M active series (1 and 2 threads),
//! plus the memory figure: RSS per active series holding 120 samples each.
//!
//! `cargo bench --bench head` (env `CAIRN_BENCH_SERIES` overrides the 1M series count).
//! Setup appends 120 samples to each series first (that is the memory figure's state), then
//! criterion measures one more sample per series per iteration, committed every 10k samples.

use cairn::storage::{Db, Options, SeriesRef};
use cairn_format::Labels;
use criterion::{Criterion, Throughput};
use std::time::{Duration, Instant};

const BATCH: usize = 10_000;
const SCRAPE_MS: i64 = 15_000;

/// CPU time consumed by the calling thread (or the whole process).
fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes into it.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Realistic node-exporter-like label sets: 100 metric names × N/100 instances.
pub fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("node_metric_{:02}_total", i % 100)),
        (
            "instance",
            format!("10.{}.{}.{}:9100", (i / 100) >> 16 & 255, (i / 100) >> 8 & 255, (i / 100) & 255),
        ),
        ("job", "node".to_string()),
        ("mode", ["user", "system", "idle", "iowait"][i % 4].to_string()),
    ])
}

/// A counter-like value: grows by a per-series pseudo-random amount.
fn value(i: usize, k: i64) -> f64 {
    (k as u64 * (1 + (i as u64 * 2654435761) % 97)) as f64
}

struct State {
    db: Db,
    refs: Vec<SeriesRef>,
    /// Next scrape index (timestamps are `k * SCRAPE_MS`).
    k: i64,
}

fn setup(n: usize, samples: i64) -> State {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let rss0 = rss_bytes();
    let db = Db::open(&dir, Options::default()).expect("open");
    let mut app = db.appender();
    let mut refs = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n {
        refs.push(app.append(&labels(i), 0, 0.0).expect("append"));
        if i % BATCH == BATCH - 1 {
            app.commit().expect("commit");
        }
    }
    app.commit().expect("commit");
    let create = t0.elapsed();
    let t1 = Instant::now();
    let c1 = cpu_time(libc::CLOCK_THREAD_CPUTIME_ID);
    for k in 1..samples {
        for (i, r) in refs.iter().enumerate() {
            app.append_ref(*r, k * SCRAPE_MS, value(i, k)).expect("append_ref");
            if i % BATCH == BATCH - 1 {
                app.commit().expect("commit");
            }
        }
        app.commit().expect("commit");
    }
    let fill = t1.elapsed();
    let fill_cpu = cpu_time(libc::CLOCK_THREAD_CPUTIME_ID) - c1;
    let rss1 = rss_bytes();
    let st = db.head_stats_top(3);
    eprintln!(
        "setup: {n} series created in {create:.2?} ({:.0} series/s), {} samples appended in {fill:.2?} ({:.2} M samples/s)",
        n as f64 / create.as_secs_f64(),
        n as u64 * (samples as u64 - 1),
        (n as f64 * (samples - 1) as f64) / fill.as_secs_f64() / 1e6,
    );
    eprintln!(
        "setup: appending used {fill_cpu:.2?} of thread CPU time = {:.2} M samples per CPU-second (load-independent)",
        (n as f64 * (samples - 1) as f64) / fill_cpu.as_secs_f64() / 1e6,
    );
    eprintln!(
        "memory: head holds {} series / {} samples; RSS {:.1} MiB -> {:.1} MiB = {:.0} bytes per series with {samples} samples",
        st.num_series,
        st.num_samples,
        rss0 as f64 / 1048576.0,
        rss1 as f64 / 1048576.0,
        (rss1 - rss0) as f64 / n as f64
    );
    State { db, refs, k: samples }
}

/// Appends one sample to every series in `refs` at scrape `k` from `threads` threads.
fn append_round(db: &Db, refs: &[SeriesRef], k: i64, threads: usize) {
    let per = refs.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (ti, part) in refs.chunks(per).enumerate() {
            let db = db.clone();
            s.spawn(move || {
                let mut app = db.appender();
                for (j, r) in part.iter().enumerate() {
                    let i = ti * per + j;
                    app.append_ref(*r, k * SCRAPE_MS, value(i, k)).expect("append_ref");
                    if j % BATCH == BATCH - 1 {
                        app.commit().expect("commit");
                    }
                }
                app.commit().expect("commit");
            });
        }
    });
}

fn main() {
    let n: usize = std::env::var("CAIRN_BENCH_SERIES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let mut st = setup(n, 120);
    // Wall and process-CPU time of a few rounds per thread count (one sample per series each):
    // on a shared machine, CPU-seconds show the cost independent of other load.
    for threads in [1usize, 2] {
        let rounds = 3;
        let (w0, c0) = (Instant::now(), cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID));
        for _ in 0..rounds {
            append_round(&st.db, &st.refs, st.k, threads);
            st.k += 1;
        }
        let (wall, cpu) = (w0.elapsed(), cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID) - c0);
        let total = (n * rounds) as f64;
        eprintln!(
            "rounds: {threads} thread(s): {:.2} M samples/s wall, {:.2} M samples per CPU-second, CPU/wall = {:.2}",
            total / wall.as_secs_f64() / 1e6,
            total / cpu.as_secs_f64() / 1e6,
            cpu.as_secs_f64() / wall.as_secs_f64()
        );
    }
    let mut c =
        Criterion::default().configure_from_args().sample_size(10).warm_up_time(Duration::from_secs(1));
    let mut g = c.benchmark_group("head_append");
    g.throughput(Throughput::Elements(n as u64));
    g.measurement_time(Duration::from_secs(10));
    for threads in [1usize, 2] {
        g.bench_function(format!("append_ref_{}series_{threads}thread", n), |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    append_round(&st.db, &st.refs, st.k, threads);
                    st.k += 1;
                }
                t.elapsed()
            })
        });
    }
    // By labels: validation + hash + lookup per sample (the path remote-write takes).
    let sub: usize = n.min(100_000);
    g.throughput(Throughput::Elements(sub as u64));
    let all_labels: Vec<Labels> = (0..sub).map(labels).collect();
    g.bench_function(format!("append_by_labels_{sub}of{n}series_1thread"), |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                let mut app = st.db.appender();
                for (i, l) in all_labels.iter().enumerate() {
                    app.append(l, st.k * SCRAPE_MS, value(i, st.k)).expect("append");
                    if i % BATCH == BATCH - 1 {
                        app.commit().expect("commit");
                    }
                }
                app.commit().expect("commit");
                st.k += 1;
            }
            t.elapsed()
        })
    });
    g.finish();
    c.final_summary();
    let dir = st.db.dir().to_path_buf();
    st.db.close().expect("close");
    let _ = std::fs::remove_dir_all(dir);
}
