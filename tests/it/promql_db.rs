//! Prometheus's PromQL test corpus (read from `CAIRN_PROMQL_TESTDATA`, default
//! `<workspace>/../shared/promql-testdata`, never copied) run over the real `cairn::storage::Db`
//! instead of `MemStorage`, with cairn-query's own script runner (`query/tests/promqltest/`,
//! mounted by `#[path]` in `main.rs`): every `load` goes through an `Appender` into a Db in a
//! temp dir (the head persisted into 1 h blocks before the first query after a load, so evals
//! read blocks and head merged), every `clear` opens a fresh Db. The float+stable pass count must reach the same
//! baseline as the MemStorage run (`query/tests/promqltest-baseline.txt`), and every eval that
//! passes over MemStorage must pass over the Db: a difference is a storage bug.

use crate::promqltest_run::{ScriptStorage, run_file, run_file_on};
use cairn::storage::{Db, FsyncPolicy, Options};
use cairn_format::Labels;
use cairn_query::{Engine, EngineOptions, Queryable};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A Db in its own temp dir, as a script's storage. The head is persisted into blocks before
/// the first query after a load (not at the load: a later `load` of earlier samples would then
/// be older than the head, which the Db refuses).
struct DbStorage {
    db: Db,
    loaded_since_compaction: AtomicBool,
    _dir: tempfile::TempDir,
}

impl DbStorage {
    fn new() -> DbStorage {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = Options {
            fsync: FsyncPolicy::Interval(std::time::Duration::from_secs(60)),
            shards: 4,
            // Scripts may load a series again at earlier times; keep everything.
            out_of_order_window_ms: 1000 * 365 * 24 * 3600 * 1000,
            block_range_ms: 3600 * 1000,
            retention_ms: 0,
            background_compaction: false,
            ..Options::default()
        };
        let db = Db::open(dir.path(), opts).expect("open Db");
        DbStorage { db, loaded_since_compaction: AtomicBool::new(false), _dir: dir }
    }
}

impl Queryable for DbStorage {
    fn querier(
        &self,
        mint: i64,
        maxt: i64,
    ) -> Result<Box<dyn cairn_query::storage::Querier + '_>, cairn_query::storage::StorageError> {
        if self.loaded_since_compaction.swap(false, Ordering::SeqCst) {
            // A panic here is caught by the runner and fails the eval, visibly.
            self.db.compact().expect("persist the head into blocks");
        }
        Queryable::querier(&self.db, mint, maxt)
    }
}

impl ScriptStorage for DbStorage {
    fn load(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String> {
        let mut app = self.db.appender();
        for (l, t, v) in samples {
            app.append(l, *t, *v).map_err(|e| format!("append {l} @{t}: {e}"))?;
        }
        app.commit().map_err(|e| format!("commit: {e}"))?;
        self.loaded_since_compaction.store(true, Ordering::SeqCst);
        Ok(())
    }
}

fn corpus_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CAIRN_PROMQL_TESTDATA") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("../shared/promql-testdata"), root.join("../../shared/promql-testdata")]
        .into_iter()
        .find(|p| p.is_dir())
}

/// `[class] line N` of a failure message: one key per eval.
fn eval_key(failure: &str) -> &str {
    failure.split(':').next().unwrap_or(failure)
}

/// The keys of every failed eval.
fn failed_evals(failures: &[String]) -> BTreeSet<String> {
    failures.iter().map(|f| eval_key(f).to_string()).collect()
}

#[test]
fn prometheus_corpus_over_the_database() {
    let Some(dir) = corpus_dir().filter(|d| d.is_dir()) else {
        if std::env::var_os("CI").is_some() {
            panic!("PromQL test corpus not found (set CAIRN_PROMQL_TESTDATA)");
        }
        println!("notice: PromQL test corpus not found; skipping (set CAIRN_PROMQL_TESTDATA)");
        return;
    };
    let engine = Engine::new(EngineOptions { lookback_delta_ms: 5 * 60 * 1000, ..EngineOptions::default() });
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let (mut passed, mut total) = (0, 0);
    let mut regressions = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let on_mem = run_file(&engine, &name, &text);
        let on_db = run_file_on(&engine, &name, &text, &mut DbStorage::new);
        assert!(on_db.fatal.is_none(), "{name}: {:?}", on_db.fatal);
        if let Some(&(p, t)) = on_db.counts.get(&crate::promqltest_run::Class::FloatStable) {
            passed += p;
            total += t;
        }
        let mem_failed = failed_evals(&on_mem.failures);
        for fl in &on_db.failures {
            let key = eval_key(fl);
            if !mem_failed.contains(key) {
                regressions.push(format!("{name}: {fl}"));
            }
        }
    }
    println!("TOTAL prometheus corpus over Db: float+stable={passed}/{total}");
    let baseline_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("query/tests/promqltest-baseline.txt");
    let baseline: usize = std::fs::read_to_string(&baseline_path)
        .unwrap()
        .lines()
        .find(|l| !l.trim().starts_with('#') && !l.trim().is_empty())
        .and_then(|l| l.trim().parse().ok())
        .expect("baseline number");
    assert!(
        regressions.is_empty(),
        "{} evals pass over MemStorage but fail over the Db:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
    assert!(passed >= baseline, "float+stable passes over the Db: {passed} < baseline {baseline}");
}
