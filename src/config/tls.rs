//! `tls_config` applied to an HTTP client: extra CA certificates, a client certificate,
//! `insecure_skip_verify`, TLS version bounds, and `server_name` (the name the server's
//! certificate is checked against instead of the URL's host). Without `server_name` reqwest's
//! own rustls setup is used; with it, a rustls client config whose verifier checks the
//! certificate chain against the given CA and the configured name. Opens no connection.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::http::{TlsConfig, read_file, tls_version};

/// PEM bytes of an inline value or a file.
fn pem(inline: &Option<String>, file: &Option<String>, base: &Path) -> Result<Option<Vec<u8>>, String> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(f)) => read_file(base, f).map(Some),
        (None, None) => Ok(None),
    }
}

/// Applies `tls` to a client builder.
pub fn apply(
    mut b: reqwest::ClientBuilder,
    tls: &TlsConfig,
    base: &Path,
) -> Result<reqwest::ClientBuilder, String> {
    let ca = pem(&tls.ca, &tls.ca_file, base)?;
    let cert = pem(&tls.cert, &tls.cert_file, base)?;
    let key = pem(&tls.key, &tls.key_file, base)?;
    if let Some(name) = tls.server_name.as_deref().filter(|n| !n.is_empty())
        && !tls.insecure_skip_verify
    {
        let cfg = named_config(name, ca.as_deref(), cert.as_deref(), key.as_deref(), tls)?;
        return Ok(b.tls_backend_preconfigured(cfg));
    }
    if let Some(ca) = &ca {
        let certs =
            reqwest::Certificate::from_pem_bundle(ca).map_err(|e| format!("tls_config: bad CA: {e}"))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if let (Some(cert), Some(key)) = (&cert, &key) {
        let mut both = cert.clone();
        both.push(b'\n');
        both.extend_from_slice(key);
        let id = reqwest::Identity::from_pem(&both)
            .map_err(|e| format!("tls_config: bad client certificate or key: {e}"))?;
        b = b.identity(id);
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(v) = &tls.min_version {
        b = b.tls_version_min(tls_version(v)?);
    }
    if let Some(v) = &tls.max_version {
        b = b.tls_version_max(tls_version(v)?);
    }
    Ok(b)
}

/// A rustls client config that verifies against `name` (and the given CA, which
/// `server_name` needs in Cairn: there is no system root store behind this path).
fn named_config(
    name: &str,
    ca: Option<&[u8]>,
    cert: Option<&[u8]>,
    key: Option<&[u8]>,
    tls: &TlsConfig,
) -> Result<rustls::ClientConfig, String> {
    let Some(ca) = ca else {
        return Err("tls_config: server_name needs ca or ca_file in Cairn".into());
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca) {
        let c = c.map_err(|e| format!("tls_config: bad CA: {e}"))?;
        roots.add(c).map_err(|e| format!("tls_config: bad CA: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("tls_config: {e}"))?;
    let name = ServerName::try_from(name.to_string())
        .map_err(|e| format!("tls_config: server_name {name:?}: {e}"))?;
    let verifier = Arc::new(NamedVerifier { inner, name });
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    let lo = tls.min_version.as_deref().map(tls_version).transpose()?;
    let hi = tls.max_version.as_deref().map(tls_version).transpose()?;
    for (v, p) in [
        (reqwest::tls::Version::TLS_1_2, &rustls::version::TLS12),
        (reqwest::tls::Version::TLS_1_3, &rustls::version::TLS13),
    ] {
        if lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi) {
            versions.push(p);
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_config: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("tls_config: bad client certificate: {e}"))?;
            let key =
                PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("tls_config: bad client key: {e}"))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("tls_config: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// Checks the chain with webpki, but against the configured name.
#[derive(Debug)]
struct NamedVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
