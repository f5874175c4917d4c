//! AWS IoT Core semantics that depart from (or choose within) the MQTT specs, tested with raw
//! bytes for both versions: QoS 2 refusal, persistent sessions not carried over between
//! versions, the per-SUBSCRIBE and per-connection subscription limits, UNSUBSCRIBE, QoS 1
//! redelivery after a reconnect, and MQTT 5 message expiry.

mod common;

use common::*;
use thingwatch_broker::BrokerConfig;
use thingwatch_events::MetricName;

fn failures<'a>(
    ev: &'a [serde_json::Value],
    ty: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    ev.iter()
        .filter(move |e| e["eventType"] == ty && e["status"] == "Failure")
}

#[tokio::test]
async fn qos2_subscribe_gets_no_suback_and_subscribes_nothing() {
    for version in [4u8, 5] {
        let v5 = version == 5;
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), BrokerConfig::default()).await;
        let (mut s, _) = RawClient::connected(srv.addr, "sub", &ConnectOpts::new(version)).await;
        s.send(&subscribe_packet(v5, 1, &[("a/b", 1), ("c/d", 2)]))
            .await;
        assert!(
            s.ping().await.is_empty(),
            "v{version}: nothing before PINGRESP"
        );
        assert_eq!(
            s.next(Duration::from_millis(200)).await,
            Read::Timeout,
            "v{version}: no SUBACK"
        );
        assert_eq!(srv.broker.stats().subscriptions, 0, "v{version}");
        let ev = srv.events_of("Subscribe");
        let got: Vec<_> = ev
            .iter()
            .map(|e| {
                (
                    e["topicName"].as_str().unwrap(),
                    e["status"].as_str().unwrap(),
                    e["logLevel"].as_str().unwrap(),
                    e["reason"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a/b", "Failure", "ERROR", "QOS_NOT_SUPPORTED"),
                ("c/d", "Failure", "ERROR", "QOS_NOT_SUPPORTED"),
            ],
            "v{version}"
        );
        assert_eq!(srv.metric(MetricName::SubscribeClientError), 2);
        assert_eq!(srv.metric(MetricName::SubscribeSuccess), 0);

        // The connection still works: a QoS 1 SUBSCRIBE is acknowledged and delivers.
        s.send(&subscribe_packet(v5, 2, &[("a/b", 1)])).await;
        let want: &[u8] = if v5 { &[0, 2, 0, 1] } else { &[0, 2, 1] };
        assert_eq!(
            s.expect().await,
            (0x90, want.to_vec()),
            "v{version}: SUBACK"
        );
        let (mut p, _) = RawClient::connected(srv.addr, "pub", &ConnectOpts::new(version)).await;
        p.send(&publish_packet(v5, "a/b", b"hi", 0, false, None, &[]))
            .await;
        let d = s.delivery().await;
        assert_eq!(
            (d.topic.as_str(), d.payload.as_slice()),
            ("a/b", &b"hi"[..])
        );
        srv.stop().await;
    }
}

#[tokio::test]
async fn qos2_publish_v311_is_ignored_and_connection_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (mut sub, _) = RawClient::connected(srv.addr, "sub", &ConnectOpts::new(4)).await;
    sub.send(&subscribe_packet(false, 1, &[("q/#", 1)])).await;
    assert_eq!(sub.expect().await.0, 0x90);
    let (mut p, _) = RawClient::connected(srv.addr, "pub", &ConnectOpts::new(4)).await;
    p.send(&publish_packet(
        false,
        "q/x",
        b"two",
        2,
        false,
        Some(7),
        &[],
    ))
    .await;
    assert!(p.ping().await.is_empty(), "no PUBACK, no PUBREC");
    assert_eq!(p.next(Duration::from_millis(200)).await, Read::Timeout);
    // Still open: a QoS 1 PUBLISH is acknowledged and routed; the QoS 2 one never was.
    p.send(&publish_packet(false, "q/x", b"one", 1, true, Some(8), &[]))
        .await;
    assert_eq!(p.expect().await, (0x40, vec![0, 8]), "PUBACK");
    let d = sub.delivery().await;
    assert_eq!(d.payload, b"one");
    assert_eq!(sub.next(Duration::from_millis(200)).await, Read::Timeout);
    assert_eq!(
        srv.broker.stats().retained,
        1,
        "only the QoS 1 one retained"
    );
    let ev = srv.events();
    let f: Vec<_> = failures(&ev, "Publish-In").collect();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (&f[0]["reason"], &f[0]["logLevel"], &f[0]["topicName"]),
        (
            &serde_json::json!("QOS_NOT_SUPPORTED"),
            &serde_json::json!("ERROR"),
            &serde_json::json!("q/x")
        )
    );
    assert!(!ev.iter().any(|e| e["eventType"] == "Disconnect"));
    assert_eq!(srv.metric(MetricName::PublishInClientError), 1);
    assert_eq!(srv.metric(MetricName::PublishInSuccess), 1);
    srv.stop().await;
}

