//! Element-wise math of instant-vector functions: abs, ceil, floor, exp, ln, log2, log10, sqrt,
//! sgn, round, clamp/clamp_min/clamp_max, trigonometric and hyperbolic functions, deg, rad, pi,
//! and the scalar `max_of`/`min_of`.
//!
//! Owns only the value → value mapping. The engine applies it to float samples (histogram samples
//! are skipped by Prometheus for all of these) and drops the metric name.
//!
//! Contracts:
//! - Every `fn(f64) -> f64` here is total: NaN and ±Inf go in, IEEE results come out (ln(-1) = NaN,
//!   ln(0) = -Inf, sqrt(-1) = NaN, ...), as Go's `math` package gives them.
//! - [`sgn`] keeps NaN and ±0 as they are.
//! - [`round`] is `floor(v * (1/to_nearest) + 0.5) / (1/to_nearest)`: ties round up (towards
//!   +Inf), and the inverse is taken first like Prometheus does (it is more accurate for
//!   `to_nearest` values such as 0.1).
//! - [`clamp`] returns `None` when `max < min` (Prometheus then returns an empty vector);
//!   otherwise `go_max(min, go_min(max, v))`, so a NaN in `v`, `min` or `max` yields NaN.
//!   `clamp_min(v, m)` = `clamp(v, m, +Inf)`, `clamp_max(v, m)` = `clamp(v, -Inf, m)`.
//!
//! Results may differ from Prometheus in the last ULP for transcendental functions (Go and Rust's
//! libm are different implementations); Prometheus's own tests compare with a tolerance.

/// Go's `math.Max`: NaN if either argument is NaN; +0 wins over -0.
pub fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b { a } else { b }
}

/// Go's `math.Min`: NaN if either argument is NaN; -0 wins over +0.
pub fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b { a } else { b }
}

pub fn abs(v: f64) -> f64 {
    v.abs()
}
pub fn ceil(v: f64) -> f64 {
    v.ceil()
}
pub fn floor(v: f64) -> f64 {
    v.floor()
}
pub fn exp(v: f64) -> f64 {
    v.exp()
}
pub fn ln(v: f64) -> f64 {
    v.ln()
}
pub fn log2(v: f64) -> f64 {
    v.log2()
}
pub fn log10(v: f64) -> f64 {
    v.log10()
}
pub fn sqrt(v: f64) -> f64 {
    v.sqrt()
}
pub fn sin(v: f64) -> f64 {
    v.sin()
}
pub fn cos(v: f64) -> f64 {
    v.cos()
}
pub fn tan(v: f64) -> f64 {
    v.tan()
}
pub fn asin(v: f64) -> f64 {
    v.asin()
}
pub fn acos(v: f64) -> f64 {
    v.acos()
}
pub fn atan(v: f64) -> f64 {
    v.atan()
}
pub fn sinh(v: f64) -> f64 {
    v.sinh()
}
pub fn cosh(v: f64) -> f64 {
    v.cosh()
}
pub fn tanh(v: f64) -> f64 {
    v.tanh()
}
pub fn asinh(v: f64) -> f64 {
    v.asinh()
}
pub fn acosh(v: f64) -> f64 {
    v.acosh()
}
pub fn atanh(v: f64) -> f64 {
    v.atanh()
}

/// Degrees to radians, computed as `v * π / 180` (in that order, like Prometheus).
pub fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}

/// Radians to degrees, computed as `v * 180 / π` (in that order, like Prometheus).
pub fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

/// `max_of(a, b)` on scalars: Go's `math.Max` (NaN wins, +0 over -0).
pub fn max_of(a: f64, b: f64) -> f64 {
    go_max(a, b)
}

/// `min_of(a, b)` on scalars: Go's `math.Min` (NaN wins, -0 over +0).
pub fn min_of(a: f64, b: f64) -> f64 {
    go_min(a, b)
}

/// The value of `pi()`.
pub fn pi() -> f64 {
    std::f64::consts::PI
}

/// -1 for negative, 1 for positive, the input itself for ±0 and NaN.
pub fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// `round(v, to_nearest)`; `to_nearest` defaults to 1 in PromQL.
pub fn round(v: f64, to_nearest: f64) -> f64 {
    let inverse = 1.0 / to_nearest;
    (v * inverse + 0.5).floor() / inverse
}

/// `clamp(v, min, max)`; `None` when `max < min` (no output element at all).
pub fn clamp(v: f64, min: f64, max: f64) -> Option<f64> {
    if max < min {
        return None;
    }
    Some(go_max(min, go_min(max, v)))
}

/// `clamp_min(v, min)`.
pub fn clamp_min(v: f64, min: f64) -> f64 {
    go_max(min, go_min(f64::INFINITY, v))
}

