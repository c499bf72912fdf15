//! `/api/v1/status/tsdb` (head cardinality statistics with top-N tables, Prometheus's shape,
//! plus the list of blocks)
//! and the admin endpoints `/api/v1/admin/tsdb/{delete_series,clean_tombstones,snapshot}`,
//! which exist only with `--enable-admin-api`.

use super::envelope::success_json;
use super::error::{ApiError, ErrorType};
use super::params::ApiParams;
use super::params::{MAX_TIME_MS, MIN_TIME_MS};
use super::selector::parse_match_params;
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn pairs(v: &[(String, u64)]) -> serde_json::Value {
    serde_json::Value::Array(v.iter().map(|(n, c)| json!({"name": n, "value": c})).collect())
}

pub async fn status(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let limit = match p.get("limit") {
        None | Some("") => 10,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::bad_data("limit must be a positive number"))?,
    };
    let db = st.db.clone();
    let (s, blocks) = tokio::task::spawn_blocking(move || (db.head_stats_top(limit), db.blocks()))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let blocks: Vec<serde_json::Value> = blocks
        .iter()
        .map(|b| {
            json!({"ulid": b.ulid, "minTime": b.min_time, "maxTime": b.max_time, "numSeries": b.num_series,
                "numSamples": b.num_samples, "sizeBytes": b.size_bytes})
        })
        .collect();
    Ok(success_json(json!({
        "headStats": {
            "numSeries": s.num_series,
            "numLabelPairs": s.series_count_by_label_value_pair.len(),
            "chunkCount": 0,
            "minTime": s.min_time.unwrap_or(i64::MAX),
            "maxTime": s.max_time.unwrap_or(i64::MIN),
        },
        "seriesCountByMetricName": pairs(&s.series_count_by_metric_name),
        "labelValueCountByLabelName": pairs(&s.label_value_count_by_label_name),
        "memoryInBytesByLabelName": pairs(&s.memory_in_bytes_by_label_name),
        "seriesCountByLabelValuePair": pairs(&s.series_count_by_label_value_pair),
        "blocks": blocks,
    })))
}

fn require_admin(st: &AppState) -> Result<(), ApiError> {
    if st.enable_admin_api {
        Ok(())
    } else {
        Err(ApiError::new(ErrorType::Unavailable, "admin APIs disabled"))
    }
}

pub async fn delete_series(
    State(st): State<AppState>,
    ApiParams(p): ApiParams,
) -> Result<Response, ApiError> {
    require_admin(&st)?;
    let matches = p.all("match[]");
    if matches.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let sets = parse_match_params(&matches)?;
    let start = p.time("start")?.unwrap_or(MIN_TIME_MS);
    let end = p.time("end")?.unwrap_or(MAX_TIME_MS);
    let db = st.db.clone();
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        for set in &sets {
            db.delete(set, start, end).map_err(|e| ApiError::internal(e.to_string()))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deleted samples are removed from the head immediately; blocks with tombstones are
/// rewritten without the deleted data.
pub async fn clean_tombstones(State(st): State<AppState>) -> Result<Response, ApiError> {
    require_admin(&st)?;
    let db = st.db.clone();
    tokio::task::spawn_blocking(move || db.clean_tombstones())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/admin/tsdb/snapshot[?skip_head=<bool>]`: answers `{"name": "<dir under
/// snapshots/>"}`. `skip_head` takes Go's `strconv.ParseBool` spellings, like Prometheus.
pub async fn snapshot(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    require_admin(&st)?;
    let skip_head = match p.get("skip_head") {
        None | Some("") => false,
        Some(s) => parse_bool(s).ok_or_else(|| {
            ApiError::bad_data(format!("unable to parse boolean 'skip_head' argument: invalid syntax: {s:?}"))
        })?,
    };
    let db = st.db.clone();
    let name = tokio::task::spawn_blocking(move || crate::server::snapshot::snapshot(&db, skip_head))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)?;
    Ok(success_json(json!({ "name": name })))
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
