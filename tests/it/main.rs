//! The single integration-test binary. One module per risk; helpers that several modules use
//! live in `util` (storage) and `support` (server processes, peers).

mod api_compat;
mod api_scrape_meta;
mod blocks_corrupt;
mod blocks_crash;
mod blocks_import;
mod blocks_paths;
mod blocks_snapshot;
mod browser;
mod config_compat;
mod ingest_interop;
mod lifecycle;
mod promql_db;
mod promql_diff;
/// cairn-query's PromQL script runner, shared with `promql_db` (run there over the Db).
#[allow(dead_code)]
#[path = "../../query/tests/promqltest/run.rs"]
mod promqltest_run;
mod remote_write_input;
mod rules_alertmanager;
mod rules_eval;
mod rules_notifier;
mod rules_promtool;
mod scrape_staleness;
/// The script parser `promqltest_run` uses (as `crate::script`).
#[allow(dead_code)]
#[path = "../../query/tests/promqltest/script.rs"]
mod script;
mod storage_crash;
mod storage_head;
mod storage_lock;
mod storage_model;
mod storage_wal_tail;
mod support;
mod ui;
mod util;
