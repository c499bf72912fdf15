//! Loads known samples into a server through the Prometheus remote-write protocol (protobuf
//! `WriteRequest`, snappy block compression), so the UI tests can assert exact rows and series.

use anyhow::bail;

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

/// One series to write: labels (name first or anywhere; sorted here) and (ms, value) samples.
pub fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    let mut labels: Vec<Label> =
        labels.iter().map(|(n, v)| Label { name: n.to_string(), value: v.to_string() }).collect();
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries { labels, samples: samples.iter().map(|&(t, v)| Sample { value: v, timestamp: t }).collect() }
}

/// POSTs the series to `base/api/v1/write`.
pub async fn push(http: &reqwest::Client, base: &str, ts: Vec<TimeSeries>) -> anyhow::Result<()> {
    let body = prost::Message::encode_to_vec(&WriteRequest { timeseries: ts });
    let compressed = snap::raw::Encoder::new().compress_vec(&body)?;
    let resp = http
        .post(format!("{base}/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(compressed)
        .send()
        .await?;
    let status = resp.status();
    if !status.is_success() {
        bail!("remote write answered HTTP {status}: {}", resp.text().await.unwrap_or_default());
    }
    Ok(())
}