#[tokio::test]
async fn qos2_publish_v5_is_disconnected_with_0x9b() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (mut sub, _) = RawClient::connected(srv.addr, "sub", &ConnectOpts::new(5)).await;
    sub.send(&subscribe_packet(true, 1, &[("q/#", 1)])).await;
    assert_eq!(sub.expect().await.0, 0x90);
    let (mut p, _) = RawClient::connected(srv.addr, "pub", &ConnectOpts::new(5)).await;
    p.send(&publish_packet(true, "q/x", b"two", 2, false, Some(7), &[]))
        .await;
    assert_eq!(
        p.expect().await,
        (0xE0, vec![0x9B]),
        "DISCONNECT QoS not supported"
    );
    assert_eq!(p.next(Duration::from_secs(3)).await, Read::Closed);
    assert_eq!(sub.next(Duration::from_millis(200)).await, Read::Timeout);
    let ev = srv
        .wait_events(|ev| ev.iter().any(|e| e["eventType"] == "Disconnect"))
        .await;
    let f: Vec<_> = failures(&ev, "Publish-In").collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["reason"], "QOS_NOT_SUPPORTED");
    assert_eq!(f[0]["logLevel"], "ERROR");
    let d: Vec<_> = ev
        .iter()
        .filter(|e| e["eventType"] == "Disconnect")
        .collect();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (
            &d[0]["clientId"],
            &d[0]["disconnectReason"],
            &d[0]["reason"]
        ),
        (
            &serde_json::json!("pub"),
            &serde_json::json!("CLIENT_ERROR"),
            &serde_json::json!("QOS_NOT_SUPPORTED")
        )
    );
    assert_eq!(srv.metric(MetricName::PublishInClientError), 1);
    srv.stop().await;
}

/// Waits until `n` Disconnect entries of `client` are logged (the session is parked by then).
async fn disconnected(srv: &BrokerServer, client: &str, n: usize) {
    let ev = srv
        .wait_events(|ev| {
            ev.iter()
                .filter(|e| e["eventType"] == "Disconnect" && e["clientId"] == client)
                .count()
                >= n
        })
        .await;
    assert!(
        ev.iter()
            .filter(|e| e["eventType"] == "Disconnect" && e["clientId"] == client)
            .count()
            >= n,
        "{client} disconnected {n} times"
    );
}

/// Publishes a QoS 1 message with a fresh raw 3.1.1 client and waits for the PUBACK (the
/// queued copy is durable by then).
async fn publish_q1(srv: &BrokerServer, topic: &str, payload: &[u8]) {
    let (mut p, _) = RawClient::connected(srv.addr, "publisher", &ConnectOpts::new(4)).await;
    p.send(&publish_packet(
        false,
        topic,
        payload,
        1,
        false,
        Some(1),
        &[],
    ))
    .await;
    assert_eq!(p.expect().await, (0x40, vec![0, 1]));
}

