//! Run configuration for one benchmark run: the scenario, mode, QoS, payload size, timing and
//! flow-control window, with the limits that bound them and the validation that checks them.
//!
//! The raw values come from the command line (`main.rs`); [`BenchConfig::validate`] turns them
//! into a configuration the runner can trust, so the runner never panics on user input.

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
/// broker's per-subscriber queue far below Mosquitto's default `max_queued_messages` of 1000.
pub const DEFAULT_WINDOW: u32 = 100;

/// MQTT keep-alive the generator asks for, in seconds. AWS IoT Core accepts 30–1200 s
/// (AWS IoT Core quotas, "Keep-alive"); 60 s is inside that range and far longer than a run's
/// idle gaps.
pub const KEEP_ALIVE_SECS: u64 = 60;

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

/// Which clients publish to which topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// N publishers → N subscribers: publisher `i` publishes to its own topic
    /// `bench/<run>/<i>`, which exactly one subscriber (subscriber `i`) subscribes to.
    OneToOne,
}

impl Scenario {
    /// The scenario's command-line and report name, e.g. `one-to-one`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::OneToOne => "one-to-one",
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
    /// Number of publisher/subscriber pairs (N).
    pub pairs: usize,
    /// QoS of every publish and subscription.
    pub qos: Qos,
    /// Payload size in bytes, `MIN_PAYLOAD_BYTES..=MAX_PAYLOAD_BYTES`.
    pub payload_bytes: usize,
    /// Time spent publishing before measurement starts (connections warm, buffers sized).
    pub warmup: Duration,
    /// Length of the measurement window.
    pub duration: Duration,
    /// End-to-end window: the most messages a publisher may have sent that its subscriber has
    /// not yet received.
    pub window: u32,
    /// PID of the broker process, whose CPU time is then reported next to the generator's.
    pub broker_pid: Option<u32>,
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
}

/// Why a [`RawConfig`] was rejected.
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
        if !(raw.duration_s.is_finite() && raw.duration_s > 0.0 && raw.duration_s <= MAX_SECONDS) {
            return Err(ConfigError::Duration(raw.duration_s));
        }
        if !(raw.warmup_s.is_finite() && (0.0..=MAX_SECONDS).contains(&raw.warmup_s)) {
            return Err(ConfigError::Warmup(raw.warmup_s));
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
        })
    }
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
}
