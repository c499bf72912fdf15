//! Template behaviour against Prometheus's documented outputs.

use super::*;
use crate::rules::{QueryValue, RuleQuerier};

struct FakeQuerier;

impl RuleQuerier for FakeQuerier {
    fn query(&self, expr: &str, _t: i64) -> Result<QueryValue, String> {
        match expr {
            "up" => Ok(QueryValue::Vector(vec![
                (Labels::from_pairs([("__name__", "up"), ("instance", "b:9100"), ("job", "node")]), 1.0),
                (Labels::from_pairs([("__name__", "up"), ("instance", "a:9100"), ("job", "node")]), 0.0),
            ])),
            "none" => Ok(QueryValue::Vector(vec![])),
            "1.5" => Ok(QueryValue::Scalar(1.5)),
            _ => Err(format!("bad query {expr}")),
        }
    }
}

fn run(text: &str) -> String {
    let labels = Labels::from_pairs([("instance", "host-1:9100"), ("job", "node"), ("severity", "page")]);
    let ext = Labels::from_pairs([("cluster", "eu1")]);
    let q = FakeQuerier;
    let env =
        FuncEnv { querier: Some(&q), ts_ms: 1_000_000, external_url: "http://cairn:9090/prefix".into() };
    let data = AlertData {
        labels: &labels,
        external_labels: &ext,
        external_url: "http://cairn:9090/prefix",
        value: 0.123456,
    };
    expand_alert("__alert_Test", text, &data, &env)
}

#[test]
fn variables_and_fields() {
    assert_eq!(run("{{ $labels.instance }} is down"), "host-1:9100 is down");
    assert_eq!(run("{{ .Labels.job }}/{{ $externalLabels.cluster }}"), "node/eu1");
    assert_eq!(run("{{ $value }}"), "0.123456");
    assert_eq!(run("{{ .Value }}"), "0.123456");
    assert_eq!(run("[{{ $labels.missing }}]"), "[]");
    assert_eq!(run("{{ $externalURL }}"), "http://cairn:9090/prefix");
}

