//! `Querier::select` with label matchers over 1M series (decoding the samples of every
//! selected series). `cargo bench --bench select` (`CAIRN_BENCH_SERIES` overrides 1M).

use cairn::storage::{Db, Options};
use cairn_format::{Labels, MatchOp, Matcher};
use criterion::{Criterion, Throughput};
use std::time::Duration;

fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("node_metric_{:02}_total", i % 100)),
        (
            "instance",
            format!("10.{}.{}.{}:9100", (i / 100) >> 16 & 255, (i / 100) >> 8 & 255, (i / 100) & 255),
        ),
        ("job", "node".to_string()),
        ("mode", ["user", "system", "idle", "iowait"][i % 4].to_string()),
    ])
}

fn main() {
    let n: usize = std::env::var("CAIRN_BENCH_SERIES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), Options::default()).expect("open");
    let mut app = db.appender();
    for i in 0..n {
        let r = app.append(&labels(i), 0, i as f64).expect("append");
        for k in 1..4 {
            app.append_ref(r, k * 15_000, (i + k as usize) as f64).expect("append");
        }
        if i % 10_000 == 9_999 {
            app.commit().expect("commit");
        }
    }
    app.commit().expect("commit");
    let q = db.querier(0, 60_000).expect("querier");
    let m = |op, n: &str, v: &str| Matcher::new(op, n, v).expect("matcher");
    let cases: Vec<(&str, Vec<Matcher>)> = vec![
        (
            "one_series_eq_eq",
            vec![
                m(MatchOp::Equal, "__name__", "node_metric_07_total"),
                m(MatchOp::Equal, "instance", "10.0.0.5:9100"),
            ],
        ),
        ("metric_name_eq", vec![m(MatchOp::Equal, "__name__", "node_metric_07_total")]),
        (
            "name_eq_and_mode_neq",
            vec![m(MatchOp::Equal, "__name__", "node_metric_07_total"), m(MatchOp::NotEqual, "mode", "idle")],
        ),
        (
            "name_eq_and_instance_regex",
            vec![
                m(MatchOp::Equal, "__name__", "node_metric_07_total"),
                m(MatchOp::RegexMatch, "instance", "10\\.0\\.1.*"),
            ],
        ),
        ("name_regex_alternation", vec![m(MatchOp::RegexMatch, "__name__", "node_metric_0[0-4]_total")]),
    ];
    let mut c =
        Criterion::default().configure_from_args().sample_size(10).warm_up_time(Duration::from_secs(1));
    let mut g = c.benchmark_group(format!("select_{n}series"));
    g.measurement_time(Duration::from_secs(5));
    for (name, ms) in &cases {
        let count = q.select(ms).expect("select").len();
        g.throughput(Throughput::Elements(count as u64));
        g.bench_function(format!("{name}_{count}series"), |b| {
            b.iter(|| {
                let mut samples = 0usize;
                for s in q.select(ms).expect("select") {
                    samples += s.samples().count();
                }
                std::hint::black_box(samples)
            })
        });
    }
    g.finish();
    c.final_summary();
    db.close().expect("close");
}
