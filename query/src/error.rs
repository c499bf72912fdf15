//! Query errors and their API classification. Owns the error texts that must match
//! Prometheus's word for word; does not know HTTP status codes (the API maps [`ErrorKind`]).

use crate::storage::StorageError;

/// Error classes, one per Prometheus API `errorType` the engine can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Parse errors, type errors, bad parameters (`bad_data`).
    BadData,
    /// Errors raised while evaluating (`execution`), e.g. many-to-many matching.
    Execution,
    /// The query ran longer than its timeout (`timeout`).
    Timeout,
    /// The caller cancelled the query (`canceled`).
    Canceled,
    /// The storage failed (`internal`).
    Storage,
    /// The query would load more samples than allowed (`execution`).
    TooManySamples,
}

impl ErrorKind {
    /// The Prometheus API `errorType` string for this kind.
    pub fn api_error_type(self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution | ErrorKind::TooManySamples => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
            ErrorKind::Storage => "internal",
        }
    }
}

/// Why a query failed. `Display` gives Prometheus's message text.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query text did not parse, or failed a static check.
    #[error("{0}")]
    Parse(String),
    /// A static problem with the query (type mismatch, bad matcher regex, bad time range).
    #[error("{0}")]
    BadData(String),
    /// An evaluation error with Prometheus's text.
    #[error("{0}")]
    Execution(String),
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl QueryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            QueryError::Parse(_) | QueryError::BadData(_) => ErrorKind::BadData,
            QueryError::Execution(_) => ErrorKind::Execution,
            QueryError::Timeout(_) => ErrorKind::Timeout,
            QueryError::Canceled(_) => ErrorKind::Canceled,
            QueryError::TooManySamples(_) => ErrorKind::TooManySamples,
            QueryError::Storage(_) => ErrorKind::Storage,
        }
    }

    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        QueryError::Execution(msg.into())
    }
}

/// Text of Prometheus's duplicate-output error.
pub(crate) const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";
