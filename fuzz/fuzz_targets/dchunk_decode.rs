//! Fuzz the decimal chunk decoder (`block/dchunk.md`) with arbitrary bytes: decoding must
//! never panic, never yield more samples than the header's capped count, and agree with the
//! any-encoding dispatcher. A chunk that decodes must re-encode (decimal or XOR) to samples
//! that are bit-identical.
#![no_main]

use cairn_format::block::dchunk::{
    DCHUNK_SAMPLES_MAX, ENCODING_DECIMAL, decimal_num_samples, decode_block_chunk, decode_decimal,
    encode_block_chunk,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let res = decode_decimal(data, &mut out);
    assert!(out.len() <= DCHUNK_SAMPLES_MAX);
    let mut again = Vec::new();
    let res2 = decode_block_chunk(ENCODING_DECIMAL, data, &mut again);
    assert_eq!(res.is_ok(), res2.is_ok());
    if res.is_ok() {
        assert_eq!(Ok(out.len()), decimal_num_samples(data));
        let mut buf = Vec::new();
        let enc = encode_block_chunk(&out, &mut buf);
        let mut back = Vec::new();
        decode_block_chunk(enc, &buf, &mut back).expect("re-encoded chunk decodes");
        assert_eq!(back.len(), out.len());
        for (a, b) in back.iter().zip(&out) {
            assert!(a.same_bits(b));
        }
    }
});
