//! [`ShadowGateway`] over real MQTT: an in-process broker on 127.0.0.1:0 with the gateway
//! registered for the reserved topics, rumqttc clients as devices, a `MemorySink` logger so
//! the shadow log entries and the `AWS/IoT` counters can be read exactly.

use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions, QoS};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use thingwatch_broker::{Broker, BrokerConfig, LoopbackAnonymous};
use thingwatch_events::{
    Dimension, LevelSetting, Logger, LoggerSettings, LoggingOptions, MemorySink, MetricName,
    PipelineConfig, Protocol,
};
use thingwatch_shadow::{GatewayLimits, ShadowGateway, ShadowLimits, ShadowService};
use tokio::net::TcpListener;

struct Harness {
    port: u16,
    logger: Logger,
    sink: MemorySink,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Harness {
    async fn start(level: LevelSetting, limits: GatewayLimits) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let sink = MemorySink::new();
        let logger = Logger::start(
            LoggerSettings {
                account_id: "123456789012".into(),
                node_id: "n1".into(),
                pipeline: PipelineConfig::default(),
            },
            Some(LoggingOptions {
                default_log_level: level,
                ..Default::default()
            }),
            Box::new(sink.clone()),
        );
        let broker = Broker::open(
            dir.path(),
            BrokerConfig::default(),
            logger.clone(),
            Arc::new(LoopbackAnonymous),
        )
        .unwrap();
        let service = ShadowService::open(dir.path(), ShadowLimits::default()).unwrap();
        let gateway = ShadowGateway::start(service, broker.clone(), logger.clone(), limits);
        broker.add_reserved_handler(Arc::new(gateway));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = broker
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await;
        });
        Harness {
            port,
            logger,
            sink,
            _dir: dir,
            _stop: stop,
        }
    }

    async fn client(&self, id: &str, filters: &[&str]) -> (AsyncClient, EventLoop) {
        let mut opts = MqttOptions::new(id, "127.0.0.1", self.port);
        opts.set_keep_alive(Duration::from_secs(30));
        let (client, mut el) = AsyncClient::new(opts, 100);
        for f in filters {
            client.subscribe(*f, QoS::AtLeastOnce).await.unwrap();
        }
        let mut acks = 0;
        while acks < filters.len() {
            match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
                Ok(Ok(Event::Incoming(Incoming::SubAck(_)))) => acks += 1,
                Ok(Ok(_)) => {}
                other => panic!("{id}: {other:?}"),
            }
        }
        (client, el)
    }

    /// Shadow log entries so far (parsed).
    fn entries(&self, event_type: &str) -> Vec<Value> {
        self.logger.flush();
        self.sink
            .records()
            .iter()
            .map(|r| serde_json::from_str::<Value>(&r.message).unwrap())
            .filter(|v| v["eventType"] == event_type)
            .collect()
    }

    fn counter(&self, metric: MetricName) -> u64 {
        self.logger
            .metrics()
            .get(metric, Dimension::Protocol(Protocol::Mqtt))
    }
}

async fn send(client: &AsyncClient, topic: &str, payload: &str) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
        .await
        .unwrap();
}

/// The next PUBLISH on exactly `topic` (others are skipped), within 5 s.
async fn expect(el: &mut EventLoop, topic: &str) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::Publish(p)))) if p.topic == topic => {
                return serde_json::from_slice(&p.payload).unwrap();
            }
            Ok(Ok(_)) => {}
            other => panic!("waiting for {topic}: {other:?}"),
        }
    }
}

