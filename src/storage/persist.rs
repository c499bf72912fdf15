//! The `Db` side of blocks: the list of open blocks, head persistence (head → block, then
//! head truncation and WAL checkpoint), block compaction, retention, deletion in blocks
//! and clean-tombstones, plus the background thread that runs them. Owns the order of these
//! steps (what makes them crash-safe, see below); writing and reading block bytes is
//! `block/`.
//!
//! # Crash safety
//!
//! Every new block is written to `<ulid>.tmp-for-creation`, fsynced and renamed into place
//! (`block::publish_block_dir`); only then is the head truncated and the WAL checkpointed,
//! so a crash before the rename loses nothing (the WAL still holds the data; the leftover is
//! removed at open) and a crash after it leaves the data both in the block and in the WAL:
//! queries deduplicate identical samples, and the next persistence writes an overlapping
//! block that compaction merges. A compaction publishes the merged block (whose
//! `meta.json` lists its parents) before removing its inputs; at open, blocks named as a
//! parent of another block are removed. Removal renames to `<ulid>.tmp-for-deletion` first.
//!
//! # Head persistence and appends
//!
//! When the head spans more than 1.5 block ranges, the oldest full range `[lo, hi)` is
//! persisted. Before snapshotting, the head's minimum valid time is raised to `hi` under the
//! commit barrier, so no sample can land in `[lo, hi)` after the snapshot (it would be lost
//! by the truncation). In-order samples that old are already older than Prometheus's
//! appendable window (head max − range/2); with an out-of-order window, samples older than
//! `hi` are refused from then on ("out of bounds").

use super::block::compact::{level_ranges, merge_blocks, plan};
use super::block::write::BlockBuilder;
use super::block::{Block, remove_block_dir};
use super::db::Db;
use super::dir::sync_dir;
use super::error::StorageError;
use cairn_format::Matcher;
use cairn_format::block::tombstones::Interval;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What one block looks like from outside (for status pages and tools).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockInfo {
    pub ulid: String,
    pub min_time: i64,
    /// Exclusive.
    pub max_time: i64,
    pub num_series: u64,
    pub num_samples: u64,
    pub num_chunks: u64,
    pub size_bytes: u64,
    pub level: u32,
    pub dir: PathBuf,
}

impl BlockInfo {
    fn of(b: &Block) -> BlockInfo {
        BlockInfo {
            ulid: b.ulid().to_string(),
            min_time: b.min_time(),
            max_time: b.max_time(),
            num_series: b.meta.stats.num_series,
            num_samples: b.meta.stats.num_samples,
            num_chunks: b.meta.stats.num_chunks,
            size_bytes: b.size_bytes(),
            level: b.meta.compaction.level,
            dir: b.dir.clone(),
        }
    }
}

/// What one [`Db::compact`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Blocks written from the head.
    pub head_blocks: usize,
    /// Merges of blocks run.
    pub merges: usize,
    /// Blocks deleted by retention.
    pub retention_deleted: usize,
}

/// How often the background thread looks for work.
const BACKGROUND_TICK: Duration = Duration::from_millis(1000);

impl Db {
    /// Blocks overlapping `[mint, maxt]` (inclusive), oldest first.
    pub(crate) fn blocks_in(&self, mint: i64, maxt: i64) -> Vec<Arc<Block>> {
        self.inner
            .blocks
            .read()
            .iter()
            .filter(|b| b.min_time() <= maxt && b.max_time() > mint)
            .cloned()
            .collect()
    }

    /// Every open block, oldest first.
    pub fn blocks(&self) -> Vec<BlockInfo> {
        self.inner.blocks.read().iter().map(|b| BlockInfo::of(b)).collect()
    }

    /// Block directories that could not be opened (skipped), with the reason.
    pub fn broken_blocks(&self) -> Vec<(PathBuf, String)> {
        self.inner.broken.clone()
    }

    /// Checks every checksum of every block (reads everything); the first error per block.
    pub fn verify_blocks(&self) -> Vec<(PathBuf, StorageError)> {
        let blocks = self.inner.blocks.read().clone();
        blocks.iter().filter_map(|b| b.verify().err().map(|e| (b.dir.clone(), e))).collect()
    }

