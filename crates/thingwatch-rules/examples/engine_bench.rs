//! Throughput of the rules engine behind a real broker ingress: N messages published as a
//! component (`Broker::publish_detached`, no network), each matching exactly one of R rules
//! (`SELECT temp, topic(3) AS device FROM 'dt/<i>/+/temp' WHERE temp > 30`, action: republish
//! to `alerts/<i>/<device>`, which nobody subscribes to), the engine on its observer thread
//! behind a queue large enough to drop nothing. Reported: messages per second from the first publish to
//! the last rule execution, for R = 0 (the ingress alone, engine registered), 1, 10, 100,
//! with logging DISABLED and at INFO (RuleMatch + RuleExecution per message, encoded and
//! discarded).
//!
//! `cargo run --release -p thingwatch-rules --example engine_bench [-- MESSAGES]`
//! (default 200,000; best of 3 rounds per row).

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thingwatch_broker::{Broker, BrokerConfig, ObserverConfig, Origin, PublishRequest};
use thingwatch_events::{
    LevelSetting, LogRecord, LogSink, Logger, LoggerSettings, LoggingConfig, PipelineConfig,
    SinkError, TraceId, WhenFull,
};
use thingwatch_rules::{RuleCounters, Rules, RulesEngine, Targets};

struct Discard;

impl LogSink for Discard {
    fn write_batch(&mut self, _records: &[LogRecord]) -> Result<(), SinkError> {
        Ok(())
    }
}

fn run(n: u64, rules_count: usize, level: LevelSetting) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::with_default_level(level),
        Box::new(Discard),
    );
    let broker = Broker::open(
        &dir.path().join("broker"),
        BrokerConfig::default(),
        logger.clone(),
        Arc::new(thingwatch_broker::LoopbackAnonymous),
    )
    .expect("broker");
    let rules = Rules::open(
        &dir.path().join("rules"),
        thingwatch_aws::Scope::new("123456789012", "us-east-1"),
    )
    .expect("rules");
    for i in 0..rules_count {
        let payload = json!({
            "sql": format!("SELECT temp, topic(3) AS device FROM 'dt/{i}/+/temp' WHERE temp > 30"),
            "awsIotSqlVersion": "2016-03-23",
            "actions": [{"republish": {"topic": format!("alerts/{i}/${{topic(3)}}"),
                "roleArn": "arn:aws:iam::123456789012:role/r"}}]
        });
        let serde_json::Value::Object(map) = payload else {
            unreachable!()
        };
        rules
            .create_rule(&format!("rule_{i}"), map, 0)
            .expect("rule compiles");
    }
    let counters = Arc::new(RuleCounters::default());
    let (engine, _handle) = RulesEngine::new(
        rules,
        broker.downgrade(),
        logger.clone(),
        Targets::default(),
        counters.clone(),
    );
    broker
        .add_observer(
            ObserverConfig {
                name: "rules",
                // Room for every message: nothing is dropped, and the engine's own
                // republished messages never wait on the queue it drains (with `Block` they
                // would deadlock it).
                capacity: 2 * n as usize + 16,
                when_full: WhenFull::DropNewest,
            },
            engine,
        )
        .expect("observer");
    let payload = br#"{"temp":35.5,"humidity":40,"unit":"C","ts":1700000000000}"#.to_vec();
    let topics: Vec<String> = (0..rules_count.max(1))
        .map(|i| format!("dt/{i}/device-42/temp"))
        .collect();
    let start = Instant::now();
    for k in 0..n {
        broker
            .publish_detached(
                Origin::Component("bench"),
                PublishRequest {
                    topic: topics[(k as usize) % topics.len()].clone(),
                    payload: payload.clone(),
                    qos: 0,
                    retain: false,
                    trace_id: TraceId::new(),
                    message_expiry: None,
                    properties: Default::default(),
                },
            )
            .expect("publish");
    }
    if rules_count > 0 {
        while counters.get("RulesExecuted", "", None) < n {
            std::thread::sleep(Duration::from_micros(200));
        }
    } else {
        // No rule: wait for the engine to have taken every message off its queue.
        while broker.observer_stats()[0].queued < n {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let elapsed = start.elapsed();
    logger.shutdown();
    n as f64 / elapsed.as_secs_f64()
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("rules engine: {n} messages per round, best of 3 ({profile} build)");
    println!("| rules | logging | messages/s | µs/message |");
    println!("|---:|---|---:|---:|");
    for level in [LevelSetting::Disabled, LevelSetting::Info] {
        for r in [0usize, 1, 10, 100] {
            let best = (0..3).map(|_| run(n, r, level)).fold(0.0, f64::max);
            println!("| {r} | {level:?} | {best:.0} | {:.2} |", 1e6 / best);
        }
    }
}
