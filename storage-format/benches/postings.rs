//! Postings codec comparison (bit-packed vs roaring): encoded size and decode speed over a
//! scrape-like corpus. Figures in benches/README.md, section "Postings codecs".

use cairn_format::block::index::postings::{PostingsCodec, decode, encode};

/// The candidate that lost: roaring's portable serialization, run-optimized.
mod roaring_codec {
    pub fn encode(ids: &[u32], out: &mut Vec<u8>) {
        let mut bm = roaring::RoaringBitmap::from_sorted_iter(ids.iter().copied()).expect("sorted");
        bm.optimize();
        bm.serialize_into(&mut *out).expect("vec write");
    }

    pub fn decode(bytes: &[u8]) -> Option<Vec<u32>> {
        let bm = roaring::RoaringBitmap::deserialize_from(bytes).ok()?;
        Some(bm.iter().collect())
    }
}

#[derive(Clone, Copy, Debug)]
enum Candidate {
    Bitpacked,
    Roaring,
}
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// 200k series sorted by (__name__, instance, le) plus a high-cardinality `pod` label.
fn corpus() -> Vec<(&'static str, Vec<Vec<u32>>)> {
    let metrics = 200u32;
    let instances = 50u32;
    let les = 20u32;
    let per_metric = instances * les;
    let name: Vec<Vec<u32>> =
        (0..metrics).map(|m| (m * per_metric..(m + 1) * per_metric).collect()).collect();
    let instance: Vec<Vec<u32>> = (0..instances)
        .map(|i| (0..metrics).flat_map(|m| (0..les).map(move |l| m * per_metric + i * les + l)).collect())
        .collect();
    let le: Vec<Vec<u32>> =
        (0..les).map(|l| (0..metrics * instances).map(|k| k * les + l).collect()).collect();
    let job: Vec<Vec<u32>> =
        (0..5u32).map(|j| (j * 40 * per_metric..(j + 1) * 40 * per_metric).collect()).collect();
    let total = metrics * per_metric;
    let mut x = 0x9e37_79b9u32;
    let mut pods: Vec<Vec<u32>> = vec![Vec::new(); 20_000];
    for id in 0..total {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pods[(x % 20_000) as usize].push(id);
    }
    vec![("name", name), ("instance", instance), ("le", le), ("job", job), ("pod", pods)]
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    let mut g = c.benchmark_group("postings");
    for (label, lists) in &corpus {
        let ids: u64 = lists.iter().map(|l| l.len() as u64).sum();
        for codec in [Candidate::Bitpacked, Candidate::Roaring] {
            let encoded: Vec<Vec<u8>> = lists
                .iter()
                .map(|l| {
                    let mut b = Vec::new();
                    match codec {
                        Candidate::Bitpacked => encode(PostingsCodec::Bitpacked, l, &mut b),
                        Candidate::Roaring => roaring_codec::encode(l, &mut b),
                    }
                    b
                })
                .collect();
            let bytes: usize = encoded.iter().map(Vec::len).sum();
            eprintln!(
                "size {label:9} {codec:?}: {bytes} bytes for {ids} ids in {} lists ({:.3} bytes/id)",
                lists.len(),
                bytes as f64 / ids as f64
            );
            g.throughput(Throughput::Elements(ids));
            g.bench_function(format!("decode/{label}/{codec:?}"), |b| {
                b.iter(|| {
                    let mut n = 0usize;
                    for e in &encoded {
                        n += match codec {
                            Candidate::Bitpacked => {
                                decode(PostingsCodec::Bitpacked, black_box(e), u64::MAX).ok()
                            }
                            Candidate::Roaring => roaring_codec::decode(black_box(e)),
                        }
                        .map_or(0, |v| v.len());
                    }
                    black_box(n)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
