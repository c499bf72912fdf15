//! The head's write path: series lookup/creation by labels, the append-time check of a
//! sample, and applying a committed batch of one shard. The WAL logging callbacks run under
//! the shard's write lock, so for every series the WAL order equals the head order (replay
//! then reproduces the head exactly). Owns no WAL I/O itself.

use super::series::{Placement, SampleBounds};
use super::{Head, SeriesRef};
use crate::storage::error::AppendError;
use cairn_format::Labels;
use cairn_format::record::SampleRecord;
use std::sync::atomic::Ordering;

impl Head {
    /// The series with exactly these validated labels, creating it if needed. `on_create`
    /// runs under the shard's write lock right after a series is created (the WAL logs the
    /// series record there, before any sample of it can be logged).
    pub fn get_or_create(
        &self,
        labels: &Labels,
        hash: u64,
        on_create: impl FnOnce(SeriesRef, &Labels),
    ) -> Result<SeriesRef, AppendError> {
        let si = self.shard_of(hash);
        if let Some(id) = self.shard(si).read().lookup(hash, labels) {
            return Ok(SeriesRef::new(si, id));
        }
        let mut shard = self.shard(si).write();
        if let Some(id) = shard.lookup(hash, labels) {
            return Ok(SeriesRef::new(si, id));
        }
        if let Some(limit) = self.max_series {
            // Reserve a slot first so concurrent creators cannot overshoot the limit.
            if self.num_series.fetch_add(1, Ordering::Relaxed) >= limit {
                self.num_series.fetch_sub(1, Ordering::Relaxed);
                return Err(AppendError::TooManySeries { limit, series: labels.to_string() });
            }
        } else {
            self.num_series.fetch_add(1, Ordering::Relaxed);
        }
        let id = shard.next_id();
        shard.insert(id, hash, labels);
        let r = SeriesRef::new(si, id);
        on_create(r, labels);
        Ok(r)
    }

    /// Checks `(t, v)` against the committed state of series `r` (nothing is stored).
    pub fn check(&self, r: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        let shard = self.shards.get(r.shard()).ok_or(AppendError::UnknownRef(r.0))?.0.read();
        let s = r.local().and_then(|id| shard.get(id)).ok_or(AppendError::UnknownRef(r.0))?;
        s.check(t, v, &self.bounds()).map(|_| ())
    }

    /// Checks every sample of `samples` against the committed state of series `r` under one
    /// read lock (as [`check`](Self::check) does one by one): acceptable samples are pushed to
    /// `ok`, refused ones passed to `reject`.
    pub fn check_many(
        &self,
        r: SeriesRef,
        samples: &[(i64, f64)],
        ok: &mut Vec<(SeriesRef, i64, f64)>,
        reject: &mut impl FnMut(AppendError),
    ) -> Result<(), AppendError> {
        let shard = self.shards.get(r.shard()).ok_or(AppendError::UnknownRef(r.0))?.0.read();
        let s = r.local().and_then(|id| shard.get(id)).ok_or(AppendError::UnknownRef(r.0))?;
        let bounds = self.bounds();
        for &(t, v) in samples {
            match s.check(t, v, &bounds) {
                Ok(_) => ok.push((r, t, v)),
                Err(e) => reject(e),
            }
        }
        Ok(())
    }

    /// [`check_many`](Self::check_many) for the series whose packed labels are `packed` (hash
    /// `hash`), found and checked under one read lock. `None` (nothing checked) if there is no
    /// such series.
    pub fn lookup_check_packed(
        &self,
        hash: u64,
        packed: &[u8],
        samples: &[(i64, f64)],
        ok: &mut Vec<(SeriesRef, i64, f64)>,
        reject: &mut impl FnMut(AppendError),
    ) -> Option<SeriesRef> {
        let si = self.shard_of(hash);
        let shard = self.shard(si).read();
        let id = shard.lookup_packed(hash, packed)?;
        let s = shard.get(id)?;
        let r = SeriesRef::new(si, id);
        let bounds = self.bounds();
        for &(t, v) in samples {
            match s.check(t, v, &bounds) {
                Ok(_) => ok.push((r, t, v)),
                Err(e) => reject(e),
            }
        }
        Some(r)
    }

