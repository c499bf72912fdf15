//! Command-line definitions (clap). Owns flag names, Prometheus-compatible flag aliases and
//! defaults; the commands themselves live in their modules (`server`, …).

pub mod import;
pub mod inspect;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "cairn", version, about = "Prometheus-compatible time-series database")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start; the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: scrape, receive remote-write, answer PromQL over the HTTP API.
    Serve(ServeArgs),
    /// Validate files, like `promtool check`.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run unit tests, like `promtool test`.
    #[command(subcommand)]
    Test(TestCommand),
    /// Report on a data directory's blocks (time ranges, sizes, top metrics).
    Inspect {
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Backfill samples with timestamps from an OpenMetrics or Prometheus text file into
    /// blocks (the server owning the data directory must be stopped).
    Import {
        file: PathBuf,
        /// Data directory.
        #[arg(long = "data", default_value = "./data")]
        data: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum CheckCommand {
    /// Check rule files (like `promtool check rules`).
    Rules { files: Vec<PathBuf> },
    /// Check configuration files and the rule files they name (like `promtool check config`).
    Config { files: Vec<PathBuf> },
}

#[derive(Subcommand, Debug)]
pub enum TestCommand {
    /// Run promtool-style rule unit-test files (like `promtool test rules`).
    Rules { files: Vec<PathBuf> },
}

/// `cairn serve` flags. Prometheus's spellings are accepted as aliases so existing start
/// scripts keep working.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Prometheus-compatible YAML config. Without one, Cairn scrapes itself every 15s.
    #[arg(long = "config", visible_alias = "config.file")]
    pub config: Option<PathBuf>,

    /// Data directory.
    #[arg(long = "data", visible_alias = "storage.tsdb.path", default_value = "./data")]
    pub data: PathBuf,

    /// Address to listen on.
    #[arg(long = "listen", visible_alias = "web.listen-address", default_value = "127.0.0.1:9090")]
    pub listen: String,

    /// Enable /api/v1/admin/* endpoints.
    #[arg(long = "enable-admin-api", visible_alias = "web.enable-admin-api")]
    pub enable_admin_api: bool,

    /// How long to keep samples (Prometheus duration, e.g. 15d). Default: the config's
    /// `cairn.storage.retention`, else 15d.
    #[arg(long = "retention", visible_alias = "storage.tsdb.retention.time")]
    pub retention: Option<String>,

    /// Largest total size of blocks (e.g. 50GB; base-2 units like Prometheus); 0 = no limit.
    /// The oldest blocks are dropped first.
    #[arg(long = "retention-size", visible_alias = "storage.tsdb.retention.size", default_value = "0")]
    pub retention_size: String,

    /// Accepted for compatibility; the remote-write receiver is always on.
    #[arg(long = "web.enable-remote-write-receiver")]
    pub remote_write_receiver: bool,

    /// Default lookback for instant selectors.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub lookback_delta: String,

    /// Maximum time a query may run.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub query_timeout: String,

    /// Maximum number of samples a single query may load into memory.
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub query_max_samples: usize,

    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value_t = 20)]
    pub query_max_concurrency: usize,

    /// WAL fsync policy: `always`, or an interval in ms between fsyncs.
    #[arg(long = "wal-fsync", default_value = "1000")]
    pub wal_fsync: String,

    /// Serve `POST /-/quit` (graceful shutdown over HTTP), as Prometheus's flag does. Reload
    /// (`POST /-/reload`) is always served.
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,

    /// Log level: debug, info, warn or error (the `RUST_LOG` environment variable, when set,
    /// takes precedence).
    #[arg(long = "log.level", default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: String,

    /// The URL Cairn is reached under (alerts' generatorURL). Default: http://<listen>.
    #[arg(long = "web.external-url")]
    pub external_url: Option<String>,

    /// Alerts queued for the Alertmanagers before the oldest are dropped.
    #[arg(long = "alertmanager.notification-queue-capacity", default_value_t = 10_000)]
    pub notification_queue_capacity: usize,

    /// Minimum time between two notifications of the same firing alert.
    #[arg(long = "rules.alert.resend-delay", default_value = "1m")]
    pub alert_resend_delay: String,

    /// Longest outage after which `for` state restored at start is not trusted.
    #[arg(long = "rules.alert.for-outage-tolerance", default_value = "1h")]
    pub alert_for_outage_tolerance: String,

    /// Minimum time left of an alert's `for` after a restore.
    #[arg(long = "rules.alert.for-grace-period", default_value = "10m")]
    pub alert_for_grace_period: String,

    /// Accepted for compatibility (Prometheus feature flags); logged and otherwise ignored.
    #[arg(long = "enable-feature", value_delimiter = ',')]
    pub enable_feature: Vec<String>,
}

