//! The report: cross-system result comparison, subject/peer ratios against the issue's
//! targets, a Markdown table for stdout and the README, and the JSON file. Owns presentation
//! and arithmetic on figures; the SVG is drawn in `chart.rs`.

use crate::query::{QuerySpec, diff};
use crate::run::{SystemResult, SystemRun};
use crate::system::Kind;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown")
            .to_string();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024);
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            memory_bytes,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    pub hosts: usize,
    pub series: usize,
    pub samples_per_series: usize,
    pub samples: u64,
    pub requests: usize,
    pub series_per_request: usize,
    pub samples_per_request_series: usize,
    pub raw_bytes: u64,
    pub wire_bytes: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub query_time_ms: i64,
    pub concurrency: usize,
}

/// The outcome of comparing one query's result on one system against the reference system.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub query: &'static str,
    pub system: Kind,
    pub reference: Kind,
    /// `match`, `mismatch`, or `error` (one side has no result).
    pub status: &'static str,
    pub diff: Option<String>,
}

/// One subject/peer ratio of one metric.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// Stable key of the metric (a `SystemResult` field name, or `query_latency_geomean_ratio`).
    pub key: &'static str,
    pub metric: &'static str,
    pub higher_is_better: bool,
    pub peer: Kind,
    pub subject_value: Option<f64>,
    pub peer_value: Option<f64>,
    pub ratio: Option<f64>,
    /// The target for this ratio (≥ for higher-is-better, ≤ otherwise).
    pub target: Option<f64>,
    pub meets_target: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub date_utc: String,
    pub command: String,
    pub size: String,
    pub machine: Machine,
    pub load: LoadSummary,
    pub queries: Vec<QuerySpec>,
    pub subject: Kind,
    pub reference: Option<Kind>,
    /// Median figures per system (over rounds when `--rounds` > 1).
    pub systems: Vec<SystemResult>,
    /// Every round's figures per system, when there was more than one round.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Vec<SystemResult>>,
    pub comparisons: Vec<Comparison>,
    pub ratios: Vec<Ratio>,
}

/// A per-system figure that gets a ratio row.
pub struct Metric {
    pub key: &'static str,
    pub title: &'static str,
    pub higher_is_better: bool,
    pub get: Getter,
    pub targets: &'static [(Kind, f64)],
}

fn ingest_ok(r: &SystemResult) -> bool {
    !r.ingest.aborted && r.ingest.requests_failed == 0 && r.ingest.requests_sent > 0
}

pub const METRICS: &[Metric] = &[
    Metric {
        key: "ingest_samples_per_second",
        title: "ingest samples/s",
        higher_is_better: true,
        get: |r| ingest_ok(r).then_some(r.ingest_samples_per_second),
        targets: &[(Kind::Prometheus, 2.0), (Kind::Victoriametrics, 1.2)],
    },
    Metric {
        key: "cpu_seconds_per_million_samples",
        title: "ingest CPU s / 1M samples",
        higher_is_better: false,
        get: |r| ingest_ok(r).then_some(r.cpu_seconds_per_million_samples),
        targets: &[],
    },
    Metric {
        key: "peak_rss_per_series_bytes",
        title: "peak RSS / active series (B)",
        higher_is_better: false,
        get: |r| ingest_ok(r).then_some(r.peak_rss_per_series_bytes),
        targets: &[(Kind::Prometheus, 0.5)],
    },
    Metric {
        key: "disk_bytes_per_sample",
        title: "disk bytes / sample",
        higher_is_better: false,
        get: |r| r.disk_bytes_per_sample,
        targets: &[(Kind::Victoriametrics, 1.0)],
    },
    Metric {
        key: "query_latency_sum_ms",
        title: "query set latency (sum of medians, ms)",
        higher_is_better: false,
        get: |r| r.query_latency_sum_ms,
        targets: &[(Kind::Prometheus, 0.5)],
    },
];

/// Reads one figure of a system's result.
type Getter = fn(&SystemResult) -> Option<f64>;

/// Title of the per-query geometric-mean ratio row (computed per pair, not per system).
pub const GEOMEAN_TITLE: &str = "query latency (geomean of per-query ratios)";

/// Compare every system's query results against the reference (Prometheus when present).
pub fn compare(runs: &[SystemRun], queries: &[QuerySpec]) -> (Option<Kind>, Vec<Comparison>) {
    let reference = runs
        .iter()
        .find(|r| r.result.system == Kind::Prometheus)
        .or_else(|| runs.first())
        .map(|r| r.result.system);
    let Some(reference) = reference else { return (None, Vec::new()) };
    let Some(ref_run) = runs.iter().find(|r| r.result.system == reference) else {
        return (None, Vec::new());
    };
    let mut out = Vec::new();
    for run in runs.iter().filter(|r| r.result.system != reference) {
        for (i, q) in queries.iter().enumerate() {
            let (status, d) = match (
                ref_run.responses.get(i).and_then(Option::as_ref),
                run.responses.get(i).and_then(Option::as_ref),
            ) {
                (Some(a), Some(b)) => match diff(a, b) {
                    None => ("match", None),
                    Some(d) => ("mismatch", Some(d)),
                },
                (None, _) => ("error", Some(format!("{} returned no result", reference.label()))),
                (_, None) => ("error", Some(format!("{} returned no result", run.result.label))),
            };
            out.push(Comparison { query: q.name, system: run.result.system, reference, status, diff: d });
        }
    }
    (Some(reference), out)
}

