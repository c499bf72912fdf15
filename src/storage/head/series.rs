//! One head series: packed labels, closed chunks, the open XOR chunk, and an out-of-order
//! buffer. Owns the per-sample rules (in order / duplicate / out of order / too old) and the
//! Prometheus chunk-cutting policy. Knows nothing of locks, WAL or postings.
//!
//! Chunk cutting (as Prometheus's `memSeries.append`): a new chunk starts when the sample's
//! time reaches the predicted end `next_at`, when the chunk holds twice the sample target,
//! or when one more sample could push it past `chunk_bytes_max`. `next_at` starts at the end
//! of the block range containing the chunk's first sample (so a chunk never spans a block
//! boundary) and, once the chunk holds a quarter of the target, is re-predicted so the rest
//! of the range splits into chunks of about the target size.

use super::packed::PackedLabels;
use crate::storage::error::AppendError;
use cairn_format::{Sample, XorEncoder, XorIter};
use std::sync::Arc;

/// Largest number of bytes one XOR sample can add (2-bit + 64-bit timestamp bucket, 2 + 5 + 6
/// + 64 value bits, plus Prometheus's padding byte): the cut rule keeps chunks within the cap.
const SAMPLE_BYTES_MAX: usize = 20;

/// Chunking parameters shared by every series.
#[derive(Clone, Copy, Debug)]
pub struct ChunkOpts {
    pub samples_target: usize,
    pub bytes_max: usize,
    pub block_range_ms: i64,
}

/// A full chunk, immutable. `Arc` so queries can hold it without copying or locking.
#[derive(Clone, Debug)]
pub struct ClosedChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub data: Arc<[u8]>,
}

impl ClosedChunk {
    pub fn num_samples(&self) -> usize {
        match *self.data {
            [a, b, ..] => u16::from_be_bytes([a, b]) as usize,
            _ => 0,
        }
    }
}

/// How an acceptable sample will be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Newer than every stored sample: appended to the open chunk.
    InOrder,
    /// Same timestamp and bit-identical value as a stored sample: nothing to do.
    Duplicate,
    /// Older than the newest sample, inside the out-of-order window: goes to the OOO buffer.
    OutOfOrder,
}

/// Limits a sample is checked against (head-wide values at the time of the check).
#[derive(Clone, Copy, Debug)]
pub struct SampleBounds {
    /// Samples older than this are out of bounds (set by head truncation).
    pub min_valid_t: i64,
    /// Newest timestamp in the whole head (the out-of-order window is relative to it).
    pub head_max_t: i64,
    /// Out-of-order window in ms (0 = reject anything older than the series' last sample).
    pub ooo_window_ms: i64,
}

pub struct MemSeries {
    pub labels: PackedLabels,
    /// Closed chunks in time order, non-overlapping.
    pub closed: Vec<ClosedChunk>,
    /// The open chunk (may be empty).
    pub head: XorEncoder,
    /// Predicted end of the open chunk (exclusive).
    next_at: i64,
    /// Newest in-order sample ever appended (survives truncation); `i64::MIN` before any.
    pub max_t: i64,
    last_v: u64,
    /// Out-of-order samples, sorted by time, unique timestamps, disjoint from in-order ones.
    pub ooo: Option<Box<Vec<Sample>>>,
}

/// Start of the next block range after the one holding `t`.
fn range_end(t: i64, width: i64) -> i64 {
    t.div_euclid(width).saturating_mul(width).saturating_add(width)
}

/// Prometheus's prediction of where the current chunk should end so that the rest of the
/// range `[start, max)` is split into chunks of about the target size, given that
/// `cur - start` covered `1/ratio_to_full` of a chunk.
fn compute_chunk_end(start: i64, cur: i64, max: i64, ratio_to_full: f64) -> i64 {
    let n = (max - start) as f64 / ((cur - start + 1) as f64 * ratio_to_full);
    if n <= 1.0 {
        return max;
    }
    (start as f64 + (max - start) as f64 / n.floor()) as i64
}

