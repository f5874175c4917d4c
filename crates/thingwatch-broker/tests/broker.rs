//! Black-box tests: real MQTT clients (rumqttc v4 = 3.1.1, v5) and raw bytes against a real
//! broker on 127.0.0.1:0, checking deliveries, closes and the logged AWS events.

mod common;

use common::*;
use rumqttc::{LastWill, QoS};
use thingwatch_broker::BrokerConfig;

#[tokio::test]
async fn qos0_qos1_cross_version_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (sub, mut rx, _t1) = v4(srv.addr, "sub4", true, None).await;
    sub.subscribe("dev/+/temp", QoS::AtLeastOnce).await.unwrap();
    // A v5 publisher.
    let mut o5 = rumqttc::v5::MqttOptions::new("pub5", "127.0.0.1", srv.addr.port());
    o5.set_keep_alive(Duration::from_secs(30));
    let (p5, mut el5) = rumqttc::v5::AsyncClient::new(o5, 10);
    tokio::spawn(async move { while el5.poll().await.is_ok() {} });
    tokio::time::sleep(Duration::from_millis(300)).await;
    p5.publish(
        "dev/1/temp",
        rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        false,
        "21",
    )
    .await
    .unwrap();
    p5.publish(
        "dev/2/temp",
        rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        false,
        "22",
    )
    .await
    .unwrap();
    p5.publish(
        "dev/2/hum",
        rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        false,
        "x",
    )
    .await
    .unwrap();
    assert_eq!(recv(&mut rx).await.unwrap().1, b"21");
    assert_eq!(recv(&mut rx).await.unwrap().1, b"22");
    assert!(nothing(&mut rx).await);
    let ins = srv.events_of("Publish-In");
    let outs = srv.events_of("Publish-Out");
    assert_eq!(ins.len(), 3);
    assert_eq!(outs.len(), 2);
    assert_eq!(outs[0]["clientId"], "sub4");
    assert_eq!(
        outs[0]["traceId"], ins[0]["traceId"],
        "Publish-Out shares the Publish-In trace id"
    );
    assert_eq!(srv.events_of("Subscribe")[0]["topicName"], "dev/+/temp");
    assert!(
        srv.events_of("Connect")
            .iter()
            .all(|e| e["status"] == "Success" && e["principalId"] == "anonymous")
    );
    srv.stop().await;
}

#[tokio::test]
async fn retained_set_clear_exact_only() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (p, _rx0, _t0) = v4(srv.addr, "pub", true, None).await;
    p.publish("cfg/a", QoS::AtLeastOnce, true, "v1")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, mut rx, _t) = v4(srv.addr, "s1", true, None).await;
    s.subscribe("cfg/#", QoS::AtLeastOnce).await.unwrap();
    assert!(
        nothing(&mut rx).await,
        "no retained delivery through a wildcard (AWS)"
    );
    s.subscribe("cfg/a", QoS::AtLeastOnce).await.unwrap();
    let (t, pl, retain) = recv(&mut rx).await.unwrap();
    assert_eq!(
        (t.as_str(), pl.as_slice(), retain),
        ("cfg/a", &b"v1"[..], true)
    );
    p.publish("cfg/a", QoS::AtLeastOnce, true, "")
        .await
        .unwrap();
    let _ = recv(&mut rx).await; // the live (empty) delivery
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(srv.broker.stats().retained, 0);
    srv.stop().await;
}

