//! Go-style float formatting for annotation and error texts (`%g`). The numeric kernels
//! themselves live in `kernels`.

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
    fn go_g_formats() {
        assert_eq!(format_go_g(1e21), "1e+21");
        assert_eq!(format_go_g(0.25), "0.25");
        assert_eq!(format_go_g(-1.5e-7), "-1.5e-07");
        assert_eq!(format_go_g(f64::NAN), "NaN");
    }
}
