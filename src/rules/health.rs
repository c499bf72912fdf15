//! Per-rule health as `/api/v1/rules` reports it: "ok" / "err" / "unknown", the last
//! error, when the rule last ran and how long it took.

use parking_lot::Mutex;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthSnapshot {
    /// "ok", "err" or "unknown" (never evaluated).
    pub health: &'static str,
    pub last_error: String,
    /// Wall-clock ms of the last evaluation, 0 if none.
    pub last_eval_ms: i64,
    pub eval_duration_s: f64,
}

#[derive(Debug, Default)]
pub struct RuleHealth(Mutex<Option<HealthSnapshot>>);

impl RuleHealth {
    pub fn record(&self, ts_ms: i64, duration_s: f64, result: &Result<(), String>) {
        *self.0.lock() = Some(HealthSnapshot {
            health: if result.is_ok() { "ok" } else { "err" },
            last_error: result.as_ref().err().cloned().unwrap_or_default(),
            last_eval_ms: ts_ms,
            eval_duration_s: duration_s,
        });
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        self.0.lock().clone().unwrap_or(HealthSnapshot { health: "unknown", ..Default::default() })
    }

    pub fn copy_from(&self, other: &RuleHealth) {
        *self.0.lock() = other.0.lock().clone();
    }
}
