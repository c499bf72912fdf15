//! WAL record payloads: series, samples and tombstones (see `wal.md` for the byte layout).
//! Owns encoding and decoding of one record's payload only; framing is `frame.rs`, files and
//! segments belong to the storage. Decoders bound every count by the bytes left before
//! allocating, so a corrupt count cannot cause a huge allocation.

use crate::labels::{Label, Labels};

/// Record type byte: new series.
pub const RECORD_SERIES: u8 = 1;
/// Record type byte: float samples.
pub const RECORD_SAMPLES: u8 = 2;
/// Record type byte: tombstones (deleted time ranges).
pub const RECORD_TOMBSTONES: u8 = 3;

/// A new series: its reference (as used by later sample records) and its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRecord {
    pub series_ref: u64,
    pub labels: Labels,
}

/// One sample of a series known from an earlier series record.
#[derive(Clone, Copy, Debug)]
pub struct SampleRecord {
    pub series_ref: u64,
    pub t: i64,
    pub v: f64,
}

impl PartialEq for SampleRecord {
    /// Bitwise on the value, so NaN payloads round-trip comparably.
    fn eq(&self, o: &Self) -> bool {
        self.series_ref == o.series_ref && self.t == o.t && self.v.to_bits() == o.v.to_bits()
    }
}

/// Samples of `series_ref` in `[mint, maxt]` (inclusive) are deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TombstoneRecord {
    pub series_ref: u64,
    pub mint: i64,
    pub maxt: i64,
}

/// A decoded record payload.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Series(Vec<SeriesRecord>),
    Samples(Vec<SampleRecord>),
    Tombstones(Vec<TombstoneRecord>),
}

/// Why a record payload could not be decoded. `offset` is within the payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("empty record payload")]
    Empty,
    #[error("unknown record type {0}")]
    UnknownType(u8),
    #[error("record ends early at payload offset {offset} while reading {what}")]
    Short { offset: usize, what: &'static str },
    #[error(
        "record claims {count} entries at payload offset {offset}, more than its {left} remaining bytes allow"
    )]
    CountTooLarge { count: u64, left: usize, offset: usize },
    #[error("label {what} at payload offset {offset} is not valid UTF-8")]
    Utf8 { offset: usize, what: &'static str },
    #[error("varint overflows 64 bits at payload offset {offset}")]
    VarintOverflow { offset: usize },
    #[error("{extra} unexpected trailing bytes after the record")]
    Trailing { extra: usize },
}

