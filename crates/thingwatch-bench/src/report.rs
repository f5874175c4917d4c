//! The result of one run: a serialisable [`RunReport`] for the publish modes or
//! [`ConnectReport`] for the connect mode, each printed as one JSON line (the machine-readable
//! contract that `scripts/bench.sh` and `scripts/bench-targets.sh` parse) plus a one-line human
//! summary. Both share `tool`, `schema`, `label`, `mode`, `broker`, `warmup_s`, `wall_s`, the
//! CPU fields, `host_cores` and `errors`; `mode` tells them apart.

use serde::Serialize;

use crate::config::{BenchConfig, ConnectConfig, Mode, Scenario};
use crate::stats::LatencySummary;

/// Version of the JSON line's shape; bump when a field changes meaning or is removed.
pub const REPORT_SCHEMA: u32 = 1;

/// Everything measured in one run. Counts cover the measurement window unless the field says
/// otherwise; rates are per second of measured wall time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Always `"thingwatch-bench"`.
    pub tool: &'static str,
    /// [`REPORT_SCHEMA`].
    pub schema: u32,
    /// The `--label` given on the command line.
    pub label: String,
    /// `"throughput"` or `"latency"`.
    pub mode: &'static str,
    /// Scenario run.
    pub scenario: Scenario,
    /// Broker address, `host:port`.
    pub broker: String,
    /// Publisher/subscriber links (N; see [`Scenario`]).
    pub pairs: usize,
    /// Publisher connections (N, or 1 for fan-out).
    pub publishers: usize,
    /// Subscriber connections (N, or 1 for fan-in).
    pub subscribers: usize,
    /// QoS level, 0 or 1.
    pub qos: u8,
    /// Payload size, bytes.
    pub payload_bytes: usize,
    /// End-to-end window per pair (messages a publisher may have outstanding).
    pub window: u32,
    /// Latency mode's target total rate, messages/s; `null` in throughput mode.
    pub target_rate_per_s: Option<u32>,
    /// Warm-up before measurement, seconds.
    pub warmup_s: f64,
    /// Measured wall time, seconds.
    pub wall_s: f64,
    /// Messages publishers handed to their MQTT clients during the window, counted once per
    /// link (fan-out: one publish to N subscribers counts N), so it compares with `delivered`.
    pub sent: u64,
    /// Messages subscribers received during the window (the headline count).
    pub delivered: u64,
    /// `delivered / wall_s`: the headline throughput, messages/s delivered to subscribers.
    pub delivered_per_s: f64,
    /// `sent / wall_s`, messages/s.
    pub sent_per_s: f64,
    /// Whole run (warm-up + window + drain): messages sent but never delivered, summed over
    /// links (a fan-out publish one subscriber missed counts once).
    pub lost: u64,
    /// Whole run (warm-up + window + drain): PUBLISH packets the publishers handed to their
    /// clients, once per publish (a fan-out publish counts once): what a broker logging at INFO
    /// records as `Publish-In` events.
    pub published_total: u64,
    /// Whole run: PUBLISH packets the subscribers received (`Publish-Out` events at INFO).
    pub received_total: u64,
    /// Whole run: received messages whose sequence number was not above the previous one from
    /// the same publisher (duplicates or reordering).
    pub out_of_order: u64,
    /// Whole run: received payloads that were not generator payloads of the configured size.
    pub malformed: u64,
    /// Whole run: times a publisher waited longer than the stall timeout for its window to
    /// open and wrote its outstanding messages off as lost.
    pub stalls: u64,
    /// Publish→deliver latency over messages delivered in the window; `null` if none.
    pub latency: Option<LatencySummary>,
    /// Generator's own user+system CPU time during the window, seconds (getrusage).
    pub generator_cpu_s: f64,
    /// `generator_cpu_s / wall_s`: cores the generator kept busy.
    pub generator_cpu_cores: f64,
    /// Generator CPU per delivered message, µs (publishing and receiving it); `null` if nothing
    /// was delivered.
    pub generator_cpu_us_per_msg: Option<f64>,
    /// Broker's CPU time during the window, seconds (`/proc/<pid>/stat`); `null` without
    /// `--broker-pid`.
    pub broker_cpu_s: Option<f64>,
    /// `broker_cpu_s / wall_s`; `null` without `--broker-pid`.
    pub broker_cpu_cores: Option<f64>,
    /// Broker CPU per delivered message, µs: a cost figure that is less sensitive than
    /// throughput to other load on the machine. `null` without `--broker-pid` or deliveries.
    pub broker_cpu_us_per_msg: Option<f64>,
    /// Cores available to this process (`std::thread::available_parallelism`).
    pub host_cores: usize,
    /// Connection or protocol errors seen during the run; a run with errors is not valid.
    pub errors: Vec<String>,
}

