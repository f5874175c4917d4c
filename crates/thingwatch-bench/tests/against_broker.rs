//! The generator end to end against the in-process Thingwatch broker on 127.0.0.1:0. Publish
//! modes (logging not configured, so the broker logs nothing): every message sent is counted
//! once at the subscribers, in order, with latency samples, for both modes and both QoS levels.
//! Connect mode and fixed client-ID prefixes (logging at INFO into a memory sink): the broker's
//! own `Connect` / `Disconnect` events show exactly which client IDs the generator used. Idle
//! mode: every connection is held, from the loopback source address it was assigned.

use std::sync::Arc;

use std::collections::{BTreeMap, BTreeSet};

use thingwatch_bench::{
    BenchConfig, ConnectConfig, IdleConfig, Mode, RawConfig, RawConnectConfig, RawIdleConfig,
    RunReport, Scenario, run, run_connect, run_idle,
};
use thingwatch_broker::{Broker, BrokerConfig, LoopbackAnonymous};
use thingwatch_events::{
    LevelSetting, Logger, LoggerSettings, LoggingConfig, MemorySink, PipelineConfig,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct Server {
    port: u16,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    logger: Logger,
    sink: MemorySink,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        self.task.await.expect("join").expect("serve");
    }

    /// `eventType → clientId → count` over every V2 entry written so far.
    fn events_by_client(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.logger.flush();
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for record in self.sink.records() {
            let json: serde_json::Value =
                serde_json::from_str(&record.message).expect("V2 entries are JSON");
            let field = |k: &str| json[k].as_str().unwrap_or("?").to_string();
            *out.entry(field("eventType"))
                .or_default()
                .entry(field("clientId"))
                .or_default() += 1;
        }
        out
    }
}

async fn start_broker(config: LoggingConfig) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = MemorySink::new();
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        config,
        Box::new(sink.clone()),
    );
    let broker = Broker::open(
        dir.path(),
        BrokerConfig::default(),
        logger.clone(),
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
        logger,
        sink,
        _dir: dir,
    }
}

fn config(port: u16, qos: u8, latency_rate_per_s: Option<u32>) -> BenchConfig {
    BenchConfig::validate(raw_config(port, qos, latency_rate_per_s)).expect("valid config")
}

fn raw_config(port: u16, qos: u8, latency_rate_per_s: Option<u32>) -> RawConfig {
    RawConfig {
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
        client_prefix: None,
    }
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
    // Whole run: everything published reached every link (a fan-out publish reaches N).
    let links_per_publish = if r.scenario == Scenario::FanOut {
        r.pairs as u64
    } else {
        1
    };
    assert_eq!(r.published_total * links_per_publish, r.received_total);
    assert!(r.received_total >= r.delivered, "{}", r.human_line());
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
    let server = start_broker(LoggingConfig::default()).await;
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
    assert!(
        server.events_by_client().is_empty(),
        "logging is not configured"
    );
    server.shut_down().await;
}

