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

/// A range function, resolved once per call node (not per window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    LastOverTime,
    FirstOverTime,
    PresentOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    MadOverTime,
    Changes,
    Resets,
    DoubleExponentialSmoothing,
    TsOfMinOverTime,
    TsOfMaxOverTime,
    TsOfFirstOverTime,
    TsOfLastOverTime,
}

/// Resolves a function name to a range function this module evaluates.
pub(crate) fn resolve(name: &str) -> Option<RangeFn> {
    Some(match name {
        "rate" => RangeFn::Rate,
        "increase" => RangeFn::Increase,
        "delta" => RangeFn::Delta,
        "irate" => RangeFn::Irate,
        "idelta" => RangeFn::Idelta,
        "deriv" => RangeFn::Deriv,
        "predict_linear" => RangeFn::PredictLinear,
        "avg_over_time" => RangeFn::AvgOverTime,
        "min_over_time" => RangeFn::MinOverTime,
        "max_over_time" => RangeFn::MaxOverTime,
        "sum_over_time" => RangeFn::SumOverTime,
        "count_over_time" => RangeFn::CountOverTime,
        "last_over_time" => RangeFn::LastOverTime,
        "first_over_time" => RangeFn::FirstOverTime,
        "present_over_time" => RangeFn::PresentOverTime,
        "stddev_over_time" => RangeFn::StddevOverTime,
        "stdvar_over_time" => RangeFn::StdvarOverTime,
        "quantile_over_time" => RangeFn::QuantileOverTime,
        "mad_over_time" => RangeFn::MadOverTime,
        "changes" => RangeFn::Changes,
        "resets" => RangeFn::Resets,
        "holt_winters" => RangeFn::DoubleExponentialSmoothing,
        "double_exponential_smoothing" => RangeFn::DoubleExponentialSmoothing,
        "ts_of_min_over_time" => RangeFn::TsOfMinOverTime,
        "ts_of_max_over_time" => RangeFn::TsOfMaxOverTime,
        "ts_of_first_over_time" => RangeFn::TsOfFirstOverTime,
        "ts_of_last_over_time" => RangeFn::TsOfLastOverTime,
        _ => return None,
    })
}

/// Evaluates range function `f` on one window, through the pure kernels. `Err` carries
/// a query-failing message (bad smoothing factors).
pub(crate) fn apply(f: RangeFn, w: &Window<'_>, scratch: &mut Vec<f64>) -> Result<Option<f64>, String> {
    let s = w.samples;
    if s.is_empty() {
        return Ok(None);
    }
    let p0 = w.params.first().copied().unwrap_or(f64::NAN);
    Ok(match f {
        RangeFn::Rate => kr::extrapolated_rate(s, w.start, w.end, true, true),
        RangeFn::Increase => kr::extrapolated_rate(s, w.start, w.end, true, false),
        RangeFn::Delta => kr::extrapolated_rate(s, w.start, w.end, false, false),
        RangeFn::Irate => kr::irate(s),
        RangeFn::Idelta => kr::idelta(s),
        RangeFn::Deriv => kr::deriv(s),
        RangeFn::PredictLinear => kr::predict_linear(s, w.ts, p0),
        RangeFn::AvgOverTime => ko::avg_over_time(s),
        RangeFn::MinOverTime => ko::min_over_time(s),
        RangeFn::MaxOverTime => ko::max_over_time(s),
        RangeFn::SumOverTime => ko::sum_over_time(s),
        RangeFn::CountOverTime => ko::count_over_time(s),
        RangeFn::LastOverTime => ko::last_over_time(s),
        RangeFn::FirstOverTime => ko::first_over_time(s),
        RangeFn::PresentOverTime => ko::present_over_time(s),
        RangeFn::StddevOverTime => ko::stddev_over_time(s),
        RangeFn::StdvarOverTime => ko::stdvar_over_time(s),
        RangeFn::QuantileOverTime => ko::quantile_over_time(p0, s, scratch),
        RangeFn::MadOverTime => ko::mad_over_time(s, scratch),
        RangeFn::Changes => kr::changes(s),
        RangeFn::Resets => kr::resets(s),
        RangeFn::DoubleExponentialSmoothing => {
            let tf = w.params.get(1).copied().unwrap_or(f64::NAN);
            kr::double_exponential_smoothing(s, p0, tf).map_err(|e| e.to_string())?
        }
        RangeFn::TsOfMinOverTime => ko::ts_of_min_over_time(s),
        RangeFn::TsOfMaxOverTime => ko::ts_of_max_over_time(s),
        RangeFn::TsOfFirstOverTime => ko::ts_of_first_over_time(s),
        RangeFn::TsOfLastOverTime => ko::ts_of_last_over_time(s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_and_applies() {
        assert_eq!(resolve("holt_winters"), Some(RangeFn::DoubleExponentialSmoothing));
        assert_eq!(resolve("abs"), None);
        let s: Vec<Sample> = (1..=10).map(|i| Sample::new(i * 10_000, i as f64 * 10.0)).collect();
        let w = Window { samples: &s, start: 0, end: 100_000, ts: 100_000, params: &[] };
        let r = apply(RangeFn::Rate, &w, &mut Vec::new()).unwrap().unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{r}");
        assert_eq!(apply(RangeFn::CountOverTime, &w, &mut Vec::new()).unwrap(), Some(10.0));
        let bad = Window { params: &[2.0, 0.5], ..w };
        assert!(apply(RangeFn::DoubleExponentialSmoothing, &bad, &mut Vec::new()).is_err());
    }
}
