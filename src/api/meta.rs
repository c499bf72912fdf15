//! Metadata endpoints backed by storage: `/api/v1/series`, `/api/v1/labels`,
//! `/api/v1/label/<name>/values`, `/api/v1/query_exemplars`. Parameters `match[]`, `start`,
//! `end`, `limit` as Prometheus.

use super::envelope::success_raw;
use super::error::ApiError;
use super::json::{write_labels, write_str_array};

use super::params::{ApiParams, MAX_TIME_MS, MIN_TIME_MS, Params};
use super::selector::parse_match_params;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use cairn_format::{Labels, Matcher};
use std::collections::BTreeSet;

fn time_range(p: &Params) -> Result<(i64, i64), ApiError> {
    time_range_or(p, "invalid parameter \"end\": end timestamp must not be before start time")
}

/// `start`/`end` (defaulting to all time); `end < start` gives `reversed` (Prometheus words it
/// differently per endpoint).
fn time_range_or(p: &Params, reversed: &str) -> Result<(i64, i64), ApiError> {
    let start = p.time_param("start")?.unwrap_or(MIN_TIME_MS);
    let end = p.time_param("end")?.unwrap_or(MAX_TIME_MS);
    if end < start {
        return Err(ApiError::bad_data(reversed));
    }
    Ok((start, end))
}

fn limit(p: &Params) -> Result<usize, ApiError> {
    match p.get("limit") {
        None | Some("") => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n as usize)
            .ok_or_else(|| ApiError::bad_data("invalid parameter \"limit\": limit must be non-negative")),
    }
}

fn storage_err(e: cairn_query::StorageError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// `/api/v1/query_exemplars`: Cairn stores no exemplars (like Prometheus without
/// `--enable-feature=exemplar-storage`), so a valid request gets an empty list; the query and
/// the time range are still validated with Prometheus's errors.
pub async fn query_exemplars(ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    time_range_or(&p, "end timestamp must not be before start timestamp")?;
    let query = p.get("query").unwrap_or("");
    cairn_query::parse(query).map_err(|e| ApiError::bad_data(e.to_string()))?;
    Ok(success_raw("[]", &[], &[]))
}

const TRUNCATED: &str = "results truncated due to limit";

pub async fn series(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let matches = p.all("match[]");
    if matches.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let sets = parse_match_params(&matches)?;
    let (start, end) = time_range(&p)?;
    let limit = limit(&p)?;
    let db = st.db.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<BTreeSet<Labels>, ApiError> {
        // The storage querier directly: a series qualifies with its first sample in range, so
        // nothing beyond that sample is decoded (the engine's view would materialise them all).
        let internal = |e: crate::storage::StorageError| ApiError::internal(e.to_string());
        let querier = db.querier(start, end).map_err(internal)?;
        let mut out = BTreeSet::new();
        for set in &sets {
            for s in querier.select(set).map_err(internal)? {
                let mut samples = s.samples();
                let has_sample = samples.next().is_some();
                if let Some(e) = samples.err() {
                    return Err(ApiError::internal(format!("series {}: {e}", s.labels)));
                }
                if has_sample {
                    out.insert(s.labels);
                }
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let mut warnings = Vec::new();
    let mut out = String::from("[");
    for (i, l) in found.iter().enumerate() {
        if limit > 0 && i >= limit {
            warnings.push(TRUNCATED.to_string());
            break;
        }
        if i > 0 {
            out.push(',');
        }
        write_labels(&mut out, l);
    }
    out.push(']');
    Ok(success_raw(&out, &warnings, &[]))
}

pub async fn labels(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let sets = parse_match_params(&p.all("match[]"))?;
    let (start, end) = time_range(&p)?;
    let limit = limit(&p)?;
    let qa = st.queryable.clone();
    let names = tokio::task::spawn_blocking(move || -> Result<Vec<String>, ApiError> {
        let querier = qa.querier(start, end).map_err(storage_err)?;
        collect_union(&sets, |m| querier.label_names(m).map_err(storage_err))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(render_strings(names, limit))
}

pub async fn label_values(
    State(st): State<AppState>,
    Path(name): Path<String>,
    ApiParams(p): ApiParams,
) -> Result<Response, ApiError> {
    // Prometheus 3 accepts any non-empty UTF-8 name, optionally `U__`-escaped.
    let name = unescape_label_name(&name);
    if name.is_empty() {
        return Err(ApiError::bad_data(format!("invalid label name: \"{name}\"")));
    }
    let sets = parse_match_params(&p.all("match[]"))?;
    let (start, end) = time_range(&p)?;
    let limit = limit(&p)?;
    let qa = st.queryable.clone();
    let values = tokio::task::spawn_blocking(move || -> Result<Vec<String>, ApiError> {
        let querier = qa.querier(start, end).map_err(storage_err)?;
        collect_union(&sets, |m| querier.label_values(&name, m).map_err(storage_err))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(render_strings(values, limit))
}

/// Runs `f` with no matchers (when `sets` is empty) or once per matcher set, and returns the
/// sorted union.
fn collect_union(
    sets: &[Vec<Matcher>],
    f: impl Fn(&[Matcher]) -> Result<Vec<String>, ApiError>,
) -> Result<Vec<String>, ApiError> {
    if sets.is_empty() {
        return f(&[]);
    }
    let mut all = BTreeSet::new();
    for set in sets {
        all.extend(f(set)?);
    }
    Ok(all.into_iter().collect())
}

fn render_strings(mut items: Vec<String>, limit: usize) -> Response {
    let mut warnings = Vec::new();
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        warnings.push(TRUNCATED.to_string());
    }
    let mut out = String::new();
    write_str_array(&mut out, &items);
    success_raw(&out, &warnings, &[])
}

/// Decodes Prometheus's `U__` label-name escaping (`U__a_2e_b` → `a.b`); other names unchanged.
fn unescape_label_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else { return name.to_string() };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|c| *c != '_').collect();
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(ch) => out.push(ch),
            None => return name.to_string(),
        }
    }
    out
}
