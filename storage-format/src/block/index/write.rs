//! Building index bytes (format: `../index.md`). Owns validation of the writer's input
//! (symbols present, series in label order, chunk metas in order) and the layout of every
//! section. Reading is `read.rs`.

use super::postings::{self, PostingsCodec};
use super::{
    CRC_LEN, ChunkMeta, INDEX_HEADER_LEN, INDEX_MAGIC, INDEX_VERSION, IndexWriteError, LABEL_NAME_ENTRY_LEN,
    POSTINGS_ENTRY_LEN, SECTION_COUNT, SeriesId, TOC_LEN,
};
use crate::labels::Labels;
use crate::varint::{put_uvarint, put_varint};
use std::collections::BTreeMap;

/// The postings codec new indexes use (chosen by measurement; see `index.md`).
pub(crate) const POSTINGS_CODEC: PostingsCodec = PostingsCodec::Bitpacked;

/// Builds an index in memory: give it every symbol first, then the series in label order.
#[derive(Debug)]
pub struct IndexWriter {
    symbols: Vec<String>,
    series: Vec<u8>,
    series_offsets: Vec<u64>,
    postings: BTreeMap<(u32, u32), Vec<u32>>,
    last: Option<Labels>,
}

fn crc(b: &[u8]) -> [u8; 4] {
    crc32c::crc32c(b).to_be_bytes()
}

impl IndexWriter {
    /// `symbols` must contain every label name and value of the series to come; order and
    /// duplicates do not matter (they are sorted and deduplicated).
    pub fn new<S: AsRef<str>>(symbols: impl IntoIterator<Item = S>) -> Result<Self, IndexWriteError> {
        let mut symbols: Vec<String> = symbols.into_iter().map(|s| s.as_ref().to_owned()).collect();
        symbols.sort_unstable();
        symbols.dedup();
        if symbols.len() > u32::MAX as usize {
            return Err(IndexWriteError::TooMany { what: "symbols", max: u64::from(u32::MAX) });
        }
        Ok(IndexWriter {
            symbols,
            series: Vec::new(),
            series_offsets: Vec::new(),
            postings: BTreeMap::new(),
            last: None,
        })
    }

    fn symbol_ref(&self, s: &str) -> Result<u32, IndexWriteError> {
        self.symbols
            .binary_search_by(|x| x.as_str().cmp(s))
            .map(|i| i as u32)
            .map_err(|_| IndexWriteError::MissingSymbol(s.to_owned()))
    }

    /// Adds the next series. Series must come in strictly increasing label order; chunk metas
    /// sorted by `mint`, each with `mint <= maxt`.
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<SeriesId, IndexWriteError> {
        let index = self.series_offsets.len();
        let id = u32::try_from(index)
            .map_err(|_| IndexWriteError::TooMany { what: "series", max: u64::from(u32::MAX) })?;
        if self.last.as_ref().is_some_and(|last| labels <= last) {
            return Err(IndexWriteError::SeriesOutOfOrder { index, labels: labels.to_string() });
        }
        let mut refs = Vec::with_capacity(labels.len());
        let mut prev_name: Option<&str> = None;
        for l in labels.iter() {
            if prev_name.is_some_and(|p| p >= l.name.as_str()) {
                return Err(IndexWriteError::BadLabels {
                    index,
                    labels: labels.to_string(),
                    name: l.name.clone(),
                });
            }
            prev_name = Some(&l.name);
            refs.push((self.symbol_ref(&l.name)?, self.symbol_ref(&l.value)?));
        }
        let mut prev_mint = i64::MIN;
        for (i, c) in chunks.iter().enumerate() {
            if c.maxt < c.mint {
                return Err(IndexWriteError::BadChunkRange { index, chunk: i, mint: c.mint, maxt: c.maxt });
            }
            if c.mint < prev_mint {
                return Err(IndexWriteError::ChunksOutOfOrder {
                    index,
                    chunk: i,
                    mint: c.mint,
                    prev: prev_mint,
                });
            }
            prev_mint = c.mint;
        }

        let mut body = Vec::with_capacity(8 + refs.len() * 4 + chunks.len() * 12);
        put_uvarint(&mut body, refs.len() as u64);
        for (n, v) in &refs {
            put_uvarint(&mut body, u64::from(*n));
            put_uvarint(&mut body, u64::from(*v));
        }
        put_uvarint(&mut body, chunks.len() as u64);
        let mut prev: Option<&ChunkMeta> = None;
        for c in chunks {
            match prev {
                None => {
                    put_varint(&mut body, c.mint);
                    put_uvarint(&mut body, c.maxt.wrapping_sub(c.mint) as u64);
                    put_uvarint(&mut body, c.chunk_ref.as_u64());
                }
                Some(p) => {
                    put_varint(&mut body, c.mint.wrapping_sub(p.maxt));
                    put_uvarint(&mut body, c.maxt.wrapping_sub(c.mint) as u64);
                    put_varint(&mut body, c.chunk_ref.as_u64().wrapping_sub(p.chunk_ref.as_u64()) as i64);
                }
            }
            prev = Some(c);
        }
        self.series_offsets.push(self.series.len() as u64);
        put_uvarint(&mut self.series, body.len() as u64);
        self.series.extend_from_slice(&body);
        self.series.extend_from_slice(&crc(&body));
        for (n, v) in refs {
            self.postings.entry((n, v)).or_default().push(id);
        }
        self.last = Some(labels.clone());
        Ok(SeriesId(id))
    }

