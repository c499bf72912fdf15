//! Parsing of series selectors given as API parameters (`match[]`) into matcher sets. A
//! selector with `or` (`{a="1" or b="2"}`) becomes several sets whose results are unioned.

use super::error::ApiError;
use cairn_format::{METRIC_NAME, MatchOp, Matcher};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::Expr;

/// Parses one `match[]` value. Errors carry Prometheus's text:
/// `invalid parameter "match[]": <parser message>`.
pub fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, ApiError> {
    parse_selector_param(s, "match[]")
}

/// [`parse_selector`] for a selector given in parameter `param` (e.g. `match_target`), which
/// the error messages name.
pub fn parse_selector_param(s: &str, param: &str) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let bad = |msg: String| ApiError::bad_data(format!("invalid parameter \"{param}\": {msg}"));
    if s.len() > 64 * 1024 {
        return Err(bad("selector too long".into()));
    }
    let owned = s.to_string();
    let parsed = std::panic::catch_unwind(move || promql_parser::parser::parse(&owned))
        .map_err(|_| bad("could not parse selector".into()))?
        .map_err(|m| {
            // Prometheus checks empty selectors itself, with its own wording.
            if m.contains("at least one non-empty matcher") {
                bad(format!("{param} must contain at least one non-empty matcher"))
            } else {
                bad(m)
            }
        })?;
    let vs = match parsed {
        Expr::VectorSelector(vs) => vs,
        _ => return Err(bad(format!("1:1: parse error: expected a series selector, got {s:?}"))),
    };
    let mut base: Vec<Matcher> = Vec::new();
    if let Some(name) = &vs.name {
        base.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    let convert = |m: &promql_parser::label::Matcher| -> Result<Matcher, ApiError> {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::RegexMatch,
            PMatchOp::NotRe(_) => MatchOp::RegexNoMatch,
        };
        Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| bad(e.to_string()))
    };
    let mut sets = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        let mut set = base.clone();
        for m in &vs.matchers.matchers {
            set.push(convert(m)?);
        }
        sets.push(set);
    } else {
        for group in &vs.matchers.or_matchers {
            let mut set = base.clone();
            for m in group {
                set.push(convert(m)?);
            }
            sets.push(set);
        }
    }
    for set in &sets {
        if set.iter().all(|m| m.matches_empty()) {
            return Err(bad(format!("{param} must contain at least one non-empty matcher")));
        }
    }
    Ok(sets)
}

/// Parses every `match[]` value; the result is the list of alternative matcher sets.
pub fn parse_match_params(values: &[&str]) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut all = Vec::new();
    for v in values {
        all.extend(parse_selector(v)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_with_name_and_matchers() {
        let sets = parse_selector(r#"up{job=~"a.*",instance!="x"}"#).unwrap();
        assert_eq!(sets.len(), 1);
        let s: Vec<String> = sets[0].iter().map(|m| m.to_string()).collect();
        assert!(s.contains(&"__name__=\"up\"".to_string()), "{s:?}");
        assert!(s.contains(&"job=~\"a.*\"".to_string()), "{s:?}");
    }

    #[test]
    fn rejects_non_selectors_and_empty_matchers() {
        assert!(parse_selector("rate(x[5m])").is_err());
        assert!(parse_selector(r#"{job=""}"#).is_err());
        assert!(parse_selector("up{").unwrap_err().message.contains("match[]"));
        let e = parse_selector_param("up{", "match_target").unwrap_err().message;
        assert!(e.starts_with("invalid parameter \"match_target\": "), "{e}");
    }
}
