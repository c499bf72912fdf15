//! Duration arithmetic (Prometheus's experimental `[5m+1m]`, `offset (2*2)`, `[step()]`,
//! `min_of`/`max_of`), which promql-parser cannot parse: rewrites such spots in the query text
//! into literal durations before parsing. Owns only this text rewrite; everything else in the
//! query passes through unchanged (quoted strings are never touched). Also strips the
//! experimental `anchored` / `smoothed` range-selector modifiers, reporting where they were.

/// Values the duration functions take for one query.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DurationContext {
    /// `step()` in seconds (0 for instant queries).
    pub step_s: f64,
    /// `range()` in seconds (end - start; 0 for instant queries).
    pub range_s: f64,
}

fn is_plain_duration(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        && !s.to_ascii_lowercase().contains("step")
        && !s.to_ascii_lowercase().contains("range")
}

/// Formats seconds as a millisecond duration literal.
fn ms_literal(secs: f64) -> Result<String, String> {
    if !secs.is_finite() {
        return Err(format!("duration expression evaluated to {secs}"));
    }
    let ms = (secs * 1000.0).round();
    if ms.abs() > 9.0e15 {
        return Err("duration expression out of range".into());
    }
    Ok(format!("{}ms", ms as i64))
}

/// The experimental `anchored` / `smoothed` modifiers of a range selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeExt {
    Anchored,
    Smoothed,
}

/// Result of [`rewrite`]: the new text (if anything changed) and, for range selectors
/// followed by `anchored`/`smoothed`, their 0-based position among the range selectors.
#[derive(Debug, Default)]
pub(crate) struct Rewritten {
    pub text: Option<String>,
    pub extended: Vec<(usize, RangeExt)>,
}

/// Rewrites every duration expression of `q` and strips `anchored`/`smoothed` (recording
/// which range selector carried them).
pub(crate) fn rewrite_all(q: &str, ctx: DurationContext) -> Result<Rewritten, String> {
    let mut extended = Vec::new();
    let text = rewrite_inner(q, ctx, &mut extended)?;
    Ok(Rewritten { text, extended })
}

#[cfg(test)]
fn rewrite(q: &str, ctx: DurationContext) -> Result<Option<String>, String> {
    rewrite_inner(q, ctx, &mut Vec::new())
}

