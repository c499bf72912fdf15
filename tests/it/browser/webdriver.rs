//! A minimal W3C WebDriver client (the HTTP protocol chromedriver speaks), enough for the UI
//! tests: sessions, navigation, element lookup, clicks, typing, script execution, pointer
//! actions and screenshots. Starts chromedriver itself, with headless Chromium settings that
//! work on a machine without network access.

use super::process::{ChildGuard, free_port, poll};
use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// W3C key codes used by the tests.
pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const TAB: &str = "\u{E004}";
    pub const SHIFT: &str = "\u{E008}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const ARROW_DOWN: &str = "\u{E015}";
    pub const ARROW_LEFT: &str = "\u{E012}";
}

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A browser session; dropping it kills chromedriver and Chromium.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    _driver: ChildGuard,
    _profile: tempfile::TempDir,
}

/// A reference to an element of the current page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Element {
    /// The element as a script argument for [`Browser::js`] (`arguments[i]` is the node).
    pub fn json(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

impl Browser {
    /// True when both Chromium and chromedriver are installed.
    pub fn available() -> bool {
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
    }

    /// Starts chromedriver on a free port and opens a headless Chromium session with a fresh
    /// profile and a window of `width`×`height` CSS pixels.
    pub async fn start(width: u32, height: u32, log_dir: &Path) -> anyhow::Result<Browser> {
        let port = free_port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}")).arg("--allowed-ips=127.0.0.1");
        let driver = ChildGuard::spawn("chromedriver", cmd, Some(&log_dir.join("chromedriver.log")))?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        let base = format!("http://127.0.0.1:{port}");
        let ready = poll(Duration::from_secs(20), Duration::from_millis(100), || {
            let http = http.clone();
            let url = format!("{base}/status");
            async move {
                let v: Value =
                    serde_json::from_str(&http.get(url).send().await.ok()?.text().await.ok()?).ok()?;
                v["value"]["ready"].as_bool().filter(|r| *r)
            }
        })
        .await;
        if ready.is_none() {
            bail!("chromedriver did not become ready on port {port}");
        }
        let profile = tempfile::tempdir()?;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                "goog:loggingPrefs": { "browser": "ALL" },
                "timeouts": { "implicit": 0, "pageLoad": 30000, "script": 30000 },
            }}
        });
        let mut b = Browser { http, base, session: String::new(), _driver: driver, _profile: profile };
        let v = b.raw("POST", "/session", Some(caps)).await.context("creating a WebDriver session")?;
        b.session = v["sessionId"].as_str().ok_or_else(|| anyhow!("no sessionId in {v}"))?.to_string();
        b.set_window_size(width, height).await?;
        Ok(b)
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{}", self.base, path);
        let req = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self
                .http
                .post(&url)
                .header("Content-Type", "application/json")
                .body(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let resp = req.send().await.with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))?;
        if !status.is_success() {
            bail!("{method} {path}: HTTP {status}: {}", v["value"]["message"].as_str().unwrap_or(&text));
        }
        Ok(v["value"].clone())
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        self.raw(method, &format!("/session/{}{}", self.session, path), body).await
    }

    pub async fn set_window_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height}))).await?;
        Ok(())
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await?;
        Ok(())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self.cmd("GET", "/url", None).await?.as_str().unwrap_or_default().to_string())
    }

    /// All elements matching a CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        let v = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css}))).await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter().filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_string()))).collect()
            })
            .unwrap_or_default())
    }

    /// Waits (at most `secs`) for an element matching `css` and returns the first.
    pub async fn wait_for(&self, css: &str, secs: u64) -> anyhow::Result<Element> {
        let found = poll(Duration::from_secs(secs), Duration::from_millis(100), || async {
            self.find_all(css).await.ok().and_then(|v| v.into_iter().next())
        })
        .await;
        match found {
            Some(e) => Ok(e),
            None => Err(anyhow!("no element matches `{css}` after {secs}s; {}", self.describe().await)),
        }
    }

    /// Waits (at most `secs`) until exactly `n` elements match `css`.
    pub async fn wait_count(&self, css: &str, n: usize, secs: u64) -> anyhow::Result<Vec<Element>> {
        let last = std::cell::Cell::new(0);
        let found = poll(Duration::from_secs(secs), Duration::from_millis(100), || async {
            let v = self.find_all(css).await.ok()?;
            last.set(v.len());
            (v.len() == n).then_some(v)
        })
        .await;
        match found {
            Some(v) => Ok(v),
            None => Err(anyhow!(
                "expected {n} elements matching `{css}`, found {} after {secs}s; {}",
                last.get(),
                self.describe().await
            )),
        }
    }

    /// Waits (at most `secs`) until the script returns a truthy value, and returns it.
    pub async fn wait_js(&self, script: &str, secs: u64) -> anyhow::Result<Value> {
        let found = poll(Duration::from_secs(secs), Duration::from_millis(100), || async {
            let v = self.js(script, vec![]).await.ok()?;
            let truthy = !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0));
            truthy.then_some(v)
        })
        .await;
        match found {
            Some(v) => Ok(v),
            None => Err(anyhow!("condition never held within {secs}s: {script}; {}", self.describe().await)),
        }
    }

    /// The current URL and the start of the page text, for failure messages.
    pub async fn describe(&self) -> String {
        let url = self.current_url().await.unwrap_or_default();
        let text = self
            .js("return document.body ? document.body.innerText.slice(0, 600) + '\\n---\\n' + document.querySelector('main').innerHTML.slice(0, 600) : ''", vec![])
            .await
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|e| format!("(page text unavailable: {e})"));
        let log = self
            .cmd("POST", "/se/log", Some(json!({"type": "browser"})))
            .await
            .map(|v| {
                v.as_array()
                    .map(|a| {
                        a.iter().map(|e| format!("{}\n", e["message"].as_str().unwrap_or_default())).collect()
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_else(|e| format!("(console log unavailable: {e})"));
        format!("page {url} shows:\n{text}\nconsole:\n{log}")
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Runs an async script: its last argument is the callback to call with the result.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": args}))).await
    }

    /// Moves the pointer to (x, y) relative to the element's centre, presses, optionally drags
    /// to (x2, y2), and releases: a W3C pointer action sequence.
    pub async fn drag(&self, el: &Element, from: (i64, i64), to: (i64, i64)) -> anyhow::Result<()> {
        let origin = json!({ ELEMENT_KEY: el.0 });
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "duration": 0, "origin": origin, "x": from.0, "y": from.1},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerMove", "duration": 100, "origin": origin, "x": (from.0 + to.0) / 2, "y": to.1},
                {"type": "pointerMove", "duration": 100, "origin": origin, "x": to.0, "y": to.1},
                {"type": "pointerUp", "button": 0},
            ]
        }]});
        self.cmd("POST", "/actions", Some(actions)).await?;
        self.cmd("DELETE", "/actions", None).await?;
        Ok(())
    }

    /// Moves the pointer to (x, y) relative to the element's centre.
    pub async fn hover(&self, el: &Element, x: i64, y: i64) -> anyhow::Result<()> {
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "duration": 50, "origin": { ELEMENT_KEY: el.0 }, "x": x, "y": y}]
        }]});
        self.cmd("POST", "/actions", Some(actions)).await?;
        Ok(())
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<PathBuf> {
        let v = self.cmd("GET", "/screenshot", None).await?;
        let b64 = v.as_str().ok_or_else(|| anyhow!("screenshot is not a string"))?;
        std::fs::write(path, base64_decode(b64)?)?;
        Ok(path.to_path_buf())
    }

    pub async fn click(&self, el: &Element) -> anyhow::Result<()> {
        self.cmd("POST", &format!("/element/{}/click", el.0), None).await?;
        Ok(())
    }

    /// Types into an element (focusing it first); W3C key codes from [`keys`] may be mixed in.
    pub async fn type_into(&self, el: &Element, text: &str) -> anyhow::Result<()> {
        self.cmd("POST", &format!("/element/{}/value", el.0), Some(json!({ "text": text }))).await?;
        Ok(())
    }

    pub async fn clear(&self, el: &Element) -> anyhow::Result<()> {
        self.cmd("POST", &format!("/element/{}/clear", el.0), None).await?;
        Ok(())
    }

    /// The rendered (visible) text of an element.
    pub async fn text(&self, el: &Element) -> anyhow::Result<String> {
        Ok(self
            .cmd("GET", &format!("/element/{}/text", el.0), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// A DOM property (e.g. `value`) of an element, as JSON.
    pub async fn prop(&self, el: &Element, name: &str) -> anyhow::Result<Value> {
        self.cmd("GET", &format!("/element/{}/property/{name}", el.0), None).await
    }

    /// An attribute of an element, or None.
    pub async fn attr(&self, el: &Element, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .cmd("GET", &format!("/element/{}/attribute/{name}", el.0), None)
            .await?
            .as_str()
            .map(str::to_string))
    }

    /// The element that has keyboard focus.
    pub async fn active(&self) -> anyhow::Result<Element> {
        let v = self.cmd("GET", "/element/active", None).await?;
        Ok(Element(v[ELEMENT_KEY].as_str().ok_or_else(|| anyhow!("no active element"))?.to_string()))
    }

    /// Ends the session (Chromium exits); the guard kills chromedriver on drop.
    pub async fn close(self) {
        let _ = self.raw("DELETE", &format!("/session/{}", self.session), None).await;
    }
}

/// Standard base64 (RFC 4648) decoding of WebDriver's screenshot payload.
fn base64_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => bail!("invalid base64 byte {c}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64() {
        assert_eq!(super::base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(super::base64_decode("aGk=").unwrap(), b"hi");
    }
}
