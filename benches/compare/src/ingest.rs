//! The send phase: push the pre-encoded remote-write bodies to one system, one connection per
//! shard, each shard's requests in order (one at a time, like a remote-write queue shard), and
//! time it. Owns no encoding (see `load.rs`) and no process readings.

use bytes::Bytes;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Outcome of one send phase.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    pub wall_seconds: f64,
    pub requests_sent: usize,
    pub requests_failed: usize,
    /// Retries after 503/429 answers (they count in the wall time).
    pub retries: usize,
    /// The first few failures, as `status: body`.
    pub failures: Vec<String>,
    /// Whether the phase stopped early (too many failures or the deadline).
    pub aborted: bool,
}

/// Give up after this many failed requests: the system is rejecting the load.
const FAILED_REQUESTS_MAX: usize = 20;
/// Keep at most this many failure messages.
const FAILURES_KEPT: usize = 5;
/// One request may take at most this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts per request when the server answers 503/429 (overloaded), with a linear backoff.
const RETRIES_MAX: u32 = 20;
const RETRY_BACKOFF: Duration = Duration::from_millis(50);

/// Send every shard's bodies to `url`, the shards concurrently; stop at `deadline`.
pub async fn send_all(
    client: &reqwest::Client,
    url: &str,
    shards: Arc<Vec<Vec<Bytes>>>,
    deadline: Instant,
) -> IngestOutcome {
    let failed = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for shard in 0..shards.len() {
        let (client, url, shards) = (client.clone(), url.to_string(), shards.clone());
        let (failed, failures, retries) = (failed.clone(), failures.clone(), retries.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0usize;
            let mut aborted = false;
            for (i, body) in shards[shard].iter().enumerate() {
                if failed.load(Ordering::Relaxed) >= FAILED_REQUESTS_MAX || Instant::now() >= deadline {
                    aborted = true;
                    break;
                }
                let mut attempt = 0;
                let problem = loop {
                    let res = client
                        .post(&url)
                        .header("Content-Encoding", "snappy")
                        .header("Content-Type", "application/x-protobuf")
                        .header("User-Agent", "cairn-compare/0.1")
                        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                        .timeout(REQUEST_TIMEOUT)
                        .body(body.clone())
                        .send()
                        .await;
                    attempt += 1;
                    match res {
                        Ok(r) if r.status().is_success() => break None,
                        // Overload: a remote-write sender backs off and retries, so do we.
                        Ok(r)
                            if (r.status().as_u16() == 503 || r.status().as_u16() == 429)
                                && attempt < RETRIES_MAX
                                && Instant::now() < deadline =>
                        {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(RETRY_BACKOFF * attempt).await;
                        }
                        Ok(r) => {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            break Some(format!(
                                "shard {shard} request {i}: {status}: {}",
                                text.chars().take(300).collect::<String>()
                            ));
                        }
                        Err(e) => break Some(format!("shard {shard} request {i}: {e}")),
                    }
                };
                sent += 1;
                if let Some(p) = problem {
                    failed.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut f) = failures.lock()
                        && f.len() < FAILURES_KEPT
                    {
                        f.push(p);
                    }
                }
            }
            (sent, aborted)
        }));
    }
    let mut requests_sent = 0;
    let mut aborted = false;
    for t in tasks {
        match t.await {
            Ok((s, a)) => {
                requests_sent += s;
                aborted |= a;
            }
            Err(e) => {
                aborted = true;
                if let Ok(mut f) = failures.lock() {
                    f.push(format!("worker failed: {e}"));
                }
            }
        }
    }
    let wall_seconds = t0.elapsed().as_secs_f64();
    let failures = failures.lock().map(|f| f.clone()).unwrap_or_default();
    IngestOutcome {
        wall_seconds,
        requests_sent,
        requests_failed: failed.load(Ordering::Relaxed),
        retries: retries.load(Ordering::Relaxed),
        failures,
        aborted,
    }
}
