//! The promqltest runner: executes Prometheus's PromQL test scripts (read from
//! `CAIRN_PROMQL_TESTDATA`, default `<workspace>/../shared/promql-testdata`) and our own
//! scripts in `tests/testdata/`. Prints pass/fail per file and class; fails if the
//! float+stable pass count drops below `tests/promqltest-baseline.txt`, or if any of our
//! own scripts fails. The Prometheus scripts are never copied into the project.

#[path = "promqltest/run.rs"]
mod run;
#[path = "promqltest/script.rs"]
mod script;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cairn_query::{Engine, EngineOptions};
use run::Class;

fn engine() -> Engine {
    Engine::new(EngineOptions { lookback_delta_ms: 5 * 60 * 1000, ..EngineOptions::default() })
}

fn corpus_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CAIRN_PROMQL_TESTDATA") {
        return Some(PathBuf::from(p));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent()?;
    [root.join("../shared/promql-testdata"), root.join("../../shared/promql-testdata")]
        .into_iter()
        .find(|p| p.is_dir())
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "test"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

const CLASSES: [Class; 4] =
    [Class::FloatStable, Class::Histogram, Class::Experimental, Class::StartTimestamps];

/// Runs every file of `dir`; returns totals per class.
fn run_dir(dir: &Path, show_failures: usize) -> (HashMap<Class, (usize, usize)>, Vec<String>) {
    let eng = engine();
    let mut totals: HashMap<Class, (usize, usize)> = HashMap::new();
    let mut problems = Vec::new();
    for f in test_files(dir) {
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{name}: cannot read: {e}"));
                continue;
            }
        };
        let rep = run::run_file(&eng, &name, &text);
        if let Some(fatal) = &rep.fatal {
            println!("{name}: SCRIPT ERROR {fatal}");
            problems.push(format!("{name}: {fatal}"));
            continue;
        }
        let mut line = format!("{name:32}");
        let (mut ap, mut at) = (0, 0);
        for c in CLASSES {
            if let Some(&(p, t)) = rep.counts.get(&c) {
                line.push_str(&format!(" {}={p}/{t}", c.name()));
                let e = totals.entry(c).or_default();
                e.0 += p;
                e.1 += t;
                ap += p;
                at += t;
            }
        }
        println!("{line}  all={ap}/{at}");
        let stable = rep.failures.iter().filter(|f| f.starts_with("[float+stable]"));
        let other = rep.failures.iter().filter(|f| !f.starts_with("[float+stable]"));
        for fl in stable.chain(other).take(show_failures) {
            println!("    {fl}");
        }
        for fl in &rep.failures {
            problems.push(format!("{name}: {fl}"));
        }
    }
    (totals, problems)
}

fn print_totals(title: &str, totals: &HashMap<Class, (usize, usize)>) {
    let (mut ap, mut at) = (0, 0);
    let mut line = format!("TOTAL {title}:");
    for c in CLASSES {
        let (p, t) = totals.get(&c).copied().unwrap_or((0, 0));
        line.push_str(&format!(" {}={p}/{t}", c.name()));
        ap += p;
        at += t;
    }
    println!("{line} all={ap}/{at}");
}

#[test]
fn prometheus_corpus() {
    let Some(dir) = corpus_dir().filter(|d| d.is_dir()) else {
        if std::env::var_os("CI").is_some() {
            panic!("PromQL test corpus not found (set CAIRN_PROMQL_TESTDATA)");
        }
        println!("notice: PromQL test corpus not found; skipping (set CAIRN_PROMQL_TESTDATA)");
        return;
    };
    let show: usize = std::env::var("CAIRN_PROMQLTEST_SHOW").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let (totals, _) = run_dir(&dir, show);
    print_totals("prometheus corpus", &totals);
    let baseline_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promqltest-baseline.txt");
    let baseline: usize = std::fs::read_to_string(&baseline_path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| !l.trim().starts_with('#') && !l.trim().is_empty())
                .and_then(|l| l.trim().parse().ok())
        })
        .unwrap_or(0);
    let passed = totals.get(&Class::FloatStable).map(|x| x.0).unwrap_or(0);
    assert!(passed >= baseline, "float+stable passes dropped: {passed} < baseline {baseline}");
}

#[test]
fn own_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata");
    let files = test_files(&dir);
    assert!(!files.is_empty(), "no scripts in {}", dir.display());
    let (totals, problems) = run_dir(&dir, 10);
    print_totals("own scripts", &totals);
    assert!(problems.is_empty(), "own scripts failed:\n{}", problems.join("\n"));
}
