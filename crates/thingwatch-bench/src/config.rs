//! Run configuration: [`BenchConfig`] for the publish modes (scenario, mode, QoS, payload size,
//! timing, flow-control window, client-ID prefix) and [`ConnectConfig`] for the connect mode
//! (workers, client IDs, timing), with the limits that bound them and the validation that checks
//! them.
//!
//! The raw values come from the command line (`main.rs`); [`BenchConfig::validate`] and
//! [`ConnectConfig::validate`] turn them into configurations the runners can trust, so no runner
//! panics on user input.

use std::time::Duration;

use serde::Serialize;

/// Bytes at the start of every payload that carry the sequence number and send timestamp
/// (see [`crate::payload`]); the smallest payload the generator can send.
pub const MIN_PAYLOAD_BYTES: usize = crate::payload::HEADER_BYTES;

/// Largest payload the generator sends: AWS IoT Core's MQTT payload limit of 128 KB (AWS General
/// Reference, *AWS IoT Core endpoints and quotas*, "MQTT payload size"), so every run is one a
/// real AWS IoT endpoint would also accept.
pub const MAX_PAYLOAD_BYTES: usize = 128 * 1024;

/// Most publisher/subscriber pairs in one run (each pair is two MQTT connections).
pub const MAX_PAIRS: usize = 1000;

/// Largest end-to-end window per pair. MQTT packet identifiers are 16-bit
/// ([MQTT-2.3.1-1]), so a QoS 1 client can never have more than 65,535 publishes in flight.
pub const MAX_WINDOW: u32 = 65_535;

/// Default end-to-end window per pair: AWS IoT Core's limit of 100 unacknowledged QoS 1 messages
/// per client (AWS General Reference, *AWS IoT Core endpoints and quotas*), which also keeps the
/// broker's per-subscriber queue far below Mosquitto's default `max_queued_messages` of 1000 in
/// one-to-one and fan-out. Fan-in puts `pairs × window` messages on one subscriber, so with 10
/// publishers Mosquitto's queue limit can drop QoS 1 messages (reported as `lost`).
pub const DEFAULT_WINDOW: u32 = 100;

/// MQTT keep-alive the generator asks for, in seconds. AWS IoT Core accepts 30–1200 s
/// (AWS IoT Core quotas, "Keep-alive"); 60 s is inside that range and far longer than a run's
/// idle gaps.
pub const KEEP_ALIVE_SECS: u64 = 60;

/// Longest client ID the generator uses, in bytes: AWS IoT Core's MQTT client ID limit of 128
/// bytes of UTF-8 (AWS General Reference, *AWS IoT Core endpoints and quotas*, "Client ID
/// size"), which is also the longest thing name (AWS IoT API Reference `CreateThing`,
/// `thingName` 1–128 characters), so every generated ID can name a thing.
pub const MAX_CLIENT_ID_BYTES: usize = 128;

/// Most concurrent connect workers in connect mode (each holds at most one connection).
pub const MAX_CONNECT_WORKERS: usize = 1000;

/// Most distinct client IDs connect mode cycles through.
pub const MAX_CONNECT_CLIENTS: usize = 1_000_000;

/// How the publishers are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Publish as fast as the end-to-end window allows; the headline number is messages/s
    /// delivered to subscribers.
    Throughput,
    /// Publish at a fixed total rate (messages/s across all publishers); the headline numbers
    /// are publish→deliver latency percentiles.
    Latency {
        /// Target total publish rate across all publishers, in messages per second.
        rate_per_s: u32,
    },
}

/// Which clients publish to which topics. Every scenario has N *links* (`pairs`), one per
/// (publisher, subscriber) pair that messages flow along; windows, losses and ordering are
/// tracked per link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// N publishers → N subscribers: publisher `i` publishes to its own topic
    /// `bench/<run>/<i>`, which exactly one subscriber (subscriber `i`) subscribes to.
    OneToOne,
    /// N publishers → 1 subscriber: publisher `i` publishes to `bench/<run>/<i>`; the one
    /// subscriber subscribes to the single-level wildcard filter `bench/<run>/+`
    /// ([MQTT-4.7.1.3]) and tells the publishers apart by the topic's last level.
    FanIn,
    /// 1 publisher → N subscribers: the publisher publishes to `bench/<run>/0`, which all N
    /// subscribers subscribe to, so every publish is delivered N times.
    FanOut,
}