// ---- varints -----------------------------------------------------------------------------

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_varint(out: &mut Vec<u8>, x: i64) {
    put_uvarint(out, ((x << 1) ^ (x >> 63)) as u64);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn uvarint(&mut self, what: &'static str) -> Result<u64, RecordError> {
        let start = self.pos;
        let mut x: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(RecordError::Short { offset: start, what });
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(RecordError::VarintOverflow { offset: start });
            }
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(x);
            }
            shift += 7;
            if shift > 63 {
                return Err(RecordError::VarintOverflow { offset: start });
            }
        }
    }

    fn varint(&mut self, what: &'static str) -> Result<i64, RecordError> {
        let u = self.uvarint(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], RecordError> {
        if self.left() < n {
            return Err(RecordError::Short { offset: self.pos, what });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u64_be(&mut self, what: &'static str) -> Result<u64, RecordError> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A count of entries each needing at least `min_entry` bytes.
    fn count(&mut self, min_entry: usize) -> Result<usize, RecordError> {
        let offset = self.pos;
        let count = self.uvarint("entry count")?;
        let left = self.left();
        if count > (left / min_entry) as u64 {
            return Err(RecordError::CountTooLarge { count, left, offset });
        }
        Ok(count as usize)
    }

    fn string(&mut self, what: &'static str) -> Result<String, RecordError> {
        let len = self.uvarint(what)?;
        if len > self.left() as u64 {
            return Err(RecordError::Short { offset: self.pos, what });
        }
        let offset = self.pos;
        let b = self.bytes(len as usize, what)?;
        std::str::from_utf8(b).map(str::to_owned).map_err(|_| RecordError::Utf8 { offset, what })
    }

    fn finish(&self) -> Result<(), RecordError> {
        match self.left() {
            0 => Ok(()),
            extra => Err(RecordError::Trailing { extra }),
        }
    }
}

// ---- encoding ----------------------------------------------------------------------------

/// Appends a series record payload to `out`.
pub fn encode_series(series: &[SeriesRecord], out: &mut Vec<u8>) {
    out.push(RECORD_SERIES);
    put_uvarint(out, series.len() as u64);
    for s in series {
        put_uvarint(out, s.series_ref);
        put_uvarint(out, s.labels.len() as u64);
        for l in &s.labels {
            put_uvarint(out, l.name.len() as u64);
            out.extend_from_slice(l.name.as_bytes());
            put_uvarint(out, l.value.len() as u64);
            out.extend_from_slice(l.value.as_bytes());
        }
    }
}

/// Appends a samples record payload to `out`. References and timestamps are stored as
/// signed deltas from the first entry's, values as raw IEEE-754 bits.
pub fn encode_samples(samples: &[SampleRecord], out: &mut Vec<u8>) {
    out.push(RECORD_SAMPLES);
    put_uvarint(out, samples.len() as u64);
    let Some(first) = samples.first() else { return };
    out.extend_from_slice(&first.series_ref.to_be_bytes());
    out.extend_from_slice(&first.t.to_be_bytes());
    out.reserve(samples.len() * 12);
    for s in samples {
        put_varint(out, s.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(out, s.t.wrapping_sub(first.t));
        out.extend_from_slice(&s.v.to_bits().to_be_bytes());
    }
}

/// Appends a tombstones record payload to `out`.
pub fn encode_tombstones(stones: &[TombstoneRecord], out: &mut Vec<u8>) {
    out.push(RECORD_TOMBSTONES);
    put_uvarint(out, stones.len() as u64);
    for s in stones {
        put_uvarint(out, s.series_ref);
        put_varint(out, s.mint);
        put_varint(out, s.maxt);
    }
}

/// Appends the payload of any record to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    match record {
        Record::Series(s) => encode_series(s, out),
        Record::Samples(s) => encode_samples(s, out),
        Record::Tombstones(s) => encode_tombstones(s, out),
    }
}

// ---- decoding ----------------------------------------------------------------------------

/// Decodes one record payload (as produced by [`encode`]).
pub fn decode(payload: &[u8]) -> Result<Record, RecordError> {
    let (&typ, _) = payload.split_first().ok_or(RecordError::Empty)?;
    let mut r = Reader { buf: payload, pos: 1 };
    let rec = match typ {
        RECORD_SERIES => {
            // ref (1) + label count (1) at least.
            let n = r.count(2)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let series_ref = r.uvarint("series ref")?;
                // name len (1) + value len (1) at least per label.
                let nl = r.count(2)?;
                let mut labels = Vec::with_capacity(nl);
                for _ in 0..nl {
                    let name = r.string("name")?;
                    let value = r.string("value")?;
                    labels.push(Label { name, value });
                }
                out.push(SeriesRecord { series_ref, labels: Labels::from_vec(labels) });
            }
            Record::Series(out)
        }
        RECORD_SAMPLES => {
            // ref delta (1) + t delta (1) + value (8) at least; the base (16) is extra.
            let n = r.count(10)?;
            let mut out = Vec::with_capacity(n);
            if n > 0 {
                let base_ref = r.u64_be("base series ref")?;
                let base_t = r.u64_be("base timestamp")? as i64;
                for _ in 0..n {
                    let dr = r.varint("series ref delta")?;
                    let dt = r.varint("timestamp delta")?;
                    let v = f64::from_bits(r.u64_be("value")?);
                    out.push(SampleRecord {
                        series_ref: base_ref.wrapping_add(dr as u64),
                        t: base_t.wrapping_add(dt),
                        v,
                    });
                }
            }
            Record::Samples(out)
        }
        RECORD_TOMBSTONES => {
            let n = r.count(3)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let series_ref = r.uvarint("series ref")?;
                let mint = r.varint("mint")?;
                let maxt = r.varint("maxt")?;
                out.push(TombstoneRecord { series_ref, mint, maxt });
            }
            Record::Tombstones(out)
        }
        other => return Err(RecordError::UnknownType(other)),
    };
    r.finish()?;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_samples_record() {
        let mut out = Vec::new();
        encode_samples(
            &[
                SampleRecord { series_ref: 5, t: 1000, v: 1.0 },
                SampleRecord { series_ref: 4, t: 1001, v: 2.0 },
            ],
            &mut out,
        );
        let want: Vec<u8> = [
            &[2u8, 2][..],
            &5u64.to_be_bytes(),
            &1000i64.to_be_bytes(),
            &[0, 0],
            &1.0f64.to_bits().to_be_bytes(),
            &[1, 2],
            &2.0f64.to_bits().to_be_bytes(),
        ]
        .concat();
        assert_eq!(out, want);
    }

    #[test]
    fn golden_series_record() {
        let mut out = Vec::new();
        let labels = Labels::from_pairs([("b", "2"), ("a", "xy")]);
        encode_series(&[SeriesRecord { series_ref: 300, labels }], &mut out);
        assert_eq!(out, [1, 1, 0xac, 0x02, 2, 1, b'a', 2, b'x', b'y', 1, b'b', 1, b'2']);
    }

    #[test]
    fn corrupt_counts_do_not_allocate() {
        let mut p = vec![RECORD_SAMPLES];
        put_uvarint(&mut p, u64::MAX / 2);
        assert!(matches!(decode(&p), Err(RecordError::CountTooLarge { .. })));
        assert_eq!(decode(&[]), Err(RecordError::Empty));
        assert_eq!(decode(&[9]), Err(RecordError::UnknownType(9)));
        assert!(matches!(decode(&[1, 1, 1, 1, 5, b'a']), Err(RecordError::Short { .. })));
        assert!(matches!(decode(&[3, 0, 7]), Err(RecordError::Trailing { extra: 1 })));
        let over = [2u8, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert!(decode(&over).is_err());
    }

    fn arb_labels() -> impl Strategy<Value = Labels> {
        proptest::collection::vec(("[a-z_]{1,6}", "\\PC{0,8}"), 0..5).prop_map(Labels::from_pairs)
    }

    proptest! {
        #[test]
        fn round_trip(
            series in proptest::collection::vec((any::<u64>(), arb_labels()), 0..5),
            samples in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 0..20),
            stones in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<i64>()), 0..5),
        ) {
            let recs = vec![
                Record::Series(series.into_iter().map(|(r, l)| SeriesRecord { series_ref: r, labels: l }).collect()),
                Record::Samples(samples.into_iter().map(|(r, t, v)| SampleRecord { series_ref: r, t, v: f64::from_bits(v) }).collect()),
                Record::Tombstones(stones.into_iter().map(|(r, a, b)| TombstoneRecord { series_ref: r, mint: a, maxt: b }).collect()),
            ];
            for rec in recs {
                let mut buf = Vec::new();
                encode(&rec, &mut buf);
                prop_assert_eq!(decode(&buf).unwrap(), rec);
                // Every strict prefix fails cleanly (no panic).
                for cut in 0..buf.len() {
                    let _ = decode(&buf[..cut]);
                }
            }
        }
    }
}
