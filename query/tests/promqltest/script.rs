//! Parser for the PromQL test-script language (`*.test`, see the corpus's FORMAT.md):
//! commands (`load`, `clear`, `eval …`), series descriptions, expectation lines. Produces a
//! plain command list; does not evaluate anything.

use cairn_format::{Labels, stale_nan};

/// One expected or loaded value position.
#[derive(Clone, Debug)]
pub enum Item {
    Float(f64),
    /// A native histogram literal (not evaluated by this runner).
    Hist,
    Omitted,
}

#[derive(Clone, Debug)]
pub struct SeriesLine {
    pub labels: Labels,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub enum ExpectKind {
    Fail,
    Warn,
    Info,
    NoWarn,
    NoInfo,
    Ordered,
}

#[derive(Clone, Debug)]
pub enum ExpectText {
    Any,
    Msg(String),
    Regex(String),
}

#[derive(Clone, Debug)]
pub struct Expect {
    pub kind: ExpectKind,
    pub text: ExpectText,
}

#[derive(Clone, Debug)]
pub enum Query {
    Instant { at: i64 },
    Range { start: i64, end: i64, step: i64 },
}

#[derive(Clone, Debug)]
pub struct Eval {
    pub line: usize,
    pub expr: String,
    pub query: Query,
    pub expects: Vec<Expect>,
    pub series: Vec<SeriesLine>,
    pub scalar: Option<f64>,
    pub string: Option<String>,
    /// `expect range vector from a to b step s`.
    pub range_vector: Option<(i64, i64, i64)>,
}

#[derive(Clone, Debug)]
pub enum Command {
    Clear,
    Load { step: i64, nhcb: bool, series: Vec<SeriesLine> },
    Eval(Box<Eval>),
}

/// Parses a duration like `1m30s`, `0`, `20s500ms`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if s == "0" {
        return Ok(0);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    if b.is_empty() {
        return Err("empty duration".into());
    }
    while i < b.len() {
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if st == i {
            return Err(format!("bad duration {s:?}"));
        }
        let n: i64 = s[st..i].parse().map_err(|_| format!("bad duration {s:?}"))?;
        let us = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let mult = match &s[us..i] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            u => return Err(format!("bad duration unit {u:?} in {s:?}")),
        };
        total += n * mult;
    }
    Ok(total)
}

/// Parses a float as the series-description lexer does (sign, Inf/NaN, `_` separators).
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.replace('_', "");
    let (sign, body) = match t.strip_prefix('-') {
        Some(r) => (-1.0, r.to_string()),
        None => (1.0, t.strip_prefix('+').unwrap_or(&t).to_string()),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    if body.is_empty()
        || !body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

/// Number on an expectation line (Go ParseInt base 0, then ParseFloat).
fn parse_scalar_line(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok().map(|v| if neg { -(v as f64) } else { v as f64 });
    }
    let lower = body.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            if body.is_empty()
                || !body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
            {
                return None;
            }
            body.replace('_', "").parse::<f64>().ok()?
        }
    };
    Some(if neg { -v } else { v })
}

/// Splits `<labels> <values>` at the end of the label set.
fn split_series(line: &str) -> Result<(&str, &str), String> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] != b'{' && !b[i].is_ascii_whitespace() {
        i += 1;
    }
    if i < b.len() && b[i] == b'{' {
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            match quote {
                Some(q) => {
                    if c == b'\\' && q != b'`' {
                        i += 1;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => {
                    if c == b'"' || c == b'\'' || c == b'`' {
                        quote = Some(c);
                    } else if c == b'}' {
                        i += 1;
                        break;
                    }
                }
            }
            i += 1;
        }
    }
    Ok((&line[..i], line[i..].trim()))
}

