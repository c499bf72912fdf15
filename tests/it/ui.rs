//! End-to-end tests of the web UI: a real `cairn serve` (see `browser::server`) driven through
//! headless Chromium over WebDriver (`browser::webdriver`). Screenshots of each page are saved to
//! `target/ui-screenshots/`. Without Chromium/chromedriver the browser tests print a notice and
//! return, except under CI, where they fail.

use crate::browser::in_ci;
use crate::browser::process::poll;
use crate::browser::remote_write::{push, series};
use crate::browser::server::Stack;
use crate::browser::webdriver::{Browser, Element, keys};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const METRIC: &str = "ui_test_temperature";
const ROOMS: [&str; 3] = ["attic", "kitchen", "office"];
const POINTS: i64 = 121;
const STEP_MS: i64 = 15_000;

/// The last value written for each room (see `load_samples`).
fn last_value(room: &str) -> f64 {
    match room {
        "kitchen" => (POINTS - 1) as f64,
        "office" => 200.0 - (POINTS - 1) as f64,
        _ => 42.0,
    }
}

fn browser_missing() -> bool {
    if Browser::available() {
        return false;
    }
    assert!(
        !in_ci(),
        "CI: /usr/bin/chromium and /usr/bin/chromedriver are required (apt-get install chromium chromium-driver)"
    );
    eprintln!("NOTICE: chromium/chromedriver not installed; skipping browser test");
    true
}

