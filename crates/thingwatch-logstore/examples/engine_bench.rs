//! Engine benchmark for the log store (ADR docs/decisions/0002-log-store-engine.md).
//!
//! Appends N realistic AWS IoT v2 log events (JSON, ~300 bytes) in batches through several
//! engine configurations and reports ingest events/s, bytes on disk per event vs raw JSON, and
//! full-scan / FilterLogEvents times, next to `grep -c` over the same events as JSONL.
//!
//! Run: `cargo run --release -p thingwatch-logstore --example engine_bench [-- N [BATCH]]`
//! (defaults: N = 1,000,000, BATCH = 1,000). Scratch data goes to `$TMPDIR/logstore-bench-*`
//! and is removed at the end.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use thingwatch_logstore::{
    AppendEvent, Codec, FilterQuery, LogStore, StoreOptions, Tuning, filter_pattern,
};

const GROUP: &str = "AWSIotLogsV2";
const STREAMS: usize = 16;
const CLIENTS: u64 = 500;
const BASE_MS: i64 = 1_795_255_200_000; // 2026-11-21 10:00:00 UTC

/// Small deterministic PRNG (xorshift64*), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

struct Ev {
    stream: usize,
    ts: i64,
    json: String,
}

fn clock(ms: i64) -> String {
    let day_ms = ms.rem_euclid(86_400_000);
    let (h, m, s, milli) = (
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000,
    );
    format!("2026-11-21 {h:02}:{m:02}:{s:02}.{milli:03}")
}

fn generate(n: usize) -> Vec<Ev> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let ts = BASE_MS + (i as i64) * 3;
        let client = rng.next() % CLIENTS;
        let r = rng.next();
        let trace = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            r as u32,
            (r >> 32) as u16,
            (r >> 48) & 0xfff,
            rng.next() & 0xfff,
            rng.next() & 0xffff_ffff_ffff
        );
        let port = 30_000 + rng.next() % 35_000;
        let kind = rng.next() % 100;
        let json = match kind {
            0..=44 => format!(
                r#"{{"timestamp":"{}","logLevel":"INFO","traceId":"{trace}","accountId":"123456789012","status":"Success","eventType":"Publish-In","protocol":"MQTT","topicName":"dt/sensor-{client}/temp","clientId":"sensor-{client}","principalId":"anonymous","sourceIp":"10.0.{}.{}","sourcePort":{port}}}"#,
                clock(ts),
                client / 250,
                client % 250
            ),
            45..=84 => format!(
                r#"{{"timestamp":"{}","logLevel":"INFO","traceId":"{trace}","accountId":"123456789012","status":"Success","eventType":"Publish-Out","protocol":"MQTT","topicName":"cmd/sensor-{client}/set","clientId":"sensor-{client}","principalId":"anonymous","sourceIp":"10.0.{}.{}","sourcePort":{port}}}"#,
                clock(ts),
                client / 250,
                client % 250
            ),
            85..=92 => format!(
                r#"{{"timestamp":"{}","logLevel":"INFO","traceId":"{trace}","accountId":"123456789012","status":"Success","eventType":"Subscribe","protocol":"MQTT","topicName":"cmd/sensor-{client}/#","clientId":"sensor-{client}","principalId":"anonymous","sourceIp":"10.0.{}.{}","sourcePort":{port}}}"#,
                clock(ts),
                client / 250,
                client % 250
            ),
            93..=97 => format!(
                r#"{{"timestamp":"{}","logLevel":"INFO","traceId":"{trace}","accountId":"123456789012","status":"Success","eventType":"Connect","protocol":"MQTT","clientId":"sensor-{client}","principalId":"anonymous","sourceIp":"10.0.{}.{}","sourcePort":{port}}}"#,
                clock(ts),
                client / 250,
                client % 250
            ),
            _ => format!(
                r#"{{"timestamp":"{}","logLevel":"ERROR","traceId":"{trace}","accountId":"123456789012","status":"Failure","eventType":"Disconnect","protocol":"MQTT","clientId":"sensor-{client}","principalId":"anonymous","sourceIp":"10.0.{}.{}","sourcePort":{port},"reason":"CONNECTION_LOST","details":"Connection lost: keep-alive timeout","disconnectReason":"MQTT_KEEP_ALIVE_TIMEOUT"}}"#,
                clock(ts),
                client / 250,
                client % 250
            ),
        };
        out.push(Ev {
            stream: (client as usize) % STREAMS,
            ts,
            json,
        });
    }
    out
}

