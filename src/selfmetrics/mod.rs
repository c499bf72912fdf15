//! Cairn's own metrics (served on `/metrics` in Prometheus text format): a small registry of
//! named counters, gauges and histograms, optionally with one set of constant labels each, plus
//! collectors computed at scrape time. Owns rendering; callers own meaning. Lock-free on the
//! update path (atomics); registration takes a lock. Process metrics live in `process.rs`.

mod histogram;
pub mod process;

pub use histogram::Histogram;

use parking_lot::RwLock;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter (or a gauge, which may also be set).
#[derive(Clone, Default)]
pub struct Metric(Arc<AtomicU64>);

impl Metric {
    pub fn inc(&self) {
        self.add(1.0);
    }
    /// Adds `v` (stored as f64 bits; a CAS loop keeps concurrent adds exact).
    pub fn add(&self, v: f64) {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match self.0.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(x) => cur = x,
            }
        }
    }
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One labelled series of a family: a scalar or a histogram.
enum Cell {
    Scalar(Metric),
    Histogram(Histogram),
}

struct Family {
    name: String,
    help: String,
    kind: Kind,
    series: Vec<(Vec<(String, String)>, Cell)>,
}

/// Samples computed when scraped.
type Collector = Box<dyn Fn() -> Vec<(String, Vec<(String, String)>, f64)> + Send + Sync>;

/// One family computed at scrape time: rendered with its HELP and TYPE lines.
pub struct TypedFamily {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// (labels, value) per series; a family without samples is not rendered.
    pub samples: Vec<(Vec<(String, String)>, f64)>,
}

/// Computes several typed families from one reading (e.g. one read of `/proc/self/stat`).
type TypedCollector = Box<dyn Fn() -> Vec<TypedFamily> + Send + Sync>;

/// The process-wide registry.
#[derive(Clone, Default)]
pub struct Registry {
    families: Arc<RwLock<Vec<Family>>>,
    collectors: Arc<RwLock<Vec<Collector>>>,
    typed: Arc<RwLock<Vec<TypedCollector>>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Finds `name{labels}` or creates it (and its family) with `make`.
    fn cell<T>(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[(&str, &str)],
        get: impl Fn(&Cell) -> Option<T>,
        make: impl FnOnce() -> (Cell, T),
    ) -> T {
        let same = |l: &[(String, String)]| {
            l.len() == labels.len() && l.iter().zip(labels).all(|((a, b), (c, d))| a == c && b == d)
        };
        // The common case (every HTTP request looks its counters up): found under the read
        // lock, without allocating.
        {
            let fams = self.families.read();
            if let Some(found) = fams
                .iter()
                .filter(|f| f.name == name)
                .flat_map(|f| f.series.iter())
                .filter(|(l, _)| same(l))
                .find_map(|(_, c)| get(c))
            {
                return found;
            }
        }
        let mut fams = self.families.write();
        let fam = match fams.iter().position(|f| f.name == name) {
            Some(i) => &mut fams[i],
            None => {
                fams.push(Family {
                    name: name.to_string(),
                    help: help.to_string(),
                    kind,
                    series: Vec::new(),
                });
                let last = fams.len() - 1;
                &mut fams[last]
            }
        };
        // Another thread may have created it between the two locks.
        if let Some(found) = fam.series.iter().filter(|(l, _)| same(l)).find_map(|(_, c)| get(c)) {
            return found;
        }
        let (cell, out) = make();
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        fam.series.push((labels, cell));
        out
    }

    /// Returns the metric `name{labels}`, creating it (and its family) on first use.
    pub fn metric(&self, name: &str, help: &str, kind: Kind, labels: &[(&str, &str)]) -> Metric {
        let get = |c: &Cell| match c {
            Cell::Scalar(m) => Some(m.clone()),
            Cell::Histogram(_) => None,
        };
        self.cell(name, help, kind, labels, get, || {
            let m = Metric::default();
            (Cell::Scalar(m.clone()), m)
        })
    }

    /// Returns the histogram `name{labels}` with upper bounds `buckets` (ascending; `+Inf` is
    /// implied), creating it on first use.
    pub fn histogram(&self, name: &str, help: &str, labels: &[(&str, &str)], buckets: &[f64]) -> Histogram {
        let get = |c: &Cell| match c {
            Cell::Histogram(h) => Some(h.clone()),
            Cell::Scalar(_) => None,
        };
        self.cell(name, help, Kind::Histogram, labels, get, || {
            let h = Histogram::new(buckets);
            (Cell::Histogram(h.clone()), h)
        })
    }

