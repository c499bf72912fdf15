//! Criterion bench of the exposition parser on the captured node_exporter and Prometheus
//! outputs. Throughput is reported in samples (elements) per second. Owns nothing else.

use std::hint::black_box;

use cairn::ingest::exposition::{Entry, Format, Parser};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/exposition/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn count_samples(input: &[u8], format: Format) -> u64 {
    Parser::new(input, format).filter(|e| matches!(e, Ok(Entry::Sample(_)))).count() as u64
}

fn bench(c: &mut Criterion) {
    for (name, format) in
        [("node_exporter.prom.txt", Format::PrometheusText), ("prometheus.prom.txt", Format::PrometheusText)]
    {
        let input = fixture(name);
        let n = count_samples(&input, format);
        let mut g = c.benchmark_group(format!("exposition/{name}"));
        g.throughput(Throughput::Elements(n));
        g.bench_function("parse", |b| {
            b.iter(|| {
                let mut sum = 0.0;
                for e in Parser::new(black_box(&input), format) {
                    if let Ok(Entry::Sample(s)) = e {
                        sum += s.value;
                    }
                }
                black_box(sum)
            })
        });
        g.bench_function("parse+iterate_labels", |b| {
            b.iter(|| {
                let mut len = 0usize;
                for e in Parser::new(black_box(&input), format) {
                    if let Ok(Entry::Sample(s)) = e {
                        for (n, v) in s.labels.iter() {
                            len += n.len() + v.len();
                        }
                    }
                }
                black_box(len)
            })
        });
        g.bench_function("parse+to_labels", |b| {
            b.iter(|| {
                let mut len = 0usize;
                for e in Parser::new(black_box(&input), format) {
                    if let Ok(Entry::Sample(s)) = e {
                        len += s.to_labels().len();
                    }
                }
                black_box(len)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
