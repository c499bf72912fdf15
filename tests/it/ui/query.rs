//! UI tests of the query page: table, graph, autocomplete, errors, URL state, panels.

use super::*;
use crate::browser::process::poll;
use crate::browser::webdriver::keys;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_page_table_graph_autocomplete_errors_and_url() {
    let Some((stack, b)) = setup(1280, 900).await else { return };
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
    let ugly = format!("sum({METRIC})by(room)");
    let want = stack.api_data(&format!("/api/v1/format_query?query=sum({METRIC})by(room)")).await.unwrap();
    b.clear(&input2).await.unwrap();
    b.type_into(&input2, &ugly).await.unwrap();
    b.click(&panel_el(&b, 2, "button.format").await).await.unwrap();
    let got = b
        .wait_js(
            &format!(
                "const t = document.querySelectorAll('textarea.expr')[1].value; return t !== {ugly:?} && t"
            ),
            10,
        )
        .await
        .unwrap();
    assert_eq!(got, want);
    assert!(b.find_all("section.panel:nth-of-type(2) .query-error [role=alert]").await.unwrap().is_empty());

    // --- Removing a panel drops it from the URL.
    b.click(&panel_el(&b, 2, "button.remove-panel").await).await.unwrap();
    b.wait_count("section.panel", 1, 5).await.unwrap();
    assert!(url_param(&b.current_url().await.unwrap(), "g1.expr").is_none());
    b.close().await;
}

