//! Rule evaluation through `RuleManager` on the real engine over `MemStorage`: recording
//! rules equal their expression, the alert state machine with `ALERTS`/`ALERTS_FOR_STATE`,
//! stale markers, restore after restart, `limit`, `query_offset`, reloads that fail keep the
//! old rules, and the API JSON shapes.

use cairn::rules::api::{RulesFilter, alerts_json, rules_json};
use cairn::rules::local::{EngineQuerier, MemAppender};
use cairn::rules::{ManagerOptions, QueryValue, RuleManager, RuleQuerier};
use cairn_format::{Labels, is_stale_nan};
use cairn_query::mem::MemStorage;
use std::path::PathBuf;
use std::sync::Arc;

const MIN: i64 = 60_000;

struct Env {
    storage: Arc<MemStorage>,
    querier: Arc<EngineQuerier<MemStorage>>,
    mgr: RuleManager,
    _dir: tempfile::TempDir,
    file: PathBuf,
}

fn env(rules: &str, opts: ManagerOptions) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    std::fs::write(&file, rules).unwrap();
    let storage = Arc::new(MemStorage::new());
    let querier = Arc::new(EngineQuerier::new(storage.clone()));
    let opts = ManagerOptions { run_scheduler: false, restore_on_start: false, ..opts };
    let mgr = RuleManager::new(opts, querier.clone(), Arc::new(MemAppender(storage.clone())), None);
    mgr.load(std::slice::from_ref(&file)).unwrap();
    Env { storage, querier, mgr, _dir: dir, file }
}

fn vector(q: &dyn RuleQuerier, expr: &str, t: i64) -> Vec<(Labels, f64)> {
    match q.query(expr, t).unwrap() {
        QueryValue::Vector(mut v) => {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        }
        QueryValue::Scalar(f) => vec![(Labels::empty(), f)],
        other => panic!("unexpected {other:?}"),
    }
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

#[test]
fn recording_rules_equal_direct_evaluation() {
    let exprs = [
        ("r:sum", "sum by (job) (rate(http_requests_total[5m]))"),
        ("r:ratio", "http_requests_total / on(instance) group_left() up"),
        ("r:quantile", "quantile(0.9, http_requests_total)"),
        ("r:topk", "topk(2, http_requests_total)"),
        ("r:scalar", "scalar(sum(up)) * 2"),
        ("r:deriv", "deriv(http_requests_total[10m])"),
        ("r:avg_over", "avg_over_time(up[15m])"),
    ];
    let mut rules = String::from("groups:\n  - name: rec\n    rules:\n");
    for (n, e) in exprs {
        rules.push_str(&format!("      - record: {n}\n        expr: '{e}'\n"));
    }
    let e = env(&rules, ManagerOptions::default());
    // Deterministic, irregular data.
    let mut x: u64 = 12345;
    for inst in 0..6 {
        let job = if inst % 2 == 0 { "api" } else { "db" };
        let li = l(&[("__name__", "http_requests_total"), ("instance", &format!("i{inst}")), ("job", job)]);
        let lu = l(&[("__name__", "up"), ("instance", &format!("i{inst}")), ("job", job)]);
        let mut c = 0.0;
        for k in 0..120i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c += (x % 100) as f64 / 7.0;
            e.storage.append(&li, k * 15_000 + (x % 1000) as i64, c);
            e.storage.append(&lu, k * 15_000, ((x >> 8) % 2) as f64 + 1.0);
        }
    }
    for step in 5..30 {
        let ts = step * MIN;
        e.mgr.eval_all_at(ts);
        for (name, expr) in exprs {
            let direct: Vec<(Labels, f64)> = {
                let mut v: Vec<(Labels, f64)> = vector(e.querier.as_ref(), expr, ts)
                    .into_iter()
                    .map(|(mut lb, v)| {
                        lb.set("__name__", name);
                        (lb, v)
                    })
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            };
            let recorded = vector(e.querier.as_ref(), name, ts);
            assert!(!direct.is_empty(), "{expr} at {ts} is empty");
            assert_eq!(recorded.len(), direct.len(), "{name} at {ts}");
            for (r, d) in recorded.iter().zip(&direct) {
                assert_eq!(r.0, d.0, "{name} at {ts}");
                assert_eq!(r.1.to_bits(), d.1.to_bits(), "{name} at {ts}: {} vs {}", r.1, d.1);
            }
        }
    }
}

