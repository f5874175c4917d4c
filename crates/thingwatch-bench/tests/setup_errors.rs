//! The runner against brokers that misbehave during setup: it must fail with a setup error in
//! bounded time, never hang or panic. Servers bind 127.0.0.1 port 0.

use std::time::{Duration, Instant};

use thingwatch_bench::config::DEFAULT_WINDOW;
use thingwatch_bench::{BenchConfig, RawConfig, RunError, Scenario, run};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn config(port: u16) -> BenchConfig {
    BenchConfig::validate(RawConfig {
        host: "127.0.0.1".into(),
        port,
        label: "test".into(),
        latency_rate_per_s: None,
        scenario: Scenario::OneToOne,
        pairs: 2,
        qos: 0,
        payload_bytes: 64,
        warmup_s: 0.0,
        duration_s: 0.1,
        window: DEFAULT_WINDOW,
        broker_pid: None,
    })
    .expect("valid config")
}

#[tokio::test]
async fn connection_closed_before_connack_is_a_setup_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            drop(sock);
        }
    });
    let started = Instant::now();
    let err = run(&config(port)).await.expect_err("no broker there");
    assert!(
        matches!(
            err,
            RunError::Setup {
                role: "subscriber",
                index: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn refused_connack_is_a_setup_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            // CONNACK with return code 5, "not authorized" ([MQTT-3.2.2.3]).
            let _ = sock.write_all(&[0x20, 0x02, 0x00, 0x05]).await;
        }
    });
    let err = run(&config(port)).await.expect_err("broker refuses");
    match err {
        RunError::Setup {
            role,
            index,
            reason,
        } => {
            assert_eq!((role, index), ("subscriber", 0));
            assert!(reason.contains("NotAuthorized"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}
