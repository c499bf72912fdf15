//! Parsing Prometheus-API query answers into a neutral model and comparing two of them: same
//! result type, same label sets, same timestamps, values within a relative tolerance (NaN equals
//! NaN, ±Inf equal themselves), order normalised unless the query sorts. Knows nothing of the
//! servers or the rules.

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub type Labels = BTreeMap<String, String>;

/// Relative tolerance for float values.
pub const REL_TOLERANCE: f64 = 1e-6;

#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Scalar(i64, f64),
    String(i64, String),
    Vector(Vec<(Labels, i64, f64)>),
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
    Error { error_type: String, error: String },
}

impl Answer {
    pub fn kind(&self) -> &'static str {
        match self {
            Answer::Scalar(..) => "scalar",
            Answer::String(..) => "string",
            Answer::Vector(_) => "vector",
            Answer::Matrix(_) => "matrix",
            Answer::Error { .. } => "error",
        }
    }

    /// Removes `__name__` from every series.
    pub fn strip_name(&mut self) {
        match self {
            Answer::Vector(v) => v.iter_mut().for_each(|s| {
                s.0.remove("__name__");
            }),
            Answer::Matrix(m) => m.iter_mut().for_each(|s| {
                s.0.remove("__name__");
            }),
            _ => {}
        }
    }

    /// Number of series (vector/matrix) or 1.
    pub fn len(&self) -> usize {
        match self {
            Answer::Vector(v) => v.len(),
            Answer::Matrix(m) => m.len(),
            _ => 1,
        }
    }
}

/// Parses a `/api/v1/query` or `/api/v1/query_range` body.
pub fn parse_answer(body: &str) -> Result<Answer, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {}", abbrev(body, 300)))?;
    if v["status"] == "error" {
        return Ok(Answer::Error {
            error_type: v["errorType"].as_str().unwrap_or("").to_string(),
            error: v["error"].as_str().unwrap_or("").to_string(),
        });
    }
    if v["status"] != "success" {
        return Err(format!("unexpected status: {}", abbrev(body, 300)));
    }
    let data = &v["data"];
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar") => {
            let (t, x) = point(result)?;
            Ok(Answer::Scalar(t, x))
        }
        Some("string") => {
            let t = millis(&result[0])?;
            Ok(Answer::String(t, result[1].as_str().ok_or("string value not a string")?.to_string()))
        }
        Some("vector") => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or("vector result not an array")? {
                let (t, x) = point(&s["value"])?;
                out.push((labels(&s["metric"])?, t, x));
            }
            Ok(Answer::Vector(out))
        }
        Some("matrix") => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or("matrix result not an array")? {
                let mut pts = Vec::new();
                for p in s["values"].as_array().ok_or("matrix series without values")? {
                    pts.push(point(p)?);
                }
                if s.get("histograms").is_some() {
                    return Err("native histograms in a matrix answer".into());
                }
                out.push((labels(&s["metric"])?, pts));
            }
            Ok(Answer::Matrix(out))
        }
        other => Err(format!("unknown resultType {other:?}")),
    }
}

fn labels(v: &serde_json::Value) -> Result<Labels, String> {
    let obj = v.as_object().ok_or("metric is not an object")?;
    obj.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_str().ok_or("label value not a string")?.to_string())))
        .collect()
}

fn millis(v: &serde_json::Value) -> Result<i64, String> {
    let secs = v.as_f64().ok_or_else(|| format!("timestamp {v} is not a number"))?;
    Ok((secs * 1000.0).round() as i64)
}

fn point(v: &serde_json::Value) -> Result<(i64, f64), String> {
    let t = millis(&v[0])?;
    let s = v[1].as_str().ok_or_else(|| format!("sample value {} is not a string", v[1]))?;
    Ok((t, parse_float(s)?))
}

/// Go's float spellings: "NaN", "+Inf", "-Inf", decimal or exponent form.
pub fn parse_float(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse::<f64>().map_err(|e| format!("bad float {s:?}: {e}")),
    }
}

/// NaN == NaN, infinities equal themselves, otherwise relative tolerance.
pub fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    (a - b).abs() <= REL_TOLERANCE * a.abs().max(b.abs())
}

