//! The rules engine in the whole server (booted in process on loopback), driven by real MQTT
//! clients (rumqttc) and real HTTP endpoints (axum on 127.0.0.1): republish with topic
//! substitution and WHERE, Basic Ingest, the CloudWatch metric and log actions, error actions,
//! HTTP actions behind a confirmed destination, the loop guard — each checked through what a
//! user sees: the messages delivered, the log entries in the log store, the metrics.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use thingwatch_events::DEFAULT_LOG_GROUP;
use thingwatch_server::{Server, ServerConfig};
use thingwatch_test_support::rumqtt::{connect, next_message, publish, subscribe};
use tokio::sync::mpsc;

const ACCOUNT: &str = "123456789012";
const WAIT: Duration = Duration::from_secs(10);
const ROLE: &str = "arn:aws:iam::123456789012:role/rules-role";

async fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::loopback(dir.path());
    config.metrics_open = true;
    let server = Server::start(config).await.expect("server starts");
    // The role the rules' actions assume: trusts AWS IoT, may publish, write logs and
    // metrics, set alarms — except on topics under `denied/`.
    server
        .iam()
        .create_role(
            &thingwatch_iam::NewRole {
                role_name: "rules-role".into(),
                path: None,
                assume_role_policy_document: json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow",
                        "Principal": {"Service": "iot.amazonaws.com"},
                        "Action": "sts:AssumeRole"}]
                })
                .to_string(),
                description: None,
                max_session_duration_s: None,
            },
            thingwatch_events::now_ms(),
        )
        .unwrap();
    server
        .iam()
        .put_role_policy(
            "rules-role",
            "actions",
            &json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["iot:Publish", "logs:*",
                        "cloudwatch:PutMetricData", "cloudwatch:SetAlarmState",
                        "iot:GetThingShadow"], "Resource": "*"},
                    {"Effect": "Deny", "Action": "iot:Publish",
                        "Resource": format!("arn:aws:iot:us-east-1:{ACCOUNT}:topic/denied/*")}
                ]
            })
            .to_string(),
        )
        .unwrap();
    (dir, server)
}

fn create_rule(server: &Server, name: &str, payload: Value) {
    let Value::Object(map) = payload else {
        panic!("payload is an object")
    };
    server
        .rules()
        .create_rule(name, map, thingwatch_events::now_ms())
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
}

fn republish(topic: &str) -> Value {
    json!({"republish": {"topic": topic, "roleArn": ROLE, "qos": 1}})
}

