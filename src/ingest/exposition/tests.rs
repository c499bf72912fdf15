//! Tests of the exposition parser: real captured outputs (tests/fixtures/exposition), the
//! hand-written OpenMetrics fixture, and edge cases with the exact line:column of each error.

use std::borrow::Cow;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/exposition/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn samples(input: &[u8], format: Format) -> Vec<(Labels, f64, Option<i64>)> {
    Parser::new(input, format)
        .filter_map(|e| match e.unwrap_or_else(|e| panic!("{e}")) {
            Entry::Sample(s) => Some((s.to_labels(), s.value, s.timestamp)),
            _ => None,
        })
        .collect()
}

fn first_error(input: &str, format: Format) -> ParseError {
    let mut last = None;
    for e in Parser::new(input.as_bytes(), format) {
        if let Err(e) = e {
            last = Some(e);
        }
    }
    last.unwrap_or_else(|| panic!("no error for {input:?}"))
}

fn err_at(input: &str, format: Format) -> (usize, usize) {
    let e = first_error(input, format);
    (e.line, e.column)
}

fn find<'a>(s: &'a [(Labels, f64, Option<i64>)], text: &str) -> &'a (Labels, f64, Option<i64>) {
    s.iter().find(|(l, _, _)| l.to_string() == text).unwrap_or_else(|| panic!("no series {text}"))
}

/// Lines that are neither blank nor comments: an independent count of the samples.
fn naive_sample_lines(input: &[u8]) -> usize {
    String::from_utf8_lossy(input)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .count()
}

