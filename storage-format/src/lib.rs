//! cairn-format: Cairn's data model values (labels, samples, matchers) and every byte format
//! Cairn persists or sends (XOR chunks, WAL records, block files: chunk segments, index,
//! meta.json, tombstones). Bytes <-> values only: this crate opens no files and starts no
//! threads. Each codec has a `.md` page beside it.

pub mod block;
pub mod labels;
pub mod matcher;
pub mod sample;
pub mod varint;
pub mod xor;

pub use labels::{Label, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError, matches_all};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
pub use xor::{ChunkError, XorEncoder, XorIter, decode_all};

pub mod frame;
pub mod record;
