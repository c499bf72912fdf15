//! Remote-write 1.0 receiving: checks the request headers, decompresses the snappy block body
//! within the size limit, decodes `prometheus.WriteRequest`, and validates it. Validation covers
//! the whole request before anything is returned, so a rejected request has written nothing.
//! Does not append to storage or speak HTTP.
//!
//! Two paths with the same rules and the same errors: the receive path decodes with the
//! borrowing decoder of `decode.rs` into reused buffers and validates in place
//! ([`decompress_into`], [`validate_decoded`]); [`decode_write_request`] + [`write_batch`] decode
//! with prost into owned values and serve as the reference the fast path is tested against
//! (unit tests, proptest and the `remote_write` fuzz target compare the two).

use cairn_format::{Label, Labels, METRIC_NAME, Sample};
use prost::Message;

use super::RemoteError;
use super::decode::{DecodedWrite, LabelSpan, decode_write};
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
    check_snappy_body(body, content_encoding, limits)?;
    snap::raw::Decoder::new().decompress_vec(body).map_err(|e| RemoteError::InvalidSnappy(e.to_string()))
}

/// The checks before any decompression: the encoding is snappy (or unset), the body and its
/// declared decompressed length are within the limit. Returns the declared length.
fn check_snappy_body(
    body: &[u8],
    content_encoding: Option<&str>,
    limits: &IngestLimits,
) -> Result<usize, RemoteError> {
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
    Ok(declared)
}

/// [`decompress`] into a reused buffer: returns the decompressed length; the data is
/// `out[..len]`. `out` keeps its length between calls (only growth is zero-filled).
pub fn decompress_into(
    body: &[u8],
    content_encoding: Option<&str>,
    limits: &IngestLimits,
    out: &mut Vec<u8>,
) -> Result<usize, RemoteError> {
    let declared = check_snappy_body(body, content_encoding, limits)?;
    if out.len() < declared {
        out.resize(declared, 0);
    }
    snap::raw::Decoder::new()
        .decompress(body, &mut out[..declared])
        .map_err(|e| RemoteError::InvalidSnappy(e.to_string()))
}

/// The receive path up to validation, into owned values: header checks, [`decompress_into`],
/// [`decode_write`], [`validate_decoded`], [`decoded_to_batch`]. For tests and tools; the
/// server appends from the [`DecodedWrite`] directly.
pub fn decode_write_batch(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &IngestLimits,
) -> Result<WriteBatch, RemoteError> {
    check_content_type(content_type, "prometheus.WriteRequest")?;
    let mut raw = Vec::new();
    let n = decompress_into(body, content_encoding, limits, &mut raw)?;
    let raw = &raw[..n];
    let mut req = DecodedWrite::default();
    decode_write(raw, limits.series_per_request_max, &mut req)?;
    validate_decoded(raw, &mut req, limits)?;
    Ok(decoded_to_batch(raw, &req))
}

/// Validates every series of a decoded request in place, with the rules and errors of
/// [`write_batch`]: afterwards each series' labels are sorted by name, unique, valid UTF-8,
/// with empty values dropped (its `labels_end` shrinks), and include a valid `__name__`.
pub fn validate_decoded(
    body: &[u8],
    req: &mut DecodedWrite,
    limits: &IngestLimits,
) -> Result<(), RemoteError> {
    let DecodedWrite { series, labels, .. } = req;
    for (index, s) in series.iter_mut().enumerate() {
        let ls = labels.get_mut(s.labels_start as usize..s.labels_end as usize).unwrap_or(&mut []);
        let kept = validate_series_labels(body, index, ls, limits)?;
        s.labels_end = s.labels_start + kept as u32;
    }
    Ok(())
}

