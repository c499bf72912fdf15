//! Parsing of Prometheus HTTP API parameters: times (RFC 3339 or Unix seconds with fraction),
//! durations (Prometheus units or float seconds), and the merged GET-query + POST-form parameter
//! list, and [`ApiParams`], the extractor handlers take them through. Owns no routing and no
//! response formatting.

use super::error::ApiError;

/// Handler argument: the request's [`Params`] (URL query string, plus the body when it is
/// `application/x-www-form-urlencoded`). Reads the body, so it comes last among extractors.
pub struct ApiParams(pub Params);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiParams {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let query = req.uri().query().map(str::to_owned);
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_data(format!("cannot read request body: {}", e.body_text())))?;
        Params::parse(query.as_deref(), if is_form { Some(&body) } else { None }).map(ApiParams)
    }
}

/// All parameters of a request: the URL query string followed by a form-encoded body.
/// Repeated keys (`match[]`) keep every value in order.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>, form_body: Option<&[u8]>) -> Result<Self, ApiError> {
        let mut v: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            v.extend(parse_urlencoded(q.as_bytes()));
        }
        if let Some(b) = form_body {
            v.extend(parse_urlencoded(b));
        }
        Ok(Params(v))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key` (for `match[]`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// A required, non-empty parameter.
    pub fn required(&self, key: &str) -> Result<&str, ApiError> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::bad_data(format!("invalid parameter \"{key}\": parameter is required"))),
        }
    }

    /// A time parameter, with the error text Prometheus's `parseTime` callers give
    /// (`query_range`'s start/end).
    pub fn time(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(s) => parse_time(s)
                .map(Some)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter \"{key}\": {e}"))),
        }
    }

    /// A time parameter with the wording of Prometheus's `parseTimeParam` (used for `time`
    /// and for the metadata endpoints' start/end).
    pub fn time_param(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(s) => parse_time(s).map(Some).map_err(|e| {
                ApiError::bad_data(format!(
                    "invalid parameter \"{key}\": Invalid time value for '{key}': {e}"
                ))
            }),
        }
    }

    pub fn duration(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(s) => parse_duration_param(s)
                .map(Some)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter \"{key}\": {e}"))),
        }
    }
}

/// application/x-www-form-urlencoded decoding (`+` is a space, `%XX` escapes, invalid escapes
/// kept literally as Go's url.ParseQuery would reject — we are lenient and keep them).
pub fn parse_urlencoded(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |&b| b == b'=');
            let k = it.next().unwrap_or_default();
            let v = it.next().unwrap_or_default();
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (s.get(i + 1).and_then(|&c| hex(c)), s.get(i + 2).and_then(|&c| hex(c))) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Default `start`/`end` of metadata queries when absent: Prometheus uses the whole i64
/// millisecond range scaled down so that seconds still fit (roughly ±292 million years).
pub const MIN_TIME_MS: i64 = i64::MIN / 1000;
pub const MAX_TIME_MS: i64 = i64::MAX / 1000;

/// Parses an API time: a Unix timestamp in seconds (float allowed) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (f * 1000.0).round();
        if ms < i64::MIN as f64 || ms > i64::MAX as f64 {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        return Ok(ms as i64);
    }
    parse_rfc3339(s).ok_or_else(|| format!("cannot parse {s:?} to a valid timestamp"))
}

/// Parses a duration parameter: float seconds or a Prometheus duration (`5m`, `1h30m`).
pub fn parse_duration_param(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        let ms = f * 1000.0;
        if !ms.is_finite() || ms >= i64::MAX as f64 || ms <= i64::MIN as f64 {
            return Err(format!("cannot parse {s:?} to a valid duration. It overflows int64"));
        }
        return Ok(ms.round() as i64);
    }
    parse_prom_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// Prometheus duration syntax (`5m`, `1h30m`, `0`) in milliseconds; the one parser is
/// `config::PromDuration`.
pub fn parse_prom_duration(s: &str) -> Option<i64> {
    crate::config::PromDuration::parse(s).ok().and_then(|d| i64::try_from(d.as_millis()).ok())
}

/// Minimal RFC 3339 parser: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        let digits = &s[start..i.min(start + 3)];
        frac_ms = digits.parse::<i64>().ok()? * 10i64.pow(3 - digits.len() as u32);
    }
    let offset_s = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        c @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let o = oh * 3600 + om * 60;
            if *c == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_s;
    Some(secs * 1000 + frac_ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("2015-07-01T20:10:51.781Z"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("2015-07-01T22:10:51+02:00"), Ok(1_435_781_451_000));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("NaN").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_param("15"), Ok(15_000));
        assert_eq!(parse_duration_param("0.5"), Ok(500));
        assert_eq!(parse_duration_param("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_param("5m"), Ok(300_000));
        assert_eq!(parse_duration_param("10ms"), Ok(10));
        assert!(parse_duration_param("30m1h").is_err());
        assert!(parse_duration_param("abc").is_err());
    }

    #[test]
    fn urlencoded_repeats_and_escapes() {
        let p = Params::parse(
            Some("match[]=up&match[]=a%7Bb%3D%22c%22%7D&x=a+b"),
            Some(b"query=rate(x%5B5m%5D)"),
        )
        .unwrap();
        assert_eq!(p.all("match[]"), vec!["up", "a{b=\"c\"}"]);
        assert_eq!(p.get("x"), Some("a b"));
        assert_eq!(p.get("query"), Some("rate(x[5m])"));
        assert!(p.required("missing").is_err());
    }
}
