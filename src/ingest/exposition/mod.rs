//! Exposition-format parsing: Prometheus text format 0.0.4 and OpenMetrics 1.0 text.
//!
//! Owns the entry types a scrape body is split into ([`Entry`]), the borrowed label view
//! ([`RawLabels`]) that unescapes lazily, the error type with line and column, and the choice
//! of parser from a response's Content-Type ([`content_type`]). The pull parser itself lives in
//! [`parse`]; number syntax in [`number`].
//!
//! Does not: apply relabeling, limits, honor_labels or staleness (that is the scrape loop's job),
//! parse the protobuf exposition format, or accept UTF-8 metric names quoted inside braces.
//!
//! Semantics follow Prometheus 3's `model/textparse`:
//! - text format: whitespace (spaces, tabs) may separate tokens and trail a line; `#` lines other
//!   than `# HELP` / `# TYPE` are comments; timestamps are integer milliseconds;
//! - OpenMetrics: single spaces only, no blank lines, only `HELP`/`TYPE`/`UNIT`/`EOF` comments,
//!   `# EOF` required and nothing after it, timestamps are float seconds, exemplars are checked
//!   and skipped;
//! - a NaN value is stored as Prometheus's "normal" NaN (`0x7ff8000000000001`), so a scraped value
//!   can never be mistaken for the stale marker;
//! - `le` labels of histogram families and `quantile` labels of summary families are rewritten to
//!   the OpenMetrics float spelling (`le="1"` becomes `le="1.0"`), as Prometheus 3 does.

pub mod content_type;
pub mod number;
pub mod parse;

use std::borrow::Cow;

use cairn_format::{Label, Labels, METRIC_NAME};

pub use content_type::{ContentTypeError, ScrapeProtocol, accept_header, select_format};
pub use parse::Parser;

/// Prometheus's ordinary NaN bit pattern (`value.NormalNaN`): every NaN parsed from a scrape is
/// stored with these bits.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// The text format being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0` (and 0.0.1).
    OpenMetrics,
}

/// A metric family type from a `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// `untyped` in the text format, `unknown` in OpenMetrics.
    Unknown,
}

impl MetricType {
    /// The spelling Prometheus uses in its metadata API.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    pub(crate) fn parse(word: &str, format: Format) -> Option<MetricType> {
        let t = match word {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" if format == Format::PrometheusText => MetricType::Unknown,
            "unknown" if format == Format::OpenMetrics => MetricType::Unknown,
            "gaugehistogram" if format == Format::OpenMetrics => MetricType::GaugeHistogram,
            "info" if format == Format::OpenMetrics => MetricType::Info,
            "stateset" if format == Format::OpenMetrics => MetricType::StateSet,
            _ => return None,
        };
        Some(t)
    }
}

/// One parsed line that carries information (comments and blank lines are not entries).
#[derive(Clone, Debug, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text`, with the text unescaped.
    Help { metric_name: &'a str, text: Cow<'a, str> },
    /// `# TYPE name type`.
    Type { metric_name: &'a str, metric_type: MetricType },
    /// `# UNIT name unit` (OpenMetrics only).
    Unit { metric_name: &'a str, unit: &'a str },
    /// One float sample.
    Sample(SampleEntry<'a>),
}

/// A sample line. Borrows from the input; labels unescape lazily.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleEntry<'a> {
    pub metric_name: &'a str,
    pub labels: RawLabels<'a>,
    pub value: f64,
    /// Milliseconds since the epoch, if the line carried a timestamp.
    pub timestamp: Option<i64>,
    /// 1-based line number of the sample in the input.
    pub line: usize,
}

impl SampleEntry<'_> {
    /// The full label set, `__name__` included, sorted by name. Duplicate names are kept (see
    /// `Labels::has_duplicate_names`) so that the caller's validation can reject them.
    pub fn to_labels(&self) -> Labels {
        let mut v = Vec::with_capacity(self.labels.count_hint() + 1);
        v.push(Label::new(METRIC_NAME, self.metric_name));
        for (n, val) in self.labels.iter() {
            v.push(Label::new(n, val.into_owned()));
        }
        Labels::from_vec(v)
    }
}

/// The text between `{` and `}` of a sample line, already checked by the parser. Iterating
/// yields `(name, value)` pairs with escapes (`\\`, `\"`, `\n`) resolved; a value is borrowed
/// unless it contained an escape or was normalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawLabels<'a> {
    raw: &'a str,
    /// Family type when `le`/`quantile` values must be normalized.
    normalize: Option<MetricType>,
}

