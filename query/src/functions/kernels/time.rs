//! Calendar functions of PromQL — year, month, day_of_month, day_of_week, day_of_year,
//! days_in_month, hour, minute — in UTC on the proleptic Gregorian calendar, without a date crate.
//!
//! Owns only "seconds since the epoch → calendar field". The engine decides which timestamp is
//! used (the sample value, or the evaluation time when the function has no argument).
//!
//! Contracts (matching Prometheus, which does `time.Unix(int64(v), 0).UTC()`):
//! - The input `secs` is truncated towards zero to whole seconds (so -0.5 → 0 → 1970-01-01), then
//!   broken down with floor semantics (so -1 → 1969-12-31 23:59:59).
//! - Valid for the whole `i64` second range after truncation; finite values outside it saturate.
//! - NaN and ±Inf return NaN. (Prometheus converts those with Go's float→int64 conversion, whose
//!   result is platform-defined garbage; NaN is the honest answer.)
//! - Results are small whole numbers as `f64`: month 1–12, day_of_month 1–31, day_of_week 0–6
//!   with 0 = Sunday, day_of_year 1–366, days_in_month 28–31, hour 0–23, minute 0–59.

const SECS_PER_DAY: i64 = 86_400;

/// A UTC calendar breakdown of one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: u32,
    /// 1–366.
    pub yearday: u32,
}

/// True in the Gregorian calendar's leap years.
pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1–12) of `year`.
pub fn days_in_month_of(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap_year(year) {
                29
            } else {
                28
            }
        }
    }
}

/// (year, month, day) of the day `days` after 1970-01-01 (negative: before).
///
/// Works in 400-year eras (146097 days each), with years that start on March 1st so that the
/// leap day is the last day of the shifted year; then shifts back to January-based months.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01, the start of an era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365], from March 1st
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], 0 = March
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32; // [1, 31]
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32; // [1, 12]
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day of the year (1–366) of a date.
fn yearday_of(year: i64, month: u32, day: u32) -> u32 {
    let mut total = day;
    for m in 1..month {
        total += days_in_month_of(year, m);
    }
    total
}

/// Breaks down whole seconds since the epoch.
pub fn civil_from_unix(secs: i64) -> Civil {
    let days = secs.div_euclid(SECS_PER_DAY);
    let secs_of_day = secs.rem_euclid(SECS_PER_DAY) as u32;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (4).
    let weekday = (days + 4).rem_euclid(7) as u32;
    Civil {
        year,
        month,
        day,
        hour: secs_of_day / 3600,
        minute: secs_of_day % 3600 / 60,
        second: secs_of_day % 60,
        weekday,
        yearday: yearday_of(year, month, day),
    }
}

/// The breakdown for a PromQL float timestamp in seconds; `None` for NaN/±Inf.
pub fn civil_from_float_secs(secs: f64) -> Option<Civil> {
    if !secs.is_finite() {
        return None;
    }
    // `as` truncates towards zero and saturates outside the i64 range.
    Some(civil_from_unix(secs as i64))
}

fn field(secs: f64, f: impl FnOnce(&Civil) -> f64) -> f64 {
    civil_from_float_secs(secs).map_or(f64::NAN, |c| f(&c))
}

