//! UI tests of the page shell: navigation, theme, keyboard, narrow windows, the HTTP routes
//! and the pure helper modules.

use super::*;
use crate::browser::webdriver::keys;

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
    let pages = ["/query", "/flags", "/config", "/status", "/targets", "/rules", "/alerts", "/tsdb-status"];
    for page in pages {
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
    // Prometheus's classic URL keeps its panels.
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirect.get(format!("{}/classic/graph?g0.expr=up&g0.tab=1", stack.ui)).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/query?g0.expr=up&g0.tab=1");
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
    // Unknown API paths are not swallowed by the UI: Prometheus's plain-text 404.
    let r = get("/api/v1/nope").await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "404 page not found\n");
    assert_eq!(get("/-/healthy").await.unwrap().status(), 200);
    assert!(
        get("/metrics").await.unwrap().headers()["content-type"].to_str().unwrap().starts_with("text/plain")
    );
}

/// The UI's pure helpers (error positions, durations, times, autocomplete context, URL state),
/// checked inside the browser against the modules exactly as served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_helper_modules_behave() {
    let Some((stack, b)) = setup(1024, 768).await else { return };
    b.goto(&stack.page("/flags")).await.unwrap();
    b.wait_for("h1", 10).await.unwrap();
    let failures = b
        .js_async(
            r#"const done = arguments[arguments.length - 1];
            Promise.all([import('./static/format.js'), import('./static/complete.js'), import('./static/query.js'),
                         import('./static/panel.js'), import('./static/graph.js')]).then(([f, c, q, p, g]) => {
              const bad = [];
              const eq = (name, got, want) => {
                const g = JSON.stringify(got), w = JSON.stringify(want);
                if (g !== w && !(Number.isNaN(got) && Number.isNaN(want))) bad.push(`${name}: got ${g}, want ${w}`);
              };
              eq('pos 1:13', f.errorPosition('invalid parameter "query": 1:13: parse error: unclosed left parenthesis', 'sum(up) by ('), 12);
              eq('pos line 2', f.errorPosition('2:3: parse error: unexpected', 'up\n* foo'), 5);
              eq('pos none', f.errorPosition('unclosed left parenthesis', 'sum(x'), -1);
              eq('pos offset', f.errorPosition('unexpected token at position 4', 'sum(x'), 4);
              eq('pos bad line', f.errorPosition('9:1: parse error: x', 'up'), -1);
              eq('dur 1h30m', f.parseDuration('1h30m'), 5400000);
              eq('dur ms', f.parseDuration('500ms'), 500);
              eq('dur secs', f.parseDuration('90'), 90000);
              eq('dur junk', f.parseDuration('1x'), NaN);
              eq('dur gap', f.parseDuration('1h 5m'), NaN);
              eq('fmt dur', f.formatDuration(5400000), '1h30m');
              eq('fmt dur d', f.formatDuration(86400000 * 8), '1w1d');
              eq('utc parse', f.parseUtc('2024-01-02 03:04:05'), Date.UTC(2024, 0, 2, 3, 4, 5));
              eq('utc rfc', f.parseUtc('2024-01-02T03:04:05.250Z'), Date.UTC(2024, 0, 2, 3, 4, 5, 250));
              eq('utc unix', f.parseUtc('1700000000'), 1700000000000);
              eq('utc junk', f.parseUtc('tomorrow'), NaN);
              eq('utc fmt', f.formatUtc(Date.UTC(2024, 0, 2, 3, 4, 5, 6), true), '2024-01-02 03:04:05.006');
              eq('series', f.seriesName({ job: 'a"b', __name__: 'up', env: 'x' }), 'up{env="x", job="a\\"b"}');
              eq('series empty', f.seriesName({}), '{}');
              eq('value', [f.formatValue('NaN'), f.formatValue('+Inf'), f.formatValue('-Inf'), f.formatValue('0e+00'), f.formatValue('1.5')], ['NaN', '+Inf', '-Inf', '0', '1.5']);
              eq('tick', [f.formatTick(1500), f.formatTick(2e6), f.formatTick(0.25), f.formatTick(0)], ['1.5k', '2M', '0.25', '0']);
              eq('ctx metric', c.contextAt('sum(rate(http_req'), { kind: 'metric', prefix: 'http_req' });
              eq('ctx label', c.contextAt('up{jo'), { kind: 'label', prefix: 'jo', metric: 'up' });
              eq('ctx label 2', c.contextAt('up{job="api", in'), { kind: 'label', prefix: 'in', metric: 'up' });
              eq('ctx label empty', c.contextAt('up{'), { kind: 'label', prefix: '', metric: 'up' });
              eq('ctx value', c.contextAt('up{job="a'), { kind: 'value', label: 'job', prefix: 'a', metric: 'up' });
              eq('ctx value re', c.contextAt('{job=~"a b'), { kind: 'value', label: 'job', prefix: 'a b', metric: '' });
              eq('ctx by', c.contextAt('sum by (jo'), { kind: 'label', prefix: 'jo', metric: '' });
              eq('ctx after sel', c.contextAt('up{job="x"} + fo'), { kind: 'metric', prefix: 'fo' });
              eq('ctx string', c.contextAt('label_replace(up, "ds'), null);
              eq('ctx range', c.contextAt('rate(x[5'), null);
              eq('ctx number', c.contextAt('up > 1.5e'), null);
              eq('functions', c.FUNCTIONS.includes('histogram_quantile') && c.AGGREGATIONS.includes('topk'), true);
              const st = q.parseState('?g0.expr=up&g0.tab=0&g0.range_input=2h&g0.end_input=2024-01-02%2003%3A04%3A05&g0.stacked=1&g0.step_input=30s&g1.expr=rate(x%5B5m%5D)&g1.tab=1&g1.moment_input=2024-01-02%2000%3A00%3A00');
              eq('state', st, [
                { expr: 'up', tab: 'graph', range: 7200000, end: Date.UTC(2024, 0, 2, 3, 4, 5), step: 30000, stacked: true, moment: null },
                { expr: 'rate(x[5m])', tab: 'table', range: 3600000, end: null, step: null, stacked: false, moment: Date.UTC(2024, 0, 2) },
              ]);
              eq('state roundtrip', q.parseState('?' + q.encodeState(st)), st);
              eq('state default', q.parseState(''), [q.defaultPanel()]);
              eq('auto step', [p.autoStep(3600000), p.autoStep(60000), p.autoStep(86400000)], [14000, 1000, 346000]);
              // Graph: a gap longer than 1.5 steps and a non-finite value both break the line.
              const div = document.createElement('div');
              div.style.width = '600px';
              document.body.append(div);
              const m = [
                { metric: { __name__: 'g', i: '1' }, values: [[0, '1'], [10, '2'], [40, '3'], [50, '+Inf'], [60, '4']] },
                { metric: { __name__: 'g', i: '2' }, values: [[0, '5'], [10, '5']] },
              ];
              g.renderGraph(div, m, { start: 0, end: 60000, step: 10000, stacked: false, hidden: new Set() });
              const paths = [...div.querySelectorAll('path.series')].map((e) => e.getAttribute('d'));
              eq('graph paths', paths.length, 2);
              eq('graph segments', paths.map((d) => (d.match(/M/g) || []).length), [3, 1]);
              eq('graph legend', [...div.querySelectorAll('.legend-item')].map((e) => e.textContent), ['g{i="1"}', 'g{i="2"}']);
              const hidden = new Set(['g{i="2"}']);
              g.renderGraph(div, m, { start: 0, end: 60000, step: 10000, stacked: true, hidden });
              eq('graph hidden', div.querySelectorAll('path.series').length, 1);
              eq('graph stacked areas', div.querySelectorAll('path.area').length, 1);
              div.querySelectorAll('.legend-item')[1].click();
              eq('legend shows again', [div.querySelectorAll('path.series').length, hidden.size], [2, 0]);
              div.remove();
              done(bad);
            }, (e) => done([`import failed: ${e}`]));"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(failures, serde_json::json!([]));
    b.close().await;
}