fn rewrite_inner(
    q: &str,
    ctx: DurationContext,
    extended: &mut Vec<(usize, RangeExt)>,
) -> Result<Option<String>, String> {
    let marked = info_prepass(q);
    let mut changed = marked.is_some();
    let q = marked.as_deref().unwrap_or(q);
    let b = q.as_bytes();
    let mut out = String::with_capacity(q.len());
    let mut range_selectors = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' && c != b'`' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push_str(&q[start..i]);
            continue;
        }
        if c == b'#' {
            // Comment to end of line.
            let end = q[i..].find('\n').map(|p| i + p).unwrap_or(b.len());
            out.push_str(&q[i..end]);
            i = end;
            continue;
        }
        if c == b'[' {
            let Some(rel) = q[i..].find(']') else {
                out.push_str(&q[i..]);
                break;
            };
            let inner = &q[i + 1..i + rel];
            let parts = split_top_level_colon(inner);
            if parts.iter().all(|p| p.trim().is_empty() || is_plain_duration(p)) {
                out.push_str(&q[i..=i + rel]);
            } else {
                out.push('[');
                for (k, p) in parts.iter().enumerate() {
                    if k > 0 {
                        out.push(':');
                    }
                    if p.trim().is_empty() || is_plain_duration(p) {
                        out.push_str(p);
                    } else {
                        out.push_str(&ms_literal(eval_str(p, ctx)?)?);
                    }
                }
                out.push(']');
                changed = true;
            }
            i += rel + 1;
            if parts.len() == 1 {
                // A range selector (not a subquery): look for `anchored` / `smoothed`.
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                let word_len = q[j..].bytes().take_while(|c| is_ident_byte(*c)).count();
                let ext = match &q[j..j + word_len] {
                    "anchored" => Some(RangeExt::Anchored),
                    "smoothed" => Some(RangeExt::Smoothed),
                    _ => None,
                };
                if let Some(e) = ext {
                    extended.push((range_selectors, e));
                    i = j + word_len;
                    changed = true;
                }
                range_selectors += 1;
            }
            continue;
        }
        if c == b's'
            && q[i..].starts_with("smoothed")
            && (i == 0 || !is_ident_byte(b[i - 1]))
            && b.get(i + 8).is_none_or(|x| !is_ident_byte(*x))
            && let Some(pos) = selector_end(&out)
        {
            // `<instant selector> [@ t] [offset d] smoothed`: mark the selector with a matcher
            // every series satisfies; the evaluator recognises and removes it.
            if out[..pos].ends_with('}') {
                let inner_empty = out[..pos - 1].trim_end().ends_with('{');
                let mark = if inner_empty { SMOOTHED_MARK.to_string() } else { format!(",{SMOOTHED_MARK}") };
                out.insert_str(pos - 1, &mark);
            } else {
                out.insert_str(pos, &format!("{{{SMOOTHED_MARK}}}"));
            }
            i += 8;
            changed = true;
            continue;
        }
        if (c == b'o' || c == b'O')
            && q[i..].len() >= 6
            && q[i..i + 6].eq_ignore_ascii_case("offset")
            && (i == 0 || !is_ident_byte(b[i - 1]))
            && b.get(i + 6).is_some_and(|x| !is_ident_byte(*x))
        {
            out.push_str(&q[i..i + 6]);
            i += 6;
            let mut j = i;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let sign = b.get(j).copied().filter(|c| *c == b'-' || *c == b'+');
            let neg = sign == Some(b'-');
            let k = if sign.is_some() { j + 1 } else { j };
            let rest = &q[k..];
            let ident_len = rest.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
            let ident = rest[..ident_len].to_ascii_lowercase();
            let span = if rest.starts_with('(') {
                balanced_len(rest)
            } else if matches!(ident.as_str(), "step" | "range" | "min_of" | "max_of")
                && rest[ident_len..].starts_with('(')
            {
                balanced_len(&rest[ident_len..]).map(|l| ident_len + l)
            } else {
                None
            };
            if let Some(len) = span {
                let v = eval_str(&rest[..len], ctx)?;
                let v = if neg { -v } else { v };
                if v == 0.0 {
                    // A zero offset is no offset (the parser rejects `offset 0ms`).
                    out.truncate(out.len() - 6);
                } else {
                    out.push(' ');
                    out.push_str(&ms_literal(v)?);
                }
                i = k + len;
                changed = true;
            }
            continue;
        }
        let ch = q[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    Ok(changed.then_some(out))
}

/// Matcher injected into a `smoothed` instant selector (matches every series).
pub(crate) const SMOOTHED_MARK_LABEL: &str = "__cairn_smoothed__";
const SMOOTHED_MARK: &str = "__cairn_smoothed__=\"\"";

/// Matcher injected into `info()`'s label selector (never matches the empty string).
pub(crate) const INFO_MARK_LABEL: &str = "__cairn_info__";

/// For `info(<expr>, {…})` at the start of `s` whose selector has only matchers that accept
/// the empty string, returns where (offset in `s`) and what to insert before its `}`.
fn mark_info_selector(s: &str) -> Option<(usize, String)> {
    let open = s.find('(')?;
    let len = balanced_len(&s[open..])?;
    let inner = &s[open + 1..open + len - 1];
    // The last top-level comma separates the selector argument.
    let mut depth = 0i32;
    let mut comma = None;
    let mut quote: Option<char> = None;
    for (k, ch) in inner.char_indices() {
        match quote {
            Some(qc) => {
                if ch == qc {
                    quote = None;
                }
            }
            None => match ch {
                '"' | '\'' | '`' => quote = Some(ch),
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => depth -= 1,
                ',' if depth == 0 => comma = Some(k),
                _ => {}
            },
        }
    }
    let c = comma?;
    let sel = inner[c + 1..].trim();
    if !(sel.starts_with('{') && sel.ends_with('}')) {
        return None;
    }
    let body = sel[1..sel.len() - 1].trim();
    let probe_sep = if body.is_empty() { "" } else { "," };
    let parsed = promql_parser::parser::parse(&format!("{{{body}{probe_sep}__cairn_probe__=\"x\"}}")).ok()?;
    let promql_parser::parser::Expr::VectorSelector(vs) = parsed else { return None };
    let all_empty =
        vs.matchers.matchers.iter().filter(|m| m.name != "__cairn_probe__").all(|m| m.is_match(""));
    if !all_empty {
        return None;
    }
    let sep = if body.is_empty() { "" } else { "," };
    // Offset of the selector's closing brace: the end of `inner`, minus trailing blanks.
    let close = open + 1 + inner.trim_end().len() - 1;
    Some((close, format!("{sep}{INFO_MARK_LABEL}=~\".+\"")))
}

