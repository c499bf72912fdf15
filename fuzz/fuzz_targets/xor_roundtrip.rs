//! Fuzz the XOR encoder: samples taken from the input (16 bytes each: timestamp, value bits)
//! must decode back bit-exactly, and resuming at the middle must give the same bytes.
#![no_main]

use cairn_format::{Sample, XorEncoder, decode_all};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let samples: Vec<Sample> = data
        .chunks_exact(16)
        .take(2000)
        .map(|c| {
            let t = i64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
            let v = f64::from_bits(u64::from_le_bytes(c[8..].try_into().expect("8 bytes")));
            Sample::new(t, v)
        })
        .collect();
    let mut e = XorEncoder::new();
    for s in &samples {
        e.append(s.t, s.v);
    }
    let bytes = e.into_bytes();
    let back = decode_all(&bytes).expect("own chunk decodes");
    assert_eq!(back.len(), samples.len());
    for (a, b) in back.iter().zip(&samples) {
        assert!(a.same_bits(b));
    }
    let mid = samples.len() / 2;
    let mut head = XorEncoder::new();
    for s in &samples[..mid] {
        head.append(s.t, s.v);
    }
    let mut resumed = XorEncoder::from_bytes(head.bytes()).expect("own prefix resumes");
    for s in &samples[mid..] {
        resumed.append(s.t, s.v);
    }
    assert_eq!(resumed.bytes(), &bytes[..]);
});
