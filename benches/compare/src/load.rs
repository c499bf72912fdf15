//! The deterministic remote-write load: node_exporter-like series (counters, gauges, constants,
//! classic histograms with `_bucket{le}`/`_sum`/`_count`) and their samples, pre-encoded as
//! snappy-compressed `WriteRequest` bodies before any timing starts.
//!
//! Owns the series template, value generators and request encoding. It does not send anything
//! (see `ingest.rs`) and knows nothing of the systems under test.
//!
//! Like Prometheus's remote-write queue, the series are split into `shards` (one per
//! connection; each series always goes through the same one), and each shard's requests are cut
//! time-major: a window of `samples_per_request_series` consecutive timestamps for all of the
//! shard's series (in chunks of `series_per_request`) before the next window. So every series
//! arrives in timestamp order (Prometheus rejects out-of-order samples), the shards stay within
//! minutes of each other (Prometheus also rejects samples more than an hour older than its newest),
//! and each request still carries several samples per series, like a sender catching up.

use bytes::Bytes;
use cairn::ingest::remote::proto::{Label, Sample, TimeSeries, WriteRequest};
use prost::Message;

/// Spacing between samples of one series, like a 15s scrape interval.
pub const SAMPLE_INTERVAL_MS: i64 = 15_000;

/// The last sample of every series is this long before the query time (hh:mm:30), so every
/// sample is 3s (mod 15s) off the grid of query times, range steps and window edges, and the
/// subquery steps (whole minutes) are 30s off the window edges. Real scrapes are never exactly on
/// the boundary either; on it, Prometheus 2.x (closed range and subquery windows) and 3.x
/// (left-open windows, which Cairn follows) select different samples.
pub const SAMPLE_PHASE_MS: i64 = 3_000;

/// Series per host produced by [`host_families`] (checked by a test).
pub const SERIES_PER_HOST: usize = 86;

/// What to generate.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub hosts: usize,
    /// Samples per series (K), `SAMPLE_INTERVAL_MS` apart, the last one at
    /// `query_time_ms - SAMPLE_PHASE_MS`.
    pub samples_per_series: usize,
    pub series_per_request: usize,
    pub samples_per_request_series: usize,
    /// Independent request streams (one per connection).
    pub shards: usize,
    /// When the instant queries are evaluated (and range queries end); a whole minute.
    pub query_time_ms: i64,
    pub seed: u64,
}

/// The generated load, ready to send.
pub struct Load {
    /// Request bodies per shard, in the order they must be sent.
    pub shards: Vec<Vec<Bytes>>,
    pub requests: usize,
    /// Distinct metric names (for the sample-count check).
    pub metric_names: Vec<String>,
    pub series: usize,
    pub samples: u64,
    pub start_ms: i64,
    /// Timestamp of the last sample of every series.
    pub end_ms: i64,
    pub query_time_ms: i64,
    /// Uncompressed protobuf bytes over all requests.
    pub raw_bytes: u64,
    /// Snappy-compressed bytes over all requests (what goes over the wire).
    pub wire_bytes: u64,
}

/// splitmix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

