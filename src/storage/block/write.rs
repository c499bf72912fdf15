//! Writing one block: series in label order go in — as samples (cut into chunks of at most
//! [`CHUNK_SAMPLES`], each encoded as a decimal chunk where its values allow and as XOR
//! otherwise, see `cairn_format::block::dchunk`) or as ready XOR chunks (checked, then
//! re-encoded; copied verbatim by a builder in [`ChunkEncoding::Xor`] mode) — chunks are
//! streamed to segment files as segments fill, the
//! index and `meta.json` are written last, every file and directory is fsynced, and the
//! directory is published atomically ([`super::publish_block_dir`]). Owns no decision about
//! *which* data goes into a block (head persistence, compaction and import decide).

use super::{CHUNKS_DIR, INDEX_FILE, META_FILE, TMP_CREATION, new_ulid, publish_block_dir, segment_name};
use crate::storage::dir::sync_dir;
use crate::storage::error::StorageError;
use cairn_format::block::chunks::{ChunkSegmentWriter, ENCODING_XOR};
use cairn_format::block::dchunk::encode_block_chunk;
use cairn_format::block::index::{ChunkMeta, IndexWriter};
use cairn_format::block::meta::{BlockCompaction, BlockDesc, BlockMeta, BlockStats, META_VERSION, Ulid};
use cairn_format::{Labels, Sample, XorEncoder};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Samples per chunk in a block (Prometheus's target).
pub const CHUNK_SAMPLES: usize = 120;

/// How a builder encodes the chunks it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChunkEncoding {
    /// Decimal chunks where every value of a chunk is `m × 10^e`, XOR otherwise (the default).
    #[default]
    Compact,
    /// XOR chunks only, as Prometheus and Cairn before the decimal encoding wrote them
    /// (kept for compatibility tests and as a fallback).
    Xor,
}
/// Segment size limit when writing. Smaller than Prometheus's 512 MiB because the segment
/// being filled is held in memory until it is full (bounds a block write's memory).
pub const SEGMENT_BYTES: usize = 64 << 20;

/// Builds one block in `<parent>/<ulid>.tmp-for-creation`. Dropping it without
/// [`finish`](Self::finish) removes the temporary directory.
pub struct BlockBuilder {
    parent: PathBuf,
    tmp: PathBuf,
    ulid: Ulid,
    mint: i64,
    maxt: i64,
    chunks: ChunkSegmentWriter,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    symbols: BTreeSet<String>,
    stats: BlockStats,
    finished: bool,
    encoding: ChunkEncoding,
    scratch: Vec<u8>,
}

impl Drop for BlockBuilder {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

fn write_synced(path: &Path, data: &[u8]) -> Result<(), StorageError> {
    let mut f = File::create(path).map_err(|e| StorageError::io(path, e))?;
    f.write_all(data).and_then(|_| f.sync_all()).map_err(|e| StorageError::io(path, e))
}

impl BlockBuilder {
    /// A builder for a block covering `[mint, maxt)` in directory `parent`.
    pub fn new(parent: &Path, mint: i64, maxt: i64) -> Result<BlockBuilder, StorageError> {
        let ulid = new_ulid();
        let tmp = parent.join(format!("{ulid}{TMP_CREATION}"));
        let chunks = tmp.join(CHUNKS_DIR);
        fs::create_dir_all(&chunks).map_err(|e| StorageError::io(&chunks, e))?;
        Ok(BlockBuilder {
            parent: parent.to_path_buf(),
            tmp,
            ulid,
            mint,
            maxt,
            chunks: ChunkSegmentWriter::new(SEGMENT_BYTES),
            series: Vec::new(),
            symbols: BTreeSet::new(),
            stats: BlockStats::default(),
            finished: false,
            encoding: ChunkEncoding::default(),
            scratch: Vec::new(),
        })
    }

