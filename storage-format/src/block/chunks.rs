//! Chunk segment files of a block (format: `chunks.md`): the header, chunk framing with
//! CRC32C, `BlockChunkRef` packing, a writer that fills in-memory segments up to a size limit
//! and a reader over segment bytes that validates CRCs. Owns no files: the storage side names,
//! writes and maps segments. Chunk payloads are opaque here (see `xor.rs` for XOR chunks).

use crate::varint::{UVARINT_LEN_MAX, encode_uvarint, read_uvarint};
use thiserror::Error;

/// First 4 bytes of every segment (big-endian), as in Prometheus.
pub const SEGMENT_MAGIC: u32 = 0x85BD_40DD;
/// The only segment layout version this code reads and writes.
pub const SEGMENT_VERSION: u8 = 1;
/// Magic (4) + version (1) + padding (3).
pub const SEGMENT_HEADER_LEN: usize = 8;
const _: () = assert!(SEGMENT_HEADER_LEN == 4 + 1 + 3);

/// Default segment size limit, as Prometheus: 512 MiB.
pub const SEGMENT_BYTES_DEFAULT: usize = 512 << 20;
/// Largest segment limit accepted: offsets in a `BlockChunkRef` are 32 bits.
pub const SEGMENT_BYTES_MAX: usize = u32::MAX as usize;

/// CRC32C trailer of each chunk.
pub const CHUNK_CRC_LEN: usize = 4;
/// Encoding byte of an XOR float chunk (Prometheus `chunkenc.EncXOR`).
pub const ENCODING_XOR: u8 = 1;

/// Reference to a chunk in a block: segment index (0-based, in the order segments were
/// written) in the upper 32 bits, byte offset of the chunk's frame in the lower 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockChunkRef(u64);

impl BlockChunkRef {
    /// Packs a reference; fails if either part does not fit 32 bits.
    pub fn new(segment: u64, offset: u64) -> Result<Self, ChunkFileError> {
        if segment > u64::from(u32::MAX) || offset > u64::from(u32::MAX) {
            return Err(ChunkFileError::RefOverflow { segment, offset });
        }
        Ok(BlockChunkRef((segment << 32) | offset))
    }

    pub fn from_u64(raw: u64) -> Self {
        BlockChunkRef(raw)
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    pub fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

/// One chunk as stored: its encoding byte and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkBytes<'a> {
    pub encoding: u8,
    pub data: &'a [u8],
}

/// Why a segment or chunk could not be written or read. Offsets are byte offsets within the
/// named segment (0-based index).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkFileError {
    #[error("chunk ref overflow: segment {segment} / offset {offset} does not fit 32 bits each")]
    RefOverflow { segment: u64, offset: u64 },
    #[error("chunk segment {segment}: {len} bytes, shorter than the {SEGMENT_HEADER_LEN}-byte header")]
    SegmentTooShort { segment: u32, len: usize },
    #[error("chunk segment {segment}: bad magic {found:#010x} at offset 0 (want {SEGMENT_MAGIC:#010x})")]
    BadMagic { segment: u32, found: u32 },
    #[error(
        "chunk segment {segment}: unknown format version {version} at offset 4 (this build reads {SEGMENT_VERSION})"
    )]
    UnknownVersion { segment: u32, version: u8 },
    #[error("chunk ref names segment {segment}, but there are {segments} segments")]
    NoSuchSegment { segment: u32, segments: usize },
    #[error("chunk segment {segment}: offset {offset} is outside the chunk area (segment is {len} bytes)")]
    BadOffset { segment: u32, offset: u32, len: usize },
    #[error("chunk segment {segment}: chunk at offset {offset} runs past the end of the {len}-byte segment")]
    Truncated { segment: u32, offset: u32, len: usize },
    #[error("chunk segment {segment}: chunk length varint at offset {offset} overflows")]
    BadLength { segment: u32, offset: u32 },
    #[error(
        "chunk segment {segment}: checksum mismatch for chunk at offset {offset} \
         (stored {stored:#010x}, computed {computed:#010x})"
    )]
    Checksum { segment: u32, offset: u32, stored: u32, computed: u32 },
    #[error("chunk segment limit reached: more than {max} segments")]
    TooManySegments { max: u64 },
}

fn segment_header() -> [u8; SEGMENT_HEADER_LEN] {
    let m = SEGMENT_MAGIC.to_be_bytes();
    [m[0], m[1], m[2], m[3], SEGMENT_VERSION, 0, 0, 0]
}

