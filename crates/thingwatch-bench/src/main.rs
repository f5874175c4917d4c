//! The `thingwatch-bench` command line: parses flags into a [`RawConfig`] (publish modes) or a
//! [`RawConnectConfig`] (connect mode) or a [`RawIdleConfig`] (idle mode), runs one benchmark, prints the JSON report line on
//! stdout and a human summary on stderr.
//!
//! Exit status: 0 for a clean run, 1 if the run could not be set up, 2 if it ran but saw
//! errors, losses, duplicates, malformed payloads or failed connects (the JSON line is still
//! printed).

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use thingwatch_bench::config::DEFAULT_WINDOW;
use thingwatch_bench::{
    BenchConfig, ConnectConfig, IdleConfig, RawConfig, RawConnectConfig, RawIdleConfig, Scenario,
};

/// MQTT load generator: N publishers → N subscribers (messages/s delivered, or latency), or
/// M workers connecting and disconnecting (connects/s).
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
    /// M workers each repeat CONNECT → CONNACK → DISCONNECT; report connects/s and connect
    /// latency p50/p99/p99.9.
    Connect {
        #[command(flatten)]
        target: Target,
        /// Concurrent workers (M), each with at most one connection open.
        #[arg(long, short = 'm', default_value_t = 10)]
        workers: usize,
        /// Distinct client IDs to cycle through: <prefix>0 ..= <prefix>(clients-1).
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Client-ID prefix (thing-name characters a-z A-Z 0-9 : _ -).
        #[arg(long, default_value = "dev-")]
        client_prefix: String,
    },
    /// Open N connections that only CONNECT and keep alive; report the broker's resident
    /// memory per connection (VmRSS after − before, with --broker-pid).
    Idle {
        /// Broker IPv4 address.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Broker MQTT port.
        #[arg(long, default_value_t = 1883)]
        port: u16,
        /// Label copied into the report.
        #[arg(long, default_value = "broker")]
        label: String,
        /// Connections to open (N).
        #[arg(long, short = 'n', default_value_t = 10_000)]
        connections: usize,
        /// Loopback source addresses 127.0.0.2.. to spread over (default: one per 20,000
        /// connections on loopback, none otherwise).
        #[arg(long)]
        source_addrs: Option<usize>,
        /// Seconds to hold every connection open after the memory reading.
        #[arg(long, default_value_t = 5.0)]
        hold: f64,
        /// Seconds to wait before each memory reading.
        #[arg(long, default_value_t = 2.0)]
        settle: f64,
        /// Keep-alive in CONNECT, seconds (PINGREQ every half of it).
        #[arg(long, default_value_t = thingwatch_bench::idle::DEFAULT_IDLE_KEEP_ALIVE_SECS)]
        keep_alive: u16,
        /// Most handshakes in progress at once (below the usual listen backlog of 128, so no
        /// SYN is dropped and retried a second later).
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        /// Client-ID prefix (default twi-<run>-).
        #[arg(long)]
        client_prefix: Option<String>,
        /// PID of the broker process, whose VmRSS and CPU are read (Linux /proc).
        #[arg(long)]
        broker_pid: Option<u32>,
    },
}

/// Where to connect, how long to run, and how to label the result.
#[derive(Debug, Args)]
struct Target {
    /// Broker host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker MQTT port.
    #[arg(long, default_value_t = 1883)]
    port: u16,
    /// Label copied into the report (e.g. mosquitto, thingwatch-INFO).
    #[arg(long, default_value = "broker")]
    label: String,
    /// Measurement window, seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up before measuring, seconds.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// PID of the broker process, to report its CPU time too (Linux /proc).
    #[arg(long)]
    broker_pid: Option<u32>,
}

