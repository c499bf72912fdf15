//! Cairn's configuration file: a Prometheus-compatible `prometheus.yml` subset (`global`,
//! `scrape_configs`, `rule_files`, `alerting`) plus a `cairn:` section. Unknown keys are an error
//! naming the key and its line (serde-saphyr with `deny_unknown_fields`); validation errors name
//! the job and the line of its `job_name`.
//!
//! `remote_write` and `remote_read` are accepted and ignored, each with a warning in
//! [`Config::warnings`]: a user moving a Prometheus configuration over keeps a loadable file, and
//! the server logs that Cairn does not forward or federate samples. Other keys Prometheus knows
//! and Cairn does not act on are either warned about or refused with an explanation (see
//! [`unsupported`]); `storage.tsdb.out_of_order_time_window` maps onto the `cairn:` section's
//! window, and `scrape_config_files` are read at load.
//!
//! Does not read rule files or file SD files (see [`file_sd`]), and does not watch for changes.

pub mod alerting;
pub mod cairn;
pub mod duration;
pub mod file_sd;
pub mod http;
pub mod scrape;
pub mod tls;
pub mod unsupported;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;

pub use alerting::{AlertingConfig, AlertmanagerConfig};
pub use cairn::{CairnConfig, LimitsSettings, StorageSettings};
pub use duration::PromDuration;
pub use http::{Authorization, BasicAuth, HttpClientConfig, TlsConfig};
pub use scrape::{ByteSize, FileSdConfig, ScrapeConfig, StaticConfig};

use crate::ingest::exposition::ScrapeProtocol;
use crate::ingest::remote::write::is_valid_label_name;
use unsupported::Accepted;

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// YAML or JSON syntax, an unknown key, or a bad value; the message carries line and column.
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    /// A semantic check failed.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

fn one_minute() -> PromDuration {
    PromDuration::from_secs(60)
}

/// The `global` section.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    #[serde(default)]
    pub scrape_interval: PromDuration,
    #[serde(default)]
    pub scrape_timeout: PromDuration,
    #[serde(default = "one_minute")]
    pub evaluation_interval: PromDuration,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub external_labels: BTreeMap<String, String>,
    /// Accepted for compatibility; Cairn has no query log file yet (a warning says so).
    #[serde(default)]
    pub query_log_file: Option<String>,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub scrape_protocols: Option<Vec<String>>,
    #[serde(default)]
    pub body_size_limit: ByteSize,
    #[serde(default)]
    pub sample_limit: u64,
    #[serde(default)]
    pub label_limit: u64,
    #[serde(default)]
    pub label_name_length_limit: u64,
    #[serde(default)]
    pub label_value_length_limit: u64,
    /// Offset subtracted from every rule evaluation time (Prometheus 2.53+); 0 = none.
    #[serde(default)]
    pub rule_query_offset: PromDuration,
    #[serde(default)]
    pub target_limit: Accepted,
    #[serde(default)]
    pub keep_dropped_targets: Accepted,
    #[serde(default)]
    pub scrape_failure_log_file: Accepted,
    #[serde(default)]
    pub metric_name_validation_scheme: Accepted,
    #[serde(default)]
    pub metric_name_escaping_scheme: Accepted,
    #[serde(default)]
    pub always_scrape_classic_histograms: Accepted,
    #[serde(default)]
    pub convert_classic_histograms_to_nhcb: Accepted,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: one_minute(),
            scrape_timeout: PromDuration::from_secs(10),
            evaluation_interval: one_minute(),
            external_labels: BTreeMap::new(),
            query_log_file: None,
            scrape_protocols: None,
            body_size_limit: ByteSize(0),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            rule_query_offset: PromDuration::default(),
            target_limit: None,
            keep_dropped_targets: None,
            scrape_failure_log_file: None,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
            always_scrape_classic_histograms: None,
            convert_classic_histograms_to_nhcb: None,
        }
    }
}

/// Prometheus's `storage` section.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub tsdb: TsdbSection,
    /// Cairn stores no exemplars (a warning says so).
    #[serde(default)]
    pub exemplars: Accepted,
}

/// `storage.tsdb`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbSection {
    /// Mapped onto `cairn.storage.out_of_order_window`.
    #[serde(default)]
    pub out_of_order_time_window: Option<PromDuration>,
}

/// A file named by `scrape_config_files`: only `scrape_configs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfigsFile {
    #[serde(default)]
    scrape_configs: Vec<ScrapeConfig>,
}

