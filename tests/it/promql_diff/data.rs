//! Deterministic test data for the PromQL differential test: a seeded generator of counters
//! (some with resets), gauges (negative values, gaps, a stale end, a NaN run, label churn), classic
//! histograms and join helpers, about one hour at 15 s spacing with small jitter, ending at a
//! fixed instant. Owns the data and the invariants the rules rely on; does not encode or send it
//! (see `wire.rs`).

use std::collections::BTreeMap;

/// End of the generated data: 2026-01-01T00:00:00Z, so time functions cross a year boundary.
pub const END_MS: i64 = 1_767_225_600_000;
/// Start of the generated data, one hour earlier.
pub const START_MS: i64 = END_MS - 3_600_000;
/// Nominal scrape spacing.
pub const SPACING_MS: i64 = 15_000;
/// Samples per full-length series (0..=240 covers START..=END).
pub const POINTS: usize = 241;
/// Largest absolute timestamp jitter. Kept below 10 % of the spacing so that the spacing between
/// neighbours never exceeds 1.1 × the smallest spacing (the rate extrapolation threshold).
pub const JITTER_MAX_MS: i64 = 199;
/// Prometheus's stale marker.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// One generated series: sorted labels (incl. `__name__`) and samples in time order.
#[derive(Debug, Clone)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(i64, f64)>,
    /// Counter semantics (monotonic except resets); used by the invariant checks.
    pub counter: bool,
}

impl Series {
    pub fn name(&self) -> &str {
        self.labels.get("__name__").map(String::as_str).unwrap_or("")
    }
}

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform integer in [lo, hi].
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    /// Non-zero jitter in [-JITTER_MAX_MS, JITTER_MAX_MS]: sample timestamps are never whole
    /// seconds, while every evaluation time, range, offset and step in the queries is.
    fn jitter(&mut self) -> i64 {
        let j = self.range(1, JITTER_MAX_MS);
        if self.next_u64() & 1 == 0 { j } else { -j }
    }
}

pub const JOBS: [&str; 3] = ["api", "db", "cache"];
pub const INSTANCES: [&str; 4] = ["host-0:9100", "host-1:9100", "host-2:9100", "host-3:9100"];
pub const LE: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

