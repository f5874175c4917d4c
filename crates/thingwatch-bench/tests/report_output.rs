//! Snapshot tests of the report's two output forms: the JSON line (the contract
//! `scripts/bench.sh` parses) and the human summary line.

use expect_test::expect;
use thingwatch_bench::config::DEFAULT_WINDOW;
use thingwatch_bench::stats::LatencySummary;
use thingwatch_bench::{
    BenchConfig, ConnectConfig, ConnectReport, RawConfig, RawConnectConfig, RunReport, Scenario,
};

fn config(latency_rate_per_s: Option<u32>, qos: u8) -> BenchConfig {
    BenchConfig::validate(RawConfig {
        host: "127.0.0.1".into(),
        port: 1883,
        label: "mosquitto".into(),
        latency_rate_per_s,
        scenario: Scenario::OneToOne,
        pairs: 10,
        qos,
        payload_bytes: 64,
        warmup_s: 2.0,
        duration_s: 10.0,
        window: DEFAULT_WINDOW,
        broker_pid: Some(42),
        client_prefix: None,
    })
    .expect("valid config")
}

fn filled(mut r: RunReport) -> RunReport {
    r.wall_s = 10.0;
    r.sent = 500_000;
    r.delivered = 500_000;
    r.sent_per_s = 50_000.0;
    r.delivered_per_s = 50_000.0;
    r.latency = Some(LatencySummary {
        count: 500_000,
        p50_us: 120.5,
        p99_us: 900.0,
        p999_us: 2500.2,
        max_us: 9000.0,
    });
    r.generator_cpu_s = 4.0;
    r.generator_cpu_cores = 0.4;
    r.generator_cpu_us_per_msg = Some(8.0);
    r.broker_cpu_s = Some(5.0);
    r.broker_cpu_cores = Some(0.5);
    r.broker_cpu_us_per_msg = Some(10.0);
    r.host_cores = 2;
    r
}