impl RunReport {
    /// An empty report for `cfg`, to be filled in by the runner.
    pub fn new(cfg: &BenchConfig) -> Self {
        let (mode, target_rate_per_s) = match cfg.mode {
            Mode::Throughput => ("throughput", None),
            Mode::Latency { rate_per_s } => ("latency", Some(rate_per_s)),
        };
        RunReport {
            tool: "thingwatch-bench",
            schema: REPORT_SCHEMA,
            label: cfg.label.clone(),
            mode,
            scenario: cfg.scenario,
            broker: format!("{}:{}", cfg.host, cfg.port),
            pairs: cfg.pairs,
            publishers: cfg.scenario.publishers(cfg.pairs),
            subscribers: cfg.scenario.subscribers(cfg.pairs),
            qos: cfg.qos.level(),
            payload_bytes: cfg.payload_bytes,
            window: cfg.window,
            target_rate_per_s,
            warmup_s: cfg.warmup.as_secs_f64(),
            wall_s: 0.0,
            sent: 0,
            delivered: 0,
            delivered_per_s: 0.0,
            sent_per_s: 0.0,
            lost: 0,
            published_total: 0,
            received_total: 0,
            out_of_order: 0,
            malformed: 0,
            stalls: 0,
            latency: None,
            generator_cpu_s: 0.0,
            generator_cpu_cores: 0.0,
            generator_cpu_us_per_msg: None,
            broker_cpu_s: None,
            broker_cpu_cores: None,
            broker_cpu_us_per_msg: None,
            host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            errors: Vec::new(),
        }
    }

    /// True when the run saw no connection errors and lost, duplicated or mangled nothing (for
    /// QoS 0 a loss is allowed by the protocol but still reported).
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.lost == 0 && self.out_of_order == 0 && self.malformed == 0
    }

    /// The report as one line of JSON.
    ///
    /// # Errors
    /// Only if serialisation fails, which the field types rule out.
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// One human-readable summary line.
    pub fn human_line(&self) -> String {
        let lat = match &self.latency {
            Some(l) => format!(
                "latency p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs",
                l.p50_us, l.p99_us, l.p999_us
            ),
            None => "latency n/a".to_string(),
        };
        let target = match self.target_rate_per_s {
            Some(r) => format!(" (target {r}/s)"),
            None => String::new(),
        };
        let per_msg = |us: Option<f64>| us.map_or(String::new(), |us| format!(" ({us:.1} µs/msg)"));
        let broker_cpu = match self.broker_cpu_cores {
            Some(c) => format!(
                ", broker CPU {c:.2} cores{}",
                per_msg(self.broker_cpu_us_per_msg)
            ),
            None => String::new(),
        };
        let problems = if self.is_clean() {
            String::new()
        } else {
            format!(
                " | PROBLEMS: lost {}, out-of-order {}, malformed {}, errors {:?}",
                self.lost, self.out_of_order, self.malformed, self.errors
            )
        };
        format!(
            "[{}] {} {} {}→{} qos{} payload={}B: delivered {:.0} msg/s{} (sent {:.0}/s) over {:.1} s | {} | generator CPU {:.2} of {} cores{}{}{}",
            self.label,
            self.mode,
            self.scenario.name(),
            self.publishers,
            self.subscribers,
            self.qos,
            self.payload_bytes,
            self.delivered_per_s,
            target,
            self.sent_per_s,
            self.wall_s,
            lat,
            self.generator_cpu_cores,
            self.host_cores,
            per_msg(self.generator_cpu_us_per_msg),
            broker_cpu,
            problems,
        )
    }
}

