//! Remote-write client for tests, built on Cairn's own protobuf types: encode a request, POST
//! it (optionally with broken framing or headers), and get the status and body back.

use cairn::ingest::remote::proto::{Label, Sample, TimeSeries, WriteRequest};

/// One series: labels in any order (sorted here) and `(ms, value)` samples.
pub fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    let mut labels: Vec<Label> = labels.iter().map(|(n, v)| Label::new(n, v)).collect();
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels,
        samples: samples.iter().map(|&(t, v)| Sample { value: v, timestamp: t }).collect(),
        exemplars: Vec::new(),
        histograms: Vec::new(),
    }
}

/// Snappy-compressed protobuf body of a write request.
pub fn encode(ts: Vec<TimeSeries>) -> Vec<u8> {
    let raw = prost::Message::encode_to_vec(&WriteRequest { timeseries: ts, metadata: Vec::new() });
    snap::raw::Encoder::new().compress_vec(&raw).expect("snappy")
}

/// POSTs a raw body to `<base>/api/v1/write` with the given Content-Type; returns status, body.
pub async fn post_raw(base: &str, body: Vec<u8>, content_type: &str) -> (u16, String) {
    let r = super::http_client()
        .post(format!("{base}/api/v1/write"))
        .header("Content-Type", content_type)
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await
        .expect("POST /api/v1/write");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Writes series and returns the status and body.
pub async fn write(base: &str, ts: Vec<TimeSeries>) -> (u16, String) {
    post_raw(base, encode(ts), "application/x-protobuf").await
}