impl MemSeries {
    pub fn new(labels: PackedLabels) -> Self {
        MemSeries {
            labels,
            closed: Vec::new(),
            head: XorEncoder::new(),
            next_at: i64::MIN,
            max_t: i64::MIN,
            last_v: 0,
            ooo: None,
        }
    }

    /// Decides whether `(t, v)` may be stored, without storing it.
    pub fn check(&self, t: i64, v: f64, b: &SampleBounds) -> Result<Placement, AppendError> {
        if t < b.min_valid_t {
            return Err(AppendError::OutOfBounds { series: self.name(), t, min_t: b.min_valid_t });
        }
        if self.max_t == i64::MIN || t > self.max_t {
            return Ok(Placement::InOrder);
        }
        if t == self.max_t {
            return self.same_or_conflict(t, v, f64::from_bits(self.last_v));
        }
        if b.ooo_window_ms == 0 {
            return Err(AppendError::OutOfOrder { series: self.name(), t, last_t: self.max_t });
        }
        let min_t = b.head_max_t.max(self.max_t).saturating_sub(b.ooo_window_ms);
        if t < min_t {
            return Err(AppendError::TooOld { series: self.name(), t, min_t });
        }
        match self.find(t) {
            Some(old) => self.same_or_conflict(t, v, old),
            None => Ok(Placement::OutOfOrder),
        }
    }

    fn same_or_conflict(&self, t: i64, v: f64, old: f64) -> Result<Placement, AppendError> {
        if old.to_bits() == v.to_bits() {
            Ok(Placement::Duplicate)
        } else {
            Err(AppendError::DuplicateTimestamp { series: self.name(), t, old, new: v })
        }
    }

    /// The stored value at exactly `t`, searching the OOO buffer and the chunks covering `t`
    /// (decoding them: this is the rare out-of-order path).
    fn find(&self, t: i64) -> Option<f64> {
        if let Some(o) = &self.ooo
            && let Ok(i) = o.binary_search_by_key(&t, |s| s.t)
        {
            return Some(o[i].v);
        }
        let in_chunk = |data: &[u8]| {
            XorIter::new(data).ok().and_then(|mut it| it.find(|s| s.t >= t)).filter(|s| s.t == t).map(|s| s.v)
        };
        for c in &self.closed {
            if c.min_t <= t && t <= c.max_t {
                return in_chunk(&c.data);
            }
        }
        match self.head.first_t() {
            Some(first) if first <= t => in_chunk(self.head.bytes()),
            _ => None,
        }
    }

    /// Stores a sample already accepted by [`check`](Self::check) with that placement.
    pub fn store(&mut self, t: i64, v: f64, p: Placement, o: &ChunkOpts) {
        match p {
            Placement::Duplicate => {}
            Placement::InOrder => self.append_in_order(t, v, o),
            Placement::OutOfOrder => {
                let buf = self.ooo.get_or_insert_with(Default::default);
                match buf.binary_search_by_key(&t, |s| s.t) {
                    Ok(i) => buf[i] = Sample::new(t, v),
                    Err(i) => buf.insert(i, Sample::new(t, v)),
                }
            }
        }
    }

    fn append_in_order(&mut self, t: i64, v: f64, o: &ChunkOpts) {
        debug_assert!(self.max_t == i64::MIN || t > self.max_t, "append_in_order out of order");
        let n = self.head.num_samples();
        if n == 0 {
            self.next_at = range_end(t, o.block_range_ms);
        } else {
            let first = self.head.first_t().unwrap_or(t);
            if n == o.samples_target / 4 {
                self.next_at = compute_chunk_end(first, self.max_t, self.next_at, 4.0);
            }
            if t >= self.next_at
                || n >= o.samples_target * 2
                || self.head.size() + SAMPLE_BYTES_MAX > o.bytes_max
            {
                self.cut();
                self.next_at = range_end(t, o.block_range_ms);
            }
        }
        self.head.append(t, v);
        self.max_t = t;
        self.last_v = v.to_bits();
    }

