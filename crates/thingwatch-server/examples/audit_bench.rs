//! API calls per second with the audit trail recording vs not (BENCHMARKS.md, "Audit
//! trail"): the whole server in process, 16 concurrent SigV4 clients over loopback HTTP,
//! alternating rounds of each setting so that the machine's noise hits both alike.
//!
//! Two workloads: `CreateThing` (a write: its record has request and response elements) and
//! `DescribeThing` (a read).
//!
//! `cargo run --release -p thingwatch-server --example audit_bench [SECONDS_PER_ROUND] [ROUNDS] [on|off]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use thingwatch_server::{Server, ServerConfig};
use thingwatch_test_support::aws::{AwsClient, Credentials, Request};

const CLIENTS: usize = 16;

/// This process's CPU time (user + system) in seconds, from `/proc/self/stat` (Linux; 0
/// elsewhere). Clients and server share the process: the difference between the settings
/// is the audit trail's.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Calls per second and CPU microseconds per call.
async fn round(audit: bool, write: bool, seconds: f64, round_no: usize) -> (f64, f64) {
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
    let cpu0 = cpu_seconds();
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
    if audit {
        server.audit().flush();
        let s = server.audit().stats();
        assert_eq!(s.dropped, 0, "nothing dropped at this rate");
    }
    let calls = done.load(Ordering::Relaxed) as f64;
    let cpu_us = (cpu_seconds() - cpu0) * 1e6 / calls;
    server.stop().await.unwrap();
    (calls / seconds, cpu_us)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5.0);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    // `on` or `off` runs one setting only (for a profiler); default both.
    let only = args.next();
    println!("| workload | audit off calls/s | audit on calls/s | on/off | CPU µs/call off | on |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, write) in [
        ("CreateThing (write)", true),
        ("DescribeThing (read)", false),
    ] {
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            if only.as_deref() != Some("on") {
                off.push(round(false, write, seconds, r).await);
            }
            if only.as_deref() != Some("off") {
                on.push(round(true, write, seconds, r).await);
            }
        }
        if off.is_empty() || on.is_empty() {
            println!("| {name} | {off:?} | {on:?} | |");
            continue;
        }
        let median = |v: &mut Vec<(f64, f64)>| {
            let mut rates: Vec<f64> = v.iter().map(|x| x.0).collect();
            let mut cpus: Vec<f64> = v.iter().map(|x| x.1).collect();
            rates.sort_by(f64::total_cmp);
            cpus.sort_by(f64::total_cmp);
            (rates[rates.len() / 2], cpus[cpus.len() / 2])
        };
        let ((off, off_cpu), (on, on_cpu)) = (median(&mut off), median(&mut on));
        println!(
            "| {name} | {off:.0} | {on:.0} | {:.1} % | {off_cpu:.0} | {on_cpu:.0} |",
            on / off * 100.0
        );
    }
}
