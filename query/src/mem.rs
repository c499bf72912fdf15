//! `MemStorage`: an in-memory [`Queryable`] for tests, benches and embedding. Series are kept
//! sorted by labels, samples sorted by time. Not a database: no WAL, no limits, no chunks.

use std::collections::BTreeMap;
use std::sync::RwLock;

use cairn_format::{Labels, MatchOp, Matcher, Sample, matches_all};

use crate::storage::{Querier, Queryable, SelectHints, Series, StorageError};

/// Series of one metric name, sorted by labels.
type ByLabels = BTreeMap<Labels, Vec<Sample>>;

/// In-memory series store, indexed by metric name (`""` for series without one).
#[derive(Default)]
pub struct MemStorage {
    series: RwLock<BTreeMap<String, ByLabels>>,
}

fn name_of(l: &Labels) -> String {
    l.metric_name().unwrap_or("").to_string()
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample; keeps the series sorted by time and replaces a sample at the same time.
    pub fn append(&self, labels: &Labels, t: i64, v: f64) {
        let mut g = self.series.write().unwrap_or_else(|e| e.into_inner());
        let s = g.entry(name_of(labels)).or_default().entry(labels.clone()).or_default();
        match s.last() {
            Some(last) if last.t < t => s.push(Sample::new(t, v)),
            None => s.push(Sample::new(t, v)),
            _ => match s.binary_search_by_key(&t, |p| p.t) {
                Ok(i) => s[i].v = v,
                Err(i) => s.insert(i, Sample::new(t, v)),
            },
        }
    }

    /// Adds many samples of one series (any order).
    pub fn add_series(&self, labels: &Labels, samples: &[Sample]) {
        for p in samples {
            self.append(labels, p.t, p.v);
        }
    }

    /// Replaces a series' samples wholesale (must be sorted by time, no duplicates).
    pub fn set_series(&self, labels: Labels, samples: Vec<Sample>) {
        let mut g = self.series.write().unwrap_or_else(|e| e.into_inner());
        g.entry(name_of(&labels)).or_default().insert(labels, samples);
    }

    /// Removes everything.
    pub fn clear(&self) {
        self.series.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn series_count(&self) -> usize {
        // Sum over the per-name maps.
        self.series.read().unwrap_or_else(|e| e.into_inner()).values().map(BTreeMap::len).sum()
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(MemQuerier { s: self, mint, maxt }))
    }
}

struct MemQuerier<'a> {
    s: &'a MemStorage,
    mint: i64,
    maxt: i64,
}

impl Querier for MemQuerier<'_> {
    fn select(&self, matchers: &[Matcher], _hints: &SelectHints) -> Result<Vec<Series>, StorageError> {
        let g = self.s.series.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        let by_name = matchers.iter().find(|m| m.name == cairn_format::METRIC_NAME && m.op == MatchOp::Equal);
        let maps: Vec<&ByLabels> = match by_name {
            Some(m) => g.get(&m.value).into_iter().collect(),
            None => g.values().collect(),
        };
        for (labels, samples) in maps.into_iter().flat_map(|m| m.iter()) {
            if !matches_all(matchers, labels) {
                continue;
            }
            let lo = samples.partition_point(|p| p.t < self.mint);
            let hi = samples.partition_point(|p| p.t <= self.maxt);
            if lo < hi {
                out.push(Series { labels: labels.clone(), samples: samples[lo..hi].to_vec() });
            }
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let g = self.s.series.read().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> = g
            .values()
            .flat_map(|m| m.keys())
            .filter(|l| matches_all(matchers, l))
            .flat_map(|l| l.iter().map(|x| x.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let g = self.s.series.read().unwrap_or_else(|e| e.into_inner());
        let mut vals: Vec<String> = g
            .values()
            .flat_map(|m| m.keys())
            .filter(|l| matches_all(matchers, l))
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        vals.sort();
        vals.dedup();
        Ok(vals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_by_name_and_range() {
        let st = MemStorage::new();
        let a = Labels::from_pairs([("__name__", "a"), ("x", "1")]);
        let b = Labels::from_pairs([("__name__", "b"), ("x", "1")]);
        st.add_series(&a, &[Sample::new(20, 2.0), Sample::new(10, 1.0), Sample::new(30, 3.0)]);
        st.append(&b, 10, 5.0);
        st.append(&a, 20, 9.0);
        assert_eq!(st.series_count(), 2);
        let q = st.querier(15, 30).unwrap();
        let got = q.select(&[Matcher::equal("__name__", "a")], &SelectHints::default()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples, vec![Sample::new(20, 9.0), Sample::new(30, 3.0)]);
        // Without a name matcher every name is searched; b has nothing in [15, 30].
        let got = q.select(&[Matcher::equal("x", "1")], &SelectHints::default()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(q.label_values("__name__", &[]).unwrap(), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__".to_string(), "x".to_string()]);
    }
}
