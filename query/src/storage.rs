//! The storage boundary of the engine: the only way `cairn-query` reads data. The database
//! (`cairn::storage`) and the in-memory test storage implement these traits. Nothing here
//! knows files, blocks or WAL.
//!
//! Contract: `select` returns every series matching *all* matchers that has at least one
//! sample in `[mint, maxt]` (both inclusive), with its samples in that range sorted by
//! timestamp, duplicates removed. Stale markers are returned as stored (the engine interprets
//! them). Series order is unspecified. Implementations may be called from several threads.

use cairn_format::{Labels, Matcher, Sample};

/// Error raised by a storage implementation; shown to the query's caller.
#[derive(Debug, thiserror::Error)]
#[error("storage error: {0}")]
pub struct StorageError(pub String);

/// A series with its samples, materialised for the queried range.
#[derive(Clone, Debug)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// Optional information about what the engine will do with a selection. Storage may use it
/// to read less; it must still return a correct superset for `[mint, maxt]`.
#[derive(Clone, Debug, Default)]
pub struct SelectHints {
    /// Evaluation start and end (ms) of the query.
    pub start: i64,
    pub end: i64,
    /// Query step in ms (0 for instant queries).
    pub step: i64,
    /// Range of a matrix selector in ms (0 for instant-vector selectors).
    pub range: i64,
    /// Name of the function applied to the selection, if any (e.g. "rate").
    pub func: Option<String>,
    /// The engine reads only each series' newest sample in `[mint, maxt]` (an instant
    /// selector evaluated at one time): storage may return just that sample per series, and
    /// must return at least it. Series without a sample in range are still left out.
    pub newest_only: bool,
}

/// Something that can be queried over a time range.
pub trait Queryable: Send + Sync {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError>;
}

/// A read view over `[mint, maxt]` (inclusive).
pub trait Querier {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, StorageError>;
    /// Sorted, distinct label names of series matching all matchers (all series if empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;
    /// Sorted, distinct values of `name` over series matching all matchers.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;
}
