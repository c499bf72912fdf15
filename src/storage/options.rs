//! [`Options`] of a database and the WAL's [`FsyncPolicy`]. Owns defaults and their checks.

use super::error::StorageError;
use std::time::Duration;

/// When the WAL is made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `commit` returns only after the WAL bytes are written and fsynced (group commit: one
    /// fsync covers every commit waiting at that moment).
    Always,
    /// `commit` returns after the WAL bytes are written to the OS (they survive a crash of the
    /// process, not of the machine); a background thread fsyncs every interval.
    Interval(Duration),
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        FsyncPolicy::Interval(Duration::from_millis(1000))
    }
}

/// Settings of a database. `Options::default()` matches Prometheus's defaults where one exists.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of virtual shards for a *new* data directory (default 64). An existing directory
    /// keeps the number recorded at creation; this value is then ignored (logged if different).
    pub shards: usize,
    /// WAL durability (default `Interval(1000 ms)`).
    pub fsync: FsyncPolicy,
    /// How far (ms) behind the newest sample in the head a sample may be and still be accepted
    /// out of order (default 0: out-of-order samples are rejected, as in Prometheus).
    pub out_of_order_window_ms: i64,
    /// Block range (ms, default 2 h). Head chunks never span a multiple of it.
    pub block_range_ms: i64,
    /// Most series the head may hold; creating more fails with `TooManySeries` (default none).
    pub max_active_series: Option<usize>,
    /// Most new series created per second (token bucket, burst = one second's worth); beyond
    /// it `append` fails with `NewSeriesRateLimited` (default none).
    pub new_series_per_second_max: Option<u64>,
    /// WAL segment size in bytes after which a new segment file is started (default 128 MiB).
    pub wal_segment_bytes: u64,
    /// Target samples per head chunk (default 120, as Prometheus).
    pub chunk_samples_target: usize,
    /// Byte size after which a head chunk is cut regardless of the sample target (default 1024).
    pub chunk_bytes_max: usize,
    /// Blocks whose end is older than this (ms) behind the newest block's end are deleted
    /// (default 15 days; 0 keeps everything).
    pub retention_ms: i64,
    /// When the blocks together take more bytes than this, the oldest are deleted until they
    /// fit (default 0: no size limit).
    pub retention_bytes: u64,
    /// Run head persistence, compaction and retention on a background thread (default true).
    /// Without it, call `Db::compact` yourself.
    pub background_compaction: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shards: 64,
            fsync: FsyncPolicy::default(),
            out_of_order_window_ms: 0,
            block_range_ms: 2 * 3600 * 1000,
            max_active_series: None,
            new_series_per_second_max: None,
            wal_segment_bytes: 128 << 20,
            chunk_samples_target: 120,
            chunk_bytes_max: 1024,
            retention_ms: 15 * 24 * 3600 * 1000,
            retention_bytes: 0,
            background_compaction: true,
        }
    }
}

/// Most shards a data directory may have (the shard index is 16 bits of a `SeriesRef`).
pub const SHARDS_MAX: usize = 1 << 16;

impl Options {
    pub(crate) fn check(&self) -> Result<(), StorageError> {
        let bad = |m: String| Err(StorageError::InvalidOptions(m));
        if self.shards == 0 || self.shards > SHARDS_MAX {
            return bad(format!("shards = {} must be in 1..={SHARDS_MAX}", self.shards));
        }
        if self.out_of_order_window_ms < 0 {
            return bad(format!("out_of_order_window_ms = {} must be >= 0", self.out_of_order_window_ms));
        }
        if self.block_range_ms <= 0 {
            return bad(format!("block_range_ms = {} must be > 0", self.block_range_ms));
        }
        if self.wal_segment_bytes < 4096 {
            return bad(format!("wal_segment_bytes = {} must be >= 4096", self.wal_segment_bytes));
        }
        if !(1..=16384).contains(&self.chunk_samples_target) {
            return bad(format!("chunk_samples_target = {} must be in 1..=16384", self.chunk_samples_target));
        }
        if self.chunk_bytes_max < 16 {
            return bad(format!("chunk_bytes_max = {} must be >= 16", self.chunk_bytes_max));
        }
        if self.retention_ms < 0 {
            return bad(format!("retention_ms = {} must be >= 0", self.retention_ms));
        }
        if let FsyncPolicy::Interval(d) = self.fsync
            && d.is_zero()
        {
            return bad("fsync interval must be > 0 (use FsyncPolicy::Always)".into());
        }
        Ok(())
    }
}
