//! Remote-write encoding of the generated data (snappy-compressed `prometheus.WriteRequest`,
//! built from `cairn::ingest::remote::proto`'s messages) and the POST that sends the identical
//! bytes to each server. Owns nothing of the data itself.

use cairn::ingest::remote::proto::{Label, Sample, TimeSeries, WriteRequest};

use super::data::Series;

/// One snappy-compressed WriteRequest carrying every series of `data`.
pub fn encode(data: &[Series]) -> Vec<u8> {
    let req = WriteRequest {
        timeseries: data
            .iter()
            .map(|s| TimeSeries {
                labels: s.labels.iter().map(|(k, v)| Label::new(k, v)).collect(),
                samples: s.samples.iter().map(|(t, v)| Sample { value: *v, timestamp: *t }).collect(),
                exemplars: Vec::new(),
                histograms: Vec::new(),
            })
            .collect(),
        metadata: Vec::new(),
    };
    let raw = prost::Message::encode_to_vec(&req);
    snap::raw::Encoder::new().compress_vec(&raw).expect("snappy compress")
}

/// POSTs `body` to `<base>/api/v1/write`, panicking with the server's answer unless 2xx.
pub async fn send(client: &reqwest::Client, base: &str, body: Vec<u8>) {
    let r = client
        .post(format!("{base}/api/v1/write"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("remote-write to {base}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "remote-write to {base} -> {status}: {text}");
}
