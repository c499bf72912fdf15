//! The per-target scrape state machine, decoupled from HTTP and storage: turns one scrape
//! result (a body and its Content-Type, or a failure) into appends on a [`ScrapeSink`], as
//! Prometheus's scrape loop does — `honor_labels` conflict handling (`exported_*`),
//! `honor_timestamps`, `metric_relabel_configs`, the per-scrape limits, duplicate detection,
//! stale markers for series that disappeared (or for everything when the scrape failed or the
//! target went away), and the report series `up`, `scrape_duration_seconds`,
//! `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`, `scrape_series_added`.
//!
//! A scrape is all-or-nothing: any failure rolls back its samples before stale markers and the
//! report are written. Does not fetch (see `fetch.rs`) or schedule.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use cairn_format::{Label, Labels, METRIC_NAME, stale_nan};

use crate::config::ScrapeConfig;
use crate::ingest::exposition::{Entry, Parser, ScrapeProtocol, select_format};
use crate::ingest::relabel::{RelabelConfig, relabel};

/// Where scraped samples go. Appends between two `commit`/`rollback` calls form one atomic
/// batch. Implementations may be called from one thread at a time per loop.
pub trait ScrapeSink {
    /// Appends one sample. [`AppendError::Rejected`] skips this sample (counted);
    /// [`AppendError::Fatal`] fails the whole scrape.
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError>;
    /// Makes the batch durable and visible.
    fn commit(&mut self) -> Result<(), AppendError>;
    /// Discards the batch.
    fn rollback(&mut self);
}

/// A sink's refusal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// This sample only (out of order, too old, duplicate with another value, ...).
    #[error("sample rejected: {0}")]
    Rejected(String),
    /// Storage cannot take anything right now (limit reached, I/O failure).
    #[error("{0}")]
    Fatal(String),
}

/// The settings of a scrape job that shape appends.
#[derive(Clone, Debug, Default)]
pub struct ScrapeOptions {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// 0 = no limit (also for the three label limits).
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub fallback_protocol: Option<ScrapeProtocol>,
}

impl ScrapeOptions {
    pub fn from_config(c: &ScrapeConfig) -> Self {
        ScrapeOptions {
            honor_labels: c.honor_labels,
            honor_timestamps: c.honor_timestamps,
            track_timestamps_staleness: c.track_timestamps_staleness,
            metric_relabel_configs: c.metric_relabel_configs.clone(),
            sample_limit: c.sample_limit,
            label_limit: c.label_limit,
            label_name_length_limit: c.label_name_length_limit,
            label_value_length_limit: c.label_value_length_limit,
            fallback_protocol: c.fallback_protocol,
        }
    }
}

/// What one scrape did; also what the report series carry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScrapeReport {
    pub up: bool,
    pub duration: Duration,
    pub samples_scraped: u64,
    pub samples_post_metric_relabeling: u64,
    pub series_added: u64,
    /// Samples the sink rejected or that repeated a series within the scrape.
    pub samples_rejected: u64,
    pub stale_markers: u64,
    pub error: Option<String>,
    /// Non-fatal notes (e.g. the fallback protocol was used).
    pub warning: Option<String>,
}

struct CacheEntry {
    /// `None`: metric relabeling dropped the series.
    labels: Option<Arc<Labels>>,
    /// Scrape number that last saw this entry.
    seen: u64,
}

/// Names of the report series.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Scrape state of one target.
pub struct ScrapeLoop {
    target_labels: Labels,
    opts: ScrapeOptions,
    cache: HashMap<String, CacheEntry>,
    /// Series of the last scrape subject to staleness.
    prev: Vec<Arc<Labels>>,
    scrape_no: u64,
    key: String,
    report_written: bool,
}

/// Why a scrape failed before or while appending: the message for `lastError`.
type Failure = String;

impl ScrapeLoop {
    /// `target_labels` are the target's public labels (see `Target::labels`).
    pub fn new(target_labels: Labels, opts: ScrapeOptions) -> Self {
        ScrapeLoop {
            target_labels,
            opts,
            cache: HashMap::new(),
            prev: Vec::new(),
            scrape_no: 0,
            key: String::new(),
            report_written: false,
        }
    }