const ALERT_RULES: &str = r#"
groups:
  - name: alerts
    rules:
      - alert: HighErrors
        expr: errors > 5
        for: 2m
        labels:
          severity: '{{ if gt $value 50.0 }}critical{{ else }}warning{{ end }}'
        annotations:
          summary: '{{ $labels.service }} has {{ $value }} errors'
"#;

#[test]
fn alert_goes_pending_firing_resolved_with_alerts_series() {
    let e = env(ALERT_RULES, ManagerOptions::default());
    let s = l(&[("__name__", "errors"), ("service", "api")]);
    // 0..3m quiet, 4m..8m high, then quiet again.
    for m in 0..=20 {
        let v = if (4..=8).contains(&m) { 10.0 } else { 0.0 };
        e.storage.append(&s, m * MIN, v);
    }
    let state = |e: &Env| {
        let a = alerts_json(&e.mgr);
        a["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["state"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    e.mgr.eval_all_at(3 * MIN);
    assert!(state(&e).is_empty());
    e.mgr.eval_all_at(4 * MIN);
    assert_eq!(state(&e), ["pending"]);
    e.mgr.eval_all_at(5 * MIN);
    assert_eq!(state(&e), ["pending"]);
    e.mgr.eval_all_at(6 * MIN);
    assert_eq!(state(&e), ["firing"]);
    let a = alerts_json(&e.mgr);
    let alert = &a["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "HighErrors");
    assert_eq!(alert["labels"]["severity"], "warning");
    assert_eq!(alert["labels"]["service"], "api");
    assert_eq!(alert["annotations"]["summary"], "api has 10 errors");
    assert_eq!(alert["activeAt"], "1970-01-01T00:04:00.000Z");
    assert_eq!(alert["value"], "1e+01");

    // ALERTS and ALERTS_FOR_STATE were written at each evaluation.
    let pending = vector(e.querier.as_ref(), r#"ALERTS{alertstate="pending"}"#, 5 * MIN);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0.get("severity"), Some("warning"));
    let firing = vector(e.querier.as_ref(), r#"ALERTS{alertstate="firing"}"#, 6 * MIN);
    assert_eq!(firing.len(), 1);
    // The pending series went stale when the alert started firing.
    assert!(vector(e.querier.as_ref(), r#"ALERTS{alertstate="pending"}"#, 6 * MIN).is_empty());
    let fs = vector(e.querier.as_ref(), "ALERTS_FOR_STATE", 6 * MIN);
    assert_eq!(fs[0].1, 240.0);

    for m in 7..=9 {
        e.mgr.eval_all_at(m * MIN);
    }
    // Resolved: not listed as active, ALERTS gone (stale marker), rule state inactive.
    assert!(state(&e).is_empty());
    assert!(vector(e.querier.as_ref(), "ALERTS", 9 * MIN).is_empty());
    let rules = rules_json(&e.mgr, &RulesFilter::default()).unwrap();
    assert_eq!(rules["groups"][0]["rules"][0]["state"], "inactive");
    assert_eq!(rules["groups"][0]["rules"][0]["health"], "ok");
}

#[test]
fn stale_markers_for_series_a_rule_stops_producing() {
    let e = env(
        "groups:\n  - name: g\n    rules:\n      - record: r:x\n        expr: x > 0\n",
        ManagerOptions::default(),
    );
    let a = l(&[("__name__", "x"), ("k", "a")]);
    let b = l(&[("__name__", "x"), ("k", "b")]);
    for m in 0..5 {
        e.storage.append(&a, m * MIN, 1.0);
        e.storage.append(&b, m * MIN, if m < 2 { 1.0 } else { 0.0 });
    }
    for m in 0..4 {
        e.mgr.eval_all_at(m * MIN);
    }
    // r:x{k="b"} got a stale marker at 2m and nothing after.
    let storage: &MemStorage = &e.storage;
    let q = cairn_query::Queryable::querier(storage, 0, 10 * MIN).unwrap();
    let m = [cairn_format::Matcher::new(cairn_format::MatchOp::Equal, "k", "b").unwrap()];
    let series = q.select(&m, &Default::default()).unwrap();
    let rec = series.iter().find(|s| s.labels.get("__name__") == Some("r:x")).expect("recorded b");
    let vals: Vec<(i64, bool)> = rec.samples.iter().map(|p| (p.t, is_stale_nan(p.v))).collect();
    assert_eq!(vals, vec![(0, false), (MIN, false), (2 * MIN, true)]);
    assert_eq!(vector(e.querier.as_ref(), "r:x", 3 * MIN).len(), 1);
}

#[test]
fn limit_and_query_offset() {
    let rules = "groups:\n  - name: lim\n    limit: 2\n    rules:\n      - record: r:y\n        expr: y\n  - name: off\n    query_offset: 1m\n    rules:\n      - record: r:z\n        expr: z\n";
    let e = env(rules, ManagerOptions::default());
    for i in 0..3 {
        e.storage.append(&l(&[("__name__", "y"), ("i", &i.to_string())]), 0, 1.0);
    }
    e.storage.append(&l(&[("__name__", "z")]), 0, 1.0);
    e.storage.append(&l(&[("__name__", "z")]), 2 * MIN, 2.0);
    e.mgr.eval_all_at(2 * MIN);
    let rules = rules_json(&e.mgr, &RulesFilter::default()).unwrap();
    let lim = &rules["groups"][0]["rules"][0];
    assert_eq!(lim["health"], "err");
    assert_eq!(lim["lastError"], "exceeded limit of 2 with 3 series");
    assert!(vector(e.querier.as_ref(), "r:y", 2 * MIN).is_empty());
    // Evaluated at 2m with a 1m offset: sees z at 1m (value 1), written at 1m.
    assert_eq!(vector(e.querier.as_ref(), "r:z", MIN), vec![(l(&[("__name__", "r:z")]), 1.0)]);
    let m = e.mgr.metrics();
    let failures = m
        .iter()
        .find(|(n, lb, _)| n == "cairn_rule_evaluation_failures_total" && lb[0].1.ends_with(";lim"))
        .unwrap();
    assert_eq!(failures.2, 1.0);
}

#[test]
fn restore_for_state_after_restart() {
    let rules =
        "groups:\n  - name: g\n    rules:\n      - alert: Long\n        expr: v > 0\n        for: 30m\n";
    let e = env(rules, ManagerOptions::default());
    let s = l(&[("__name__", "v")]);
    for m in 0..=60 {
        e.storage.append(&s, m * MIN, 1.0);
    }
    for m in 0..=20 {
        e.mgr.eval_all_at(m * MIN);
    }
    // "Restart" at 25m: a new manager over the same storage, restoring state.
    let opts = ManagerOptions {
        run_scheduler: false,
        restore_on_start: true,
        for_grace_period_ms: 10 * MIN,
        ..Default::default()
    };
    let mgr2 = RuleManager::new(opts, e.querier.clone(), Arc::new(MemAppender(e.storage.clone())), None);
    mgr2.load(std::slice::from_ref(&e.file)).unwrap();
    mgr2.eval_all_at(25 * MIN);
    mgr2.eval_all_at(26 * MIN);
    // Nothing written while waiting for restore.
    assert!(
        vector(e.querier.as_ref(), "ALERTS", 26 * MIN)
            .iter()
            .all(|(lb, _)| lb.get("alertstate") == Some("pending"))
    );
    mgr2.restore_all_at(26 * MIN);
    // Pending since 0m, down at 20m (20 of 30 min spent, 10 left >= grace): active_at moves by
    // the 6m downtime, so the alert fires at 36m instead of 25m+30m.
    let a = alerts_json(&mgr2);
    assert_eq!(a["alerts"][0]["activeAt"], "1970-01-01T00:06:00.000Z");
    mgr2.eval_all_at(35 * MIN);
    assert_eq!(alerts_json(&mgr2)["alerts"][0]["state"], "pending");
    mgr2.eval_all_at(36 * MIN);
    assert_eq!(alerts_json(&mgr2)["alerts"][0]["state"], "firing");
}

#[test]
fn failed_reload_keeps_old_rules_and_filters_work() {
    let e = env(ALERT_RULES, ManagerOptions::default());
    std::fs::write(
        &e.file,
        "groups:\n  - name: x\n    rules:\n      - record: 'bad name'\n        expr: up\n",
    )
    .unwrap();
    let errs = e.mgr.load(std::slice::from_ref(&e.file)).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 4);
    assert!(errs[0].to_string().contains("rules.yml: 4:"), "{}", errs[0]);
    assert_eq!(e.mgr.groups()[0].name, "alerts");
    // A good reload that also adds a recording rule.
    std::fs::write(
        &e.file,
        format!("{ALERT_RULES}  - name: rec\n    rules:\n      - record: a:b\n        expr: vector(1)\n"),
    )
    .unwrap();
    e.mgr.load(std::slice::from_ref(&e.file)).unwrap();
    assert_eq!(e.mgr.groups().len(), 2);
    let only_rec =
        rules_json(&e.mgr, &RulesFilter { typ: Some("record".into()), ..Default::default() }).unwrap();
    assert_eq!(only_rec["groups"].as_array().unwrap().len(), 1);
    assert_eq!(only_rec["groups"][0]["rules"][0]["type"], "recording");
    let by_name =
        rules_json(&e.mgr, &RulesFilter { rule_names: vec!["HighErrors".into()], ..Default::default() })
            .unwrap();
    assert_eq!(by_name["groups"][0]["rules"][0]["name"], "HighErrors");
    let by_group =
        rules_json(&e.mgr, &RulesFilter { group_names: vec!["rec".into()], ..Default::default() }).unwrap();
    assert_eq!(by_group["groups"][0]["name"], "rec");
    let by_file =
        rules_json(&e.mgr, &RulesFilter { files: vec!["nope".into()], ..Default::default() }).unwrap();
    assert!(by_file["groups"].as_array().unwrap().is_empty());
    assert!(rules_json(&e.mgr, &RulesFilter { typ: Some("x".into()), ..Default::default() }).is_err());
}

#[test]
fn reload_marks_series_of_removed_rules_and_groups_stale() {
    let two = "groups:\n  - name: g\n    rules:\n      - record: keep\n        expr: vector(1)\n      - record: gone\n        expr: vector(2)\n  - name: h\n    rules:\n      - record: other\n        expr: vector(3)\n";
    let e = env(two, ManagerOptions::default());
    e.mgr.eval_all_at(MIN);
    assert_eq!(vector(e.querier.as_ref(), "gone", MIN).len(), 1);
    assert_eq!(vector(e.querier.as_ref(), "other", MIN).len(), 1);
    std::fs::write(
        &e.file,
        "groups:\n  - name: g\n    rules:\n      - record: keep\n        expr: vector(1)\n",
    )
    .unwrap();
    e.mgr.load(std::slice::from_ref(&e.file)).unwrap();
    e.mgr.eval_all_at(2 * MIN);
    // `gone` got a stale marker at the next evaluation of its group; `keep` continues.
    assert!(vector(e.querier.as_ref(), "gone", 2 * MIN).is_empty());
    assert_eq!(vector(e.querier.as_ref(), "keep", 2 * MIN).len(), 1);
    // Group `h` disappeared: its series were marked stale (at the wall-clock time of the reload).
    assert!(vector(e.querier.as_ref(), "other", cairn::rules::now_ms() + 1000).is_empty());
    assert_eq!(vector(e.querier.as_ref(), "other", 2 * MIN).len(), 1, "nothing rewrote history");
}

#[test]
fn options_change_only_with_a_successful_load() {
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: vector(1)\n        annotations:\n          where: '{{ $externalLabels.dc }}'\n";
    let opts = ManagerOptions { external_labels: l(&[("dc", "one")]), ..Default::default() };
    let e = env(rules, opts);
    let where_ =
        |e: &Env| alerts_json(&e.mgr)["alerts"][0]["annotations"]["where"].as_str().unwrap().to_string();
    e.mgr.eval_all_at(MIN);
    assert_eq!(where_(&e), "one");
    // A bad file: neither the rules nor the options change.
    let good = std::fs::read_to_string(&e.file).unwrap();
    std::fs::write(&e.file, "groups: [{name: g, rules: [{alert: 'A', expr: 'sum('}]}]\n").unwrap();
    let two =
        ManagerOptions { external_labels: l(&[("dc", "two")]), run_scheduler: false, ..Default::default() };
    assert!(e.mgr.load_with_options(std::slice::from_ref(&e.file), Some(two.clone())).is_err());
    assert_eq!(e.mgr.options().external_labels, l(&[("dc", "one")]));
    std::fs::write(&e.file, good).unwrap();
    e.mgr.load_with_options(std::slice::from_ref(&e.file), Some(two)).unwrap();
    e.mgr.eval_all_at(2 * MIN);
    assert_eq!(where_(&e), "two");
}

#[test]
fn scheduler_restores_alert_state_at_startup() {
    // Before the "restart": the alert had been pending since 20 minutes ago, and the last
    // ALERTS_FOR_STATE sample was written 1 minute ago.
    let now = cairn::rules::now_ms();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.yml");
    std::fs::write(&file, "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: Slow\n        expr: v > 0\n        for: 1h\n").unwrap();
    let storage = Arc::new(MemStorage::new());
    let active_at_s = (now / 1000 - 20 * 60) as f64;
    storage.append(&l(&[("__name__", "ALERTS_FOR_STATE"), ("alertname", "Slow")]), now - MIN, active_at_s);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (s, st) = (storage.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                s.append(&l(&[("__name__", "v")]), cairn::rules::now_ms(), 1.0);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    let querier = Arc::new(EngineQuerier::new(storage.clone()));
    let opts = ManagerOptions { restore_on_start: true, eval_interval_ms: 1000, ..Default::default() };
    let mgr = RuleManager::new(opts, querier, Arc::new(MemAppender(storage.clone())), None);
    mgr.load(&[file]).unwrap();
    // Restored: 20m of 1h spent, down for ~1m, so activeAt moves ~1m later than 20m ago.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let restored = loop {
        let a = alerts_json(&mgr);
        if let Some(t) = a["alerts"][0]["activeAt"].as_str() {
            let ms = cairn::api::params::parse_rfc3339(t).unwrap();
            if ms < now - 10 * MIN {
                break ms;
            }
        }
        assert!(std::time::Instant::now() < deadline, "alert state was not restored: {a}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    mgr.stop();
    let expected = active_at_s as i64 * 1000 + MIN;
    assert!((restored - expected).abs() < 30_000, "restored activeAt {restored}, expected about {expected}");
    assert_eq!(alerts_json(&mgr)["alerts"][0]["state"], "pending");
}
