//! Content negotiation for scrapes: the Accept header Cairn sends and the parser chosen from
//! the response's Content-Type, with Prometheus 3's `fallback_scrape_protocol` rules.
//! Does not perform HTTP (the scrape loop does).

use std::fmt;
use std::str::FromStr;

use super::Format;

/// A scrape protocol name as written in `scrape_protocols` / `fallback_scrape_protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScrapeProtocol {
    PrometheusProto,
    OpenMetricsText0_0_1,
    OpenMetricsText1_0_0,
    PrometheusText0_0_4,
    PrometheusText1_0_0,
}

impl ScrapeProtocol {
    /// Prometheus 3's default `scrape_protocols` order (protobuf is not requested).
    pub const DEFAULT: [ScrapeProtocol; 4] = [
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::PrometheusText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::OpenMetricsText0_0_1 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "OpenMetricsText1.0.0",
            ScrapeProtocol::PrometheusText0_0_4 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "PrometheusText1.0.0",
        }
    }

    fn media_range(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => {
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            }
            ScrapeProtocol::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "application/openmetrics-text;version=1.0.0",
            ScrapeProtocol::PrometheusText0_0_4 => "text/plain;version=0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "text/plain;version=1.0.0",
        }
    }

    /// The text parser for this protocol; `None` for protobuf, which Cairn does not parse.
    pub fn format(self) -> Option<Format> {
        match self {
            ScrapeProtocol::PrometheusProto => None,
            ScrapeProtocol::OpenMetricsText0_0_1 | ScrapeProtocol::OpenMetricsText1_0_0 => {
                Some(Format::OpenMetrics)
            }
            ScrapeProtocol::PrometheusText0_0_4 | ScrapeProtocol::PrometheusText1_0_0 => {
                Some(Format::PrometheusText)
            }
        }
    }
}

impl fmt::Display for ScrapeProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScrapeProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "PrometheusProto" => ScrapeProtocol::PrometheusProto,
            "OpenMetricsText0.0.1" => ScrapeProtocol::OpenMetricsText0_0_1,
            "OpenMetricsText1.0.0" => ScrapeProtocol::OpenMetricsText1_0_0,
            "PrometheusText0.0.4" => ScrapeProtocol::PrometheusText0_0_4,
            "PrometheusText1.0.0" => ScrapeProtocol::PrometheusText1_0_0,
            other => {
                return Err(format!(
                    "unknown scrape protocol {other:?}, supported: PrometheusProto, OpenMetricsText0.0.1, \
                     OpenMetricsText1.0.0, PrometheusText0.0.4, PrometheusText1.0.0"
                ));
            }
        })
    }
}

/// The Accept header for a list of protocols, weighted in order like Prometheus 3
/// (`q=0.6` for the first of the five known protocols, then decreasing, then `*/*`). Cairn
/// validates metric names the legacy way, so the 1.0.0 text formats ask for `escaping=underscores`.
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let mut weight = 6usize;
    let mut parts = Vec::with_capacity(protocols.len() + 1);
    for p in protocols {
        let mut v = p.media_range().to_string();
        if matches!(p, ScrapeProtocol::PrometheusText1_0_0 | ScrapeProtocol::OpenMetricsText1_0_0) {
            v.push_str(";escaping=underscores");
        }
        v.push_str(&format!(";q=0.{weight}"));
        weight = weight.saturating_sub(1).max(1);
        parts.push(v);
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// Why no parser could be chosen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    #[error(
        "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
    )]
    Blank,
    #[error("cannot parse Content-Type {0:?} and no fallback_scrape_protocol for target")]
    Unparsable(String),
    #[error("received unsupported Content-Type {0:?} and no fallback_scrape_protocol specified for target")]
    Unsupported(String),
    #[error(
        "received protobuf exposition (Content-Type {0:?}), which Cairn does not parse; remove PrometheusProto from scrape_protocols"
    )]
    Protobuf(String),
}

/// The outcome of [`select_format`]: the parser to use, and a warning when the fallback
/// protocol had to be used (Prometheus logs it and goes on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatChoice {
    pub format: Format,
    pub warning: Option<String>,
}

