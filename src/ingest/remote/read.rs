//! Remote-read serving, byte side: decoding `prometheus.ReadRequest`, turning its matchers into
//! `cairn_format::Matcher`s, choosing the response type, and encoding both responses — the
//! snappy `ReadResponse` of samples, and the framed stream of `ChunkedReadResponse` messages.
//!
//! Frame layout of the streamed response (Prometheus `storage/remote/chunked.go`):
//!
//! ```text
//! ┌────────────────────┬──────────────────────────────┬───────────────────────────┐
//! │ len <uvarint>      │ crc32c(message) <4b, BE>     │ message <len bytes>       │
//! └────────────────────┴──────────────────────────────┴───────────────────────────┘
//! ```
//! The checksum is CRC-32 Castagnoli over the message bytes only. Does not query storage.

use std::io::Write;

use cairn_format::{Labels, MatchOp, Matcher, Sample};
use prost::Message;

use super::RemoteError;
use super::proto::{
    Chunk, ChunkEncoding, ChunkedReadResponse, ChunkedSeries, Label, LabelMatcher, MatcherType, Query,
    ReadRequest, ReadResponse, ResponseType, TimeSeries,
};
use super::write::{check_content_type, decompress};
use crate::ingest::limits::IngestLimits;

/// Content-Type of the samples response (with `Content-Encoding: snappy`).
pub const SAMPLES_CONTENT_TYPE: &str = "application/x-protobuf";
/// Content-Type of the streamed chunks response (no Content-Encoding).
pub const STREAMED_CONTENT_TYPE: &str =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";
/// Target size of one streamed frame: Prometheus's `--storage.remote.read-max-bytes-in-frame`
/// default (1 MiB). A single chunk larger than this still goes out, alone in its frame.
pub const READ_FRAME_BYTES_MAX: usize = 1 << 20;

/// Decodes a remote-read request body (snappy-compressed `ReadRequest`).
pub fn decode_read_request(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &IngestLimits,
) -> Result<ReadRequest, RemoteError> {
    check_content_type(content_type, "prometheus.ReadRequest")?;
    let raw = decompress(body, content_encoding, limits)?;
    ReadRequest::decode(raw.as_slice()).map_err(|e| RemoteError::InvalidProtobuf(e.to_string()))
}

/// The first accepted response type Cairn implements (both are); none listed means `Samples`.
pub fn negotiate_response_type(req: &ReadRequest) -> Result<ResponseType, RemoteError> {
    if req.accepted_response_types.is_empty() {
        return Ok(ResponseType::Samples);
    }
    req.accepted_response_types
        .iter()
        .find_map(|t| ResponseType::try_from(*t).ok())
        .ok_or_else(|| RemoteError::UnsupportedResponseTypes(req.accepted_response_types.clone()))
}

/// The matchers of one query, compiled (regexes fully anchored, as in PromQL).
pub fn query_matchers(q: &Query) -> Result<Vec<Matcher>, RemoteError> {
    q.matchers.iter().map(to_matcher).collect()
}

fn to_matcher(m: &LabelMatcher) -> Result<Matcher, RemoteError> {
    let op = match MatcherType::try_from(m.r#type) {
        Ok(MatcherType::Eq) => MatchOp::Equal,
        Ok(MatcherType::Neq) => MatchOp::NotEqual,
        Ok(MatcherType::Re) => MatchOp::RegexMatch,
        Ok(MatcherType::Nre) => MatchOp::RegexNoMatch,
        Err(_) => return Err(RemoteError::InvalidMatcherType(m.r#type)),
    };
    Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| RemoteError::InvalidMatcher(e.to_string()))
}

fn proto_labels(labels: &Labels) -> Vec<Label> {
    labels.iter().map(|l| Label::new(&l.name, &l.value)).collect()
}

/// A `TimeSeries` for the samples response.
pub fn time_series(labels: &Labels, samples: &[Sample]) -> TimeSeries {
    TimeSeries {
        labels: proto_labels(labels),
        samples: samples.iter().map(|s| super::proto::Sample { value: s.v, timestamp: s.t }).collect(),
        exemplars: Vec::new(),
        histograms: Vec::new(),
    }
}

/// Encodes and snappy-compresses a samples response. Fails only above snappy's block limit
/// (about 4 GiB), which the query's sample limit keeps far away.
pub fn encode_read_response(resp: &ReadResponse) -> Result<Vec<u8>, RemoteError> {
    let raw = resp.encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&raw).map_err(|e| RemoteError::ResponseTooLarge(e.to_string()))
}

/// One encoded chunk of a series: `[min_time_ms, max_time_ms]` and the chunk bytes exactly as
/// Prometheus's XOR encoding lays them out (what `cairn_format::XorEncoder` produces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedChunk {
    pub min_time_ms: i64,
    pub max_time_ms: i64,
    pub data: Vec<u8>,
}

