//! Turning one scraped body into stored samples, with Prometheus's scrape semantics:
//! target labels merged (`honor_labels`), `metric_relabel_configs`, label and sample limits
//! (a violated limit fails the whole scrape: nothing is stored, `up` is 0), explicit
//! timestamps (`honor_timestamps`), stale markers for series that disappeared since the
//! previous scrape (not for samples with explicit timestamps), and the report series `up`,
//! `scrape_duration_seconds`, `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`,
//! `scrape_series_added`.
//!
//! A per-target cache maps the raw series text of a line (name + label block) to its series
//! ref, so that a steady target costs one hash lookup per sample and no label parsing.

use super::target::{MetricMeta, TargetSpec};
use crate::ingest::exposition::{Entry, Format, Parser};
use crate::storage::{AppendError, Appender, Db, SeriesRef};
use cairn_format::{Labels, METRIC_NAME, stale_nan};
use std::collections::{BTreeMap, HashMap};

/// Per-series cache entry.
struct Cached {
    /// `None`: metric relabeling dropped this series.
    sref: Option<SeriesRef>,
    /// Iteration of the last scrape that contained the series.
    seen: u64,
    /// Whether the series gets stale markers (false when it carries explicit timestamps).
    tracked: bool,
    /// Iteration that created the entry (entries of a failed scrape are forgotten).
    born: u64,
}

/// State a target keeps between scrapes.
#[derive(Default)]
pub struct ScrapeState {
    cache: HashMap<Vec<u8>, Cached>,
    iteration: u64,
    /// Report series refs (`up`, …) for stale markers when the target goes away.
    report_refs: Vec<SeriesRef>,
}

/// What one scrape produced, for the report series and the targets API.
#[derive(Debug, Default)]
pub struct ScrapeOutcome {
    pub scraped: usize,
    pub post_relabel: usize,
    pub series_added: usize,
    pub rejected: usize,
    pub error: Option<String>,
    pub metadata: BTreeMap<String, MetricMeta>,
}

/// Merges target labels into scraped labels the way Prometheus does.
fn merge_target_labels(scraped: Labels, target: &Labels, honor_labels: bool) -> Labels {
    let mut l = scraped;
    for t in target.iter() {
        if honor_labels {
            if l.get(&t.name).is_none() {
                l.set(&t.name, &t.value);
            }
        } else {
            if let Some(existing) = l.get(&t.name).map(str::to_string) {
                // Prefix "exported_" until the name is free.
                let mut name = format!("exported_{}", t.name);
                while l.get(&name).is_some() {
                    name = format!("exported_{name}");
                }
                l.set(&name, &existing);
            }
            l.set(&t.name, &t.value);
        }
    }
    l
}

fn check_label_limits(l: &Labels, limits: &super::target::ScrapeLimits) -> Result<(), String> {
    if limits.label_limit > 0 && l.len() > limits.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            l.metric_name().unwrap_or(""),
            l.len(),
            limits.label_limit
        ));
    }
    for lab in l.iter() {
        if limits.label_name_length_limit > 0 && lab.name.len() > limits.label_name_length_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                l.metric_name().unwrap_or(""),
                lab.name,
                lab.name.len(),
                limits.label_name_length_limit
            ));
        }
        if limits.label_value_length_limit > 0 && lab.value.len() > limits.label_value_length_limit {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, length: {}, limit: {})",
                l.metric_name().unwrap_or(""),
                lab.name,
                lab.value,
                lab.value.len(),
                limits.label_value_length_limit
            ));
        }
    }
    Ok(())
}

impl ScrapeState {
    /// Parses `body` and appends its samples at scrape time `ts` (ms). On any scrape-level
    /// error nothing of the body is stored (the appender is rolled back) and the error is
    /// returned in the outcome; the caller then reports the scrape as failed.
    pub fn ingest_body(
        &mut self,
        db: &Db,
        spec: &TargetSpec,
        body: &[u8],
        format: Format,
        ts: i64,
    ) -> ScrapeOutcome {
        let mut app = db.appender();
        let mut out = ScrapeOutcome::default();
        self.iteration += 1;
        let iter = self.iteration;
        match self.parse_and_append(&mut app, spec, body, format, ts, iter, &mut out) {
            Ok(()) => {
                self.stale_missing(&mut app, ts, iter);
                if let Err(e) = app.commit() {
                    out.error = Some(format!("storing samples failed: {e}"));
                }
            }
            Err(e) => {
                app.rollback();
                // Forget what this failed scrape saw, so the series of the previous good scrape
                // go stale like after any failed scrape.
                self.cache.retain(|_, c| c.born != iter);
                for c in self.cache.values_mut() {
                    if c.seen == iter {
                        c.seen = iter - 1;
                    }
                }
                out.error = Some(e);
                let mut app = db.appender();
                self.stale_missing(&mut app, ts, iter);
                let _ = app.commit();
            }
        }
        out
    }

