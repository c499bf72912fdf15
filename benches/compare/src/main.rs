//! `cairn-compare`: runs Cairn, Prometheus and VictoriaMetrics one after another on this machine
//! with the same deterministic remote-write load and query set, and writes a table (stdout and
//! `report.md`), `report.json` and `ratios.svg` to `--out`. See README.md beside this crate.
//!
//! This file owns the command line and the order of the phases; each phase lives in its own
//! module. It does not measure anything itself.

mod chart;
mod ingest;
mod load;
mod proc;
mod profile;
mod query;
mod report;
mod rounds;
mod run;
mod system;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use system::Kind;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Size {
    Small,
    Medium,
    Large,
}

/// What a size means.
struct Preset {
    hosts: usize,
    samples_per_series: usize,
    samples_per_request_series: usize,
    range: Duration,
    step: Duration,
    reps: usize,
    query_timeout: Duration,
    ingest_budget: Duration,
}

impl Size {
    fn preset(self) -> Preset {
        match self {
            // 1,720 series × 240 samples (1h) = 412,800 samples.
            Size::Small => Preset {
                hosts: 20,
                samples_per_series: 240,
                samples_per_request_series: 10,
                range: Duration::from_secs(45 * 60),
                step: Duration::from_secs(60),
                reps: 5,
                query_timeout: Duration::from_secs(60),
                ingest_budget: Duration::from_secs(300),
            },
            // 21,500 series × 480 samples (2h) = 10.3M samples.
            Size::Medium => Preset {
                hosts: 250,
                samples_per_series: 480,
                samples_per_request_series: 10,
                range: Duration::from_secs(60 * 60),
                step: Duration::from_secs(60),
                reps: 5,
                query_timeout: Duration::from_secs(120),
                ingest_budget: Duration::from_secs(1800),
            },
            // 1,001,900 series × 120 samples (30m) = 120M samples.
            Size::Large => Preset {
                hosts: 11_650,
                samples_per_series: 120,
                samples_per_request_series: 20,
                range: Duration::from_secs(20 * 60),
                step: Duration::from_secs(60),
                reps: 3,
                query_timeout: Duration::from_secs(600),
                ingest_budget: Duration::from_secs(4 * 3600),
            },
        }
    }
}

/// Side-by-side comparison of Cairn, Prometheus and VictoriaMetrics.
#[derive(Parser, Debug)]
#[command(name = "cairn-compare", version)]
struct Args {
    /// Load size: small (~2 min in total), medium, large (≥ 1M series).
    #[arg(long, value_enum, default_value = "small")]
    size: Size,
    /// Systems to run, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cairn,prometheus,victoriametrics")]
    systems: Vec<Kind>,
    /// The system whose figures are divided by each peer's.
    #[arg(long, value_enum, default_value = "cairn")]
    subject: Kind,
    #[arg(long)]
    cairn_bin: Option<PathBuf>,
    #[arg(long)]
    prometheus_bin: Option<PathBuf>,
    #[arg(long)]
    vm_bin: Option<PathBuf>,
    /// apt-get install prometheus and victoria-metrics first (needs root).
    #[arg(long)]
    install: bool,
    /// Output directory (default: <workspace>/target/compare).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Concurrent remote-write connections.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Series per remote-write request.
    #[arg(long, default_value_t = 2000)]
    series_per_request: usize,
    /// Timed repetitions of the query set (default per size).
    #[arg(long)]
    reps: Option<usize>,
    /// Override the number of hosts (86 series each) of the size.
    #[arg(long)]
    hosts: Option<usize>,
    /// Record `perf` CPU profiles of the subject's send phase and timed queries (into
    /// <out>/profiles; needs `perf` and, for symbols, a binary with debug info).
    #[arg(long)]
    profile: bool,
    /// Run every system this many times (order rotating) and report medians.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Seed of the load generator.
    #[arg(long, default_value_t = 20_261_122)]
    seed: u64,
}

/// Upper bound on `--rounds`.
const ROUNDS_MAX: usize = 20;

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    match manifest.ancestors().nth(2) {
        Some(root) if root.join("Cargo.toml").is_file() => root.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // reqwest is built without a default TLS provider; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        tokio::select! {
            r = real_main(args) => r,
            // Leaving the select drops `real_main`'s future, and with it every process guard
            // (which kills its server) and temp dir.
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; servers stopped")),
        }
    })
}

