//! The in-memory head: a fixed number of virtual shards, each a [`Shard`] behind its own
//! `RwLock` (cache-line padded so two cores appending to different shards do not share a
//! line). A series lives in shard `stable_hash(labels) % shards`; its [`SeriesRef`] packs
//! that shard with the shard-local id. Owns head-wide counters and bounds; the per-verb code
//! is in `append.rs`, `read.rs`, `truncate.rs` and `stats.rs`.

pub mod append;
pub mod delete;
pub mod packed;
pub mod postings;
pub mod read;
pub mod series;
pub mod shard;
pub mod stats;
pub mod truncate;

use parking_lot::RwLock;
use series::{ChunkOpts, SampleBounds};
use shard::Shard;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Identifies a series in one open database: the shard in the high 16 bits, the shard-local
/// id in the low 48. Stable across restarts (it is what the WAL logs), never reused for
/// another series while the database exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u64);

const LOCAL_BITS: u32 = 48;

impl SeriesRef {
    pub fn new(shard: usize, local: u32) -> Self {
        debug_assert!(shard < (1 << 16));
        SeriesRef(((shard as u64) << LOCAL_BITS) | u64::from(local))
    }

    pub fn shard(self) -> usize {
        (self.0 >> LOCAL_BITS) as usize
    }

    /// The shard-local id, or `None` if the ref's low bits do not fit an id (a forged ref).
    pub fn local(self) -> Option<u32> {
        u32::try_from(self.0 & ((1 << LOCAL_BITS) - 1)).ok()
    }
}

/// Keeps each shard lock on its own cache lines.
#[repr(align(128))]
pub struct Padded<T>(pub T);

pub struct Head {
    pub shards: Box<[Padded<RwLock<Shard>>]>,
    pub chunk_opts: ChunkOpts,
    pub ooo_window_ms: i64,
    pub max_series: Option<usize>,
    pub num_series: AtomicUsize,
    pub num_samples: AtomicU64,
    pub min_t: AtomicI64,
    pub max_t: AtomicI64,
    pub min_valid_t: AtomicI64,
    /// Samples that passed `append` but were rejected at commit (a concurrent appender got
    /// there first) — Prometheus counts these the same way.
    pub dropped_at_commit: AtomicU64,
}

impl Head {
    pub fn new(shards: usize, chunk_opts: ChunkOpts, ooo_window_ms: i64, max_series: Option<usize>) -> Self {
        Head {
            shards: (0..shards).map(|_| Padded(RwLock::new(Shard::default()))).collect(),
            chunk_opts,
            ooo_window_ms,
            max_series,
            num_series: AtomicUsize::new(0),
            num_samples: AtomicU64::new(0),
            min_t: AtomicI64::new(i64::MAX),
            max_t: AtomicI64::new(i64::MIN),
            min_valid_t: AtomicI64::new(i64::MIN),
            dropped_at_commit: AtomicU64::new(0),
        }
    }

    pub fn shard_of(&self, hash: u64) -> usize {
        (hash % self.shards.len() as u64) as usize
    }

    pub fn shard(&self, i: usize) -> &RwLock<Shard> {
        &self.shards[i].0
    }

    pub fn bounds(&self) -> SampleBounds {
        SampleBounds {
            min_valid_t: self.min_valid_t.load(Ordering::Relaxed),
            head_max_t: self.max_t.load(Ordering::Relaxed),
            ooo_window_ms: self.ooo_window_ms,
        }
    }

    /// Records that samples within `[mint, maxt]` were added.
    pub fn note_samples(&self, n: u64, mint: i64, maxt: i64) {
        if n == 0 {
            return;
        }
        self.num_samples.fetch_add(n, Ordering::Relaxed);
        self.min_t.fetch_min(mint, Ordering::Relaxed);
        self.max_t.fetch_max(maxt, Ordering::Relaxed);
    }
}
