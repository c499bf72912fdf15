//! The engine's public API: result shapes, error kinds and texts, and the guards (sample
//! limit, timeout, cancellation) on a small `MemStorage` dataset.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use cairn_format::{Labels, Sample};
use cairn_query::mem::MemStorage;
use cairn_query::{Engine, EngineOptions, ErrorKind, QueryOptions, Value};

fn data() -> MemStorage {
    let st = MemStorage::new();
    for i in 0..100 {
        let l = Labels::from_pairs([
            ("__name__", "m_total".to_string()),
            ("i", i.to_string()),
            ("g", (i % 2).to_string()),
        ]);
        st.add_series(&l, &(0..10).map(|k| Sample::new(k * 15_000, (k * i) as f64)).collect::<Vec<_>>());
    }
    st
}

#[test]
fn instant_and_range_shapes() {
    let st = data();
    let e = Engine::new(EngineOptions::default());
    let o = QueryOptions::default();
    let r = e.instant_query(&st, "sum by (g) (m_total)", 135_000, &o).unwrap();
    let Value::Vector(v) = r.value else { panic!("not a vector") };
    assert_eq!(v.len(), 2);
    let total: f64 = v.iter().map(|x| x.2).sum();
    assert_eq!(total, (0..100).map(|i| 9.0 * i as f64).sum::<f64>());
    let r = e.instant_query(&st, "1 + 2", 0, &o).unwrap();
    assert_eq!(r.value, Value::Scalar(0, 3.0));
    let r = e.instant_query(&st, "\"s\"", 5, &o).unwrap();
    assert_eq!(r.value, Value::String(5, "s".into()));
    let r = e.range_query(&st, "count(m_total)", 0, 60_000, 30_000, &o).unwrap();
    let Value::Matrix(m) = r.value else { panic!("not a matrix") };
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].1.iter().map(|s| (s.t, s.v)).collect::<Vec<_>>(),
        vec![(0, 100.0), (30_000, 100.0), (60_000, 100.0)]
    );
    assert!(r.stats.samples_loaded > 0);
}

#[test]
fn error_kinds_and_texts() {
    let st = data();
    let e = Engine::new(EngineOptions::default());
    let o = QueryOptions::default();
    let err = e.instant_query(&st, "sum(", 0, &o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadData);
    let err = e.instant_query(&st, "m_total + on(g) m_total", 0, &o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Execution);
    assert!(err.to_string().starts_with("found duplicate series for the match group"), "{err}");
    let err = e.range_query(&st, "m_total", 0, 1_000_000_000, 1, &o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadData);
    let err = e.range_query(&st, "m_total[5m]", 0, 10, 1, &o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadData);
    // A parser panic (huge duration) is an error, not a crash.
    let err = e.instant_query(&st, "m_total[1e30]", 0, &o);
    assert!(err.is_err());
}

#[test]
fn too_many_samples() {
    let st = data();
    let e = Engine::new(EngineOptions { max_samples: 50, ..EngineOptions::default() });
    let err = e.instant_query(&st, "sum(m_total)", 135_000, &QueryOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManySamples);
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
}

#[test]
fn cancellation_and_timeout() {
    let st = data();
    let e = Engine::new(EngineOptions::default());
    let flag = Arc::new(AtomicBool::new(true));
    let o = QueryOptions { cancel: Some(flag), ..QueryOptions::default() };
    let err = e.instant_query(&st, "sum(m_total)", 0, &o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    let e = Engine::new(EngineOptions { timeout: Duration::ZERO, ..EngineOptions::default() });
    let q = (0..80).map(|_| "m_total").collect::<Vec<_>>().join(" or ");
    let err = e.instant_query(&st, &q, 0, &QueryOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.to_string(), "query timed out in expression evaluation");
}

#[test]
fn lookback_override() {
    let st = data();
    let e = Engine::new(EngineOptions::default());
    let short = QueryOptions { lookback_delta_ms: Some(10_000), ..QueryOptions::default() };
    // Last sample at 135s; at 150s a 10s lookback sees nothing, the default 5m does.
    let r = e.instant_query(&st, "m_total", 150_000, &short).unwrap();
    assert_eq!(r.value, Value::Vector(vec![]));
    let r = e.instant_query(&st, "count(m_total)", 150_000, &QueryOptions::default()).unwrap();
    assert!(matches!(r.value, Value::Vector(ref v) if v.len() == 1 && v[0].2 == 100.0));
}

#[test]
fn deep_nesting_and_huge_input_do_not_crash() {
    let st = data();
    let e = Engine::new(EngineOptions::default());
    let o = QueryOptions::default();
    let depth = 10_000;
    let q = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
    let r = e.instant_query(&st, &q, 0, &o).unwrap();
    assert_eq!(r.value, Value::Scalar(0, 1.0));
    let q = format!("{}m_total", "-".repeat(depth));
    assert!(e.instant_query(&st, &q, 0, &o).is_ok());
    let q = "1".repeat(cairn_query::engine::QUERY_LEN_MAX_BYTES + 1);
    assert_eq!(e.instant_query(&st, &q, 0, &o).unwrap_err().kind(), ErrorKind::BadData);
}

#[test]
fn public_parse_is_guarded() {
    assert!(cairn_query::parse("sum by (a) (rate(x[5m]))").is_ok());
    assert_eq!(cairn_query::parse("sum(").unwrap_err().kind(), ErrorKind::BadData);
    assert!(cairn_query::parse("x[1e30]").is_err());
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(cairn_query::parse(&deep).is_ok());
}
