//! The `cairn` binary: parses the command line and runs the chosen command.

use cairn::cli::{CheckCommand, Cli, Command, TestCommand};
use clap::Parser;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let level = match &cli.command {
        Command::Serve(args) => args.log_level.as_str(),
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    // reqwest is built without a default crypto provider (see DEPENDENCIES.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Serve(args) => {
            let res = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(cairn::server::run(args)));
            if let Err(e) = res {
                // The error chain only: a start-up problem (bad config, locked data dir, port in
                // use) is the user's to fix, not a crash to debug.
                eprintln!("cairn: {e:#}");
                std::process::exit(1);
            }
        }
        Command::Check(CheckCommand::Rules { files }) => {
            std::process::exit(cairn::rules::cli::check_rules_main(&files))
        }
        Command::Check(CheckCommand::Config { files }) => {
            std::process::exit(cairn::rules::cli::check_config_main(&files))
        }
        Command::Test(TestCommand::Rules { files }) => {
            std::process::exit(cairn::rules::cli::test_rules_main(&files))
        }
        Command::Inspect { dir, json } => std::process::exit(cairn::cli::inspect::inspect_main(&dir, json)),
        Command::Import { file, data } => std::process::exit(cairn::cli::import::import_main(&file, &data)),
    }
}
