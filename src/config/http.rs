//! The HTTP client settings Prometheus shares between scrape jobs and Alertmanager sets
//! (`basic_auth`, `authorization`, `bearer_token(_file)`, `tls_config`, `follow_redirects`,
//! `enable_http2`), written inline in both (declared once by `with_http_client!`), their validation, and turning
//! them into a `reqwest::ClientBuilder` and an `Authorization` header value. Secret and
//! certificate files named relatively resolve against the configuration file's directory, as
//! in Prometheus. Sends no request itself.

use std::path::Path;

use serde::Deserialize;

/// The `follow_redirects` / `enable_http2` default.
pub(crate) fn yes() -> bool {
    true
}

/// Declares a configuration struct that carries Prometheus's HTTP client keys inline
/// (`basic_auth`, `authorization`, `bearer_token`, `bearer_token_file`, `tls_config`,
/// `follow_redirects`, `enable_http2`) after its own fields, plus an `http()` method returning
/// them as an [`HttpClientConfig`]. This is the one place those keys are declared. (Not
/// `#[serde(flatten)]`: that buffers values, so `password: 1234` or `password: yes` would no
/// longer read as strings, and unknown keys would lose their line.)
macro_rules! with_http_client {
    (
        $(#[$sm:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$sm])*
        pub struct $name {
            $( $(#[$fm])* pub $field : $ty, )*
            #[serde(default)]
            pub basic_auth: Option<$crate::config::http::BasicAuth>,
            #[serde(default)]
            pub authorization: Option<$crate::config::http::Authorization>,
            #[serde(default)]
            pub bearer_token: Option<String>,
            #[serde(default)]
            pub bearer_token_file: Option<String>,
            #[serde(default, deserialize_with = "crate::config::nullable")]
            pub tls_config: $crate::config::http::TlsConfig,
            #[serde(default = "crate::config::http::yes")]
            pub follow_redirects: bool,
            /// Accepted; the client negotiates HTTP/1.1 either way.
            #[serde(default = "crate::config::http::yes")]
            pub enable_http2: bool,
        }

        impl $name {
            /// The HTTP client settings written inline in this entry.
            pub fn http(&self) -> $crate::config::http::HttpClientConfig {
                $crate::config::http::HttpClientConfig {
                    basic_auth: self.basic_auth.clone(),
                    authorization: self.authorization.clone(),
                    bearer_token: self.bearer_token.clone(),
                    bearer_token_file: self.bearer_token_file.clone(),
                    tls_config: self.tls_config.clone(),
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2,
                }
            }
        }
    };
}
pub(crate) use with_http_client;

with_http_client! {
    /// The client part of a scrape config or an Alertmanager config.
    #[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HttpClientConfig {}
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

/// `basic_auth`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
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

fn bearer() -> String {
    "Bearer".into()
}

/// `authorization`: an Authorization header with `type` (default Bearer) and credentials.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(default = "bearer", rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub credentials: Option<String>,
    #[serde(default)]
    pub credentials_file: Option<String>,
}

/// `tls_config`. PEM given inline (`ca`, `cert`, `key`) or by file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub ca: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// `TLS10` .. `TLS13`; Cairn's TLS stack speaks 1.2 and 1.3 only.
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
}

impl HttpClientConfig {
    /// Prometheus's checks on the combination of settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err("at most one of bearer_token & bearer_token_file must be configured".into());
        }
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if self.basic_auth.is_some() && (bearer || self.authorization.is_some()) {
            return Err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                    .into(),
            );
        }
        if let Some(b) = &self.basic_auth {
            if b.password.is_some() && b.password_file.is_some() {
                return Err("at most one of basic_auth password & password_file must be configured".into());
            }
            if !b.username.is_empty() && b.username_file.is_some() {
                return Err("at most one of basic_auth username & username_file must be configured".into());
            }
        }
        if let Some(a) = &self.authorization {
            if bearer {
                return Err("authorization is not compatible with bearer_token & bearer_token_file".into());
            }
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err(
                    "at most one of authorization credentials & credentials_file must be configured".into()
                );
            }
            if a.kind.eq_ignore_ascii_case("basic") {
                return Err(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead".into()
                );
            }
        }
        let t = &self.tls_config;
        for (inline, file, what) in
            [(&t.ca, &t.ca_file, "ca"), (&t.cert, &t.cert_file, "cert"), (&t.key, &t.key_file, "key")]
        {
            if inline.is_some() && file.is_some() {
                return Err(format!("tls_config: at most one of {what} and {what}_file must be configured"));
            }
        }
        let has_cert = t.cert.is_some() || t.cert_file.is_some();
        let has_key = t.key.is_some() || t.key_file.is_some();
        if has_cert != has_key {
            return Err(if has_cert {
                "tls_config: exactly one of key or key_file must be configured when a client certificate is configured".into()
            } else {
                "tls_config: exactly one of cert or cert_file must be configured when a client key is configured".into()
            });
        }
        for v in [&t.min_version, &t.max_version].into_iter().flatten() {
            tls_version(v)?;
        }
        Ok(())
    }

    /// The `Authorization` header value from basic_auth, authorization or bearer_token(_file),
    /// reading `*_file` secrets now (relative to `base`, trailing newline removed).
    pub fn authorization_header(&self, base: &Path) -> Result<Option<String>, String> {
        if let Some(b) = &self.basic_auth {
            let user = match &b.username_file {
                Some(f) => read_secret(base, f)?,
                None => b.username.clone(),
            };
            let pass = match (&b.password, &b.password_file) {
                (_, Some(f)) => read_secret(base, f)?,
                (Some(p), None) => p.clone(),
                (None, None) => String::new(),
            };
            return Ok(Some(format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()))));
        }
        if let Some(a) = &self.authorization {
            let cred = match (&a.credentials, &a.credentials_file) {
                (_, Some(f)) => read_secret(base, f)?,
                (Some(c), None) => c.clone(),
                (None, None) => String::new(),
            };
            return Ok(Some(format!("{} {cred}", a.kind)));
        }
        if let Some(f) = &self.bearer_token_file {
            return Ok(Some(format!("Bearer {}", read_secret(base, f)?)));
        }
        Ok(self.bearer_token.as_ref().map(|t| format!("Bearer {t}")))
    }

    /// A client builder with redirects and TLS applied; the caller adds timeouts and builds.
    pub fn client_builder(&self, base: &Path) -> Result<reqwest::ClientBuilder, String> {
        let b = reqwest::Client::builder()
            .redirect(if self.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .no_proxy();
        super::tls::apply(b, &self.tls_config, base)
    }
}

