//! `cairn inspect DIR [--json]`: a read-only report on a data directory's blocks — time
//! ranges, series, samples, chunk and index bytes, bytes per sample, chunks per encoding
//! (every chunk is read, CRC-checked and decoded) — and the metrics and label pairs
//! with the most series (read from each block's index postings). Owns the report and its
//! text/JSON rendering; never modifies the directory (leftovers are not removed, no lock is
//! taken, so it also works beside a running server).

use crate::storage::block::Block;
use cairn_format::METRIC_NAME;
use cairn_format::block::meta::Ulid;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// One block's line of the report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockReport {
    pub ulid: String,
    pub min_time: i64,
    pub max_time: i64,
    pub level: u32,
    pub num_series: u64,
    pub num_samples: u64,
    pub num_chunks: u64,
    pub chunk_bytes: u64,
    pub index_bytes: u64,
    pub size_bytes: u64,
    pub bytes_per_sample: f64,
    pub tombstones: usize,
    /// Chunks per encoding: `xor`, `decimal`, or the encoding byte in hex.
    pub chunks_by_encoding: BTreeMap<String, u64>,
}

fn encoding_name(e: u8) -> String {
    match e {
        cairn_format::block::chunks::ENCODING_XOR => "xor".into(),
        cairn_format::block::dchunk::ENCODING_DECIMAL => "decimal".into(),
        other => format!("{other:#04x}"),
    }
}

/// A name (metric or `name=value` pair) with its series count over all blocks.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    pub name: String,
    pub series: u64,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    pub dir: PathBuf,
    pub blocks: Vec<BlockReport>,
    /// Directories that look like blocks but cannot be opened, with the reason.
    pub broken: Vec<(PathBuf, String)>,
    pub total_samples: u64,
    pub total_chunk_bytes: u64,
    pub bytes_per_sample: f64,
    /// Series counts summed over blocks (a series in two blocks counts twice).
    pub top_metrics: Vec<Count>,
    pub top_label_pairs: Vec<Count>,
    /// Bytes under `wal/` (the head is not inspected).
    pub wal_bytes: u64,
}

fn dir_bytes(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn top(map: HashMap<String, u64>, n: usize) -> Vec<Count> {
    let mut v: Vec<Count> = map.into_iter().map(|(name, series)| Count { name, series }).collect();
    v.sort_by(|a, b| b.series.cmp(&a.series).then_with(|| a.name.cmp(&b.name)));
    v.truncate(n);
    v
}

/// Reads every block of `dir` (read-only). `progress(done, total)` is called per block.
pub fn inspect(
    dir: &Path,
    limit: usize,
    mut progress: impl FnMut(u64, u64),
) -> std::io::Result<InspectReport> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.parse::<Ulid>().is_ok()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut rep = InspectReport {
        dir: dir.to_path_buf(),
        blocks: Vec::new(),
        broken: Vec::new(),
        total_samples: 0,
        total_chunk_bytes: 0,
        bytes_per_sample: 0.0,
        top_metrics: Vec::new(),
        top_label_pairs: Vec::new(),
        wal_bytes: dir_bytes(&dir.join(crate::storage::dir::WAL_DIR)),
    };
    let mut metrics: HashMap<String, u64> = HashMap::new();
    let mut pairs: HashMap<String, u64> = HashMap::new();
    let total = dirs.len() as u64;
    for (i, d) in dirs.iter().enumerate() {
        progress(i as u64, total);
        let b = match Block::open(d) {
            Ok(b) => b,
            Err(e) => {
                rep.broken.push((d.clone(), e.to_string()));
                continue;
            }
        };
        if let Err(e) = count_pairs(&b, &mut metrics, &mut pairs) {
            rep.broken.push((d.clone(), e));
        }
        let chunks_by_encoding = match b.chunk_encodings() {
            Ok(m) => m.into_iter().map(|(e, n)| (encoding_name(e), n)).collect(),
            Err(e) => {
                rep.broken.push((d.clone(), e.to_string()));
                BTreeMap::new()
            }
        };
        let index_bytes = std::fs::metadata(d.join(crate::storage::block::INDEX_FILE)).map_or(0, |m| m.len());
        let m = &b.meta;
        let chunk_bytes = b.chunk_bytes();
        rep.blocks.push(BlockReport {
            ulid: m.ulid.to_string(),
            min_time: m.min_time,
            max_time: m.max_time,
            level: m.compaction.level,
            num_series: m.stats.num_series,
            num_samples: m.stats.num_samples,
            num_chunks: m.stats.num_chunks,
            chunk_bytes,
            index_bytes,
            size_bytes: b.size_bytes(),
            bytes_per_sample: chunk_bytes as f64 / m.stats.num_samples.max(1) as f64,
            tombstones: b.tombstones().num_intervals(),
            chunks_by_encoding,
        });
        rep.total_samples += m.stats.num_samples;
        rep.total_chunk_bytes += chunk_bytes;
    }
    progress(total, total);
    rep.blocks.sort_by_key(|b| (b.min_time, b.ulid.clone()));
    rep.bytes_per_sample = rep.total_chunk_bytes as f64 / rep.total_samples.max(1) as f64;
    rep.top_metrics = top(metrics, limit);
    rep.top_label_pairs = top(pairs, limit);
    Ok(rep)
}

