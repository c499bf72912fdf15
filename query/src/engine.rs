//! The public entry points: [`Engine`], [`EngineOptions`], [`QueryOptions`]. Parses the query
//! (guarded against parser panics and deep recursion), runs the evaluator on a thread with a
//! large stack, and turns its step-vectorised output into a [`QueryResult`]. Evaluation
//! itself lives in [`crate::eval`].

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use cairn_format::{Labels, Sample};
use promql_parser::parser::Expr;

use crate::error::{DUPLICATE_LABELSET, QueryError};
use crate::eval::{Evaluator, Steps, Val};
use crate::storage::Queryable;
use crate::value::{QueryResult, Value};

/// Longest query text accepted; deeper nesting than this allows could overflow the parser.
pub const QUERY_LEN_MAX_BYTES: usize = 64 * 1024;
/// Stack size of the thread that parses and evaluates one query.
const EVAL_STACK_BYTES: usize = 256 * 1024 * 1024;
/// Prometheus's limit on points per series in a range query's result.
pub const RANGE_POINTS_MAX: i64 = 11_000;

/// Engine-wide settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (ms). Prometheus default: 5m.
    pub lookback_delta_ms: i64,
    /// Most samples a query may load and produce (storage samples plus selector/subquery
    /// points, summed over the query); past it the query fails with `TooManySamples`.
    pub max_samples: usize,
    /// Wall-clock limit of one query.
    pub timeout: Duration,
    /// Step of a subquery written without one (`x[10m:]`), in ms. Prometheus default: 1m.
    pub default_subquery_step_ms: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step_ms: 60 * 1000,
        }
    }
}

/// Per-query settings.
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    /// Overrides [`EngineOptions::lookback_delta_ms`] for this query.
    pub lookback_delta_ms: Option<i64>,
    /// Set to `true` (by anyone) to abandon the query; checked periodically.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Shortens [`EngineOptions::timeout`] for this query (never lengthens it).
    pub timeout: Option<Duration>,
}

/// The PromQL engine. Cheap to share; holds only settings.
#[derive(Clone, Debug)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `expr` at `t_ms`.
    pub fn instant_query(
        &self,
        q: &dyn Queryable,
        expr: &str,
        t_ms: i64,
        opts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        self.run(q, expr, Steps { start: t_ms, end: t_ms, query_end: t_ms, step: 1, n: 1 }, false, opts)
    }

    /// Evaluates `expr` at `start_ms, start_ms + step_ms, …, ≤ end_ms`.
    pub fn range_query(
        &self,
        q: &dyn Queryable,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        opts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        if step_ms <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer"
                    .into(),
            ));
        }
        if end_ms < start_ms {
            return Err(QueryError::BadData("end timestamp must not be before start time".into()));
        }
        let n = (end_ms - start_ms) / step_ms + 1;
        if n > RANGE_POINTS_MAX {
            return Err(QueryError::BadData(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
            ));
        }
        self.run(
            q,
            expr,
            Steps {
                start: start_ms,
                end: start_ms + (n - 1) * step_ms,
                query_end: end_ms,
                step: step_ms,
                n: n as usize,
            },
            true,
            opts,
        )
    }

    fn run(
        &self,
        q: &dyn Queryable,
        text: &str,
        steps: Steps,
        is_range: bool,
        opts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        if text.len() > QUERY_LEN_MAX_BYTES {
            return Err(QueryError::Parse(format!(
                "query is {} bytes long, more than the limit of {QUERY_LEN_MAX_BYTES}",
                text.len()
            )));
        }
        let lookback = opts.lookback_delta_ms.filter(|l| *l > 0).unwrap_or(self.opts.lookback_delta_ms);
        let deadline = Instant::now() + opts.timeout.map_or(self.opts.timeout, |t| t.min(self.opts.timeout));
        std::thread::scope(|scope| {
            let handle = std::thread::Builder::new()
                .name("cairn-query".into())
                .stack_size(EVAL_STACK_BYTES)
                .spawn_scoped(scope, || {
                    let ctx = crate::durexpr::DurationContext {
                        step_s: if is_range { steps.step as f64 / 1000.0 } else { 0.0 },
                        range_s: (steps.end - steps.start) as f64 / 1000.0,
                    };
                    let rewritten = crate::durexpr::rewrite_all(text, ctx).map_err(QueryError::Parse)?;
                    let expr = parse_unguarded(rewritten.text.as_deref().unwrap_or(text))?;
                    let mut ev =
                        Evaluator::new(q, text, &steps, lookback, &self.opts, deadline, opts.cancel.clone());
                    ev.register_extended(&expr, &rewritten.extended);
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        finish(&mut ev, &expr, &steps, is_range)
                    }));
                    match result {
                        Ok(r) => r,
                        Err(_) => Err(QueryError::exec("unexpected error: panic during query evaluation")),
                    }
                })
                .map_err(|e| QueryError::exec(format!("cannot start query thread: {e}")))?;
            handle.join().unwrap_or_else(|_| Err(QueryError::exec("unexpected error: query thread panicked")))
        })
    }
}