impl ServeArgs {
    /// Flag name → value, for `/api/v1/status/flags` (Prometheus spellings).
    pub fn flag_map(&self) -> Vec<(String, String)> {
        vec![
            ("config.file".into(), self.config.as_ref().map(|p| p.display().to_string()).unwrap_or_default()),
            ("storage.tsdb.path".into(), self.data.display().to_string()),
            ("web.listen-address".into(), self.listen.clone()),
            ("web.enable-admin-api".into(), self.enable_admin_api.to_string()),
            ("storage.tsdb.retention.time".into(), self.retention.clone().unwrap_or_default()),
            ("storage.tsdb.retention.size".into(), self.retention_size.clone()),
            ("web.enable-remote-write-receiver".into(), "true".into()),
            ("query.lookback-delta".into(), self.lookback_delta.clone()),
            ("query.timeout".into(), self.query_timeout.clone()),
            ("query.max-samples".into(), self.query_max_samples.to_string()),
            ("query.max-concurrency".into(), self.query_max_concurrency.to_string()),
            ("wal-fsync".into(), self.wal_fsync.clone()),
            ("web.enable-lifecycle".into(), self.enable_lifecycle.to_string()),
            ("log.level".into(), self.log_level.clone()),
            ("web.external-url".into(), self.external_url.clone().unwrap_or_default()),
            ("alertmanager.notification-queue-capacity".into(), self.notification_queue_capacity.to_string()),
            ("rules.alert.resend-delay".into(), self.alert_resend_delay.clone()),
            ("rules.alert.for-outage-tolerance".into(), self.alert_for_outage_tolerance.clone()),
            ("rules.alert.for-grace-period".into(), self.alert_for_grace_period.clone()),
            ("enable-feature".into(), self.enable_feature.join(",")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_spellings_are_accepted() {
        let cli = Cli::try_parse_from([
            "cairn",
            "serve",
            "--config.file=p.yml",
            "--storage.tsdb.path",
            "/d",
            "--web.listen-address=127.0.0.1:1",
            "--web.enable-admin-api",
            "--web.enable-remote-write-receiver",
            "--web.enable-lifecycle",
            "--log.level=warn",
            "--web.external-url=http://prom.example:9090/",
            "--alertmanager.notification-queue-capacity=50",
            "--rules.alert.resend-delay=5s",
            "--enable-feature=expand-external-labels,memory-snapshot-on-shutdown",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else { panic!("expected serve") };
        assert_eq!(a.config.unwrap(), PathBuf::from("p.yml"));
        assert_eq!(a.data, PathBuf::from("/d"));
        assert_eq!(a.listen, "127.0.0.1:1");
        assert!(a.enable_admin_api);
        assert!(a.enable_lifecycle);
        assert_eq!(a.log_level, "warn");
        assert!(Cli::try_parse_from(["cairn", "serve", "--log.level=loud"]).is_err());
        assert_eq!(a.external_url.as_deref(), Some("http://prom.example:9090/"));
        assert_eq!(a.notification_queue_capacity, 50);
        assert_eq!(a.alert_resend_delay, "5s");
        assert_eq!(a.enable_feature, ["expand-external-labels", "memory-snapshot-on-shutdown"]);
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["cairn", "serve"]).unwrap();
        let Command::Serve(a) = cli.command else { panic!("expected serve") };
        assert_eq!(a.data, PathBuf::from("./data"));
        assert_eq!(a.listen, "127.0.0.1:9090");
        assert!(a.config.is_none());
    }
}