/// Chooses the parser from a scrape response's Content-Type. `text/plain` (any version) is the
/// Prometheus text format; `application/openmetrics-text` is OpenMetrics. A blank, unparsable
/// or unknown type uses `fallback` if given, otherwise fails, as Prometheus 3 does.
pub fn select_format(
    content_type: Option<&str>,
    fallback: Option<ScrapeProtocol>,
) -> Result<FormatChoice, ContentTypeError> {
    let fallback_format = |err: ContentTypeError, ct: &str| -> Result<FormatChoice, ContentTypeError> {
        match fallback {
            None => Err(err),
            Some(p) => match p.format() {
                Some(format) => Ok(FormatChoice {
                    format,
                    warning: Some(match err {
                        ContentTypeError::Blank => {
                            format!(
                                "non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol {p:?}",
                                p = p.as_str()
                            )
                        }
                        _ => format!(
                            "received unsupported Content-Type {ct:?}, using fallback_scrape_protocol {:?}",
                            p.as_str()
                        ),
                    }),
                }),
                None => Err(ContentTypeError::Protobuf(ct.to_string())),
            },
        }
    };
    let ct = match content_type.map(str::trim) {
        None | Some("") => return fallback_format(ContentTypeError::Blank, ""),
        Some(ct) => ct,
    };
    let media = match media_type(ct) {
        Some(m) => m,
        None => return fallback_format(ContentTypeError::Unparsable(ct.to_string()), ct),
    };
    match media.as_str() {
        "text/plain" => Ok(FormatChoice { format: Format::PrometheusText, warning: None }),
        "application/openmetrics-text" => Ok(FormatChoice { format: Format::OpenMetrics, warning: None }),
        "application/vnd.google.protobuf" => Err(ContentTypeError::Protobuf(ct.to_string())),
        _ => fallback_format(ContentTypeError::Unsupported(ct.to_string()), ct),
    }
}

/// `type/subtype`, lower-cased, if the header is well formed enough to have one.
fn media_type(ct: &str) -> Option<String> {
    let main = ct.split(';').next()?.trim();
    let (ty, sub) = main.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !token(ty) || !token(sub) {
        return None;
    }
    // Parameters must be `name=value` pairs.
    for p in ct.split(';').skip(1) {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (k, _) = p.split_once('=')?;
        if !token(k.trim()) {
            return None;
        }
    }
    Some(main.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_by_media_type() {
        let t = select_format(Some("text/plain; version=0.0.4; charset=utf-8"), None).map(|c| c.format);
        assert_eq!(t, Ok(Format::PrometheusText));
        let o = select_format(Some("application/openmetrics-text; version=1.0.0; charset=utf-8"), None);
        assert_eq!(o.map(|c| c.format), Ok(Format::OpenMetrics));
        assert_eq!(select_format(Some("Text/Plain"), None).map(|c| c.format), Ok(Format::PrometheusText));
    }

    #[test]
    fn blank_and_unknown_need_a_fallback() {
        assert_eq!(select_format(None, None), Err(ContentTypeError::Blank));
        assert_eq!(
            select_format(Some("application/json"), None),
            Err(ContentTypeError::Unsupported("application/json".into()))
        );
        assert!(matches!(select_format(Some("garbage"), None), Err(ContentTypeError::Unparsable(_))));
        let c = select_format(Some("application/json"), Some(ScrapeProtocol::PrometheusText0_0_4));
        let c = c.as_ref().map(|c| (c.format, c.warning.is_some()));
        assert_eq!(c, Ok((Format::PrometheusText, true)));
        let c = select_format(None, Some(ScrapeProtocol::OpenMetricsText1_0_0)).map(|c| c.format);
        assert_eq!(c, Ok(Format::OpenMetrics));
    }

    #[test]
    fn protobuf_is_refused_with_a_reason() {
        let e = select_format(
            Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily"),
            None,
        );
        assert!(matches!(e, Err(ContentTypeError::Protobuf(_))));
        assert!(e.unwrap_err().to_string().contains("PrometheusProto"));
    }

    #[test]
    fn accept_header_like_prometheus() {
        assert_eq!(
            accept_header(&ScrapeProtocol::DEFAULT),
            "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,\
             application/openmetrics-text;version=0.0.1;q=0.5,\
             text/plain;version=1.0.0;escaping=underscores;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
        assert_eq!(ScrapeProtocol::from_str("PrometheusText0.0.4"), Ok(ScrapeProtocol::PrometheusText0_0_4));
        assert!(ScrapeProtocol::from_str("json").is_err());
    }
}
