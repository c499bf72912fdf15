//! Binary operators: arithmetic, comparison (with and without `bool`), `atan2` and the set
//! operators `and`/`or`/`unless`, with Prometheus's vector matching (`on`/`ignoring`,
//! `group_left`/`group_right`) and its error texts. Does not evaluate operands' children.

use foldhash::{HashMap, HashMapExt};

use cairn_format::{Labels, METRIC_NAME};
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD, T_MUL, T_NEQ,
    T_POW, T_SUB, TokenId,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::{Evaluator, SSeries, Steps, Val, merge_series};
use crate::error::QueryError;

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

fn is_set(op: TokenId) -> bool {
    matches!(op, T_LAND | T_LOR | T_LUNLESS)
}

/// `lhs op rhs` for arithmetic operators.
pub(crate) fn arith(op: TokenId, a: f64, b: f64) -> f64 {
    match op {
        T_ADD => a + b,
        T_SUB => a - b,
        T_MUL => a * b,
        T_DIV => a / b,
        T_MOD => a % b,
        T_POW => a.powf(b),
        T_ATAN2 => a.atan2(b),
        _ => f64::NAN,
    }
}

pub(crate) fn compare(op: TokenId, a: f64, b: f64) -> bool {
    match op {
        T_EQLC => a == b,
        T_NEQ => a != b,
        T_GTR => a > b,
        T_LSS => a < b,
        T_GTE => a >= b,
        T_LTE => a <= b,
        _ => false,
    }
}

/// Returns (value, keep) like Prometheus's vectorElemBinop for floats.
fn elem(op: TokenId, a: f64, b: f64) -> (f64, bool) {
    if is_comparison(op) { (a, compare(op, a, b)) } else { (arith(op, a, b), true) }
}

/// Matching description extracted from the AST.
struct Matching<'a> {
    card: &'a VectorMatchCardinality,
    on: bool,
    names: Vec<String>,
    /// `fill_left(v)` / `fill_right(v)`: value used for a missing left / right operand.
    fill_lhs: Option<f64>,
    fill_rhs: Option<f64>,
}

fn signature(l: &Labels, on: bool, names: &[String]) -> Labels {
    if on {
        l.keep(names)
    } else {
        Labels::from_sorted(
            l.iter().filter(|x| x.name != METRIC_NAME && !names.contains(&x.name)).cloned().collect(),
        )
    }
}