    /// Closes the open chunk (if it holds samples).
    fn cut(&mut self) {
        let Some(min_t) = self.head.first_t() else { return };
        let max_t = self.head.last().map_or(min_t, |s| s.t);
        let enc = std::mem::take(&mut self.head);
        self.closed.push(ClosedChunk { min_t, max_t, data: Arc::from(enc.into_bytes()) });
    }

    /// Earliest stored timestamp, if any sample is stored.
    pub fn min_time(&self) -> Option<i64> {
        let a = self.closed.first().map(|c| c.min_t).or_else(|| self.head.first_t());
        let b = self.ooo.as_ref().and_then(|o| o.first()).map(|s| s.t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Newest stored timestamp, if any sample is stored.
    pub fn max_time(&self) -> Option<i64> {
        let a = self.head.last().map(|s| s.t).or_else(|| self.closed.last().map(|c| c.max_t));
        let b = self.ooo.as_ref().and_then(|o| o.last()).map(|s| s.t);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn num_samples(&self) -> usize {
        self.closed.iter().map(ClosedChunk::num_samples).sum::<usize>()
            + self.head.num_samples()
            + self.ooo.as_ref().map_or(0, |o| o.len())
    }

    /// Drops every sample older than `mint`; returns how many were dropped. Whole chunks are
    /// dropped only when all their samples are older (like Prometheus, a chunk straddling
    /// `mint` is kept whole; queries filter by time anyway).
    pub fn truncate(&mut self, mint: i64) -> usize {
        let mut dropped = 0;
        let keep_from = self.closed.iter().position(|c| c.max_t >= mint).unwrap_or(self.closed.len());
        for c in self.closed.drain(..keep_from) {
            dropped += c.num_samples();
        }
        if self.head.last().is_some_and(|s| s.t < mint) {
            dropped += self.head.num_samples();
            self.head = XorEncoder::new();
        }
        if let Some(o) = &mut self.ooo {
            let before = o.len();
            o.retain(|s| s.t >= mint);
            dropped += before - o.len();
            if o.is_empty() {
                self.ooo = None;
            }
        }
        self.closed.shrink_to_fit();
        dropped
    }

    /// Every stored sample in storage order: closed chunks, the open chunk, then the
    /// out-of-order buffer (so not globally sorted when OOO samples exist).
    pub fn all_samples(&self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(self.num_samples());
        for c in &self.closed {
            if let Ok(it) = XorIter::new(&c.data) {
                out.extend(it);
            }
        }
        if let Ok(it) = XorIter::new(self.head.bytes()) {
            out.extend(it);
        }
        if let Some(o) = &self.ooo {
            out.extend(o.iter().copied());
        }
        out
    }

    /// Removes the samples in `[mint, maxt]` by re-encoding the rest. The append rules keep
    /// using the newest timestamp ever appended (like Prometheus's tombstones, a deletion
    /// does not reopen the past). Returns how many samples were removed.
    pub fn delete_range(&mut self, mint: i64, maxt: i64, o: &ChunkOpts) -> usize {
        let mut all = self.all_samples();
        let before = all.len();
        all.retain(|s| s.t < mint || s.t > maxt);
        let removed = before - all.len();
        if removed == 0 {
            return 0;
        }
        all.sort_by_key(|s| s.t);
        let (max_t, last_v) = (self.max_t, self.last_v);
        self.closed.clear();
        self.head = XorEncoder::new();
        self.ooo = None;
        self.max_t = i64::MIN;
        for s in all {
            self.append_in_order(s.t, s.v, o);
        }
        self.max_t = max_t;
        self.last_v = last_v;
        removed
    }

    /// Approximate heap + inline bytes of this series (for stats and the memory figure).
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.labels.heap_bytes()
            + self.head.size()
            + self
                .closed
                .iter()
                .map(|c| c.data.len() + 16 + std::mem::size_of::<ClosedChunk>())
                .sum::<usize>()
            + self.ooo.as_ref().map_or(0, |o| o.capacity() * 16)
    }

    /// Text form of the labels for error messages.
    pub fn name(&self) -> String {
        self.labels.to_labels().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_format::Labels;

    const O: ChunkOpts = ChunkOpts { samples_target: 120, bytes_max: 1024, block_range_ms: 7_200_000 };
    const B: SampleBounds = SampleBounds { min_valid_t: i64::MIN, head_max_t: i64::MIN, ooo_window_ms: 0 };

    fn series() -> MemSeries {
        MemSeries::new(PackedLabels::pack(&Labels::from_pairs([("__name__", "x")])))
    }

    fn put(s: &mut MemSeries, t: i64, v: f64, b: &SampleBounds) -> Result<Placement, AppendError> {
        let p = s.check(t, v, b)?;
        s.store(t, v, p, &O);
        Ok(p)
    }

    #[test]
    fn regular_scrapes_cut_at_120_and_at_block_boundaries() {
        let mut s = series();
        // 15 s scrape interval over 4 block ranges.
        for i in 0..(4 * 480) {
            put(&mut s, i * 15_000, i as f64, &B).unwrap();
        }
        s.cut();
        assert!(
            s.closed.iter().all(|c| c.num_samples() == 120),
            "{:?}",
            s.closed.iter().map(|c| c.num_samples()).collect::<Vec<_>>()
        );
        for c in &s.closed {
            assert_eq!(
                c.min_t.div_euclid(O.block_range_ms),
                c.max_t.div_euclid(O.block_range_ms),
                "chunk spans a block boundary"
            );
        }
        assert_eq!(s.num_samples(), 4 * 480);
    }

    #[test]
    fn chunks_respect_the_byte_cap() {
        let mut s = series();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            put(&mut s, i, f64::from_bits(x >> 2), &B).unwrap();
        }
        assert!(s.closed.len() > 10);
        assert!(s.closed.iter().all(|c| c.data.len() <= 1024));
    }

    #[test]
    fn duplicate_and_out_of_order_rules() {
        let mut s = series();
        put(&mut s, 100, 1.0, &B).unwrap();
        assert_eq!(put(&mut s, 100, 1.0, &B).unwrap(), Placement::Duplicate);
        assert!(matches!(put(&mut s, 100, 2.0, &B), Err(AppendError::DuplicateTimestamp { t: 100, .. })));
        assert!(matches!(put(&mut s, 50, 2.0, &B), Err(AppendError::OutOfOrder { t: 50, last_t: 100, .. })));
        let w = SampleBounds { ooo_window_ms: 30, head_max_t: 100, ..B };
        assert!(matches!(put(&mut s, 69, 2.0, &w), Err(AppendError::TooOld { t: 69, min_t: 70, .. })));
        assert_eq!(put(&mut s, 70, 7.0, &w).unwrap(), Placement::OutOfOrder);
        assert_eq!(put(&mut s, 70, 7.0, &w).unwrap(), Placement::Duplicate);
        assert!(put(&mut s, 70, 8.0, &w).is_err());
        let nan = f64::from_bits(0x7ff8_0000_0000_0001);
        put(&mut s, 101, nan, &B).unwrap();
        assert_eq!(put(&mut s, 101, nan, &B).unwrap(), Placement::Duplicate);
        let bounded = SampleBounds { min_valid_t: 200, ..B };
        assert!(matches!(put(&mut s, 150, 1.0, &bounded), Err(AppendError::OutOfBounds { .. })));
        assert_eq!(s.min_time(), Some(70));
        assert_eq!(s.max_time(), Some(101));
    }
}
