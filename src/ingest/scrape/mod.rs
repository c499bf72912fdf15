//! Scraping, decoupled from storage: targets from discovered groups ([`target`]), fetching over
//! HTTP ([`fetch`]), and the per-target state machine that appends samples, stale markers and
//! report series to a [`ScrapeSink`] ([`append`]). Scheduling (intervals, offsets, reloads) is
//! the scrape manager's; it owns one [`ScrapeLoop`] and one [`HttpScraper`] per target/job.

pub mod append;
pub mod fetch;
pub mod manager;
pub mod target;

pub use append::{AppendError, REPORT_SERIES, ScrapeLoop, ScrapeOptions, ScrapeReport, ScrapeSink};
pub use fetch::{FetchError, Fetched, HttpScraper};
pub use manager::{Health, ScrapeManager, SinkFactory, TargetStatus};
pub use target::{Target, TargetError, populate_labels};

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Fetches `target` once and processes the result into `sink`; the scrape timestamp is the
/// start of the fetch.
pub async fn scrape_once(
    scraper: &HttpScraper,
    lp: &mut ScrapeLoop,
    sink: &mut (dyn ScrapeSink + Send),
    url: &str,
    timeout: std::time::Duration,
) -> ScrapeReport {
    let t = now_ms();
    let start = std::time::Instant::now();
    let fetched = scraper.fetch(url, timeout).await;
    let duration = start.elapsed();
    match &fetched {
        Ok(f) => lp.process(sink, Ok((&f.body, f.content_type.as_deref())), t, duration),
        Err(e) => lp.process(sink, Err(e.to_string()), t, duration),
    }
}

#[cfg(test)]
mod tests;