#[tokio::test]
async fn persistent_sessions_do_not_carry_over_between_versions() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    // A 3.1.1 persistent session with a subscription.
    let (mut d, present) = RawClient::connected(srv.addr, "dev", &ConnectOpts::persistent(4)).await;
    assert!(!present);
    d.send(&subscribe_packet(false, 1, &[("q/#", 1)])).await;
    assert_eq!(d.expect().await.0, 0x90);
    d.send(&[0xE0, 0]).await;
    disconnected(&srv, "dev", 1).await;
    publish_q1(&srv, "q/1", b"m1").await;
    // Same version: resumed, the queued message is delivered.
    let (mut d, present) = RawClient::connected(srv.addr, "dev", &ConnectOpts::persistent(4)).await;
    assert!(present, "same version resumes");
    let m = d.delivery().await;
    assert_eq!(m.payload, b"m1");
    d.send(&puback_packet(m.pid.unwrap())).await;
    d.send(&[0xE0, 0]).await;
    disconnected(&srv, "dev", 2).await;
    publish_q1(&srv, "q/2", b"m2").await;
    assert_eq!(srv.broker.stats().subscriptions, 1);

    // MQTT 5 with Clean Start 0: a new session; the 3.1.1 one and its queued message are gone.
    let (mut d, present) = RawClient::connected(srv.addr, "dev", &ConnectOpts::persistent(5)).await;
    assert!(!present, "3.1.1 session not resumed by MQTT 5");
    assert!(d.ping().await.is_empty(), "queued message dropped");
    assert_eq!(
        srv.broker.stats().subscriptions,
        0,
        "old subscriptions dropped"
    );
    publish_q1(&srv, "q/3", b"m3").await;
    assert_eq!(d.next(Duration::from_millis(200)).await, Read::Timeout);
    // Give the v5 session a subscription and a queued message, then restart the broker.
    d.send(&subscribe_packet(true, 1, &[("q/#", 1)])).await;
    assert_eq!(d.expect().await.0, 0x90);
    d.send(&[0xE0, 0]).await;
    disconnected(&srv, "dev", 3).await;
    publish_q1(&srv, "q/4", b"m4").await;
    srv.stop().await;

    let srv = start(dir.path(), BrokerConfig::default()).await;
    assert_eq!(srv.broker.stats().subscriptions, 1, "v5 session restored");
    let (mut d, present) = RawClient::connected(srv.addr, "dev", &ConnectOpts::persistent(4)).await;
    assert!(!present, "restored MQTT 5 session not resumed by 3.1.1");
    assert!(d.ping().await.is_empty());
    assert_eq!(srv.broker.stats().subscriptions, 0);
    d.send(&[0xE0, 0]).await;
    disconnected(&srv, "dev", 1).await;
    srv.stop().await;

    // The discarded session is gone from the database too: the 3.1.1 session that replaced it
    // resumes empty.
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (mut d, present) = RawClient::connected(srv.addr, "dev", &ConnectOpts::persistent(4)).await;
    assert!(present);
    assert!(
        d.ping().await.is_empty(),
        "m4 was dropped with the v5 session"
    );
    assert_eq!(srv.broker.stats().subscriptions, 0);
    srv.stop().await;
}

/// `(topicName, status, reason)` of every `ty` entry.
fn entries(ev: &[serde_json::Value], ty: &str) -> Vec<(String, String, String)> {
    ev.iter()
        .filter(|e| e["eventType"] == ty)
        .map(|e| {
            (
                e["topicName"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_str().unwrap_or_default().to_owned(),
                e["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn at_most_8_filters_per_subscribe() {
    for version in [4u8, 5] {
        let v5 = version == 5;
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), BrokerConfig::default()).await;
        let (mut c, _) = RawClient::connected(srv.addr, "c", &ConnectOpts::new(version)).await;
        let names: Vec<String> = (0..10).map(|i| format!("f/{i}")).collect();
        let filters: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 1)).collect();
        c.send(&subscribe_packet(v5, 9, &filters)).await;
        let (first, body) = c.expect().await;
        assert_eq!(first, 0x90);
        let fail = if v5 { 0x97 } else { 0x80 };
        let mut want = vec![0, 9];
        if v5 {
            want.push(0);
        }
        want.extend([1, 1, 1, 1, 1, 1, 1, 1, fail, fail]);
        assert_eq!(body, want, "v{version} SUBACK");
        let ev = srv.events();
        let got = entries(&ev, "Subscribe");
        let expected: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if i < 8 {
                    (n.clone(), "Success".into(), String::new())
                } else {
                    (
                        n.clone(),
                        "Failure".into(),
                        "SUBSCRIBE_LIMIT_EXCEEDED".into(),
                    )
                }
            })
            .collect();
        assert_eq!(got, expected, "v{version}");
        assert_eq!(srv.metric(MetricName::SubscribeSuccess), 8);
        assert_eq!(srv.metric(MetricName::SubscribeClientError), 2);
        assert_eq!(srv.broker.stats().subscriptions, 8);
        srv.stop().await;
    }
}