    /// Number of series added so far.
    pub fn num_series(&self) -> usize {
        self.series_offsets.len()
    }

    /// The complete index bytes.
    pub fn finish(self) -> Result<Vec<u8>, IndexWriteError> {
        let too_big = |what| IndexWriteError::TooMany { what, max: u64::from(u32::MAX) };
        let mut out = Vec::with_capacity(INDEX_HEADER_LEN + self.series.len() + TOC_LEN + 1024);
        out.extend_from_slice(&INDEX_MAGIC.to_be_bytes());
        out.extend_from_slice(&[INDEX_VERSION, POSTINGS_CODEC as u8, 0, 0]);
        let mut toc = [(0u64, 0u64); SECTION_COUNT];

        // Symbols: count, offsets into the strings area, strings.
        let start = out.len();
        out.extend_from_slice(&(self.symbols.len() as u32).to_be_bytes());
        let mut strings = Vec::new();
        for s in &self.symbols {
            let off = u32::try_from(strings.len()).map_err(|_| too_big("bytes of symbols"))?;
            out.extend_from_slice(&off.to_be_bytes());
            put_uvarint(&mut strings, s.len() as u64);
            strings.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(&strings);
        toc[0] = close_section(&mut out, start);

        // Series entries (each carries its own CRC).
        let series_start = out.len() as u64;
        out.extend_from_slice(&self.series);
        toc[1] = (series_start, self.series.len() as u64);

        // Series offsets: count, absolute offsets.
        let start = out.len();
        out.extend_from_slice(&(self.series_offsets.len() as u32).to_be_bytes());
        for off in &self.series_offsets {
            out.extend_from_slice(&(series_start + off).to_be_bytes());
        }
        toc[2] = close_section(&mut out, start);

        // Postings lists (each followed by its CRC), in (name, value) order.
        let start = out.len();
        let mut table = Vec::with_capacity(self.postings.len());
        let mut list = Vec::new();
        for ((n, v), ids) in &self.postings {
            list.clear();
            postings::encode(POSTINGS_CODEC, ids, &mut list);
            let len = u32::try_from(list.len()).map_err(|_| too_big("bytes in one postings list"))?;
            table.push((*n, *v, out.len() as u64, len, ids.len() as u32));
            out.extend_from_slice(&list);
            out.extend_from_slice(&crc(&list));
        }
        toc[3] = (start as u64, (out.len() - start) as u64);

        // Postings table: fixed-width entries, sorted by (name ref, value ref).
        let start = out.len();
        let count = u32::try_from(table.len()).map_err(|_| too_big("label pairs"))?;
        out.extend_from_slice(&count.to_be_bytes());
        for (n, v, off, len, cnt) in &table {
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(&off.to_be_bytes());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&cnt.to_be_bytes());
        }
        debug_assert_eq!(out.len() - start, 4 + table.len() * POSTINGS_ENTRY_LEN);
        toc[4] = close_section(&mut out, start);

        // Label names: name ref, first postings table entry, number of values.
        let start = out.len();
        let mut names: Vec<(u32, u32, u32)> = Vec::new();
        for (i, (n, ..)) in table.iter().enumerate() {
            match names.last_mut() {
                Some(last) if last.0 == *n => last.2 += 1,
                _ => names.push((*n, i as u32, 1)),
            }
        }
        out.extend_from_slice(&(names.len() as u32).to_be_bytes());
        for (n, first, cnt) in &names {
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&first.to_be_bytes());
            out.extend_from_slice(&cnt.to_be_bytes());
        }
        debug_assert_eq!(out.len() - start, 4 + names.len() * LABEL_NAME_ENTRY_LEN);
        toc[5] = close_section(&mut out, start);

        let toc_start = out.len();
        for (off, len) in toc {
            out.extend_from_slice(&off.to_be_bytes());
            out.extend_from_slice(&len.to_be_bytes());
        }
        let c = crc(&out[toc_start..]);
        out.extend_from_slice(&c);
        debug_assert_eq!(out.len() - toc_start, TOC_LEN);
        Ok(out)
    }
}

/// Appends the CRC of `out[start..]` and returns (offset, length without the CRC).
fn close_section(out: &mut Vec<u8>, start: usize) -> (u64, u64) {
    let len = out.len() - start;
    let c = crc(&out[start..]);
    out.extend_from_slice(&c);
    debug_assert_eq!(c.len(), CRC_LEN);
    (start as u64, len as u64)
}
