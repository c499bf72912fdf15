//! The decimal chunk, Cairn's compact at-rest chunk encoding for blocks (format: `dchunk.md`):
//! timestamps as delta-of-delta and values that are all exactly `m × 10^e` (one exponent per
//! chunk) as integer deltas or delta-of-deltas, zigzagged and bit-packed at the chunk's
//! minimal width. Also the choice between it and XOR for one chunk of samples
//! ([`encode_block_chunk`]) and the decoder of any block chunk encoding
//! ([`decode_block_chunk`]). Owns chunk payload bytes only: framing, CRCs and refs are
//! `chunks.rs`; cutting series into chunks is the storage side's.

use crate::sample::Sample;
use crate::varint::{put_uvarint, put_varint, read_uvarint, read_varint, unzigzag, zigzag};
use crate::xor::{ChunkError, XorEncoder, XorIter};
use thiserror::Error;

use super::chunks::ENCODING_XOR;

/// Encoding byte of a decimal chunk in a chunk segment (`chunks.md`). Prometheus uses 1–3;
/// 0x11 is outside its range, so a Prometheus reader rejects the chunk instead of misreading it.
pub const ENCODING_DECIMAL: u8 = 0x11;

/// Most samples in one decimal chunk. Caps what a decoder allocates from the header.
pub const DCHUNK_SAMPLES_MAX: usize = 1 << 16;

/// Largest |exponent|: 10^22 is the largest power of ten an f64 holds exactly.
pub const EXPONENT_MAX: i32 = 22;

/// Mantissas are below this in magnitude, so they convert to f64 exactly.
const MANTISSA_LIMIT: i64 = 1 << 53;

/// Value packing modes.
const MODE_DELTA: u8 = 1;
const MODE_DOD: u8 = 2;

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];
const _: () = assert!(POW10.len() == EXPONENT_MAX as usize + 1);

