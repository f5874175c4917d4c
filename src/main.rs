//! The `thingwatch` binary: a thin shell that parses the command line and hands the resolved
//! settings to `thingwatch-server`, which assembles the components. Behaviour lives in the
//! crates.

mod audit;
mod serve;
mod settings;

use clap::{Parser, Subcommand};

/// Thingwatch: an AWS IoT Core–compatible IoT platform whose spine is AWS IoT logging.
#[derive(Parser, Debug)]
#[command(name = "thingwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: MQTT broker, AWS APIs on one HTTP port, embedded log store.
    Serve(settings::ServeArgs),
    /// The audit trail: verify its integrity offline, export its digest public key.
    Audit(audit::AuditArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("THINGWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve(args) => {
            settings::resolve(&args, |k| std::env::var(k).ok()).and_then(serve::run)
        }
        Command::Audit(args) => match audit::run(args) {
            Ok(true) => Ok(()),
            Ok(false) => return std::process::ExitCode::FAILURE,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("thingwatch: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
