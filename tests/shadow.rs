//! Device Shadow end to end through the `thingwatch` binary: the `iotdata` HTTP API with real
//! SigV4 signatures (as the AWS CLI sends it: raw bodies, `?name=` for named shadows), MQTT
//! subscribers (rumqttc) seeing HTTP changes and answering over the reserved topics, the
//! shadow log entries in the log store, `Publish` over HTTP, and shadows surviving `kill -9`.

mod common;

use common::{Server, temp_dir};
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions, QoS};
use serde_json::{Value, json};
use std::time::Duration;

async fn mqtt(server: &Server, client_id: &str) -> (AsyncClient, EventLoop) {
    let mut opts = MqttOptions::new(client_id, "127.0.0.1", server.mqtt.port());
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 100);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::ConnAck(_)))) => break,
            Ok(Ok(_)) => {}
            other => panic!("MQTT connect failed: {other:?}"),
        }
    }
    (client, el)
}

async fn subscribe(client: &AsyncClient, el: &mut EventLoop, filter: &str) {
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::SubAck(_)))) => return,
            Ok(Ok(_)) => {}
            other => panic!("SUBACK not received: {other:?}"),
        }
    }
}

/// The next PUBLISH received within 5 s: `(topic, payload as JSON)`.
async fn next_publish(el: &mut EventLoop) -> (String, Value) {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::Publish(p)))) => {
                let v = serde_json::from_slice(&p.payload).unwrap_or(json!({"raw": true}));
                return (p.topic, v);
            }
            Ok(Ok(_)) => {}
            other => panic!("no PUBLISH: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_shadow_operations_match_aws() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "INFO"], &[]);

    // An MQTT device watching its classic shadow sees what applications do over HTTP.
    let (device, mut device_el) = mqtt(&server, "lamp").await;
    subscribe(&device, &mut device_el, "$aws/things/lamp/shadow/update/+").await;

    // Create with reported state.
    let r = server
        .iotdata(
            "POST",
            "/things/lamp/shadow",
            br#"{"state":{"reported":{"on":false,"color":{"r":1}}},"clientToken":"c1"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let accepted = r.json();
    assert_eq!(accepted["version"], 1);
    assert_eq!(accepted["clientToken"], "c1");
    assert_eq!(
        accepted["state"],
        json!({"reported":{"on":false,"color":{"r":1}}})
    );
    assert!(accepted["metadata"]["reported"]["color"]["r"]["timestamp"].is_i64());
    let (topic, mqtt_accepted) = next_publish(&mut device_el).await;
    assert_eq!(topic, "$aws/things/lamp/shadow/update/accepted");
    assert_eq!(mqtt_accepted, accepted);
    let (topic, documents) = next_publish(&mut device_el).await;
    assert_eq!(topic, "$aws/things/lamp/shadow/update/documents");
    assert!(documents.get("previous").is_none(), "{documents}");
    assert_eq!(documents["current"]["version"], 1);

    // The application sets desired: the device gets a delta (only what differs).
    let r = server
        .iotdata(
            "POST",
            "/things/lamp/shadow",
            br#"{"state":{"desired":{"on":true,"color":{"r":1}}}}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 2);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next_publish(&mut device_el).await);
    }
    let delta = seen
        .iter()
        .find(|(t, _)| t == "$aws/things/lamp/shadow/update/delta")
        .map(|(_, v)| v.clone())
        .expect("update/delta published for an HTTP update");
    assert_eq!(delta["state"], json!({"on": true}));
    assert_eq!(delta["version"], 2);
    let docs = seen
        .iter()
        .find(|(t, _)| t == "$aws/things/lamp/shadow/update/documents")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(docs["previous"]["version"], 1);
    assert_eq!(docs["current"]["state"]["desired"]["on"], true);

    // GetThingShadow shows the delta.
    let r = server.iotdata("GET", "/things/lamp/shadow", b"").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["state"]["delta"], json!({"on": true}));
    assert_eq!(doc["version"], 2);

    // Optimistic locking: a stale version is 409 ConflictException.
    let r = server
        .iotdata(
            "POST",
            "/things/lamp/shadow",
            br#"{"state":{"reported":{"on":true}},"version":1}"#,
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_type(), Some("ConflictException"));
    assert_eq!(r.json()["message"], "Version conflict");
    let r = server
        .iotdata(
            "POST",
            "/things/lamp/shadow",
            br#"{"state":{"reported":{"on":true}},"version":2}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 3);

    // Named shadows are separate documents, listed by ListNamedShadowsForThing (pages).
    for name in ["cfg", "fw", "net"] {
        let path = format!("/things/lamp/shadow?name={name}");
        let r = server
            .iotdata("POST", &path, br#"{"state":{"desired":{"x":1}}}"#)
            .await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.json()["version"], 1, "{name} starts at version 1");
    }
    let r = server
        .iotdata(
            "GET",
            "/api/things/shadow/ListNamedShadowsForThing/lamp?pageSize=2",
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    let page = r.json();
    assert_eq!(page["results"], json!(["cfg", "fw"]));
    let token = page["nextToken"].as_str().expect("nextToken").to_owned();
    assert!(page["timestamp"].is_i64());
    let r = server
        .iotdata(
            "GET",
            &format!(
                "/api/things/shadow/ListNamedShadowsForThing/lamp?pageSize=2&nextToken={token}"
            ),
            b"",
        )
        .await;
    assert_eq!(r.json()["results"], json!(["net"]));
    assert!(r.json().get("nextToken").is_none());

    // DeleteThingShadow answers {version, timestamp}; then the shadow is gone.
    let r = server
        .iotdata("DELETE", "/things/lamp/shadow?name=fw", b"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 1);
    let r = server
        .iotdata("GET", "/things/lamp/shadow?name=fw", b"")
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_type(), Some("ResourceNotFoundException"));
    assert_eq!(r.json()["message"], "No shadow exists with name: 'lamp~fw'");

    // Bad input: AWS's codes.
    let cases: &[(&str, &str, &[u8], u16, &str)] = &[
        (
            "GET",
            "/things/nothing/shadow",
            b"",
            404,
            "ResourceNotFoundException",
        ),
        (
            "DELETE",
            "/things/nothing/shadow",
            b"",
            404,
            "ResourceNotFoundException",
        ),
        (
            "POST",
            "/things/lamp/shadow",
            b"{not json",
            400,
            "InvalidRequestException",
        ),
        (
            "POST",
            "/things/lamp/shadow",
            br#"{"state":[]}"#,
            400,
            "InvalidRequestException",
        ),
        (
            "POST",
            "/things/lamp/shadow?name=bad%20name",
            br#"{"state":{}}"#,
            400,
            "InvalidRequestException",
        ),
        (
            "GET",
            "/things/bad.thing/shadow",
            b"",
            400,
            "InvalidRequestException",
        ),
        (
            "PUT",
            "/things/lamp/shadow",
            b"{}",
            405,
            "MethodNotAllowedException",
        ),
        (
            "GET",
            "/api/things/shadow/ListNamedShadowsForThing/lamp?pageSize=101",
            b"",
            400,
            "InvalidRequestException",
        ),
        (
            "POST",
            "/things/lamp/shadow",
            &[0xff, 0xfe, 0x00],
            415,
            "UnsupportedDocumentEncodingException",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let r = server.iotdata(method, path, body).await;
        assert_eq!(
            (r.status, r.error_type()),
            (*status, Some(*code)),
            "{method} {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let big = format!(
        r#"{{"state":{{"desired":{{"blob":"{}"}}}}}}"#,
        "x".repeat(9 * 1024)
    );
    let r = server
        .iotdata("POST", "/things/lamp/shadow", big.as_bytes())
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), Some("RequestEntityTooLargeException"));

    // The log entries: Success at INFO with protocol HTTP; the refusals as ERROR Failures.
    let updates = server
        .wait_for_events(
            r#"{ $.eventType = "UpdateThingShadow" && $.protocol = "HTTP" && $.status = "Success" }"#,
            6,
        )
        .await;
    assert_eq!(updates.len(), 6, "{updates:?}");
    let first: Value = updates[0].clone();
    assert_eq!(first["logLevel"], "INFO");
    assert_eq!(first["deviceShadowName"], "lamp");
    assert_eq!(first["topicName"], "$aws/things/lamp/shadow/update");
    let named = server
        .filter_all(r#"{ $.topicName = "$aws/things/lamp/shadow/name/cfg/update" }"#)
        .await;
    assert_eq!(named.len(), 1);
    let conflicts = server
        .wait_for_events(
            r#"{ $.eventType = "UpdateThingShadow" && $.reason = "409" }"#,
            1,
        )
        .await;
    let conflict: Value = conflicts[0].clone();
    assert_eq!(conflict["status"], "Failure");
    assert_eq!(conflict["logLevel"], "ERROR");
    assert_eq!(conflict["details"], "Version conflict");
    let deletes = server
        .wait_for_events(
            r#"{ $.eventType = "DeleteThingShadow" && $.status = "Success" }"#,
            1,
        )
        .await;
    assert_eq!(deletes.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_publish_reaches_mqtt_subscribers_and_is_logged() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "INFO"], &[]);
    let (sub, mut el) = mqtt(&server, "watcher").await;
    subscribe(&sub, &mut el, "dt/app/#").await;

    // The CLI percent-encodes the whole topic as one path label.
    let r = server
        .iotdata(
            "POST",
            "/topics/dt%2Fapp%2Fsensor%201?qos=1",
            br#"{"t":21}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let (topic, payload) = next_publish(&mut el).await;
    assert_eq!(topic, "dt/app/sensor 1");
    assert_eq!(payload, json!({"t": 21}));

    // Publishing on a shadow request topic over HTTP is a shadow request too.
    subscribe(&sub, &mut el, "$aws/things/kettle/shadow/update/accepted").await;
    let r = server
        .iotdata(
            "POST",
            "/topics/%24aws%2Fthings%2Fkettle%2Fshadow%2Fupdate?qos=1",
            br#"{"state":{"reported":{"temp":90}},"clientToken":"via-http"}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    let (topic, accepted) = next_publish(&mut el).await;
    assert_eq!(topic, "$aws/things/kettle/shadow/update/accepted");
    assert_eq!(accepted["clientToken"], "via-http");
    assert_eq!(accepted["version"], 1);

    for (path, status, code) in [
        ("/topics/dt%2Fx?qos=2", 400, "InvalidRequestException"),
        ("/topics/dt%2F%23?qos=0", 400, "InvalidRequestException"),
        (
            "/topics/dt%2Fx?retain=maybe",
            400,
            "InvalidRequestException",
        ),
    ] {
        let r = server.iotdata("POST", path, b"{}").await;
        assert_eq!((r.status, r.error_type()), (status, Some(code)), "{path}");
    }

    let ins = server
        .wait_for_events(
            r#"{ $.eventType = "Publish-In" && $.protocol = "HTTP" }"#,
            1,
        )
        .await;
    let entry: Value = ins[0].clone();
    assert_eq!(entry["topicName"], "dt/app/sensor 1");
    assert_eq!(entry["clientId"], "N/A");
    assert_eq!(entry["principalId"], server.access_key_id.as_str());
    let outs = server
        .wait_for_events(
            r#"{ $.eventType = "Publish-Out" && $.clientId = "watcher" }"#,
            1,
        )
        .await;
    let out: Value = outs[0].clone();
    assert_eq!(
        out["traceId"], entry["traceId"],
        "Publish-In and Publish-Out share a traceId"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_updates_survive_kill_9_and_respect_the_log_level() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "ERROR"], &[]);
    let (dev, mut el) = mqtt(&server, "pump-1").await;
    subscribe(&dev, &mut el, "$aws/things/pump-1/shadow/#").await;
    for i in 1..=3 {
        let body = json!({"state": {"reported": {"rpm": i * 100}}, "clientToken": format!("t{i}")});
        dev.publish(
            "$aws/things/pump-1/shadow/update",
            QoS::AtLeastOnce,
            false,
            serde_json::to_vec(&body).unwrap(),
        )
        .await
        .unwrap();
        loop {
            let (topic, v) = next_publish(&mut el).await;
            if topic == "$aws/things/pump-1/shadow/update/accepted" {
                assert_eq!(v["version"], i);
                assert_eq!(v["clientToken"], format!("t{i}"));
                break;
            }
        }
    }
    // A rejected request over MQTT: `{code, message, timestamp, clientToken}`.
    dev.publish(
        "$aws/things/pump-1/shadow/update",
        QoS::AtLeastOnce,
        false,
        br#"{"state":{"reported":{"rpm":1}},"version":1,"clientToken":"late"}"#.to_vec(),
    )
    .await
    .unwrap();
    let rejected = loop {
        let (topic, v) = next_publish(&mut el).await;
        if topic == "$aws/things/pump-1/shadow/update/rejected" {
            break v;
        }
    };
    assert_eq!(rejected["code"], 409);
    assert_eq!(rejected["message"], "Version conflict");
    assert_eq!(rejected["clientToken"], "late");
    assert!(rejected["timestamp"].is_i64());

    // At ERROR, only the failure was logged (the logging configuration applies to shadows).
    let failures = server
        .wait_for_events(r#"{ $.eventType = "UpdateThingShadow" }"#, 1)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = server
        .filter_all(r#"{ $.eventType = "UpdateThingShadow" }"#)
        .await;
    assert_eq!(all.len(), 1, "{all:?}");
    let entry: Value = failures[0].clone();
    assert_eq!(entry["protocol"], "MQTT");
    assert_eq!(entry["reason"], "409");

    // kill -9 right after the acknowledgements: the shadow is still at version 3.
    drop(el);
    let data = server.data_dir.clone();
    server.kill_9();
    let server = Server::start(&data, &[], &[]);
    let r = server.iotdata("GET", "/things/pump-1/shadow", b"").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["version"], 3);
    assert_eq!(doc["state"]["reported"]["rpm"], 300);
}
