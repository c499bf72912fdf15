//! Blocks on disk: one immutable directory per time range, opened read-only. Owns the
//! on-disk layout of a block directory, opening one ([`Block::open`]: `meta.json` parsed,
//! index mapped and its table of contents checked, chunk segments mapped but not read), the
//! atomic publication of a new block directory, and error mapping (every corruption error
//! names the block directory, the file and the byte offset). Writing is `write.rs`, reading
//! series is `read.rs`, planning and running merges is `compact.rs`; the `Db` glue (head →
//! block, retention, deletion) is `../persist.rs`. Byte formats are `cairn_format::block`.
//!
//! ```text
//! <data>/<ULID>/meta.json        BlockMeta (min_time inclusive, max_time exclusive)
//! <data>/<ULID>/index            symbols, series + chunk metas, postings (index.md)
//! <data>/<ULID>/chunks/000001    chunk segments, 1-based file names (chunks.md)
//! <data>/<ULID>/tombstones       deleted intervals per index series id (tombstones.md)
//! <data>/<ULID>.tmp-for-creation a block being written (removed at open)
//! <data>/<ULID>.tmp-for-deletion a block being removed (removed at open)
//! ```

pub mod compact;
pub mod read;
pub mod write;

use super::dir::{publish_file, sync_dir};
use super::error::StorageError;
use cairn_format::block::chunks::{ChunkFileError, ChunkSegmentReader};
use cairn_format::block::index::{IndexError, IndexReader};
use cairn_format::block::meta::{BlockMeta, Ulid};
use cairn_format::block::tombstones::{Tombstones, TombstonesError};
use memmap2::Mmap;
use parking_lot::RwLock;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const META_FILE: &str = "meta.json";
pub const INDEX_FILE: &str = "index";
pub const CHUNKS_DIR: &str = "chunks";
pub const TOMBSTONES_FILE: &str = "tombstones";
pub const TMP_CREATION: &str = ".tmp-for-creation";
pub const TMP_DELETION: &str = ".tmp-for-deletion";

/// File name of chunk segment `i` (0-based index, 1-based name as Prometheus).
pub fn segment_name(i: u64) -> String {
    format!("{:06}", i + 1)
}

/// The index mapping and a reader borrowing it. Declared reader-first so the reader is
/// dropped before the mapping it borrows.
struct MappedIndex {
    reader: IndexReader<'static>,
    _map: Option<Mmap>,
}

impl MappedIndex {
    fn open(path: &Path) -> Result<MappedIndex, StorageError> {
        let f = File::open(path).map_err(|e| StorageError::io(path, e))?;
        let len = f.metadata().map_err(|e| StorageError::io(path, e))?.len();
        if len == 0 {
            let reader = IndexReader::new(&[]).map_err(|e| index_err(path, e))?;
            return Ok(MappedIndex { reader, _map: None });
        }
        // SAFETY: the file is mapped read-only; block files are never modified after they
        // are published (new data goes to new blocks, deletion unlinks whole directories, and
        // an unlinked file stays mapped intact). Another process truncating the file would
        // be outside our contract, like for every mmap-based database.
        let map = unsafe { Mmap::map(&f) }.map_err(|e| StorageError::io(path, e))?;
        // SAFETY: `bytes` points into the mapping, whose address does not change when the
        // `Mmap` value moves; the mapping lives in `_map` as long as `reader`, and `reader`
        // is declared first so it is dropped first. The `'static` never escapes this struct:
        // `reader()` hands it out with the lifetime of `&self`.
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(map.as_ptr(), map.len()) };
        let reader = IndexReader::new(bytes).map_err(|e| index_err(path, e))?;
        Ok(MappedIndex { reader, _map: Some(map) })
    }

    fn reader<'a>(&'a self) -> &'a IndexReader<'a> {
        &self.reader
    }
}

/// One open block. Shared as `Arc<Block>`; queries keep it alive while a compaction or
/// retention removes its directory (mapped files survive unlinking).
pub struct Block {
    pub meta: BlockMeta,
    pub dir: PathBuf,
    index: MappedIndex,
    segments: Vec<Mmap>,
    tombstones: RwLock<Arc<Tombstones>>,
    size_bytes: u64,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block").field("dir", &self.dir).field("meta", &self.meta).finish()
    }
}

