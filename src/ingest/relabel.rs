//! Prometheus relabeling: `relabel_configs`, `metric_relabel_configs` and
//! `alert_relabel_configs` entries (YAML field names and defaults as Prometheus), their
//! validation with Prometheus's messages, and [`relabel`], which applies a list of them to one
//! label set. Regexes are fully anchored and `.` matches newline (`^(?s:re)$`, Prometheus 3).
//! `hashmod` hashes with MD5 and takes the last 8 bytes big-endian, as Prometheus does.
//!
//! Does not know where labels come from (targets, samples or alerts).

use std::fmt;

use cairn_format::{Label, Labels};
use md5::{Digest, Md5};
use regex::Regex;
use serde::Deserialize;

/// A relabeling action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    /// Parses an action name, case-insensitively as Prometheus does.
    pub fn parse(s: &str) -> Result<Action, RelabelError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            "" => return Err(RelabelError::EmptyAction),
            _ => return Err(RelabelError::UnknownAction(s.to_string())),
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default `regex`.
pub const DEFAULT_REGEX: &str = "(.*)";
/// Default `separator`.
pub const DEFAULT_SEPARATOR: &str = ";";
/// Default `replacement`.
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// A relabel regex: the pattern as written and its anchored compilation.
#[derive(Clone)]
pub struct RelabelRegex {
    pattern: String,
    re: Regex,
}

impl RelabelRegex {
    pub fn new(pattern: &str) -> Result<Self, RelabelError> {
        let re = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| RelabelError::InvalidRegex {
            pattern: pattern.to_string(),
            reason: regex_reason(&e),
        })?;
        Ok(RelabelRegex { pattern: pattern.to_string(), re })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

/// The last line of a regex error ("unclosed group"), without the pattern echo above it.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.pattern)
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

/// One relabeling step. Build with [`RelabelConfig::new`] or deserialize (which validates).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawRelabelConfig")]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: RelabelRegex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
}

/// The YAML shape, before defaults and validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelabelConfig {
    #[serde(default)]
    pub source_labels: Option<Vec<String>>,
    #[serde(default)]
    pub separator: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub modulus: Option<u64>,
    #[serde(default)]
    pub target_label: Option<String>,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = RelabelError;
    fn try_from(raw: RawRelabelConfig) -> Result<Self, RelabelError> {
        RelabelConfig::from_raw(raw)
    }
}

/// A relabel configuration Prometheus would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelabelError {
    #[error("relabel action cannot be empty")]
    EmptyAction,
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    #[error("invalid regex {pattern:?}: {reason}")]
    InvalidRegex { pattern: String, reason: String },
    #[error("{0:?} is not a valid label name")]
    InvalidSourceLabel(String),
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTarget(Action),
    #[error("{target:?} is invalid 'target_label' for {action} action")]
    InvalidTarget { target: String, action: Action },
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(Action),
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement { replacement: String, action: Action },
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    EqualActionFields(Action),
    #[error("{0} action requires only 'regex', and no other fields")]
    LabelActionFields(Action),
}

fn is_label_name(s: &str) -> bool {
    crate::ingest::remote::write::is_valid_label_name(s)
}

/// Prometheus's `relabelTarget`: letters/underscores or `$var`/`${var}` references, then word
/// characters.
fn is_relabel_target(s: &str) -> bool {
    // ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$
    static PATTERN: &str = r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$";
    thread_local! {
        static RE: Option<Regex> = Regex::new(PATTERN).ok();
    }
    RE.with(|re| re.as_ref().is_some_and(|re| re.is_match(s)))
}

