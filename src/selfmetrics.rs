//! Cairn's own metrics (served on `/metrics` in Prometheus text format): a small registry of
//! named counters and gauges, optionally with one set of constant labels each. Owns rendering;
//! callers own meaning. Lock-free on the update path (atomics); registration takes a lock.

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
}

struct Family {
    name: String,
    help: String,
    kind: Kind,
    series: Vec<(Vec<(String, String)>, Metric)>,
}

/// A gauge computed when scraped.
type Collector = Box<dyn Fn() -> Vec<(String, Vec<(String, String)>, f64)> + Send + Sync>;

/// The process-wide registry.
#[derive(Clone, Default)]
pub struct Registry {
    families: Arc<RwLock<Vec<Family>>>,
    collectors: Arc<RwLock<Vec<Collector>>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the metric `name{labels}`, creating it (and its family) on first use.
    pub fn metric(&self, name: &str, help: &str, kind: Kind, labels: &[(&str, &str)]) -> Metric {
        let labels: Vec<(String, String)> =
            labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
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
        if let Some((_, m)) = fam.series.iter().find(|(l, _)| *l == labels) {
            return m.clone();
        }
        let m = Metric::default();
        fam.series.push((labels, m.clone()));
        m
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
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {}", f.name, kind);
            for (labels, m) in &f.series {
                write_sample(&mut out, &f.name, labels, m.get());
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

fn write_sample(out: &mut String, name: &str, labels: &[(String, String)], v: f64) {
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
}
