//! Label-manipulating functions: `label_replace`, `label_join`, `sort_by_label[_desc]`,
//! and the label-name validity rule they share. Does not touch sample values.

use promql_parser::parser::Expr;
use regex::Regex;

use crate::error::QueryError;
use crate::eval::{Evaluator, SSeries, Steps, Val, merge_series};

/// Prometheus's legacy label-name rule `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn valid_label_name(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
}

/// Quotes a string like Go's `%q` would for the bytes the query meant: characters
/// U+0080..U+00FF (from `\xNN` escapes) are written back as `\xNN`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) >= 0x80 && (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn string_arg(ev: &mut Evaluator<'_>, e: &Expr, s: &Steps) -> Result<String, QueryError> {
    match ev.eval(e, s)? {
        Val::Str(st) => Ok(st),
        other => Err(QueryError::BadData(format!("expected string, got {}", other.type_name()))),
    }
}

pub(crate) fn label_replace(ev: &mut Evaluator<'_>, args: &[&Expr], s: &Steps) -> Result<Val, QueryError> {
    let v = ev.eval_vector(args[0], s)?;
    let dst = string_arg(ev, args[1], s)?;
    let repl = string_arg(ev, args[2], s)?;
    let src = string_arg(ev, args[3], s)?;
    let re_str = string_arg(ev, args[4], s)?;
    let re = Regex::new(&format!("^(?s:{re_str})$")).map_err(|_| {
        QueryError::Execution(format!("invalid regular expression in label_replace(): {re_str}"))
    })?;
    if !valid_label_name(&dst) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(v.len());
    for mut ser in v {
        let src_val = ser.labels.get(&src).unwrap_or("").to_string();
        if let Some(caps) = re.captures(&src_val) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            ser.labels.set(&dst, &res);
            if dst == cairn_format::METRIC_NAME {
                ser.drop_name = false;
            }
        }
        out.push(ser);
    }
    Ok(Val::Vector(merge_series(out)?))
}

pub(crate) fn label_join(ev: &mut Evaluator<'_>, args: &[&Expr], s: &Steps) -> Result<Val, QueryError> {
    let v = ev.eval_vector(args[0], s)?;
    let dst = string_arg(ev, args[1], s)?;
    let sep = string_arg(ev, args[2], s)?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        let src = string_arg(ev, a, s)?;
        if !valid_label_name(&src) {
            return Err(QueryError::Execution(format!("invalid source label name in label_join(): {src}")));
        }
        srcs.push(src);
    }
    if !valid_label_name(&dst) {
        return Err(QueryError::Execution(format!("invalid destination label name in label_join(): {dst}")));
    }
    let mut out = Vec::with_capacity(v.len());
    for mut ser in v {
        let joined = srcs.iter().map(|n| ser.labels.get(n).unwrap_or("")).collect::<Vec<_>>().join(&sep);
        ser.labels.set(&dst, &joined);
        if dst == cairn_format::METRIC_NAME {
            ser.drop_name = false;
        }
        out.push(ser);
    }
    Ok(Val::Vector(merge_series(out)?))
}

/// Natural ordering: digit runs compare numerically.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let na = a[si..i].trim_start_matches('0');
            let nb = b[sj..j].trim_start_matches('0');
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        } else {
            let o = ab[i].cmp(&bb[j]);
            if o != std::cmp::Ordering::Equal {
                return o;
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

pub(crate) fn sort_by_label(v: &mut [SSeries], names: &[String], desc: bool) {
    v.sort_by(|a, b| {
        for n in names {
            let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
            if x == y {
                continue;
            }
            let o = natural_cmp(x, y);
            return if desc { o.reverse() } else { o };
        }
        let o = a.labels.cmp(&b.labels);
        if desc { o.reverse() } else { o }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), std::cmp::Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), std::cmp::Ordering::Greater);
    }

    #[test]
    fn label_names() {
        assert!(valid_label_name("_a1"));
        assert!(!valid_label_name("1a"));
        assert!(!valid_label_name("a\u{c5}z"));
        assert_eq!(go_quote("a\u{c5}z"), "\"a\\xc5z\"");
    }
}
