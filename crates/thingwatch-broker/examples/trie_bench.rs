//! Benchmark matrix of the standalone topic-filter trie ([`thingwatch_broker::trie`], NATS
//! `sublist` style): match throughput for {1k, 100k} subscriptions × {literal, `+`, `#`}
//! filters × topic depth {2, 4, 8} (8 levels is AWS IoT's maximum).
//!
//! Run: `cargo run --release -p thingwatch-broker --example trie_bench` (optionally
//! `-- <millis per cell>`, default 300). Prints a Markdown table.
//!
//! Shapes (level `i` is the subscription's unique id, `r` a random id of an existing one, so
//! every topic matches exactly one filter):
//! - literal: filter `t/l1/…/i`, topic `t/l1/…/r`
//! - `+`:     filter `t/l1/…/+/i`, topic `t/l1/…/p/r`
//! - `#`:     filter `t/l1/…/i/#`, topic `t/l1/…/r/x`

use std::hint::black_box;
use std::time::{Duration, Instant};
use thingwatch_broker::trie::TopicTrie;

#[derive(Clone, Copy)]
enum Kind {
    Literal,
    Plus,
    Hash,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Literal => "literal",
            Kind::Plus => "`+`",
            Kind::Hash => "`#`",
        }
    }
}

/// The `depth - 2` fixed leading levels.
fn prefix(depth: usize) -> Vec<String> {
    (0..depth - 2)
        .map(|k| if k == 0 { "t".into() } else { format!("l{k}") })
        .collect()
}

fn filter(kind: Kind, depth: usize, i: u32) -> String {
    let mut l = prefix(depth);
    match kind {
        Kind::Literal => {
            l.push("m".into());
            l.push(i.to_string());
        }
        Kind::Plus => {
            l.push("+".into());
            l.push(i.to_string());
        }
        Kind::Hash => {
            l.push(i.to_string());
            l.push("#".into());
        }
    }
    l.join("/")
}

fn topic(kind: Kind, depth: usize, r: u32) -> String {
    let mut l = prefix(depth);
    match kind {
        Kind::Literal => {
            l.push("m".into());
            l.push(r.to_string());
        }
        Kind::Plus => {
            l.push("p".into());
            l.push(r.to_string());
        }
        Kind::Hash => {
            l.push(r.to_string());
            l.push("x".into());
        }
    }
    l.join("/")
}

fn main() {
    let budget = Duration::from_millis(
        std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(300),
    );
    println!("| subscriptions | filter | depth | inserts/s | matches/s | ns/match | hits/topic |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for subs in [1_000u32, 100_000] {
        for kind in [Kind::Literal, Kind::Plus, Kind::Hash] {
            for depth in [2usize, 4, 8] {
                let filters: Vec<String> = (0..subs).map(|i| filter(kind, depth, i)).collect();
                let mut trie: TopicTrie<u32, ()> = TopicTrie::new();
                let t0 = Instant::now();
                for (i, f) in filters.iter().enumerate() {
                    if trie.insert(f, i as u32, ()).is_err() {
                        eprintln!("invalid filter {f}");
                        return;
                    }
                }
                let insert_rate = f64::from(subs) / t0.elapsed().as_secs_f64();
                // Seeded (fastrand's wyrand), so runs are comparable.
                let mut rng = fastrand::Rng::with_seed(
                    0x9E37_79B9_7F4A_7C15 ^ u64::from(subs) ^ depth as u64,
                );
                let topics: Vec<String> = (0..4096)
                    .map(|_| topic(kind, depth, (rng.u64(..) % u64::from(subs)) as u32))
                    .collect();
                let mut n: u64 = 0;
                let mut hits: u64 = 0;
                let start = Instant::now();
                while start.elapsed() < budget {
                    for t in &topics {
                        trie.for_each_match(black_box(t), |k, _| {
                            black_box(k);
                            hits += 1;
                        });
                    }
                    n += topics.len() as u64;
                }
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "| {} | {} | {} | {:.2} M | {:.2} M | {:.0} | {:.2} |",
                    subs,
                    kind.name(),
                    depth,
                    insert_rate / 1e6,
                    n as f64 / secs / 1e6,
                    secs * 1e9 / n as f64,
                    hits as f64 / n as f64
                );
            }
        }
    }
}
