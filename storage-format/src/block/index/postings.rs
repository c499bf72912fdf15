//! The postings list codec of the index (format: `../index.md`, "Postings"): a strictly
//! increasing list of series ids <-> bytes, delta bit-packed in blocks of 128 with the
//! `bitpacking` crate and a varint tail. It was chosen over roaring serialization by
//! measurement (bench `postings`, figures in `index.md`). No CRCs or framing here:
//! `write.rs`/`read.rs`.

use crate::varint::{put_uvarint, read_uvarint};
use bitpacking::{BitPacker, BitPacker4x};
use thiserror::Error;

/// Values per bit-packed block.
pub const BLOCK_LEN: usize = BitPacker4x::BLOCK_LEN;

/// Which postings codec an index uses (a byte in the index header). Only one exists; the
/// byte lets another be added later without a new index version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostingsCodec {
    Bitpacked = 1,
}

impl PostingsCodec {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(PostingsCodec::Bitpacked),
            _ => None,
        }
    }
}

/// Why a postings list could not be decoded. Offsets are within the list's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PostingsError {
    #[error("postings: malformed varint at offset {offset}")]
    BadVarint { offset: usize },
    #[error("postings: claims {count} entries, more than the {max} allowed here")]
    TooMany { count: u64, max: u64 },
    #[error("postings: block at offset {offset} has bit width {bits} (max 32)")]
    BadBitWidth { offset: usize, bits: u8 },
    #[error("postings: data ends at offset {offset} inside a block or entry")]
    Truncated { offset: usize },
    #[error("postings: entry {index} ({value}) is not above the previous one ({prev})")]
    NotIncreasing { index: usize, value: u32, prev: u32 },
    #[error("postings: {extra} trailing bytes after the last entry")]
    Trailing { extra: usize },
}

/// Encodes strictly increasing `ids`. The caller guarantees the order (the index writer
/// builds lists in series order); a debug assertion checks it.
pub fn encode(codec: PostingsCodec, ids: &[u32], out: &mut Vec<u8>) {
    debug_assert!(ids.windows(2).all(|w| w[0] < w[1]), "postings must be strictly increasing");
    match codec {
        PostingsCodec::Bitpacked => encode_bitpacked(ids, out),
    }
}

/// Decodes a list, checking it is strictly increasing and holds at most `count_max` entries
/// (the caller passes the number of series, which caps allocation).
pub fn decode(codec: PostingsCodec, bytes: &[u8], count_max: u64) -> Result<Vec<u32>, PostingsError> {
    match codec {
        PostingsCodec::Bitpacked => decode_bitpacked(bytes, count_max),
    }
}

fn encode_bitpacked(ids: &[u32], out: &mut Vec<u8>) {
    put_uvarint(out, ids.len() as u64);
    let packer = BitPacker4x::new();
    let mut prev: Option<u32> = None;
    let mut blocks = ids.chunks_exact(BLOCK_LEN);
    let mut buf = [0u8; 4 * BLOCK_LEN];
    for block in blocks.by_ref() {
        let bits = packer.num_bits_strictly_sorted(prev, block);
        let n = packer.compress_strictly_sorted(prev, block, &mut buf, bits);
        out.push(bits);
        out.extend_from_slice(&buf[..n]);
        prev = block.last().copied();
    }
    for &id in blocks.remainder() {
        // The first entry of a list without blocks is stored as is; others as gaps.
        let gap = match prev {
            None => u64::from(id),
            Some(p) => u64::from(id - p),
        };
        put_uvarint(out, gap);
        prev = Some(id);
    }
}