/// Adds the `info()` marker matcher wherever it is needed (see [`mark_info_selector`]).
fn info_prepass(q: &str) -> Option<String> {
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let b = q.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(qc) => {
                if c == b'\\' && qc != b'`' {
                    i += 1;
                } else if c == qc {
                    quote = None;
                }
            }
            None => {
                if c == b'"' || c == b'\'' || c == b'`' {
                    quote = Some(c);
                } else if q[i..].starts_with("info")
                    && (i == 0 || !is_ident_byte(b[i - 1]))
                    && q[i + 4..].trim_start().starts_with('(')
                    && let Some((at, text)) = mark_info_selector(&q[i..])
                {
                    inserts.push((i + at, text));
                }
            }
        }
        i += 1;
    }
    if inserts.is_empty() {
        return None;
    }
    let mut out = q.to_string();
    for (at, text) in inserts.into_iter().rev() {
        out.insert_str(at, &text);
    }
    Some(out)
}

/// Byte position just after the instant selector that ends `out` (before any trailing
/// `@ …` / `offset …` clauses), if `out` ends with one.
fn selector_end(out: &str) -> Option<usize> {
    let mut end = out.trim_end().len();
    // Strip up to two trailing modifier clauses.
    for _ in 0..2 {
        let head = out[..end].trim_end();
        let tok_start = head.rfind(|c: char| c.is_whitespace() || c == '@').map(|p| p + 1).unwrap_or(0);
        let tok = &head[tok_start..];
        let before = head[..tok_start].trim_end();
        let lower = before.to_ascii_lowercase();
        if !tok.is_empty() && (before.ends_with('@') || lower.ends_with("offset")) {
            let kw_len = if before.ends_with('@') { 1 } else { 6 };
            end = before.len() - kw_len;
        } else if head.ends_with('@') {
            return None;
        }
    }
    let head = out[..end].trim_end();
    let last = head.bytes().last()?;
    if last == b'}' {
        return Some(head.len());
    }
    let word_start = head.bytes().rposition(|c| !is_ident_byte(c)).map(|p| p + 1).unwrap_or(0);
    let word = head[word_start..].to_ascii_lowercase();
    const KEYWORDS: [&str; 11] = [
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "bool",
        "group_left",
        "group_right",
        "offset",
    ];
    (is_ident_byte(last) && !KEYWORDS.contains(&word.as_str())).then_some(head.len())
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

fn split_top_level_colon(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ':' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Length of the balanced parenthesised prefix of `s` (which starts with `(`).
fn balanced_len(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Op(char),
}

fn unit_secs(u: &str) -> Option<f64> {
    Some(match u {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        "y" => 31_536_000.0,
        _ => return None,
    })
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            // A number, or a duration made of <number><unit> groups.
            let mut total = 0.0;
            let mut is_dur = false;
            loop {
                let st = i;
                while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.' || cs[i] == '_') {
                    i += 1;
                }
                let num: String = cs[st..i].iter().filter(|c| **c != '_').collect();
                let n: f64 = num.parse().map_err(|_| format!("bad number {num:?} in duration expression"))?;
                let us = i;
                while i < cs.len() && cs[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let unit: String = cs[us..i].iter().collect();
                if unit.is_empty() {
                    if is_dur {
                        return Err("bad duration in duration expression".into());
                    }
                    total = n;
                    break;
                }
                let f = unit_secs(&unit)
                    .ok_or_else(|| format!("unknown unit {unit:?} in duration expression"))?;
                total += n * f;
                is_dur = true;
                if !(i < cs.len() && cs[i].is_ascii_digit()) {
                    break;
                }
            }
            out.push(Tok::Num(total));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let st = i;
            while i < cs.len() && (cs[i].is_ascii_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(cs[st..i].iter().collect::<String>().to_ascii_lowercase()));
        } else if "+-*/%^(),".contains(c) {
            out.push(Tok::Op(c));
            i += 1;
        } else {
            return Err(format!("unexpected character {c:?} in duration expression"));
        }
    }
    Ok(out)
}

struct P<'a> {
    t: &'a [Tok],
    i: usize,
    ctx: DurationContext,
    depth: u32,
}

