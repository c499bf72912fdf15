//! Compaction of blocks: the planner (overlapping blocks first, then leveled merges of
//! adjacent blocks into aligned windows of growing size) and the merge itself (a k-way walk
//! over the inputs' series in label order; samples of one series from several blocks are
//! merged, identical timestamps kept once, tombstones applied). Owns no `Db` state: the
//! caller swaps the block list and removes the inputs.

use super::Block;
use super::write::BlockBuilder;
use crate::storage::error::StorageError;
use cairn_format::Sample;
use cairn_format::block::chunks::ChunkSegmentReader;
use cairn_format::block::index::{SeriesEntry, SeriesId};
use cairn_format::block::meta::{BlockDesc, BlockMeta, Ulid};
use cairn_format::block::tombstones::Tombstones;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Window sizes of the levels: `block_range × 1, 3, 12`, then `× 3` per level (2h → 6h →
/// 24h → 72h … with the default 2h range, as DESIGN.md intends), while ≤ `max_range` (at
/// least one level). Each size divides the next, so aligned windows nest.
pub fn level_ranges(block_range: i64, max_range: i64) -> Vec<i64> {
    let mut v = vec![block_range];
    let mut r = block_range;
    let mut k = 0;
    loop {
        let factor = if k == 1 { 4 } else { 3 };
        let Some(next) = r.checked_mul(factor) else { break };
        if next > max_range {
            break;
        }
        v.push(next);
        r = next;
        k += 1;
    }
    v
}

/// The next set of blocks to merge, if any: a group of (transitively) overlapping blocks,
/// else two or more blocks inside one aligned window of a level range whose window is closed
/// (ends at or before the newest block's end). `blocks` sorted by min time.
pub fn plan(blocks: &[Arc<Block>], ranges: &[i64]) -> Option<Vec<Arc<Block>>> {
    let mut i = 0;
    while i < blocks.len() {
        let mut end = blocks[i].max_time();
        let mut j = i + 1;
        while j < blocks.len() && blocks[j].min_time() < end {
            end = end.max(blocks[j].max_time());
            j += 1;
        }
        if j - i >= 2 {
            return Some(blocks[i..j].to_vec());
        }
        i = j;
    }
    let newest = blocks.iter().map(|b| b.max_time()).max()?;
    for &r in ranges.iter().skip(1) {
        let mut k = 0;
        while k < blocks.len() {
            let w0 = blocks[k].min_time().div_euclid(r) * r;
            let w1 = w0.saturating_add(r);
            let mut m = k;
            while m < blocks.len() && blocks[m].min_time() >= w0 && blocks[m].max_time() <= w1 {
                m += 1;
            }
            if m == k {
                k += 1;
                continue;
            }
            if m - k >= 2 && w1 <= newest {
                return Some(blocks[k..m].to_vec());
            }
            k = m;
        }
    }
    None
}

/// Sorted by time, one sample per timestamp (the first one given wins).
pub fn merge_samples(mut v: Vec<Sample>) -> Vec<Sample> {
    v.sort_by_key(|s| s.t);
    v.dedup_by_key(|s| s.t);
    v
}

struct Cursor<'a> {
    block: &'a Block,
    chunks: ChunkSegmentReader<'a>,
    tombstones: Arc<Tombstones>,
    next: u32,
    cur: Option<(SeriesId, SeriesEntry)>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<(), StorageError> {
        self.cur = None;
        if self.next < self.block.num_series() {
            let id = SeriesId(self.next);
            self.cur = Some((id, self.block.series_entry(id)?));
            self.next += 1;
        }
        Ok(())
    }
}

/// Merges `inputs` into one new block covering their union in `parent` (tombstones
/// applied). `progress` is called after each series. Returns `None` when nothing is left.
pub fn merge_blocks(
    parent: &Path,
    inputs: &[Arc<Block>],
    mut progress: impl FnMut(u64),
) -> Result<Option<(PathBuf, BlockMeta)>, StorageError> {
    let mint = inputs.iter().map(|b| b.min_time()).min().unwrap_or(0);
    let maxt = inputs.iter().map(|b| b.max_time()).max().unwrap_or(0);
    let level = inputs.iter().map(|b| b.meta.compaction.level).max().unwrap_or(0) + 1;
    let mut sources: Vec<Ulid> =
        inputs.iter().flat_map(|b| b.meta.compaction.sources.iter().copied()).collect();
    sources.sort();
    sources.dedup();
    let parents: Vec<BlockDesc> = inputs
        .iter()
        .map(|b| BlockDesc { ulid: b.ulid(), min_time: b.min_time(), max_time: b.max_time() })
        .collect();
    let mut builder = BlockBuilder::new(parent, mint, maxt)?;
    let mut cursors: Vec<Cursor> = Vec::with_capacity(inputs.len());
    for b in inputs {
        cursors.push(Cursor {
            block: b,
            chunks: b.chunk_reader()?,
            tombstones: b.tombstones(),
            next: 0,
            cur: None,
        });
    }
    for c in &mut cursors {
        c.advance()?;
    }
    let mut n = 0u64;
    while let Some(min) = cursors.iter().filter_map(|c| c.cur.as_ref().map(|(_, e)| &e.labels)).min().cloned()
    {
        let mut samples = Vec::new();
        for c in &mut cursors {
            if let Some((id, e)) = &c.cur
                && e.labels == min
            {
                samples.extend(c.block.samples_of(&c.chunks, &c.tombstones, *id, e, mint, maxt - 1)?);
                c.advance()?;
            }
        }
        builder.add_series(&min, &merge_samples(samples))?;
        n += 1;
        progress(n);
    }
    builder.finish(level, sources, parents)
}

#[cfg(test)]
mod tests {
    use super::level_ranges;

    #[test]
    fn levels_are_2h_6h_24h_then_times_3() {
        const H: i64 = 3_600_000;
        assert_eq!(level_ranges(2 * H, 31 * 24 * H), vec![2 * H, 6 * H, 24 * H, 72 * H, 216 * H, 648 * H]);
        assert_eq!(level_ranges(2 * H, 2 * H), vec![2 * H]);
        assert_eq!(level_ranges(2 * H, 23 * H), vec![2 * H, 6 * H]);
        assert_eq!(level_ranges(i64::MAX / 2, i64::MAX), vec![i64::MAX / 2]);
    }
}
