//! Writing one block: series in label order go in, XOR chunks of at most
//! [`CHUNK_SAMPLES`] samples are cut and streamed to segment files as segments fill, the
//! index and `meta.json` are written last, every file and directory is fsynced, and the
//! directory is published atomically ([`super::publish_block_dir`]). Owns no decision about
//! *which* data goes into a block (head persistence, compaction and import decide).

use super::{CHUNKS_DIR, INDEX_FILE, META_FILE, TMP_CREATION, new_ulid, publish_block_dir, segment_name};
use crate::storage::dir::sync_dir;
use crate::storage::error::StorageError;
use cairn_format::block::chunks::{ChunkSegmentWriter, ENCODING_XOR};
use cairn_format::block::index::{ChunkMeta, IndexWriter};
use cairn_format::block::meta::{BlockCompaction, BlockDesc, BlockMeta, BlockStats, META_VERSION, Ulid};
use cairn_format::{Labels, Sample, XorEncoder};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Samples per chunk in a block (Prometheus's target).
pub const CHUNK_SAMPLES: usize = 120;
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
        })
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
            let mut enc = XorEncoder::new();
            for s in part {
                enc.append(s.t, s.v);
            }
            let r = self
                .chunks
                .write_chunk(ENCODING_XOR, enc.bytes())
                .map_err(|e| StorageError::InvalidBlockInput(e.to_string()))?;
            metas.push(ChunkMeta { mint: first, maxt: last, chunk_ref: r });
        }
        for l in labels.iter() {
            if !self.symbols.contains(l.name.as_str()) {
                self.symbols.insert(l.name.clone());
            }
            if !self.symbols.contains(l.value.as_str()) {
                self.symbols.insert(l.value.clone());
            }
        }
        self.stats.num_series += 1;
        self.stats.num_samples += samples.len() as u64;
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
