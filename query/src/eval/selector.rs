//! Selectors and subqueries: turning storage series into per-step values. Owns `offset` and
//! `@` resolution, lookback and staleness for instant selectors, left-open windows for range
//! selectors, and subquery step alignment. Does not apply functions to the windows.

use std::time::{Duration, SystemTime};

use cairn_format::{Labels, MatchOp, Matcher, Sample, is_stale_nan};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{AtModifier, MatrixSelector, Offset, SubqueryExpr, VectorSelector};

use super::{Evaluator, MatrixVal, RangeSeries, SSeries, Steps, Val};
use crate::error::QueryError;
use crate::storage::{SelectHints, Series};

/// A selected series plus the timestamp (ms) of the sample chosen at each step.
pub(crate) type TimedSeries = (SSeries, Vec<Option<f64>>);

pub(crate) fn dur_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => dur_ms(d),
        Some(Offset::Neg(d)) => -dur_ms(d),
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => dur_ms(&d),
        Err(e) => -dur_ms(&e.duration()),
    }
}

/// Converts promql-parser matchers (plus the metric name) into Cairn matchers, recompiling
/// regexes with `(?s)` semantics.
pub(crate) fn to_matchers(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let conv = |ms: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>, QueryError> {
        let mut out = Vec::with_capacity(ms.len() + 1);
        if let Some(n) = &vs.name {
            out.push(Matcher::equal(cairn_format::METRIC_NAME, n.clone()));
        }
        for m in ms.iter().filter(|m| {
            m.name != crate::durexpr::SMOOTHED_MARK_LABEL && m.name != crate::durexpr::INFO_MARK_LABEL
        }) {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::RegexMatch,
                PMatchOp::NotRe(_) => MatchOp::RegexNoMatch,
            };
            out.push(
                Matcher::new(op, m.name.clone(), m.value.clone())
                    .map_err(|e| QueryError::BadData(e.to_string()))?,
            );
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![conv(&vs.matchers.matchers)?])
    } else {
        vs.matchers.or_matchers.iter().map(|g| conv(g)).collect()
    }
}

