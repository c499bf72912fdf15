//! Integration tests that run the real `cairn` binary. One test crate (`it`) so the binary and
//! the shared support code are built once; each area adds a module here.

mod browser;
mod support;
mod ui;