impl Scenario {
    /// The scenario's command-line and report name, e.g. `one-to-one`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::OneToOne => "one-to-one",
            Scenario::FanIn => "fan-in",
            Scenario::FanOut => "fan-out",
        }
    }

    /// Number of publisher connections for `pairs` links: `pairs`, or 1 for fan-out.
    pub fn publishers(self, pairs: usize) -> usize {
        match self {
            Scenario::OneToOne | Scenario::FanIn => pairs,
            Scenario::FanOut => 1,
        }
    }

    /// Number of subscriber connections for `pairs` links: `pairs`, or 1 for fan-in.
    pub fn subscribers(self, pairs: usize) -> usize {
        match self {
            Scenario::OneToOne | Scenario::FanOut => pairs,
            Scenario::FanIn => 1,
        }
    }
}

/// MQTT quality of service used for both the PUBLISH and the SUBSCRIBE ([MQTT-4.3]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Qos {
    /// QoS 0, at most once ([MQTT-4.3.1]).
    AtMostOnce,
    /// QoS 1, at least once ([MQTT-4.3.2]).
    AtLeastOnce,
}

impl Qos {
    /// The numeric QoS level, 0 or 1.
    pub fn level(self) -> u8 {
        match self {
            Qos::AtMostOnce => 0,
            Qos::AtLeastOnce => 1,
        }
    }

    /// Parses a numeric QoS level. QoS 2 is rejected because AWS IoT Core does not support it.
    ///
    /// # Errors
    /// [`ConfigError::Qos`] for anything other than 0 or 1.
    pub fn from_level(level: u8) -> Result<Self, ConfigError> {
        match level {
            0 => Ok(Qos::AtMostOnce),
            1 => Ok(Qos::AtLeastOnce),
            other => Err(ConfigError::Qos(other)),
        }
    }

    /// The rumqttc equivalent.
    pub fn to_rumqttc(self) -> rumqttc::QoS {
        match self {
            Qos::AtMostOnce => rumqttc::QoS::AtMostOnce,
            Qos::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        }
    }
}

/// A validated configuration for one run. Build it with [`BenchConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchConfig {
    /// Broker host name or IP address.
    pub host: String,
    /// Broker MQTT port (plain TCP).
    pub port: u16,
    /// Free-form label copied into the report (e.g. `mosquitto`, `thingwatch-INFO`).
    pub label: String,
    /// Throughput or latency mode.
    pub mode: Mode,
    /// Which clients publish where.
    pub scenario: Scenario,
    /// Number of publisher/subscriber links (N): N pairs (one-to-one), N publishers (fan-in) or
    /// N subscribers (fan-out).
    pub pairs: usize,
    /// QoS of every publish and subscription.
    pub qos: Qos,
    /// Payload size in bytes, `MIN_PAYLOAD_BYTES..=MAX_PAYLOAD_BYTES`.
    pub payload_bytes: usize,
    /// Time spent publishing before measurement starts (connections warm, buffers sized).
    pub warmup: Duration,
    /// Length of the measurement window.
    pub duration: Duration,
    /// End-to-end window: the most messages a publisher may have sent that one of its
    /// subscribers has not yet received (fan-out: message `k` waits until *every* subscriber
    /// has received `k - window`).
    pub window: u32,
    /// PID of the broker process, whose CPU time is then reported next to the generator's.
    pub broker_pid: Option<u32>,
    /// Fixed client-ID prefix: publisher `i` connects as `<prefix>p<i>` and subscriber `i` as
    /// `<prefix>s<i>`, so the IDs can be registered as things beforehand. `None`: a per-run
    /// prefix `twb-<run>-`, which keeps concurrent runs apart.
    pub client_prefix: Option<String>,
}

/// The unvalidated values a user supplied; see [`BenchConfig`] for what each field means.
#[derive(Debug, Clone, PartialEq)]
pub struct RawConfig {
    /// Broker host.
    pub host: String,
    /// Broker MQTT port.
    pub port: u16,
    /// Report label.
    pub label: String,
    /// `None` for throughput mode, `Some(rate)` (messages/s in total) for latency mode.
    pub latency_rate_per_s: Option<u32>,
    /// Scenario.
    pub scenario: Scenario,
    /// Number of pairs.
    pub pairs: usize,
    /// QoS level, 0 or 1.
    pub qos: u8,
    /// Payload size in bytes.
    pub payload_bytes: usize,
    /// Warm-up in seconds.
    pub warmup_s: f64,
    /// Measurement window in seconds.
    pub duration_s: f64,
    /// End-to-end window per pair.
    pub window: u32,
    /// Broker PID, if known.
    pub broker_pid: Option<u32>,
    /// Fixed client-ID prefix, if any.
    pub client_prefix: Option<String>,
}

