//! LookupEvents latency over a large event history (BENCHMARKS.md, "Audit trail").
//!
//! Writes N records (default 1,000,000) the way the writer does (batches of 500, chained),
//! then times LookupEvents' first page (50 records) for each kind of query, the deep paging
//! cost, and `verify` over the whole history.
//!
//! `cargo run --release -p thingwatch-audit --example lookup_bench [N]`

use std::time::Instant;

use thingwatch_audit::integrity::{self, DigestKey};
use thingwatch_audit::record::{self, Identity, IdentityType, ManagementCall};
use thingwatch_audit::store::Store;
use thingwatch_audit::{Lookup, LookupAttribute};
use thingwatch_aws::Scope;

const OPS: &[&str] = &[
    "CreateThing",
    "DescribeThing",
    "UpdateThing",
    "ListThings",
    "AttachPolicy",
    "CreatePolicy",
    "GetPolicy",
    "CreateKeysAndCertificate",
    "UpdateCertificate",
    "CreateTopicRule",
    "GetTopicRule",
    "CreateLogGroup",
    "DescribeLogGroups",
    "PutMetricAlarm",
    "DescribeAlarms",
    "CreateUser",
    "GetUser",
    "SetV2LoggingLevel",
    "ListV2LoggingLevels",
    "DeleteThing",
];

fn call(i: u64, t0: i64) -> ManagementCall {
    let user = ["root", "alice", "bob", "carol", "ci-bot"][(i % 5) as usize];
    ManagementCall {
        request_id: format!("{i:08x}-0000-4000-8000-000000000000"),
        event_time_ms: t0 + i as i64 * 5,
        source_ip: Some("127.0.0.1".into()),
        user_agent: Some("aws-cli/2.22.0 Python/3.12.6 Linux/6.8 exe/x86_64".into()),
        service: "iot".into(),
        region: "us-east-1".into(),
        operation: OPS[(i % OPS.len() as u64) as usize].into(),
        identity: Identity {
            kind: if user == "root" {
                IdentityType::Root
            } else {
                IdentityType::IamUser
            },
            principal_id: "AIDAEXAMPLEEXAMPLE123".into(),
            arn: format!("arn:aws:iam::123456789012:user/{user}"),
            account_id: "123456789012".into(),
            access_key_id: format!("AKIA{user:0>16}"),
            user_name: user.into(),
            session_issuer: None,
        },
        request_parameters: Some(
            serde_json::json!({ "thingName": format!("thing-{}", i % 10_000) }),
        ),
        response_elements: None,
        error: None,
    }
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let mut v: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)])
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::new("123456789012", "us-east-1");
    let key = DigestKey::load_or_create(dir.path()).unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let t0 = 1_796_000_000_000i64;
    let started = Instant::now();
    let mut i = 0u64;
    while i < n {
        let batch: Vec<_> = (i..(i + 500).min(n))
            .map(|j| record::build(call(j, t0), format!("{j:016x}-e"), &scope))
            .collect();
        store.append(&batch).unwrap();
        i += 500;
        if i.is_multiple_of(100_000) {
            integrity::seal(&store, &key, t0 + i as i64 * 5).unwrap();
        }
    }
    integrity::seal(&store, &key, t0 + n as i64 * 5 + 1).unwrap();
    let write_s = started.elapsed().as_secs_f64();
    let size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "wrote {n} records in {write_s:.1} s ({:.0} records/s, batches of 500), store {:.0} MiB ({:.0} B/record)",
        n as f64 / write_s,
        size as f64 / 1048576.0,
        size as f64 / n as f64
    );
    let page = |attribute: Option<LookupAttribute>| Lookup {
        attribute,
        limit: 51,
        ..Default::default()
    };
    let queries: Vec<(&str, Lookup)> = vec![
        ("no attribute (newest 50)", page(None)),
        (
            "EventName = CreateThing (1 in 20)",
            page(Some(LookupAttribute::EventName("CreateThing".into()))),
        ),
        (
            "EventName = NoSuchCall (no match)",
            page(Some(LookupAttribute::EventName("NoSuchCall".into()))),
        ),
        (
            "Username = alice (1 in 5)",
            page(Some(LookupAttribute::Username("alice".into()))),
        ),
        (
            "ReadOnly = true",
            page(Some(LookupAttribute::ReadOnly(true))),
        ),
        (
            "ResourceName = thing-4242 (1 in 10,000)",
            page(Some(LookupAttribute::ResourceName("thing-4242".into()))),
        ),
        (
            "ResourceType = AWS::IoT::Thing (all)",
            page(Some(LookupAttribute::ResourceType(
                "AWS::IoT::Thing".into(),
            ))),
        ),
        (
            "time window in the middle (1 h)",
            Lookup {
                start_ms: Some(t0 + n as i64 * 5 / 2),
                end_ms: Some(t0 + n as i64 * 5 / 2 + 3_600_000),
                limit: 51,
                ..Default::default()
            },
        ),
    ];
    println!("| query | median ms | p99 ms | rows |");
    println!("|---|---:|---:|---:|");
    for (name, q) in &queries {
        let rows = store.lookup(q).unwrap().len().min(50);
        let (p50, p99) = time(50, || store.lookup(q).unwrap());
        println!("| {name} | {p50:.2} | {p99:.2} | {rows} |");
    }
    // Deep paging: the 200th page of 50 (10,000 records back) by following tokens.
    let started = Instant::now();
    let mut after = None;
    for _ in 0..200 {
        let rows = store
            .lookup(&Lookup {
                limit: 50,
                after,
                ..Default::default()
            })
            .unwrap();
        let last = rows.last().unwrap();
        after = Some((last.event_time_ms, last.seq));
    }
    println!(
        "| 200 pages of 50 followed by token | {:.2} per page | | 50 |",
        started.elapsed().as_secs_f64() * 1e3 / 200.0
    );
    let started = Instant::now();
    let report = integrity::verify(&store, key.public_key(), None, None).unwrap();
    assert!(report.is_intact());
    println!(
        "verify: {} records, {} digests in {:.1} s",
        report.records_checked,
        report.digests_checked,
        started.elapsed().as_secs_f64()
    );
    drop(store);
    drop(dir);
}
