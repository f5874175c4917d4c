//! Device Shadow over MQTT under load: N clients (default 1,000), each updating its own classic
//! shadow `$aws/things/{prefix}-{i}/shadow/update` with a new `desired` value and waiting for
//! the `update/delta` it causes (one request in flight per client, as a device would).
//! Reports shadow updates/s (deltas received in the measured window) and the update → delta
//! latency p50/p99/p99.9, plus rejections (429 when a client exceeds AWS's 20 requests/s per
//! thing; none expected at the default pacing).
//!
//! Run against a server (see `scripts/shadow-bench.sh`, which starts the release binary):
//! `cargo run --release -p thingwatch-shadow --example shadow_mqtt_bench -- PORT [CLIENTS]
//! [SECONDS] [MAX_RATE_PER_CLIENT]`. Prints one JSON line.

use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Totals {
    updates: AtomicU64,
    rejected: AtomicU64,
    errors: AtomicU64,
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(port) = args.get(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!(
            "usage: shadow_mqtt_bench PORT [CLIENTS=1000] [SECONDS=10] [MAX_RATE_PER_CLIENT=20]"
        );
        std::process::exit(64);
    };
    let clients: usize = arg(&args, 2, 1000);
    let seconds: u64 = arg(&args, 3, 10);
    let max_rate: f64 = arg(&args, 4, 20.0);
    let warmup = Duration::from_secs(2);
    let prefix = format!("bench-{}", std::process::id());

    let totals = Arc::new(Totals::default());
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (lat_tx, mut lat_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(clients);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let thing = format!("{prefix}-{i}");
        let (totals, measuring, stop, lat_tx, ready_tx) = (
            totals.clone(),
            measuring.clone(),
            stop.clone(),
            lat_tx.clone(),
            ready_tx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut opts = MqttOptions::new(thing.clone(), "127.0.0.1", port);
            opts.set_keep_alive(Duration::from_secs(60));
            let (client, mut el) = AsyncClient::new(opts, 10);
            let base = format!("$aws/things/{thing}/shadow/update");
            for f in ["delta", "rejected"] {
                if client
                    .subscribe(format!("{base}/{f}"), QoS::AtLeastOnce)
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let mut subacks = 0;
            while subacks < 2 {
                match el.poll().await {
                    Ok(Event::Incoming(Incoming::SubAck(_))) => subacks += 1,
                    Ok(_) => {}
                    Err(_) => {
                        totals.errors.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            let _ = ready_tx.send(()).await;
            drop(ready_tx);
            let pace = Duration::from_secs_f64(1.0 / max_rate);
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = format!(r#"{{"state":{{"desired":{{"v":{n}}}}},"clientToken":"{n}"}}"#);
                let sent = Instant::now();
                if client
                    .publish(&base, QoS::AtLeastOnce, false, body.into_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
                // Wait for this update's delta (or its rejection).
                let want = format!("\"v\":{n}");
                let outcome = loop {
                    match tokio::time::timeout(Duration::from_secs(10), el.poll()).await {
                        Ok(Ok(Event::Incoming(Incoming::Publish(p)))) => {
                            if p.topic.ends_with("/rejected") {
                                break Some(false);
                            }
                            if std::str::from_utf8(&p.payload).is_ok_and(|s| s.contains(&want)) {
                                break Some(true);
                            }
                        }
                        Ok(Ok(_)) => {}
                        _ => break None,
                    }
                };
                match outcome {
                    Some(true) => {
                        if measuring.load(Ordering::Relaxed) {
                            totals.updates.fetch_add(1, Ordering::Relaxed);
                            let _ = lat_tx.send(sent.elapsed().as_micros() as u64);
                        }
                    }
                    Some(false) => {
                        totals.rejected.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        totals.errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                if let Some(rest) = pace.checked_sub(sent.elapsed()) {
                    tokio::time::sleep(rest).await;
                }
            }
            let _ = client.disconnect().await;
            let _ = tokio::time::timeout(Duration::from_secs(1), el.poll()).await;
        }));
    }
    drop(lat_tx);
    drop(ready_tx);
    let connect_started = Instant::now();
    let mut ready = 0;
    while ready < clients {
        match tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await {
            Ok(Some(())) => ready += 1,
            _ => break,
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    tokio::time::sleep(warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let collector = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(us) = lat_rx.recv().await {
            v.push(us);
        }
        v
    });
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
    }
    let mut lat = collector.await.unwrap_or_default();
    lat.sort_unstable();
    let pct = |q: f64| -> u64 {
        if lat.is_empty() {
            0
        } else {
            lat[((lat.len() - 1) as f64 * q).round() as usize]
        }
    };
    let updates = totals.updates.load(Ordering::Relaxed);
    println!(
        "{{\"clients\":{clients},\"connected\":{ready},\"connect_s\":{connect_secs:.2},\"seconds\":{elapsed:.2},\"max_rate_per_client\":{max_rate},\"updates\":{updates},\"updates_per_s\":{:.0},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{},\"rejected\":{},\"errors\":{}}}",
        updates as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        totals.rejected.load(Ordering::Relaxed),
        totals.errors.load(Ordering::Relaxed),
    );
}