/// Why a [`RawConfig`] or [`RawConnectConfig`] was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// QoS other than 0 or 1.
    #[error("QoS must be 0 or 1 (AWS IoT Core does not support QoS 2), got {0}")]
    Qos(u8),
    /// Payload outside `MIN_PAYLOAD_BYTES..=MAX_PAYLOAD_BYTES`.
    #[error("payload must be {MIN_PAYLOAD_BYTES}..={MAX_PAYLOAD_BYTES} bytes, got {0}")]
    Payload(usize),
    /// Pairs outside `1..=MAX_PAIRS`.
    #[error("pairs must be 1..={MAX_PAIRS}, got {0}")]
    Pairs(usize),
    /// Window outside `1..=MAX_WINDOW`.
    #[error("window must be 1..={MAX_WINDOW}, got {0}")]
    Window(u32),
    /// Duration not a positive finite number of seconds (at most one day).
    #[error("duration must be a positive number of seconds up to 86400, got {0}")]
    Duration(f64),
    /// Warm-up negative, not finite or over one day.
    #[error("warm-up must be 0..=86400 seconds, got {0}")]
    Warmup(f64),
    /// Latency-mode target rate of zero.
    #[error("latency rate must be at least 1 message/s, got {0}")]
    Rate(u32),
    /// A client-ID prefix with a character outside the thing-name alphabet `[a-zA-Z0-9:_-]`
    /// (AWS IoT API Reference `CreateThing`, `thingName` pattern).
    #[error(
        "client prefix {0:?} may only contain a-z A-Z 0-9 : _ -, so the client IDs can be thing names"
    )]
    ClientPrefixChars(String),
    /// A client-ID prefix so long that the longest generated ID would exceed
    /// [`MAX_CLIENT_ID_BYTES`].
    #[error(
        "client prefix {prefix:?} makes client IDs of {longest} bytes, more than {MAX_CLIENT_ID_BYTES}"
    )]
    ClientPrefixLength {
        /// The prefix.
        prefix: String,
        /// Length of the longest client ID it would produce, bytes.
        longest: usize,
    },
    /// Connect workers outside `1..=MAX_CONNECT_WORKERS`.
    #[error("workers must be 1..={MAX_CONNECT_WORKERS}, got {0}")]
    Workers(usize),
    /// Connect-mode client count outside `workers..=MAX_CONNECT_CLIENTS` (every worker needs
    /// client IDs of its own, so no two connections ever share one).
    #[error(
        "clients must be at least the number of workers ({workers}) and at most {MAX_CONNECT_CLIENTS}, got {clients}"
    )]
    Clients {
        /// The requested client count.
        clients: usize,
        /// The requested worker count.
        workers: usize,
    },
    /// Idle mode's host is not an IPv4 address (it binds IPv4 source addresses).
    #[error("host must be an IPv4 address in idle mode, got {0:?}")]
    Host(String),
    /// Idle connections outside `1..=MAX_IDLE_CONNECTIONS`.
    #[error("connections must be 1..={max}, got {0}", max = crate::idle::MAX_IDLE_CONNECTIONS)]
    Connections(usize),
    /// More loopback source addresses than `127.0.0.2..=127.0.0.254`, or any for a broker
    /// that is not on loopback.
    #[error(
        "source addresses must be 0..={max} and only for a loopback broker, got {0}",
        max = crate::idle::MAX_SOURCE_ADDRS
    )]
    SourceAddrs(usize),
    /// Keep-alive below AWS IoT Core's 30 s minimum (AWS IoT Core quotas, "Keep-alive").
    #[error(
        "keep-alive must be at least {min} s, got {0}",
        min = crate::idle::MIN_IDLE_KEEP_ALIVE_SECS
    )]
    KeepAlive(u16),
}