/// Checks a segment's header: length, magic and version.
pub fn check_segment_header(segment: u32, bytes: &[u8]) -> Result<(), ChunkFileError> {
    let Some(h) = bytes.first_chunk::<SEGMENT_HEADER_LEN>() else {
        return Err(ChunkFileError::SegmentTooShort { segment, len: bytes.len() });
    };
    let magic = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    if magic != SEGMENT_MAGIC {
        return Err(ChunkFileError::BadMagic { segment, found: magic });
    }
    if h[4] != SEGMENT_VERSION {
        return Err(ChunkFileError::UnknownVersion { segment, version: h[4] });
    }
    Ok(())
}

/// Bytes one chunk takes in a segment: length varint, encoding byte, data, CRC.
pub fn frame_len(data_len: usize) -> usize {
    crate::varint::uvarint_len(data_len as u64) + 1 + data_len + CHUNK_CRC_LEN
}

/// Fills segments in memory. A segment is closed when the next chunk would take it past the
/// limit; a chunk larger than the limit gets a segment of its own.
#[derive(Debug)]
pub struct ChunkSegmentWriter {
    segment_bytes_max: usize,
    /// Segments not yet taken; `first` is the index of `segments[0]`.
    segments: Vec<Vec<u8>>,
    first: u64,
    /// Whether the last segment holds at least one chunk.
    current_has_chunk: bool,
}

impl ChunkSegmentWriter {
    /// A writer whose segments stay at or below `segment_bytes_max` bytes (clamped to
    /// `[SEGMENT_HEADER_LEN + 1, SEGMENT_BYTES_MAX]`), unless a single chunk is larger.
    pub fn new(segment_bytes_max: usize) -> Self {
        ChunkSegmentWriter {
            segment_bytes_max: segment_bytes_max.clamp(SEGMENT_HEADER_LEN + 1, SEGMENT_BYTES_MAX),
            segments: Vec::new(),
            first: 0,
            current_has_chunk: false,
        }
    }

    /// Appends one chunk and returns its reference.
    pub fn write_chunk(&mut self, encoding: u8, data: &[u8]) -> Result<BlockChunkRef, ChunkFileError> {
        let frame = frame_len(data.len());
        let need_new = match self.segments.last() {
            None => true,
            Some(seg) => self.current_has_chunk && seg.len() + frame > self.segment_bytes_max,
        };
        if need_new {
            let index = self.first + self.segments.len() as u64;
            if index > u64::from(u32::MAX) {
                return Err(ChunkFileError::TooManySegments { max: u64::from(u32::MAX) + 1 });
            }
            let mut seg =
                Vec::with_capacity(frame.saturating_add(SEGMENT_HEADER_LEN).min(self.segment_bytes_max));
            seg.extend_from_slice(&segment_header());
            self.segments.push(seg);
            self.current_has_chunk = false;
        }
        let index = self.first + self.segments.len() as u64 - 1;
        let Some(seg) = self.segments.last_mut() else {
            return Err(ChunkFileError::TooManySegments { max: 0 });
        };
        let chunk_ref = BlockChunkRef::new(index, seg.len() as u64)?;
        let mut tmp = [0u8; UVARINT_LEN_MAX];
        let n = encode_uvarint(data.len() as u64, &mut tmp);
        seg.extend_from_slice(&tmp[..n]);
        seg.push(encoding);
        seg.extend_from_slice(data);
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[encoding]), data);
        seg.extend_from_slice(&crc.to_be_bytes());
        self.current_has_chunk = true;
        Ok(chunk_ref)
    }

    /// Segments written so far and not yet taken, with their indexes; the last may still grow.
    pub fn segments(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.segments.iter().enumerate().map(|(i, s)| (self.first + i as u64, s.as_slice()))
    }

    /// Removes and returns the segments that are complete (every one but the current), so the
    /// caller can write them out while chunks keep coming.
    pub fn take_completed(&mut self) -> Vec<(u64, Vec<u8>)> {
        if self.segments.len() <= 1 {
            return Vec::new();
        }
        let keep = self.segments.split_off(self.segments.len() - 1);
        let done = std::mem::replace(&mut self.segments, keep);
        let first = self.first;
        self.first += done.len() as u64;
        done.into_iter().enumerate().map(|(i, s)| (first + i as u64, s)).collect()
    }

    /// Returns every segment not yet taken. A writer that wrote no chunk returns none.
    pub fn finish(self) -> Vec<(u64, Vec<u8>)> {
        let first = self.first;
        self.segments.into_iter().enumerate().map(|(i, s)| (first + i as u64, s)).collect()
    }
}

