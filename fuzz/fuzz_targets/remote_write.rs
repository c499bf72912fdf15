//! Fuzz target: remote-write decoding must never panic or allocate past the body limit. The
//! input is tried both as a snappy body and, snappy-compressed, as a raw protobuf, so the fuzzer
//! reaches the protobuf decoder and the validation as well as the decompressor.
#![no_main]

use cairn::ingest::limits::IngestLimits;
use cairn::ingest::remote::{decode_read_request, decode_write_request, write_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = IngestLimits { body_size_bytes_max: 1 << 20, ..IngestLimits::default() };
    if let Ok(req) = decode_write_request(data, None, None, &limits) {
        let _ = write_batch(req, &limits);
    }
    let Ok(body) = snap::raw::Encoder::new().compress_vec(data) else { return };
    if let Ok(req) = decode_write_request(&body, Some("application/x-protobuf"), Some("snappy"), &limits) {
        if let Ok(batch) = write_batch(req, &limits) {
            for s in &batch.series {
                assert!(!s.labels.has_duplicate_names());
                assert!(s.labels.metric_name().is_some());
            }
        }
    }
    let _ = decode_read_request(&body, None, None, &limits);
});