/// Every entry of the default log group, parsed (after flushing the pipeline).
fn entries(server: &Server) -> Vec<Value> {
    server.logger().flush();
    let page = server
        .log_store()
        .filter_log_events(
            DEFAULT_LOG_GROUP,
            &thingwatch_logstore::FilterQuery {
                limit: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
    page.events
        .iter()
        .map(|e| serde_json::from_str(&e.message).unwrap())
        .collect()
}

/// Polls `f` until it is `Some`, up to [`WAIT`].
async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn counter(server: &Server, metric: &str, rule: &str, action: Option<&str>) -> u64 {
    server.rules_engine().counters().get(metric, rule, action)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republish_with_where_and_substitution_logs_and_counts() {
    let (_dir, server) = start().await;
    create_rule(
        &server,
        "hot_devices",
        json!({
            "sql": "SELECT temp, topic(2) AS device FROM 'dt/+/temp' WHERE temp > 30",
            "awsIotSqlVersion": "2016-03-23",
            "actions": [republish("alerts/${topic(2)}")]
        }),
    );
    let (sub, mut sub_el) = connect(server.mqtt_addr, "watcher").await;
    subscribe(&sub, &mut sub_el, "alerts/#").await;
    let (dev, mut dev_el) = connect(server.mqtt_addr, "sensor-1").await;
    publish(&dev, &mut dev_el, "dt/d1/temp", br#"{"temp": 20}"#).await;
    publish(&dev, &mut dev_el, "dt/d2/temp", br#"{"temp": 35}"#).await;
    // Only the hot reading is republished, to its device's topic, with the SELECT's shape.
    let (topic, payload) = next_message(&mut sub_el).await;
    assert_eq!(topic, "alerts/d2");
    let got: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(got, json!({"temp": 35, "device": "d2"}));

    assert_eq!(counter(&server, "TopicMatch", "hot_devices", None), 2);
    assert_eq!(counter(&server, "RulesExecuted", "", None), 1);
    assert_eq!(
        counter(&server, "Success", "hot_devices", Some("Republish")),
        1
    );

    let log = entries(&server);
    let publish_in = log
        .iter()
        .find(|e| e["eventType"] == "Publish-In" && e["topicName"] == "dt/d2/temp")
        .expect("Publish-In of the hot reading");
    let execution = log
        .iter()
        .find(|e| e["eventType"] == "RuleExecution")
        .expect("a RuleExecution entry");
    assert_eq!(execution["status"], "Success");
    assert_eq!(execution["logLevel"], "INFO");
    assert_eq!(execution["ruleName"], "hot_devices");
    assert_eq!(execution["ruleAction"], "RepublishAction");
    assert_eq!(
        execution["resources"],
        json!({"RepublishTopic": "alerts/d2"})
    );
    assert_eq!(execution["clientId"], "sensor-1");
    assert_eq!(execution["topicName"], "dt/d2/temp");
    // One trace ties the device's publish to the rule that ran on it.
    assert_eq!(execution["traceId"], publish_in["traceId"]);
    let matches = log.iter().filter(|e| e["eventType"] == "RuleMatch").count();
    assert_eq!(matches, 2, "one RuleMatch per message on the FROM topic");

    // The published metrics carry AWS's names and dimensions.
    server.publish_metrics();
    let (ids, _) = server
        .metrics()
        .list(
            &thingwatch_metrics::ListFilter {
                namespace: Some("AWS/IoT".into()),
                ..Default::default()
            },
            0,
            1000,
            thingwatch_events::now_ms(),
        )
        .unwrap();
    let has = |name: &str, dims: &[(&str, &str)]| {
        ids.iter().any(|m| {
            m.name == name
                && m.dimensions.len() == dims.len()
                && dims
                    .iter()
                    .all(|(k, v)| m.dimensions.iter().any(|(a, b)| a == k && b == v))
        })
    };
    assert!(has("RulesExecuted", &[]), "{ids:?}");
    // … and Prometheus shows them, with the rules-http queue.
    let scrape = reqwest::get(format!("http://{}/metrics", server.http_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("aws_iot_success_total{")
                && l.contains(r#"rule_name="hot_devices""#)
                && l.contains(r#"action_type="Republish""#)
                && l.ends_with(" 1")),
        "{scrape}"
    );
    assert!(scrape.contains(r#"queue="rules-http""#), "{scrape}");
    assert!(scrape.contains(r#"queue="observer-rules""#), "{scrape}");
    assert!(has("TopicMatch", &[("RuleName", "hot_devices")]), "{ids:?}");
    assert!(
        has(
            "Success",
            &[("RuleName", "hot_devices"), ("ActionType", "Republish")]
        ),
        "{ids:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_ingest_reaches_only_its_rule() {
    let (_dir, server) = start().await;
    create_rule(
        &server,
        "ingest_rule",
        json!({
            "sql": "SELECT *, topic() AS t FROM 'ignored/by/basic/ingest'",
            "actions": [republish("ingested/out")]
        }),
    );
    let (sub, mut sub_el) = connect(server.mqtt_addr, "watcher").await;
    subscribe(&sub, &mut sub_el, "$aws/rules/ingest_rule/#").await;
    subscribe(&sub, &mut sub_el, "ingested/out").await;
    let (dev, mut dev_el) = connect(server.mqtt_addr, "sensor-2").await;
    publish(
        &dev,
        &mut dev_el,
        "$aws/rules/ingest_rule/a/b",
        br#"{"v": 1}"#,
    )
    .await;
    publish(&dev, &mut dev_el, "$aws/rules/no_such_rule", br#"{"v": 2}"#).await;
    // The subscriber to the Basic Ingest topic gets nothing; the rule's output arrives, and
    // topic() does not see the $aws/rules/<rule> prefix.
    let (topic, payload) = next_message(&mut sub_el).await;
    assert_eq!(topic, "ingested/out");
    let got: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(got, json!({"v": 1, "t": "a/b"}));

    let log = eventually("RuleNotFound", || {
        let log = entries(&server);
        log.iter()
            .any(|e| e["eventType"] == "RuleNotFound")
            .then_some(log)
    })
    .await;
    let nf = log
        .iter()
        .find(|e| e["eventType"] == "RuleNotFound")
        .unwrap();
    assert_eq!(nf["logLevel"], "ERROR");
    assert_eq!(nf["status"], "Failure");
    assert_eq!(nf["ruleName"], "no_such_rule");
    assert_eq!(nf["topicName"], "$aws/rules/no_such_rule");
    assert_eq!(nf["reason"], "RuleNotFound");
    assert_eq!(nf["details"], "Rule no_such_rule not found");
    assert_eq!(counter(&server, "RuleNotFound", "no_such_rule", None), 1);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_actions_and_error_action() {
    let (_dir, server) = start().await;
    server
        .log_store()
        .create_log_group("device-logs", thingwatch_events::now_ms())
        .unwrap();
    create_rule(
        &server,
        "to_cloudwatch",
        json!({
            "sql": "SELECT * FROM 'factory/+/reading'",
            "actions": [
                {"cloudwatchMetric": {"metricNamespace": "Factory", "metricName": "Temperature",
                    "metricValue": "${temp}", "metricUnit": "None", "roleArn": ROLE}},
                {"cloudwatchLogs": {"logGroupName": "device-logs", "roleArn": ROLE}},
                {"cloudwatchLogs": {"logGroupName": "no-such-group", "roleArn": ROLE}},
                {"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}},
                republish("denied/x")
            ],
            "errorAction": republish("errors/${topic(2)}")
        }),
    );
    let (sub, mut sub_el) = connect(server.mqtt_addr, "watcher").await;
    subscribe(&sub, &mut sub_el, "errors/#").await;
    let (dev, mut dev_el) = connect(server.mqtt_addr, "press-7").await;
    let reading = br#"{"temp": 71.5}"#;
    publish(&dev, &mut dev_el, "factory/press7/reading", reading).await;

    // The error action gets AWS's error message, one failure per failed action.
    let (topic, payload) = next_message(&mut sub_el).await;
    assert_eq!(topic, "errors/press7");
    let err: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(err["ruleName"], "to_cloudwatch");
    assert_eq!(err["topic"], "factory/press7/reading");
    assert_eq!(err["clientId"], "press-7");
    use base64::Engine as _;
    assert_eq!(
        err["base64OriginalPayload"],
        base64::engine::general_purpose::STANDARD.encode(reading)
    );
    let failed: Vec<&str> = err["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["failedAction"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        ["CloudwatchLogsAction", "LambdaAction", "RepublishAction"]
    );
    assert_eq!(err["failures"][0]["failedResource"], "no-such-group");
    assert!(
        err["failures"][2]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("not authorized to perform: iot:Publish"),
        "{err}"
    );

    // The metric and the log event were written.
    let (ids, _) = server
        .metrics()
        .list(
            &thingwatch_metrics::ListFilter {
                namespace: Some("Factory".into()),
                ..Default::default()
            },
            0,
            10,
            thingwatch_events::now_ms(),
        )
        .unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0].name, "Temperature");
    let logged = server
        .log_store()
        .filter_log_events(
            "device-logs",
            &thingwatch_logstore::FilterQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(logged.events.len(), 1);
    // The SELECT output, re-encoded.
    assert_eq!(logged.events[0].message, r#"{"temp":71.5}"#);
    assert_eq!(logged.events[0].log_stream_name, "to_cloudwatch");

    let rule = "to_cloudwatch";
    assert_eq!(
        counter(&server, "Success", rule, Some("CloudwatchMetric")),
        1
    );
    assert_eq!(counter(&server, "Success", rule, Some("CloudwatchLogs")), 1);
    assert_eq!(counter(&server, "Failure", rule, Some("CloudwatchLogs")), 1);
    assert_eq!(counter(&server, "Failure", rule, Some("Lambda")), 1);
    assert_eq!(counter(&server, "Failure", rule, Some("Republish")), 1);
    assert_eq!(
        counter(&server, "ErrorActionSuccess", rule, Some("Republish")),
        1
    );
    let log = entries(&server);
    let failures: Vec<&Value> = log
        .iter()
        .filter(|e| e["eventType"] == "RuleExecution" && e["status"] == "Failure")
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures.iter().all(|e| e["logLevel"] == "ERROR"));
    server.stop().await.unwrap();
}

#[derive(Clone)]
struct Endpoint {
    tx: mpsc::UnboundedSender<(String, String)>,
    status: StatusCode,
}

async fn record(State(ep): State<Endpoint>, uri: axum::http::Uri, body: String) -> StatusCode {
    let _ = ep.tx.send((uri.path().to_owned(), body));
    ep.status
}

/// An HTTP endpoint on 127.0.0.1 answering `status` to every POST and reporting `(path,
/// body)`; stops with the test's runtime.
async fn endpoint(status: StatusCode) -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/{*path}", axum::routing::post(record))
        .with_state(Endpoint { tx, status });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, rx)
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<(String, String)>) -> (String, String) {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a request arrives")
        .expect("endpoint alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_action_needs_a_confirmed_destination() {
    let (_dir, server) = start().await;
    let (ok_base, mut ok_rx) = endpoint(StatusCode::OK).await;
    let (bad_base, mut bad_rx) = endpoint(StatusCode::SERVICE_UNAVAILABLE).await;
    create_rule(
        &server,
        "to_http",
        json!({
            "sql": "SELECT temp FROM 'hook/+'",
            "actions": [{"http": {"url": format!("{ok_base}/ingest/${{topic(2)}}"),
                "confirmationUrl": format!("{ok_base}/ingest")}}],
            "errorAction": republish("errors/http")
        }),
    );
    // Creating the rule created its destination and sent the confirmation.
    let (path, body) = recv(&mut ok_rx).await;
    assert_eq!(path, "/ingest");
    let confirmation: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(confirmation["messageType"], "DestinationConfirmation");
    let token = confirmation["confirmationToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let (sub, mut sub_el) = connect(server.mqtt_addr, "watcher").await;
    subscribe(&sub, &mut sub_el, "errors/#").await;
    let (dev, mut dev_el) = connect(server.mqtt_addr, "hooked").await;
    // Not confirmed yet: the action fails into the error action.
    publish(&dev, &mut dev_el, "hook/a", br#"{"temp": 1}"#).await;
    let (_, payload) = next_message(&mut sub_el).await;
    let err: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(err["failures"][0]["failedAction"], "HttpAction");
    assert!(
        err["failures"][0]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("IN_PROGRESS"),
        "{err}"
    );

    server
        .rules()
        .confirm_destination(&token, thingwatch_events::now_ms())
        .unwrap();
    publish(&dev, &mut dev_el, "hook/b", br#"{"temp": 2}"#).await;
    let (path, body) = recv(&mut ok_rx).await;
    assert_eq!(path, "/ingest/b");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"temp": 2})
    );
    eventually("the http Success count", || {
        (counter(&server, "Success", "to_http", Some("Http")) == 1).then_some(())
    })
    .await;

    // An endpoint answering 503 fails the action (asynchronously) into the error action.
    create_rule(
        &server,
        "to_bad_http",
        json!({
            "sql": "SELECT * FROM 'bad/+'",
            "actions": [{"http": {"url": format!("{bad_base}/in")}}],
            "errorAction": republish("errors/bad")
        }),
    );
    let (_, body) = recv(&mut bad_rx).await;
    let token: Value = serde_json::from_str(&body).unwrap();
    server
        .rules()
        .confirm_destination(
            token["confirmationToken"].as_str().unwrap(),
            thingwatch_events::now_ms(),
        )
        .unwrap();
    publish(&dev, &mut dev_el, "bad/1", b"{}").await;
    // A 503 is retried twice, as AWS retries 5xx.
    for _ in 0..thingwatch_rules::engine::HTTP_ATTEMPTS {
        let _ = recv(&mut bad_rx).await;
    }
    let (topic, payload) = next_message(&mut sub_el).await;
    assert_eq!(topic, "errors/bad");
    let err: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        err["failures"][0]["errorMessage"],
        "The HTTP endpoint answered 503 after 2 retries"
    );
    let failure = eventually("the RuleExecution Failure entry", || {
        entries(&server).into_iter().find(|e| {
            e["eventType"] == "RuleExecution"
                && e["ruleName"] == "to_bad_http"
                && e["status"] == "Failure"
        })
    })
    .await;
    assert_eq!(failure["reason"], "HttpCode_5XX");
    assert_eq!(counter(&server, "Failure", "to_bad_http", Some("Http")), 1);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_republishing_to_its_own_topic_stops() {
    let (_dir, server) = start().await;
    create_rule(
        &server,
        "looping",
        json!({"sql": "SELECT * FROM 'loop/#'", "actions": [republish("loop/again")]}),
    );
    let (dev, mut dev_el) = connect(server.mqtt_addr, "looper").await;
    publish(&dev, &mut dev_el, "loop/start", b"{}").await;
    let limit = u64::from(thingwatch_rules::engine::MAX_CHAIN_MESSAGES);
    // The first message, plus MAX_CHAIN_MESSAGES republished ones that ran the rule again.
    eventually("the loop to stop", || {
        (counter(&server, "Success", "looping", Some("Republish")) == limit + 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        counter(&server, "Success", "looping", Some("Republish")),
        limit + 1
    );
    // The engine still runs other messages.
    let (sub, mut sub_el) = connect(server.mqtt_addr, "watcher").await;
    subscribe(&sub, &mut sub_el, "loop/again").await;
    publish(&dev, &mut dev_el, "loop/next", br#"{"n": 2}"#).await;
    let (topic, _) = next_message(&mut sub_el).await;
    assert_eq!(topic, "loop/again");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_thing_shadow_reads_the_device_shadow() {
    let (_dir, server) = start().await;
    create_rule(
        &server,
        "with_shadow",
        json!({
            "sql": format!("SELECT get_thing_shadow('lamp', '{ROLE}').state.reported.on AS on, \
                    clientid() AS who FROM 'ask/lamp'"),
            "awsIotSqlVersion": "2016-03-23",
            "actions": [republish("answer/lamp")]
        }),
    );
    let (dev, mut dev_el) = connect(server.mqtt_addr, "lamp").await;
    subscribe(&dev, &mut dev_el, "$aws/things/lamp/shadow/update/accepted").await;
    publish(
        &dev,
        &mut dev_el,
        "$aws/things/lamp/shadow/update",
        br#"{"state": {"reported": {"on": true}}}"#,
    )
    .await;
    let (topic, _) = next_message(&mut dev_el).await;
    assert_eq!(topic, "$aws/things/lamp/shadow/update/accepted");
    subscribe(&dev, &mut dev_el, "answer/lamp").await;
    publish(&dev, &mut dev_el, "ask/lamp", b"{}").await;
    let (topic, payload) = next_message(&mut dev_el).await;
    assert_eq!(topic, "answer/lamp");
    let got: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(got, json!({"on": true, "who": "lamp"}));
    server.stop().await.unwrap();
}
