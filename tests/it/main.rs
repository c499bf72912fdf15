//! The single integration-test binary. One module per risk; helpers that several modules use
//! live in `util`.

mod storage_crash;
mod storage_head;
mod storage_lock;
mod storage_model;
mod storage_wal_tail;
mod util;
