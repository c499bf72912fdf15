//! Iterating the samples of an XOR chunk (format: `../xor.md`). Owns decoder state and the
//! errors for malformed bit streams; never panics on any input. Encoding lives in `encode.rs`.

use super::bits::BitReader;
use super::{ChunkError, HEADER_LEN};
use crate::sample::Sample;
use crate::varint::{Step, UvarintAccum, unzigzag};

/// Iterates the samples of one chunk in order. Stops at the header's count or at the first
/// malformed field, after which [`XorIter::err`] says where.
#[derive(Clone, Debug)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    len: usize,
    total: usize,
    /// Samples this iterator will still return up to: `total`, or `read` once an error is set
    /// (one comparison in the hot path covers both ends).
    limit: usize,
    read: usize,
    t: i64,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    window_set: bool,
    last_field_bits: u32,
    err: Option<ChunkError>,
}

/// Decoder state after the last sample read, for resuming an encoder.
pub(crate) struct DecodeState {
    pub(crate) pos: u64,
    pub(crate) t: i64,
    pub(crate) v: u64,
    pub(crate) t_delta: u64,
    pub(crate) leading: u8,
    pub(crate) trailing: u8,
    pub(crate) window_set: bool,
    /// Width of the last field of the last sample (64 raw value bits, 1 for "same value", or
    /// the significant bits of an XOR); 0 before any sample.
    pub(crate) last_field_bits: u32,
}

