//! The tombstones file of a block (format: `tombstones.md`, Prometheus-compatible): deleted
//! time ranges per series. Owns the bytes and interval merging; knows nothing of how deletes
//! are requested or applied to queries.

use crate::varint::{put_uvarint, put_varint, read_uvarint, read_varint};
use std::collections::BTreeMap;
use thiserror::Error;

/// First 4 bytes of the file (big-endian), as in Prometheus.
pub const TOMBSTONES_MAGIC: u32 = 0x0130_BA30;
/// The only version this code reads and writes.
pub const TOMBSTONES_VERSION: u8 = 1;
/// Magic (4) + version (1).
pub const TOMBSTONES_HEADER_LEN: usize = 5;
/// CRC32C of the entries, at the end.
pub const TOMBSTONES_CRC_LEN: usize = 4;

/// A deleted time range, both ends inclusive (milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub mint: i64,
    pub maxt: i64,
}

impl Interval {
    pub fn new(mint: i64, maxt: i64) -> Self {
        Interval { mint, maxt }
    }

    pub fn contains(&self, t: i64) -> bool {
        self.mint <= t && t <= self.maxt
    }
}

/// Deleted intervals per series reference. Intervals of one series are kept sorted and
/// merged (overlapping or adjacent ranges become one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tombstones {
    by_series: BTreeMap<u64, Vec<Interval>>,
}

/// Why tombstone bytes could not be read. Offsets are byte offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TombstonesError {
    #[error("tombstones: {len} bytes, shorter than header + checksum ({} bytes)", TOMBSTONES_HEADER_LEN + TOMBSTONES_CRC_LEN)]
    TooShort { len: usize },
    #[error("tombstones: bad magic {found:#010x} at offset 0 (want {TOMBSTONES_MAGIC:#010x})")]
    BadMagic { found: u32 },
    #[error(
        "tombstones: unknown format version {version} at offset 4 (this build reads {TOMBSTONES_VERSION})"
    )]
    UnknownVersion { version: u8 },
    #[error(
        "tombstones: checksum mismatch over bytes {TOMBSTONES_HEADER_LEN}..{end} (stored {stored:#010x}, computed {computed:#010x})"
    )]
    Checksum { end: usize, stored: u32, computed: u32 },
    #[error("tombstones: malformed {field} varint at offset {offset}")]
    BadVarint { field: &'static str, offset: usize },
    #[error("tombstones: entry at offset {offset} has mint {mint} after maxt {maxt}")]
    BadInterval { offset: usize, mint: i64, maxt: i64 },
}

impl Tombstones {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deleted range for `series`, merging it with overlapping or adjacent ones.
    /// A range with `mint > maxt` is ignored.
    pub fn add(&mut self, series: u64, iv: Interval) {
        if iv.mint > iv.maxt {
            return;
        }
        let list = self.by_series.entry(series).or_default();
        let at = list.partition_point(|x| x.mint < iv.mint);
        list.insert(at, iv);
        // Merge in place: the list was sorted and merged before, so one pass suffices.
        let mut out: Vec<Interval> = Vec::with_capacity(list.len());
        for x in list.drain(..) {
            match out.last_mut() {
                Some(last) if x.mint <= last.maxt.saturating_add(1) => last.maxt = last.maxt.max(x.maxt),
                _ => out.push(x),
            }
        }
        *list = out;
    }

    /// Deleted intervals of one series, sorted and merged.
    pub fn get(&self, series: u64) -> &[Interval] {
        self.by_series.get(&series).map_or(&[], Vec::as_slice)
    }

    /// All series with tombstones, in ascending reference order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[Interval])> {
        self.by_series.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.by_series.is_empty()
    }

    /// Number of intervals over all series.
    pub fn num_intervals(&self) -> usize {
        self.by_series.values().map(Vec::len).sum()
    }

    /// The file bytes: header, one entry per interval in ascending (series, mint) order, CRC.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(TOMBSTONES_HEADER_LEN + TOMBSTONES_CRC_LEN + 8 * self.num_intervals());
        b.extend_from_slice(&TOMBSTONES_MAGIC.to_be_bytes());
        b.push(TOMBSTONES_VERSION);
        for (series, list) in &self.by_series {
            for iv in list {
                put_uvarint(&mut b, *series);
                put_varint(&mut b, iv.mint);
                put_varint(&mut b, iv.maxt);
            }
        }
        let crc = crc32c::crc32c(&b[TOMBSTONES_HEADER_LEN..]);
        b.extend_from_slice(&crc.to_be_bytes());
        b
    }

    /// Reads the file bytes, checking magic, version and CRC before parsing entries. Entries
    /// may come in any order (Prometheus writes them in map order); they are merged per series.
    pub fn decode(bytes: &[u8]) -> Result<Tombstones, TombstonesError> {
        let len = bytes.len();
        if len < TOMBSTONES_HEADER_LEN + TOMBSTONES_CRC_LEN {
            return Err(TombstonesError::TooShort { len });
        }
        let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if magic != TOMBSTONES_MAGIC {
            return Err(TombstonesError::BadMagic { found: magic });
        }
        if bytes[4] != TOMBSTONES_VERSION {
            return Err(TombstonesError::UnknownVersion { version: bytes[4] });
        }
        let end = len - TOMBSTONES_CRC_LEN;
        let body = &bytes[TOMBSTONES_HEADER_LEN..end];
        let stored = u32::from_be_bytes([bytes[end], bytes[end + 1], bytes[end + 2], bytes[end + 3]]);
        let computed = crc32c::crc32c(body);
        // Under cargo-fuzz, checksums are not enforced so mutations reach the parsers behind them.
        if stored != computed && !cfg!(fuzzing) {
            return Err(TombstonesError::Checksum { end, stored, computed });
        }
        let mut t = Tombstones::new();
        let mut pos = 0;
        while pos < body.len() {
            let entry_at = TOMBSTONES_HEADER_LEN + pos;
            let (series, n) = read_uvarint(&body[pos..]).map_err(|_| TombstonesError::BadVarint {
                field: "series ref",
                offset: TOMBSTONES_HEADER_LEN + pos,
            })?;
            pos += n;
            let (mint, n) = read_varint(&body[pos..]).map_err(|_| TombstonesError::BadVarint {
                field: "mint",
                offset: TOMBSTONES_HEADER_LEN + pos,
            })?;
            pos += n;
            let (maxt, n) = read_varint(&body[pos..]).map_err(|_| TombstonesError::BadVarint {
                field: "maxt",
                offset: TOMBSTONES_HEADER_LEN + pos,
            })?;
            pos += n;
            if mint > maxt {
                return Err(TombstonesError::BadInterval { offset: entry_at, mint, maxt });
            }
            t.add(series, Interval::new(mint, maxt));
        }
        Ok(t)
    }
}
