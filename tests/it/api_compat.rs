//! HTTP API compatibility, checked differentially: the same requests go to a real Prometheus
//! (Debian package, 2.42) and to Cairn, and the answers must agree on status code, `status`,
//! `errorType` and the shape of `data` (the set of keys, recursively for objects, and the
//! element shape of arrays). Bad requests (unparsable query, bad time, too many points,
//! unknown endpoint, …) must give Prometheus's error body.

use crate::support::CairnServer;
use crate::support::peers::start_prometheus;
use serde_json::Value;
use std::collections::BTreeSet;

/// A structural fingerprint of a JSON value: types and object keys, not values.
fn shape(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(a) => {
            let inner: BTreeSet<String> = a.iter().map(shape).collect();
            format!("[{}]", inner.into_iter().collect::<Vec<_>>().join("|"))
        }
        Value::Object(o) => {
            let fields: Vec<String> = o.iter().map(|(k, v)| format!("{k}:{}", shape(v))).collect();
            format!("{{{}}}", fields.join(","))
        }
    }
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

async fn call(addr: &str, method: &str, path: &str, form: Option<&str>) -> Answer {
    let c = crate::support::http_client();
    let url = format!("http://{addr}{path}");
    let req = match method {
        "POST" => c
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.unwrap_or("").to_string()),
        _ => c.get(url),
    };
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let content_type =
        r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    Answer { status, content_type, body: r.text().await.unwrap_or_default() }
}

