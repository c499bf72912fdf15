//! Public query results: [`Value`], [`QueryResult`], [`QueryStats`]. Owns no evaluation logic.

use cairn_format::{Labels, Sample};

/// The value of a query, in Prometheus's four result types.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `(t_ms, v)`.
    Scalar(i64, f64),
    /// `(t_ms, s)`.
    String(i64, String),
    /// Instant vector: `(labels, t_ms, v)` in result order (significant after `sort`/`topk`).
    Vector(Vec<(Labels, i64, f64)>),
    /// Range vector / range-query result, series sorted by labels.
    Matrix(Vec<(Labels, Vec<Sample>)>),
}

impl Value {
    /// Prometheus's `resultType` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(..) => "scalar",
            Value::String(..) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Counters about one query's work.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Samples read from storage (stale markers included).
    pub samples_loaded: usize,
    /// Series returned by storage selections.
    pub series_loaded: usize,
    /// Samples and points counted against `max_samples`: everything loaded from storage plus
    /// the points selectors and subqueries produced, summed over the whole query (the engine
    /// does not credit back intermediate results, so this is an upper bound of what was held).
    pub peak_samples: usize,
}

/// A successful query: its value plus annotations, formatted as Prometheus does
/// (`PromQL warning: … (line:col)`, `PromQL info: … (line:col)`).
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
    pub stats: QueryStats,
}
