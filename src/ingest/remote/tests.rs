//! Tests of the remote-write/read codecs: hand-assembled golden protobuf bytes (field numbers),
//! every rejection path with its message, and the framed chunk stream.

use cairn_format::{Labels, MatchOp, Sample};
use prost::Message;

use super::proto::{self, Label, ReadRequest, ResponseType, TimeSeries, WriteRequest};
use super::*;
use crate::ingest::limits::IngestLimits;

fn snappy(b: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(b).unwrap()
}

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels.iter().map(|(n, v)| Label::new(n, v)).collect(),
        samples: samples.iter().map(|&(t, v)| proto::Sample { value: v, timestamp: t }).collect(),
        exemplars: vec![],
        histograms: vec![],
    }
}

/// Decodes with the receive path (borrowing decoder) and checks that the prost reference path
/// agrees.
fn decode(req: &WriteRequest, limits: &IngestLimits) -> Result<WriteBatch, RemoteError> {
    let body = snappy(&req.encode_to_vec());
    let fast = decode_write_batch(&body, Some("application/x-protobuf"), Some("snappy"), limits);
    let reference = decode_write_request(&body, Some("application/x-protobuf"), Some("snappy"), limits)
        .and_then(|r| write_batch(r, limits));
    match (&fast, &reference) {
        (Ok(a), Ok(b)) => assert!(a.same_bits(b), "{a:?} != {b:?}"),
        (a, b) => assert_eq!(a, b),
    }
    fast
}

/// Both paths on the same body: equal results, or both refused with the same status (and the
/// same error unless it is a protobuf error, whose text names different details).
fn assert_paths_agree(body: &[u8], l: &IngestLimits) -> Result<WriteBatch, RemoteError> {
    let fast = decode_write_batch(body, None, None, l);
    let reference = decode_write_request(body, None, None, l).and_then(|r| write_batch(r, l));
    match (&fast, &reference) {
        (Ok(a), Ok(b)) => assert!(a.same_bits(b), "{a:?} != {b:?}"),
        (Err(RemoteError::InvalidProtobuf(_)), Err(RemoteError::InvalidProtobuf(_))) => {}
        (a, b) => assert_eq!(a, b),
    }
    fast
}

