//! XOR chunk encode/decode throughput (samples per second). Figures and the command are in
//! benches/README.md, section "XOR chunk".

use cairn_format::{Sample, XorEncoder, XorIter};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Scrape-like data: 15 s interval with small jitter; a counter, a gauge and a constant.
fn workloads(n: usize) -> Vec<(&'static str, Vec<Sample>)> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut counter = Vec::with_capacity(n);
    let mut gauge = Vec::with_capacity(n);
    let mut constant = Vec::with_capacity(n);
    let mut t = 1_700_000_000_000i64;
    let mut c = 0.0;
    for _ in 0..n {
        t += 15_000 + (rnd() % 21) as i64 - 10;
        c += (rnd() % 500) as f64;
        let g = 40.0 + (rnd() % 10_000) as f64 / 100.0;
        counter.push(Sample::new(t, c));
        gauge.push(Sample::new(t, g));
        constant.push(Sample::new(t, 1.0));
    }
    vec![("counter", counter), ("gauge", gauge), ("constant", constant)]
}

fn bench(c: &mut Criterion) {
    for n in [120usize, 4000] {
        for (name, samples) in workloads(n) {
            let mut g = c.benchmark_group(format!("xor/{n}"));
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new("encode", name), &samples, |b, s| {
                b.iter(|| {
                    let mut e = XorEncoder::new();
                    for x in s {
                        e.append(x.t, x.v);
                    }
                    black_box(e.size())
                })
            });
            let mut e = XorEncoder::new();
            for x in &samples {
                e.append(x.t, x.v);
            }
            let bytes = e.into_bytes();
            g.bench_with_input(BenchmarkId::new("decode", name), &bytes, |b, bytes| {
                b.iter(|| {
                    // Cheap consumer (no float add chain) so the decoder dominates.
                    let (mut tsum, mut vx) = (0i64, 0u64);
                    let mut it = XorIter::new(black_box(bytes)).expect("valid chunk");
                    for s in it.by_ref() {
                        tsum = tsum.wrapping_add(s.t);
                        vx ^= s.v.to_bits();
                    }
                    assert!(it.err().is_none());
                    black_box((tsum, vx))
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
