//! Structure-aware index fuzzing: the first part of the input describes series (labels and
//! chunk metas), which are written with `IndexWriter`; the reader must round-trip them.
//! The rest of the input flips bytes of the written index, and the reader must then never
//! panic. Under `cfg(fuzzing)` the reader does not enforce checksums, so flips reach the
//! parsing code behind them.
#![no_main]

use cairn_format::Labels;
use cairn_format::block::chunks::BlockChunkRef;
use cairn_format::block::index::{ChunkMeta, IndexReader, IndexWriter, SeriesId};
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet};

const NAMES: [&str; 5] = ["__name__", "a", "job", "le", "zz"];
const VALUES: [&str; 6] = ["", "0", "1", "api", "x", "\u{1f600}"];

fuzz_target!(|data: &[u8]| {
    let (model_part, flips) = data.split_at(data.len().min(data.first().map_or(0, |b| *b as usize * 4)));
    let mut series: BTreeMap<Labels, Vec<ChunkMeta>> = BTreeMap::new();
    for rec in model_part.chunks_exact(4) {
        let mut pairs = BTreeMap::new();
        for (i, name) in NAMES.iter().enumerate() {
            if rec[0] & (1 << i) != 0 {
                pairs.insert(*name, VALUES[(rec[1] as usize + i) % VALUES.len()]);
            }
        }
        if pairs.is_empty() {
            continue;
        }
        let labels = Labels::from_pairs(pairs);
        let n = (rec[2] % 4) as i64;
        let chunks = (0..n)
            .map(|k| ChunkMeta {
                mint: i64::from(rec[3]) * 1000 * k - 5000,
                maxt: i64::from(rec[3]) * 1000 * k - 5000 + i64::from(rec[2]),
                chunk_ref: BlockChunkRef::from_u64(u64::from(rec[3]) << (k * 9)),
            })
            .collect();
        series.insert(labels, chunks);
    }
    let symbols: BTreeSet<&str> = NAMES.iter().chain(VALUES.iter()).copied().collect();
    let mut w = IndexWriter::new(symbols).expect("symbols");
    for (l, c) in &series {
        w.add_series(l, c).expect("valid series");
    }
    let mut bytes = w.finish().expect("finish");
    {
        let r = IndexReader::new(&bytes).expect("own index opens");
        r.verify_all().expect("own index verifies");
        for (i, (l, c)) in series.iter().enumerate() {
            let e = r.series(SeriesId(i as u32)).expect("series");
            assert_eq!(&e.labels, l);
            assert_eq!(&e.chunks, c);
        }
    }
    for f in flips.chunks_exact(3) {
        let at = (usize::from(f[0]) << 8 | usize::from(f[1])) % bytes.len();
        bytes[at] ^= f[2];
    }
    if let Ok(r) = IndexReader::new(&bytes) {
        let _ = r.verify_all();
        for n in r.label_names().unwrap_or_default() {
            for v in r.label_values(n).unwrap_or_default() {
                let _ = r.postings(n, v);
            }
        }
        for i in 0..r.num_series().min(512) {
            let _ = r.series(SeriesId(i));
        }
    }
});
