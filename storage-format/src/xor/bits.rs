//! Big-endian (most significant bit first) bit writer and reader for the XOR chunk, buffered
//! through u64 words instead of per-bit loops. Owns bit positions and zero padding only; the
//! meaning of the bits is `encode.rs` / `decode.rs` (format: `../xor.md`).

/// Zero bytes kept past the logical end so a u128 word can always be stored at the write position.
const SLACK_BYTES: usize = 16;

/// Appends bits MSB-first to a byte vector. Invariant: every bit at or after `pos` is zero,
/// and `buf.len() >= pos / 8 + SLACK_BYTES`.
#[derive(Clone, Debug)]
pub(crate) struct BitWriter {
    buf: Vec<u8>,
    /// Bits written so far, counted from the start of `buf`.
    pos: u64,
}

impl BitWriter {
    /// A writer whose first `prefix.len() * 8` bits are `prefix`.
    pub(crate) fn with_prefix(prefix: &[u8], capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(prefix.len()) + SLACK_BYTES);
        buf.extend_from_slice(prefix);
        buf.resize(prefix.len() + SLACK_BYTES, 0);
        BitWriter { buf, pos: prefix.len() as u64 * 8 }
    }

    /// A writer resuming after `bits` bits of `data`. Bits of `data` past `bits` are dropped
    /// (zeroed), so garbage after the logical end cannot leak into later writes.
    pub(crate) fn resume(data: &[u8], bits: u64) -> Self {
        let whole = (bits / 8) as usize;
        let rem = (bits % 8) as u32;
        let keep = whole + usize::from(rem != 0);
        let mut buf = Vec::with_capacity(keep + 64 + SLACK_BYTES);
        buf.extend_from_slice(&data[..keep.min(data.len())]);
        buf.resize(keep, 0);
        if let Some(last) = buf.last_mut().filter(|_| rem != 0) {
            *last &= !(0xffu8 >> rem);
        }
        buf.resize(keep + SLACK_BYTES, 0);
        BitWriter { buf, pos: bits }
    }

    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Raw storage, including the zero slack past the logical end.
    #[inline]
    pub(crate) fn raw(&self) -> &[u8] {
        &self.buf
    }

    #[inline]
    pub(crate) fn raw_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    pub(crate) fn into_raw(self) -> Vec<u8> {
        self.buf
    }

    /// Queues the low `n` bits of `v` (1 <= n <= 64) in `p`, flushing `p` first if full.
    #[inline(always)]
    pub(crate) fn put(&mut self, p: &mut Pending, v: u64, n: u32) {
        debug_assert!((1..=64).contains(&n));
        if p.n + n > PENDING_BITS_MAX {
            self.flush(p);
        }
        let v = u128::from(v) & ((1u128 << n) - 1);
        p.bits = (p.bits << n) | v;
        p.n += n;
    }

    /// Writes the bits queued in `p` at the current position and empties `p`.
    #[inline(always)]
    pub(crate) fn flush(&mut self, p: &mut Pending) {
        if p.n == 0 {
            return;
        }
        let i = (self.pos >> 3) as usize;
        let shift = (self.pos & 7) as u32;
        if self.buf.len() < i + SLACK_BYTES {
            self.grow(i + SLACK_BYTES);
        }
        if let Some(word) = self.buf[i..].first_chunk_mut::<16>() {
            let cur = u128::from_be_bytes(*word);
            *word = (cur | (p.bits << (128 - shift - p.n))).to_be_bytes();
        }
        self.pos += u64::from(p.n);
        *p = Pending::default();
    }

    #[cold]
    fn grow(&mut self, need: usize) {
        let target = need.max(self.buf.len() * 2);
        self.buf.resize(target, 0);
    }

    /// Writes the low `n` bits of `v` (1 <= n <= 64), most significant first.
    #[cfg(test)]
    pub(crate) fn write(&mut self, v: u64, n: u32) {
        let mut p = Pending::default();
        self.put(&mut p, v, n);
        self.flush(&mut p);
    }
}