fn decode_bitpacked(bytes: &[u8], count_max: u64) -> Result<Vec<u32>, PostingsError> {
    let (count, mut pos) = read_uvarint(bytes).map_err(|_| PostingsError::BadVarint { offset: 0 })?;
    if count > count_max {
        return Err(PostingsError::TooMany { count, max: count_max });
    }
    let count = count as usize;
    // Each full block takes at least its width byte; each tail entry at least one byte.
    let cap = count.min(bytes.len().saturating_mul(BLOCK_LEN));
    let mut out: Vec<u32> = Vec::with_capacity(cap);
    let packer = BitPacker4x::new();
    let mut prev: Option<u32> = None;
    let mut block = [0u32; BLOCK_LEN];
    for _ in 0..count / BLOCK_LEN {
        let at = pos;
        let Some(&bits) = bytes.get(pos) else {
            return Err(PostingsError::Truncated { offset: at });
        };
        if bits > 32 {
            return Err(PostingsError::BadBitWidth { offset: at, bits });
        }
        let len = BitPacker4x::compressed_block_size(bits);
        let Some(data) = bytes.get(pos + 1..pos + 1 + len) else {
            return Err(PostingsError::Truncated { offset: at });
        };
        packer.decompress_strictly_sorted(prev, data, &mut block, bits);
        check_increasing(prev, &block, out.len())?;
        out.extend_from_slice(&block);
        prev = block.last().copied();
        pos += 1 + len;
    }
    for _ in 0..count % BLOCK_LEN {
        let at = pos;
        let (gap, n) = read_uvarint(&bytes[pos.min(bytes.len())..])
            .map_err(|_| PostingsError::BadVarint { offset: at })?;
        pos += n;
        let value = match prev {
            None => u32::try_from(gap).ok(),
            Some(p) => u32::try_from(gap).ok().filter(|g| *g > 0).and_then(|g| p.checked_add(g)),
        };
        let Some(value) = value else {
            return Err(PostingsError::NotIncreasing {
                index: out.len(),
                value: gap.min(u64::from(u32::MAX)) as u32,
                prev: prev.unwrap_or(0),
            });
        };
        out.push(value);
        prev = Some(value);
    }
    if pos != bytes.len() {
        return Err(PostingsError::Trailing { extra: bytes.len() - pos });
    }
    Ok(out)
}

fn check_increasing(prev: Option<u32>, block: &[u32], base: usize) -> Result<(), PostingsError> {
    let mut p = prev;
    for (i, &v) in block.iter().enumerate() {
        if let Some(pv) = p
            && v <= pv
        {
            return Err(PostingsError::NotIncreasing { index: base + i, value: v, prev: pv });
        }
        p = Some(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> Vec<Vec<u32>> {
        vec![
            vec![],
            vec![0],
            vec![u32::MAX],
            (0..127).collect(),
            (0..128).collect(),
            (0..129).collect(),
            (5..1000).step_by(7).collect(),
            (0..300)
                .map(|i| i * 1_000_003 % 4_000_000_000)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            vec![0, u32::MAX],
        ]
    }

    #[test]
    fn both_codecs_round_trip() {
        for codec in [PostingsCodec::Bitpacked] {
            for l in lists() {
                let mut b = Vec::new();
                encode(codec, &l, &mut b);
                assert_eq!(decode(codec, &b, u64::MAX).unwrap(), l, "{codec:?}");
                if !l.is_empty() {
                    assert!(matches!(
                        decode(codec, &b, l.len() as u64 - 1),
                        Err(PostingsError::TooMany { .. })
                    ));
                }
            }
        }
    }

    #[test]
    fn bitpacked_rejects_bad_input() {
        let l: Vec<u32> = (0..200).map(|i| i * 3).collect();
        let mut b = Vec::new();
        encode(PostingsCodec::Bitpacked, &l, &mut b);
        // Width byte of the first block (after the 2-byte count varint).
        let mut bad = b.clone();
        bad[2] = 33;
        assert_eq!(
            decode(PostingsCodec::Bitpacked, &bad, u64::MAX),
            Err(PostingsError::BadBitWidth { offset: 2, bits: 33 })
        );
        for cut in 0..b.len() {
            assert!(decode(PostingsCodec::Bitpacked, &b[..cut], u64::MAX).is_err(), "cut {cut}");
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(
            decode(PostingsCodec::Bitpacked, &long, u64::MAX),
            Err(PostingsError::Trailing { extra: 1 })
        );
        // A zero gap in the tail is a repeat.
        let mut rep = Vec::new();
        put_uvarint(&mut rep, 2);
        rep.extend([5, 0]);
        assert!(matches!(
            decode(PostingsCodec::Bitpacked, &rep, 10),
            Err(PostingsError::NotIncreasing { index: 1, .. })
        ));
    }
}
