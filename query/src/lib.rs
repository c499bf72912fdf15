//! cairn-query: the PromQL engine on the `promql-parser` AST. Sees storage only through its own
//! traits in [`storage`]; knows no files, HTTP or JSON.

pub mod functions;
pub mod storage;

pub use storage::{Querier, Queryable, SelectHints, Series, StorageError};