impl P<'_> {
    fn peek_op(&self, c: char) -> bool {
        self.t.get(self.i) == Some(&Tok::Op(c))
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek_op(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {c:?} in duration expression"))
        }
    }

    fn expr(&mut self) -> Result<f64, String> {
        self.depth += 1;
        if self.depth > 200 {
            return Err("duration expression nested too deeply".into());
        }
        let mut v = self.term()?;
        loop {
            if self.peek_op('+') {
                self.i += 1;
                v += self.term()?;
            } else if self.peek_op('-') {
                self.i += 1;
                v -= self.term()?;
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(v)
    }

    fn term(&mut self) -> Result<f64, String> {
        let mut v = self.unary()?;
        loop {
            if self.peek_op('*') {
                self.i += 1;
                v *= self.unary()?;
            } else if self.peek_op('/') {
                self.i += 1;
                v /= self.unary()?;
            } else if self.peek_op('%') {
                self.i += 1;
                v %= self.unary()?;
            } else {
                break;
            }
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<f64, String> {
        if self.peek_op('-') {
            self.i += 1;
            return Ok(-self.unary()?);
        }
        if self.peek_op('+') {
            self.i += 1;
            return self.unary();
        }
        let base = self.primary()?;
        if self.peek_op('^') {
            self.i += 1;
            let e = self.unary()?;
            return Ok(base.powf(e));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<f64, String> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(n)
            }
            Some(Tok::Op('(')) => {
                self.i += 1;
                let v = self.expr()?;
                self.expect(')')?;
                Ok(v)
            }
            Some(Tok::Ident(name)) => {
                self.i += 1;
                self.expect('(')?;
                match name.as_str() {
                    "step" | "range" => {
                        self.expect(')')?;
                        Ok(if name == "step" { self.ctx.step_s } else { self.ctx.range_s })
                    }
                    "min_of" | "max_of" => {
                        let mut vals = vec![self.expr()?];
                        while self.peek_op(',') {
                            self.i += 1;
                            vals.push(self.expr()?);
                        }
                        self.expect(')')?;
                        let f = if name == "min_of" { f64::min } else { f64::max };
                        Ok(vals.into_iter().reduce(f).unwrap_or(f64::NAN))
                    }
                    _ => Err(format!("unknown function {name:?} in duration expression")),
                }
            }
            other => Err(format!("unexpected {other:?} in duration expression")),
        }
    }
}

/// Evaluates a duration expression to seconds.
fn eval_str(s: &str, ctx: DurationContext) -> Result<f64, String> {
    let toks = lex(s)?;
    let mut p = P { t: &toks, i: 0, ctx, depth: 0 };
    let v = p.expr()?;
    if p.i != toks.len() {
        return Err(format!("unexpected trailing input in duration expression {s:?}"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: DurationContext = DurationContext { step_s: 10.0, range_s: 0.0 };

    fn rw(q: &str) -> String {
        rewrite(q, C).unwrap().unwrap_or_else(|| q.to_string())
    }

    #[test]
    fn brackets_and_offsets() {
        assert_eq!(rw("changes(x[26m+4m])"), "changes(x[1800000ms])");
        assert_eq!(rw("x[29s+1s:5s+5s]"), "x[30000ms:10000ms]");
        assert_eq!(rw("x[5m:1m]"), "x[5m:1m]");
        assert_eq!(rw("x[5m:]"), "x[5m:]");
        assert_eq!(rw("x offset (2 ^ 2)"), "x offset 4000ms");
        assert_eq!(rw("x offset (-2 ^ 2)"), "x offset -4000ms");
        assert_eq!(rw("x offset -(2 * 2)"), "x offset -4000ms");
        assert_eq!(rw("x offset STEP()"), "x offset 10000ms");
        assert_eq!(rw("x[max_of(min_of(step()+1,1h),1ms)]"), "x[11000ms]");
        assert_eq!(rw("x[30m1s-30m1s % 1m]"), "x[1800000ms]");
        assert_eq!(rw(r#"x{a=~"[0-9]+"}[1m]"#), r#"x{a=~"[0-9]+"}[1m]"#);
        assert_eq!(rw("x offset 5m"), "x offset 5m");
        assert_eq!(rw("x offset -min_of(step(), 1s)+8000"), "x offset -1000ms+8000");
        assert_eq!(rw("x offset range()"), "x ");
        let r = rewrite_all("rate(a[1m]) + increase(b[5m:1m]) + rate(c[2m] smoothed)", C).unwrap();
        assert_eq!(r.text.as_deref(), Some("rate(a[1m]) + increase(b[5m:1m]) + rate(c[2m])"));
        assert_eq!(r.extended, vec![(1, RangeExt::Smoothed)]);
        assert_eq!(rw("metric smoothed"), "metric{__cairn_smoothed__=\"\"} ");
        assert_eq!(rw("m{a=\"b\"} @ 100 smoothed + 0"), "m{a=\"b\",__cairn_smoothed__=\"\"} @ 100  + 0");
        assert_eq!(rw("m offset -100 smoothed"), "m{__cairn_smoothed__=\"\"} offset -100 ");
        assert_eq!(rw("info(m, {data=~\".*\"})"), "info(m, {data=~\".*\",__cairn_info__=~\".+\"})");
        assert_eq!(rw("info(rate(m[1m+1m]), {})"), "info(rate(m[120000ms]), {__cairn_info__=~\".+\"})");
        assert_eq!(rw("info(m, {data=~\".+\"})"), "info(m, {data=~\".+\"})");
    }
}