/// CPU seconds (user + system) from a `/proc/.../stat` file: fields 14+15 (own) or 16+17
/// (waited-for children). Wall time is noisy on a shared 2-core machine; CPU time is not.
fn cpu_secs(path: &str, children: bool) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime is field 14 overall = index 11 here.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field N is at index N - 3.
    let (a, b) = if children {
        (16 - 3, 17 - 3)
    } else {
        (14 - 3, 15 - 3)
    };
    let get = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    // Clock ticks are 100 Hz on Linux.
    (get(a) + get(b)) as f64 / 100.0
}

fn thread_cpu() -> f64 {
    cpu_secs("/proc/thread-self/stat", false)
}

fn process_cpu() -> f64 {
    cpu_secs("/proc/self/stat", false)
}

fn children_cpu() -> f64 {
    cpu_secs("/proc/self/stat", true)
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

struct Scan {
    name: &'static str,
    pattern: &'static str,
    grep: Vec<&'static str>,
}

fn scans() -> Vec<Scan> {
    vec![
        Scan {
            name: "term, common (Publish-In)",
            pattern: "Publish-In",
            grep: vec!["-c", "-F", "Publish-In"],
        },
        Scan {
            name: "term, rare (MQTT_KEEP_ALIVE_TIMEOUT sensor-17\")",
            pattern: "MQTT_KEEP_ALIVE_TIMEOUT \"sensor-17\\\"\"",
            grep: vec![
                "-c",
                "-E",
                "MQTT_KEEP_ALIVE_TIMEOUT.*sensor-17\"|sensor-17\".*MQTT_KEEP_ALIVE_TIMEOUT",
            ],
        },
        Scan {
            name: "JSON, eventType && clientId",
            pattern: r#"{ $.eventType = "Publish-In" && $.clientId = "sensor-17" }"#,
            grep: vec![
                "-c",
                "-F",
                r#""eventType":"Publish-In","protocol":"MQTT","topicName":"dt/sensor-17/temp","clientId":"sensor-17""#,
            ],
        },
        Scan {
            name: "JSON, numeric (no literal pre-check)",
            pattern: r#"{ $.sourcePort > 64000 }"#,
            grep: vec![
                "-c",
                "-E",
                r#""sourcePort":(64[0-9]{3}|6[5-9][0-9]{3})[,}]"#,
            ],
        },
    ]
}

fn bench_store(label: &str, tuning: Tuning, events: &[Ev], batch: usize, raw: u64, root: &Path) {
    let dir = root.join(label.replace([' ', ','], "_"));
    let store = match LogStore::open_tuned(&dir, StoreOptions::default(), tuning) {
        Ok(s) => s,
        Err(e) => panic!("open: {e}"),
    };
    let names: Vec<String> = (0..STREAMS).map(|i| format!("iot-stream-{i:02}")).collect();
    let t = Instant::now();
    let (c0, p0) = (thread_cpu(), process_cpu());
    let mut buf = Vec::with_capacity(batch);
    for chunk in events.chunks(batch) {
        buf.clear();
        buf.extend(chunk.iter().map(|e| AppendEvent {
            log_group: GROUP,
            log_stream: &names[e.stream],
            timestamp: e.ts,
            message: &e.json,
        }));
        let now = chunk.last().map_or(BASE_MS, |e| e.ts);
        if let Err(e) = store.append(&buf, now) {
            panic!("append: {e}");
        }
    }
    let ingest = t.elapsed();
    let (c1, p1) = (thread_cpu(), process_cpu());
    let journal_size = dir_size(&dir);
    let t = Instant::now();
    if let Err(e) = store.flush_memtables().and_then(|_| store.sync()) {
        panic!("flush: {e}");
    }
    let flush = t.elapsed();
    let size = dir_size(&dir);
    let tables = dir_size(&dir.join("keyspaces"));
    println!(
        "\n## {label}\ningest: {:.0} events/s wall ({:.2} s; flush to tables {:.2} s); \
         {:.0} events per CPU-second of the appending thread ({:.2} s), process CPU {:.2} s\n\
         on disk right after ingest (journal + tables): {:.1} B/event ({:.1}% of raw)\n\
         on disk after memtable flush: {:.1} B/event = {:.1}% of raw JSON\n\
         of which tables (keyspaces/): {:.1} B/event = {:.1}% of raw JSON",
        events.len() as f64 / ingest.as_secs_f64(),
        ingest.as_secs_f64(),
        flush.as_secs_f64(),
        events.len() as f64 / (c1 - c0).max(0.01),
        c1 - c0,
        p1 - p0,
        journal_size as f64 / events.len() as f64,
        100.0 * journal_size as f64 / raw as f64,
        size as f64 / events.len() as f64,
        100.0 * size as f64 / raw as f64,
        tables as f64 / events.len() as f64,
        100.0 * tables as f64 / raw as f64,
    );
    if std::env::var_os("BENCH_LS").is_some() {
        let _ = Command::new("du").arg("-ab").arg(&dir).status();
    }
    store.set_filter_scan_budget(usize::MAX);
    let scan_only = std::env::var("BENCH_SCAN").ok();
    for s in std::iter::once(None).chain(scans().into_iter().map(Some)) {
        if let Some(o) = &scan_only
            && !s.as_ref().is_some_and(|s| s.name.contains(o.as_str()))
        {
            continue;
        }
        let (name, pattern) = match &s {
            None => ("full scan, no pattern (limit 10000 pages)", None),
            Some(s) => (s.name, Some(s.pattern)),
        };
        let pattern = pattern.map(|p| match filter_pattern::parse(p) {
            Ok(p) => p,
            Err(e) => panic!("{p}: {e}"),
        });
        let t = Instant::now();
        let c0 = thread_cpu();
        let mut q = FilterQuery {
            pattern,
            limit: 10_000,
            ..FilterQuery::default()
        };
        let mut matched = 0usize;
        let mut pages = 0usize;
        loop {
            let page = match store.filter_log_events(GROUP, &q) {
                Ok(p) => p,
                Err(e) => panic!("filter: {e}"),
            };
            matched += page.events.len();
            pages += 1;
            match page.next_token {
                Some(tok) => q.next_token = Some(tok),
                None => break,
            }
        }
        let el = t.elapsed();
        let cpu = (thread_cpu() - c0).max(0.01);
        println!(
            "FilterLogEvents {name}: {matched} matches, {pages} pages, wall {:.3} s, CPU {cpu:.2} s = {:.0} events scanned per CPU-s",
            el.as_secs_f64(),
            events.len() as f64 / cpu
        );
    }
    drop(store);
}

fn bench_sqlite(events: &[Ev], batch: usize, raw: u64, root: &Path) {
    let path = root.join("sqlite.db");
    let conn = match rusqlite::Connection::open(&path) {
        Ok(c) => c,
        Err(e) => panic!("sqlite open: {e}"),
    };
    let setup = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
        CREATE TABLE events(gid INTEGER NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
            sid INTEGER NOT NULL, ingest INTEGER NOT NULL, msg TEXT NOT NULL,
            PRIMARY KEY(gid, ts, seq)) WITHOUT ROWID;
        CREATE INDEX events_stream ON events(gid, sid, ts, seq);";
    if let Err(e) = conn.execute_batch(setup) {
        panic!("sqlite setup: {e}");
    }
    let t = Instant::now();
    let p0 = process_cpu();
    let mut seq = 0i64;
    for chunk in events.chunks(batch) {
        let tx = match conn.unchecked_transaction() {
            Ok(t) => t,
            Err(e) => panic!("tx: {e}"),
        };
        {
            let mut st = match tx.prepare_cached(
                "INSERT INTO events(gid, ts, seq, sid, ingest, msg) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            ) {
                Ok(s) => s,
                Err(e) => panic!("prepare: {e}"),
            };
            for e in chunk {
                seq += 1;
                if let Err(err) =
                    st.execute(rusqlite::params![e.ts, seq, e.stream as i64, e.ts, e.json])
                {
                    panic!("insert: {err}");
                }
            }
        }
        if let Err(e) = tx.commit() {
            panic!("commit: {e}");
        }
    }
    let ingest = t.elapsed();
    let ingest_cpu = process_cpu() - p0;
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    let size = sqlite_files_size(root);
    println!(
        "\n## SQLite (rusqlite bundled, WAL, synchronous=NORMAL, WITHOUT ROWID + stream index)\n\
         ingest: {:.0} events/s wall ({:.2} s), {:.0} events per CPU-s ({:.2} s)\n\
         on disk: {:.1} B/event = {:.1}% of raw JSON",
        events.len() as f64 / ingest.as_secs_f64(),
        ingest.as_secs_f64(),
        events.len() as f64 / ingest_cpu.max(0.01),
        ingest_cpu,
        size as f64 / events.len() as f64,
        100.0 * size as f64 / raw as f64
    );
    let finder = memchr::memmem::Finder::new(b"Publish-In");
    let t = Instant::now();
    let c0 = thread_cpu();
    let mut st =
        match conn.prepare("SELECT ts, seq, sid, msg FROM events WHERE gid = 1 ORDER BY ts, seq") {
            Ok(s) => s,
            Err(e) => panic!("prepare: {e}"),
        };
    let mut rows = match st.query([]) {
        Ok(r) => r,
        Err(e) => panic!("query: {e}"),
    };
    let mut matched = 0usize;
    while let Ok(Some(row)) = rows.next() {
        if let Ok(rusqlite::types::ValueRef::Text(m)) = row.get_ref(3)
            && finder.find(m).is_some()
        {
            matched += 1;
        }
    }
    let el = t.elapsed();
    let cpu = (thread_cpu() - c0).max(0.01);
    println!(
        "full scan in key order + term Publish-In: {matched} matches, wall {:.3} s, CPU {cpu:.2} s = {:.0} events per CPU-s",
        el.as_secs_f64(),
        events.len() as f64 / cpu
    );
}

/// Total size of `sqlite.db*` (database, WAL, shared-memory) files in `root`.
fn sqlite_files_size(root: &Path) -> u64 {
    std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("sqlite.db"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let root: PathBuf = std::env::temp_dir().join(format!("logstore-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&root) {
        panic!("mkdir: {e}");
    }
    println!(
        "# log store engine benchmark: {n} events, batches of {batch}, {STREAMS} streams, {CLIENTS} clients"
    );
    let events = generate(n);
    let jsonl = root.join("events.jsonl");
    let raw: u64 = events.iter().map(|e| e.json.len() as u64).sum();
    {
        let mut f = match std::fs::File::create(&jsonl) {
            Ok(f) => std::io::BufWriter::new(f),
            Err(e) => panic!("create: {e}"),
        };
        for e in &events {
            let _ = writeln!(f, "{}", e.json);
        }
    }
    println!(
        "raw JSON: {raw} bytes, {:.1} bytes/event (JSONL file {} bytes)",
        raw as f64 / n as f64,
        std::fs::metadata(&jsonl).map(|m| m.len()).unwrap_or(0)
    );
    println!("\n## grep -c over the JSONL (file in page cache; best of 3)");
    let _ = std::fs::read(&jsonl); // warm the page cache
    for s in scans() {
        let mut best = f64::MAX;
        let mut best_cpu = f64::MAX;
        let mut out = String::new();
        for _ in 0..3 {
            let t = Instant::now();
            let c0 = children_cpu();
            let o = Command::new("grep").args(&s.grep).arg(&jsonl).output();
            best = best.min(t.elapsed().as_secs_f64());
            best_cpu = best_cpu.min(children_cpu() - c0);
            if let Ok(o) = o {
                out = String::from_utf8_lossy(&o.stdout).trim().to_string();
            }
        }
        println!(
            "grep {:?}: count {out}, wall {best:.3} s, CPU {best_cpu:.2} s   [{}]",
            s.grep, s.name
        );
    }

    let configs = [
        (
            "fjall + zstd-1 blocks (chosen)",
            Tuning {
                codec: Codec::Zstd(1),
            },
        ),
        (
            "fjall + zstd-3 blocks",
            Tuning {
                codec: Codec::Zstd(3),
            },
        ),
        ("fjall + lz4 blocks", Tuning { codec: Codec::Lz4 }),
    ];
    let only: Option<String> = std::env::var("BENCH_ONLY").ok();
    for (label, tuning) in configs {
        if only.as_deref().is_some_and(|o| !label.contains(o)) {
            continue;
        }
        bench_store(label, tuning, &events, batch, raw, &root);
    }
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        bench_sqlite(&events, batch, raw, &root);
    }
    let _ = std::fs::remove_dir_all(&root);
}
