//! Fuzz the XOR chunk decoder with arbitrary bytes: iterating, seeking, decoding all and
//! resuming must never panic, and must agree with each other.
#![no_main]

use cairn_format::{XorEncoder, XorIter, decode_all};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut it) = XorIter::new(data) else {
        assert!(data.len() < 2);
        return;
    };
    let got: Vec<_> = it.by_ref().collect();
    assert!(got.len() <= it.num_samples());
    let all = decode_all(data);
    match (&all, it.err()) {
        (Ok(v), None) => {
            assert_eq!(v.len(), got.len());
            assert_eq!(v.len(), it.num_samples());
        }
        (Err(e), Some(e2)) => assert_eq!(e, e2),
        _ => panic!("decode_all and the iterator disagree"),
    }
    if let Some(first) = got.first() {
        let mut s = XorIter::new(data).expect("header checked above");
        let _ = s.seek(first.t.wrapping_add(1));
        let _ = s.seek(i64::MAX);
    }
    if let Ok(mut e) = XorEncoder::from_bytes(data) {
        let n = e.num_samples();
        let t = e.last().map_or(0, |s| s.t.wrapping_add(1));
        e.append(t, 1.5);
        let back = decode_all(e.bytes()).expect("resumed chunk decodes");
        assert_eq!(back.len(), n + 1);
        for (a, b) in back.iter().zip(&got) {
            assert!(a.same_bits(b));
        }
    }
});
