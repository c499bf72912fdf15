//! Head statistics for `/api/v1/status/tsdb` and operators: counts, time bounds and the
//! top-N cardinality tables Prometheus reports. Owns aggregation only (read locks, one shard
//! at a time, so figures are approximate under concurrent writes).

use super::Head;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// A snapshot of the head's size and cardinality.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadStats {
    pub num_series: u64,
    pub num_samples: u64,
    /// Oldest and newest sample time in the head (`None` when empty).
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
    /// Samples accepted by `append` but dropped at commit (a concurrent commit won).
    pub dropped_at_commit: u64,
    /// Top series counts per metric name (`__name__` value), descending.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Top number of distinct values per label name, descending.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Top approximate index bytes per label name, descending.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Top series counts per `name=value` pair, descending.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

fn top(map: HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

impl Head {
    /// Statistics with the top `limit` entries per table (Prometheus uses 10).
    pub fn stats(&self, limit: usize) -> HeadStats {
        let mut by_metric: HashMap<String, u64> = HashMap::new();
        let mut values_by_name: HashMap<String, HashMap<String, ()>> = HashMap::new();
        let mut bytes_by_name: HashMap<String, u64> = HashMap::new();
        let mut by_pair: HashMap<String, u64> = HashMap::new();
        for slot in self.shards.iter() {
            let shard = slot.0.read();
            let p = &shard.postings;
            for name in p.names() {
                let vals = values_by_name.entry(name.to_owned()).or_default();
                for (v, pl) in p.values(name) {
                    vals.entry(v.to_owned()).or_default();
                    if name == cairn_format::METRIC_NAME {
                        *by_metric.entry(v.to_owned()).or_default() += pl.len();
                    }
                    *by_pair.entry(format!("{name}={v}")).or_default() += pl.len();
                }
            }
            for (name, b) in p.approx_bytes_by_name() {
                *bytes_by_name.entry(name.to_owned()).or_default() += b;
            }
        }
        let min = self.min_t.load(Ordering::Relaxed);
        let max = self.max_t.load(Ordering::Relaxed);
        let num_samples = self.num_samples.load(Ordering::Relaxed);
        HeadStats {
            num_series: self.num_series.load(Ordering::Relaxed) as u64,
            num_samples,
            min_time: (num_samples > 0 && min != i64::MAX).then_some(min),
            max_time: (num_samples > 0 && max != i64::MIN).then_some(max),
            dropped_at_commit: self.dropped_at_commit.load(Ordering::Relaxed),
            series_count_by_metric_name: top(by_metric, limit),
            label_value_count_by_label_name: top(
                values_by_name.into_iter().map(|(k, v)| (k, v.len() as u64)).collect(),
                limit,
            ),
            memory_in_bytes_by_label_name: top(bytes_by_name, limit),
            series_count_by_label_value_pair: top(by_pair, limit),
        }
    }
}
