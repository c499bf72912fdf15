//! Template functions: Go's builtins (comparison, `and`/`or`/`not` are special-cased in
//! `exec.rs`, `len`, `index`, `print*`, `urlquery`, `html`, `js`, `slice`) and Prometheus's
//! (`query`, `first`, `label`, `value`, `sortByLabel`, `humanize*`, `reReplaceAll`, `match`,
//! `title`, `toUpper`, `toLower`, `graphLink`, `tableLink`, `externalURL`, `pathPrefix`,
//! `parseDuration`, `stripPort`, `stripDomain`, `args`, `safeHtml`, `now`, `toTime`).

use super::gofmt::{format_g, format_v, sprintf};
use super::value::{TmplSample, Value};
use crate::rules::{QueryValue, RuleQuerier};
use std::collections::BTreeMap;

/// Why a function call failed: a message, or an argument of the wrong type (reported at
/// the argument, as Go does).
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    Msg(String),
    BadArg { index: usize, expected: &'static str, got: &'static str },
}

impl From<String> for CallError {
    fn from(s: String) -> Self {
        CallError::Msg(s)
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Msg(m) => f.write_str(m),
            CallError::BadArg { expected, got, .. } => {
                write!(f, "wrong type for value; expected {expected}; got {got}")
            }
        }
    }
}

impl From<&str> for CallError {
    fn from(s: &str) -> Self {
        CallError::Msg(s.to_string())
    }
}

/// What functions may reach: the querier for `query`, the evaluation time, the external URL.
pub struct FuncEnv<'a> {
    pub querier: Option<&'a dyn RuleQuerier>,
    pub ts_ms: i64,
    pub external_url: String,
}

const NAMES: &[&str] = &[
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "urlquery",
    "html",
    "js",
    "slice",
    "call",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "stripPort",
    "stripDomain",
    "now",
];

pub fn is_func(name: &str) -> bool {
    NAMES.contains(&name)
}

fn want(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("wrong number of args for {name}: want {n} got {}", args.len()));
    }
    Ok(())
}

fn missing(i: usize) -> CallError {
    CallError::Msg(format!("wrong number of args: missing argument {}", i + 1))
}

fn as_str(args: &[Value], i: usize) -> Result<String, CallError> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(other) => Err(CallError::BadArg { index: i, expected: "string", got: other.type_name() }),
        None => Err(missing(i)),
    }
}

/// Prometheus's `convertToFloat`: floats, ints and numeric strings.
fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => {
            parse_go_float(s).ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
        }
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().trim_start_matches(['+', '-']) {
        "inf" | "infinity" => Some(if s.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn sample_arg(args: &[Value], i: usize) -> Result<TmplSample, CallError> {
    match args.get(i) {
        Some(Value::Sample(s)) => Ok(s.clone()),
        Some(Value::Nil) => Err("invalid memory address or nil pointer dereference".into()),
        Some(other) => {
            Err(CallError::BadArg { index: i, expected: "*template.sample", got: other.type_name() })
        }
        None => Err(missing(i)),
    }
}

fn list_arg(args: &[Value], i: usize) -> Result<Vec<Value>, CallError> {
    match args.get(i) {
        Some(Value::List(l)) => Ok(l.clone()),
        Some(Value::Nil) => Ok(Vec::new()),
        Some(other) => {
            Err(CallError::BadArg { index: i, expected: "template.queryResult", got: other.type_name() })
        }
        None => Err(missing(i)),
    }
}

#[derive(PartialEq, PartialOrd)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
}

fn kind(v: &Value) -> Result<Kind, String> {
    Ok(match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => return Err("invalid type for comparison".into()),
    })
}

fn basic_eq(a: &Value, b: &Value) -> Result<bool, String> {
    if kind(a)? != kind(b)? {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => false,
    })
}

fn basic_lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a)?, kind(b)?);
    if ka == Kind::Bool || kb == Kind::Bool {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => false,
    })
}

/// Go's `fmt.Sprint`: a space between operands when neither side is a string.
fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&format_v(a));
    }
    out
}

pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn query(env: &FuncEnv, q: &str) -> Result<Value, String> {
    let querier = env.querier.ok_or("no querier available for query()")?;
    let res = querier.query(q, env.ts_ms)?;
    let to_map = |l: &cairn_format::Labels| l.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
    let samples: Vec<Value> = match res {
        QueryValue::Vector(v) => {
            v.iter().map(|(l, f)| Value::Sample(TmplSample { labels: to_map(l), value: *f })).collect()
        }
        QueryValue::Scalar(f) => vec![Value::Sample(TmplSample { labels: BTreeMap::new(), value: f })],
        QueryValue::String(s) => {
            let labels = [("__value__".to_string(), s.clone())].into_iter().collect();
            vec![Value::Sample(TmplSample { labels, value: parse_go_float(&s).unwrap_or(0.0) })]
        }
        QueryValue::Matrix(_) => {
            return Err("query result is a range vector; expected instant vector or scalar".into());
        }
    };
    Ok(Value::List(samples))
}

fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    if v.abs() >= 1.0 {
        let mut prefix = "";
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", format_g(v, Some(4)));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86_400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", format_g(v, Some(4)));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g(v, Some(4)))
}

/// Go's `time.Time.String()` in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn go_time_string(secs: f64) -> String {
    let nanos_total = (secs * 1e9).round() as i128;
    let s = nanos_total.div_euclid(1_000_000_000) as i64;
    let ns = nanos_total.rem_euclid(1_000_000_000) as i64;
    let base = crate::server::rfc3339(s * 1000);
    // base = YYYY-MM-DDTHH:MM:SS.000Z
    let date = &base[..10];
    let time = &base[11..19];
    let mut frac = String::new();
    if ns != 0 {
        frac = format!(".{ns:09}");
        while frac.ends_with('0') {
            frac.pop();
        }
    }
    format!("{date} {time}{frac} +0000 UTC")
}

fn title(s: &str) -> String {
    let mut out = String::new();
    let mut prev_letter = false;
    for c in s.chars() {
        let is_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
        if !prev_letter && !is_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = !is_sep;
    }
    out
}

fn go_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("error parsing regexp: {e}"))
}

/// Calls a template function; string results longer than the output cap are errors (so a
/// template cannot build huge strings by repeated doubling).
pub fn call(env: &FuncEnv, name: &str, args: Vec<Value>) -> Result<Value, CallError> {
    let v = call_inner(env, name, args)?;
    if let Value::Str(s) = &v
        && s.len() > super::exec::OUTPUT_BYTES_MAX
    {
        return Err("result exceeds 1 MiB".into());
    }
    Ok(v)
}

