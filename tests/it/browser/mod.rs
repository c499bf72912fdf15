//! Support for end-to-end browser tests: a small W3C WebDriver client over reqwest
//! (`webdriver`), child-process guards and free ports (`process`), the `cairn serve` instance
//! under test (`server`), and a remote-write client that loads known samples (`remote_write`).
//! Owns no assertions; the tests are in `tests/it/ui.rs`.

pub mod process;
pub mod remote_write;
pub mod server;
pub mod webdriver;

/// True when the run is CI (`CI` set), where a missing browser or driver is a failure.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}
