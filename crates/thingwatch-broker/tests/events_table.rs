//! "Every handler emits the events it must": one table row per client action, run against a
//! fresh broker for both MQTT versions, asserting the exact list of AWS IoT log entries
//! (`eventType`, `status`, `logLevel` and the key attributes) that reach a `MemorySink`-backed
//! [`thingwatch_events::Logger`], and the exact `AWS/IoT` counters (Protocol=MQTT) bumped.

mod common;

use common::*;
use std::collections::BTreeMap;
use thingwatch_broker::BrokerConfig;

/// A client action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Connect,
    RefusedClientId,
    Subscribe,
    SubscribeQos2,
    Unsubscribe,
    PublishQos0,
    PublishQos1,
    PublishRetained,
    Delivery,
    QueuedForOffline,
    Ping,
    Disconnect,
    Takeover,
    KeepAliveTimeout,
    MalformedPacket,
    OversizedPayload,
}

/// One row of [`TABLE`].
type Row = (
    Action,
    &'static [&'static str],
    &'static [(&'static str, u64)],
);

/// `(action, entries as "<eventType> <status> <logLevel> [client=] [topic=] [reason=]
/// [disconnect=] [retain]", counter deltas)`. Order within a row does not matter (entries of
/// different connections may interleave); the multiset must match exactly.
const TABLE: &[Row] = &[
    (
        Action::Connect,
        &["Connect Success INFO client=c"],
        &[("Connect.Success", 1)],
    ),
    (
        Action::RefusedClientId,
        &["Connect Failure ERROR client=$bad reason=CLIENT_ID_INVALID"],
        &[("Connect.ClientError", 1)],
    ),
    (
        Action::Subscribe,
        &["Subscribe Success INFO client=c topic=a/b"],
        &[("Subscribe.Success", 1)],
    ),
    (
        Action::SubscribeQos2,
        &["Subscribe Failure ERROR client=c topic=a/b reason=QOS_NOT_SUPPORTED"],
        &[("Subscribe.ClientError", 1)],
    ),
    (
        Action::Unsubscribe,
        &["Unsubscribe Success INFO client=c topic=a/b"],
        &[("Unsubscribe.Success", 1)],
    ),
    (
        Action::PublishQos0,
        &["Publish-In Success INFO client=c topic=a/b"],
        &[("PublishIn.Success", 1)],
    ),
    (
        Action::PublishQos1,
        &["Publish-In Success INFO client=c topic=a/b"],
        &[("PublishIn.Success", 1)],
    ),
    (
        Action::PublishRetained,
        &["Publish-In Success INFO client=c topic=a/b retain"],
        &[("PublishIn.Success", 1), ("PublishRetained.Success", 1)],
    ),
    (
        Action::Delivery,
        &[
            "Publish-In Success INFO client=c topic=a/b",
            "Publish-Out Success INFO client=s topic=a/b",
        ],
        &[("PublishIn.Success", 1), ("PublishOut.Success", 1)],
    ),
    (
        Action::QueuedForOffline,
        &[
            "Publish-In Success INFO client=c topic=a/b",
            "Queued Success INFO client=s topic=a/b",
        ],
        &[("PublishIn.Success", 1)],
    ),
    (Action::Ping, &[], &[("Ping.Success", 1)]),
    (
        Action::Disconnect,
        &["Disconnect Success INFO client=c disconnect=CLIENT_INITIATED_DISCONNECT"],
        &[],
    ),
    (
        Action::Takeover,
        &[
            "Connect Success INFO client=c",
            "Disconnect Success INFO client=c reason=DUPLICATE_CLIENT_ID disconnect=DUPLICATE_CLIENTID",
        ],
        &[("Connect.Success", 1)],
    ),
    (
        Action::KeepAliveTimeout,
        &["Disconnect Success INFO client=k disconnect=MQTT_KEEP_ALIVE_TIMEOUT"],
        &[],
    ),
    (
        Action::MalformedPacket,
        &["Disconnect Success INFO client=c reason=MALFORMED_PACKET disconnect=CLIENT_ERROR"],
        &[],
    ),
    (
        Action::OversizedPayload,
        &[
            "Publish-In Failure ERROR client=c topic=a/b reason=PAYLOAD_LIMIT_EXCEEDED",
            "Disconnect Success INFO client=c reason=PAYLOAD_LIMIT_EXCEEDED disconnect=CLIENT_ERROR",
        ],
        &[("PublishIn.ClientError", 1)],
    ),
];

