//! What one `Logger::emit` costs on the calling (broker) thread, in nanoseconds:
//!
//! - **gated out**: a `Publish-In` at INFO while the default level is DISABLED or ERROR —
//!   the per-message price of having logging calls in the broker at all (issue #6's
//!   "events below the effective level cost < 2 %" target; set against the broker's CPU per
//!   message in BENCHMARKS.md);
//! - **admitted**: build + encode the exact AWS JSON + enqueue (a sink that discards).
//!
//! `cargo run --release -p thingwatch-events --example emit_bench [-- ITERATIONS]`
//! (default 20,000,000 gated, 2,000,000 admitted; best of 5 rounds, one thread).

use std::hint::black_box;
use std::time::Instant;
use thingwatch_events::*;

struct Discard;

impl LogSink for Discard {
    fn write_batch(&mut self, _records: &[LogRecord]) -> Result<(), SinkError> {
        Ok(())
    }
}

fn logger(level: LevelSetting) -> Logger {
    Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::with_default_level(level),
        Box::new(Discard),
    )
}

/// Best-of-5 nanoseconds per call of `f`, `n` calls per round.
fn best_ns(n: u64, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000_000);
    let identity = ClientIdentity {
        client_id: "twb-1700000000-p3".into(),
        principal_id: "anonymous".into(),
        source_ip: "127.0.0.1".parse().expect("literal address"),
        source_port: 50_123,
        protocol: Protocol::Mqtt,
        thing_name: None,
    };
    let topic = String::from("bench/1700000000/3");
    for level in [LevelSetting::Disabled, LevelSetting::Error] {
        let logger = logger(level);
        let client = logger.client(identity.clone());
        let ns = best_ns(n, || {
            logger.emit(&client, PublishIn::SUCCESS, TraceId(black_box(7)), |id| {
                PublishIn::success(id, &topic, false)
            });
        });
        // Loop overhead included: an upper bound.
        println!(
            "gated out (default level {}): {ns:.2} ns per emit",
            level.as_str()
        );
    }
    let logger = logger(LevelSetting::Info);
    let client = logger.client(identity.clone());
    let ns = best_ns(n / 10, || {
        logger.emit(&client, PublishIn::SUCCESS, TraceId::new(), |id| {
            PublishIn::success(id, &topic, false)
        });
    });
    let stats = logger.pipeline_stats();
    println!("admitted (INFO, encode + enqueue): {ns:.1} ns per emit ({stats:?})");
}