    /// A failed fetch: every series of the previous scrape goes stale.
    pub fn fail(&mut self, db: &Db, ts: i64) {
        self.iteration += 1;
        let mut app = db.appender();
        self.stale_missing(&mut app, ts, self.iteration);
        let _ = app.commit();
    }

    /// Target removed: stale markers for everything it ever reported.
    pub fn stop(&mut self, db: &Db, ts: i64) {
        self.iteration += 2;
        let mut app = db.appender();
        for c in self.cache.values() {
            if let (Some(r), true) = (c.sref, c.tracked) {
                let _ = app.append_ref(r, ts, stale_nan());
            }
        }
        for r in &self.report_refs {
            let _ = app.append_ref(*r, ts, stale_nan());
        }
        let _ = app.commit();
        self.cache.clear();
    }

    #[allow(clippy::too_many_arguments)]
    fn parse_and_append(
        &mut self,
        app: &mut Appender,
        spec: &TargetSpec,
        body: &[u8],
        format: Format,
        ts: i64,
        iter: u64,
        out: &mut ScrapeOutcome,
    ) -> Result<(), String> {
        let mut key = Vec::with_capacity(256);
        for entry in Parser::new(body, format) {
            let entry = entry.map_err(|e| format!("parse error: {e}"))?;
            let s = match entry {
                Entry::Sample(s) => s,
                Entry::Type { metric_name, metric_type } => {
                    out.metadata.entry(metric_name.to_string()).or_default().metric_type =
                        metric_type.as_str().to_string();
                    continue;
                }
                Entry::Help { metric_name, text } => {
                    out.metadata.entry(metric_name.to_string()).or_default().help = text.into_owned();
                    continue;
                }
                Entry::Unit { metric_name, unit } => {
                    out.metadata.entry(metric_name.to_string()).or_default().unit = unit.to_string();
                    continue;
                }
            };
            out.scraped += 1;
            let explicit_ts = if spec.honor_timestamps { s.timestamp } else { None };
            let t = explicit_ts.unwrap_or(ts);
            key.clear();
            key.extend_from_slice(s.metric_name.as_bytes());
            key.push(b'{');
            key.extend_from_slice(s.labels.as_raw_str().as_bytes());
            if let Some(c) = self.cache.get_mut(key.as_slice()) {
                let Some(r) = c.sref else {
                    c.seen = iter;
                    continue; // dropped by relabeling
                };
                out.post_relabel += 1;
                check_sample_limit(spec, out)?;
                match app.append_ref(r, t, s.value) {
                    Ok(()) => {
                        c.seen = iter;
                        c.tracked = explicit_ts.is_none();
                        continue;
                    }
                    // The series was removed from the head since: fall through and re-create.
                    Err(AppendError::UnknownRef(_)) => {
                        out.post_relabel -= 1;
                    }
                    Err(e) => {
                        c.seen = iter;
                        record_rejection(out, e)?;
                        continue;
                    }
                }
            }
            // Slow path: build, merge and relabel the label set.
            let mut labels = merge_target_labels(s.to_labels(), &spec.labels, spec.honor_labels);
            if let Some(relabel) = &spec.metric_relabel {
                match relabel(labels) {
                    Some(l) => labels = l,
                    None => {
                        self.cache.insert(
                            key.clone(),
                            Cached { sref: None, seen: iter, tracked: false, born: iter },
                        );
                        continue;
                    }
                }
            }
            if labels.metric_name().is_none_or(str::is_empty) {
                return Err(format!("no metric name after relabeling for series {}", s.metric_name));
            }
            check_label_limits(&labels, &spec.limits)?;
            out.post_relabel += 1;
            check_sample_limit(spec, out)?;
            match app.append(&labels, t, s.value) {
                Ok(r) => {
                    out.series_added += 1;
                    self.cache.insert(
                        key.clone(),
                        Cached { sref: Some(r), seen: iter, tracked: explicit_ts.is_none(), born: iter },
                    );
                }
                Err(e) => record_rejection(out, e)?,
            }
        }
        Ok(())
    }

