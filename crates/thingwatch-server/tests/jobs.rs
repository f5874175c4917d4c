//! AWS IoT Jobs in the whole server (booted in process on loopback): the control plane over
//! SigV4-signed rest-json (`iot`), a device over real MQTT (rumqttc) on the reserved
//! `$aws/things/{thing}/jobs/…` topics, the HTTP device API (`iot-jobs-data`, dispatched by
//! credential scope on the routes it shares with `iot`), and the Jobs log entries of both.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use thingwatch_events::{DEFAULT_LOG_GROUP, LevelSetting};
use thingwatch_server::{InitialLogging, Server, ServerConfig};
use thingwatch_test_support::aws::{AwsClient, Credentials, Request, Response};
use thingwatch_test_support::rumqtt::{connect, next_message, publish, subscribe};

const GROUP_ARN: &str = "arn:aws:iot:us-east-1:123456789012:thinggroup/fleet";

async fn start() -> (tempfile::TempDir, Server, AwsClient) {
    let dir = thingwatch_test_support::temp_dir();
    let mut config = ServerConfig::loopback(dir.path());
    config.initial_logging = InitialLogging::Level(LevelSetting::Debug);
    let server = Server::start(config).await.expect("server starts");
    let client = AwsClient::new(
        server.http_addr,
        Credentials::new(
            &server.credentials.access_key_id,
            &server.credentials.secret_access_key,
        ),
    );
    (dir, server, client)
}

fn iot(method: &str, path: &str, body: Option<&Value>) -> Request {
    Request::rest_json("iot", method, path, body)
}

fn jobs_data(method: &str, path: &str, body: Option<&Value>) -> Request {
    Request::rest_json("iot-jobs-data", method, path, body)
}

fn ok(r: &Response) -> Value {
    assert!(r.status < 300, "{} {}", r.status, r.text());
    r.json()
}

fn refused(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.error_type(), Some(code), "{}", r.text());
}

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

async fn setup_fleet(client: &AwsClient, things: &[&str]) {
    ok(&client
        .send(iot("POST", "/thing-groups/fleet", Some(&json!({}))))
        .await);
    for t in things {
        ok(&client
            .send(iot("POST", &format!("/things/{t}"), Some(&json!({}))))
            .await);
        ok(&client
            .send(iot(
                "PUT",
                "/thing-groups/addThingToThingGroup",
                Some(&json!({"thingName": t, "thingGroupName": "fleet"})),
            ))
            .await);
    }
}

