//! Prometheus durations as rule files and APIs spell them (`30s`, `1h30m`, `0s`): parsing
//! (delegates to the API's parser so both agree) and Prometheus's canonical formatting.

/// Parses a Prometheus duration into milliseconds.
pub fn parse(s: &str) -> Result<i64, String> {
    crate::api::params::parse_prom_duration(s).ok_or_else(|| format!("not a valid duration string: {s:?}"))
}

/// Formats milliseconds the way Prometheus's `model.Duration` does: largest units first,
/// years and weeks only when they divide exactly, `0s` for zero.
pub fn format(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    let units: [(&str, i64, bool); 7] = [
        ("y", 365 * 86_400_000, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in units {
        if exact && rest % mult != 0 {
            continue;
        }
        let v = rest / mult;
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
            rest -= v * mult;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_prometheus() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(90_000), "1m30s");
        assert_eq!(format(90 * 86_400_000), "90d");
        assert_eq!(format(14 * 86_400_000), "2w");
        assert_eq!(format(1500), "1s500ms");
        assert_eq!(parse("1h30m").unwrap(), 5_400_000);
        assert!(parse("1.5h").is_err());
        assert!(parse("").is_err());
    }
}
