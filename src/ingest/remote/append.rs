//! Appending a validated remote-write request to the database: every valid sample is appended
//! and committed; samples the database refuses (out of order, conflicting duplicate, too old,
//! a series limit) are counted, and the first refusal is kept for the response. Owns no HTTP
//! (status mapping is `api::remote`) and no decoding (`write.rs`).

use super::RemoteError;
use super::write::{WriteBatch, decode_write_request, write_batch};
use crate::ingest::limits::IngestLimits;
use crate::storage::{AppendError, Db};

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

/// Buffers reused from one request to the next (one per connection or worker thread).
#[derive(Default)]
pub struct WriteBuffers {}

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
    _bufs: &mut WriteBuffers,
) -> Result<AppendOutcome, WriteError> {
    let req = decode_write_request(body, content_type, content_encoding, limits)?;
    let batch = write_batch(req, limits)?;
    Ok(append_batch(db, &batch)?)
}

/// Appends every series of `batch` and commits once.
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
