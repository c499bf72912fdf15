//! Adapters from the rules boundary to Cairn's engine: [`EngineQuerier`] answers
//! [`RuleQuerier`] with `cairn_query::Engine` over any `Queryable`, and [`MemAppender`]
//! writes rule output into a `cairn_query::mem::MemStorage`. Used by `cairn test rules` and
//! tests; the server may use `EngineQuerier` over the database too.

use crate::rules::{QueryValue, RuleAppender, RuleQuerier};
use cairn_format::Labels;
use cairn_query::mem::MemStorage;
use cairn_query::{Engine, EngineOptions, QueryOptions, Queryable, Value};
use std::sync::Arc;

/// Instant queries through the real engine.
pub struct EngineQuerier<Q: Queryable> {
    pub engine: Engine,
    pub storage: Arc<Q>,
}

impl<Q: Queryable> EngineQuerier<Q> {
    pub fn new(storage: Arc<Q>) -> Self {
        EngineQuerier { engine: Engine::new(EngineOptions::default()), storage }
    }
}

/// Converts an engine value to the rules' view of it.
pub fn to_query_value(v: Value) -> QueryValue {
    match v {
        Value::Scalar(_, f) => QueryValue::Scalar(f),
        Value::String(_, s) => QueryValue::String(s),
        Value::Vector(v) => QueryValue::Vector(v.into_iter().map(|(l, _, f)| (l, f)).collect()),
        Value::Matrix(m) => QueryValue::Matrix(
            m.into_iter().map(|(l, s)| (l, s.into_iter().map(|p| (p.t, p.v)).collect())).collect(),
        ),
    }
}

impl<Q: Queryable> RuleQuerier for EngineQuerier<Q> {
    fn query(&self, expr: &str, t_ms: i64) -> Result<QueryValue, String> {
        let r = self
            .engine
            .instant_query(self.storage.as_ref(), expr, t_ms, &QueryOptions::default())
            .map_err(|e| e.to_string())?;
        Ok(to_query_value(r.value))
    }
}

/// Appends rule output into an in-memory storage.
pub struct MemAppender(pub Arc<MemStorage>);

impl RuleAppender for MemAppender {
    fn append_batch(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String> {
        for (l, t, v) in samples {
            self.0.append(l, *t, *v);
        }
        Ok(())
    }
}