/// Most bits a [`Pending`] holds: 128 minus the 7 bits of a byte offset, rounded down.
const PENDING_BITS_MAX: u32 = 120;

/// Bits gathered in a register before one read-modify-write of the buffer.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Pending {
    bits: u128,
    n: u32,
}

/// Reads bits MSB-first from a byte slice. Reads past the end yield zero bits and move the
/// position past `end_bits()`; callers check `overrun()` once per decoded unit.
#[derive(Clone, Debug)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: u64,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: u64) -> Self {
        BitReader { data, pos }
    }

    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    #[inline]
    pub(crate) fn end_bits(&self) -> u64 {
        self.data.len() as u64 * 8
    }

    /// True once any read went past the last bit of the data.
    #[inline]
    pub(crate) fn overrun(&self) -> bool {
        self.pos > self.end_bits()
    }

    /// The next 64 bits from the current position (zeros past the end), without consuming.
    /// At least 57 of them are real stream bits whenever the stream has that many left.
    #[inline(always)]
    pub(crate) fn peek(&self) -> u64 {
        let i = (self.pos >> 3) as usize;
        let shift = (self.pos & 7) as u32;
        let word = match self.data.get(i..).and_then(|d| d.first_chunk::<8>()) {
            Some(w) => u64::from_be_bytes(*w),
            None => self.peek_tail(i),
        };
        word << shift
    }

    #[cold]
    fn peek_tail(&self, i: usize) -> u64 {
        let mut w = [0u8; 8];
        if let Some(rest) = self.data.get(i..) {
            w[..rest.len()].copy_from_slice(rest);
        }
        u64::from_be_bytes(w)
    }

    #[inline(always)]
    pub(crate) fn skip(&mut self, n: u32) {
        self.pos += u64::from(n);
    }

    /// Reads `n` bits (1 <= n <= 64) as the low bits of the result.
    #[inline(always)]
    pub(crate) fn read(&mut self, n: u32) -> u64 {
        if n > 56 {
            let hi = self.read_short(n - 32);
            let lo = self.read_short(32);
            (hi << 32) | lo
        } else {
            self.read_short(n)
        }
    }

    #[inline(always)]
    fn read_short(&mut self, n: u32) -> u64 {
        debug_assert!((1..=56).contains(&n));
        let v = self.peek() >> (64 - n);
        self.pos += u64::from(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_read_back_at_every_alignment() {
        let mut w = BitWriter::with_prefix(&[0xab], 0);
        let mut expect = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..500u32 {
            let n = 1 + (i * 7 + (i >> 3)) % 64;
            x = x.rotate_left(13) ^ 0x1234_5678;
            let v = if n == 64 { x } else { x & ((1 << n) - 1) };
            w.write(x, n);
            expect.push((v, n));
        }
        let bits = w.pos();
        let mut r = BitReader::new(w.raw(), 8);
        for (v, n) in expect {
            assert_eq!(r.read(n), v, "width {n}");
        }
        assert_eq!(r.pos(), bits);
        assert_eq!(w.raw()[0], 0xab);
    }

    #[test]
    fn reading_past_the_end_gives_zeros_and_overrun() {
        let data = [0xffu8, 0x80];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.read(9), 0x1ff);
        assert!(!r.overrun());
        assert_eq!(r.read(7), 0);
        assert!(!r.overrun());
        assert_eq!(r.read(3), 0);
        assert!(r.overrun());
    }

    #[test]
    fn resume_masks_bits_past_the_end() {
        let data = [0xff, 0xff, 0xff];
        let mut w = BitWriter::resume(&data, 12);
        assert_eq!(&w.raw()[..2], &[0xff, 0xf0]);
        w.write(0, 4);
        w.write(1, 1);
        assert_eq!(&w.raw()[..3], &[0xff, 0xf0, 0x80]);
    }
}
