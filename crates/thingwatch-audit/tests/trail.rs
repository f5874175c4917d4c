//! The audit trail end to end below HTTP: records in, LookupEvents out (newest first, paged,
//! by attribute), a full queue recorded as a gap, and `verify` naming every kind of
//! tampering done to the SQLite file with SQLite itself.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use thingwatch_audit::integrity::{self, DigestKey, Problem};
use thingwatch_audit::store::{Store, chain_next};
use thingwatch_audit::{
    Audit, AuditSettings, Identity, IdentityType, Lookup, LookupAttribute, ManagementCall,
};
use thingwatch_aws::Scope;

fn scope() -> Scope {
    Scope::new("123456789012", "us-east-1")
}

fn call(op: &str, thing: &str, at_ms: i64) -> ManagementCall {
    ManagementCall {
        request_id: format!("req-{op}-{thing}"),
        event_time_ms: at_ms,
        source_ip: Some("127.0.0.1".into()),
        user_agent: Some("test".into()),
        service: "iot".into(),
        region: "us-east-1".into(),
        operation: op.into(),
        identity: Identity {
            kind: IdentityType::Root,
            principal_id: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:root".into(),
            account_id: "123456789012".into(),
            access_key_id: "AKIDROOT".into(),
            user_name: "root".into(),
            session_issuer: None,
        },
        request_parameters: Some(serde_json::json!({ "thingName": thing })),
        response_elements: None,
        error: None,
    }
}

fn open(dir: &std::path::Path, capacity: usize) -> Audit {
    Audit::open(
        dir,
        AuditSettings {
            queue_capacity: capacity,
            ..AuditSettings::new(scope())
        },
        None,
        None,
    )
    .unwrap()
}

const T0: i64 = 1_796_000_000_000;