/// Whether the API the UI talks to has `path` (anything but HTTP 404). Endpoints still being
/// built on the server side make the dependent checks print a notice and return early.
async fn has_endpoint(stack: &Stack, path: &str) -> bool {
    match stack.http.get(format!("{}{path}", stack.api)).send().await {
        Ok(r) if r.status().as_u16() != 404 => true,
        _ => {
            eprintln!("NOTICE: the server has no {path} yet; skipping the checks that need it");
            false
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Writes three series of `METRIC` (one per room), a sample every 15s for 30 minutes ending
/// one second ago: kitchen ramps 0..120, office 200..80, attic stays at 42.
async fn load_samples(stack: &Stack) -> anyhow::Result<()> {
    let end = now_ms() - 1000;
    let ts = ROOMS
        .iter()
        .map(|room| {
            let samples: Vec<(i64, f64)> = (0..POINTS)
                .map(|i| {
                    let v = match *room {
                        "kitchen" => i as f64,
                        "office" => 200.0 - i as f64,
                        _ => 42.0,
                    };
                    (end - (POINTS - 1 - i) * STEP_MS, v)
                })
                .collect();
            series(&[("__name__", METRIC), ("room", room)], &samples)
        })
        .collect();
    push(&stack.http, &stack.api, ts).await
}

async fn setup(width: u32, height: u32) -> Option<(Stack, Browser)> {
    if browser_missing() {
        return None;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stack = Stack::start().await.expect("start cairn");
    let browser = Browser::start(width, height, stack.dir.path()).await.expect("start chromium");
    Some((stack, browser))
}

async fn shot(stack: &Stack, b: &Browser, name: &str) {
    let path = stack.artifacts.join(format!("{name}.png"));
    b.screenshot(&path).await.expect("screenshot");
    eprintln!("screenshot: {}", path.display());
}

/// Rows of the result table of panel `panel` (1-based) as series → value text.
async fn table_rows(b: &Browser, panel: usize) -> BTreeMap<String, String> {
    let rows = b
        .js(
            "const p = document.querySelectorAll('section.panel')[arguments[0] - 1];
             return [...p.querySelectorAll('table.result-table tbody tr')]
               .map(tr => [tr.querySelector('.series').textContent, tr.querySelector('.value').textContent]);",
            vec![Value::from(panel)],
        )
        .await
        .expect("read table");
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_str().unwrap().to_string()))
        .collect()
}

async fn panel_el(b: &Browser, panel: usize, css: &str) -> Element {
    b.wait_for(&format!("section.panel:nth-of-type({panel}) {css}"), 10).await.expect("panel element")
}

fn url_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.replace('+', " "))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_page_table_graph_autocomplete_errors_and_url() {
    let Some((stack, b)) = setup(1280, 900).await else { return };
    if !has_endpoint(&stack, "/api/v1/query?query=1").await || !has_endpoint(&stack, "/api/v1/write").await {
        b.close().await;
        return;
    }
    load_samples(&stack).await.unwrap_or_else(|e| panic!("remote write: {e}\n{}", stack.log()));
    // The data is visible to the API before the UI is asked for it.
    let api = poll(Duration::from_secs(15), Duration::from_millis(200), || async {
        let d = stack.api_data(&format!("/api/v1/query?query={METRIC}")).await.ok()?;
        (d["result"].as_array()?.len() == 3).then_some(d)
    })
    .await
    .unwrap_or_else(|| panic!("the API never returned 3 series of {METRIC}\n{}", stack.log()));
    assert_eq!(api["resultType"], "vector");

    // --- Table: type the query, press Enter, see one row per series with its last value.
    b.goto(&stack.page("/query")).await.unwrap();
    let input = b.wait_for("textarea.expr", 10).await.unwrap();
    b.type_into(&input, &format!("{METRIC}{}", keys::ENTER)).await.unwrap();
    b.wait_count("table.result-table tbody tr", 3, 15).await.unwrap();
    let rows = table_rows(&b, 1).await;
    let want: BTreeMap<String, String> =
        ROOMS.iter().map(|r| (format!("{METRIC}{{room=\"{r}\"}}"), last_value(r).to_string())).collect();
    assert_eq!(rows, want);
    let stats = b.text(&b.wait_for(".stats", 5).await.unwrap()).await.unwrap();
    assert!(stats.contains("Result series: 3"), "stats: {stats}");
    assert!(stats.contains("Load time:"), "stats: {stats}");
    let url = b.current_url().await.unwrap();
    assert_eq!(url_param(&url, "g0.expr").as_deref(), Some(METRIC), "{url}");
    assert_eq!(url_param(&url, "g0.tab").as_deref(), Some("1"), "{url}");
    shot(&stack, &b, "query-table").await;

    // --- Graph: one path per series, a legend entry per series, a tooltip on hover.
    b.click(&panel_el(&b, 1, "button.tab-graph").await).await.unwrap();
    let paths = b.wait_count("svg.graph-svg path.series", 3, 15).await.unwrap();
    for p in &paths {
        let d = b.attr(p, "d").await.unwrap().unwrap_or_default();
        assert!(d.matches('L').count() >= 50, "series path has too few points: {d}");
    }
    let legend = b.find_all(".legend .legend-item").await.unwrap();
    let mut names = Vec::new();
    for l in &legend {
        names.push(b.text(l).await.unwrap());
    }
    names.sort();
    assert_eq!(names, want.keys().cloned().collect::<Vec<_>>());
    assert_eq!(url_param(&b.current_url().await.unwrap(), "g0.tab").as_deref(), Some("0"));
    let catcher = b.wait_for("svg.graph-svg rect.catcher", 5).await.unwrap();
    let plot_w: f64 = b.attr(&catcher, "width").await.unwrap().unwrap().parse().unwrap();
    b.hover(&catcher, (plot_w / 4.0) as i64, 0).await.unwrap();
    let tip = b.wait_for(".graph-tooltip:not([hidden])", 5).await.unwrap();
    let tip_text = b.text(&tip).await.unwrap();
    assert!(
        tip_text.contains("value:") && tip_text.contains(&format!("{METRIC}{{room=")),
        "tooltip: {tip_text}"
    );
    shot(&stack, &b, "query-graph").await;

    // Legend click hides a series, a second click brings it back.
    b.click(&legend[0]).await.unwrap();
    b.wait_count("svg.graph-svg path.series", 2, 5).await.unwrap();
    let legend = b.find_all(".legend .legend-item").await.unwrap();
    b.click(&legend[0]).await.unwrap();
    b.wait_count("svg.graph-svg path.series", 3, 5).await.unwrap();

    // Drag to zoom: the range shrinks and an end time appears in the URL.
    let catcher = b.wait_for("svg.graph-svg rect.catcher", 5).await.unwrap();
    b.drag(&catcher, (0, 0), ((plot_w / 4.0) as i64, 0)).await.unwrap();
    let url =
        b.wait_js("return location.search.includes('g0.end_input') && location.href", 10).await.unwrap();
    let url = url.as_str().unwrap().to_string();
    let range = url_param(&url, "g0.range_input").unwrap();
    assert_ne!(range, "1h", "zoom did not narrow the range: {url}");
    b.wait_count("svg.graph-svg path.series", 3, 15).await.unwrap();

    // Stacked: an area per series, recorded in the URL.
    b.click(&panel_el(&b, 1, "input.stacked-input").await).await.unwrap();
    b.wait_count("svg.graph-svg path.area", 3, 5).await.unwrap();
    assert_eq!(url_param(&b.current_url().await.unwrap(), "g0.stacked").as_deref(), Some("1"));

    // --- A second panel; autocomplete of metric name and label value by keyboard.
    b.click(&b.wait_for("#add-panel", 5).await.unwrap()).await.unwrap();
    b.wait_count("section.panel", 2, 5).await.unwrap();
    let input2 = panel_el(&b, 2, "textarea.expr").await;
    let offered = "return [...document.querySelectorAll('.autocomplete:not([hidden]) .ac-text')].some(e => e.textContent === 'ui_test_temperature')";
    b.type_into(&input2, "ui_test_t").await.unwrap();
    b.wait_js(offered, 10).await.unwrap();
    b.type_into(&input2, keys::ESCAPE).await.unwrap();
    b.wait_js("return document.querySelector('.autocomplete:not([hidden])') === null", 5).await.unwrap();
    b.type_into(&input2, "e").await.unwrap();
    b.wait_js(offered, 10).await.unwrap();
    b.type_into(&input2, keys::TAB).await.unwrap();
    assert_eq!(b.prop(&input2, "value").await.unwrap(), METRIC);
    b.type_into(&input2, "{room=\"").await.unwrap();
    let values = b
        .wait_js(
            "const v = [...document.querySelectorAll('.autocomplete:not([hidden]) .ac-value .ac-text')].map(e => e.textContent); return v.length === 3 && v",
            10,
        )
        .await
        .unwrap();
    assert_eq!(values, serde_json::json!(["attic", "kitchen", "office"]));
    b.type_into(&input2, &format!("{}{}", keys::ARROW_DOWN, keys::ENTER)).await.unwrap();
    assert_eq!(b.prop(&input2, "value").await.unwrap(), format!("{METRIC}{{room=\"attic"));
    // Shift+Enter adds a line instead of running; Enter runs the two-line query.
    b.type_into(&input2, &format!("\"}}{}{}\u{E000} * 2{}", keys::SHIFT, keys::ENTER, keys::ENTER))
        .await
        .unwrap();
    assert_eq!(b.prop(&input2, "value").await.unwrap(), format!("{METRIC}{{room=\"attic\"}}\n * 2"));
    let rows2 = poll(Duration::from_secs(15), Duration::from_millis(100), || async {
        let r = table_rows(&b, 2).await;
        (r.len() == 1).then_some(r)
    })
    .await
    .expect("second panel shows one row");
    assert_eq!(
        rows2.into_iter().collect::<Vec<_>>(),
        vec![("{room=\"attic\"}".to_string(), "84".to_string())]
    );

    // --- The URL restores both panels.
    let url = b.current_url().await.unwrap();
    assert!(url_param(&url, "g1.expr").is_some(), "{url}");
    b.goto(&url).await.unwrap();
    b.wait_count("section.panel", 2, 10).await.unwrap();
    b.wait_count("section.panel:nth-of-type(1) svg.graph-svg path.series", 3, 15).await.unwrap();
    b.wait_count("section.panel:nth-of-type(1) svg.graph-svg path.area", 3, 5).await.unwrap();
    let rows2 = poll(Duration::from_secs(15), Duration::from_millis(100), || async {
        let r = table_rows(&b, 2).await;
        (r.len() == 1).then_some(r)
    })
    .await
    .expect("restored second panel shows one row");
    assert_eq!(rows2.values().next().unwrap(), "84");

    // --- A bad query shows the server's error inline, pointing at the position if given.
    let bad = format!("sum({METRIC}");
    let input2 = panel_el(&b, 2, "textarea.expr").await;
    b.clear(&input2).await.unwrap();
    b.type_into(&input2, &format!("{bad}{}", keys::ENTER)).await.unwrap();
    let err_el = panel_el(&b, 2, ".query-error [role=alert]").await;
    let shown = b.text(&err_el).await.unwrap();
    let (status, body) = stack.api_get(&format!("/api/v1/query?query=sum({METRIC}")).await.unwrap();
    assert_eq!(status, 400, "{body}");
    let api_msg = body["error"].as_str().unwrap();
    assert!(shown.contains(api_msg), "shown {shown:?} lacks the API's error {api_msg:?}");
    let has_pos = regex::Regex::new(r"\d+:\d+: parse error|position \d+").unwrap().is_match(api_msg);
    let pointers = b.find_all("section.panel:nth-of-type(2) .error-pointer mark").await.unwrap();
    assert_eq!(
        pointers.len(),
        usize::from(has_pos),
        "error pointer iff the message has a position: {api_msg}"
    );
    assert_eq!(b.attr(&input2, "aria-invalid").await.unwrap().as_deref(), has_pos.then_some("true"));
    assert!(table_rows(&b, 2).await.is_empty(), "stale rows left under an error");
    b.js("arguments[0].scrollIntoView({block: 'center'})", vec![err_el.json()]).await.unwrap();
    shot(&stack, &b, "query-error").await;

    // --- Format: the expression is replaced by the server's pretty-printed form.
    if has_endpoint(&stack, "/api/v1/format_query?query=1").await {
        let ugly = format!("sum({METRIC})by(room)");
        let want =
            stack.api_data(&format!("/api/v1/format_query?query=sum({METRIC})by(room)")).await.unwrap();
        b.clear(&input2).await.unwrap();
        b.type_into(&input2, &ugly).await.unwrap();
        b.click(&panel_el(&b, 2, "button.format").await).await.unwrap();
        let got = b
            .wait_js(&format!("const t = document.querySelectorAll('textarea.expr')[1].value; return t !== {ugly:?} && t"), 10)
            .await
            .unwrap();
        assert_eq!(got, want);
        assert!(
            b.find_all("section.panel:nth-of-type(2) .query-error [role=alert]").await.unwrap().is_empty()
        );
    }

    // --- Removing a panel drops it from the URL.
    b.click(&panel_el(&b, 2, "button.remove-panel").await).await.unwrap();
    b.wait_count("section.panel", 1, 5).await.unwrap();
    assert!(url_param(&b.current_url().await.unwrap(), "g1.expr").is_none());
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_pages_render_the_api_content() {
    let Some((stack, b)) = setup(1280, 900).await else { return };

    // Config: the YAML the API returns, verbatim.
    let cfg = stack.api_data("/api/v1/status/config").await.unwrap();
    b.goto(&stack.page("/config")).await.unwrap();
    b.wait_js("return document.title.startsWith('Configuration')", 10).await.unwrap();
    let yaml = cfg["yaml"].as_str().unwrap();
    if yaml.is_empty() {
        b.wait_for("main .empty", 10).await.unwrap();
    } else {
        let pre = b.wait_for("pre.config-yaml", 10).await.unwrap();
        assert_eq!(b.prop(&pre, "textContent").await.unwrap(), yaml);
    }
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
    if has_endpoint(&stack, "/api/v1/targets").await {
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
        b.wait_js("return document.querySelector(\"section.pool[data-pool='cairn']\").hidden", 5)
            .await
            .unwrap();
        b.wait_js("return !document.querySelector(\"section.pool[data-pool='unreachable']\").hidden", 5)
            .await
            .unwrap();
    }

    // Rules: the group with its three rules, evaluated and healthy.
    if has_endpoint(&stack, "/api/v1/rules").await {
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
    }

    // Alerts: one firing, one pending, with labels and annotations.
    if has_endpoint(&stack, "/api/v1/alerts").await {
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
            t.contains("UiTestAlwaysFiring")
                && t.contains("severity=\"page\"")
                && t.contains("always firing"),
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
    }

    // TSDB status: head statistics and the top metrics table as the API reports them.
    if has_endpoint(&stack, "/api/v1/status/tsdb").await {
        let d = stack.api_data("/api/v1/status/tsdb").await.unwrap();
        b.goto(&stack.page("/tsdb-status")).await.unwrap();
        b.wait_for("section.head-stats table", 10).await.unwrap();
        let text = b.text(&b.wait_for("main", 5).await.unwrap()).await.unwrap();
        assert!(text.contains("Number of series"), "{text}");
        if let Some(top) = d["seriesCountByMetricName"].as_array().and_then(|a| a.first()) {
            assert!(text.contains(top["name"].as_str().unwrap()), "top metric {top} missing:\n{text}");
        }
        if let Some(blocks) = d["blocks"].as_array() {
            b.wait_for("section.blocks", 5).await.unwrap();
            b.wait_count("table.blocks-table tbody tr", blocks.len(), 5).await.ok();
        }
        shot(&stack, &b, "tsdb-status").await;
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_theme_and_narrow_window() {
    let Some((stack, b)) = setup(1280, 900).await else { return };
    b.goto(&stack.page("/flags")).await.unwrap();
    b.wait_for("tr.flag", 10).await.unwrap();

    // Navigation links route without a reload and mark the current page.
    b.click(&b.wait_for(".mainnav a[href='config']", 5).await.unwrap()).await.unwrap();
    b.wait_js("return location.pathname === '/config' && document.querySelector(\".mainnav a[aria-current='page']\").getAttribute('href') === 'config'", 5)
        .await
        .unwrap();

    // Theme toggle: switches the palette, and the choice survives a reload.
    let bg = "return getComputedStyle(document.body).backgroundColor";
    let before = b.js(bg, vec![]).await.unwrap();
    let toggle = b.wait_for("#theme-toggle", 5).await.unwrap();
    let pressed = b.attr(&toggle, "aria-pressed").await.unwrap();
    b.click(&toggle).await.unwrap();
    let after = b.js(bg, vec![]).await.unwrap();
    assert_ne!(before, after, "theme toggle did not change the background");
    assert_ne!(b.attr(&toggle, "aria-pressed").await.unwrap(), pressed);
    let theme = b.js("return document.documentElement.dataset.theme", vec![]).await.unwrap();
    b.goto(&stack.page("/query")).await.unwrap();
    b.wait_for("textarea.expr", 10).await.unwrap();
    assert_eq!(b.js("return document.documentElement.dataset.theme", vec![]).await.unwrap(), theme);
    assert_eq!(b.js(bg, vec![]).await.unwrap(), after);
    shot(&stack, &b, "query-dark").await;

    // Keyboard: the expression box has focus on an empty page; Tab reaches Execute.
    let active = b.active().await.unwrap();
    assert!(b.attr(&active, "class").await.unwrap().unwrap_or_default().contains("expr"));
    b.type_into(&active, keys::TAB).await.unwrap();
    let next = b.active().await.unwrap();
    assert!(b.attr(&next, "class").await.unwrap().unwrap_or_default().contains("execute"));
    // Every control on the page has an accessible name.
    let unnamed = b
        .js(
            "return [...document.querySelectorAll('button, input, textarea, select')].filter(el => {
               const id = el.id && document.querySelector(`label[for='${el.id}']`);
               return !(id || el.getAttribute('aria-label') || el.textContent.trim() || el.closest('label'));
             }).map(el => el.outerHTML)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unnamed, serde_json::json!([]), "controls without a label");

    // Narrow window: nothing overflows horizontally.
    b.set_window_size(380, 800).await.unwrap();
    for page in ["/query", "/flags", "/config", "/status"] {
        b.goto(&stack.page(page)).await.unwrap();
        b.wait_js("return !document.querySelector('main').textContent.includes('Loading')", 10)
            .await
            .unwrap();
        let over =
            b.js("return document.documentElement.scrollWidth - window.innerWidth", vec![]).await.unwrap();
        assert!(over.as_i64().unwrap() <= 0, "{page} overflows a 380px window by {over}px");
        shot(&stack, &b, &format!("narrow-{}", page.trim_start_matches('/'))).await;
    }
    b.close().await;
}

/// Without a browser: the UI routes answer with embedded assets and never shadow the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_routes_serve_embedded_assets() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stack = Stack::start().await.expect("start cairn");
    let get = |p: &str| stack.http.get(format!("{}{p}", stack.ui)).send();
    for p in [
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
    ] {
        let r = get(p).await.unwrap();
        assert_eq!(r.status(), 200, "{p}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{p}");
        assert!(r.text().await.unwrap().contains("static/app.js"), "{p}");
    }
    let r = get("/static/app.js").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = stack
        .http
        .get(format!("{}/static/app.js", stack.ui))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(get("/static/nope.js").await.unwrap().status(), 404);
    assert_eq!(get("/static/..%2Fmod.rs").await.unwrap().status(), 404);
    // The API keeps its own 404 envelope and endpoints.
    let r = get("/api/v1/nope").await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(get("/-/healthy").await.unwrap().status(), 200);
    assert!(
        get("/metrics").await.unwrap().headers()["content-type"].to_str().unwrap().starts_with("text/plain")
    );
}
