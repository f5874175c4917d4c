//! Metric store benchmark: load M metrics × D days of 1-minute points, then time
//! statistics reads the way GetMetricData issues them (one query per metric).
//!
//! `cargo run --release -p thingwatch-metrics --example metrics_bench -- [METRICS] [DAYS]`
//! (defaults 1000 and 15). Prints load rate, read latencies per period, the database size
//! and resident memory per series.

use std::time::Instant;

use thingwatch_metrics::{Datum, MetricId, MetricStore, StatQuery, Values};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let metrics: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let days: i64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path()).unwrap();
    let now = thingwatch_events::now_ms() / 60_000 * 60_000;
    let start = now - days * 86_400_000 + 3_600_000;
    let ids: Vec<MetricId> = (0..metrics)
        .map(|i| {
            MetricId::new(
                "Bench",
                format!("M{}", i % 10),
                vec![("Thing".into(), format!("thing-{i}"))],
            )
        })
        .collect();
    let rss0 = rss_kib();
    let t = Instant::now();
    let mut points = 0u64;
    for (i, id) in ids.iter().enumerate() {
        let data: Vec<Datum> = (0..days * 1440 - 60)
            .map(|k| Datum {
                metric: id.clone(),
                timestamp_ms: start + k * 60_000,
                values: Values::Single(((k + i as i64) % 100) as f64),
                unit: "Count".into(),
                storage_resolution: 60,
            })
            .collect();
        points += data.len() as u64;
        store.put(&data, now).unwrap();
    }
    let load = t.elapsed();
    let rss1 = rss_kib();
    let db = std::fs::metadata(dir.path().join("metrics.db"))
        .map(|m| m.len())
        .unwrap_or(0)
        + std::fs::metadata(dir.path().join("metrics.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "load: {metrics} metrics x {days} days = {points} points in {:.1} s ({:.0} points/s); db {:.1} MiB ({:.0} bytes/point); RSS +{} KiB ({:.2} KiB/series)",
        load.as_secs_f64(),
        points as f64 / load.as_secs_f64(),
        db as f64 / 1_048_576.0,
        db as f64 / points as f64,
        rss1.saturating_sub(rss0),
        rss1.saturating_sub(rss0) as f64 / metrics as f64
    );
    for (label, from, period, percentiles) in [
        ("15 d @ 1 h", now - days * 86_400_000, 3600, false),
        ("1 d @ 5 min", now - 86_400_000, 300, false),
        ("1 d @ 1 min", now - 86_400_000, 60, false),
        ("3 h @ 1 min p99", now - 3 * 3_600_000, 60, true),
    ] {
        let t = Instant::now();
        let mut returned = 0usize;
        for id in &ids {
            let q = StatQuery {
                metric: id.clone(),
                start_ms: from,
                end_ms: now,
                period_s: period,
                unit: None,
                percentiles,
            };
            returned += store.statistics(&q, now).unwrap().len();
        }
        let e = t.elapsed();
        println!(
            "read {label}: {metrics} metrics, {returned} datapoints in {:.0} ms ({:.2} ms per metric)",
            e.as_secs_f64() * 1000.0,
            e.as_secs_f64() * 1000.0 / metrics as f64
        );
    }
}
