//! Label validation at append time: names match `[a-zA-Z_][a-zA-Z0-9_]*`, empty values are
//! dropped (Prometheus treats `a=""` as "no label a"), names are sorted and unique, and at
//! least one label remains. Like Prometheus's TSDB, `__name__` is *not* required (the scrape
//! and remote-write layers enforce their own rules). Owns checks only, no interning.

use super::error::AppendError;
use cairn_format::Labels;

/// True when `name` is a valid label name.
pub fn is_valid_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return false,
    }
    b[1..].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Returns the labels as the storage keeps them (empty values dropped, sorted), or an error
/// naming the offending label. Borrows when nothing needs dropping.
pub fn validate_labels(labels: &Labels) -> Result<std::borrow::Cow<'_, Labels>, AppendError> {
    let mut need_copy = false;
    let mut prev: Option<&str> = None;
    let mut kept = 0usize;
    for l in labels {
        if l.value.is_empty() {
            need_copy = true;
            continue;
        }
        if !is_valid_label_name(&l.name) {
            return Err(AppendError::InvalidLabelName { name: l.name.clone(), series: labels.to_string() });
        }
        if prev == Some(l.name.as_str()) {
            return Err(AppendError::DuplicateLabelName { name: l.name.clone(), series: labels.to_string() });
        }
        if prev.is_some_and(|p| p > l.name.as_str()) {
            need_copy = true;
        }
        prev = Some(&l.name);
        kept += 1;
    }
    if kept == 0 {
        return Err(AppendError::EmptyLabels);
    }
    if !need_copy {
        return Ok(std::borrow::Cow::Borrowed(labels));
    }
    let v: Vec<_> = labels.iter().filter(|l| !l.value.is_empty()).cloned().collect();
    let out = Labels::from_vec(v);
    if out.has_duplicate_names() {
        let name = out.as_slice().windows(2).find(|w| w[0].name == w[1].name).map(|w| w[0].name.clone());
        return Err(AppendError::DuplicateLabelName {
            name: name.unwrap_or_default(),
            series: labels.to_string(),
        });
    }
    Ok(std::borrow::Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "_", "__name__", "A9_b"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a.b", "é", "a b"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn empty_values_dropped_and_errors_name_the_label() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", ""), ("a", "1")]);
        let v = validate_labels(&l).unwrap();
        assert_eq!(v.to_string(), r#"up{a="1"}"#);
        let e = validate_labels(&Labels::from_pairs([("x", "1"), ("x", "2")])).unwrap_err();
        assert!(matches!(&e, AppendError::DuplicateLabelName { name, .. } if name == "x"));
        let e = validate_labels(&Labels::from_pairs([("bad-name", "1")])).unwrap_err();
        assert!(e.to_string().contains("\"bad-name\""), "{e}");
        assert_eq!(validate_labels(&Labels::from_pairs([("a", "")])).unwrap_err(), AppendError::EmptyLabels);
        // A duplicate whose first value is empty is not a duplicate (the empty one is dropped).
        assert!(validate_labels(&Labels::from_pairs([("x", ""), ("x", "2")])).is_ok());
    }
}
