//! Rule files and rule unit tests judged by Cairn and by Prometheus's own `promtool` (Debian
//! package `prometheus`): both must agree on which rule files are valid, and on which
//! unit-test files pass.

use crate::support::peers::require;
use cairn::rules::cli::{check_rules, test_rules};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures(sub: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules").join(sub);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {}", dir.display());
    v
}

fn promtool(promtool: &Path, args: &[&str], file: &Path) -> (i32, String) {
    let out = Command::new(promtool)
        .args(args)
        .arg(file.file_name().unwrap())
        .current_dir(file.parent().unwrap())
        .output()
        .expect("run promtool");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn cairn(
    f: fn(&[PathBuf], &mut dyn std::io::Write, &mut dyn std::io::Write) -> i32,
    file: &Path,
) -> (i32, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = f(&[file.to_path_buf()], &mut out, &mut err);
    (code, String::from_utf8_lossy(&err).into_owned())
}

#[test]
fn check_rules_agrees_with_promtool() {
    let Some(pt) = require("promtool", "prometheus") else { return };
    let good = fixtures("good");
    let bad = fixtures("bad");
    for f in good.iter().chain(&bad) {
        let (p, perr) = promtool(&pt, &["check", "rules"], f);
        let (c, cerr) = cairn(check_rules, f);
        assert_eq!(p, c, "{}: promtool exit {p} ({perr}) vs cairn exit {c} ({cerr})", f.display());
    }
    // The fixtures really cover both outcomes.
    assert!(good.iter().all(|f| cairn(check_rules, f).0 == 0));
    assert!(bad.iter().all(|f| cairn(check_rules, f).0 == 1));
}

#[test]
fn check_rules_errors_name_file_line_and_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules/bad");
    let (code, err) = cairn(check_rules, &dir.join("bad_expr.yml"));
    assert_eq!(code, 1);
    assert!(
        err.contains("bad_expr.yml: 5:15: group \"g\", rule 1, \"job:up:sum\": could not parse expression"),
        "{err}"
    );
    let (_, err) = cairn(check_rules, &dir.join("unknown_field.yml"));
    assert!(err.contains("unknown_field.yml: 6:9:") && err.contains("severity"), "{err}");
}

#[test]
fn unit_tests_pass_in_promtool_and_cairn() {
    let Some(pt) = require("promtool", "prometheus") else { return };
    let passing: Vec<PathBuf> =
        fixtures("unit").into_iter().filter(|p| p.to_string_lossy().ends_with("_test.yml")).collect();
    assert!(passing.len() >= 3);
    for f in &passing {
        let (p, perr) = promtool(&pt, &["test", "rules"], f);
        let (c, cerr) = cairn(test_rules, f);
        assert_eq!((p, c), (0, 0), "{}: promtool: {perr}\ncairn: {cerr}", f.display());
    }
    for f in &fixtures("unit_failing") {
        let (p, _) = promtool(&pt, &["test", "rules"], f);
        let (c, cerr) = cairn(test_rules, f);
        assert_eq!((p, c), (1, 1), "{}: both must fail; cairn said: {cerr}", f.display());
    }
}
