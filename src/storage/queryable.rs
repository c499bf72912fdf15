//! The PromQL engine's view of the database: `cairn_query::Queryable` for [`Db`]. Converts
//! errors, passes the engine's hints to the querier and materialises samples — decoding the
//! selected series on several threads when the selection is large enough to pay for them.
//! Owns no query logic.

use super::db::Db;
use super::head::read::SeriesSnapshot;
use cairn_format::{Matcher, Sample};
use cairn_query::{Querier as QQuerier, Queryable, SelectHints, Series, StorageError as QError};

/// Below this many stored samples (by chunk headers) a selection is decoded on the calling
/// thread: spawning costs more than it saves.
const PARALLEL_MIN_SAMPLES: usize = 200_000;
/// Upper bound on decoding threads per selection.
const MAX_THREADS: usize = 4;

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn QQuerier + '_>, QError> {
        let q = Db::querier(self, mint, maxt).map_err(|e| QError(e.to_string()))?;
        Ok(Box::new(Adapter(q)))
    }
}

struct Adapter(super::Querier);

/// Decodes the samples of `snaps` in order; with `newest_only`, only each one's last sample.
fn decode_part(snaps: &[SeriesSnapshot], newest_only: bool) -> Result<Vec<Vec<Sample>>, QError> {
    let mut out = Vec::with_capacity(snaps.len());
    let mut scratch = Vec::new();
    for s in snaps {
        if newest_only {
            s.decode_into(&mut scratch).map_err(|e| QError(format!("series {}: {e}", s.labels)))?;
            out.push(scratch.last().map(|&x| vec![x]).unwrap_or_default());
        } else {
            let mut v = Vec::new();
            s.decode_into(&mut v).map_err(|e| QError(format!("series {}: {e}", s.labels)))?;
            out.push(v);
        }
    }
    Ok(out)
}

