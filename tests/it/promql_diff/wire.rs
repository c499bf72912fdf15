//! Remote-write of the generated data: one snappy-compressed `prometheus.WriteRequest` (built
//! with `support::remote`, i.e. `cairn::ingest::remote::proto`'s messages), and the POST that
//! sends the identical bytes to each server. Owns nothing of the data itself.

use super::data::Series;
use crate::support::remote;

/// One snappy-compressed WriteRequest carrying every series of `data`.
pub fn encode(data: &[Series]) -> Vec<u8> {
    let ts = data
        .iter()
        .map(|s| {
            let labels: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            remote::series(&labels, &s.samples)
        })
        .collect();
    remote::encode(ts)
}

/// POSTs `body` to `<base>/api/v1/write`, panicking with the server's answer unless 2xx.
pub async fn send(base: &str, body: Vec<u8>) {
    let (status, text) = remote::post_raw(base, body, "application/x-protobuf").await;
    assert!((200..300).contains(&status), "remote-write to {base} -> {status}: {text}");
}
