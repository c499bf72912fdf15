//! Go-compatible varints (`encoding/binary` PutUvarint/PutVarint/ReadUvarint/ReadVarint):
//! little-endian base-128 groups with a continuation bit, signed values zigzag-mapped.
//! Owns only the byte form of one integer; framing and length caps belong to the callers.

use thiserror::Error;

/// Longest uvarint of a u64, in bytes.
pub const UVARINT_LEN_MAX: usize = 10;

/// Why a varint could not be read. `offset` is relative to the slice given to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum VarintError {
    #[error("varint at byte offset {offset}: input ends before its last byte")]
    Truncated { offset: usize },
    #[error("varint at byte offset {offset}: value overflows 64 bits")]
    Overflow { offset: usize },
}

/// Zigzag map a signed value the way Go's `PutVarint` does (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...).
#[inline]
pub fn zigzag(x: i64) -> u64 {
    ((x as u64) << 1) ^ ((x >> 63) as u64)
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Writes `x` as a uvarint into `out`, returning the number of bytes used (1..=10).
#[inline]
pub fn encode_uvarint(mut x: u64, out: &mut [u8; UVARINT_LEN_MAX]) -> usize {
    let mut i = 0;
    while x >= 0x80 {
        out[i] = (x as u8) | 0x80;
        x >>= 7;
        i += 1;
    }
    out[i] = x as u8;
    i + 1
}

/// Appends `x` as a uvarint to `buf`.
pub fn put_uvarint(buf: &mut Vec<u8>, x: u64) {
    let mut tmp = [0u8; UVARINT_LEN_MAX];
    let n = encode_uvarint(x, &mut tmp);
    buf.extend_from_slice(&tmp[..n]);
}

/// Appends `x` as a zigzag varint to `buf`.
pub fn put_varint(buf: &mut Vec<u8>, x: i64) {
    put_uvarint(buf, zigzag(x));
}

/// Number of bytes `x` takes as a uvarint.
pub fn uvarint_len(x: u64) -> usize {
    let bits = 64 - (x | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Feeds bytes one at a time, as Go's `ReadUvarint` over an `io.ByteReader`; rejects values
/// past 64 bits exactly where Go does (a 10th byte above 1, or an 11th byte).
#[derive(Debug, Default, Clone, Copy)]
pub struct UvarintAccum {
    value: u64,
    shift: u32,
    count: usize,
}

/// Result of feeding one byte to a [`UvarintAccum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    More,
    Done(u64),
    Overflow,
}

impl UvarintAccum {
    #[inline]
    pub fn push(&mut self, b: u8) -> Step {
        if self.count == UVARINT_LEN_MAX - 1 && b > 1 {
            return Step::Overflow;
        }
        self.count += 1;
        if b < 0x80 {
            return Step::Done(self.value | (u64::from(b) << self.shift));
        }
        if self.count == UVARINT_LEN_MAX {
            return Step::Overflow;
        }
        self.value |= u64::from(b & 0x7f) << self.shift;
        self.shift += 7;
        Step::More
    }
}

/// Reads a uvarint from the start of `buf`, returning the value and the bytes consumed.
pub fn read_uvarint(buf: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut acc = UvarintAccum::default();
    for (i, &b) in buf.iter().enumerate() {
        match acc.push(b) {
            Step::More => {}
            Step::Done(v) => return Ok((v, i + 1)),
            Step::Overflow => return Err(VarintError::Overflow { offset: 0 }),
        }
    }
    Err(VarintError::Truncated { offset: 0 })
}

/// Reads a zigzag varint from the start of `buf`.
pub fn read_varint(buf: &[u8]) -> Result<(i64, usize), VarintError> {
    let (u, n) = read_uvarint(buf)?;
    Ok((unzigzag(u), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings_match_go() {
        // Values checked against Go's encoding/binary documentation semantics.
        let mut b = Vec::new();
        put_uvarint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        b.clear();
        put_varint(&mut b, -1);
        assert_eq!(b, [0x01]);
        b.clear();
        put_varint(&mut b, 1);
        assert_eq!(b, [0x02]);
        b.clear();
        put_uvarint(&mut b, u64::MAX);
        assert_eq!(b, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(read_uvarint(&b), Ok((u64::MAX, 10)));
    }

    #[test]
    fn overflow_and_truncation_are_errors() {
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read_uvarint(&over), Err(VarintError::Overflow { offset: 0 }));
        let eleven = [0x80; 11];
        assert_eq!(read_uvarint(&eleven), Err(VarintError::Overflow { offset: 0 }));
        assert_eq!(read_uvarint(&[0x80, 0x80]), Err(VarintError::Truncated { offset: 0 }));
        assert_eq!(read_uvarint(&[]), Err(VarintError::Truncated { offset: 0 }));
    }

    #[test]
    fn round_trip_edges() {
        for x in [0i64, 1, -1, 63, -64, 64, i64::MIN, i64::MAX, 1 << 40, -(1 << 40)] {
            let mut b = Vec::new();
            put_varint(&mut b, x);
            assert_eq!(read_varint(&b), Ok((x, b.len())));
            assert_eq!(uvarint_len(zigzag(x)), b.len());
        }
    }
}
