//! The Alertmanager notifier: external labels and alert relabelling applied to outgoing
//! alerts, a bounded queue (oldest dropped first, counted), batches POSTed as JSON to every
//! configured Alertmanager's `/api/v2/alerts` with retries, and its metrics. Runs on its own
//! thread with a small tokio runtime for reqwest. Owns no alert state (see `alerting.rs`).

use crate::rules::Alert;
use cairn_format::Labels;
use parking_lot::{Condvar, Mutex, RwLock};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// `alerting.alertmanagers[]` of prometheus.yml (static configs only).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    #[serde(default = "default_scheme")]
    pub scheme: String,
    #[serde(default)]
    pub path_prefix: String,
    /// Prometheus duration, default 10s.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub authorization: Option<Authorization>,
}

/// `basic_auth` of an Alertmanager config.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub username_file: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
}

/// `authorization` of an Alertmanager config (`type` defaults to Bearer).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(default, rename = "type")]
    pub typ: Option<String>,
    #[serde(default)]
    pub credentials: Option<String>,
    #[serde(default)]
    pub credentials_file: Option<String>,
}

fn read_secret(inline: &Option<String>, file: &Option<String>, what: &str) -> Result<String, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!("at most one of {what} and {what}_file must be configured")),
        (Some(v), None) => Ok(v.clone()),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("cannot read {what}_file {f}: {e}")),
        (None, None) => Ok(String::new()),
    }
}

/// Standard base64 with padding (for basic auth).
fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_auth_headers() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        let mut c = AlertmanagerConfig::for_target("a:1");
        c.basic_auth = Some(BasicAuth {
            username: "user".into(),
            username_file: None,
            password: Some("pass".into()),
            password_file: None,
        });
        assert_eq!(c.auth_header().unwrap().as_deref(), Some("Basic dXNlcjpwYXNz"));
        c.basic_auth = None;
        c.authorization =
            Some(Authorization { typ: None, credentials: Some("tok".into()), credentials_file: None });
        assert_eq!(c.auth_header().unwrap().as_deref(), Some("Bearer tok"));
        let yaml = "scheme: https\npath_prefix: /am\ntimeout: 5s\nstatic_configs:\n  - targets: ['a:9093']\nauthorization:\n  credentials: x\n";
        let parsed: AlertmanagerConfig = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(parsed.urls().unwrap(), vec!["https://a:9093/am/api/v2/alerts".to_string()]);
        assert!(serde_saphyr::from_str::<AlertmanagerConfig>("tls_config: {}\n").is_err());
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

fn default_scheme() -> String {
    "http".into()
}
fn default_timeout() -> String {
    "10s".into()
}
fn default_api_version() -> String {
    "v2".into()
}

impl AlertmanagerConfig {
    /// A config for one `host:port` target with defaults.
    pub fn for_target(target: &str) -> Self {
        AlertmanagerConfig {
            scheme: default_scheme(),
            path_prefix: String::new(),
            timeout: default_timeout(),
            api_version: default_api_version(),
            static_configs: vec![StaticConfig {
                targets: vec![target.to_string()],
                labels: Default::default(),
            }],
            basic_auth: None,
            authorization: None,
        }
    }

    /// The `Authorization` header value, if any (reads `*_file` secrets).
    pub fn auth_header(&self) -> Result<Option<String>, String> {
        match (&self.basic_auth, &self.authorization) {
            (Some(_), Some(_)) => {
                Err("at most one of basic_auth and authorization must be configured".into())
            }
            (Some(b), None) => {
                let user = if b.username.is_empty() { None } else { Some(b.username.clone()) };
                let user = read_secret(&user, &b.username_file, "username")?;
                let pw = read_secret(&b.password, &b.password_file, "password")?;
                Ok(Some(format!("Basic {}", base64(format!("{user}:{pw}").as_bytes()))))
            }
            (None, Some(a)) => {
                let typ = a.typ.clone().unwrap_or_else(|| "Bearer".into());
                if typ.eq_ignore_ascii_case("basic") {
                    return Err(
                        "authorization type cannot be set to \"basic\", use \"basic_auth\" instead".into()
                    );
                }
                let cred = read_secret(&a.credentials, &a.credentials_file, "credentials")?;
                Ok(Some(format!("{typ} {cred}")))
            }
            (None, None) => Ok(None),
        }
    }