/// Reads chunks from segment bytes (e.g. memory maps held by the caller).
#[derive(Debug, Clone)]
pub struct ChunkSegmentReader<'a> {
    segments: Vec<&'a [u8]>,
}

impl<'a> ChunkSegmentReader<'a> {
    /// Validates each segment's header; `segments[i]` is segment index `i`.
    pub fn new(segments: Vec<&'a [u8]>) -> Result<Self, ChunkFileError> {
        for (i, s) in segments.iter().enumerate() {
            let index = u32::try_from(i)
                .map_err(|_| ChunkFileError::TooManySegments { max: u64::from(u32::MAX) + 1 })?;
            check_segment_header(index, s)?;
        }
        Ok(ChunkSegmentReader { segments })
    }

    pub fn num_segments(&self) -> usize {
        self.segments.len()
    }

    /// The chunk at `r`, with its CRC checked.
    pub fn chunk(&self, r: BlockChunkRef) -> Result<ChunkBytes<'a>, ChunkFileError> {
        let segment = r.segment();
        let Some(&bytes) = self.segments.get(segment as usize) else {
            return Err(ChunkFileError::NoSuchSegment { segment, segments: self.segments.len() });
        };
        read_frame(segment, bytes, r.offset()).map(|(c, _)| c)
    }

    /// Every chunk of one segment in order, stopping after the first error.
    pub fn iter_segment(&self, segment: u32) -> SegmentChunks<'a> {
        let bytes = self.segments.get(segment as usize).copied();
        SegmentChunks {
            segment,
            bytes,
            offset: SEGMENT_HEADER_LEN as u32,
            failed: false,
            segments: self.segments.len(),
        }
    }
}

/// Reads the frame at `offset`; returns the chunk and the offset just past its CRC.
fn read_frame(segment: u32, bytes: &[u8], offset: u32) -> Result<(ChunkBytes<'_>, usize), ChunkFileError> {
    let len = bytes.len();
    let start = offset as usize;
    if start < SEGMENT_HEADER_LEN || start >= len {
        return Err(ChunkFileError::BadOffset { segment, offset, len });
    }
    let rest = &bytes[start..];
    let (data_len, n) = read_uvarint(rest).map_err(|e| match e {
        crate::varint::VarintError::Truncated { .. } => ChunkFileError::Truncated { segment, offset, len },
        crate::varint::VarintError::Overflow { .. } => ChunkFileError::BadLength { segment, offset },
    })?;
    // Cap the claimed length by what the segment holds before slicing.
    let avail = (rest.len() - n) as u64;
    if data_len > avail || avail - data_len < 1 + CHUNK_CRC_LEN as u64 {
        return Err(ChunkFileError::Truncated { segment, offset, len });
    }
    let data_len = data_len as usize;
    let encoding = rest[n];
    let data = &rest[n + 1..n + 1 + data_len];
    let crc_at = n + 1 + data_len;
    let stored = u32::from_be_bytes([rest[crc_at], rest[crc_at + 1], rest[crc_at + 2], rest[crc_at + 3]]);
    let computed = crc32c::crc32c_append(crc32c::crc32c(&[encoding]), data);
    // Under cargo-fuzz, checksums are not enforced so mutations reach the parsers behind them.
    if stored != computed && !cfg!(fuzzing) {
        return Err(ChunkFileError::Checksum { segment, offset, stored, computed });
    }
    Ok((ChunkBytes { encoding, data }, start + crc_at + CHUNK_CRC_LEN))
}

/// Iterator over the chunks of one segment: `(ref, chunk)` or the first error.
#[derive(Debug, Clone)]
pub struct SegmentChunks<'a> {
    segment: u32,
    bytes: Option<&'a [u8]>,
    offset: u32,
    failed: bool,
    segments: usize,
}

impl<'a> Iterator for SegmentChunks<'a> {
    type Item = Result<(BlockChunkRef, ChunkBytes<'a>), ChunkFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let Some(bytes) = self.bytes else {
            self.failed = true;
            return Some(Err(ChunkFileError::NoSuchSegment {
                segment: self.segment,
                segments: self.segments,
            }));
        };
        if self.offset as usize >= bytes.len() {
            return None;
        }
        let r = BlockChunkRef::new(u64::from(self.segment), u64::from(self.offset));
        let out = r.and_then(|r| {
            let (c, next) = read_frame(self.segment, bytes, self.offset)?;
            self.offset = u32::try_from(next).map_err(|_| ChunkFileError::RefOverflow {
                segment: u64::from(self.segment),
                offset: next as u64,
            })?;
            Ok((r, c))
        });
        if out.is_err() {
            self.failed = true;
        }
        Some(out)
    }
}