fn connect_config(port: u16, workers: usize, clients: usize) -> ConnectConfig {
    ConnectConfig::validate(RawConnectConfig {
        host: "127.0.0.1".into(),
        port,
        label: "thingwatch-test".into(),
        workers,
        clients,
        client_prefix: "dev-".into(),
        warmup_s: 0.3,
        duration_s: 1.0,
        broker_pid: Some(std::process::id()),
    })
    .expect("valid config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_mode_cycles_through_every_client_id() {
    let server = start_broker(LoggingConfig::with_default_level(LevelSetting::Info)).await;
    let r = run_connect(&connect_config(server.port, 4, 20))
        .await
        .expect("run");
    assert!(r.is_clean(), "{}", r.human_line());
    assert_eq!((r.mode, r.workers, r.clients), ("connect", 4, 20));
    // Loopback connects take well under 10 ms each, so 4 workers manage far more than 40 in
    // a 1 s window, even on a loaded machine.
    assert!(r.connects >= 40, "{}", r.human_line());
    assert!(
        (r.connects_per_s - r.connects as f64 / r.wall_s).abs() <= 1.0 + r.connects_per_s * 0.01,
        "{}",
        r.human_line()
    );
    let lat = r.latency.expect("latency samples");
    assert_eq!(lat.count, r.connects);
    assert!(lat.p50_us > 0.0 && lat.p50_us <= lat.p99_us, "{lat:?}");
    assert!(
        lat.p99_us <= lat.p999_us && lat.p999_us <= lat.max_us,
        "{lat:?}"
    );
    assert!(r.wall_s >= 1.0 && r.wall_s < 3.0, "{}", r.wall_s);
    assert!(r.generator_cpu_s > 0.0);
    assert!(r.broker_cpu_s.expect("pid given") >= r.generator_cpu_s * 0.5);
    assert!(r.generator_cpu_us_per_connect.expect("connects") > 0.0);

    // The broker saw exactly the IDs dev-0..dev-19. Worker w cycles through dev-w, dev-(w+4),
    // …, dev-(w+16) in order, so within one worker's IDs the Connect counts differ by at most 1.
    let events = server.events_by_client();
    let want: BTreeSet<String> = (0..20).map(|i| format!("dev-{i}")).collect();
    let connects = &events["Connect"];
    assert_eq!(connects.keys().cloned().collect::<BTreeSet<_>>(), want);
    let total: u64 = connects.values().sum();
    assert!(total >= r.connects + 20, "warm-up and setup connect too");
    for worker in 0..4 {
        let counts: Vec<u64> = (worker..20)
            .step_by(4)
            .map(|i| connects[&format!("dev-{i}")])
            .collect();
        let (lo, hi) = (counts.iter().min(), counts.iter().max());
        assert!(
            hi.zip(lo).is_some_and(|(hi, lo)| hi - lo <= 1),
            "worker {worker} did not cycle its IDs in order: {counts:?}"
        );
    }
    // A cycle in progress at the end of the run may be cut short, hence Disconnect ≤ Connect.
    let disconnects = &events["Disconnect"];
    for (id, n) in connects {
        let d = disconnects.get(id).copied().unwrap_or(0);
        assert!(
            d <= *n && d + 1 >= *n,
            "{id}: {n} connects, {d} disconnects"
        );
    }
    server.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_client_prefix_names_publishers_and_subscribers() {
    let server = start_broker(LoggingConfig::with_default_level(LevelSetting::Info)).await;
    let cfg = BenchConfig::validate(RawConfig {
        pairs: 2,
        client_prefix: Some("tp-".into()),
        ..raw_config(server.port, 1, None)
    })
    .expect("valid");
    let r = run(&cfg).await.expect("run");
    assert_consistent(&r);
    let events = server.events_by_client();
    let ids: BTreeSet<&str> = events["Connect"].keys().map(String::as_str).collect();
    assert_eq!(ids, BTreeSet::from(["tp-p0", "tp-p1", "tp-s0", "tp-s1"]));
    // Every delivered message was logged as Publish-In from a publisher.
    let publish_in = &events["Publish-In"];
    assert_eq!(
        publish_in
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["tp-p0", "tp-p1"])
    );
    // The whole-run totals are what the broker logged: one Publish-In per publish, one
    // Publish-Out per delivery (the count scripts/bench.sh checks against the log store).
    let total = |kind: &str| events.get(kind).map_or(0, |m| m.values().sum::<u64>());
    assert_eq!(total("Publish-In"), r.published_total, "{r:?}");
    assert_eq!(total("Publish-Out"), r.received_total, "{r:?}");
    server.shut_down().await;
}

/// Fan-in (N publishers → 1 wildcard subscriber) and fan-out (1 publisher → N subscribers) at
/// both QoS levels: every link delivers everything in order, and the broker saw exactly the
/// expected clients and publishers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_in_and_fan_out_deliver_on_every_link() {
    let server = start_broker(LoggingConfig::with_default_level(LevelSetting::Info)).await;
    let cases = [
        (Scenario::FanIn, "fi-", 3, (3, 1)),
        (Scenario::FanOut, "fo-", 4, (1, 4)),
    ];
    for (scenario, prefix, pairs, (publishers, subscribers)) in cases {
        for qos in [0, 1] {
            let cfg = BenchConfig::validate(RawConfig {
                scenario,
                pairs,
                client_prefix: Some(format!("{prefix}{qos}-")),
                ..raw_config(server.port, qos, None)
            })
            .expect("valid");
            let r = run(&cfg).await.expect("run");
            assert_consistent(&r);
            assert_eq!(
                (r.scenario, r.pairs, r.publishers, r.subscribers),
                (scenario, pairs, publishers, subscribers)
            );
            let json = r.to_json_line().expect("serialisable");
            let name = format!("\"scenario\":\"{}\"", scenario.name());
            assert!(json.contains(&name), "{json}");
        }
    }
    let events = server.events_by_client();
    let ids: BTreeSet<&str> = events["Connect"].keys().map(String::as_str).collect();
    let mut want = BTreeSet::new();
    for qos in [0, 1] {
        want.extend([0, 1, 2].map(|i| format!("fi-{qos}-p{i}")));
        want.insert(format!("fi-{qos}-s0"));
        want.insert(format!("fo-{qos}-p0"));
        want.extend([0, 1, 2, 3].map(|i| format!("fo-{qos}-s{i}")));
    }
    assert_eq!(ids, want.iter().map(String::as_str).collect());
    server.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_mode_holds_every_connection_from_each_source_address() {
    let server = start_broker(LoggingConfig::with_default_level(LevelSetting::Info)).await;
    let cfg = IdleConfig::validate(RawIdleConfig {
        host: "127.0.0.1".into(),
        port: server.port,
        label: "idle".into(),
        connections: 300,
        source_addrs: Some(3),
        hold_s: 0.2,
        settle_s: 0.1,
        keep_alive_s: 60,
        concurrency: 50,
        client_prefix: Some("idle-".into()),
        broker_pid: Some(std::process::id()),
    })
    .expect("valid");
    let r = run_idle(&cfg).await.expect("run");
    assert!(r.is_clean(), "{}", r.human_line());
    assert_eq!(
        (r.mode, r.connected, r.failed, r.dropped),
        ("idle", 300, 0, 0)
    );
    assert_eq!(r.connect_latency.as_ref().map(|l| l.count), Some(300));
    // In-process broker: its RSS is this process's, read before and after.
    let (before, after) = (r.broker_rss_before_kib, r.broker_rss_after_kib);
    assert!(before.is_some_and(|b| b > 0) && after.is_some(), "{r:?}");
    assert!(r.broker_kib_per_connection.is_some() && r.generator_rss_after_kib > 0);

    // The broker logged one Connect per client ID, 100 from each source address, and (after the
    // generator's DISCONNECTs are processed) one Disconnect each.
    let want: BTreeSet<String> = (0..300).map(|i| format!("idle-{i}")).collect();
    let mut by_ip: BTreeMap<String, u64> = BTreeMap::new();
    let mut disconnects = 0;
    for _ in 0..50 {
        server.logger.flush();
        by_ip.clear();
        disconnects = 0;
        let mut ids = BTreeSet::new();
        for record in server.sink.records() {
            let json: serde_json::Value = serde_json::from_str(&record.message).expect("JSON");
            match json["eventType"].as_str() {
                Some("Connect") => {
                    ids.insert(json["clientId"].as_str().unwrap_or("?").to_string());
                    *by_ip
                        .entry(json["sourceIp"].as_str().unwrap_or("?").to_string())
                        .or_default() += 1;
                }
                Some("Disconnect") => disconnects += 1,
                _ => {}
            }
        }
        assert_eq!(ids, want);
        if disconnects == 300 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(disconnects, 300);
    let want_ips: BTreeMap<String, u64> = (2..=4).map(|d| (format!("127.0.0.{d}"), 100)).collect();
    assert_eq!(by_ip, want_ips);
    server.shut_down().await;
}