/// Threads worth using for `samples` stored samples (1 = decode inline).
fn threads_for(samples: usize, series: usize, min_parallel: usize) -> usize {
    if samples < min_parallel || series < 2 {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(MAX_THREADS).min(series)
}

/// Decodes every snapshot, splitting the work into contiguous parts of similar sample counts
/// when more than one thread pays. The result is in the order of `snaps`.
fn decode_all(snaps: &[SeriesSnapshot], newest_only: bool) -> Result<Vec<Vec<Sample>>, QError> {
    decode_all_with(snaps, newest_only, PARALLEL_MIN_SAMPLES)
}

fn decode_all_with(
    snaps: &[SeriesSnapshot],
    newest_only: bool,
    min_parallel: usize,
) -> Result<Vec<Vec<Sample>>, QError> {
    let total: usize = snaps.iter().map(SeriesSnapshot::stored_samples).sum();
    let threads = threads_for(total, snaps.len(), min_parallel);
    if threads <= 1 {
        return decode_part(snaps, newest_only);
    }
    let mut parts: Vec<&[SeriesSnapshot]> = Vec::with_capacity(threads);
    let (mut from, mut acc, share) = (0usize, 0usize, total.div_ceil(threads));
    for (i, s) in snaps.iter().enumerate() {
        acc += s.stored_samples();
        if acc >= share && parts.len() + 1 < threads {
            parts.push(&snaps[from..=i]);
            from = i + 1;
            acc = 0;
        }
    }
    parts.push(&snaps[from..]);
    let results: Vec<Result<Vec<Vec<Sample>>, QError>> = std::thread::scope(|sc| {
        let (first, rest) = parts.split_first().map_or((&[][..], &[][..]), |(f, r)| (*f, r));
        let handles: Vec<_> = rest.iter().map(|p| sc.spawn(move || decode_part(p, newest_only))).collect();
        let mut res = vec![decode_part(first, newest_only)];
        for h in handles {
            res.push(h.join().unwrap_or_else(|_| Err(QError("sample decoding thread panicked".into()))));
        }
        res
    });
    let mut out = Vec::with_capacity(snaps.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

impl QQuerier for Adapter {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<Series>, QError> {
        let snaps =
            self.0.select_snapshots(matchers, hints.newest_only).map_err(|e| QError(e.to_string()))?;
        let decoded = decode_all(&snaps, hints.newest_only)?;
        let out = snaps
            .into_iter()
            .zip(decoded)
            .filter(|(_, samples)| !samples.is_empty())
            .map(|(s, samples)| Series { labels: s.labels, samples })
            .collect();
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, QError> {
        self.0.label_names(matchers).map_err(|e| QError(e.to_string()))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, QError> {
        self.0.label_values(name, matchers).map_err(|e| QError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Options;
    use cairn_format::{Labels, stale_nan};
    use cairn_query::mem::MemStorage;
    use cairn_query::{Engine, EngineOptions, QueryOptions, Value};

    /// A Db and a MemStorage with the same data: series 0–2 in a block (first 2 h) and the
    /// head, a stale marker, an out-of-order sample, a series that ends early.
    fn fixture() -> (tempfile::TempDir, Db, MemStorage) {
        let dir = tempfile::tempdir().unwrap();
        let opts =
            Options { background_compaction: false, out_of_order_window_ms: 3_600_000, ..Options::default() };
        let db = Db::open(dir.path(), opts).unwrap();
        let mem = MemStorage::new();
        let mut all: Vec<(Labels, Vec<Sample>)> = Vec::new();
        for i in 0..6 {
            let l = Labels::from_pairs([("__name__", "m"), ("i", &i.to_string())]);
            // 15 s apart, offset by i seconds; series 5 stops at 2 h 30 m.
            let end = if i == 5 { 9_000_000 } else { 10_800_000 };
            let mut v: Vec<Sample> = (0..)
                .map(|k| (k as i64) * 15_000 + i * 1_000)
                .take_while(|&t| t <= end)
                .map(|t| Sample::new(t, (t / 1000) as f64))
                .collect();
            if i == 4
                && let Some(last) = v.last_mut()
            {
                last.v = stale_nan();
            }
            all.push((l, v));
        }
        // Hours 0–2 into a block.
        let mut app = db.appender();
        for (l, v) in &all {
            for s in v.iter().filter(|s| s.t < 7_200_000) {
                app.append(l, s.t, s.v).unwrap();
            }
        }
        app.commit().unwrap();
        assert_eq!(db.persist_head(true).unwrap(), 1);
        let mut app = db.appender();
        for (i, (l, v)) in all.iter().enumerate() {
            for s in v.iter().filter(|s| s.t >= 7_200_000) {
                // Series 3 gets its sample at 2 h 40 m late (out of order).
                if i == 3 && s.t == 9_600_000 + 3_000 {
                    continue;
                }
                app.append(l, s.t, s.v).unwrap();
            }
        }
        app.commit().unwrap();
        let mut app = db.appender();
        let (l3, v3) = &all[3];
        let late = v3.iter().find(|s| s.t == 9_603_000).copied().unwrap();
        app.append(l3, late.t, late.v).unwrap();
        app.commit().unwrap();
        for (l, v) in all {
            mem.set_series(l, v);
        }
        (dir, db, mem)
    }

    /// Samples as comparable bits (stale markers are NaN).
    fn bits(v: &[Sample]) -> Vec<(i64, u64)> {
        v.iter().map(|s| (s.t, s.v.to_bits())).collect()
    }

    fn select(db: &Db, mint: i64, maxt: i64, newest_only: bool) -> Vec<Series> {
        let q = Queryable::querier(db, mint, maxt).unwrap();
        let hints = SelectHints { newest_only, ..SelectHints::default() };
        let mut v = q.select(&[Matcher::equal("__name__", "m")], &hints).unwrap();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    #[test]
    fn newest_only_keeps_the_newest_sample_at_every_boundary() {
        let (_dir, db, _) = fixture();
        let last = 10_800_000; // newest sample of series 0
        // Ranges ending on, just before and after samples; in the block, the head, across.
        let ranges = [
            (last - 300_000 + 1, last),
            (last - 300_000 + 1, last - 1),
            (last, last + 60_000),
            (last + 1, last + 60_000),
            (9_000_000 - 300_000 + 1, 9_000_000),
            (9_600_000, 9_603_000),
            (9_603_000, 9_603_000),
            (7_200_000 - 300_000, 7_200_000 + 1_000),
            (3_600_000 - 299_999, 3_600_000 + 2_000),
            (0, 15_000),
            (i64::MIN / 4, i64::MAX / 4),
        ];
        for (mint, maxt) in ranges {
            let full = select(&db, mint, maxt, false);
            let newest = select(&db, mint, maxt, true);
            let ctx = format!("range [{mint}, {maxt}]");
            assert_eq!(
                full.iter().map(|s| &s.labels).collect::<Vec<_>>(),
                newest.iter().map(|s| &s.labels).collect::<Vec<_>>(),
                "{ctx}"
            );
            for (f, n) in full.iter().zip(&newest) {
                let (a, b) = (f.samples.last().unwrap(), n.samples.last().unwrap());
                assert_eq!((a.t, a.v.to_bits()), (b.t, b.v.to_bits()), "{ctx} {}", f.labels);
                assert!(n.samples.iter().all(|s| s.t >= mint && s.t <= maxt), "{ctx}");
                // Whatever newest_only returns is the tail of the full selection.
                assert!(bits(&f.samples).ends_with(&bits(&n.samples)), "{ctx} {}", f.labels);
            }
        }
    }

    #[test]
    fn parallel_decoding_equals_sequential() {
        let (_dir, db, _) = fixture();
        let q = db.querier(0, i64::MAX / 4).unwrap();
        for newest_only in [false, true] {
            let snaps = q.select_snapshots(&[Matcher::equal("__name__", "m")], newest_only).unwrap();
            assert!(snaps.len() >= 2);
            let seq = decode_part(&snaps, newest_only).unwrap();
            let par = decode_all_with(&snaps, newest_only, 0).unwrap();
            let b = |v: &[Vec<Sample>]| v.iter().map(|s| bits(s)).collect::<Vec<_>>();
            assert_eq!(b(&seq), b(&par));
            assert!(seq.iter().all(|s| !s.is_empty()));
        }
        assert_eq!(
            threads_for(10, 100, 0).min(2),
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(2)
        );
        assert_eq!(threads_for(10, 100, 11), 1);
        assert_eq!(threads_for(10, 1, 0), 1);
    }

    /// Instant queries whose selectors read at shifted times (`offset`, `@`, subqueries,
    /// lookback edges) answer the same through the Db (hints used) as through MemStorage.
    #[test]
    fn instant_queries_match_the_reference_storage() {
        let (_dir, db, mem) = fixture();
        let engine = Engine::new(EngineOptions::default());
        let opts = QueryOptions::default();
        let queries = [
            "m",
            "timestamp(m)",
            "m offset 1m",
            "m offset 5m",
            "m offset 2h",
            "m @ 7200",
            "m @ 7199.999",
            "m @ 9603",
            "m @ 9602.999",
            "m @ 10500 offset 1h",
            "max_over_time(m[10m:1m])",
            "last_over_time(timestamp(m)[1h:7m])",
            "count(m)",
            "sum by (i) (rate(m[5m]))",
        ];
        let times = [
            10_805_000,
            10_806_000,
            10_805_000 + 300_000,
            10_805_000 + 299_999,
            9_303_000,
            9_000_000 + 300_000,
            7_200_000,
        ];
        let norm = |v: Value| -> Vec<(String, i64, u64)> {
            let Value::Vector(items) = v else { panic!("not a vector") };
            let mut out: Vec<_> =
                items.into_iter().map(|(l, t, v)| (l.to_string(), t, v.to_bits())).collect();
            out.sort();
            out
        };
        for q in queries {
            for t in times {
                let a = engine.instant_query(&db, q, t, &opts).unwrap();
                let b = engine.instant_query(&mem, q, t, &opts).unwrap();
                assert_eq!(norm(a.value), norm(b.value), "{q} at {t}");
            }
        }
    }
}
