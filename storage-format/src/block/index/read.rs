//! Serving lookups from index bytes (format: `../index.md`). `IndexReader::new` checks the
//! header, the table of contents and section bounds; each section's CRC is checked on its
//! first use, each series entry's and postings list's CRC on every read. Never panics on
//! any input. Building is `write.rs`.

use super::postings::{self, PostingsCodec};
use super::{
    CRC_LEN, ChunkMeta, INDEX_HEADER_LEN, INDEX_MAGIC, INDEX_VERSION, IndexError, LABEL_NAME_ENTRY_LEN,
    POSTINGS_ENTRY_LEN, SEC_LABEL_NAMES, SEC_POSTINGS, SEC_POSTINGS_TABLE, SEC_SERIES, SEC_SERIES_OFFSETS,
    SEC_SYMBOLS, SECTION_COUNT, SECTION_NAMES, SeriesEntry, SeriesId, TOC_LEN,
};
use crate::block::chunks::BlockChunkRef;
use crate::labels::{Label, Labels};
use crate::varint::{read_uvarint, read_varint};
use std::cmp::Ordering;
use std::sync::OnceLock;

/// Sections with a CRC of their own after the body (the others checksum each item).
const HAS_SECTION_CRC: [bool; SECTION_COUNT] = [true, false, true, false, true, true];

/// Read access to one index. Cheap to share between threads (`Sync`).
#[derive(Debug)]
pub struct IndexReader<'a> {
    b: &'a [u8],
    codec: PostingsCodec,
    /// (offset, length without the section CRC) per section.
    sections: [(usize, usize); SECTION_COUNT],
    num_symbols: u32,
    num_series: u32,
    num_pairs: u32,
    num_names: u32,
    verified: [OnceLock<Result<(), IndexError>>; SECTION_COUNT],
}

fn be_u32(b: &[u8], pos: usize) -> Option<u32> {
    b.get(pos..)?.first_chunk::<4>().map(|x| u32::from_be_bytes(*x))
}

fn be_u64(b: &[u8], pos: usize) -> Option<u64> {
    b.get(pos..)?.first_chunk::<8>().map(|x| u64::from_be_bytes(*x))
}

/// Checks the CRC stored right after `body_at..body_at+len`.
fn check_crc(b: &[u8], body_at: usize, len: usize, what: &'static str) -> Result<(), IndexError> {
    let offset = body_at as u64;
    let (Some(body), Some(stored)) = (b.get(body_at..body_at + len), be_u32(b, body_at + len)) else {
        return Err(IndexError::Corrupt { section: what, offset, what: "runs past the end of the file" });
    };
    let computed = crc32c::crc32c(body);
    // Under cargo-fuzz, checksums are not enforced so mutations reach the parsers behind them.
    if stored != computed && !cfg!(fuzzing) {
        return Err(IndexError::Checksum { what, offset, stored, computed });
    }
    Ok(())
}

impl<'a> IndexReader<'a> {
    /// Checks header, table of contents (with its CRC) and that every section lies inside the
    /// file with consistent counts. Section CRCs are checked later, on first use.
    pub fn new(b: &'a [u8]) -> Result<Self, IndexError> {
        let len = b.len();
        if len < INDEX_HEADER_LEN + TOC_LEN {
            return Err(IndexError::TooShort { len });
        }
        let magic = be_u32(b, 0).unwrap_or(0);
        if magic != INDEX_MAGIC {
            return Err(IndexError::BadMagic { found: magic });
        }
        if b[4] != INDEX_VERSION {
            return Err(IndexError::UnknownVersion { version: b[4] });
        }
        let Some(codec) = PostingsCodec::from_byte(b[5]) else {
            return Err(IndexError::UnknownPostingsCodec { codec: b[5] });
        };
        let toc_at = len - TOC_LEN;
        check_crc(b, toc_at, TOC_LEN - CRC_LEN, "table of contents")?;

        let mut sections = [(0usize, 0usize); SECTION_COUNT];
        let mut prev_end = INDEX_HEADER_LEN as u64;
        for (i, sec) in sections.iter_mut().enumerate() {
            let entry_at = toc_at + 16 * i;
            let off = be_u64(b, entry_at).unwrap_or(u64::MAX);
            let slen = be_u64(b, entry_at + 8).unwrap_or(u64::MAX);
            let crc_len = if HAS_SECTION_CRC[i] { CRC_LEN as u64 } else { 0 };
            let end = off.checked_add(slen).and_then(|e| e.checked_add(crc_len));
            match end {
                Some(end) if off >= prev_end && end <= toc_at as u64 => prev_end = end,
                _ => {
                    return Err(IndexError::Corrupt {
                        section: SECTION_NAMES[i],
                        offset: entry_at as u64,
                        what: "table of contents places the section outside the file or out of order",
                    });
                }
            }
            *sec = (off as usize, slen as usize);
        }

        let count = |sec: usize, entry_len: usize, exact: bool| -> Result<u32, IndexError> {
            let (off, slen) = sections[sec];
            let bad = |what| IndexError::Corrupt { section: SECTION_NAMES[sec], offset: off as u64, what };
            let n = if slen >= 4 { be_u32(b, off) } else { None }.ok_or(bad("too short for its count"))?;
            let need = 4 + n as usize * entry_len;
            if (exact && need != slen) || (!exact && need > slen) {
                return Err(bad("length does not match its entry count"));
            }
            Ok(n)
        };
        let num_symbols = count(SEC_SYMBOLS, 4, false)?;
        let num_series = count(SEC_SERIES_OFFSETS, 8, true)?;
        let num_pairs = count(SEC_POSTINGS_TABLE, POSTINGS_ENTRY_LEN, true)?;
        let num_names = count(SEC_LABEL_NAMES, LABEL_NAME_ENTRY_LEN, true)?;
        Ok(IndexReader {
            b,
            codec,
            sections,
            num_symbols,
            num_series,
            num_pairs,
            num_names,
            verified: Default::default(),
        })
    }