impl<'a> XorIter<'a> {
    /// An iterator over `chunk`; fails only if the chunk is shorter than its header.
    pub fn new(chunk: &'a [u8]) -> Result<XorIter<'a>, ChunkError> {
        let Some(&[hi, lo]) = chunk.first_chunk::<HEADER_LEN>() else {
            return Err(ChunkError::TooShort { len: chunk.len() });
        };
        Ok(XorIter {
            r: BitReader::new(chunk, HEADER_LEN as u64 * 8),
            len: chunk.len(),
            total: usize::from(u16::from_be_bytes([hi, lo])),
            limit: usize::from(u16::from_be_bytes([hi, lo])),
            read: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
            window_set: false,
            last_field_bits: 0,
            err: None,
        })
    }

    /// The sample count from the header.
    pub fn num_samples(&self) -> usize {
        self.total
    }

    /// Samples returned so far.
    pub fn samples_read(&self) -> usize {
        self.read
    }

    /// Set once the bit stream was found malformed; iteration has stopped.
    pub fn err(&self) -> Option<&ChunkError> {
        self.err.as_ref()
    }

    /// Moves to the first sample with timestamp `>= t` and returns it; `next()` then continues
    /// after it. Never moves backwards: if the sample returned last already has timestamp
    /// `>= t`, it is returned again (as Prometheus's `Seek`). `None` when no sample is left
    /// that qualifies, or on a malformed stream (see [`XorIter::err`]).
    pub fn seek(&mut self, t: i64) -> Option<Sample> {
        if self.err.is_some() {
            return None;
        }
        if self.read > 0 && self.t >= t {
            return Some(self.current());
        }
        self.by_ref().find(|s| s.t >= t)
    }

    #[inline]
    fn current(&self) -> Sample {
        Sample::new(self.t, f64::from_bits(self.v))
    }

    pub(crate) fn state(&self) -> DecodeState {
        DecodeState {
            pos: self.r.pos(),
            t: self.t,
            v: self.v,
            t_delta: self.t_delta,
            leading: self.leading,
            trailing: self.trailing,
            window_set: self.window_set,
            last_field_bits: self.last_field_bits,
        }
    }

    fn fail(&mut self, e: ChunkError) -> Option<Sample> {
        self.err = Some(e);
        self.limit = self.read;
        None
    }

    fn truncated_err(&self, start: u64) -> ChunkError {
        ChunkError::Truncated { sample: self.read, total: self.total, bit_offset: start, len: self.len }
    }

    fn truncated(&mut self, start: u64) -> Option<Sample> {
        let e = self.truncated_err(start);
        self.fail(e)
    }

    /// Reads a byte-aligned Go uvarint through the bit reader.
    fn read_uvarint(&mut self, start: u64) -> Result<u64, ChunkError> {
        let mut acc = UvarintAccum::default();
        loop {
            let b = self.r.read(8) as u8;
            if self.r.overrun() {
                return Err(self.truncated_err(start));
            }
            match acc.push(b) {
                Step::More => {}
                Step::Done(v) => return Ok(v),
                Step::Overflow => {
                    return Err(ChunkError::VarintOverflow { sample: self.read, byte_offset: start / 8 });
                }
            }
        }
    }

    #[cold]
    fn next_first_two(&mut self, start: u64) -> Option<Sample> {
        if self.read == 0 {
            match self.read_uvarint(start) {
                Ok(u) => self.t = unzigzag(u),
                Err(e) => return self.fail(e),
            }
            self.v = self.r.read(64);
            self.last_field_bits = 64;
        } else {
            match self.read_uvarint(start) {
                Ok(d) => self.t_delta = d,
                Err(e) => return self.fail(e),
            }
            self.t = self.t.wrapping_add(self.t_delta as i64);
            if let Err(e) = self.read_value(start) {
                return self.fail(e);
            }
        }
        self.finish(start)
    }

    #[inline(always)]
    fn finish(&mut self, start: u64) -> Option<Sample> {
        if self.r.overrun() {
            return self.truncated(start);
        }
        self.read += 1;
        Some(self.current())
    }

    /// Decodes the value from `w`, whose top `avail` bits are the next stream bits, when the
    /// common cases fit in them; otherwise reads from the stream.
    #[inline(always)]
    fn read_value_from(&mut self, w: u64, avail: u32, start: u64) -> Result<(), ChunkError> {
        if w >> 63 == 0 {
            self.r.skip(1);
            self.last_field_bits = 1;
            return Ok(());
        }
        if (w >> 62) & 1 == 0 {
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            if sig + 2 <= avail {
                self.r.skip(2 + sig);
                self.v ^= ((w << 2) >> (64 - sig)) << self.trailing;
                self.last_field_bits = sig;
                return Ok(());
            }
        }
        self.read_value(start)
    }

    #[inline(always)]
    fn read_value(&mut self, start: u64) -> Result<(), ChunkError> {
        let w = self.r.peek();
        if w >> 63 == 0 {
            self.r.skip(1);
            self.last_field_bits = 1;
            return Ok(());
        }
        if (w >> 62) & 1 == 0 {
            // Reuse the current window. Before any window was set, Prometheus's reader
            // uses leading = trailing = 0 (64 significant bits); so does this one.
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            let bits = if sig <= 55 {
                self.r.skip(2 + sig);
                (w << 2) >> (64 - sig)
            } else {
                self.r.skip(2);
                self.r.read(sig)
            };
            self.v ^= bits << self.trailing;
            self.last_field_bits = sig;
            return Ok(());
        }
        let at = self.r.pos();
        let leading = ((w >> 57) & 31) as u8;
        let mut sig = ((w >> 51) & 63) as u8;
        if sig == 0 {
            sig = 64;
        }
        if u32::from(leading) + u32::from(sig) > 64 {
            if at + 13 > self.r.end_bits() {
                // The window fields themselves run past the end: that is truncation.
                return Err(self.truncated_err(start));
            }
            return Err(ChunkError::BadWindow {
                sample: self.read,
                bit_offset: at,
                leading,
                significant: sig,
            });
        }
        self.r.skip(13);
        let bits = self.r.read(u32::from(sig));
        self.leading = leading;
        self.trailing = 64 - leading - sig;
        self.window_set = true;
        self.v ^= bits << self.trailing;
        self.last_field_bits = u32::from(sig);
        Ok(())
    }
}

/// Stream bits a `peek()` is guaranteed to hold (64 minus up to 7 bits of byte offset).
const PEEK_BITS_MIN: u32 = 57;

/// Decodes a delta-of-delta payload of `size` bits whose control prefix is `ctl` bits.
#[inline(always)]
fn dod_field(w: u64, ctl: u32, size: u32) -> (i64, u32) {
    let bits = (w << ctl) >> (64 - size);
    let half = 1u64 << (size - 1);
    let v = if bits > half { bits as i64 - (1i64 << size) } else { bits as i64 };
    (v, ctl + size)
}

impl Iterator for XorIter<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if self.read >= self.limit {
            return None;
        }
        let start = self.r.pos();
        if self.read < 2 {
            return self.next_first_two(start);
        }
        let w = self.r.peek();
        // `w` holds at least 57 stream bits; after the dod, the value is decoded from what is
        // left of it when that suffices, saving a second load.
        let (dod, used) = match (!w).leading_zeros() {
            0 => (0, 1),
            1 => dod_field(w, 2, 14),
            2 => dod_field(w, 3, 17),
            3 => dod_field(w, 4, 20),
            _ => {
                self.r.skip(4);
                (self.r.read(64) as i64, 0)
            }
        };
        self.t_delta = self.t_delta.wrapping_add(dod as u64);
        self.t = self.t.wrapping_add(self.t_delta as i64);
        let res = if used > 0 {
            self.r.skip(used);
            self.read_value_from(w << used, PEEK_BITS_MIN - used, start)
        } else {
            self.read_value(start)
        };
        if let Err(e) = res {
            return self.fail(e);
        }
        self.finish(start)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.err.is_some() {
            return (0, Some(0));
        }
        (0, Some(self.limit - self.read))
    }
}
