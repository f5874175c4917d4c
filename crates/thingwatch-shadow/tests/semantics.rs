//! Document semantics through the public API: tables of update sequences with the exact
//! `get`, `accepted`, `delta` and `documents` payloads, the AWS-verified moto cases
//! (`getmoto/moto` `tests/test_iotdata/test_iotdata.py`), and the AWS Developer Guide examples.

use serde_json::{Value, json};
use thingwatch_shadow::{ShadowLimits, ShadowService};

/// 2023-11-14T22:13:20.123Z; payload timestamps are its epoch seconds, [`T`].
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

/// Test-side metadata mirror: every scalar becomes `{"timestamp": ts}`.
fn mirror(v: &Value, ts: i64) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), mirror(v, ts))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| mirror(v, ts)).collect()),
        _ => json!({ "timestamp": ts }),
    }
}

fn update(svc: &ShadowService, body: Value) -> thingwatch_shadow::UpdateOutcome {
    svc.update("thing1", None, body.to_string().as_bytes(), NOW_MS)
        .unwrap_or_else(|e| panic!("update {body} rejected: {e}"))
}

/// Each case: the `state` of successive updates, then the exact `state` GetThingShadow returns
/// (its `metadata` must mirror `desired`/`reported` with the update time, `version` must equal
/// the number of updates).
#[test]
fn update_sequences_give_the_documented_state_and_delta() {
    let cases: Vec<(&str, Vec<Value>, Value)> = vec![
        // moto test_basic / test_update
        (
            "desired only gives a delta",
            vec![json!({"desired": {"led": "on"}})],
            json!({"desired": {"led": "on"}, "delta": {"led": "on"}}),
        ),
        (
            "reported equal to desired clears the delta",
            vec![
                json!({"desired": {"led": "on"}}),
                json!({"reported": {"led": "on"}}),
            ],
            json!({"desired": {"led": "on"}, "reported": {"led": "on"}}),
        ),
        // moto test_delta_calculation
        (
            "boolean flip",
            vec![
                json!({"desired": {"online": true}}),
                json!({"reported": {"online": false}}),
            ],
            json!({"desired": {"online": true}, "reported": {"online": false}, "delta": {"online": true}}),
        ),
        (
            "empty state creates an empty shadow",
            vec![json!({})],
            json!({}),
        ),
        (
            "reported null on nothing",
            vec![json!({}), json!({"reported": {"online": null}})],
            json!({}),
        ),
        (
            "empty desired is no section",
            vec![
                json!({"desired": {}}),
                json!({"reported": {"online": false}}),
            ],
            json!({"reported": {"online": false}}),
        ),
        (
            "missing key stays in delta",
            vec![
                json!({"desired": {"enabled": true}}),
                json!({"reported": {}}),
            ],
            json!({"desired": {"enabled": true}, "delta": {"enabled": true}}),
        ),
        (
            "other reported key",
            vec![
                json!({"desired": {"enabled": true}}),
                json!({"reported": {"online": true}}),
            ],
            json!({"desired": {"enabled": true}, "reported": {"online": true}, "delta": {"enabled": true}}),
        ),
        (
            "list shrunk is compared whole",
            vec![
                json!({"reported": {"list": ["value_1", "value_2"]}}),
                json!({"desired": {"list": ["value_1"]}}),
            ],
            json!({"desired": {"list": ["value_1"]}, "reported": {"list": ["value_1", "value_2"]},
                "delta": {"list": ["value_1"]}}),
        ),
        (
            "list changed is compared whole",
            vec![
                json!({"reported": {"list": ["value_1", "value_2"]}}),
                json!({"desired": {"list": ["value_1", "value_3"]}}),
            ],
            json!({"desired": {"list": ["value_1", "value_3"]}, "reported": {"list": ["value_1", "value_2"]},
                "delta": {"list": ["value_1", "value_3"]}}),
        ),
        (
            "nested lists",
            vec![
                json!({"reported": {"list": [["value_1"], ["value_2"]]}}),
                json!({"desired": {"list": [["value_1"]]}}),
            ],
            json!({"desired": {"list": [["value_1"]]}, "reported": {"list": [["value_1"], ["value_2"]]},
                "delta": {"list": [["value_1"]]}}),
        ),
        (
            "nested objects give a partial delta",
            vec![
                json!({"desired": {"a": {"b1": {"c": "d"}, "b2": "sth"}}}),
                json!({"reported": {"a": {"b1": {"c": "d"}}}}),
            ],
            json!({"desired": {"a": {"b1": {"c": "d"}, "b2": "sth"}}, "reported": {"a": {"b1": {"c": "d"}}},
                "delta": {"a": {"b2": "sth"}}}),
        ),
        (
            "equal lists give no delta",
            vec![
                json!({"desired": {"l": [1, {"x": 2}]}}),
                json!({"reported": {"l": [1, {"x": 2}]}}),
            ],
            json!({"desired": {"l": [1, {"x": 2}]}, "reported": {"l": [1, {"x": 2}]}}),
        ),
        // moto test_delete_field_from_device_shadow
        (
            "null deletes one field",
            vec![
                json!({"desired": {"state1": 1, "state2": 2}}),
                json!({"desired": {"state1": null}}),
            ],
            json!({"desired": {"state2": 2}, "delta": {"state2": 2}}),
        ),
        (
            "deleting the last field removes desired",
            vec![
                json!({"desired": {"state1": 1, "state2": 2}}),
                json!({"desired": {"state1": null}}),
                json!({"desired": {"state2": null}}),
            ],
            json!({}),
        ),
        // Developer Guide: Empty sections, Arrays, delete a property
        (
            "desired null removes the section while reporting",
            vec![
                json!({"desired": {"color": "red"}}),
                json!({"reported": {"color": "red"}, "desired": null}),
            ],
            json!({"reported": {"color": "red"}}),
        ),
        (
            "arrays are replaced whole",
            vec![
                json!({"desired": {"colors": ["RED", "GREEN", "BLUE"]}}),
                json!({"desired": {"colors": ["RED"]}}),
            ],
            json!({"desired": {"colors": ["RED"]}, "delta": {"colors": ["RED"]}}),
        ),
        (
            "engine null deleted, color merged",
            vec![
                json!({"desired": {"color": {"r": 10}, "engine": "ON"}}),
                json!({"desired": {"engine": null, "color": {"g": 5}}}),
            ],
            json!({"desired": {"color": {"r": 10, "g": 5}}, "delta": {"color": {"r": 10, "g": 5}}}),
        ),
        (
            "state null clears everything",
            vec![
                json!({"desired": {"a": 1}, "reported": {"b": 2}}),
                Value::Null,
            ],
            json!({}),
        ),
        (
            "an object replaces a scalar",
            vec![
                json!({"reported": {"a": 1}}),
                json!({"reported": {"a": {"b": 2}}}),
            ],
            json!({"reported": {"a": {"b": 2}}}),
        ),
        (
            "a scalar replaces an object",
            vec![
                json!({"reported": {"a": {"b": 2}}}),
                json!({"reported": {"a": 3}}),
            ],
            json!({"reported": {"a": 3}}),
        ),
        (
            "numbers compare by value",
            vec![
                json!({"desired": {"t": 1}}),
                json!({"reported": {"t": 1.0}}),
            ],
            json!({"desired": {"t": 1}, "reported": {"t": 1.0}}),
        ),
        (
            "reported-only members never appear in delta",
            vec![
                json!({"desired": {"a": 1}}),
                json!({"reported": {"a": 1, "extra": true}}),
            ],
            json!({"desired": {"a": 1}, "reported": {"a": 1, "extra": true}}),
        ),
        (
            "a member deleted from reported returns to delta",
            vec![
                json!({"desired": {"a": 1}, "reported": {"a": 1}}),
                json!({"reported": {"a": null}}),
            ],
            json!({"desired": {"a": 1}, "delta": {"a": 1}}),
        ),
        (
            "nested null keeps an empty object",
            vec![
                json!({"reported": {"a": {"b": 1}, "c": 2}}),
                json!({"reported": {"a": {"b": null}}}),
            ],
            json!({"reported": {"a": {}, "c": 2}}),
        ),
        (
            "type mismatch is a delta",
            vec![json!({"desired": {"a": "1"}, "reported": {"a": 1}})],
            json!({"desired": {"a": "1"}, "reported": {"a": 1}, "delta": {"a": "1"}}),
        ),
    ];
    for (name, updates, expected_state) in cases {
        let (_dir, svc) = service();
        let n = updates.len() as u64;
        for state in updates {
            update(&svc, json!({ "state": state }));
        }
        let got = parse(&svc.get("thing1", None, None, NOW_MS).expect(name));
        let mut stored = expected_state.clone();
        let stored_map = stored.as_object_mut().expect("object");
        stored_map.remove("delta");
        let expected = json!({
            "state": expected_state,
            "metadata": mirror(&stored, T),
            "version": n,
            "timestamp": T,
        });
        assert_eq!(got, expected, "case: {name}");
    }
}

