//! Remote-write 1.0 receiving: checks the request headers, decompresses the snappy block body
//! within the size limit, decodes `prometheus.WriteRequest`, and validates and converts it to
//! label sets and samples. Validation covers the whole request before anything is returned, so
//! a rejected request has written nothing. Does not append to storage or speak HTTP.

use cairn_format::{Label, Labels, METRIC_NAME, Sample};
use prost::Message;

use super::RemoteError;
use super::proto::WriteRequest;
use crate::ingest::limits::IngestLimits;

/// Content-Type of remote-write 1.0 bodies.
pub const WRITE_CONTENT_TYPE: &str = "application/x-protobuf";
/// The `proto` parameter of a remote-write 2.0 request, which Cairn refuses.
const RW2_PROTO: &str = "io.prometheus.write.v2.Request";

/// Checks headers and limits, decompresses and decodes a remote-write 1.0 body. A missing
/// Content-Type or Content-Encoding is taken as the 1.0 defaults (protobuf, snappy), as
/// Prometheus does for old senders.
pub fn decode_write_request(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &IngestLimits,
) -> Result<WriteRequest, RemoteError> {
    check_content_type(content_type, "prometheus.WriteRequest")?;
    let raw = decompress(body, content_encoding, limits)?;
    WriteRequest::decode(raw.as_slice()).map_err(|e| RemoteError::InvalidProtobuf(e.to_string()))
}

pub(crate) fn check_content_type(content_type: Option<&str>, want_proto: &str) -> Result<(), RemoteError> {
    let Some(ct) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(());
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if media != WRITE_CONTENT_TYPE {
        return Err(RemoteError::WrongContentType(ct.to_string()));
    }
    for p in parts {
        let Some((k, v)) = p.split_once('=') else { continue };
        if k.trim().eq_ignore_ascii_case("proto") {
            let v = v.trim().trim_matches('"');
            if v == RW2_PROTO {
                return Err(RemoteError::RemoteWrite2Unsupported);
            }
            if v != want_proto {
                return Err(RemoteError::WrongContentType(ct.to_string()));
            }
        }
    }
    Ok(())
}

/// Snappy block decompression with the declared length checked against the limit first.
pub(crate) fn decompress(
    body: &[u8],
    content_encoding: Option<&str>,
    limits: &IngestLimits,
) -> Result<Vec<u8>, RemoteError> {
    match content_encoding.map(str::trim) {
        None | Some("") => {}
        Some(e) if e.eq_ignore_ascii_case("snappy") => {}
        Some(e) => return Err(RemoteError::UnsupportedEncoding(e.to_string())),
    }
    let limit = limits.body_size_bytes_max;
    if body.len() > limit {
        return Err(RemoteError::BodyTooLarge { size: body.len(), limit });
    }
    let declared = snap::raw::decompress_len(body).map_err(|e| RemoteError::InvalidSnappy(e.to_string()))?;
    if declared > limit {
        return Err(RemoteError::DecompressedTooLarge { size: declared, limit });
    }
    snap::raw::Decoder::new().decompress_vec(body).map_err(|e| RemoteError::InvalidSnappy(e.to_string()))
}

/// One series of a write request, validated: labels sorted, unique, non-empty values.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSamples {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// A validated write request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteBatch {
    /// Series that carry float samples (series with none are left out).
    pub series: Vec<SeriesSamples>,
    pub samples: usize,
    /// Exemplars received and dropped (Cairn does not store exemplars).
    pub exemplars_ignored: usize,
    /// Native histogram samples received and dropped (not supported yet).
    pub histograms_ignored: usize,
    /// Metadata entries received and dropped.
    pub metadata_ignored: usize,
}

/// Validates every series of `req` against Prometheus's rules and `limits`; the first failure
/// rejects the whole request.
pub fn write_batch(req: WriteRequest, limits: &IngestLimits) -> Result<WriteBatch, RemoteError> {
    if req.timeseries.len() > limits.series_per_request_max {
        return Err(RemoteError::TooManySeries {
            count: req.timeseries.len(),
            limit: limits.series_per_request_max,
        });
    }
    let mut batch = WriteBatch { metadata_ignored: req.metadata.len(), ..WriteBatch::default() };
    batch.series.reserve(req.timeseries.len());
    for (index, ts) in req.timeseries.into_iter().enumerate() {
        batch.exemplars_ignored += ts.exemplars.len();
        batch.histograms_ignored += ts.histograms.len();
        let labels = validate_labels(index, ts.labels, limits)?;
        if ts.samples.is_empty() {
            continue;
        }
        batch.samples += ts.samples.len();
        let samples = ts.samples.into_iter().map(|s| Sample::new(s.timestamp, s.value)).collect();
        batch.series.push(SeriesSamples { labels, samples });
    }
    Ok(batch)
}

/// Legacy (pre-UTF-8) label name syntax: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Legacy metric name syntax: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':')
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':')
}

fn validate_labels(
    series: usize,
    raw: Vec<super::proto::Label>,
    limits: &IngestLimits,
) -> Result<Labels, RemoteError> {
    if raw.len() > limits.labels_per_series_max {
        return Err(RemoteError::TooManyLabels {
            series,
            count: raw.len(),
            limit: limits.labels_per_series_max,
        });
    }
    let mut out = Vec::with_capacity(raw.len());
    for l in raw {
        let name =
            String::from_utf8(l.name).map_err(|_| RemoteError::InvalidUtf8 { series, what: "label name" })?;
        if name.len() > limits.label_name_length_max {
            return Err(RemoteError::LabelNameTooLong {
                series,
                name: preview(&name),
                length: name.len(),
                limit: limits.label_name_length_max,
            });
        }
        if !is_valid_label_name(&name) {
            return Err(RemoteError::InvalidLabelName { series, name: preview(&name) });
        }
        let value = String::from_utf8(l.value)
            .map_err(|_| RemoteError::InvalidUtf8 { series, what: "label value" })?;
        if value.len() > limits.label_value_length_max {
            return Err(RemoteError::LabelValueTooLong {
                series,
                name,
                length: value.len(),
                limit: limits.label_value_length_max,
            });
        }
        if value.is_empty() {
            continue;
        }
        out.push(Label { name, value });
    }
    let labels = Labels::from_vec(out);
    if let Some(w) = labels.as_slice().windows(2).find(|w| w[0].name == w[1].name) {
        return Err(RemoteError::DuplicateLabelName { series, name: w[0].name.clone() });
    }
    match labels.get(METRIC_NAME) {
        None => return Err(RemoteError::MissingMetricName { series, labels: preview(&labels.to_string()) }),
        Some(n) if !is_valid_metric_name(n) => {
            return Err(RemoteError::InvalidMetricName { series, name: preview(n) });
        }
        Some(_) => {}
    }
    Ok(labels)
}

/// At most 200 characters of `s`, for error messages.
pub(crate) fn preview(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let mut p: String = s.chars().take(MAX).collect();
    p.push('…');
    p
}
