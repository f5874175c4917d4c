//! AWS IoT Jobs through the `thingwatch` binary: execution updates a device got `accepted`
//! for survive `kill -9`, and an in-progress timeout started before the kill still fires
//! after the restart (the scheduler's timers are the store's).

mod common;

use common::{Server, temp_dir};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use thingwatch_test_support::rumqtt::{connect, next_message, publish, subscribe};

/// A Jobs "minute" of 400 ms: a one-minute in-progress timeout fires after 0.4 s.
const MINUTE_MS: &str = "400";

async fn accepted(el: &mut rumqttc::EventLoop, topic: &str) -> Value {
    loop {
        let (t, payload) = next_message(el).await;
        if t == topic {
            return serde_json::from_slice(&payload).unwrap();
        }
        assert!(
            !t.ends_with("/rejected"),
            "{t}: {}",
            String::from_utf8_lossy(&payload)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_updates_survive_kill_9_and_timers_fire_after_the_restart() {
    let dir = temp_dir();
    let env = [("THINGWATCH_JOBS_MINUTE_MS", MINUTE_MS)];
    let server = Server::start(dir.path(), &[], &env);
    for t in ["done-1", "slow-1"] {
        let (status, body) = server
            .iot("POST", &format!("/things/{t}"), Some(json!({})))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let targets = json!(["arn:aws:iot:us-east-1:123456789012:thing/done-1"]);
    let (status, body) = server
        .iot(
            "PUT",
            "/jobs/quick",
            Some(json!({"targets": targets, "document": "{\"op\":1}"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A long timeout for the job that is killed mid-way: 20 "minutes" = 8 s.
    let (status, body) = server
        .iot(
            "PUT",
            "/jobs/slow",
            Some(
                json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/slow-1"],
                        "document": "{\"op\":2}",
                        "timeoutConfig": {"inProgressTimeoutInMinutes": 20}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (done, mut done_el) = connect(server.mqtt, "done-1").await;
    subscribe(&done, &mut done_el, "$aws/things/done-1/jobs/+/update/+").await;
    publish(
        &done,
        &mut done_el,
        "$aws/things/done-1/jobs/quick/update",
        br#"{"status":"SUCCEEDED","statusDetails":{"result":"ok"}}"#,
    )
    .await;
    accepted(
        &mut done_el,
        "$aws/things/done-1/jobs/quick/update/accepted",
    )
    .await;

    let (slow, mut slow_el) = connect(server.mqtt, "slow-1").await;
    subscribe(&slow, &mut slow_el, "$aws/things/slow-1/jobs/+/update/+").await;
    publish(
        &slow,
        &mut slow_el,
        "$aws/things/slow-1/jobs/slow/update",
        br#"{"status":"IN_PROGRESS","statusDetails":{"step":"2/5"}}"#,
    )
    .await;
    accepted(&mut slow_el, "$aws/things/slow-1/jobs/slow/update/accepted").await;

    // kill -9 right after the acknowledgements.
    drop((done_el, slow_el));
    let data = server.data_dir.clone();
    server.kill_9();
    let started = Instant::now();
    let server = Server::start(&data, &[], &env);

    let (status, quick) = server.iot("GET", "/things/done-1/jobs/quick", None).await;
    assert_eq!(status, 200, "{quick}");
    assert_eq!(quick["execution"]["status"], "SUCCEEDED");
    assert_eq!(
        quick["execution"]["statusDetails"]["detailsMap"]["result"],
        "ok"
    );
    let (_, job) = server.iot("GET", "/jobs/quick", None).await;
    assert_eq!(job["job"]["status"], "COMPLETED");
    let (_, slow_exec) = server.iot("GET", "/things/slow-1/jobs/slow", None).await;
    assert_eq!(slow_exec["execution"]["status"], "IN_PROGRESS");
    assert_eq!(slow_exec["execution"]["versionNumber"], 2);
    assert_eq!(
        slow_exec["execution"]["statusDetails"]["detailsMap"]["step"],
        "2/5"
    );

    // The in-progress timer set before the kill fires after the restart.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, e) = server.iot("GET", "/things/slow-1/jobs/slow", None).await;
        if e["execution"]["status"] == "TIMED_OUT" {
            break;
        }
        assert!(Instant::now() < deadline, "no timeout: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    let (_, job) = server.iot("GET", "/jobs/slow", None).await;
    assert_eq!(job["job"]["jobProcessDetails"]["numberOfTimedOutThings"], 1);
    assert_eq!(job["job"]["status"], "COMPLETED");
}