/// Parses `text` for callers outside the engine (e.g. `/api/v1/format_query`): length cap,
/// parser panics turned into errors, and a large-stack thread so deep nesting cannot overflow.
/// Duration expressions and `anchored`/`smoothed` are not rewritten here. The caller drops the
/// returned tree recursively: trees tens of thousands of levels deep need a large stack there.
pub fn parse(text: &str) -> Result<Expr, QueryError> {
    if text.len() > QUERY_LEN_MAX_BYTES {
        return Err(QueryError::Parse(format!(
            "query is {} bytes long, more than the limit of {QUERY_LEN_MAX_BYTES}",
            text.len()
        )));
    }
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("cairn-parse".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, || parse_unguarded(text))
            .map_err(|e| QueryError::exec(format!("cannot start parse thread: {e}")))?
            .join()
            .unwrap_or_else(|_| Err(QueryError::Parse("parse error: parser crashed".into())))
    })
}

/// Parses on the current thread, turning parser panics into parse errors.
fn parse_unguarded(text: &str) -> Result<Expr, QueryError> {
    let owned = text.to_string();
    match std::panic::catch_unwind(move || promql_parser::parser::parse(&owned)) {
        Ok(Ok(e)) => Ok(e),
        Ok(Err(msg)) => Err(QueryError::Parse(crate::parse_error::format(text, &msg))),
        Err(_) => Err(QueryError::Parse("parse error: value out of range".into())),
    }
}

fn finish(
    ev: &mut Evaluator<'_>,
    expr: &Expr,
    steps: &Steps,
    is_range: bool,
) -> Result<QueryResult, QueryError> {
    let val = ev.eval(expr, steps)?;
    let value = match val {
        Val::Scalar(v) => {
            if is_range {
                let samples = (0..steps.n).map(|i| Sample::new(steps.ts(i), v[i])).collect();
                Value::Matrix(vec![(Labels::empty(), samples)])
            } else {
                Value::Scalar(steps.start, v[0])
            }
        }
        Val::Str(s) => {
            if is_range {
                return Err(QueryError::BadData(
                    "invalid expression type \"string\" for range query, must be Scalar or instant Vector"
                        .into(),
                ));
            }
            Value::String(steps.start, s)
        }
        Val::Vector(series) => {
            let series = crate::eval::cleanup_names(series)?;
            if is_range {
                let mut out: Vec<(Labels, Vec<Sample>)> = series
                    .into_iter()
                    .filter_map(|s| {
                        let pts: Vec<Sample> = s
                            .vals
                            .iter()
                            .enumerate()
                            .filter_map(|(i, v)| v.map(|v| Sample::new(steps.ts(i), v)))
                            .collect();
                        (!pts.is_empty()).then_some((s.labels, pts))
                    })
                    .collect();
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Matrix(out)
            } else {
                Value::Vector(
                    series
                        .into_iter()
                        .filter_map(|s| s.vals[0].map(|v| (s.labels, steps.start, v)))
                        .collect(),
                )
            }
        }
        Val::Matrix(m) => {
            if is_range {
                return Err(QueryError::BadData(
                    "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
                ));
            }
            let end = m.ends[0];
            let mut out = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for s in m.series {
                let labels = if s.drop_name { crate::eval::drop_reserved(&s.labels) } else { s.labels };
                let pts: Vec<Sample> =
                    s.samples.into_iter().filter(|p| p.t > end - m.range && p.t <= end).collect();
                if pts.is_empty() {
                    continue;
                }
                if !seen.insert(labels.clone()) {
                    return Err(QueryError::exec(DUPLICATE_LABELSET));
                }
                out.push((labels, pts));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Matrix(out)
        }
    };
    Ok(QueryResult {
        value,
        warnings: std::mem::take(&mut ev.warnings),
        infos: std::mem::take(&mut ev.infos),
        stats: ev.stats.clone(),
    })
}
