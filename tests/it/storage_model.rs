//! Risk: the head or WAL replay disagreeing with the documented semantics. Random appends
//! (valid and invalid labels, duplicates, out-of-order, NaNs), commits, rollbacks, deletes
//! and queries run against the Db and against a `BTreeMap` model of the contract; results
//! must agree at every query, and again after close + reopen (WAL replay).

use crate::util::{Rng, select_all};
use cairn::storage::{AppendError, Appender, Db, FsyncPolicy, Options, SeriesRef};
use cairn_format::{Labels, MatchOp, Matcher, stale_nan};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Default, Clone)]
struct ModelSeries {
    samples: BTreeMap<i64, u64>,
    /// Newest in-order timestamp ever accepted and its value bits (deletes keep it).
    max_t: Option<(i64, u64)>,
}

struct Model {
    series: BTreeMap<Labels, ModelSeries>,
    head_max_t: i64,
    window: i64,
}

#[derive(Debug, PartialEq)]
enum Kind {
    InvalidName,
    DuplicateName,
    Empty,
    OutOfOrder,
    TooOld,
    DuplicateTs,
}

fn kind(e: &AppendError) -> Kind {
    match e {
        AppendError::InvalidLabelName { .. } => Kind::InvalidName,
        AppendError::DuplicateLabelName { .. } => Kind::DuplicateName,
        AppendError::EmptyLabels => Kind::Empty,
        AppendError::OutOfOrder { .. } => Kind::OutOfOrder,
        AppendError::TooOld { .. } => Kind::TooOld,
        AppendError::DuplicateTimestamp { .. } => Kind::DuplicateTs,
        other => panic!("unexpected error {other}"),
    }
}

/// The model's own label rules (independent of the storage's code).
fn model_labels(raw: &[(&str, &str)]) -> Result<Labels, Kind> {
    let mut kept: Vec<(&str, &str)> = raw.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    kept.sort();
    for (n, _) in &kept {
        let ok = n
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if n.is_empty() || !ok {
            return Err(Kind::InvalidName);
        }
    }
    if kept.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(Kind::DuplicateName);
    }
    if kept.is_empty() {
        return Err(Kind::Empty);
    }
    Ok(Labels::from_pairs(kept))
}

enum Verdict {
    Store,
    Dup,
}

impl Model {
    fn check(&self, s: Option<&ModelSeries>, head_max_t: i64, t: i64, v: u64) -> Result<Verdict, Kind> {
        let Some(s) = s else { return Ok(Verdict::Store) };
        let Some((max_t, last_v)) = s.max_t else { return Ok(Verdict::Store) };
        if t > max_t {
            return Ok(Verdict::Store);
        }
        if t == max_t {
            return if v == last_v { Ok(Verdict::Dup) } else { Err(Kind::DuplicateTs) };
        }
        if self.window == 0 {
            return Err(Kind::OutOfOrder);
        }
        if t < head_max_t.max(max_t) - self.window {
            return Err(Kind::TooOld);
        }
        match s.samples.get(&t) {
            Some(&old) if old == v => Ok(Verdict::Dup),
            Some(_) => Err(Kind::DuplicateTs),
            None => Ok(Verdict::Store),
        }
    }

    fn commit(&mut self, pending: &[(Labels, i64, u64)]) {
        let head_max_t = self.head_max_t;
        for (l, t, v) in pending {
            let s = self.series.get(l);
            if let Ok(Verdict::Store) = self.check(s, head_max_t, *t, *v) {
                let s = self.series.get_mut(l).unwrap();
                s.samples.insert(*t, *v);
                if s.max_t.is_none_or(|(m, _)| *t > m) {
                    s.max_t = Some((*t, *v));
                }
                self.head_max_t = self.head_max_t.max(*t);
            }
        }
    }

    fn select(&self, m: &[Matcher], mint: i64, maxt: i64) -> Vec<(Labels, Vec<(i64, u64)>)> {
        self.series
            .iter()
            .filter(|(l, _)| m.iter().all(|m| m.matches_labels(l)))
            .map(|(l, s)| {
                (l.clone(), s.samples.range(mint..=maxt).map(|(t, v)| (*t, *v)).collect::<Vec<_>>())
            })
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }
}

