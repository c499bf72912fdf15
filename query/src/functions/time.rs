//! Calendar functions (`hour`, `day_of_week`, `days_in_month`, …) on Unix seconds, in UTC.
//! Pure arithmetic (proleptic Gregorian calendar), no time-zone database.

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

/// Applies calendar function `name` to Unix time `v` (seconds, truncated like Go's int64()).
pub(crate) fn date_fn(name: &str, v: f64) -> f64 {
    if v.is_nan() || v.is_infinite() {
        return f64::NAN;
    }
    let secs = v as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    match name {
        "year" => y as f64,
        "month" => m as f64,
        "day_of_month" => d as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_year" => {
            let mut doy = d;
            for mm in 1..m {
                doy += days_in(y, mm);
            }
            doy as f64
        }
        "days_in_month" => days_in(y, m) as f64,
        "hour" => (sod / 3600) as f64,
        "minute" => (sod % 3600 / 60) as f64,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2024-02-29T13:45:00Z = 1709214300
        let t = 1_709_214_300.0;
        assert_eq!(date_fn("year", t), 2024.0);
        assert_eq!(date_fn("month", t), 2.0);
        assert_eq!(date_fn("day_of_month", t), 29.0);
        assert_eq!(date_fn("days_in_month", t), 29.0);
        assert_eq!(date_fn("hour", t), 13.0);
        assert_eq!(date_fn("minute", t), 45.0);
        assert_eq!(date_fn("day_of_week", t), 4.0);
        assert_eq!(date_fn("day_of_year", t), 60.0);
        assert_eq!(date_fn("day_of_week", 0.0), 4.0);
    }
}