fn geomean_query_ratio(subject: &SystemResult, peer: &SystemResult) -> Option<f64> {
    let mut logs = Vec::new();
    for q in &subject.queries {
        let p = peer.queries.iter().find(|p| p.name == q.name)?;
        let (a, b) = (q.median_ms?, p.median_ms?);
        if a <= 0.0 || b <= 0.0 {
            return None;
        }
        logs.push((a / b).ln());
    }
    if logs.is_empty() {
        return None;
    }
    Some((logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// Subject/peer ratios for every metric and peer present.
pub fn ratios(systems: &[SystemResult], subject: Kind) -> Vec<Ratio> {
    let Some(s) = systems.iter().find(|r| r.system == subject) else { return Vec::new() };
    let mut out = Vec::new();
    let judge = |ratio: Option<f64>, target: Option<f64>, higher: bool| match (ratio, target) {
        (Some(r), Some(t)) => Some(if higher { r >= t } else { r <= t }),
        _ => None,
    };
    for m in METRICS {
        for p in systems.iter().filter(|p| p.system != subject) {
            let (a, b) = ((m.get)(s), (m.get)(p));
            let ratio = match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            };
            let target = m.targets.iter().find(|(k, _)| *k == p.system).map(|t| t.1);
            out.push(Ratio {
                key: m.key,
                metric: m.title,
                higher_is_better: m.higher_is_better,
                peer: p.system,
                subject_value: a,
                peer_value: b,
                ratio,
                target,
                meets_target: judge(ratio, target, m.higher_is_better),
            });
        }
    }
    for p in systems.iter().filter(|p| p.system != subject) {
        let ratio = geomean_query_ratio(s, p);
        let target = (p.system == Kind::Prometheus).then_some(0.5);
        out.push(Ratio {
            key: "query_latency_geomean_ratio",
            metric: GEOMEAN_TITLE,
            higher_is_better: false,
            peer: p.system,
            subject_value: None,
            peer_value: None,
            ratio,
            target,
            meets_target: judge(ratio, target, false),
        });
    }
    out
}

/// Three significant digits, thousands separated for large numbers.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", v.abs());
        let mut grouped = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if v < 0.0 { format!("-{grouped}") } else { grouped }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("—".to_string(), fmt_num)
}

fn md_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}|", header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
}

