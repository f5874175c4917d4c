//! Authorization read-side benchmark: 1,000 certificates with 10 policies attached each
//! (the AWS per-target maximum), one thing per certificate in a 3-deep thing-group hierarchy
//! with a policy on every level. Measures what the broker pays per (re)authorization:
//! `effective_policies` (direct + inherited), `principal_things`, `thing_attributes`, and the
//! write latency of AttachPolicy / AttachThingPrincipal while building the fixture.
//!
//! Run: `cargo run --release -p thingwatch-registry --example authorization_bench`

use std::time::{Duration, Instant};
use thingwatch_events::{Logger, LoggerSettings, LoggingConfig, MemorySink, PipelineConfig};
use thingwatch_registry::{Registry, RegistrySettings, ThingGroupProperties, ThingPrincipalType};

const CERTS: usize = 1_000;
const POLICIES_PER_CERT: usize = 10;
const POLICIES: usize = 50;
const LOOKUPS: usize = 100_000;

fn cert_arn(i: usize) -> String {
    format!("arn:aws:iot:us-east-1:123456789012:cert/{i:064x}")
}

fn policy(i: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"arn:aws:iot:us-east-1:123456789012:topic/p{i}/${{iot:Connection.Thing.ThingName}}/*"}},{{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${{iot:ClientId}}"}}]}}"#
    )
}

fn per_op(total: Duration, n: usize) -> String {
    format!("{:.0} ns", total.as_nanos() as f64 / n as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::default(),
        Box::new(MemorySink::new()),
    );
    let r = Registry::open(
        dir.path(),
        RegistrySettings::default(),
        logger.clone(),
        LoggingConfig::default(),
    )?;
    for i in 0..POLICIES {
        r.create_policy(&format!("p{i}"), &policy(i), i as i64)?;
    }
    let props = ThingGroupProperties::default;
    r.create_thing_group("root", None, props(), 0)?;
    r.create_thing_group("mid", Some("root"), props(), 0)?;
    r.create_thing_group("leaf", Some("mid"), props(), 0)?;
    for (i, g) in ["root", "mid", "leaf"].iter().enumerate() {
        r.attach_policy(&format!("p{}", POLICIES - 1 - i), &r.thing_group_arn(g))?;
    }
    let mut attach = Duration::ZERO;
    let mut principal = Duration::ZERO;
    for c in 0..CERTS {
        let arn = cert_arn(c);
        for k in 0..POLICIES_PER_CERT {
            let t = Instant::now();
            r.attach_policy(&format!("p{}", (c + k) % (POLICIES - 3)), &arn)?;
            attach += t.elapsed();
        }
        let thing = format!("dev{c}");
        r.create_thing(&thing, Default::default(), 0)?;
        r.add_thing_to_thing_group(&thing, "leaf")?;
        let t = Instant::now();
        r.attach_thing_principal(&thing, &arn, ThingPrincipalType::Exclusive)?;
        principal += t.elapsed();
    }
    println!(
        "fixture: {CERTS} certificates x {POLICIES_PER_CERT} policies, 3-level group hierarchy"
    );
    println!(
        "AttachPolicy (committed, WAL): {} per call",
        per_op(attach, CERTS * POLICIES_PER_CERT)
    );
    println!(
        "AttachThingPrincipal (committed, WAL): {} per call",
        per_op(principal, CERTS)
    );

    let mut total = 0usize;
    let t = Instant::now();
    for i in 0..LOOKUPS {
        let c = i % CERTS;
        total += r
            .effective_policies(&cert_arn(c), Some(&format!("dev{c}")))
            .len();
    }
    let e = t.elapsed();
    assert_eq!(total, LOOKUPS * (POLICIES_PER_CERT + 3));
    println!(
        "effective_policies (10 direct + 3 inherited): {} per call",
        per_op(e, LOOKUPS)
    );
    let t = Instant::now();
    for i in 0..LOOKUPS {
        total += r.principal_things(&cert_arn(i % CERTS)).len();
    }
    println!(
        "principal_things: {} per call",
        per_op(t.elapsed(), LOOKUPS)
    );
    let n = LOOKUPS / 10;
    let t = Instant::now();
    for i in 0..n {
        total += r
            .thing_attributes(&format!("dev{}", i % CERTS))
            .map_or(0, |(_, a)| a.len());
    }
    println!(
        "thing_attributes (SQLite read): {} per call",
        per_op(t.elapsed(), n)
    );
    println!("security epoch after the fixture: {}", r.security_epoch());
    std::hint::black_box(total);
    logger.shutdown();
    Ok(())
}
