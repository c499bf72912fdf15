//! The fixed PromQL query set, running one query over HTTP, and comparing results across
//! systems (same label sets, values within a relative tolerance, sorting normalised).
//! Knows nothing of processes or timing statistics (see `run.rs`).

use anyhow::{Context, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Relative tolerance for values; `ABS_TOLERANCE` covers values that should be zero.
pub const REL_TOLERANCE: f64 = 1e-6;
pub const ABS_TOLERANCE: f64 = 1e-12;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum QueryKind {
    Instant { time_ms: i64 },
    Range { start_ms: i64, end_ms: i64, step_ms: i64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct QuerySpec {
    pub name: &'static str,
    pub expr: &'static str,
    #[serde(flatten)]
    pub kind: QueryKind,
}

/// The query set: instant queries at `end_ms`, range queries over `[end_ms - range_ms, end_ms]`.
pub fn query_set(end_ms: i64, range_ms: i64, step_ms: i64) -> Vec<QuerySpec> {
    let instant = QueryKind::Instant { time_ms: end_ms };
    let range = QueryKind::Range { start_ms: end_ms - range_ms, end_ms, step_ms };
    let q = |name, expr, kind: &QueryKind| QuerySpec { name, expr, kind: kind.clone() };
    vec![
        q("selector", "node_load1", &instant),
        q("raw_samples", r#"node_cpu_seconds_total{instance="host-00000:9100", cpu="0"}[5m]"#, &instant),
        q("selector_regex", r#"node_cpu_seconds_total{mode=~"user|system"}"#, &instant),
        q("count_by", "count by (mode) (node_cpu_seconds_total)", &instant),
        q("rate_sum_by", r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))"#, &instant),
        q("rate_sum_by_range", "sum by (mode) (rate(node_cpu_seconds_total[5m]))", &range),
        q(
            "histogram_quantile",
            "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            &instant,
        ),
        q(
            "histogram_quantile_range",
            "histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m])))",
            &range,
        ),
        q("topk", "topk(5, rate(node_network_receive_bytes_total[5m]))", &instant),
        q("topk_range", "topk(3, sum by (instance) (rate(node_disk_written_bytes_total[5m])))", &range),
        q(
            "join_on",
            "node_filesystem_avail_bytes / on (instance, device, mountpoint) node_filesystem_size_bytes",
            &instant,
        ),
        q(
            "join_group_left",
            "sum by (instance) (rate(node_network_receive_bytes_total[5m])) \
             * on (instance) group_left (nodename, release) node_uname_info",
            &instant,
        ),
        q("subquery", "max_over_time(sum by (instance) (rate(http_requests_total[5m]))[30m:1m])", &instant),
        q("avg_over_time_range", "avg_over_time(node_memory_MemAvailable_bytes[10m])", &range),
        q(
            "error_ratio_range",
            r#"sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))"#,
            &range,
        ),
        q("increase_range", "sum(increase(node_network_transmit_bytes_total[10m]))", &range),
    ]
}

fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// Percent-encode a query-string value (RFC 3986 unreserved characters stay).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The GET URL of a query against `base`.
pub fn url(base: &str, kind: &QueryKind, expr: &str) -> String {
    match *kind {
        QueryKind::Instant { time_ms } => {
            format!("{base}/api/v1/query?query={}&time={}", encode(expr), secs(time_ms))
        }
        QueryKind::Range { start_ms, end_ms, step_ms } => format!(
            "{base}/api/v1/query_range?query={}&start={}&end={}&step={}",
            encode(expr),
            secs(start_ms),
            secs(end_ms),
            secs(step_ms)
        ),
    }
}

/// Run one query; returns the wall time until the whole body arrived, and the body.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> anyhow::Result<(Duration, Vec<u8>)> {
    let t0 = Instant::now();
    let r = client.get(url).timeout(timeout).send().await?;
    let status = r.status();
    let body = r.bytes().await?;
    let elapsed = t0.elapsed();
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body).chars().take(300).collect::<String>());
    }
    Ok((elapsed, body.to_vec()))
}

