//! Typed errors of the storage: [`StorageError`] for opening, committing, querying and
//! closing; [`AppendError`] for one rejected sample or series. Owns messages only.

use std::path::PathBuf;

/// A database-level failure. Corruption errors name the file and offset.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "data directory {dir} is locked by another process or Db (lock file {lock}); \
         close the other user or pick another directory"
    )]
    Locked { dir: PathBuf, lock: PathBuf },
    #[error("corrupt data in {file} at offset {offset}: {reason}")]
    Corrupt { file: PathBuf, offset: u64, reason: String },
    #[error("invalid metadata file {file}: {reason}")]
    BadMeta { file: PathBuf, reason: String },
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error(
        "the write-ahead log is poisoned after an earlier write or fsync failure ({cause}); \
         no further writes are accepted until the database is reopened"
    )]
    Poisoned { cause: String },
    #[error("the database is closed")]
    Closed,
    #[error("invalid block input: {0}")]
    InvalidBlockInput(String),
}

impl StorageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StorageError::Io { path: path.into(), source }
    }
}

/// Why one `append` was rejected. Nothing was buffered for that sample; the appender stays
/// usable for other samples.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    #[error("invalid label name {name:?} in series {series}: names must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidLabelName { name: String, series: String },
    #[error("duplicate label name {name:?} in series {series}")]
    DuplicateLabelName { name: String, series: String },
    #[error("series has no labels (every label value was empty)")]
    EmptyLabels,
    #[error(
        "out of order sample for series {series}: timestamp {t} is older than the series' last sample at {last_t}"
    )]
    OutOfOrder { series: String, t: i64, last_t: i64 },
    #[error(
        "out of order sample for series {series}: timestamp {t} is older than the out-of-order window \
         allows (oldest accepted: {min_t})"
    )]
    TooOld { series: String, t: i64, min_t: i64 },
    #[error(
        "out of bounds sample for series {series}: timestamp {t} is older than the head's minimum {min_t}"
    )]
    OutOfBounds { series: String, t: i64, min_t: i64 },
    #[error(
        "duplicate sample for timestamp {t} in series {series} with a different value ({old} stored, {new} new)"
    )]
    DuplicateTimestamp { series: String, t: i64, old: f64, new: f64 },
    #[error("unknown series reference {0:#x} (never returned by this database, or removed by truncation)")]
    UnknownRef(u64),
    #[error(
        "too many active series: the limit max_active_series = {limit} is reached; series {series} was not created"
    )]
    TooManySeries { limit: usize, series: String },
    #[error(
        "too many new series: the limit new_series_per_second_max = {limit} is reached; series {series} was not created"
    )]
    NewSeriesRateLimited { limit: u64, series: String },
    #[error("the database is closed")]
    Closed,
    #[error("{0}")]
    Storage(String),
}
