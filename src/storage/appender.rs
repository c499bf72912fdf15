//! [`Appender`]: buffers samples of one writer and commits them as one batch. Owns the
//! append-time checks and the commit protocol (see the module docs of `storage` for the
//! whole hot path).
//!
//! Contract:
//! - `append`/`append_ref` check the sample against the *committed* state of its series and
//!   return a typed error if it can never be accepted (invalid labels, out of order, out of
//!   bounds, too old, duplicate timestamp with another value, series limit). Nothing is
//!   visible to queries before `commit`.
//! - A series is created (and logged) by `append` itself, so its ref is valid at once; a
//!   rollback keeps the empty series, as Prometheus does.
//! - `commit` applies the batch in append order per series. A sample that passed `append`
//!   but is no longer acceptable at commit (an earlier sample of the same batch or another
//!   appender's commit made it out of order or a conflicting duplicate) is dropped and
//!   counted in `HeadStats::dropped_at_commit`; this is Prometheus's behaviour too. The
//!   out-of-order window of a commit's samples is measured from the head's newest sample
//!   as of the start of the commit.
//! - `commit` returns once the batch is in the WAL according to the fsync policy: written to
//!   the OS (`Interval`) or fsynced (`Always`). On error nothing is acknowledged; if the WAL
//!   failed it is poisoned and the database refuses writes until reopened.
//! - Dropping an appender without committing discards its batch (a rollback).

use super::db::{Db, RECORD_SAMPLES_MAX};
use super::error::{AppendError, StorageError};
use super::head::SeriesRef;
use super::validate::validate_labels;
use cairn_format::Labels;
use cairn_format::frame::{begin_frame, finish_frame};
use cairn_format::record::{self, SampleRecord, SeriesRecord};
use std::sync::atomic::Ordering;

/// Buffers appends until `commit` or `rollback`. Not `Sync`: one per writer thread.
pub struct Appender {
    db: Db,
    pending: Vec<(SeriesRef, i64, f64)>,
    scratch: Vec<SampleRecord>,
    /// Frame being built outside the WAL buffer's lock.
    frame: Vec<u8>,
    /// WAL offset of the newest series record this appender created (flushed at commit).
    series_end: u64,
}

impl Appender {
    pub(crate) fn new(db: Db) -> Self {
        Appender { db, pending: Vec::new(), scratch: Vec::new(), frame: Vec::new(), series_end: 0 }
    }

    /// Buffers one sample for the series with these labels (creating the series if needed)
    /// and returns its ref for later [`append_ref`](Self::append_ref) calls.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        let inner = &*self.db.inner;
        let labels = validate_labels(labels)?;
        let hash = labels.stable_hash();
        let r = match inner.head.lookup(&labels, hash) {
            Some(r) => r,
            None => {
                let _b = inner.barrier.read();
                if inner.closed.load(Ordering::Acquire) {
                    return Err(AppendError::Closed);
                }
                if let Some(lim) = &inner.new_series_limit
                    && !lim.try_take()
                {
                    return Err(AppendError::NewSeriesRateLimited {
                        limit: lim.limit(),
                        series: labels.to_string(),
                    });
                }
                let wal = &inner.wal;
                let mut end = 0;
                let r = inner.head.get_or_create(&labels, hash, |r, l| {
                    let rec = [SeriesRecord { series_ref: r.0, labels: l.clone() }];
                    end = wal.append(|b| record::encode_series(&rec, b));
                })?;
                self.series_end = self.series_end.max(end);
                r
            }
        };
        self.append_ref(r, t, v)?;
        Ok(r)
    }

    /// Buffers one sample for a series by the ref `append` returned.
    pub fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        let inner = &*self.db.inner;
        if inner.closed.load(Ordering::Relaxed) {
            return Err(AppendError::Closed);
        }
        inner.head.check(r, t, v)?;
        self.pending.push((r, t, v));
        Ok(())
    }

    /// Number of samples buffered.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Applies the batch to the head, logs it and waits for the WAL per the fsync policy.
    /// The appender is empty and reusable afterwards (also after an error).
    pub fn commit(&mut self) -> Result<(), StorageError> {
        let inner = &*self.db.inner;
        let mut end = std::mem::take(&mut self.series_end);
        let res = (|| {
            let _b = inner.barrier.read();
            if inner.closed.load(Ordering::Acquire) {
                return Err(StorageError::Closed);
            }
            inner.wal.check_poisoned()?;
            let bounds = inner.head.bounds();
            // Group by shard; stable, so per-series order is kept.
            self.pending.sort_by_key(|(r, _, _)| r.shard());
            let mut rest = &self.pending[..];
            while let Some(&(first, _, _)) = rest.first() {
                let si = first.shard();
                let n = rest.iter().position(|(r, _, _)| r.shard() != si).unwrap_or(rest.len());
                let (group, tail) = rest.split_at(n);
                rest = tail;
                let wal = &inner.wal;
                let frame = &mut self.frame;
                inner.head.commit_shard(
                    si,
                    &bounds,
                    group.iter().filter_map(|(r, t, v)| r.local().map(|id| (id, *t, *v))),
                    &mut self.scratch,
                    |accepted| {
                        // Encode and checksum here (only this shard is locked), then one memcpy
                        // into the shared WAL buffer.
                        frame.clear();
                        for part in accepted.chunks(RECORD_SAMPLES_MAX) {
                            let start = begin_frame(frame);
                            record::encode_samples(part, frame);
                            finish_frame(frame, start);
                        }
                        end = wal.append_framed(frame);
                    },
                );
            }
            Ok(())
        })();
        self.pending.clear();
        res?;
        if end > 0 {
            inner.wal.flush(end)?;
        }
        Ok(())
    }

    /// Discards the buffered samples (series created meanwhile stay, empty).
    pub fn rollback(&mut self) {
        self.pending.clear();
    }
}
