//! `thingwatch-bench`: an MQTT 3.1.1 load generator for benchmarking Thingwatch against
//! Mosquitto, built on rumqttc and tokio.
//!
//! One run = one scenario (today `one-to-one`: N publishers → N subscribers on distinct topics)
//! in one mode (`throughput`: messages/s delivered to subscribers under an end-to-end window;
//! `latency`: publish→deliver percentiles at a fixed total rate). The result is a
//! [`report::RunReport`], printed by the binary as one JSON line plus one human line.
//!
//! Modules: [`config`] (validated run configuration and its limits), [`payload`] (the 16-byte
//! sequence/timestamp header), [`runner`] (the clients and the measurement), [`stats`]
//! (percentiles), [`cpu`] (generator and broker CPU time), [`report`] (output).

pub mod config;
pub mod cpu;
pub mod payload;
pub mod report;
pub mod runner;
pub mod stats;

pub use config::{BenchConfig, ConfigError, Mode, Qos, RawConfig, Scenario};
pub use report::RunReport;
pub use runner::{RunError, run};
