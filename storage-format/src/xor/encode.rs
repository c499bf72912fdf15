//! Appending samples to an XOR chunk (format: `../xor.md`). Owns the encoder state
//! (previous timestamp, delta, value and XOR window) and Prometheus's byte-length quirk.
//! Decoding lives in `decode.rs`.

use super::bits::{BitWriter, Pending};
use super::decode::XorIter;
use super::{ChunkError, HEADER_LEN, SAMPLES_MAX};
use crate::sample::Sample;
use crate::varint::{UVARINT_LEN_MAX, encode_uvarint, zigzag};

/// "No XOR window chosen yet": the next non-zero XOR writes a new window.
const NO_WINDOW: u8 = 0xff;

/// Leading-zero counts are stored in 5 bits, so they are clamped to this.
const LEADING_MAX: u32 = 31;

/// Appends samples to one XOR chunk, keeping the bytes Prometheus would hold at every step.
#[derive(Clone, Debug)]
pub struct XorEncoder {
    w: BitWriter,
    count: usize,
    first_t: i64,
    t: i64,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    /// Prometheus's bit stream leaves one extra zero byte after a whole-byte write that ends
    /// on a byte boundary (its `writeByte` always opens the next byte). True when the last
    /// field written was a whole number of bytes.
    byte_tail: bool,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `x` fits Prometheus's asymmetric n-bit range: -(2^(n-1) - 1) ..= 2^(n-1).
#[inline(always)]
fn fits(x: i64, n: u32) -> bool {
    let half = 1i64 << (n - 1);
    -(half - 1) <= x && x <= half
}

impl XorEncoder {
    /// An empty chunk: the 2-byte header with count 0.
    pub fn new() -> Self {
        XorEncoder {
            w: BitWriter::with_prefix(&[0, 0], 128),
            count: 0,
            first_t: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
            byte_tail: false,
        }
    }

    /// Appends one sample. The caller keeps timestamps strictly increasing and a chunk below
    /// [`SAMPLES_MAX`] samples (other timestamp orders still round-trip: arithmetic wraps like
    /// Prometheus's). Panics if the chunk already counts [`SAMPLES_MAX`] samples.
    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        if self.count < 2 {
            return self.append_first_two(t, v);
        }
        assert!(self.count < SAMPLES_MAX, "xor chunk full ({SAMPLES_MAX} samples)");
        let vb = v.to_bits();
        let mut p = Pending::default();
        let t_delta = t.wrapping_sub(self.t) as u64;
        let dod = t_delta.wrapping_sub(self.t_delta) as i64;
        let d = dod as u64;
        if dod == 0 {
            self.w.put(&mut p, 0, 1);
        } else if fits(dod, 14) {
            self.w.put(&mut p, (0b10 << 14) | (d & 0x3fff), 16);
        } else if fits(dod, 17) {
            self.w.put(&mut p, (0b110 << 17) | (d & 0x1_ffff), 20);
        } else if fits(dod, 20) {
            self.w.put(&mut p, (0b1110 << 20) | (d & 0xf_ffff), 24);
        } else {
            self.w.put(&mut p, 0b1111, 4);
            self.w.put(&mut p, d, 64);
        }
        self.put_value(&mut p, vb);
        self.t_delta = t_delta;
        self.finish_append(p, t, vb);
    }

    /// Samples 0 and 1: varint timestamp fields (rare, kept out of the inlined path).
    #[inline(never)]
    fn append_first_two(&mut self, t: i64, v: f64) {
        let vb = v.to_bits();
        let mut p = Pending::default();
        if self.count == 0 {
            self.put_varint_bytes(&mut p, zigzag(t));
            self.w.put(&mut p, vb, 64);
            self.byte_tail = true;
            self.first_t = t;
        } else {
            let t_delta = t.wrapping_sub(self.t) as u64;
            self.put_varint_bytes(&mut p, t_delta);
            self.put_value(&mut p, vb);
            self.t_delta = t_delta;
        }
        self.finish_append(p, t, vb);
    }