/// Samples per chunk when Cairn builds chunks for a streamed read (Prometheus's target).
pub const SAMPLES_PER_CHUNK: usize = 120;

/// Encodes time-ordered samples into XOR chunks of at most `samples_per_chunk` samples each
/// (`cairn_format::XorEncoder`, the same bytes Prometheus produces).
pub fn xor_chunks(samples: &[Sample], samples_per_chunk: usize) -> Vec<EncodedChunk> {
    samples
        .chunks(samples_per_chunk.max(1))
        .map(|part| {
            let mut enc = cairn_format::XorEncoder::new();
            for s in part {
                enc.append(s.t, s.v);
            }
            EncodedChunk {
                min_time_ms: part.first().map_or(0, |s| s.t),
                max_time_ms: part.last().map_or(0, |s| s.t),
                data: enc.into_bytes(),
            }
        })
        .collect()
}

/// Splits one series' XOR chunks into `ChunkedReadResponse` frames of about `frame_bytes_max`
/// bytes of chunk data each, in order, as Prometheus's server does; every frame repeats the
/// series' labels.
pub fn series_frames(
    query_index: i64,
    labels: &Labels,
    chunks: impl IntoIterator<Item = EncodedChunk>,
    frame_bytes_max: usize,
) -> Vec<ChunkedReadResponse> {
    let lbls = proto_labels(labels);
    let mut frames = Vec::new();
    let mut current: Vec<Chunk> = Vec::new();
    let mut bytes = 0usize;
    for c in chunks {
        if !current.is_empty() && bytes + c.data.len() > frame_bytes_max {
            frames.push(frame(query_index, &lbls, std::mem::take(&mut current)));
            bytes = 0;
        }
        bytes += c.data.len();
        current.push(Chunk {
            min_time_ms: c.min_time_ms,
            max_time_ms: c.max_time_ms,
            r#type: ChunkEncoding::Xor as i32,
            data: c.data,
        });
    }
    if !current.is_empty() {
        frames.push(frame(query_index, &lbls, current));
    }
    frames
}

fn frame(query_index: i64, labels: &[Label], chunks: Vec<Chunk>) -> ChunkedReadResponse {
    ChunkedReadResponse {
        chunked_series: vec![ChunkedSeries { labels: labels.to_vec(), chunks }],
        query_index,
    }
}

/// Appends one frame (uvarint length, big-endian CRC32C, message) to `out`.
pub fn encode_chunked_frame(msg: &ChunkedReadResponse, out: &mut Vec<u8>) {
    let body = msg.encode_to_vec();
    prost::encoding::encode_varint(body.len() as u64, out);
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
}

/// Writes framed `ChunkedReadResponse`s to a stream (the HTTP response body).
pub struct ChunkedFrameWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> ChunkedFrameWriter<W> {
    pub fn new(out: W) -> Self {
        ChunkedFrameWriter { out, buf: Vec::new() }
    }

    /// Writes one frame; returns the bytes written.
    pub fn write_frame(&mut self, msg: &ChunkedReadResponse) -> std::io::Result<usize> {
        self.buf.clear();
        encode_chunked_frame(msg, &mut self.buf);
        self.out.write_all(&self.buf)?;
        Ok(self.buf.len())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads back a framed stream, checking every length (against `frame_bytes_max`) and checksum:
/// what a remote-read client does. Used by tests and interop checks.
pub fn decode_chunked_frames(
    mut stream: &[u8],
    frame_bytes_max: usize,
) -> Result<Vec<ChunkedReadResponse>, RemoteError> {
    let mut out = Vec::new();
    let total = stream.len();
    while !stream.is_empty() {
        let offset = total - stream.len();
        let len = prost::encoding::decode_varint(&mut stream)
            .map_err(|e| RemoteError::CorruptFrame { offset, reason: e.to_string() })?;
        if len > frame_bytes_max as u64 {
            return Err(RemoteError::CorruptFrame {
                offset,
                reason: format!("frame of {len} bytes exceeds the {frame_bytes_max}-byte limit"),
            });
        }
        let len = len as usize;
        if stream.len() < 4 + len {
            return Err(RemoteError::CorruptFrame { offset, reason: "truncated frame".into() });
        }
        let (crc, rest) = stream.split_at(4);
        let (body, rest) = rest.split_at(len);
        let want = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let got = crc32c::crc32c(body);
        if want != got {
            return Err(RemoteError::CorruptFrame {
                offset,
                reason: format!("checksum mismatch: frame says {want:#010x}, data has {got:#010x}"),
            });
        }
        out.push(
            ChunkedReadResponse::decode(body)
                .map_err(|e| RemoteError::CorruptFrame { offset, reason: e.to_string() })?,
        );
        stream = rest;
    }
    Ok(out)
}
