//! Range-vector function dispatch for one window: maps a function name plus the window, its
//! bounds and per-step parameters onto the pure kernels in `kernels::{range, over_time}` and
//! returns the value or `None` (no output at that step). Does not select data or build series.

use cairn_format::Sample;

use super::kernels::over_time as ko;
use super::kernels::range as kr;

/// Per-step inputs of a range function.
pub(crate) struct Window<'a> {
    pub samples: &'a [Sample],
    /// Left-open window bounds `(start, end]` in ms.
    pub start: i64,
    pub end: i64,
    /// The (outer) evaluation time of this step in ms.
    pub ts: i64,
    /// Scalar parameters at this step (e.g. φ, smoothing factors).
    pub params: &'a [f64],
}

/// Is `name` a range function this module evaluates?
pub(crate) fn is_range_fn(name: &str) -> bool {
    matches!(
        name,
        "rate"
            | "increase"
            | "delta"
            | "irate"
            | "idelta"
            | "deriv"
            | "predict_linear"
            | "avg_over_time"
            | "min_over_time"
            | "max_over_time"
            | "sum_over_time"
            | "count_over_time"
            | "last_over_time"
            | "first_over_time"
            | "present_over_time"
            | "stddev_over_time"
            | "stdvar_over_time"
            | "quantile_over_time"
            | "mad_over_time"
            | "changes"
            | "resets"
            | "holt_winters"
            | "double_exponential_smoothing"
            | "ts_of_min_over_time"
            | "ts_of_max_over_time"
            | "ts_of_first_over_time"
            | "ts_of_last_over_time"
    )
}

/// Evaluates range function `name` on one window, through the pure kernels. `Err` carries
/// a query-failing message (bad smoothing factors).
pub(crate) fn apply(name: &str, w: &Window<'_>, scratch: &mut Vec<f64>) -> Result<Option<f64>, String> {
    let s = w.samples;
    if s.is_empty() {
        return Ok(None);
    }
    let p0 = w.params.first().copied().unwrap_or(f64::NAN);
    Ok(match name {
        "rate" => kr::extrapolated_rate(s, w.start, w.end, true, true),
        "increase" => kr::extrapolated_rate(s, w.start, w.end, true, false),
        "delta" => kr::extrapolated_rate(s, w.start, w.end, false, false),
        "irate" => kr::irate(s),
        "idelta" => kr::idelta(s),
        "deriv" => kr::deriv(s),
        "predict_linear" => kr::predict_linear(s, w.ts, p0),
        "avg_over_time" => ko::avg_over_time(s),
        "min_over_time" => ko::min_over_time(s),
        "max_over_time" => ko::max_over_time(s),
        "sum_over_time" => ko::sum_over_time(s),
        "count_over_time" => ko::count_over_time(s),
        "last_over_time" => ko::last_over_time(s),
        "first_over_time" => ko::first_over_time(s),
        "present_over_time" => ko::present_over_time(s),
        "stddev_over_time" => ko::stddev_over_time(s),
        "stdvar_over_time" => ko::stdvar_over_time(s),
        "quantile_over_time" => ko::quantile_over_time(p0, s, scratch),
        "mad_over_time" => ko::mad_over_time(s, scratch),
        "changes" => kr::changes(s),
        "resets" => kr::resets(s),
        "holt_winters" | "double_exponential_smoothing" => {
            let tf = w.params.get(1).copied().unwrap_or(f64::NAN);
            kr::double_exponential_smoothing(s, p0, tf).map_err(|e| e.to_string())?
        }
        "ts_of_min_over_time" => ko::ts_of_min_over_time(s),
        "ts_of_max_over_time" => ko::ts_of_max_over_time(s),
        "ts_of_first_over_time" => ko::ts_of_first_over_time(s),
        "ts_of_last_over_time" => ko::ts_of_last_over_time(s),
        _ => None,
    })
}
