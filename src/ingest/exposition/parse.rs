//! The pull parser: an iterator over a scrape body (`&[u8]`) yielding [`Entry`] values that
//! borrow from the input. Allocation-free on the sample path (label values are unescaped only
//! when the caller iterates them). Stops at the first error, which names line and column.
//!
//! Does not build label sets (see `SampleEntry::to_labels`) or validate label names against
//! storage rules; see `mod.rs` for the grammar choices.

use super::number::parse_float;
use super::{Entry, Format, MetricType, NORMAL_NAN_BITS, ParseError, ParseErrorKind, RawLabels, SampleEntry};

/// Byte classes: bit 0 = may start a metric name, bit 1 = may continue a metric name,
/// bit 2 = may start a label name, bit 3 = may continue a label name.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alpha = b.is_ascii_alphabetic() || b == b'_';
        let digit = b.is_ascii_digit();
        let mut v = 0;
        if alpha || b == b':' {
            v |= 1 | 2;
        }
        if digit {
            v |= 2 | 8;
        }
        if alpha {
            v |= 4 | 8;
        }
        t[c] = v;
        c += 1;
    }
    t
};

const HIGH: u64 = 0x8080_8080_8080_8080;

const fn rep(b: u8) -> u64 {
    (b as u64) * 0x0101_0101_0101_0101
}

/// High bit of each byte of `x` (all bytes < 0x80) set iff that byte is in `lo..=hi`. No
/// carries cross bytes: every sum stays below 0x100.
#[inline(always)]
fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
    x.wrapping_add(rep(0x80 - lo)) & !x.wrapping_add(rep(0x7f - hi)) & HIGH
}

/// How many of the 8 bytes of `w` (little-endian order) continue a metric name
/// (`[a-zA-Z0-9_:]`), counted from the first.
#[inline(always)]
fn name_bytes_in_word(w: u64) -> usize {
    let ascii = !w & HIGH;
    let x = w & !HIGH;
    // '0'..=':' is one range; setting bit 5 folds 'A'..='Z' onto 'a'..='z' and '_' onto 0x7f
    // (only '_' and DEL map there, and DEL is excluded by the `x != 0x7f` term).
    let folded = x | rep(0x20);
    let not_del = !(in_range(x, 0x7f, 0x7f));
    let ok =
        (in_range(x, b'0', b':') | in_range(folded, b'a', b'z') | (in_range(folded, 0x7f, 0x7f) & not_del))
            & ascii;
    let bad = !ok & HIGH;
    (bad.trailing_zeros() / 8) as usize
}

/// Index of the first byte of `w` that is `"`, `\\` or a newline, or 8.
#[inline(always)]
fn special_in_word(w: u64) -> usize {
    let zero = |v: u64| v.wrapping_sub(rep(1)) & !v & HIGH;
    let m = zero(w ^ rep(b'"')) | zero(w ^ rep(b'\\')) | zero(w ^ rep(b'\n'));
    // A false positive can only appear above a true match, so the lowest bit is exact.
    (m.trailing_zeros() / 8) as usize
}

#[inline(always)]
fn word_at(b: &[u8], p: usize) -> Option<u64> {
    b.get(p..p + 8).and_then(|s| s.try_into().ok()).map(u64::from_le_bytes)
}

