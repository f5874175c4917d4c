//! The generator end to end against the in-process Thingwatch broker on 127.0.0.1:0 (logging
//! not configured, so the broker logs nothing): every message sent is counted once at the
//! subscribers, in order, with latency samples, for both modes and both QoS levels.

use std::sync::Arc;

use thingwatch_bench::{BenchConfig, Mode, RawConfig, RunReport, Scenario, run};
use thingwatch_broker::{Broker, BrokerConfig, LoopbackAnonymous};
use thingwatch_events::{Logger, LoggerSettings, MemorySink, PipelineConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct Server {
    port: u16,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start_broker() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        None,
        Box::new(MemorySink::new()),
    );
    let broker = Broker::open(
        dir.path(),
        BrokerConfig::default(),
        logger,
        Arc::new(LoopbackAnonymous),
    )
    .expect("broker opens");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        broker
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    Server {
        port,
        stop,
        task,
        _dir: dir,
    }
}

fn config(port: u16, qos: u8, latency_rate_per_s: Option<u32>) -> BenchConfig {
    BenchConfig::validate(RawConfig {
        host: "127.0.0.1".into(),
        port,
        label: "thingwatch-test".into(),
        latency_rate_per_s,
        scenario: Scenario::OneToOne,
        pairs: 3,
        qos,
        payload_bytes: 100,
        warmup_s: 0.2,
        duration_s: 1.0,
        window: 20,
        broker_pid: Some(std::process::id()),
    })
    .expect("valid config")
}

fn assert_consistent(r: &RunReport) {
    assert!(r.is_clean(), "{}", r.human_line());
    assert_eq!(r.stalls, 0, "{}", r.human_line());
    assert!(r.delivered > 0, "{}", r.human_line());
    // The window bounds how far sends can run ahead of deliveries.
    let window_total = u64::from(r.window) * r.pairs as u64;
    assert!(
        r.sent.abs_diff(r.delivered) <= window_total,
        "{}",
        r.human_line()
    );
    let lat = r.latency.expect("latency samples");
    assert_eq!(lat.count, r.delivered);
    assert!(lat.p50_us > 0.0 && lat.p50_us <= lat.p99_us);
    assert!(lat.p99_us <= lat.p999_us && lat.p999_us <= lat.max_us);
    assert!(r.wall_s >= 1.0 && r.wall_s < 3.0, "{}", r.wall_s);
    assert!(r.generator_cpu_s > 0.0);
    // The broker runs in this process here, so its CPU includes the generator's.
    assert!(r.broker_cpu_s.expect("pid given") >= r.generator_cpu_s * 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_and_latency_at_qos_0_and_1() {
    let server = start_broker().await;
    for qos in [0, 1] {
        let r = run(&config(server.port, qos, None)).await.expect("run");
        assert_consistent(&r);
        assert_eq!(r.qos, qos);
        assert_eq!(r.mode, "throughput");

        let cfg = config(server.port, qos, Some(300));
        assert_eq!(cfg.mode, Mode::Latency { rate_per_s: 300 });
        let r = run(&cfg).await.expect("run");
        assert_consistent(&r);
        // A fixed 300 msg/s: throughput mode delivers thousands per second here, so a paced
        // run stays far below that. The bounds are loose because ticks missed on a busy
        // machine are caught up in bursts (at most everything due since the start).
        let due_since_start = 300.0 * (r.warmup_s + r.wall_s + 0.5);
        assert!(
            (100.0..=due_since_start).contains(&(r.delivered as f64)),
            "latency mode should deliver about 300 messages: {}",
            r.human_line()
        );
    }
    let _ = server.stop.send(());
    server.task.await.expect("join").expect("serve");
}
