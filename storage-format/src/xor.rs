//! The XOR ("Gorilla") float chunk, byte-for-byte compatible with Prometheus's
//! `chunkenc.EncXOR` (format page: `xor.md` beside this file). Owns the chunk bytes only:
//! `encode.rs` appends samples, `decode.rs` iterates them, `bits.rs` moves bits. It knows
//! nothing of chunk files, refs, CRCs or cutting policy (see `block/chunks.rs`, the head).

mod bits;
mod decode;
mod encode;

pub use decode::XorIter;
pub use encode::XorEncoder;

use crate::sample::Sample;
use thiserror::Error;

/// Bytes of the sample-count header at the start of every chunk.
pub const HEADER_LEN: usize = 2;

/// Most samples one chunk can count (the header is a u16).
pub const SAMPLES_MAX: usize = u16::MAX as usize;

/// Why chunk bytes could not be decoded (or resumed). Offsets count from the chunk's first
/// byte, header included.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkError {
    #[error("xor chunk is {len} bytes, shorter than its {HEADER_LEN}-byte header")]
    TooShort { len: usize },
    #[error(
        "xor chunk truncated: sample {sample} of {total}, starting at bit offset {bit_offset}, \
         runs past the end of the {len}-byte chunk"
    )]
    Truncated { sample: usize, total: usize, bit_offset: u64, len: usize },
    #[error("xor chunk: timestamp varint of sample {sample} at byte offset {byte_offset} overflows 64 bits")]
    VarintOverflow { sample: usize, byte_offset: u64 },
    #[error(
        "xor chunk: sample {sample} at bit offset {bit_offset}: {leading} leading zeros plus \
         {significant} significant bits exceed 64"
    )]
    BadWindow { sample: usize, bit_offset: u64, leading: u8, significant: u8 },
    #[error("xor chunk already holds {count} samples, the most a chunk can count; it cannot be appended to")]
    Full { count: usize },
}

/// Decodes every sample of a chunk, or the first error.
pub fn decode_all(chunk: &[u8]) -> Result<Vec<Sample>, ChunkError> {
    let mut it = XorIter::new(chunk)?;
    // Every sample after the first takes at least 2 bits, so a claimed count larger than the
    // bytes can hold is capped here before allocating.
    let cap = it.num_samples().min(chunk.len().saturating_mul(4) + 1);
    let mut out = Vec::with_capacity(cap);
    out.extend(&mut it);
    match it.err() {
        Some(e) => Err(e.clone()),
        None => Ok(out),
    }
}
