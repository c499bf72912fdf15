//! cairn-query: the PromQL engine on the `promql-parser` AST. Sees storage only through its own
//! traits in [`storage`]; knows no files, HTTP or JSON.
//!
//! Entry point: [`Engine`] with [`Engine::instant_query`] and [`Engine::range_query`].
//! Evaluation is step-vectorised: each AST node is evaluated once over all steps.

mod durexpr;
pub mod engine;
pub mod error;
pub(crate) mod eval;
pub mod functions;
pub mod mem;
pub(crate) mod parse_error;
pub mod storage;
pub mod value;

pub use engine::{Engine, EngineOptions, QueryOptions, parse};
pub use error::{ErrorKind, QueryError};
pub use storage::{Querier, Queryable, SelectHints, Series, StorageError};
pub use value::{QueryResult, QueryStats, Value};
