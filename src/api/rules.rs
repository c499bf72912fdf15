//! `/api/v1/rules`, `/api/v1/alerts`, `/api/v1/alertmanagers` (JSON from `rules::api`) and the
//! lifecycle endpoint `POST /-/reload`.

use super::envelope::success_json;
use super::error::ApiError;
use super::params::ApiParams;
use crate::rules::api::{RulesFilter, alertmanagers_json, alerts_json, rules_json};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub async fn rules(State(st): State<AppState>, ApiParams(p): ApiParams) -> Result<Response, ApiError> {
    let typ = p.get("type").filter(|t| !t.is_empty()).map(str::to_string);
    if let Some(t) = &typ
        && t != "alert"
        && t != "record"
    {
        return Err(ApiError::bad_data(format!("invalid query parameter type='{t}'")));
    }
    let owned = |k: &str| p.all(k).into_iter().map(str::to_string).collect::<Vec<_>>();
    let filter = RulesFilter {
        typ,
        rule_names: owned("rule_name[]"),
        group_names: owned("rule_group[]").into_iter().chain(owned("group_name[]")).collect(),
        files: owned("file[]"),
        exclude_alerts: p.get("exclude_alerts") == Some("true"),
    };
    let v = rules_json(&st.runtime.rules, &filter).map_err(ApiError::bad_data)?;
    Ok(success_json(v))
}

pub async fn alerts(State(st): State<AppState>) -> Response {
    success_json(alerts_json(&st.runtime.rules))
}

pub async fn alertmanagers(State(st): State<AppState>) -> Response {
    success_json(alertmanagers_json(Some(&st.runtime.notifier)))
}

pub async fn reload(State(st): State<AppState>) -> Response {
    let rt = st.runtime.clone();
    match tokio::task::spawn_blocking(move || rt.reload()).await {
        Ok(Ok(())) => (StatusCode::OK, "").into_response(),
        Ok(Err(e)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("failed to reload config: {e}\n")).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("reload task failed: {e}\n")).into_response(),
    }
}
