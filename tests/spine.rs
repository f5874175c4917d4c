//! The spine end to end, through the real binary: real MQTT clients (rumqttc, MQTT 3.1.1 and
//! 5) publish and subscribe; the AWS IoT log events they cause are read back through the
//! SigV4-signed CloudWatch Logs API; `kill -9` loses nothing that was written.

mod common;

use common::{Credentials, Server, temp_dir};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::time::Duration;

/// Connects a 3.1.1 client and drives its event loop; returns the client and a receiver of
/// (topic, payload) for every PUBLISH it gets.
async fn v311(
    server: &Server,
    client_id: &str,
    clean: bool,
) -> (
    AsyncClient,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    tokio::task::JoinHandle<()>,
) {
    let mut opts = MqttOptions::new(client_id, server.mqtt.ip().to_string(), server.mqtt.port());
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_clean_session(clean);
    let (client, mut eventloop) = AsyncClient::new(opts, 64);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    let task = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Some(r) = ready_tx.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), ready_rx)
        .await
        .expect("CONNACK")
        .unwrap();
    (client, rx, task)
}

async fn recv(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) -> (String, Vec<u8>) {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("message in time")
        .expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_events_are_queryable_with_the_documented_json() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &[], &[]);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("credentials:") && l.contains("credentials"))
    );

    // An MQTT 5 subscriber and a 3.1.1 publisher.
    let mut opts = rumqttc::v5::MqttOptions::new(
        "dashboard",
        server.mqtt.ip().to_string(),
        server.mqtt.port(),
    );
    opts.set_keep_alive(Duration::from_secs(30));
    let (sub, mut sub_loop) = rumqttc::v5::AsyncClient::new(opts, 64);
    let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(ev) = sub_loop.poll().await {
            if let rumqttc::v5::Event::Incoming(rumqttc::v5::mqttbytes::v5::Packet::Publish(p)) = ev
            {
                let _ = got_tx.send((
                    String::from_utf8_lossy(&p.topic).to_string(),
                    p.payload.to_vec(),
                ));
            }
        }
    });
    sub.subscribe("dt/+/temp", rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
        .await
        .unwrap();
    let subscribed = server
        .wait_for_events(
            r#"{ $.eventType = "Subscribe" && $.clientId = "dashboard" }"#,
            1,
        )
        .await;
    assert_eq!(subscribed.len(), 1);
    assert_eq!(subscribed[0]["topicName"], "dt/+/temp");

    let (publisher, _rx, _task) = v311(&server, "sensor-1", true).await;
    for i in 0..3 {
        publisher
            .publish(
                "dt/sensor-1/temp",
                QoS::AtLeastOnce,
                false,
                format!("{{\"t\":{i}}}"),
            )
            .await
            .unwrap();
    }
    for i in 0..3 {
        let (topic, payload) = tokio::time::timeout(Duration::from_secs(5), got_rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(topic, "dt/sensor-1/temp");
        assert_eq!(payload, format!("{{\"t\":{i}}}").into_bytes());
    }

    let pattern = r#"{ $.eventType = "Publish-In" && $.clientId = "sensor-1" }"#;
    let events = server.wait_for_events(pattern, 3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    // Attribute names and order exactly as the documented Publish-In example.
    let documented = [
        "timestamp",
        "logLevel",
        "traceId",
        "accountId",
        "status",
        "eventType",
        "protocol",
        "topicName",
        "clientId",
        "principalId",
        "sourceIp",
        "sourcePort",
    ];
    for raw in server.filter_all_raw(pattern).await {
        let positions: Vec<usize> = documented
            .iter()
            .map(|k| {
                raw.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} in {raw}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "order in {raw}");
        let parsed: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(parsed.as_object().unwrap().len(), documented.len(), "{raw}");
    }
    for e in &events {
        assert_eq!(e["accountId"], "123456789012");
        assert_eq!(e["logLevel"], "INFO");
        assert_eq!(e["sourceIp"], "127.0.0.1");
    }
    // Each Publish-In's traceId is shared by exactly one Publish-Out, to the dashboard.
    for e in &events {
        let trace = e["traceId"].as_str().unwrap();
        let related = server
            .wait_for_events(&format!(r#"{{ $.traceId = "{trace}" }}"#), 2)
            .await;
        let mut kinds: Vec<String> = related
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["eventType"].as_str().unwrap(),
                    r["clientId"].as_str().unwrap()
                )
            })
            .collect();
        kinds.sort();
        assert_eq!(kinds, ["Publish-In:sensor-1", "Publish-Out:dashboard"]);
    }

    // The log group and today's stream are listed.
    let (status, groups) = server
        .logs("DescribeLogGroups", serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(
        groups["logGroups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["logGroupName"] == "AWSIotLogsV2")
    );
    let (status, streams) = server
        .logs(
            "DescribeLogStreams",
            serde_json::json!({"logGroupName": "AWSIotLogsV2"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(streams["logStreams"].as_array().unwrap().len(), 1);
}

/// Tries to connect with a client ID longer than AWS IoT's 128-byte limit: the broker refuses
/// it and logs a `Connect` Failure at ERROR.
async fn refused_connect(server: &Server, client_id: &str) {
    let opts = MqttOptions::new(client_id, server.mqtt.ip().to_string(), server.mqtt.port());
    let (_client, mut eventloop) = AsyncClient::new(opts, 8);
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack)))
                    if ack.code == rumqttc::ConnectReturnCode::Success =>
                {
                    return false;
                }
                Ok(_) => {}
                Err(_) => return true,
            }
        }
    })
    .await;
    assert_eq!(outcome, Ok(true), "the over-long client ID must be refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_log_level_flag_seeds_a_fresh_data_directory() {
    let dir = temp_dir();
    let too_long = "x".repeat(200);
    {
        let server = Server::start(dir.path(), &["--default-log-level", "ERROR"], &[]);
        let (publisher, _rx, _task) = v311(&server, "quiet-1", true).await;
        publisher
            .publish("a/b", QoS::AtLeastOnce, false, "x")
            .await
            .unwrap();
        refused_connect(&server, &too_long).await;
        // The ERROR entry arrives; the INFO entries of the successful client never do.
        let failures = server
            .wait_for_events(r#"{ $.eventType = "Connect" && $.status = "Failure" }"#, 1)
            .await;
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0]["logLevel"], "ERROR");
        let all = server.filter_all("").await;
        assert!(all.iter().all(|e| e["logLevel"] == "ERROR"), "{all:?}");
    }
    // A later start keeps the stored configuration (ERROR) even with another flag.
    let server = Server::start(dir.path(), &["--default-log-level", "DEBUG"], &[]);
    let (publisher, _rx, _task) = v311(&server, "quiet-2", true).await;
    publisher
        .publish("a/b", QoS::AtLeastOnce, false, "x")
        .await
        .unwrap();
    refused_connect(&server, &too_long).await;
    let failures = server
        .wait_for_events(r#"{ $.eventType = "Connect" && $.status = "Failure" }"#, 2)
        .await;
    assert_eq!(failures.len(), 2);
    assert!(
        server
            .filter_all(r#"{ $.clientId = "quiet-2" }"#)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_and_unconfigured_logging_write_nothing() {
    for level in ["DISABLED", "UNCONFIGURED"] {
        let dir = temp_dir();
        let server = Server::start(dir.path(), &["--default-log-level", level], &[]);
        let (publisher, _rx, _task) = v311(&server, "silent", true).await;
        publisher
            .publish("a/b", QoS::AtLeastOnce, false, "x")
            .await
            .unwrap();
        refused_connect(&server, &"y".repeat(200)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Not even the group exists: nothing was ever written.
        let (status, groups) = server
            .logs("DescribeLogGroups", serde_json::json!({}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            groups["logGroups"].as_array().unwrap().len(),
            0,
            "{level}: {groups}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_event_retained_message_or_persistent_session() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &[], &[]);
    // A persistent session subscribes, then goes away.
    {
        let (archiver, _rx, task) = v311(&server, "archiver", false).await;
        archiver
            .subscribe("alerts/#", QoS::AtLeastOnce)
            .await
            .unwrap();
        server
            .wait_for_events(
                r#"{ $.eventType = "Subscribe" && $.clientId = "archiver" }"#,
                1,
            )
            .await;
        archiver.disconnect().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let (publisher, _rx, _task) = v311(&server, "sensor-9", true).await;
    publisher
        .publish("config/sensor-9", QoS::AtLeastOnce, true, "rate=5")
        .await
        .unwrap();
    publisher
        .publish("alerts/sensor-9", QoS::AtLeastOnce, false, "overheat")
        .await
        .unwrap();
    for i in 0..50 {
        publisher
            .publish("dt/sensor-9/temp", QoS::AtLeastOnce, false, format!("{i}"))
            .await
            .unwrap();
    }
    let queued = server
        .wait_for_events(r#"{ $.eventType = "Queued" }"#, 1)
        .await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["clientId"], "archiver");
    let before = server
        .wait_for_events(
            r#"{ $.clientId = "sensor-9" && $.eventType = "Publish-In" }"#,
            52,
        )
        .await;
    assert_eq!(before.len(), 52);
    let all_before = server.filter_all("").await;

    let data = server.data_dir.clone();
    server.kill_9();
    let server = Server::start(&data, &[], &[]);

    let after = server.filter_all("").await;
    assert!(
        after.len() >= all_before.len(),
        "{} < {}",
        after.len(),
        all_before.len()
    );
    for e in &all_before {
        assert!(after.contains(e), "lost {e}");
    }
    // The retained message and the queued QoS 1 message are still there.
    let (reader, mut rx, _t) = v311(&server, "late-reader", true).await;
    reader
        .subscribe("config/sensor-9", QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(
        recv(&mut rx).await,
        ("config/sensor-9".to_string(), b"rate=5".to_vec())
    );
    let (_archiver, mut rx, _t) = v311(&server, "archiver", false).await;
    assert_eq!(
        recv(&mut rx).await,
        ("alerts/sensor-9".to_string(), b"overheat".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_the_environment_are_enforced() {
    let dir = temp_dir();
    let env = [
        ("THINGWATCH_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "THINGWATCH_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ];
    let server = Server::start(dir.path(), &[], &env);
    assert!(
        !dir.path().join("credentials").exists(),
        "explicit credentials are not written to disk"
    );
    let (status, _) = server
        .logs("DescribeLogGroups", serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, err) = server
        .logs_as(
            Credentials::new("AKIAIOSFODNN7EXAMPLE", "wrong-secret-wrong-secret"),
            "DescribeLogGroups",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "InvalidSignatureException");
    let (status, err) = server
        .logs_as(
            Credentials::new("AKIAUNKNOWNUNKNOWN00", "whatever-whatever"),
            "DescribeLogGroups",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "UnrecognizedClientException");
}

#[test]
fn unauthenticated_listeners_are_refused_off_loopback() {
    let dir = temp_dir();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_thingwatch"))
        .args([
            "serve",
            "--mqtt-listen",
            "0.0.0.0:0",
            "--http-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("non-loopback"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_gracefully_and_keeps_every_event() {
    let dir = temp_dir();
    let mut server = Server::start(dir.path(), &[], &[]);
    let (publisher, _rx, _task) = v311(&server, "sensor-t", true).await;
    for i in 0..20 {
        publisher
            .publish("dt/sensor-t/temp", QoS::AtLeastOnce, false, format!("{i}"))
            .await
            .unwrap();
    }
    let written = server
        .wait_for_events(
            r#"{ $.eventType = "Publish-In" && $.clientId = "sensor-t" }"#,
            20,
        )
        .await;
    assert_eq!(written.len(), 20);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let code = server.process.child.wait().unwrap();
        (code, server)
    })
    .await
    .unwrap();
    assert!(exit.0.success(), "graceful exit, got {:?}", exit.0);
    drop(exit.1);
    // The connected client's Disconnect (server-initiated) was written before the exit.
    let server = Server::start(dir.path(), &[], &[]);
    let disconnects = server
        .filter_all(r#"{ $.eventType = "Disconnect" && $.clientId = "sensor-t" }"#)
        .await;
    assert_eq!(disconnects.len(), 1, "{disconnects:?}");
    assert_eq!(
        disconnects[0]["disconnectReason"],
        "SERVER_INITIATED_DISCONNECT"
    );
}