#[tokio::test]
async fn will_on_drop_not_on_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (s, mut rx, _t) = v4(srv.addr, "watch", true, None).await;
    s.subscribe("lwt/#", QoS::AtLeastOnce).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (c1, _r1, _t1) = v4(
        srv.addr,
        "w1",
        true,
        Some(LastWill::new("lwt/w1", "gone", QoS::AtLeastOnce, false)),
    )
    .await;
    c1.disconnect().await.unwrap();
    assert!(nothing(&mut rx).await, "no will after DISCONNECT");
    // A raw 3.1.1 client with a will, then the socket is dropped.
    let mut body = vec![
        0,
        4,
        b'M',
        b'Q',
        b'T',
        b'T',
        4,
        0x02 | 0x04 | 0x08,
        0,
        60,
        0,
        2,
        b'w',
        b'2',
    ];
    body.extend_from_slice(&[0, 6]);
    body.extend_from_slice(b"lwt/w2");
    body.extend_from_slice(&[0, 4]);
    body.extend_from_slice(b"dead");
    let mut pkt = vec![0x10, body.len() as u8];
    pkt.extend(body);
    let mut raw = RawClient::tcp(srv.addr, 4).await;
    raw.send(&pkt).await;
    assert_eq!(raw.expect().await, (0x20, vec![0, 0]), "CONNACK accepted");
    drop(raw);
    let (t, pl, _) = recv(&mut rx).await.unwrap();
    assert_eq!((t.as_str(), pl.as_slice()), ("lwt/w2", &b"dead"[..]));
    let disc = srv.events_of("Disconnect");
    assert!(
        disc.iter().any(
            |e| e["clientId"] == "w1" && e["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"
        )
    );
    assert!(
        disc.iter()
            .any(|e| e["clientId"] == "w2" && e["disconnectReason"] == "CONNECTION_LOST")
    );
    srv.stop().await;
}

#[tokio::test]
async fn persistent_session_redelivery_after_reconnect_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (s, _rx, t) = v4(srv.addr, "keeper", false, None).await;
    s.subscribe("q/#", QoS::AtLeastOnce).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.disconnect().await.unwrap();
    let _ = t.await;
    let (p, _r, _t) = v4(srv.addr, "pub", true, None).await;
    p.publish("q/1", QoS::AtLeastOnce, false, "m1")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.events_of("Queued").len(), 1);
    srv.stop().await;

    // Restart on the same data directory: the session, its subscription and message survive.
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (_s2, mut rx2, _t2) = v4(srv.addr, "keeper", false, None).await;
    let (t, pl, _) = recv(&mut rx2).await.unwrap();
    assert_eq!((t.as_str(), pl.as_slice()), ("q/1", &b"m1"[..]));
    let (p, _r, _t) = v4(srv.addr, "pub2", true, None).await;
    p.publish("q/2", QoS::AtLeastOnce, false, "m2")
        .await
        .unwrap();
    assert_eq!(
        recv(&mut rx2).await.unwrap().1,
        b"m2",
        "subscription restored"
    );
    srv.stop().await;
}

#[tokio::test]
async fn takeover_disconnects_old_connection_with_aws_event() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (mut old, _) = RawClient::connect(srv.addr, "dup", &ConnectOpts::new(5)).await;
    let mut new = RawClient::tcp(srv.addr, 5).await;
    new.send(&connect_packet("dup", &ConnectOpts::new(5))).await;
    let (bytes, closed) = old.read_to_close().await;
    assert!(closed);
    assert_eq!(
        &bytes[..3],
        &[0xE0, 1, 0x8E],
        "v5 DISCONNECT Session taken over"
    );
    let d = srv.events_of("Disconnect");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["reason"], "DUPLICATE_CLIENT_ID");
    assert_eq!(
        d[0]["details"],
        "A new connection was established with the same client ID"
    );
    assert_eq!(d[0]["disconnectReason"], "DUPLICATE_CLIENTID");
    drop(new);
    srv.stop().await;
}

#[tokio::test]
async fn malformed_packets_close_connection_and_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    // (name, bytes sent after a successful v5 CONNECT or instead of it, expected v5 DISCONNECT code)
    let table: &[(&str, bool, Vec<u8>, Option<u8>)] = &[
        (
            "bad remaining length",
            true,
            vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            Some(0x81),
        ),
        (
            "reserved flags on SUBSCRIBE",
            true,
            vec![0x80, 6, 0, 1, 0, 1, b'a', 0],
            Some(0x81),
        ),
        (
            "PUBLISH QoS 3",
            true,
            vec![0x36, 5, 0, 1, b'a', 0, 1],
            Some(0x81),
        ),
        (
            "second CONNECT",
            true,
            connect_packet("x2", &ConnectOpts::new(5)),
            Some(0x82),
        ),
        (
            "QoS 2 PUBLISH",
            true,
            vec![0x34, 6, 0, 1, b'a', 0, 1, 0],
            Some(0x9B),
        ),
        (
            "bad protocol name",
            false,
            vec![0x10, 12, 0, 4, b'M', b'Q', b'X', b'X', 4, 2, 0, 60, 0, 0],
            None,
        ),
        ("truncated CONNECT", false, vec![0x10, 3, 0, 4, b'M'], None),
    ];
    for (name, after_connect, bytes, code) in table {
        let mut s = if *after_connect {
            RawClient::connect(srv.addr, "bad", &ConnectOpts::new(5))
                .await
                .0
        } else {
            RawClient::tcp(srv.addr, 5).await
        };
        s.send(bytes).await;
        let (got, closed) = s.read_to_close().await;
        assert!(closed, "{name}: connection closed");
        if let Some(code) = code {
            assert_eq!(
                got.get(..3),
                Some(&[0xE0, 1, *code][..]),
                "{name}: DISCONNECT reason"
            );
        }
    }
    let errs: Vec<_> = srv
        .events_of("Disconnect")
        .into_iter()
        .filter(|e| e["disconnectReason"] == "CLIENT_ERROR")
        .collect();
    assert_eq!(errs.len(), 5);
    // Still serving.
    let (c, mut rx, _t) = v4(srv.addr, "ok", true, None).await;
    c.subscribe("t", QoS::AtMostOnce).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.publish("t", QoS::AtMostOnce, false, "alive")
        .await
        .unwrap();
    assert_eq!(recv(&mut rx).await.unwrap().1, b"alive");
    srv.stop().await;
}