    /// Checks what Prometheus checks; returns the resolved endpoint URLs.
    pub fn urls(&self) -> Result<Vec<String>, String> {
        if self.api_version != "v2" {
            return Err(format!("unsupported Alertmanager api_version {:?} (only v2)", self.api_version));
        }
        if self.scheme != "http" && self.scheme != "https" {
            return Err(format!("invalid Alertmanager scheme {:?}", self.scheme));
        }
        crate::rules::duration::parse(&self.timeout)?;
        let prefix = self.path_prefix.trim_end_matches('/');
        Ok(self
            .static_configs
            .iter()
            .flat_map(|s| s.targets.iter())
            .map(|t| format!("{}://{}{}/api/v2/alerts", self.scheme, t, prefix))
            .collect())
    }
}

/// Alert relabelling (`alert_relabel_configs`): returns `None` to drop the alert. The
/// server builds it from the ingest module's relabel implementation.
pub type RelabelFn = Arc<dyn Fn(&Labels) -> Option<Labels> + Send + Sync>;

#[derive(Clone)]
pub struct NotifierOptions {
    /// Maximum queued alerts; the oldest are dropped beyond it.
    pub queue_capacity: usize,
    /// Alerts per POST.
    pub batch_size: usize,
    /// Attempts per Alertmanager and batch.
    pub attempts: usize,
    pub external_labels: Labels,
    pub relabel: Option<RelabelFn>,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue_capacity: 10_000,
            batch_size: 64,
            attempts: 3,
            external_labels: Labels::empty(),
            relabel: None,
        }
    }
}

/// An alert as sent to Alertmanager (times in ms; `ends_at` 0 = unset).
#[derive(Clone, Debug, PartialEq)]
pub struct OutAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
}

impl OutAlert {
    /// Builds the outgoing form of a rule's alert (Prometheus's `sendAlerts`): starts at
    /// the firing time, ends at the resolve time or at `valid_until`.
    pub fn from_alert(a: &Alert, expr: &str, external_url: &str) -> OutAlert {
        OutAlert {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: a.fired_at.unwrap_or(a.active_at),
            ends_at: a.resolved_at.unwrap_or(a.valid_until),
            generator_url: format!(
                "{}/graph?g0.expr={}&g0.tab=1",
                external_url.trim_end_matches('/'),
                crate::rules::template::funcs::query_escape(expr)
            ),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let map = |l: &Labels| {
            serde_json::Value::Object(
                l.iter().map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone()))).collect(),
            )
        };
        let mut o = serde_json::Map::new();
        o.insert("labels".into(), map(&self.labels));
        o.insert("annotations".into(), map(&self.annotations));
        o.insert("startsAt".into(), crate::server::rfc3339(self.starts_at).into());
        if self.ends_at != 0 {
            o.insert("endsAt".into(), crate::server::rfc3339(self.ends_at).into());
        }
        o.insert("generatorURL".into(), self.generator_url.clone().into());
        serde_json::Value::Object(o)
    }
}

/// One configured Alertmanager endpoint and its counters.
#[derive(Debug)]
pub struct Endpoint {
    pub url: String,
    /// `Authorization` header sent with every request.
    pub auth: Option<String>,
    pub timeout: Duration,
    pub sent: AtomicU64,
    pub errors: AtomicU64,
}

struct Inner {
    opts: NotifierOptions,
    /// External labels and relabelling, replaceable on reload.
    labels: RwLock<(Labels, Option<RelabelFn>)>,
    endpoints: RwLock<Vec<Arc<Endpoint>>>,
    queue: Mutex<VecDeque<OutAlert>>,
    wake: Condvar,
    stop: AtomicBool,
    dropped: AtomicU64,
}