#[test]
fn accepted_delta_and_documents_are_exact() {
    let (_dir, svc) = service();
    let first = svc
        .update(
            "thing1",
            None,
            br#"{"state":{"desired":{"color":"RED","seq":["a","b"]}},"clientToken":"tok-1"}"#,
            NOW_MS,
        )
        .expect("first");
    assert_eq!(first.version, 1);
    assert_eq!(
        parse(&first.accepted),
        json!({
            "state": {"desired": {"color": "RED", "seq": ["a", "b"]}},
            "metadata": {"desired": {"color": {"timestamp": T},
                                     "seq": [{"timestamp": T}, {"timestamp": T}]}},
            "version": 1, "timestamp": T, "clientToken": "tok-1"
        })
    );
    assert_eq!(
        parse(first.delta.as_deref().expect("delta")),
        json!({
            "state": {"color": "RED", "seq": ["a", "b"]},
            "metadata": {"color": {"timestamp": T}, "seq": [{"timestamp": T}, {"timestamp": T}]},
            "version": 1, "timestamp": T, "clientToken": "tok-1"
        })
    );
    assert_eq!(
        parse(&first.documents),
        json!({
            "current": {
                "state": {"desired": {"color": "RED", "seq": ["a", "b"]}},
                "metadata": {"desired": {"color": {"timestamp": T},
                                         "seq": [{"timestamp": T}, {"timestamp": T}]}},
                "version": 1
            },
            "timestamp": T, "clientToken": "tok-1"
        })
    );

    // Ten seconds later the device reports; metadata keeps the older desired timestamps.
    let later = NOW_MS + 10_000;
    let second = svc
        .update(
            "thing1",
            None,
            br#"{"state":{"reported":{"color":"GREEN"}},"version":1}"#,
            later,
        )
        .expect("second");
    assert_eq!(second.version, 2);
    assert_eq!(
        parse(&second.accepted),
        json!({
            "state": {"reported": {"color": "GREEN"}},
            "metadata": {"reported": {"color": {"timestamp": T + 10}}},
            "version": 2, "timestamp": T + 10
        })
    );
    assert_eq!(
        parse(second.delta.as_deref().expect("desired still differs")),
        json!({
            "state": {"color": "RED", "seq": ["a", "b"]},
            "metadata": {"color": {"timestamp": T}, "seq": [{"timestamp": T}, {"timestamp": T}]},
            "version": 2, "timestamp": T + 10
        })
    );
    assert_eq!(
        parse(&second.documents),
        json!({
            "previous": {
                "state": {"desired": {"color": "RED", "seq": ["a", "b"]}},
                "metadata": {"desired": {"color": {"timestamp": T},
                                         "seq": [{"timestamp": T}, {"timestamp": T}]}},
                "version": 1
            },
            "current": {
                "state": {"desired": {"color": "RED", "seq": ["a", "b"]},
                          "reported": {"color": "GREEN"}},
                "metadata": {"desired": {"color": {"timestamp": T},
                                         "seq": [{"timestamp": T}, {"timestamp": T}]},
                             "reported": {"color": {"timestamp": T + 10}}},
                "version": 2
            },
            "timestamp": T + 10
        })
    );

    // Reporting the desired values converges: no delta.
    let third = svc
        .update(
            "thing1",
            None,
            br#"{"state":{"reported":{"color":"RED","seq":["a","b"]}}}"#,
            later,
        )
        .expect("third");
    assert_eq!(third.delta, None);
    assert_eq!(
        parse(&svc.get("thing1", None, Some("g-1"), later).expect("get")),
        json!({
            "state": {"desired": {"color": "RED", "seq": ["a", "b"]},
                      "reported": {"color": "RED", "seq": ["a", "b"]}},
            "metadata": {"desired": {"color": {"timestamp": T},
                                     "seq": [{"timestamp": T}, {"timestamp": T}]},
                         "reported": {"color": {"timestamp": T + 10},
                                      "seq": [{"timestamp": T + 10}, {"timestamp": T + 10}]}},
            "version": 3, "timestamp": T + 10, "clientToken": "g-1"
        })
    );
}

