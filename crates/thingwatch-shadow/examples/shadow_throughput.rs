//! Measures in-process UpdateThingShadow throughput of [`ShadowService`] (no MQTT, no HTTP):
//! `W` threads, each updating its own classic shadow `N` times with a `reported` change
//! that differs from `desired` (so every update also builds a `delta`), then one shadow
//! shared by all threads. Prints updates/s and latency percentiles.
//!
//! `cargo run --release -p thingwatch-shadow --example shadow_throughput -- [W] [N]`
//! (defaults 8 threads × 2,000 updates). Uses a temporary data directory.

use std::time::{Instant, SystemTime, UNIX_EPOCH};
use thingwatch_shadow::{ShadowLimits, ShadowService};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn run(svc: &ShadowService, workers: usize, per_worker: usize, shared: bool) {
    let started = Instant::now();
    let mut latencies: Vec<u128> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    let thing = if shared {
                        "shared".to_string()
                    } else {
                        format!("device-{w}")
                    };
                    let mut lat = Vec::with_capacity(per_worker);
                    for i in 0..per_worker {
                        let body = format!(
                            r#"{{"state":{{"desired":{{"target":{}}},"reported":{{"temp":{i},"w{w}":{i}}}}},"clientToken":"c-{w}-{i}"}}"#,
                            i + 1
                        );
                        let t = Instant::now();
                        if let Err(e) = svc.update(&thing, None, body.as_bytes(), now_ms()) {
                            eprintln!("update failed: {e}");
                            return lat;
                        }
                        lat.push(t.elapsed().as_micros());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let idx = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(idx).copied().unwrap_or(0)
    };
    println!(
        "{} shadow(s), {workers} threads x {per_worker}: {} updates in {:.2?} = {:.0} updates/s; latency p50 {} us, p99 {} us, max {} us",
        if shared { "1 shared" } else { "per-thread" },
        latencies.len(),
        elapsed,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or(0),
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let workers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(8);
    let per_worker: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2_000);
    let dir = std::env::temp_dir().join(format!("shadow-throughput-{}", std::process::id()));
    let svc = ShadowService::open(&dir, ShadowLimits::default())?;
    run(&svc, workers, per_worker, false);
    run(&svc, workers, per_worker, true);
    drop(svc);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