#[tokio::test]
async fn at_most_50_subscriptions_per_connection() {
    for version in [4u8, 5] {
        let v5 = version == 5;
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), BrokerConfig::default()).await;
        let (mut c, _) = RawClient::connected(srv.addr, "c", &ConnectOpts::new(version)).await;
        let fail = if v5 { 0x97 } else { 0x80 };
        let mut codes = Vec::new();
        for packet_no in 0..7u16 {
            let names: Vec<String> = (0..8).map(|i| format!("s/{packet_no}/{i}")).collect();
            let filters: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 0)).collect();
            c.send(&subscribe_packet(v5, packet_no + 1, &filters)).await;
            let (first, body) = c.expect().await;
            assert_eq!(first, 0x90);
            codes.extend_from_slice(&body[if v5 { 3 } else { 2 }..]);
        }
        let mut want = vec![0u8; 50];
        want.extend([fail; 6]);
        assert_eq!(codes, want, "v{version}: 50 granted, then refused");
        // Re-subscribing an existing filter at the limit replaces it (no new subscription).
        c.send(&subscribe_packet(v5, 100, &[("s/0/0", 1), ("new", 1)]))
            .await;
        let (_, body) = c.expect().await;
        assert_eq!(&body[if v5 { 3 } else { 2 }..], &[1, fail], "v{version}");
        let ev = srv.events();
        let f: Vec<_> = entries(&ev, "Subscribe")
            .into_iter()
            .filter(|(_, s, _)| s == "Failure")
            .collect();
        assert_eq!(f.len(), 7);
        assert!(f.iter().all(|(_, _, r)| r == "SUBSCRIPTION_LIMIT_EXCEEDED"));
        assert_eq!(f[0].0, "s/6/2", "the 51st filter is the first refused");
        assert_eq!(srv.metric(MetricName::SubscribeSuccess), 51);
        assert_eq!(srv.metric(MetricName::SubscribeClientError), 7);
        assert_eq!(srv.broker.stats().subscriptions, 50);
        srv.stop().await;
    }
}

#[tokio::test]
async fn unsubscribe_events_and_unsuback_codes() {
    for version in [4u8, 5] {
        let v5 = version == 5;
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), BrokerConfig::default()).await;
        let (mut c, _) = RawClient::connected(srv.addr, "c", &ConnectOpts::new(version)).await;
        c.send(&subscribe_packet(v5, 1, &[("a/b", 0), ("k/+", 0)]))
            .await;
        assert_eq!(c.expect().await.0, 0x90);
        c.send(&unsubscribe_packet(v5, 2, &["a/b", "x/y", "a/#/b"]))
            .await;
        let want: Vec<u8> = if v5 {
            vec![0, 2, 0, 0x00, 0x11, 0x8F]
        } else {
            vec![0, 2]
        };
        assert_eq!(c.expect().await, (0xB0, want), "v{version} UNSUBACK");
        let ev = srv.events();
        assert_eq!(
            entries(&ev, "Unsubscribe"),
            vec![
                ("a/b".into(), "Success".into(), String::new()),
                ("x/y".into(), "Success".into(), String::new()),
                (
                    "a/#/b".into(),
                    "Failure".into(),
                    "INVALID_TOPIC_FILTER".into()
                ),
            ],
            "v{version}"
        );
        let levels: Vec<_> = ev
            .iter()
            .filter(|e| e["eventType"] == "Unsubscribe")
            .map(|e| e["logLevel"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(levels, ["INFO", "INFO", "ERROR"]);
        assert_eq!(srv.metric(MetricName::UnsubscribeSuccess), 2);
        assert_eq!(srv.metric(MetricName::UnsubscribeClientError), 1);
        assert_eq!(srv.broker.stats().subscriptions, 1, "k/+ remains");
        // a/b no longer delivers; k/+ still does.
        let (mut p, _) = RawClient::connected(srv.addr, "p", &ConnectOpts::new(version)).await;
        p.send(&publish_packet(v5, "a/b", b"no", 0, false, None, &[]))
            .await;
        p.send(&publish_packet(v5, "k/1", b"yes", 0, false, None, &[]))
            .await;
        assert_eq!(c.delivery().await.payload, b"yes");
        srv.stop().await;
    }
}

