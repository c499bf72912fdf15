//! A classic (bucketed) histogram for Cairn's own metrics: cumulative-on-render bucket counts,
//! sum and count, all atomics. Owns observation and its text rendering; the registry owns
//! naming and lookup.

use super::{Metric, write_sample};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

struct Inner {
    bounds: Vec<f64>,
    /// Per-bucket (non-cumulative) counts; the last one is `+Inf`.
    counts: Vec<AtomicU64>,
    sum: Metric,
}

/// A histogram with fixed upper bounds. Cheap to clone (shared).
#[derive(Clone)]
pub struct Histogram(Arc<Inner>);

impl Histogram {
    /// Bounds are sorted and deduplicated; NaN bounds are dropped; `+Inf` is always last.
    pub(crate) fn new(bounds: &[f64]) -> Histogram {
        let mut b: Vec<f64> = bounds.iter().copied().filter(|x| x.is_finite()).collect();
        b.sort_by(f64::total_cmp);
        b.dedup();
        let counts = (0..=b.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram(Arc::new(Inner { bounds: b, counts, sum: Metric::default() }))
    }

    /// Records one observation (a NaN counts in `+Inf` and makes the sum NaN, as in Prometheus).
    pub fn observe(&self, v: f64) {
        let i = self.0.bounds.iter().position(|b| v <= *b).unwrap_or(self.0.bounds.len());
        self.0.counts[i].fetch_add(1, Ordering::Relaxed);
        self.0.sum.add(v);
    }

    pub(crate) fn render(&self, out: &mut String, name: &str, labels: &[(String, String)]) {
        let mut cum = 0u64;
        let bucket = format!("{name}_bucket");
        for (i, c) in self.0.counts.iter().enumerate() {
            cum += c.load(Ordering::Relaxed);
            let le = match self.0.bounds.get(i) {
                Some(b) => crate::api::json::fmt_value(*b),
                None => "+Inf".to_string(),
            };
            let mut l = labels.to_vec();
            l.push(("le".to_string(), le));
            write_sample(out, &bucket, &l, cum as f64);
        }
        write_sample(out, &format!("{name}_sum"), labels, self.0.sum.get());
        write_sample(out, &format!("{name}_count"), labels, cum as f64);
    }
}
