//! Rejections with their exact codes and messages, the documented limits at their
//! boundaries, name validation, topics, persistence across reopen, and serialised concurrent
//! updates.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use thingwatch_shadow::{
    MAX_REQUEST_BYTES, MAX_STATE_BYTES, Reply, ShadowLimits, ShadowOp, ShadowService, ShadowTopic,
    parse_request_topic, response_topic,
};

const NOW_MS: i64 = 1_700_000_000_123;
const T: i64 = 1_700_000_000;

fn service() -> (tempfile::TempDir, ShadowService) {
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = ShadowService::open(dir.path(), ShadowLimits::default()).expect("open");
    (dir, svc)
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("payload is JSON")
}

/// Nested objects `levels` deep under `desired`, ending in a scalar.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, i| json!({ format!("k{i}"): inner }))
}

/// (case name, payload, expected code, expected message, expected echoed clientToken).
type RejectCase = (&'static str, Vec<u8>, u16, String, Option<&'static str>);

#[test]
fn malformed_updates_are_rejected_with_aws_messages() {
    let long_token = "x".repeat(65);
    let cases: Vec<RejectCase> = vec![
        (
            "not JSON",
            b"{state".to_vec(),
            400,
            "Invalid JSON".into(),
            None,
        ),
        (
            "empty payload",
            b"".to_vec(),
            400,
            "Invalid JSON".into(),
            None,
        ),
        (
            "array root",
            b"[1]".to_vec(),
            400,
            "Invalid JSON".into(),
            None,
        ),
        (
            "no state",
            br#"{"clientToken":"c1"}"#.to_vec(),
            400,
            "Missing required node: state".into(),
            Some("c1"),
        ),
        (
            "state string",
            br#"{"state":"on","clientToken":"c2"}"#.to_vec(),
            400,
            "State node must be an object".into(),
            Some("c2"),
        ),
        (
            "state array",
            br#"{"state":[]}"#.to_vec(),
            400,
            "State node must be an object".into(),
            None,
        ),
        (
            "desired string",
            br#"{"state":{"desired":"x"}}"#.to_vec(),
            400,
            "Desired node must be an object".into(),
            None,
        ),
        (
            "reported number",
            br#"{"state":{"reported":5}}"#.to_vec(),
            400,
            "Reported node must be an object".into(),
            None,
        ),
        (
            "delta node",
            br#"{"state":{"delta":{}}}"#.to_vec(),
            400,
            "State contains an invalid node: 'delta'".into(),
            None,
        ),
        (
            "negative version",
            br#"{"state":{},"version":-1}"#.to_vec(),
            400,
            "Invalid version".into(),
            None,
        ),
        (
            "string version",
            br#"{"state":{},"version":"1"}"#.to_vec(),
            400,
            "Invalid version".into(),
            None,
        ),
        (
            "fractional version",
            br#"{"state":{},"version":1.5,"clientToken":"v"}"#.to_vec(),
            400,
            "Invalid version".into(),
            Some("v"),
        ),
        (
            "token too long",
            format!(r#"{{"state":{{}},"clientToken":"{long_token}"}}"#).into_bytes(),
            400,
            "Invalid clientToken".into(),
            None,
        ),
        (
            "token not a string",
            br#"{"state":{},"clientToken":7}"#.to_vec(),
            400,
            "Invalid clientToken".into(),
            None,
        ),
        (
            "null in array",
            br#"{"state":{"desired":{"colors":[null,"RED"]}}}"#.to_vec(),
            400,
            "Invalid JSON".into(),
            None,
        ),
        (
            "too deep",
            json!({"state": {"desired": nested(6)}})
                .to_string()
                .into_bytes(),
            400,
            "JSON contains too many levels of nesting; maximum is 6".into(),
            None,
        ),
        (
            "not UTF-8",
            b"{\"state\":{\"reported\":{\"a\":\"\xff\"}}}".to_vec(),
            415,
            "Unsupported documented encoding; supported encoding is UTF-8".into(),
            None,
        ),
        (
            "request over 128 KiB",
            vec![b' '; MAX_REQUEST_BYTES + 1],
            413,
            "The payload exceeds the maximum size allowed".into(),
            None,
        ),
    ];
    let (_dir, svc) = service();
    for (name, payload, code, message, token) in cases {
        let err = svc
            .update("thing1", None, &payload, NOW_MS)
            .expect_err(name);
        assert_eq!(
            (
                err.code(),
                err.message.as_str(),
                err.client_token.as_deref()
            ),
            (code, message.as_str(), token),
            "{name}"
        );
        let mut expected = json!({"code": code, "message": message, "timestamp": T});
        if let Some(t) = token {
            expected["clientToken"] = json!(t);
        }
        assert_eq!(parse(&err.rejected_payload(NOW_MS)), expected, "{name}");
    }
    // Nothing was created by the rejected requests.
    assert_eq!(
        svc.get("thing1", None, None, NOW_MS)
            .expect_err("no shadow")
            .code(),
        404
    );
}

#[test]
fn aws_error_codes_for_http() {
    let (_dir, svc) = service();
    let codes = |payload: &[u8]| {
        let e = svc
            .update("thing1", None, payload, NOW_MS)
            .expect_err("rejected");
        (e.code(), e.aws_error_code())
    };
    assert_eq!(codes(b"nope"), (400, "InvalidRequestException"));
    assert_eq!(
        codes(&vec![b' '; MAX_REQUEST_BYTES + 1]),
        (413, "RequestEntityTooLargeException")
    );
    assert_eq!(
        codes(b"\xff"),
        (415, "UnsupportedDocumentEncodingException")
    );
}

#[test]
fn nesting_limit_boundary() {
    let (_dir, svc) = service();
    // state (1) → the desired object (2) → four nested objects (3..6): accepted.
    let ok = json!({"state": {"desired": nested(5)}});
    svc.update("thing1", None, ok.to_string().as_bytes(), NOW_MS)
        .expect("depth 6");
    // Arrays count as levels too: state, reported, a, b, c, two arrays = 7.
    let deep_array = json!({"state": {"reported": {"a": {"b": {"c": {"d": [[1]]}}}}}});
    assert_eq!(
        svc.update("thing1", None, deep_array.to_string().as_bytes(), NOW_MS)
            .expect_err("depth 7")
            .code(),
        400
    );
    let limits = ShadowLimits {
        max_state_depth: 8,
        ..ShadowLimits::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let relaxed = ShadowService::open(dir.path(), limits).expect("open");
    relaxed
        .update("thing1", None, deep_array.to_string().as_bytes(), NOW_MS)
        .expect("raised limit");
}

#[test]
fn state_size_limit_counts_merged_desired_and_reported() {
    let (_dir, svc) = service();
    // {"a":"…"} is 8 bytes of syntax plus the string.
    let fill = |n: usize, key: &str, section: &str| {
        json!({"state": {section: {key: "x".repeat(n)}}})
            .to_string()
            .into_bytes()
    };
    svc.update(
        "thing1",
        None,
        &fill(MAX_STATE_BYTES - 8, "a", "desired"),
        NOW_MS,
    )
    .expect("exactly 8 KiB");
    let err = svc
        .update(
            "thing2",
            None,
            &fill(MAX_STATE_BYTES - 7, "a", "desired"),
            NOW_MS,
        )
        .expect_err("one byte over");
    assert_eq!(
        (err.code(), err.message.as_str()),
        (413, "The payload exceeds the maximum size allowed")
    );
    // A small update that makes the merged state too large is rejected and changes nothing.
    let err = svc
        .update(
            "thing1",
            None,
            br#"{"state":{"reported":{"b":1}},"clientToken":"big"}"#,
            NOW_MS,
        )
        .expect_err("merged state too large");
    assert_eq!(
        (err.code(), err.client_token.as_deref()),
        (413, Some("big"))
    );
    let got = parse(&svc.get("thing1", None, None, NOW_MS).expect("get"));
    assert_eq!(got["version"], 1);
    assert_eq!(got["state"].get("reported"), None);
    // Deleting a field makes room again (metadata never counts).
    svc.update(
        "thing1",
        None,
        br#"{"state":{"desired":{"a":null},"reported":{"b":1}}}"#,
        NOW_MS,
    )
    .expect("room again");
}

#[test]
fn thing_and_shadow_names_follow_the_iot_data_patterns() {
    let (_dir, svc) = service();
    let body = br#"{"state":{}}"#;
    let (max_thing, long_thing) = ("t".repeat(128), "t".repeat(129));
    let (max_shadow, long_shadow) = ("s".repeat(64), "s".repeat(65));
    for thing in ["a", "Thing_1:x-y", max_thing.as_str()] {
        svc.update(thing, None, body, NOW_MS)
            .unwrap_or_else(|e| panic!("{thing}: {e}"));
    }
    for thing in [
        "",
        "has space",
        "slash/x",
        "dollar$",
        long_thing.as_str(),
        "é",
    ] {
        let err = svc.update(thing, None, body, NOW_MS).expect_err(thing);
        assert_eq!(err.code(), 400, "{thing}");
        assert!(
            err.message
                .starts_with("1 validation error detected: Value '"),
            "{}",
            err.message
        );
        assert!(err.message.contains("at 'thingName'"), "{}", err.message);
    }
    for shadow in ["$package", "s:1_2-3", max_shadow.as_str()] {
        svc.update("t", Some(shadow), body, NOW_MS)
            .unwrap_or_else(|e| panic!("{shadow}: {e}"));
    }
    for shadow in ["", "a b", "a/b", long_shadow.as_str()] {
        let err = svc.get("t", Some(shadow), None, NOW_MS).expect_err(shadow);
        assert_eq!(err.code(), 400, "{shadow}");
        assert!(err.message.contains("at 'shadowName'"), "{}", err.message);
    }
    assert_eq!(
        svc.update("t", Some("ok"), body, NOW_MS)
            .expect("named")
            .version,
        1
    );
}

#[test]
fn request_topics_parse_and_response_topics_build() {
    let ok: Vec<(&str, ShadowTopic<'_>)> = vec![
        (
            "$aws/things/t1/shadow/get",
            ShadowTopic {
                thing: "t1",
                shadow: None,
                op: ShadowOp::Get,
            },
        ),
        (
            "$aws/things/t1/shadow/update",
            ShadowTopic {
                thing: "t1",
                shadow: None,
                op: ShadowOp::Update,
            },
        ),
        (
            "$aws/things/t1/shadow/delete",
            ShadowTopic {
                thing: "t1",
                shadow: None,
                op: ShadowOp::Delete,
            },
        ),
        (
            "$aws/things/t1/shadow/name/s1/update",
            ShadowTopic {
                thing: "t1",
                shadow: Some("s1"),
                op: ShadowOp::Update,
            },
        ),
        (
            "$aws/things/t1/shadow/name/name/get",
            ShadowTopic {
                thing: "t1",
                shadow: Some("name"),
                op: ShadowOp::Get,
            },
        ),
    ];
    for (topic, expected) in ok {
        assert_eq!(parse_request_topic(topic), Some(expected), "{topic}");
    }
    for topic in [
        "$aws/things/t1/shadow/get/accepted",
        "$aws/things/t1/shadow/update/delta",
        "$aws/things/t1/shadow/name/s1/update/documents",
        "$aws/things/t1/shadow/list",
        "$aws/things//shadow/get",
        "$aws/things/t1/shadow/name//get",
        "$aws/things/t1/shadow/name/s1",
        "$aws/things/t1/shadow",
        "$aws/things/t1/jobs/get",
        "aws/things/t1/shadow/get",
        "$aws/things/t1/shadow/get/",
    ] {
        assert_eq!(parse_request_topic(topic), None, "{topic}");
    }
    assert_eq!(
        response_topic("t1", None, ShadowOp::Update, Reply::Delta),
        "$aws/things/t1/shadow/update/delta"
    );
    assert_eq!(
        response_topic("t1", Some("s1"), ShadowOp::Get, Reply::Rejected),
        "$aws/things/t1/shadow/name/s1/get/rejected"
    );
    let parsed = parse_request_topic("$aws/things/t1/shadow/name/s1/delete").expect("parse");
    assert_eq!(
        parsed.response_topic(Reply::Accepted),
        "$aws/things/t1/shadow/name/s1/delete/accepted"
    );
    assert_eq!(
        thingwatch_shadow::request_topic("t1", Some("s1"), ShadowOp::Update),
        "$aws/things/t1/shadow/name/s1/update"
    );
    assert_eq!(
        [ShadowOp::Get, ShadowOp::Update, ShadowOp::Delete].map(ShadowOp::event_type),
        ["GetThingShadow", "UpdateThingShadow", "DeleteThingShadow"]
    );
}

#[test]
fn shadows_survive_reopen_and_an_unclean_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let svc = ShadowService::open(dir.path(), ShadowLimits::default()).expect("open");
        svc.update(
            "t",
            None,
            br#"{"state":{"desired":{"a":[1,2]},"reported":{"a":[1]}}}"#,
            NOW_MS,
        )
        .expect("update");
        svc.update(
            "t",
            Some("cfg"),
            br#"{"state":{"reported":{"on":true}}}"#,
            NOW_MS,
        )
        .expect("named");
        svc.update("gone", None, br#"{"state":{}}"#, NOW_MS)
            .expect("update");
        svc.update("gone", None, br#"{"state":{}}"#, NOW_MS)
            .expect("update");
        svc.delete("gone", None, None, NOW_MS).expect("delete");
        let got = svc.get("t", None, None, NOW_MS).expect("get");
        // No clean shutdown: the connection is leaked, the WAL is not checkpointed.
        std::mem::forget(svc);
        got
    };
    assert!(dir.path().join(thingwatch_shadow::DB_FILE).exists());
    let svc = ShadowService::open(dir.path(), ShadowLimits::default()).expect("reopen");
    assert_eq!(svc.get("t", None, None, NOW_MS).expect("get"), before);
    assert_eq!(
        parse(&svc.get("t", Some("cfg"), None, NOW_MS).expect("named"))["state"],
        json!({"reported": {"on": true}})
    );
    assert_eq!(
        svc.get("gone", None, None, NOW_MS)
            .expect_err("deleted")
            .code(),
        404
    );
    // The tombstone's version survived too.
    assert_eq!(
        svc.update("gone", None, br#"{"state":{}}"#, NOW_MS)
            .expect("recreate")
            .version,
        3
    );
    assert_eq!(
        svc.update("t", None, br#"{"state":{}}"#, NOW_MS)
            .expect("update")
            .version,
        2
    );
}

/// 50 threads × 20 updates to one shadow: every version 1..=1000 is produced exactly once and
/// no update is lost.
#[test]
fn concurrent_updates_to_one_shadow_are_serialised() {
    let (_dir, svc) = service();
    let svc = Arc::new(svc);
    let handles: Vec<_> = (0..50)
        .map(|t| {
            let svc = Arc::clone(&svc);
            std::thread::spawn(move || {
                (0..20)
                    .map(|i| {
                        let body = json!({"state": {"reported": {format!("t{t}"): i}}});
                        svc.update("busy", None, body.to_string().as_bytes(), NOW_MS)
                            .expect("update")
                            .version
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut versions = BTreeSet::new();
    for h in handles {
        for v in h.join().expect("thread") {
            assert!(versions.insert(v), "version {v} produced twice");
        }
    }
    assert_eq!(versions, (1..=1000).collect::<BTreeSet<u64>>());
    let got = parse(&svc.get("busy", None, None, NOW_MS).expect("get"));
    assert_eq!(got["version"], 1000);
    let reported = got["state"]["reported"].as_object().expect("reported");
    assert_eq!(reported.len(), 50);
    assert!(reported.values().all(|v| v == &json!(19)));
}

/// Optimistic locking under contention: of 20 threads racing with the same expected version,
/// exactly one wins each round.
#[test]
fn concurrent_versioned_updates_have_one_winner() {
    let (_dir, svc) = service();
    svc.update("race", None, br#"{"state":{}}"#, NOW_MS)
        .expect("create");
    let svc = Arc::new(svc);
    for round in 1..=5u64 {
        let handles: Vec<_> = (0..20)
            .map(|t| {
                let svc = Arc::clone(&svc);
                std::thread::spawn(move || {
                    let body = json!({"state": {"reported": {"w": t}}, "version": round});
                    svc.update("race", None, body.to_string().as_bytes(), NOW_MS)
                        .map(|o| o.version)
                        .map_err(|e| e.code())
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        assert_eq!(
            results.iter().filter(|r| **r == Ok(round + 1)).count(),
            1,
            "round {round}"
        );
        assert_eq!(
            results.iter().filter(|r| **r == Err(409)).count(),
            19,
            "round {round}"
        );
    }
}