/// Series computed by PromQL alone (no stored data needed): one per room, constant values.
pub(super) fn computed_expr() -> String {
    ROOMS
        .iter()
        .map(|r| format!("label_replace(vector({}), \"room\", \"{r}\", \"\", \"\")", last_value(r)))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_page_on_computed_series() {
    let Some((stack, b)) = setup(1280, 900).await else { return };
    let expr = computed_expr();
    b.goto(&stack.page("/query")).await.unwrap();
    let input = b.wait_for("textarea.expr", 10).await.unwrap();
    // Shift+Enter inserts a newline and does not run; Enter runs the two-line query.
    let (first, rest) = expr.split_at(expr.find(" or ").unwrap());
    b.type_into(
        &input,
        &format!("{first}{}{}\u{E000}{}{}", keys::SHIFT, keys::ENTER, rest.trim_start(), keys::ENTER),
    )
    .await
    .unwrap();
    assert_eq!(b.prop(&input, "value").await.unwrap(), format!("{first}\n{}", rest.trim_start()));
    b.wait_count("table.result-table tbody tr", 3, 15).await.unwrap();
    let want: BTreeMap<String, String> =
        ROOMS.iter().map(|r| (format!("{{room=\"{r}\"}}"), last_value(r).to_string())).collect();
    assert_eq!(table_rows(&b, 1).await, want);
    let stats = b.text(&b.wait_for(".stats", 5).await.unwrap()).await.unwrap();
    assert!(stats.contains("Result series: 3"), "stats: {stats}");

    // Graph over the default hour: three flat lines at the three values.
    b.click(&panel_el(&b, 1, "button.tab-graph").await).await.unwrap();
    let paths = b.wait_count("svg.graph-svg path.series", 3, 15).await.unwrap();
    let mut ys = Vec::new();
    for p in &paths {
        let d = b.attr(p, "d").await.unwrap().unwrap_or_default();
        assert!(d.matches('L').count() >= 100, "too few points: {d}");
        let y: Vec<&str> =
            d.split(['M', 'L']).filter(|s| !s.is_empty()).map(|pt| pt.split(',').nth(1).unwrap()).collect();
        assert!(y.windows(2).all(|w| w[0] == w[1]), "a constant series must draw a flat line: {d}");
        ys.push(y[0].parse::<f64>().unwrap());
    }
    // Higher values are drawn higher (smaller y); series come in the API's order.
    let order = b
        .js("return [...document.querySelectorAll('.legend-item')].map(e => e.textContent)", vec![])
        .await
        .unwrap();
    let names: Vec<String> =
        order.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let value_of = |n: &str| last_value(n.trim_start_matches("{room=\"").trim_end_matches("\"}"));
    for i in 0..3 {
        for j in 0..3 {
            if value_of(&names[i]) > value_of(&names[j]) {
                assert!(ys[i] < ys[j], "{} ({}) should be above {} ({})", names[i], ys[i], names[j], ys[j]);
            }
        }
    }
    let catcher = b.wait_for("svg.graph-svg rect.catcher", 5).await.unwrap();
    b.hover(&catcher, 0, 0).await.unwrap();
    let tip = b.text(&b.wait_for(".graph-tooltip:not([hidden])", 5).await.unwrap()).await.unwrap();
    assert!(
        ROOMS.iter().any(|r| tip.contains(&format!("{{room=\"{r}\"}}"))
            && tip.contains(&format!("value: {}", last_value(r)))),
        "tooltip: {tip}"
    );
    // Keyboard: with the graph focused, arrows move the tooltip between samples and series.
    let svg = b.wait_for("svg.graph-svg", 5).await.unwrap();
    b.js("arguments[0].focus()", vec![svg.json()]).await.unwrap();
    let tip_text =
        "const t = document.querySelector('.graph-tooltip:not([hidden])'); return t && t.textContent";
    b.type_into(&b.active().await.unwrap(), keys::ARROW_LEFT).await.unwrap();
    let tip1 = b.wait_js(tip_text, 5).await.unwrap();
    b.type_into(&b.active().await.unwrap(), keys::ARROW_DOWN).await.unwrap();
    let tip2 = b
        .wait_js(&format!("const v = (() => {{ {tip_text} }})(); return v !== {tip1} && v"), 5)
        .await
        .unwrap();
    let series_of = |v: &serde_json::Value| {
        ROOMS.iter().find(|r| v.as_str().unwrap().contains(&format!("{{room=\"{r}\"}}"))).copied()
    };
    assert!(
        series_of(&tip1).is_some() && series_of(&tip2).is_some() && series_of(&tip1) != series_of(&tip2),
        "{tip1} / {tip2}"
    );
    let room = series_of(&tip2).unwrap();
    assert!(tip2.as_str().unwrap().contains(&format!("value: {}", last_value(room))), "{tip2}");

    b.click(&panel_el(&b, 1, "input.stacked-input").await).await.unwrap();
    b.wait_count("svg.graph-svg path.area", 3, 5).await.unwrap();
    shot(&stack, &b, "computed-graph").await;
    let toggle = b.wait_for("#theme-toggle", 5).await.unwrap();
    b.click(&toggle).await.unwrap();
    shot(&stack, &b, "computed-graph-other-theme").await;
    b.click(&toggle).await.unwrap();

    // The URL reproduces the page.
    let url = b.current_url().await.unwrap();
    assert_eq!(url_param(&url, "g0.tab").as_deref(), Some("0"));
    assert_eq!(url_param(&url, "g0.stacked").as_deref(), Some("1"));
    b.goto(&url).await.unwrap();
    b.wait_count("svg.graph-svg path.area", 3, 15).await.unwrap();
    let input = b.wait_for("textarea.expr", 5).await.unwrap();
    assert_eq!(b.prop(&input, "value").await.unwrap(), format!("{first}\n{}", rest.trim_start()));

    // Scalars and strings in the table.
    b.click(&panel_el(&b, 1, "button.tab-table").await).await.unwrap();
    for (q, kind, want) in [("1 + 1", "scalar", "2"), ("\"hello\"", "string", "hello")] {
        b.clear(&input).await.unwrap();
        b.type_into(&input, &format!("{q}{}", keys::ENTER)).await.unwrap();
        let rows = poll(Duration::from_secs(10), Duration::from_millis(100), || async {
            let r = table_rows(&b, 1).await;
            r.contains_key(kind).then_some(r)
        })
        .await
        .unwrap_or_else(|| panic!("no {kind} row for {q}"));
        assert_eq!(rows.into_iter().collect::<Vec<_>>(), vec![(kind.to_string(), want.to_string())]);
    }

    // A bad query: the server's message inline, the old rows gone.
    b.clear(&input).await.unwrap();
    b.type_into(&input, &format!("sum(rate(x[5m]){}", keys::ENTER)).await.unwrap();
    let shown = b.text(&panel_el(&b, 1, ".query-error [role=alert]").await).await.unwrap();
    let (status, body) = stack.api_get("/api/v1/query?query=sum(rate(x%5B5m%5D)").await.unwrap();
    assert_eq!(status, 400, "{body}");
    let msg = body["error"].as_str().unwrap();
    assert!(shown.contains(msg), "shown {shown:?} lacks {msg:?}");
    assert!(b.find_all("table.result-table tbody tr").await.unwrap().is_empty());
    b.close().await;
}