#[test]
fn throughput_report_json_and_human_line() {
    let r = filled(RunReport::new(&config(None, 0)));
    assert!(r.is_clean());
    expect![[r#"{"tool":"thingwatch-bench","schema":1,"label":"mosquitto","mode":"throughput","scenario":"one-to-one","broker":"127.0.0.1:1883","pairs":10,"publishers":10,"subscribers":10,"qos":0,"payload_bytes":64,"window":100,"target_rate_per_s":null,"warmup_s":2.0,"wall_s":10.0,"sent":500000,"delivered":500000,"delivered_per_s":50000.0,"sent_per_s":50000.0,"lost":0,"published_total":0,"received_total":0,"out_of_order":0,"malformed":0,"stalls":0,"latency":{"count":500000,"p50_us":120.5,"p99_us":900.0,"p999_us":2500.2,"max_us":9000.0},"generator_cpu_s":4.0,"generator_cpu_cores":0.4,"generator_cpu_us_per_msg":8.0,"broker_cpu_s":5.0,"broker_cpu_cores":0.5,"broker_cpu_us_per_msg":10.0,"host_cores":2,"errors":[]}"#]]
    .assert_eq(&r.to_json_line().expect("serialisable"));
    expect!["[mosquitto] throughput one-to-one 10→10 qos0 payload=64B: delivered 50000 msg/s (sent 50000/s) over 10.0 s | latency p50 120.5 µs, p99 900.0 µs, p99.9 2500.2 µs | generator CPU 0.40 of 2 cores (8.0 µs/msg), broker CPU 0.50 cores (10.0 µs/msg)"]
    .assert_eq(&r.human_line());
}

#[test]
fn latency_report_flags_losses_in_human_line() {
    let mut r = filled(RunReport::new(&config(Some(1000), 1)));
    r.lost = 3;
    r.errors.push("subscriber 2: I/O: connection reset".into());
    assert!(!r.is_clean());
    let json: serde_json::Value =
        serde_json::from_str(&r.to_json_line().expect("serialisable")).expect("valid JSON");
    assert_eq!(json["mode"], "latency");
    assert_eq!(json["target_rate_per_s"], 1000);
    assert_eq!(json["qos"], 1);
    assert_eq!(json["lost"], 3);
    expect![[r#"[mosquitto] latency one-to-one 10→10 qos1 payload=64B: delivered 50000 msg/s (target 1000/s) (sent 50000/s) over 10.0 s | latency p50 120.5 µs, p99 900.0 µs, p99.9 2500.2 µs | generator CPU 0.40 of 2 cores (8.0 µs/msg), broker CPU 0.50 cores (10.0 µs/msg) | PROBLEMS: lost 3, out-of-order 0, malformed 0, errors ["subscriber 2: I/O: connection reset"]"#]]
    .assert_eq(&r.human_line());
}

fn connect_report() -> ConnectReport {
    let cfg = ConnectConfig::validate(RawConnectConfig {
        host: "127.0.0.1".into(),
        port: 1883,
        label: "thingwatch-targets".into(),
        workers: 10,
        clients: 1000,
        client_prefix: "dev-".into(),
        warmup_s: 1.0,
        duration_s: 3.0,
        broker_pid: Some(42),
    })
    .expect("valid config");
    let mut r = ConnectReport::new(&cfg);
    r.wall_s = 3.0;
    r.connects = 6000;
    r.connects_per_s = 2000.0;
    r.latency = Some(LatencySummary {
        count: 6000,
        p50_us: 410.5,
        p99_us: 2900.0,
        p999_us: 8000.1,
        max_us: 12000.0,
    });
    r.generator_cpu_s = 1.5;
    r.generator_cpu_cores = 0.5;
    r.generator_cpu_us_per_connect = Some(250.0);
    r.broker_cpu_s = Some(2.4);
    r.broker_cpu_cores = Some(0.8);
    r.broker_cpu_us_per_connect = Some(400.0);
    r.host_cores = 2;
    r
}

#[test]
fn connect_report_json_and_human_line() {
    let r = connect_report();
    assert!(r.is_clean());
    expect![[r#"{"tool":"thingwatch-bench","schema":1,"label":"thingwatch-targets","mode":"connect","broker":"127.0.0.1:1883","workers":10,"clients":1000,"client_prefix":"dev-","warmup_s":1.0,"wall_s":3.0,"connects":6000,"connects_per_s":2000.0,"failed":0,"latency":{"count":6000,"p50_us":410.5,"p99_us":2900.0,"p999_us":8000.1,"max_us":12000.0},"generator_cpu_s":1.5,"generator_cpu_cores":0.5,"generator_cpu_us_per_connect":250.0,"broker_cpu_s":2.4,"broker_cpu_cores":0.8,"broker_cpu_us_per_connect":400.0,"host_cores":2,"errors":[]}"#]].assert_eq(&r.to_json_line().expect("serialisable"));
    expect!["[thingwatch-targets] connect workers=10 clients=1000 (dev-0..dev-999): 2000 connects/s over 3.0 s | connect latency p50 410.5 µs, p99 2900.0 µs, p99.9 8000.1 µs | generator CPU 0.50 of 2 cores (250.0 µs/connect), broker CPU 0.80 cores (400.0 µs/connect)"].assert_eq(&r.human_line());
}

#[test]
fn connect_report_flags_failures() {
    let mut r = connect_report();
    r.failed = 2;
    r.errors
        .push("connector 3 (dev-3): I/O: Connection refused (os error 111)".into());
    assert!(!r.is_clean());
    expect![[r#"[thingwatch-targets] connect workers=10 clients=1000 (dev-0..dev-999): 2000 connects/s over 3.0 s | connect latency p50 410.5 µs, p99 2900.0 µs, p99.9 8000.1 µs | generator CPU 0.50 of 2 cores (250.0 µs/connect), broker CPU 0.80 cores (400.0 µs/connect) | PROBLEMS: failed 2, errors ["connector 3 (dev-3): I/O: Connection refused (os error 111)"]"#]].assert_eq(&r.human_line());
    let mut r = connect_report();
    r.failed = 1;
    assert!(
        !r.is_clean(),
        "a failed connect alone makes the run invalid"
    );
}

/// Fan-out and fan-in name their scenario and connection counts in both output forms.
#[test]
fn fan_scenarios_report_publishers_and_subscribers() {
    for (scenario, want_json, want_human) in [
        (
            Scenario::FanOut,
            (1, 10, "fan-out"),
            expect!["[mosquitto] throughput fan-out 1→10 qos0 payload=64B"],
        ),
        (
            Scenario::FanIn,
            (10, 1, "fan-in"),
            expect!["[mosquitto] throughput fan-in 10→1 qos0 payload=64B"],
        ),
    ] {
        let cfg = BenchConfig {
            scenario,
            ..config(None, 0)
        };
        let r = filled(RunReport::new(&cfg));
        let json: serde_json::Value =
            serde_json::from_str(&r.to_json_line().expect("serialisable")).expect("valid JSON");
        assert_eq!(
            (&json["publishers"], &json["subscribers"], &json["scenario"]),
            (
                &serde_json::json!(want_json.0),
                &serde_json::json!(want_json.1),
                &serde_json::json!(want_json.2)
            )
        );
        assert_eq!(json["pairs"], 10);
        let human = r.human_line();
        want_human.assert_eq(human.split(':').next().unwrap_or_default());
    }
}
