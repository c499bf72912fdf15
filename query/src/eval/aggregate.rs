//! Aggregation operators (`sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`, `stdvar`,
//! `quantile`, `count_values`, `topk`, `bottomk`, `limitk`, `limit_ratio`) with `by`/`without`.
//! Each group is computed per step over the member series; the float accumulators are the
//! kernels in `functions::kernels::aggr`.

use foldhash::{HashMap, HashMapExt};

use cairn_format::{Labels, METRIC_NAME};
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMIT_RATIO, T_LIMITK, T_MAX, T_MIN, T_QUANTILE,
    T_STDDEV, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::{Evaluator, SSeries, Steps, Val};
use crate::error::QueryError;
use crate::functions::kernels::aggr::{
    AvgAcc, KahanSum, VarianceAcc, format_value_label, max_step, min_step, quantile,
};
use crate::functions::math::format_go_g;

/// Group key of a series under `by`/`without`.
fn group_key(l: &Labels, m: &Option<LabelModifier>) -> Labels {
    match m {
        None => Labels::empty(),
        Some(LabelModifier::Include(ls)) => l.keep(&ls.labels),
        Some(LabelModifier::Exclude(ls)) => Labels::from_sorted(
            l.iter().filter(|x| x.name != METRIC_NAME && !ls.labels.contains(&x.name)).cloned().collect(),
        ),
    }
}

/// Running state of one simple aggregation at one step.
#[derive(Clone, Copy)]
enum Acc {
    Sum(KahanSum),
    Avg(AvgAcc),
    Count(f64),
    MinMax(f64, bool),
    Var(VarianceAcc),
}

impl Acc {
    fn new(op: u16, v: f64) -> Acc {
        match op {
            T_SUM => {
                let mut k = KahanSum::new();
                k.add(v);
                Acc::Sum(k)
            }
            T_AVG => Acc::Avg(AvgAcc::new(v)),
            T_COUNT | T_GROUP => Acc::Count(1.0),
            T_MIN => Acc::MinMax(min_step(f64::NAN, v), false),
            T_MAX => Acc::MinMax(max_step(f64::NAN, v), true),
            _ => Acc::Var(VarianceAcc::new(v)),
        }
    }

    fn add(&mut self, v: f64) {
        match self {
            Acc::Sum(k) => k.add(v),
            Acc::Avg(a) => a.add(v),
            Acc::Count(c) => *c += 1.0,
            Acc::MinMax(m, is_max) => *m = if *is_max { max_step(*m, v) } else { min_step(*m, v) },
            Acc::Var(x) => x.add(v),
        }
    }

    fn value(&self, op: u16) -> f64 {
        match self {
            Acc::Sum(k) => k.sum(),
            Acc::Avg(a) => a.value(),
            Acc::Count(c) => {
                if op == T_GROUP {
                    1.0
                } else {
                    *c
                }
            }
            Acc::MinMax(m, _) => *m,
            Acc::Var(x) => {
                if op == T_STDDEV {
                    x.stddev()
                } else {
                    x.stdvar()
                }
            }
        }
    }
}