    /// Sets how chunks are encoded from now on.
    pub fn with_encoding(mut self, encoding: ChunkEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    pub fn ulid(&self) -> Ulid {
        self.ulid
    }

    /// Adds the next series (strictly after the previous one in label order) with its
    /// samples, sorted by time with unique timestamps, all inside `[mint, maxt)`. A series
    /// without samples is skipped.
    pub fn add_series(&mut self, labels: &Labels, samples: &[Sample]) -> Result<(), StorageError> {
        if samples.is_empty() {
            return Ok(());
        }
        if let Some((prev, _)) = self.series.last()
            && prev >= labels
        {
            return Err(StorageError::InvalidBlockInput(format!("series {labels} is not after {prev}")));
        }
        let mut metas = Vec::with_capacity(samples.len().div_ceil(CHUNK_SAMPLES));
        for part in samples.chunks(CHUNK_SAMPLES) {
            let (first, last) = (part[0].t, part[part.len() - 1].t);
            if first < self.mint || last >= self.maxt {
                return Err(StorageError::InvalidBlockInput(format!(
                    "series {labels}: samples [{first}, {last}] outside the block range [{}, {})",
                    self.mint, self.maxt
                )));
            }
            let r = match self.encoding {
                ChunkEncoding::Compact => {
                    let enc = encode_block_chunk(part, &mut self.scratch);
                    self.chunks.write_chunk(enc, &self.scratch)
                }
                ChunkEncoding::Xor => {
                    let mut enc = XorEncoder::new();
                    for s in part {
                        enc.append(s.t, s.v);
                    }
                    self.chunks.write_chunk(ENCODING_XOR, enc.bytes())
                }
            }
            .map_err(|e| StorageError::InvalidBlockInput(e.to_string()))?;
            metas.push(ChunkMeta { mint: first, maxt: last, chunk_ref: r });
        }
        self.push_series(labels, metas, samples.len() as u64)
    }

    /// Adds the next series as ready-made XOR chunks (e.g. the head's): copied verbatim in
    /// [`ChunkEncoding::Xor`] mode, re-encoded like [`add_series`](Self::add_series) otherwise.
    /// Returns `Ok(false)` without adding anything when a chunk does not decode, is empty,
    /// holds a sample outside the block range, or the chunks are not in strictly increasing
    /// time order: the caller then falls back to [`add_series`](Self::add_series).
    pub fn add_series_chunks(&mut self, labels: &Labels, chunks: &[&[u8]]) -> Result<bool, StorageError> {
        let mut spans = Vec::with_capacity(chunks.len());
        let mut prev = i64::MIN;
        let mut samples = 0u64;
        let compact = self.encoding == ChunkEncoding::Compact;
        let mut all = Vec::new();
        for c in chunks {
            let Ok(mut it) = cairn_format::XorIter::new(c) else { return Ok(false) };
            let (mut first, mut last, mut n) = (None, i64::MIN, 0u64);
            for s in it.by_ref() {
                if compact {
                    all.push(s);
                }
                if s.t <= last || s.t < self.mint || s.t >= self.maxt || s.t <= prev {
                    return Ok(false);
                }
                first.get_or_insert(s.t);
                last = s.t;
                n += 1;
            }
            let Some(first) = first else { return Ok(false) };
            if it.err().is_some() {
                return Ok(false);
            }
            prev = last;
            samples += n;
            spans.push((first, last));
        }
        if spans.is_empty() {
            return Ok(true);
        }
        if compact {
            self.add_series(labels, &all)?;
            return Ok(true);
        }
        if let Some((prev, _)) = self.series.last()
            && prev >= labels
        {
            return Err(StorageError::InvalidBlockInput(format!("series {labels} is not after {prev}")));
        }
        let mut metas = Vec::with_capacity(chunks.len());
        for (c, (first, last)) in chunks.iter().zip(spans) {
            let r = self
                .chunks
                .write_chunk(ENCODING_XOR, c)
                .map_err(|e| StorageError::InvalidBlockInput(e.to_string()))?;
            metas.push(ChunkMeta { mint: first, maxt: last, chunk_ref: r });
        }
        self.push_series(labels, metas, samples)?;
        Ok(true)
    }

    fn push_series(
        &mut self,
        labels: &Labels,
        metas: Vec<ChunkMeta>,
        samples: u64,
    ) -> Result<(), StorageError> {
        for l in labels.iter() {
            if !self.symbols.contains(l.name.as_str()) {
                self.symbols.insert(l.name.clone());
            }
            if !self.symbols.contains(l.value.as_str()) {
                self.symbols.insert(l.value.clone());
            }
        }
        self.stats.num_series += 1;
        self.stats.num_samples += samples;
        self.stats.num_chunks += metas.len() as u64;
        self.series.push((labels.clone(), metas));
        for (i, seg) in self.chunks.take_completed() {
            write_synced(&self.tmp.join(CHUNKS_DIR).join(segment_name(i)), &seg)?;
        }
        Ok(())
    }

    pub fn num_series(&self) -> u64 {
        self.stats.num_series
    }

    pub fn num_samples(&self) -> u64 {
        self.stats.num_samples
    }

    /// Writes the rest and publishes the block. Returns `None` (and leaves nothing behind)
    /// when no series had samples.
    pub fn finish(
        mut self,
        level: u32,
        sources: Vec<Ulid>,
        parents: Vec<BlockDesc>,
    ) -> Result<Option<(PathBuf, BlockMeta)>, StorageError> {
        if self.series.is_empty() {
            return Ok(None);
        }
        let chunks_dir = self.tmp.join(CHUNKS_DIR);
        let writer = std::mem::replace(&mut self.chunks, ChunkSegmentWriter::new(SEGMENT_BYTES));
        for (i, seg) in writer.finish() {
            write_synced(&chunks_dir.join(segment_name(i)), &seg)?;
        }
        sync_dir(&chunks_dir)?;
        let bad =
            |e: cairn_format::block::index::IndexWriteError| StorageError::InvalidBlockInput(e.to_string());
        let mut iw = IndexWriter::new(std::mem::take(&mut self.symbols)).map_err(bad)?;
        for (labels, metas) in &self.series {
            iw.add_series(labels, metas).map_err(bad)?;
        }
        write_synced(&self.tmp.join(INDEX_FILE), &iw.finish().map_err(bad)?)?;
        let sources = if sources.is_empty() { vec![self.ulid] } else { sources };
        let meta = BlockMeta {
            ulid: self.ulid,
            min_time: self.mint,
            max_time: self.maxt,
            stats: self.stats.clone(),
            compaction: BlockCompaction { level, sources, parents, failed: false, deletable: false },
            version: META_VERSION,
        };
        write_synced(&self.tmp.join(META_FILE), &meta.to_json())?;
        sync_dir(&self.tmp)?;
        let dst = publish_block_dir(&self.parent, &self.tmp, self.ulid)?;
        self.finished = true;
        Ok(Some((dst, meta)))
    }
}
