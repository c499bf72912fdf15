//! The notifier's sending thread: takes batches off the queue and POSTs each to every
//! Alertmanager with retries; after `shutdown` it keeps draining until the queue is empty or the
//! drain deadline passes (whatever is left then is counted as dropped). Owns no configuration.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Inner, OutAlert, targets::Endpoint};

/// True once shutdown was asked for and its deadline has passed.
fn past_deadline(inner: &Inner) -> bool {
    inner.stop.load(Ordering::Relaxed) && inner.deadline.lock().is_none_or(|d| Instant::now() >= d)
}

/// Time left before the drain deadline, if shutting down.
fn remaining(inner: &Inner) -> Option<Duration> {
    if !inner.stop.load(Ordering::Relaxed) {
        return None;
    }
    Some(inner.deadline.lock().map_or(Duration::ZERO, |d| d.saturating_duration_since(Instant::now())))
}

pub(super) fn run(inner: Arc<Inner>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        tracing::error!("notifier: cannot start its runtime; alerts will not be sent");
        return;
    };
    loop {
        let batch: Vec<OutAlert> = {
            let mut q = inner.queue.lock();
            while q.is_empty() && !inner.stop.load(Ordering::Relaxed) {
                inner.wake.wait_for(&mut q, Duration::from_secs(1));
            }
            if inner.stop.load(Ordering::Relaxed) && (q.is_empty() || past_deadline(&inner)) {
                let left = q.len() as u64;
                q.clear();
                inner.dropped.fetch_add(left, Ordering::Relaxed);
                return;
            }
            let n = q.len().min(inner.opts.batch_size.max(1));
            q.drain(..n).collect()
        };
        let body = serde_json::Value::Array(batch.iter().map(OutAlert::to_json).collect()).to_string();
        let endpoints = inner.endpoints.read().clone();
        if endpoints.is_empty() {
            inner.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
            continue;
        }
        let ok = rt.block_on(async {
            let mut any_ok = false;
            for ep in &endpoints {
                if post_with_retries(ep, &body, inner.opts.attempts, &inner).await {
                    ep.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    any_ok = true;
                } else {
                    ep.errors.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
            }
            any_ok
        });
        if !ok {
            inner.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
    }
}

/// Resolves once shutdown was asked for and its deadline has passed (checked every 50 ms).
async fn deadline_passed(inner: &Inner) {
    while !past_deadline(inner) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_with_retries(ep: &Endpoint, body: &str, attempts: usize, inner: &Inner) -> bool {
    for attempt in 0..attempts.max(1) {
        if past_deadline(inner) {
            return false;
        }
        // While draining at shutdown, no request outlives the drain deadline.
        let timeout =
            remaining(inner).map_or(ep.timeout, |r| r.min(ep.timeout)).max(Duration::from_millis(1));
        let mut req = ep.client.post(&ep.url);
        if let Some(a) = &ep.auth {
            req = req.header("authorization", a);
        }
        let send = req
            .header("content-type", "application/json")
            .header("user-agent", concat!("Cairn/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .body(body.to_string())
            .send();
        // A request already under way when shutdown starts is abandoned at the drain deadline.
        let res = tokio::select! {
            r = send => r,
            _ = deadline_passed(inner) => return false,
        };
        match res {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => tracing::warn!(url = %ep.url, status = %r.status(), "Alertmanager rejected alerts"),
            Err(e) => tracing::warn!(url = %ep.url, error = %e, "sending alerts failed"),
        }
        let pause = Duration::from_millis(100u64 << attempt.min(6));
        tokio::time::sleep(remaining(inner).map_or(pause, |r| r.min(pause))).await;
    }
    false
}
