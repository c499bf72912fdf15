//! The web UI served by `cairn serve`: routes for the single-page app at `/` (and its history
//! routes such as `/query`, `/targets`, `/tsdb-status`) and for its static assets under
//! `/static/`. The assets (hand-written HTML, CSS and ES modules in `src/web/assets/`) are
//! compiled into the binary; nothing is read from disk or fetched at run time.
//!
//! Owns only the serving of those files. The UI itself talks to the Prometheus-compatible API
//! (`crate::api`) over relative URLs; this module knows nothing of queries or storage.

pub mod assets;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// Paths of the single-page app that all answer with `index.html`; the client-side router picks
/// the view from `location.pathname`. `/graph` is Prometheus's old name for the query page.
pub const PAGE_PATHS: &[&str] = &[
    "/",
    "/query",
    "/graph",
    "/targets",
    "/rules",
    "/alerts",
    "/tsdb-status",
    "/config",
    "/flags",
    "/status",
];

/// The UI's routes. Merge into the API router before its fallback; none of these paths overlap
/// `/api/`, `/metrics` or `/-/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut r = Router::new();
    for p in PAGE_PATHS {
        r = r.route(p, get(index));
    }
    r.route("/classic/graph", get(classic_graph))
        .route("/static/{file}", get(static_file))
        .route("/favicon.ico", get(favicon))
}

/// Prometheus 2.x's classic UI path: redirect to the query page, keeping `g0.expr=…` panels.
async fn classic_graph(RawQuery(q): RawQuery) -> Redirect {
    match q {
        Some(q) if !q.is_empty() => Redirect::permanent(&format!("/query?{q}")),
        _ => Redirect::permanent("/query"),
    }
}

async fn index(headers: HeaderMap) -> Response {
    serve(assets::INDEX, &headers)
}

async fn favicon(headers: HeaderMap) -> Response {
    match assets::find("favicon.svg") {
        Some(a) => serve(a, &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn static_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match assets::find(&file) {
        Some(a) => serve(a, &headers),
        None => (StatusCode::NOT_FOUND, [(CONTENT_TYPE, "text/plain; charset=utf-8")], "asset not found\n")
            .into_response(),
    }
}

/// Answers with an asset, or 304 when the client already holds this build's copy. Assets are
/// revalidated on every load (`no-cache`), so a new binary never serves a stale mix of modules.
fn serve(a: &assets::Asset, headers: &HeaderMap) -> Response {
    let etag = assets::etag(a);
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let common = [(ETAG, etag.clone()), (CACHE_CONTROL, "no-cache".to_string())];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(CONTENT_TYPE, a.content_type)], a.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_known_type_and_content() {
        for a in assets::ALL {
            assert!(!a.body.is_empty(), "{} is empty", a.name);
            assert!(a.content_type.contains('/'), "{}", a.name);
        }
        assert!(assets::find("app.js").is_some());
        assert!(assets::find("../mod.rs").is_none());
    }

    #[test]
    fn index_references_only_embedded_assets() {
        let html = std::str::from_utf8(assets::INDEX.body).unwrap();
        for part in html.split("static/").skip(1) {
            let name: String = part.chars().take_while(|c| !matches!(c, '"' | '\'' | '?')).collect();
            assert!(assets::find(&name).is_some(), "index.html references missing asset {name}");
        }
    }

    #[test]
    fn module_imports_resolve_to_embedded_assets() {
        for a in assets::ALL.iter().filter(|a| a.name.ends_with(".js")) {
            let src = std::str::from_utf8(a.body).unwrap();
            for part in src.split("from './").skip(1) {
                let name: String = part.chars().take_while(|c| *c != '\'').collect();
                assert!(assets::find(&name).is_some(), "{} imports missing module {name}", a.name);
            }
        }
    }

    #[test]
    fn page_paths_do_not_shadow_the_api() {
        for p in PAGE_PATHS {
            assert!(!p.starts_with("/api") && !p.starts_with("/-/") && *p != "/metrics", "{p}");
        }
    }
}
