//! `cairn check rules FILE...`, `cairn check config FILE...` and `cairn test rules FILE...`,
//! printing like promtool (`Checking FILE` / `  SUCCESS: N rules found` / `  FAILED:`;
//! ` SUCCESS: FILE is valid prometheus config file syntax` followed by the check of each rule
//! file it names; `Unit Testing:  FILE` / `  SUCCESS` / `  FAILED:`) and returning the process
//! exit code (0 ok, 1 failure).
//! The writers are parameters so tests can capture the output.

use crate::rules::file::parse_rule_file;
use crate::rules::unittest::run_test_file;
use std::io::Write;
use std::path::PathBuf;

/// Validates rule files; exit code 1 if any is invalid.
pub fn check_rules(files: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Checking {}", f.display());
        match parse_rule_file(f) {
            Ok(rf) => {
                let _ = writeln!(out, "  SUCCESS: {} rules found", rf.rule_count());
            }
            Err(errs) => {
                failed = true;
                let _ = writeln!(err, "  FAILED:");
                for e in errs {
                    let _ = writeln!(err, "{e}");
                }
            }
        }
        let _ = writeln!(out);
    }
    i32::from(failed)
}

/// Validates configuration files as `cairn serve` would load them (targets, Alertmanagers,
/// secret and TLS files, rule files); warnings are printed; exit code 1 if any is invalid.
pub fn check_config(files: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Checking {}", f.display());
        match crate::server::runtime::check_config(f) {
            Ok((cfg, rule_files)) => {
                let _ = writeln!(out, " SUCCESS: {} is valid prometheus config file syntax", f.display());
                for w in &cfg.warnings {
                    let _ = writeln!(out, "  WARNING: {w}");
                }
                let _ = writeln!(out);
                if check_rules(&rule_files, out, err) != 0 {
                    failed = true;
                }
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(err, "  FAILED: {e}");
                let _ = writeln!(out);
            }
        }
    }
    i32::from(failed)
}

/// [`check_config`] on stdout/stderr.
pub fn check_config_main(files: &[PathBuf]) -> i32 {
    check_config(files, &mut std::io::stdout(), &mut std::io::stderr())
}

/// Runs promtool-style unit-test files; exit code 1 if any test fails.
pub fn test_rules(files: &[PathBuf], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Unit Testing:  {}", f.display());
        match run_test_file(f) {
            Ok(o) if o.failures.is_empty() => {
                let _ = writeln!(out, "  SUCCESS");
            }
            Ok(o) => {
                failed = true;
                let _ = writeln!(err, "  FAILED:");
                for e in o.failures {
                    let _ = writeln!(err, "{e}");
                }
            }
            Err(errs) => {
                failed = true;
                let _ = writeln!(err, "  FAILED:");
                for e in errs {
                    let _ = writeln!(err, "    {e}");
                }
            }
        }
        let _ = writeln!(out);
    }
    i32::from(failed)
}

/// [`check_rules`] on stdout/stderr.
pub fn check_rules_main(files: &[PathBuf]) -> i32 {
    check_rules(files, &mut std::io::stdout(), &mut std::io::stderr())
}

/// [`test_rules`] on stdout/stderr.
pub fn test_rules_main(files: &[PathBuf]) -> i32 {
    test_rules(files, &mut std::io::stdout(), &mut std::io::stderr())
}
