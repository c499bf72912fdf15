//! UI tests of the status pages: config, flags, runtime, targets, rules, alerts, TSDB.

use super::*;
use crate::browser::process::poll;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_pages_render_the_api_content() {
    let Some((stack, b)) = setup(1280, 900).await else { return };

    // Config: the YAML the API returns, verbatim.
    let cfg = stack.api_data("/api/v1/status/config").await.unwrap();
    b.goto(&stack.page("/config")).await.unwrap();
    b.wait_js("return document.title.startsWith('Configuration')", 10).await.unwrap();
    let yaml = cfg["yaml"].as_str().unwrap();
    assert!(yaml.contains("job_name: cairn"), "the API's config lacks the scrape job: {yaml}");
    let pre = b.wait_for("pre.config-yaml", 10).await.unwrap();
    assert_eq!(b.prop(&pre, "textContent").await.unwrap(), yaml);
    shot(&stack, &b, "config").await;

    // Flags: one row per flag, values as the API gives them.
    let flags = stack.api_data("/api/v1/status/flags").await.unwrap();
    let flags = flags.as_object().unwrap();
    b.goto(&stack.page("/flags")).await.unwrap();
    let rows = b.wait_count("tr.flag", flags.len(), 10).await.unwrap();
    let mut shown = BTreeMap::new();
    for r in &rows {
        let t = b
            .js(
                "return [arguments[0].cells[0].textContent, arguments[0].cells[1].textContent]",
                vec![r.json()],
            )
            .await
            .unwrap();
        shown.insert(t[0].as_str().unwrap().to_string(), t[1].as_str().unwrap().to_string());
    }
    let want: BTreeMap<String, String> =
        flags.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect();
    assert_eq!(shown, want);
    assert!(shown.get("storage.tsdb.path").is_some_and(|p| !p.is_empty()));
    // The filter hides non-matching rows.
    let filter = b.wait_for("input.filter", 5).await.unwrap();
    b.type_into(&filter, "tsdb.path").await.unwrap();
    b.wait_js("return [...document.querySelectorAll('tr.flag')].filter(r => !r.hidden).length === 1", 5)
        .await
        .unwrap();
    shot(&stack, &b, "flags").await;

    // Runtime and build information.
    let rt = stack.api_data("/api/v1/status/runtimeinfo").await.unwrap();
    b.goto(&stack.page("/status")).await.unwrap();
    b.wait_count("table.kv-table", 2, 10).await.unwrap();
    let text = b.text(&b.wait_for("main", 5).await.unwrap()).await.unwrap();
    for key in rt.as_object().unwrap().keys() {
        assert!(text.contains(key.as_str()), "runtime page lacks {key}");
    }
    shot(&stack, &b, "runtime").await;

    // Targets: Cairn's own job up, the unreachable one down with its error.
    let ok = poll(Duration::from_secs(30), Duration::from_millis(250), || async {
        let d = stack.api_data("/api/v1/targets").await.ok()?;
        let t = d["activeTargets"].as_array()?;
        let up = t.iter().any(|t| t["labels"]["job"] == "cairn" && t["health"] == "up");
        let down = t.iter().any(|t| t["labels"]["job"] == "unreachable" && t["health"] == "down");
        (up && down).then_some(())
    })
    .await;
    assert!(ok.is_some(), "targets never scraped\n{}", stack.log());
    b.goto(&stack.page("/targets")).await.unwrap();
    let row = b.wait_for("section.pool[data-pool='cairn'] tr.target", 10).await.unwrap();
    let text = b.text(&row).await.unwrap();
    assert!(text.contains(&format!("http://127.0.0.1:{}/metrics", stack.cairn_port)), "{text}");
    assert!(text.contains("up") && text.contains("job=\"cairn\""), "{text}");
    let disc = b
        .js("return arguments[0].querySelector('details.discovered').textContent", vec![row.json()])
        .await
        .unwrap();
    assert!(disc.as_str().unwrap().contains("__address__="), "discovered labels: {disc}");
    let bad = b.wait_for("section.pool[data-pool='unreachable'] tr.target", 10).await.unwrap();
    assert!(b.text(&bad).await.unwrap().contains("down"));
    let err = b
        .js("return arguments[0].querySelector('.scrape-error').textContent", vec![bad.json()])
        .await
        .unwrap();
    assert!(!err.as_str().unwrap().is_empty(), "no scrape error shown for the unreachable target");
    shot(&stack, &b, "targets").await;
    // "Unhealthy only" hides the healthy row and its now-empty pool.
    b.click(&b.wait_for("#main input[type=checkbox]", 5).await.unwrap()).await.unwrap();
    b.wait_js("return document.querySelector(\"section.pool[data-pool='cairn']\").hidden", 5).await.unwrap();
    b.wait_js("return !document.querySelector(\"section.pool[data-pool='unreachable']\").hidden", 5)
        .await
        .unwrap();

    // Rules: the group with its three rules, evaluated and healthy.
    let ok = poll(Duration::from_secs(30), Duration::from_millis(250), || async {
        let d = stack.api_data("/api/v1/rules").await.ok()?;
        let g = d["groups"].as_array()?.iter().find(|g| g["name"] == "ui-test")?.clone();
        g["rules"].as_array()?.iter().all(|r| r["health"] == "ok").then_some(())
    })
    .await;
    assert!(ok.is_some(), "rules never evaluated\n{}", stack.log());
    b.goto(&stack.page("/rules")).await.unwrap();
    b.wait_count("section.rule-group[data-group='ui-test'] tr.rule", 3, 10).await.unwrap();
    let text = b.text(&b.wait_for("section.rule-group", 5).await.unwrap()).await.unwrap();
    for want in [
        "record: ui_test:temperature:sum",
        "alert: UiTestAlwaysFiring",
        "alert: UiTestPending",
        "expr: vector(1)",
    ] {
        assert!(text.contains(want), "rules page lacks {want:?}:\n{text}");
    }
    b.wait_count("tr.rule.health-ok", 3, 5).await.unwrap();
    shot(&stack, &b, "rules").await;

    // Alerts: one firing, one pending, with labels and annotations.
    let ok = poll(Duration::from_secs(30), Duration::from_millis(250), || async {
        let d = stack.api_data("/api/v1/alerts").await.ok()?;
        let a = d["alerts"].as_array()?;
        let firing =
            a.iter().any(|a| a["labels"]["alertname"] == "UiTestAlwaysFiring" && a["state"] == "firing");
        let pending =
            a.iter().any(|a| a["labels"]["alertname"] == "UiTestPending" && a["state"] == "pending");
        (firing && pending).then_some(())
    })
    .await;
    assert!(ok.is_some(), "alerts never became firing/pending\n{}", stack.log());
    b.goto(&stack.page("/alerts")).await.unwrap();
    let firing = b.wait_for("tr.alert.state-firing", 10).await.unwrap();
    let t = b.text(&firing).await.unwrap();
    assert!(
        t.contains("UiTestAlwaysFiring") && t.contains("severity=\"page\"") && t.contains("always firing"),
        "{t}"
    );
    let pending = b.wait_for("tr.alert.state-pending", 10).await.unwrap();
    let t = b.text(&pending).await.unwrap();
    assert!(t.contains("UiTestPending") && t.contains("waits an hour"), "{t}");
    assert!(t.contains("ago"), "active-since missing: {t}");
    shot(&stack, &b, "alerts").await;
    // Unticking "Firing" leaves only the pending alert.
    let firing_box = b.wait_for(".toolbar input[type=checkbox]", 5).await.unwrap();
    b.click(&firing_box).await.unwrap();
    b.wait_js("return document.querySelector('tr.alert.state-firing').hidden && !document.querySelector('tr.alert.state-pending').hidden", 5).await.unwrap();

    // TSDB status: head statistics and the top metrics table as the API reports them.
    let d = stack.api_data("/api/v1/status/tsdb").await.unwrap();
    b.goto(&stack.page("/tsdb-status")).await.unwrap();
    b.wait_for("section.head-stats table", 10).await.unwrap();
    let text = b.text(&b.wait_for("main", 5).await.unwrap()).await.unwrap();
    assert!(text.contains("Number of series"), "{text}");
    assert!(!text.contains("NaN") && !text.contains("undefined"), "{text}");
    if let Some(top) = d["seriesCountByMetricName"].as_array().and_then(|a| a.first()) {
        assert!(text.contains(top["name"].as_str().unwrap()), "top metric {top} missing:\n{text}");
    }
    if let Some(blocks) = d["blocks"].as_array() {
        b.wait_for("section.blocks", 5).await.unwrap();
        if !blocks.is_empty() {
            b.wait_count("table.blocks-table tbody tr", blocks.len(), 5).await.unwrap();
        }
    }
    shot(&stack, &b, "tsdb-status").await;
    b.close().await;
}
