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
use super::head::packed::PackedLabels;
use super::validate::validate_labels;
use cairn_format::frame::{begin_frame, finish_frame};
use cairn_format::labels::stable_hash_pairs;
use cairn_format::record::{self, SampleRecord, SeriesRecord};
use cairn_format::{Label, Labels};
use std::sync::atomic::Ordering;

/// Buffers appends until `commit` or `rollback`. Not `Sync`: one per writer thread.
pub struct Appender {
    db: Db,
    bufs: AppendBuffers,
    /// WAL offset of the newest series record this appender created (flushed at commit).
    series_end: u64,
}

/// An appender's buffers, kept between appenders (see [`Db::appender_with`]) so that a
/// receiver handling one request after another does not reallocate them each time.
#[derive(Default)]
pub struct AppendBuffers {
    pending: Vec<(SeriesRef, i64, f64)>,
    scratch: Vec<SampleRecord>,
    /// Frame being built outside the WAL buffer's lock.
    frame: Vec<u8>,
    /// Label bytes hashed by `append_series`.
    hash_buf: Vec<u8>,
    /// Packed label bytes looked up by `append_series`.
    packed: Vec<u8>,
    /// Scratch of `group_by_shard`.
    sorted: Vec<(SeriesRef, i64, f64)>,
    counts: Vec<usize>,
}