    fn check_open(&self) -> Result<(), StorageError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(())
    }

    /// Runs everything due, in order: head persistence, compaction of blocks, retention.
    /// The background thread calls this; tests and tools may call it directly.
    pub fn compact(&self) -> Result<CompactReport, StorageError> {
        let _c = self.inner.compact_lock.lock();
        self.check_open()?;
        let head_blocks = self.persist_head_locked(false)?;
        let merges = self.compact_blocks_locked()?;
        let retention_deleted = self.apply_retention_locked()?;
        Ok(CompactReport { head_blocks, merges, retention_deleted })
    }

    /// Writes every full block range of the head that is due (span > 1.5 ranges) — or, with
    /// `all`, every range holding samples — as blocks, truncating the head after each.
    /// Returns the number of blocks written.
    pub fn persist_head(&self, all: bool) -> Result<usize, StorageError> {
        let _c = self.inner.compact_lock.lock();
        self.check_open()?;
        self.persist_head_locked(all)
    }

    fn persist_head_locked(&self, all: bool) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let range = inner.opts.block_range_ms;
        let mut written = 0;
        loop {
            let hmin = inner.head.min_t.load(Ordering::Relaxed);
            let hmax = inner.head.max_t.load(Ordering::Relaxed);
            if hmin == i64::MAX || hmax < hmin {
                break;
            }
            let due = hmax - hmin > range / 2 * 3;
            if !due && !all {
                break;
            }
            let lo = hmin.div_euclid(range) * range;
            let hi = lo + range;
            {
                let _b = inner.barrier.write();
                inner.head.min_valid_t.fetch_max(hi, Ordering::Relaxed);
            }
            let snap = inner.head.select(lo, hi - 1, &[]);
            let mut builder = BlockBuilder::new(&inner.dir, lo, hi)?;
            let mut reused = 0usize;
            for s in &snap {
                // The head's chunks never span a range boundary: reuse them when they are
                // exactly the series' samples in the range.
                if let Some(chunks) = s.plain_chunks() {
                    let raw: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
                    if builder.add_series_chunks(&s.labels, &raw)? {
                        reused += 1;
                        continue;
                    }
                }
                let mut it = s.samples();
                let samples: Vec<_> = it.by_ref().collect();
                if let Some(e) = it.err() {
                    return Err(StorageError::InvalidBlockInput(format!("head series {}: {e}", s.labels)));
                }
                builder.add_series(&s.labels, &samples)?;
            }
            drop(snap);
            if let Some((dir, meta)) = builder.finish(1, Vec::new(), Vec::new())? {
                tracing::info!(block = %meta.ulid, mint = lo, maxt = hi, series = meta.stats.num_series,
                    samples = meta.stats.num_samples, series_with_head_chunks_reused = reused,
                    "head range written as a block");
                self.add_block(Arc::new(Block::open(&dir)?));
                written += 1;
            }
            self.truncate_head(hi)?;
            if all && inner.head.min_t.load(Ordering::Relaxed) == i64::MAX {
                break;
            }
        }
        Ok(written)
    }

    fn add_block(&self, b: Arc<Block>) {
        let mut list = self.inner.blocks.write();
        list.push(b);
        list.sort_by_key(|b| (b.min_time(), b.ulid()));
    }

    /// Registers a published block directory (e.g. written by `cairn import`).
    pub fn open_block(&self, dir: &std::path::Path) -> Result<BlockInfo, StorageError> {
        let b = Arc::new(Block::open(dir)?);
        let info = BlockInfo::of(&b);
        self.add_block(b);
        Ok(info)
    }

    /// Writes a point-in-time copy of the database into `dst` (created; must not exist),
    /// openable as a data directory of its own: every block (hard-linked where the file
    /// system allows, copied otherwise) and, with `with_head`, the head's samples as one more
    /// block covering `[head min, head max]` (like Prometheus's snapshot). `cairn.meta` is
    /// copied so the shard count is kept; the WAL is not. Holds the compaction lock, so no
    /// block disappears while it is linked. Returns the blocks in the snapshot.
    pub fn snapshot_into(&self, dst: &Path, with_head: bool) -> Result<Vec<BlockInfo>, StorageError> {
        let _c = self.inner.compact_lock.lock();
        self.check_open()?;
        let inner = &*self.inner;
        fs::create_dir(dst).map_err(|e| StorageError::io(dst, e))?;
        let meta_src = inner.dir.join(super::dir::META_FILE);
        link_or_copy(&meta_src, &dst.join(super::dir::META_FILE))?;
        let mut out = Vec::new();
        for b in inner.blocks.read().clone().iter() {
            let name = b.ulid().to_string();
            let tmp = dst.join(format!("{name}{}", super::block::TMP_CREATION));
            link_tree(&b.dir, &tmp)?;
            sync_dir(&tmp)?;
            let dir = super::block::publish_block_dir(dst, &tmp, b.ulid())?;
            out.push(BlockInfo::of(&Block::open(&dir)?));
        }
        if with_head {
            let hmin = inner.head.min_t.load(Ordering::Relaxed);
            let hmax = inner.head.max_t.load(Ordering::Relaxed);
            if hmin != i64::MAX && hmax >= hmin {
                let maxt = hmax.saturating_add(1);
                let snap = inner.head.select(hmin, hmax, &[]);
                let mut builder = BlockBuilder::new(dst, hmin, maxt)?;
                for s in &snap {
                    let mut it = s.samples();
                    let samples: Vec<_> = it.by_ref().filter(|x| x.t >= hmin && x.t < maxt).collect();
                    if let Some(e) = it.err() {
                        return Err(StorageError::InvalidBlockInput(format!(
                            "head series {}: {e}",
                            s.labels
                        )));
                    }
                    builder.add_series(&s.labels, &samples)?;
                }
                drop(snap);
                if let Some((dir, meta)) = builder.finish(1, Vec::new(), Vec::new())? {
                    tracing::info!(block = %meta.ulid, dir = %dir.display(), series = meta.stats.num_series,
                        samples = meta.stats.num_samples, "head written into a snapshot block");
                    out.push(BlockInfo::of(&Block::open(&dir)?));
                }
            }
        }
        sync_dir(dst)?;
        Ok(out)
    }

    /// Window sizes of the compaction levels.
    fn ranges(&self) -> Vec<i64> {
        let o = &self.inner.opts;
        const DAYS_31: i64 = 31 * 24 * 3600 * 1000;
        let max = if o.retention_ms > 0 { (o.retention_ms / 10).min(DAYS_31) } else { DAYS_31 };
        level_ranges(o.block_range_ms, max)
    }

    /// Runs merges until the planner finds nothing; returns how many ran.
    fn compact_blocks_locked(&self) -> Result<usize, StorageError> {
        let ranges = self.ranges();
        let mut merges = 0;
        // Bounded: every merge reduces the number of blocks by at least one.
        let limit = self.inner.blocks.read().len();
        while merges < limit {
            let mut blocks = self.inner.blocks.read().clone();
            {
                let failed = self.inner.compact_failed.lock();
                blocks.retain(|b| !failed.contains(&b.ulid()));
            }
            let Some(inputs) = plan(&blocks, &ranges) else { break };
            if let Err(e) = self.replace_blocks(&inputs) {
                tracing::error!(error = %e, blocks = ?inputs.iter().map(|b| b.ulid().to_string()).collect::<Vec<_>>(),
                    "merging blocks failed; they are left as they are and not merged again until reopen");
                self.inner.compact_failed.lock().extend(inputs.iter().map(|b| b.ulid()));
                return Err(e);
            }
            merges += 1;
        }
        Ok(merges)
    }

    /// Merges `inputs` into one block (or none, if nothing is left), swaps it in and removes
    /// the inputs.
    fn replace_blocks(&self, inputs: &[Arc<Block>]) -> Result<(), StorageError> {
        let out = merge_blocks(&self.inner.dir, inputs, |_| {})?;
        let new = match out {
            Some((dir, meta)) => {
                tracing::info!(block = %meta.ulid, inputs = inputs.len(), mint = meta.min_time,
                    maxt = meta.max_time, "blocks merged");
                Some(Arc::new(Block::open(&dir)?))
            }
            None => None,
        };
        {
            let mut list = self.inner.blocks.write();
            list.retain(|b| !inputs.iter().any(|i| Arc::ptr_eq(i, b)));
            if let Some(n) = new {
                list.push(n);
                list.sort_by_key(|b| (b.min_time(), b.ulid()));
            }
        }
        for b in inputs {
            remove_block_dir(&b.dir)?;
        }
        Ok(())
    }

    /// Drops whole blocks, oldest first: those ending more than `retention_ms` before the
    /// newest block's end, then while the total size exceeds `retention_bytes`.
    fn apply_retention_locked(&self) -> Result<usize, StorageError> {
        let o = &self.inner.opts;
        let blocks = self.inner.blocks.read().clone();
        let Some(newest) = blocks.iter().map(|b| b.max_time()).max() else { return Ok(0) };
        let mut drop: Vec<Arc<Block>> = Vec::new();
        if o.retention_ms > 0 {
            drop.extend(blocks.iter().filter(|b| newest - b.max_time() > o.retention_ms).cloned());
        }
        if o.retention_bytes > 0 {
            let mut total: u64 = blocks.iter().map(|b| b.size_bytes()).sum();
            total -= drop.iter().map(|b| b.size_bytes()).sum::<u64>();
            let mut by_age = blocks.clone();
            by_age.sort_by_key(|b| b.max_time());
            for b in by_age {
                if total <= o.retention_bytes {
                    break;
                }
                if !drop.iter().any(|d| Arc::ptr_eq(d, &b)) {
                    total -= b.size_bytes();
                    drop.push(b);
                }
            }
        }
        if drop.is_empty() {
            return Ok(0);
        }
        self.inner.blocks.write().retain(|b| !drop.iter().any(|d| Arc::ptr_eq(d, b)));
        for b in &drop {
            tracing::info!(block = %b.ulid(), "block deleted by retention");
            remove_block_dir(&b.dir)?;
        }
        Ok(drop.len())
    }

    /// Adds tombstones for `[mint, maxt]` of matching series to every overlapping block.
    /// Called by `Db::delete` with the compaction lock held. Returns series affected.
    pub(crate) fn delete_in_blocks(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<usize, StorageError> {
        let blocks = self.blocks_in(mint, maxt);
        let mut n = 0;
        for b in blocks {
            let ids = b.matching_ids(matchers)?;
            if ids.is_empty() {
                continue;
            }
            let mut t = (*b.tombstones()).clone();
            for id in &ids {
                t.add(u64::from(id.0), Interval::new(mint, maxt));
            }
            b.set_tombstones(t)?;
            n += ids.len();
        }
        Ok(n)
    }

    /// Rewrites every block that has tombstones without the deleted data (a block left
    /// empty is removed). Returns the number of blocks rewritten.
    pub fn clean_tombstones(&self) -> Result<usize, StorageError> {
        let _c = self.inner.compact_lock.lock();
        self.check_open()?;
        let blocks = self.inner.blocks.read().clone();
        let mut n = 0;
        for b in blocks.iter().filter(|b| !b.tombstones().is_empty()) {
            self.replace_blocks(std::slice::from_ref(b))?;
            n += 1;
        }
        Ok(n)
    }
}