    /// Registers families computed at scrape time, rendered with HELP/TYPE.
    pub fn typed_collector(&self, f: impl Fn() -> Vec<TypedFamily> + Send + Sync + 'static) {
        self.typed.write().push(Box::new(f));
    }

    pub fn counter(&self, name: &str, help: &str) -> Metric {
        self.metric(name, help, Kind::Counter, &[])
    }

    pub fn gauge(&self, name: &str, help: &str) -> Metric {
        self.metric(name, help, Kind::Gauge, &[])
    }

    /// Registers samples computed at scrape time (name, labels, value); rendered untyped.
    pub fn collector(
        &self,
        f: impl Fn() -> Vec<(String, Vec<(String, String)>, f64)> + Send + Sync + 'static,
    ) {
        self.collectors.write().push(Box::new(f));
    }

    /// Renders everything in the Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in self.families.read().iter() {
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
            for (labels, cell) in &f.series {
                match cell {
                    Cell::Scalar(m) => write_sample(&mut out, &f.name, labels, m.get()),
                    Cell::Histogram(h) => h.render(&mut out, &f.name, labels),
                }
            }
        }
        for c in self.typed.read().iter() {
            for fam in c() {
                if fam.samples.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "# HELP {} {}", fam.name, fam.help);
                let _ = writeln!(out, "# TYPE {} {}", fam.name, fam.kind.as_str());
                for (labels, v) in fam.samples {
                    write_sample(&mut out, fam.name, &labels, v);
                }
            }
        }
        for f in self.collectors.read().iter() {
            for (n, labels, v) in f() {
                write_sample(&mut out, &n, &labels, v);
            }
        }
        out
    }
}

pub(crate) fn write_sample(out: &mut String, name: &str, labels: &[(String, String)], v: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let esc = val.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = write!(out, "{k}=\"{esc}\"");
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&crate::api::json::fmt_value(v));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_and_collectors() {
        let r = Registry::new();
        let c = r.metric("cairn_x_total", "Things.", Kind::Counter, &[("reason", "a\"b")]);
        c.inc();
        c.add(2.0);
        r.metric("cairn_x_total", "Things.", Kind::Counter, &[("reason", "a\"b")]).inc();
        r.collector(|| vec![("cairn_g".into(), vec![], 7.0)]);
        let s = r.render();
        assert!(s.contains("# TYPE cairn_x_total counter\n"), "{s}");
        assert!(s.contains("cairn_x_total{reason=\"a\\\"b\"} 4\n"), "{s}");
        assert!(s.contains("cairn_g 7\n"), "{s}");
    }

    #[test]
    fn renders_histograms_and_typed_collectors() {
        let r = Registry::new();
        let h = r.histogram("cairn_d_seconds", "Durations.", &[("handler", "/q")], &[0.1, 1.0]);
        h.observe(0.05);
        h.observe(0.5);
        h.observe(3.0);
        // The same name and labels give the same histogram.
        r.histogram("cairn_d_seconds", "Durations.", &[("handler", "/q")], &[0.1, 1.0]).observe(0.1);
        r.typed_collector(|| {
            vec![
                TypedFamily {
                    name: "cairn_t",
                    help: "Computed.",
                    kind: Kind::Gauge,
                    samples: vec![(vec![("a".into(), "b".into())], 2.5)],
                },
                // A family without samples is not rendered at all.
                TypedFamily { name: "cairn_empty", help: "Nothing.", kind: Kind::Gauge, samples: Vec::new() },
            ]
        });
        let s = r.render();
        assert!(s.contains("# TYPE cairn_d_seconds histogram\n"), "{s}");
        assert!(s.contains("cairn_d_seconds_bucket{handler=\"/q\",le=\"0.1\"} 2\n"), "{s}");
        assert!(s.contains("cairn_d_seconds_bucket{handler=\"/q\",le=\"1\"} 3\n"), "{s}");
        assert!(s.contains("cairn_d_seconds_bucket{handler=\"/q\",le=\"+Inf\"} 4\n"), "{s}");
        assert!(s.contains("cairn_d_seconds_sum{handler=\"/q\"} 3.65\n"), "{s}");
        assert!(s.contains("cairn_d_seconds_count{handler=\"/q\"} 4\n"), "{s}");
        assert!(s.contains("# TYPE cairn_t gauge\ncairn_t{a=\"b\"} 2.5\n"), "{s}");
        assert!(!s.contains("cairn_empty"), "{s}");
        // What we render, our own parser accepts.
        let p = crate::ingest::exposition::Parser::new(
            s.as_bytes(),
            crate::ingest::exposition::Format::PrometheusText,
        );
        let mut n = 0;
        for e in p {
            e.expect("own /metrics output must parse");
            n += 1;
        }
        assert!(n >= 8);
    }
}