/// One entry in the table's notation.
fn describe(e: &serde_json::Value) -> String {
    let mut s = format!(
        "{} {} {}",
        e["eventType"].as_str().unwrap_or("?"),
        e["status"].as_str().unwrap_or("?"),
        e["logLevel"].as_str().unwrap_or("?")
    );
    for (key, label) in [
        ("clientId", "client"),
        ("topicName", "topic"),
        ("reason", "reason"),
        ("disconnectReason", "disconnect"),
    ] {
        if let Some(v) = e[key].as_str() {
            s.push_str(&format!(" {label}={v}"));
        }
    }
    if e["retain"] == "True" {
        s.push_str(" retain");
    }
    s
}

/// Connections kept open until the row is checked (dropping one would add entries).
#[derive(Default)]
struct Clients(Vec<RawClient>);

/// Brings the broker to the state the action needs; every entry it causes is written before
/// it returns.
async fn setup(srv: &BrokerServer, action: Action, version: u8) -> Clients {
    let v5 = version == 5;
    let mut clients = Clients::default();
    match action {
        Action::Connect | Action::RefusedClientId | Action::KeepAliveTimeout => {}
        Action::Delivery => {
            let (mut s, _) = RawClient::connected(srv.addr, "s", &ConnectOpts::new(version)).await;
            s.send(&subscribe_packet(v5, 1, &[("a/b", 1)])).await;
            assert_eq!(s.expect().await.0, 0x90);
            clients.0.push(s);
        }
        Action::QueuedForOffline => {
            let (mut s, _) =
                RawClient::connected(srv.addr, "s", &ConnectOpts::persistent(version)).await;
            s.send(&subscribe_packet(v5, 1, &[("a/b", 1)])).await;
            assert_eq!(s.expect().await.0, 0x90);
            s.send(&[0xE0, 0]).await;
            assert_eq!(s.next(Duration::from_secs(3)).await, Read::Closed);
            srv.wait_events(|ev| ev.iter().any(|e| e["eventType"] == "Disconnect"))
                .await;
        }
        Action::Unsubscribe => {
            let (mut c, _) = RawClient::connected(srv.addr, "c", &ConnectOpts::new(version)).await;
            c.send(&subscribe_packet(v5, 1, &[("a/b", 1)])).await;
            assert_eq!(c.expect().await.0, 0x90);
            clients.0.push(c);
        }
        _ => {}
    }
    if !matches!(
        action,
        Action::Connect | Action::RefusedClientId | Action::KeepAliveTimeout | Action::Unsubscribe
    ) {
        let (c, _) = RawClient::connected(srv.addr, "c", &ConnectOpts::new(version)).await;
        clients.0.push(c);
    }
    clients
}