#[tokio::test]
async fn keep_alive_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(
        dir.path(),
        BrokerConfig {
            keep_alive_min_secs: 1,
            ..Default::default()
        },
    )
    .await;
    let mut s = RawClient::tcp(srv.addr, 5).await;
    let sleepy = ConnectOpts {
        keep_alive: 1,
        ..ConnectOpts::new(5)
    };
    s.send(&connect_packet("sleepy", &sleepy)).await;
    let started = std::time::Instant::now();
    let (got, closed) = s.read_to_close().await;
    assert!(closed);
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert!(
        got.windows(3).any(|w| w == [0xE0, 1, 0x8D]),
        "v5 DISCONNECT Keep alive timeout"
    );
    let d = srv.events_of("Disconnect");
    assert_eq!(d[0]["disconnectReason"], "MQTT_KEEP_ALIVE_TIMEOUT");
    srv.stop().await;
}

#[tokio::test]
async fn limits_client_id_and_payload_and_levels() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    // Client id of 129 bytes → v5 CONNACK 0x85.
    let mut s = RawClient::tcp(srv.addr, 5).await;
    s.send(&connect_packet(&"c".repeat(129), &ConnectOpts::new(5)))
        .await;
    let (got, closed) = s.read_to_close().await;
    assert!(closed && got[0] == 0x20 && got[3] == 0x85, "{got:?}");
    // Payload over 128 KiB → v5 DISCONNECT 0x95; exactly 128 KiB is fine.
    let (mut c, _) = RawClient::connected(srv.addr, "big", &ConnectOpts::new(5)).await;
    c.send(&publish_qos0(true, "a/b", &vec![0u8; 128 * 1024]))
        .await;
    c.send(&publish_qos0(true, "a/b", &vec![0u8; 128 * 1024 + 1]))
        .await;
    let (got, closed) = c.read_to_close().await;
    assert!(closed && got.starts_with(&[0xE0, 1, 0x95]), "{got:?}");
    // Too many levels → 3.1.1 connection closed.
    let (mut c, _) = RawClient::connected(srv.addr, "deep", &ConnectOpts::new(4)).await;
    c.send(&publish_qos0(false, "1/2/3/4/5/6/7/8/9", b"x"))
        .await;
    let (got, closed) = c.read_to_close().await;
    assert!(closed && got.is_empty());
    // A topic over 256 bytes → v5 DISCONNECT 0x90.
    let (mut c, _) = RawClient::connected(srv.addr, "long", &ConnectOpts::new(5)).await;
    c.send(&publish_qos0(true, &"t".repeat(257), b"x")).await;
    let (got, closed) = c.read_to_close().await;
    assert!(closed && got.starts_with(&[0xE0, 1, 0x90]), "{got:?}");
    let fails: Vec<_> = srv
        .events_of("Publish-In")
        .into_iter()
        .filter(|e| e["status"] == "Failure")
        .collect();
    assert_eq!(fails.len(), 3, "{fails:?}");
    assert_eq!(srv.events_of("Publish-In").len(), 4);
    assert_eq!(
        srv.events_of("Connect")
            .iter()
            .filter(|e| e["status"] == "Failure")
            .count(),
        1
    );
    srv.stop().await;
}

