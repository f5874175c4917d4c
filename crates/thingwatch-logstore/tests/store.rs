//! Behaviour of `LogStore` through its public API: catalog operations, PutLogEvents batch
//! rules, GetLogEvents / FilterLogEvents ordering and exhaustive pagination.

use thingwatch_logstore::filter_pattern;
use thingwatch_logstore::limits::{MAX_AGE_MS, MAX_BATCH_BYTES, MAX_FUTURE_MS};
use thingwatch_logstore::*;

const NOW: i64 = 1_795_255_200_000;

fn open() -> (tempfile::TempDir, LogStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path(), StoreOptions::default()).unwrap();
    (dir, store)
}

fn ev(ts: i64, m: &str) -> InputLogEvent {
    InputLogEvent {
        timestamp: ts,
        message: m.to_string(),
    }
}

fn invalid_token() -> StoreError {
    StoreError::InvalidParameter("The specified nextToken is invalid.".into())
}

#[test]
fn log_group_lifecycle_and_listing() {
    let (_d, s) = open();
    for (i, name) in ["/b", "/a/x", "/a/y", "AWSIotLogsV2", "/a/z"]
        .iter()
        .enumerate()
    {
        s.create_log_group(name, NOW + i as i64).unwrap();
    }
    assert!(matches!(
        s.create_log_group("/a/x", NOW),
        Err(StoreError::ResourceAlreadyExists(_))
    ));
    // Full listing in pages of 2, sorted by name.
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let p = s
            .describe_log_groups(None, None, token.as_deref(), 2)
            .unwrap();
        assert!(p.items.len() <= 2);
        names.extend(p.items.into_iter().map(|g| g.name));
        match p.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(names, ["/a/x", "/a/y", "/a/z", "/b", "AWSIotLogsV2"]);
    let by_prefix = s.describe_log_groups(Some("/a/"), None, None, 50).unwrap();
    assert_eq!(by_prefix.items.len(), 3);
    assert_eq!(by_prefix.next_token, None);
    let by_pattern = s
        .describe_log_groups(None, Some("iotlogs"), None, 50)
        .unwrap();
    assert_eq!(
        by_pattern
            .items
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["AWSIotLogsV2"]
    );
    let g = &by_pattern.items[0];
    assert_eq!(
        (g.creation_time, g.stored_bytes, g.retention_in_days),
        (NOW + 3, 0, None)
    );
    assert_eq!(
        s.describe_log_groups(None, None, Some("garbage"), 5),
        Err(invalid_token())
    );

    s.put_retention_policy("/b", 7).unwrap();
    assert!(matches!(
        s.put_retention_policy("/b", 8),
        Err(StoreError::InvalidParameter(_))
    ));
    let b = s.describe_log_groups(Some("/b"), None, None, 1).unwrap();
    assert_eq!(b.items[0].retention_in_days, Some(7));

    s.delete_log_group("/a/y").unwrap();
    assert_eq!(
        s.delete_log_group("/a/y"),
        Err(StoreError::ResourceNotFound(
            "The specified log group does not exist.".into()
        ))
    );
    assert_eq!(
        s.describe_log_groups(Some("/a/"), None, None, 50)
            .unwrap()
            .items
            .len(),
        2
    );
}

