//! The step-vectorised evaluator: every AST node is evaluated once over all steps of its
//! [`Steps`] grid and yields a [`Val`] holding per-step values. Owns the recursion over the
//! AST, the shared value types, delayed `__name__` removal, the duplicate-labelset check and
//! the guards (sample limit, timeout, cancellation). Selectors, binary operators,
//! aggregations and functions live in sibling modules.

pub(crate) mod aggregate;
pub(crate) mod binary;
pub(crate) mod selector;

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use cairn_format::{Labels, METRIC_NAME, Sample};
use promql_parser::parser::Expr;

use crate::durexpr::RangeExt;
use crate::engine::EngineOptions;
use crate::error::{DUPLICATE_LABELSET, QueryError};
use crate::storage::Queryable;
use crate::value::QueryStats;

/// Label names removed together with `__name__` when a name is dropped.
const TYPE_LABEL: &str = "__type__";
const UNIT_LABEL: &str = "__unit__";

/// An evaluation grid: `n` timestamps `start + i*step`, `i < n` (`end` is the last one).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Steps {
    pub start: i64,
    /// The last step (`start + (n - 1) * step`).
    pub end: i64,
    /// The query's requested end, which `@ end()` and `end()` refer to; for a range query it
    /// may lie after the last step.
    pub query_end: i64,
    pub step: i64,
    pub n: usize,
}

impl Steps {
    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }
}

/// One series of an instant vector over all steps; `None` = no value at that step.
#[derive(Clone, Debug)]
pub(crate) struct SSeries {
    pub labels: Labels,
    pub vals: Vec<Option<f64>>,
    /// Delayed name removal: `__name__` is dropped when the query finishes.
    pub drop_name: bool,
}

/// One series of a range vector: raw samples, stale markers removed, sorted by time.
#[derive(Clone, Debug)]
pub(crate) struct RangeSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
    pub drop_name: bool,
}

/// A range vector over all steps: for step `i` the window is `(ends[i] - range, ends[i]]`.
#[derive(Clone, Debug)]
pub(crate) struct MatrixVal {
    pub series: Vec<RangeSeries>,
    pub ends: Vec<i64>,
    pub range: i64,
}

impl MatrixVal {
    /// Calls `f(step, window)` for every step, the window being the samples of `s` inside it.
    pub fn windows<'s>(&self, s: &'s RangeSeries, mut f: impl FnMut(usize, &'s [Sample])) {
        let (mut lo, mut hi) = (0usize, 0usize);
        let v = &s.samples;
        for (i, &end) in self.ends.iter().enumerate() {
            let start = end - self.range;
            if i > 0 && end < self.ends[i - 1] {
                lo = 0;
                hi = 0;
            }
            while lo < v.len() && v[lo].t <= start {
                lo += 1;
            }
            if hi < lo {
                hi = lo;
            }
            while hi < v.len() && v[hi].t <= end {
                hi += 1;
            }
            f(i, &v[lo..hi]);
        }
    }
}

/// A node's value over all steps.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<SSeries>),
    Matrix(MatrixVal),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// State of one query's evaluation.
