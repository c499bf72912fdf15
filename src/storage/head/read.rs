//! The head's read path: matcher → postings → series, and a snapshot of each matching
//! series' chunks for `[mint, maxt]` taken under the shard's read lock. Closed chunks are
//! shared (`Arc`), the open chunk and out-of-order samples are copied, so decoding happens
//! after the lock is released. Owns [`SeriesSnapshot`] and its merging sample iterator.

use super::Head;
use super::series::MemSeries;
use cairn_format::{Labels, Matcher, Sample, XorIter};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A series' samples in a time range, not yet decoded.
#[derive(Clone, Debug)]
pub struct SeriesSnapshot {
    pub labels: Labels,
    /// Chunk bytes in time order, non-overlapping.
    chunks: Vec<Arc<[u8]>>,
    /// Out-of-order samples inside the range, sorted.
    ooo: Vec<Sample>,
    mint: i64,
    maxt: i64,
}

fn overlaps(a_min: i64, a_max: i64, mint: i64, maxt: i64) -> bool {
    a_min <= maxt && a_max >= mint
}

impl SeriesSnapshot {
    /// Snapshot of `s` for `[mint, maxt]`. With `last_only`, a caller that needs only the
    /// newest sample in range gets just that one when the open chunk's last sample is it (no
    /// out-of-order samples, last sample inside the range): no chunk is copied or decoded.
    fn take(s: &MemSeries, mint: i64, maxt: i64, last_only: bool) -> Option<Self> {
        if last_only
            && s.ooo.as_ref().is_none_or(|o| o.is_empty())
            && let Some(last) = s.head.last()
            && last.t >= mint
            && last.t <= maxt
        {
            return Some(SeriesSnapshot {
                labels: s.labels.to_labels(),
                chunks: Vec::new(),
                ooo: vec![last],
                mint,
                maxt,
            });
        }
        let mut chunks = Vec::new();
        for c in &s.closed {
            if overlaps(c.min_t, c.max_t, mint, maxt) {
                chunks.push(c.data.clone());
            }
        }
        if let (Some(first), Some(last)) = (s.head.first_t(), s.head.last())
            && overlaps(first, last.t, mint, maxt)
        {
            chunks.push(Arc::from(s.head.bytes()));
        }
        let ooo: Vec<Sample> = s
            .ooo
            .as_ref()
            .map(|o| o.iter().filter(|x| x.t >= mint && x.t <= maxt).copied().collect())
            .unwrap_or_default();
        if chunks.is_empty() && ooo.is_empty() {
            return None;
        }
        Some(SeriesSnapshot { labels: s.labels.to_labels(), chunks, ooo, mint, maxt })
    }

    /// A snapshot of samples read from blocks only (sorted, unique timestamps, in range).
    pub(crate) fn from_samples(labels: Labels, samples: Vec<Sample>, mint: i64, maxt: i64) -> Self {
        SeriesSnapshot { labels, chunks: Vec::new(), ooo: samples, mint, maxt }
    }

    /// Adds samples read from a block (sorted, unique timestamps, in range). Where a
    /// timestamp is already present, the sample already held wins.
    pub(crate) fn merge_samples(&mut self, more: Vec<Sample>) {
        if more.is_empty() {
            return;
        }
        let mut v = std::mem::take(&mut self.ooo);
        v.extend(more);
        v.sort_by_key(|s| s.t);
        v.dedup_by_key(|s| s.t);
        self.ooo = v;
    }

    /// The snapshot's XOR chunks as they are in the head, if its samples are exactly their
    /// concatenation (no out-of-order or block samples to merge). The chunks may hold samples
    /// outside `[mint, maxt]`; callers check.
    pub(crate) fn plain_chunks(&self) -> Option<&[Arc<[u8]>]> {
        self.ooo.is_empty().then_some(self.chunks.as_slice())
    }

    /// Samples held (chunk header counts plus merged samples), in range or not: the cost of
    /// decoding this snapshot.
    pub fn stored_samples(&self) -> usize {
        let in_chunks: usize = self
            .chunks
            .iter()
            .map(|c| c.get(..2).map_or(0, |h| usize::from(u16::from_be_bytes([h[0], h[1]]))))
            .sum();
        in_chunks + self.ooo.len()
    }

    /// Replaces `out`'s contents with the samples in `[mint, maxt]` (what
    /// [`samples`](Self::samples) yields). Without out-of-order or block samples to merge, the
    /// chunks are decoded straight into `out`, sized from their headers.
    pub fn decode_into(&self, out: &mut Vec<Sample>) -> Result<(), String> {
        out.clear();
        if !self.ooo.is_empty() {
            let mut it = self.samples();
            out.extend(it.by_ref());
            return it.err().map_or(Ok(()), |e| Err(e.to_string()));
        }
        for data in &self.chunks {
            let mut it = XorIter::new(data).map_err(|e| e.to_string())?;
            out.reserve(it.num_samples());
            let mut past_end = false;
            for smp in it.by_ref() {
                if smp.t > self.maxt {
                    past_end = true;
                    break;
                }
                if smp.t >= self.mint {
                    out.push(smp);
                }
            }
            if let Some(e) = it.err() {
                return Err(e.to_string());
            }
            if past_end {
                break;
            }
        }
        Ok(())
    }