/// Checks a client-ID prefix: thing-name characters only, and `prefix + suffix` at most
/// [`MAX_CLIENT_ID_BYTES`] where `longest_suffix` is the longest suffix the mode appends.
pub(crate) fn check_client_prefix(prefix: &str, longest_suffix: usize) -> Result<(), ConfigError> {
    let thing_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-');
    if !prefix.chars().all(thing_char) {
        return Err(ConfigError::ClientPrefixChars(prefix.to_string()));
    }
    let longest = prefix.len() + longest_suffix;
    if longest > MAX_CLIENT_ID_BYTES {
        return Err(ConfigError::ClientPrefixLength {
            prefix: prefix.to_string(),
            longest,
        });
    }
    Ok(())
}

/// Number of decimal digits of `n` (1 for 0).
fn decimal_digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Longest warm-up or duration accepted, in seconds (one day); anything longer is a typo.
const MAX_SECONDS: f64 = 86_400.0;

impl BenchConfig {
    /// Checks every field of `raw` against the limits above.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let qos = Qos::from_level(raw.qos)?;
        if !(MIN_PAYLOAD_BYTES..=MAX_PAYLOAD_BYTES).contains(&raw.payload_bytes) {
            return Err(ConfigError::Payload(raw.payload_bytes));
        }
        if !(1..=MAX_PAIRS).contains(&raw.pairs) {
            return Err(ConfigError::Pairs(raw.pairs));
        }
        if !(1..=MAX_WINDOW).contains(&raw.window) {
            return Err(ConfigError::Window(raw.window));
        }
        check_seconds(raw.duration_s, raw.warmup_s)?;
        if let Some(prefix) = &raw.client_prefix {
            // `p` or `s`, then the largest pair index.
            check_client_prefix(prefix, 1 + decimal_digits(raw.pairs - 1))?;
        }
        let mode = match raw.latency_rate_per_s {
            None => Mode::Throughput,
            Some(0) => return Err(ConfigError::Rate(0)),
            Some(rate_per_s) => Mode::Latency { rate_per_s },
        };
        Ok(BenchConfig {
            host: raw.host,
            port: raw.port,
            label: raw.label,
            mode,
            scenario: raw.scenario,
            pairs: raw.pairs,
            qos,
            payload_bytes: raw.payload_bytes,
            warmup: Duration::from_secs_f64(raw.warmup_s),
            duration: Duration::from_secs_f64(raw.duration_s),
            window: raw.window,
            broker_pid: raw.broker_pid,
            client_prefix: raw.client_prefix,
        })
    }
}

/// A validated connect-mode configuration: `workers` concurrent loops, each repeating
/// CONNECT → CONNACK → DISCONNECT with client IDs `<client_prefix><i>` for
/// `i` in `0..clients`. Worker `w` uses the indices `w, w + workers, w + 2·workers, …` in turn,
/// so no two connections ever share a client ID (which would make the broker close the older
/// one, [MQTT-3.1.4-2]). Build it with [`ConnectConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectConfig {
    /// Broker host name or IP address.
    pub host: String,
    /// Broker MQTT port (plain TCP).
    pub port: u16,
    /// Free-form label copied into the report.
    pub label: String,
    /// Concurrent connect loops, `1..=MAX_CONNECT_WORKERS`.
    pub workers: usize,
    /// Distinct client IDs, `workers..=MAX_CONNECT_CLIENTS`.
    pub clients: usize,
    /// Client-ID prefix (thing-name characters; may be empty).
    pub client_prefix: String,
    /// Time spent connecting before measurement starts.
    pub warmup: Duration,
    /// Length of the measurement window.
    pub duration: Duration,
    /// PID of the broker process, whose CPU time is then reported next to the generator's.
    pub broker_pid: Option<u32>,
}

/// The unvalidated connect-mode values a user supplied; see [`ConnectConfig`] for each field.
#[derive(Debug, Clone, PartialEq)]
pub struct RawConnectConfig {
    /// Broker host.
    pub host: String,
    /// Broker MQTT port.
    pub port: u16,
    /// Report label.
    pub label: String,
    /// Concurrent workers.
    pub workers: usize,
    /// Distinct client IDs.
    pub clients: usize,
    /// Client-ID prefix.
    pub client_prefix: String,
    /// Warm-up in seconds.
    pub warmup_s: f64,
    /// Measurement window in seconds.
    pub duration_s: f64,
    /// Broker PID, if known.
    pub broker_pid: Option<u32>,
}