    /// Checks a section's CRC once; later calls return the remembered result.
    fn verify(&self, sec: usize) -> Result<(), IndexError> {
        if !HAS_SECTION_CRC[sec] {
            return Ok(());
        }
        self.verified[sec]
            .get_or_init(|| {
                let (off, len) = self.sections[sec];
                check_crc(self.b, off, len, SECTION_NAMES[sec])
            })
            .clone()
    }

    fn corrupt(&self, sec: usize, offset: usize, what: &'static str) -> IndexError {
        IndexError::Corrupt { section: SECTION_NAMES[sec], offset: offset as u64, what }
    }

    pub fn num_series(&self) -> u32 {
        self.num_series
    }

    pub fn num_symbols(&self) -> u32 {
        self.num_symbols
    }

    /// The symbol with reference `id` (symbols are sorted, so ids order like the strings).
    pub fn symbol(&self, id: u32) -> Result<&'a str, IndexError> {
        self.verify(SEC_SYMBOLS)?;
        if id >= self.num_symbols {
            return Err(IndexError::NoSuchSymbol { id, count: self.num_symbols });
        }
        let (off, len) = self.sections[SEC_SYMBOLS];
        let end = off + len;
        let strings = off + 4 + 4 * self.num_symbols as usize;
        let at = off + 4 + 4 * id as usize;
        let rel =
            be_u32(self.b, at).ok_or_else(|| self.corrupt(SEC_SYMBOLS, at, "symbol offset past the end"))?;
        let pos = strings.saturating_add(rel as usize);
        let area = self
            .b
            .get(pos..end)
            .ok_or_else(|| self.corrupt(SEC_SYMBOLS, at, "symbol offset past the end"))?;
        let (slen, n) =
            read_uvarint(area).map_err(|_| self.corrupt(SEC_SYMBOLS, pos, "bad symbol length"))?;
        let bytes = usize::try_from(slen)
            .ok()
            .and_then(|l| area.get(n..n.checked_add(l)?))
            .ok_or_else(|| self.corrupt(SEC_SYMBOLS, pos, "symbol runs past the section end"))?;
        std::str::from_utf8(bytes).map_err(|_| self.corrupt(SEC_SYMBOLS, pos, "symbol is not UTF-8"))
    }

    /// The reference of symbol `s`, if present (binary search).
    pub fn lookup_symbol(&self, s: &str) -> Result<Option<u32>, IndexError> {
        let (mut lo, mut hi) = (0u32, self.num_symbols);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.symbol(mid)?.cmp(s) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(Some(mid)),
            }
        }
        Ok(None)
    }

    /// The series at `id`, with labels resolved and its chunk metas.
    pub fn series(&self, id: SeriesId) -> Result<SeriesEntry, IndexError> {
        let SeriesId(i) = id;
        if i >= self.num_series {
            return Err(IndexError::NoSuchSeries { id: i, count: self.num_series });
        }
        self.verify(SEC_SERIES_OFFSETS)?;
        let at = self.sections[SEC_SERIES_OFFSETS].0 + 4 + 8 * i as usize;
        let off =
            be_u64(self.b, at).ok_or_else(|| self.corrupt(SEC_SERIES_OFFSETS, at, "entry past the end"))?;
        let (s_off, s_len) = self.sections[SEC_SERIES];
        let s_end = s_off + s_len;
        let bad = |what| self.corrupt(SEC_SERIES, off as usize, what);
        if off < s_off as u64 || off >= s_end as u64 {
            return Err(bad("series offset outside the series section"));
        }
        let off = off as usize;
        let area = &self.b[off..s_end];
        let (blen, n) = read_uvarint(area).map_err(|_| bad("bad entry length"))?;
        let blen = usize::try_from(blen).map_err(|_| bad("entry runs past the section end"))?;
        if blen > area.len() - n || area.len() - n - blen < CRC_LEN {
            return Err(bad("entry runs past the section end"));
        }
        check_crc(self.b, off + n, blen, "series entry")?;
        let body = &area[n..n + blen];
        self.parse_series(body, off)
    }

    fn parse_series(&self, body: &[u8], off: usize) -> Result<SeriesEntry, IndexError> {
        let bad = |what| self.corrupt(SEC_SERIES, off, what);
        let mut pos = 0usize;
        let uv = |pos: &mut usize| -> Result<u64, IndexError> {
            let (v, n) =
                read_uvarint(body.get(*pos..).unwrap_or(&[])).map_err(|_| bad("bad varint in entry"))?;
            *pos += n;
            Ok(v)
        };
        let nlabels = uv(&mut pos)?;
        if nlabels > body.len() as u64 / 2 {
            return Err(bad("label count larger than the entry"));
        }
        let mut labels = Vec::with_capacity(nlabels as usize);
        let mut prev_name: Option<&str> = None;
        for _ in 0..nlabels {
            let name = uv(&mut pos)?;
            let value = uv(&mut pos)?;
            let sym = |r: u64| -> Result<&'a str, IndexError> {
                let r = u32::try_from(r).map_err(|_| bad("symbol reference out of range"))?;
                self.symbol(r)
            };
            let name = sym(name)?;
            if prev_name.is_some_and(|p| p >= name) {
                return Err(bad("label names not strictly increasing"));
            }
            prev_name = Some(name);
            labels.push(Label::new(name, sym(value)?));
        }
        let nchunks = uv(&mut pos)?;
        if nchunks > body.len() as u64 / 3 {
            return Err(bad("chunk count larger than the entry"));
        }
        let mut chunks: Vec<ChunkMeta> = Vec::with_capacity(nchunks as usize);
        for _ in 0..nchunks {
            let (d_mint, n) =
                read_varint(body.get(pos..).unwrap_or(&[])).map_err(|_| bad("bad varint in entry"))?;
            pos += n;
            let span = uv(&mut pos)?;
            let c = match chunks.last() {
                None => {
                    let r = uv(&mut pos)?;
                    ChunkMeta {
                        mint: d_mint,
                        maxt: d_mint.wrapping_add(span as i64),
                        chunk_ref: BlockChunkRef::from_u64(r),
                    }
                }
                Some(p) => {
                    let (d_ref, n) = read_varint(body.get(pos..).unwrap_or(&[]))
                        .map_err(|_| bad("bad varint in entry"))?;
                    pos += n;
                    let mint = p.maxt.wrapping_add(d_mint);
                    ChunkMeta {
                        mint,
                        maxt: mint.wrapping_add(span as i64),
                        chunk_ref: BlockChunkRef::from_u64(p.chunk_ref.as_u64().wrapping_add(d_ref as u64)),
                    }
                }
            };
            chunks.push(c);
        }
        if pos != body.len() {
            return Err(bad("trailing bytes in entry"));
        }
        Ok(SeriesEntry { labels: Labels::from_sorted(labels), chunks })
    }

    /// Postings table entry `i`: (name ref, value ref, list offset, list length, count).
    fn pair(&self, i: u32) -> Result<(u32, u32, u64, u32, u32), IndexError> {
        let at = self.sections[SEC_POSTINGS_TABLE].0 + 4 + POSTINGS_ENTRY_LEN * i as usize;
        let e = self
            .b
            .get(at..at + POSTINGS_ENTRY_LEN)
            .ok_or_else(|| self.corrupt(SEC_POSTINGS_TABLE, at, "entry past the end"))?;
        let u32_at = |k: usize| u32::from_be_bytes([e[k], e[k + 1], e[k + 2], e[k + 3]]);
        let off = u64::from_be_bytes([e[8], e[9], e[10], e[11], e[12], e[13], e[14], e[15]]);
        Ok((u32_at(0), u32_at(4), off, u32_at(16), u32_at(20)))
    }

    /// Series ids having label `name="value"`, ascending. Empty if the pair does not exist.
    pub fn postings(&self, name: &str, value: &str) -> Result<Vec<SeriesId>, IndexError> {
        self.verify(SEC_POSTINGS_TABLE)?;
        let (Some(n), Some(v)) = (self.lookup_symbol(name)?, self.lookup_symbol(value)?) else {
            return Ok(Vec::new());
        };
        let (mut lo, mut hi) = (0u32, self.num_pairs);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (pn, pv, off, len, count) = self.pair(mid)?;
            match (pn, pv).cmp(&(n, v)) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return self.read_list(off, len, count),
            }
        }
        Ok(Vec::new())
    }

    fn read_list(&self, off: u64, len: u32, count: u32) -> Result<Vec<SeriesId>, IndexError> {
        let (p_off, p_len) = self.sections[SEC_POSTINGS];
        let end = off.checked_add(u64::from(len)).and_then(|e| e.checked_add(CRC_LEN as u64));
        if off < p_off as u64 || end.is_none_or(|e| e > (p_off + p_len) as u64) {
            return Err(self.corrupt(SEC_POSTINGS, off as usize, "list outside the postings section"));
        }
        let off = off as usize;
        check_crc(self.b, off, len as usize, "postings list")?;
        let ids = postings::decode(self.codec, &self.b[off..off + len as usize], u64::from(self.num_series))
            .map_err(|source| IndexError::Postings { offset: off as u64, source })?;
        if ids.len() != count as usize {
            return Err(self.corrupt(SEC_POSTINGS, off, "list length differs from the table's count"));
        }
        if ids.last().is_some_and(|&last| last >= self.num_series) {
            return Err(self.corrupt(SEC_POSTINGS, off, "list names a series past the last"));
        }
        Ok(ids.into_iter().map(SeriesId).collect())
    }

    /// Label names entry `i`: (name ref, first postings table entry, value count).
    fn name_entry(&self, i: u32) -> Result<(u32, u32, u32), IndexError> {
        let at = self.sections[SEC_LABEL_NAMES].0 + 4 + LABEL_NAME_ENTRY_LEN * i as usize;
        let get =
            |k| be_u32(self.b, at + k).ok_or_else(|| self.corrupt(SEC_LABEL_NAMES, at, "entry past the end"));
        Ok((get(0)?, get(4)?, get(8)?))
    }

    /// Every label name in the index, sorted.
    pub fn label_names(&self) -> Result<Vec<&'a str>, IndexError> {
        self.verify(SEC_LABEL_NAMES)?;
        (0..self.num_names).map(|i| self.symbol(self.name_entry(i)?.0)).collect()
    }

    /// Every value of label `name`, sorted. Empty if the name does not exist.
    pub fn label_values(&self, name: &str) -> Result<Vec<&'a str>, IndexError> {
        self.verify(SEC_LABEL_NAMES)?;
        self.verify(SEC_POSTINGS_TABLE)?;
        let Some(n) = self.lookup_symbol(name)? else {
            return Ok(Vec::new());
        };
        let (mut lo, mut hi) = (0u32, self.num_names);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (en, first, count) = self.name_entry(mid)?;
            match en.cmp(&n) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => {
                    let at = self.sections[SEC_LABEL_NAMES].0 + 4 + LABEL_NAME_ENTRY_LEN * mid as usize;
                    let end = first.checked_add(count).filter(|e| *e <= self.num_pairs);
                    let Some(end) = end else {
                        return Err(self.corrupt(
                            SEC_LABEL_NAMES,
                            at,
                            "values range outside the postings table",
                        ));
                    };
                    let mut out = Vec::with_capacity(count as usize);
                    for i in first..end {
                        let (pn, pv, ..) = self.pair(i)?;
                        if pn != n {
                            return Err(self.corrupt(
                                SEC_LABEL_NAMES,
                                at,
                                "values range covers another name",
                            ));
                        }
                        out.push(self.symbol(pv)?);
                    }
                    return Ok(out);
                }
            }
        }
        Ok(Vec::new())
    }

    /// Checks everything: every section CRC, every series entry and every postings list.
    pub fn verify_all(&self) -> Result<(), IndexError> {
        for sec in 0..SECTION_COUNT {
            self.verify(sec)?;
        }
        let mut prev: Option<&str> = None;
        for i in 0..self.num_symbols {
            let s = self.symbol(i)?;
            if prev.is_some_and(|p| p >= s) {
                return Err(self.corrupt(
                    SEC_SYMBOLS,
                    self.sections[SEC_SYMBOLS].0,
                    "symbols not strictly sorted",
                ));
            }
            prev = Some(s);
        }
        for i in 0..self.num_series {
            self.series(SeriesId(i))?;
        }
        for i in 0..self.num_pairs {
            let (_, _, off, len, count) = self.pair(i)?;
            self.read_list(off, len, count)?;
        }
        self.label_names()?;
        Ok(())
    }
}
