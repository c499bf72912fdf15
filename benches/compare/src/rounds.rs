//! Several rounds on a shared machine: each system runs once per round (the order rotating),
//! and the reported figure is the median over rounds. Owns only that merge; every other detail
//! (versions, disk breakdown, errors) comes from the first round, errors from all rounds.

use crate::run::SystemResult;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn median_opt(v: Vec<Option<f64>>) -> Option<f64> {
    let some: Vec<f64> = v.iter().flatten().copied().collect();
    (some.len() == v.len() && !some.is_empty()).then(|| median(some))
}

/// Merge one system's results of several rounds (non-empty) into medians.
pub fn merge(results: Vec<SystemResult>) -> Option<SystemResult> {
    let n = results.len();
    let mut out = results.first()?.clone();
    if n == 1 {
        return Some(out);
    }
    let f = |get: fn(&SystemResult) -> f64| median(results.iter().map(get).collect());
    out.rounds = n;
    out.startup_seconds = f(|r| r.startup_seconds);
    out.ingest.wall_seconds = f(|r| r.ingest.wall_seconds);
    out.ingest.aborted = results.iter().any(|r| r.ingest.aborted);
    out.ingest.requests_failed = results.iter().map(|r| r.ingest.requests_failed).max().unwrap_or(0);
    out.ingest_samples_per_second = f(|r| r.ingest_samples_per_second);
    out.ingest_cpu_seconds = f(|r| r.ingest_cpu_seconds);
    out.cpu_seconds_per_million_samples = f(|r| r.cpu_seconds_per_million_samples);
    out.rss_before_ingest_bytes = f(|r| r.rss_before_ingest_bytes as f64) as u64;
    out.rss_after_ingest_bytes = f(|r| r.rss_after_ingest_bytes as f64) as u64;
    out.peak_rss_ingest_bytes = f(|r| r.peak_rss_ingest_bytes as f64) as u64;
    out.peak_rss_bytes = f(|r| r.peak_rss_bytes as f64) as u64;
    out.peak_rss_per_series_bytes = f(|r| r.peak_rss_per_series_bytes);
    out.rss_growth_per_series_bytes = f(|r| r.rss_growth_per_series_bytes);
    out.query_cpu_seconds = f(|r| r.query_cpu_seconds);
    out.visibility_wait_seconds = f(|r| r.visibility_wait_seconds);
    out.disk_bytes_per_sample = median_opt(results.iter().map(|r| r.disk_bytes_per_sample).collect());
    out.disk_after_shutdown_bytes_per_sample =
        median_opt(results.iter().map(|r| r.disk_after_shutdown_bytes_per_sample).collect());
    for q in &mut out.queries {
        let per_round: Vec<Option<f64>> = results
            .iter()
            .map(|r| r.queries.iter().find(|x| x.name == q.name).and_then(|x| x.median_ms))
            .collect();
        q.median_ms = median_opt(per_round);
        q.reps =
            results.iter().flat_map(|r| r.queries.iter().filter(|x| x.name == q.name)).map(|x| x.reps).sum();
    }
    out.query_latency_sum_ms = if out.queries.iter().all(|q| q.median_ms.is_some()) {
        Some(out.queries.iter().filter_map(|q| q.median_ms).sum::<f64>())
    } else {
        None
    };
    out.loadavg_end = results.last().map(|r| r.loadavg_end.clone()).unwrap_or_default();
    out.errors = results
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.errors.iter().map(move |e| format!("round {}: {e}", i + 1)))
        .collect();
    Some(out)
}