/// Compares `want` (Prometheus) with `got` (Cairn). `ordered`: the query sorts, so sample order
/// matters (among equal values order is unspecified in Prometheus, so ties are compared as sets).
pub fn compare(want: &Answer, got: &Answer, ordered: bool) -> Result<(), String> {
    match (want, got) {
        (Answer::Error { error_type: a, .. }, Answer::Error { error_type: b, .. }) => {
            if a == b {
                Ok(())
            } else {
                Err(format!("error types differ: {a} vs {b}"))
            }
        }
        (Answer::Scalar(ta, a), Answer::Scalar(tb, b)) => {
            if ta != tb {
                return Err(format!("scalar timestamp {ta} vs {tb}"));
            }
            if !close(*a, *b) {
                return Err(format!("scalar value {a} vs {b}"));
            }
            Ok(())
        }
        (Answer::String(ta, a), Answer::String(tb, b)) => {
            if ta != tb || a != b {
                Err(format!("string ({ta}, {a:?}) vs ({tb}, {b:?})"))
            } else {
                Ok(())
            }
        }
        (Answer::Vector(a), Answer::Vector(b)) => compare_vectors(a, b, ordered),
        (Answer::Matrix(a), Answer::Matrix(b)) => compare_matrices(a, b),
        _ => Err(format!("result type {} vs {}", want.kind(), got.kind())),
    }
}

fn label_sets<'a, I: Iterator<Item = &'a Labels>>(it: I) -> Vec<&'a Labels> {
    let mut v: Vec<&Labels> = it.collect();
    v.sort();
    v
}

fn compare_label_sets(a: &[&Labels], b: &[&Labels]) -> Result<(), String> {
    if a == b {
        return Ok(());
    }
    let only_a: Vec<_> = a.iter().filter(|l| !b.contains(l)).take(3).map(|l| fmt_labels(l)).collect();
    let only_b: Vec<_> = b.iter().filter(|l| !a.contains(l)).take(3).map(|l| fmt_labels(l)).collect();
    Err(format!(
        "series differ ({} vs {}): only in Prometheus {only_a:?}; only in Cairn {only_b:?}",
        a.len(),
        b.len()
    ))
}

fn compare_vectors(a: &[(Labels, i64, f64)], b: &[(Labels, i64, f64)], ordered: bool) -> Result<(), String> {
    compare_label_sets(&label_sets(a.iter().map(|s| &s.0)), &label_sets(b.iter().map(|s| &s.0)))?;
    let by_labels: BTreeMap<&Labels, (i64, f64)> = b.iter().map(|(l, t, v)| (l, (*t, *v))).collect();
    for (l, ta, va) in a {
        let (tb, vb) = by_labels[l];
        if *ta != tb {
            return Err(format!("{}: timestamp {ta} vs {tb}", fmt_labels(l)));
        }
        if !close(*va, vb) {
            return Err(format!("{}: value {va} vs {vb}", fmt_labels(l)));
        }
    }
    if ordered {
        // Walk runs of equal values: positions must hold the same values, and each run the same
        // label sets (Prometheus leaves the order of ties unspecified).
        let mut i = 0;
        while i < a.len() {
            let mut j = i + 1;
            while j < a.len() && same_value(a[j].2, a[i].2) {
                j += 1;
            }
            let want = label_sets(a[i..j].iter().map(|s| &s.0));
            let got = label_sets(b[i..j].iter().map(|s| &s.0));
            if want != got {
                let order = |v: &[(Labels, i64, f64)]| {
                    v.iter().map(|s| format!("{}={}", fmt_labels(&s.0), s.2)).collect::<Vec<_>>()
                };
                return Err(format!(
                    "order differs at position {i}: want {:?}, got {:?}",
                    order(a),
                    order(b)
                ));
            }
            i = j;
        }
    }
    Ok(())
}

fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn compare_matrices(a: &[(Labels, Vec<(i64, f64)>)], b: &[(Labels, Vec<(i64, f64)>)]) -> Result<(), String> {
    compare_label_sets(&label_sets(a.iter().map(|s| &s.0)), &label_sets(b.iter().map(|s| &s.0)))?;
    let by_labels: BTreeMap<&Labels, &Vec<(i64, f64)>> = b.iter().map(|(l, p)| (l, p)).collect();
    for (l, pa) in a {
        let pb = by_labels[l];
        let ta: Vec<i64> = pa.iter().map(|p| p.0).collect();
        let tb: Vec<i64> = pb.iter().map(|p| p.0).collect();
        if ta != tb {
            let first = ta.iter().zip(&tb).position(|(x, y)| x != y).unwrap_or(ta.len().min(tb.len()));
            return Err(format!(
                "{}: timestamps differ ({} vs {} points; first difference at index {first}: {:?} vs {:?})",
                fmt_labels(l),
                ta.len(),
                tb.len(),
                ta.get(first),
                tb.get(first)
            ));
        }
        for ((t, va), (_, vb)) in pa.iter().zip(pb.iter()) {
            if !close(*va, *vb) {
                return Err(format!("{} @{t}: value {va} vs {vb}", fmt_labels(l)));
            }
        }
    }
    Ok(())
}

pub fn fmt_labels(l: &Labels) -> String {
    let mut s = String::new();
    if let Some(n) = l.get("__name__") {
        s.push_str(n);
    }
    s.push('{');
    let mut first = true;
    for (k, v) in l.iter().filter(|(k, _)| *k != "__name__") {
        if !first {
            s.push(',');
        }
        first = false;
        let _ = write!(s, "{k}={v:?}");
    }
    s.push('}');
    s
}