/// `clamp_max(v, max)`.
pub fn clamp_max(v: f64, max: f64) -> f64 {
    go_max(f64::NEG_INFINITY, go_min(max, v))
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // expected values are quoted verbatim from Prometheus's tests
mod tests {
    use super::*;
    use crate::functions::kernels::test_util::assert_close;

    #[test]
    fn go_min_max_nan_and_signed_zero() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_max(0.0, -0.0).is_sign_positive());
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert!(go_min(-0.0, 0.0).is_sign_negative());
        assert_eq!(go_max(-3.0, 2.0), 2.0);
        assert_eq!(go_min(-3.0, 2.0), -3.0);
        assert_eq!(max_of(1.0, 2.0), 2.0);
        assert_eq!(min_of(1.0, 2.0), 1.0);
        assert!(max_of(f64::NAN, 2.0).is_nan());
        assert_eq!(max_of(f64::NEG_INFINITY, f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn sgn_keeps_nan_and_zero() {
        assert_eq!(sgn(-5.5), -1.0);
        assert_eq!(sgn(f64::INFINITY), 1.0);
        assert_eq!(sgn(f64::NEG_INFINITY), -1.0);
        assert!(sgn(f64::NAN).is_nan());
        assert!(sgn(-0.0).is_sign_negative() && sgn(-0.0) == 0.0);
        assert!(sgn(0.0).is_sign_positive() && sgn(0.0) == 0.0);
    }

    #[test]
    fn round_ties_up_and_to_nearest() {
        // functions.test: round(data) for 2.5, 2, -2.5, -2, 0, -0, ±Inf, NaN.
        assert_eq!(round(2.5, 1.0), 3.0);
        assert_eq!(round(2.0, 1.0), 2.0);
        assert_eq!(round(-2.5, 1.0), -2.0);
        assert_eq!(round(-2.0, 1.0), -2.0);
        assert_eq!(round(0.0, 1.0), 0.0);
        assert_eq!(round(-0.0, 1.0), 0.0);
        assert_eq!(round(f64::NEG_INFINITY, 1.0), f64::NEG_INFINITY);
        assert_eq!(round(0.5, 1.0), 1.0);
        assert_eq!(round(-0.5, 1.0), 0.0);
        assert_eq!(round(1.5, 1.0), 2.0);
        assert_eq!(round(-1.5, 1.0), -1.0);
        assert_eq!(round(5.0, 10.0), 10.0);
        assert_eq!(round(-5.0, 10.0), 0.0);
        assert_eq!(round(4.0, 10.0), 0.0);
        assert_close(round(123.456, 0.1), 123.5);
        assert_close(round(123.456, 0.01), 123.46);
        assert!(round(f64::NAN, 1.0).is_nan());
        assert_eq!(round(f64::INFINITY, 1.0), f64::INFINITY);
        // to_nearest 0 → inverse +Inf → Inf/Inf = NaN (Prometheus behaves the same).
        assert!(round(1.0, 0.0).is_nan());
    }

    #[test]
    fn clamp_rules() {
        assert_eq!(clamp(-50.0, -25.0, 75.0), Some(-25.0));
        assert_eq!(clamp(0.0, -25.0, 75.0), Some(0.0));
        assert_eq!(clamp(100.0, -25.0, 75.0), Some(75.0));
        // min == max clamps everything to that value.
        assert_eq!(clamp(-50.0, 0.0, 0.0), Some(0.0));
        // min > max: no output at all.
        assert_eq!(clamp(1.0, 5.0, -5.0), None);
        // NaN input or NaN bounds give NaN.
        assert!(clamp(f64::NAN, 0.0, 1.0).is_some_and(f64::is_nan));
        assert!(clamp(1.0, f64::NAN, 1.0).is_some_and(f64::is_nan));
        assert!(clamp(1.0, 0.0, f64::NAN).is_some_and(f64::is_nan));
        assert_eq!(clamp_min(-50.0, -25.0), -25.0);
        assert_eq!(clamp_min(100.0, -25.0), 100.0);
        assert_eq!(clamp_max(100.0, 75.0), 75.0);
        assert_eq!(clamp_max(-50.0, 75.0), -50.0);
        assert!(clamp_max(f64::NAN, 75.0).is_nan());
        assert!(clamp_min(1.0, f64::NAN).is_nan());
    }

    #[test]
    fn trig_values_from_prometheus_tests() {
        // trig_functions.test: trig{l="x"} 10, trig{l="y"} 20.
        assert_close(sin(10.0), -0.5440211108893699);
        assert_close(sin(20.0), 0.9129452507276277);
        assert_close(cos(10.0), -0.8390715290764524);
        assert_close(cos(20.0), 0.40808206181339196);
        assert_close(tan(10.0), 0.6483608274590867);
        assert_close(tan(20.0), 2.2371609442247427);
        assert_close(asin(10.0 - 10.1), -0.10016742116155944);
        assert!(asin(20.0 - 10.1).is_nan());
        assert_close(acos(10.0 - 10.1), 1.670963747956456);
        assert_close(atan(10.0), 1.4711276743037345);
        assert_close(atan(20.0), 1.5208379310729538);
        assert_close(sinh(20.0), 2.4258259770489514e+08);
        assert_close(cosh(10.0), 11013.232920103324);
        assert_close(tanh(10.0), 0.9999999958776927);
        assert_close(tanh(20.0), 1.0);
        assert_close(asinh(20.0), 3.6895038689889055);
        assert_close(acosh(10.0), 2.993222846126381);
        assert_close(atanh(10.0 - 10.1), -0.10033534773107522);
        assert!(atanh(20.0 - 10.1).is_nan());
        assert_close(rad(10.0), 0.17453292519943295);
        assert_close(rad(20.0), 0.3490658503988659);
        assert_eq!(rad(0.0), 0.0);
        assert_close(deg(10.0), 572.9577951308232);
        assert_close(deg(-10.0), -572.9577951308232);
        assert_eq!(atanh(1.0), f64::INFINITY);
        assert!(sin(f64::NAN).is_nan());
        assert!(deg(f64::NAN).is_nan());
        assert_eq!(pi().to_bits(), 0x4009_21FB_5444_2D18);
    }

    #[test]
    fn exp_log_sqrt_edges() {
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        assert_eq!(log2(8.0), 3.0);
        assert_eq!(log10(1000.0), 3.0);
        assert!(sqrt(-1.0).is_nan());
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(abs(-0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(ceil(-0.5), -0.0);
        assert_eq!(floor(-0.5), -1.0);
    }
}
