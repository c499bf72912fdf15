//! Loads known samples into a server through the Prometheus remote-write protocol, so the UI
//! tests can assert exact rows and series. A thin wrapper over `support::remote` (which uses
//! Cairn's own protobuf types) that turns a refusal into an error.

use anyhow::bail;

pub use crate::support::remote::series;
use cairn::ingest::remote::proto::TimeSeries;

/// POSTs the series to `base/api/v1/write` (`base` = `http://host:port`).
pub async fn push(_http: &reqwest::Client, base: &str, ts: Vec<TimeSeries>) -> anyhow::Result<()> {
    let (status, body) = crate::support::remote::write(base, ts).await;
    if !(200..300).contains(&status) {
        bail!("remote write answered HTTP {status}: {body}");
    }
    Ok(())
}