#[test]
fn borrowing_decoder_agrees_with_prost_on_unusual_encodings() {
    let l = IngestLimits::default();
    // Fields in reverse order, unknown fields of every wire type, a group, repeated scalar
    // fields (last wins), long names (two-byte lengths), negative and large timestamps.
    let long = "n".repeat(200);
    #[rustfmt::skip]
    let mut label_rev = vec![0x12, 1, b'v', 0x0a, 8];
    label_rev.extend_from_slice(b"__name__");
    let mut label_long = vec![0x0a, 200, 1];
    label_long.extend_from_slice(long.as_bytes());
    label_long.extend_from_slice(&[0x12, 1, b'x']);
    #[rustfmt::skip]
    let sample_rev: Vec<u8> = vec![0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // t = -1
        0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f];
    #[rustfmt::skip]
    let sample_odd: Vec<u8> = vec![0x09, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x10, 7, 0x10, 9, // t=7 then t=9
        0x18, 5, 0x25, 1, 2, 3, 4, 0x2a, 1, 0, 0x33, 0x08, 1, 0x34]; // unknown fields, group 6
    // A length-delimited field with a (possibly two-byte) varint length.
    let field = |out: &mut Vec<u8>, f: u8, m: &[u8]| {
        assert!(m.len() < 1 << 14);
        out.push((f << 3) | 2);
        if m.len() < 0x80 {
            out.push(m.len() as u8);
        } else {
            out.extend_from_slice(&[(m.len() as u8) | 0x80, (m.len() >> 7) as u8]);
        }
        out.extend_from_slice(m);
    };
    let mut ts = Vec::new();
    for (f, m) in [(1u8, &label_rev), (1, &label_long), (2, &sample_rev), (2, &sample_odd)] {
        field(&mut ts, f, m);
    }
    let mut body = Vec::new();
    field(&mut body, 1, &ts);
    body.extend_from_slice(&[0x1a, 2, 0x08, 1]); // metadata {type: COUNTER}
    let b = assert_paths_agree(&snappy(&body), &l).unwrap();
    assert_eq!(b.series.len(), 1);
    assert_eq!(b.series[0].labels.get("__name__"), Some("v"));
    assert_eq!(b.series[0].labels.get(&long), Some("x"));
    assert_eq!(b.series[0].samples, vec![Sample::new(-1, 1.0), Sample::new(9, 2.0)]);
    assert_eq!(b.metadata_ignored, 1);

    // Malformed: wrong wire type of a known field, field number 0, truncated varint, a
    // length past the end, an unterminated group, an 11-byte varint.
    for bad in [
        vec![0x08, 1],
        vec![0x0a, 2, 0x08, 1],
        vec![0x0a, 3, 0x12, 1, 0x08],
        vec![0x00, 1],
        vec![0x0a, 0x80],
        vec![0x0a, 5, 0x0a, 9, 0x0a, 1, b'a'],
        vec![0x33, 0x08, 1],
        vec![0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    ] {
        let e = assert_paths_agree(&snappy(&bad), &l).unwrap_err();
        assert!(matches!(e, RemoteError::InvalidProtobuf(_)), "{bad:?}: {e:?}");
    }
}

#[test]
fn golden_write_request_bytes() {
    // WriteRequest{timeseries:[{labels:[{a,b}], samples:[{value:1.0, timestamp:5}]}],
    //              metadata:[{type:COUNTER(1), metric_family_name:"a"}]}, assembled by hand from
    // prompb's field numbers.
    #[rustfmt::skip]
    let golden: Vec<u8> = vec![
        0x0a, 21,                                   // field 1 (timeseries), 21 bytes
          0x0a, 6, 0x0a, 1, b'a', 0x12, 1, b'b',    //   field 1 (labels): name=1, value=2
          0x12, 11, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 5, // field 2 (samples): double 1, int64 2
        0x1a, 5, 0x08, 1, 0x12, 1, b'a',            // field 3 (metadata): type=1, family=2
    ];
    let req = WriteRequest::decode(golden.as_slice()).unwrap();
    assert_eq!(req.timeseries, vec![series(&[("a", "b")], &[(5, 1.0)])]);
    assert_eq!(req.metadata.len(), 1);
    assert_eq!(req.metadata[0].r#type, 1);
    assert_eq!(req.metadata[0].metric_family_name, b"a");
    assert_eq!(req.encode_to_vec(), golden);
}

#[test]
fn golden_read_request_and_chunk_bytes() {
    // ReadRequest{queries:[{start:1, end:2, matchers:[{type:RE(2), name:"n", value:"v"}],
    //   hints:{step_ms:3}}], accepted_response_types:[STREAMED_XOR_CHUNKS]}
    #[rustfmt::skip]
    let golden: Vec<u8> = vec![
        0x0a, 18,
          0x08, 1, 0x10, 2,
          0x1a, 8, 0x08, 2, 0x12, 1, b'n', 0x1a, 1, b'v',
          0x22, 2, 0x08, 3,
        0x12, 1, 1,                                 // packed repeated enum
    ];
    let req = ReadRequest::decode(golden.as_slice()).unwrap();
    assert_eq!(req.queries[0].start_timestamp_ms, 1);
    assert_eq!(req.queries[0].end_timestamp_ms, 2);
    assert_eq!(req.queries[0].hints.as_ref().map(|h| h.step_ms), Some(3));
    assert_eq!(negotiate_response_type(&req), Ok(ResponseType::StreamedXorChunks));
    let m = query_matchers(&req.queries[0]).unwrap();
    assert_eq!((m[0].op, m[0].name.as_str(), m[0].value.as_str()), (MatchOp::RegexMatch, "n", "v"));
    assert_eq!(req.encode_to_vec(), golden);

    // Chunk{min:1, max:2, type:XOR, data:[0xaa]} inside ChunkedSeries inside ChunkedReadResponse
    // with query_index 1.
    let resp = proto::ChunkedReadResponse {
        chunked_series: vec![proto::ChunkedSeries {
            labels: vec![Label::new("a", "b")],
            chunks: vec![proto::Chunk { min_time_ms: 1, max_time_ms: 2, r#type: 1, data: vec![0xaa] }],
        }],
        query_index: 1,
    };
    #[rustfmt::skip]
    let want: Vec<u8> = vec![
        0x0a, 19,
          0x0a, 6, 0x0a, 1, b'a', 0x12, 1, b'b',
          0x12, 9, 0x08, 1, 0x10, 2, 0x18, 1, 0x22, 1, 0xaa,
        0x10, 1,
    ];
    assert_eq!(resp.encode_to_vec(), want);
}

#[test]
fn valid_request_is_sorted_and_empty_values_dropped() {
    let req = WriteRequest {
        timeseries: vec![
            series(&[("job", "x"), ("__name__", "up"), ("empty", "")], &[(1000, 1.0), (2000, 0.0)]),
            series(&[("__name__", "only_exemplars")], &[]),
        ],
        metadata: vec![proto::MetricMetadata::default()],
    };
    let mut req = req;
    req.timeseries[1].exemplars.push(proto::Exemplar::default());
    req.timeseries[0].histograms.push(vec![0x08, 1]);
    let b = decode(&req, &IngestLimits::default()).unwrap();
    assert_eq!(b.series.len(), 1);
    assert_eq!(b.series[0].labels, Labels::from_pairs([("__name__", "up"), ("job", "x")]));
    assert_eq!(b.series[0].samples, vec![Sample::new(1000, 1.0), Sample::new(2000, 0.0)]);
    assert_eq!((b.samples, b.exemplars_ignored, b.histograms_ignored, b.metadata_ignored), (2, 1, 1, 1));
}

#[test]
fn header_checks() {
    let l = IngestLimits::default();
    let body = snappy(&WriteRequest::default().encode_to_vec());
    assert!(decode_write_request(&body, None, None, &l).is_ok());
    assert!(
        decode_write_request(&body, Some("application/x-protobuf;proto=prometheus.WriteRequest"), None, &l)
            .is_ok()
    );
    let e = decode_write_request(&body, Some("application/json"), None, &l).unwrap_err();
    assert_eq!(e.http_status(), 415);
    assert!(e.to_string().contains("application/json"), "{e}");
    let e = decode_write_request(
        &body,
        Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
        None,
        &l,
    );
    assert_eq!(e.unwrap_err(), RemoteError::RemoteWrite2Unsupported);
    let e = decode_write_request(&body, None, Some("gzip"), &l).unwrap_err();
    assert_eq!(e, RemoteError::UnsupportedEncoding("gzip".into()));
}

#[test]
fn bad_bodies() {
    let l = IngestLimits::default();
    let good = snappy(
        &WriteRequest { timeseries: vec![series(&[("__name__", "a")], &[(1, 1.0)])], metadata: vec![] }
            .encode_to_vec(),
    );
    // Truncated snappy.
    let e = decode_write_request(&good[..good.len() - 3], None, None, &l).unwrap_err();
    assert!(matches!(e, RemoteError::InvalidSnappy(_)), "{e:?}");
    assert_eq!(e.http_status(), 400);
    // Not snappy at all (a varint that never ends).
    let e = decode_write_request(&[0xff; 12], None, None, &l).unwrap_err();
    assert!(matches!(e, RemoteError::InvalidSnappy(_)), "{e:?}");
    // Valid snappy, invalid protobuf (field 1 claims 100 bytes).
    let e = decode_write_request(&snappy(&[0x0a, 100, 1, 2]), None, None, &l).unwrap_err();
    assert!(matches!(e, RemoteError::InvalidProtobuf(_)), "{e:?}");
    assert!(e.to_string().starts_with("invalid protobuf: "));
}

#[test]
fn size_limits_checked_before_decompressing() {
    let l = IngestLimits { body_size_bytes_max: 1000, ..IngestLimits::default() };
    let e = decode_write_request(&vec![0u8; 1001], None, None, &l).unwrap_err();
    assert_eq!(e, RemoteError::BodyTooLarge { size: 1001, limit: 1000 });
    assert_eq!(e.http_status(), 413);
    // A 6-byte body declaring 2^32-1 decompressed bytes: refused from the header alone.
    let e = decode_write_request(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00], None, None, &l).unwrap_err();
    assert_eq!(e, RemoteError::DecompressedTooLarge { size: 0xffff_ffff, limit: 1000 });
    // A compressible body: small on the wire, too big decompressed.
    let e = decode_write_request(&snappy(&[0u8; 5000]), None, None, &l).unwrap_err();
    assert_eq!(e, RemoteError::DecompressedTooLarge { size: 5000, limit: 1000 });
}

#[test]
fn validation_failures_reject_the_whole_request() {
    let l = IngestLimits {
        series_per_request_max: 3,
        labels_per_series_max: 3,
        label_name_length_max: 10,
        label_value_length_max: 5,
        ..IngestLimits::default()
    };
    let ok = series(&[("__name__", "ok")], &[(1, 1.0)]);
    let check = |bad: TimeSeries| {
        let req = WriteRequest { timeseries: vec![ok.clone(), bad], metadata: vec![] };
        decode(&req, &l).unwrap_err()
    };
    assert_eq!(
        check(series(&[("__name__", "a"), ("b", "1"), ("c", "1"), ("d", "1")], &[(1, 1.0)])),
        RemoteError::TooManyLabels { series: 1, count: 4, limit: 3 }
    );
    assert_eq!(
        check(series(&[("__name__", "a"), ("1b", "x")], &[])),
        RemoteError::InvalidLabelName { series: 1, name: "1b".into() }
    );
    assert_eq!(
        check(series(&[("__name__", "a"), ("long_name_xx", "x")], &[])),
        RemoteError::LabelNameTooLong { series: 1, name: "long_name_xx".into(), length: 12, limit: 10 }
    );
    assert_eq!(
        check(series(&[("__name__", "a"), ("v", "123456")], &[])),
        RemoteError::LabelValueTooLong { series: 1, name: "v".into(), length: 6, limit: 5 }
    );
    assert_eq!(
        check(series(&[("__name__", "a"), ("b", "1"), ("b", "2")], &[])),
        RemoteError::DuplicateLabelName { series: 1, name: "b".into() }
    );
    let e = check(series(&[("job", "x")], &[(1, 1.0)]));
    assert_eq!(e.to_string(), "series 1: no metric name (__name__) in {job=\"x\"}");
    assert_eq!(
        check(series(&[("__name__", "1up")], &[])),
        RemoteError::InvalidMetricName { series: 1, name: "1up".into() }
    );
    let mut bad = series(&[("__name__", "a")], &[(1, 1.0)]);
    bad.labels.push(Label { name: b"x".to_vec(), value: vec![0xc3, 0x28] });
    assert_eq!(check(bad), RemoteError::InvalidUtf8 { series: 1, what: "label value" });
    let req = WriteRequest { timeseries: vec![ok.clone(); 4], metadata: vec![] };
    assert_eq!(decode(&req, &l).unwrap_err(), RemoteError::TooManySeries { count: 4, limit: 3 });
}

#[test]
fn read_request_roundtrip_and_negotiation() {
    let l = IngestLimits::default();
    let req = ReadRequest {
        queries: vec![proto::Query {
            start_timestamp_ms: 10,
            end_timestamp_ms: 20,
            matchers: vec![
                proto::LabelMatcher { r#type: 0, name: "__name__".into(), value: "up".into() },
                proto::LabelMatcher { r#type: 3, name: "job".into(), value: "a|b".into() },
            ],
            hints: None,
        }],
        accepted_response_types: vec![],
    };
    let body = snappy(&req.encode_to_vec());
    let got = decode_read_request(&body, Some("application/x-protobuf"), Some("snappy"), &l).unwrap();
    assert_eq!(got, req);
    assert_eq!(negotiate_response_type(&got), Ok(ResponseType::Samples));
    let m = query_matchers(&got.queries[0]).unwrap();
    assert_eq!(m[1].op, MatchOp::RegexNoMatch);
    assert!(!m[1].matches("a") && m[1].matches("ab"));
    let bad = ReadRequest { accepted_response_types: vec![7], ..req.clone() };
    assert_eq!(negotiate_response_type(&bad), Err(RemoteError::UnsupportedResponseTypes(vec![7])));
    let pref = ReadRequest { accepted_response_types: vec![7, 0, 1], ..req.clone() };
    assert_eq!(negotiate_response_type(&pref), Ok(ResponseType::Samples));
    let mut badm = req.clone();
    badm.queries[0].matchers[0].r#type = 9;
    assert_eq!(query_matchers(&badm.queries[0]).unwrap_err(), RemoteError::InvalidMatcherType(9));
    badm.queries[0].matchers[0] = proto::LabelMatcher { r#type: 2, name: "a".into(), value: "(".into() };
    assert!(matches!(query_matchers(&badm.queries[0]), Err(RemoteError::InvalidMatcher(_))));
}

#[test]
fn samples_response_encodes_snappy_protobuf() {
    let labels = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
    let resp = proto::ReadResponse {
        results: vec![proto::QueryResult { timeseries: vec![time_series(&labels, &[Sample::new(5, 1.5)])] }],
    };
    let body = encode_read_response(&resp).unwrap();
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    let back = proto::ReadResponse::decode(raw.as_slice()).unwrap();
    assert_eq!(back, resp);
    let ts = &back.results[0].timeseries[0];
    assert_eq!(ts.labels[0], Label::new("__name__", "up"));
    assert_eq!((ts.samples[0].timestamp, ts.samples[0].value), (5, 1.5));
}

#[test]
fn chunked_frames_layout_and_checks() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283, "Castagnoli check value");
    let labels = Labels::from_pairs([("__name__", "up")]);
    let chunks = (0..5).map(|i| EncodedChunk {
        min_time_ms: i * 10,
        max_time_ms: i * 10 + 9,
        data: vec![i as u8; 400],
    });
    let frames = series_frames(2, &labels, chunks, 1000);
    assert_eq!(frames.iter().map(|f| f.chunked_series[0].chunks.len()).collect::<Vec<_>>(), [2, 2, 1]);
    assert!(
        frames
            .iter()
            .all(|f| f.query_index == 2 && f.chunked_series[0].labels == [Label::new("__name__", "up")])
    );
    assert!(frames.iter().flat_map(|f| &f.chunked_series[0].chunks).all(|c| c.r#type == 1));

    let mut w = ChunkedFrameWriter::new(Vec::new());
    for f in &frames {
        w.write_frame(f).unwrap();
    }
    let stream = w.into_inner();
    // First frame: uvarint length, big-endian CRC32C of the message, the message.
    let body0 = frames[0].encode_to_vec();
    let mut head = Vec::new();
    prost::encoding::encode_varint(body0.len() as u64, &mut head);
    head.extend_from_slice(&crc32c::crc32c(&body0).to_be_bytes());
    assert_eq!(&stream[..head.len()], head.as_slice());
    assert_eq!(&stream[head.len()..head.len() + body0.len()], body0.as_slice());
    assert_eq!(decode_chunked_frames(&stream, READ_FRAME_BYTES_MAX).unwrap(), frames);

    let mut corrupt = stream.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    let e = decode_chunked_frames(&corrupt, READ_FRAME_BYTES_MAX).unwrap_err();
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
    assert!(matches!(
        decode_chunked_frames(&stream[..stream.len() - 1], READ_FRAME_BYTES_MAX),
        Err(RemoteError::CorruptFrame { .. })
    ));
    assert!(matches!(decode_chunked_frames(&stream, 100), Err(RemoteError::CorruptFrame { offset: 0, .. })));
}

#[test]
fn streamed_xor_chunks_roundtrip() {
    let labels = Labels::from_pairs([("__name__", "m"), ("job", "j")]);
    let samples: Vec<Sample> =
        (0..300).map(|i| Sample::new(1_000 + i * 15_000, (i % 7) as f64 * 0.5)).collect();
    let chunks = xor_chunks(&samples, SAMPLES_PER_CHUNK);
    assert_eq!(chunks.len(), 3);
    assert_eq!((chunks[0].min_time_ms, chunks[0].max_time_ms), (1_000, 1_000 + 119 * 15_000));
    let mut stream = Vec::new();
    for f in series_frames(0, &labels, chunks, READ_FRAME_BYTES_MAX) {
        encode_chunked_frame(&f, &mut stream);
    }
    let frames = decode_chunked_frames(&stream, READ_FRAME_BYTES_MAX).unwrap();
    let mut back = Vec::new();
    for f in &frames {
        for c in &f.chunked_series[0].chunks {
            let decoded = cairn_format::decode_all(&c.data).unwrap();
            assert_eq!((decoded[0].t, decoded.last().unwrap().t), (c.min_time_ms, c.max_time_ms));
            back.extend(decoded);
        }
    }
    assert_eq!(back, samples);
}

mod robustness {
    //! Bounded randomized bodies: decoding never panics and every failure is a 4xx.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn random_bodies(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let l = IngestLimits { body_size_bytes_max: 1 << 16, ..IngestLimits::default() };
            for body in [data.clone(), snappy(&data)] {
                match assert_paths_agree(&body, &l) {
                    Ok(b) => prop_assert!(b.series.iter().all(|s| s.labels.metric_name().is_some())),
                    Err(e) => prop_assert!((400..500).contains(&e.http_status())),
                }
                if let Err(e) = decode_read_request(&body, None, None, &l) {
                    prop_assert!((400..500).contains(&e.http_status()));
                }
                let _ = decode_chunked_frames(&body, 1 << 16);
            }
        }

        /// Structured requests (valid protobuf, arbitrary labels and samples): both decoders
        /// and both validations agree.
        #[test]
        fn structured_requests_agree(
            series in prop::collection::vec(
                (
                    prop::collection::vec(("(__name__|[a-c_]|1x|é){1,2}", "[a-c:]{0,3}"), 0..5),
                    prop::collection::vec((any::<i64>(), prop_oneof![any::<f64>(), Just(f64::NAN)]), 0..4),
                    0usize..2,
                ),
                0..6,
            )
        ) {
            let req = WriteRequest {
                timeseries: series
                    .iter()
                    .map(|(labels, samples, ex)| {
                        let labels: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                        let mut ts = super::series(&labels, samples);
                        ts.exemplars = vec![proto::Exemplar::default(); *ex];
                        ts
                    })
                    .collect(),
                metadata: vec![],
            };
            let l = IngestLimits { labels_per_series_max: 3, series_per_request_max: 4, ..IngestLimits::default() };
            let _ = decode(&req, &l);
        }
    }
}
