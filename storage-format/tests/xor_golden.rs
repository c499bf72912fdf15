//! Golden XOR chunks: bytes captured from Prometheus 2.42 itself (remote read of
//! STREAMED_XOR_CHUNKS; see tests/golden/capture.py) plus a few derived by hand from the
//! format page. Our encoder must produce the same bytes and our decoder the same samples.

use cairn_format::{Sample, XorEncoder, XorIter, decode_all};
use std::path::PathBuf;

struct Golden {
    name: String,
    chunk: Vec<u8>,
    samples: Vec<Sample>,
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn load() -> Vec<Golden> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/xor");
    let mut out = Vec::new();
    let mut paths: Vec<_> =
        std::fs::read_dir(&dir).expect("golden dir").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    for path in paths {
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let mut chunk = None;
        let mut samples = Vec::new();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            match f.next() {
                Some("chunk") => chunk = Some(hex(f.next().expect("chunk hex"))),
                Some("sample") => {
                    let t: i64 = f.next().expect("t").parse().expect("t int");
                    let bits = u64::from_str_radix(f.next().expect("v"), 16).expect("v hex");
                    samples.push(Sample::new(t, f64::from_bits(bits)));
                }
                _ => {}
            }
        }
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        out.push(Golden { name, chunk: chunk.expect("fixture has a chunk line"), samples });
    }
    out
}

#[test]
fn prometheus_captured_chunks_match() {
    let all = load();
    assert!(all.len() >= 6, "expected the captured fixtures, found {}", all.len());
    for g in &all {
        let mut e = XorEncoder::new();
        for s in &g.samples {
            e.append(s.t, s.v);
        }
        assert_eq!(hex_str(e.bytes()), hex_str(&g.chunk), "{}: encoder bytes", g.name);

        let got = decode_all(&g.chunk).unwrap_or_else(|err| panic!("{}: {err}", g.name));
        assert_eq!(got.len(), g.samples.len(), "{}", g.name);
        for (a, b) in got.iter().zip(&g.samples) {
            assert!(a.same_bits(b), "{}: decoded {a:?}, want {b:?}", g.name);
        }

        // Resuming Prometheus's bytes at any point continues with the same bytes.
        for cut in 0..g.samples.len() {
            let mut prefix = XorEncoder::new();
            for s in &g.samples[..cut] {
                prefix.append(s.t, s.v);
            }
            let mut e = XorEncoder::from_bytes(prefix.bytes()).expect("resume");
            for s in &g.samples[cut..] {
                e.append(s.t, s.v);
            }
            assert_eq!(e.bytes(), &g.chunk[..], "{}: resumed at {cut}", g.name);
        }
        let mut e = XorEncoder::from_bytes(&g.chunk).expect("resume prometheus bytes");
        assert_eq!(e.bytes(), &g.chunk[..], "{}: resume keeps bytes", g.name);
        let last = g.samples.last().expect("samples");
        e.append(last.t + 1, 0.5);
        let more = decode_all(e.bytes()).expect("decode after append");
        assert_eq!(more.len(), g.samples.len() + 1);
        assert_eq!(XorIter::new(&g.chunk).expect("iter").num_samples(), g.samples.len());
    }
}

fn hex_str(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Derived by hand from xor.md (not captured): one sample at t=1000, v=1.0.
/// 00 01 | d0 0f (zigzag varint of 1000 = 2000) | 3f f0 00 00 00 00 00 00 | 00 (the extra
/// byte Prometheus's bit stream leaves after a whole-byte write).
#[test]
fn hand_derived_single_sample() {
    let mut e = XorEncoder::new();
    e.append(1000, 1.0);
    assert_eq!(e.bytes(), hex("0001d00f3ff000000000000000").as_slice());
}

/// t=0 v=0, then t=1 v=0 (uvarint delta 01, value bit 0), then t=2 v=0 (dod 0: bit 0,
/// value bit 0). Bits after the 2 samples: 0 | 0 0 -> one byte 0x00.
#[test]
fn hand_derived_three_zero_samples() {
    let mut e = XorEncoder::new();
    e.append(0, 0.0);
    e.append(1, 0.0);
    e.append(2, 0.0);
    // 0003 | 00 | 0000000000000000 | 01 | 0b000_00000
    assert_eq!(e.bytes(), hex("00030000000000000000000100").as_slice());
}

/// t=0 v=1.0, t=10 v=2.0: XOR 0x7ff0000000000000 -> leading 1, trailing 52, 11 significant
/// bits: control '11', leading 00001, sigbits 001011, then 11111111111 (24 bits in all):
/// 1100 0010 | 0101 1111 | 1111 1111 -> c2 5f ff. The last field (11 bits) ends with single
/// bits, so no extra zero byte follows even though the stream ends on a byte boundary.
#[test]
fn hand_derived_new_window() {
    let mut e = XorEncoder::new();
    e.append(0, 1.0);
    e.append(10, 2.0);
    assert_eq!(e.bytes(), hex("0002003ff00000000000000ac25fff").as_slice());
}

/// The form Prometheus's `XORChunk.Appender()` writes when it resumes a one-sample chunk: no
/// window has been set, so it "reuses" leading = trailing = 0 and writes all 64 XOR bits:
/// 00 02 | 00 | 3ff0000000000000 | 0a | '10' + 0x7ff0000000000000 as 64 bits + pad.
/// We must decode it and be able to resume it.
#[test]
fn prometheus_appender_resume_form_decodes_and_resumes() {
    // t0 = 0 is the varint 00.
    let chunk = hex("000200")
        .into_iter()
        .chain(hex("3ff0000000000000"))
        .chain(hex("0a"))
        .chain(hex("9ffc00000000000000"))
        .collect::<Vec<u8>>();
    let got = decode_all(&chunk).unwrap();
    assert_eq!(got, vec![Sample::new(0, 1.0), Sample::new(10, 2.0)]);
    let mut e = XorEncoder::from_bytes(&chunk).unwrap();
    assert_eq!(e.bytes(), &chunk[..], "resuming keeps the bytes");
    e.append(20, 3.0);
    e.append(30, 3.0);
    let got = decode_all(e.bytes()).unwrap();
    assert_eq!(
        got.iter().map(|s| (s.t, s.v)).collect::<Vec<_>>(),
        vec![(0, 1.0), (10, 2.0), (20, 3.0), (30, 3.0)]
    );
}