/// Why decimal chunk bytes could not be decoded. Offsets count from the chunk's first byte
/// (the byte after the encoding byte in a segment).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DChunkError {
    #[error("decimal chunk: {field} at byte offset {offset} is truncated or overflows")]
    Truncated { field: &'static str, offset: usize },
    #[error("decimal chunk: {field} = {value} at byte offset {offset} is out of range")]
    OutOfRange { field: &'static str, value: i64, offset: usize },
    #[error("decimal chunk: packed data at byte offset {offset} is {found} bytes, the header says {want}")]
    PackedLength { offset: usize, found: usize, want: usize },
}

/// Why a block chunk could not be decoded, whatever its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockChunkError {
    #[error("unknown chunk encoding {0:#04x}")]
    UnknownEncoding(u8),
    #[error(transparent)]
    Xor(#[from] ChunkError),
    #[error(transparent)]
    Decimal(#[from] DChunkError),
}

/// The value `m × 10^e` as the decoder computes it (exactly rounded: `m` and `10^|e|` are
/// exact f64s and IEEE division and multiplication round correctly).
#[inline]
fn decimal_value(m: i64, e: i32) -> f64 {
    if e < 0 { m as f64 / POW10[(-e) as usize] } else { m as f64 * POW10[e as usize] }
}

/// The mantissa of `v` at exponent `e` if `decimal_value(m, e)` gives `v` back bit for bit.
#[inline]
fn mantissa_at(v: f64, e: i32) -> Option<i64> {
    let scaled = if e < 0 { v * POW10[(-e) as usize] } else { v / POW10[e as usize] };
    let r = scaled.round();
    if r.abs() >= MANTISSA_LIMIT as f64 {
        return None;
    }
    let m = r as i64;
    (decimal_value(m, e).to_bits() == v.to_bits()).then_some(m)
}

/// The exponent that suits `v` alone: for an integer value, the largest `e ≥ 0` with
/// `v = m × 10^e` (so 4e9 gets a mantissa of 4); otherwise the smallest `e < 0` (fewest
/// decimal places). `Some(None)` for +0.0 (any exponent), `None` when no exponent works.
fn exponent_of(v: f64) -> Option<Option<i32>> {
    if v.to_bits() == 0 {
        return Some(None);
    }
    if !v.is_finite() {
        return None;
    }
    if v.fract() == 0.0 {
        if v.abs() < MANTISSA_LIMIT as f64 {
            let mut m = v as i64;
            let mut e = 0;
            while e < EXPONENT_MAX && m % 10 == 0 {
                m /= 10;
                e += 1;
            }
            return Some(Some(e));
        }
        return (1..=EXPONENT_MAX).rev().find(|&e| mantissa_at(v, e).is_some()).map(Some);
    }
    (1..=EXPONENT_MAX).find(|&k| mantissa_at(v, -k).is_some()).map(|k| Some(-k))
}

/// Mantissas and the exponent of `samples`' values, if they all are `m × 10^e` exactly for
/// one `e` (the smallest of the values' own exponents).
fn decimals(samples: &[Sample]) -> Option<(Vec<i64>, i32)> {
    let mut e: Option<i32> = None;
    for s in samples {
        if let Some(x) = exponent_of(s.v)? {
            e = Some(e.map_or(x, |e| e.min(x)));
        }
    }
    let e = e.unwrap_or(0);
    let mut ms = Vec::with_capacity(samples.len());
    for s in samples {
        ms.push(mantissa_at(s.v, e)?);
    }
    Some((ms, e))
}

/// The minimum of `xs` (0 when empty) and the bit width of `x − min` over `xs`.
fn frame_of_reference(xs: &[i64]) -> (i64, u32) {
    let (Some(&lo), Some(&hi)) = (xs.iter().min(), xs.iter().max()) else { return (0, 0) };
    (lo, width(hi.wrapping_sub(lo) as u64))
}

fn varint_len(x: i64) -> usize {
    crate::varint::uvarint_len(zigzag(x))
}

/// Bits needed for `x` (0 for 0).
#[inline]
fn width(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// LSB-first bit packer.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u128,
    n: u32,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter { out, acc: 0, n: 0 }
    }

    #[inline]
    fn put(&mut self, v: u64, w: u32) {
        if w == 0 {
            return;
        }
        let v = if w == 64 { v } else { v & ((1u64 << w) - 1) };
        self.acc |= u128::from(v) << self.n;
        self.n += w;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// Pads the last byte with zero bits.
    fn finish(self) {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
    }
}

/// Reads the `i`-th `w`-bit value of an LSB-first packed area. `data` must hold at least
/// `ceil((i + 1) · w / 8)` bytes; bits past the end read as zero.
#[inline]
fn get_bits(data: &[u8], bit: usize, w: u32) -> u64 {
    let byte = bit >> 3;
    let sh = (bit & 7) as u32;
    let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
    if sh + w <= 64
        && let Some(b) = data.get(byte..byte + 8)
    {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        return (u64::from_le_bytes(a) >> sh) & mask;
    }
    let mut x: u128 = 0;
    for i in 0..9 {
        if let Some(&b) = data.get(byte + i) {
            x |= u128::from(b) << (8 * i);
        }
    }
    ((x >> sh) as u64) & mask
}

fn packed_len(count: usize, w: u32) -> usize {
    (count * w as usize).div_ceil(8)
}

/// How the mantissas' differences are packed: mode, first delta (Δ² only), base, width.
struct ValuePlan {
    mode: u8,
    vd1: i64,
    base: i64,
    /// Common factor of every `x − base` (at least 1): page-sized byte gauges step by 4096.
    step: u64,
    width: u32,
    seq: Vec<i64>,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Frame of reference with a common step: `(min, step, width of (x − min) / step)`.
fn frame_of_reference_step(xs: &[i64]) -> (i64, u64, u32) {
    let (base, _) = frame_of_reference(xs);
    let step = xs.iter().fold(0u64, |g, &x| gcd(g, x.wrapping_sub(base) as u64)).max(1);
    let w = xs.iter().map(|&x| width(x.wrapping_sub(base) as u64 / step)).max().unwrap_or(0);
    (base, step, w)
}

impl ValuePlan {
    /// Δ or Δ², whichever takes fewer bits (header bytes included).
    fn of(ms: &[i64]) -> ValuePlan {
        let deltas: Vec<i64> = ms.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        let dods: Vec<i64> = deltas.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        let (bd, gd, wd) = frame_of_reference_step(&deltas);
        let (bdd, gdd, wdd) = frame_of_reference_step(&dods);
        let vd1 = deltas.first().copied().unwrap_or(0);
        let d = ValuePlan { mode: MODE_DELTA, vd1: 0, base: bd, step: gd, width: wd, seq: deltas };
        let dd = ValuePlan { mode: MODE_DOD, vd1, base: bdd, step: gdd, width: wdd, seq: dods };
        if dd.bits() < d.bits() { dd } else { d }
    }

    fn bits(&self) -> usize {
        let step = crate::varint::uvarint_len(self.step);
        let head = match self.mode {
            MODE_DOD => varint_len(self.vd1) + varint_len(self.base) + step,
            _ => varint_len(self.base) + step,
        };
        self.seq.len() * self.width as usize + 8 * head
    }
}

/// Exact decimals with at most this many places are kept without trying residual forms.
const EXACT_PLACES_ENOUGH: i32 = 4;

/// Largest number of decimal places tried for values that are not exact decimals.
const APPROX_PLACES_MAX: i32 = 9;

/// For values that are not all exact decimals but close to ones (e.g. a counter summed in
/// floating point, 123.45 + 0.1 = 123.55000000000001): the exponent, mantissas and
/// residuals (value bits − decimal bits, zigzagged) that take the fewest bits, trying 0 to
/// [`APPROX_PLACES_MAX`] decimal places, with their cost in bits. `None` when a value is not finite or no exponent
/// keeps the mantissas below 2^53.
fn near_decimals(samples: &[Sample]) -> Option<(usize, Vec<i64>, Vec<u64>, i32)> {
    if samples.iter().any(|s| !s.v.is_finite()) {
        return None;
    }
    let mut best: Option<(usize, Vec<i64>, Vec<u64>, i32)> = None;
    'places: for k in 0..=APPROX_PLACES_MAX {
        let mut ms = Vec::with_capacity(samples.len());
        let mut rs = Vec::with_capacity(samples.len());
        for s in samples {
            let r = (s.v * POW10[k as usize]).round();
            if r.abs() >= MANTISSA_LIMIT as f64 {
                continue 'places;
            }
            let m = r as i64;
            let d = decimal_value(m, -k);
            rs.push(zigzag((s.v.to_bits() as i64).wrapping_sub(d.to_bits() as i64)));
            ms.push(m);
        }
        let rw = rs.iter().map(|&x| width(x)).max().unwrap_or(0);
        let cost = ValuePlan::of(&ms).bits() + rs.len() * rw as usize;
        if best.as_ref().is_none_or(|b| cost < b.0) {
            best = Some((cost, ms, rs, -k));
        }
        if rw == 0 {
            // Exact at k places: more places only make the mantissas larger.
            break;
        }
    }
    best
}

/// Appends the decimal chunk of `samples` to `out` and returns true, or returns false (with
/// `out` unchanged) when `samples` is empty, holds more than [`DCHUNK_SAMPLES_MAX`], or a
/// value is not an exact decimal `m × 10^e` (NaN, ±Inf, -0.0, most results of float
/// arithmetic). Timestamps may be in any order (arithmetic wraps).
pub fn encode_decimal(samples: &[Sample], out: &mut Vec<u8>) -> bool {
    if samples.is_empty() || samples.len() > DCHUNK_SAMPLES_MAX {
        return false;
    }
    let Some((ms, e)) = decimals(samples) else { return false };
    write_chunk(samples, &ms, &[], e, out);
    true
}

/// Like [`encode_decimal`], but values may also be stored as the nearest decimal with 0 to
/// [`APPROX_PLACES_MAX`] places plus a residual in units in the last place, whichever takes
/// fewer bits (12345.670000000002 is exact with 11 places but far smaller as 1234567 × 10^-2
/// plus a residual of 1 ulp), so any finite value round-trips.
/// Returns false (with `out` unchanged) for empty or oversized input or a non-finite value.
pub fn encode_near_decimal(samples: &[Sample], out: &mut Vec<u8>) -> bool {
    if samples.is_empty() || samples.len() > DCHUNK_SAMPLES_MAX {
        return false;
    }
    let exact = decimals(samples).map(|(ms, e)| (ValuePlan::of(&ms).bits(), ms, Vec::new(), e));
    // Exact with at most EXACT_PLACES_ENOUGH places: fewer places would need large residuals.
    if let Some((_, ms, _, e)) = &exact
        && *e >= -EXACT_PLACES_ENOUGH
    {
        write_chunk(samples, ms, &[], *e, out);
        return true;
    }
    let near = near_decimals(samples);
    let best = match (exact, near) {
        (Some(x), Some(n)) if n.0 < x.0 => Some(n),
        (Some(x), _) => Some(x),
        (None, n) => n,
    };
    let Some((_, ms, rs, e)) = best else { return false };
    write_chunk(samples, &ms, &rs, e, out);
    true
}

/// Writes the chunk: `ms` the mantissas at exponent `e`, `rs` the zigzagged residuals (empty:
/// all zero).
fn write_chunk(samples: &[Sample], ms: &[i64], rs: &[u64], e: i32, out: &mut Vec<u8>) {
    let n = samples.len();
    put_uvarint(out, n as u64);
    put_varint(out, samples[0].t);
    let mut tdods = Vec::new();
    if n >= 2 {
        let d1 = samples[1].t.wrapping_sub(samples[0].t);
        put_varint(out, d1);
        let mut prev = d1;
        for w in samples[1..].windows(2) {
            let d = w[1].t.wrapping_sub(w[0].t);
            tdods.push(zigzag(d.wrapping_sub(prev)));
            prev = d;
        }
    }
    let tw = tdods.iter().map(|&x| width(x)).max().unwrap_or(0);
    if n >= 3 {
        out.push(tw as u8);
    }
    out.push(e as i8 as u8);
    let rw = rs.iter().map(|&x| width(x)).max().unwrap_or(0);
    out.push(rw as u8);
    put_varint(out, ms[0]);
    let mut vals = Vec::new();
    let mut vw = 0;
    if n >= 2 {
        let plan = ValuePlan::of(ms);
        out.push(plan.mode);
        if plan.mode == MODE_DOD {
            put_varint(out, plan.vd1);
        }
        put_varint(out, plan.base);
        put_uvarint(out, plan.step);
        vw = plan.width;
        out.push(vw as u8);
        vals = plan.seq.iter().map(|&x| x.wrapping_sub(plan.base) as u64 / plan.step).collect();
    }
    for (xs, w) in [(&tdods[..], tw), (&vals[..], vw), (rs, rw)] {
        let mut bw = BitWriter::new(out);
        for &x in xs {
            bw.put(x, w);
        }
        bw.finish();
    }
}

/// Byte cursor over the header fields.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn uvarint(&mut self, field: &'static str) -> Result<u64, DChunkError> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let (v, n) = read_uvarint(rest).map_err(|_| DChunkError::Truncated { field, offset: self.pos })?;
        self.pos += n;
        Ok(v)
    }

    fn varint(&mut self, field: &'static str) -> Result<i64, DChunkError> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let (v, n) = read_varint(rest).map_err(|_| DChunkError::Truncated { field, offset: self.pos })?;
        self.pos += n;
        Ok(v)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, DChunkError> {
        let b = *self.data.get(self.pos).ok_or(DChunkError::Truncated { field, offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn width(&mut self, field: &'static str) -> Result<u32, DChunkError> {
        let at = self.pos;
        let w = self.byte(field)?;
        if w > 64 {
            return Err(DChunkError::OutOfRange { field, value: i64::from(w), offset: at });
        }
        Ok(u32::from(w))
    }
}

/// The number of samples a decimal chunk claims (header only), or an error.
pub fn decimal_num_samples(data: &[u8]) -> Result<usize, DChunkError> {
    let mut c = Cursor { data, pos: 0 };
    let n = c.uvarint("sample count")?;
    if n == 0 || n > DCHUNK_SAMPLES_MAX as u64 {
        return Err(DChunkError::OutOfRange { field: "sample count", value: n as i64, offset: 0 });
    }
    Ok(n as usize)
}

/// Decodes a decimal chunk, appending its samples to `out`. Never panics; on error `out` may
/// hold part of the chunk's samples.
pub fn decode_decimal(data: &[u8], out: &mut Vec<Sample>) -> Result<(), DChunkError> {
    let n = decimal_num_samples(data)?;
    let mut c = Cursor { data, pos: 0 };
    c.uvarint("sample count")?;
    let t0 = c.varint("first timestamp")?;
    let td1 = if n >= 2 { c.varint("first timestamp delta")? } else { 0 };
    let tw = if n >= 3 { c.width("timestamp width")? } else { 0 };
    let e_at = c.pos;
    let e = i32::from(c.byte("exponent")? as i8);
    if e.abs() > EXPONENT_MAX {
        return Err(DChunkError::OutOfRange { field: "exponent", value: i64::from(e), offset: e_at });
    }
    let rw = c.width("residual width")?;
    let m0_at = c.pos;
    let m0 = c.varint("first mantissa")?;
    if m0.unsigned_abs() >= MANTISSA_LIMIT as u64 {
        return Err(DChunkError::OutOfRange { field: "first mantissa", value: m0, offset: m0_at });
    }
    let (mut mode, mut vd1, mut base, mut step, mut vw) = (MODE_DELTA, 0i64, 0i64, 1u64, 0u32);
    if n >= 2 {
        let at = c.pos;
        mode = c.byte("value mode")?;
        if mode != MODE_DELTA && mode != MODE_DOD {
            return Err(DChunkError::OutOfRange { field: "value mode", value: i64::from(mode), offset: at });
        }
        if mode == MODE_DOD {
            vd1 = c.varint("first value delta")?;
        }
        base = c.varint("value base")?;
        step = c.uvarint("value step")?;
        vw = c.width("value width")?;
    }
    let tcount = n.saturating_sub(2);
    let vcount = match (n, mode) {
        (1, _) => 0,
        (_, MODE_DOD) => n - 2,
        _ => n - 1,
    };
    let (tlen, vlen, rlen) = (packed_len(tcount, tw), packed_len(vcount, vw), packed_len(n, rw));
    let rest = data.len() - c.pos;
    if rest != tlen + vlen + rlen {
        return Err(DChunkError::PackedLength { offset: c.pos, found: rest, want: tlen + vlen + rlen });
    }
    let tbits = &data[c.pos..c.pos + tlen];
    let vbits = &data[c.pos + tlen..c.pos + tlen + vlen];
    let rbits = &data[c.pos + tlen + vlen..];
    let start = out.len();
    out.reserve(n);
    // Timestamps.
    let mut t = t0;
    let mut m = m0;
    out.push(Sample::new(t, decimal_value(m, e)));
    if n == 1 {
        apply_residuals(&mut out[start..], rbits, rw);
        return Ok(());
    }
    let td = td1;
    t = t.wrapping_add(td);
    let vd = match mode {
        MODE_DOD => vd1,
        _ => base.wrapping_add(get_bits(vbits, 0, vw).wrapping_mul(step) as i64),
    };
    m = m.wrapping_add(vd);
    out.push(Sample::new(t, decimal_value(m, e)));
    let rest = Rest { tbits, tw, vbits, vw, base, step, e };
    // Specialised loops: regular timestamps (tw = 0) need no unpacking, and the mode is fixed
    // per chunk.
    match (mode == MODE_DOD, tw == 0) {
        (true, true) => rest.run::<true, false>(n, t, td, m, vd, out),
        (true, false) => rest.run::<true, true>(n, t, td, m, vd, out),
        (false, true) => rest.run::<false, false>(n, t, td, m, vd, out),
        (false, false) => rest.run::<false, true>(n, t, td, m, vd, out),
    }
    apply_residuals(&mut out[start..], rbits, rw);
    Ok(())
}

/// The packed streams of samples 2.. and what is needed to unpack them.
struct Rest<'a> {
    tbits: &'a [u8],
    tw: u32,
    vbits: &'a [u8],
    vw: u32,
    base: i64,
    step: u64,
    e: i32,
}

impl Rest<'_> {
    /// Decodes samples 2..n given sample 1's timestamp `t`, delta `td`, mantissa `m` and
    /// mantissa delta `vd`.
    #[inline(always)]
    fn run<const DOD: bool, const TS: bool>(
        &self,
        n: usize,
        mut t: i64,
        mut td: i64,
        mut m: i64,
        mut vd: i64,
        out: &mut Vec<Sample>,
    ) {
        let voff = usize::from(!DOD);
        let (tw, vw) = (self.tw as usize, self.vw as usize);
        for i in 0..n - 2 {
            if TS {
                td = td.wrapping_add(unzigzag(get_bits(self.tbits, i * tw, self.tw)));
            }
            t = t.wrapping_add(td);
            let x = self
                .base
                .wrapping_add(get_bits(self.vbits, (i + voff) * vw, self.vw).wrapping_mul(self.step) as i64);
            if DOD {
                vd = vd.wrapping_add(x);
            } else {
                vd = x;
            }
            m = m.wrapping_add(vd);
            out.push(Sample::new(t, decimal_value(m, self.e)));
        }
    }
}

/// Adds the residuals (in units in the last place) to the decoded decimal values.
fn apply_residuals(samples: &mut [Sample], rbits: &[u8], rw: u32) {
    if rw == 0 {
        return;
    }
    for (i, s) in samples.iter_mut().enumerate() {
        let r = unzigzag(get_bits(rbits, i * rw as usize, rw));
        s.v = f64::from_bits(s.v.to_bits().wrapping_add(r as u64));
    }
}

/// Encodes one block chunk of `samples` (at most [`crate::xor::SAMPLES_MAX`]) into `out`
/// (cleared first): the smallest decimal form ([`encode_near_decimal`]) if it is smaller than
/// the XOR chunk of the same samples, else the XOR chunk (always for non-finite values), so a
/// block chunk is never larger than Prometheus's. Returns the encoding byte to store with it.
pub fn encode_block_chunk(samples: &[Sample], out: &mut Vec<u8>) -> u8 {
    out.clear();
    let mut enc = XorEncoder::new();
    for s in samples {
        enc.append(s.t, s.v);
    }
    if encode_near_decimal(samples, out) && out.len() < enc.bytes().len() {
        return ENCODING_DECIMAL;
    }
    out.clear();
    out.extend_from_slice(enc.bytes());
    ENCODING_XOR
}

/// Decodes a block chunk of either encoding, appending its samples to `out`. Never panics.
pub fn decode_block_chunk(encoding: u8, data: &[u8], out: &mut Vec<Sample>) -> Result<(), BlockChunkError> {
    match encoding {
        ENCODING_DECIMAL => Ok(decode_decimal(data, out)?),
        ENCODING_XOR => {
            let mut it = XorIter::new(data)?;
            // Every sample after the first takes at least 2 bits: cap before reserving.
            out.reserve(it.num_samples().min(data.len().saturating_mul(4) + 1));
            out.extend(&mut it);
            match it.err() {
                Some(e) => Err(BlockChunkError::Xor(e.clone())),
                None => Ok(()),
            }
        }
        other => Err(BlockChunkError::UnknownEncoding(other)),
    }
}
