//! Ingestion building blocks: the exposition-format parser, remote-write/remote-read protocol,
//! relabeling and limits (the scrape loop that uses them is `crate::scrape`). Knows exposition text and remote-write protobuf;
//! knows nothing of storage internals (samples leave through small traits) or of HTTP routing.

pub mod exposition;
pub mod limits;
pub mod relabel;
pub mod remote;
