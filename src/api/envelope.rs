//! The success envelope `{"status":"success","data":…,"warnings":[…],"infos":[…]}` and the
//! fallback for unknown endpoints.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// Wraps an already-rendered JSON `data` value.
pub fn success_raw(data_json: &str, warnings: &[String], infos: &[String]) -> Response {
    let mut out = String::with_capacity(data_json.len() + 64);
    out.push_str("{\"status\":\"success\",\"data\":");
    out.push_str(data_json);
    if !warnings.is_empty() {
        out.push_str(",\"warnings\":");
        super::json::write_str_array(&mut out, warnings);
    }
    if !infos.is_empty() {
        out.push_str(",\"infos\":");
        super::json::write_str_array(&mut out, infos);
    }
    out.push('}');
    ([(CONTENT_TYPE, "application/json")], out).into_response()
}

pub fn success_json(data: serde_json::Value) -> Response {
    success_raw(&data.to_string(), &[], &[])
}

/// Unknown paths: the same plain-text 404 as Prometheus (Go's `http.NotFound`).
pub async fn not_found() -> Response {
    (axum::http::StatusCode::NOT_FOUND, [(CONTENT_TYPE, "text/plain; charset=utf-8")], "404 page not found\n")
        .into_response()
}
