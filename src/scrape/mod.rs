//! Scraping: the manager of per-target loops (`manager`), one HTTP fetch (`fetch`), turning a
//! body into stored samples with Prometheus's scrape semantics (`append`), and the resolved
//! target description (`target`). Parsing lives in `ingest::exposition`, relabeling in
//! `ingest::relabel`; building targets from the config lives in `discovery`.

pub mod append;
pub mod discovery;
pub mod fetch;
pub mod manager;
pub mod target;

pub use manager::ScrapeManager;
pub use target::{ActiveTarget, DroppedTarget, Health, MetricMeta, ScrapeLimits, TargetSpec, TargetStatus};
