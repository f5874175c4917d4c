//! The `thingwatch-bench` command line: parses flags into a [`RawConfig`], runs one benchmark,
//! prints the JSON report line on stdout and a human summary on stderr.
//!
//! Exit status: 0 for a clean run, 1 if the run could not be set up, 2 if it ran but saw
//! errors, losses, duplicates or malformed payloads (the JSON line is still printed).

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use thingwatch_bench::config::DEFAULT_WINDOW;
use thingwatch_bench::{BenchConfig, RawConfig, Scenario};

/// MQTT load generator: N publishers → N subscribers, messages/s delivered or latency.
#[derive(Debug, Parser)]
#[command(name = "thingwatch-bench", version)]
struct Cli {
    #[command(subcommand)]
    mode: ModeCmd,
}

#[derive(Debug, Subcommand)]
enum ModeCmd {
    /// Publish as fast as the end-to-end window allows; report messages/s delivered.
    Throughput {
        #[command(flatten)]
        common: Common,
    },
    /// Publish at a fixed total rate; report publish→deliver latency p50/p99/p99.9.
    Latency {
        #[command(flatten)]
        common: Common,
        /// Target total publish rate across all publishers, messages/s.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// Broker host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker MQTT port.
    #[arg(long, default_value_t = 1883)]
    port: u16,
    /// Label copied into the report (e.g. mosquitto, thingwatch-INFO).
    #[arg(long, default_value = "broker")]
    label: String,
    /// Who publishes where.
    #[arg(long, value_enum, default_value_t = Scenario::OneToOne)]
    scenario: Scenario,
    /// Publisher/subscriber pairs (N).
    #[arg(long, short = 'n', default_value_t = 10)]
    pairs: usize,
    /// QoS of publishes and subscriptions (0 or 1).
    #[arg(long, default_value_t = 0)]
    qos: u8,
    /// Payload size in bytes (at least 16: sequence number + timestamp).
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Measurement window, seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up before measuring, seconds.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// End-to-end window per pair: most messages sent but not yet received.
    #[arg(long, default_value_t = DEFAULT_WINDOW)]
    window: u32,
    /// PID of the broker process, to report its CPU time too (Linux /proc).
    #[arg(long)]
    broker_pid: Option<u32>,
}

fn raw_config(common: Common, latency_rate_per_s: Option<u32>) -> RawConfig {
    RawConfig {
        host: common.host,
        port: common.port,
        label: common.label,
        latency_rate_per_s,
        scenario: common.scenario,
        pairs: common.pairs,
        qos: common.qos,
        payload_bytes: common.payload,
        warmup_s: common.warmup,
        duration_s: common.duration,
        window: common.window,
        broker_pid: common.broker_pid,
    }
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let raw = match cli.mode {
        ModeCmd::Throughput { common } => raw_config(common, None),
        ModeCmd::Latency { common, rate } => raw_config(common, Some(rate)),
    };
    let cfg = BenchConfig::validate(raw).context("invalid arguments")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let report = runtime
        .block_on(thingwatch_bench::run(&cfg))
        .with_context(|| format!("benchmark against {}:{} failed", cfg.host, cfg.port))?;
    println!("{}", report.to_json_line().context("encoding the report")?);
    eprintln!("{}", report.human_line());
    Ok(if report.is_clean() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(2)
    })
}
