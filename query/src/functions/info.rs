//! The experimental `info()` function: enriches series with the data labels of info metrics
//! (default `target_info`) that share their identifying labels (`instance`, `job`), per step,
//! honouring the base selector's `@`/`offset`. Owns the join rules only; selection goes
//! through the evaluator.

use cairn_format::{Labels, METRIC_NAME, MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};

use crate::error::QueryError;
use crate::eval::selector::{TimedSeries, to_matchers};
use crate::eval::{Evaluator, SSeries, Steps, Val, merge_series};

/// Labels that tie a series to its info series.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

pub(crate) fn info(ev: &mut Evaluator<'_>, args: &[&Expr], s: &Steps) -> Result<Val, QueryError> {
    let base = ev.eval_vector(args[0], s)?;
    // Split the selector's matchers into info-metric name matchers and data-label matchers.
    let (mut name_ms, data_ms): (Vec<Matcher>, Vec<Matcher>) = match args.get(1).map(|a| unwrap_parens(a)) {
        Some(Expr::VectorSelector(vs)) => {
            let all = to_matchers(vs)?.into_iter().next().unwrap_or_default();
            all.into_iter().partition(|m| m.name == METRIC_NAME)
        }
        Some(_) => {
            return Err(QueryError::BadData("info(): the second argument must be a vector selector".into()));
        }
        None => (Vec::new(), Vec::new()),
    };
    if name_ms.is_empty() {
        name_ms.push(Matcher::equal(METRIC_NAME, "target_info"));
    } else if !name_ms.iter().any(|m| matches!(m.op, MatchOp::Equal | MatchOp::RegexMatch)) {
        // Only negative name matchers: they narrow down the info metrics (`*_info`).
        let any_info = Matcher::new(MatchOp::RegexMatch, METRIC_NAME, ".+_info")
            .map_err(|e| QueryError::BadData(e.to_string()))?;
        name_ms.push(any_info);
    }
    // The info series are read as of the base selector's @/offset.
    let mut vs = VectorSelector::default();
    if let Expr::VectorSelector(b) = unwrap_parens(args[0]) {
        vs.at = b.at.clone();
        vs.offset = b.offset.clone();
    }
    let infos = ev.select_with_matchers(&vs, &name_ms, s)?;
    let accepts_empty = data_ms.iter().all(|m| m.matches(""));
    let mut out: Vec<SSeries> = Vec::new();
    for b in base {
        let is_info = name_ms.iter().all(|m| m.matches_labels(&b.labels));
        if is_info {
            out.push(b);
            continue;
        }
        let candidates: Vec<&TimedSeries> = infos
            .iter()
            .filter(|(i, _)| IDENTIFYING.iter().all(|l| i.labels.get(l) == b.labels.get(l)))
            .filter(|(i, _)| data_ms.iter().all(|m| m.matches_labels(&i.labels)))
            .collect();
        for step in 0..s.n {
            let Some(v) = b.vals[step] else { continue };
            // Per info metric name, the series with the newest sample wins.
            let mut chosen: Vec<(&str, f64, &Labels)> = Vec::new();
            for (i, ts) in &candidates {
                let Some(t) = ts[step] else { continue };
                let name = i.labels.metric_name().unwrap_or("");
                match chosen.iter_mut().find(|c| c.0 == name) {
                    Some(c) if c.1 < t => *c = (name, t, &i.labels),
                    Some(_) => {}
                    None => chosen.push((name, t, &i.labels)),
                }
            }
            if chosen.is_empty() && !accepts_empty {
                continue;
            }
            let mut labels = b.labels.clone();
            for (_, _, il) in &chosen {
                for l in il.iter() {
                    if l.name == METRIC_NAME
                        || IDENTIFYING.contains(&l.name.as_str())
                        || b.labels.get(&l.name).is_some()
                    {
                        continue;
                    }
                    if !data_ms.is_empty() && !data_ms.iter().any(|m| m.name == l.name) {
                        continue;
                    }
                    labels.set(&l.name, &l.value);
                }
            }
            let mut vals = vec![None; s.n];
            vals[step] = Some(v);
            out.push(SSeries { labels, vals, drop_name: b.drop_name });
        }
    }
    Ok(Val::Vector(merge_series(out)?))
}