/// Hard-links `from` to `to`, copying (and fsyncing) when linking fails (e.g. another file
/// system).
fn link_or_copy(from: &Path, to: &Path) -> Result<(), StorageError> {
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map_err(|e| StorageError::io(to, e))?;
    fs::File::open(to).and_then(|f| f.sync_all()).map_err(|e| StorageError::io(to, e))
}

/// Recreates the directory tree `from` under `to` with every file linked or copied.
fn link_tree(from: &Path, to: &Path) -> Result<(), StorageError> {
    fs::create_dir(to).map_err(|e| StorageError::io(to, e))?;
    for e in fs::read_dir(from).map_err(|e| StorageError::io(from, e))? {
        let e = e.map_err(|e| StorageError::io(from, e))?;
        let ty = e.file_type().map_err(|x| StorageError::io(e.path(), x))?;
        let dst = to.join(e.file_name());
        if ty.is_dir() {
            link_tree(&e.path(), &dst)?;
            sync_dir(&dst)?;
        } else if ty.is_file() {
            link_or_copy(&e.path(), &dst)?;
        }
    }
    Ok(())
}

/// Starts the background thread: every tick, runs [`Db::compact`] until the `Db` is closed
/// or dropped.
pub(crate) fn spawn_background(db: &Db) {
    let weak: Weak<_> = Arc::downgrade(&db.inner);
    let spawned = std::thread::Builder::new().name("cairn-compact".into()).spawn(move || {
        loop {
            std::thread::sleep(BACKGROUND_TICK);
            let Some(inner) = weak.upgrade() else { break };
            let db = Db { inner };
            if db.inner.closed.load(Ordering::Acquire) {
                break;
            }
            if let Err(e) = db.compact() {
                tracing::warn!(error = %e, "background compaction failed; retrying later");
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the background compaction thread");
    }
}

#[cfg(test)]
mod tests {
    use crate::storage::{Db, Options};
    use cairn_format::block::index::SeriesId;
    use cairn_format::{Labels, Matcher};

    /// Head → block re-encodes the head's XOR chunks (as decimal chunks where that is
    /// smaller) for in-order series and for a series with an out-of-order sample; both read
    /// back identically.
    #[test]
    fn head_chunks_are_reencoded_compactly_also_out_of_order() {
        use cairn_format::block::dchunk::{ENCODING_DECIMAL, decode_block_chunk};
        let d = tempfile::tempdir().unwrap();
        let o = Options {
            block_range_ms: 1000,
            out_of_order_window_ms: 1500,
            background_compaction: false,
            ..Options::default()
        };
        let db = Db::open(d.path(), o).unwrap();
        let (a, b) = (Labels::from_pairs([("s", "a")]), Labels::from_pairs([("s", "b")]));
        let mut app = db.appender();
        for t in (0..2000).step_by(10) {
            app.append(&a, t, t as f64).unwrap();
            app.append(&b, t + 1, 1.0).unwrap();
            app.commit().unwrap();
        }
        // An out-of-order sample of b inside the first range, before persistence.
        let mut db_oo = db.appender();
        db_oo.append(&b, 505, 7.0).unwrap();
        db_oo.commit().unwrap();
        let head_a: Vec<cairn_format::Sample> = db.inner.head.select(0, 999, &[Matcher::equal("s", "a")])[0]
            .plain_chunks()
            .unwrap()
            .iter()
            .flat_map(|c| cairn_format::decode_all(c).unwrap())
            .collect();
        let before = crate::storage::util_select(&db);
        assert_eq!(db.persist_head(false).unwrap(), 1);
        let block = db.inner.blocks.read()[0].clone();
        let cr = block.chunk_reader().unwrap();
        let read = |id: u32, want: u8| {
            let e = block.series_entry(SeriesId(id)).unwrap();
            let mut out = Vec::new();
            let mut encodings = Vec::new();
            for m in &e.chunks {
                let c = cr.chunk(m.chunk_ref).unwrap();
                encodings.push(c.encoding);
                decode_block_chunk(c.encoding, c.data, &mut out).unwrap();
            }
            assert!(encodings.iter().all(|&x| x == want), "{encodings:?}");
            (e.labels, out)
        };
        let (la, sa) = read(0, ENCODING_DECIMAL);
        assert_eq!(la, a);
        assert_eq!(sa, head_a);
        // b: a constant with one outlier and one irregular timestamp, where the XOR chunk
        // (1 bit per unchanged value or interval) is smaller and is kept.
        let (lb, sb) = read(1, cairn_format::block::chunks::ENCODING_XOR);
        assert_eq!(lb, b);
        assert_eq!(sb.len(), 101, "b's 100 in-order samples plus the out-of-order one");
        assert!(sb.iter().any(|s| s.t == 505 && s.v == 7.0));
        assert_eq!(crate::storage::util_select(&db), before);
    }
}