    /// Processes one scrape: `result` is the body and Content-Type, or why the fetch failed.
    /// `t` is the scrape's timestamp (ms) and `duration` how long the fetch took.
    pub fn process(
        &mut self,
        sink: &mut dyn ScrapeSink,
        result: Result<(&[u8], Option<&str>), String>,
        t: i64,
        duration: Duration,
    ) -> ScrapeReport {
        self.scrape_no += 1;
        let mut report = ScrapeReport { duration, ..ScrapeReport::default() };
        let mut current: Vec<Arc<Labels>> = Vec::new();
        let outcome = match result {
            Err(e) => Err(e),
            Ok((body, ct)) => self.append_body(sink, body, ct, t, &mut report, &mut current),
        };
        let current = match outcome {
            Ok(()) => {
                report.up = true;
                current
            }
            Err(m) => {
                sink.rollback();
                report.error = Some(m);
                Vec::new()
            }
        };
        // Stale markers for series of the previous scrape that are not in this one.
        let live: HashSet<*const Labels> = current.iter().map(Arc::as_ptr).collect();
        let mut stale_ok = true;
        for l in &self.prev {
            if !live.contains(&Arc::as_ptr(l)) {
                match sink.append(l, t, stale_nan()) {
                    Ok(()) => report.stale_markers += 1,
                    Err(AppendError::Rejected(_)) => {}
                    Err(AppendError::Fatal(m)) => {
                        stale_ok = false;
                        report.error.get_or_insert(m);
                        break;
                    }
                }
            }
        }
        let committed = stale_ok && sink.commit().is_ok();
        if !committed {
            sink.rollback();
            if report.up {
                report.up = false;
                report.error.get_or_insert_with(|| "commit failed".into());
            }
        }
        self.prev = current;
        let no = self.scrape_no;
        // Forget series not seen for a few scrapes (their labels stay alive in `prev` while
        // they still need a stale marker).
        self.cache.retain(|_, e| e.seen + 2 >= no);
        self.write_report(sink, &report, t);
        report
    }

    /// The target went away: stale markers for its last series and its report series.
    pub fn stop(&mut self, sink: &mut dyn ScrapeSink, t: i64) {
        for l in std::mem::take(&mut self.prev) {
            let _ = sink.append(&l, t, stale_nan());
        }
        if self.report_written {
            for name in REPORT_SERIES {
                let _ = sink.append(&self.report_labels(name), t, stale_nan());
            }
        }
        if sink.commit().is_err() {
            sink.rollback();
        }
        self.cache.clear();
    }

    fn report_labels(&self, name: &str) -> Labels {
        let mut l = self.target_labels.clone();
        l.set(METRIC_NAME, name);
        l
    }

    fn write_report(&mut self, sink: &mut dyn ScrapeSink, r: &ScrapeReport, t: i64) {
        let values = [
            if r.up { 1.0 } else { 0.0 },
            r.duration.as_secs_f64(),
            r.samples_scraped as f64,
            r.samples_post_metric_relabeling as f64,
            r.series_added as f64,
        ];
        for (name, v) in REPORT_SERIES.iter().zip(values) {
            let _ = sink.append(&self.report_labels(name), t, v);
        }
        if sink.commit().is_ok() {
            self.report_written = true;
        } else {
            sink.rollback();
        }
    }

