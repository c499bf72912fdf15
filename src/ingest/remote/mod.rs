//! Prometheus remote-write 1.0 (receive) and remote-read (serve) protocols: protobuf messages,
//! body decoding within limits, validation, and response encoding. The HTTP handlers live in
//! `api`; they map a [`RemoteError`] to [`RemoteError::http_status`] with its Display text as
//! the body. Only `append.rs` touches storage (appending a decoded write request). Wire format page: `remote.md` beside this file.

pub mod append;
pub mod decode;
pub mod proto;
pub mod read;
pub mod write;

pub use append::{
    AppendFailure, AppendOutcome, WriteBuffers, WriteError, append_batch, ingest_write_request,
};
pub use decode::{DecodedWrite, decode_write};
pub use read::{
    ChunkedFrameWriter, EncodedChunk, READ_FRAME_BYTES_MAX, SAMPLES_CONTENT_TYPE, SAMPLES_PER_CHUNK,
    STREAMED_CONTENT_TYPE, decode_chunked_frames, decode_read_request, encode_chunked_frame,
    encode_read_response, negotiate_response_type, query_matchers, series_frames, time_series, xor_chunks,
};
pub use write::{
    SeriesSamples, WRITE_CONTENT_TYPE, WriteBatch, decode_write_batch, decode_write_request,
    decoded_to_batch, decompress_into, validate_decoded, write_batch,
};

/// Why a remote-write or remote-read request was refused. The Display text is the response body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("unsupported Content-Type {0:?}: remote write 1.0 expects application/x-protobuf")]
    WrongContentType(String),
    #[error(
        "remote write 2.0 (proto=io.prometheus.write.v2.Request) is not supported; \
         configure the sender with protobuf_message: prometheus.WriteRequest"
    )]
    RemoteWrite2Unsupported,
    #[error("unsupported Content-Encoding {0:?}: only snappy is accepted")]
    UnsupportedEncoding(String),
    #[error("request body of {size} bytes exceeds the limit of {limit} bytes (body_size_bytes_max)")]
    BodyTooLarge { size: usize, limit: usize },
    #[error("decompressed body would be {size} bytes, over the limit of {limit} bytes (body_size_bytes_max)")]
    DecompressedTooLarge { size: usize, limit: usize },
    #[error("invalid snappy block: {0}")]
    InvalidSnappy(String),
    #[error("invalid protobuf: {0}")]
    InvalidProtobuf(String),
    #[error("{count} series in one request, over the limit of {limit} (series_per_request_max)")]
    TooManySeries { count: usize, limit: usize },
    #[error("series {series}: {count} labels, over the limit of {limit} (labels_per_series_max)")]
    TooManyLabels { series: usize, count: usize, limit: usize },
    #[error("series {series}: {what} is not valid UTF-8")]
    InvalidUtf8 { series: usize, what: &'static str },
    #[error("series {series}: invalid label name {name:?}")]
    InvalidLabelName { series: usize, name: String },
    #[error(
        "series {series}: label name {name:?} is {length} bytes, over the limit of {limit} (label_name_length_max)"
    )]
    LabelNameTooLong { series: usize, name: String, length: usize, limit: usize },
    #[error(
        "series {series}: value of label {name:?} is {length} bytes, over the limit of {limit} (label_value_length_max)"
    )]
    LabelValueTooLong { series: usize, name: String, length: usize, limit: usize },
    #[error("series {series}: duplicate label name {name:?}")]
    DuplicateLabelName { series: usize, name: String },
    #[error("series {series}: no metric name (__name__) in {labels}")]
    MissingMetricName { series: usize, labels: String },
    #[error("series {series}: invalid metric name {name:?}")]
    InvalidMetricName { series: usize, name: String },
    #[error("none of the accepted response types {0:?} is supported (0 = SAMPLES, 1 = STREAMED_XOR_CHUNKS)")]
    UnsupportedResponseTypes(Vec<i32>),
    #[error("invalid matcher type {0}")]
    InvalidMatcherType(i32),
    #[error("{0}")]
    InvalidMatcher(String),
    #[error("read response cannot be encoded: {0}")]
    ResponseTooLarge(String),
    #[error("corrupt chunked read frame at byte {offset}: {reason}")]
    CorruptFrame { offset: usize, reason: String },
}

impl RemoteError {
    /// The HTTP status for this error: 415 for a wrong media type or encoding, 413 for an
    /// oversized body, 500 for a response Cairn cannot encode, 400 for anything else. Request
    /// errors are 4xx so that senders do not retry them.
    pub fn http_status(&self) -> u16 {
        match self {
            RemoteError::WrongContentType(_)
            | RemoteError::RemoteWrite2Unsupported
            | RemoteError::UnsupportedEncoding(_) => 415,
            RemoteError::BodyTooLarge { .. } | RemoteError::DecompressedTooLarge { .. } => 413,
            RemoteError::ResponseTooLarge(_) => 500,
            _ => 400,
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod interop_tests;
