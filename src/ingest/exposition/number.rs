//! Number syntax of the exposition formats: float values (with a fast exact path for the common
//! decimal forms), and the OpenMetrics float spelling used to normalize `le`/`quantile` labels.
//! Does not decide where numbers may appear (see `parse.rs`).

/// Exact powers of ten representable in an f64 (10^0 ..= 10^22).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// Largest integer mantissa that is exact in an f64.
const MANTISSA_EXACT_MAX: u64 = 1 << 53;

/// Parses a float as Go's `strconv.ParseFloat` accepts the values exporters write: decimal
/// and exponent forms, `NaN`, `Inf`/`+Inf`/`-Inf`/`infinity` (any case). Returns `None` for
/// anything else. Hexadecimal floats are not accepted.
#[inline]
pub fn parse_float(s: &str) -> Option<f64> {
    if let Some(v) = parse_fast(s.as_bytes()) {
        return Some(v);
    }
    parse_slow(s)
}

/// Clinger's fast path: a mantissa below 2^53 times a power of ten up to 10^22 is computed
/// exactly by one correctly rounded multiplication or division.
#[inline]
fn parse_fast(b: &[u8]) -> Option<f64> {
    let mut i = 0;
    let neg = match b.first()? {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mant: u64 = 0;
    let mut significant = 0u32;
    let mut any_digit = false;
    let mut exp: i32 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        let d = u64::from(b[i] - b'0');
        any_digit = true;
        if mant != 0 || d != 0 {
            significant += 1;
            if significant > 19 {
                return None;
            }
        }
        mant = mant * 10 + d;
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            let d = u64::from(b[i] - b'0');
            any_digit = true;
            if mant != 0 || d != 0 {
                significant += 1;
                if significant > 19 {
                    return None;
                }
            }
            mant = mant * 10 + d;
            exp -= 1;
            i += 1;
        }
    }
    if !any_digit {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i32 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if e > 10_000 {
                return None;
            }
            e = e * 10 + i32::from(b[i] - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        exp += if eneg { -e } else { e };
    }
    if i != b.len() || mant > MANTISSA_EXACT_MAX {
        return None;
    }
    let m = mant as f64;
    let v = if mant == 0 {
        0.0
    } else if (0..=22).contains(&exp) {
        m * POW10[exp as usize]
    } else if (-22..0).contains(&exp) {
        m / POW10[(-exp) as usize]
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn parse_slow(s: &str) -> Option<f64> {
    // Rust accepts `inf`, `infinity`, `nan` in any case, with an optional sign, and the
    // decimal forms; reject what Go would not: a leading or trailing '_' never parses in Rust.
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'g', -1, 64)` and appends `.0` when the
/// result has neither `.` nor `e` (Prometheus's `FormatOpenMetricsFloat`).
pub fn format_openmetrics_float(f: f64) -> String {
    if f == 1.0 {
        return "1.0".into();
    }
    if f == 0.0 {
        return "0.0".into();
    }
    if f == -1.0 {
        return "-1.0".into();
    }
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let mut s = format_go_g(f);
    if !s.contains(['.', 'e']) {
        s.push_str(".0");
    }
    s
}

/// Go's shortest `%g` (`strconv/ftoa.go`): with the shortest digits, the exponent form is used
/// when the decimal exponent is below -4 or at least 6 (so `1e+06`, but `100000`).
fn format_go_g(f: f64) -> String {
    // Rust's `{:e}` prints the shortest round-tripping digits: "d.ddde±x".
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(24);
    if f < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        push_exp_form(&mut out, &digits, exp);
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    }
    out
}

fn push_exp_form(out: &mut String, digits: &str, exp: i32) {
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_matches_std() {
        for s in [
            "0",
            "1",
            "-1",
            "+5",
            "1.5",
            "0.000123",
            "4.0239e-05",
            "3.3554432e+07",
            "1e22",
            "123456789012345678",
            "9007199254740993",
            "0.1",
            "2.5E3",
            "-0.0",
            "1.",
            ".5",
        ] {
            assert_eq!(parse_float(s).map(f64::to_bits), s.parse::<f64>().ok().map(f64::to_bits), "{s}");
        }
    }

    #[test]
    fn specials_and_rejects() {
        assert!(parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("Inf"), Some(f64::INFINITY));
        for bad in ["", "+", "-", "1e", "1x", "--1", "abc", "1.2.3", "0x10"] {
            assert_eq!(parse_float(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn openmetrics_float_spelling_matches_go() {
        let cases = [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-1.0, "-1.0"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (10.0, "10.0"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.005, "0.005"),
            (-2.5e-7, "-2.5e-07"),
            (1e100, "1e+100"),
        ];
        for (f, want) in cases {
            assert_eq!(format_openmetrics_float(f), want, "{f}");
        }
    }
}