pub(crate) struct Evaluator<'a> {
    pub q: &'a dyn Queryable,
    pub text: &'a str,
    pub lookback: i64,
    /// Start/end of the whole query, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    pub default_sub_step: i64,
    max_samples: usize,
    current_samples: usize,
    deadline: Instant,
    cancel: Option<Arc<AtomicBool>>,
    checks: u32,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
    pub stats: QueryStats,
    /// `anchored`/`smoothed` range selectors, keyed by the address of their AST node.
    pub extended: HashMap<usize, RangeExt>,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        q: &'a dyn Queryable,
        text: &'a str,
        steps: &Steps,
        lookback: i64,
        opts: &EngineOptions,
        deadline: Instant,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Self {
        Evaluator {
            q,
            text,
            lookback,
            query_start: steps.start,
            query_end: steps.query_end,
            default_sub_step: opts.default_subquery_step_ms,
            max_samples: opts.max_samples,
            current_samples: 0,
            deadline,
            cancel,
            checks: 0,
            warnings: Vec::new(),
            infos: Vec::new(),
            stats: QueryStats::default(),
            extended: HashMap::new(),
        }
    }

    /// Attaches the `anchored`/`smoothed` modifiers the text rewrite found to the range
    /// selectors of `expr`, counted in source order.
    pub fn register_extended(&mut self, expr: &Expr, ext: &[(usize, RangeExt)]) {
        if ext.is_empty() {
            return;
        }
        let mut order: Vec<usize> = Vec::new();
        collect_matrix_selectors(expr, &mut order);
        for &(idx, e) in ext {
            if let Some(&addr) = order.get(idx) {
                self.extended.insert(addr, e);
            }
        }
    }

    /// Checks timeout and cancellation; cheap enough to call per series.
    pub fn check_interrupt(&mut self) -> Result<(), QueryError> {
        self.checks = self.checks.wrapping_add(1);
        if let Some(c) = &self.cancel
            && c.load(Ordering::Relaxed)
        {
            return Err(QueryError::Canceled("expression evaluation"));
        }
        if self.checks.is_multiple_of(64) && Instant::now() > self.deadline {
            return Err(QueryError::Timeout("expression evaluation"));
        }
        Ok(())
    }

    /// Accounts for `n` more samples held by the query; fails past the limit.
    pub fn add_samples(&mut self, n: usize) -> Result<(), QueryError> {
        self.current_samples = self.current_samples.saturating_add(n);
        self.stats.peak_samples = self.stats.peak_samples.max(self.current_samples);
        if self.current_samples > self.max_samples {
            return Err(QueryError::TooManySamples("query execution"));
        }
        Ok(())
    }

    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// 1-based line and column of the first occurrence of `needle` in the query text.
    pub fn position_of(&self, needle: &str) -> (usize, usize) {
        let off = if needle.is_empty() { None } else { self.text.find(needle) }.unwrap_or(0);
        let before = &self.text[..off];
        let line = before.matches('\n').count() + 1;
        let col = off - before.rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
        (line, col)
    }

    pub fn warn(&mut self, msg: &str, near: &str) {
        let (l, c) = self.position_of(near);
        let s = format!("PromQL warning: {msg} ({l}:{c})");
        if !self.warnings.contains(&s) {
            self.warnings.push(s);
        }
    }

    pub fn info(&mut self, msg: &str, near: &str) {
        let (l, c) = self.position_of(near);
        let s = format!("PromQL info: {msg} ({l}:{c})");
        if !self.infos.contains(&s) {
            self.infos.push(s);
        }
    }

    /// Evaluates `e` over every step of `s`.
    pub fn eval(&mut self, e: &Expr, s: &Steps) -> Result<Val, QueryError> {
        self.check_interrupt()?;
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; s.n])),
            Expr::StringLiteral(st) => Ok(Val::Str(st.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, s),
            Expr::Unary(u) => match self.eval(&u.expr, s)? {
                Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|x| -x).collect())),
                Val::Vector(mut vs) => {
                    for ser in &mut vs {
                        for v in ser.vals.iter_mut().flatten() {
                            *v = -*v;
                        }
                        ser.drop_name = true;
                    }
                    Ok(Val::Vector(vs))
                }
                other => Err(QueryError::BadData(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.vector_selector(vs, s, false)?)),
            Expr::MatrixSelector(ms) => Ok(Val::Matrix(self.matrix_selector(ms, s, None)?)),
            Expr::Subquery(sq) => Ok(Val::Matrix(self.subquery(sq, s)?)),
            Expr::Binary(b) => self.binary(b, s),
            Expr::Aggregate(a) => self.aggregate(a, s),
            Expr::Call(c) => crate::functions::call(self, c, s),
            Expr::Extension(_) => Err(QueryError::BadData("extension expressions are not supported".into())),
        }
    }

    /// Evaluates an expression that must be a scalar (function parameters, `topk`'s k…).
    pub fn eval_scalar(&mut self, e: &Expr, s: &Steps) -> Result<Vec<f64>, QueryError> {
        match self.eval(e, s)? {
            Val::Scalar(v) => Ok(v),
            other => Err(QueryError::BadData(format!("expected scalar, got {}", other.type_name()))),
        }
    }

    pub fn eval_vector(&mut self, e: &Expr, s: &Steps) -> Result<Vec<SSeries>, QueryError> {
        match self.eval(e, s)? {
            Val::Vector(v) => Ok(v),
            other => Err(QueryError::BadData(format!("expected instant vector, got {}", other.type_name()))),
        }
    }

    pub fn eval_matrix(&mut self, e: &Expr, s: &Steps) -> Result<MatrixVal, QueryError> {
        match self.eval(e, s)? {
            Val::Matrix(m) => Ok(m),
            other => Err(QueryError::BadData(format!("expected range vector, got {}", other.type_name()))),
        }
    }
}

