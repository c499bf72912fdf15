//! Fuzz target: remote-write decoding must never panic or allocate past the body limit, and the
//! receive path's borrowing decoder (`decode_write_batch`) must agree with the prost reference
//! path (`decode_write_request` + `write_batch`): the same batch, or both refused with the same
//! error (protobuf errors may word their details differently). The input is tried both as a
//! snappy body and, snappy-compressed, as a raw protobuf, so the fuzzer reaches the protobuf
//! decoders and the validation as well as the decompressor.
#![no_main]

use cairn::ingest::limits::IngestLimits;
use cairn::ingest::remote::{
    RemoteError, decode_read_request, decode_write_batch, decode_write_request, write_batch,
};
use libfuzzer_sys::fuzz_target;

fn both_paths(body: &[u8], limits: &IngestLimits) {
    let fast = decode_write_batch(body, None, None, limits);
    let reference = decode_write_request(body, None, None, limits).and_then(|r| write_batch(r, limits));
    match (&fast, &reference) {
        (Ok(a), Ok(b)) => {
            assert!(a.same_bits(b), "decoders disagree: {a:?} != {b:?}");
            for s in &a.series {
                assert!(!s.labels.has_duplicate_names());
                assert!(s.labels.metric_name().is_some());
            }
        }
        (Err(RemoteError::InvalidProtobuf(_)), Err(RemoteError::InvalidProtobuf(_))) => {}
        (a, b) => assert_eq!(a, b, "decoders disagree"),
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = IngestLimits {
        body_size_bytes_max: 1 << 20,
        series_per_request_max: 8,
        labels_per_series_max: 6,
        ..IngestLimits::default()
    };
    both_paths(data, &limits);
    let Ok(body) = snap::raw::Encoder::new().compress_vec(data) else { return };
    both_paths(&body, &limits);
    let _ = decode_read_request(&body, None, None, &limits);
});