const POOL: &[&[(&str, &str)]] = &[
    &[("__name__", "up"), ("job", "api"), ("instance", "a")],
    &[("__name__", "up"), ("job", "api"), ("instance", "b")],
    &[("__name__", "up"), ("job", "db"), ("instance", "a")],
    &[("__name__", "req_total"), ("job", "api"), ("code", "200")],
    &[("__name__", "req_total"), ("job", "api"), ("code", "500")],
    &[("__name__", "req_total"), ("job", "db")],
    &[("job", "nameless")],
    &[("__name__", "up"), ("job", "api"), ("instance", "a"), ("extra", "")],
    &[("__name__", "x"), ("a", "1"), ("b", "2"), ("c", "3"), ("d", "multi\nline")],
    &[("__name__", "bad"), ("9lives", "x")],
    &[("__name__", "bad"), ("a-b", "x")],
    &[("__name__", "dup"), ("k", "1"), ("k", "2")],
    &[("a", "")],
];

fn random_matchers(rng: &mut Rng) -> Vec<Matcher> {
    let opts: [(MatchOp, &str, &str); 12] = [
        (MatchOp::Equal, "__name__", "up"),
        (MatchOp::Equal, "job", "api"),
        (MatchOp::NotEqual, "job", "api"),
        (MatchOp::Equal, "instance", ""),
        (MatchOp::NotEqual, "instance", ""),
        (MatchOp::RegexMatch, "__name__", "up|req_.*"),
        (MatchOp::RegexMatch, "code", "5.."),
        (MatchOp::RegexNoMatch, "job", "a.*"),
        (MatchOp::RegexMatch, "job", ".*"),
        (MatchOp::RegexMatch, "d", "multi.line"),
        (MatchOp::RegexNoMatch, "code", ""),
        (MatchOp::Equal, "none", "x"),
    ];
    let n = rng.below(3);
    (0..n)
        .map(|_| {
            let (op, name, v) = opts[rng.below(opts.len() as u64) as usize];
            Matcher::new(op, name, v).unwrap()
        })
        .collect()
}

fn value(rng: &mut Rng) -> f64 {
    match rng.below(8) {
        0 => f64::NAN,
        1 => stale_nan(),
        2 => f64::INFINITY,
        3 => -0.0,
        _ => (rng.below(5) as f64) * 1.5,
    }
}

fn check_queries(db: &Db, model: &Model, rng: &mut Rng, created: &BTreeSet<Labels>, ctx: &str) {
    let (a, b) = (rng.below(1200) as i64 - 100, rng.below(1200) as i64 - 100);
    let (mint, maxt) = if rng.chance(0.3) { (i64::MIN, i64::MAX) } else { (a.min(b), a.max(b)) };
    let m = random_matchers(rng);
    let q = db.querier(mint, maxt).unwrap();
    let got = select_all(&q, &m);
    let want = model.select(&m, mint, maxt);
    assert_eq!(got, want, "{ctx}: select {m:?} [{mint}, {maxt}]");
    // Label names/values: without matchers, every created series counts; with matchers,
    // series whose stored time span overlaps the range (documented contract).
    let span_overlaps = |s: &ModelSeries| match (s.samples.keys().next(), s.samples.keys().last()) {
        (Some(&lo), Some(&hi)) => lo <= maxt && hi >= mint,
        _ => false,
    };
    let pool: Vec<&Labels> = if m.is_empty() {
        created.iter().collect()
    } else {
        model
            .series
            .iter()
            .filter(|(l, s)| m.iter().all(|m| m.matches_labels(l)) && span_overlaps(s))
            .map(|(l, _)| l)
            .collect()
    };
    let names: BTreeSet<String> = pool.iter().flat_map(|l| l.iter().map(|x| x.name.clone())).collect();
    assert_eq!(q.label_names(&m).unwrap(), names.into_iter().collect::<Vec<_>>(), "{ctx}: label_names {m:?}");
    let values: BTreeSet<String> = pool.iter().filter_map(|l| l.get("job").map(str::to_owned)).collect();
    assert_eq!(
        q.label_values("job", &m).unwrap(),
        values.into_iter().collect::<Vec<_>>(),
        "{ctx}: label_values {m:?}"
    );
}

