//! The Alertmanager notifier: external labels and `alert_relabel_configs` applied to outgoing
//! alerts (dropped ones are not sent), a bounded queue (oldest dropped first, counted), batches
//! POSTed as JSON to every Alertmanager's `/api/v2/alerts` with retries (`send.rs`), a bounded
//! drain at shutdown, and its metrics. Alertmanagers come from the configuration's `alerting`
//! section, resolved by `targets.rs` (static and file SD, relabeling, the shared HTTP client
//! settings). Runs on its own thread with a small tokio runtime for reqwest. Owns no alert state
//! (see `alerting.rs`).

mod alert;
mod send;
pub mod targets;

pub use alert::OutAlert;
pub use targets::{Endpoint, NotifierConfig};

use crate::ingest::relabel::{RelabelConfig, relabel};
use cairn_format::Labels;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct NotifierOptions {
    /// Maximum queued alerts; the oldest are dropped beyond it.
    pub queue_capacity: usize,
    /// Alerts per POST.
    pub batch_size: usize,
    /// Attempts per Alertmanager and batch.
    pub attempts: usize,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions { queue_capacity: 10_000, batch_size: 64, attempts: 3 }
    }
}

/// What a configuration (re)load replaces at once.
struct Applied {
    external_labels: Labels,
    alert_relabel: Vec<RelabelConfig>,
    dropped_urls: Vec<String>,
}

struct Inner {
    opts: NotifierOptions,
    applied: RwLock<Applied>,
    endpoints: RwLock<Vec<Arc<Endpoint>>>,
    queue: Mutex<VecDeque<OutAlert>>,
    wake: Condvar,
    stop: AtomicBool,
    /// Until when the queue is still drained after `stop` was set.
    deadline: Mutex<Option<Instant>>,
    dropped: AtomicU64,
}

/// Sends alerts to Alertmanagers from a background thread; stops when dropped.
pub struct Notifier {
    inner: Arc<Inner>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Notifier {
    /// A notifier with no Alertmanagers yet (alerts are dropped until [`Notifier::apply`]).
    pub fn new(opts: NotifierOptions) -> Arc<Notifier> {
        let inner = Arc::new(Inner {
            applied: RwLock::new(Applied {
                external_labels: Labels::empty(),
                alert_relabel: Vec::new(),
                dropped_urls: Vec::new(),
            }),
            opts,
            endpoints: RwLock::new(Vec::new()),
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            deadline: Mutex::new(None),
            dropped: AtomicU64::new(0),
        });
        let worker = inner.clone();
        let thread =
            std::thread::Builder::new().name("cairn-notifier".into()).spawn(move || send::run(worker)).ok();
        Arc::new(Notifier { inner, thread: Mutex::new(thread) })
    }

    /// Replaces Alertmanagers, alert relabeling and external labels (on config load/reload).
    /// Counters of an Alertmanager whose URL stays carry over.
    pub fn apply(&self, cfg: NotifierConfig) {
        {
            let old = self.inner.endpoints.read();
            for e in &cfg.endpoints {
                if let Some(o) = old.iter().find(|o| o.url == e.url) {
                    e.sent.store(o.sent.load(Ordering::Relaxed), Ordering::Relaxed);
                    e.errors.store(o.errors.load(Ordering::Relaxed), Ordering::Relaxed);
                }
            }
        }
        *self.inner.applied.write() = Applied {
            external_labels: cfg.external_labels,
            alert_relabel: cfg.alert_relabel,
            dropped_urls: cfg.dropped,
        };
        *self.inner.endpoints.write() = cfg.endpoints;
    }

    /// The Alertmanagers alerts go to.
    pub fn endpoints(&self) -> Vec<Arc<Endpoint>> {
        self.inner.endpoints.read().clone()
    }

    /// URLs of the Alertmanager targets that `relabel_configs` dropped.
    pub fn dropped_alertmanagers(&self) -> Vec<String> {
        self.inner.applied.read().dropped_urls.clone()
    }

    /// Queues alerts: adds external labels (alert labels win), applies `alert_relabel_configs`
    /// (alerts it drops, or leaves without labels, are not sent); beyond capacity the oldest
    /// queued alerts are dropped.
    pub fn send(&self, alerts: Vec<OutAlert>) {
        let o = &self.inner.opts;
        let mut prepared: Vec<OutAlert> = Vec::with_capacity(alerts.len());
        {
            let applied = self.inner.applied.read();
            for mut a in alerts {
                for l in applied.external_labels.iter() {
                    if a.labels.get(&l.name).is_none() {
                        a.labels.set(&l.name, &l.value);
                    }
                }
                if !applied.alert_relabel.is_empty() {
                    match relabel(&a.labels, &applied.alert_relabel) {
                        Some(l) if !l.is_empty() => a.labels = l,
                        _ => continue,
                    }
                }
                prepared.push(a);
            }
        }
        if prepared.is_empty() {
            return;
        }
        let cap = o.queue_capacity.max(1);
        let mut q = self.inner.queue.lock();
        if prepared.len() > cap {
            let d = prepared.len() - cap;
            prepared.drain(..d);
            self.inner.dropped.fetch_add(d as u64, Ordering::Relaxed);
        }
        let overflow = (q.len() + prepared.len()).saturating_sub(cap);
        if overflow > 0 {
            q.drain(..overflow);
            self.inner.dropped.fetch_add(overflow as u64, Ordering::Relaxed);
        }
        q.extend(prepared);
        drop(q);
        self.inner.wake.notify_one();
    }

    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    pub fn queue_len(&self) -> usize {
        self.inner.queue.lock().len()
    }

    /// `(name, labels, value)` triples for `/metrics`.
    pub fn metrics(&self) -> Vec<crate::rules::MetricSample> {
        let mut out = vec![
            ("cairn_notifications_dropped_total".into(), vec![], self.dropped() as f64),
            ("cairn_notifications_queue_length".into(), vec![], self.queue_len() as f64),
            ("cairn_notifications_queue_capacity".into(), vec![], self.inner.opts.queue_capacity as f64),
            ("cairn_notifications_alertmanagers_discovered".into(), vec![], self.endpoints().len() as f64),
        ];
        for e in self.endpoints() {
            let l = vec![("alertmanager".to_string(), e.url.clone())];
            out.push((
                "cairn_notifications_sent_total".into(),
                l.clone(),
                e.sent.load(Ordering::Relaxed) as f64,
            ));
            out.push(("cairn_notifications_errors_total".into(), l, e.errors.load(Ordering::Relaxed) as f64));
        }
        out
    }

    /// Stops the sending thread after it has sent what is queued, waiting at most `drain_max`
    /// (alerts still queued then are counted as dropped). Returns once the thread has ended.
    pub fn shutdown(&self, drain_max: Duration) {
        *self.inner.deadline.lock() = Some(Instant::now() + drain_max);
        self.inner.stop.store(true, Ordering::Relaxed);
        self.inner.wake.notify_all();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }

    /// Stops the sending thread now; queued alerts are abandoned.
    pub fn stop(&self) {
        self.shutdown(Duration::ZERO);
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}