fn labels(name: &str, pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("__name__".to_string(), name.to_string());
    for (k, v) in pairs {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

/// Timestamp of point `i` of a series with its own jitter.
fn ts(rng: &mut Rng, i: usize) -> i64 {
    START_MS + i as i64 * SPACING_MS + rng.jitter()
}

/// Generates the whole data set. Same seed, same bytes.
pub fn generate() -> Vec<Series> {
    let mut rng = Rng::new(0x00c0_ffee_5eed_2026);
    let mut out = Vec::new();
    counters(&mut rng, &mut out);
    gauges(&mut rng, &mut out);
    histograms(&mut rng, &mut out);
    odd_histogram(&mut rng, &mut out);
    out
}

fn counters(rng: &mut Rng, out: &mut Vec<Series>) {
    for (j, job) in JOBS.iter().enumerate() {
        for (k, inst) in INSTANCES.iter().enumerate() {
            for code in ["200", "500"] {
                let max_inc = if code == "200" { 20 } else { 3 };
                let mut v = rng.range(1000, 6000) as f64;
                // Resets: a few series restart from a small value once or twice.
                let resets: &[usize] = match (j, k, code) {
                    (0, 1, "200") => &[150],
                    (1, 2, _) => &[60, 200],
                    (2, 0, "500") => &[100],
                    _ => &[],
                };
                let mut samples = Vec::with_capacity(POINTS);
                for i in 0..POINTS {
                    if resets.contains(&i) {
                        v = rng.range(0, 5) as f64;
                    } else if i > 0 {
                        // Never flat: equal rates (0) across series would make which of them
                        // topk/bottomk keep unspecified.
                        v += rng.range(1, max_inc) as f64;
                    }
                    samples.push((ts(rng, i), v));
                }
                let l = labels("http_requests_total", &[("job", job), ("instance", inst), ("code", code)]);
                out.push(Series { labels: l, samples, counter: true });
            }
            for mode in ["user", "system"] {
                let mut v = 100.0 + rng.range(0, 4000) as f64 / 8.0;
                let mut samples = Vec::with_capacity(POINTS);
                for i in 0..POINTS {
                    if i > 0 {
                        // Eighths keep sums exact in binary floating point.
                        v += rng.range(0, 8) as f64 / 8.0;
                    }
                    samples.push((ts(rng, i), v));
                }
                let l = labels("cpu_seconds_total", &[("job", job), ("instance", inst), ("mode", mode)]);
                out.push(Series { labels: l, samples, counter: true });
            }
        }
    }
}

fn gauges(rng: &mut Rng, out: &mut Vec<Series>) {
    let base = [40.0, 55.0, -5.0];
    for (j, job) in JOBS.iter().enumerate() {
        for (k, inst) in INSTANCES.iter().enumerate() {
            // Temperature: smooth wave plus noise, negative for the cache job.
            let period = 80.0 + 7.0 * k as f64;
            let mut samples = Vec::with_capacity(POINTS);
            for i in 0..POINTS {
                let wave = 15.0 * (2.0 * std::f64::consts::PI * i as f64 / period).sin();
                let noise = rng.range(-1000, 1000) as f64 / 1000.0;
                // Millidegrees plus a per-series millionth: no two series ever tie, so which of
                // equal values topk/bottomk keep (unspecified in Prometheus) never matters.
                let tag = (j * INSTANCES.len() + k + 1) as f64 * 1e-6;
                let v = ((base[j] + wave + noise) * 1000.0).round() / 1000.0 + tag;
                samples.push((ts(rng, i), v));
            }
            let l = labels("cpu_temp_celsius", &[("job", job), ("instance", inst)]);
            out.push(Series { labels: l, samples, counter: false });

            // Queue depth: integer random walk, with gaps, a stale end and a late start.
            let mut q = rng.range(0, 40);
            let mut samples = Vec::with_capacity(POINTS);
            for i in 0..POINTS {
                q = (q + rng.range(-5, 5)).clamp(0, 60);
                let t = ts(rng, i);
                match (j, k) {
                    // 10-minute gap (longer than the 5m lookback).
                    (0, 3) if (100..140).contains(&i) => continue,
                    // Goes stale 10 minutes before the end.
                    (1, 1) if i == 200 => {
                        samples.push((t, f64::from_bits(STALE_NAN_BITS)));
                        continue;
                    }
                    (1, 1) if i > 200 => continue,
                    // Born half-way through.
                    (2, 2) if i < 120 => continue,
                    // 3-minute gap (shorter than the lookback).
                    (2, 3) if (60..72).contains(&i) => continue,
                    _ => {}
                }
                samples.push((t, q as f64));
            }
            let l = labels("queue_depth", &[("job", job), ("instance", inst)]);
            out.push(Series { labels: l, samples, counter: false });

            // Churn: the version label of build_info changes half-way; the old series ends with
            // a stale marker as a scrape would write it.
            let (old, new) = if k % 2 == 0 { ("1.0", "1.1") } else { ("2.0", "2.1") };
            let flip = 100 + 10 * k + 3 * j;
            let (mut before, mut after) = (Vec::new(), Vec::new());
            for i in 0..POINTS {
                let t = ts(rng, i);
                match i.cmp(&flip) {
                    std::cmp::Ordering::Less => before.push((t, 1.0)),
                    std::cmp::Ordering::Equal => {
                        before.push((t - 1, f64::from_bits(STALE_NAN_BITS)));
                        after.push((t, 1.0));
                    }
                    std::cmp::Ordering::Greater => after.push((t, 1.0)),
                }
            }
            for (version, samples) in [(old, before), (new, after)] {
                let l = labels("build_info", &[("job", job), ("instance", inst), ("version", version)]);
                out.push(Series { labels: l, samples, counter: false });
            }

            // Info-style series for group_left joins.
            let version = if k % 2 == 0 { "v1.2" } else { "v1.3" };
            let samples = (0..POINTS).map(|i| (ts(rng, i), 1.0)).collect();
            let l = labels("node_info", &[("job", job), ("instance", inst), ("version", version)]);
            out.push(Series { labels: l, samples, counter: false });
        }
        // One series per job for one-to-many matching.
        let limit = [70.0, 80.0, 10.0][j];
        let samples = (0..POINTS).map(|i| (ts(rng, i), limit + (i / 60) as f64)).collect();
        let l = labels("temperature_limit", &[("job", job)]);
        out.push(Series { labels: l, samples, counter: false });
    }
    // Odd values in a metric of their own, so they only show up where a query asks for them.
    for kind in ["nan", "big", "tiny", "negative"] {
        let mut samples = Vec::with_capacity(POINTS);
        for i in 0..POINTS {
            let v = match kind {
                "nan" if (50..=52).contains(&i) || (180..=181).contains(&i) => f64::NAN,
                "nan" => (i % 7) as f64,
                "big" => 1e12 + i as f64 * 1e6,
                "tiny" => 1e-9 * (i + 1) as f64,
                // Not -0.0 at i = 0: proto3 drops a zero double, sign included.
                _ => -0.5 * (i + 1) as f64,
            };
            samples.push((ts(rng, i), v));
        }
        let l = labels("weird_gauge", &[("kind", kind)]);
        out.push(Series { labels: l, samples, counter: false });
    }
}

fn histograms(rng: &mut Rng, out: &mut Vec<Series>) {
    let bounds: Vec<f64> =
        LE.iter().map(|s| if *s == "+Inf" { f64::INFINITY } else { s.parse().unwrap() }).collect();
    let mean = [0.2, 0.6, 0.05];
    for (j, job) in JOBS.iter().enumerate() {
        for inst in INSTANCES {
            let mut counts = vec![0u64; LE.len()];
            let mut sum = 0.0f64;
            let observe = |rng: &mut Rng, counts: &mut Vec<u64>, sum: &mut f64| {
                let x = -(1.0 - rng.unit()).ln() * mean[j];
                // Millisecond resolution keeps the sum well-conditioned.
                let x = (x * 1000.0).round() / 1000.0;
                *sum += x;
                for (b, c) in bounds.iter().zip(counts.iter_mut()) {
                    if x <= *b {
                        *c += 1;
                    }
                }
            };
            // A long history before the first sample, so every bucket starts well above zero.
            for _ in 0..5000 {
                observe(rng, &mut counts, &mut sum);
            }
            let mut buckets: Vec<Vec<(i64, f64)>> = vec![Vec::with_capacity(POINTS); LE.len()];
            let mut sums = Vec::with_capacity(POINTS);
            let mut totals = Vec::with_capacity(POINTS);
            for i in 0..POINTS {
                if i > 0 {
                    for _ in 0..rng.range(0, 30) {
                        observe(rng, &mut counts, &mut sum);
                    }
                }
                // One scrape: every series of the histogram shares the timestamp.
                let t = ts(rng, i);
                for (b, c) in counts.iter().enumerate() {
                    buckets[b].push((t, *c as f64));
                }
                sums.push((t, (sum * 1000.0).round() / 1000.0));
                totals.push((t, counts[LE.len() - 1] as f64));
            }
            for (b, samples) in buckets.into_iter().enumerate() {
                let l = labels(
                    "request_duration_seconds_bucket",
                    &[("job", job), ("instance", inst), ("le", LE[b])],
                );
                out.push(Series { labels: l, samples, counter: true });
            }
            let l = labels("request_duration_seconds_sum", &[("job", job), ("instance", inst)]);
            out.push(Series { labels: l, samples: sums, counter: true });
            let l = labels("request_duration_seconds_count", &[("job", job), ("instance", inst)]);
            out.push(Series { labels: l, samples: totals, counter: true });
        }
    }
}

/// A classic histogram exported with a broken (non-monotonic) bucket and a duplicated bound
/// spelled two ways, for histogram_quantile's repair paths. Not a counter: values move freely.
fn odd_histogram(rng: &mut Rng, out: &mut Vec<Series>) {
    let bounds = ["0.1", "0.5", "1", "1.0", "+Inf"];
    let mut series: Vec<Vec<(i64, f64)>> = vec![Vec::with_capacity(POINTS); bounds.len()];
    for i in 0..POINTS {
        let t = ts(rng, i);
        let base = (i / 10) as f64;
        // le=0.5 dips below le=0.1 every third scrape; "1" and "1.0" disagree slightly.
        let dip = if i % 3 == 0 { 3.0 } else { -2.0 };
        let values = [10.0 + base, 10.0 + base - dip, 15.0 + base, 16.0 + base, 20.0 + 2.0 * base];
        for (b, v) in values.iter().enumerate() {
            series[b].push((t, *v));
        }
    }
    for (b, samples) in series.into_iter().enumerate() {
        let l = labels("odd_histogram_bucket", &[("le", bounds[b])]);
        out.push(Series { labels: l, samples, counter: false });
    }
}

/// Every sample timestamp in the data set (for the left-open boundary rule).
pub fn all_timestamps(data: &[Series]) -> std::collections::HashSet<i64> {
    data.iter().flat_map(|s| s.samples.iter().map(|(t, _)| *t)).collect()
}

/// The properties the rules rely on (see `rules.rs`): sample timestamps are never whole seconds
/// (so no window boundary of a query coincides with a sample), the spacing stays below the rate
/// extrapolation threshold, counters never have gaps, and every counter starts far from zero
/// relative to its largest step (so the 2.x/3.x zero-point ordering cannot matter, even under
/// subqueries).
pub fn check_invariants(data: &[Series]) {
    const _: () = assert!((SPACING_MS + 2 * JITTER_MAX_MS) * 10 < (SPACING_MS - 2 * JITTER_MAX_MS) * 11);
    for s in data {
        for w in s.samples.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?}: timestamps not increasing", s.labels);
        }
        for (t, _) in &s.samples {
            assert!(t.rem_euclid(1000) != 0, "{:?}: sample on a whole second", s.labels);
        }
        if s.counter {
            assert_eq!(s.samples.len(), POINTS, "{:?}: counters have no gaps", s.labels);
            // Largest increase per step; after a reset the increase is the new value itself.
            let max_step = s
                .samples
                .windows(2)
                .map(|w| if w[1].1 >= w[0].1 { w[1].1 - w[0].1 } else { w[1].1 })
                .fold(0.0, f64::max);
            let first = s.samples[0].1;
            assert!(first >= 50.0 * max_step.max(1.0), "{:?}: counter starts too low", s.labels);
        }
    }
}
