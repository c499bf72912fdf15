//! A recording rule: evaluates its expression and renames the result to the rule's metric
//! name, adding the rule's labels. Owns no scheduling or writing (the group does that).

use crate::rules::health::RuleHealth;
use crate::rules::{QueryValue, RuleQuerier};
use cairn_format::{Labels, METRIC_NAME};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug)]
pub struct RecordingRule {
    pub name: String,
    pub expr: String,
    /// Rule labels (group labels merged in, rule labels winning).
    pub labels: BTreeMap<String, String>,
    pub health: RuleHealth,
}

/// Turns an instant query result into samples: vectors as they are, a scalar as one sample
/// without labels (as Prometheus's rule query function does).
pub fn to_vector(v: QueryValue) -> Result<Vec<(Labels, f64)>, String> {
    match v {
        QueryValue::Vector(v) => Ok(v),
        QueryValue::Scalar(f) => Ok(vec![(Labels::empty(), f)]),
        QueryValue::Matrix(_) => {
            Err("rule result is a range vector; expected instant vector or scalar".into())
        }
        QueryValue::String(_) => Err("rule result is a string; expected instant vector or scalar".into()),
    }
}

impl RecordingRule {
    pub fn new(name: String, expr: String, labels: BTreeMap<String, String>) -> Self {
        RecordingRule { name, expr, labels, health: RuleHealth::default() }
    }

    /// Evaluates at `query_ts_ms` and returns the series to write. `limit` 0 = no limit.
    pub fn eval(
        &self,
        querier: &dyn RuleQuerier,
        query_ts_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let res = to_vector(querier.query(&self.expr, query_ts_ms)?)?;
        let mut out = Vec::with_capacity(res.len());
        let mut seen = HashSet::with_capacity(res.len());
        for (mut l, v) in res {
            l.set(METRIC_NAME, &self.name);
            for (k, val) in &self.labels {
                l.set(k, val);
            }
            if !seen.insert(l.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying rule labels".into()
                );
            }
            out.push((l, v));
        }
        if limit > 0 && out.len() > limit {
            return Err(format!("exceeded limit of {limit} with {} series", out.len()));
        }
        Ok(out)
    }
}
