//! The storage engine: a sharded in-memory head of Gorilla/XOR chunks behind a write-ahead
//! log, embeddable as a library. Owns files under the data directory, the head and the WAL;
//! knows nothing of PromQL, HTTP, scraping or clusters (the query engine reads it through
//! `cairn_query::Queryable`, implemented in `queryable.rs`).
//!
//! # Layout
//!
//! ```text
//! <data>/LOCK                 flock'ed while a Db is open (holds the pid, for humans)
//! <data>/cairn.meta           layout version + shard count (fixed at creation)
//! <data>/head.mint            minimum valid sample time after the last truncate_head
//! <data>/wal/NNNNNNNN         WAL segments (storage-format/src/wal.md)
//! <data>/wal/checkpoint.N     head state as of segment N (written on truncate_head)
//! <data>/<ULID>/              an immutable block (see `block/mod.rs`, `persist.rs`)
//! ```
//!
//! # Blocks
//!
//! Data older than the head's newest 1.5 block ranges moves to immutable blocks: the oldest
//! full range is written as a block (the head's XOR chunks copied verbatim — they never span
//! a range boundary — or, for series with out-of-order samples, re-encoded, ≤ 120 each),
//! then the head is truncated and the WAL checkpointed (`persist.rs`). Blocks are merged by
//! a leveled compaction (windows of `block_range × 3^k`, up to 10% of retention or 31 days;
//! overlapping blocks first), dropped whole by retention (age, size), and carry tombstones
//! for deletions (applied by compaction or `clean_tombstones`). The querier reads the head
//! and every block overlapping the range and merges per series (identical timestamps
//! once). Chunks are read through `memmap2`; opening a block reads `meta.json`, the index
//! header and table of contents, and the segment headers only. A block that fails to open
//! is skipped and reported (`Db::broken_blocks`); a corrupt chunk or index section found by
//! a query fails that query with an error naming the file and offset.
//!
//! # Shards
//!
//! A series lives in shard `xxh3(labels) % shards` (default 64; recorded in `cairn.meta`).
//! Each shard is one `RwLock` (cache-line padded) around: a `Vec` of boxed series indexed by
//! shard-local id, a hash → id map (collisions: compared by labels, kept in a side map),
//! and postings (`label name → value → roaring bitmap of ids`; a value held by a single
//! series is a bare id). A [`SeriesRef`] is `shard << 48 | id`; ids are never reused.
//!
//! # Reads
//!
//! `select` visits every shard under its read lock: the most selective matcher (non-empty
//! equality) picks candidates from the postings; each further matcher intersects with its
//! postings, or — when the candidates are fewer than the label's distinct values — is checked
//! against each candidate's packed labels. Matching series are snapshotted (closed chunks
//! shared by `Arc`, open chunk and out-of-order samples copied) and decoded after the lock
//! is released; results are sorted by labels.
//!
//! # Series and chunks
//!
//! A series keeps its labels packed in one byte buffer, its closed chunks (`Arc<[u8]>` +
//! min/max time), its open [`cairn_format::XorEncoder`] and, only if out-of-order samples
//! arrived, a sorted buffer of them. Chunks are cut like Prometheus: target 120 samples
//! via a predicted end time, never across a `block_range_ms` boundary, never above
//! `chunk_bytes_max` (1 KiB).
//!
//! # The hot append path
//!
//! 1. `Appender::append(labels, t, v)`: validate labels (no allocation when they are already
//!    clean), xxh3 them, read-lock the shard and look the series up. Only a *new* series takes
//!    the shard's write lock, inserts into the table and postings, and logs a series record
//!    into the WAL's in-memory buffer while still holding the lock. Callers that keep the
//!    returned [`SeriesRef`] use `append_ref`, which skips hashing and lookup.
//! 2. The sample is checked against the series' committed state under the shard's *read*
//!    lock (out of order / duplicate / bounds) and pushed to the appender's local `Vec`.
//!    No WAL, no head mutation, no shared writes.
//! 3. `commit`: sort the batch by shard (stable), and per shard take the write lock once,
//!    re-check and store every sample (XOR append, maybe a chunk cut), encode the accepted
//!    ones into one samples record and copy it into the WAL buffer *before* releasing the
//!    shard lock — so the WAL order of every series equals its head order, which is what
//!    makes replay reproduce the head exactly.
//! 4. Group commit: `Wal::flush(end)` — the first committer to take the I/O lock writes the
//!    whole shared buffer with one `write` (and one `fdatasync` under `FsyncPolicy::Always`);
//!    committers queued behind it find their bytes done and return without a syscall.
//!
//! Two threads appending to different shards share nothing but the WAL buffer mutex (held
//! for a memcpy) and the commit barrier (a shared read lock, once per commit).
//!
//! # Consistency
//!
//! Samples become visible to queries when their shard is applied in `commit`, slightly
//! before the WAL write returns; a commit whose WAL write fails leaves them visible until
//! reopen, and the WAL is poisoned (no more writes). Replay re-applies logged samples
//! without window checks (they were accepted once), so it is deterministic.
//! `truncate_head` holds the commit barrier exclusively while it drops old data, records the
//! new minimum valid time in `head.mint`, cuts the WAL segment and writes the checkpoint. At
//! open, the minimum valid time is also raised to the newest block's end (as Prometheus).

mod appender;
pub mod block;
mod db;
pub mod dir;
mod error;
pub mod head;
mod options;
mod persist;
mod querier;
mod queryable;
mod rate;
pub mod validate;
pub mod wal;

pub use appender::{AppendBuffers, Appender};
pub use db::{Db, HeadCounts};
pub use error::{AppendError, StorageError};
pub use head::SeriesRef;
pub use head::read::{SampleIter, SeriesSnapshot};
pub use head::stats::HeadStats;
pub use options::{FsyncPolicy, Options};
pub use persist::{BlockInfo, CompactReport};
pub use querier::{Querier, SeriesSet};
pub use wal::replay::ReplayReport;

/// Every series with its samples over all time, as (labels, [(t, value bits)]) (tests).
#[cfg(test)]
pub(crate) fn util_select(db: &Db) -> Vec<(cairn_format::Labels, Vec<(i64, u64)>)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select(&[])
        .unwrap()
        .map(|s| (s.labels.clone(), s.samples().map(|x| (x.t, x.v.to_bits())).collect()))
        .collect()
}