const T: &str = "$aws/things/lamp/shadow";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_over_mqtt_with_log_entries_and_counters() {
    let h = Harness::start(LevelSetting::Info, GatewayLimits::default()).await;
    let (dev, mut el) = h.client("lamp", &["$aws/things/lamp/shadow/#"]).await;

    // Report: accepted (clientToken echoed) and documents without `previous`.
    send(
        &dev,
        &format!("{T}/update"),
        r#"{"state":{"reported":{"on":false}},"clientToken":"a"}"#,
    )
    .await;
    let accepted = expect(&mut el, &format!("{T}/update/accepted")).await;
    assert_eq!(accepted["version"], 1);
    assert_eq!(accepted["clientToken"], "a");
    let docs = expect(&mut el, &format!("{T}/update/documents")).await;
    assert!(docs.get("previous").is_none());
    assert_eq!(docs["clientToken"], "a");

    // An application sets desired: delta carries only the difference.
    let (app, mut app_el) = h.client("app", &[]).await;
    tokio::spawn(async move { while app_el.poll().await.is_ok() {} });
    send(
        &app,
        &format!("{T}/update"),
        r#"{"state":{"desired":{"on":true,"level":3}}}"#,
    )
    .await;
    let delta = expect(&mut el, &format!("{T}/update/delta")).await;
    assert_eq!(delta["state"], json!({"on": true, "level": 3}));
    assert_eq!(delta["version"], 2);
    assert!(delta["metadata"]["on"]["timestamp"].is_i64());

    // Get with a clientToken.
    send(&dev, &format!("{T}/get"), r#"{"clientToken":"g1"}"#).await;
    let got = expect(&mut el, &format!("{T}/get/accepted")).await;
    assert_eq!(got["clientToken"], "g1");
    assert_eq!(got["state"]["delta"], json!({"on": true, "level": 3}));

    // The device reports the desired state: no more delta, `desired` stays.
    send(
        &dev,
        &format!("{T}/update"),
        r#"{"state":{"reported":{"on":true,"level":3}}}"#,
    )
    .await;
    let accepted = expect(&mut el, &format!("{T}/update/accepted")).await;
    assert_eq!(accepted["version"], 3);
    send(&dev, &format!("{T}/get"), "").await;
    let got = expect(&mut el, &format!("{T}/get/accepted")).await;
    assert!(got["state"].get("delta").is_none(), "{got}");

    // `null` deletes a field; `desired: null` removes the whole section.
    send(
        &dev,
        &format!("{T}/update"),
        r#"{"state":{"reported":{"level":null},"desired":null}}"#,
    )
    .await;
    expect(&mut el, &format!("{T}/update/accepted")).await;
    send(&dev, &format!("{T}/get"), "").await;
    let got = expect(&mut el, &format!("{T}/get/accepted")).await;
    assert_eq!(got["state"], json!({"reported": {"on": true}}));

    // Delete, then get is rejected 404 with AWS's shape.
    send(&dev, &format!("{T}/delete"), r#"{"clientToken":"d"}"#).await;
    let deleted = expect(&mut el, &format!("{T}/delete/accepted")).await;
    assert_eq!(deleted["version"], 4);
    assert_eq!(deleted["clientToken"], "d");
    send(&dev, &format!("{T}/get"), r#"{"clientToken":"g2"}"#).await;
    let rejected = expect(&mut el, &format!("{T}/get/rejected")).await;
    assert_eq!(rejected["code"], 404);
    assert_eq!(rejected["message"], "No shadow exists with name: 'lamp'");
    assert_eq!(rejected["clientToken"], "g2");
    assert!(rejected["timestamp"].is_i64());
    let keys: BTreeSet<&str> = rejected
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["code", "message", "timestamp", "clientToken"])
    );

    // Counters: accepted requests per operation under Protocol=MQTT.
    assert_eq!(h.counter(MetricName::UpdateThingShadowAccepted), 4);
    assert_eq!(h.counter(MetricName::GetThingShadowAccepted), 3);
    assert_eq!(h.counter(MetricName::DeleteThingShadowAccepted), 1);

    // Log entries: documented attribute order after the header.
    let updates = h.entries("UpdateThingShadow");
    assert_eq!(updates.len(), 4);
    let raw = h
        .sink
        .records()
        .iter()
        .map(|r| r.message.clone())
        .find(|m| m.contains("\"UpdateThingShadow\""))
        .unwrap();
    let positions: Vec<usize> = [
        "timestamp",
        "logLevel",
        "traceId",
        "accountId",
        "status",
        "eventType",
        "protocol",
        "deviceShadowName",
        "topicName",
    ]
    .iter()
    .map(|k| {
        raw.find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("{k} in {raw}"))
    })
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{raw}");
    assert_eq!(updates[0]["protocol"], "MQTT");
    assert_eq!(updates[0]["deviceShadowName"], "lamp");
    assert_eq!(updates[0]["topicName"], format!("{T}/update"));
    let gets = h.entries("GetThingShadow");
    assert_eq!(gets.len(), 4);
    let failed: Vec<&Value> = gets.iter().filter(|e| e["status"] == "Failure").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["logLevel"], "ERROR");
    assert_eq!(failed[0]["reason"], "404");
    assert_eq!(h.entries("DeleteThingShadow").len(), 1);

    // The request's Publish-In and the responses' Publish-Out share the traceId of the
    // shadow entry.
    h.logger.flush();
    let all: Vec<Value> = h
        .sink
        .records()
        .iter()
        .map(|r| serde_json::from_str(&r.message).unwrap())
        .collect();
    let trace = &h.entries("DeleteThingShadow")[0]["traceId"];
    let same: BTreeSet<&str> = all
        .iter()
        .filter(|e| &e["traceId"] == trace)
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        same,
        BTreeSet::from(["DeleteThingShadow", "Publish-In", "Publish-Out"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_use_aws_codes_on_the_rejected_topic() {
    let h = Harness::start(LevelSetting::Info, GatewayLimits::default()).await;
    let (dev, mut el) = h
        .client(
            "dev",
            &[
                "$aws/things/+/shadow/+/rejected",
                "$aws/things/+/shadow/name/+/+/rejected",
            ],
        )
        .await;
    let deep =
        r#"{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}},"clientToken":"deep"}"#;
    let big = format!(
        r#"{{"state":{{"desired":{{"x":"{}"}}}},"clientToken":"big"}}"#,
        "y".repeat(8 * 1024)
    );
    let cases: Vec<(String, String, String, u16, &str)> = vec![
        (
            format!("{T}/update"),
            "not json".into(),
            format!("{T}/update/rejected"),
            400,
            "Invalid JSON",
        ),
        (
            format!("{T}/update"),
            r#"{"clientToken":"x"}"#.into(),
            format!("{T}/update/rejected"),
            400,
            "Missing required node: state",
        ),
        (
            format!("{T}/update"),
            r#"{"state":{"desired":[1]},"clientToken":"arr"}"#.into(),
            format!("{T}/update/rejected"),
            400,
            "Desired node must be an object",
        ),
        (
            format!("{T}/update"),
            deep.into(),
            format!("{T}/update/rejected"),
            400,
            "JSON contains too many levels of nesting; maximum is 6",
        ),
        (
            format!("{T}/update"),
            big,
            format!("{T}/update/rejected"),
            413,
            "The payload exceeds the maximum size allowed",
        ),
        (
            format!("{T}/update"),
            r#"{"state":{"desired":{"x":1}},"version":7,"clientToken":"v"}"#.into(),
            format!("{T}/update/rejected"),
            409,
            "Version conflict",
        ),
        (
            format!("{T}/delete"),
            String::new(),
            format!("{T}/delete/rejected"),
            404,
            "No shadow exists with name: 'lamp'",
        ),
        (
            "$aws/things/lamp/shadow/name/cfg/get".into(),
            String::new(),
            "$aws/things/lamp/shadow/name/cfg/get/rejected".into(),
            404,
            "No shadow exists with name: 'lamp~cfg'",
        ),
    ];
    for (topic, payload, reply, code, message) in &cases {
        send(&dev, topic, payload).await;
        let r = expect(&mut el, reply).await;
        assert_eq!(
            (r["code"].as_u64(), r["message"].as_str()),
            (Some(u64::from(*code)), Some(*message)),
            "{topic} {payload:.60}"
        );
        if let Some(token) = serde_json::from_str::<Value>(payload)
            .ok()
            .and_then(|v| v["clientToken"].as_str().map(str::to_owned))
        {
            assert_eq!(
                r["clientToken"],
                token.as_str(),
                "{topic}: clientToken echoed"
            );
        }
    }
    // Each refusal is an ERROR Failure entry; nothing was accepted.
    let failures = h.entries("UpdateThingShadow");
    assert_eq!(failures.len(), 6);
    assert!(
        failures
            .iter()
            .all(|e| e["status"] == "Failure" && e["logLevel"] == "ERROR")
    );
    assert_eq!(h.counter(MetricName::UpdateThingShadowAccepted), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_updating_one_shadow_lose_no_update() {
    // AWS's per-thing rate (20/s) would make this take 25 s; the limit is tested below.
    let limits = GatewayLimits {
        requests_per_second_per_thing: 0,
        ..GatewayLimits::default()
    };
    let h = Harness::start(LevelSetting::Info, limits).await;
    const CLIENTS: usize = 50;
    const EACH: usize = 10;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, mut el) = h
            .client(
                &format!("writer-{c}"),
                &["$aws/things/counter/shadow/update/accepted"],
            )
            .await;
        tasks.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for i in 0..EACH {
                let token = format!("w{c}-{i}");
                let body =
                    json!({"state": {"reported": {format!("k{c}"): i}}, "clientToken": token});
                client
                    .publish(
                        "$aws/things/counter/shadow/update",
                        QoS::AtLeastOnce,
                        false,
                        body.to_string(),
                    )
                    .await
                    .unwrap();
                // Every writer sees every accepted message; pick out our own.
                loop {
                    let v = expect(&mut el, "$aws/things/counter/shadow/update/accepted").await;
                    if v["clientToken"] == token.as_str() {
                        versions.push(v["version"].as_u64().unwrap());
                        break;
                    }
                }
            }
            versions
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let expected: Vec<u64> = (1..=(CLIENTS * EACH) as u64).collect();
    assert_eq!(all, expected, "each version exactly once");
    assert_eq!(
        h.counter(MetricName::UpdateThingShadowAccepted),
        (CLIENTS * EACH) as u64
    );
    // Every writer's last value is in the final document.
    let (reader, mut el) = h
        .client("reader", &["$aws/things/counter/shadow/get/accepted"])
        .await;
    send(&reader, "$aws/things/counter/shadow/get", "").await;
    let doc = expect(&mut el, "$aws/things/counter/shadow/get/accepted").await;
    assert_eq!(doc["version"], (CLIENTS * EACH) as u64);
    for c in 0..CLIENTS {
        assert_eq!(doc["state"]["reported"][format!("k{c}")], EACH - 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_per_thing_rate_are_rejected_429() {
    let limits = GatewayLimits {
        requests_per_second_per_thing: 3,
        ..GatewayLimits::default()
    };
    let h = Harness::start(LevelSetting::Info, limits).await;
    let (dev, mut el) = h
        .client("fast", &["$aws/things/fast/shadow/update/+"])
        .await;
    for i in 0..5 {
        send(
            &dev,
            "$aws/things/fast/shadow/update",
            &format!(r#"{{"state":{{"reported":{{"i":{i}}}}},"clientToken":"t{i}"}}"#),
        )
        .await;
    }
    let mut accepted = 0;
    let mut throttled = Vec::new();
    for _ in 0..5 {
        let (topic, v) = loop {
            match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
                Ok(Ok(Event::Incoming(Incoming::Publish(p))))
                    if !p.topic.ends_with("documents") =>
                {
                    break (
                        p.topic.clone(),
                        serde_json::from_slice::<Value>(&p.payload).unwrap(),
                    );
                }
                Ok(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        };
        if topic.ends_with("/accepted") {
            accepted += 1;
        } else {
            assert!(topic.ends_with("/rejected"), "{topic}");
            throttled.push(v);
        }
    }
    assert_eq!(accepted, 3, "a full bucket admits one second's worth");
    assert_eq!(throttled.len(), 2);
    for v in &throttled {
        assert_eq!(v["code"], 429);
        assert_eq!(v["message"], "Too Many Requests");
        assert!(v["clientToken"].as_str().unwrap().starts_with('t'));
    }
    // After the bucket refills, requests are accepted again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    send(
        &dev,
        "$aws/things/fast/shadow/update",
        r#"{"state":{"reported":{"i":9}}}"#,
    )
    .await;
    let v = expect(&mut el, "$aws/things/fast/shadow/update/accepted").await;
    assert_eq!(v["version"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_level_gates_shadow_entries_but_not_counters() {
    let h = Harness::start(LevelSetting::Error, GatewayLimits::default()).await;
    let (dev, mut el) = h.client("quiet", &["$aws/things/quiet/shadow/+/+"]).await;
    send(
        &dev,
        "$aws/things/quiet/shadow/update",
        r#"{"state":{"reported":{"a":1}}}"#,
    )
    .await;
    expect(&mut el, "$aws/things/quiet/shadow/update/accepted").await;
    send(&dev, "$aws/things/quiet/shadow/update", "{").await;
    expect(&mut el, "$aws/things/quiet/shadow/update/rejected").await;
    let entries = h.entries("UpdateThingShadow");
    assert_eq!(
        entries.len(),
        1,
        "only the ERROR entry passes the gate: {entries:?}"
    );
    assert_eq!(entries[0]["status"], "Failure");
    assert_eq!(h.counter(MetricName::UpdateThingShadowAccepted), 1);
}
