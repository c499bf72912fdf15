//! Prometheus durations (`model.Duration`): `1h30m`, `5m`, `10s`, `100ms`, `2w`, `1y`, `0`.
//! Units y (365d), w, d, h, m, s, ms, each at most once and in that order. Parsing, formatting
//! and serde. Does not know which settings are durations.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration written the Prometheus way; millisecond resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(pub Duration);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl PromDuration {
    pub const fn from_secs(s: u64) -> Self {
        PromDuration(Duration::from_secs(s))
    }

    pub fn as_millis(&self) -> u64 {
        self.0.as_millis().min(u128::from(u64::MAX)) as u64
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Parses a Prometheus duration string.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("empty duration string".into());
        }
        if s == "0" {
            return Ok(PromDuration(Duration::ZERO));
        }
        let bad = || format!("not a valid duration string: {s:?}");
        let b = s.as_bytes();
        let mut i = 0;
        let mut next_unit = 0; // index into UNITS that the next unit must be at or after
        let mut total: u64 = 0;
        while i < b.len() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
            let n: u64 = s[start..i].parse().map_err(|_| bad())?;
            let ustart = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &s[ustart..i];
            let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
            if idx < next_unit {
                return Err(bad());
            }
            next_unit = idx + 1;
            let ms = n.checked_mul(UNITS[idx].1).ok_or("duration out of range")?;
            total = total.checked_add(ms).ok_or("duration out of range")?;
        }
        if total > i64::MAX as u64 {
            return Err("duration out of range".into());
        }
        Ok(PromDuration(Duration::from_millis(total)))
    }
}

impl fmt::Display for PromDuration {
    /// Prometheus's spelling: largest units first, `0s` for zero; years and weeks only when
    /// they divide the whole duration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (i, (unit, size)) in UNITS.into_iter().enumerate() {
            // Years and weeks only when exact, as Prometheus does ("90d", not "12w6d").
            if i < 2 && !ms.is_multiple_of(size) {
                continue;
            }
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    /// A key written without a value (null) is zero, as go-yaml reads it; the defaulting that
    /// follows then applies (e.g. `scrape_interval:` alone means the global interval).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(PromDuration::default()),
            Some(s) => PromDuration::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_forms() {
        let ms = |s: &str| PromDuration::parse(s).map(|d| d.as_millis());
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("15s"), Ok(15_000));
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms("100ms"), Ok(100));
        assert_eq!(ms("1m500ms"), Ok(60_500));
        assert_eq!(ms("2w"), Ok(14 * 86_400_000));
        assert_eq!(ms("1y"), Ok(365 * 86_400_000));
        assert_eq!(ms("1d1h"), Ok(90_000_000));
        for bad in ["", "5", "1x", "h", "1m1h", "1s1s", "-1s", "1.5h", " 1s", "1S"] {
            assert!(ms(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ms("999999999999y"), Err("duration out of range".into()));
    }

    #[test]
    fn formats_like_prometheus() {
        for s in ["1h30m", "15s", "1m", "100ms", "2w", "1y", "1d1h"] {
            assert_eq!(PromDuration::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(PromDuration::parse("0").unwrap().to_string(), "0s");
        assert_eq!(PromDuration::parse("90m").unwrap().to_string(), "1h30m");
        assert_eq!(PromDuration::parse("15d").unwrap().to_string(), "15d");
        assert_eq!(PromDuration::parse("14d").unwrap().to_string(), "2w");
    }
}