impl RelabelConfig {
    /// A config with Prometheus's defaults for everything but the action.
    pub fn new(action: Action) -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.into(),
            regex: RelabelRegex::new(DEFAULT_REGEX)
                .unwrap_or_else(|_| unreachable!("default regex compiles")),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.into(),
            action,
        }
    }

    /// Applies defaults and validates, as Prometheus does when loading YAML.
    pub fn from_raw(raw: RawRelabelConfig) -> Result<Self, RelabelError> {
        let action = match &raw.action {
            None => Action::Replace,
            Some(a) => Action::parse(a)?,
        };
        let mut c = RelabelConfig::new(action);
        if let Some(s) = &raw.source_labels {
            for l in s {
                if !is_label_name(l) {
                    return Err(RelabelError::InvalidSourceLabel(l.clone()));
                }
            }
            c.source_labels = s.clone();
        }
        if let Some(s) = &raw.separator {
            c.separator = s.clone();
        }
        if let Some(r) = &raw.regex {
            c.regex = RelabelRegex::new(r)?;
        }
        c.modulus = raw.modulus.unwrap_or(0);
        if let Some(t) = &raw.target_label {
            c.target_label = t.clone();
        }
        if let Some(r) = &raw.replacement {
            c.replacement = r.clone();
        }
        c.validate()?;
        Ok(c)
    }

    /// Prometheus's `relabel.Config.Validate`.
    pub fn validate(&self) -> Result<(), RelabelError> {
        use Action::*;
        let a = self.action;
        if a == HashMod && self.modulus == 0 {
            return Err(RelabelError::ZeroModulus);
        }
        if matches!(a, Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual)
            && self.target_label.is_empty()
        {
            return Err(RelabelError::MissingTarget(a));
        }
        if matches!(a, Replace | Lowercase | Uppercase) && !is_relabel_target(&self.target_label) {
            return Err(RelabelError::InvalidTarget { target: self.target_label.clone(), action: a });
        }
        if matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual)
            && self.replacement != DEFAULT_REPLACEMENT
        {
            return Err(RelabelError::ReplacementNotAllowed(a));
        }
        if a == LabelMap && !is_relabel_target(&self.replacement) {
            return Err(RelabelError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action: a,
            });
        }
        if a == HashMod && !is_label_name(&self.target_label) {
            return Err(RelabelError::InvalidTarget { target: self.target_label.clone(), action: a });
        }
        if matches!(a, KeepEqual | DropEqual) {
            if !is_label_name(&self.target_label) {
                return Err(RelabelError::InvalidTarget { target: self.target_label.clone(), action: a });
            }
            if self.regex.as_str() != DEFAULT_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
            {
                return Err(RelabelError::EqualActionFields(a));
            }
        }
        if matches!(a, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::LabelActionFields(a));
        }
        Ok(())
    }

    /// Applies this step; `false` means the label set is dropped.
    fn apply(&self, lb: &mut Labels) -> bool {
        use Action::*;
        let val = if self.source_labels.len() == 1 {
            lb.get(&self.source_labels[0]).unwrap_or("").to_string()
        } else {
            let parts: Vec<&str> = self.source_labels.iter().map(|n| lb.get(n).unwrap_or("")).collect();
            parts.join(&self.separator)
        };
        match self.action {
            Drop => return !self.regex.is_match(&val),
            Keep => return self.regex.is_match(&val),
            DropEqual => return lb.get(&self.target_label).unwrap_or("") != val,
            KeepEqual => return lb.get(&self.target_label).unwrap_or("") == val,
            Replace => {
                let Some(caps) = self.regex.re.captures(&val) else { return true };
                let mut target = String::new();
                caps.expand(&self.target_label, &mut target);
                if !is_label_name(&target) {
                    return true;
                }
                let mut res = String::new();
                caps.expand(&self.replacement, &mut res);
                // An empty result removes the label (Labels::set semantics).
                lb.set(&target, &res);
            }
            Lowercase => lb.set(&self.target_label, &val.to_lowercase()),
            Uppercase => lb.set(&self.target_label, &val.to_uppercase()),
            HashMod => {
                let digest = Md5::digest(val.as_bytes());
                let mut last8 = [0u8; 8];
                last8.copy_from_slice(&digest[8..16]);
                let m = u64::from_be_bytes(last8) % self.modulus;
                lb.set(&self.target_label, &m.to_string());
            }
            LabelMap => {
                let snapshot: Vec<Label> = lb.as_slice().to_vec();
                for l in snapshot {
                    if let Some(caps) = self.regex.re.captures(&l.name) {
                        let mut name = String::new();
                        caps.expand(&self.replacement, &mut name);
                        lb.set(&name, &l.value);
                    }
                }
            }
            LabelDrop => {
                let kept: Vec<Label> =
                    lb.as_slice().iter().filter(|l| !self.regex.is_match(&l.name)).cloned().collect();
                *lb = Labels::from_sorted(kept);
            }
            LabelKeep => {
                let kept: Vec<Label> =
                    lb.as_slice().iter().filter(|l| self.regex.is_match(&l.name)).cloned().collect();
                *lb = Labels::from_sorted(kept);
            }
        }
        true
    }
}

/// Applies `configs` in order. `None` means a `keep`/`drop`-style step dropped the set.
pub fn relabel(labels: &Labels, configs: &[RelabelConfig]) -> Option<Labels> {
    let mut lb = labels.clone();
    for c in configs {
        if !c.apply(&mut lb) {
            return None;
        }
    }
    Some(lb)
}

#[cfg(test)]
mod tests;
