//! The reloadable part of the server: the configuration and everything derived from it (scrape
//! targets, rule groups, the notifier's Alertmanagers and labels, external labels, ingest
//! limits); the configuration's warnings are logged at each load. A reload
//! validates everything first; a bad config or rule file is rejected with its error and the old
//! configuration keeps running. Also watches file-SD files and refreshes targets on change.

use super::ReloadStatus;
use crate::config::Config;
use crate::ingest::limits::IngestLimits;
use crate::rules::{Notifier, NotifierConfig, RuleAppender, RuleManager};
use crate::scrape::ScrapeManager;
use crate::scrape::discovery::{all_file_sd_paths, build_targets};
use crate::storage::Db;
use cairn_format::Labels;
use parking_lot::{Mutex, RwLock};
use std::path::PathBuf;
use std::sync::Arc;

/// Rule output goes through the normal append path.
pub struct DbRuleAppender(pub Db);

impl RuleAppender for DbRuleAppender {
    fn append_batch(&self, samples: &[(Labels, i64, f64)]) -> Result<(), String> {
        let mut app = self.0.appender();
        let mut first_err = None;
        for (l, t, v) in samples {
            if let Err(e) = app.append(l, *t, *v) {
                first_err.get_or_insert(e.to_string());
            }
        }
        app.commit().map_err(|e| e.to_string())?;
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

pub struct Runtime {
    pub config_path: Option<PathBuf>,
    pub listen: String,
    pub scrape: Arc<ScrapeManager>,
    pub rules: Arc<RuleManager>,
    pub notifier: Arc<Notifier>,
    pub config_text: Arc<RwLock<String>>,
    pub reload_status: Arc<RwLock<ReloadStatus>>,
    pub external_labels: Arc<RwLock<Labels>>,
    pub ingest_limits: Arc<RwLock<IngestLimits>>,
    /// `--enable-feature=expand-external-labels`: environment variables in external labels.
    pub expand_external_labels: bool,
    current: RwLock<Option<Config>>,
    /// Serialises reloads (SIGHUP, HTTP, file-SD refresh).
    reload_lock: Mutex<()>,
    file_sd_state: Mutex<Vec<(PathBuf, Option<std::time::SystemTime>, u64)>>,
}

/// Reads and parses the configuration (or the built-in self-scrape one) and its text.
pub fn read_config(path: &Option<PathBuf>, listen: &str) -> Result<(Config, String), String> {
    match path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| format!("cannot read config {}: {e}", p.display()))?;
            let cfg = Config::load(p).map_err(|e| e.to_string())?;
            Ok((cfg, text))
        }
        None => {
            let cfg = Config::self_scrape(listen);
            let text = format!(
                "# built-in configuration (no --config given)\nglobal:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: cairn\n    static_configs:\n      - targets: [\"{listen}\"]\n"
            );
            Ok((cfg, text))
        }
    }
}

/// Everything [`Runtime::apply`] checks, without applying anything: the file itself, the
/// scrape targets (TLS and secret files read), the Alertmanagers, and every rule file the
/// `rule_files` patterns match (parsed). Returns the configuration and those rule files.
pub fn check_config(path: &std::path::Path) -> Result<(Config, Vec<PathBuf>), String> {
    let cfg = Config::load(path).map_err(|e| e.to_string())?;
    build_targets(&cfg)?;
    NotifierConfig::from_config(&cfg)?;
    let rule_files = RuleManager::expand_globs(&cfg.base_dir, &cfg.rule_files)?;
    Ok((cfg, rule_files))
}

pub fn external_labels_of(cfg: &Config) -> Labels {
    Labels::from_pairs(cfg.global.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())))
}