/// A loaded, defaulted and validated configuration.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub global: GlobalConfig,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Files (a `*` allowed in the last path element) whose `scrape_configs` are appended.
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub scrape_config_files: Vec<String>,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub rule_files: Vec<String>,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub alerting: AlertingConfig,
    #[serde(default)]
    remote_write: Option<IgnoredAny>,
    #[serde(default)]
    remote_read: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub storage: StorageSection,
    #[serde(default)]
    tracing: Accepted,
    #[serde(default, deserialize_with = "crate::config::nullable")]
    pub cairn: CairnConfig,
    /// Things accepted but not acted on; the server logs them at load.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// Directory of the file, against which relative paths (rule files, file SD) resolve.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Config {
    /// Reads and parses a configuration file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: name.clone(), source })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::parse_in(&text, &name, &base)
    }

    /// Parses configuration text; `path` only names the file in errors. Relative paths
    /// (`scrape_config_files` now, rule and file-SD files later) resolve against the current
    /// directory.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        Config::parse_in(text, path, Path::new(""))
    }

    /// Parses configuration text whose relative paths resolve against `base_dir`.
    pub fn parse_in(text: &str, path: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let mut c: Config = parse_yaml(text, path)?;
        c.base_dir = base_dir.to_path_buf();
        c.load_scrape_config_files(path)?;
        c.resolve().map_err(|message| ConfigError::Invalid { path: path.to_string(), message })?;
        Ok(c)
    }

    /// Appends the `scrape_configs` of every file `scrape_config_files` matches, in order.
    fn load_scrape_config_files(&mut self, path: &str) -> Result<(), ConfigError> {
        for pattern in self.scrape_config_files.clone() {
            let invalid = |message: String| ConfigError::Invalid { path: path.to_string(), message };
            let dir_part = pattern.rsplit_once('/').map_or("", |(d, _)| d);
            if dir_part.contains(['*', '?', '[']) || pattern.contains(['?', '[']) {
                return Err(invalid(format!(
                    "scrape_config_files {pattern:?}: Cairn supports a `*` in the last path element only"
                )));
            }
            let files = file_sd::expand_pattern(&self.base_dir, &pattern)
                .map_err(|e| invalid(format!("scrape_config_files {pattern:?}: {e}")))?;
            for f in files {
                let name = f.display().to_string();
                let text = std::fs::read_to_string(&f)
                    .map_err(|source| ConfigError::Io { path: name.clone(), source })?;
                let file: ScrapeConfigsFile = if text.trim().is_empty() {
                    ScrapeConfigsFile { scrape_configs: Vec::new() }
                } else {
                    serde_saphyr::from_str(&text).map_err(|e| ConfigError::Syntax {
                        path: name.clone(),
                        message: unsupported::explain_unknown_field(with_enclosing_job(&text, e.to_string())),
                    })?
                };
                for mut sc in file.scrape_configs {
                    sc.file = name.clone();
                    self.scrape_configs.push(sc);
                }
            }
        }
        Ok(())
    }

    /// The configuration used when none is given: scrape Cairn itself every 15s.
    pub fn self_scrape(listen_addr: &str) -> Config {
        let text = format!(
            "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: cairn\n    static_configs:\n      - targets: [{listen_addr:?}]\n"
        );
        // The text is fixed apart from the address; a failure here means a bad address, which
        // then yields no scrape job rather than a panic.
        Config::parse(&text, "<built-in>").unwrap_or_default()
    }

    /// Prometheus's defaulting and validation, in its order.
    fn resolve(&mut self) -> Result<(), String> {
        self.resolve_storage()?;
        unsupported::warn_ignored_keys(self);
        let g = &mut self.global;
        if g.scrape_interval.is_zero() {
            g.scrape_interval = one_minute();
        }
        if g.scrape_timeout > g.scrape_interval {
            return Err("global scrape timeout greater than scrape interval".into());
        }
        if g.scrape_timeout.is_zero() {
            g.scrape_timeout = PromDuration::from_secs(10).min(g.scrape_interval);
        }
        if g.evaluation_interval.is_zero() {
            g.evaluation_interval = one_minute();
        }
        for n in g.external_labels.keys() {
            if !is_valid_label_name(n) {
                return Err(format!("{n:?} is not a valid label name in global.external_labels"));
            }
        }
        if g.query_log_file.is_some() {
            self.warnings.push(
                "global.query_log_file is accepted but ignored: Cairn does not write a query log".into(),
            );
        }
        if self.remote_write.is_some() {
            self.warnings.push(
                "remote_write is accepted but ignored: Cairn stores samples itself and does not forward them"
                    .into(),
            );
        }
        if self.remote_read.is_some() {
            self.warnings.push(
                "remote_read is accepted but ignored: Cairn answers queries from its own storage only".into(),
            );
        }
        let global_protocols = match &self.global.scrape_protocols {
            Some(p) => Some(resolve_protocols(p, "global", &mut self.warnings)?),
            None => None,
        };
        let mut jobs = HashSet::new();
        let global = self.global.clone();
        for sc in &mut self.scrape_configs {
            let at = if sc.file.is_empty() {
                format!("line {}: ", sc.line())
            } else {
                format!("{} line {}: ", sc.file, sc.line())
            };
            let job = sc.job().to_string();
            if job.is_empty() {
                return Err(format!("{at}job_name is empty"));
            }
            if !jobs.insert(job.clone()) {
                return Err(format!("{at}found multiple scrape configs with job name {job:?}"));
            }
            let ctx = |m: String| format!("{at}{m} (scrape config with job name {job:?})");
            if sc.scrape_interval.is_zero() {
                sc.scrape_interval = global.scrape_interval;
            }
            if sc.scrape_timeout > sc.scrape_interval {
                return Err(format!(
                    "{at}scrape timeout greater than scrape interval for scrape config with job name {job:?}"
                ));
            }
            if sc.scrape_timeout.is_zero() {
                sc.scrape_timeout = global.scrape_timeout.min(sc.scrape_interval);
            }
            if sc.body_size_limit.0 == 0 {
                sc.body_size_limit = global.body_size_limit;
            }
            for (mine, theirs) in [
                (&mut sc.sample_limit, global.sample_limit),
                (&mut sc.label_limit, global.label_limit),
                (&mut sc.label_name_length_limit, global.label_name_length_limit),
                (&mut sc.label_value_length_limit, global.label_value_length_limit),
            ] {
                if *mine == 0 {
                    *mine = theirs;
                }
            }
            scrape::validate_scheme(&sc.scheme).map_err(ctx)?;
            if !sc.metrics_path.starts_with('/') {
                return Err(ctx(format!("metrics_path {:?} must start with '/'", sc.metrics_path)));
            }
            sc.http().validate().map_err(ctx)?;
            sc.protocols = match &sc.scrape_protocols {
                Some(p) => resolve_protocols(p, &format!("job {job:?}"), &mut self.warnings).map_err(ctx)?,
                None => global_protocols.clone().unwrap_or_else(|| ScrapeProtocol::DEFAULT.to_vec()),
            };
            sc.fallback_protocol = match &sc.fallback_scrape_protocol {
                None => None,
                Some(p) => {
                    let p: ScrapeProtocol = p.parse().map_err(ctx)?;
                    if p == ScrapeProtocol::PrometheusProto {
                        return Err(ctx("fallback_scrape_protocol PrometheusProto is not supported: Cairn parses only the text formats".into()));
                    }
                    Some(p)
                }
            };
            for s in &sc.static_configs {
                check_target_group(&s.targets, &s.labels, sc.relabel_configs.is_empty()).map_err(ctx)?;
            }
            for f in &sc.file_sd_configs {
                for name in &f.files {
                    scrape::validate_file_sd_name(name).map_err(ctx)?;
                }
            }
        }
        for (i, am) in self.alerting.alertmanagers.iter().enumerate() {
            let ctx = |m: String| format!("alerting.alertmanagers[{i}]: {m}");
            if am.api_version != "v2" {
                return Err(ctx(format!(
                    "api_version {:?} is not supported: Cairn speaks only the Alertmanager v2 API \
                     (expected Alertmanager api version to be one of [v2]; Alertmanager 0.27 removed v1)",
                    am.api_version
                )));
            }
            if am.timeout.is_zero() {
                return Err(ctx("timeout must be greater than zero".into()));
            }
            scrape::validate_scheme(&am.scheme).map_err(ctx)?;
            am.http().validate().map_err(ctx)?;
            for s in &am.static_configs {
                check_target_group(&s.targets, &s.labels, am.relabel_configs.is_empty()).map_err(ctx)?;
            }
            for f in &am.file_sd_configs {
                for name in &f.files {
                    scrape::validate_file_sd_name(name).map_err(ctx)?;
                }
            }
        }
        Ok(())
    }

    /// `storage.tsdb.out_of_order_time_window` onto `cairn.storage.out_of_order_window`.
    fn resolve_storage(&mut self) -> Result<(), String> {
        if let Some(w) = self.storage.tsdb.out_of_order_time_window {
            let cairn = &mut self.cairn.storage.out_of_order_window;
            if !cairn.is_zero() && *cairn != w {
                return Err(format!(
                    "storage.tsdb.out_of_order_time_window ({w}) and cairn.storage.out_of_order_window ({cairn}) disagree: set one"
                ));
            }
            *cairn = w;
        }
        Ok(())
    }

    /// Prometheus's `--enable-feature=expand-external-labels`: `$NAME` and `${NAME}` in
    /// `global.external_labels` values replaced by `env(NAME)` (unset = empty; `$$` = `$`);
    /// labels left empty are dropped.
    pub fn expand_external_labels(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        let labels = std::mem::take(&mut self.global.external_labels);
        for (k, v) in labels {
            let v = expand_env(&v, env);
            if !v.is_empty() {
                self.global.external_labels.insert(k, v);
            }
        }
    }

    /// Rule file patterns resolved against the configuration file's directory.
    pub fn rule_file_paths(&self) -> Vec<PathBuf> {
        self.rule_files.iter().map(|f| self.base_dir.join(f)).collect()
    }
}