    /// Applies `batch` (shard-local id, t, v) to shard `si` in order, under its write lock.
    /// Samples that are no longer acceptable (a concurrent commit got there first, or the
    /// series was truncated away) are dropped and counted. `log` receives the accepted,
    /// non-duplicate samples, still under the lock. Returns how many were stored.
    /// `bounds` are taken once at the start of the commit, so the out-of-order window of
    /// every sample of a commit is relative to the head's newest sample *before* it.
    pub fn commit_shard(
        &self,
        si: usize,
        bounds: &SampleBounds,
        batch: impl Iterator<Item = (u32, i64, f64)>,
        accepted: &mut Vec<SampleRecord>,
        log: impl FnOnce(&[SampleRecord]),
    ) -> usize {
        accepted.clear();
        let mut shard = self.shard(si).write();
        let opts = self.chunk_opts;
        let (mut mint, mut maxt, mut dropped) = (i64::MAX, i64::MIN, 0u64);
        for (id, t, v) in batch {
            let Some(s) = shard.get_mut(id) else {
                dropped += 1;
                continue;
            };
            match s.check(t, v, bounds) {
                Ok(Placement::Duplicate) => {}
                Ok(p) => {
                    s.store(t, v, p, &opts);
                    accepted.push(SampleRecord { series_ref: SeriesRef::new(si, id).0, t, v });
                    mint = mint.min(t);
                    maxt = maxt.max(t);
                }
                Err(_) => dropped += 1,
            }
        }
        if !accepted.is_empty() {
            log(accepted);
        }
        drop(shard);
        self.note_samples(accepted.len() as u64, mint, maxt);
        if dropped > 0 {
            self.dropped_at_commit.fetch_add(dropped, Ordering::Relaxed);
        }
        accepted.len()
    }

    /// Replay: recreates a logged series under its logged ref. A ref seen twice (a checkpoint
    /// overlapping a segment) is ignored. Returns false if the ref's shard is out of range.
    pub fn replay_series(&self, r: SeriesRef, labels: &Labels) -> bool {
        let Some(slot) = self.shards.get(r.shard()) else { return false };
        let Some(id) = r.local() else { return false };
        let mut shard = slot.0.write();
        if shard.get(id).is_some() {
            return true;
        }
        shard.insert(id, labels.stable_hash(), labels);
        self.num_series.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Replay: re-applies a logged (hence once accepted) sample. Window and bounds checks are
    /// skipped — they held when the sample was accepted — so replay is deterministic.
    /// Returns false if the series is unknown (its series record was lost).
    pub fn replay_sample(&self, r: SeriesRef, t: i64, v: f64) -> bool {
        let Some(slot) = self.shards.get(r.shard()) else { return false };
        let Some(id) = r.local() else { return false };
        let mut shard = slot.0.write();
        let Some(s) = shard.get_mut(id) else { return false };
        let loose = super::series::SampleBounds {
            min_valid_t: i64::MIN,
            head_max_t: i64::MIN,
            ooo_window_ms: i64::MAX,
        };
        match s.check(t, v, &loose) {
            Ok(Placement::Duplicate) | Err(_) => {}
            Ok(p) => {
                s.store(t, v, p, &self.chunk_opts);
                drop(shard);
                self.note_samples(1, t, t);
            }
        }
        true
    }
}

impl Head {
    /// The ref of the series with exactly these validated labels, if it exists.
    pub fn lookup(&self, labels: &Labels, hash: u64) -> Option<SeriesRef> {
        let si = self.shard_of(hash);
        self.shard(si).read().lookup(hash, labels).map(|id| SeriesRef::new(si, id))
    }
}