/// Reads a file named in the configuration (relative to `base`).
pub(crate) fn read_file(base: &Path, file: &str) -> Result<Vec<u8>, String> {
    let p = base.join(file);
    std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

fn read_secret(base: &Path, file: &str) -> Result<String, String> {
    let bytes = read_file(base, file)?;
    let s = String::from_utf8(bytes).map_err(|_| format!("{file}: secret is not UTF-8"))?;
    Ok(s.trim().to_string())
}

/// A `min_version` / `max_version` value.
pub(crate) fn tls_version(v: &str) -> Result<reqwest::tls::Version, String> {
    match v {
        "TLS10" => Ok(reqwest::tls::Version::TLS_1_0),
        "TLS11" => Ok(reqwest::tls::Version::TLS_1_1),
        "TLS12" => Ok(reqwest::tls::Version::TLS_1_2),
        "TLS13" => Ok(reqwest::tls::Version::TLS_1_3),
        other => Err(format!("unknown TLS version: {other}")),
    }
}

/// Standard base64 with padding (for basic auth).
pub(crate) fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn headers_from_each_kind_of_auth() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("tok"), "abc\n").unwrap();
        let mut c = HttpClientConfig {
            basic_auth: Some(BasicAuth {
                username: "cairn".into(),
                password_file: Some("pw".into()),
                ..BasicAuth::default()
            }),
            ..HttpClientConfig::default()
        };
        assert_eq!(c.authorization_header(dir.path()).unwrap().as_deref(), Some("Basic Y2Fpcm46czNjcmV0"));
        c.basic_auth = None;
        c.authorization = Some(Authorization {
            kind: "Token".into(),
            credentials: None,
            credentials_file: Some("tok".into()),
        });
        assert_eq!(c.authorization_header(dir.path()).unwrap().as_deref(), Some("Token abc"));
        c.authorization = None;
        c.bearer_token = Some("xyz".into());
        assert_eq!(c.authorization_header(dir.path()).unwrap().as_deref(), Some("Bearer xyz"));
        c.bearer_token = None;
        c.bearer_token_file = Some("missing".into());
        let e = c.authorization_header(dir.path()).unwrap_err();
        assert!(e.contains("missing"), "{e}");
    }

    #[test]
    fn tls_checks() {
        let mut c = HttpClientConfig::default();
        c.tls_config.cert_file = Some("c.pem".into());
        assert!(c.validate().unwrap_err().contains("key or key_file"));
        c.tls_config.key = Some("k".into());
        assert!(c.validate().is_ok());
        c.tls_config.min_version = Some("TLS14".into());
        assert!(c.validate().unwrap_err().contains("unknown TLS version"));
    }
}