fn run_case(seed: u64) {
    let mut rng = Rng::new(seed);
    let window = if rng.chance(0.5) { 0 } else { 60 };
    let opts = Options {
        shards: 1 + rng.below(5) as usize,
        out_of_order_window_ms: window,
        fsync: if rng.chance(0.5) { FsyncPolicy::Always } else { FsyncPolicy::default() },
        chunk_samples_target: 8,
        block_range_ms: 300,
        // The model has no head persistence (it would raise the head's minimum time).
        background_compaction: false,
        ..Options::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(dir.path(), opts.clone()).unwrap();
    let mut app: Appender = db.appender();
    let mut model = Model { series: BTreeMap::new(), head_max_t: i64::MIN, window };
    let mut created: BTreeSet<Labels> = BTreeSet::new();
    let mut refs: HashMap<Labels, SeriesRef> = HashMap::new();
    let mut pending: Vec<(Labels, i64, u64)> = Vec::new();
    let mut clock: i64 = 0;
    for step in 0..700 {
        let ctx = format!("seed {seed} step {step}");
        let op = rng.below(100);
        if op < 60 {
            let raw = POOL[rng.below(POOL.len() as u64) as usize];
            clock += rng.below(3) as i64;
            let t = match rng.below(10) {
                0 => clock - rng.below(100) as i64, // out of order, maybe inside the window
                1 => clock,                         // likely duplicate timestamp
                _ => clock + 1,
            };
            let v = value(&mut rng);
            let want = model_labels(raw);
            let labels = Labels::from_pairs(raw.iter().copied());
            let use_ref = rng.chance(0.3);
            let got = match (&want, use_ref) {
                (Ok(l), true) if refs.contains_key(l) => app.append_ref(refs[l], t, v).map(|_| refs[l]),
                _ => app.append(&labels, t, v),
            };
            match want {
                Err(k) => assert_eq!(kind(&got.expect_err(&ctx)), k, "{ctx}"),
                Ok(l) => {
                    created.insert(l.clone());
                    model.series.entry(l.clone()).or_default();
                    let predicted = model.check(model.series.get(&l), model.head_max_t, t, v.to_bits());
                    match (predicted, got) {
                        (Ok(_), Ok(r)) => {
                            refs.insert(l.clone(), r);
                            pending.push((l, t, v.to_bits()));
                        }
                        (Err(k), Err(e)) => assert_eq!(kind(&e), k, "{ctx}: {e}"),
                        (Ok(_), Err(e)) => panic!("{ctx}: append of {l} @{t} rejected: {e}"),
                        (Err(k), Ok(_)) => panic!("{ctx}: append of {l} @{t} accepted, model says {k:?}"),
                    }
                }
            }
        } else if op < 80 {
            app.commit().unwrap();
            model.commit(&pending);
            pending.clear();
        } else if op < 83 {
            app.rollback();
            pending.clear();
        } else if op < 96 {
            check_queries(&db, &model, &mut rng, &created, &ctx);
        } else if op < 98 {
            let m = random_matchers(&mut rng);
            let (a, b) = (rng.below(800) as i64, rng.below(800) as i64);
            let (mint, maxt) = (a.min(b), a.max(b));
            db.delete(&m, mint, maxt).unwrap();
            for (l, s) in model.series.iter_mut() {
                if m.iter().all(|m| m.matches_labels(l)) {
                    s.samples.retain(|t, _| *t < mint || *t > maxt);
                }
            }
        } else {
            // Close + reopen: uncommitted samples are gone, everything else replays.
            drop(app);
            pending.clear();
            db.close().unwrap();
            db = Db::open(dir.path(), opts.clone()).unwrap();
            app = db.appender();
            // Refs stay valid across restarts.
            check_queries(&db, &model, &mut rng, &created, &format!("{ctx} after reopen"));
        }
    }
    app.commit().unwrap();
    model.commit(&pending);
    drop(app);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    assert_eq!(
        select_all(&q, &[]),
        model.select(&[], i64::MIN, i64::MAX),
        "seed {seed}: final state after replay"
    );
    let stats = db.head_stats();
    assert_eq!(stats.num_series as usize, created.len(), "seed {seed}: series count");
    let n: usize = model.series.values().map(|s| s.samples.len()).sum();
    assert_eq!(stats.num_samples as usize, n, "seed {seed}: sample count");
}

#[test]
fn db_agrees_with_model_also_after_replay() {
    let cases: u64 = std::env::var("CAIRN_MODEL_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    for seed in 1..=cases {
        run_case(seed);
    }
}
