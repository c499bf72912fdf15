//! The `alerting` section: alert relabeling and the Alertmanagers to notify. Owns defaults and
//! validation; does not send alerts.

use serde::Deserialize;

use super::duration::PromDuration;
use super::http::with_http_client;
use super::scrape::{FileSdConfig, StaticConfig};
use crate::ingest::relabel::RelabelConfig;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

fn default_timeout() -> PromDuration {
    PromDuration::from_secs(10)
}

fn default_scheme() -> String {
    "http".into()
}

fn default_api_version() -> String {
    "v2".into()
}

with_http_client! {
    /// One `alertmanagers` entry.
    #[derive(Clone, Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AlertmanagerConfig {
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub static_configs: Vec<StaticConfig>,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub file_sd_configs: Vec<FileSdConfig>,
        #[serde(default, deserialize_with = "crate::config::nullable")]
        pub relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        pub path_prefix: String,
        #[serde(default = "default_scheme")]
        pub scheme: String,
        #[serde(default = "default_timeout")]
        pub timeout: PromDuration,
        #[serde(default = "default_api_version")]
        pub api_version: String,
    }
}
