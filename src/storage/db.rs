//! [`Db`]: opening a data directory (lock, metadata, WAL replay), handing out appenders and
//! queriers, head truncation with a WAL checkpoint, statistics and close. Owns the
//! lifecycle and the commit barrier; the write path itself is `appender.rs` + `head/append.rs`.

use super::block::{self, Block};
use super::dir::{self, DirLock};
use super::error::StorageError;
use super::head::series::ChunkOpts;
use super::head::stats::HeadStats;
use super::head::{Head, SeriesRef};
use super::options::Options;
use super::wal::replay::{ReplayReport, replay};
use super::wal::{CheckpointWriter, Wal};
use super::{Appender, Querier};
use cairn_format::record::{self, Record, SeriesRecord};
use parking_lot::{Mutex, RwLock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// An open database. Cheap to clone (an `Arc` inside); `Send + Sync`; every method may be
/// called from any thread.
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub head: Head,
    pub wal: Arc<Wal>,
    /// Commits and series creations hold it shared; truncation/checkpoint and close hold it
    /// exclusively, so they see no half-applied commit. Lock order: barrier → shard → WAL.
    pub barrier: RwLock<()>,
    pub closed: AtomicBool,
    lock: Mutex<Option<DirLock>>,
    pub replay: ReplayReport,
    pub opts: Options,
    /// Open blocks sorted by (min time, ULID); replaced as a whole under the write lock.
    pub blocks: RwLock<Vec<Arc<Block>>>,
    /// Block directories that failed to open (skipped), with the error text.
    pub broken: Vec<(PathBuf, String)>,
    /// Serialises head persistence, compaction, retention, deletion in blocks and close.
    /// Lock order: compact_lock → barrier → shard → WAL.
    pub compact_lock: Mutex<()>,
    /// Blocks whose merge failed (e.g. a corrupt chunk): left out of compaction planning
    /// until the next open, so the failure is not retried (and logged) every tick.
    pub compact_failed: Mutex<std::collections::HashSet<cairn_format::block::meta::Ulid>>,
    /// `Options::new_series_per_second_max`, if set.
    pub new_series_limit: Option<super::rate::SeriesRateLimiter>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.load(Ordering::Acquire) {
            let _ = self.wal.close();
        }
    }
}

/// Most sample entries per WAL record (keeps frames far below the 64 MiB frame cap).
pub(crate) const RECORD_SAMPLES_MAX: usize = 1 << 18;
const RECORD_SERIES_MAX: usize = 4096;

