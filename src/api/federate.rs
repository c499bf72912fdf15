//! `/federate`: the newest sample (within the lookback window) of every series matching
//! `match[]`, in the Prometheus text exposition format, grouped by metric name.

use super::error::ApiError;
use super::params::ApiParams;
use super::selector::parse_match_params;
use crate::server::{AppState, now_ms};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use cairn_format::{Labels, is_stale_nan};
use std::collections::BTreeMap;
use std::fmt::Write;

pub async fn federate(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let sets = parse_match_params(&p.all("match[]"))?;
    let now = now_ms();
    let lookback = st.lookback_delta_ms;
    let qa = st.queryable.clone();
    let latest = tokio::task::spawn_blocking(move || -> Result<BTreeMap<Labels, (i64, f64)>, ApiError> {
        let querier = qa.querier(now - lookback + 1, now).map_err(|e| ApiError::internal(e.to_string()))?;
        let hints = cairn_query::SelectHints { start: now, end: now, ..Default::default() };
        let mut out = BTreeMap::new();
        for set in &sets {
            for s in querier.select(set, &hints).map_err(|e| ApiError::internal(e.to_string()))? {
                if let Some(last) = s.samples.last().filter(|x| !is_stale_nan(x.v)) {
                    out.insert(s.labels, (last.t, last.v));
                }
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let external = st.external_labels.read().clone();
    let mut text = String::new();
    let mut last_name: Option<String> = None;
    // Group by metric name (BTreeMap order sorts by the label set; regroup by name first).
    let mut by_name: BTreeMap<String, Vec<(Labels, i64, f64)>> = BTreeMap::new();
    for (l, (t, v)) in latest {
        let name = l.metric_name().unwrap_or("").to_string();
        by_name.entry(name).or_default().push((l, t, v));
    }
    for (name, series) in by_name {
        if last_name.as_deref() != Some(name.as_str()) {
            let _ = writeln!(text, "# TYPE {name} untyped");
            last_name = Some(name.clone());
        }
        for (mut l, t, v) in series {
            for e in external.iter() {
                if l.get(&e.name).is_none() {
                    l.set(&e.name, &e.value);
                }
            }
            text.push_str(&name);
            text.push('{');
            let mut first = true;
            for lab in l.iter().filter(|x| x.name != cairn_format::METRIC_NAME) {
                if !first {
                    text.push(',');
                }
                first = false;
                let esc = lab.value.replace('\\', "\\\\").replace('\n', "\\n").replace('"', "\\\"");
                let _ = write!(text, "{}=\"{}\"", lab.name, esc);
            }
            let _ = writeln!(text, "}} {} {t}", super::json::fmt_value(v));
        }
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
        .into_response())
}

/// `/api/v1/format_query`: the query pretty-printed.
pub async fn format_query(ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let text = p.get("query").unwrap_or("").to_string();
    let bad = |m: String| ApiError::bad_data(format!("invalid parameter \"query\": {m}"));
    if text.len() > 64 * 1024 {
        return Err(bad("query too long".into()));
    }
    let owned = text.clone();
    let expr = std::panic::catch_unwind(move || promql_parser::parser::parse(&owned))
        .map_err(|_| bad("could not parse query".into()))?
        .map_err(bad)?;
    Ok(super::envelope::success_json(serde_json::Value::String(expr.prettify())))
}
