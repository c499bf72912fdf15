//! Decimal chunk vs XOR chunk: encode and decode throughput (samples per second of wall and
//! of thread CPU time) and bytes per sample on node_exporter-like data (the harness's value
//! kinds: 2-decimal counters and gauges, integer byte counters, float-summed counters,
//! constants), 120-sample chunks
//! at a regular 15 s interval. Both decoders fill a reused `Vec<Sample>`, as the block reader
//! does. Figures and the command are in benches/README.md, section "Decimal chunk".

use cairn_format::Sample;
use cairn_format::block::chunks::ENCODING_XOR;
use cairn_format::block::dchunk::{ENCODING_DECIMAL, decode_block_chunk, encode_block_chunk};
use cairn_format::xor::XorEncoder;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const CHUNK: usize = 120;
const CHUNKS_PER_KIND: usize = 64;

/// CPU time consumed by the calling thread so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is supported on Linux; the return code is checked.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn cpu_time(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iters {
        f();
    }
    thread_cpu_time() - start
}

/// Chunks of the five value kinds, `CHUNKS_PER_KIND` each.
fn workload() -> Vec<Vec<Sample>> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    for k in 0..CHUNKS_PER_KIND {
        let t0 = 1_700_000_000_000 + k as i64 * 1000;
        let ts = |i: usize| t0 + 15_000 * i as i64;
        // 2-decimal counter (cpu seconds).
        let mut c = (rnd() % 1_000_000) as f64;
        out.push(
            (0..CHUNK)
                .map(|i| {
                    c = ((c * 100.0).round() + (rnd() % 300) as f64) / 100.0;
                    Sample::new(ts(i), c)
                })
                .collect(),
        );
        // 2-decimal gauge (load average), bounded random walk.
        let mut g = (rnd() % 400) as f64 / 100.0;
        out.push(
            (0..CHUNK)
                .map(|i| {
                    let step = (rnd() % 41) as f64 / 100.0 - 0.2;
                    g = (((g + step).clamp(0.0, 8.0)) * 100.0).round() / 100.0;
                    Sample::new(ts(i), g)
                })
                .collect(),
        );
        // Integer byte counter.
        let mut b = (rnd() % 100_000_000_000) as f64;
        out.push(
            (0..CHUNK)
                .map(|i| {
                    b += (rnd() % 2_000_000) as f64;
                    Sample::new(ts(i), b)
                })
                .collect(),
        );
        // Counter summed in floating point (a client library's Counter.Add): near decimals,
        // stored with residuals.
        let mut f = (rnd() % 1000) as f64;
        out.push(
            (0..CHUNK)
                .map(|i| {
                    f += (rnd() % 300) as f64 / 100.0;
                    Sample::new(ts(i), f)
                })
                .collect(),
        );
        // Constant (memory total).
        let m = ((rnd() % 64 + 4) * 1024 * 1024 * 1024) as f64;
        out.push((0..CHUNK).map(|i| Sample::new(ts(i), m)).collect());
    }
    out
}

fn xor_encode(s: &[Sample]) -> Vec<u8> {
    let mut e = XorEncoder::new();
    for x in s {
        e.append(x.t, x.v);
    }
    e.into_bytes()
}

fn bench(c: &mut Criterion) {
    let chunks = workload();
    let n: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    let xor: Vec<Vec<u8>> = chunks.iter().map(|c| xor_encode(c)).collect();
    let dec: Vec<(u8, Vec<u8>)> = chunks
        .iter()
        .map(|c| {
            let mut b = Vec::new();
            let e = encode_block_chunk(c, &mut b);
            (e, b)
        })
        .collect();
    let xor_bytes: usize = xor.iter().map(|b| b.len()).sum();
    let dec_bytes: usize = dec.iter().map(|(_, b)| b.len()).sum();
    let decimal = dec.iter().filter(|(e, _)| *e == ENCODING_DECIMAL).count();
    eprintln!(
        "payload bytes/sample: xor {:.3}, decimal {:.3} ({decimal} of {} chunks decimal)",
        xor_bytes as f64 / n as f64,
        dec_bytes as f64 / n as f64,
        dec.len()
    );

    let mut g = c.benchmark_group("dchunk");
    g.throughput(Throughput::Elements(n));
    let enc_xor = || {
        for s in &chunks {
            black_box(xor_encode(black_box(s)));
        }
    };
    let mut buf = Vec::new();
    let mut enc_dec = || {
        for s in &chunks {
            black_box(encode_block_chunk(black_box(s), &mut buf));
        }
    };
    let mut out: Vec<Sample> = Vec::with_capacity(CHUNK);
    let dec_xor = |out: &mut Vec<Sample>| {
        let mut acc = 0u64;
        for b in &xor {
            out.clear();
            decode_block_chunk(ENCODING_XOR, black_box(b), out).expect("xor decodes");
            acc ^= out[out.len() - 1].v.to_bits();
        }
        black_box(acc);
    };
    let dec_dec = |out: &mut Vec<Sample>| {
        let mut acc = 0u64;
        for (e, b) in &dec {
            out.clear();
            decode_block_chunk(*e, black_box(b), out).expect("decimal decodes");
            acc ^= out[out.len() - 1].v.to_bits();
        }
        black_box(acc);
    };
    g.bench_function("xor/encode", |b| b.iter(enc_xor));
    g.bench_function("xor/encode/cpu", |b| b.iter_custom(|it| cpu_time(it, enc_xor)));
    g.bench_function("decimal/encode", |b| b.iter(&mut enc_dec));
    g.bench_function("decimal/encode/cpu", |b| b.iter_custom(|it| cpu_time(it, &mut enc_dec)));
    g.bench_function("xor/decode", |b| b.iter(|| dec_xor(&mut out)));
    g.bench_function("xor/decode/cpu", |b| b.iter_custom(|it| cpu_time(it, || dec_xor(&mut out))));
    g.bench_function("decimal/decode", |b| b.iter(|| dec_dec(&mut out)));
    g.bench_function("decimal/decode/cpu", |b| b.iter_custom(|it| cpu_time(it, || dec_dec(&mut out))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