#[tokio::test]
async fn shared_subscriptions_and_dollar_topics() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (a, mut ra, _ta) = v4(srv.addr, "a", true, None).await;
    let (b, mut rb, _tb) = v4(srv.addr, "b", true, None).await;
    let (all, mut rall, _tc) = v4(srv.addr, "all", true, None).await;
    a.subscribe("$share/g/jobs/+", QoS::AtLeastOnce)
        .await
        .unwrap();
    b.subscribe("$share/g/jobs/+", QoS::AtLeastOnce)
        .await
        .unwrap();
    all.subscribe("#", QoS::AtLeastOnce).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (p, _r, _t) = v4(srv.addr, "p", true, None).await;
    for i in 0..4 {
        p.publish(format!("jobs/{i}"), QoS::AtLeastOnce, false, "j")
            .await
            .unwrap();
    }
    p.publish("$aws/things/x/shadow/update", QoS::AtLeastOnce, false, "s")
        .await
        .unwrap();
    let mut na = 0;
    let mut nb = 0;
    for _ in 0..4 {
        tokio::select! {
            Some(_) = ra.recv() => na += 1,
            Some(_) = rb.recv() => nb += 1,
        }
    }
    assert_eq!((na, nb), (2, 2), "round-robin within the group");
    let mut got = Vec::new();
    while let Some((t, _, _)) = tokio::time::timeout(Duration::from_millis(500), rall.recv())
        .await
        .ok()
        .flatten()
    {
        got.push(t);
    }
    assert_eq!(got.len(), 4, "'#' does not match $-topics: {got:?}");
    srv.stop().await;
}

/// A fan-out to several 3.1.1 subscribers at QoS 0 reuses one encoded PUBLISH per message
/// (`Message::wire_v311_qos0`): every subscriber still gets every message, byte-exact, with
/// RETAIN clear; QoS 1 subscribers of the same messages and a retained message (never
/// cached) are unaffected.
#[tokio::test]
async fn fan_out_to_many_subscribers_delivers_every_message_to_each() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let mut subs = Vec::new();
    for (i, qos) in [
        QoS::AtMostOnce,
        QoS::AtMostOnce,
        QoS::AtMostOnce,
        QoS::AtLeastOnce,
    ]
    .into_iter()
    .enumerate()
    {
        let (c, rx, t) = v4(srv.addr, &format!("fan-{i}"), true, None).await;
        c.subscribe("fan/+", qos).await.unwrap();
        subs.push((c, rx, t));
    }
    let (p, _prx, _pt) = v4(srv.addr, "fan-pub", true, None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<(String, Vec<u8>, QoS)> = (0..30)
        .map(|i| {
            let qos = if i % 3 == 0 {
                QoS::AtLeastOnce
            } else {
                QoS::AtMostOnce
            };
            (
                format!("fan/{}", i % 4),
                format!("m{i}-{}", "x".repeat(i * 40)).into_bytes(),
                qos,
            )
        })
        .collect();
    for (topic, payload, qos) in &sent {
        p.publish(topic.clone(), *qos, false, payload.clone())
            .await
            .unwrap();
    }
    for (_, rx, _) in subs.iter_mut() {
        for (topic, payload, _) in &sent {
            let (t, b, retain) = recv(rx)
                .await
                .expect("every message reaches every subscriber");
            assert_eq!((&t, &b, retain), (topic, payload, false));
        }
        assert!(nothing(rx).await);
    }
    // A retained message goes out live (RETAIN clear) and later as retained (RETAIN set).
    p.publish("fan/r", QoS::AtMostOnce, true, "kept")
        .await
        .unwrap();
    for (_, rx, _) in subs.iter_mut() {
        assert_eq!(
            recv(rx).await.unwrap(),
            ("fan/r".into(), b"kept".to_vec(), false)
        );
    }
    let (late, mut late_rx, _lt) = v4(srv.addr, "fan-late", true, None).await;
    late.subscribe("fan/r", QoS::AtMostOnce).await.unwrap();
    assert_eq!(
        recv(&mut late_rx).await.unwrap(),
        ("fan/r".into(), b"kept".to_vec(), true)
    );
    srv.stop().await;
}