/// The Markdown report (printed to stdout and written beside the JSON).
pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run {} on {} cores ({}), {} GiB RAM, Linux {}.",
        r.date_utc,
        r.machine.cores,
        r.machine.cpu_model,
        r.machine.memory_bytes / (1 << 30),
        r.machine.kernel
    );
    let _ = writeln!(
        out,
        "Load `--size {}`: {} series ({} hosts) × {} samples at 15s = {} samples in {} requests \
         ({} series × {} samples each), {:.1} MB on the wire, {} concurrent connections.\n",
        r.size,
        fmt_num(r.load.series as f64),
        r.load.hosts,
        r.load.samples_per_series,
        fmt_num(r.load.samples as f64),
        r.load.requests,
        r.load.series_per_request,
        r.load.samples_per_request_series,
        r.load.wire_bytes as f64 / 1e6,
        r.load.concurrency
    );
    if let Some(n) = r.systems.iter().map(|s| s.rounds).max().filter(|n| *n > 1) {
        let _ = writeln!(
            out,
            "Figures are medians over {n} rounds (each system once per round, order rotating).\n"
        );
    }
    let peers: Vec<&SystemResult> = r.systems.iter().filter(|s| s.system != r.subject).collect();
    let has_subject = r.systems.iter().any(|s| s.system == r.subject);
    let mut header = vec!["metric".to_string()];
    header.extend(r.systems.iter().map(|s| s.label.to_string()));
    if has_subject {
        for p in &peers {
            header.push(format!("{}/{}", r.subject.label(), p.label));
        }
    }
    let mut rows = Vec::new();
    let ratio_cell = |metric: &str, peer: Kind| -> String {
        let Some(x) = r.ratios.iter().find(|x| x.metric == metric && x.peer == peer) else {
            return "—".into();
        };
        let mut c = x.ratio.map_or("—".to_string(), |v| format!("{v:.2}×"));
        if let (Some(t), Some(ok)) = (x.target, x.meets_target) {
            let op = if x.higher_is_better { "≥" } else { "≤" };
            let _ = write!(c, " ({} target {op}{t})", if ok { "meets" } else { "misses" });
        }
        c
    };
    for m in METRICS {
        let mut row = vec![m.title.to_string()];
        row.extend(r.systems.iter().map(|s| opt((m.get)(s))));
        if has_subject {
            row.extend(peers.iter().map(|p| ratio_cell(m.title, p.system)));
        }
        rows.push(row);
    }
    if has_subject {
        let mut row = vec![GEOMEAN_TITLE.to_string()];
        row.extend(r.systems.iter().map(|_| String::new()));
        row.extend(peers.iter().map(|p| ratio_cell(GEOMEAN_TITLE, p.system)));
        rows.push(row);
    }
    let extra: [(&str, Getter); 7] = [
        ("ingest wall time (s)", |s| Some(s.ingest.wall_seconds)),
        ("RSS growth during ingest / series (B)", |s| Some(s.rss_growth_per_series_bytes)),
        ("peak RSS overall (MiB)", |s| Some(s.peak_rss_bytes as f64 / 1048576.0)),
        ("RSS before ingest (MiB)", |s| Some(s.rss_before_ingest_bytes as f64 / 1048576.0)),
        ("disk bytes / sample, data dir after shutdown", |s| s.disk_after_shutdown_bytes_per_sample),
        ("query CPU s (timed repetitions)", |s| Some(s.query_cpu_seconds)),
        ("start-up (s)", |s| Some(s.startup_seconds)),
    ];
    for (title, f) in extra {
        let mut row = vec![title.to_string()];
        row.extend(r.systems.iter().map(|s| opt(f(s))));
        if has_subject {
            row.extend(peers.iter().map(|_| String::new()));
        }
        rows.push(row);
    }
    let mut row = vec!["load average at start (1/5/15 min)".to_string()];
    row.extend(r.systems.iter().map(|s| s.loadavg_start.clone()));
    if has_subject {
        row.extend(peers.iter().map(|_| String::new()));
    }
    rows.push(row);
    md_table(&mut out, &header, &rows);

    // Per-query latencies and result checks.
    let _ = writeln!(out);
    let mut header = vec!["query".to_string(), "type".to_string()];
    header.extend(r.systems.iter().map(|s| format!("{} ms", s.label)));
    if let Some(reference) = r.reference {
        header.push(format!("result vs {}", reference.label()));
    }
    let mut rows = Vec::new();
    for q in &r.queries {
        let kind = match q.kind {
            crate::query::QueryKind::Instant { .. } => "instant",
            crate::query::QueryKind::Range { .. } => "range",
        };
        let mut row = vec![format!("`{}`", q.name), kind.to_string()];
        for s in &r.systems {
            let t = s.queries.iter().find(|t| t.name == q.name);
            row.push(match t {
                Some(t) if t.error.is_some() => "error".into(),
                Some(t) => opt(t.median_ms),
                None => "—".into(),
            });
        }
        if r.reference.is_some() {
            let cells: Vec<String> = r
                .comparisons
                .iter()
                .filter(|c| c.query == q.name)
                .map(|c| format!("{}: {}", c.system.label(), c.status))
                .collect();
            row.push(cells.join(", "));
        }
        rows.push(row);
    }
    md_table(&mut out, &header, &rows);
    let mismatches: Vec<&Comparison> = r.comparisons.iter().filter(|c| c.status != "match").collect();
    if !mismatches.is_empty() {
        let _ = writeln!(out, "\nResult differences (reference {}):", r.reference.map_or("—", |k| k.label()));
        for c in mismatches {
            let _ =
                writeln!(out, "- `{}` on {}: {}", c.query, c.system.label(), c.diff.as_deref().unwrap_or(""));
        }
    }
    let errors: Vec<String> = r
        .systems
        .iter()
        .flat_map(|s| s.errors.iter().map(move |e| format!("- {}: {e}", s.label)))
        .chain(r.systems.iter().flat_map(|s| {
            s.queries
                .iter()
                .filter_map(move |q| q.error.as_ref().map(|e| format!("- {} `{}`: {e}", s.label, q.name)))
        }))
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "\nErrors:\n{}", errors.join("\n"));
    }
    let _ = writeln!(out, "\nOn-disk measurement per system:");
    for s in &r.systems {
        if let Some(d) = &s.disk {
            let _ = writeln!(
                out,
                "- {}: {} = {} bytes ({}); data dir after shutdown {} bytes: {}",
                s.label,
                d.method,
                fmt_num(d.measured.apparent_bytes as f64),
                d.notes.join(", "),
                fmt_num(d.after_shutdown.apparent_bytes as f64),
                d.breakdown
                    .iter()
                    .map(|(n, b)| format!("{n} {}", fmt_num(*b as f64)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC` for a Unix time in seconds.
pub fn utc_string(secs: i64) -> String {
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = cairn::server::civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem / 60 % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_numbers_format() {
        assert_eq!(utc_string(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_string(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(fmt_num(1_234_567.4), "1,234,567");
        assert_eq!(fmt_num(12.345), "12.3");
        assert_eq!(fmt_num(0.01234), "0.012");
    }
}
