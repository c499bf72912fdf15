//! The single integration-test binary. One module per risk; helpers that several modules use
//! live in `util` (storage) and `support` (server processes, peers).

mod api_compat;
mod blocks_corrupt;
mod blocks_crash;
mod blocks_import;
mod blocks_paths;
mod blocks_snapshot;
mod browser;
mod ingest_interop;
mod promql_diff;
mod remote_write_input;
mod rules_alertmanager;
mod rules_eval;
mod rules_notifier;
mod rules_promtool;
mod scrape_staleness;
mod storage_crash;
mod storage_head;
mod storage_lock;
mod storage_model;
mod storage_wal_tail;
mod support;
mod ui;
mod util;
