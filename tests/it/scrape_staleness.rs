//! Scraping semantics end to end against a local exporter whose output the test controls:
//! a series that disappears from a scrape goes stale at once (no 5-minute lookback tail), a
//! target removed by a file-SD change or config reload goes stale with its `up`, and new
//! file-SD targets are picked up without a restart.

use crate::support::CairnServer;
use crate::support::peers::poll;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A tiny exporter on 127.0.0.1 serving whatever text is in the shared string.
async fn exporter(body: Arc<Mutex<String>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                let text = body.lock().map(|b| b.clone()).unwrap_or_default();
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn values(server: &CairnServer, q: &str) -> Vec<serde_json::Value> {
    let v = server.get_json(&format!("/api/v1/query?query={q}")).await;
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn disappearing_series_and_targets_go_stale() {
    let body = Arc::new(Mutex::new("a_metric 1\nb_metric{x=\"1\"} 2\n".to_string()));
    let addr1 = exporter(body.clone()).await;
    let addr2 = exporter(Arc::new(Mutex::new("c_metric 3\n".to_string()))).await;
    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("targets.json");
    std::fs::write(&sd, format!("[{{\"targets\": [\"{addr1}\"], \"labels\": {{\"env\": \"test\"}}}}]"))
        .unwrap();
    let cfg = dir.path().join("cairn.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: local\n    file_sd_configs:\n      - files: [\"{}\"]\n",
            sd.display()
        ),
    )
    .unwrap();
    let server = CairnServer::start(&["--config", cfg.to_str().unwrap()]).await;

    // Scraped, with the file-SD group label.
    let got = poll(Duration::from_secs(20), || {
        let s = &server;
        async move {
            let r = values(s, "b_metric").await;
            (!r.is_empty()).then_some(r)
        }
    })
    .await
    .unwrap_or_else(|| panic!("b_metric never scraped; log:\n{}", server.log()));
    assert_eq!(got[0]["metric"]["env"], "test");
    assert_eq!(got[0]["metric"]["job"], "local");

    // b_metric disappears from the exposition: stale within a couple of scrapes, while
    // a_metric stays.
    *body.lock().unwrap() = "a_metric 1\n".to_string();
    let gone = poll(Duration::from_secs(10), || {
        let s = &server;
        async move { values(s, "b_metric").await.is_empty().then_some(()) }
    })
    .await;
    assert!(gone.is_some(), "b_metric did not go stale");
    assert_eq!(values(&server, "a_metric").await.len(), 1);

    // File SD switches to the second exporter: it is scraped, and the first target's series
    // and its `up` go stale.
    std::fs::write(&sd, format!("[{{\"targets\": [\"{addr2}\"]}}]")).unwrap();
    let addr1_ref = &addr1;
    let switched = poll(Duration::from_secs(20), || {
        let s = &server;
        let addr1 = addr1_ref;
        async move {
            let c = values(s, "c_metric").await;
            let a = values(s, "a_metric").await;
            let up_old = values(s, &format!("up%7Binstance%3D%22{addr1}%22%7D")).await;
            (!c.is_empty() && a.is_empty() && up_old.is_empty()).then_some(())
        }
    })
    .await;
    assert!(switched.is_some(), "file-SD change not applied with staleness; log:\n{}", server.log());
    let t = server.get_json("/api/v1/targets").await;
    let active = t["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["labels"]["instance"], addr2.as_str());

    // A reload that removes the job stops scraping; its series go stale.
    std::fs::write(&cfg, "global:\n  scrape_interval: 1s\n").unwrap();
    let r = crate::support::http_client().post(server.url("/-/reload")).send().await.unwrap();
    assert!(r.status().is_success());
    let stopped =
        poll(Duration::from_secs(10), || {
            let s = &server;
            async move {
                (values(s, "c_metric").await.is_empty() && values(s, "up").await.is_empty()).then_some(())
            }
        })
        .await;
    assert!(stopped.is_some(), "series of a removed job did not go stale");
}
