//! The UI's static files, embedded at compile time with `include_bytes!`, and their content
//! types. Owns the list of files; does not own routing (see `web/mod.rs`).

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $ct:literal) => {
        Asset { name: $name, content_type: $ct, body: include_bytes!(concat!("assets/", $name)) }
    };
}

/// The single page every UI route answers with.
pub const INDEX: &Asset = &asset!("index.html", "text/html; charset=utf-8");

/// Everything under `/static/`.
pub const ALL: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("dom.js", "text/javascript; charset=utf-8"),
    asset!("format.js", "text/javascript; charset=utf-8"),
    asset!("query.js", "text/javascript; charset=utf-8"),
    asset!("panel.js", "text/javascript; charset=utf-8"),
    asset!("graph.js", "text/javascript; charset=utf-8"),
    asset!("complete.js", "text/javascript; charset=utf-8"),
    asset!("status.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// Looks up an asset by file name (no directories: `..` and `/` never match).
pub fn find(name: &str) -> Option<&'static Asset> {
    ALL.iter().find(|a| a.name == name)
}

/// A strong validator for an asset: FNV-1a over its bytes, quoted as HTTP requires.
pub fn etag(a: &Asset) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in a.body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}
