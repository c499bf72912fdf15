//! The PromQL engine's view of the database: `cairn_query::Queryable` for [`Db`]. Converts
//! errors and materialises samples; owns no query logic.

use super::db::Db;
use cairn_format::Matcher;
use cairn_query::{Querier as QQuerier, Queryable, SelectHints, Series, StorageError as QError};

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn QQuerier + '_>, QError> {
        let q = Db::querier(self, mint, maxt).map_err(|e| QError(e.to_string()))?;
        Ok(Box::new(Adapter(q)))
    }
}

struct Adapter(super::Querier);

impl QQuerier for Adapter {
    fn select(&self, matchers: &[Matcher], _hints: &SelectHints) -> Result<Vec<Series>, QError> {
        let set = self.0.select(matchers).map_err(|e| QError(e.to_string()))?;
        let mut out = Vec::with_capacity(set.len());
        for s in set {
            let mut it = s.samples();
            let samples: Vec<_> = it.by_ref().collect();
            if let Some(e) = it.err() {
                return Err(QError(format!("series {}: {e}", s.labels)));
            }
            if !samples.is_empty() {
                out.push(Series { labels: s.labels, samples });
            }
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, QError> {
        self.0.label_names(matchers).map_err(|e| QError(e.to_string()))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, QError> {
        self.0.label_values(name, matchers).map_err(|e| QError(e.to_string()))
    }
}