pub(crate) fn index_err(path: &Path, e: IndexError) -> StorageError {
    let offset = match &e {
        IndexError::TooShort { .. } => 0,
        IndexError::BadMagic { .. } => 0,
        IndexError::UnknownVersion { .. } => 4,
        IndexError::UnknownPostingsCodec { .. } => 5,
        IndexError::Checksum { offset, .. } => *offset,
        IndexError::Corrupt { offset, .. } => *offset,
        IndexError::NoSuchSeries { .. } | IndexError::NoSuchSymbol { .. } => 0,
        IndexError::Postings { offset, .. } => *offset,
    };
    StorageError::Corrupt { file: path.to_path_buf(), offset, reason: e.to_string() }
}

pub(crate) fn chunk_err(block_dir: &Path, e: ChunkFileError) -> StorageError {
    let (segment, offset) = match &e {
        ChunkFileError::RefOverflow { segment, offset } => (*segment, *offset),
        ChunkFileError::SegmentTooShort { segment, .. }
        | ChunkFileError::BadMagic { segment, .. }
        | ChunkFileError::UnknownVersion { segment, .. } => (u64::from(*segment), 0),
        ChunkFileError::NoSuchSegment { segment, .. } => (u64::from(*segment), 0),
        ChunkFileError::BadOffset { segment, offset, .. }
        | ChunkFileError::Truncated { segment, offset, .. }
        | ChunkFileError::BadLength { segment, offset }
        | ChunkFileError::Checksum { segment, offset, .. } => (u64::from(*segment), u64::from(*offset)),
        ChunkFileError::TooManySegments { .. } => (0, 0),
    };
    StorageError::Corrupt {
        file: block_dir.join(CHUNKS_DIR).join(segment_name(segment)),
        offset,
        reason: e.to_string(),
    }
}