impl Evaluator<'_> {
    pub(crate) fn binary(&mut self, b: &BinaryExpr, s: &Steps) -> Result<Val, QueryError> {
        let op = b.op.id();
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, s)?;
        let rhs = self.eval(&b.rhs, s)?;
        match (lhs, rhs) {
            (Val::Scalar(a), Val::Scalar(c)) => Ok(Val::Scalar(
                a.iter()
                    .zip(&c)
                    .map(|(&x, &y)| {
                        if is_comparison(op) {
                            if compare(op, x, y) { 1.0 } else { 0.0 }
                        } else {
                            arith(op, x, y)
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(v), Val::Scalar(c)) => {
                Ok(Val::Vector(vector_scalar(op, v, &c, false, return_bool)?))
            }
            (Val::Scalar(c), Val::Vector(v)) => Ok(Val::Vector(vector_scalar(op, v, &c, true, return_bool)?)),
            (Val::Vector(l), Val::Vector(r)) => {
                let default_card = if is_set(op) {
                    VectorMatchCardinality::ManyToMany
                } else {
                    VectorMatchCardinality::OneToOne
                };
                let (card, on, names) = match &b.modifier {
                    Some(m) => {
                        let (on, names) = match &m.matching {
                            Some(LabelModifier::Include(ls)) => (true, ls.labels.clone()),
                            Some(LabelModifier::Exclude(ls)) => (false, ls.labels.clone()),
                            None => (false, Vec::new()),
                        };
                        (&m.card, on, names)
                    }
                    None => (&default_card, false, Vec::new()),
                };
                let card = if is_set(op) { &VectorMatchCardinality::ManyToMany } else { card };
                let (fill_lhs, fill_rhs) = b
                    .modifier
                    .as_ref()
                    .map(|m| (m.fill_values.lhs, m.fill_values.rhs))
                    .unwrap_or((None, None));
                let m = Matching { card, on, names, fill_lhs, fill_rhs };
                let out = if is_set(op) {
                    set_op(op, l, r, &m, s.n)
                } else {
                    vector_vector(op, l, r, &m, return_bool, s.n)?
                };
                Ok(Val::Vector(merge_series(out)?))
            }
            (l, r) => Err(QueryError::BadData(format!(
                "binary expression must contain only scalar and instant vector types, got {} and {}",
                l.type_name(),
                r.type_name()
            ))),
        }
    }
}

fn vector_scalar(
    op: TokenId,
    v: Vec<SSeries>,
    c: &[f64],
    swap: bool,
    return_bool: bool,
) -> Result<Vec<SSeries>, QueryError> {
    let cmp = is_comparison(op);
    let mut out = Vec::with_capacity(v.len());
    for mut ser in v {
        for (i, slot) in ser.vals.iter_mut().enumerate() {
            let Some(x) = *slot else { continue };
            let (a, b) = if swap { (c[i], x) } else { (x, c[i]) };
            let (mut val, mut keep) = elem(op, a, b);
            if cmp && swap {
                val = x;
            }
            if return_bool {
                val = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            *slot = keep.then_some(val);
        }
        if !cmp || return_bool {
            ser.drop_name = true;
        }
        out.push(ser);
    }
    merge_series(out)
}

fn set_op(op: TokenId, l: Vec<SSeries>, r: Vec<SSeries>, m: &Matching<'_>, n: usize) -> Vec<SSeries> {
    let lsig: Vec<Labels> = l.iter().map(|x| signature(&x.labels, m.on, &m.names)).collect();
    let rsig: Vec<Labels> = r.iter().map(|x| signature(&x.labels, m.on, &m.names)).collect();
    // Per signature, per step: is any series of that side present?
    let presence = |series: &[SSeries], sigs: &[Labels]| -> HashMap<Labels, Vec<bool>> {
        let mut map: HashMap<Labels, Vec<bool>> = HashMap::new();
        for (ser, sig) in series.iter().zip(sigs) {
            let e = map.entry(sig.clone()).or_insert_with(|| vec![false; n]);
            for (p, v) in e.iter_mut().zip(&ser.vals) {
                *p |= v.is_some();
            }
        }
        map
    };
    match op {
        T_LAND => {
            let rp = presence(&r, &rsig);
            l.into_iter()
                .zip(lsig)
                .map(|(mut ser, sig)| {
                    match rp.get(&sig) {
                        Some(p) => {
                            for (v, present) in ser.vals.iter_mut().zip(p) {
                                if !present {
                                    *v = None;
                                }
                            }
                        }
                        None => ser.vals.iter_mut().for_each(|v| *v = None),
                    }
                    ser
                })
                .collect()
        }
        T_LUNLESS => {
            let rp = presence(&r, &rsig);
            l.into_iter()
                .zip(lsig)
                .map(|(mut ser, sig)| {
                    if let Some(p) = rp.get(&sig) {
                        for (v, present) in ser.vals.iter_mut().zip(p) {
                            if *present {
                                *v = None;
                            }
                        }
                    }
                    ser
                })
                .collect()
        }
        _ => {
            let lp = presence(&l, &lsig);
            let mut out = l;
            for (mut ser, sig) in r.into_iter().zip(rsig) {
                if let Some(p) = lp.get(&sig) {
                    for (v, present) in ser.vals.iter_mut().zip(p) {
                        if *present {
                            *v = None;
                        }
                    }
                }
                out.push(ser);
            }
            out
        }
    }
}

fn vector_vector(
    op: TokenId,
    l: Vec<SSeries>,
    r: Vec<SSeries>,
    m: &Matching<'_>,
    return_bool: bool,
    n: usize,
) -> Result<Vec<SSeries>, QueryError> {
    let one_to_many = matches!(m.card, VectorMatchCardinality::OneToMany(_));
    let include: Vec<String> = m.card.labels().map(|ls| ls.labels.clone()).unwrap_or_default();
    let one_to_one = matches!(m.card, VectorMatchCardinality::OneToOne);
    // "many" side is lhs unless group_right.
    let (many, one) = if one_to_many { (r, l) } else { (l, r) };
    let msig: Vec<Labels> = many.iter().map(|x| signature(&x.labels, m.on, &m.names)).collect();
    let osig: Vec<Labels> = one.iter().map(|x| signature(&x.labels, m.on, &m.names)).collect();
    let mut groups: HashMap<&Labels, Vec<usize>> = HashMap::new();
    for (i, sig) in osig.iter().enumerate() {
        groups.entry(sig).or_default().push(i);
    }
    // Like Prometheus, a step where either operand is empty matches nothing, so duplicates on
    // the "one" side are only an error at steps where both sides have samples (or a fill
    // value stands in for the empty side).
    let present = |side: &[SSeries], step: usize| side.iter().any(|x| x.vals[step].is_some());
    let (fill_one, fill_many) = (m.fill_rhs, m.fill_lhs);
    // Computed only when some group has several "one"-side series (the rare case).
    let mut both: Option<Vec<bool>> = None;
    // Duplicate check on the "one" side, per step.
    for idxs in groups.values().filter(|g| g.len() > 1) {
        let both = both.get_or_insert_with(|| {
            (0..n)
                .map(|step| {
                    (fill_many.is_some() || present(&many, step))
                        && (fill_one.is_some() || present(&one, step))
                })
                .collect()
        });
        for step in (0..n).filter(|&step| both[step]) {
            let present: Vec<usize> = idxs.iter().copied().filter(|&i| one[i].vals[step].is_some()).collect();
            if present.len() > 1 {
                let side = if one_to_many { "left" } else { "right" };
                let sig = &osig[present[0]];
                return Err(QueryError::exec(format!(
                    "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    match_group_string(sig, m.on),
                    side,
                    go_labels(&one[present[0]].labels),
                    go_labels(&one[present[1]].labels)
                )));
            }
        }
    }
    let cmp = is_comparison(op);
    let mut out_index: HashMap<(usize, usize), usize> = HashMap::new();
    let mut out: Vec<SSeries> = Vec::new();
    // For one-to-one: per step, which signatures were already matched.
    let mut matched: HashMap<&Labels, Vec<bool>> = HashMap::new();
    // For many-to-one: per result label set (canonical id), the steps already produced.
    let mut canon: HashMap<Labels, usize> = HashMap::new();
    let mut out_canon: Vec<usize> = Vec::new();
    let mut inserted: Vec<Vec<bool>> = Vec::new();
    // Fill values for a missing "one"-side / "many"-side operand (`fill_one`, `fill_many`
    // above). As in Prometheus, which swaps the operands of group_right internally,
    // fill_right always fills the "one" side.
    let empty: Vec<usize> = Vec::new();
    for (mi, ms) in many.iter().enumerate() {
        let cands = groups.get(&msig[mi]).unwrap_or(&empty);
        for step in 0..n {
            let Some(mv) = ms.vals[step] else { continue };
            let found = cands.iter().find(|&&i| one[i].vals[step].is_some()).copied();
            let (oi, ov) = match (found, fill_one) {
                (Some(oi), _) => (oi, one[oi].vals[step].unwrap_or(f64::NAN)),
                (None, Some(f)) => (usize::MAX, f),
                (None, None) => continue,
            };
            let (a, b) = if one_to_many { (ov, mv) } else { (mv, ov) };
            let (mut val, keep) = elem(op, a, b);
            if one_to_one {
                let e = matched.entry(&msig[mi]).or_insert_with(|| vec![false; n]);
                if e[step] {
                    return Err(QueryError::exec(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                e[step] = true;
            }
            if return_bool {
                val = if keep { 1.0 } else { 0.0 };
            } else if !keep {
                continue;
            }
            let key = (mi, oi);
            let idx = match out_index.get(&key) {
                Some(&i) => i,
                None => {
                    let one_labels = one.get(oi).map(|o| o.labels.clone()).unwrap_or_default();
                    let labels = result_labels(&ms.labels, &one_labels, m, one_to_one, &include);
                    if !one_to_one {
                        let next = inserted.len();
                        let c = *canon.entry(labels.clone()).or_insert(next);
                        if c == next {
                            inserted.push(vec![false; n]);
                        }
                        out_canon.push(c);
                    }
                    // A filtering comparison keeps the "many" operand's labels, and with them
                    // its pending name removal (e.g. `rate(x[5m]) > on() y` has no name).
                    let drop_name = return_bool || !cmp || ms.drop_name;
                    out.push(SSeries { labels, vals: vec![None; n], drop_name });
                    out_index.insert(key, out.len() - 1);
                    out.len() - 1
                }
            };
            if !one_to_one {
                let e = &mut inserted[out_canon[idx]];
                if e[step] {
                    return Err(QueryError::exec(
                        "multiple matches for labels: grouping labels must ensure unique matches",
                    ));
                }
                e[step] = true;
            }
            out[idx].vals[step] = Some(val);
        }
    }
    if let Some(f) = fill_many {
        // "One"-side series no "many"-side series matched: one result per match group.
        let mut many_present: HashMap<&Labels, Vec<bool>> = HashMap::new();
        for (mi, ms) in many.iter().enumerate() {
            let e = many_present.entry(&msig[mi]).or_insert_with(|| vec![false; n]);
            for (p, v) in e.iter_mut().zip(&ms.vals) {
                *p |= v.is_some();
            }
        }
        let mut filled: HashMap<&Labels, usize> = HashMap::new();
        for (oi, os) in one.iter().enumerate() {
            for step in 0..n {
                let Some(ov) = os.vals[step] else { continue };
                if many_present.get(&osig[oi]).is_some_and(|p| p[step]) {
                    continue;
                }
                let (a, b) = if one_to_many { (ov, f) } else { (f, ov) };
                let (mut val, keep) = elem(op, a, b);
                if return_bool {
                    val = if keep { 1.0 } else { 0.0 };
                } else if !keep {
                    continue;
                }
                let idx = *filled.entry(&osig[oi]).or_insert_with(|| {
                    out.push(SSeries { labels: osig[oi].clone(), vals: vec![None; n], drop_name: false });
                    out.len() - 1
                });
                out[idx].vals[step] = Some(val);
            }
        }
    }
    Ok(out)
}

fn match_group_string(sig: &Labels, _on: bool) -> String {
    go_labels(sig)
}

/// Prometheus's `labels.Labels.String()`: every label (name included) inside braces.
pub(crate) fn go_labels(l: &Labels) -> String {
    let parts: Vec<String> = l.iter().map(|x| format!("{}={:?}", x.name, x.value)).collect();
    format!("{{{}}}", parts.join(", "))
}

fn result_labels(
    many: &Labels,
    one: &Labels,
    m: &Matching<'_>,
    one_to_one: bool,
    include: &[String],
) -> Labels {
    let mut l = many.clone();
    if one_to_one {
        l = if m.on { l.keep(&m.names) } else { l.drop_names(&m.names) };
    }
    for name in include {
        match one.get(name) {
            Some(v) if !v.is_empty() => l.set(name, v),
            _ => l.remove(name),
        }
    }
    l
}