#[test]
fn log_streams_listing_and_stats() {
    let (_d, s) = open();
    assert!(matches!(
        s.create_log_stream("nope", "s", NOW),
        Err(StoreError::ResourceNotFound(_))
    ));
    s.create_log_group("g", NOW).unwrap();
    for (i, name) in ["s3", "s1", "s2", "t1"].iter().enumerate() {
        s.create_log_stream("g", name, NOW + i as i64).unwrap();
    }
    assert!(matches!(
        s.create_log_stream("g", "s1", NOW),
        Err(StoreError::ResourceAlreadyExists(_))
    ));
    s.put_log_events("g", "s1", &[ev(NOW - 50, "a"), ev(NOW - 10, "bcd")], NOW)
        .unwrap();
    s.put_log_events("g", "s1", &[ev(NOW - 60, "ef")], NOW + 5)
        .unwrap();
    s.put_log_events("g", "s3", &[ev(NOW - 30, "x")], NOW)
        .unwrap();

    let list = |q: DescribeStreamsQuery| -> Vec<String> {
        let mut out = Vec::new();
        let mut q = q;
        loop {
            let p = s.describe_log_streams("g", &q).unwrap();
            out.extend(p.items.into_iter().map(|x| x.name));
            match p.next_token {
                Some(t) => q.next_token = Some(t),
                None => return out,
            }
        }
    };
    let base = DescribeStreamsQuery {
        limit: 1,
        ..Default::default()
    };
    assert_eq!(list(base.clone()), ["s1", "s2", "s3", "t1"]);
    assert_eq!(
        list(DescribeStreamsQuery {
            descending: true,
            ..base.clone()
        }),
        ["t1", "s3", "s2", "s1"]
    );
    assert_eq!(
        list(DescribeStreamsQuery {
            prefix: Some("s".into()),
            ..base.clone()
        }),
        ["s1", "s2", "s3"]
    );
    let by_time = DescribeStreamsQuery {
        order_by: StreamOrder::LastEventTime,
        ..base.clone()
    };
    assert_eq!(list(by_time.clone()), ["s2", "t1", "s3", "s1"]);
    assert_eq!(
        list(DescribeStreamsQuery {
            descending: true,
            ..by_time.clone()
        }),
        ["s1", "s3", "t1", "s2"]
    );
    assert!(matches!(
        s.describe_log_streams(
            "g",
            &DescribeStreamsQuery {
                prefix: Some("s".into()),
                ..by_time
            }
        ),
        Err(StoreError::InvalidParameter(_))
    ));
    // A name-order token is not valid for a descending query.
    let p = s.describe_log_streams("g", &base).unwrap();
    let bad = DescribeStreamsQuery {
        descending: true,
        next_token: p.next_token,
        ..base
    };
    assert_eq!(s.describe_log_streams("g", &bad), Err(invalid_token()));

    let all = s
        .describe_log_streams("g", &DescribeStreamsQuery::default())
        .unwrap();
    let s1 = &all.items[0];
    assert_eq!(
        (
            s1.first_event_timestamp,
            s1.last_event_timestamp,
            s1.last_ingestion_time,
            s1.stored_bytes
        ),
        (Some(NOW - 60), Some(NOW - 10), Some(NOW + 5), 6)
    );
    let s2 = &all.items[1];
    assert_eq!(
        (
            s2.first_event_timestamp,
            s2.last_event_timestamp,
            s2.last_ingestion_time
        ),
        (None, None, None)
    );
    let g = s.describe_log_groups(Some("g"), None, None, 50).unwrap();
    assert_eq!(g.items[0].stored_bytes, 7);
}

