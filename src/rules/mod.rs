//! Recording and alerting rules: rule files (Prometheus YAML), templating of labels and
//! annotations, the evaluation scheduler and alert state machine, the Alertmanager notifier,
//! the JSON shapes of `/api/v1/rules`, `/api/v1/alerts`, `/api/v1/alertmanagers`, and the
//! `check rules` / `test rules` commands.
//!
//! Owns no storage and no PromQL engine: rules read through [`RuleQuerier`] and write through
//! [`RuleAppender`], which the server implements with the real engine and database. Owns no
//! HTTP routes either: [`api`] renders `serde_json::Value`s that the server mounts.
//!
//! Wiring (server side): build a [`notifier::Notifier`] and give it
//! [`notifier::NotifierConfig::from_config`] (Alertmanagers from `alerting.alertmanagers`,
//! `alert_relabel_configs`, external labels) at start and on reload, a [`RuleManager`] with [`ManagerOptions`] from `global`
//! (evaluation_interval, external_labels, rule_query_offset) and the `--web.external-url`,
//! then `load_with_options(&RuleManager::expand_globs(config_dir, &rule_files)?, Some(opts))`
//! at start and on reload (errors keep the old rules and options) and
//! [`notifier::Notifier::apply`] for the changed notifier settings. Mount [`api::rules_json`], [`api::alerts_json`],
//! [`api::alertmanagers_json`]; add [`RuleManager::metrics`] to `/metrics` via a collector.
//! [`local::EngineQuerier`] already implements [`RuleQuerier`] for any `Queryable`.

pub mod alerting;
pub mod api;
pub mod cli;
pub mod duration;
pub mod file;
pub mod group;
pub mod health;
pub mod local;
pub mod manager;
pub mod notifier;
pub mod recording;
pub mod template;
pub mod unittest;

use cairn_format::Labels;

pub use alerting::{Alert, AlertState, AlertingRule};
pub use file::{RuleError, RuleFile, parse_rule_file, parse_rule_str};
pub use group::{Group, GroupMetrics};
pub use manager::{ManagerOptions, RuleManager};
pub use notifier::{Notifier, NotifierConfig, NotifierOptions};
pub use recording::RecordingRule;

/// The result of an instant query as rules see it.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryValue {
    /// An instant vector: one value per series.
    Vector(Vec<(Labels, f64)>),
    /// A scalar.
    Scalar(f64),
    /// A range vector (only needed for restoring alert state from `ALERTS_FOR_STATE`): each
    /// series with its `(t_ms, value)` samples in time order.
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
    /// A string literal result.
    String(String),
}

/// Instant PromQL queries at a given evaluation time (ms). Implemented by the server with the
/// real engine over the database; implementations may be called from several threads.
/// A range-vector expression (`ALERTS_FOR_STATE{...}[1h]`, used to restore alert state) must
/// come back as [`QueryValue::Matrix`] with raw samples, stale markers included or not.
pub trait RuleQuerier: Send + Sync {
    fn query(&self, expr: &str, t_ms: i64) -> Result<QueryValue, String>;
}

/// The append path rules write through: recording-rule results, `ALERTS`,
/// `ALERTS_FOR_STATE` and stale markers (`cairn_format::stale_nan()`). A batch is one group's
/// output for one rule at one evaluation.
pub trait RuleAppender: Send + Sync {
    fn append_batch(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String>;
}

/// A metric sample for `/metrics`: name, labels, value.
pub type MetricSample = (String, Vec<(String, String)>, f64);

/// Current wall-clock time in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