impl<'a> RawLabels<'a> {
    pub(crate) fn new(raw: &'a str, normalize: Option<MetricType>) -> Self {
        RawLabels { raw, normalize }
    }

    /// The label block exactly as it appeared in the input (without braces).
    pub fn as_raw_str(&self) -> &'a str {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    fn count_hint(&self) -> usize {
        self.raw.bytes().filter(|&b| b == b'=').count()
    }

    pub fn iter(&self) -> LabelIter<'a> {
        LabelIter { rest: self.raw, normalize: self.normalize }
    }
}

impl<'a> IntoIterator for RawLabels<'a> {
    type Item = (&'a str, Cow<'a, str>);
    type IntoIter = LabelIter<'a>;
    fn into_iter(self) -> LabelIter<'a> {
        self.iter()
    }
}

/// Iterator over the pairs of a [`RawLabels`].
#[derive(Clone, Debug)]
pub struct LabelIter<'a> {
    rest: &'a str,
    normalize: Option<MetricType>,
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        // The block was validated by the parser; any surprise ends the iteration rather than
        // panicking.
        let s = self.rest.trim_start_matches([' ', '\t', ',']);
        let eq = s.find('=')?;
        let name = s[..eq].trim_end_matches([' ', '\t']);
        let after = s[eq + 1..].trim_start_matches([' ', '\t']);
        let body = after.strip_prefix('"')?;
        let bytes = body.as_bytes();
        let mut i = 0;
        let mut escaped = false;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                b'"' => break,
                _ => i += 1,
            }
        }
        if i >= bytes.len() {
            self.rest = "";
            return None;
        }
        let raw_value = &body[..i];
        self.rest = &body[i + 1..];
        let value =
            if escaped { Cow::Owned(unescape_label_value(raw_value)) } else { Cow::Borrowed(raw_value) };
        let value = match self.normalize {
            Some(MetricType::Histogram | MetricType::GaugeHistogram) if name == "le" => {
                normalize_float(value)
            }
            Some(MetricType::Summary) if name == "quantile" => normalize_float(value),
            _ => value,
        };
        Some((name, value))
    }
}

fn normalize_float(v: Cow<'_, str>) -> Cow<'_, str> {
    match number::parse_float(&v) {
        Some(f) => {
            let s = number::format_openmetrics_float(f);
            if s == *v { v } else { Cow::Owned(s) }
        }
        None => v,
    }
}

/// Resolves `\\`, `\"` and `\n` in a label value; any other escape is kept as written.
pub fn unescape_label_value(raw: &str) -> String {
    unescape(raw, true)
}

/// Resolves escapes in HELP text: `\\` and `\n`, plus `\"` in OpenMetrics.
pub fn unescape_help(raw: &str, format: Format) -> Cow<'_, str> {
    if memchr::memchr(b'\\', raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(unescape(raw, format == Format::OpenMetrics))
}

fn unescape(raw: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// What went wrong on a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("expected a metric name, found {0}")]
    ExpectedMetricName(String),
    #[error("expected a label name, found {0}")]
    ExpectedLabelName(String),
    #[error("expected '=' after label name, found {0}")]
    ExpectedEquals(String),
    #[error("expected '\"' to open a label value, found {0}")]
    ExpectedQuote(String),
    #[error("label value is not terminated before the end of the line")]
    UnterminatedLabelValue,
    #[error("expected ',' or '}}' after a label value, found {0}")]
    ExpectedCommaOrBrace(String),
    #[error("expected a value, found {0}")]
    ExpectedValue(String),
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    #[error("expected end of line, found {0}")]
    ExpectedEndOfLine(String),
    #[error("invalid metric type {0:?}")]
    InvalidMetricType(String),
    #[error("expected a single space, found {0}")]
    ExpectedSpace(String),
    #[error("invalid comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF")]
    InvalidComment,
    #[error("blank lines are not allowed in OpenMetrics")]
    BlankLine,
    #[error("missing \"# EOF\" at the end of OpenMetrics input")]
    MissingEof,
    #[error("data after \"# EOF\"")]
    DataAfterEof,
    #[error("unit {unit:?} is not a suffix of metric {metric:?}")]
    UnitNotSuffix { unit: String, metric: String },
    #[error("invalid exemplar: {0}")]
    InvalidExemplar(String),
}

/// A parse failure with its 1-based line and column (column counts characters).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub kind: ParseErrorKind,
}

#[cfg(test)]
mod tests;