impl Evaluator<'_> {
    pub(crate) fn aggregate(&mut self, a: &AggregateExpr, s: &Steps) -> Result<Val, QueryError> {
        let op = a.op.id();
        let mut param_scalar: Option<Vec<f64>> = None;
        let mut param_str: Option<String> = None;
        if let Some(p) = &a.param {
            match self.eval(p, s)? {
                Val::Scalar(v) => param_scalar = Some(v),
                Val::Str(st) => param_str = Some(st),
                other => {
                    return Err(QueryError::BadData(format!(
                        "unexpected parameter type {}",
                        other.type_name()
                    )));
                }
            }
        }
        let input = self.eval_vector(&a.expr, s)?;
        let n = s.n;
        // Group membership, in order of first appearance.
        let mut gindex: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<(Labels, Vec<usize>)> = Vec::new();
        for (i, ser) in input.iter().enumerate() {
            let key = group_key(&ser.labels, &a.modifier);
            match gindex.get(&key) {
                Some(&g) => groups[g].1.push(i),
                None => {
                    gindex.insert(key.clone(), groups.len());
                    groups.push((key, vec![i]));
                }
            }
        }
        match op {
            T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
                let params = param_scalar.unwrap_or_else(|| vec![f64::NAN; n]);
                return self.select_k(op, input, &groups, &params, n, a);
            }
            T_COUNT_VALUES => {
                let label = param_str.unwrap_or_default();
                return count_values(&label, &input, &groups, n, &a.modifier);
            }
            _ => {}
        }
        if op == T_QUANTILE
            && let Some(ps) = &param_scalar
            && ps.iter().any(|q| q.is_nan() || *q < 0.0 || *q > 1.0)
        {
            let bad = ps.iter().find(|q| q.is_nan() || **q < 0.0 || **q > 1.0).copied().unwrap_or(f64::NAN);
            let near = a.param.as_deref().map(expr_text).unwrap_or_default();
            self.warn(
                &format!("quantile value should be between 0 and 1, got {}", format_value_label(bad)),
                &near,
            );
        }
        let mut out = Vec::with_capacity(groups.len());
        let mut buf: Vec<f64> = Vec::new();
        for (key, members) in groups {
            let vals = if op == T_QUANTILE {
                // Needs all values of a step at once: step-major.
                let mut vals = vec![None; n];
                for (step, slot) in vals.iter_mut().enumerate() {
                    buf.clear();
                    buf.extend(members.iter().filter_map(|&i| input[i].vals[step]));
                    if buf.is_empty() {
                        continue;
                    }
                    let q = param_scalar.as_ref().map(|p| p[step]).unwrap_or(f64::NAN);
                    *slot = Some(quantile(q, &mut buf));
                }
                vals
            } else {
                // Series-major accumulation (cache friendly); same addition order per step.
                let mut acc: Vec<Option<Acc>> = vec![None; n];
                for &i in &members {
                    for (slot, v) in acc.iter_mut().zip(&input[i].vals) {
                        let Some(v) = *v else { continue };
                        match slot {
                            Some(a) => a.add(v),
                            None => *slot = Some(Acc::new(op, v)),
                        }
                    }
                }
                acc.into_iter().map(|a| a.map(|a| a.value(op))).collect()
            };
            let drop_name = members.iter().any(|&i| input[i].drop_name);
            out.push(SSeries { labels: key, vals, drop_name });
        }
        out.retain(|s| s.vals.iter().any(Option::is_some));
        Ok(Val::Vector(out))
    }

    fn select_k(
        &mut self,
        op: u16,
        input: Vec<SSeries>,
        groups: &[(Labels, Vec<usize>)],
        params: &[f64],
        n: usize,
        a: &AggregateExpr,
    ) -> Result<Val, QueryError> {
        let mut keep: Vec<Vec<Option<f64>>> = input.iter().map(|_| vec![None; n]).collect();
        let mut order0: Vec<usize> = Vec::new();
        for step in 0..n {
            let p = params[step];
            if op == T_LIMIT_RATIO {
                if p.is_nan() {
                    return Err(QueryError::exec("Ratio value is NaN"));
                }
                let r = p.clamp(-1.0, 1.0);
                for (_, members) in groups {
                    for &i in members {
                        let Some(v) = input[i].vals[step] else { continue };
                        let sample = ratio_sample(&input[i].labels);
                        let take = if r >= 0.0 { sample < r } else { sample >= 1.0 + r };
                        if take {
                            keep[i][step] = Some(v);
                            if step == 0 {
                                order0.push(i);
                            }
                        }
                    }
                }
                continue;
            }
            if p.is_nan() {
                return Err(QueryError::exec("Parameter value is NaN"));
            }
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&p) {
                return Err(QueryError::exec(format!("Scalar value {} overflows int64", format_go_g(p))));
            }
            let k = p as i64;
            if k < 1 {
                continue;
            }
            for (_, members) in groups {
                let mut present: Vec<usize> =
                    members.iter().copied().filter(|&i| input[i].vals[step].is_some()).collect();
                let val = |i: usize| input[i].vals[step].unwrap_or(f64::NAN);
                match op {
                    T_TOPK => present.sort_by(|&x, &y| {
                        let (a, b) = (val(x), val(y));
                        match (a.is_nan(), b.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
                        }
                    }),
                    T_BOTTOMK => present.sort_by(|&x, &y| {
                        let (a, b) = (val(x), val(y));
                        match (a.is_nan(), b.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
                        }
                    }),
                    _ => {}
                }
                for &i in present.iter().take(k.min(present.len() as i64) as usize) {
                    keep[i][step] = input[i].vals[step];
                    if step == 0 {
                        order0.push(i);
                    }
                }
            }
        }
        let _ = a;
        // Output order: the step-0 selection order first (significant for instant queries).
        let mut used = vec![false; input.len()];
        let mut order = Vec::with_capacity(input.len());
        for i in order0 {
            if !used[i] {
                used[i] = true;
                order.push(i);
            }
        }
        for (i, u) in used.iter().enumerate() {
            if !u {
                order.push(i);
            }
        }
        let mut input: Vec<Option<SSeries>> = input.into_iter().map(Some).collect();
        let mut out = Vec::new();
        for i in order {
            if let Some(mut ser) = input[i].take() {
                ser.vals = std::mem::take(&mut keep[i]);
                if ser.vals.iter().any(Option::is_some) {
                    out.push(ser);
                }
            }
        }
        Ok(Val::Vector(out))
    }
}

/// Deterministic pseudo-random position in [0, 1) of a series, for `limit_ratio`.
fn ratio_sample(l: &Labels) -> f64 {
    (l.stable_hash() as f64) / (u64::MAX as f64 + 1.0)
}

fn count_values(
    label: &str,
    input: &[SSeries],
    groups: &[(Labels, Vec<usize>)],
    n: usize,
    _m: &Option<LabelModifier>,
) -> Result<Val, QueryError> {
    if !crate::functions::labels::valid_label_name(label) {
        return Err(QueryError::exec(format!(
            "invalid label name {}",
            crate::functions::labels::go_quote(label)
        )));
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<SSeries> = Vec::new();
    for (key, members) in groups {
        for step in 0..n {
            for &i in members {
                let Some(v) = input[i].vals[step] else { continue };
                let mut l = key.clone();
                l.set(label, &format_value_label(v));
                let idx = *index.entry(l.clone()).or_insert_with(|| {
                    out.push(SSeries { labels: l, vals: vec![None; n], drop_name: false });
                    out.len() - 1
                });
                let slot = &mut out[idx].vals[step];
                *slot = Some(slot.unwrap_or(0.0) + 1.0);
            }
        }
    }
    Ok(Val::Vector(out))
}

/// Text of an expression, for annotation positions.
pub(crate) fn expr_text(e: &Expr) -> String {
    e.to_string()
}
