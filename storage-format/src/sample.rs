//! A sample and the stale-marker NaN. Owns no encoding (see `xor.rs` for chunks).

/// Bits of Prometheus's stale marker: a NaN distinct from the "ordinary" NaN
/// (`0x7ff8000000000001`). Written when a series disappears; PromQL treats it as "no sample".
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True only for the exact stale-marker bit pattern (other NaNs are ordinary values).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: milliseconds since the Unix epoch and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

impl Sample {
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }

    /// Bitwise equality (so NaN == NaN of the same bits), the notion storage uses for
    /// "duplicate sample with the same value".
    pub fn same_bits(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_nan_but_distinct() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }
}