#[tokio::test]
async fn api_answers_like_prometheus() {
    let Some(prom) = start_prometheus("global:\n  scrape_interval: 1h\n", &[]) else { return };
    let cairn = CairnServer::start(&[]).await;
    // Same data in both: one series via remote-write (Prometheus's receiver needs the flag, so
    // compare only on queries whose results do not depend on data, plus error cases).
    let paddr = prom.addr.clone();
    let ready = crate::support::peers::poll(std::time::Duration::from_secs(30), || {
        let paddr = paddr.clone();
        async move { crate::support::peers::get_json(&paddr, "/api/v1/status/buildinfo").await.map(|_| ()) }
    })
    .await;
    assert!(ready.is_some(), "prometheus did not start");

    // (method, path, form body, compare the error text exactly?)
    let cases: &[(&str, &str, Option<&str>, bool)] = &[
        ("GET", "/api/v1/query?query=1%2B1&time=100", None, true),
        ("GET", "/api/v1/query?query=vector(1)&time=100", None, true),
        ("GET", "/api/v1/query?query=%22abc%22&time=100", None, true),
        ("GET", "/api/v1/query?query=nothing_here&time=100", None, true),
        ("GET", "/api/v1/query_range?query=vector(time())&start=0&end=60&step=15", None, true),
        ("POST", "/api/v1/query", Some("query=2*3&time=5"), true),
        ("POST", "/api/v1/query_range", Some("query=time()&start=0&end=30&step=10"), true),
        ("GET", "/api/v1/query?query=up%7B", None, true),
        ("GET", "/api/v1/query", None, true),
        ("GET", "/api/v1/query?query=up&time=abc", None, true),
        ("GET", "/api/v1/query_range?query=up&start=0&end=100000&step=1", None, true),
        ("GET", "/api/v1/query_range?query=up&start=10&end=0&step=1", None, true),
        ("GET", "/api/v1/query_range?query=up&start=0&end=10&step=0", None, true),
        ("GET", "/api/v1/query_range?query=up&start=0&end=10", None, true),
        ("GET", "/api/v1/query_range?query=up&start=abc&end=10&step=1", None, true),
        ("GET", "/api/v1/query?query=rate(up)", None, false),
        ("GET", "/api/v1/query?query=sum(x)%20by", None, false),
        (
            "GET",
            "/api/v1/query?query=label_replace(vector(1)%2C%22a%22%2C%22b%22%2C%22c%22%2C%22(%22)",
            None,
            true,
        ),
        ("GET", "/api/v1/series", None, true),
        ("GET", "/api/v1/series?match[]=%7B%7D", None, true),
        ("GET", "/api/v1/series?match[]=nothing_here", None, true),
        ("GET", "/api/v1/labels?match[]=nothing_here", None, true),
        ("GET", "/api/v1/label/job/values?match[]=nothing_here", None, true),
        ("GET", "/api/v1/series?match[]=up&start=abc", None, true),
        ("GET", "/api/v1/nope", None, true),
        ("POST", "/api/v1/admin/tsdb/snapshot", None, true),
        ("POST", "/api/v1/admin/tsdb/delete_series?match[]=up", None, true),
        ("GET", "/api/v1/status/buildinfo", None, false),
        ("GET", "/api/v1/status/runtimeinfo", None, false),
        ("GET", "/api/v1/rules", None, false),
        ("GET", "/api/v1/alerts", None, false),
        ("GET", "/api/v1/alertmanagers", None, false),
        ("GET", "/api/v1/format_query?query=sum(rate(x%5B5m%5D))by(job)", None, true),
        ("GET", "/api/v1/metadata?metric=nothing_here", None, true),
        ("GET", "/api/v1/status/walreplay", None, false),
        ("GET", "/api/v1/query_exemplars?query=up&start=0&end=100", None, true),
        ("POST", "/api/v1/query_exemplars", Some("query=up&start=0&end=100"), true),
        ("GET", "/api/v1/query_exemplars?query=up%7B&start=0&end=100", None, true),
        ("GET", "/api/v1/query_exemplars?query=up&start=10&end=0", None, true),
        ("GET", "/api/v1/query_exemplars?query=up&start=abc", None, true),
        ("GET", "/api/v1/query_exemplars", None, true),
        ("GET", "/api/v1/targets/metadata?metric=nothing_here", None, true),
        ("GET", "/api/v1/targets/metadata?limit=abc", None, true),
    ];
    let mut failures = Vec::new();
    for (method, path, form, exact_error) in cases {
        let p = call(&prom.addr, method, path, *form).await;
        let c = call(&cairn.addr, method, path, *form).await;
        let label = format!("{method} {path}");
        if p.status != c.status {
            failures.push(format!(
                "{label}: status {} vs {} (prometheus {:?}, cairn {:?})",
                p.status, c.status, p.body, c.body
            ));
            continue;
        }
        if !p.content_type.starts_with("application/json") {
            // Non-JSON answers (Go's plain-text 404) must be the same text.
            if p.body != c.body {
                failures.push(format!("{label}: body {:?} vs {:?}", p.body, c.body));
            }
            continue;
        }
        let (pj, cj): (Value, Value) = match (serde_json::from_str(&p.body), serde_json::from_str(&c.body)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                failures.push(format!("{label}: not JSON: {:?} / {:?}", p.body, c.body));
                continue;
            }
        };
        if pj["status"] != cj["status"] || pj["errorType"] != cj["errorType"] {
            failures.push(format!("{label}: {pj} vs {cj}"));
            continue;
        }
        if pj["status"] == "error" {
            if *exact_error && pj["error"] != cj["error"] {
                failures.push(format!("{label}: error text {} vs {}", pj["error"], cj["error"]));
            }
            continue;
        }
        // Success: the data shapes agree; with `exact_error` also the data itself (these cases
        // do not depend on stored data or on the server's identity).
        let (ps, cs) = (shape(&pj["data"]), shape(&cj["data"]));
        let shape_ok =
            ps == cs || (pj["data"].as_array().is_some_and(|a| a.is_empty()) && cj["data"].is_array());
        if !shape_ok && !path.contains("/status/") && !path.contains("/rules") {
            failures.push(format!("{label}: data shape {ps} vs {cs}"));
        } else if *exact_error && pj["data"] != cj["data"] {
            failures.push(format!("{label}: data {} vs {}", pj["data"], cj["data"]));
        }
        if path.contains("/status/") || path.contains("/rules") || path.contains("/alert") {
            // Cairn may add fields; every field Prometheus has must be there with the same type.
            if let (Some(po), Some(co)) = (pj["data"].as_object(), cj["data"].as_object()) {
                for (k, v) in po {
                    match co.get(k) {
                        Some(cv) if std::mem::discriminant(cv) == std::mem::discriminant(v) => {}
                        other => failures.push(format!("{label}: field {k}: {v} vs {other:?}")),
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} differences from Prometheus:\n{}", failures.len(), failures.join("\n"));
}