#[inline]
fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Parser over one exposition body. Iterate it; it yields `Err` at most once and then ends.
pub struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    /// 1-based number of the line that starts at `line_start`.
    line: usize,
    line_start: usize,
    format: Format,
    validated: bool,
    done: bool,
    seen_eof: bool,
    skip_created: bool,
    /// Name and type from the most recent `# TYPE` line.
    family: Option<(&'a str, MetricType)>,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a [u8], format: Format) -> Self {
        Parser {
            bytes: input,
            text: "",
            pos: 0,
            line: 1,
            line_start: 0,
            format,
            validated: false,
            done: false,
            seen_eof: false,
            skip_created: false,
            family: None,
        }
    }

    /// Skip OpenMetrics `<family>_created` samples of counters, histograms and summaries
    /// (Prometheus does when created-timestamp ingestion is on). Off by default: they are
    /// ordinary samples, as in Prometheus's default configuration.
    pub fn skip_created_series(mut self, skip: bool) -> Self {
        self.skip_created = skip;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    fn err(&self, at: usize, kind: ParseErrorKind) -> ParseError {
        let at = at.min(self.text.len()).max(self.line_start);
        let column = self.text.get(self.line_start..at).map_or(1, |s| s.chars().count() + 1);
        ParseError { line: self.line, column, kind }
    }

    /// A short description of what is at `p`, for error messages.
    fn describe(&self, p: usize) -> String {
        match self.text.get(p..).and_then(|s| s.chars().next()) {
            None => "end of input".into(),
            Some('\n') => "end of line".into(),
            Some(c) => format!("{c:?}"),
        }
    }

    #[inline]
    fn end_line(&mut self, newline_at: usize) {
        self.pos = newline_at + 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    #[inline]
    fn skip_ws(&self, mut p: usize) -> usize {
        let b = self.bytes;
        while p < b.len() && is_ws(b[p]) {
            p += 1;
        }
        p
    }

    /// Position of the next `\n` at or after `p`, or the end of input.
    #[inline]
    fn eol(&self, p: usize) -> usize {
        match self.bytes.get(p..) {
            Some(rest) => memchr::memchr(b'\n', rest).map_or(self.bytes.len(), |i| p + i),
            None => self.bytes.len(),
        }
    }

    fn validate(&mut self) -> Result<(), ParseError> {
        match std::str::from_utf8(self.bytes) {
            Ok(t) => {
                self.text = t;
                Ok(())
            }
            Err(e) => {
                let good = &self.bytes[..e.valid_up_to()];
                // The prefix is valid UTF-8 by definition of valid_up_to.
                let prefix = std::str::from_utf8(good).unwrap_or("");
                let line = prefix.matches('\n').count() + 1;
                let last = prefix.rfind('\n').map_or(prefix, |i| &prefix[i + 1..]);
                Err(ParseError { line, column: last.chars().count() + 1, kind: ParseErrorKind::InvalidUtf8 })
            }
        }
    }

    #[inline(always)]
    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.bytes;
        loop {
            if self.pos >= b.len() {
                if self.format == Format::OpenMetrics && !self.seen_eof {
                    return Err(self.err(self.pos, ParseErrorKind::MissingEof));
                }
                return Ok(None);
            }
            match self.format {
                Format::PrometheusText => {
                    let p = self.skip_ws(self.pos);
                    if p >= b.len() {
                        self.pos = p;
                        continue;
                    }
                    match b[p] {
                        b'\n' => self.end_line(p),
                        b'#' => {
                            if let Some(e) = self.text_comment(p)? {
                                return Ok(Some(e));
                            }
                        }
                        _ => {
                            if let Some(e) = self.sample(p)? {
                                return Ok(Some(e));
                            }
                        }
                    }
                }
                Format::OpenMetrics => {
                    let p = self.pos;
                    match b[p] {
                        b'\n' => return Err(self.err(p, ParseErrorKind::BlankLine)),
                        b'#' => {
                            if let Some(e) = self.om_comment(p)? {
                                return Ok(Some(e));
                            }
                        }
                        _ => {
                            if let Some(e) = self.sample(p)? {
                                return Ok(Some(e));
                            }
                        }
                    }
                }
            }
        }
    }

    /// A metric name starting at `p`; returns its end.
    #[inline]
    fn metric_name(&self, p: usize) -> Result<usize, ParseError> {
        let b = self.bytes;
        if p >= b.len() || CLASS[b[p] as usize] & 1 == 0 {
            return Err(self.err(p, ParseErrorKind::ExpectedMetricName(self.describe(p))));
        }
        let mut q = p + 1;
        while let Some(w) = word_at(b, q) {
            let n = name_bytes_in_word(w);
            q += n;
            if n < 8 {
                return Ok(q);
            }
        }
        while q < b.len() && CLASS[b[q] as usize] & 2 != 0 {
            q += 1;
        }
        Ok(q)
    }

    // ----- text format comments -----

    #[inline(always)]
    fn text_comment(&mut self, p: usize) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.bytes;
        let q = self.skip_ws(p + 1);
        if q > p + 1 {
            let rest = &b[q..];
            let keyword_then_ws =
                |kw: &[u8]| rest.len() > kw.len() && rest.starts_with(kw) && is_ws(rest[kw.len()]);
            if keyword_then_ws(b"HELP") {
                return self.text_meta(q + 4, true).map(Some);
            }
            if keyword_then_ws(b"TYPE") {
                return self.text_meta(q + 4, false).map(Some);
            }
        }
        let eol = self.eol(p);
        if eol < b.len() {
            self.end_line(eol);
        } else {
            self.pos = eol;
        }
        Ok(None)
    }

    #[inline(always)]
    fn text_meta(&mut self, p: usize, help: bool) -> Result<Entry<'a>, ParseError> {
        let b = self.bytes;
        let start = self.skip_ws(p);
        let end = self.metric_name(start)?;
        let name = &self.text[start..end];
        if end < b.len() && b[end] != b'\n' && !is_ws(b[end]) {
            return Err(self.err(end, ParseErrorKind::ExpectedEndOfLine(self.describe(end))));
        }
        let eol = self.eol(end);
        let entry = if help {
            let t = self.skip_ws(end).min(eol);
            Entry::Help {
                metric_name: name,
                text: super::unescape_help(&self.text[t..eol], Format::PrometheusText),
            }
        } else {
            let t = self.skip_ws(end).min(eol);
            let word = self.text[t..eol].trim_end_matches([' ', '\t']);
            let metric_type = MetricType::parse(word, Format::PrometheusText)
                .ok_or_else(|| self.err(t, ParseErrorKind::InvalidMetricType(word.to_string())))?;
            self.family = Some((name, metric_type));
            Entry::Type { metric_name: name, metric_type }
        };
        if eol < b.len() {
            self.end_line(eol);
        } else {
            self.pos = eol;
        }
        Ok(entry)
    }

    // ----- OpenMetrics comments -----

    fn om_comment(&mut self, p: usize) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.bytes;
        if b.get(p + 1) != Some(&b' ') {
            return Err(self.err(p, ParseErrorKind::InvalidComment));
        }
        let rest = &b[p + 2..];
        if rest.starts_with(b"EOF") {
            let after = p + 5;
            if after == b.len() || (b[after] == b'\n' && after + 1 == b.len()) {
                self.seen_eof = true;
                self.pos = b.len();
                return Ok(None);
            }
            if b[after] == b'\n' {
                self.end_line(after);
                return Err(self.err(self.pos, ParseErrorKind::DataAfterEof));
            }
            return Err(self.err(p, ParseErrorKind::InvalidComment));
        }
        let kind = if rest.starts_with(b"HELP ") {
            0
        } else if rest.starts_with(b"TYPE ") {
            1
        } else if rest.starts_with(b"UNIT ") {
            2
        } else {
            return Err(self.err(p, ParseErrorKind::InvalidComment));
        };
        let start = p + 7;
        let end = self.metric_name(start)?;
        let name = &self.text[start..end];
        if b.get(end) != Some(&b' ') {
            return Err(self.err(end, ParseErrorKind::ExpectedSpace(self.describe(end))));
        }
        let t = end + 1;
        let eol = self.eol(t);
        if eol >= b.len() {
            return Err(self.err(eol, ParseErrorKind::ExpectedEndOfLine(self.describe(eol))));
        }
        let rest = &self.text[t..eol];
        let entry = match kind {
            0 => Entry::Help { metric_name: name, text: super::unescape_help(rest, Format::OpenMetrics) },
            1 => {
                let metric_type = MetricType::parse(rest, Format::OpenMetrics)
                    .ok_or_else(|| self.err(t, ParseErrorKind::InvalidMetricType(rest.to_string())))?;
                self.family = Some((name, metric_type));
                Entry::Type { metric_name: name, metric_type }
            }
            _ => {
                let suffix_ok = rest.is_empty()
                    || (name.len() > rest.len()
                        && name.ends_with(rest)
                        && name.as_bytes()[name.len() - rest.len() - 1] == b'_');
                if !suffix_ok {
                    return Err(
                        self.err(t, ParseErrorKind::UnitNotSuffix { unit: rest.into(), metric: name.into() })
                    );
                }
                Entry::Unit { metric_name: name, unit: rest }
            }
        };
        self.end_line(eol);
        Ok(Some(entry))
    }

    // ----- samples -----

    /// Checks a label block starting just after `{`; returns the position after `}`.
    #[inline(always)]
    fn labels(&self, mut p: usize, om: bool) -> Result<usize, ParseError> {
        let b = self.bytes;
        loop {
            if !om {
                p = self.skip_ws(p);
            }
            if p >= b.len() {
                return Err(self.err(p, ParseErrorKind::ExpectedLabelName(self.describe(p))));
            }
            if b[p] == b'}' {
                return Ok(p + 1);
            }
            if CLASS[b[p] as usize] & 4 == 0 {
                return Err(self.err(p, ParseErrorKind::ExpectedLabelName(self.describe(p))));
            }
            p += 1;
            while p < b.len() && CLASS[b[p] as usize] & 8 != 0 {
                p += 1;
            }
            if !om {
                p = self.skip_ws(p);
            }
            if b.get(p) != Some(&b'=') {
                return Err(self.err(p, ParseErrorKind::ExpectedEquals(self.describe(p))));
            }
            p += 1;
            if !om {
                p = self.skip_ws(p);
            }
            if b.get(p) != Some(&b'"') {
                return Err(self.err(p, ParseErrorKind::ExpectedQuote(self.describe(p))));
            }
            let open = p;
            p += 1;
            loop {
                if let Some(w) = word_at(b, p) {
                    let n = special_in_word(w);
                    p += n;
                    if n == 8 {
                        continue;
                    }
                }
                match b.get(p) {
                    None | Some(b'\n') => return Err(self.err(open, ParseErrorKind::UnterminatedLabelValue)),
                    Some(b'\\') => {
                        if matches!(b.get(p + 1), None | Some(b'\n')) {
                            return Err(self.err(open, ParseErrorKind::UnterminatedLabelValue));
                        }
                        p += 2;
                    }
                    Some(b'"') => {
                        p += 1;
                        break;
                    }
                    Some(_) => p += 1,
                }
            }
            if !om {
                p = self.skip_ws(p);
            }
            match b.get(p) {
                Some(b',') => p += 1,
                Some(b'}') => return Ok(p + 1),
                _ => return Err(self.err(p, ParseErrorKind::ExpectedCommaOrBrace(self.describe(p)))),
            }
        }
    }

    /// An OpenMetrics exemplar starting at `#`; returns the position after it.
    fn exemplar(&self, p: usize) -> Result<usize, ParseError> {
        let b = self.bytes;
        if !b[p..].starts_with(b"# {") {
            return Err(self.err(p, ParseErrorKind::InvalidExemplar("expected \"# {\"".into())));
        }
        let mut q = self.labels(p + 3, true)?;
        if b.get(q) != Some(&b' ') {
            return Err(self.err(
                q,
                ParseErrorKind::InvalidExemplar(format!("expected a space, found {}", self.describe(q))),
            ));
        }
        q += 1;
        let vstart = q;
        while q < b.len() && b[q] != b' ' && b[q] != b'\n' {
            q += 1;
        }
        if parse_float(&self.text[vstart..q]).is_none() {
            let v = &self.text[vstart..q];
            return Err(self.err(vstart, ParseErrorKind::InvalidExemplar(format!("invalid value {v:?}"))));
        }
        if b.get(q) == Some(&b' ') {
            q += 1;
            let tstart = q;
            while q < b.len() && b[q] != b' ' && b[q] != b'\n' {
                q += 1;
            }
            if !parse_float(&self.text[tstart..q]).is_some_and(f64::is_finite) {
                let t = &self.text[tstart..q];
                return Err(
                    self.err(tstart, ParseErrorKind::InvalidExemplar(format!("invalid timestamp {t:?}")))
                );
            }
        }
        Ok(q)
    }

    #[inline(always)]
    fn sample(&mut self, start: usize) -> Result<Option<Entry<'a>>, ParseError> {
        let b = self.bytes;
        let om = self.format == Format::OpenMetrics;
        let mut p = self.metric_name(start)?;
        let name = &self.text[start..p];
        if !om {
            p = self.skip_ws(p);
        }
        let mut raw = "";
        if p < b.len() && b[p] == b'{' {
            let open = p + 1;
            p = self.labels(open, om)?;
            raw = &self.text[open..p - 1];
        }
        if om {
            if b.get(p) != Some(&b' ') {
                return Err(self.err(p, ParseErrorKind::ExpectedSpace(self.describe(p))));
            }
            p += 1;
        } else {
            p = self.skip_ws(p);
        }
        let vstart = p;
        if om {
            while p < b.len() && b[p] != b' ' && b[p] != b'\n' {
                p += 1;
            }
        } else {
            while p < b.len() && !is_ws(b[p]) && b[p] != b'\n' {
                p += 1;
            }
        }
        if p == vstart {
            return Err(self.err(p, ParseErrorKind::ExpectedValue(self.describe(p))));
        }
        let vtext = &self.text[vstart..p];
        let mut value = parse_float(vtext)
            .ok_or_else(|| self.err(vstart, ParseErrorKind::InvalidValue(vtext.to_string())))?;
        if value.is_nan() {
            value = f64::from_bits(NORMAL_NAN_BITS);
        }
        let mut timestamp = None;
        if om {
            if b.get(p) == Some(&b' ') {
                p += 1;
                if b.get(p) == Some(&b'#') {
                    p = self.exemplar(p)?;
                } else {
                    let tstart = p;
                    while p < b.len() && b[p] != b' ' && b[p] != b'\n' {
                        p += 1;
                    }
                    let ttext = &self.text[tstart..p];
                    let secs = parse_float(ttext).filter(|t| t.is_finite()).ok_or_else(|| {
                        self.err(tstart, ParseErrorKind::InvalidTimestamp(ttext.to_string()))
                    })?;
                    // Prometheus: int64(ts * 1000), truncating toward zero.
                    timestamp = Some((secs * 1000.0) as i64);
                    if b.get(p) == Some(&b' ') {
                        p += 1;
                        if b.get(p) != Some(&b'#') {
                            return Err(self.err(p, ParseErrorKind::ExpectedEndOfLine(self.describe(p))));
                        }
                        p = self.exemplar(p)?;
                    }
                }
            }
            if b.get(p) != Some(&b'\n') {
                return Err(self.err(p, ParseErrorKind::ExpectedEndOfLine(self.describe(p))));
            }
        } else {
            p = self.skip_ws(p);
            if p < b.len() && b[p].is_ascii_digit() {
                let tstart = p;
                while p < b.len() && b[p].is_ascii_digit() {
                    p += 1;
                }
                let ttext = &self.text[tstart..p];
                let ts = ttext
                    .parse::<i64>()
                    .map_err(|_| self.err(tstart, ParseErrorKind::InvalidTimestamp(ttext.to_string())))?;
                timestamp = Some(ts);
                p = self.skip_ws(p);
            }
            if p < b.len() && b[p] != b'\n' {
                return Err(self.err(p, ParseErrorKind::ExpectedEndOfLine(self.describe(p))));
            }
        }
        let line = self.line;
        if p < b.len() {
            self.end_line(p);
        } else {
            self.pos = p;
        }
        let family_type = match self.family {
            Some((fam, t)) if name.starts_with(fam) => Some(t),
            _ => None,
        };
        if self.skip_created
            && om
            && matches!(
                family_type,
                Some(
                    MetricType::Counter
                        | MetricType::Histogram
                        | MetricType::GaugeHistogram
                        | MetricType::Summary
                )
            )
            && name.strip_suffix("_created").is_some_and(|f| Some(f) == self.family.map(|(n, _)| n))
        {
            return Ok(None);
        }
        let normalize = match family_type {
            Some(t @ (MetricType::Histogram | MetricType::GaugeHistogram | MetricType::Summary)) => Some(t),
            _ => None,
        };
        Ok(Some(Entry::Sample(SampleEntry {
            metric_name: name,
            labels: RawLabels::new(raw, normalize),
            value,
            timestamp,
            line,
        })))
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.validated {
            self.validated = true;
            if let Err(e) = self.validate() {
                self.done = true;
                return Some(Err(e));
            }
        }
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod swar_tests {
    use super::*;

    #[test]
    fn word_scanners_agree_with_bytewise() {
        let samples: [&[u8; 8]; 8] = [
            b"abcdefgh",
            b"ab_:Z9{x",
            b"a b\"cdef",
            b"\xffabcdefg",
            b"abcdefg\n",
            b"\\abcdefg",
            b"A-_xxxxx",
            b"\"\"\"\"\"\"\"\"",
        ];
        for s in samples {
            let w = u64::from_le_bytes(*s);
            let name = s.iter().take_while(|&&c| CLASS[c as usize] & 2 != 0).count();
            assert_eq!(name_bytes_in_word(w), name, "{s:?}");
            let special = s.iter().position(|&c| c == b'"' || c == b'\\' || c == b'\n').unwrap_or(8);
            assert_eq!(special_in_word(w), special, "{s:?}");
        }
        for c in 0..=255u8 {
            let w = u64::from_le_bytes([c, b'a', b'a', b'a', b'a', b'a', b'a', b'a']);
            let want = if CLASS[c as usize] & 2 != 0 { 8 } else { 0 };
            assert_eq!(name_bytes_in_word(w), want, "byte {c:#x}");
            let want = if c == b'"' || c == b'\\' || c == b'\n' { 0 } else { 8 };
            assert_eq!(special_in_word(w), want, "byte {c:#x}");
        }
    }
}