#[test]
fn put_log_events_batch_rules() {
    let (_d, s) = open();
    s.create_log_group("g", NOW).unwrap();
    s.create_log_stream("g", "s", NOW).unwrap();
    assert_eq!(
        s.put_log_events("g", "missing", &[ev(NOW, "x")], NOW),
        Err(StoreError::ResourceNotFound(
            "The specified log stream does not exist.".into()
        ))
    );
    assert_eq!(
        s.put_log_events("missing", "s", &[ev(NOW, "x")], NOW),
        Err(StoreError::ResourceNotFound(
            "The specified log group does not exist.".into()
        ))
    );
    let big = "x".repeat(MAX_BATCH_BYTES - 26);
    let too_big = "x".repeat(MAX_BATCH_BYTES - 25);
    let many: Vec<InputLogEvent> = (0..10_001).map(|i| ev(NOW + i, "m")).collect();
    let invalid: Vec<(&str, Vec<InputLogEvent>)> = vec![
        ("out of order", vec![ev(NOW, "a"), ev(NOW - 1, "b")]),
        ("10,001 events", many),
        ("event over 1 MiB with overhead", vec![ev(NOW, &too_big)]),
        (
            "batch over 1 MiB",
            vec![ev(NOW, &big[..600_000]), ev(NOW, &big[..500_000])],
        ),
        ("empty message", vec![ev(NOW, "")]),
        (
            "span over 24 h",
            vec![ev(NOW - 25 * 3_600_000, "a"), ev(NOW, "b")],
        ),
    ];
    for (what, batch) in invalid {
        assert!(
            matches!(
                s.put_log_events("g", "s", &batch, NOW),
                Err(StoreError::InvalidParameter(_))
            ),
            "{what}"
        );
    }
    // Exactly at the limits: accepted.
    assert_eq!(
        s.put_log_events("g", "s", &[ev(NOW, &big)], NOW)
            .unwrap()
            .rejected,
        None
    );
    let ok: Vec<InputLogEvent> = (0..10_000).map(|i| ev(NOW + i, "m")).collect();
    assert_eq!(s.put_log_events("g", "s", &ok, NOW).unwrap().rejected, None);

    // Too old / too new events are skipped and reported by index.
    let batch = [
        ev(NOW - MAX_AGE_MS - 2, "old0"),
        ev(NOW - MAX_AGE_MS - 1, "old1"),
        ev(NOW - 1000, "edge-mid"),
        ev(NOW + MAX_FUTURE_MS, "edge-new"),
        ev(NOW + MAX_FUTURE_MS + 1, "new0"),
        ev(NOW + MAX_FUTURE_MS + 2, "new1"),
    ];
    let out = s.put_log_events("g", "s", &batch, NOW).unwrap();
    assert_eq!(
        out.rejected,
        Some(RejectedLogEventsInfo {
            too_new_log_event_start_index: Some(4),
            too_old_log_event_end_index: Some(1),
            expired_log_event_end_index: None,
        })
    );
    // Exactly 14 days old is still accepted.
    let out = s
        .put_log_events("g", "s", &[ev(NOW - MAX_AGE_MS, "edge-old")], NOW)
        .unwrap();
    assert_eq!(out.rejected, None);
    let found = filter_all(
        &s,
        "g",
        FilterQuery {
            pattern: Some(filter_pattern::parse("edge").unwrap()),
            ..FilterQuery::default()
        },
    );
    let msgs: Vec<&str> = found.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(msgs, ["edge-old", "edge-mid", "edge-new"]);

    // Retention: older than 1 day is expired.
    s.put_retention_policy("g", 1).unwrap();
    let out = s
        .put_log_events(
            "g",
            "s",
            &[ev(NOW - 86_400_000 - 1, "exp"), ev(NOW, "fresh")],
            NOW,
        )
        .unwrap();
    assert_eq!(
        out.rejected,
        Some(RejectedLogEventsInfo {
            expired_log_event_end_index: Some(0),
            ..Default::default()
        })
    );
}

fn filter_all(s: &LogStore, group: &str, mut q: FilterQuery) -> Vec<FilteredLogEvent> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let p = s.filter_log_events(group, &q).unwrap();
        assert!(p.events.len() <= q.limit.max(1));
        out.extend(p.events);
        match p.next_token {
            Some(t) => q.next_token = Some(t),
            None => return out,
        }
    }
    panic!("pagination did not terminate");
}