impl Evaluator<'_> {
    /// The time a selector with `at`/`offset` reads at, for outer step time `ts`.
    pub(crate) fn effective_time(&self, at: &Option<AtModifier>, offset: &Option<Offset>, ts: i64) -> i64 {
        let base = match at {
            None => ts,
            Some(AtModifier::Start) => self.query_start,
            Some(AtModifier::End) => self.query_end,
            Some(AtModifier::At(t)) => system_time_ms(t),
        };
        base - offset_ms(offset)
    }

    fn select(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        let groups = to_matchers(vs)?;
        self.select_groups(&groups, mint, maxt, hints)
    }

    fn select_groups(
        &mut self,
        groups: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
        hints: &SelectHints,
    ) -> Result<Vec<Series>, QueryError> {
        let querier = self.q.querier(mint, maxt)?;
        let mut out: Vec<Series> = Vec::new();
        let multi = groups.len() > 1;
        let mut seen = std::collections::HashSet::new();
        for g in groups {
            for s in querier.select(g, hints)? {
                if multi && !seen.insert(s.labels.clone()) {
                    continue;
                }
                out.push(s);
            }
        }
        drop(querier);
        let n: usize = out.iter().map(|s| s.samples.len()).sum();
        self.stats.samples_loaded += n;
        self.stats.series_loaded += out.len();
        self.add_samples(n)?;
        self.check_interrupt()?;
        Ok(out)
    }

    /// An instant selector over all steps. With `want_ts` the values are the timestamps
    /// (seconds) of the selected samples, for `timestamp()`.
    pub(crate) fn vector_selector(
        &mut self,
        vs: &VectorSelector,
        s: &Steps,
        want_ts: bool,
    ) -> Result<Vec<SSeries>, QueryError> {
        let ends: Vec<i64> = (0..s.n).map(|i| self.effective_time(&vs.at, &vs.offset, s.ts(i))).collect();
        let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
            return Ok(Vec::new());
        };
        let lookback = self.lookback;
        if vs.matchers.matchers.iter().any(|m| m.name == crate::durexpr::SMOOTHED_MARK_LABEL) {
            // `smoothed`: the value interpolated at each step between its neighbours.
            let series = self.select_raw(vs, lo - lookback + 1, hi + lookback, None)?;
            let mut out = Vec::with_capacity(series.len());
            for ser in series {
                let smp: Vec<Sample> = ser.samples.into_iter().filter(|p| !is_stale_nan(p.v)).collect();
                let vals: Vec<Option<f64>> = ends
                    .iter()
                    .map(|&e| crate::functions::extended::boundary(&smp, e, lookback, false))
                    .collect();
                if vals.iter().any(Option::is_some) {
                    out.push(SSeries { labels: ser.labels, vals, drop_name: false });
                }
            }
            return Ok(out);
        }
        // One evaluation time: only the newest sample at or before it matters.
        let newest_only = lo == hi;
        let hints = SelectHints { start: lo, end: hi, step: s.step, range: 0, func: None, newest_only };
        let series = self.select(vs, lo - self.lookback + 1, hi, &hints)?;
        let mut out = Vec::with_capacity(series.len());
        for ser in series {
            let mut vals = vec![None; s.n];
            let smp = &ser.samples;
            let mut j = 0usize; // samples[..j] have t <= current end
            let mut any = false;
            for (i, &end) in ends.iter().enumerate() {
                if i > 0 && end < ends[i - 1] {
                    j = 0;
                }
                while j < smp.len() && smp[j].t <= end {
                    j += 1;
                }
                if j == 0 {
                    continue;
                }
                let p = smp[j - 1];
                if p.t > end - lookback && !is_stale_nan(p.v) {
                    vals[i] = Some(if want_ts { p.t as f64 / 1000.0 } else { p.v });
                    any = true;
                }
            }
            if any {
                self.add_samples(vals.iter().filter(|v| v.is_some()).count())?;
                out.push(SSeries { labels: ser.labels, vals, drop_name: false });
            }
        }
        Ok(out)
    }

    /// Instant selection with explicit matchers and `vs`'s `@`/`offset`: per series the
    /// values and the sample timestamps (ms, as f64) at every step. Used by `info()`.
    pub(crate) fn select_with_matchers(
        &mut self,
        vs: &VectorSelector,
        matchers: &[Matcher],
        s: &Steps,
    ) -> Result<Vec<TimedSeries>, QueryError> {
        let ends: Vec<i64> = (0..s.n).map(|i| self.effective_time(&vs.at, &vs.offset, s.ts(i))).collect();
        let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
            return Ok(Vec::new());
        };
        let hints =
            SelectHints { start: lo, end: hi, step: s.step, range: 0, func: None, newest_only: false };
        let series = self.select_groups(&[matchers.to_vec()], lo - self.lookback + 1, hi, &hints)?;
        let mut out = Vec::with_capacity(series.len());
        for ser in series {
            let mut vals = vec![None; s.n];
            let mut ts = vec![None; s.n];
            for (i, &end) in ends.iter().enumerate() {
                let j = ser.samples.partition_point(|p| p.t <= end);
                if j == 0 {
                    continue;
                }
                let p = ser.samples[j - 1];
                if p.t > end - self.lookback && !is_stale_nan(p.v) {
                    vals[i] = Some(p.v);
                    ts[i] = Some(p.t as f64);
                }
            }
            out.push((SSeries { labels: ser.labels, vals, drop_name: false }, ts));
        }
        Ok(out)
    }

    /// Raw selection over `[mint, maxt]` (stale markers included), for callers with their own
    /// window rules.
    pub(crate) fn select_raw(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        func: Option<&str>,
    ) -> Result<Vec<Series>, QueryError> {
        let hints = SelectHints {
            start: mint,
            end: maxt,
            step: 0,
            range: 0,
            func: func.map(str::to_string),
            newest_only: false,
        };
        self.select(vs, mint, maxt, &hints)
    }

    /// A range selector: the samples of every series over the union of all step windows.
    pub(crate) fn matrix_selector(
        &mut self,
        ms: &MatrixSelector,
        s: &Steps,
        func: Option<&str>,
    ) -> Result<MatrixVal, QueryError> {
        let vs = &ms.vs;
        let range = dur_ms(&ms.range);
        let ends: Vec<i64> = (0..s.n).map(|i| self.effective_time(&vs.at, &vs.offset, s.ts(i))).collect();
        let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
            return Ok(MatrixVal { series: Vec::new(), ends, range });
        };
        let hints = SelectHints {
            start: lo,
            end: hi,
            step: s.step,
            range,
            func: func.map(str::to_string),
            newest_only: false,
        };
        let series = self.select(vs, lo - range + 1, hi, &hints)?;
        let out = series
            .into_iter()
            .filter_map(|ser| {
                let samples: Vec<Sample> = ser
                    .samples
                    .into_iter()
                    .filter(|p| !is_stale_nan(p.v) && p.t > lo - range && p.t <= hi)
                    .collect();
                (!samples.is_empty()).then_some(RangeSeries { labels: ser.labels, samples, drop_name: false })
            })
            .collect();
        Ok(MatrixVal { series: out, ends, range })
    }

    /// A subquery: the inner expression evaluated on the absolute grid of its step, covering
    /// every outer window.
    pub(crate) fn subquery(&mut self, sq: &SubqueryExpr, s: &Steps) -> Result<MatrixVal, QueryError> {
        let range = dur_ms(&sq.range);
        let step = match &sq.step {
            Some(d) if dur_ms(d) > 0 => dur_ms(d),
            _ => self.default_sub_step,
        };
        let ends: Vec<i64> = (0..s.n).map(|i| self.effective_time(&sq.at, &sq.offset, s.ts(i))).collect();
        let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
            return Ok(MatrixVal { series: Vec::new(), ends, range });
        };
        let first = (lo - range).div_euclid(step) * step + step;
        if first > hi {
            return Ok(MatrixVal { series: Vec::new(), ends, range });
        }
        let n_steps = (hi - first) / step + 1;
        // Every inner step may hold a point per series: refuse grids the sample limit forbids.
        if usize::try_from(n_steps).map_or(true, |n| n > self.max_samples()) {
            return Err(QueryError::TooManySamples("query execution"));
        }
        let n = n_steps as usize;
        let last = first + (n as i64 - 1) * step;
        // `query_end` is only read when the evaluator is built; the inner grid has no other end.
        let inner = Steps { start: first, end: last, query_end: last, step, n };
        let val = self.eval(&sq.expr, &inner)?;
        let series = match val {
            Val::Vector(vs) => vs
                .into_iter()
                .filter_map(|ser| {
                    let samples: Vec<Sample> = ser
                        .vals
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| Sample::new(inner.ts(i), v)))
                        .collect();
                    (!samples.is_empty()).then_some(RangeSeries {
                        labels: ser.labels,
                        samples,
                        drop_name: ser.drop_name,
                    })
                })
                .collect(),
            Val::Scalar(v) => vec![RangeSeries {
                labels: Labels::empty(),
                samples: v.iter().enumerate().map(|(i, &x)| Sample::new(inner.ts(i), x)).collect(),
                drop_name: false,
            }],
            other => {
                return Err(QueryError::BadData(format!(
                    "subquery is only allowed on instant vector, got {} instead",
                    other.type_name()
                )));
            }
        };
        let pts: usize = series.iter().map(|r: &RangeSeries| r.samples.len()).sum();
        self.add_samples(pts)?;
        Ok(MatrixVal { series, ends, range })
    }
}
