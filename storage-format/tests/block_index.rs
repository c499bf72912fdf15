//! Block index: round trip against a model (series, postings, names, values), writer input
//! validation, lazy CRC checks, and bit-flip detection.

use cairn_format::Labels;
use cairn_format::block::chunks::BlockChunkRef;
use cairn_format::block::index::{
    ChunkMeta, INDEX_HEADER_LEN, IndexError, IndexReader, IndexWriteError, IndexWriter, SeriesId,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn cm(mint: i64, maxt: i64, r: u64) -> ChunkMeta {
    ChunkMeta { mint, maxt, chunk_ref: BlockChunkRef::from_u64(r) }
}

type Model = Vec<(Labels, Vec<ChunkMeta>)>;

fn build(series: &Model) -> Vec<u8> {
    let symbols: BTreeSet<String> =
        series.iter().flat_map(|(l, _)| l.iter().flat_map(|x| [x.name.clone(), x.value.clone()])).collect();
    let mut w = IndexWriter::new(&symbols).unwrap();
    for (i, (l, c)) in series.iter().enumerate() {
        assert_eq!(w.add_series(l, c).unwrap(), SeriesId(i as u32));
    }
    w.finish().unwrap()
}

fn check_against_model(bytes: &[u8], series: &Model) {
    let r = IndexReader::new(bytes).unwrap();
    r.verify_all().unwrap();
    assert_eq!(r.num_series() as usize, series.len());
    let mut postings: BTreeMap<(String, String), Vec<SeriesId>> = BTreeMap::new();
    let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, (l, c)) in series.iter().enumerate() {
        let e = r.series(SeriesId(i as u32)).unwrap();
        assert_eq!(&e.labels, l);
        assert_eq!(&e.chunks, c);
        for x in l.iter() {
            postings.entry((x.name.clone(), x.value.clone())).or_default().push(SeriesId(i as u32));
            values.entry(x.name.clone()).or_default().insert(x.value.clone());
        }
    }
    for ((n, v), ids) in &postings {
        assert_eq!(&r.postings(n, v).unwrap(), ids, "{n}={v}");
    }
    assert_eq!(r.label_names().unwrap(), values.keys().map(String::as_str).collect::<Vec<_>>());
    for (n, vs) in &values {
        assert_eq!(r.label_values(n).unwrap(), vs.iter().map(String::as_str).collect::<Vec<_>>());
    }
    assert_eq!(r.postings("nope", "x").unwrap(), vec![]);
    if let Some((n, _)) = postings.keys().next() {
        assert_eq!(r.postings(n, "\u{10ffff}never").unwrap(), vec![]);
    }
    assert_eq!(r.label_values("\u{10ffff}none").unwrap(), Vec::<&str>::new());
    assert!(matches!(r.series(SeriesId(series.len() as u32)), Err(IndexError::NoSuchSeries { .. })));
}

fn sample_model() -> Model {
    let mut m: Model = Vec::new();
    for job in ["api", "db"] {
        for inst in 0..30 {
            for code in ["200", "500"] {
                let l = Labels::from_pairs([
                    ("__name__", "http_requests_total"),
                    ("code", code),
                    ("instance", &format!("host-{inst:02}")),
                    ("job", job),
                ]);
                let base = inst as i64 * 1000;
                m.push((
                    l,
                    vec![
                        cm(base, base + 99, (1 << 32) | 8),
                        cm(base + 100, base + 250, (1 << 32) | 400),
                        cm(base + 240, base + 240, 9),
                    ],
                ));
            }
        }
    }
    m.push((Labels::from_pairs([("__name__", "up")]), vec![]));
    m.push((Labels::from_pairs([("__name__", "zz"), ("a", "")]), vec![cm(i64::MIN, i64::MAX, u64::MAX)]));
    m.sort_by(|a, b| a.0.cmp(&b.0));
    m
}

#[test]
fn round_trip_sample() {
    let m = sample_model();
    let b = build(&m);
    check_against_model(&b, &m);
}

#[test]
fn empty_index_round_trips() {
    let b = IndexWriter::new(Vec::<String>::new()).unwrap().finish().unwrap();
    let r = IndexReader::new(&b).unwrap();
    r.verify_all().unwrap();
    assert_eq!(r.num_series(), 0);
    assert_eq!(r.label_names().unwrap(), Vec::<&str>::new());
    assert_eq!(r.postings("a", "b").unwrap(), vec![]);
}

#[test]
fn writer_rejects_bad_input() {
    let a = Labels::from_pairs([("a", "1")]);
    let b = Labels::from_pairs([("a", "2")]);
    let mut w = IndexWriter::new(["a", "1", "2"]).unwrap();
    w.add_series(&b, &[]).unwrap();
    assert!(matches!(w.add_series(&a, &[]), Err(IndexWriteError::SeriesOutOfOrder { index: 1, .. })));
    assert!(matches!(w.add_series(&b, &[]), Err(IndexWriteError::SeriesOutOfOrder { .. })));
    let c = Labels::from_pairs([("a", "3")]);
    assert_eq!(w.add_series(&c, &[]), Err(IndexWriteError::MissingSymbol("3".into())));
    let mut w = IndexWriter::new(["a", "1"]).unwrap();
    assert!(matches!(w.add_series(&a, &[cm(5, 4, 0)]), Err(IndexWriteError::BadChunkRange { chunk: 0, .. })));
    assert!(matches!(
        w.add_series(&a, &[cm(5, 6, 0), cm(4, 9, 0)]),
        Err(IndexWriteError::ChunksOutOfOrder { chunk: 1, .. })
    ));
    let dup = Labels::from_vec(vec![cairn_format::Label::new("a", "1"), cairn_format::Label::new("a", "1")]);
    assert!(matches!(w.add_series(&dup, &[]), Err(IndexWriteError::BadLabels { .. })));
}

