//! Prometheus durations as rule files and APIs spell them (`30s`, `1h30m`, `0s`): parsing
//! and Prometheus's canonical formatting, both delegating to `config::PromDuration`.

/// Parses a Prometheus duration into milliseconds.
pub fn parse(s: &str) -> Result<i64, String> {
    crate::api::params::parse_prom_duration(s).ok_or_else(|| format!("not a valid duration string: {s:?}"))
}

/// Formats milliseconds the way Prometheus's `model.Duration` does (the one formatter is
/// `config::PromDuration`'s `Display`); a negative duration gets a leading `-`.
pub fn format(ms: i64) -> String {
    let d = crate::config::PromDuration(std::time::Duration::from_millis(ms.unsigned_abs()));
    if ms < 0 { format!("-{d}") } else { d.to_string() }
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