/// Parses a label set written as a PromQL selector (equality matchers only).
pub fn parse_labels(s: &str) -> Result<Labels, String> {
    if s == "{}" {
        return Ok(Labels::empty());
    }
    let e = promql_parser::parser::parse(s).map_err(|e| format!("bad label set {s:?}: {e}"))?;
    let promql_parser::parser::Expr::VectorSelector(vs) = e else {
        return Err(format!("bad label set {s:?}"));
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(n) = vs.name {
        pairs.push((cairn_format::METRIC_NAME.into(), n));
    }
    // An empty value is no label at all, as in Prometheus's storage (which drops them).
    for m in vs.matchers.matchers.into_iter().filter(|m| !m.value.is_empty()) {
        pairs.push((m.name, m.value));
    }
    Ok(Labels::from_pairs(pairs))
}

/// Tokenizes a value sequence, keeping `{{ … }}` (with any suffix) as one token.
fn value_tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c == '{' && cs.get(i + 1) == Some(&'{') {
            depth += 1;
            cur.push_str("{{");
            i += 2;
            continue;
        }
        if c == '}' && cs.get(i + 1) == Some(&'}') {
            depth -= 1;
            cur.push_str("}}");
            i += 2;
            continue;
        }
        if c.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Expands value tokens into positions (§5.2 of FORMAT.md).
pub fn parse_values(s: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for tok in value_tokens(s) {
        if tok.starts_with("{{") {
            // Histogram literal, maybe `{{…}}xN` or `{{…}}+{{…}}xN`.
            let n = match tok.rfind("}}") {
                Some(p) => {
                    let rest = &tok[p + 2..];
                    match rest.strip_prefix('x') {
                        Some(n) => n.parse::<usize>().map_err(|_| format!("bad count in {tok:?}"))? + 1,
                        None => 1,
                    }
                }
                None => 1,
            };
            items.extend(std::iter::repeat_n(Item::Hist, n));
            continue;
        }
        if tok == "_" {
            items.push(Item::Omitted);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad token {tok:?}"))?;
            items.extend(std::iter::repeat_n(Item::Omitted, n));
            continue;
        }
        if tok == "stale" {
            items.push(Item::Float(stale_nan()));
            continue;
        }
        if let Some(v) = parse_number(&tok) {
            items.push(Item::Float(v));
            continue;
        }
        // V x N or V±D x N
        let xp = tok.rfind('x').ok_or_else(|| format!("bad value {tok:?}"))?;
        let n: usize = tok[xp + 1..].parse().map_err(|_| format!("bad count in {tok:?}"))?;
        let head = &tok[..xp];
        if let Some(v) = parse_number(head) {
            items.extend(std::iter::repeat_n(Item::Float(v), n + 1));
            continue;
        }
        let hb = head.as_bytes();
        let mut split = None;
        for i in 1..hb.len() {
            if (hb[i] == b'+' || hb[i] == b'-') && !matches!(hb[i - 1], b'e' | b'E') {
                split = Some(i);
            }
        }
        let sp = split.ok_or_else(|| format!("bad value {tok:?}"))?;
        let v = parse_number(&head[..sp]).ok_or_else(|| format!("bad value {tok:?}"))?;
        let d = parse_number(&head[sp + 1..]).ok_or_else(|| format!("bad delta {tok:?}"))?;
        let d = if hb[sp] == b'-' { -d } else { d };
        let mut cur = v;
        items.push(Item::Float(cur));
        for _ in 0..n {
            cur += d;
            items.push(Item::Float(cur));
        }
    }
    Ok(items)
}

fn parse_series_line(line: &str) -> Result<SeriesLine, String> {
    let (l, v) = split_series(line)?;
    Ok(SeriesLine { labels: parse_labels(l)?, items: parse_values(v)? })
}

fn parse_expect(rest: &str) -> Result<Expect, String> {
    let rest = rest.trim();
    let (kind_s, tail) = match rest.find(char::is_whitespace) {
        Some(p) => (&rest[..p], rest[p..].trim()),
        None => (rest, ""),
    };
    let kind = match kind_s {
        "fail" => ExpectKind::Fail,
        "warn" => ExpectKind::Warn,
        "info" => ExpectKind::Info,
        "no_warn" => ExpectKind::NoWarn,
        "no_info" => ExpectKind::NoInfo,
        "ordered" => ExpectKind::Ordered,
        k => return Err(format!("unknown expect kind {k:?}")),
    };
    let text = if let Some(m) = tail.strip_prefix("msg:") {
        ExpectText::Msg(m.trim().to_string())
    } else if let Some(r) = tail.strip_prefix("regex:") {
        ExpectText::Regex(r.trim().to_string())
    } else {
        ExpectText::Any
    };
    Ok(Expect { kind, text })
}

fn unquote_go(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('`').and_then(|x| x.strip_suffix('`')) {
        return Ok(inner.to_string());
    }
    promql_parser::util::unquote_string(s).map_err(|e| format!("bad string {s:?}: {e}"))
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') { String::new() } else { t.to_string() }
        })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.is_empty() {
            i += 1;
            continue;
        }
        let lineno = i + 1;
        let first = line.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        let mut body = Vec::new();
        let mut j = i + 1;
        while j < lines.len() && !lines[j].is_empty() {
            body.push(lines[j].clone());
            j += 1;
        }
        if first == "clear" {
            cmds.push(Command::Clear);
            i += 1;
            continue;
        }
        if first.starts_with("load") {
            let mut parts = line.split_whitespace();
            let kw = parts.next().unwrap_or("");
            let step = parse_duration(parts.next().ok_or("load without step")?)?;
            let nhcb = kw == "load_with_nhcb";
            let mut series = Vec::new();
            for b in &body {
                let tok = b.split_whitespace().next().unwrap_or("");
                if tok.ends_with("@st") {
                    continue;
                }
                series.push(parse_series_line(b).map_err(|e| format!("line {}: {e}", lineno))?);
            }
            cmds.push(Command::Load { step, nhcb, series });
            i = j;
            continue;
        }
        if first.starts_with("eval") {
            let (kw, rest) = line.split_once(char::is_whitespace).ok_or("bad eval")?;
            let rest = rest.trim();
            let mut expects = Vec::new();
            match kw {
                "eval_fail" => expects.push(Expect { kind: ExpectKind::Fail, text: ExpectText::Any }),
                "eval_warn" => expects.push(Expect { kind: ExpectKind::Warn, text: ExpectText::Any }),
                "eval_info" => expects.push(Expect { kind: ExpectKind::Info, text: ExpectText::Any }),
                "eval_ordered" => expects.push(Expect { kind: ExpectKind::Ordered, text: ExpectText::Any }),
                "eval" => {}
                k => return Err(format!("line {lineno}: unknown command {k:?}")),
            }
            let (query, expr) = if let Some(r) = rest.strip_prefix("instant") {
                let r = r.trim().strip_prefix("at").ok_or(format!("line {lineno}: missing 'at'"))?.trim();
                let (t, e) = r.split_once(char::is_whitespace).ok_or("bad instant eval")?;
                (Query::Instant { at: parse_duration(t)? }, e.trim().to_string())
            } else if let Some(r) = rest.strip_prefix("range") {
                let toks: Vec<&str> = r.split_whitespace().collect();
                if toks.len() < 7 || toks[0] != "from" || toks[2] != "to" || toks[4] != "step" {
                    return Err(format!("line {lineno}: bad range eval"));
                }
                let start = parse_duration(toks[1])?;
                let end = parse_duration(toks[3])?;
                let step = parse_duration(toks[5])?;
                // Expression: the text after the step token.
                let pos = r.find(&format!(" step {}", toks[5])).map(|p| p + 6 + toks[5].len()).unwrap_or(0);
                (Query::Range { start, end, step }, r[pos..].trim().to_string())
            } else {
                return Err(format!("line {lineno}: bad eval"));
            };
            let mut ev = Eval {
                line: lineno,
                expr,
                query,
                expects,
                series: Vec::new(),
                scalar: None,
                string: None,
                range_vector: None,
            };
            let mut consumed = 0;
            for b in &body {
                consumed += 1;
                if b.starts_with("expected_fail_message") || b.starts_with("expected_fail_regexp") {
                    let (k, t) = b.split_once(char::is_whitespace).unwrap_or((b, ""));
                    let text = if k == "expected_fail_message" {
                        ExpectText::Msg(t.trim().into())
                    } else {
                        ExpectText::Regex(t.trim().into())
                    };
                    ev.expects.retain(|e| !matches!(e.kind, ExpectKind::Fail));
                    ev.expects.push(Expect { kind: ExpectKind::Fail, text });
                    break;
                }
                if let Some(r) = b.strip_prefix("expect range vector") {
                    let toks: Vec<&str> = r.split_whitespace().collect();
                    if toks.len() != 6 {
                        return Err(format!("line {lineno}: bad expect range vector"));
                    }
                    ev.range_vector =
                        Some((parse_duration(toks[1])?, parse_duration(toks[3])?, parse_duration(toks[5])?));
                    continue;
                }
                if let Some(r) = b.strip_prefix("expect string") {
                    ev.string = Some(unquote_go(r)?);
                    continue;
                }
                if let Some(r) = b.strip_prefix("expect ") {
                    ev.expects.push(parse_expect(r).map_err(|e| format!("line {lineno}: {e}"))?);
                    continue;
                }
                if let Some(v) = parse_scalar_line(b) {
                    ev.scalar = Some(v);
                    break;
                }
                let sl = parse_series_line(b).map_err(|e| format!("line {}: {e}", lineno + consumed))?;
                ev.series.retain(|s| s.labels != sl.labels);
                ev.series.push(sl);
            }
            // Lines after a scalar/fail-message end are new top-level commands.
            cmds.push(Command::Eval(Box::new(ev)));
            i += 1 + consumed;
            continue;
        }
        return Err(format!("line {lineno}: invalid command {line:?}"));
    }
    Ok(cmds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expand() {
        let v = parse_values("0+1x3 _x2 10 stale 1x2 {{schema:0 sum:1}}x1").unwrap();
        assert_eq!(v.len(), 4 + 2 + 1 + 1 + 3 + 2);
        assert!(matches!(v[3], Item::Float(x) if x == 3.0));
        assert!(matches!(v[4], Item::Omitted));
        let v = parse_values("-1+1x3").unwrap();
        assert!(matches!(v[0], Item::Float(x) if x == -1.0));
        assert!(matches!(v[3], Item::Float(x) if x == 2.0));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s").unwrap(), 90_000);
        assert_eq!(parse_duration("20s500ms").unwrap(), 20_500);
    }
}
