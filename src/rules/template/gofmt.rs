//! Go's number and `fmt` formatting as Prometheus templates show it: `%v` of a float64
//! (shortest digits, exponent form below 1e-4 and from 1e6 as strconv's 'g'), `%.4g`, and a `printf`
//! covering the verbs rule templates use. Owns no template semantics.

use super::value::Value;

/// Decimal digits of `v` (no sign), and the decimal point position: value = 0.d1d2.. × 10^dp.
/// `prec` = significant digits, or shortest round-trip when `None`. Trailing zeros trimmed.
fn digits(v: f64, prec: Option<usize>) -> (String, i32) {
    let s = match prec {
        Some(p) => format!("{:.*e}", p.saturating_sub(1), v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    if d == "0" {
        return ("0".into(), 1);
    }
    (d, exp + 1)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf".into() } else { "-Inf".into() })
    } else {
        None
    }
}

fn fmt_e(neg: bool, d: &str, dp: i32, decimals: usize, upper: bool) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&d[..1]);
    if decimals > 0 {
        out.push('.');
        let frac = &d[1..];
        out.push_str(&frac[..frac.len().min(decimals)]);
        for _ in frac.len()..decimals {
            out.push('0');
        }
    }
    let exp = if d == "0" { 0 } else { dp - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

fn fmt_f(neg: bool, d: &str, dp: i32, decimals: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push('0');
    } else {
        for i in 0..dp as usize {
            out.push(d.as_bytes().get(i).map(|&b| b as char).unwrap_or('0'));
        }
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals {
            let idx = dp + i as i32;
            let c =
                if idx < 0 { '0' } else { d.as_bytes().get(idx as usize).map(|&b| b as char).unwrap_or('0') };
            out.push(c);
        }
    }
    out
}

/// Go's `%g` (`prec` None = shortest, as `%v`).
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0 || (v == 0.0 && v.is_sign_negative());
    let prec = prec.map(|p| p.max(1));
    let (d, dp) = digits(v, prec);
    let nd = d.len() as i32;
    let mut eprec = match prec {
        Some(p) => {
            let p = p as i32;
            if p > nd && nd >= dp { nd } else { p }
        }
        None => 6,
    };
    if prec.is_none() {
        eprec = 6;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        let p = prec.map(|p| (p as i32).min(nd)).unwrap_or(nd);
        return fmt_e(neg, &d, dp, (p - 1).max(0) as usize, false);
    }
    let p = match prec {
        Some(p) if (p as i32) > dp => nd,
        Some(p) => p as i32,
        None => nd,
    };
    fmt_f(neg, &d, dp, (p - dp).max(0) as usize)
}

/// Go's `%e` with a precision (default 6).
pub fn format_e(v: f64, prec: usize, upper: bool) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative();
    let s = format!("{:.*e}", prec, v.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(mant);
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: shortest digits in exponent form.
pub fn format_e_shortest(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let (d, dp) = digits(v, None);
    fmt_e(v.is_sign_negative(), &d, dp, d.len() - 1, false)
}

/// Go's `%f` with a precision.
pub fn format_f(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    format!("{v:.prec$}")
}

/// `%v` of a value as Go's fmt prints it.
pub fn format_v(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_g(*f, None),
        Value::Str(s) => s.clone(),
        Value::Map(m) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", format_v(v))).collect();
            format!("map[{}]", parts.join(" "))
        }
        Value::List(l) => {
            let parts: Vec<String> = l.iter().map(format_v).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Sample(s) => {
            let parts: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{map[{}] {}}}", parts.join(" "), format_g(s.value, None))
        }
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Map(_) => "map[string]interface {}",
        Value::List(_) => "[]interface {}",
        Value::Sample(_) => "*template.sample",
    }
}

fn bad_verb(verb: char, v: &Value) -> String {
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", go_type(v), format_v(v)),
    }
}

