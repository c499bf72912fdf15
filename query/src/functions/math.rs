//! Numeric helpers shared by aggregations and functions: Kahan/Neumaier summation, the
//! quantile interpolation of Prometheus, Go's shortest float formatting. Pure functions only.

/// One step of Neumaier-compensated summation: returns the new sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Prometheus's quantile over sorted values (linear interpolation between closest ranks).
pub(crate) fn quantile_sorted(q: f64, sorted: &[f64]) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let n = sorted.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    sorted[lower as usize] * (1.0 - w) + sorted[upper as usize] * w
}

/// Formats like Go's `strconv.FormatFloat(v, 'f', -1, 64)` (used by `count_values`).
pub(crate) fn format_go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Formats like Go's `%g` for annotation texts (shortest repr, exponent for large/small).
pub(crate) fn format_go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let exp = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
    if (-4..21).contains(&exp) {
        format!("{v}")
    } else {
        let s = format!("{v:e}");
        // Rust: 1e21 / 1.5e-5; Go: 1e+21 / 1.5e-05
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = if let Some(d) = e.strip_prefix('-') { ("-", d) } else { ("+", e) };
                let digits = if digits.len() < 2 { format!("0{digits}") } else { digits.to_string() };
                format!("{m}e{sign}{digits}")
            }
            None => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(0.5, &v), 2.5);
        assert_eq!(quantile_sorted(0.0, &v), 1.0);
        assert_eq!(quantile_sorted(1.0, &v), 4.0);
        assert_eq!(quantile_sorted(-1.0, &v), f64::NEG_INFINITY);
    }

    #[test]
    fn kahan_recovers_small_terms() {
        let (mut s, mut c) = (0.0, 0.0);
        for v in [1e100, 1.0, -1e100] {
            (s, c) = kahan_inc(v, s, c);
        }
        assert_eq!(s + c, 1.0);
    }

    #[test]
    fn go_float_formats() {
        assert_eq!(format_go_float(1.5), "1.5");
        assert_eq!(format_go_float(f64::INFINITY), "+Inf");
        assert_eq!(format_go_g(1e21), "1e+21");
        assert_eq!(format_go_g(0.25), "0.25");
    }
}
