//! WAL record framing: `<len u32 BE><crc32c u32 BE><payload>` (see `wal.md`). Owns the frame
//! layout and its checks only; record payloads are `record.rs`, files and segments are the
//! storage's. Opens no files.

/// Bytes of the frame header (length + checksum).
pub const FRAME_HEADER_LEN: usize = 8;
const _: () = assert!(FRAME_HEADER_LEN == 4 + 4);

/// Largest payload a frame may carry (64 MiB). Writers split bigger batches; readers reject
/// larger claimed lengths before allocating or reading.
pub const FRAME_PAYLOAD_MAX: usize = 64 << 20;

/// Why a frame could not be read. Offsets are relative to the slice given to [`decode_frame`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the header or the claimed payload: a torn write at the tail.
    #[error("truncated frame: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    /// The claimed payload length exceeds [`FRAME_PAYLOAD_MAX`].
    #[error("frame claims {len} payload bytes, more than the {FRAME_PAYLOAD_MAX} maximum")]
    TooLarge { len: usize },
    /// The payload does not match its CRC32C.
    #[error("frame checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum { stored: u32, computed: u32 },
    /// A zero-length frame with zero checksum: preallocated or zero-filled space.
    #[error("zero-filled frame header")]
    Zeroed,
}

/// Appends one frame holding `payload` to `out`.
///
/// Panics if `payload` is empty (it would read back as zero-fill, [`FrameError::Zeroed`]) or
/// longer than [`FRAME_PAYLOAD_MAX`]: writers must split records first. Both are programming
/// errors, never caused by input data (a record payload always starts with its type byte).
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    assert!(!payload.is_empty(), "empty frame payload");
    assert!(payload.len() <= FRAME_PAYLOAD_MAX, "frame payload of {} bytes too large", payload.len());
    out.reserve(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Starts a frame in `out` whose payload the caller appends next; finish with [`finish_frame`].
/// Returns the frame's start offset. Saves a copy on the hot path.
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    start
}

/// Fills in length and checksum of the frame begun at `start` (see [`begin_frame`]).
pub fn finish_frame(out: &mut [u8], start: usize) {
    let payload_len = out.len() - start - FRAME_HEADER_LEN;
    assert!(payload_len > 0, "empty frame payload");
    assert!(payload_len <= FRAME_PAYLOAD_MAX, "frame payload of {payload_len} bytes too large");
    let crc = crc32c::crc32c(&out[start + FRAME_HEADER_LEN..]);
    out[start..start + 4].copy_from_slice(&(payload_len as u32).to_be_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
}

/// Reads the frame at the start of `buf`. Returns the payload and the total bytes consumed
/// (header + payload), or `Ok(None)` when `buf` is empty (a clean end).
pub fn decode_frame(buf: &[u8]) -> Result<Option<(&[u8], usize)>, FrameError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf.len() < FRAME_HEADER_LEN {
        return Err(FrameError::Truncated { need: FRAME_HEADER_LEN, have: buf.len() });
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let stored = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if len == 0 && stored == 0 {
        return Err(FrameError::Zeroed);
    }
    if len > FRAME_PAYLOAD_MAX {
        return Err(FrameError::TooLarge { len });
    }
    let total = FRAME_HEADER_LEN + len;
    if buf.len() < total {
        return Err(FrameError::Truncated { need: total, have: buf.len() });
    }
    let payload = &buf[FRAME_HEADER_LEN..total];
    let computed = crc32c::crc32c(payload);
    if computed != stored {
        return Err(FrameError::Checksum { stored, computed });
    }
    Ok(Some((payload, total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_bytes() {
        let mut out = Vec::new();
        encode_frame(b"abc", &mut out);
        // crc32c("abc") = 0x364b3fb7 (the standard Castagnoli check value family).
        assert_eq!(out, [0, 0, 0, 3, 0x36, 0x4b, 0x3f, 0xb7, b'a', b'b', b'c']);
    }

    #[test]
    fn round_trip_and_begin_finish_agree() {
        let mut a = Vec::new();
        encode_frame(b"hello world", &mut a);
        let mut b = Vec::new();
        let s = begin_frame(&mut b);
        b.extend_from_slice(b"hello world");
        finish_frame(&mut b, s);
        assert_eq!(a, b);
        encode_frame(b"x", &mut a);
        let (p, n) = decode_frame(&a).unwrap().unwrap();
        assert_eq!(p, b"hello world");
        let (p2, n2) = decode_frame(&a[n..]).unwrap().unwrap();
        assert_eq!(p2, b"x");
        assert_eq!(n + n2, a.len());
        assert_eq!(decode_frame(&a[n + n2..]), Ok(None));
    }

    #[test]
    fn truncation_and_bitflips_are_detected() {
        let mut a = Vec::new();
        encode_frame(b"some payload bytes", &mut a);
        for cut in 1..a.len() {
            assert!(matches!(decode_frame(&a[..cut]), Err(FrameError::Truncated { .. })), "cut {cut}");
        }
        for i in 0..a.len() {
            for bit in 0..8 {
                let mut c = a.clone();
                c[i] ^= 1 << bit;
                assert!(decode_frame(&c).is_err(), "flip byte {i} bit {bit} undetected");
            }
        }
    }

    #[test]
    fn huge_length_rejected_before_reading() {
        let buf = [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
        assert!(matches!(decode_frame(&buf), Err(FrameError::TooLarge { .. })));
        assert_eq!(decode_frame(&[0u8; 16]), Err(FrameError::Zeroed));
    }
}