#[test]
fn node_exporter_fixture_parses_fully() {
    let input = fixture("node_exporter.prom.txt");
    let mut helps = 0;
    let mut types = 0;
    let mut n = 0;
    for e in Parser::new(&input, Format::PrometheusText) {
        match e.unwrap() {
            Entry::Help { .. } => helps += 1,
            Entry::Type { .. } => types += 1,
            Entry::Sample(s) => {
                n += 1;
                assert!(!s.to_labels().has_duplicate_names());
            }
            Entry::Unit { .. } => panic!("no UNIT in the text format"),
        }
    }
    assert_eq!(n, naive_sample_lines(&input));
    assert_eq!(n, 507);
    assert_eq!(helps, types);
    assert!(helps > 100, "{helps}");
    let s = samples(&input, Format::PrometheusText);
    let (_, v, ts) = find(
        &s,
        r#"node_exporter_build_info{branch="debian/sid", goarch="amd64", goos="linux", goversion="go1.19.8", revision="1.5.0-1+b6", version="1.5.0"}"#,
    );
    assert_eq!((*v, *ts), (1.0, None));
    let (_, v, _) = find(&s, r#"node_cpu_seconds_total{cpu="0", mode="idle"}"#);
    assert_eq!(*v, 274.59);
    // Summary quantiles are normalized to the OpenMetrics spelling, as Prometheus 3 does.
    let (_, v, _) = find(&s, r#"go_gc_duration_seconds{quantile="0.0"}"#);
    assert_eq!(*v, 0.0);
    find(&s, r#"go_gc_duration_seconds{quantile="1.0"}"#);
    find(&s, r#"go_gc_duration_seconds{quantile="0.25"}"#);
}

#[test]
fn prometheus_fixture_parses_fully() {
    let input = fixture("prometheus.prom.txt");
    let s = samples(&input, Format::PrometheusText);
    assert_eq!(s.len(), naive_sample_lines(&input));
    assert_eq!(s.len(), 344);
    let (_, v, _) = find(
        &s,
        r#"prometheus_build_info{branch="debian/sid", goarch="amd64", goos="linux", goversion="go1.19.8", revision="2.42.0+ds-5+b6", version="2.42.0+ds"}"#,
    );
    assert_eq!(*v, 1.0);
    // Histogram `le` values are normalized: le="1" becomes le="1.0"; +Inf stays.
    find(&s, r#"prometheus_http_request_duration_seconds_bucket{handler="/metrics", le="1.0"}"#);
    find(&s, r#"prometheus_http_request_duration_seconds_bucket{handler="/metrics", le="+Inf"}"#);
    find(&s, r#"prometheus_http_request_duration_seconds_bucket{handler="/metrics", le="0.1"}"#);
    assert!(!s.iter().any(|(l, _, _)| l.get("le") == Some("1")));
}

#[test]
fn handwritten_openmetrics_fixture() {
    let input = fixture("handwritten.om.txt");
    let entries: Vec<Entry> = Parser::new(&input, Format::OpenMetrics).map(Result::unwrap).collect();
    let units: Vec<_> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Unit { metric_name, unit } => Some((*metric_name, *unit)),
            _ => None,
        })
        .collect();
    assert_eq!(units, [("process_cpu_seconds", "seconds"), ("http_request_duration_seconds", "seconds")]);
    let help = entries.iter().find_map(|e| match e {
        Entry::Help { metric_name: "http_request_duration_seconds", text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(help.as_deref(), Some(r#"A histogram with "quotes" and a \ backslash."#));
    assert!(entries.contains(&Entry::Type { metric_name: "thing", metric_type: MetricType::StateSet }));

    let s = samples(&input, Format::OpenMetrics);
    assert_eq!(s.len(), 19);
    let (_, v, ts) = find(&s, r#"http_request_duration_seconds_bucket{le="0.1", path="/a"}"#);
    assert_eq!((*v, *ts), (3.0, None), "the exemplar is skipped, not taken as a timestamp");
    let (_, _, ts) = find(&s, r#"http_request_duration_seconds_bucket{le="+Inf", path="/a"}"#);
    assert_eq!(*ts, Some(1_700_000_001_500));
    find(&s, r#"http_request_duration_seconds_bucket{le="1.0", path="/a"}"#);
    find(&s, r#"rpc_latency{quantile="1.0"}"#);
    let (_, v, _) = find(&s, r#"process_cpu_seconds_created{}"#);
    assert_eq!(*v, 1.7e9);
    let (l, _, _) = s.iter().find(|(l, _, _)| l.metric_name() == Some("build_info")).unwrap();
    assert_eq!(l.get("desc"), Some("line1\nline2 \"q\" back\\slash"));
    let (_, v, _) = find(&s, r#"temperature{room="a"}"#);
    assert_eq!(v.to_bits(), NORMAL_NAN_BITS);
    let (_, v, ts) = find(&s, r#"temperature{room="c"}"#);
    assert_eq!((*v, *ts), (f64::NEG_INFINITY, Some(1_700_000_002_000)));
    assert_eq!(find(&s, r#"temperature{room="b"}"#).1, f64::INFINITY);

    let skipped = Parser::new(&input, Format::OpenMetrics)
        .skip_created_series(true)
        .filter(|e| matches!(e, Ok(Entry::Sample(_))))
        .count();
    assert_eq!(skipped, 17);
}

#[test]
fn text_format_whitespace_comments_and_timestamps() {
    let input = "# a comment\n\n  \t\n# HELP m  help with \\\\ and \\n and \\\"\n# TYPE m counter\n\
                 m{a=\"1\" , b = \"x\\\"y\" ,} 3 1700000000000  \n\tm 4\nm{} 5\nm{a=\"\"}6\n# UNIT is a comment here\n\
                 n 1e3";
    let entries: Vec<Entry> =
        Parser::new(input.as_bytes(), Format::PrometheusText).map(Result::unwrap).collect();
    assert_eq!(entries.len(), 7);
    assert_eq!(
        entries[0],
        Entry::Help { metric_name: "m", text: Cow::Owned("help with \\ and \n and \\\"".into()) }
    );
    let Entry::Sample(s) = &entries[2] else { panic!("{:?}", entries[2]) };
    assert_eq!(s.timestamp, Some(1_700_000_000_000));
    assert_eq!(s.line, 6);
    let pairs: Vec<_> = s.labels.iter().collect();
    assert_eq!(pairs, [("a", Cow::Borrowed("1")), ("b", Cow::Owned("x\"y".to_string()))]);
    let Entry::Sample(s) = &entries[4] else { panic!() };
    assert!(s.labels.is_empty());
    let Entry::Sample(s) = &entries[5] else { panic!() };
    assert_eq!((s.metric_name, s.value), ("m", 6.0));
    let last = samples(input.as_bytes(), Format::PrometheusText).pop().unwrap();
    assert_eq!((last.0.to_string(), last.1), ("n{}".to_string(), 1000.0));
}

#[test]
fn values_nan_and_infinities() {
    let s = samples(b"a NaN\nb +Inf\nc -Inf\nd Inf\ne nan\nf -0\ng 1.5e-300\n", Format::PrometheusText);
    assert_eq!(s[0].1.to_bits(), NORMAL_NAN_BITS);
    assert_eq!(s[1].1, f64::INFINITY);
    assert_eq!(s[2].1, f64::NEG_INFINITY);
    assert_eq!(s[3].1, f64::INFINITY);
    assert_eq!(s[4].1.to_bits(), NORMAL_NAN_BITS);
    assert!(s[5].1 == 0.0 && s[5].1.is_sign_negative());
    assert_eq!(s[6].1, 1.5e-300);
    // A stale-marker NaN in the input is not kept as a stale marker.
    assert!(!cairn_format::is_stale_nan(s[0].1));
}

#[test]
fn text_format_errors_name_line_and_column() {
    let t = Format::PrometheusText;
    assert_eq!(err_at("ok 1\n1bad 2\n", t), (2, 1));
    assert_eq!(err_at("m{a=\"1\" 2\n", t), (1, 9));
    assert_eq!(err_at("m{1a=\"1\"} 2\n", t), (1, 3));
    assert_eq!(err_at("m{a \"1\"} 2\n", t), (1, 5));
    assert_eq!(err_at("m{a=1} 2\n", t), (1, 5));
    assert_eq!(err_at("m{a=\"1} 2\n", t), (1, 5));
    assert_eq!(err_at("m{a=\"x\ny\"} 2\n", t), (1, 5));
    assert_eq!(err_at("m\n", t), (1, 2));
    assert_eq!(err_at("m abc\n", t), (1, 3));
    assert_eq!(err_at("m 1 2 3\n", t), (1, 7));
    assert_eq!(err_at("m 1 -5\n", t), (1, 5));
    assert_eq!(err_at("m 1 99999999999999999999\n", t), (1, 5));
    assert_eq!(err_at("# TYPE m fancy\n", t), (1, 10));
    assert_eq!(err_at("# HELP 9m text\n", t), (1, 8));
    assert_eq!(err_at("m{é=\"x\"} 1\n", t), (1, 3));
    // Columns count characters, not bytes.
    assert_eq!(err_at("m{a=\"é\"} 1 x\n", t), (1, 12));
    let e = first_error("m{a=\"1\"} 2\nm{a=\"1\" b=\"2\"} 3\n", t);
    assert_eq!((e.line, e.column), (2, 9));
    assert_eq!(e.to_string(), "line 2, column 9: expected ',' or '}' after a label value, found 'b'");
}

#[test]
fn invalid_utf8_is_located() {
    let input = b"a 1\nb{x=\"\xff\"} 2\n";
    let e = Parser::new(input, Format::PrometheusText).next().unwrap().unwrap_err();
    assert_eq!((e.line, e.column, e.kind), (2, 6, ParseErrorKind::InvalidUtf8));
}

#[test]
fn openmetrics_strictness() {
    let om = Format::OpenMetrics;
    assert_eq!(first_error("a 1\n", om).kind, ParseErrorKind::MissingEof);
    assert_eq!(err_at("a 1\n", om), (2, 1));
    assert_eq!(first_error("a 1\n# EOF\nb 2\n", om).kind, ParseErrorKind::DataAfterEof);
    assert_eq!(err_at("a 1\n# EOF\nb 2\n", om), (3, 1));
    assert_eq!(first_error("# EOF\n\n", om).kind, ParseErrorKind::DataAfterEof);
    assert_eq!(err_at("a  1\n# EOF\n", om), (1, 3));
    assert_eq!(err_at("a 1 \n# EOF\n", om), (1, 5));
    assert_eq!(err_at("a{b=\"c\"}1\n# EOF\n", om), (1, 9));
    assert_eq!(err_at("a 1\n\n# EOF\n", om), (2, 1));
    assert_eq!(first_error("a 1\n\n# EOF\n", om).kind, ParseErrorKind::BlankLine);
    assert_eq!(err_at("# random comment\n# EOF\n", om), (1, 1));
    assert_eq!(err_at("#HELP a b\n# EOF\n", om), (1, 1));
    assert_eq!(err_at("# TYPE a untyped\n# EOF\n", om), (1, 10));
    assert_eq!(err_at("# UNIT a_bytes seconds\n# EOF\n", om), (1, 16));
    assert_eq!(err_at("a 1 NaN\n# EOF\n", om), (1, 5));
    assert_eq!(err_at("a 1 # {x=\"y\"}\n# EOF\n", om), (1, 14));
    assert_eq!(err_at("a 1 # {x=\"y\"} abc\n# EOF\n", om), (1, 15));
    assert_eq!(err_at("a 1 2 x\n# EOF\n", om), (1, 7));
    // Accepted: no trailing newline after # EOF; exemplar with and without timestamp; a
    // timestamp followed by an exemplar.
    for ok in [
        "a 1\n# EOF",
        "a 1 # {x=\"y\"} 2\n# EOF\n",
        "a 1 # {} 2 3.5\n# EOF\n",
        "a 1 1.5 # {x=\"y\"} 2\n# EOF\n",
        "# HELP a \n# EOF\n",
    ] {
        let r: Result<Vec<_>, _> = Parser::new(ok.as_bytes(), om).collect();
        assert!(r.is_ok(), "{ok:?}: {r:?}");
    }
    let s = samples(b"a 1 1.5 # {x=\"y\"} 2\n# EOF\n", om);
    assert_eq!(s[0].2, Some(1500));
}

#[test]
fn parser_stops_after_first_error() {
    let mut p = Parser::new(b"a 1\nb x\nc 3\n", Format::PrometheusText);
    assert!(matches!(p.next(), Some(Ok(Entry::Sample(_)))));
    assert!(matches!(p.next(), Some(Err(_))));
    assert!(p.next().is_none());
}

#[test]
fn empty_input() {
    assert_eq!(Parser::new(b"", Format::PrometheusText).count(), 0);
    assert_eq!(first_error("", Format::OpenMetrics).kind, ParseErrorKind::MissingEof);
}

#[test]
fn normalization_only_for_histogram_and_summary_families() {
    let s = samples(
        b"# TYPE g gauge\ng{le=\"1\",quantile=\"1\"} 1\n# TYPE s summary\ns{le=\"1\",quantile=\"1\"} 1\n",
        Format::PrometheusText,
    );
    assert_eq!(s[0].0.get("le"), Some("1"));
    assert_eq!(s[1].0.get("le"), Some("1"));
    assert_eq!(s[1].0.get("quantile"), Some("1.0"));
    // A sample that does not belong to the last TYPE'd family is not normalized.
    let s = samples(b"# TYPE h histogram\nother{le=\"1\"} 1\n", Format::PrometheusText);
    assert_eq!(s[0].0.get("le"), Some("1"));
}

mod robustness {
    //! Bounded randomized inputs (the fuzz target in fuzz/ goes further): the parser never
    //! panics, yields at most one error, and every error position lies inside the input.
    use super::*;
    use proptest::prelude::*;

    fn check(input: &[u8]) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let mut errors = 0;
            let lines = input.iter().filter(|&&b| b == b'\n').count() + 1;
            for e in Parser::new(input, format) {
                match e {
                    Ok(Entry::Sample(s)) => {
                        let l = s.to_labels();
                        assert_eq!(l.metric_name(), Some(s.metric_name));
                        assert!(s.line <= lines);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        assert!(e.line >= 1 && e.line <= lines + 1 && e.column >= 1, "{e}");
                    }
                }
            }
            assert!(errors <= 1);
        }
    }

    fn alphabet() -> impl Strategy<Value = Vec<u8>> {
        let atoms = prop::sample::select(vec![
            &b"m"[..],
            b"_x",
            b"{",
            b"}",
            b"=",
            b"\"",
            b"\\",
            b",",
            b" ",
            b"\t",
            b"\n",
            b"#",
            b"# HELP ",
            b"# TYPE ",
            b"# UNIT ",
            b"# EOF",
            b"1",
            b"1.5e3",
            b"NaN",
            b"+Inf",
            b"le",
            b"quantile",
            b"histogram",
            b"summary",
            b"\xc3\xa9",
            b"\xff",
            b"a=\"b\"",
        ]);
        prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn random_token_soup(input in alphabet()) {
            check(&input);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn mutated_fixture(pos in 0usize..57_000, byte in any::<u8>(), cut in 0usize..57_000) {
            let mut input = fixture("node_exporter.prom.txt");
            let n = input.len();
            input[pos % n] = byte;
            input.truncate(cut % n + 1);
            check(&input);
        }
    }
}
