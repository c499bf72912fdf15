//! `/api/v1/targets`, `/api/v1/targets/metadata`, `/api/v1/scrape_pools` and
//! `/api/v1/metadata` in Prometheus's JSON shapes, from the scrape manager's view of its
//! targets and the configured scrape pools.

use super::envelope::success_json;
use super::error::ApiError;
use super::params::ApiParams;
use super::selector::parse_selector_param;
use crate::scrape::ActiveTarget;
use crate::server::{AppState, rfc3339};
use axum::extract::State;
use axum::response::Response;
use cairn_format::{Labels, matches_all};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn labels_obj(l: &Labels) -> Value {
    Value::Object(l.iter().map(|x| (x.name.clone(), Value::String(x.value.clone()))).collect::<Map<_, _>>())
}

/// Prometheus's duration spelling for intervals (`15s`, `1m`, `1m30s`).
pub fn fmt_duration(ms: i64) -> String {
    crate::config::PromDuration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}

fn active_json(t: &ActiveTarget) -> Value {
    let s = t.status.read().clone();
    json!({
        "discoveredLabels": labels_obj(&t.spec.discovered_labels),
        "labels": labels_obj(&t.spec.labels),
        "scrapePool": t.spec.pool,
        "scrapeUrl": t.spec.url,
        "globalUrl": t.spec.url,
        "lastError": s.last_error,
        "lastScrape": if s.last_scrape_ms == 0 { "0001-01-01T00:00:00Z".to_string() } else { rfc3339(s.last_scrape_ms) },
        "lastScrapeDuration": s.last_duration_s,
        "health": s.health.as_str(),
        "scrapeInterval": fmt_duration(t.spec.interval_ms),
        "scrapeTimeout": fmt_duration(t.spec.timeout_ms),
    })
}

pub async fn targets(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let state = p.get("state").unwrap_or("any").to_ascii_lowercase();
    let pools: Vec<&str> = p.all("scrapePool");
    let pool_ok = |pool: &str| pools.is_empty() || pools.contains(&pool);
    let show_active = state == "active" || state == "any" || state.is_empty();
    let show_dropped = state == "dropped" || state == "any" || state.is_empty();
    let active: Vec<Value> = if show_active {
        st.scrape.active().iter().filter(|t| pool_ok(&t.spec.pool)).map(active_json).collect()
    } else {
        Vec::new()
    };
    // Every configured pool is listed, with 0 when relabeling dropped none of its targets.
    let mut dropped_counts: BTreeMap<String, usize> =
        st.runtime.scrape_pools().into_iter().map(|p| (p, 0)).collect();
    let dropped_all = st.scrape.dropped();
    for d in &dropped_all {
        *dropped_counts.entry(d.pool.clone()).or_default() += 1;
    }
    let dropped: Vec<Value> = if show_dropped {
        dropped_all
            .iter()
            .filter(|d| pool_ok(&d.pool))
            .map(|d| json!({"discoveredLabels": labels_obj(&d.discovered_labels), "scrapePool": d.pool}))
            .collect()
    } else {
        Vec::new()
    };
    Ok(success_json(json!({
        "activeTargets": active,
        "droppedTargets": dropped,
        "droppedTargetCounts": dropped_counts,
    })))
}

/// `/api/v1/metadata?metric=&limit=&limit_per_metric=`: metric families seen by scrapes.
pub async fn metadata(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let limit = limit_param(&p, "limit")?;
    let per_metric = limit_param(&p, "limit_per_metric")?;
    let metric = p.get("metric").filter(|m| !m.is_empty());
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for t in st.scrape.active() {
        for (name, m) in t.metadata.read().iter() {
            if metric.is_some_and(|want| want != name) {
                continue;
            }
            let entry = json!({"type": if m.metric_type.is_empty() { "unknown" } else { &m.metric_type }, "help": m.help, "unit": m.unit});
            let list = out.entry(name.clone()).or_default();
            if !list.contains(&entry) && (per_metric <= 0 || (list.len() as i64) < per_metric) {
                list.push(entry);
            }
        }
    }
    let mut obj = Map::new();
    for (name, list) in out {
        if limit >= 0 && obj.len() as i64 >= limit {
            break;
        }
        obj.insert(name, Value::Array(list));
    }
    Ok(success_json(Value::Object(obj)))
}

/// A metadata `limit`-style parameter: -1 (no limit) when absent or empty.
fn limit_param(p: &crate::api::params::Params, key: &str) -> Result<i64, ApiError> {
    match p.get(key) {
        None | Some("") => Ok(-1),
        Some(s) => s.parse::<i64>().map_err(|_| ApiError::bad_data(format!("{key} must be a number"))),
    }
}

/// `/api/v1/scrape_pools`: the configured scrape pools (job names), sorted.
pub async fn scrape_pools(State(st): State<AppState>) -> Response {
    let mut pools = st.runtime.scrape_pools();
    pools.sort();
    success_json(json!({ "scrapePools": pools }))
}

/// `/api/v1/targets/metadata?match_target=&metric=&limit=`: per-target metric metadata from
/// the latest scrapes. Without `metric` each entry also names its metric, as in Prometheus.
pub async fn targets_metadata(
    State(st): State<AppState>,
    ApiParams(p): ApiParams,
) -> Result<Response, ApiError> {
    let limit = limit_param(&p, "limit")?;
    // An absent or empty `match_target` selects every target.
    let target_sets = match p.get("match_target").filter(|s| !s.is_empty()) {
        Some(sel) => Some(parse_selector_param(sel, "match_target")?),
        None => None,
    };
    let metric = p.get("metric").filter(|m| !m.is_empty());
    let mut out: Vec<Value> = Vec::new();
    'targets: for t in st.scrape.active() {
        if let Some(sets) = &target_sets
            && !sets.iter().any(|set| matches_all(set, &t.spec.labels))
        {
            continue;
        }
        for (name, m) in t.metadata.read().iter() {
            if metric.is_some_and(|want| want != name) {
                continue;
            }
            if limit >= 0 && out.len() as i64 >= limit {
                break 'targets;
            }
            let ty = if m.metric_type.is_empty() { "unknown" } else { m.metric_type.as_str() };
            let mut entry = Map::new();
            entry.insert("target".into(), labels_obj(&t.spec.labels));
            if metric.is_none() {
                entry.insert("metric".into(), Value::String(name.clone()));
            }
            entry.insert("type".into(), Value::String(ty.to_string()));
            entry.insert("help".into(), Value::String(m.help.clone()));
            entry.insert("unit".into(), Value::String(m.unit.clone()));
            out.push(Value::Object(entry));
        }
    }
    Ok(success_json(Value::Array(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_prometheus() {
        assert_eq!(fmt_duration(15_000), "15s");
        assert_eq!(fmt_duration(60_000), "1m");
        assert_eq!(fmt_duration(90_000), "1m30s");
        assert_eq!(fmt_duration(86_400_000), "1d");
        assert_eq!(fmt_duration(1500), "1s500ms");
    }
}