fn round_to(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

const LATENCY_BOUNDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// One value generator; a histogram produces several series at once.
enum Gen {
    /// Monotonic counter; increments are `mean_inc × U(0.5, 1.5)` rounded to `1/scale`.
    Counter {
        value: f64,
        mean_inc: f64,
        scale: f64,
    },
    /// Bounded random walk rounded to `1/scale`.
    Gauge {
        value: f64,
        lo: f64,
        hi: f64,
        step: f64,
        scale: f64,
    },
    Constant(f64),
    /// Classic histogram of request latencies (exponential, mean `mean_s`): the buckets
    /// (cumulative, `+Inf` last), then `_sum`, then `_count`.
    Histogram {
        buckets: [f64; LATENCY_BOUNDS.len() + 1],
        sum: f64,
        mean_obs: f64,
        mean_s: f64,
    },
}

impl Gen {
    fn width(&self) -> usize {
        match self {
            Gen::Histogram { buckets, .. } => buckets.len() + 2,
            _ => 1,
        }
    }

    /// Advance one interval and write this generator's values into `out` (`width()` long).
    fn step(&mut self, rng: &mut Rng, out: &mut [f64]) {
        match self {
            Gen::Counter { value, mean_inc, scale } => {
                *value += round_to(*mean_inc * rng.range(0.5, 1.5), *scale);
                out[0] = *value;
            }
            Gen::Gauge { value, lo, hi, step, scale } => {
                let next = *value + *step * rng.range(-1.0, 1.0);
                *value = round_to(next.clamp(*lo, *hi), *scale);
                out[0] = *value;
            }
            Gen::Constant(v) => out[0] = *v,
            Gen::Histogram { buckets, sum, mean_obs, mean_s } => {
                let n = (rng.unit() * 2.0 * *mean_obs).floor() as usize;
                for _ in 0..n {
                    let x = -(1.0 - rng.unit()).ln() * *mean_s;
                    *sum += x;
                    let idx = LATENCY_BOUNDS.iter().position(|b| x <= *b).unwrap_or(LATENCY_BOUNDS.len());
                    buckets[idx] += 1.0;
                }
                let mut cumulative = 0.0;
                for (slot, count) in out.iter_mut().zip(buckets.iter()) {
                    cumulative += count;
                    *slot = cumulative;
                }
                out[buckets.len()] = *sum;
                out[buckets.len() + 1] = cumulative;
            }
        }
    }
}

type LabelSet = Vec<(String, String)>;

fn labels(name: &str, host: &str, extra: &[(&str, &str)]) -> LabelSet {
    let mut l: LabelSet = vec![
        ("__name__".into(), name.into()),
        ("instance".into(), host.into()),
        ("job".into(), "node".into()),
    ];
    l.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    l.sort();
    l
}

/// The series of one host: `(label sets, generator)` pairs, the label sets in the order the
/// generator writes its values.
fn host_families(h: usize, rng: &mut Rng) -> Vec<(Vec<LabelSet>, Gen)> {
    let host = format!("host-{h:05}:9100");
    let mut fams: Vec<(Vec<LabelSet>, Gen)> = Vec::new();
    let mut one = |l: LabelSet, g: Gen| fams.push((vec![l], g));

    const MODES: [&str; 8] = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"];
    for cpu in ["0", "1", "2", "3"] {
        for mode in MODES {
            let share = match mode {
                "idle" => rng.range(8.0, 13.0),
                "user" | "system" => rng.range(0.5, 4.0),
                _ => rng.range(0.0, 0.1),
            };
            let start = rng.range(1e4, 1e6).round();
            one(
                labels("node_cpu_seconds_total", &host, &[("cpu", cpu), ("mode", mode)]),
                Gen::Counter { value: start, mean_inc: share, scale: 100.0 },
            );
        }
    }
    for (name, hi) in [("node_load1", 4.0), ("node_load5", 3.0), ("node_load15", 2.0)] {
        let v = round_to(rng.range(0.0, hi), 100.0);
        one(labels(name, &host, &[]), Gen::Gauge { value: v, lo: 0.0, hi, step: 0.2, scale: 100.0 });
    }
    let total = (rng.range(4.0, 64.0).round() * 1024.0 * 1024.0 * 1024.0).round();
    one(labels("node_memory_MemTotal_bytes", &host, &[]), Gen::Constant(total));
    for (name, frac) in [
        ("node_memory_MemAvailable_bytes", 0.6),
        ("node_memory_MemFree_bytes", 0.3),
        ("node_memory_Cached_bytes", 0.25),
        ("node_memory_Buffers_bytes", 0.05),
    ] {
        let v = (total * frac).round();
        one(
            labels(name, &host, &[]),
            Gen::Gauge { value: v, lo: 0.0, hi: total, step: total * 0.002, scale: 1.0 / 4096.0 },
        );
    }
    for dev in ["eth0", "lo"] {
        for dir in ["receive", "transmit"] {
            let name = format!("node_network_{dir}_bytes_total");
            let bps = rng.range(1e3, 5e6);
            one(
                labels(&name, &host, &[("device", dev)]),
                Gen::Counter { value: rng.range(1e8, 1e11).round(), mean_inc: bps * 15.0, scale: 1.0 },
            );
        }
    }
    for (dev, mp) in [("/dev/vda1", "/"), ("/dev/vdb1", "/data")] {
        let size = (rng.range(20.0, 500.0).round() * 1e9).round();
        let fl = [("device", dev), ("fstype", "ext4"), ("mountpoint", mp)];
        one(
            labels("node_filesystem_avail_bytes", &host, &fl),
            Gen::Gauge {
                value: (size * rng.range(0.2, 0.9)).round(),
                lo: 0.0,
                hi: size,
                step: 4096.0 * 256.0,
                scale: 1.0 / 4096.0,
            },
        );
        one(labels("node_filesystem_size_bytes", &host, &fl), Gen::Constant(size));
    }
    for dev in ["vda", "vdb"] {
        for op in ["read", "written"] {
            let name = format!("node_disk_{op}_bytes_total");
            one(
                labels(&name, &host, &[("device", dev)]),
                Gen::Counter {
                    value: rng.range(1e9, 1e12).round(),
                    mean_inc: 4096.0 * rng.range(1.0, 2000.0).round(),
                    scale: 1.0 / 512.0,
                },
            );
        }
    }
    let node = format!("host-{h:05}");
    let release = ["6.1.0-13-amd64", "6.1.0-18-amd64", "5.10.0-26-amd64"][h % 3];
    one(
        labels("node_uname_info", &host, &[("nodename", &node), ("release", release), ("sysname", "Linux")]),
        Gen::Constant(1.0),
    );
    one(labels("node_boot_time_seconds", &host, &[]), Gen::Constant(1.7e9 + (h as f64) * 37.0));
    for handler in ["/api/v1/query", "/metrics"] {
        for code in ["200", "500"] {
            let rate = if code == "200" { rng.range(1.0, 50.0) } else { rng.range(0.0, 0.5) };
            one(
                labels("http_requests_total", &host, &[("code", code), ("handler", handler)]),
                Gen::Counter { value: rng.range(0.0, 1e6).round(), mean_inc: rate * 15.0, scale: 1.0 },
            );
        }
    }
    for handler in ["/api/v1/query", "/metrics"] {
        let mut ls = Vec::new();
        for b in LATENCY_BOUNDS.iter().map(|b| b.to_string()).chain(std::iter::once("+Inf".to_string())) {
            ls.push(labels(
                "http_request_duration_seconds_bucket",
                &host,
                &[("handler", handler), ("le", b.as_str())],
            ));
        }
        ls.push(labels("http_request_duration_seconds_sum", &host, &[("handler", handler)]));
        ls.push(labels("http_request_duration_seconds_count", &host, &[("handler", handler)]));
        let generator = Gen::Histogram {
            buckets: [0.0; LATENCY_BOUNDS.len() + 1],
            sum: 0.0,
            mean_obs: rng.range(2.0, 10.0),
            mean_s: rng.range(0.02, 0.4),
        };
        fams.push((ls, generator));
    }
    fams
}

/// Generate and encode the whole load. Deterministic for a given spec.
pub fn generate(spec: &LoadSpec) -> anyhow::Result<Load> {
    anyhow::ensure!(spec.hosts > 0 && spec.samples_per_series > 0, "empty load");
    anyhow::ensure!(spec.series_per_request > 0 && spec.samples_per_request_series > 0, "empty requests");
    let mut rng = Rng(spec.seed);
    let mut series_labels: Vec<Vec<Label>> = Vec::new();
    let mut gens: Vec<(usize, Gen)> = Vec::new(); // (offset of first series, generator)
    for h in 0..spec.hosts {
        for (ls, generator) in host_families(h, &mut rng) {
            anyhow::ensure!(ls.len() == generator.width(), "template bug: label sets do not match generator");
            gens.push((series_labels.len(), generator));
            for l in ls {
                series_labels.push(l.into_iter().map(|(name, value)| Label::new(&name, &value)).collect());
            }
        }
    }
    let n = series_labels.len();
    let k = spec.samples_per_series;
    let end_ms = spec.query_time_ms - SAMPLE_PHASE_MS;
    let start_ms = end_ms - (k as i64 - 1) * SAMPLE_INTERVAL_MS;
    let window = spec.samples_per_request_series;
    let mut values = vec![0.0f64; n * window]; // [step in window][series]
    let shard_count = spec.shards.clamp(1, n);
    let bounds: Vec<usize> = (0..=shard_count).map(|s| s * n / shard_count).collect();
    let mut shards: Vec<Vec<Bytes>> = vec![Vec::new(); shard_count];
    let (mut raw_bytes, mut wire_bytes, mut samples) = (0u64, 0u64, 0u64);
    let mut encoder = snap::raw::Encoder::new();
    let mut step0 = 0;
    while step0 < k {
        let steps = window.min(k - step0);
        for s in 0..steps {
            let row = &mut values[s * n..(s + 1) * n];
            for (off, generator) in gens.iter_mut() {
                let w = generator.width();
                generator.step(&mut rng, &mut row[*off..*off + w]);
            }
        }
        for (shard, out) in shards.iter_mut().enumerate() {
            let (mut first, end) = (bounds[shard], bounds[shard + 1]);
            while first < end {
                let last = (first + spec.series_per_request).min(end);
                let timeseries = (first..last)
                    .map(|i| TimeSeries {
                        labels: series_labels[i].clone(),
                        samples: (0..steps)
                            .map(|s| Sample {
                                value: values[s * n + i],
                                timestamp: start_ms + (step0 + s) as i64 * SAMPLE_INTERVAL_MS,
                            })
                            .collect(),
                        exemplars: Vec::new(),
                        histograms: Vec::new(),
                    })
                    .collect();
                let raw = WriteRequest { timeseries, metadata: Vec::new() }.encode_to_vec();
                let body = encoder.compress_vec(&raw)?;
                raw_bytes += raw.len() as u64;
                wire_bytes += body.len() as u64;
                samples += ((last - first) * steps) as u64;
                out.push(Bytes::from(body));
                first = last;
            }
        }
        step0 += steps;
    }
    let requests = shards.iter().map(Vec::len).sum();
    let mut metric_names: Vec<String> = series_labels
        .iter()
        .filter_map(|ls| {
            ls.iter().find(|l| l.name == b"__name__").map(|l| String::from_utf8_lossy(&l.value).into_owned())
        })
        .collect();
    metric_names.sort();
    metric_names.dedup();
    Ok(Load {
        shards,
        requests,
        metric_names,
        series: n,
        samples,
        start_ms,
        end_ms,
        query_time_ms: spec.query_time_ms,
        raw_bytes,
        wire_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LoadSpec {
        LoadSpec {
            hosts: 3,
            samples_per_series: 7,
            series_per_request: 100,
            samples_per_request_series: 3,
            shards: 2,
            query_time_ms: 1_700_000_000_000,
            seed: 42,
        }
    }

    #[test]
    fn template_size_matches_constant() {
        let mut rng = Rng(1);
        let n: usize = host_families(0, &mut rng).iter().map(|(ls, _)| ls.len()).sum();
        assert_eq!(n, SERIES_PER_HOST);
    }

    #[test]
    fn load_is_deterministic_and_complete() {
        let a = generate(&spec()).unwrap();
        let b = generate(&spec()).unwrap();
        assert_eq!(a.shards, b.shards);
        assert_eq!(a.series, 3 * SERIES_PER_HOST);
        assert_eq!(a.samples, (3 * SERIES_PER_HOST * 7) as u64);
        // 2 shards of 129 series; each: 3 windows (3+3+1 samples) × ceil(129/100) requests.
        assert_eq!(a.shards.len(), 2);
        assert_eq!(a.shards[1].len(), 3 * 2);
        assert_eq!(a.requests, 12);
        assert!(a.metric_names.contains(&"node_load1".to_string()));
        let raw = snap::raw::Decoder::new().decompress_vec(&a.shards[1][4]).unwrap();
        let req = WriteRequest::decode(raw.as_slice()).unwrap();
        let ts = &req.timeseries[0];
        assert_eq!(ts.samples.len(), 1);
        assert_eq!(ts.samples[0].timestamp, 1_700_000_000_000 - SAMPLE_PHASE_MS);
        assert!(ts.labels.windows(2).all(|w| w[0].name < w[1].name), "labels sorted by name");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut g = Gen::Histogram { buckets: [0.0; 12], sum: 0.0, mean_obs: 20.0, mean_s: 0.3 };
        let mut rng = Rng(7);
        let mut out = [0.0; 14];
        for _ in 0..10 {
            g.step(&mut rng, &mut out);
            assert!(out[..12].windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(out[11], out[13], "+Inf bucket equals _count");
        }
        assert!(out[13] > 0.0);
    }
}
