//! Remote-write ingest without HTTP: snappy decompression, protobuf decoding, validation, series
//! lookup, WAL encoding and XOR append of pre-encoded requests into a temp-dir database.
//!
//! `cargo bench --bench remote_write`. Each request carries 2000 node_exporter-like series × 10
//! samples (the compare harness's shape); the series exist already (the first request, untimed,
//! creates them), so this is the steady state of a long-running receiver. `/cpu` cases measure
//! the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), the figure that means something
//! on a shared machine. With `REMOTE_WRITE_ITERS=N` the binary ingests N requests after the
//! set-up and exits without criterion, for `valgrind --tool=cachegrind` instruction counts (run
//! once with N and once with 0 and divide the difference by N × 20,000 samples).

use cairn::ingest::limits::IngestLimits;
use cairn::ingest::remote::proto::{Label, Sample, TimeSeries, WriteRequest};
use cairn::ingest::remote::{self, WriteBuffers};
use cairn::storage::{Db, Options};
use criterion::{Criterion, Throughput};
use prost::Message;
use std::time::{Duration, Instant};

const SERIES: usize = 2000;
const SAMPLES_PER_SERIES: usize = 10;
const STEP_MS: i64 = 15_000;
/// Requests pre-encoded; after the last one the database is reopened fresh (untimed).
const REQUESTS: usize = 120;
/// Requests pre-encoded with `REMOTE_WRITE_ITERS` (at most 20 are ingested per database).
const ITERS_BODIES: usize = 21;

fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// node_exporter-like labels: 86 series per host, as in the compare harness (approximately).
fn labels(i: usize) -> Vec<Label> {
    let host = i / 86;
    let k = i % 86;
    let instance = format!("host-{host:05}:9100");
    let mut l = match k {
        0..32 => vec![
            ("__name__", "node_cpu_seconds_total".to_string()),
            ("cpu", (k / 8).to_string()),
            (
                "mode",
                ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"][k % 8].to_string(),
            ),
        ],
        32..44 => vec![
            ("__name__", "http_request_duration_seconds_bucket".to_string()),
            ("handler", "/api/v1/query".to_string()),
            ("le", format!("{}", 0.005 * f64::powi(2.0, (k - 32) as i32))),
        ],
        _ => vec![("__name__", format!("node_metric_{k:02}_bytes")), ("device", format!("sd{k}"))],
    };
    l.push(("instance", instance));
    l.push(("job", "node".to_string()));
    l.into_iter().map(|(n, v)| Label::new(n, &v)).collect()
}

/// Request `r`: samples `r*10 .. r*10+10` of every series, snappy-compressed.
fn request(r: usize) -> Vec<u8> {
    let req = WriteRequest {
        timeseries: (0..SERIES)
            .map(|i| TimeSeries {
                labels: labels(i),
                samples: (0..SAMPLES_PER_SERIES)
                    .map(|j| {
                        let k = (r * SAMPLES_PER_SERIES + j) as i64;
                        Sample {
                            value: (k * (1 + i as i64 % 97)) as f64 / 100.0,
                            timestamp: 1_700_000_000_000 + k * STEP_MS,
                        }
                    })
                    .collect(),
                exemplars: vec![],
                histograms: vec![],
            })
            .collect(),
        metadata: vec![],
    };
    snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).expect("snappy")
}

struct State {
    bodies: Vec<Vec<u8>>,
    db: Db,
    next: usize,
    limits: IngestLimits,
    bufs: WriteBuffers,
    _dir: tempfile::TempDir,
}

impl State {
    fn new(bodies: Vec<Vec<u8>>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = Options { background_compaction: false, ..Options::default() };
        let db = Db::open(dir.path(), opts).expect("open");
        let mut s = State {
            bodies,
            db,
            next: 0,
            limits: IngestLimits::default(),
            bufs: WriteBuffers::default(),
            _dir: dir,
        };
        s.ingest_next();
        s
    }

    /// Ingests the next request (reopening a fresh database when all were used).
    fn ingest_next(&mut self) {
        if self.next == self.bodies.len() {
            let bodies = std::mem::take(&mut self.bodies);
            *self = State::new(bodies);
        }
        let body = &self.bodies[self.next];
        self.next += 1;
        let out = remote::ingest_write_request(&self.db, body, None, None, &self.limits, &mut self.bufs)
            .expect("ingest");
        assert_eq!(out.rejected, 0, "{:?}", out.first_error);
    }

    /// Time of one request, setting up untimed when needed.
    fn timed(&mut self, clock: fn() -> Duration) -> Duration {
        if self.next == self.bodies.len() {
            let bodies = std::mem::take(&mut self.bodies);
            *self = State::new(bodies);
        }
        let t0 = clock();
        self.ingest_next();
        clock() - t0
    }
}

fn wall() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

fn benches(c: &mut Criterion, bodies: Vec<Vec<u8>>) {
    let mut st = State::new(bodies);
    let mut g = c.benchmark_group("remote_write");
    g.sample_size(10);
    g.throughput(Throughput::Elements((SERIES * SAMPLES_PER_SERIES) as u64));
    g.bench_function("request_2000x10", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| st.timed(wall)).sum());
    });
    g.bench_function("request_2000x10/cpu", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| st.timed(cpu_time)).sum());
    });
    g.finish();
}

fn main() {
    let n_iters = std::env::var("REMOTE_WRITE_ITERS").ok().and_then(|v| v.parse::<usize>().ok());
    // The same bodies whatever N is, so that the difference of two runs is ingestion only.
    let n_bodies = if n_iters.is_some() { ITERS_BODIES } else { REQUESTS };
    let bodies: Vec<Vec<u8>> = (0..n_bodies).map(request).collect();
    if let Some(n) = n_iters {
        let mut st = State::new(bodies);
        for _ in 0..n {
            st.ingest_next();
        }
        println!("{n} requests of {SERIES} series × {SAMPLES_PER_SERIES} samples ingested");
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, bodies);
    c.final_summary();
}