#[test]
fn accepted_echoes_the_request_state_including_nulls() {
    let (_dir, svc) = service();
    update(&svc, json!({"state": {"desired": {"a": 1, "b": {"c": 2}}}}));
    let out = update(
        &svc,
        json!({"state": {"desired": {"a": null, "b": {"c": null, "d": [true]}}}}),
    );
    assert_eq!(
        parse(&out.accepted),
        json!({
            "state": {"desired": {"a": null, "b": {"c": null, "d": [true]}}},
            "metadata": {"desired": {"a": {"timestamp": T},
                                     "b": {"c": {"timestamp": T}, "d": [{"timestamp": T}]}}},
            "version": 2, "timestamp": T
        })
    );
    let out = update(&svc, json!({"state": {"desired": null}}));
    assert_eq!(
        parse(&out.accepted),
        json!({"state": {"desired": null}, "metadata": {"desired": {"timestamp": T}},
               "version": 3, "timestamp": T})
    );
    assert_eq!(out.delta, None);
}

/// moto `test_update_empty_state` (AWS-verified): `{"state": null}`.
#[test]
fn state_null_is_accepted_and_empties_the_shadow() {
    let (_dir, svc) = service();
    let out = update(&svc, json!({"state": null}));
    assert_eq!(
        parse(&out.accepted),
        json!({"state": null, "metadata": {"timestamp": T}, "version": 1, "timestamp": T})
    );
    assert_eq!(
        parse(&svc.get("thing1", None, None, NOW_MS).expect("get")),
        json!({"state": {}, "metadata": {}, "version": 1, "timestamp": T})
    );
    update(&svc, json!({"state": {"reported": {"x": 1}}}));
    let out = update(&svc, json!({"state": null}));
    assert_eq!(out.version, 3);
    assert_eq!(
        parse(&svc.get("thing1", None, None, NOW_MS).expect("get")),
        json!({"state": {}, "metadata": {}, "version": 3, "timestamp": T})
    );
}