/// Reorders `pending` so that each shard's samples are contiguous, in shard order, keeping
/// their order within a shard (a counting sort: linear, where a comparison sort of 20k
/// samples per request cost more than the XOR encoding). Refs of shards `>= shards` (which
/// `append` never buffers) go last.
fn group_by_shard(
    pending: &mut Vec<(SeriesRef, i64, f64)>,
    sorted: &mut Vec<(SeriesRef, i64, f64)>,
    counts: &mut Vec<usize>,
    shards: usize,
) {
    let slot = |r: SeriesRef| r.shard().min(shards);
    counts.clear();
    counts.resize(shards + 2, 0);
    for (r, _, _) in pending.iter() {
        counts[slot(*r) + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    sorted.clear();
    sorted.resize(pending.len(), (SeriesRef(0), 0, 0.0));
    for p in pending.iter() {
        let c = &mut counts[slot(p.0)];
        sorted[*c] = *p;
        *c += 1;
    }
    std::mem::swap(pending, sorted);
}

impl Appender {
    pub(crate) fn new(db: Db, bufs: AppendBuffers) -> Self {
        let mut bufs = bufs;
        bufs.pending.clear();
        Appender { db, bufs, series_end: 0 }
    }

    /// Rolls back anything uncommitted and returns the buffers for a later appender.
    pub fn into_buffers(mut self) -> AppendBuffers {
        self.rollback();
        std::mem::take(&mut self.bufs)
    }

    /// Buffers `samples` of the series with these labels: `(name, value)` pairs sorted by name,
    /// unique, with non-empty values (they are validated like [`append`](Self::append)'s when
    /// the series does not exist yet; an existing series matches only valid labels). Each
    /// sample is checked like [`append_ref`](Self::append_ref); a refused one is passed to
    /// `reject` and the rest are still buffered. Returns how many were buffered; `Err` only
    /// for errors that concern the whole series (closed database, invalid labels, ...).
    ///
    /// The fast path of a receiver: a known series costs one hash of the label bytes, one
    /// byte comparison with the stored labels and one shard read lock for all its samples.
    pub fn append_series(
        &mut self,
        pairs: &[(&str, &str)],
        samples: &[(i64, f64)],
        mut reject: impl FnMut(AppendError),
    ) -> Result<usize, AppendError> {
        let inner = &*self.db.inner;
        if inner.closed.load(Ordering::Relaxed) {
            return Err(AppendError::Closed);
        }
        let before = self.bufs.pending.len();
        let hash = stable_hash_pairs(
            pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut self.bufs.hash_buf,
        );
        self.bufs.packed.clear();
        PackedLabels::pack_pairs_into(pairs.iter().copied(), &mut self.bufs.packed);
        if inner
            .head
            .lookup_check_packed(hash, &self.bufs.packed, samples, &mut self.bufs.pending, &mut reject)
            .is_some()
        {
            return Ok(self.bufs.pending.len() - before);
        }
        // A new series (or invalid labels): the general path, sample by sample until one is
        // accepted (which creates the series), then the rest by ref.
        let labels = Labels::from_sorted(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect());
        for (i, &(t, v)) in samples.iter().enumerate() {
            match self.append(&labels, t, v) {
                Ok(r) => {
                    let head = &self.db.inner.head;
                    head.check_many(r, &samples[i + 1..], &mut self.bufs.pending, &mut reject)?;
                    break;
                }
                Err(e @ (AppendError::Closed | AppendError::Storage(_))) => return Err(e),
                Err(e) => reject(e),
            }
        }
        Ok(self.bufs.pending.len() - before)
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
        self.bufs.pending.push((r, t, v));
        Ok(())
    }

    /// Number of samples buffered.
    pub fn len(&self) -> usize {
        self.bufs.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bufs.pending.is_empty()
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
            let AppendBuffers { pending, scratch, frame, sorted, counts, .. } = &mut self.bufs;
            group_by_shard(pending, sorted, counts, inner.head.shards.len());
            let mut rest = &pending[..];
            while let Some(&(first, _, _)) = rest.first() {
                let si = first.shard();
                let n = rest.iter().position(|(r, _, _)| r.shard() != si).unwrap_or(rest.len());
                let (group, tail) = rest.split_at(n);
                rest = tail;
                let wal = &inner.wal;
                inner.head.commit_shard(
                    si,
                    &bounds,
                    group.iter().filter_map(|(r, t, v)| r.local().map(|id| (id, *t, *v))),
                    scratch,
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
        self.bufs.pending.clear();
        res?;
        if end > 0 {
            inner.wal.flush(end)?;
        }
        Ok(())
    }

    /// Discards the buffered samples (series created meanwhile stay, empty).
    pub fn rollback(&mut self) {
        self.bufs.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_by_shard_is_a_stable_counting_sort() {
        let r = |shard: usize, id: u32| SeriesRef::new(shard, id);
        let mut pending = vec![
            (r(2, 0), 1, 0.0),
            (r(0, 1), 2, 0.0),
            (r(2, 0), 3, 0.0),
            (r(9, 0), 4, 0.0), // out of range: last
            (r(0, 2), 5, 0.0),
            (r(1, 0), 6, 0.0),
        ];
        let (mut sorted, mut counts) = (Vec::new(), Vec::new());
        group_by_shard(&mut pending, &mut sorted, &mut counts, 3);
        let ts: Vec<i64> = pending.iter().map(|p| p.1).collect();
        assert_eq!(ts, vec![2, 5, 6, 1, 3, 4]);
    }

    #[test]
    fn append_series_checks_like_append_ref_and_reuses_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), crate::storage::Options::default()).unwrap();
        let up = [("__name__", "up"), ("job", "a")];
        let mut errs = Vec::new();
        let mut app = db.appender();
        // New series: created by the general path.
        assert_eq!(app.append_series(&up, &[(10, 1.0), (20, 2.0)], |e| errs.push(e)).unwrap(), 2);
        app.commit().unwrap();
        let mut app = db.appender_with(app.into_buffers());
        // Known series: the packed-label lookup; refusals go to `reject`, the rest is kept.
        let n =
            app.append_series(&up, &[(20, 2.0), (15, 3.0), (20, 5.0), (30, 3.0)], |e| errs.push(e)).unwrap();
        assert_eq!(n, 2);
        assert!(
            matches!(
                errs[..],
                [AppendError::OutOfOrder { t: 15, .. }, AppendError::DuplicateTimestamp { t: 20, .. }]
            ),
            "{errs:?}"
        );
        // The same labels through `append` find the same series.
        let r = app.append(&Labels::from_pairs(up), 40, 4.0).unwrap();
        app.commit().unwrap();
        let st = db.head_stats();
        assert_eq!((st.num_series, st.num_samples), (1, 4));
        assert_eq!(st.max_time, Some(40));
        let mut app = db.appender();
        app.append_ref(r, 50, 5.0).unwrap();
        app.commit().unwrap();
        // Invalid labels never match a stored series; every sample is refused with the reason.
        errs.clear();
        let n = app.append_series(&[("bad-name", "x")], &[(1, 1.0), (2, 2.0)], |e| errs.push(e)).unwrap();
        assert_eq!(n, 0);
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|e| matches!(e, AppendError::InvalidLabelName { .. })), "{errs:?}");
        assert_eq!(db.head_stats().num_series, 1);
    }
}
