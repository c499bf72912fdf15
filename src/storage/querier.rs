//! [`Querier`]: a read view over `[mint, maxt]` (inclusive). `select` evaluates matchers on
//! the head's postings and snapshots the matching series (decoded lazily by
//! [`SeriesSnapshot::samples`] after all locks are released), then merges in the samples of
//! every block overlapping the range (decoded at select time; identical timestamps kept
//! once, the head's sample winning). Owns nothing else.

use super::db::Db;
use super::error::StorageError;
use super::head::read::SeriesSnapshot;
use cairn_format::{Labels, Matcher, Sample};
use std::sync::atomic::Ordering;

/// Series selected by [`Querier::select`], sorted by labels. Every series has at least one
/// sample in the queried range.
pub struct SeriesSet {
    series: std::vec::IntoIter<SeriesSnapshot>,
}

impl SeriesSet {
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.len() == 0
    }
}

impl Iterator for SeriesSet {
    type Item = SeriesSnapshot;
    fn next(&mut self) -> Option<SeriesSnapshot> {
        self.series.next()
    }
}

/// A read view over `[mint, maxt]`. Cheap; it sees commits made after its creation too (the
/// head has no snapshot isolation; each `select` is consistent per series).
pub struct Querier {
    db: Db,
    mint: i64,
    maxt: i64,
}

impl Querier {
    pub(crate) fn new(db: Db, mint: i64, maxt: i64) -> Self {
        Querier { db, mint, maxt }
    }

    pub fn mint(&self) -> i64 {
        self.mint
    }

    pub fn maxt(&self) -> i64 {
        self.maxt
    }

    fn check_open(&self) -> Result<(), StorageError> {
        if self.db.inner.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(())
    }

    /// Series matching every matcher (all series when `matchers` is empty) with at least one
    /// sample in range, sorted by labels; their samples are restricted to the range.
    pub fn select(&self, matchers: &[Matcher]) -> Result<SeriesSet, StorageError> {
        let mut v = self.select_snapshots(matchers, false)?;
        // A chunk overlapping the range may still have no sample inside it (gaps).
        v.retain(|s| s.samples().next().is_some());
        Ok(SeriesSet { series: v.into_iter() })
    }

    /// The snapshots behind [`select`](Self::select), sorted by labels, without dropping
    /// series whose chunks overlap the range but hold no sample inside it (the caller decodes
    /// anyway and drops empty ones). With `last_only` a series may be reduced to its newest
    /// sample in range (plus any block samples), for callers that need only that one.
    pub(crate) fn select_snapshots(
        &self,
        matchers: &[Matcher],
        last_only: bool,
    ) -> Result<Vec<SeriesSnapshot>, StorageError> {
        self.check_open()?;
        if self.mint > self.maxt {
            return Ok(Vec::new());
        }
        let mut v = self.db.inner.head.select_with(self.mint, self.maxt, matchers, last_only);
        let blocks = self.db.blocks_in(self.mint, self.maxt);
        if !blocks.is_empty() {
            let mut extra: Vec<(Labels, Vec<Sample>)> = Vec::new();
            for b in blocks {
                for (labels, samples) in b.select(self.mint, self.maxt, matchers)? {
                    match v.binary_search_by(|s| s.labels.cmp(&labels)) {
                        Ok(i) => v[i].merge_samples(samples),
                        Err(_) => extra.push((labels, samples)),
                    }
                }
            }
            if !extra.is_empty() {
                // Stable: for equal labels, the earlier block's samples come first and win.
                extra.sort_by(|a, b| a.0.cmp(&b.0));
                let mut merged: Vec<SeriesSnapshot> = Vec::new();
                for (labels, samples) in extra {
                    match merged.last_mut() {
                        Some(last) if last.labels == labels => last.merge_samples(samples),
                        _ => merged.push(SeriesSnapshot::from_samples(labels, samples, self.mint, self.maxt)),
                    }
                }
                v.extend(merged);
                v.sort_by(|a, b| a.labels.cmp(&b.labels));
            }
        }
        Ok(v)
    }

    /// Sorted distinct label names: of every series in the head without matchers, else of
    /// the matching series with samples in range.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        self.check_open()?;
        let mut v = self.db.inner.head.label_names(self.mint, self.maxt, matchers);
        let blocks = self.db.blocks_in(self.mint, self.maxt);
        if !blocks.is_empty() {
            let mut set: std::collections::BTreeSet<String> = v.into_iter().collect();
            for b in blocks {
                set.extend(b.label_names(self.mint, self.maxt, matchers)?);
            }
            v = set.into_iter().collect();
        }
        Ok(v)
    }

    /// Sorted distinct values of `name`, with the same filtering as `label_names`.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        self.check_open()?;
        let mut v = self.db.inner.head.label_values(self.mint, self.maxt, name, matchers);
        let blocks = self.db.blocks_in(self.mint, self.maxt);
        if !blocks.is_empty() {
            let mut set: std::collections::BTreeSet<String> = v.into_iter().collect();
            for b in blocks {
                set.extend(b.label_values(self.mint, self.maxt, name, matchers)?);
            }
            v = set.into_iter().collect();
        }
        Ok(v)
    }
}