/// Go's `os.Expand` as Prometheus uses it for external labels.
fn expand_env(s: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(braced) = after.strip_prefix('{')
            && let Some(end) = braced.find('}')
        {
            out.push_str(&env(&braced[..end]).unwrap_or_default());
            rest = &braced[end + 1..];
        } else if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else {
            let n = after.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
            if n == 0 {
                out.push('$');
            } else {
                out.push_str(&env(&after[..n]).unwrap_or_default());
            }
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    out
}

/// A list or map where go-yaml reads `key:` with no value (null) as empty, as Prometheus does
/// (Debian's prometheus.yml has a `rule_files:` whose entries are all commented out).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// Deserialises configuration text (empty = all defaults); errors carry line and column, the
/// enclosing job, and an explanation for Prometheus keys Cairn does not support.
fn parse_yaml(text: &str, path: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    serde_saphyr::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_string(),
        message: unsupported::explain_unknown_field(with_enclosing_job(text, e.to_string())),
    })
}

/// Adds "(in scrape config with job name ...)" to a syntax message whose `line N` falls inside a
/// `scrape_configs` entry, found by the nearest `job_name:` line at or above it.
fn with_enclosing_job(text: &str, message: String) -> String {
    let line = message
        .split("line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok());
    let Some(line) = line else { return message };
    let mut in_scrape = false;
    let mut job = None;
    for l in text.lines().take(line) {
        if !l.starts_with([' ', '\t', '-', '#']) && !l.trim().is_empty() {
            in_scrape = l.starts_with("scrape_configs:");
            job = None;
        }
        let t = l.trim_start().trim_start_matches("- ").trim_start();
        if in_scrape && let Some(j) = t.strip_prefix("job_name:") {
            job = Some(j.trim().trim_matches(['\'', '"']).to_string());
        }
    }
    match job {
        Some(j) if in_scrape => {
            let mut lines = message.lines();
            let first = lines.next().unwrap_or("");
            let rest: Vec<&str> = lines.collect();
            let mut out = format!("{first} (in scrape config with job name {j:?})");
            for r in rest {
                out.push('\n');
                out.push_str(r);
            }
            out
        }
        _ => message,
    }
}

/// Label names of a static group, and its addresses when nothing can rewrite them
/// (`addresses_final`: no `relabel_configs`), as Prometheus checks them. With relabeling, an
/// address like `https://example.org` is legitimate input (the blackbox exporter pattern) and
/// is checked after relabeling instead.
fn check_target_group(
    targets: &[String],
    labels: &BTreeMap<String, String>,
    addresses_final: bool,
) -> Result<(), String> {
    for n in labels.keys() {
        if !is_valid_label_name(n) {
            return Err(format!("{n:?} is not a valid label name"));
        }
    }
    for t in targets.iter().filter(|_| addresses_final) {
        if t.is_empty() || t.contains('/') {
            return Err(format!("{t:?} is not a valid target address: expected host:port"));
        }
    }
    Ok(())
}

fn resolve_protocols(
    names: &[String],
    whose: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<ScrapeProtocol>, String> {
    let mut out = Vec::new();
    for n in names {
        let p: ScrapeProtocol = n.parse()?;
        if out.contains(&p) {
            return Err(format!("duplicated protocol in scrape_protocols, got {names:?}"));
        }
        if p == ScrapeProtocol::PrometheusProto {
            warnings.push(format!(
                "{whose}: scrape_protocols entry PrometheusProto is ignored: Cairn parses only the text formats"
            ));
            continue;
        }
        out.push(p);
    }
    if out.is_empty() {
        return Err(format!(
            "{whose}: scrape_protocols names no protocol Cairn supports (it parses only the text formats)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod compat_tests;
#[cfg(test)]
mod tests;