#[derive(Debug, Args)]
struct Common {
    #[command(flatten)]
    target: Target,
    /// Who publishes where: one-to-one (N→N distinct topics), fan-in (N→1 on a `+` wildcard) or
    /// fan-out (1→N on one topic).
    #[arg(long, value_enum, default_value_t = Scenario::OneToOne)]
    scenario: Scenario,
    /// N: publisher/subscriber pairs (one-to-one), publishers (fan-in) or subscribers (fan-out).
    #[arg(long, short = 'n', default_value_t = 10)]
    pairs: usize,
    /// QoS of publishes and subscriptions (0 or 1).
    #[arg(long, default_value_t = 0)]
    qos: u8,
    /// Payload size in bytes (at least 16: sequence number + timestamp).
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// End-to-end window per pair: most messages sent but not yet received.
    #[arg(long, default_value_t = DEFAULT_WINDOW)]
    window: u32,
    /// Fixed client-ID prefix: publishers connect as <prefix>p<i>, subscribers as <prefix>s<i>
    /// (default: a per-run prefix twb-<run>-).
    #[arg(long)]
    client_prefix: Option<String>,
}

fn raw_config(common: Common, latency_rate_per_s: Option<u32>) -> RawConfig {
    let t = common.target;
    RawConfig {
        host: t.host,
        port: t.port,
        label: t.label,
        latency_rate_per_s,
        scenario: common.scenario,
        pairs: common.pairs,
        qos: common.qos,
        payload_bytes: common.payload,
        warmup_s: t.warmup,
        duration_s: t.duration,
        window: common.window,
        broker_pid: t.broker_pid,
        client_prefix: common.client_prefix,
    }
}

/// What `main` prints: the JSON line, the human line, and whether the run was clean.
struct Printed {
    json: String,
    human: String,
    clean: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")
}

fn publish_mode(raw: RawConfig) -> anyhow::Result<Printed> {
    let cfg = BenchConfig::validate(raw).context("invalid arguments")?;
    let report = runtime()?
        .block_on(thingwatch_bench::run(&cfg))
        .with_context(|| format!("benchmark against {}:{} failed", cfg.host, cfg.port))?;
    Ok(Printed {
        json: report.to_json_line().context("encoding the report")?,
        human: report.human_line(),
        clean: report.is_clean(),
    })
}

fn connect_mode(raw: RawConnectConfig) -> anyhow::Result<Printed> {
    let cfg = ConnectConfig::validate(raw).context("invalid arguments")?;
    let report = runtime()?
        .block_on(thingwatch_bench::run_connect(&cfg))
        .with_context(|| format!("benchmark against {}:{} failed", cfg.host, cfg.port))?;
    Ok(Printed {
        json: report.to_json_line().context("encoding the report")?,
        human: report.human_line(),
        clean: report.is_clean(),
    })
}

fn idle_mode(raw: RawIdleConfig) -> anyhow::Result<Printed> {
    let cfg = IdleConfig::validate(raw).context("invalid arguments")?;
    let report = runtime()?
        .block_on(thingwatch_bench::run_idle(&cfg))
        .with_context(|| format!("idle connections to {}:{} failed", cfg.host, cfg.port))?;
    Ok(Printed {
        json: report.to_json_line().context("encoding the report")?,
        human: report.human_line(),
        clean: report.is_clean(),
    })
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let printed = match cli.mode {
        ModeCmd::Throughput { common } => publish_mode(raw_config(common, None))?,
        ModeCmd::Latency { common, rate } => publish_mode(raw_config(common, Some(rate)))?,
        ModeCmd::Connect {
            target: t,
            workers,
            clients,
            client_prefix,
        } => connect_mode(RawConnectConfig {
            host: t.host,
            port: t.port,
            label: t.label,
            workers,
            clients,
            client_prefix,
            warmup_s: t.warmup,
            duration_s: t.duration,
            broker_pid: t.broker_pid,
        })?,
        ModeCmd::Idle {
            host,
            port,
            label,
            connections,
            source_addrs,
            hold,
            settle,
            keep_alive,
            concurrency,
            client_prefix,
            broker_pid,
        } => idle_mode(RawIdleConfig {
            host,
            port,
            label,
            connections,
            source_addrs,
            hold_s: hold,
            settle_s: settle,
            keep_alive_s: keep_alive,
            concurrency,
            client_prefix,
            broker_pid,
        })?,
    };
    println!("{}", printed.json);
    eprintln!("{}", printed.human);
    Ok(if printed.clean {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(2)
    })
}