#[test]
fn header_and_toc_errors() {
    let b = build(&sample_model());
    assert!(matches!(IndexReader::new(&b[..50]), Err(IndexError::TooShort { len: 50 })));
    let mut x = b.clone();
    x[0] ^= 1;
    assert!(matches!(IndexReader::new(&x), Err(IndexError::BadMagic { .. })));
    let mut x = b.clone();
    x[4] = 7;
    let e = IndexReader::new(&x).unwrap_err();
    assert_eq!(e, IndexError::UnknownVersion { version: 7 });
    assert!(e.to_string().contains("unknown format version 7"));
    let mut x = b.clone();
    x[5] = 9;
    assert_eq!(IndexReader::new(&x).unwrap_err(), IndexError::UnknownPostingsCodec { codec: 9 });
    let mut x = b.clone();
    let n = x.len();
    x[n - 10] ^= 0x40;
    assert!(matches!(IndexReader::new(&x), Err(IndexError::Checksum { what: "table of contents", .. })));
}

/// Section CRCs are checked on first use, not at open: a corrupt postings table is only
/// reported by the calls that need it.
#[test]
fn section_crcs_are_lazy() {
    let m = sample_model();
    let b = build(&m);
    let r = IndexReader::new(&b).unwrap();
    // The label names section is the last before the table of contents; its CRC takes the
    // 4 bytes before the TOC, so the byte before those is its last body byte.
    let toc_at = b.len() - 100;
    let mut x = b.clone();
    x[toc_at - 5] ^= 1; // last body byte of the label names section
    let r2 = IndexReader::new(&x).unwrap();
    assert!(r2.series(SeriesId(0)).is_ok(), "series does not touch label names");
    assert!(r2.postings("job", "api").is_ok());
    let e = r2.label_names().unwrap_err();
    assert!(matches!(e, IndexError::Checksum { what: "label names", .. }), "{e}");
    assert!(r2.label_values("job").is_err());
    assert!(r.label_names().is_ok());
}

#[test]
fn every_bit_flip_is_detected() {
    let m: Model = sample_model().into_iter().step_by(9).collect();
    let b = build(&m);
    let mut undetected = Vec::new();
    for i in 0..b.len() {
        for bit in 0..8 {
            let mut x = b.clone();
            x[i] ^= 1 << bit;
            let ok = match IndexReader::new(&x) {
                Err(_) => false,
                Ok(r) => r.verify_all().is_ok(),
            };
            if ok {
                undetected.push((i, bit));
            }
        }
    }
    // Only the two padding bytes of the header are unchecked.
    assert!(undetected.iter().all(|(i, _)| (6..INDEX_HEADER_LEN).contains(i)), "{undetected:?}");
}

fn model_strategy() -> impl Strategy<Value = Model> {
    let names = prop::sample::select(vec!["__name__", "a", "b", "job", "le", "x\u{e9}"]);
    let value = "[a-c]{0,3}";
    let labels = prop::collection::btree_map(names, value, 1..5)
        .prop_map(|m| Labels::from_pairs(m.into_iter().map(|(k, v)| (k.to_string(), v))));
    let chunk = (any::<i32>(), 0i64..100_000, any::<u64>());
    let chunks = prop::collection::vec(chunk, 0..5).prop_map(|v| {
        let mut v: Vec<(i32, i64, u64)> = v;
        v.sort_by_key(|c| c.0);
        v.into_iter().map(|(m, span, r)| cm(i64::from(m), i64::from(m) + span, r)).collect::<Vec<_>>()
    });
    prop::collection::btree_map(labels, chunks, 0..150).prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_round_trip(m in model_strategy()) {
        let b = build(&m);
        check_against_model(&b, &m);
    }

    #[test]
    fn prop_garbage_never_panics(m in model_strategy(), flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4)) {
        let mut b = build(&m);
        for (i, bit) in flips {
            let i = i.index(b.len());
            b[i] ^= 1 << bit;
        }
        if let Ok(r) = IndexReader::new(&b) {
            let _ = r.verify_all();
            let _ = r.label_names();
            let _ = r.label_values("a");
            let _ = r.postings("a", "b");
            for i in 0..r.num_series().min(200) {
                let _ = r.series(SeriesId(i));
            }
        }
    }
}

/// Queries share one reader across threads.
#[test]
fn reader_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IndexReader<'static>>();
    let b = build(&sample_model());
    let r = IndexReader::new(&b).unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(r.postings("job", "api").unwrap().len(), 60));
        }
    });
}
