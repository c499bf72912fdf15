//! Criterion benches of the PromQL engine on a synthetic in-memory dataset: 10k counter series
//! and 10k classic-histogram bucket series, 2h at 15s each (9.6M samples). Queries: rate +
//! sum by, histogram_quantile, topk, a group_left join and a subquery. Figures go into the
//! "Query engine" section of benches/README.md at the workspace root. The `/cpu` variants
//! measure process CPU time instead of wall time, which means more on a shared machine.

use std::hint::black_box;
use std::time::Duration;

use cairn_format::{Labels, Sample};
use cairn_query::mem::MemStorage;
use cairn_query::{Engine, EngineOptions, QueryOptions};
use criterion::{Criterion, criterion_group, criterion_main};

const SCRAPE_MS: i64 = 15_000;
const SPAN_MS: i64 = 2 * 3600 * 1000;
const INSTANCES: usize = 100;
const PATHS: usize = 100;
const LES: [&str; 10] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
const HIST_INSTANCES: usize = 1000;

fn dataset() -> MemStorage {
    let st = MemStorage::new();
    let n = (SPAN_MS / SCRAPE_MS) as usize;
    for i in 0..INSTANCES {
        let inst = format!("host-{i:03}:9100");
        st.set_series(
            Labels::from_pairs([
                ("__name__", "instance_info".to_string()),
                ("instance", inst.clone()),
                ("zone", format!("z{}", i % 3)),
            ]),
            (0..n).map(|k| Sample::new(k as i64 * SCRAPE_MS, 1.0)).collect(),
        );
        for p in 0..PATHS {
            let labels = Labels::from_pairs([
                ("__name__", "http_requests_total".to_string()),
                ("instance", inst.clone()),
                ("job", format!("job-{}", p % 10)),
                ("path", format!("/api/v{}/{}", p % 3, p)),
            ]);
            let rate = 1.0 + ((i * PATHS + p) % 17) as f64;
            let samples =
                (0..n).map(|k| Sample::new(k as i64 * SCRAPE_MS, (k as f64 * rate * 15.0).floor())).collect();
            st.set_series(labels, samples);
        }
    }
    for i in 0..HIST_INSTANCES {
        let inst = format!("host-{i:04}:8080");
        for (b, le) in LES.iter().enumerate() {
            let labels = Labels::from_pairs([
                ("__name__", "request_duration_seconds_bucket".to_string()),
                ("instance", inst.clone()),
                ("le", le.to_string()),
            ]);
            let share = (b + 1) as f64 / LES.len() as f64;
            let samples = (0..n)
                .map(|k| Sample::new(k as i64 * SCRAPE_MS, (k as f64 * 10.0 * share).floor()))
                .collect();
            st.set_series(labels, samples);
        }
    }
    st
}

/// CPU time consumed by the whole process (the engine evaluates on its own thread).
fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_PROCESS_CPUTIME_ID is valid.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Times `iters` runs of `f` in process CPU time rather than wall time.
fn cpu_time(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = process_cpu();
    for _ in 0..iters {
        f();
    }
    process_cpu().saturating_sub(start)
}

fn bench(c: &mut Criterion) {
    let st = dataset();
    let engine = Engine::new(EngineOptions::default());
    let opts = QueryOptions::default();
    let end = SPAN_MS;
    let start = SPAN_MS - 3600 * 1000;
    let mut g = c.benchmark_group("engine");
    g.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    let range_queries = [
        ("rate_sum_by_range_1h_step60s", "sum by (job) (rate(http_requests_total[5m]))"),
        (
            "histogram_quantile_range_1h_step60s",
            "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
        ),
    ];
    for (name, q) in range_queries {
        g.bench_function(name, |b| {
            b.iter(|| black_box(engine.range_query(&st, q, start, end, 60_000, &opts).expect("query")))
        });
        g.bench_function(format!("{name}/cpu"), |b| {
            b.iter_custom(|n| {
                cpu_time(n, || {
                    black_box(engine.range_query(&st, q, start, end, 60_000, &opts).expect("query"));
                })
            })
        });
    }
    let instant_queries = [
        ("topk_instant", "topk(10, rate(http_requests_total[5m]))"),
        (
            "join_group_left_instant",
            "rate(http_requests_total[5m]) * on(instance) group_left(zone) instance_info",
        ),
        ("subquery_instant", "max_over_time(rate(http_requests_total[5m])[30m:1m])"),
    ];
    for (name, q) in instant_queries {
        g.bench_function(name, |b| {
            b.iter(|| black_box(engine.instant_query(&st, q, end, &opts).expect("query")))
        });
        g.bench_function(format!("{name}/cpu"), |b| {
            b.iter_custom(|n| {
                cpu_time(n, || {
                    black_box(engine.instant_query(&st, q, end, &opts).expect("query"));
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
