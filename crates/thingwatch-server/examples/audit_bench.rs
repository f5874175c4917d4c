//! API calls per second with the audit trail recording vs not (BENCHMARKS.md, "Audit
//! trail"): the whole server in process, 16 concurrent SigV4 clients over loopback HTTP,
//! alternating rounds of each setting so that the machine's noise hits both alike.
//!
//! Two workloads: `CreateThing` (a write: its record has request and response elements) and
//! `DescribeThing` (a read).
//!
//! `cargo run --release -p thingwatch-server --example audit_bench [SECONDS_PER_ROUND] [ROUNDS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use thingwatch_server::{Server, ServerConfig};
use thingwatch_test_support::aws::{AwsClient, Credentials, Request};

const CLIENTS: usize = 16;

async fn round(audit: bool, write: bool, seconds: f64, round_no: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::loopback(dir.path());
    config.audit = audit;
    config.initial_logging = thingwatch_server::InitialLogging::Unconfigured;
    let server = Server::start(config).await.unwrap();
    let client = AwsClient::new(
        server.http_addr,
        Credentials::new(
            &server.credentials.access_key_id,
            &server.credentials.secret_access_key,
        ),
    );
    if !write {
        let r = client
            .send(Request::rest_json("iot", "POST", "/things/probe", None))
            .await;
        assert_eq!(r.status, 200);
    }
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = client.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let request = if write {
                    Request::rest_json(
                        "iot",
                        "POST",
                        &format!("/things/r{round_no}-c{c}-{i}"),
                        None,
                    )
                } else {
                    Request::rest_json("iot", "GET", "/things/probe", None)
                };
                let r = client.send(request).await;
                assert_eq!(r.status, 200, "{}", r.text());
                i += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / seconds;
    if audit {
        server.audit().flush();
        let s = server.audit().stats();
        assert_eq!(s.dropped, 0, "nothing dropped at this rate");
    }
    server.stop().await.unwrap();
    rate
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5.0);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    println!("| workload | audit off calls/s | audit on calls/s | on/off |");
    println!("|---|---:|---:|---:|");
    for (name, write) in [
        ("CreateThing (write)", true),
        ("DescribeThing (read)", false),
    ] {
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            off.push(round(false, write, seconds, r).await);
            on.push(round(true, write, seconds, r).await);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (off, on) = (median(&mut off), median(&mut on));
        println!(
            "| {name} | {off:.0} | {on:.0} | {:.1} % |",
            on / off * 100.0
        );
    }
}
