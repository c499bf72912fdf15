//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's fully anchored regex semantics
//! (`^(?s:re)$`: `.` matches newline, as in Prometheus 3). Shared by storage selection and the
//! PromQL engine. Owns matching only, not postings lookups.

use crate::labels::Labels;
use regex::Regex;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

impl MatchOp {
    pub fn as_str(&self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

/// A compiled matcher. A label that is absent is treated as having the empty value.
#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<Regex>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression {pattern:?} in matcher for label {name:?}: {source}")]
pub struct MatcherError {
    pub name: String,
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

impl Matcher {
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => {
                let anchored = format!("^(?s:{value})$");
                Some(Regex::new(&anchored).map_err(|source| MatcherError {
                    name: name.clone(),
                    pattern: value.clone(),
                    source,
                })?)
            }
            _ => None,
        };
        Ok(Matcher { name, op, value, re })
    }

    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher { name: name.into(), op: MatchOp::Equal, value: value.into(), re: None }
    }

    /// Does `value` (the empty string for an absent label) satisfy this matcher?
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::RegexMatch => self.re.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::RegexNoMatch => !self.re.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Does this matcher select series that lack the label entirely?
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// True when every matcher accepts the label set.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_fully_anchored_and_dot_matches_newline() {
        let m = Matcher::new(MatchOp::RegexMatch, "job", "ap.").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("xapi"));
        assert!(!m.matches("apix"));
        let m = Matcher::new(MatchOp::RegexMatch, "x", "a.b").unwrap();
        assert!(m.matches("a\nb"));
    }

    #[test]
    fn absent_label_is_empty() {
        let l = Labels::from_pairs([("a", "1")]);
        assert!(Matcher::new(MatchOp::Equal, "b", "").unwrap().matches_labels(&l));
        assert!(!Matcher::new(MatchOp::NotEqual, "b", "").unwrap().matches_labels(&l));
        assert!(Matcher::new(MatchOp::RegexNoMatch, "b", "x.*").unwrap().matches_labels(&l));
    }

    #[test]
    fn bad_regex_is_an_error() {
        let e = Matcher::new(MatchOp::RegexMatch, "a", "(").err().unwrap();
        assert!(e.to_string().contains("invalid regular expression"));
    }
}
