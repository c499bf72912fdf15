//! Cairn as an embedded library: open a data directory, append samples, query them back,
//! reopen (WAL replay) and print what is stored. Run: `cargo run --example embedded`.

use cairn::storage::{Db, FsyncPolicy, Options};
use cairn_format::{Labels, MatchOp, Matcher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let opts = Options { fsync: FsyncPolicy::Always, ..Options::default() };
    let db = Db::open(dir.path(), opts.clone())?;

    // Two series of a counter, scraped every 15 s for 10 minutes.
    let start = 1_700_000_000_000i64;
    let mut app = db.appender();
    for (i, code) in ["200", "500"].iter().enumerate() {
        let labels =
            Labels::from_pairs([("__name__", "http_requests_total"), ("job", "api"), ("code", code)]);
        let r = app.append(&labels, start, 0.0)?;
        for k in 1..40 {
            app.append_ref(r, start + k * 15_000, (k * (10 - 9 * i as i64)) as f64)?;
        }
    }
    app.commit()?;

    // Out-of-order samples are rejected with an explanation.
    let late = Labels::from_pairs([("__name__", "http_requests_total"), ("job", "api"), ("code", "200")]);
    if let Err(e) = app.append(&late, start - 1, 1.0) {
        println!("rejected as expected: {e}");
    }
    db.close()?;

    // Reopen: the WAL is replayed and the head restored.
    let db = Db::open(dir.path(), opts)?;
    let q = db.querier(start, start + 120_000)?;
    let errors = Matcher::new(MatchOp::RegexMatch, "code", "5..")?;
    for s in q.select(&[Matcher::equal("__name__", "http_requests_total"), errors])? {
        let samples: Vec<String> = s.samples().map(|x| format!("{}@{}", x.v, x.t - start)).collect();
        println!("{}: {}", s.labels, samples.join(" "));
    }
    println!("label names: {:?}", q.label_names(&[])?);
    println!("codes: {:?}", q.label_values("code", &[])?);
    let st = db.head_stats();
    println!(
        "head: {} series, {} samples, time {:?}..{:?}, top metrics {:?}",
        st.num_series, st.num_samples, st.min_time, st.max_time, st.series_count_by_metric_name
    );
    db.close()?;
    Ok(())
}