/// One series of a result, labels sorted, points as (ms, value).
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSeries {
    pub labels: Vec<(String, String)>,
    pub points: Vec<(i64, f64)>,
}

/// A query result in comparable form: series sorted by label set.
#[derive(Debug, Clone)]
pub struct Normalized {
    pub result_type: String,
    pub series: Vec<ResultSeries>,
}

impl Normalized {
    pub fn points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

fn parse_value(v: &serde_json::Value) -> anyhow::Result<f64> {
    let s = v.as_str().context("sample value is not a string")?;
    Ok(match s {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().with_context(|| format!("bad sample value {s:?}"))?,
    })
}

fn parse_point(p: &serde_json::Value) -> anyhow::Result<(i64, f64)> {
    let ts = p.get(0).and_then(|t| t.as_f64()).context("sample timestamp is not a number")?;
    let v = parse_value(p.get(1).context("sample has no value")?)?;
    Ok(((ts * 1000.0).round() as i64, v))
}

/// Parse a Prometheus API query response body.
pub fn parse(body: &[u8]) -> anyhow::Result<Normalized> {
    let v: serde_json::Value = serde_json::from_slice(body).context("response is not JSON")?;
    if v["status"] != "success" {
        bail!("status {}: {}", v["status"], v["error"]);
    }
    let data = &v["data"];
    let result_type = data["resultType"].as_str().context("no data.resultType")?.to_string();
    let result = &data["result"];
    let mut series = Vec::new();
    match result_type.as_str() {
        "scalar" | "string" => {
            let (t, val) = parse_point(result)?;
            series.push(ResultSeries { labels: Vec::new(), points: vec![(t, val)] });
        }
        "vector" | "matrix" => {
            for s in result.as_array().context("data.result is not an array")? {
                let mut labels: Vec<(String, String)> = s["metric"]
                    .as_object()
                    .context("series without metric")?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                labels.sort();
                let points = if result_type == "vector" {
                    vec![parse_point(&s["value"])?]
                } else {
                    let mut pts = s["values"]
                        .as_array()
                        .context("matrix series without values")?
                        .iter()
                        .map(parse_point)
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    pts.sort_by_key(|p| p.0);
                    pts
                };
                series.push(ResultSeries { labels, points });
            }
        }
        other => bail!("unknown resultType {other}"),
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Normalized { result_type, series })
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    diff <= ABS_TOLERANCE || diff <= REL_TOLERANCE * a.abs().max(b.abs())
}

fn fmt_labels(l: &[(String, String)]) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Compare `other` against `reference`. `None` when they agree; otherwise a short diff.
pub fn diff(reference: &Normalized, other: &Normalized) -> Option<String> {
    const SHOWN_MAX: usize = 3;
    if reference.result_type != other.result_type {
        return Some(format!("resultType {} vs {}", reference.result_type, other.result_type));
    }
    let refs: BTreeMap<&[(String, String)], &ResultSeries> =
        reference.series.iter().map(|s| (s.labels.as_slice(), s)).collect();
    let others: BTreeMap<&[(String, String)], &ResultSeries> =
        other.series.iter().map(|s| (s.labels.as_slice(), s)).collect();
    let missing: Vec<_> = refs.keys().filter(|k| !others.contains_key(*k)).collect();
    let extra: Vec<_> = others.keys().filter(|k| !refs.contains_key(*k)).collect();
    let mut lines = Vec::new();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(SHOWN_MAX).map(|l| fmt_labels(l)).collect();
        lines.push(format!("{} series missing, e.g. {}", missing.len(), shown.join(" ")));
    }
    if !extra.is_empty() {
        let shown: Vec<String> = extra.iter().take(SHOWN_MAX).map(|l| fmt_labels(l)).collect();
        lines.push(format!("{} extra series, e.g. {}", extra.len(), shown.join(" ")));
    }
    let (mut bad_series, mut bad_points, mut shown) = (0usize, 0usize, 0usize);
    for (labels, r) in &refs {
        let Some(o) = others.get(labels) else { continue };
        let ro: BTreeMap<i64, f64> = r.points.iter().copied().collect();
        let oo: BTreeMap<i64, f64> = o.points.iter().copied().collect();
        let mut bad_here = 0;
        let mut first = None;
        for t in ro.keys().chain(oo.keys().filter(|t| !ro.contains_key(t))) {
            let (a, b) = (ro.get(t), oo.get(t));
            let ok = matches!((a, b), (Some(a), Some(b)) if close(*a, *b));
            if !ok {
                bad_here += 1;
                first.get_or_insert((*t, a.copied(), b.copied()));
            }
        }
        if bad_here > 0 {
            bad_series += 1;
            bad_points += bad_here;
            if shown < SHOWN_MAX
                && let Some((t, a, b)) = first
            {
                shown += 1;
                let f = |v: Option<f64>| v.map_or("absent".to_string(), |v| format!("{v}"));
                lines.push(format!("{} @{t}: {} vs {}", fmt_labels(labels), f(a), f(b)));
            }
        }
    }
    if bad_series > 0 {
        lines.insert(0, format!("{bad_points} points differ in {bad_series} series"));
    }
    if lines.is_empty() { None } else { Some(lines.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VEC_A: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"b":"2","a":"1"},"value":[1700000000.5,"1.0000000001"]},
        {"metric":{"a":"0"},"value":[1700000000.5,"NaN"]}]}}"#;
    const VEC_B: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"a":"0"},"value":[1700000000.5,"NaN"]},
        {"metric":{"a":"1","b":"2"},"value":[1700000000.5,"1"]}]}}"#;
    const VEC_C: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"a":"1","b":"2"},"value":[1700000000.5,"1.1"]},
        {"metric":{"a":"9"},"value":[1700000000.5,"+Inf"]}]}}"#;

    #[test]
    fn order_and_tiny_differences_do_not_matter() {
        let (a, b) = (parse(VEC_A.as_bytes()).unwrap(), parse(VEC_B.as_bytes()).unwrap());
        assert_eq!(a.series[1].points, vec![(1_700_000_000_500, 1.0000000001)]);
        assert_eq!(diff(&a, &b), None);
    }

    #[test]
    fn value_and_label_differences_are_reported() {
        let (a, c) = (parse(VEC_A.as_bytes()).unwrap(), parse(VEC_C.as_bytes()).unwrap());
        let d = diff(&a, &c).unwrap();
        assert!(d.contains("1 series missing"), "{d}");
        assert!(d.contains("1 extra series"), "{d}");
        assert!(d.contains("1 points differ in 1 series"), "{d}");
    }

    #[test]
    fn matrix_and_scalar_parse() {
        let m = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[2,"2"],[1,"1"]]}]}}"#;
        let m = parse(m.as_bytes()).unwrap();
        assert_eq!(m.series[0].points, vec![(1000, 1.0), (2000, 2.0)]);
        let s = parse(br#"{"status":"success","data":{"resultType":"scalar","result":[3,"-Inf"]}}"#).unwrap();
        assert_eq!(s.series[0].points, vec![(3000, f64::NEG_INFINITY)]);
        assert!(parse(br#"{"status":"error","error":"x"}"#).is_err());
    }

    #[test]
    fn urls_are_encoded() {
        let set = query_set(1_700_000_000_000, 3_600_000, 60_000);
        let spec = set.iter().find(|q| q.name == "selector_regex").unwrap();
        let u = url("http://h", &spec.kind, spec.expr);
        assert_eq!(
            u,
            "http://h/api/v1/query?query=node_cpu_seconds_total%7Bmode%3D~%22user%7Csystem%22%7D\
             &time=1700000000.000"
        );
    }
}
