//! `thingwatch-bench`: an MQTT 3.1.1 load generator for benchmarking Thingwatch against
//! Mosquitto, built on rumqttc and tokio.
//!
//! One run = one mode. The publish modes run one scenario (`one-to-one`: N publishers → N
//! subscribers on distinct topics; `fan-in`: N publishers → 1 subscriber on a `+` wildcard;
//! `fan-out`: 1 publisher → N subscribers on one topic): `throughput` (messages/s delivered to subscribers under an
//! end-to-end window) or `latency` (publish→deliver percentiles at a fixed total rate); their
//! result is a [`report::RunReport`]. The `connect` mode runs M workers that each repeat
//! CONNECT → CONNACK → DISCONNECT with client IDs from a fixed prefix (so they can be things in
//! thing groups); its result is a [`report::ConnectReport`]. The `idle` mode opens N
//! connections that only keep alive and reports the broker's resident memory per connection
//! ([`idle::IdleReport`]). The binary prints each as one JSON line plus one human line.
//!
//! Modules: [`config`] (validated run configurations and their limits), [`payload`] (the
//! 16-byte sequence/timestamp header), [`runner`] (the publish modes' clients and the
//! measurement), [`connect`] (the connect mode), [`idle`] (the idle-connection mode), [`mem`] (RSS and
//! open-file limit), [`stats`] (percentiles), [`cpu`] (generator
//! and broker CPU time), [`report`] (output).

pub mod config;
pub mod connect;
pub mod cpu;
pub mod idle;
pub mod mem;
pub mod payload;
pub mod report;
pub mod runner;
pub mod stats;

pub use config::{
    BenchConfig, ConfigError, ConnectConfig, Mode, Qos, RawConfig, RawConnectConfig, Scenario,
};
pub use connect::run_connect;
pub use idle::{IdleConfig, IdleReport, RawIdleConfig, run_idle};
pub use report::{ConnectReport, RunReport};
pub use runner::{RunError, run};
