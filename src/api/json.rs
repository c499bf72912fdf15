//! JSON rendering of query results exactly as Prometheus prints them: sample values as Go's
//! `strconv.FormatFloat(v, 'f', -1, 64)` strings ("NaN", "+Inf", "-Inf"), timestamps as Unix
//! seconds with up to millisecond precision (`1435781451.781`, `1`), label sets as objects.
//! Hand-written because result bodies are large and hot; owns no HTTP.

use cairn_format::Labels;
use std::fmt::Write;

/// Go-compatible shortest float formatting without exponent.
pub fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust's Display for f64 is the shortest round-trip representation and never uses an
        // exponent, matching Go's 'f', -1 formatting.
        format!("{v}")
    }
}

/// Appends a millisecond timestamp as Unix seconds (`1.5`, `-0.001`, `12`).
pub fn write_ts(out: &mut String, t_ms: i64) {
    let neg = t_ms < 0;
    let abs = t_ms.unsigned_abs();
    let (s, ms) = (abs / 1000, abs % 1000);
    if neg {
        out.push('-');
    }
    let _ = write!(out, "{s}");
    if ms != 0 {
        let frac = format!("{ms:03}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// Appends a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a label set as a JSON object (in label-name order).
pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

/// Appends `[<ts>,"<value>"]`.
pub fn write_point(out: &mut String, t_ms: i64, v: f64) {
    out.push('[');
    write_ts(out, t_ms);
    out.push_str(",\"");
    out.push_str(&fmt_value(v));
    out.push_str("\"]");
}

/// Appends a JSON array of strings.
pub fn write_str_array<S: AsRef<str>>(out: &mut String, items: &[S]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, s.as_ref());
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_like_go() {
        assert_eq!(fmt_value(1.0), "1");
        assert_eq!(fmt_value(0.1), "0.1");
        assert_eq!(fmt_value(1e21), "1000000000000000000000");
        assert_eq!(fmt_value(-2.5e-7), "-0.00000025");
        assert_eq!(fmt_value(f64::NAN), "NaN");
        assert_eq!(fmt_value(f64::INFINITY), "+Inf");
        assert_eq!(fmt_value(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn timestamps() {
        let f = |t| {
            let mut s = String::new();
            write_ts(&mut s, t);
            s
        };
        assert_eq!(f(1_435_781_451_781), "1435781451.781");
        assert_eq!(f(1000), "1");
        assert_eq!(f(1500), "1.5");
        assert_eq!(f(-1), "-0.001");
        assert_eq!(f(0), "0");
    }

    #[test]
    fn labels_and_escapes() {
        let mut s = String::new();
        write_labels(&mut s, &Labels::from_pairs([("b", "x\"y"), ("a", "<1>")]));
        assert_eq!(s, r#"{"a":"\u003c1\u003e","b":"x\"y"}"#);
    }
}
