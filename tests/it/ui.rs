//! End-to-end tests of the web UI: a real `cairn serve` (see `browser::server`) driven through
//! headless Chromium over WebDriver (`browser::webdriver`). Screenshots of each page are saved to
//! `target/ui-screenshots/`. Without Chromium/chromedriver the browser tests print a notice and
//! return, except under CI, where they fail. This file holds the shared helpers; the tests are
//! in `ui/query.rs` (query page), `ui/status.rs` (status pages) and `ui/shell.rs` (navigation,
//! theme, keyboard, narrow windows, routes, helper modules).

mod query;
mod shell;
mod status;

use crate::browser::in_ci;
use crate::browser::remote_write::{push, series};
use crate::browser::server::Stack;
use crate::browser::webdriver::{Browser, Element};
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) const METRIC: &str = "ui_test_temperature";
pub(super) const ROOMS: [&str; 3] = ["attic", "kitchen", "office"];
pub(super) const POINTS: i64 = 121;
pub(super) const STEP_MS: i64 = 15_000;

/// The last value written for each room (see `load_samples`).
pub(super) fn last_value(room: &str) -> f64 {
    match room {
        "kitchen" => (POINTS - 1) as f64,
        "office" => 200.0 - (POINTS - 1) as f64,
        _ => 42.0,
    }
}

pub(super) fn browser_missing() -> bool {
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

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Writes three series of `METRIC` (one per room), a sample every 15s for 30 minutes ending
/// one second ago: kitchen ramps 0..120, office 200..80, attic stays at 42.
pub(super) async fn load_samples(stack: &Stack) -> anyhow::Result<()> {
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

pub(super) async fn setup(width: u32, height: u32) -> Option<(Stack, Browser)> {
    if browser_missing() {
        return None;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stack = Stack::start().await.expect("start cairn");
    let browser = Browser::start(width, height, stack.dir.path()).await.expect("start chromium");
    Some((stack, browser))
}

pub(super) async fn shot(stack: &Stack, b: &Browser, name: &str) {
    let path = stack.artifacts.join(format!("{name}.png"));
    b.screenshot(&path).await.expect("screenshot");
    eprintln!("screenshot: {}", path.display());
}

/// Rows of the result table of panel `panel` (1-based) as series → value text.
pub(super) async fn table_rows(b: &Browser, panel: usize) -> BTreeMap<String, String> {
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

pub(super) async fn panel_el(b: &Browser, panel: usize, css: &str) -> Element {
    b.wait_for(&format!("section.panel:nth-of-type({panel}) {css}"), 10).await.expect("panel element")
}

pub(super) fn url_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.replace('+', " "))
    })
}