impl Db {
    /// Opens (creating if needed) the database in `path`: takes the directory lock (a second
    /// open of the same directory fails with [`StorageError::Locked`]), reads or writes
    /// `cairn.meta` (the shard count is fixed at creation), and replays the WAL, repairing a
    /// torn or corrupt tail (reported via `tracing::warn` with file and offset).
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Db, StorageError> {
        opts.check()?;
        let dir = path.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| StorageError::io(&dir, e))?;
        let lock = dir::lock_dir(&dir)?;
        let meta = dir::load_or_create_meta(&dir, opts.shards)?;
        if meta.shards != opts.shards {
            tracing::info!(dir = %dir.display(), recorded = meta.shards, requested = opts.shards,
                "data directory keeps the shard count recorded at creation");
        }
        let (blocks, broken) = block::open_all(&dir)?;
        let broken = broken.into_iter().map(|(p, e)| (p, e.to_string())).collect();
        let wal_dir = dir.join(dir::WAL_DIR);
        std::fs::create_dir_all(&wal_dir).map_err(|e| StorageError::io(&wal_dir, e))?;
        let chunk_opts = ChunkOpts {
            samples_target: opts.chunk_samples_target,
            bytes_max: opts.chunk_bytes_max,
            block_range_ms: opts.block_range_ms,
        };
        let head = Head::new(meta.shards, chunk_opts, opts.out_of_order_window_ms, opts.max_active_series);
        if let Some(mint) = dir::load_head_min(&dir)? {
            head.min_valid_t.store(mint, Ordering::Relaxed);
        }
        let mut unknown = 0u64;
        let report = replay(&wal_dir, |rec| match rec {
            Record::Series(v) => {
                for s in v {
                    if !head.replay_series(SeriesRef(s.series_ref), &s.labels) {
                        unknown += 1;
                    }
                }
            }
            Record::Samples(v) => {
                for s in v {
                    if !head.replay_sample(SeriesRef(s.series_ref), s.t, s.v) {
                        unknown += 1;
                    }
                }
            }
            Record::Tombstones(v) => {
                for s in v {
                    head.delete_range(SeriesRef(s.series_ref), s.mint, s.maxt);
                }
            }
        })?;
        if unknown > 0 {
            tracing::warn!(dir = %wal_dir.display(), entries = unknown, "WAL entries referenced unknown series and were skipped");
        }
        tracing::debug!(dir = %dir.display(), records = report.records, "WAL replayed");
        // As Prometheus: samples older than the newest block's end are refused ("out of
        // bounds"); head persistence raised this bound before writing that block.
        if let Some(t) = blocks.iter().map(|b| b.max_time()).max() {
            head.min_valid_t.fetch_max(t, std::sync::atomic::Ordering::Relaxed);
        }
        let wal = Wal::open(&wal_dir, report.last_segment, opts.fsync, opts.wal_segment_bytes)?;
        let background = opts.background_compaction;
        let db = Db {
            inner: Arc::new(Inner {
                dir,
                head,
                wal,
                barrier: RwLock::new(()),
                closed: AtomicBool::new(false),
                lock: Mutex::new(Some(lock)),
                replay: report,
                new_series_limit: opts.new_series_per_second_max.map(super::rate::SeriesRateLimiter::new),
                opts,
                blocks: RwLock::new(blocks),
                broken,
                compact_lock: Mutex::new(()),
                compact_failed: Mutex::new(Default::default()),
            }),
        };
        if background {
            super::persist::spawn_background(&db);
        }
        Ok(db)
    }

    /// A new appender. Appenders are independent; many may commit concurrently (group commit).
    pub fn appender(&self) -> Appender {
        Appender::new(self.clone(), Default::default())
    }

    /// A new appender reusing the buffers of an earlier one ([`Appender::into_buffers`]).
    pub fn appender_with(&self, bufs: super::AppendBuffers) -> Appender {
        Appender::new(self.clone(), bufs)
    }

    /// A read view over `[mint, maxt]` (both inclusive, ms).
    pub fn querier(&self, mint: i64, maxt: i64) -> Result<Querier, StorageError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(Querier::new(self.clone(), mint, maxt))
    }

    /// Head statistics with the top 10 entries per cardinality table.
    pub fn head_stats(&self) -> HeadStats {
        self.head_stats_top(10)
    }

    /// Head statistics with the top `limit` entries per cardinality table.
    pub fn head_stats_top(&self, limit: usize) -> HeadStats {
        self.inner.head.stats(limit)
    }

    /// Series, samples and samples dropped at commit in the head: atomics only, cheap enough
    /// for every `/metrics` scrape (unlike [`Db::head_stats_top`], which walks the postings).
    pub fn head_counts(&self) -> HeadCounts {
        use std::sync::atomic::Ordering::Relaxed;
        let h = &self.inner.head;
        HeadCounts {
            series: h.num_series.load(Relaxed) as u64,
            samples: h.num_samples.load(Relaxed),
            dropped_at_commit: h.dropped_at_commit.load(Relaxed),
        }
    }

    /// What the WAL replay on open found (records read, where a damaged tail was cut).
    pub fn replay_report(&self) -> &ReplayReport {
        &self.inner.replay
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Number of virtual shards (as recorded in the data directory).
    pub fn shards(&self) -> usize {
        self.inner.head.shards.len()
    }

    /// Writes and fsyncs everything committed so far, whatever the fsync policy.
    pub fn sync(&self) -> Result<(), StorageError> {
        self.inner.wal.sync()
    }

    /// Drops head data older than `mint` (ms), refuses samples older than `mint` from now on,
    /// and checkpoints the WAL (segments up to now are replaced by a checkpoint holding the
    /// remaining head). Commits wait while this runs.
    pub fn truncate_head(&self, mint: i64) -> Result<(), StorageError> {
        let inner = &*self.inner;
        let _b = inner.barrier.write();
        if inner.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        inner.wal.check_poisoned()?;
        let (samples, series) = inner.head.truncate(mint);
        tracing::debug!(mint, samples, series, "head truncated");
        // Persist the new lower bound first: after a crash in between, replay may hold a
        // little old data that is merely out of bounds for new appends.
        let mint = inner.head.min_valid_t.load(Ordering::Relaxed);
        dir::publish_file(&inner.dir, dir::HEAD_MIN_FILE, format!("{mint}\n").as_bytes())?;
        let n = inner.wal.cut_segment()?;
        inner.wal.write_checkpoint(n, |w| write_checkpoint(&inner.head, w))
    }

    /// Deletes the samples in `[mint, maxt]` of every series matching all `matchers`
    /// (logged as tombstones, so the deletion survives a restart; in blocks, written to
    /// their `tombstones` files and applied by the next compaction or `clean_tombstones`).
    /// Returns how many series were affected (head and blocks counted separately).
    pub fn delete(
        &self,
        matchers: &[cairn_format::Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        // Held throughout, so no block is being written from the head or merged meanwhile
        // (its inputs would miss these tombstones).
        let _c = inner.compact_lock.lock();
        let in_blocks = self.delete_in_blocks(matchers, mint, maxt)?;
        let _b = inner.barrier.read();
        if inner.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        inner.wal.check_poisoned()?;
        let refs = inner.head.matching_refs(matchers);
        let mut end = 0;
        for chunk in refs.chunks(RECORD_SAMPLES_MAX) {
            let stones: Vec<_> =
                chunk.iter().map(|r| record::TombstoneRecord { series_ref: r.0, mint, maxt }).collect();
            // Log first, then apply: a tombstone replayed for data that was never deleted
            // in memory is harmless, the reverse would resurrect data.
            end = inner.wal.append(|b| record::encode_tombstones(&stones, b));
        }
        for r in &refs {
            inner.head.delete_range(*r, mint, maxt);
        }
        drop(_b);
        inner.wal.flush(end)?;
        Ok(refs.len() + in_blocks)
    }

    /// Makes everything durable, stops background work and releases the directory lock.
    /// Later calls on this `Db` (or its clones and appenders) fail with `Closed`.
    pub fn close(&self) -> Result<(), StorageError> {
        let inner = &*self.inner;
        let _c = inner.compact_lock.lock();
        let _b = inner.barrier.write();
        if inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let res = inner.wal.close();
        inner.lock.lock().take();
        res
    }
}

fn write_checkpoint(head: &Head, w: &mut CheckpointWriter) -> Result<(), StorageError> {
    let mut err = Ok(());
    let mut batch: Vec<SeriesRecord> = Vec::with_capacity(RECORD_SERIES_MAX);
    // Every series first, so that all sample records find their series on replay.
    head.dump_series(|r, labels| {
        batch.push(SeriesRecord { series_ref: r.0, labels });
        if batch.len() == RECORD_SERIES_MAX && err.is_ok() {
            err = w.record(|b| record::encode_series(&batch, b));
            batch.clear();
        }
    });
    if !batch.is_empty() && err.is_ok() {
        err = w.record(|b| record::encode_series(&batch, b));
    }
    err?;
    let mut err = Ok(());
    head.dump_samples(|samples| {
        for part in samples.chunks(RECORD_SAMPLES_MAX) {
            if err.is_ok() {
                err = w.record(|b| record::encode_samples(part, b));
            }
        }
    });
    err
}

/// See [`Db::head_counts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadCounts {
    pub series: u64,
    pub samples: u64,
    pub dropped_at_commit: u64,
}