#[tokio::test]
async fn unacknowledged_qos1_is_redelivered_after_reconnect() {
    for version in [4u8, 5] {
        let v5 = version == 5;
        let dir = tempfile::tempdir().unwrap();
        let srv = start(dir.path(), BrokerConfig::default()).await;
        let opts = ConnectOpts::persistent(version);
        let (mut s, _) = RawClient::connected(srv.addr, "s", &opts).await;
        s.send(&subscribe_packet(v5, 1, &[("r/#", 1)])).await;
        assert_eq!(s.expect().await.0, 0x90);
        publish_q1(&srv, "r/1", b"first").await;
        publish_q1(&srv, "r/2", b"second").await;
        let a = s.delivery().await;
        let b = s.delivery().await;
        assert_eq!((a.payload.as_slice(), a.dup), (&b"first"[..], false));
        assert_eq!((b.payload.as_slice(), b.dup), (&b"second"[..], false));
        // Acknowledge only the first, then drop the connection without DISCONNECT.
        s.send(&puback_packet(a.pid.unwrap())).await;
        s.ping().await;
        drop(s);
        disconnected(&srv, "s", 1).await;
        let (mut s, present) = RawClient::connected(srv.addr, "s", &opts).await;
        assert!(present, "v{version}");
        let again = s.delivery().await;
        assert_eq!(
            (again.payload.as_slice(), again.dup, again.pid, again.qos),
            (&b"second"[..], true, b.pid, 1),
            "v{version}: the unacknowledged message, DUP set, same packet id"
        );
        assert!(
            s.ping().await.is_empty(),
            "v{version}: the acknowledged one is not resent"
        );
        s.send(&puback_packet(again.pid.unwrap())).await;
        s.send(&[0xE0, 0]).await;
        disconnected(&srv, "s", 2).await;
        let (mut s, present) = RawClient::connected(srv.addr, "s", &opts).await;
        assert!(present);
        assert!(
            s.ping().await.is_empty(),
            "v{version}: nothing left after PUBACK"
        );
        srv.stop().await;
    }
}

/// v5 PUBLISH properties: Message Expiry Interval `secs`.
fn expiry_prop(secs: u32) -> Vec<u8> {
    let mut p = vec![0x02];
    p.extend_from_slice(&secs.to_be_bytes());
    p
}

/// `(topic, expiry)` of every delivery before the next PINGRESP.
async fn drain(c: &mut RawClient) -> Vec<(String, Option<u32>)> {
    c.ping()
        .await
        .into_iter()
        .map(|(f, b)| {
            let d = parse_publish(c.v5, f, &b);
            (d.topic, d.expiry)
        })
        .collect()
}