/// Everything measured in one connect-mode run. Counts cover the measurement window unless the
/// field says otherwise; rates are per second of measured wall time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectReport {
    /// Always `"thingwatch-bench"`.
    pub tool: &'static str,
    /// [`REPORT_SCHEMA`].
    pub schema: u32,
    /// The `--label` given on the command line.
    pub label: String,
    /// Always `"connect"`.
    pub mode: &'static str,
    /// Broker address, `host:port`.
    pub broker: String,
    /// Concurrent connect workers.
    pub workers: usize,
    /// Distinct client IDs cycled through.
    pub clients: usize,
    /// Client-ID prefix; the IDs are `<client_prefix>0 ..= <client_prefix><clients-1>`.
    pub client_prefix: String,
    /// Warm-up before measurement, seconds.
    pub warmup_s: f64,
    /// Measured wall time, seconds.
    pub wall_s: f64,
    /// CONNECT → CONNACK → DISCONNECT cycles whose CONNACK arrived during the window.
    pub connects: u64,
    /// `connects / wall_s`: the headline, connections accepted per second.
    pub connects_per_s: f64,
    /// Whole run (warm-up + window): connection attempts that failed (refused, reset, timed
    /// out). A run with failures is not valid.
    pub failed: u64,
    /// Connect latency over the window's connects: TCP connect + CONNECT written → CONNACK
    /// read, µs; `null` if none.
    pub latency: Option<LatencySummary>,
    /// Generator's own user+system CPU time during the window, seconds (getrusage).
    pub generator_cpu_s: f64,
    /// `generator_cpu_s / wall_s`: cores the generator kept busy.
    pub generator_cpu_cores: f64,
    /// Generator CPU per connect cycle, µs; `null` if nothing connected.
    pub generator_cpu_us_per_connect: Option<f64>,
    /// Broker's CPU time during the window, seconds (`/proc/<pid>/stat`); `null` without
    /// `--broker-pid`.
    pub broker_cpu_s: Option<f64>,
    /// `broker_cpu_s / wall_s`; `null` without `--broker-pid`.
    pub broker_cpu_cores: Option<f64>,
    /// Broker CPU per connect cycle (accept, CONNECT, CONNACK, DISCONNECT, close and the log
    /// events they produce), µs. `null` without `--broker-pid` or connects.
    pub broker_cpu_us_per_connect: Option<f64>,
    /// Cores available to this process (`std::thread::available_parallelism`).
    pub host_cores: usize,
    /// The first few distinct errors seen during the run (failed connects, CPU probes).
    pub errors: Vec<String>,
}

impl ConnectReport {
    /// An empty report for `cfg`, to be filled in by the runner.
    pub fn new(cfg: &ConnectConfig) -> Self {
        ConnectReport {
            tool: "thingwatch-bench",
            schema: REPORT_SCHEMA,
            label: cfg.label.clone(),
            mode: "connect",
            broker: format!("{}:{}", cfg.host, cfg.port),
            workers: cfg.workers,
            clients: cfg.clients,
            client_prefix: cfg.client_prefix.clone(),
            warmup_s: cfg.warmup.as_secs_f64(),
            wall_s: 0.0,
            connects: 0,
            connects_per_s: 0.0,
            failed: 0,
            latency: None,
            generator_cpu_s: 0.0,
            generator_cpu_cores: 0.0,
            generator_cpu_us_per_connect: None,
            broker_cpu_s: None,
            broker_cpu_cores: None,
            broker_cpu_us_per_connect: None,
            host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            errors: Vec::new(),
        }
    }

    /// True when no connect failed and no error was recorded.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.failed == 0
    }

    /// The report as one line of JSON.
    ///
    /// # Errors
    /// Only if serialisation fails, which the field types rule out.
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// One human-readable summary line.
    pub fn human_line(&self) -> String {
        let lat = match &self.latency {
            Some(l) => format!(
                "connect latency p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs",
                l.p50_us, l.p99_us, l.p999_us
            ),
            None => "connect latency n/a".to_string(),
        };
        let per = |us: Option<f64>| us.map_or(String::new(), |us| format!(" ({us:.1} µs/connect)"));
        let broker_cpu = match self.broker_cpu_cores {
            Some(c) => format!(
                ", broker CPU {c:.2} cores{}",
                per(self.broker_cpu_us_per_connect)
            ),
            None => String::new(),
        };
        let p = &self.client_prefix;
        let problems = if self.is_clean() {
            String::new()
        } else {
            format!(
                " | PROBLEMS: failed {}, errors {:?}",
                self.failed, self.errors
            )
        };
        format!(
            "[{}] connect workers={} clients={} ({p}0..{p}{}): {:.0} connects/s over {:.1} s | {} | generator CPU {:.2} of {} cores{}{}{}",
            self.label,
            self.workers,
            self.clients,
            self.clients.saturating_sub(1),
            self.connects_per_s,
            self.wall_s,
            lat,
            self.generator_cpu_cores,
            self.host_cores,
            per(self.generator_cpu_us_per_connect),
            broker_cpu,
            problems,
        )
    }
}
