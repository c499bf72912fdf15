//! Appending a validated remote-write request to the database: every valid sample is appended
//! and committed; samples the database refuses (out of order, conflicting duplicate, too old,
//! a series limit) are counted, and the first refusal is kept for the response. Owns no HTTP
//! (status mapping is `api::remote`) and no decoding (`write.rs`).

use super::RemoteError;
use super::decode::{DecodedWrite, decode_write};
use super::write::{WriteBatch, check_content_type, decompress_into, validate_decoded};
use crate::ingest::limits::IngestLimits;
use crate::storage::{AppendBuffers, AppendError, Db};

/// Outcome of appending one write request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    pub accepted: usize,
    pub rejected: usize,
    /// Text of the first refusal, if any.
    pub first_error: Option<String>,
    /// Series not created because `max_active_series` was reached.
    pub active_series_limit_hits: usize,
    /// Series not created because `new_series_per_second_max` was reached.
    pub new_series_rate_limit_hits: usize,
}

/// Why nothing of a request could be acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendFailure {
    /// The database is shutting down (503: the sender retries).
    #[error("database is shutting down")]
    Closed,
    /// Storage failed (500).
    #[error("{0}")]
    Storage(String),
}

/// Buffers reused from one request to the next (one per worker thread): the decompressed
/// body, the decoded request and the appender's buffers.
#[derive(Default)]
pub struct WriteBuffers {
    raw: Vec<u8>,
    decoded: DecodedWrite,
    append: AppendBuffers,
}

/// Buffers larger than this are freed after a request rather than kept for the next one.
const KEEP_BYTES_MAX: usize = 8 << 20;

impl WriteBuffers {
    /// Frees buffers an unusually large request grew, so an idle worker does not hold them.
    fn trim(&mut self) {
        if self.raw.capacity() > KEEP_BYTES_MAX {
            self.raw = Vec::new();
        }
        if self.decoded.samples.capacity() * 16 > KEEP_BYTES_MAX
            || self.decoded.labels.capacity() * 16 > KEEP_BYTES_MAX
        {
            self.decoded = DecodedWrite::default();
        }
    }
}

/// Why a write request was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The request is malformed or over a limit: nothing was appended.
    #[error(transparent)]
    Request(#[from] RemoteError),
    /// Storage refused the whole request.
    #[error(transparent)]
    Append(#[from] AppendFailure),
}

/// The whole receive path of one remote-write 1.0 request: header checks, decompression,
/// decoding and validation (a malformed request writes nothing), then appending.
pub fn ingest_write_request(
    db: &Db,
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &IngestLimits,
    bufs: &mut WriteBuffers,
) -> Result<AppendOutcome, WriteError> {
    check_content_type(content_type, "prometheus.WriteRequest")?;
    let n = decompress_into(body, content_encoding, limits, &mut bufs.raw)?;
    let raw = &bufs.raw[..n];
    decode_write(raw, limits.series_per_request_max, &mut bufs.decoded)?;
    validate_decoded(raw, &mut bufs.decoded, limits)?;
    let res = append_decoded(db, raw, &bufs.decoded, &mut bufs.append);
    bufs.trim();
    Ok(res?)
}

/// Appends a validated [`DecodedWrite`] of `body` and commits once.
pub fn append_decoded(
    db: &Db,
    body: &[u8],
    req: &DecodedWrite,
    bufs: &mut AppendBuffers,
) -> Result<AppendOutcome, AppendFailure> {
    let mut app = db.appender_with(std::mem::take(bufs));
    let mut out = AppendOutcome::default();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut fatal = None;
    for s in &req.series {
        let samples = req.series_samples(s);
        if samples.is_empty() {
            continue;
        }
        pairs.clear();
        for l in req.series_labels(s) {
            // Validated UTF-8 (`validate_decoded`), so these conversions cannot fail.
            match (std::str::from_utf8(l.name.get(body)), std::str::from_utf8(l.value.get(body))) {
                (Ok(n), Ok(v)) => pairs.push((n, v)),
                _ => return Err(AppendFailure::Storage("label bytes changed after validation".into())),
            }
        }
        let res = app.append_series(&pairs, samples, |e| {
            if let Err(f) = refuse(&mut out, e) {
                fatal.get_or_insert(f);
            }
        });
        match res {
            Ok(n) => out.accepted += n,
            Err(e) => {
                // The whole series was refused: count each of its samples, as before.
                for _ in 0..samples.len() {
                    refuse(&mut out, e.clone())?;
                }
            }
        }
        if let Some(f) = fatal.take() {
            return Err(f);
        }
    }
    let res = app.commit().map_err(|e| AppendFailure::Storage(format!("commit failed: {e}")));
    *bufs = app.into_buffers();
    res?;
    Ok(out)
}

/// Appends every series of an owned `batch` and commits once (the path of callers that built a
/// [`WriteBatch`]; the receiver uses [`append_decoded`]).
pub fn append_batch(db: &Db, batch: &WriteBatch) -> Result<AppendOutcome, AppendFailure> {
    let mut app = db.appender();
    let mut out = AppendOutcome::default();
    for s in &batch.series {
        let mut r = None;
        for sample in &s.samples {
            let res = match r {
                Some(r) => app.append_ref(r, sample.t, sample.v),
                None => app.append(&s.labels, sample.t, sample.v).map(|x| {
                    r = Some(x);
                }),
            };
            match res {
                Ok(()) => out.accepted += 1,
                Err(e) => refuse(&mut out, e)?,
            }
        }
    }
    app.commit().map_err(|e| AppendFailure::Storage(format!("commit failed: {e}")))?;
    Ok(out)
}

/// Counts one refused sample, or turns a fatal error into a failure of the whole request.
fn refuse(out: &mut AppendOutcome, e: AppendError) -> Result<(), AppendFailure> {
    match e {
        AppendError::Closed => return Err(AppendFailure::Closed),
        AppendError::Storage(m) => return Err(AppendFailure::Storage(m)),
        AppendError::TooManySeries { .. } => out.active_series_limit_hits += 1,
        AppendError::NewSeriesRateLimited { .. } => out.new_series_rate_limit_hits += 1,
        _ => {}
    }
    out.rejected += 1;
    if out.first_error.is_none() {
        out.first_error = Some(e.to_string());
    }
    Ok(())
}