impl Runtime {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config_path: Option<PathBuf>,
        listen: String,
        scrape: Arc<ScrapeManager>,
        rules: Arc<RuleManager>,
        notifier: Arc<Notifier>,
        config_text: Arc<RwLock<String>>,
        reload_status: Arc<RwLock<ReloadStatus>>,
        external_labels: Arc<RwLock<Labels>>,
        ingest_limits: Arc<RwLock<IngestLimits>>,
    ) -> Self {
        Runtime {
            config_path,
            listen,
            scrape,
            rules,
            notifier,
            config_text,
            reload_status,
            external_labels,
            ingest_limits,
            expand_external_labels: false,
            current: RwLock::new(None),
            reload_lock: Mutex::new(()),
            file_sd_state: Mutex::new(Vec::new()),
        }
    }

    /// Applies an already parsed configuration. Everything is validated before anything
    /// changes; on error the running configuration is untouched.
    pub fn apply(&self, mut cfg: Config, text: String) -> Result<(), String> {
        let _g = self.reload_lock.lock();
        if self.expand_external_labels {
            cfg.expand_external_labels(&|k| std::env::var(k).ok());
        }
        let (targets, dropped) = build_targets(&cfg)?;
        let notifier_cfg = NotifierConfig::from_config(&cfg)?;
        let mut rule_files = Vec::new();
        for pattern in &cfg.rule_files {
            let files = RuleManager::expand_globs(&cfg.base_dir, std::slice::from_ref(pattern))?;
            rule_files.extend(files);
        }
        let mut rule_opts = self.rules.options();
        rule_opts.eval_interval_ms = cfg.global.evaluation_interval.as_millis() as i64;
        rule_opts.external_labels = external_labels_of(&cfg);
        rule_opts.query_offset_ms = cfg.global.rule_query_offset.as_millis() as i64;
        self.rules
            .load_with_options(&rule_files, Some(rule_opts))
            .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))?;
        for w in &cfg.warnings {
            tracing::warn!("config: {w}");
        }
        self.notifier.apply(notifier_cfg);
        self.scrape.apply(targets, dropped);
        *self.external_labels.write() = external_labels_of(&cfg);
        *self.ingest_limits.write() = cfg.cairn.limits.ingest_limits();
        *self.config_text.write() = text;
        *self.file_sd_state.lock() = file_sd_fingerprint(&cfg);
        *self.current.write() = Some(cfg);
        Ok(())
    }

    /// Re-reads the config file and applies it; records the outcome for runtimeinfo.
    pub fn reload(&self) -> Result<(), String> {
        let res = read_config(&self.config_path, &self.listen).and_then(|(cfg, text)| self.apply(cfg, text));
        let mut st = self.reload_status.write();
        st.success = res.is_ok();
        if res.is_ok() {
            st.time_rfc3339 = super::rfc3339(super::now_ms());
            tracing::info!("configuration reloaded");
        } else if let Err(e) = &res {
            tracing::error!(error = %e, "configuration reload failed; keeping the previous configuration");
        }
        res
    }

    /// Job names of the configured scrape pools, in configuration order.
    pub fn scrape_pools(&self) -> Vec<String> {
        match &*self.current.read() {
            Some(cfg) => cfg.scrape_configs.iter().map(|c| c.job().to_string()).collect(),
            None => Vec::new(),
        }
    }

    /// Rebuilds scrape targets and Alertmanagers if any file-SD file changed (content, set of
    /// files). A failure keeps the previous targets or Alertmanagers.
    pub fn refresh_file_sd(&self) {
        let cfg = match self.current.read().clone() {
            Some(c) => c,
            None => return,
        };
        let now = file_sd_fingerprint(&cfg);
        if *self.file_sd_state.lock() == now {
            return;
        }
        let _g = self.reload_lock.lock();
        match build_targets(&cfg) {
            Ok((t, d)) => {
                self.scrape.apply(t, d);
                tracing::info!("file_sd targets refreshed");
            }
            Err(e) => tracing::warn!(error = %e, "file_sd refresh failed"),
        }
        match NotifierConfig::from_config(&cfg) {
            Ok(n) => self.notifier.apply(n),
            Err(e) => tracing::warn!(error = %e, "file_sd refresh of Alertmanagers failed"),
        }
        *self.file_sd_state.lock() = now;
    }
}

fn file_sd_fingerprint(cfg: &Config) -> Vec<(PathBuf, Option<std::time::SystemTime>, u64)> {
    let mut v: Vec<_> = all_file_sd_paths(cfg)
        .into_iter()
        .map(|p| {
            let md = std::fs::metadata(&p).ok();
            let mtime = md.as_ref().and_then(|m| m.modified().ok());
            let len = md.map_or(0, |m| m.len());
            (p, mtime, len)
        })
        .collect();
    v.sort();
    v
}
