//! Cairn: a Prometheus-compatible time-series database (storage, ingest, api, cli).
//!
//! The storage engine is usable as a library without any server:
//!
//! ```
//! use cairn::storage::{Db, Options};
//! use cairn_format::{Labels, Matcher};
//!
//! let dir = tempfile::tempdir()?;
//! let db = Db::open(dir.path(), Options::default())?;
//!
//! let mut app = db.appender();
//! let up = Labels::from_pairs([("__name__", "up"), ("job", "api")]);
//! let r = app.append(&up, 1_000, 1.0)?;      // by labels: returns the series ref
//! app.append_ref(r, 2_000, 0.0)?;            // by ref: no hashing or lookup
//! app.commit()?;                             // durable per the fsync policy
//!
//! let q = db.querier(0, 10_000)?;
//! let series: Vec<_> = q.select(&[Matcher::equal("job", "api")])?.collect();
//! assert_eq!(series.len(), 1);
//! let samples: Vec<_> = series[0].samples().map(|s| (s.t, s.v)).collect();
//! assert_eq!(samples, [(1_000, 1.0), (2_000, 0.0)]);
//! assert_eq!(q.label_values("__name__", &[])?, ["up"]);
//! db.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub mod cli;
pub mod config;
pub mod ingest;
pub mod rules;
pub mod scrape;
pub mod selfmetrics;
pub mod server;
pub mod storage;
pub mod web;