async fn real_main(args: Args) -> anyhow::Result<()> {
    if args.install {
        system::install_peers()?;
    }
    let root = workspace_root();
    let out = args.out.clone().unwrap_or_else(|| root.join("target/compare"));
    let log_dir = out.join("logs");
    std::fs::create_dir_all(&log_dir).with_context(|| format!("create {}", log_dir.display()))?;
    let mut systems = args.systems.clone();
    systems.dedup();
    anyhow::ensure!(!systems.is_empty(), "no systems selected");
    // Find every binary before doing any work, so a missing one fails fast.
    let mut bins = Vec::new();
    for &k in &systems {
        let explicit = match k {
            Kind::Cairn => args.cairn_bin.as_deref(),
            Kind::Prometheus => args.prometheus_bin.as_deref(),
            Kind::Victoriametrics => args.vm_bin.as_deref(),
        };
        bins.push(system::find_binary(k, explicit, &root)?);
    }
    if systems.iter().any(|k| *k != Kind::Cairn) {
        system::stop_system_services();
    }

    let preset = args.size.preset();
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    // Query at hh:mm:30 a minute or so before now; the samples end 3s before that (see
    // SAMPLE_PHASE_MS), so no sample and no subquery step (whole minutes) lies on a window edge.
    let query_time_ms = (now_ms / 60_000 - 1) * 60_000 + 30_000;
    let spec = load::LoadSpec {
        hosts: args.hosts.unwrap_or(preset.hosts),
        samples_per_series: preset.samples_per_series,
        series_per_request: args.series_per_request,
        samples_per_request_series: preset.samples_per_request_series,
        shards: args.concurrency,
        query_time_ms,
        seed: args.seed,
    };
    eprintln!(
        "generating load: {} hosts × {} series × {} samples",
        spec.hosts,
        load::SERIES_PER_HOST,
        spec.samples_per_series
    );
    let t_gen = std::time::Instant::now();
    let mut load = tokio::task::block_in_place(|| load::generate(&spec))?;
    let shards = Arc::new(std::mem::take(&mut load.shards));
    eprintln!(
        "load: {} series, {} samples, {} requests, {:.1} MB raw, {:.1} MB snappy, generated in {:.1}s",
        load.series,
        load.samples,
        load.requests,
        load.raw_bytes as f64 / 1e6,
        load.wire_bytes as f64 / 1e6,
        t_gen.elapsed().as_secs_f64()
    );
    let queries =
        query::query_set(query_time_ms, preset.range.as_millis() as i64, preset.step.as_millis() as i64);
    let opts = run::RunOptions {
        concurrency: args.concurrency,
        reps: args.reps.unwrap_or(preset.reps),
        query_timeout: preset.query_timeout,
        ingest_budget: preset.ingest_budget,
        tmp_parent: std::env::temp_dir(),
        log_dir,
        profile: args.profile.then(|| (args.subject, out.join("profiles"))),
    };

    // Rounds: each system once per round, the order rotating so none is always first.
    let rounds = args.rounds.clamp(1, ROUNDS_MAX);
    let mut runs: Vec<run::SystemRun> = Vec::new();
    let mut per_system: Vec<Vec<run::SystemResult>> = vec![Vec::new(); systems.len()];
    for round in 0..rounds {
        for j in 0..systems.len() {
            let i = (j + round) % systems.len();
            let (kind, bin) = (systems[i], &bins[i]);
            if rounds > 1 {
                eprintln!("--- round {}/{rounds}: {}", round + 1, kind.label());
            }
            match run::run_system(kind, bin, &load, shards.clone(), &queries, &opts).await {
                Ok(r) => {
                    per_system[i].push(r.result.clone());
                    if !runs.iter().any(|x| x.result.system == kind) {
                        runs.push(r);
                    }
                }
                Err(e) => {
                    eprintln!("[{}] failed: {e:#}", kind.label());
                    per_system[i].push(run::failed_result(kind, Some(bin), &e));
                }
            }
        }
    }
    runs.sort_by_key(|r| systems.iter().position(|k| *k == r.result.system));
    let round_results = per_system.clone();
    let results: Vec<run::SystemResult> = per_system.into_iter().filter_map(rounds::merge).collect();

    let (reference, comparisons) = report::compare(&runs, &queries);
    let ratios = report::ratios(&results, args.subject);
    let report = report::Report {
        date_utc: report::utc_string(now_ms / 1000),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        size: format!("{:?}", args.size).to_lowercase(),
        machine: report::Machine::detect(),
        load: report::LoadSummary {
            hosts: spec.hosts,
            series: load.series,
            samples_per_series: spec.samples_per_series,
            samples: load.samples,
            requests: load.requests,
            series_per_request: spec.series_per_request,
            samples_per_request_series: spec.samples_per_request_series,
            raw_bytes: load.raw_bytes,
            wire_bytes: load.wire_bytes,
            start_ms: load.start_ms,
            end_ms: load.end_ms,
            query_time_ms: load.query_time_ms,
            concurrency: args.concurrency,
        },
        queries,
        subject: args.subject,
        reference,
        systems: results,
        rounds: if rounds > 1 { round_results } else { Vec::new() },
        comparisons,
        ratios,
    };
    let md = report::markdown(&report);
    println!("{md}");
    std::fs::write(out.join("report.md"), &md)?;
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    std::fs::write(out.join("ratios.svg"), chart::svg(&report))?;
    eprintln!("wrote {}/report.{{md,json}} and ratios.svg", out.display());
    let failed = report.systems.iter().filter(|s| !s.errors.is_empty()).count();
    if failed > 0 {
        anyhow::bail!("{failed} system(s) reported errors (see the report)");
    }
    Ok(())
}