    /// Samples in `[mint, maxt]`, in time order, unique timestamps.
    pub fn samples(&self) -> SampleIter<'_> {
        SampleIter { snap: self, chunk: 0, it: None, ooo: 0, pending: None, err: None }
    }
}

/// Merges the in-order chunks with the out-of-order samples of one snapshot.
pub struct SampleIter<'a> {
    snap: &'a SeriesSnapshot,
    chunk: usize,
    it: Option<XorIter<'a>>,
    ooo: usize,
    pending: Option<Sample>,
    err: Option<String>,
}

impl SampleIter<'_> {
    /// A decoding error that ended iteration early (corrupt chunk: a bug, never expected).
    pub fn err(&self) -> Option<&str> {
        self.err.as_deref()
    }

    fn next_in_order(&mut self) -> Option<Sample> {
        loop {
            if let Some(it) = &mut self.it {
                for s in it.by_ref() {
                    if s.t > self.snap.maxt {
                        break;
                    }
                    if s.t >= self.snap.mint {
                        return Some(s);
                    }
                }
                if let Some(e) = it.err() {
                    self.err = Some(e.to_string());
                    self.chunk = self.snap.chunks.len();
                }
                self.it = None;
            }
            let data = self.snap.chunks.get(self.chunk)?;
            self.chunk += 1;
            match XorIter::new(data) {
                Ok(it) => self.it = Some(it),
                Err(e) => {
                    self.err = Some(e.to_string());
                    return None;
                }
            }
        }
    }
}

impl Iterator for SampleIter<'_> {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        if self.pending.is_none() {
            self.pending = self.next_in_order();
        }
        let o = self.snap.ooo.get(self.ooo).copied();
        match (self.pending, o) {
            (Some(a), Some(b)) if b.t < a.t => {
                self.ooo += 1;
                Some(b)
            }
            (Some(a), Some(b)) => {
                if b.t == a.t {
                    self.ooo += 1;
                }
                self.pending = None;
                Some(a)
            }
            (Some(a), None) => {
                self.pending = None;
                Some(a)
            }
            (None, Some(b)) => {
                self.ooo += 1;
                Some(b)
            }
            (None, None) => None,
        }
    }
}

impl Head {
    /// Snapshots of every series matching all `matchers` with samples in `[mint, maxt]`,
    /// sorted by labels.
    pub fn select(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Vec<SeriesSnapshot> {
        self.select_with(mint, maxt, matchers, false)
    }

    /// [`select`](Self::select); with `last_only`, a series whose newest sample in range is
    /// the open chunk's last one is snapshot as that single sample (see `SeriesSnapshot::take`).
    pub fn select_with(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
        last_only: bool,
    ) -> Vec<SeriesSnapshot> {
        let mut out = Vec::new();
        for slot in self.shards.iter() {
            let shard = slot.0.read();
            let ids = shard.select(matchers);
            for id in ids.iter() {
                if let Some(snap) = shard.get(id).and_then(|s| SeriesSnapshot::take(s, mint, maxt, last_only))
                {
                    out.push(snap);
                }
            }
        }
        out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Visits the labels of every series matching all matchers whose stored samples overlap
    /// `[mint, maxt]` (by their min/max time, without decoding).
    fn for_each_matching(&self, mint: i64, maxt: i64, matchers: &[Matcher], mut f: impl FnMut(&MemSeries)) {
        for slot in self.shards.iter() {
            let shard = slot.0.read();
            for id in shard.select(matchers).iter() {
                if let Some(s) = shard.get(id)
                    && let (Some(a), Some(b)) = (s.min_time(), s.max_time())
                    && overlaps(a, b, mint, maxt)
                {
                    f(s);
                }
            }
        }
    }

    /// Sorted label names. Without matchers, every name in the index (like Prometheus's head,
    /// not filtered by time); with matchers, names of matching series with data in range.
    pub fn label_names(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Vec<String> {
        let mut set = BTreeSet::new();
        if matchers.is_empty() {
            for slot in self.shards.iter() {
                set.extend(slot.0.read().postings.names().map(str::to_owned));
            }
        } else {
            self.for_each_matching(mint, maxt, matchers, |s| {
                for (n, _) in s.labels.iter() {
                    if !set.contains(n) {
                        set.insert(n.to_owned());
                    }
                }
            });
        }
        set.into_iter().collect()
    }

    /// Sorted values of `name`; same filtering rule as [`label_names`](Self::label_names).
    pub fn label_values(&self, mint: i64, maxt: i64, name: &str, matchers: &[Matcher]) -> Vec<String> {
        let mut set = BTreeSet::new();
        if matchers.is_empty() {
            for slot in self.shards.iter() {
                set.extend(slot.0.read().postings.values(name).map(|(v, _)| v.to_owned()));
            }
        } else {
            self.for_each_matching(mint, maxt, matchers, |s| {
                if let Some(v) = s.labels.get(name)
                    && !set.contains(v)
                {
                    set.insert(v.to_owned());
                }
            });
        }
        set.into_iter().collect()
    }
}
