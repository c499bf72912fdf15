//! The block index (format: `index.md`): symbols, series with chunk metas, postings per
//! label pair, label name/value tables, a table of contents and CRC32C checksums.
//! `write.rs` builds the bytes, `read.rs` serves lookups from them, `postings.rs` holds the
//! postings list codec. Bytes <-> values only; opening/mapping the file is the storage's.

pub mod postings;
mod read;
mod write;

pub use read::IndexReader;
pub use write::IndexWriter;

use super::chunks::BlockChunkRef;
use crate::labels::Labels;
use postings::PostingsError;
use thiserror::Error;

/// First 4 bytes of an index (big-endian).
pub const INDEX_MAGIC: u32 = 0xCA1D_1DE0;
/// The only index layout version this code reads and writes.
pub const INDEX_VERSION: u8 = 1;
/// Magic (4) + version (1) + postings codec (1) + padding (2).
pub const INDEX_HEADER_LEN: usize = 8;
const _: () = assert!(INDEX_HEADER_LEN == 4 + 1 + 1 + 2);

/// Sections, in file order.
pub(crate) const SECTION_NAMES: [&str; 6] =
    ["symbols", "series", "series offsets", "postings", "postings table", "label names"];
pub(crate) const SEC_SYMBOLS: usize = 0;
pub(crate) const SEC_SERIES: usize = 1;
pub(crate) const SEC_SERIES_OFFSETS: usize = 2;
pub(crate) const SEC_POSTINGS: usize = 3;
pub(crate) const SEC_POSTINGS_TABLE: usize = 4;
pub(crate) const SEC_LABEL_NAMES: usize = 5;
pub(crate) const SECTION_COUNT: usize = SECTION_NAMES.len();

/// Table of contents: (offset <8b>, len <8b>) per section, then CRC32C <4b>.
pub const TOC_LEN: usize = SECTION_COUNT * 16 + 4;
/// Bytes per postings table entry: name ref, value ref, list offset, list length, series count.
pub(crate) const POSTINGS_ENTRY_LEN: usize = 4 + 4 + 8 + 4 + 4;
/// Bytes per label names entry: name ref, first postings table entry, entry count.
pub(crate) const LABEL_NAME_ENTRY_LEN: usize = 4 + 4 + 4;
/// CRC32C length everywhere in the index.
pub(crate) const CRC_LEN: usize = 4;

/// A series' position in the index (0-based, in label order); postings lists hold these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct SeriesId(pub u32);

/// Where one chunk of a series lives and what time it covers (both ends inclusive, ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    pub mint: i64,
    pub maxt: i64,
    pub chunk_ref: BlockChunkRef,
}

/// A series as stored in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesEntry {
    pub labels: Labels,
    pub chunks: Vec<ChunkMeta>,
}

/// Why an index could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IndexWriteError {
    #[error("index: label string {0:?} is not in the symbol table")]
    MissingSymbol(String),
    #[error("index: series {index} ({labels}) is not after the previous series in label order")]
    SeriesOutOfOrder { index: usize, labels: String },
    #[error("index: series {index} ({labels}) has label name {name:?} twice or unsorted")]
    BadLabels { index: usize, labels: String, name: String },
    #[error("index: series {index} chunk {chunk}: maxt {maxt} before mint {mint}")]
    BadChunkRange { index: usize, chunk: usize, mint: i64, maxt: i64 },
    #[error("index: series {index} chunk {chunk}: mint {mint} before the previous chunk's mint {prev}")]
    ChunksOutOfOrder { index: usize, chunk: usize, mint: i64, prev: i64 },
    #[error("index: more than {max} {what}")]
    TooMany { what: &'static str, max: u64 },
}

/// Why index bytes were rejected. Offsets are byte offsets in the index file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IndexError {
    #[error("index: {len} bytes, shorter than header + table of contents")]
    TooShort { len: usize },
    #[error("index: bad magic {found:#010x} at offset 0 (want {INDEX_MAGIC:#010x})")]
    BadMagic { found: u32 },
    #[error("index: unknown format version {version} at offset 4 (this build reads {INDEX_VERSION})")]
    UnknownVersion { version: u8 },
    #[error("index: unknown postings codec {codec} at offset 5")]
    UnknownPostingsCodec { codec: u8 },
    #[error(
        "index: {what} checksum mismatch at offset {offset} (stored {stored:#010x}, computed {computed:#010x})"
    )]
    Checksum { what: &'static str, offset: u64, stored: u32, computed: u32 },
    #[error("index: {section} section at offset {offset} is malformed: {what}")]
    Corrupt { section: &'static str, offset: u64, what: &'static str },
    #[error("index: series {id} does not exist ({count} series)")]
    NoSuchSeries { id: u32, count: u32 },
    #[error("index: symbol {id} does not exist ({count} symbols)")]
    NoSuchSymbol { id: u32, count: u32 },
    #[error("index: postings list at offset {offset}: {source}")]
    Postings { offset: u64, source: PostingsError },
}