/// Addresses of the range selectors of `e`, in source order.
fn collect_matrix_selectors(e: &Expr, out: &mut Vec<usize>) {
    match e {
        Expr::MatrixSelector(ms) => out.push(ms as *const _ as usize),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect_matrix_selectors(p, out);
            }
            collect_matrix_selectors(&a.expr, out);
        }
        Expr::Unary(u) => collect_matrix_selectors(&u.expr, out),
        Expr::Binary(b) => {
            collect_matrix_selectors(&b.lhs, out);
            collect_matrix_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => collect_matrix_selectors(&p.expr, out),
        Expr::Subquery(s) => collect_matrix_selectors(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_matrix_selectors(a, out)),
        _ => {}
    }
}

/// Removes `__name__` (and `__type__`/`__unit__` with it).
pub(crate) fn drop_reserved(l: &Labels) -> Labels {
    Labels::from_sorted(
        l.iter()
            .filter(|x| x.name != METRIC_NAME && x.name != TYPE_LABEL && x.name != UNIT_LABEL)
            .cloned()
            .collect(),
    )
}

/// Applies delayed name removal at the end of a query and rejects duplicate label sets.
pub(crate) fn cleanup_names(series: Vec<SSeries>) -> Result<Vec<SSeries>, QueryError> {
    let renamed = series
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = drop_reserved(&s.labels);
                s.drop_name = false;
            }
            s
        })
        .collect();
    merge_series(renamed)
}

/// Merges output series with identical label sets (as Prometheus's per-step output does)
/// and fails if two of them have a value at the same step. Drops all-empty series.
pub(crate) fn merge_series(mut series: Vec<SSeries>) -> Result<Vec<SSeries>, QueryError> {
    series.retain(|s| s.vals.iter().any(Option::is_some));
    // First pass borrows: find, for each series, the first earlier one with equal labels.
    let mut target: Vec<Option<usize>> = vec![None; series.len()];
    let mut any_dup = false;
    {
        let mut first: HashMap<&Labels, usize> = HashMap::with_capacity(series.len());
        for (i, s) in series.iter().enumerate() {
            match first.get(&s.labels) {
                Some(&j) => {
                    target[i] = Some(j);
                    any_dup = true;
                }
                None => {
                    first.insert(&s.labels, i);
                }
            }
        }
    }
    if !any_dup {
        return Ok(series);
    }
    let mut slots: Vec<Option<SSeries>> = series.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        let Some(j) = target[i] else { continue };
        let Some(src) = slots[i].take() else { continue };
        let Some(dst) = slots[j].as_mut() else { continue };
        for (d, v) in dst.vals.iter_mut().zip(src.vals) {
            if v.is_some() {
                if d.is_some() {
                    return Err(QueryError::exec(DUPLICATE_LABELSET));
                }
                *d = v;
            }
        }
    }
    Ok(slots.into_iter().flatten().collect())
}
