//! Fine-grained log levels end to end: MQTT clients with different client IDs, source
//! addresses (127.0.0.1, 127.0.0.2, ::1) and thing groups produce exactly the entries their
//! effective level allows, and changes made through the SigV4-signed AWS IoT API reach
//! clients that stay connected.

mod common;

use common::{Server, mqtt_from, temp_dir};
use serde_json::json;
use std::net::IpAddr;

const LOOPBACK: &str = "127.0.0.1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn ok(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let (status, v) = server.iot(method, path, body).await;
    assert_eq!(status, 200, "{method} {path}: {v}");
    v
}

async fn set_level(server: &Server, target_type: &str, name: &str, level: &str) {
    ok(
        server,
        "POST",
        "/v2LoggingLevel",
        Some(json!({"logTarget": {"targetType": target_type, "targetName": name}, "logLevel": level})),
    )
    .await;
}

/// Number of `Publish-In` entries of `client_id` once the pipeline has settled: waits for
/// `expected` entries, or (for 0) gives a wrongly admitted entry time to show up.
async fn publish_ins(server: &Server, client_id: &str, expected: usize) -> usize {
    let pattern = format!(r#"{{ $.eventType = "Publish-In" && $.clientId = "{client_id}" }}"#);
    if expected > 0 {
        server.wait_for_events(&pattern, expected).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server.filter_all(&pattern).await.len()
}

async fn publish_from(server: &Server, source: &str, client_id: &str) {
    let mut c = mqtt_from(ip(source), server.mqtt, client_id).await;
    c.publish_qos1("dt/x", b"1", 1).await;
    c.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_select_clients_by_id_address_and_group() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "ERROR"], &[]);

    set_level(&server, "CLIENT_ID", "chatty", "INFO").await;
    set_level(&server, "SOURCE_IP", "127.0.0.2", "INFO").await;
    ok(&server, "POST", "/thing-groups/Phones", Some(json!({}))).await;
    ok(
        &server,
        "POST",
        "/thing-groups/MobilePhones",
        Some(json!({"parentGroupName": "Phones"})),
    )
    .await;
    for thing in ["phone-1", "landline-1"] {
        ok(
            &server,
            "POST",
            &format!("/things/{thing}"),
            Some(json!({})),
        )
        .await;
    }
    ok(
        &server,
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "MobilePhones", "thingName": "phone-1"})),
    )
    .await;
    ok(
        &server,
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "Phones", "thingName": "landline-1"})),
    )
    .await;
    set_level(&server, "THING_GROUP", "Phones", "ERROR").await;
    set_level(&server, "THING_GROUP", "MobilePhones", "DEBUG").await;

    publish_from(&server, LOOPBACK, "quiet").await;
    publish_from(&server, LOOPBACK, "chatty").await;
    publish_from(&server, "127.0.0.2", "from-two").await;
    publish_from(&server, LOOPBACK, "phone-1").await;
    publish_from(&server, LOOPBACK, "landline-1").await;

    assert_eq!(
        publish_ins(&server, "chatty", 1).await,
        1,
        "CLIENT_ID target"
    );
    assert_eq!(
        publish_ins(&server, "from-two", 1).await,
        1,
        "SOURCE_IP target"
    );
    let from_two = server
        .filter_all(r#"{ $.clientId = "from-two" && $.eventType = "Publish-In" }"#)
        .await;
    assert_eq!(from_two[0]["sourceIp"], "127.0.0.2");
    assert_eq!(
        publish_ins(&server, "phone-1", 1).await,
        1,
        "child group DEBUG overrides parent ERROR"
    );
    assert_eq!(
        publish_ins(&server, "landline-1", 0).await,
        0,
        "parent group ERROR"
    );
    assert_eq!(publish_ins(&server, "quiet", 0).await, 0, "default ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_changes_reach_a_connected_client() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "ERROR"], &[]);
    ok(&server, "POST", "/thing-groups/Tablets", Some(json!({}))).await;
    ok(&server, "POST", "/things/tablet-1", Some(json!({}))).await;
    set_level(&server, "THING_GROUP", "Tablets", "INFO").await;

    let mut tablet = mqtt_from(ip(LOOPBACK), server.mqtt, "tablet-1").await;
    tablet.publish_qos1("dt/t", b"before", 1).await;
    assert_eq!(publish_ins(&server, "tablet-1", 0).await, 0);

    ok(
        &server,
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "Tablets", "thingName": "tablet-1"})),
    )
    .await;
    tablet.publish_qos1("dt/t", b"in-group", 1).await;
    assert_eq!(
        publish_ins(&server, "tablet-1", 1).await,
        1,
        "membership change applies without reconnecting"
    );

    ok(&server, "DELETE", "/thing-groups/Tablets", None).await;
    tablet.publish_qos1("dt/t", b"group-gone", 1).await;
    assert_eq!(
        publish_ins(&server, "tablet-1", 1).await,
        1,
        "deleting the group drops its level at once"
    );

    // An account-level change applies too.
    ok(
        &server,
        "POST",
        "/v2LoggingOptions",
        Some(json!({"roleArn": "arn:aws:iam::123456789012:role/ThingwatchLoggingRole", "defaultLogLevel": "INFO"})),
    )
    .await;
    tablet.publish_qos1("dt/t", b"default-info", 1).await;
    assert_eq!(publish_ins(&server, "tablet-1", 2).await, 2);
    tablet.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_source_ip_target() {
    let dir = temp_dir();
    let server = Server::start(
        dir.path(),
        &["--default-log-level", "ERROR", "--mqtt-listen", "[::1]:0"],
        &[],
    );
    assert!(server.mqtt.is_ipv6());
    set_level(&server, "SOURCE_IP", "::1", "INFO").await;
    publish_from(&server, "::1", "six").await;
    let events = server
        .wait_for_events(r#"{ $.clientId = "six" && $.eventType = "Publish-In" }"#, 1)
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["sourceIp"], "::1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logging_configuration_survives_kill_9() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "ERROR"], &[]);
    set_level(&server, "CLIENT_ID", "remembered", "INFO").await;
    ok(
        &server,
        "POST",
        "/things/kept-thing",
        Some(json!({"attributePayload": {"attributes": {"room": "1"}}})),
    )
    .await;
    let data = server.data_dir.clone();
    server.kill_9();
    let server = Server::start(&data, &[], &[]);
    publish_from(&server, LOOPBACK, "remembered").await;
    assert_eq!(publish_ins(&server, "remembered", 1).await, 1);
    let thing = ok(&server, "GET", "/things/kept-thing", None).await;
    assert_eq!(thing["attributes"]["room"], "1");
    let levels = ok(&server, "GET", "/v2LoggingLevel?targetType=CLIENT_ID", None).await;
    assert_eq!(
        levels["logTargetConfigurations"][0]["logTarget"]["targetName"],
        "remembered"
    );
}