/// Sends alerts to Alertmanagers from a background thread; stops when dropped.
pub struct Notifier {
    inner: Arc<Inner>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Notifier {
    pub fn new(opts: NotifierOptions) -> Arc<Notifier> {
        let inner = Arc::new(Inner {
            labels: RwLock::new((opts.external_labels.clone(), opts.relabel.clone())),
            opts,
            endpoints: RwLock::new(Vec::new()),
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let worker = inner.clone();
        let thread =
            std::thread::Builder::new().name("cairn-notifier".into()).spawn(move || run(worker)).ok();
        Arc::new(Notifier { inner, thread: Mutex::new(thread) })
    }

    /// Replaces the set of Alertmanagers (on config load/reload).
    pub fn apply_config(&self, configs: &[AlertmanagerConfig]) -> Result<(), String> {
        let mut eps = Vec::new();
        for c in configs {
            let timeout = crate::rules::duration::parse(&c.timeout)?;
            let auth = c.auth_header()?;
            for url in c.urls()? {
                eps.push(Arc::new(Endpoint {
                    url,
                    auth: auth.clone(),
                    timeout: Duration::from_millis(timeout.max(1) as u64),
                    sent: AtomicU64::new(0),
                    errors: AtomicU64::new(0),
                }));
            }
        }
        *self.inner.endpoints.write() = eps;
        Ok(())
    }

    /// Replaces the external labels and alert relabelling (on config reload).
    pub fn set_labels(&self, external_labels: Labels, relabel: Option<RelabelFn>) {
        *self.inner.labels.write() = (external_labels, relabel);
    }

    pub fn endpoints(&self) -> Vec<Arc<Endpoint>> {
        self.inner.endpoints.read().clone()
    }

    /// Queues alerts: adds external labels (alert labels win), applies relabelling, drops
    /// alerts left without labels; beyond capacity the oldest queued alerts are dropped.
    pub fn send(&self, alerts: Vec<OutAlert>) {
        let o = &self.inner.opts;
        let (external_labels, relabel) = self.inner.labels.read().clone();
        let mut prepared: Vec<OutAlert> = Vec::with_capacity(alerts.len());
        for mut a in alerts {
            for l in external_labels.iter() {
                if a.labels.get(&l.name).is_none() {
                    a.labels.set(&l.name, &l.value);
                }
            }
            if let Some(r) = &relabel {
                match r(&a.labels) {
                    Some(l) if !l.is_empty() => a.labels = l,
                    _ => continue,
                }
            }
            prepared.push(a);
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

    /// Stops the sending thread (queued alerts are abandoned).
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::Relaxed);
        self.inner.wake.notify_all();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(inner: Arc<Inner>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        tracing::error!("notifier: cannot start its runtime; alerts will not be sent");
        return;
    };
    let client = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "notifier: cannot build HTTP client; alerts will not be sent");
            return;
        }
    };
    loop {
        let batch: Vec<OutAlert> = {
            let mut q = inner.queue.lock();
            while q.is_empty() && !inner.stop.load(Ordering::Relaxed) {
                inner.wake.wait_for(&mut q, Duration::from_secs(1));
            }
            if inner.stop.load(Ordering::Relaxed) {
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
                if post_with_retries(&client, ep, &body, inner.opts.attempts, &inner.stop).await {
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

async fn post_with_retries(
    client: &reqwest::Client,
    ep: &Endpoint,
    body: &str,
    attempts: usize,
    stop: &AtomicBool,
) -> bool {
    for attempt in 0..attempts.max(1) {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let mut req = client.post(&ep.url);
        if let Some(a) = &ep.auth {
            req = req.header("authorization", a);
        }
        let res = req
            .header("content-type", "application/json")
            .header("user-agent", concat!("Cairn/", env!("CARGO_PKG_VERSION")))
            .timeout(ep.timeout)
            .body(body.to_string())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => tracing::warn!(url = %ep.url, status = %r.status(), "Alertmanager rejected alerts"),
            Err(e) => tracing::warn!(url = %ep.url, error = %e, "sending alerts failed"),
        }
        tokio::time::sleep(Duration::from_millis(100u64 << attempt.min(6))).await;
    }
    false
}