/// Validates one series' labels; moves the kept ones (sorted) to the front, returns how many.
fn validate_series_labels(
    body: &[u8],
    series: usize,
    ls: &mut [LabelSpan],
    limits: &IngestLimits,
) -> Result<usize, RemoteError> {
    if ls.len() > limits.labels_per_series_max {
        return Err(RemoteError::TooManyLabels {
            series,
            count: ls.len(),
            limit: limits.labels_per_series_max,
        });
    }
    let mut kept = 0usize;
    let mut sorted = true;
    for i in 0..ls.len() {
        let l = ls[i];
        let name = l.name.get(body);
        let value = l.value.get(body);
        // A valid name is ASCII, hence UTF-8: one scan for the common case.
        if name.len() > limits.label_name_length_max || !is_valid_label_name_bytes(name) {
            return Err(label_name_error(series, name, limits));
        }
        if value.len() > limits.label_value_length_max || std::str::from_utf8(value).is_err() {
            return Err(label_value_error(series, name, value, limits));
        }
        if value.is_empty() {
            continue;
        }
        if kept > 0 && ls[kept - 1].name.get(body) >= name {
            sorted = false;
        }
        ls[kept] = l;
        kept += 1;
    }
    let ls = &mut ls[..kept];
    if !sorted {
        // Stable, like `Labels::from_vec`: duplicates keep their request order.
        ls.sort_by(|a, b| a.name.get(body).cmp(b.name.get(body)));
        if let Some(w) = ls.windows(2).find(|w| w[0].name.get(body) == w[1].name.get(body)) {
            return Err(RemoteError::DuplicateLabelName { series, name: lossy(w[0].name.get(body)) });
        }
    }
    match ls.iter().find(|l| l.name.get(body) == METRIC_NAME.as_bytes()) {
        None => {
            let labels = Labels::from_sorted(
                ls.iter().map(|l| Label::new(lossy(l.name.get(body)), lossy(l.value.get(body)))).collect(),
            );
            return Err(RemoteError::MissingMetricName { series, labels: preview(&labels.to_string()) });
        }
        Some(l) => {
            if !is_valid_metric_name_bytes(l.value.get(body)) {
                let n = lossy(l.value.get(body));
                return Err(RemoteError::InvalidMetricName { series, name: preview(&n) });
            }
        }
    }
    Ok(kept)
}

/// Bytes already checked to be UTF-8, as a `String`.
fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The error for a label name that failed the fast check, in [`write_batch`]'s order of checks.
fn label_name_error(series: usize, name: &[u8], limits: &IngestLimits) -> RemoteError {
    let Ok(name) = std::str::from_utf8(name) else {
        return RemoteError::InvalidUtf8 { series, what: "label name" };
    };
    if name.len() > limits.label_name_length_max {
        return RemoteError::LabelNameTooLong {
            series,
            name: preview(name),
            length: name.len(),
            limit: limits.label_name_length_max,
        };
    }
    RemoteError::InvalidLabelName { series, name: preview(name) }
}

/// The error for a label value that failed the fast check (its name is valid).
fn label_value_error(series: usize, name: &[u8], value: &[u8], limits: &IngestLimits) -> RemoteError {
    if std::str::from_utf8(value).is_err() {
        return RemoteError::InvalidUtf8 { series, what: "label value" };
    }
    RemoteError::LabelValueTooLong {
        series,
        name: lossy(name),
        length: value.len(),
        limit: limits.label_value_length_max,
    }
}

/// Owned copy of a validated decoded request (series without samples left out).
pub fn decoded_to_batch(body: &[u8], req: &DecodedWrite) -> WriteBatch {
    let mut batch = WriteBatch {
        exemplars_ignored: req.exemplars,
        histograms_ignored: req.histograms,
        metadata_ignored: req.metadata,
        ..WriteBatch::default()
    };
    for s in &req.series {
        let samples = req.series_samples(s);
        if samples.is_empty() {
            continue;
        }
        batch.samples += samples.len();
        let labels = Labels::from_sorted(
            req.series_labels(s)
                .iter()
                .map(|l| Label::new(lossy(l.name.get(body)), lossy(l.value.get(body))))
                .collect(),
        );
        batch.series.push(SeriesSamples {
            labels,
            samples: samples.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
        });
    }
    batch
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

impl WriteBatch {
    /// Equal, comparing sample values bit by bit (so NaN equals the same NaN), as the two
    /// decoding paths must produce.
    pub fn same_bits(&self, o: &WriteBatch) -> bool {
        self.samples == o.samples
            && self.exemplars_ignored == o.exemplars_ignored
            && self.histograms_ignored == o.histograms_ignored
            && self.metadata_ignored == o.metadata_ignored
            && self.series.len() == o.series.len()
            && self.series.iter().zip(&o.series).all(|(a, b)| {
                a.labels == b.labels
                    && a.samples.len() == b.samples.len()
                    && a.samples.iter().zip(&b.samples).all(|(x, y)| x.same_bits(y))
            })
    }
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
    is_valid_label_name_bytes(n.as_bytes())
}

/// [`is_valid_label_name`] on bytes (a valid name is ASCII).
pub fn is_valid_label_name_bytes(b: &[u8]) -> bool {
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Legacy metric name syntax: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(n: &str) -> bool {
    is_valid_metric_name_bytes(n.as_bytes())
}

/// [`is_valid_metric_name`] on bytes.
pub fn is_valid_metric_name_bytes(b: &[u8]) -> bool {
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