#[test]
fn metadata_timestamps_change_only_for_written_leaves() {
    let (_dir, svc) = service();
    svc.update(
        "thing1",
        None,
        br#"{"state":{"reported":{"a":1,"o":{"x":1,"y":2}}}}"#,
        NOW_MS,
    )
    .expect("first");
    svc.update(
        "thing1",
        None,
        br#"{"state":{"reported":{"o":{"y":3}}}}"#,
        NOW_MS + 5_000,
    )
    .expect("second");
    let got = parse(&svc.get("thing1", None, None, NOW_MS + 5_000).expect("get"));
    assert_eq!(
        got["metadata"],
        json!({"reported": {"a": {"timestamp": T}, "o": {"x": {"timestamp": T}, "y": {"timestamp": T + 5}}}})
    );
}

/// moto `test_update`: a stale `version` is 409 `Version conflict`; the current one is accepted.
#[test]
fn optimistic_locking() {
    let (_dir, svc) = service();
    update(&svc, json!({"state": {"desired": {"led": "on"}}}));
    update(&svc, json!({"state": {"reported": {"led": "on"}}}));
    let err = svc
        .update(
            "thing1",
            None,
            br#"{"state":{"desired":{"led":"on"}},"version":1,"clientToken":"c"}"#,
            NOW_MS,
        )
        .expect_err("stale version");
    assert_eq!(
        (err.code(), err.message.as_str()),
        (409, "Version conflict")
    );
    assert_eq!(err.aws_error_code(), "ConflictException");
    assert_eq!(
        parse(&err.rejected_payload(NOW_MS)),
        json!({"code": 409, "message": "Version conflict", "timestamp": T, "clientToken": "c"})
    );
    let ok = svc
        .update(
            "thing1",
            None,
            br#"{"state":{"desired":{"led":"off"}},"version":2}"#,
            NOW_MS,
        )
        .expect("current version");
    assert_eq!(ok.version, 3);
    // A shadow that does not exist has version 0.
    let err = svc
        .update("fresh", None, br#"{"state":{},"version":5}"#, NOW_MS)
        .expect_err("no such version");
    assert_eq!(err.code(), 409);
    assert_eq!(
        svc.update("fresh", None, br#"{"state":{},"version":0}"#, NOW_MS)
            .expect("version 0")
            .version,
        1
    );
}

/// Developer Guide *Interacting with shadows — DELETE*: a shadow re-created within 48 hours
/// continues from the deleted version; afterwards it starts again.
#[test]
fn delete_then_recreate_keeps_the_version_for_48_hours() {
    let (_dir, svc) = service();
    for _ in 0..4 {
        update(&svc, json!({"state": {"reported": {"n": 1}}}));
    }
    let deleted = svc
        .delete("thing1", None, Some("d-1"), NOW_MS)
        .expect("delete");
    assert_eq!(
        parse(&deleted),
        json!({"version": 4, "timestamp": T, "clientToken": "d-1"})
    );
    let err = svc.get("thing1", None, None, NOW_MS).expect_err("deleted");
    assert_eq!(
        (err.code(), err.message.as_str()),
        (404, "No shadow exists with name: 'thing1'")
    );
    let err = svc
        .delete("thing1", None, None, NOW_MS)
        .expect_err("deleted twice");
    assert_eq!(err.code(), 404);

    let again = update(&svc, json!({"state": {"reported": {"n": 2}}}));
    assert_eq!(again.version, 5);
    // Re-created: the documents payload has no `previous`.
    assert_eq!(parse(&again.documents).get("previous"), None);
    assert_eq!(
        parse(&svc.get("thing1", None, None, NOW_MS).expect("get"))["state"],
        json!({"reported": {"n": 2}})
    );

    svc.delete("thing1", None, None, NOW_MS).expect("delete");
    let two_days = 48 * 3600 * 1000;
    let late = svc
        .update(
            "thing1",
            None,
            br#"{"state":{"reported":{"n":3}}}"#,
            NOW_MS + two_days + 1,
        )
        .expect("after retention");
    assert_eq!(late.version, 1);
    svc.delete("thing1", None, None, NOW_MS + two_days + 1)
        .expect("delete");
    let within = svc
        .update(
            "thing1",
            None,
            br#"{"state":{}}"#,
            NOW_MS + 2 * two_days + 1,
        )
        .expect("at the boundary");
    assert_eq!(within.version, 2);
}

/// moto `test_create_named_shadows`: named shadows are independent of the classic shadow and
/// of each other; only named shadows are listed.
#[test]
fn named_shadows_are_independent_and_listed() {
    let (_dir, svc) = service();
    update(&svc, json!({"state": {"reported": {"classic": true}}}));
    for name in ["shadow2", "shadow1"] {
        let out = svc
            .update(
                "thing1",
                Some(name),
                br#"{"state":{"desired":{"n":1}}}"#,
                NOW_MS,
            )
            .expect("named update");
        assert_eq!(out.version, 1);
    }
    let page = svc.list_named("thing1", None, 100).expect("list");
    assert_eq!(page.results, vec!["shadow1", "shadow2"]);
    assert_eq!(page.next_token, None);
    assert_eq!(
        parse(&page.payload(NOW_MS)),
        json!({"results": ["shadow1", "shadow2"], "timestamp": T})
    );
    assert_eq!(
        parse(
            &svc.get("thing1", Some("shadow1"), None, NOW_MS)
                .expect("get")
        )["state"],
        json!({"desired": {"n": 1}, "delta": {"n": 1}})
    );
    assert_eq!(
        parse(&svc.get("thing1", None, None, NOW_MS).expect("classic"))["state"],
        json!({"reported": {"classic": true}})
    );
    svc.delete("thing1", Some("shadow1"), None, NOW_MS)
        .expect("delete");
    let err = svc
        .get("thing1", Some("shadow1"), None, NOW_MS)
        .expect_err("gone");
    assert_eq!(
        (err.code(), err.message.as_str(), err.aws_error_code()),
        (
            404,
            "No shadow exists with name: 'thing1~shadow1'",
            "ResourceNotFoundException"
        )
    );
    assert_eq!(
        svc.list_named("thing1", None, 100).expect("list").results,
        vec!["shadow2"]
    );
    assert!(
        svc.list_named("other", None, 10)
            .expect("unknown thing")
            .results
            .is_empty()
    );
}

#[test]
fn list_named_pages_through_every_shadow_once() {
    let (_dir, svc) = service();
    let names = ["a", "b", "c", "d", "e"];
    for n in names {
        svc.update("t", Some(n), br#"{"state":{}}"#, NOW_MS)
            .expect("update");
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = svc.list_named("t", token.as_deref(), 2).expect("page");
        pages += 1;
        assert!(page.results.len() <= 2);
        seen.extend(page.results);
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, names);
    assert_eq!(pages, 3);
    for bad_size in [0, 101] {
        assert_eq!(
            svc.list_named("t", None, bad_size)
                .expect_err("size")
                .code(),
            400
        );
    }
    let err = svc
        .list_named("t", Some("not-a-token"), 2)
        .expect_err("token");
    assert_eq!(
        (err.code(), err.aws_error_code()),
        (400, "InvalidRequestException")
    );
}

#[test]
fn get_and_delete_echo_the_client_token() {
    let (_dir, svc) = service();
    let err = svc
        .get("thing1", None, Some("tok"), NOW_MS)
        .expect_err("missing");
    assert_eq!(
        parse(&err.rejected_payload(NOW_MS)),
        json!({"code": 404, "message": "No shadow exists with name: 'thing1'", "timestamp": T,
               "clientToken": "tok"})
    );
    update(&svc, json!({"state": {"reported": {"a": 1}}}));
    assert_eq!(
        parse(&svc.get("thing1", None, Some("tok"), NOW_MS).expect("get"))["clientToken"],
        "tok"
    );
    assert_eq!(
        thingwatch_shadow::request_client_token(br#"{"clientToken":"abc"}"#).expect("token"),
        Some("abc".to_string())
    );
    assert_eq!(
        thingwatch_shadow::request_client_token(b"").expect("empty"),
        None
    );
    assert_eq!(
        thingwatch_shadow::request_client_token(
            format!(r#"{{"clientToken":"{}"}}"#, "x".repeat(65)).as_bytes()
        )
        .expect_err("long")
        .message,
        "Invalid clientToken"
    );
}
