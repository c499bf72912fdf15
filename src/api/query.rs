//! `/api/v1/query` and `/api/v1/query_range`: parameter handling, concurrency limit,
//! cancellation when the client goes away, and rendering of results in Prometheus's JSON.

use super::envelope::success_raw;
use super::error::{ApiError, ErrorType};
use super::json::{write_labels, write_point};
use super::params::ApiParams;
use super::params::Params;
use crate::server::{AppState, now_ms};
use axum::extract::State;
use axum::response::Response;
use cairn_query::{ErrorKind, QueryError, QueryOptions, QueryResult, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Maximum points per series of a range query (Prometheus's limit).
const RANGE_POINTS_MAX: i64 = 11_000;

pub async fn instant(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let expr = p.get("query").unwrap_or("").to_string();
    let t = p.time_param("time")?.unwrap_or_else(now_ms);
    let opts = query_options(&p)?;
    let stats = p.get("stats").is_some_and(|s| !s.is_empty());
    run(st, opts, stats, move |engine, qa, opts| engine.instant_query(qa, &expr, t, opts)).await
}

pub async fn range(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let expr = p.get("query").unwrap_or("").to_string();
    let start = p.time("start")?.ok_or_else(|| missing("start"))?;
    let end = p.time("end")?.ok_or_else(|| missing("end"))?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step = p.duration("step")?.ok_or_else(|| {
        ApiError::bad_data("invalid parameter \"step\": cannot parse \"\" to a valid duration")
    })?;
    if step <= 0 {
        return Err(ApiError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step > RANGE_POINTS_MAX {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let opts = query_options(&p)?;
    let stats = p.get("stats").is_some_and(|s| !s.is_empty());
    run(st, opts, stats, move |engine, qa, opts| engine.range_query(qa, &expr, start, end, step, opts)).await
}

fn missing(name: &str) -> ApiError {
    ApiError::bad_data(format!("invalid parameter \"{name}\": cannot parse \"\" to a valid timestamp"))
}

/// Per-query options from the request: `lookback_delta`, `timeout`.
fn query_options(p: &Params) -> Result<(QueryOptions, Option<i64>), ApiError> {
    let mut opts = QueryOptions::default();
    if let Some(lb) = p.duration("lookback_delta")? {
        if lb < 0 {
            return Err(ApiError::bad_data("invalid parameter \"lookback_delta\": negative lookback delta"));
        }
        opts.lookback_delta_ms = Some(lb);
    }
    let timeout = p.duration("timeout")?;
    Ok((opts, timeout))
}

/// Sets the cancel flag when dropped: axum drops the handler future when the client
/// disconnects, which cancels the evaluation running on the blocking pool.
struct CancelOnDrop(Arc<AtomicBool>);
impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn run(
    st: AppState,
    (mut opts, timeout_ms): (QueryOptions, Option<i64>),
    want_stats: bool,
    f: impl FnOnce(
        &cairn_query::Engine,
        &dyn cairn_query::Queryable,
        &QueryOptions,
    ) -> Result<QueryResult, QueryError>
    + Send
    + 'static,
) -> Result<Response, ApiError> {
    let _permit = st
        .query_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("query engine is shutting down"))?;
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    opts.cancel = Some(cancel.clone());
    if let Some(t) = timeout_ms.filter(|t| *t > 0) {
        opts.timeout = Some(std::time::Duration::from_millis(t as u64));
    }
    let engine = st.engine.clone();
    let qa = st.queryable.clone();
    let started = Instant::now();
    let res = tokio::task::spawn_blocking(move || f(&engine, qa.as_ref(), &opts))
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?;
    st.query_duration.add(started.elapsed().as_secs_f64());
    st.queries_total.inc();
    match res {
        Ok(r) => Ok(render(&r, want_stats.then(|| started.elapsed().as_secs_f64()))),
        Err(e) => Err(query_error(e)),
    }
}

/// Maps an engine error to Prometheus's API error type and text.
pub fn query_error(e: QueryError) -> ApiError {
    let kind = e.kind();
    let msg = e.to_string();
    match kind {
        ErrorKind::BadData => {
            if matches!(e, QueryError::Parse(_)) {
                ApiError::bad_data(format!("invalid parameter \"query\": {msg}"))
            } else {
                ApiError::bad_data(msg)
            }
        }
        ErrorKind::Execution | ErrorKind::TooManySamples => ApiError::new(ErrorType::Execution, msg),
        ErrorKind::Timeout => ApiError::new(ErrorType::Timeout, msg),
        ErrorKind::Canceled => ApiError::new(ErrorType::Canceled, msg),
        ErrorKind::Storage => ApiError::internal(msg),
    }
}

/// Renders `{"resultType":…,"result":…}` (plus `stats` when asked) into the success envelope.
pub fn render(r: &QueryResult, exec_seconds: Option<f64>) -> Response {
    let mut out = String::with_capacity(256);
    out.push_str("{\"resultType\":\"");
    out.push_str(r.value.type_name());
    out.push_str("\",\"result\":");
    render_value(&mut out, &r.value);
    if let Some(secs) = exec_seconds {
        out.push_str(&format!(
            ",\"stats\":{{\"timings\":{{\"evalTotalTime\":{secs},\"execTotalTime\":{secs}}},\"samples\":{{\"totalQueryableSamples\":{},\"peakSamples\":{}}}}}",
            r.stats.samples_loaded, r.stats.peak_samples
        ));
    }
    out.push('}');
    success_raw(&out, &r.warnings, &r.infos)
}

pub fn render_value(out: &mut String, v: &Value) {
    match v {
        Value::Scalar(t, v) => write_point(out, *t, *v),
        Value::String(t, s) => {
            out.push('[');
            super::json::write_ts(out, *t);
            out.push(',');
            super::json::write_str(out, s);
            out.push(']');
        }
        Value::Vector(items) => {
            out.push('[');
            for (i, (labels, t, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, labels);
                out.push_str(",\"value\":");
                write_point(out, *t, *v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, (labels, samples)) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, labels);
                out.push_str(",\"values\":[");
                for (j, s) in samples.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(out, s.t, s.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
}
