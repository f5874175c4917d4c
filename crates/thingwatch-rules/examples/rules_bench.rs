//! Throughput of the rules engine behind a real broker ingress: N messages published as a
//! component (`Broker::publish_detached`, no network) on `dt/device-42/temp`, each matching
//! every one of R rules (`SELECT temp, topic(2) AS device FROM 'dt/+/temp' WHERE temp > 30`,
//! action: republish to `alerts/<i>/<device>`, which nobody subscribes to — so each message
//! causes R rule executions and R republished messages through the ingress), the engine on
//! its observer thread behind a queue large enough to drop nothing. Reported, for R = 0 (the
//! ingress alone, engine registered), 1, 10, 100, with logging DISABLED and at INFO
//! (RuleMatch + RuleExecution per rule and message, encoded and discarded): messages per
//! second from the first publish to the last rule execution, and the process's CPU time
//! (user + system, all threads, `/proc/self/stat`) per message.
//!
//! `cargo run --release -p thingwatch-rules --example rules_bench [-- MESSAGES]`
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

/// `(messages per second, CPU seconds per message)` of one round.
fn run(n: u64, rules_count: usize, level: LevelSetting) -> (f64, f64) {
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
            "sql": "SELECT temp, topic(2) AS device FROM 'dt/+/temp' WHERE temp > 30",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [{"republish": {"topic": format!("alerts/{i}/${{topic(2)}}"),
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
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    for _ in 0..n {
        broker
            .publish_detached(
                Origin::Component("bench"),
                PublishRequest {
                    topic: "dt/device-42/temp".into(),
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
        while counters.get("RulesExecuted", "", None) < n * rules_count as u64 {
            std::thread::sleep(Duration::from_micros(200));
        }
    } else {
        // No rule: wait for the engine to have taken every message off its queue.
        while broker.observer_stats()[0].queued < n {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let elapsed = start.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    logger.shutdown();
    (n as f64 / elapsed.as_secs_f64(), cpu / n as f64)
}

/// User + system CPU seconds of this process so far (`/proc/self/stat` fields 14 and 15, in
/// clock ticks of 1/100 s — Linux's USER_HZ on every supported architecture).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)` one, which may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    (ticks(11) + ticks(12)) / 100.0
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
    println!(
        "| rules (all matching) | logging | messages/s | rule executions/s | CPU µs/message |"
    );
    println!("|---:|---|---:|---:|---:|");
    for level in [LevelSetting::Disabled, LevelSetting::Info] {
        for r in [0usize, 1, 10, 100] {
            // 100 rules execute 100× per message: fewer messages keep the round short.
            let n = if r >= 100 { (n / 20).max(1) } else { n };
            let (rate, cpu) = (0..3)
                .map(|_| run(n, r, level))
                .fold((0.0, f64::MAX), |(a, c), (ra, cu)| {
                    (f64::max(a, ra), f64::min(c, cu))
                });
            println!(
                "| {r} | {level:?} | {rate:.0} | {:.0} | {:.2} |",
                rate * r as f64,
                cpu * 1e6
            );
        }
    }
}