    #[inline(always)]
    fn finish_append(&mut self, mut p: Pending, t: i64, vb: u64) {
        self.w.flush(&mut p);
        self.t = t;
        self.v = vb;
        self.count += 1;
        let [hi, lo] = (self.count as u16).to_be_bytes();
        if let Some(h) = self.w.raw_mut().first_chunk_mut::<HEADER_LEN>() {
            *h = [hi, lo];
        }
    }

    fn put_varint_bytes(&mut self, p: &mut Pending, x: u64) {
        let mut tmp = [0u8; UVARINT_LEN_MAX];
        let n = encode_uvarint(x, &mut tmp);
        for &b in &tmp[..n] {
            self.w.put(p, u64::from(b), 8);
        }
    }

    #[inline(always)]
    fn put_value(&mut self, p: &mut Pending, vb: u64) {
        let delta = vb ^ self.v;
        if delta == 0 {
            self.w.put(p, 0, 1);
            self.byte_tail = false;
            return;
        }
        let leading = delta.leading_zeros().min(LEADING_MAX);
        let trailing = delta.trailing_zeros();
        if self.leading != NO_WINDOW
            && leading >= u32::from(self.leading)
            && trailing >= u32::from(self.trailing)
        {
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.w.put(p, 0b10, 2);
            self.w.put(p, delta >> self.trailing, sig);
            self.byte_tail = sig.is_multiple_of(8);
        } else {
            self.leading = leading as u8;
            self.trailing = trailing as u8;
            let sig = 64 - leading - trailing;
            // 64 significant bits do not fit the 6-bit field; they are written as 0.
            let head = (0b11 << 11) | (u64::from(leading) << 6) | u64::from(sig & 63);
            self.w.put(p, head, 13);
            self.w.put(p, delta >> trailing, sig);
            self.byte_tail = sig.is_multiple_of(8);
        }
    }

    /// Samples appended so far (the header's count).
    pub fn num_samples(&self) -> usize {
        self.count
    }

    /// The chunk bytes exactly as Prometheus holds them, header count current.
    pub fn bytes(&self) -> &[u8] {
        &self.w.raw()[..self.size()]
    }

    /// `bytes().len()`.
    pub fn size(&self) -> usize {
        let pos = self.w.pos();
        let whole = pos.div_ceil(8) as usize;
        whole + usize::from(pos.is_multiple_of(8) && self.byte_tail)
    }

    /// The most recently appended sample.
    pub fn last(&self) -> Option<Sample> {
        (self.count > 0).then(|| Sample::new(self.t, f64::from_bits(self.v)))
    }

    /// Timestamp of the first sample.
    pub fn first_t(&self) -> Option<i64> {
        (self.count > 0).then_some(self.first_t)
    }

    /// Resumes appending to existing chunk bytes. The result appends exactly the bytes a
    /// one-shot encoder of all the samples would (see `xor.md`, "Resuming").
    pub fn from_bytes(chunk: &[u8]) -> Result<XorEncoder, ChunkError> {
        let mut it = XorIter::new(chunk)?;
        let count = it.num_samples();
        if count >= SAMPLES_MAX {
            return Err(ChunkError::Full { count });
        }
        let first_t = it.next().map_or(0, |s| s.t);
        for _ in &mut it {}
        if let Some(e) = it.err() {
            return Err(e.clone());
        }
        let st = it.state();
        let mut w = BitWriter::resume(chunk, st.pos.max(HEADER_LEN as u64 * 8));
        let [hi, lo] = (count as u16).to_be_bytes();
        let raw = w.raw_mut();
        raw[0] = hi;
        raw[1] = lo;
        Ok(XorEncoder {
            w,
            count,
            first_t,
            t: st.t,
            v: st.v,
            t_delta: st.t_delta,
            leading: if st.window_set { st.leading } else { NO_WINDOW },
            trailing: if st.window_set { st.trailing } else { 0 },
            byte_tail: st.last_field_bits > 0 && st.last_field_bits.is_multiple_of(8),
        })
    }

    /// The chunk bytes, consuming the encoder.
    pub fn into_bytes(self) -> Vec<u8> {
        let n = self.size();
        let mut raw = self.w.into_raw();
        raw.truncate(n);
        raw
    }
}
