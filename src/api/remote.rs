//! Remote-write receiver (`POST /api/v1/write`) and remote-read server (`POST /api/v1/read`):
//! HTTP glue only. Decoding, validation and response encoding belong to `ingest::remote`.
//!
//! Write semantics follow Prometheus: every valid sample of a request is appended and
//! committed; samples the database refuses (out of order, conflicting duplicate, too old) are
//! counted and the request then answers 400 naming the first refusal, so senders do not retry
//! what can never succeed. A request-level problem (bad snappy/protobuf/content type, a limit)
//! is refused as a whole with 4xx before anything is appended. Overload answers 503 (retried).

use crate::ingest::remote::proto::ResponseType;
use crate::ingest::remote::{self, RemoteError};
use crate::ingest::remote::{AppendFailure, AppendOutcome, WriteError};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut m = msg.into();
    m.push('\n');
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], m).into_response()
}

/// A refused request: status and plain-text message.
pub struct Reject(StatusCode, String);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        text(self.0, self.1)
    }
}

fn remote_error(st: &AppState, e: RemoteError) -> Reject {
    st.ingest.limit_hit(&e);
    Reject(StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST), e.to_string())
}

thread_local! {
    /// Decoding and appending buffers of this blocking-pool thread, reused by its next request.
    static WRITE_BUFFERS: std::cell::RefCell<remote::WriteBuffers> = Default::default();
}

pub async fn write(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(_permit) = st.write_slots.clone().try_acquire_owned() else {
        st.ingest.overloaded.inc();
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many concurrent remote-write requests; retry later",
        );
    };
    let ct = header_str(&headers, header::CONTENT_TYPE).map(str::to_string);
    let ce = header_str(&headers, header::CONTENT_ENCODING).map(str::to_string);
    let st2 = st.clone();
    let res = tokio::task::spawn_blocking(move || -> Result<AppendOutcome, Reject> {
        let limits = st2.ingest_limits.read().clone();
        let res = WRITE_BUFFERS.with_borrow_mut(|bufs| {
            remote::ingest_write_request(&st2.db, &body, ct.as_deref(), ce.as_deref(), &limits, bufs)
        });
        match res {
            Ok(out) => {
                count_limit_hits(&st2, &out);
                Ok(out)
            }
            Err(WriteError::Request(e)) => Err(remote_error(&st2, e)),
            Err(WriteError::Append(e @ AppendFailure::Closed)) => {
                Err(Reject(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
            }
            Err(WriteError::Append(AppendFailure::Storage(m))) => {
                Err(Reject(StatusCode::INTERNAL_SERVER_ERROR, m))
            }
        }
    })
    .await;
    match res {
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("write task failed: {e}")),
        Ok(Err(reject)) => reject.into_response(),
        Ok(Ok(out)) => {
            st.ingest.samples_received.add(out.accepted as f64);
            if out.rejected > 0 {
                st.ingest.samples_rejected.add(out.rejected as f64);
                let first = out.first_error.unwrap_or_default();
                text(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "{} of {} samples rejected (the others were stored); first: {first}",
                        out.rejected,
                        out.rejected + out.accepted
                    ),
                )
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
    }
}

/// Series-limit refusals of storage count as limit hits, like the request limits.
fn count_limit_hits(st: &AppState, out: &AppendOutcome) {
    if out.active_series_limit_hits > 0 {
        st.ingest.limit("active_series_max").add(out.active_series_limit_hits as f64);
    }
    if out.new_series_rate_limit_hits > 0 {
        st.ingest.limit("new_series_per_second_max").add(out.new_series_rate_limit_hits as f64);
    }
}

pub async fn read(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let ct = header_str(&headers, header::CONTENT_TYPE).map(str::to_string);
    let ce = header_str(&headers, header::CONTENT_ENCODING).map(str::to_string);
    let st2 = st.clone();
    let res = tokio::task::spawn_blocking(move || -> Result<Response, Reject> {
        let limits = st2.ingest_limits.read().clone();
        let req = remote::decode_read_request(&body, ct.as_deref(), ce.as_deref(), &limits)
            .map_err(|e| remote_error(&st2, e))?;
        let rtype = remote::negotiate_response_type(&req).map_err(|e| remote_error(&st2, e))?;
        let mut results = Vec::with_capacity(req.queries.len());
        for q in &req.queries {
            let matchers = remote::query_matchers(q).map_err(|e| remote_error(&st2, e))?;
            let (mut start, mut end) = (q.start_timestamp_ms, q.end_timestamp_ms);
            if let Some(h) = &q.hints {
                // Like Prometheus's TSDB, narrow the read to the hinted range when given.
                if h.start_ms != 0 || h.end_ms != 0 {
                    start = start.max(h.start_ms);
                    end = end.min(h.end_ms);
                }
            }
            let querier = cairn_query::Queryable::querier(&st2.db, start, end)
                .map_err(|e| Reject(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            let hints = cairn_query::SelectHints { start, end, ..Default::default() };
            let series = querier
                .select(&matchers, &hints)
                .map_err(|e| Reject(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            results.push(series);
        }
        Ok(match rtype {
            ResponseType::Samples => {
                let resp = remote::proto::ReadResponse {
                    results: results
                        .iter()
                        .map(|series| remote::proto::QueryResult {
                            timeseries: series
                                .iter()
                                .map(|s| remote::time_series(&s.labels, &s.samples))
                                .collect(),
                        })
                        .collect(),
                };
                let body = remote::encode_read_response(&resp)
                    .map_err(|e| Reject(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
                (
                    [(header::CONTENT_TYPE, "application/x-protobuf"), (header::CONTENT_ENCODING, "snappy")],
                    body,
                )
                    .into_response()
            }
            ResponseType::StreamedXorChunks => {
                let mut out = Vec::new();
                for (qi, series) in results.iter().enumerate() {
                    for s in series {
                        let chunks = remote::xor_chunks(&s.samples, remote::SAMPLES_PER_CHUNK);
                        for f in
                            remote::series_frames(qi as i64, &s.labels, chunks, remote::READ_FRAME_BYTES_MAX)
                        {
                            remote::encode_chunked_frame(&f, &mut out);
                        }
                    }
                }
                ([(header::CONTENT_TYPE, remote::STREAMED_CONTENT_TYPE)], out).into_response()
            }
        })
    })
    .await;
    match res {
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("read task failed: {e}")),
        Ok(Err(r)) => r.into_response(),
        Ok(Ok(r)) => r,
    }
}
