//! One HTTP scrape request: headers as Prometheus sends them, timeout, status check and the
//! body-size limit (applied to the decompressed body). Knows nothing of parsing or storage.

use super::target::TargetSpec;
use reqwest::header;
use std::time::Duration;

/// A fetched body and its Content-Type.
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// Reqwest's error with its causes, which hold the useful part ("connection refused").
fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

pub async fn fetch(spec: &TargetSpec) -> Result<Fetched, String> {
    let timeout = Duration::from_millis(spec.timeout_ms.max(1) as u64);
    let work = async {
        let mut req = spec
            .client
            .get(&spec.url)
            .header(header::ACCEPT, &spec.accept)
            .header(header::USER_AGENT, concat!("Cairn/", env!("CARGO_PKG_VERSION")))
            .header("X-Prometheus-Scrape-Timeout-Seconds", format!("{}", spec.timeout_ms as f64 / 1000.0));
        if let Some(a) = &spec.authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        let mut resp = req.send().await.map_err(|e| describe(&e))?;
        if !resp.status().is_success() {
            return Err(format!("server returned HTTP status {}", resp.status()));
        }
        let content_type =
            resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let limit = spec.limits.body_size_limit;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
            if limit > 0 && body.len() + chunk.len() > limit {
                return Err(format!("body size limit exceeded: the response is larger than {limit} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, content_type })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => {
            Err(format!("Get \"{}\": context deadline exceeded (scrape timeout {timeout:?})", spec.url))
        }
    }
}
