//! The runner against brokers that misbehave during setup: it must fail with a setup error in
//! bounded time, never hang or panic. Servers bind 127.0.0.1 port 0.

use std::time::{Duration, Instant};

use thingwatch_bench::config::DEFAULT_WINDOW;
use thingwatch_bench::{
    BenchConfig, ConnectConfig, RawConfig, RawConnectConfig, RunError, Scenario, run, run_connect,
};
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
        client_prefix: None,
    })
    .expect("valid config")
}

fn connect_config(port: u16) -> ConnectConfig {
    ConnectConfig::validate(RawConnectConfig {
        host: "127.0.0.1".into(),
        port,
        label: "test".into(),
        workers: 3,
        clients: 3,
        client_prefix: "dev-".into(),
        warmup_s: 0.0,
        duration_s: 0.1,
        broker_pid: None,
    })
    .expect("valid config")
}

/// A listener on 127.0.0.1:0 that closes every connection at once.
async fn closing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            drop(sock);
        }
    });
    port
}

/// A listener on 127.0.0.1:0 that answers every connection with a refusing CONNACK.
async fn refusing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            // CONNACK with return code 5, "not authorized" ([MQTT-3.2.2.3]).
            let _ = sock.write_all(&[0x20, 0x02, 0x00, 0x05]).await;
        }
    });
    port
}

#[tokio::test]
async fn connect_mode_setup_errors() {
    for (port, want_reason) in [
        (closing_server().await, None),
        (refusing_server().await, Some("NotAuthorized")),
    ] {
        let started = Instant::now();
        let err = run_connect(&connect_config(port))
            .await
            .expect_err("no usable broker there");
        match err {
            RunError::Setup { role, reason, .. } => {
                assert_eq!(role, "connector");
                if let Some(want) = want_reason {
                    assert!(reason.contains(want), "{reason}");
                }
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
    }
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