fn tombstones_err(path: &Path, e: TombstonesError) -> StorageError {
    StorageError::Corrupt { file: path.to_path_buf(), offset: 0, reason: e.to_string() }
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

impl Block {
    /// Opens the block in `dir`: parses `meta.json`, maps the index (header and table of
    /// contents checked; section checksums are checked on first use) and the chunk segments
    /// (headers checked, chunks not read), and loads the tombstones.
    pub fn open(dir: &Path) -> Result<Block, StorageError> {
        let meta_path = dir.join(META_FILE);
        let bytes = fs::read(&meta_path).map_err(|e| StorageError::io(&meta_path, e))?;
        let meta = BlockMeta::from_json(&bytes)
            .map_err(|e| StorageError::BadMeta { file: meta_path.clone(), reason: e.to_string() })?;
        let index = MappedIndex::open(&dir.join(INDEX_FILE))?;
        let chunks_dir = dir.join(CHUNKS_DIR);
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        let rd = fs::read_dir(&chunks_dir).map_err(|e| StorageError::io(&chunks_dir, e))?;
        for e in rd {
            let e = e.map_err(|e| StorageError::io(&chunks_dir, e))?;
            let name = e.file_name();
            let Some(n) = name.to_str().and_then(|s| s.parse::<u64>().ok()) else { continue };
            names.push((n, e.path()));
        }
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for (i, (n, path)) in names.iter().enumerate() {
            if *n != i as u64 + 1 {
                return Err(StorageError::Corrupt {
                    file: path.clone(),
                    offset: 0,
                    reason: format!("chunk segment numbering has a gap: expected {}", segment_name(i as u64)),
                });
            }
            let f = File::open(path).map_err(|e| StorageError::io(path, e))?;
            // SAFETY: read-only mapping of an immutable, published block file (see
            // `MappedIndex::open`).
            let map = unsafe { Mmap::map(&f) }.map_err(|e| StorageError::io(path, e))?;
            cairn_format::block::chunks::check_segment_header(i as u32, &map)
                .map_err(|e| chunk_err(dir, e))?;
            segments.push(map);
        }
        let ts_path = dir.join(TOMBSTONES_FILE);
        let tombstones = match fs::read(&ts_path) {
            Ok(b) => Tombstones::decode(&b).map_err(|e| tombstones_err(&ts_path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Tombstones::new(),
            Err(e) => return Err(StorageError::io(&ts_path, e)),
        };
        Ok(Block {
            meta,
            dir: dir.to_path_buf(),
            index,
            segments,
            tombstones: RwLock::new(Arc::new(tombstones)),
            size_bytes: dir_size(dir),
        })
    }

    pub fn ulid(&self) -> Ulid {
        self.meta.ulid
    }

    pub fn min_time(&self) -> i64 {
        self.meta.min_time
    }

    /// Exclusive end of the block's range.
    pub fn max_time(&self) -> i64 {
        self.meta.max_time
    }

    /// Bytes of every file in the block directory (as of opening).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    pub fn index(&self) -> &IndexReader<'_> {
        self.index.reader()
    }

    pub(crate) fn chunk_reader(&self) -> Result<ChunkSegmentReader<'_>, StorageError> {
        ChunkSegmentReader::new(self.segments.iter().map(|m| &m[..]).collect())
            .map_err(|e| chunk_err(&self.dir, e))
    }

    /// Bytes of all chunk segment files.
    pub fn chunk_bytes(&self) -> u64 {
        self.segments.iter().map(|m| m.len() as u64).sum()
    }

    pub fn tombstones(&self) -> Arc<Tombstones> {
        self.tombstones.read().clone()
    }

    /// Replaces the tombstones file (atomically) and the in-memory copy.
    pub(crate) fn set_tombstones(&self, t: Tombstones) -> Result<(), StorageError> {
        let mut guard = self.tombstones.write();
        if t.is_empty() {
            let p = self.dir.join(TOMBSTONES_FILE);
            match fs::remove_file(&p) {
                Ok(()) => sync_dir(&self.dir)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::io(&p, e)),
            }
        } else {
            publish_file(&self.dir, TOMBSTONES_FILE, &t.encode())?;
        }
        *guard = Arc::new(t);
        Ok(())
    }

    /// Checks every checksum of the index and of every chunk, and decodes every chunk
    /// (reads everything).
    pub fn verify(&self) -> Result<(), StorageError> {
        self.index().verify_all().map_err(|e| index_err(&self.dir.join(INDEX_FILE), e))?;
        self.chunk_encodings().map(|_| ())
    }

    /// Walks every chunk of every segment (CRC checked, payload decoded) and counts the
    /// chunks per encoding byte.
    pub fn chunk_encodings(&self) -> Result<std::collections::BTreeMap<u8, u64>, StorageError> {
        let cr = self.chunk_reader()?;
        let mut counts = std::collections::BTreeMap::new();
        let mut scratch = Vec::new();
        for seg in 0..cr.num_segments() {
            for c in cr.iter_segment(seg as u32) {
                let (r, c) = c.map_err(|e| chunk_err(&self.dir, e))?;
                scratch.clear();
                cairn_format::block::dchunk::decode_block_chunk(c.encoding, c.data, &mut scratch)
                    .map_err(|e| self.bad_chunk(r, e))?;
                *counts.entry(c.encoding).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }
}

/// Moves a fully written and fsynced block from `tmp` to `<parent>/<ulid>` and fsyncs
/// `parent`: the one way a block directory appears. A crash leaves either no block or the
/// complete one (plus a `tmp` leftover removed at the next open).
pub fn publish_block_dir(parent: &Path, tmp: &Path, ulid: Ulid) -> Result<PathBuf, StorageError> {
    let dst = parent.join(ulid.to_string());
    fs::rename(tmp, &dst).map_err(|e| StorageError::io(&dst, e))?;
    sync_dir(parent)?;
    Ok(dst)
}

/// Removes a block directory crash-safely: rename to `<ulid>.tmp-for-deletion` (atomic),
/// fsync the parent, then delete the files. A crash leaves a leftover removed at open.
pub fn remove_block_dir(dir: &Path) -> Result<(), StorageError> {
    let Some(parent) = dir.parent() else { return Ok(()) };
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else { return Ok(()) };
    let tmp = parent.join(format!("{name}{TMP_DELETION}"));
    fs::rename(dir, &tmp).map_err(|e| StorageError::io(dir, e))?;
    sync_dir(parent)?;
    fs::remove_dir_all(&tmp).map_err(|e| StorageError::io(&tmp, e))
}

/// A fresh ULID for a new block: the wall clock plus 80 bits mixed from the clock's
/// nanoseconds, the pid and a process-wide counter (unique within and across processes).
pub fn new_ulid() -> Ulid {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = [now.as_nanos() as u64, u64::from(std::process::id()), c];
    let mut b = Vec::with_capacity(24);
    for x in seed {
        b.extend_from_slice(&x.to_le_bytes());
    }
    let r = xxhash_rust::xxh3::xxh3_128(&b);
    Ulid::from_parts(now.as_millis() as u64, r)
}

/// Blocks opened, and block directories that failed to open with their errors.
pub type OpenedBlocks = (Vec<Arc<Block>>, Vec<(PathBuf, StorageError)>);

/// Opens every block directory under `data`, removing leftovers of interrupted writes and
/// deletions and blocks superseded by a completed compaction (their ULID is a parent of
/// another block). A block that fails to open is reported in the second list and skipped:
/// the rest of the database stays usable.
pub fn open_all(data: &Path) -> Result<OpenedBlocks, StorageError> {
    let mut blocks = Vec::new();
    let mut broken = Vec::new();
    let rd = fs::read_dir(data).map_err(|e| StorageError::io(data, e))?;
    let mut dirs = Vec::new();
    for e in rd {
        let e = e.map_err(|e| StorageError::io(data, e))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = e.path();
        if name.ends_with(TMP_CREATION) || name.ends_with(TMP_DELETION) {
            tracing::info!(dir = %path.display(), "removing leftover of an interrupted block write or deletion");
            fs::remove_dir_all(&path).map_err(|e| StorageError::io(&path, e))?;
            continue;
        }
        if name.parse::<Ulid>().is_ok() && path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    for d in dirs {
        match Block::open(&d) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e) => {
                tracing::error!(dir = %d.display(), error = %e, "block cannot be opened; skipping it");
                broken.push((d, e));
            }
        }
    }
    let parents: std::collections::HashSet<Ulid> =
        blocks.iter().flat_map(|b| b.meta.compaction.parents.iter().map(|p| p.ulid)).collect();
    let mut keep = Vec::with_capacity(blocks.len());
    for b in blocks {
        if parents.contains(&b.ulid()) {
            tracing::info!(dir = %b.dir.display(), "removing a block already merged into a newer one");
            remove_block_dir(&b.dir)?;
        } else {
            keep.push(b);
        }
    }
    keep.sort_by_key(|b| (b.min_time(), b.ulid()));
    sync_dir(data)?;
    Ok((keep, broken))
}

#[cfg(test)]
mod tests {
    use super::write::BlockBuilder;
    use super::*;
    use cairn_format::block::chunks::ENCODING_XOR;
    use cairn_format::block::dchunk::ENCODING_DECIMAL;
    use cairn_format::{Labels, Matcher, Sample};

    /// The index reader borrows the mapping inside the same struct (the `unsafe` in
    /// `MappedIndex::open`): moving the block around and unlinking its files must keep
    /// every read valid.
    #[test]
    fn block_survives_moves_and_unlink() {
        let d = tempfile::tempdir().unwrap();
        let mut b = BlockBuilder::new(d.path(), 0, 1000).unwrap();
        for i in 0..50 {
            let l = Labels::from_pairs([("__name__", "m".to_string()), ("i", format!("{i:02}"))]);
            let s: Vec<Sample> = (0..300).map(|t| Sample::new(t * 3, (t * i) as f64)).collect();
            b.add_series(&l, &s).unwrap();
        }
        let (dir, meta) = b.finish(1, Vec::new(), Vec::new()).unwrap().unwrap();
        assert_eq!(meta.stats.num_samples, 50 * 300);
        let block = Block::open(&dir).unwrap();
        let moved = vec![Box::new(block)];
        let arc: Arc<Block> = Arc::from(moved.into_iter().next().unwrap());
        remove_block_dir(&dir).unwrap();
        assert!(!dir.exists());
        let got = arc.select(0, 999, &[Matcher::equal("i", "07")]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.len(), 300);
        assert_eq!(got[0].1[299], Sample::new(897, (299 * 7) as f64));
        arc.verify().unwrap();
        let vals = arc.label_values(0, 999, "i", &[]).unwrap();
        assert_eq!(vals.len(), 50);
    }

    fn scenario() -> Vec<(Labels, Vec<Sample>)> {
        let mut out = Vec::new();
        for i in 0..20 {
            let l = Labels::from_pairs([("__name__", "m".to_string()), ("i", format!("{i:02}"))]);
            let mut c = 0.0f64;
            let s: Vec<Sample> = (0..300)
                .map(|t| {
                    // Decimal counters, float-summed counters, and values that must stay XOR.
                    let v = match i % 4 {
                        0 => (t * i) as f64 / 100.0,
                        1 => {
                            c += 0.1 * i as f64;
                            c
                        }
                        2 if t == 150 => cairn_format::stale_nan(),
                        _ => (t as f64).sqrt(),
                    };
                    Sample::new(t * 3, v)
                })
                .collect();
            out.push((l, s));
        }
        out
    }

    fn write(dir: &Path, enc: write::ChunkEncoding) -> PathBuf {
        let mut b = BlockBuilder::new(dir, 0, 1000).unwrap().with_encoding(enc);
        for (l, s) in scenario() {
            b.add_series(&l, &s).unwrap();
        }
        b.finish(1, Vec::new(), Vec::new()).unwrap().unwrap().0
    }

    fn bits(v: Vec<(Labels, Vec<Sample>)>) -> Vec<(Labels, Vec<(i64, u64)>)> {
        v.into_iter().map(|(l, s)| (l, s.iter().map(|x| (x.t, x.v.to_bits())).collect())).collect()
    }

    /// Blocks written before the decimal encoding (XOR chunks only) read back bit for bit,
    /// verify, and merge with a block of decimal chunks into one that reads the same.
    #[test]
    fn xor_blocks_stay_readable_and_merge_with_decimal_blocks() {
        let d = tempfile::tempdir().unwrap();
        let old = Block::open(&write(d.path(), write::ChunkEncoding::Xor)).unwrap();
        let new = Block::open(&write(d.path(), write::ChunkEncoding::Compact)).unwrap();
        let want = bits(scenario());
        assert_eq!(bits(old.select(0, 999, &[]).unwrap()), want);
        assert_eq!(bits(new.select(0, 999, &[]).unwrap()), want);
        old.verify().unwrap();
        new.verify().unwrap();
        let enc_old = old.chunk_encodings().unwrap();
        let enc_new = new.chunk_encodings().unwrap();
        assert_eq!(enc_old.keys().copied().collect::<Vec<_>>(), vec![ENCODING_XOR]);
        assert!(enc_new.get(&ENCODING_DECIMAL).copied().unwrap_or(0) > 0, "{enc_new:?}");
        assert!(
            enc_new.get(&ENCODING_XOR).copied().unwrap_or(0) > 0,
            "NaN and sqrt chunks stay XOR: {enc_new:?}"
        );
        assert!(new.chunk_bytes() * 2 < old.chunk_bytes(), "{} vs {}", new.chunk_bytes(), old.chunk_bytes());
        let (dir, _) =
            compact::merge_blocks(d.path(), &[Arc::new(old), Arc::new(new)], |_| {}).unwrap().unwrap();
        let merged = Block::open(&dir).unwrap();
        assert_eq!(bits(merged.select(0, 999, &[]).unwrap()), want);
        assert!(merged.chunk_encodings().unwrap().contains_key(&ENCODING_DECIMAL));
    }

    /// A decimal chunk whose payload does not decode (CRC recomputed, so only the decoder can
    /// tell) fails the query and verification with the block, the segment file and the
    /// chunk's offset.
    #[test]
    fn undecodable_decimal_chunk_names_block_file_and_offset() {
        let d = tempfile::tempdir().unwrap();
        let dir = write(d.path(), write::ChunkEncoding::Compact);
        let seg = dir.join(CHUNKS_DIR).join(segment_name(0));
        let mut bytes = fs::read(&seg).unwrap();
        // The first frame: len varint, encoding, data, CRC. Make its sample count 0.
        let (len, n) = cairn_format::varint::read_uvarint(&bytes[8..]).unwrap();
        let enc_at = 8 + n;
        assert_eq!(bytes[enc_at], ENCODING_DECIMAL);
        let data_at = enc_at + 1;
        bytes[data_at] = 0;
        let end = data_at + len as usize;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[bytes[enc_at]]), &bytes[data_at..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        fs::write(&seg, &bytes).unwrap();
        let b = Block::open(&dir).unwrap();
        let e = b.select(0, 999, &[Matcher::equal("i", "00")]).unwrap_err().to_string();
        assert!(e.contains(&seg.display().to_string()) && e.contains("offset 8"), "{e}");
        assert!(e.contains("decimal chunk"), "{e}");
        let e = b.verify().unwrap_err().to_string();
        assert!(e.contains(&seg.display().to_string()) && e.contains("offset 8"), "{e}");
        // Other series still read.
        assert_eq!(b.select(0, 999, &[Matcher::equal("i", "01")]).unwrap().len(), 1);
    }

    #[test]
    fn builder_rejects_out_of_range_and_unsorted_input_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        let mut b = BlockBuilder::new(d.path(), 0, 1000).unwrap();
        let l = Labels::from_pairs([("a", "2")]);
        assert!(b.add_series(&l, &[Sample::new(1000, 1.0)]).is_err());
        b.add_series(&l, &[Sample::new(1, 1.0)]).unwrap();
        assert!(b.add_series(&Labels::from_pairs([("a", "1")]), &[Sample::new(1, 1.0)]).is_err());
        drop(b);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0, "temp dir left behind");
    }
}
