//! Fetching one target over HTTP(S) as Prometheus does: the Accept header from
//! `scrape_protocols`, gzip, `X-Prometheus-Scrape-Timeout-Seconds`, the scrape timeout, the
//! body size limit (on the decompressed body, enforced while reading), basic auth /
//! authorization / bearer token (credential files re-read at every scrape), and TLS (CA file,
//! client certificate, `insecure_skip_verify`). Does not parse the body.
//!
//! Not supported yet: `tls_config.server_name` (reqwest offers no SNI override; the host of
//! the URL is used), proxies, OAuth2.

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};

use crate::config::ScrapeConfig;
use crate::ingest::exposition::accept_header;

/// Why a fetch failed; the Display text becomes the target's `lastError`.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("reading {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("building HTTP client: {0}")]
    Client(String),
    #[error("{0}")]
    Request(String),
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("body size limit exceeded (limit: {0} bytes)")]
    BodyTooLarge(u64),
    #[error("context deadline exceeded (scrape timeout {0:?})")]
    Timeout(Duration),
}

/// A fetched body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// Time from sending the request to the end of the body.
    pub duration: Duration,
}

enum Auth {
    None,
    Basic {
        username: String,
        username_file: Option<String>,
        password: Option<String>,
        password_file: Option<String>,
    },
    Header {
        kind: String,
        credentials: Option<String>,
        credentials_file: Option<String>,
    },
}

/// An HTTP client configured for one scrape job.
pub struct HttpScraper {
    client: reqwest::Client,
    accept: String,
    auth: Auth,
    body_size_limit: u64,
}

fn read_file(path: &str) -> Result<Vec<u8>, FetchError> {
    std::fs::read(path).map_err(|source| FetchError::File { path: path.to_string(), source })
}

fn read_secret(path: &str) -> Result<String, FetchError> {
    let bytes = read_file(path)?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_string())
}

impl HttpScraper {
    /// Builds the client; reads the TLS files now (credential files are read per scrape).
    pub fn new(cfg: &ScrapeConfig) -> Result<HttpScraper, FetchError> {
        // reqwest is built without a default crypto provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b =
            reqwest::Client::builder().gzip(cfg.enable_compression).redirect(if cfg.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            });
        let tls = &cfg.tls_config;
        if let Some(ca) = &tls.ca_file {
            let pem = read_file(ca)?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| FetchError::Tls(format!("{ca}: {e}")))?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        match (&tls.cert_file, &tls.key_file) {
            (Some(cert), Some(key)) => {
                let mut pem = read_file(cert)?;
                pem.push(b'\n');
                pem.extend_from_slice(&read_file(key)?);
                let id =
                    reqwest::Identity::from_pem(&pem).map_err(|e| FetchError::Tls(format!("{cert}: {e}")))?;
                b = b.identity(id);
            }
            (None, None) => {}
            _ => return Err(FetchError::Tls("cert_file and key_file must be set together".into())),
        }
        if tls.insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        let client = b.build().map_err(|e| FetchError::Client(e.to_string()))?;
        let auth = if let Some(ba) = &cfg.basic_auth {
            Auth::Basic {
                username: ba.username.clone(),
                username_file: ba.username_file.clone(),
                password: ba.password.clone(),
                password_file: ba.password_file.clone(),
            }
        } else if let Some(a) = &cfg.authorization {
            Auth::Header {
                kind: a.kind.clone(),
                credentials: a.credentials.clone(),
                credentials_file: a.credentials_file.clone(),
            }
        } else if cfg.bearer_token.is_some() || cfg.bearer_token_file.is_some() {
            Auth::Header {
                kind: "Bearer".into(),
                credentials: cfg.bearer_token.clone(),
                credentials_file: cfg.bearer_token_file.clone(),
            }
        } else {
            Auth::None
        };
        Ok(HttpScraper {
            client,
            accept: accept_header(&cfg.protocols),
            auth,
            body_size_limit: cfg.body_size_limit.0,
        })
    }

    fn headers(&self, timeout: Duration) -> Result<HeaderMap, FetchError> {
        let mut h = HeaderMap::new();
        let bad = |e: reqwest::header::InvalidHeaderValue| {
            FetchError::Request(format!("invalid header value: {e}"))
        };
        h.insert(ACCEPT, HeaderValue::from_str(&self.accept).map_err(bad)?);
        h.insert(USER_AGENT, HeaderValue::from_static(concat!("Cairn/", env!("CARGO_PKG_VERSION"))));
        h.insert(
            "X-Prometheus-Scrape-Timeout-Seconds",
            HeaderValue::from_str(&format!("{}", timeout.as_secs_f64())).map_err(bad)?,
        );
        match &self.auth {
            Auth::None | Auth::Basic { .. } => {}
            Auth::Header { kind, credentials, credentials_file } => {
                let cred = match (credentials, credentials_file) {
                    (_, Some(f)) => read_secret(f)?,
                    (Some(c), None) => c.clone(),
                    (None, None) => String::new(),
                };
                let mut v = HeaderValue::from_str(&format!("{kind} {cred}")).map_err(bad)?;
                v.set_sensitive(true);
                h.insert(AUTHORIZATION, v);
            }
        }
        Ok(h)
    }

    /// Fetches `url` within `timeout`.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, FetchError> {
        let start = Instant::now();
        let mut req = self.client.get(url).headers(self.headers(timeout)?).timeout(timeout);
        if let Auth::Basic { username, username_file, password, password_file } = &self.auth {
            let user = match username_file {
                Some(f) => read_secret(f)?,
                None => username.clone(),
            };
            let pass = match (password, password_file) {
                (_, Some(f)) => Some(read_secret(f)?),
                (Some(p), None) => Some(p.clone()),
                (None, None) => None,
            };
            req = req.basic_auth(user, pass);
        }
        let work = async {
            let mut resp = req.send().await.map_err(|e| FetchError::Request(error_chain(&e)))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(FetchError::Status(status.to_string()));
            }
            let content_type =
                resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| FetchError::Request(error_chain(&e)))? {
                if self.body_size_limit > 0 && (body.len() + chunk.len()) as u64 > self.body_size_limit {
                    return Err(FetchError::BodyTooLarge(self.body_size_limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((body, content_type))
        };
        match tokio::time::timeout(timeout, work).await {
            Err(_) => Err(FetchError::Timeout(timeout)),
            Ok(Err(FetchError::Request(_))) if start.elapsed() >= timeout => {
                Err(FetchError::Timeout(timeout))
            }
            Ok(r) => r.map(|(body, content_type)| Fetched { body, content_type, duration: start.elapsed() }),
        }
    }
}

/// An error with its causes, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
