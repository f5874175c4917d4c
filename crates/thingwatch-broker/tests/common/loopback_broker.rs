//! An in-process [`Broker`] on `127.0.0.1:0` (a test-support [`LoopbackServer`]) logging into a
//! [`MemorySink`], so tests can read the exact log entries and `AWS/IoT` counters.
//!
//! Shared by the broker's own tests and, through `#[path]`, by the shadow gateway's and the
//! bench's tests: it needs Thingwatch types (`Broker`, `Logger`), so it cannot live in
//! `thingwatch-test-support`, which depends on no Thingwatch crate.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use thingwatch_broker::{Broker, BrokerConfig, LoopbackAnonymous};
use thingwatch_events::{
    Dimension, Logger, LoggerSettings, LoggingConfig, MemorySink, MetricName, PipelineConfig,
    Protocol,
};
use thingwatch_test_support::server::LoopbackServer;
use thingwatch_test_support::{ACCOUNT, eventually};

/// A logger for the test account (node `n1`, default pipeline) writing into a fresh
/// [`MemorySink`], returned with it.
pub fn memory_logger(logging: impl Into<LoggingConfig>) -> (Logger, MemorySink) {
    let sink = MemorySink::new();
    let logger = Logger::start(
        LoggerSettings {
            account_id: ACCOUNT.into(),
            node_id: "n1".into(),
            pipeline: PipelineConfig::default(),
        },
        logging,
        Box::new(sink.clone()),
    );
    (logger, sink)
}

/// A broker serving on loopback, anonymous clients allowed (`LoopbackAnonymous`).
pub struct BrokerServer {
    server: LoopbackServer,
    /// Where it listens.
    pub addr: SocketAddr,
    /// What its logger wrote.
    pub sink: MemorySink,
    /// Its logger (flush before reading [`BrokerServer::sink`]).
    pub logger: Logger,
    /// The broker itself (for reserved-topic handlers, sessions, …).
    pub broker: Broker,
}

/// Opens a broker on `dir` with `config`, logging as `logging` says, and serves it on
/// `127.0.0.1:0`; once serving ends the broker is closed (its store flushed).
pub async fn start_broker(
    dir: &Path,
    config: BrokerConfig,
    logging: impl Into<LoggingConfig>,
) -> BrokerServer {
    let (logger, sink) = memory_logger(logging);
    let broker = Broker::open(dir, config, logger.clone(), Arc::new(LoopbackAnonymous))
        .expect("broker opens");
    let b = broker.clone();
    let server = LoopbackServer::start(|listener, shutdown| async move {
        let served = b.serve(listener, shutdown).await;
        b.close();
        served
    })
    .await;
    BrokerServer {
        addr: server.addr(),
        server,
        sink,
        logger,
        broker,
    }
}

impl BrokerServer {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Graceful shutdown; panics unless `serve` ends in time without error.
    pub async fn stop(self) {
        self.server.stop().await;
    }

    /// All log entries so far, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.logger.flush();
        self.sink
            .records()
            .iter()
            .map(|r| serde_json::from_str(&r.message).expect("log entries are JSON"))
            .collect()
    }

    /// The log entries so far whose `eventType` is `ty`.
    pub fn events_of(&self, ty: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["eventType"] == ty)
            .collect()
    }

    /// Polls the log (at most 5 s) until `pred` holds over every entry so far; returns the
    /// entries. Event-driven enough: it returns as soon as the entry is written.
    pub async fn wait_events(
        &self,
        mut pred: impl FnMut(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        eventually(
            Duration::from_secs(5),
            || async { self.events() },
            |ev| pred(ev),
        )
        .await
    }

    /// The cumulative `AWS/IoT` counter `metric` under `Protocol=MQTT`.
    pub fn metric(&self, metric: MetricName) -> u64 {
        self.logger
            .metrics()
            .get(metric, Dimension::Protocol(Protocol::Mqtt))
    }

    /// Every non-zero `Protocol=MQTT` counter by its CloudWatch name.
    pub fn metrics(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.logger
            .metrics()
            .snapshot()
            .into_iter()
            .filter(|(_, d, _)| *d == Dimension::Protocol(Protocol::Mqtt))
            .map(|(m, _, v)| (m.as_str(), v))
            .collect()
    }
}