/// FilterLogEvents selection: stream names, stream prefix, start, end.
type Case = (
    Option<Vec<String>>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// A reference model: every appended event with its global arrival index.
struct Model {
    events: Vec<(String, i64, usize, String)>,
}

fn fill(s: &LogStore) -> Model {
    // 3 streams, events arriving out of timestamp order across batches, equal timestamps.
    let mut model = Model { events: Vec::new() };
    let mut rng = 0x1234_5678u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let streams = ["alpha", "beta", "gamma"];
    let mut n = 0usize;
    for batch in 0..40 {
        let mut owned = Vec::new();
        for _ in 0..50 {
            let stream = streams[(next() % 3) as usize];
            // Timestamps wander over ~20 s and overlap between batches.
            let ts = NOW + batch * 400 + (next() % 3000) as i64 - 1500;
            let kind = ["ERROR", "WARN", "INFO"][(next() % 3) as usize];
            let msg = format!(r#"{{"level":"{kind}","n":{n},"stream":"{stream}"}}"#);
            owned.push((stream, ts, msg));
            n += 1;
        }
        let evs: Vec<AppendEvent<'_>> = owned
            .iter()
            .map(|(st, ts, m)| AppendEvent {
                log_group: "g",
                log_stream: st,
                timestamp: *ts,
                message: m,
            })
            .collect();
        s.append(&evs, NOW + batch).unwrap();
        for (st, ts, m) in owned {
            let idx = model.events.len();
            model.events.push((st.to_string(), ts, idx, m));
        }
    }
    model.events.sort_by_key(|e| (e.1, e.2));
    model
}

#[test]
fn filter_log_events_interleaves_and_paginates_exhaustively() {
    let (_d, s) = open();
    let model = fill(&s);
    let patterns = [
        "",
        "ERROR",
        "?ERROR ?WARN",
        "-INFO",
        r#"{ $.level = "WARN" }"#,
        r#"{ $.n < 100 || $.stream = "beta" }"#,
        "nomatch",
    ];
    let cases: Vec<Case> = vec![
        (None, None, None, None),
        (
            Some(vec!["beta".into(), "gamma".into(), "missing".into()]),
            None,
            None,
            None,
        ),
        (None, Some("al".into()), None, None),
        (None, None, Some(NOW + 2000), Some(NOW + 9000)),
        (None, None, Some(NOW + 5000), None),
    ];
    for (pi, pattern) in patterns.into_iter().enumerate() {
        let parsed = filter_pattern::parse(pattern).unwrap();
        // The one-event pages are slow in debug builds: run them for a few patterns only.
        let pagings: &[(usize, usize)] = if pi < 2 {
            &[(10_000, 1_000_000), (7, 1_000_000), (3, 60), (1, 1)]
        } else {
            &[(10_000, 1_000_000), (7, 1_000_000), (3, 60)]
        };
        for (names, prefix, start, end) in &cases {
            let want: Vec<(String, i64, String)> = model
                .events
                .iter()
                .filter(|(st, ts, _, m)| {
                    names.as_ref().is_none_or(|n| n.contains(st))
                        && prefix.as_ref().is_none_or(|p| st.starts_with(p.as_str()))
                        && start.is_none_or(|t| *ts >= t)
                        && end.is_none_or(|t| *ts <= t)
                        && parsed.matches(m)
                })
                .map(|(st, ts, _, m)| (st.clone(), *ts, m.clone()))
                .collect();
            for &(limit, budget) in pagings {
                s.set_filter_scan_budget(budget);
                let got = filter_all(
                    &s,
                    "g",
                    FilterQuery {
                        stream_names: names.clone(),
                        stream_name_prefix: prefix.clone(),
                        start_time: *start,
                        end_time: *end,
                        pattern: Some(parsed.clone()),
                        next_token: None,
                        limit,
                    },
                );
                let got_tuples: Vec<(String, i64, String)> = got
                    .iter()
                    .map(|e| (e.log_stream_name.clone(), e.timestamp, e.message.clone()))
                    .collect();
                assert_eq!(
                    got_tuples, want,
                    "pattern {pattern:?} case {names:?} {prefix:?} {start:?} {end:?} limit {limit} budget {budget}"
                );
                let mut ids: Vec<&str> = got.iter().map(|e| e.event_id.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), got.len(), "duplicate event ids");
                assert!(
                    got.iter()
                        .all(|e| e.ingestion_time >= NOW && e.ingestion_time < NOW + 40)
                );
            }
        }
    }
    s.set_filter_scan_budget(1_000_000);
    assert_eq!(
        s.filter_log_events(
            "g",
            &FilterQuery {
                next_token: Some("bogus".into()),
                limit: 10,
                ..Default::default()
            }
        ),
        Err(invalid_token())
    );
    assert!(matches!(
        s.filter_log_events("nope", &FilterQuery::default()),
        Err(StoreError::ResourceNotFound(_))
    ));
    // A token of another group is rejected.
    s.create_log_group("h", NOW).unwrap();
    let p = s
        .filter_log_events(
            "g",
            &FilterQuery {
                limit: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        s.filter_log_events(
            "h",
            &FilterQuery {
                next_token: p.next_token,
                limit: 1,
                ..Default::default()
            }
        ),
        Err(invalid_token())
    );
}

#[test]
fn scan_budget_returns_short_pages_with_tokens() {
    let (_d, s) = open();
    let model = fill(&s);
    s.set_filter_scan_budget(100);
    let q = FilterQuery {
        pattern: Some(filter_pattern::parse("nomatch").unwrap()),
        limit: 10_000,
        ..Default::default()
    };
    let first = s.filter_log_events("g", &q).unwrap();
    assert!(first.events.is_empty());
    assert!(
        first.next_token.is_some(),
        "a budget-limited search must hand back a token"
    );
    assert!(filter_all(&s, "g", q).is_empty());
    assert_eq!(model.events.len(), 2000);
}

#[test]
fn get_log_events_pages_forward_and_backward() {
    let (_d, s) = open();
    let model = fill(&s);
    let want: Vec<(i64, String)> = model
        .events
        .iter()
        .filter(|e| e.0 == "beta")
        .map(|e| (e.1, e.3.clone()))
        .collect();
    assert!(want.len() > 500);
    let get = |q: &GetEventsQuery| s.get_log_events("g", "beta", q).unwrap();
    let pairs = |p: &GetEventsPage| {
        p.events
            .iter()
            .map(|e| (e.timestamp, e.message.clone()))
            .collect::<Vec<_>>()
    };

    for limit in [1, 7, 100, 10_000] {
        // Forward from the head.
        let mut q = GetEventsQuery {
            start_from_head: true,
            limit,
            ..Default::default()
        };
        let mut got = Vec::new();
        let mut last_token = String::new();
        loop {
            let p = get(&q);
            assert!(p.events.len() <= limit);
            assert!(
                p.next_forward_token.starts_with("f/") && p.next_backward_token.starts_with("b/")
            );
            if p.events.is_empty() {
                // End of stream: the same forward token comes back.
                assert_eq!(p.next_forward_token, last_token);
                break;
            }
            got.extend(pairs(&p));
            last_token = p.next_forward_token.clone();
            q.next_token = Some(p.next_forward_token);
        }
        assert_eq!(got, want, "forward, limit {limit}");

        // Backward from the tail (the default first page is the newest events).
        let mut q = GetEventsQuery {
            limit,
            ..Default::default()
        };
        let mut pages: Vec<Vec<(i64, String)>> = Vec::new();
        loop {
            let p = get(&q);
            if p.events.is_empty() {
                assert_eq!(Some(p.next_backward_token.clone()), q.next_token);
                break;
            }
            pages.push(pairs(&p));
            q.next_token = Some(p.next_backward_token);
        }
        let got: Vec<(i64, String)> = pages.into_iter().rev().flatten().collect();
        assert_eq!(got, want, "backward, limit {limit}");
    }

    // Time range: end exclusive, start inclusive.
    let (t0, t1) = (want[10].0, want[40].0);
    let p = get(&GetEventsQuery {
        start_time: Some(t0),
        end_time: Some(t1),
        start_from_head: true,
        ..Default::default()
    });
    let expect: Vec<(i64, String)> = want
        .iter()
        .filter(|e| e.0 >= t0 && e.0 < t1)
        .cloned()
        .collect();
    assert_eq!(pairs(&p), expect);

    // Turning around: a backward token after paging forward returns the preceding events.
    let p1 = get(&GetEventsQuery {
        start_from_head: true,
        limit: 20,
        ..Default::default()
    });
    let p2 = get(&GetEventsQuery {
        next_token: Some(p1.next_forward_token.clone()),
        limit: 20,
        ..Default::default()
    });
    let back = get(&GetEventsQuery {
        next_token: Some(p2.next_backward_token),
        limit: 20,
        ..Default::default()
    });
    assert_eq!(pairs(&back), pairs(&p1));

    // Tokens are validated, including against the stream they came from.
    for bad in ["f/123", "x/1", "", "b/abc"] {
        assert_eq!(
            s.get_log_events(
                "g",
                "beta",
                &GetEventsQuery {
                    next_token: Some(bad.into()),
                    ..Default::default()
                }
            ),
            Err(invalid_token()),
            "{bad}"
        );
    }
    assert_eq!(
        s.get_log_events(
            "g",
            "alpha",
            &GetEventsQuery {
                next_token: Some(p1.next_forward_token),
                ..Default::default()
            }
        ),
        Err(invalid_token())
    );
    assert!(matches!(
        s.get_log_events("g", "nope", &GetEventsQuery::default()),
        Err(StoreError::ResourceNotFound(_))
    ));

    // Events appended after reaching the end appear behind the end token.
    let end = get(&GetEventsQuery {
        start_from_head: true,
        ..Default::default()
    })
    .next_forward_token;
    s.append(
        &[AppendEvent {
            log_group: "g",
            log_stream: "beta",
            timestamp: NOW + 100_000,
            message: "late",
        }],
        NOW + 50,
    )
    .unwrap();
    let p = get(&GetEventsQuery {
        next_token: Some(end),
        ..Default::default()
    });
    assert_eq!(
        p.events
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["late"]
    );
}

#[test]
fn delete_log_stream_removes_only_its_events() {
    let (_d, s) = open();
    let model = fill(&s);
    s.delete_log_stream("g", "beta").unwrap();
    assert!(matches!(
        s.delete_log_stream("g", "beta"),
        Err(StoreError::ResourceNotFound(_))
    ));
    let want: Vec<String> = model
        .events
        .iter()
        .filter(|e| e.0 != "beta")
        .map(|e| e.3.clone())
        .collect();
    let got: Vec<String> = filter_all(&s, "g", FilterQuery::default())
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(got, want);
    let alpha: Vec<String> = model
        .events
        .iter()
        .filter(|e| e.0 == "alpha")
        .map(|e| e.3.clone())
        .collect();
    let p = s
        .get_log_events(
            "g",
            "alpha",
            &GetEventsQuery {
                start_from_head: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        p.events.into_iter().map(|e| e.message).collect::<Vec<_>>(),
        alpha
    );
    // Recreating the stream starts empty.
    s.create_log_stream("g", "beta", NOW).unwrap();
    assert!(
        s.get_log_events("g", "beta", &GetEventsQuery::default())
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn data_survives_reopen_and_ids_stay_unique() {
    let dir = tempfile::tempdir().unwrap();
    let first_ids: Vec<String>;
    {
        let s = LogStore::open(dir.path(), StoreOptions::default()).unwrap();
        s.create_log_group("kept", NOW).unwrap();
        s.create_log_group("gone", NOW).unwrap();
        s.create_log_stream("kept", "s", NOW).unwrap();
        s.put_log_events("kept", "s", &[ev(NOW, "one"), ev(NOW, "two")], NOW)
            .unwrap();
        s.append(
            &[AppendEvent {
                log_group: "gone",
                log_stream: "x",
                timestamp: NOW,
                message: "bye",
            }],
            NOW,
        )
        .unwrap();
        s.delete_log_group("gone").unwrap();
        first_ids = filter_all(&s, "kept", FilterQuery::default())
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        s.sync().unwrap();
    }
    let s = LogStore::open(dir.path(), StoreOptions::default()).unwrap();
    let groups = s.describe_log_groups(None, None, None, 50).unwrap();
    assert_eq!(
        groups
            .items
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["kept"]
    );
    s.put_log_events("kept", "s", &[ev(NOW, "three")], NOW + 1)
        .unwrap();
    let all = filter_all(&s, "kept", FilterQuery::default());
    assert_eq!(
        all.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
        ["one", "two", "three"]
    );
    assert_eq!(
        &all[..2]
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<Vec<_>>(),
        &first_ids
    );
    assert!(!first_ids.contains(&all[2].event_id));
    let st = s
        .describe_log_streams("kept", &DescribeStreamsQuery::default())
        .unwrap();
    assert_eq!(
        (st.items[0].stored_bytes, st.items[0].last_ingestion_time),
        (11, Some(NOW + 1))
    );
    // The group name can be reused after deletion and starts empty.
    s.create_log_group("gone", NOW).unwrap();
    assert!(filter_all(&s, "gone", FilterQuery::default()).is_empty());
}

#[test]
fn append_creates_groups_and_streams() {
    let (_d, s) = open();
    let evs = [
        AppendEvent {
            log_group: "AWSIotLogsV2",
            log_stream: "a",
            timestamp: NOW,
            message: "1",
        },
        AppendEvent {
            log_group: "AWSIotLogsV2",
            log_stream: "b",
            timestamp: NOW - 5,
            message: "2",
        },
        AppendEvent {
            log_group: "other",
            log_stream: "a",
            timestamp: NOW,
            message: "3",
        },
    ];
    s.append(&evs, NOW).unwrap();
    let g = s.describe_log_groups(None, None, None, 50).unwrap();
    assert_eq!(
        g.items
            .iter()
            .map(|g| (g.name.as_str(), g.creation_time))
            .collect::<Vec<_>>(),
        [("AWSIotLogsV2", NOW), ("other", NOW)]
    );
    let got = filter_all(&s, "AWSIotLogsV2", FilterQuery::default());
    assert_eq!(
        got.iter()
            .map(|e| (e.log_stream_name.as_str(), e.message.as_str()))
            .collect::<Vec<_>>(),
        [("b", "2"), ("a", "1")]
    );
}

#[test]
fn pages_stay_within_one_megabyte() {
    let (_d, s) = open();
    s.create_log_group("g", NOW).unwrap();
    s.create_log_stream("g", "s", NOW).unwrap();
    let big = "y".repeat(200_000);
    for i in 0..4 {
        let batch: Vec<InputLogEvent> = (0..4).map(|j| ev(NOW + i * 4 + j, &big)).collect();
        s.put_log_events("g", "s", &batch, NOW).unwrap();
    }
    let mut q = FilterQuery {
        limit: 10_000,
        ..Default::default()
    };
    let mut total = 0;
    loop {
        let p = s.filter_log_events("g", &q).unwrap();
        let bytes: usize = p.events.iter().map(|e| e.message.len() + 26).sum();
        assert!(bytes <= 1_048_576 && !p.events.is_empty(), "{bytes}");
        total += p.events.len();
        match p.next_token {
            Some(t) => q.next_token = Some(t),
            None => break,
        }
    }
    assert_eq!(total, 16);
    let p = s
        .get_log_events(
            "g",
            "s",
            &GetEventsQuery {
                start_from_head: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(p.events.len(), 5);
    assert_eq!(p.events[0].timestamp, NOW);
}

/// FilterLogEvents searches a whole block for one literal (and reads JSON values at its
/// occurrences) before evaluating single messages: it must return exactly the events that
/// the pattern matches one by one, whatever the neighbours of a message in its block.
#[test]
fn block_search_returns_exactly_the_matching_events() {
    let (_d, s) = open();
    let messages = [
        r#"{"eventType":"Publish-In","clientId":"sensor-17","sourcePort":64001}"#,
        r#"{"eventType" : "Publish-In" , "clientId" :	"sensor-17", "sourcePort" : 6.5e4 }"#,
        r#"{"eventType":"Publish\u002dIn","clientId":"sensor\u002d17","sourcePort":64001}"#,
        r#"{"eventType":"Publish-In","clientId":"sensor-17","sourcePort":"64001"}"#,
        r#"{"eventType":"Publish-In","clientId":"sensor-170","sourcePort":64000}"#,
        r#"{"a":{"clientId":"sensor-17"},"eventType":"Publish-In","sourcePort":1}"#,
        r#"{"clientId":"sensor-1","sourcePort":1,"sourcePort":64002}"#,
        r#"{"note":"sourcePort","clientId":"sensor-17","sourcePort":6"#,
        r#"5000,"eventType":"Publish-In"}"#,
        r#"{"eventType":"Publish-In","clientId":"sensor"#,
        r#"-17","sourcePort":70000}"#,
        r#"{"sourcePort":640010e-1,"eventType":"Publish-Out","clientId":"sensor-17"}"#,
        "Publish-In sensor-17 sourcePort 64001",
        r#"{"eventType":"Publish-In","clientId":"sensor-17","sourcePort":-64001}"#,
    ];
    // Each message twice, in two streams, with different neighbours.
    let mut order: Vec<(usize, &str)> = messages.iter().map(|m| (0, *m)).collect();
    order.extend(messages.iter().rev().map(|m| (1, *m)));
    let streams = ["s0", "s1"];
    let evs: Vec<AppendEvent<'_>> = order
        .iter()
        .enumerate()
        .map(|(i, (st, m))| AppendEvent {
            log_group: "g",
            log_stream: streams[*st],
            timestamp: NOW + i as i64,
            message: m,
        })
        .collect();
    s.append(&evs, NOW).unwrap();
    let patterns = [
        r#"{ $.eventType = "Publish-In" && $.clientId = "sensor-17" }"#,
        "{ $.sourcePort > 64000 }",
        "{ $.sourcePort = 64001 }",
        r#"{ $.clientId = "sensor-1*" && $.sourcePort >= 64000 }"#,
        r#"{ $.eventType != "Publish-In" }"#,
        "Publish-In",
        "sensor-17",
    ];
    let mut total = 0;
    for pattern in patterns {
        let p = filter_pattern::parse(pattern).unwrap();
        let want: Vec<(String, &str)> = order
            .iter()
            .filter(|(_, m)| p.matches(m))
            .map(|(st, m)| (streams[*st].to_string(), *m))
            .collect();
        let got = filter_all(
            &s,
            "g",
            FilterQuery {
                pattern: Some(p),
                ..FilterQuery::default()
            },
        );
        let got: Vec<(String, &str)> = got
            .iter()
            .map(|e| (e.log_stream_name.clone(), e.message.as_str()))
            .collect();
        assert_eq!(got, want, "pattern {pattern}");
        total += got.len();
    }
    assert!(total > 20, "{total}");
}

/// Scans over megabytes of messages in blocks of a thousand events: pages, tokens and scan
/// budgets give every match once, in order, whatever the page size.
#[test]
fn long_scans_page_exactly() {
    let (_d, s) = open();
    let pad = "x".repeat(100);
    let n = 30_000usize;
    let messages: Vec<String> = (0..n)
        .map(|i| {
            let level = if i % 97 == 0 { "ERROR" } else { "INFO" };
            format!(r#"{{"i":{i},"level":"{level}","pad":"{pad}"}}"#)
        })
        .collect();
    for (c, chunk) in messages.chunks(5_000).enumerate() {
        let evs: Vec<AppendEvent<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(j, m)| {
                let i = c * 5_000 + j;
                AppendEvent {
                    log_group: "g",
                    log_stream: if i % 3 == 0 { "a" } else { "b" },
                    timestamp: NOW - 3_600_000 + i as i64,
                    message: m,
                }
            })
            .collect();
        s.append(&evs, NOW).unwrap();
    }
    let errors: Vec<&str> = messages
        .iter()
        .filter(|m| m.contains("ERROR"))
        .map(String::as_str)
        .collect();
    for (pattern, limit, budget) in [
        (r#"{ $.level = "ERROR" }"#, 10_000, usize::MAX),
        (r#"{ $.level = "ERROR" }"#, 250, usize::MAX),
        ("ERROR", 40, usize::MAX),
        (r#"{ $.level = "ERROR" }"#, 10_000, 12_000),
    ] {
        s.set_filter_scan_budget(budget);
        let mut q = FilterQuery {
            pattern: Some(filter_pattern::parse(pattern).unwrap()),
            limit,
            ..FilterQuery::default()
        };
        let mut got: Vec<String> = Vec::new();
        let mut pages = 0;
        loop {
            let p = s.filter_log_events("g", &q).unwrap();
            assert!(p.events.len() <= limit);
            got.extend(p.events.into_iter().map(|e| e.message));
            pages += 1;
            match p.next_token {
                Some(t) => q.next_token = Some(t),
                None => break,
            }
        }
        assert_eq!(got, errors, "{pattern} limit {limit} budget {budget}");
        assert!(pages > (errors.len() - 1) / limit, "{pages}");
    }
    // Without a pattern, the whole group in order.
    s.set_filter_scan_budget(usize::MAX);
    let all = filter_all(
        &s,
        "g",
        FilterQuery {
            limit: 10_000,
            ..FilterQuery::default()
        },
    );
    assert_eq!(all.len(), n);
    assert!(all.iter().zip(&messages).all(|(e, m)| e.message == *m));
}
