//! Criterion bench of the exposition parser on the captured node_exporter and Prometheus
//! outputs. Throughput is reported in samples (elements) per second. Each case is measured
//! twice: wall-clock time, and the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which
//! stays meaningful on a machine shared with other jobs. Owns nothing else.

use std::hint::black_box;
use std::time::Duration;

use cairn::ingest::exposition::{Entry, Format, Parser};
use criterion::{Criterion, Throughput, criterion_group};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/exposition/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// CPU time consumed by the calling thread so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is supported on Linux; the return code is checked.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the thread CPU time it took.
fn cpu_time(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iters {
        f();
    }
    thread_cpu_time() - start
}

fn parse_values(input: &[u8], format: Format) -> f64 {
    let mut sum = 0.0;
    for e in Parser::new(black_box(input), format) {
        if let Ok(Entry::Sample(s)) = e {
            sum += s.value;
        }
    }
    sum
}

fn count_samples(input: &[u8], format: Format) -> u64 {
    Parser::new(input, format).filter(|e| matches!(e, Ok(Entry::Sample(_)))).count() as u64
}

fn bench(c: &mut Criterion) {
    for (name, format) in
        [("node_exporter.prom.txt", Format::PrometheusText), ("prometheus.prom.txt", Format::PrometheusText)]
    {
        let input = fixture(name);
        let n = count_samples(&input, format);
        let mut g = c.benchmark_group(format!("exposition/{name}"));
        g.throughput(Throughput::Elements(n));
        g.bench_function("parse", |b| b.iter(|| black_box(parse_values(&input, format))));
        g.bench_function("parse/cpu", |b| {
            b.iter_custom(|iters| {
                cpu_time(iters, || {
                    black_box(parse_values(&input, format));
                })
            })
        });
        g.bench_function("parse+iterate_labels/cpu", |b| {
            b.iter_custom(|iters| {
                cpu_time(iters, || {
                    let mut len = 0usize;
                    for e in Parser::new(black_box(&input), format) {
                        if let Ok(Entry::Sample(s)) = e {
                            for (n, v) in s.labels.iter() {
                                len += n.len() + v.len();
                            }
                        }
                    }
                    black_box(len);
                })
            })
        });
        g.bench_function("parse+iterate_labels", |b| {
            b.iter(|| {
                let mut len = 0usize;
                for e in Parser::new(black_box(&input), format) {
                    if let Ok(Entry::Sample(s)) = e {
                        for (n, v) in s.labels.iter() {
                            len += n.len() + v.len();
                        }
                    }
                }
                black_box(len)
            })
        });
        g.bench_function("parse+to_labels", |b| {
            b.iter(|| {
                let mut len = 0usize;
                for e in Parser::new(black_box(&input), format) {
                    if let Ok(Entry::Sample(s)) = e {
                        len += s.to_labels().len();
                    }
                }
                black_box(len)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);

/// With `EXPOSITION_ITERS=N`, parses the node_exporter fixture N times and exits without
/// criterion, so that `perf stat -e instructions,cycles` can count per-sample work (run once
/// with N and once with 0 and divide the difference by N × 507). Otherwise runs criterion.
fn main() {
    if let Some(n) = std::env::var("EXPOSITION_ITERS").ok().and_then(|v| v.parse::<u64>().ok()) {
        let input = fixture("node_exporter.prom.txt");
        let mut sum = 0.0;
        for _ in 0..n {
            sum += parse_values(&input, Format::PrometheusText);
        }
        println!(
            "{n} iterations, {} samples each, checksum {sum}",
            count_samples(&input, Format::PrometheusText)
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