#[test]
fn humanize_pipelines_and_printf() {
    assert_eq!(run("{{ $value | humanizePercentage }}"), "12.35%");
    assert_eq!(run("{{ humanize 1234567.0 }}"), "1.235M");
    assert_eq!(run("{{ 2048 | humanize1024 }}"), "2ki");
    assert_eq!(run("{{ humanizeDuration 3661 }}"), "1h 1m 1s");
    assert_eq!(run("{{ humanizeTimestamp 0 }}"), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(run(r#"{{ printf "%.2f" $value }}"#), "0.12");
    assert_eq!(run(r#"{{ printf "%s has %d" $labels.job 3 }}"#), "node has 3");
    assert_eq!(run(r#"{{ "x" | printf "%s-%s" "a" }}"#), "a-x");
    assert_eq!(
        run(r#"{{ $labels.job | toUpper }} {{ "AB" | toLower }} {{ title "foo bar" }}"#),
        "NODE ab Foo Bar"
    );
    assert_eq!(run(r#"{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}"#), "host-1");
    assert_eq!(run(r#"{{ if match "^host" $labels.instance }}yes{{ end }}"#), "yes");
}

#[test]
fn control_structures() {
    assert_eq!(run(r#"{{ if eq $labels.severity "page" }}P{{ else }}T{{ end }}"#), "P");
    assert_eq!(run(r#"{{ if gt $value 0.5 }}hi{{ else if gt $value 0.1 }}mid{{ else }}lo{{ end }}"#), "mid");
    assert_eq!(run(r#"{{ if and (eq 1 1) (not false) }}ok{{ end }}"#), "ok");
    assert_eq!(run(r#"{{ or "" "fallback" }}"#), "fallback");
    assert_eq!(run(r#"{{ with $labels.job }}job={{ . }}{{ end }}"#), "job=node");
    assert_eq!(run(r#"{{ with $labels.nope }}x{{ else }}none{{ end }}"#), "none");
    assert_eq!(
        run(r#"{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"#),
        "instance=host-1:9100;job=node;severity=page;"
    );
    assert_eq!(
        run(r#"{{ range $labels }}{{ if eq . "node" }}{{ break }}{{ end }}{{ . }},{{ end }}"#),
        "host-1:9100,"
    );
    assert_eq!(run("a  {{- \"b\" -}}  c\n"), "abc\n");
    assert_eq!(run(r#"{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"#), "2");
    assert_eq!(run(r#"{{/* comment */}}ok"#), "ok");
}

#[test]
fn query_functions() {
    assert_eq!(run(r#"{{ query "up" | first | label "instance" }}"#), "b:9100");
    assert_eq!(run(r#"{{ with query "up" }}{{ . | first | value }}{{ end }}"#), "1");
    assert_eq!(
        run(
            r#"{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}"#
        ),
        "a:9100=0 b:9100=1 "
    );
    assert_eq!(run(r#"{{ query "1.5" | first | value }}"#), "1.5");
}

#[test]
fn errors_render_in_place_never_panic() {
    let e = run(r#"{{ query "none" | first | value }}"#);
    assert!(e.starts_with("<error expanding template: error executing template __alert_Test"), "{e}");
    assert!(e.contains("first() called on vector with no elements"), "{e}");
    let e = run("{{ nosuchfunc }}");
    assert!(e.contains("function \"nosuchfunc\" not defined"), "{e}");
    let e = run("{{ $undefined }}");
    assert!(e.contains("undefined variable \"$undefined\""), "{e}");
    let e = run("{{ if true }}unclosed");
    assert!(e.starts_with("<error expanding template: error parsing"), "{e}");
    // Go refuses to compare a float with an int constant.
    let e = run("{{ if gt $value 1 }}x{{ end }}");
    assert!(e.contains("incompatible types for comparison"), "{e}");
    let e = run("{{ range 100000000 }}x{{ end }}");
    assert!(e.starts_with("<error expanding template"), "{}", &e[..e.len().min(200)]);
    for junk in [
        "{{",
        "}}{{",
        "{{ ( }}",
        "{{ .a.b.c }}",
        "{{ 1 | 2 }}",
        "{{ printf }}",
        "{{ index $labels 1 }}",
        "{{ -}}",
        "{{'",
    ] {
        let _ = run(junk);
    }
}

#[test]
fn check_reports_parse_errors() {
    assert!(check_alert_template("t", "{{ $labels.x }}").is_ok());
    assert!(check_alert_template("t", "{{ $labels.x").is_err());
    assert!(check_alert_template("t", "{{ end }}").is_err());
}

#[test]
fn hostile_templates_are_errors_not_crashes() {
    let deep_parens = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(run(&deep_parens).contains("nesting deeper than"));
    let deep_ifs = format!("{}x{}", "{{ if true }}".repeat(100_000), "{{ end }}".repeat(100_000));
    assert!(run(&deep_ifs).contains("nesting deeper than"));
    let doubling =
        r#"{{ $x := "aaaaaaaa" }}{{ range 40 }}{{ $x = printf "%s%s" $x $x }}{{ end }}{{ len $x }}"#;
    assert!(run(doubling).contains("exceeds 1 MiB"));
    assert_eq!(run(r#"{{ printf "%.999999999f" 1.0 }}"#).len(), 4098);
    let big = r#"{{ $x := "aaaaaaaa" }}{{ range 16 }}{{ $x = printf "%s%s" $x $x }}{{ end }}{{ reReplaceAll "" $x $x }}"#;
    assert!(run(big).contains("exceeds 1 MiB"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    #[test]
    fn random_templates_never_panic(parts in proptest::collection::vec(proptest::sample::select(vec![
        "{{", "}}", "{{-", "-}}", " ", "$labels", ".x", "$value", "|", "(", ")", "if", "else", "end", "range", "with",
        "\"s\"", "`r`", "'c'", "1", "-2.5e3", "0x1f", "printf", "\"%d%s%v\"", "humanize", "query", "first", "eq", "and",
        ":=", "=", "$x", ",", "$", ".", "break", "continue", "/*", "*/", "\n", "é", "index", "len", "nil", "true",
    ]), 0..40)) {
        let text: String = parts.concat();
        let _ = run(&text);
        let _ = check_alert_template("t", &text);
    }
}

#[test]
fn named_templates_and_go_parse_quirks() {
    assert_eq!(run(r#"{{ define "x" }}[{{ .job }}]{{ end }}{{ template "x" $labels }}"#), "[node]");
    assert_eq!(run(r#"{{ block "b" 2 }}<{{ . }}>{{ end }}"#), "<2>");
    assert!(
        run(r#"{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}"#)
            .contains("maximum template depth")
    );
    assert!(run(r#"{{ template "nope" }}"#).contains("template \"nope\" not defined"));
    // A trailing `|` is accepted; a literal in a later stage is not.
    assert_eq!(run("{{ $labels.job | }}"), "node");
    assert!(
        check_alert_template("t", r#"{{ "a" | "b" }}"#)
            .unwrap_err()
            .contains("non executable command in pipeline stage 2")
    );
    // `-}}` trims only after a space.
    assert!(check_alert_template("t", "{{ $labels.x-}}").is_err());
    // Assigning an undeclared variable parses but fails when run.
    assert!(check_alert_template("t", "{{ $nope = 1 }}").is_ok());
    assert!(run("{{ $nope = 1 }}").contains("undefined variable: $nope"));
}
