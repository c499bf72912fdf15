//! Byte formats of a persisted block, bytes <-> values only (no files, no directories):
//! chunk segment files (`chunks.rs`), the decimal chunk encoding (`dchunk.rs`), the index (`index/`), `meta.json` (`meta.rs`) and the
//! tombstones file (`tombstones.rs`). Each has a `.md` page beside it. Naming files, fsync and
//! atomic publishing belong to the storage side (`cairn::storage`).

pub mod chunks;
pub mod dchunk;
pub mod index;
pub mod meta;
pub mod tombstones;