    /// Stale markers for tracked series seen in the previous iteration but not in `iter`;
    /// forgets series not seen for two iterations.
    fn stale_missing(&mut self, app: &mut Appender, ts: i64, iter: u64) {
        self.cache.retain(|_, c| {
            if c.seen + 1 == iter
                && c.tracked
                && let Some(r) = c.sref
            {
                let _ = app.append_ref(r, ts, stale_nan());
            }
            c.seen + 1 >= iter
        });
    }

    /// Appends the report series for this scrape.
    pub fn report(&mut self, db: &Db, spec: &TargetSpec, ts: i64, duration_s: f64, out: &ScrapeOutcome) {
        let up = if out.error.is_none() { 1.0 } else { 0.0 };
        let values = [
            ("up", up),
            ("scrape_duration_seconds", duration_s),
            ("scrape_samples_scraped", out.scraped as f64),
            ("scrape_samples_post_metric_relabeling", out.post_relabel as f64),
            ("scrape_series_added", out.series_added as f64),
        ];
        let mut app = db.appender();
        let mut refs = Vec::with_capacity(values.len());
        for (name, v) in values {
            let mut l = spec.labels.clone();
            l.set(METRIC_NAME, name);
            match app.append(&l, ts, v) {
                Ok(r) => refs.push(r),
                Err(e) => tracing::debug!(target = %spec.url, error = %e, "report sample refused"),
            }
        }
        if let Err(e) = app.commit() {
            tracing::warn!(target = %spec.url, error = %e, "storing report series failed");
        }
        self.report_refs = refs;
    }
}

fn check_sample_limit(spec: &TargetSpec, out: &ScrapeOutcome) -> Result<(), String> {
    let limit = spec.limits.sample_limit;
    if limit > 0 && out.post_relabel > limit {
        return Err(format!("sample_limit exceeded: more than {limit} samples after metric relabeling"));
    }
    Ok(())
}

/// Per-sample refusals (out of order, duplicates with another value, too old) are counted and
/// do not fail the scrape, as in Prometheus; storage failures do.
fn record_rejection(out: &mut ScrapeOutcome, e: AppendError) -> Result<(), String> {
    match e {
        AppendError::Storage(m) => Err(format!("storage error: {m}")),
        AppendError::Closed => Err("database closed".into()),
        AppendError::TooManySeries { .. } => Err(e.to_string()),
        other => {
            out.rejected += 1;
            tracing::debug!(error = %other, "scraped sample refused");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honor_labels_false_renames_conflicts() {
        let scraped = Labels::from_pairs([("__name__", "m"), ("job", "inner"), ("exported_job", "x")]);
        let target = Labels::from_pairs([("job", "outer"), ("instance", "h:1")]);
        let l = merge_target_labels(scraped, &target, false);
        assert_eq!(l.get("job"), Some("outer"));
        assert_eq!(l.get("exported_exported_job"), Some("inner"));
        assert_eq!(l.get("exported_job"), Some("x"));
        assert_eq!(l.get("instance"), Some("h:1"));
    }

    #[test]
    fn honor_labels_true_keeps_scraped() {
        let scraped = Labels::from_pairs([("__name__", "m"), ("job", "inner")]);
        let target = Labels::from_pairs([("job", "outer"), ("instance", "h:1")]);
        let l = merge_target_labels(scraped, &target, true);
        assert_eq!(l.get("job"), Some("inner"));
        assert_eq!(l.get("instance"), Some("h:1"));
    }

    #[test]
    fn label_limits_name_the_metric() {
        let l = Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", "22")]);
        let lim = super::super::target::ScrapeLimits { label_limit: 2, ..Default::default() };
        assert!(check_label_limits(&l, &lim).unwrap_err().contains("label_limit exceeded (metric: m"));
        let lim = super::super::target::ScrapeLimits { label_value_length_limit: 1, ..Default::default() };
        assert!(check_label_limits(&l, &lim).unwrap_err().contains("label_value_length_limit"));
    }
}
