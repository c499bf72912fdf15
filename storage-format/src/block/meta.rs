//! A block's `meta.json` (format: `meta.md`, Prometheus-compatible field names) and the ULID
//! that names a block. Owns JSON <-> values and version checks; choosing ULIDs (clock,
//! randomness) and writing the file belong to the storage side.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// The only `meta.json` version this code reads and writes (Prometheus's `metaVersion1`).
pub const META_VERSION: u32 = 1;

/// Crockford base32 alphabet used by ULIDs.
const ULID_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a ULID's text form.
pub const ULID_LEN: usize = 26;

/// A ULID: 48-bit millisecond timestamp then 80 random bits; orders by time first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ulid(pub u128);

impl Ulid {
    /// From a millisecond timestamp (low 48 bits used) and random bits (low 80 bits used).
    pub fn from_parts(timestamp_ms: u64, random: u128) -> Self {
        let ts = u128::from(timestamp_ms & ((1 << 48) - 1));
        Ulid((ts << 80) | (random & ((1u128 << 80) - 1)))
    }

    pub fn timestamp_ms(self) -> u64 {
        (self.0 >> 80) as u64
    }
}

/// Why a ULID string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UlidError {
    #[error("ulid {0:?}: want {ULID_LEN} characters")]
    Length(String),
    #[error("ulid {text:?}: invalid character {ch:?} at position {pos}")]
    Char { text: String, ch: char, pos: usize },
    #[error("ulid {0:?}: value overflows 128 bits (first character above '7')")]
    Overflow(String),
}

impl fmt::Display for Ulid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; ULID_LEN];
        for (i, c) in out.iter_mut().enumerate() {
            let shift = 5 * (ULID_LEN - 1 - i);
            *c = ULID_ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        // The alphabet is ASCII, so this is always valid UTF-8.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Ulid {
    type Err = UlidError;

    /// Case-insensitive. Crockford's aliases (I, L, O) and 'U' are rejected, as by the strict
    /// parser of Go's oklog/ulid that Prometheus uses.
    fn from_str(s: &str) -> Result<Self, UlidError> {
        if s.len() != ULID_LEN {
            return Err(UlidError::Length(s.to_owned()));
        }
        let mut v: u128 = 0;
        for (pos, ch) in s.chars().enumerate() {
            let up = ch.to_ascii_uppercase();
            let Some(d) = ULID_ALPHABET.iter().position(|&a| char::from(a) == up) else {
                return Err(UlidError::Char { text: s.to_owned(), ch, pos });
            };
            if pos == 0 && d > 7 {
                return Err(UlidError::Overflow(s.to_owned()));
            }
            v = (v << 5) | d as u128;
        }
        Ok(Ulid(v))
    }
}

impl Serialize for Ulid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ulid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Counts of what a block holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    #[serde(default)]
    pub num_samples: u64,
    #[serde(default)]
    pub num_series: u64,
    #[serde(default)]
    pub num_chunks: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

fn is_false(x: &bool) -> bool {
    !*x
}

/// A block a compacted block was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    pub ulid: Ulid,
    pub min_time: i64,
    pub max_time: i64,
}

/// Compaction history: level 1 for a block cut from the head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockCompaction {
    pub level: u32,
    /// ULIDs of the level-1 blocks this block's data came from.
    #[serde(default)]
    pub sources: Vec<Ulid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    /// Set when a compaction of this block failed; such a block is not compacted again.
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
    /// Set when the block may be deleted (e.g. it holds no samples after deletes).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletable: bool,
}

/// The contents of `meta.json`. `max_time` is exclusive, as in Prometheus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    pub ulid: Ulid,
    pub min_time: i64,
    pub max_time: i64,
    #[serde(default)]
    pub stats: BlockStats,
    pub compaction: BlockCompaction,
    pub version: u32,
}

/// Why `meta.json` bytes were rejected.
#[derive(Debug, Error)]
pub enum MetaError {
    #[error("meta.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("meta.json: unknown version {version} (this build reads {META_VERSION})")]
    UnknownVersion { version: u32 },
    #[error("meta.json: minTime {min_time} is after maxTime {max_time}")]
    BadTimeRange { min_time: i64, max_time: i64 },
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<u32>,
}

impl BlockMeta {
    /// Indented JSON with a trailing newline. Unknown-to-Prometheus fields are never written.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Parses and validates: the version is checked before the other fields, so a future
    /// layout is reported as a version error; fields this build does not know are ignored.
    pub fn from_json(bytes: &[u8]) -> Result<BlockMeta, MetaError> {
        let v: VersionOnly = serde_json::from_slice(bytes)?;
        match v.version {
            Some(META_VERSION) => {}
            Some(version) => return Err(MetaError::UnknownVersion { version }),
            None => return Err(MetaError::UnknownVersion { version: 0 }),
        }
        let m: BlockMeta = serde_json::from_slice(bytes)?;
        if m.min_time > m.max_time {
            return Err(MetaError::BadTimeRange { min_time: m.min_time, max_time: m.max_time });
        }
        Ok(m)
    }
}