/// `year(v)`.
pub fn year(secs: f64) -> f64 {
    field(secs, |c| c.year as f64)
}
/// `month(v)`: 1–12.
pub fn month(secs: f64) -> f64 {
    field(secs, |c| f64::from(c.month))
}
/// `day_of_month(v)`: 1–31.
pub fn day_of_month(secs: f64) -> f64 {
    field(secs, |c| f64::from(c.day))
}
/// `day_of_week(v)`: 0 = Sunday … 6 = Saturday.
pub fn day_of_week(secs: f64) -> f64 {
    field(secs, |c| f64::from(c.weekday))
}
/// `day_of_year(v)`: 1–366.
pub fn day_of_year(secs: f64) -> f64 {
    field(secs, |c| f64::from(c.yearday))
}
/// `days_in_month(v)`: 28–31.
pub fn days_in_month(secs: f64) -> f64 {
    field(secs, |c| f64::from(days_in_month_of(c.year, c.month)))
}
/// `hour(v)`: 0–23.
pub fn hour(secs: f64) -> f64 {
    field(secs, |c| f64::from(c.hour))
}
/// `minute(v)`: 0–59.
pub fn minute(secs: f64) -> f64 {
    field(secs, |c| f64::from(c.minute))
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // expected values are quoted verbatim from Prometheus's tests
mod tests {
    use super::*;

    /// Days from 1970-01-01 to (y, m, d), computed the slow way, to cross-check.
    fn days_from_civil_slow(y: i64, m: u32, d: u32) -> i64 {
        let mut days = 0i64;
        if y >= 1970 {
            for yy in 1970..y {
                days += if is_leap_year(yy) { 366 } else { 365 };
            }
        } else {
            for yy in y..1970 {
                days -= if is_leap_year(yy) { 366 } else { 365 };
            }
        }
        days + i64::from(yearday_of(y, m, d)) - 1
    }

    #[test]
    fn epoch_and_neighbours() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        let c = civil_from_unix(0);
        assert_eq!((c.hour, c.minute, c.second, c.weekday, c.yearday), (0, 0, 0, 4, 1));
        let c = civil_from_unix(-1);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute, c.second), (1969, 12, 31, 23, 59, 59));
        assert_eq!((c.weekday, c.yearday), (3, 365));
    }

    #[test]
    fn roundtrip_against_slow_count() {
        // Every day from 1600-01-01 to 2400-12-31 matches the slow count (covers century rules).
        let mut days = days_from_civil_slow(1600, 1, 1);
        for y in 1600..=2400 {
            for m in 1..=12 {
                for d in 1..=days_in_month_of(y, m) {
                    assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
                    days += 1;
                }
            }
        }
    }

    #[test]
    fn prometheus_functions_test_values() {
        // functions.test: `time()` at 0 → year 1970, month 1, day_of_month 1, day_of_week 4
        // (Thursday), days_in_month 31, day_of_year 1.
        assert_eq!(year(0.0), 1970.0);
        assert_eq!(month(0.0), 1.0);
        assert_eq!(day_of_month(0.0), 1.0);
        assert_eq!(day_of_week(0.0), 4.0);
        assert_eq!(days_in_month(0.0), 31.0);
        assert_eq!(day_of_year(0.0), 1.0);
        // 2006-01-02T22:04:05Z (Go's reference time) = 1136239445.
        let t = 1_136_239_445.0;
        assert_eq!(year(t), 2006.0);
        assert_eq!(month(t), 1.0);
        assert_eq!(day_of_month(t), 2.0);
        assert_eq!(hour(t), 22.0);
        assert_eq!(minute(t), 4.0);
        assert_eq!(day_of_week(t), 1.0);
        assert_eq!(day_of_year(t), 2.0);
        // Leap years: 2016-02 has 29 days, 2100-02 has 28, 2000-02 has 29.
        assert_eq!(days_in_month(1_454_284_800.0), 29.0); // 2016-02-01
        assert_eq!(days_in_month(4_105_123_200.0), 28.0); // 2100-02-01
        assert_eq!(days_in_month(4_107_542_400.0), 31.0); // 2100-03-01
        assert_eq!(days_in_month(949_363_200.0), 29.0); // 2000-02-01
        // 2016-12-31 is day 366.
        assert_eq!(day_of_year(1_483_142_400.0), 366.0);
        // More functions.test cases.
        assert_eq!(year(1_230_767_999.0), 2008.0);
        assert_eq!(year(1_230_768_000.0), 2009.0);
        assert_eq!(month(1_456_790_399.0) + day_of_month(1_456_790_399.0) / 100.0, 2.29);
        assert_eq!(month(1_456_790_400.0) + day_of_month(1_456_790_400.0) / 100.0, 3.01);
        assert_eq!(day_of_year(1_483_191_420.0), 366.0);
        assert_eq!(day_of_year(1_672_493_820.0), 365.0);
        assert_eq!(days_in_month(1_485_907_200.0), 28.0);
    }

    #[test]
    fn truncation_negative_and_far_values() {
        // Truncation towards zero before flooring: -0.5 s is still 1970-01-01 00:00.
        assert_eq!(year(-0.5), 1970.0);
        assert_eq!(hour(-0.5), 0.0);
        assert_eq!(minute(59.9), 0.0);
        // -1.5 s truncates to -1 s.
        assert_eq!(year(-1.5), 1969.0);
        assert_eq!(minute(-1.5), 59.0);
        // 1900-03-01 00:00:00 = -2203891200 (1900 is not a leap year).
        assert_eq!(month(-2_203_891_200.0), 3.0);
        assert_eq!(day_of_month(-2_203_891_200.0 - 1.0), 28.0);
        // Year 10000 and year -1 (1 BC in proleptic numbering).
        assert_eq!(year(253_402_300_800.0), 10000.0);
        assert_eq!(year(-62_167_219_201.0), -1.0);
        // Huge values don't overflow.
        assert!(year(9.0e18).is_finite());
        assert!(year(-9.3e18).is_finite());
        assert!(year(1e300).is_finite());
    }

    #[test]
    fn non_finite_is_nan() {
        for f in [year, month, day_of_month, day_of_week, day_of_year, days_in_month, hour, minute] {
            assert!(f(f64::NAN).is_nan());
            assert!(f(f64::INFINITY).is_nan());
            assert!(f(f64::NEG_INFINITY).is_nan());
        }
    }
}
