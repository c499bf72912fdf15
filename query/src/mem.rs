//! `MemStorage`: an in-memory [`Queryable`] for tests, benches and embedding. Series are kept
//! sorted by labels, samples sorted by time. Not a database: no WAL, no limits, no chunks.

use std::collections::BTreeMap;
use std::sync::RwLock;

use cairn_format::{Labels, Matcher, Sample, matches_all};

use crate::storage::{Querier, Queryable, SelectHints, Series, StorageError};

/// In-memory series store.
#[derive(Default)]
pub struct MemStorage {
    series: RwLock<BTreeMap<Labels, Vec<Sample>>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample; keeps the series sorted by time and replaces a sample at the same time.
    pub fn append(&self, labels: &Labels, t: i64, v: f64) {
        let mut g = self.series.write().unwrap_or_else(|e| e.into_inner());
        let s = g.entry(labels.clone()).or_default();
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
        g.insert(labels, samples);
    }

    /// Removes everything.
    pub fn clear(&self) {
        self.series.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn series_count(&self) -> usize {
        self.series.read().unwrap_or_else(|e| e.into_inner()).len()
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
        for (labels, samples) in g.iter() {
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
            .keys()
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
            .keys()
            .filter(|l| matches_all(matchers, l))
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        vals.sort();
        vals.dedup();
        Ok(vals)
    }
}