fn count_pairs(
    b: &Block,
    metrics: &mut HashMap<String, u64>,
    pairs: &mut HashMap<String, u64>,
) -> Result<(), String> {
    let ix = b.index();
    let err = |e: cairn_format::block::index::IndexError| e.to_string();
    for name in ix.label_names().map_err(err)? {
        for value in ix.label_values(name).map_err(err)? {
            let n = ix.postings(name, value).map_err(err)?.len() as u64;
            if name == METRIC_NAME {
                *metrics.entry(value.to_owned()).or_default() += n;
            }
            *pairs.entry(format!("{name}={value}")).or_default() += n;
        }
    }
    Ok(())
}

/// Renders the report as text.
pub fn render_text(r: &InspectReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "data directory {}: {} block(s), WAL {} bytes",
        r.dir.display(),
        r.blocks.len(),
        r.wal_bytes
    );
    let _ = writeln!(
        s,
        "{:<26}  {:>14}  {:>14}  {:>3}  {:>9}  {:>11}  {:>12}  {:>11}  {:>8}  CHUNKS",
        "BLOCK", "MIN TIME", "MAX TIME", "LVL", "SERIES", "SAMPLES", "CHUNK BYTES", "INDEX BYTES", "B/SAMPLE"
    );
    for b in &r.blocks {
        let enc: Vec<String> = b.chunks_by_encoding.iter().map(|(e, n)| format!("{e} {n}")).collect();
        let _ = writeln!(
            s,
            "{:<26}  {:>14}  {:>14}  {:>3}  {:>9}  {:>11}  {:>12}  {:>11}  {:>8.3}  {}{}",
            b.ulid,
            b.min_time,
            b.max_time,
            b.level,
            b.num_series,
            b.num_samples,
            b.chunk_bytes,
            b.index_bytes,
            b.bytes_per_sample,
            enc.join(", "),
            if b.tombstones > 0 { format!("  ({} tombstones)", b.tombstones) } else { String::new() }
        );
    }
    let _ = writeln!(
        s,
        "total: {} samples, {} chunk bytes, {:.3} bytes/sample",
        r.total_samples, r.total_chunk_bytes, r.bytes_per_sample
    );
    for (title, list) in
        [("top metrics by series", &r.top_metrics), ("top label pairs by series", &r.top_label_pairs)]
    {
        let _ = writeln!(s, "\n{title}:");
        for c in list {
            let _ = writeln!(s, "  {:>9}  {}", c.series, c.name);
        }
    }
    for (d, e) in &r.broken {
        let _ = writeln!(s, "\nBROKEN {}: {e}", d.display());
    }
    s
}

/// The `cairn inspect` command; exit code 1 if the directory cannot be read or a block is
/// broken.
pub fn inspect_main(dir: &Path, json: bool) -> i32 {
    use std::io::IsTerminal;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let res = inspect(dir, 10, |done, total| {
        // Only worth a bar when there is a lot to read.
        if total >= 8 {
            bar.set_length(total);
            bar.set_position(done);
        }
    });
    bar.finish_and_clear();
    match res {
        Ok(r) => {
            if json {
                match serde_json::to_string_pretty(&r) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("cannot render JSON: {e}");
                        return 1;
                    }
                }
            } else {
                print!("{}", render_text(&r));
            }
            i32::from(!r.broken.is_empty())
        }
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            1
        }
    }
}
