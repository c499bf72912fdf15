//! Remote-write encoding of the generated data (snappy-compressed `prometheus.WriteRequest`)
//! and the POST that sends the identical bytes to each server. Owns nothing of the data itself.
//!
//! TEMPORARY: the protobuf structs below stand in until `cairn::ingest::remote` lands on the
//! `ingest` branch; then they are deleted and that module's types are used instead.

use super::data::Series;

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// One snappy-compressed WriteRequest carrying every series of `data`.
pub fn encode(data: &[Series]) -> Vec<u8> {
    let req = WriteRequest {
        timeseries: data
            .iter()
            .map(|s| TimeSeries {
                labels: s.labels.iter().map(|(k, v)| Label { name: k.clone(), value: v.clone() }).collect(),
                samples: s.samples.iter().map(|(t, v)| Sample { value: *v, timestamp: *t }).collect(),
            })
            .collect(),
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
