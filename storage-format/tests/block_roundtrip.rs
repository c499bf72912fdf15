//! The block codecs together: samples -> XOR chunks -> chunk segments -> index with chunk
//! metas -> meta.json and tombstones, then back by label lookup, as the storage will use them.

use cairn_format::block::chunks::{ChunkSegmentReader, ChunkSegmentWriter, ENCODING_XOR};
use cairn_format::block::index::{ChunkMeta, IndexReader, IndexWriter};
use cairn_format::block::meta::{BlockCompaction, BlockMeta, BlockStats, Ulid};
use cairn_format::block::tombstones::{Interval, Tombstones};
use cairn_format::{Labels, Sample, XorEncoder, decode_all};
use std::collections::BTreeMap;

#[test]
fn a_block_round_trips_through_every_codec() {
    // 40 series x 500 samples, cut into 120-sample chunks.
    let mut data: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    for i in 0..40 {
        let l = Labels::from_pairs([
            ("__name__", "temp"),
            ("room", &format!("r{i:02}")),
            ("floor", if i % 2 == 0 { "1" } else { "2" }),
        ]);
        let samples =
            (0..500).map(|k| Sample::new(1_000_000 + k * 15_000 + i, (k * i) as f64 / 7.0)).collect();
        data.insert(l, samples);
    }
    let mut chunks = ChunkSegmentWriter::new(4096);
    let mut metas: Vec<(Labels, Vec<ChunkMeta>)> = Vec::new();
    let mut num_chunks = 0u64;
    for (l, samples) in &data {
        let mut m = Vec::new();
        for part in samples.chunks(120) {
            let mut e = XorEncoder::new();
            for s in part {
                e.append(s.t, s.v);
            }
            let r = chunks.write_chunk(ENCODING_XOR, e.bytes()).unwrap();
            m.push(ChunkMeta { mint: part[0].t, maxt: part[part.len() - 1].t, chunk_ref: r });
            num_chunks += 1;
        }
        metas.push((l.clone(), m));
    }
    let segments: Vec<Vec<u8>> = chunks.finish().into_iter().map(|(_, s)| s).collect();
    assert!(segments.len() > 10, "small segment limit makes many segments");

    let symbols: Vec<String> =
        data.keys().flat_map(|l| l.iter().flat_map(|x| [x.name.clone(), x.value.clone()])).collect();
    let mut w = IndexWriter::new(&symbols).unwrap();
    for (l, m) in &metas {
        w.add_series(l, m).unwrap();
    }
    let index = w.finish().unwrap();

    let mut tomb = Tombstones::new();
    tomb.add(3, Interval::new(1_000_000, 1_100_000));
    let tomb_bytes = tomb.encode();

    let meta = BlockMeta {
        ulid: Ulid::from_parts(1_700_000_000_000, 42),
        min_time: 1_000_000,
        max_time: 1_000_000 + 500 * 15_000,
        stats: BlockStats { num_samples: 40 * 500, num_series: 40, num_chunks, num_tombstones: 1 },
        compaction: BlockCompaction {
            level: 1,
            sources: vec![Ulid::from_parts(1_700_000_000_000, 42)],
            parents: vec![],
            failed: false,
            deletable: false,
        },
        version: 1,
    };
    let meta_bytes = meta.to_json();

    // Read back: floor="2" series, their chunks, their samples.
    let ir = IndexReader::new(&index).unwrap();
    let cr = ChunkSegmentReader::new(segments.iter().map(Vec::as_slice).collect()).unwrap();
    let ids = ir.postings("floor", "2").unwrap();
    assert_eq!(ids.len(), 20);
    for id in ids {
        let e = ir.series(id).unwrap();
        assert_eq!(e.labels.get("floor"), Some("2"));
        let mut got = Vec::new();
        for m in &e.chunks {
            let c = cr.chunk(m.chunk_ref).unwrap();
            assert_eq!(c.encoding, ENCODING_XOR);
            let s = decode_all(c.data).unwrap();
            assert_eq!((s[0].t, s[s.len() - 1].t), (m.mint, m.maxt));
            got.extend(s);
        }
        assert_eq!(&got, &data[&e.labels]);
    }
    assert_eq!(ir.label_values("room").unwrap().len(), 40);
    assert_eq!(Tombstones::decode(&tomb_bytes).unwrap().get(3), &[Interval::new(1_000_000, 1_100_000)]);
    assert_eq!(BlockMeta::from_json(&meta_bytes).unwrap(), meta);
}