fn call_inner(env: &FuncEnv, name: &str, args: Vec<Value>) -> Result<Value, CallError> {
    let n = args.len();
    Ok(match name {
        "not" => {
            want(name, &args, 1)?;
            Value::Bool(!args[0].truth())
        }
        "eq" => {
            if n < 2 {
                return Err("missing argument for comparison".into());
            }
            let mut r = false;
            for b in &args[1..] {
                if basic_eq(&args[0], b)? {
                    r = true;
                    break;
                }
            }
            Value::Bool(r)
        }
        "ne" => {
            want(name, &args, 2)?;
            Value::Bool(!basic_eq(&args[0], &args[1])?)
        }
        "lt" => {
            want(name, &args, 2)?;
            Value::Bool(basic_lt(&args[0], &args[1])?)
        }
        "le" => {
            want(name, &args, 2)?;
            Value::Bool(basic_lt(&args[0], &args[1])? || basic_eq(&args[0], &args[1])?)
        }
        "gt" => {
            want(name, &args, 2)?;
            Value::Bool(!basic_lt(&args[0], &args[1])? && !basic_eq(&args[0], &args[1])?)
        }
        "ge" => {
            want(name, &args, 2)?;
            Value::Bool(!basic_lt(&args[0], &args[1])?)
        }
        "len" => {
            want(name, &args, 1)?;
            Value::Int(match &args[0] {
                Value::Str(s) => s.len() as i64,
                Value::Map(m) => m.len() as i64,
                Value::List(l) => l.len() as i64,
                other => return Err(CallError::Msg(format!("len of type {}", other.type_name()))),
            })
        }
        "index" => {
            if n == 0 {
                return Err("wrong number of args for index: want at least 1 got 0".into());
            }
            let mut v = args[0].clone();
            for k in &args[1..] {
                v = match (v, k) {
                    (Value::Map(mut m), Value::Str(k)) => m.remove(k).unwrap_or(Value::Str(String::new())),
                    (Value::List(l), Value::Int(i)) => l
                        .get(*i as usize)
                        .cloned()
                        .filter(|_| *i >= 0)
                        .ok_or_else(|| format!("index out of range: {i}"))?,
                    (Value::Str(s), Value::Int(i)) => Value::Int(
                        *s.as_bytes()
                            .get(*i as usize)
                            .filter(|_| *i >= 0)
                            .ok_or_else(|| format!("index out of range: {i}"))?
                            as i64,
                    ),
                    (v, _) => {
                        return Err(CallError::Msg(format!("can't index item of type {}", v.type_name())));
                    }
                };
            }
            v
        }
        "slice" => {
            let s = as_str(&args, 0)?;
            let idx = |i: usize| -> Result<usize, String> {
                match args.get(i) {
                    Some(Value::Int(x)) if *x >= 0 && (*x as usize) <= s.len() => Ok(*x as usize),
                    Some(_) => Err("index out of range".into()),
                    None => Ok(if i == 1 { 0 } else { s.len() }),
                }
            };
            let (a, b) = (idx(1)?, idx(2)?);
            Value::Str(s.get(a..b).ok_or("invalid slice index")?.to_string())
        }
        "print" => Value::Str(sprint(&args)),
        "println" => {
            let parts: Vec<String> = args.iter().map(format_v).collect();
            Value::Str(format!("{}\n", parts.join(" ")))
        }
        "printf" => {
            let f = as_str(&args, 0)?;
            Value::Str(sprintf(&f, &args[1..]))
        }
        "urlquery" => Value::Str(query_escape(&sprint(&args))),
        "html" | "safeHtml" => {
            Value::Str(if name == "html" { html_escape(&sprint(&args)) } else { sprint(&args) })
        }
        "js" => Value::Str(sprint(&args).replace('\\', "\\\\").replace('\'', "\\'").replace('"', "\\\"")),
        "call" => return Err("call is not supported".into()),
        "query" => {
            want(name, &args, 1)?;
            query(env, &as_str(&args, 0)?)?
        }
        "first" => {
            want(name, &args, 1)?;
            list_arg(&args, 0)?.into_iter().next().ok_or("first() called on vector with no elements")?
        }
        "label" => {
            want(name, &args, 2)?;
            let l = as_str(&args, 0)?;
            let s = sample_arg(&args, 1)?;
            Value::Str(s.labels.get(&l).cloned().unwrap_or_default())
        }
        "value" => {
            want(name, &args, 1)?;
            Value::Float(sample_arg(&args, 0)?.value)
        }
        "strvalue" => {
            want(name, &args, 1)?;
            Value::Str(sample_arg(&args, 0)?.labels.get("__value__").cloned().unwrap_or_default())
        }
        "sortByLabel" => {
            want(name, &args, 2)?;
            let l = as_str(&args, 0)?;
            let mut v = list_arg(&args, 1)?;
            let key = |x: &Value| match x {
                Value::Sample(s) => s.labels.get(&l).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            v.sort_by_key(key);
            Value::List(v)
        }
        "args" => Value::Map(args.into_iter().enumerate().map(|(i, v)| (format!("arg{i}"), v)).collect()),
        "reReplaceAll" => {
            want(name, &args, 3)?;
            let re = go_regex(&as_str(&args, 0)?)?;
            let repl = as_str(&args, 1)?;
            let text = as_str(&args, 2)?;
            // Bound the result before building it (an empty pattern matches everywhere).
            let matches = re.find_iter(&text).count();
            if text.len().saturating_add(matches.saturating_mul(repl.len()))
                > super::exec::OUTPUT_BYTES_MAX * 4
            {
                return Err("result exceeds 1 MiB".into());
            }
            Value::Str(re.replace_all(&text, repl.as_str()).into_owned())
        }
        "match" => {
            want(name, &args, 2)?;
            let re = go_regex(&as_str(&args, 0)?)?;
            Value::Bool(re.is_match(&as_str(&args, 1)?))
        }
        "title" => Value::Str(title(&as_str(&args, 0)?)),
        "toUpper" => Value::Str(as_str(&args, 0)?.to_uppercase()),
        "toLower" => Value::Str(as_str(&args, 0)?.to_lowercase()),
        "graphLink" | "tableLink" => {
            want(name, &args, 1)?;
            let tab = if name == "graphLink" { 0 } else { 1 };
            Value::Str(format!("/graph?g0.expr={}&g0.tab={tab}", query_escape(&as_str(&args, 0)?)))
        }
        "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage" | "humanizeTimestamp" => {
            want(name, &args, 1)?;
            let v = to_float(&args[0])?;
            Value::Str(match name {
                "humanize" => humanize(v),
                "humanize1024" => humanize1024(v),
                "humanizeDuration" => humanize_duration(v),
                "humanizePercentage" => format!("{}%", format_g(v * 100.0, Some(4))),
                _ if v.is_nan() || v.is_infinite() => format_g(v, Some(4)),
                _ => go_time_string(v),
            })
        }
        "toTime" => {
            want(name, &args, 1)?;
            let v = to_float(&args[0])?;
            if v.is_nan() || v.is_infinite() {
                return Err(CallError::Msg(format!("cannot convert {} to time.Time", format_g(v, None))));
            }
            Value::Str(go_time_string(v))
        }
        "toDuration" => {
            want(name, &args, 1)?;
            let v = to_float(&args[0])?;
            Value::Str(crate::rules::duration::format((v * 1000.0) as i64))
        }
        "parseDuration" => {
            want(name, &args, 1)?;
            let ms = crate::rules::duration::parse(&as_str(&args, 0)?)?;
            Value::Float(ms as f64 / 1000.0)
        }
        "externalURL" => Value::Str(env.external_url.clone()),
        "pathPrefix" => {
            let u = &env.external_url;
            let after_scheme = u.split_once("://").map(|(_, r)| r).unwrap_or(u);
            Value::Str(after_scheme.find('/').map(|i| after_scheme[i..].to_string()).unwrap_or_default())
        }
        "stripPort" => {
            want(name, &args, 1)?;
            let s = as_str(&args, 0)?;
            Value::Str(split_host_port(&s).map(|(h, _)| h).unwrap_or(s))
        }
        "stripDomain" => {
            want(name, &args, 1)?;
            let s = as_str(&args, 0)?;
            let (host, port) = split_host_port(&s).map(|(h, p)| (h, Some(p))).unwrap_or((s.clone(), None));
            if host.parse::<std::net::IpAddr>().is_ok() {
                Value::Str(s)
            } else {
                let short = host.split('.').next().unwrap_or("").to_string();
                Value::Str(match port {
                    Some(p) => format!("{short}:{p}"),
                    None => short,
                })
            }
        }
        "now" => Value::Float(env.ts_ms as f64 / 1000.0),
        other => return Err(CallError::Msg(format!("function {other:?} not defined"))),
    })
}

fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_string(), p.to_string()));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.contains(':') {
        return None;
    }
    Some((h.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizers_match_prometheus() {
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.001234), "1.234m");
        assert_eq!(humanize(12.0), "12");
        assert_eq!(humanize1024(1048576.0), "1Mi");
        assert_eq!(humanize1024(0.5), "0.5");
        assert_eq!(humanize_duration(0.0), "0s");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(61.5), "1m 1s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.0015), "1.5ms");
        assert_eq!(go_time_string(1.5), "1970-01-01 00:00:01.5 +0000 UTC");
        assert_eq!(go_time_string(1_435_065_584.0), "2015-06-23 13:19:44 +0000 UTC");
        assert_eq!(title("hello world-x"), "Hello World-X");
    }
}