    fn append_body(
        &mut self,
        sink: &mut dyn ScrapeSink,
        body: &[u8],
        content_type: Option<&str>,
        t: i64,
        report: &mut ScrapeReport,
        current: &mut Vec<Arc<Labels>>,
    ) -> Result<(), Failure> {
        let choice = select_format(content_type, self.opts.fallback_protocol).map_err(|e| e.to_string())?;
        report.warning = choice.warning;
        let no = self.scrape_no;
        for entry in Parser::new(body, choice.format) {
            let s = match entry {
                Ok(Entry::Sample(s)) => s,
                Ok(_) => continue,
                Err(e) => return Err(format!("parse error: {e}")),
            };
            report.samples_scraped += 1;
            self.key.clear();
            self.key.push_str(s.metric_name);
            self.key.push('\u{0}');
            self.key.push_str(s.labels.as_raw_str());
            let (labels, duplicate, new_series) = match self.cache.get_mut(self.key.as_str()) {
                Some(e) => {
                    let dup = e.seen == no;
                    let new = e.seen + 1 != no;
                    e.seen = no;
                    (e.labels.clone(), dup, new)
                }
                None => {
                    let built = self.series_labels(&s.to_labels())?;
                    let labels = built.map(Arc::new);
                    self.cache.insert(self.key.clone(), CacheEntry { labels: labels.clone(), seen: no });
                    (labels, false, true)
                }
            };
            let Some(labels) = labels else { continue };
            report.samples_post_metric_relabeling += 1;
            if self.opts.sample_limit > 0 && report.samples_post_metric_relabeling > self.opts.sample_limit {
                return Err(format!("sample limit exceeded (limit: {})", self.opts.sample_limit));
            }
            if duplicate {
                report.samples_rejected += 1;
                continue;
            }
            let ts = match s.timestamp {
                Some(ts) if self.opts.honor_timestamps => ts,
                _ => t,
            };
            // Present in this scrape, so not stale, whether or not the sink takes the sample.
            let explicit = s.timestamp.is_some() && self.opts.honor_timestamps;
            if !explicit || self.opts.track_timestamps_staleness {
                current.push(labels.clone());
            }
            match sink.append(&labels, ts, s.value) {
                Ok(()) => {}
                Err(AppendError::Rejected(_)) => {
                    report.samples_rejected += 1;
                    continue;
                }
                Err(AppendError::Fatal(m)) => return Err(m),
            }
            if new_series {
                report.series_added += 1;
            }
        }
        Ok(())
    }

    /// Exposed labels → stored labels: target labels merged (honor_labels or `exported_`
    /// renaming), empty values dropped, metric relabeling, label limits.
    fn series_labels(&self, exposed: &Labels) -> Result<Option<Labels>, Failure> {
        let mut lb: Vec<Label> = exposed.iter().filter(|l| !l.value.is_empty()).cloned().collect();
        let mut l = Labels::from_vec(std::mem::take(&mut lb));
        if self.opts.honor_labels {
            for tl in self.target_labels.iter() {
                if l.get(&tl.name).is_none() {
                    l.set(&tl.name, &tl.value);
                }
            }
        } else {
            let mut conflicts = Vec::new();
            for tl in self.target_labels.iter() {
                if let Some(existing) = l.get(&tl.name) {
                    conflicts.push(Label::new(tl.name.clone(), existing));
                }
                l.set(&tl.name, &tl.value);
            }
            for c in conflicts {
                let mut name = format!("exported_{}", c.name);
                while l.get(&name).is_some() {
                    name = format!("exported_{name}");
                }
                l.set(&name, &c.value);
            }
        }
        let Some(l) = relabel(&l, &self.opts.metric_relabel_configs) else {
            return Ok(None);
        };
        if l.has_duplicate_names() {
            return Err(format!("duplicate label names in {l}"));
        }
        let metric = l.metric_name().unwrap_or("");
        let short = |s: &str| s.chars().take(50).collect::<String>();
        if self.opts.label_limit > 0 && l.len() as u64 > self.opts.label_limit {
            return Err(format!(
                "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
                short(metric),
                l.len(),
                self.opts.label_limit
            ));
        }
        for x in l.iter() {
            if self.opts.label_name_length_limit > 0
                && x.name.len() as u64 > self.opts.label_name_length_limit
            {
                return Err(format!(
                    "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                    short(metric),
                    short(&x.name),
                    x.name.len(),
                    self.opts.label_name_length_limit
                ));
            }
            if self.opts.label_value_length_limit > 0
                && x.value.len() as u64 > self.opts.label_value_length_limit
            {
                return Err(format!(
                    "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, length: {}, limit: {})",
                    short(metric),
                    short(&x.name),
                    short(&x.value),
                    x.value.len(),
                    self.opts.label_value_length_limit
                ));
            }
        }
        if l.metric_name().is_none() {
            return Ok(None);
        }
        Ok(Some(l))
    }
}