/// Performs the action and waits for its visible protocol result.
async fn act(srv: &BrokerServer, action: Action, version: u8, clients: &mut Clients) {
    let v5 = version == 5;
    let o = ConnectOpts::new(version);
    match action {
        Action::Connect => {
            let (c, _) = RawClient::connected(srv.addr, "c", &o).await;
            clients.0.push(c);
        }
        Action::RefusedClientId => {
            let (mut c, ack) = RawClient::connect(srv.addr, "$bad", &o).await;
            assert_ne!(ack[1], 0, "refused");
            assert_eq!(c.next(Duration::from_secs(3)).await, Read::Closed);
        }
        Action::KeepAliveTimeout => {
            let ka = ConnectOpts { keep_alive: 1, ..o };
            let (mut c, _) = RawClient::connected(srv.addr, "k", &ka).await;
            // The entries of the CONNECT are not part of this row.
            let before = srv.events().len();
            loop {
                match c.next(Duration::from_secs(5)).await {
                    Read::Closed => break,
                    Read::Packet(0xE0, b) => assert_eq!(b, [0x8D], "v5 DISCONNECT 0x8D"),
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(before, 1, "only the Connect entry before the timeout");
        }
        _ => {
            let c = clients.0.last_mut().unwrap();
            match action {
                Action::Subscribe => {
                    c.send(&subscribe_packet(v5, 2, &[("a/b", 1)])).await;
                    assert_eq!(c.expect().await.0, 0x90);
                }
                Action::SubscribeQos2 => {
                    c.send(&subscribe_packet(v5, 2, &[("a/b", 2)])).await;
                }
                Action::Unsubscribe => {
                    c.send(&unsubscribe_packet(v5, 2, &["a/b"])).await;
                    assert_eq!(c.expect().await.0, 0xB0);
                }
                Action::PublishQos0 => {
                    c.send(&publish_packet(v5, "a/b", b"x", 0, false, None, &[]))
                        .await;
                }
                Action::PublishQos1 | Action::Delivery | Action::QueuedForOffline => {
                    c.send(&publish_packet(v5, "a/b", b"x", 1, false, Some(5), &[]))
                        .await;
                    assert_eq!(c.expect().await.0, 0x40);
                }
                Action::PublishRetained => {
                    c.send(&publish_packet(v5, "a/b", b"x", 1, true, Some(5), &[]))
                        .await;
                    assert_eq!(c.expect().await.0, 0x40);
                }
                Action::Ping => {
                    c.send(&[0xC0, 0]).await;
                    assert_eq!(c.expect().await.0, 0xD0);
                }
                Action::Disconnect => {
                    c.send(&[0xE0, 0]).await;
                    assert_eq!(c.next(Duration::from_secs(3)).await, Read::Closed);
                }
                Action::Takeover => {
                    let (n, _) = RawClient::connected(srv.addr, "c", &o).await;
                    clients.0.push(n);
                }
                Action::MalformedPacket => {
                    c.send(&[0x36, 5, 0, 1, b'a', 0, 1]).await; // PUBLISH QoS 3
                }
                Action::OversizedPayload => {
                    let big = vec![0u8; 128 * 1024 + 1];
                    c.send(&publish_packet(v5, "a/b", &big, 0, false, None, &[]))
                        .await;
                }
                _ => unreachable!(),
            }
            if action == Action::Delivery {
                let s = clients.0.first_mut().unwrap();
                assert_eq!(s.delivery().await.payload, b"x");
            }
        }
    }
}

fn delta(
    before: &BTreeMap<&'static str, u64>,
    after: &BTreeMap<&'static str, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.to_string(), d))
        })
        .collect()
}

#[tokio::test]
async fn every_handler_emits_the_events_it_must() {
    let config = BrokerConfig {
        keep_alive_min_secs: 1,
        ..Default::default()
    };
    let mut failures = Vec::new();
    for version in [4u8, 5] {
        for (action, want_events, want_metrics) in TABLE {
            let dir = tempfile::tempdir().unwrap();
            let srv = start(dir.path(), config.clone()).await;
            let mut clients = setup(&srv, *action, version).await;
            let base_events = if *action == Action::KeepAliveTimeout {
                0
            } else {
                srv.events().len()
            };
            let base_metrics = srv.metrics();
            act(&srv, *action, version, &mut clients).await;
            let skip = if *action == Action::KeepAliveTimeout {
                1 // the CONNECT of the timed-out client
            } else {
                base_events
            };
            let n = skip + want_events.len();
            srv.wait_events(|ev| ev.len() >= n).await;
            // Anything extra would have been written by now too.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut got: Vec<String> = srv.events()[skip..].iter().map(describe).collect();
            got.sort();
            let mut want: Vec<String> = want_events.iter().map(|s| s.to_string()).collect();
            want.sort();
            let mut metrics = delta(&base_metrics, &srv.metrics());
            if *action == Action::KeepAliveTimeout {
                metrics.remove("Connect.Success");
            }
            let want_metrics: BTreeMap<String, u64> = want_metrics
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect();
            if got != want || metrics != want_metrics {
                failures.push(format!(
                    "v{version} {action:?}:\n  entries  got {got:?}\n           want {want:?}\n  counters got {metrics:?}\n           want {want_metrics:?}"
                ));
            }
            drop(clients);
            srv.stop().await;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
