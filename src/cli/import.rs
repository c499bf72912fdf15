//! `cairn import FILE --data DIR`: backfills samples with timestamps from an OpenMetrics
//! (float-second timestamps, `# EOF`-terminated) or Prometheus text file (millisecond
//! timestamps) into blocks aligned to the block range. Owns the command: reading and
//! validating the whole file first (a bad line stops the import before any block is
//! written, reported with its line and column), grouping samples by block window, writing
//! one block per window, the progress bar and the summary. Block bytes are
//! `crate::storage::block`; parsing is `crate::ingest::exposition`.

use crate::ingest::exposition::{Entry, Format, Parser};
use crate::storage::block::write::BlockBuilder;
use crate::storage::validate::validate_labels;
use crate::storage::{BlockInfo, Db, Options, StorageError};
use cairn_format::{Labels, Sample};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why an import stopped. Nothing was written when parsing or validation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}, column {column}: {msg}")]
    BadLine { path: PathBuf, line: usize, column: usize, msg: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportSummary {
    pub bytes: u64,
    pub samples: u64,
    pub series: u64,
    /// Samples repeating a (series, timestamp) already read; the first one was kept.
    pub duplicates: u64,
    pub blocks: Vec<BlockInfo>,
    pub elapsed: Duration,
}

/// Progress reports: `(phase, done, total)` with bytes for parsing and windows for writing.
pub type Progress<'a> = dyn FnMut(&str, u64, u64) + 'a;

/// The format of `input`: OpenMetrics when its last non-blank line is `# EOF`.
pub fn detect_format(input: &[u8]) -> Format {
    let trimmed = input.trim_ascii_end();
    if trimmed.ends_with(b"# EOF") { Format::OpenMetrics } else { Format::PrometheusText }
}

/// Imports `input` (named `path` in errors) into `db` as blocks of `block_range_ms`.
pub fn import_bytes(
    db: &Db,
    path: &Path,
    input: &[u8],
    block_range_ms: i64,
    progress: &mut Progress<'_>,
) -> Result<ImportSummary, ImportError> {
    let start = Instant::now();
    let total = input.len() as u64;
    let bad = |line: usize, column: usize, msg: String| ImportError::BadLine {
        path: path.to_path_buf(),
        line,
        column,
        msg,
    };
    // Interned series; samples per block window as (series id, t, v), in file order.
    let mut ids: HashMap<Labels, u32> = HashMap::new();
    let mut series: Vec<Labels> = Vec::new();
    let mut windows: BTreeMap<i64, Vec<(u32, Sample)>> = BTreeMap::new();
    let mut samples = 0u64;
    // Line → byte offset for progress, advanced incrementally (lines only grow).
    let (mut pos, mut pos_line) = (0usize, 1usize);
    for entry in Parser::new(input, detect_format(input)) {
        let entry = entry.map_err(|e| bad(e.line, e.column, e.kind.to_string()))?;
        let Entry::Sample(s) = entry else { continue };
        let Some(t) = s.timestamp else {
            return Err(bad(s.line, 1, "sample has no timestamp; import needs one on every sample".into()));
        };
        let labels = s.to_labels();
        let labels = validate_labels(&labels).map_err(|e| bad(s.line, 1, e.to_string()))?.into_owned();
        let next = series.len() as u32;
        let id = *ids.entry(labels).or_insert_with_key(|l| {
            series.push(l.clone());
            next
        });
        windows
            .entry(t.div_euclid(block_range_ms) * block_range_ms)
            .or_default()
            .push((id, Sample::new(t, s.value)));
        samples += 1;
        if samples.is_multiple_of(65536) {
            while pos_line < s.line && pos < input.len() {
                match input[pos..].iter().position(|&b| b == b'\n') {
                    Some(n) => pos += n + 1,
                    None => pos = input.len(),
                }
                pos_line += 1;
            }
            progress("parsing", pos as u64, total);
        }
    }
    progress("parsing", total, total);
    // Series in label order, so each block's series can be added in order.
    let mut order: Vec<u32> = (0..series.len() as u32).collect();
    order.sort_by(|a, b| series[*a as usize].cmp(&series[*b as usize]));
    let mut rank = vec![0u32; series.len()];
    for (r, id) in order.iter().enumerate() {
        rank[*id as usize] = r as u32;
    }
    let mut summary = ImportSummary { bytes: total, series: series.len() as u64, ..Default::default() };
    let nwin = windows.len() as u64;
    // Build every block first; publish registers them only after all were written, and a
    // failure removes the ones already published, so an import is all or nothing.
    let mut written: Vec<PathBuf> = Vec::new();
    let res = (|| {
        for (k, (w, mut v)) in windows.into_iter().enumerate() {
            // Stable: the first of duplicate (series, t) stays first and is kept.
            v.sort_by_key(|(id, s)| (rank[*id as usize], s.t));
            let mut b = BlockBuilder::new(db.dir(), w, w + block_range_ms)?;
            let mut i = 0;
            let mut buf: Vec<Sample> = Vec::new();
            while i < v.len() {
                let id = v[i].0;
                buf.clear();
                while i < v.len() && v[i].0 == id {
                    let s = v[i].1;
                    if buf.last().is_some_and(|l| l.t == s.t) {
                        summary.duplicates += 1;
                    } else {
                        buf.push(s);
                    }
                    i += 1;
                }
                b.add_series(&series[id as usize], &buf)?;
            }
            summary.samples += b.num_samples();
            if let Some((dir, _)) = b.finish(1, Vec::new(), Vec::new())? {
                written.push(dir);
            }
            progress("writing blocks", k as u64 + 1, nwin);
        }
        Ok::<(), StorageError>(())
    })();
    if let Err(e) = res {
        for d in &written {
            let _ = crate::storage::block::remove_block_dir(d);
        }
        return Err(e.into());
    }
    for d in &written {
        summary.blocks.push(db.open_block(d)?);
    }
    summary.elapsed = start.elapsed();
    Ok(summary)
}

/// Imports `file` into the data directory `data` (taking its lock: the server must be
/// stopped). Shows a progress bar on a terminal.
pub fn import_file(file: &Path, data: &Path, progress_bar: bool) -> Result<ImportSummary, ImportError> {
    let input =
        std::fs::read(file).map_err(|source| ImportError::Read { path: file.to_path_buf(), source })?;
    let opts = Options { background_compaction: false, ..Options::default() };
    let range = opts.block_range_ms;
    let db = Db::open(data, opts)?;
    let bar = if progress_bar {
        indicatif::ProgressBar::new(input.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>14} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut phase = String::new();
    let mut cb = |p: &str, done: u64, total: u64| {
        if p != phase {
            phase = p.to_owned();
            bar.set_message(phase.clone());
            bar.set_length(total);
            if p == "writing blocks" {
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len} ETA {eta}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
            }
        }
        bar.set_position(done);
    };
    let res = import_bytes(&db, file, &input, range, &mut cb);
    bar.finish_and_clear();
    db.close()?;
    res
}

/// The `cairn import` command: runs the import and prints a summary; exit code 1 on error.
pub fn import_main(file: &Path, data: &Path) -> i32 {
    use std::io::IsTerminal;
    match import_file(file, data, std::io::stderr().is_terminal()) {
        Ok(s) => {
            let secs = s.elapsed.as_secs_f64().max(1e-9);
            println!(
                "imported {} samples of {} series from {} ({} bytes) into {} block(s) in {:.2}s ({:.0} samples/s){}",
                s.samples,
                s.series,
                file.display(),
                s.bytes,
                s.blocks.len(),
                secs,
                s.samples as f64 / secs,
                if s.duplicates > 0 {
                    format!("; {} duplicate samples skipped", s.duplicates)
                } else {
                    String::new()
                }
            );
            for b in &s.blocks {
                println!(
                    "  block {}  [{}, {})  {} series  {} samples  {} bytes",
                    b.ulid, b.min_time, b.max_time, b.num_series, b.num_samples, b.size_bytes
                );
            }
            0
        }
        Err(e) => {
            eprintln!("import failed, nothing was written: {e}");
            1
        }
    }
}