#[test]
fn lookup_is_newest_first_paged_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let audit = open(dir.path(), 100);
    for i in 0..7 {
        let op = if i % 2 == 0 {
            "CreateThing"
        } else {
            "DescribeThing"
        };
        audit.record(call(op, &format!("t{i}"), T0 + i * 1000));
    }
    audit.flush();
    let page1 = audit
        .lookup(&Lookup {
            limit: 3,
            ..Default::default()
        })
        .unwrap();
    let names: Vec<_> = page1.iter().map(|r| r.resources[0].1.clone()).collect();
    assert_eq!(names, ["t6", "t5", "t4"]);
    let last = page1.last().unwrap();
    let page2 = audit
        .lookup(&Lookup {
            limit: 10,
            after: Some((last.event_time_ms, last.seq)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page2.len(), 4);
    assert_eq!(page2[0].resources[0].1, "t3");
    let creates = audit
        .lookup(&Lookup {
            attribute: Some(LookupAttribute::EventName("CreateThing".into())),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(creates.len(), 4);
    let reads = audit
        .lookup(&Lookup {
            attribute: Some(LookupAttribute::ReadOnly(true)),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert!(reads.iter().all(|r| r.event_name == "DescribeThing"));
    assert_eq!(reads.len(), 3);
    let by_name = audit
        .lookup(&Lookup {
            attribute: Some(LookupAttribute::ResourceName("t2".into())),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].event_time_ms, T0 + 2000);
    let window = audit
        .lookup(&Lookup {
            start_ms: Some(T0 + 1000),
            end_ms: Some(T0 + 3000),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(window.len(), 3);
    audit.stop();
}

#[test]
fn a_full_queue_answers_drops_and_records_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let audit = open(dir.path(), 2);
    audit.flush(); // the writer is past its start-up and waits for calls
    let stall = audit.stall_writer();
    audit.record(call("CreateThing", "first", T0));
    // Wait until the writer took the first call and stalls on the store.
    let deadline = Instant::now() + Duration::from_secs(5);
    while audit.stats().queue_depth != 0 {
        assert!(Instant::now() < deadline, "the writer never took the call");
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 0..10 {
        audit.record(call("CreateThing", &format!("t{i}"), T0 + 1 + i));
    }
    assert_eq!(audit.stats().dropped, 8, "two fit the queue");
    drop(stall);
    audit.flush();
    let all = audit
        .lookup(&Lookup {
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    let gap: Vec<_> = all
        .iter()
        .filter(|r| r.event_name == "AuditRecordsDropped")
        .collect();
    assert_eq!(gap.len(), 1, "{all:?}");
    let v: serde_json::Value = serde_json::from_str(&gap[0].json).unwrap();
    assert_eq!(v["serviceEventDetails"]["droppedRecords"], 8);
    assert_eq!(v["eventType"], "AwsServiceEvent");
    assert_eq!(
        all.len(),
        1 + 2 + 1,
        "the first call, the two queued, the gap"
    );
    audit.stop();
    assert!(verify_at(dir.path()).is_intact());
}

/// Writes 8 records: 5 sealed by digest 1, 3 after it; returns the store path.
fn history(dir: &std::path::Path) -> std::path::PathBuf {
    let audit = open(dir, 100);
    for i in 0..5 {
        audit.record(call("CreateThing", &format!("t{i}"), T0 + i));
    }
    audit.flush();
    let d = audit.seal_now().unwrap();
    assert_eq!((d.number, d.first_seq, d.last_seq), (1, 1, 5));
    for i in 5..8 {
        audit.record(call("CreateThing", &format!("t{i}"), T0 + i));
    }
    audit.stop(); // seals 6..=8 as digest 2
    dir.join("audit.db")
}

fn verify_at(dir: &std::path::Path) -> integrity::VerifyReport {
    let key = DigestKey::load_or_create(dir).unwrap();
    let store = Store::open(dir).unwrap();
    integrity::verify(&store, key.public_key(), None, None).unwrap()
}

fn verify(dir: &std::path::Path) -> Vec<Problem> {
    verify_at(dir).problems
}

#[test]
fn verify_passes_an_untouched_history() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path());
    let report = verify_at(dir.path());
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records_checked, 8);
    assert_eq!(report.digests_checked, 2);
}

#[test]
fn verify_names_an_altered_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = history(dir.path());
    let c = Connection::open(&db).unwrap();
    let id: String = c
        .query_row("SELECT event_id FROM records WHERE seq = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    c.execute(
        "UPDATE records SET record = replace(record, '\"t2\"', '\"t9\"') WHERE seq = 3",
        [],
    )
    .unwrap();
    drop(c);
    let problems = verify(dir.path());
    assert_eq!(
        problems[0],
        Problem::Altered {
            seq: 3,
            event_id: id
        },
        "{problems:?}"
    );
}

#[test]
fn verify_names_a_removed_record_and_a_removed_tail() {
    let dir = tempfile::tempdir().unwrap();
    let db = history(dir.path());
    let c = Connection::open(&db).unwrap();
    c.execute("DELETE FROM records WHERE seq = 4", []).unwrap();
    c.execute("DELETE FROM records WHERE seq >= 7", []).unwrap();
    drop(c);
    let problems = verify(dir.path());
    assert!(
        problems.contains(&Problem::Missing { from: 4, to: 4 }),
        "{problems:?}"
    );
    assert!(
        problems.contains(&Problem::Missing { from: 7, to: 8 }),
        "{problems:?}"
    );
}

#[test]
fn verify_catches_a_rewritten_chain_at_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let db = history(dir.path());
    let c = Connection::open(&db).unwrap();
    // Alter record 2 and recompute every chain value after it, as an attacker who knows the
    // algorithm (but not the signing key) would.
    c.execute(
        "UPDATE records SET record = replace(record, '\"t1\"', '\"tX\"') WHERE seq = 2",
        [],
    )
    .unwrap();
    let mut prev: Vec<u8> = c
        .query_row("SELECT chain FROM records WHERE seq = 1", [], |r| r.get(0))
        .unwrap();
    for seq in 2..=8i64 {
        let record: String = c
            .query_row("SELECT record FROM records WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .unwrap();
        let next = chain_next(&prev, seq, record.as_bytes());
        c.execute(
            "UPDATE records SET chain = ?1 WHERE seq = ?2",
            rusqlite::params![&next[..], seq],
        )
        .unwrap();
        prev = next.to_vec();
    }
    drop(c);
    let problems = verify(dir.path());
    assert_eq!(
        problems,
        vec![Problem::DigestMismatch {
            number: 1,
            first_seq: 1,
            last_seq: 5
        },],
        "digest 2 is judged from digest 1's signed value and still matches"
    );
}

#[test]
fn verify_refuses_digests_of_another_key_and_a_swapped_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = history(dir.path());
    let other = tempfile::tempdir().unwrap();
    let key = DigestKey::load_or_create(other.path()).unwrap();
    let report = thingwatch_audit::verify_dir(dir.path().parent().unwrap(), None, None, None);
    assert!(report.is_err(), "the parent is not a data directory");
    let store = Store::open(dir.path()).unwrap();
    let r = integrity::verify(&store, key.public_key(), None, None).unwrap();
    assert!(
        r.problems
            .iter()
            .all(|p| matches!(p, Problem::BadDigest { .. })),
        "{:?}",
        r.problems
    );
    assert_eq!(r.problems.len(), 2);
    drop(store);
    // Swap two records' contents (a reordering).
    let c = Connection::open(&db).unwrap();
    let a: String = c
        .query_row("SELECT record FROM records WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    let b: String = c
        .query_row("SELECT record FROM records WHERE seq = 3", [], |r| r.get(0))
        .unwrap();
    c.execute("UPDATE records SET record = ?1 WHERE seq = 2", [&b])
        .unwrap();
    c.execute("UPDATE records SET record = ?1 WHERE seq = 3", [&a])
        .unwrap();
    drop(c);
    let problems = verify(dir.path());
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Altered { seq: 2, .. })),
        "{problems:?}"
    );
}

#[test]
fn retention_prunes_whole_digest_ranges_and_verification_still_passes() {
    let dir = tempfile::tempdir().unwrap();
    let key = DigestKey::load_or_create(dir.path()).unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let scope = scope();
    let old = T0 - 100 * 24 * 3600 * 1000;
    let built = |i: i64, at: i64| {
        thingwatch_audit::record::build(
            call("CreateThing", &format!("t{i}"), at),
            format!("e{i}"),
            &scope,
        )
    };
    store
        .append(&(0..3).map(|i| built(i, old + i)).collect::<Vec<_>>())
        .unwrap();
    integrity::seal(&store, &key, old + 3_600_000).unwrap();
    store
        .append(&(3..5).map(|i| built(i, T0 + i)).collect::<Vec<_>>())
        .unwrap();
    integrity::seal(&store, &key, T0 + 3_600_000).unwrap();
    assert_eq!(store.prune(T0 - 90 * 24 * 3600 * 1000).unwrap(), 3);
    assert_eq!(store.seq_range().unwrap(), Some((4, 5)));
    let r = integrity::verify(&store, key.public_key(), None, None).unwrap();
    assert!(r.is_intact(), "{:?}", r.problems);
    assert_eq!(r.records_checked, 2);
}