impl ConnectConfig {
    /// Checks every field of `raw` against the limits above.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(raw: RawConnectConfig) -> Result<Self, ConfigError> {
        if !(1..=MAX_CONNECT_WORKERS).contains(&raw.workers) {
            return Err(ConfigError::Workers(raw.workers));
        }
        if !(raw.workers..=MAX_CONNECT_CLIENTS).contains(&raw.clients) {
            return Err(ConfigError::Clients {
                clients: raw.clients,
                workers: raw.workers,
            });
        }
        check_client_prefix(&raw.client_prefix, decimal_digits(raw.clients - 1))?;
        check_seconds(raw.duration_s, raw.warmup_s)?;
        Ok(ConnectConfig {
            host: raw.host,
            port: raw.port,
            label: raw.label,
            workers: raw.workers,
            clients: raw.clients,
            client_prefix: raw.client_prefix,
            warmup: Duration::from_secs_f64(raw.warmup_s),
            duration: Duration::from_secs_f64(raw.duration_s),
            broker_pid: raw.broker_pid,
        })
    }

    /// The client ID of index `i`: `<client_prefix><i>`.
    pub fn client_id(&self, i: usize) -> String {
        format!("{}{i}", self.client_prefix)
    }
}

/// Checks a measurement duration (positive, at most one day) and warm-up (0 to one day).
fn check_seconds(duration_s: f64, warmup_s: f64) -> Result<(), ConfigError> {
    if !(duration_s.is_finite() && duration_s > 0.0 && duration_s <= MAX_SECONDS) {
        return Err(ConfigError::Duration(duration_s));
    }
    if !(warmup_s.is_finite() && (0.0..=MAX_SECONDS).contains(&warmup_s)) {
        return Err(ConfigError::Warmup(warmup_s));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawConfig {
        RawConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            label: "t".into(),
            latency_rate_per_s: None,
            scenario: Scenario::OneToOne,
            pairs: 10,
            qos: 0,
            payload_bytes: 64,
            warmup_s: 1.0,
            duration_s: 10.0,
            window: DEFAULT_WINDOW,
            broker_pid: None,
            client_prefix: None,
        }
    }

    #[test]
    fn accepts_defaults_and_converts_units() {
        let cfg = BenchConfig::validate(raw()).expect("defaults are valid");
        assert_eq!(cfg.duration, Duration::from_secs(10));
        assert_eq!(cfg.warmup, Duration::from_secs(1));
        assert_eq!(cfg.qos, Qos::AtMostOnce);
        assert_eq!(cfg.mode, Mode::Throughput);
    }

    #[test]
    fn rejects_out_of_range_values() {
        type Edit = fn(&mut RawConfig);
        let cases: &[(Edit, ConfigError)] = &[
            (|r| r.qos = 2, ConfigError::Qos(2)),
            (
                |r| r.payload_bytes = MIN_PAYLOAD_BYTES - 1,
                ConfigError::Payload(MIN_PAYLOAD_BYTES - 1),
            ),
            (
                |r| r.payload_bytes = MAX_PAYLOAD_BYTES + 1,
                ConfigError::Payload(MAX_PAYLOAD_BYTES + 1),
            ),
            (|r| r.pairs = 0, ConfigError::Pairs(0)),
            (
                |r| r.pairs = MAX_PAIRS + 1,
                ConfigError::Pairs(MAX_PAIRS + 1),
            ),
            (|r| r.window = 0, ConfigError::Window(0)),
            (|r| r.duration_s = 0.0, ConfigError::Duration(0.0)),
            (|r| r.duration_s = 1e9, ConfigError::Duration(1e9)),
            (|r| r.warmup_s = -1.0, ConfigError::Warmup(-1.0)),
            (|r| r.latency_rate_per_s = Some(0), ConfigError::Rate(0)),
        ];
        for (edit, want) in cases {
            let mut r = raw();
            edit(&mut r);
            assert_eq!(BenchConfig::validate(r), Err(want.clone()));
        }
    }

    #[test]
    fn accepts_boundaries() {
        let mut r = raw();
        r.payload_bytes = MIN_PAYLOAD_BYTES;
        r.window = MAX_WINDOW;
        r.qos = 1;
        r.warmup_s = 0.0;
        r.latency_rate_per_s = Some(1);
        let cfg = BenchConfig::validate(r).expect("boundaries are valid");
        assert_eq!(cfg.qos, Qos::AtLeastOnce);
        assert_eq!(cfg.mode, Mode::Latency { rate_per_s: 1 });
    }

    fn raw_connect() -> RawConnectConfig {
        RawConnectConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            label: "t".into(),
            workers: 10,
            clients: 1000,
            client_prefix: "dev-".into(),
            warmup_s: 1.0,
            duration_s: 3.0,
            broker_pid: None,
        }
    }

    #[test]
    fn client_prefix_is_checked_against_the_longest_id() {
        let mut r = raw();
        r.client_prefix = Some("tp-".into());
        let cfg = BenchConfig::validate(r).expect("valid prefix");
        assert_eq!(cfg.client_prefix.as_deref(), Some("tp-"));

        // 10 pairs: the longest ID is `<prefix>p9`, two bytes longer than the prefix.
        let mut r = raw();
        r.client_prefix = Some("x".repeat(MAX_CLIENT_ID_BYTES - 2));
        assert!(BenchConfig::validate(r).is_ok());
        let mut r = raw();
        r.client_prefix = Some("x".repeat(MAX_CLIENT_ID_BYTES - 1));
        assert_eq!(
            BenchConfig::validate(r),
            Err(ConfigError::ClientPrefixLength {
                prefix: "x".repeat(MAX_CLIENT_ID_BYTES - 1),
                longest: MAX_CLIENT_ID_BYTES + 1,
            })
        );
        for bad in ["a b", "dev/", "dév-", "a.b"] {
            let mut r = raw();
            r.client_prefix = Some(bad.into());
            assert_eq!(
                BenchConfig::validate(r),
                Err(ConfigError::ClientPrefixChars(bad.into()))
            );
        }
    }

    #[test]
    fn connect_config_accepts_defaults_and_names_clients() {
        let cfg = ConnectConfig::validate(raw_connect()).expect("valid");
        assert_eq!(cfg.duration, Duration::from_secs(3));
        assert_eq!(cfg.client_id(0), "dev-0");
        assert_eq!(cfg.client_id(999), "dev-999");
        let mut r = raw_connect();
        r.client_prefix = String::new();
        r.workers = 1;
        r.clients = 1;
        assert_eq!(ConnectConfig::validate(r).expect("valid").client_id(0), "0");
    }

    #[test]
    fn connect_config_rejects_out_of_range_values() {
        type Edit = fn(&mut RawConnectConfig);
        let cases: &[(Edit, ConfigError)] = &[
            (|r| r.workers = 0, ConfigError::Workers(0)),
            (
                |r| r.workers = MAX_CONNECT_WORKERS + 1,
                ConfigError::Workers(MAX_CONNECT_WORKERS + 1),
            ),
            (
                |r| r.clients = 9,
                ConfigError::Clients {
                    clients: 9,
                    workers: 10,
                },
            ),
            (
                |r| r.clients = MAX_CONNECT_CLIENTS + 1,
                ConfigError::Clients {
                    clients: MAX_CONNECT_CLIENTS + 1,
                    workers: 10,
                },
            ),
            (
                |r| r.client_prefix = "dev 1".into(),
                ConfigError::ClientPrefixChars("dev 1".into()),
            ),
            (
                // 1000 clients: the longest ID is the prefix plus "999".
                |r| r.client_prefix = "y".repeat(MAX_CLIENT_ID_BYTES - 2),
                ConfigError::ClientPrefixLength {
                    prefix: "y".repeat(MAX_CLIENT_ID_BYTES - 2),
                    longest: MAX_CLIENT_ID_BYTES + 1,
                },
            ),
            (|r| r.duration_s = f64::NAN, ConfigError::Duration(f64::NAN)),
            (
                |r| r.warmup_s = f64::INFINITY,
                ConfigError::Warmup(f64::INFINITY),
            ),
        ];
        for (edit, want) in cases {
            let mut r = raw_connect();
            edit(&mut r);
            let got = ConnectConfig::validate(r);
            // NaN != NaN, so compare the messages.
            assert_eq!(
                got.map_err(|e| e.to_string()),
                Err(want.to_string()),
                "{want:?}"
            );
        }
    }

    #[test]
    fn decimal_digits_table() {
        for (n, want) in [
            (0, 1),
            (9, 1),
            (10, 2),
            (999, 3),
            (1000, 4),
            (usize::MAX, 20),
        ] {
            assert_eq!(decimal_digits(n), want, "{n}");
        }
    }
}