#[tokio::test]
async fn mqtt5_message_expiry_queued_retained_and_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), BrokerConfig::default()).await;
    let persistent = ConnectOpts::persistent(5);
    let (mut s, _) = RawClient::connected(srv.addr, "s", &persistent).await;
    s.send(&subscribe_packet(true, 1, &[("e/#", 1)])).await;
    assert_eq!(s.expect().await.0, 0x90);
    // Live delivery: an interval over AWS's maximum is clamped to 604,800 s.
    let (mut p, _) = RawClient::connected(srv.addr, "p", &ConnectOpts::new(5)).await;
    p.send(&publish_packet(
        true,
        "e/clamp",
        b"c",
        1,
        false,
        Some(1),
        &expiry_prop(u32::MAX),
    ))
    .await;
    assert_eq!(p.expect().await.0, 0x40);
    let d = s.delivery().await;
    assert_eq!((d.topic.as_str(), d.expiry), ("e/clamp", Some(604_800)));
    s.send(&puback_packet(d.pid.unwrap())).await;
    s.send(&[0xE0, 0]).await;
    disconnected(&srv, "s", 1).await;

    // Queued for the offline session, and retained.
    for (i, (topic, retain, props)) in [
        ("e/short", false, expiry_prop(1)),
        ("e/long", false, expiry_prop(100)),
        ("e/none", false, vec![]),
        ("r/short", true, expiry_prop(1)),
        ("r/long", true, expiry_prop(100)),
    ]
    .into_iter()
    .enumerate()
    {
        let pid = 10 + i as u16;
        p.send(&publish_packet(
            true,
            topic,
            b"m",
            1,
            retain,
            Some(pid),
            &props,
        ))
        .await;
        assert_eq!(p.expect().await, (0x40, vec![0, pid as u8]));
    }
    // Let the 1 s messages expire.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (mut s, present) = RawClient::connected(srv.addr, "s", &persistent).await;
    assert!(present);
    let got = drain(&mut s).await;
    assert_eq!(
        got.len(),
        2,
        "the expired message is not delivered: {got:?}"
    );
    assert_eq!(got[0].0, "e/long");
    let left = got[0].1.unwrap();
    assert!(
        (95..100).contains(&left),
        "remaining interval sent, got {left}"
    );
    assert_eq!(got[1], ("e/none".to_string(), None));
    // Retained: the expired one is not sent on subscribe; the other carries what is left.
    let (mut r, _) = RawClient::connected(srv.addr, "r", &ConnectOpts::new(5)).await;
    r.send(&subscribe_packet(true, 1, &[("r/short", 1), ("r/long", 1)]))
        .await;
    assert_eq!(r.expect().await.0, 0x90);
    let got = drain(&mut r).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "r/long");
    assert!((95..100).contains(&got[0].1.unwrap()));
    // A 3.1.1 subscriber gets the live message without properties (none exist in 3.1.1).
    let (mut old, _) = RawClient::connected(srv.addr, "old", &ConnectOpts::new(4)).await;
    old.send(&subscribe_packet(false, 1, &[("r/long", 1)]))
        .await;
    assert_eq!(old.expect().await.0, 0x90);
    let d = old.delivery().await;
    assert_eq!(
        (d.topic.as_str(), d.payload.as_slice()),
        ("r/long", &b"m"[..])
    );
    // One more queued message with an expiry, then a restart: the deadline is persisted.
    s.send(&[0xE0, 0]).await;
    disconnected(&srv, "s", 2).await;
    p.send(&publish_packet(
        true,
        "e/persist",
        b"m",
        1,
        false,
        Some(30),
        &expiry_prop(100),
    ))
    .await;
    assert_eq!(p.expect().await, (0x40, vec![0, 30]));
    srv.stop().await;

    let srv = start(dir.path(), BrokerConfig::default()).await;
    let (mut s, present) = RawClient::connected(srv.addr, "s", &persistent).await;
    assert!(present);
    let got = drain(&mut s).await;
    // e/long and e/none were delivered before (unacknowledged: redelivered) and e/persist.
    let persist: Vec<_> = got.iter().filter(|(t, _)| t == "e/persist").collect();
    assert_eq!(persist.len(), 1, "{got:?}");
    assert!(
        (90..=100).contains(&persist[0].1.unwrap()),
        "expiry survives a restart: {got:?}"
    );
    assert!(!got.iter().any(|(t, _)| t == "e/short"));
    let (mut r, _) = RawClient::connected(srv.addr, "r", &ConnectOpts::new(5)).await;
    r.send(&subscribe_packet(true, 1, &[("r/short", 1), ("r/long", 1)]))
        .await;
    assert_eq!(r.expect().await.0, 0x90);
    let got = drain(&mut r).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!((90..100).contains(&got[0].1.unwrap()), "{got:?}");
    srv.stop().await;
}