fn pad(s: String, width: Option<usize>, left: bool, zero: bool) -> String {
    let Some(w) = width else { return s };
    let n = s.chars().count();
    if n >= w {
        return s;
    }
    let fill = w - n;
    if left {
        format!("{s}{}", " ".repeat(fill))
    } else if zero {
        let (sign, rest) =
            if s.starts_with('-') || s.starts_with('+') { s.split_at(1) } else { ("", s.as_str()) };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

/// Largest printf width or precision honoured (Go has none; this bounds memory).
pub const FMT_WIDTH_MAX: usize = 4096;

/// Go's `fmt.Sprintf` for the common verbs (v s d f F e E g G q x X t c % b o).
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut argi = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero, mut plus, mut space, mut sharp) = (false, false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' => space = true,
                '#' => sharp = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        let mut num = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            num.push(d);
            chars.next();
        }
        if !num.is_empty() {
            width = num.parse::<usize>().ok().map(|w| w.min(FMT_WIDTH_MAX));
        }
        let mut prec = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            prec = Some(p.parse::<usize>().unwrap_or(FMT_WIDTH_MAX).min(FMT_WIDTH_MAX));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        let sign = |s: String, nonneg: bool| -> String {
            if nonneg && plus {
                format!("+{s}")
            } else if nonneg && space {
                format!(" {s}")
            } else {
                s
            }
        };
        let s = match (verb, arg) {
            ('v', Value::Float(f)) => sign(format_g(*f, prec), *f >= 0.0),
            ('v', Value::Int(i)) => sign(i.to_string(), *i >= 0),
            ('v', Value::Str(s)) if sharp => format!("{s:?}"),
            ('v', v) => format_v(v),
            ('s', Value::Str(s)) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('s', v @ (Value::Map(_) | Value::List(_) | Value::Sample(_))) => format_v(v),
            ('q', Value::Str(s)) => format!("{s:?}"),
            ('d', Value::Int(i)) => sign(i.to_string(), *i >= 0),
            ('b', Value::Int(i)) => format!("{i:b}"),
            ('o', Value::Int(i)) => format!("{i:o}"),
            ('c', Value::Int(i)) => char::from_u32(*i as u32).map(String::from).unwrap_or_default(),
            ('x', Value::Int(i)) => {
                if *i < 0 {
                    format!("-{:x}", i.unsigned_abs())
                } else {
                    format!("{i:x}")
                }
            }
            ('X', Value::Int(i)) => {
                if *i < 0 {
                    format!("-{:X}", i.unsigned_abs())
                } else {
                    format!("{i:X}")
                }
            }
            ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('X', Value::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
            ('f' | 'F', Value::Float(f)) => sign(format_f(*f, prec.unwrap_or(6)), *f >= 0.0),
            ('e' | 'E', Value::Float(f)) => sign(format_e(*f, prec.unwrap_or(6), verb == 'E'), *f >= 0.0),
            ('g' | 'G', Value::Float(f)) => {
                let s = format_g(*f, prec);
                sign(if verb == 'G' { s.to_uppercase() } else { s }, *f >= 0.0)
            }
            ('t', Value::Bool(b)) => b.to_string(),
            (verb, v) => bad_verb(verb, v),
        };
        out.push_str(&pad(s, width, left, zero && !left));
    }
    if argi < args.len() {
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|v| match v {
                Value::Nil => "<nil>".into(),
                v => format!("{}={}", go_type(v), format_v(v)),
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_formatting() {
        assert_eq!(format_g(1234567.0, Some(4)), "1.235e+06");
        assert_eq!(format_g(100000.0, Some(4)), "1e+05");
        assert_eq!(format_g(12.0, Some(4)), "12");
        assert_eq!(format_g(0.5, Some(4)), "0.5");
        assert_eq!(format_g(1234.5678, Some(4)), "1235");
        assert_eq!(format_g(0.0, Some(4)), "0");
        assert_eq!(format_g(0.00001234, Some(4)), "1.234e-05");
        assert_eq!(format_g(f64::INFINITY, Some(4)), "+Inf");
        assert_eq!(format_g(-2.5, None), "-2.5");
        assert_eq!(format_g(1e6, None), "1e+06");
        assert_eq!(format_g(123456789.0, None), "1.23456789e+08");
        assert_eq!(format_g(100000.0, None), "100000");
        assert_eq!(format_g(0.0001, None), "0.0001");
        assert_eq!(format_g(0.00001, None), "1e-05");
        assert_eq!(format_e_shortest(1.0), "1e+00");
        assert_eq!(format_e_shortest(-1234.5), "-1.2345e+03");
        assert_eq!(format_e_shortest(0.0), "0e+00");
    }

    #[test]
    fn printf_verbs() {
        assert_eq!(sprintf("%.2f%%", &[Value::Float(12.345)]), "12.35%");
        assert_eq!(sprintf("%d items", &[Value::Int(3)]), "3 items");
        assert_eq!(sprintf("%d", &[Value::Float(3.0)]), "%!d(float64=3)");
        assert_eq!(sprintf("%s-%v", &[Value::Str("a".into()), Value::Float(0.5)]), "a-0.5");
        assert_eq!(sprintf("%5.1f|%-4s|", &[Value::Float(4.25), Value::Str("x".into())]), "  4.2|x   |");
        assert_eq!(sprintf("%s", &[]), "%!s(MISSING)");
        assert_eq!(sprintf("a", &[Value::Int(1)]), "a%!(EXTRA int=1)");
    }
}