/// A short human rendering of an answer for mismatch reports.
pub fn summarize(a: &Answer, max: usize) -> String {
    let s = match a {
        Answer::Error { error_type, error } => format!("error {error_type}: {error}"),
        Answer::Scalar(t, v) => format!("scalar {v} @{t}"),
        Answer::String(t, v) => format!("string {v:?} @{t}"),
        Answer::Vector(v) => {
            let mut s = format!("vector[{}] ", v.len());
            for (l, _, x) in v {
                let _ = write!(s, "{}={x} ", fmt_labels(l));
            }
            s
        }
        Answer::Matrix(m) => {
            let mut s = format!("matrix[{}] ", m.len());
            for (l, p) in m {
                let _ = write!(s, "{}:{}pts", fmt_labels(l), p.len());
                if let (Some(f), Some(last)) = (p.first(), p.last()) {
                    let _ = write!(s, "[{}={} .. {}={}] ", f.0, f.1, last.0, last.1);
                }
            }
            s
        }
    };
    abbrev(&s, max)
}

pub fn abbrev(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} chars)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn vector(body: &str) -> Answer {
        parse_answer(&format!(r#"{{"status":"success","data":{{"resultType":"vector","result":{body}}}}}"#))
            .unwrap()
    }

    #[test]
    fn tolerance_nan_and_infinities() {
        assert!(close(1.0, 1.0 + 1e-9));
        assert!(!close(1.0, 1.0 + 1e-5));
        assert!(close(f64::NAN, f64::NAN));
        assert!(!close(f64::NAN, 0.0));
        assert!(close(f64::INFINITY, f64::INFINITY));
        assert!(!close(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!close(0.0, 1e-300));
    }

    #[test]
    fn parses_go_float_spellings_and_times() {
        let a = vector(
            r#"[{"metric":{"a":"1"},"value":[1767225600.123,"+Inf"]},{"metric":{"a":"2"},"value":[1,"NaN"]}]"#,
        );
        let Answer::Vector(v) = a else { panic!("not a vector") };
        assert_eq!(v[0].1, 1_767_225_600_123);
        assert_eq!(v[0].2, f64::INFINITY);
        assert!(v[1].2.is_nan());
    }

    #[test]
    fn detects_label_value_type_and_order_differences() {
        let a = Answer::Vector(vec![(l(&[("a", "1")]), 0, 1.0), (l(&[("a", "2")]), 0, 2.0)]);
        let swapped = Answer::Vector(vec![(l(&[("a", "2")]), 0, 2.0), (l(&[("a", "1")]), 0, 1.0)]);
        assert!(compare(&a, &swapped, false).is_ok());
        assert!(compare(&a, &swapped, true).is_err());
        let other_value = Answer::Vector(vec![(l(&[("a", "1")]), 0, 1.0), (l(&[("a", "2")]), 0, 2.1)]);
        assert!(compare(&a, &other_value, false).is_err());
        let other_labels = Answer::Vector(vec![(l(&[("a", "1")]), 0, 1.0), (l(&[("a", "3")]), 0, 2.0)]);
        assert!(compare(&a, &other_labels, false).is_err());
        let other_time = Answer::Vector(vec![(l(&[("a", "1")]), 1, 1.0), (l(&[("a", "2")]), 0, 2.0)]);
        assert!(compare(&a, &other_time, false).is_err());
        assert!(compare(&a, &Answer::Scalar(0, 1.0), false).is_err());
        let m = Answer::Matrix(vec![(l(&[("a", "1")]), vec![(0, 1.0), (1, 2.0)])]);
        let m_short = Answer::Matrix(vec![(l(&[("a", "1")]), vec![(0, 1.0)])]);
        assert!(compare(&m, &m, false).is_ok());
        assert!(compare(&m, &m_short, false).is_err());
    }

    #[test]
    fn sorted_ties_compare_as_sets() {
        let a = Answer::Vector(vec![
            (l(&[("a", "1")]), 0, 1.0),
            (l(&[("a", "2")]), 0, 1.0),
            (l(&[("a", "3")]), 0, 5.0),
        ]);
        let b = Answer::Vector(vec![
            (l(&[("a", "2")]), 0, 1.0),
            (l(&[("a", "1")]), 0, 1.0),
            (l(&[("a", "3")]), 0, 5.0),
        ]);
        assert!(compare(&a, &b, true).is_ok());
        let c = Answer::Vector(vec![
            (l(&[("a", "3")]), 0, 5.0),
            (l(&[("a", "1")]), 0, 1.0),
            (l(&[("a", "2")]), 0, 1.0),
        ]);
        assert!(compare(&a, &c, true).is_err());
    }
}