/// Waits for the next message on `topic` (others are skipped), parsed.
async fn expect(el: &mut rumqttc::EventLoop, topic: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "nothing on {topic}");
        let (t, payload) = next_message(el).await;
        if t == topic {
            return serde_json::from_slice(&payload).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_runs_a_group_job_over_mqtt_and_the_job_completes() {
    let (_dir, server, client) = start().await;
    setup_fleet(&client, &["t1"]).await;
    // Loopback MQTT: the client ID is the thing name.
    let (dev, mut el) = connect(server.mqtt_addr, "t1").await;
    subscribe(&dev, &mut el, "$aws/things/t1/jobs/#").await;

    let created = ok(&client
        .send(iot(
            "PUT",
            "/jobs/fw-1",
            Some(
                &json!({"targets": [GROUP_ARN], "document": "{\"url\":\"https://x/fw.bin\"}",
                         "description": "firmware"}),
            ),
        ))
        .await);
    assert_eq!(
        created["jobArn"],
        "arn:aws:iot:us-east-1:123456789012:job/fw-1"
    );
    let next = expect(&mut el, "$aws/things/t1/jobs/notify-next").await;
    assert_eq!(next["execution"]["jobId"], "fw-1");
    assert_eq!(next["execution"]["jobDocument"]["url"], "https://x/fw.bin");

    publish(
        &dev,
        &mut el,
        "$aws/things/t1/jobs/start-next",
        br#"{"clientToken":"c1"}"#,
    )
    .await;
    let started = expect(&mut el, "$aws/things/t1/jobs/start-next/accepted").await;
    assert_eq!(started["clientToken"], "c1");
    assert_eq!(started["execution"]["status"], "IN_PROGRESS");
    assert_eq!(started["execution"]["versionNumber"], 2);

    // A stale version is rejected with the execution's state.
    publish(
        &dev,
        &mut el,
        "$aws/things/t1/jobs/fw-1/update",
        br#"{"status":"SUCCEEDED","expectedVersion":1,"clientToken":"c2"}"#,
    )
    .await;
    let rejected = expect(&mut el, "$aws/things/t1/jobs/fw-1/update/rejected").await;
    assert_eq!(rejected["code"], "VersionMismatch");
    assert_eq!(rejected["executionState"]["versionNumber"], 2);
    assert_eq!(rejected["clientToken"], "c2");

    publish(
        &dev,
        &mut el,
        "$aws/things/t1/jobs/fw-1/update",
        br#"{"status":"SUCCEEDED","expectedVersion":2,"statusDetails":{"step":"done"},"includeJobExecutionState":true}"#,
    )
    .await;
    let accepted = expect(&mut el, "$aws/things/t1/jobs/fw-1/update/accepted").await;
    assert_eq!(accepted["executionState"]["status"], "SUCCEEDED");
    assert_eq!(accepted["executionState"]["statusDetails"]["step"], "done");

    let job = ok(&client.send(iot("GET", "/jobs/fw-1", None)).await);
    assert_eq!(job["job"]["status"], "COMPLETED");
    assert_eq!(
        job["job"]["jobProcessDetails"]["numberOfSucceededThings"],
        1
    );
    let exec = ok(&client.send(iot("GET", "/things/t1/jobs/fw-1", None)).await);
    assert_eq!(exec["execution"]["status"], "SUCCEEDED");
    assert_eq!(
        exec["execution"]["statusDetails"]["detailsMap"]["step"],
        "done"
    );
    assert_eq!(
        exec["execution"]["thingArn"],
        "arn:aws:iot:us-east-1:123456789012:thing/t1"
    );

    let logged = entries(&server);
    let of = |t: &str| -> Vec<&Value> { logged.iter().filter(|e| e["eventType"] == t).collect() };
    let updates = of("UpdateJobExecution");
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(
        updates
            .iter()
            .any(|e| e["status"] == "Failure" && e["reason"] == "VersionMismatch")
    );
    assert!(
        updates
            .iter()
            .all(|e| e["protocol"] == "MQTT" && e["clientId"] == "t1")
    );
    assert!(updates.iter().all(|e| e.get("traceId").is_none()));
    let start_next = of("StartNextPendingJobExecution");
    assert_eq!(start_next[0]["clientToken"], "c1");
    assert_eq!(start_next[0]["topicName"], "$aws/things/t1/jobs/start-next");
    let final_count = of("ReportFinalJobExecutionCount");
    assert_eq!(final_count.len(), 1);
    assert!(
        final_count[0]["details"]
            .as_str()
            .unwrap()
            .contains("SUCCEEDED job execution count: 1")
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_device_api_shares_routes_with_iot_and_answers_aws_errors() {
    let (_dir, server, client) = start().await;
    setup_fleet(&client, &["t2"]).await;
    ok(&client
        .send(iot(
            "PUT",
            "/jobs/j2",
            Some(
                &json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/t2"],
                         "document": "{\"op\":\"reboot\"}"}),
            ),
        ))
        .await);
    // Same path, two services: the credential scope decides.
    let pending = ok(&client.send(jobs_data("GET", "/things/t2/jobs", None)).await);
    assert_eq!(pending["queuedJobs"][0]["jobId"], "j2");
    assert!(pending["queuedJobs"][0]["queuedAt"].is_i64());
    let listed = ok(&client.send(iot("GET", "/things/t2/jobs", None)).await);
    assert_eq!(listed["executionSummaries"][0]["jobId"], "j2");

    let started = ok(&client
        .send(jobs_data("PUT", "/things/t2/jobs/$next", Some(&json!({}))))
        .await);
    assert_eq!(started["execution"]["status"], "IN_PROGRESS");
    assert_eq!(started["execution"]["jobDocument"], "{\"op\":\"reboot\"}");
    refused(
        &client
            .send(jobs_data(
                "POST",
                "/things/t2/jobs/j2",
                Some(&json!({"status": "SUCCEEDED", "expectedVersion": 9})),
            ))
            .await,
        409,
        "InvalidStateTransitionException",
    );
    ok(&client
        .send(jobs_data(
            "POST",
            "/things/t2/jobs/j2",
            Some(&json!({"status": "SUCCEEDED"})),
        ))
        .await);
    refused(
        &client
            .send(jobs_data(
                "POST",
                "/things/t2/jobs/j2",
                Some(&json!({"status": "IN_PROGRESS"})),
            ))
            .await,
        409,
        "InvalidStateTransitionException",
    );
    refused(
        &client
            .send(jobs_data("GET", "/things/t2/jobs/ghost", None))
            .await,
        404,
        "ResourceNotFoundException",
    );
    refused(
        &client
            .send(jobs_data(
                "POST",
                "/things/t2/jobs/j2",
                Some(&json!({"status": "DONE"})),
            ))
            .await,
        400,
        "InvalidRequestException",
    );
    let http_entries: Vec<Value> = entries(&server)
        .into_iter()
        .filter(|e| e["protocol"] == "HTTP" && e["eventType"] == "UpdateJobExecution")
        .collect();
    assert_eq!(http_entries.len(), 4, "{http_entries:?}");
    assert!(http_entries.iter().all(|e| e["clientId"] == "N/A"));

    // Control-plane errors.
    let doc = json!({"targets": [GROUP_ARN], "document": "{}"});
    refused(
        &client.send(iot("PUT", "/jobs/j2", Some(&doc))).await,
        409,
        "ResourceAlreadyExistsException",
    );
    refused(
        &client
            .send(iot(
                "PUT",
                "/jobs/j3",
                Some(&json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/ghost"], "document": "{}"})),
            ))
            .await,
        404,
        "ResourceNotFoundException",
    );
    let big = "x".repeat(33_000);
    refused(
        &client
            .send(iot(
                "PUT",
                "/jobs/j4",
                Some(&json!({"targets": [GROUP_ARN], "document": format!("{{\"a\":\"{big}\"}}")})),
            ))
            .await,
        400,
        "InvalidRequestException",
    );
    refused(
        &client.send(iot("PUT", "/jobs/bad%20id", Some(&doc))).await,
        400,
        "InvalidRequestException",
    );
    ok(&client.send(iot("PUT", "/jobs/j5", Some(&doc))).await);
    refused(
        &client.send(iot("DELETE", "/jobs/j5", None)).await,
        409,
        "InvalidStateTransitionException",
    );
    ok(&client
        .send(iot("DELETE", "/jobs/j5?force=true", None))
        .await);
    let listed = ok(&client
        .send(iot("GET", "/jobs?status=COMPLETED", None))
        .await);
    assert_eq!(listed["jobs"][0]["jobId"], "j2");
    server.stop().await.unwrap();
}
