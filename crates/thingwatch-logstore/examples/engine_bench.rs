//! Engine benchmark for the log store (ADR docs/decisions/0002-log-store-engine.md).
//!
//! Two modes over the same deterministic AWS IoT v2 log events (JSON, ~320 bytes each):
//!
//! - Default, the issue #6 comparison: for each size (1,000,000 events; also 10,000,000 with
//!   `BENCH_LOGSTORE_10M=1`, or `--sizes N[,N…]`), ingest into the store as the server opens it
//!   (`--runs` times, default 3), write the same events as raw JSONL, then time whole-group
//!   FilterLogEvents scans for a term pattern and two JSON patterns beside `grep -c` and
//!   `jq -c 'select(…)' | wc -l` with equivalent predicates, `--runs` times each, back to back.
//!   Prints a markdown section with medians, min/max, paired ratios and a check that the three
//!   counts agree (above 1M events jq runs once, on the selective JSON pattern only; `--jq-runs`
//!   overrides the count). `cargo run --release -p thingwatch-logstore --example engine_bench [-- --sizes
//!   1000000,10000000 --runs 3 --batch 1000]`.
//! - `--engines [N [BATCH]]`: the engine choice of ADR docs/decisions/0002-log-store-engine.md —
//!   fjall with zstd-1 / zstd-3 / lz4 blocks and SQLite: ingest events/s, bytes on disk per
//!   event vs raw JSON, full-scan and FilterLogEvents times, next to `grep -c` (defaults: N =
//!   1,000,000, BATCH = 1,000).
//!
//! - `--profile N REPEATS [PATTERN…]`: ingest N events into one fresh store, then run each
//!   pattern's whole-group FilterLogEvents scan REPEATS times (no grep/jq): a small in-process
//!   workload for `perf record` / `valgrind --tool=callgrind`. Without patterns it only ingests.
//!
//! Scratch data goes to `$TMPDIR/logstore-bench-*` and is removed at the end.

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

/// A seeded PRNG (fastrand's wyrand), so runs are comparable.
type Rng = fastrand::Rng;

struct Ev {
    stream: usize,
    ts: i64,
    json: String,
}

/// The store's view of a chunk of generated events (group `GROUP`, stream by index).
fn append_events<'a>(chunk: &'a [Ev], names: &'a [String]) -> Vec<AppendEvent<'a>> {
    chunk
        .iter()
        .map(|e| AppendEvent {
            log_group: GROUP,
            log_stream: &names[e.stream],
            timestamp: e.ts,
            message: &e.json,
        })
        .collect()
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

/// The deterministic event sequence: the same seed gives the same events in every run and
/// every mode, so the store and the JSONL file hold identical messages.
struct EventGen {
    rng: Rng,
    i: usize,
}

impl EventGen {
    fn new() -> Self {
        EventGen {
            rng: fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15),
            i: 0,
        }
    }
}

impl Iterator for EventGen {
    type Item = Ev;

    fn next(&mut self) -> Option<Ev> {
        let rng = &mut self.rng;
        let i = self.i;
        self.i += 1;
        let ts = BASE_MS + (i as i64) * 3;
        let client = rng.u64(..) % CLIENTS;
        let r = rng.u64(..);
        let trace = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            r as u32,
            (r >> 32) as u16,
            (r >> 48) & 0xfff,
            rng.u64(..) & 0xfff,
            rng.u64(..) & 0xffff_ffff_ffff
        );
        let port = 30_000 + rng.u64(..) % 35_000;
        let kind = rng.u64(..) % 100;
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
        Some(Ev {
            stream: (client as usize) % STREAMS,
            ts,
            json,
        })
    }
}

fn generate(n: usize) -> Vec<Ev> {
    EventGen::new().take(n).collect()
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

fn engines(mut args: impl Iterator<Item = String>) {
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

/// One scan of the comparison: the FilterLogEvents pattern and the `grep` and `jq` commands that
/// count the same lines of the JSONL file.
struct Compared {
    name: &'static str,
    pattern: &'static str,
    grep: &'static [&'static str],
    jq: &'static str,
}

/// The comparison scans: a term pattern and two JSON patterns, each with an equivalent `grep`
/// (fixed string or regex over the raw line) and `jq` filter (parsed JSON). Every run checks that
/// the three counts agree.
const COMPARED: [Compared; 3] = [
    Compared {
        name: "term `Publish-In`",
        pattern: "Publish-In",
        grep: &["-c", "-F", "Publish-In"],
        jq: r#"select(.eventType == "Publish-In")"#,
    },
    Compared {
        name: r#"JSON `{ $.eventType = "Publish-In" && $.clientId = "sensor-17" }`"#,
        pattern: r#"{ $.eventType = "Publish-In" && $.clientId = "sensor-17" }"#,
        grep: &[
            "-c",
            "-F",
            r#""eventType":"Publish-In","protocol":"MQTT","topicName":"dt/sensor-17/temp","clientId":"sensor-17""#,
        ],
        jq: r#"select(.eventType == "Publish-In" and .clientId == "sensor-17")"#,
    },
    Compared {
        name: "JSON `{ $.sourcePort > 64000 }`",
        pattern: "{ $.sourcePort > 64000 }",
        grep: &[
            "-c",
            "-E",
            r#""sourcePort":(640(0[1-9]|[1-9][0-9])|64[1-9][0-9]{2}|6[5-9][0-9]{3})[,}]"#,
        ],
        jq: "select(.sourcePort > 64000)",
    },
];

/// Median, minimum and maximum of `xs` (not empty).
fn mmm(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (med, v[0], v[n - 1])
}

/// `median [min–max]` with `digits` decimals.
fn cell(xs: &[f64], digits: usize) -> String {
    if xs.is_empty() {
        return "n/a".into();
    }
    let (m, lo, hi) = mmm(xs);
    if digits == 0 {
        return format!("{} [{}–{}]", thousands(m), thousands(lo), thousands(hi));
    }
    format!("{m:.digits$} [{lo:.digits$}–{hi:.digits$}]")
}

/// A ratio cell: `median× [min–max]`.
fn ratio(xs: &[f64], digits: usize) -> String {
    if xs.is_empty() {
        return "n/a".into();
    }
    let (m, lo, hi) = mmm(xs);
    format!("{m:.digits$}× [{lo:.digits$}–{hi:.digits$}]")
}

/// Thousands separators for a whole number.
fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

/// Runs `program args` (or `sh -c script`) and returns (count printed, wall s, CPU s of the
/// children).
fn timed_count(cmd: &mut Command) -> (u64, f64, f64) {
    let t = Instant::now();
    let c0 = children_cpu();
    let out = cmd.output();
    let wall = t.elapsed().as_secs_f64();
    let cpu = children_cpu() - c0;
    let count = out
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(u64::MAX);
    (count, wall, cpu)
}

/// Paginates FilterLogEvents over the whole group: (matches, wall s, thread CPU s).
fn tw_count(store: &LogStore, pattern: &str) -> (u64, f64, f64) {
    let pattern = match filter_pattern::parse(pattern) {
        Ok(p) => p,
        Err(e) => panic!("{pattern}: {e}"),
    };
    let t = Instant::now();
    let c0 = thread_cpu();
    let mut q = FilterQuery {
        pattern: Some(pattern),
        limit: 10_000,
        ..FilterQuery::default()
    };
    let mut matched = 0u64;
    loop {
        let page = match store.filter_log_events(GROUP, &q) {
            Ok(p) => p,
            Err(e) => panic!("filter: {e}"),
        };
        matched += page.events.len() as u64;
        match page.next_token {
            Some(tok) => q.next_token = Some(tok),
            None => break,
        }
    }
    (matched, t.elapsed().as_secs_f64(), thread_cpu() - c0)
}

/// The comparison at `n` events: ingest `runs` times into fresh stores (the chosen engine
/// configuration, as the server opens it), write the same events as JSONL once, then run every
/// scan `runs` times with FilterLogEvents, `grep -c` and `jq | wc -l` back to back. Prints a
/// markdown section.
fn compare(n: usize, runs: usize, jq_runs: Option<usize>, batch: usize, root: &Path) {
    // jq parses about 40,000 events/s here: above 1M events it runs once, on the selective JSON
    // pattern only, unless `--jq-runs` says otherwise.
    let big = n > 1_000_000;
    let jq_runs = jq_runs.unwrap_or(if big { 1 } else { runs });
    let dir = root.join(format!("compare-{n}"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("mkdir: {e}");
    }
    let jsonl = dir.join("events.jsonl");
    let names: Vec<String> = (0..STREAMS).map(|i| format!("iot-stream-{i:02}")).collect();
    let mut ingest_rate = Vec::new();
    let mut ingest_cpu_rate = Vec::new();
    let mut ingest_flush_rate = Vec::new();
    let mut raw = 0u64;
    let mut kept: Option<(LogStore, PathBuf)> = None;
    for run in 0..runs {
        if let Some((store, old)) = kept.take() {
            drop(store);
            let _ = std::fs::remove_dir_all(old);
        }
        let store_dir = dir.join(format!("store-{run}"));
        let store = match LogStore::open(&store_dir, StoreOptions::default()) {
            Ok(s) => s,
            Err(e) => panic!("open: {e}"),
        };
        let mut file = (run == 0).then(|| match std::fs::File::create(&jsonl) {
            Ok(f) => std::io::BufWriter::with_capacity(1 << 20, f),
            Err(e) => panic!("create: {e}"),
        });
        let mut gen_ = EventGen::new();
        let (mut wall, mut cpu) = (0.0f64, 0.0f64);
        let mut left = n;
        let mut chunk = Vec::with_capacity(batch);
        while left > 0 {
            chunk.clear();
            chunk.extend(gen_.by_ref().take(batch.min(left)));
            left -= chunk.len();
            if let Some(f) = file.as_mut() {
                for e in &chunk {
                    raw += e.json.len() as u64;
                    if let Err(err) = writeln!(f, "{}", e.json) {
                        panic!("write: {err}");
                    }
                }
            }
            let events = append_events(&chunk, &names);
            let now = chunk.last().map_or(BASE_MS, |e| e.ts);
            let t = Instant::now();
            let c0 = thread_cpu();
            if let Err(e) = store.append(&events, now) {
                panic!("append: {e}");
            }
            wall += t.elapsed().as_secs_f64();
            cpu += thread_cpu() - c0;
        }
        if let Some(mut f) = file.take()
            && let Err(e) = f.flush()
        {
            panic!("flush JSONL: {e}");
        }
        let t = Instant::now();
        if let Err(e) = store.flush_memtables().and_then(|_| store.sync()) {
            panic!("flush: {e}");
        }
        let flush = t.elapsed().as_secs_f64();
        ingest_rate.push(n as f64 / wall);
        ingest_cpu_rate.push(n as f64 / cpu.max(0.01));
        ingest_flush_rate.push(n as f64 / (wall + flush));
        eprintln!(
            "[engine_bench] {n}: ingest run {}/{runs}: {:.0} events/s",
            run + 1,
            n as f64 / wall
        );
        kept = Some((store, store_dir));
    }
    let Some((store, store_dir)) = kept else {
        return;
    };
    let on_disk = dir_size(&store_dir);
    let tables = dir_size(&store_dir.join("keyspaces"));
    let jsonl_bytes = std::fs::metadata(&jsonl).map(|m| m.len()).unwrap_or(0);
    store.set_filter_scan_budget(usize::MAX);
    let _ = Command::new("cat")
        .arg(&jsonl)
        .stdout(std::process::Stdio::null())
        .status(); // page cache
    println!(
        "\n### Log store at {} events ({runs} runs, median [min–max])\n",
        thousands(n as f64)
    );
    println!(
        "Raw JSON {:.1} bytes/event ({:.0} MB as JSONL); the store as `thingwatch serve` opens it (fjall, zstd-1 blocks), batches of {batch}, {STREAMS} streams.\n",
        raw as f64 / n as f64,
        jsonl_bytes as f64 / 1e6
    );
    println!("| measure | value |\n|---|---|");
    println!(
        "| ingest, events/s (wall time in `append`) | {} |",
        cell(&ingest_rate, 0)
    );
    println!(
        "| ingest, events per CPU-second of the appending thread | {} |",
        cell(&ingest_cpu_rate, 0)
    );
    println!(
        "| ingest including the final memtable flush + sync, events/s | {} |",
        cell(&ingest_flush_rate, 0)
    );
    println!(
        "| on disk after flush: tables, bytes/event (% of raw JSON) | {:.1} ({:.1} %) |",
        tables as f64 / n as f64,
        100.0 * tables as f64 / raw.max(1) as f64
    );
    println!(
        "| on disk after flush: tables + write-ahead journal, bytes/event (% of raw JSON) | {:.1} ({:.1} %) |",
        on_disk as f64 / n as f64,
        100.0 * on_disk as f64 / raw.max(1) as f64
    );
    println!(
        "\n| scan | matches | FilterLogEvents s | M events/s scanned | `grep -c` s | `jq` s | Thingwatch ÷ grep | jq ÷ Thingwatch |\n|---|---|---|---|---|---|---|---|"
    );
    for (k, c) in COMPARED.iter().enumerate() {
        let (mut tw, mut gr, mut jq, mut rate) = (vec![], vec![], vec![], vec![]);
        let (mut tw_grep, mut jq_tw) = (vec![], vec![]);
        let mut counts = std::collections::BTreeSet::new();
        let jq_here = if big && k != 1 { 0 } else { jq_runs };
        for run in 0..runs.max(jq_here) {
            let mut note = String::new();
            if run < runs {
                let (tc, tw_wall, _) = tw_count(&store, c.pattern);
                let (gc, gr_wall, _) = timed_count(Command::new("grep").args(c.grep).arg(&jsonl));
                counts.extend([tc, gc]);
                tw.push(tw_wall);
                gr.push(gr_wall);
                rate.push(n as f64 / tw_wall / 1e6);
                tw_grep.push(tw_wall / gr_wall);
                note = format!("Thingwatch {tc} in {tw_wall:.2} s, grep {gc} in {gr_wall:.2} s");
            }
            if run < jq_here {
                let script = format!("jq -c '{}' \"$1\" | wc -l", c.jq);
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(script).arg("sh").arg(&jsonl);
                let (jc, jq_wall, _) = timed_count(&mut cmd);
                counts.insert(jc);
                jq.push(jq_wall);
                if let Some(t) = tw.last() {
                    jq_tw.push(jq_wall / t);
                }
                note = format!("{note}, jq {jc} in {jq_wall:.2} s");
            }
            eprintln!("[engine_bench] {n}: {}: {note}", c.name);
        }
        let matches = if counts.len() == 1 {
            counts
                .first()
                .map_or(String::new(), |m| thousands(*m as f64))
        } else {
            format!("DISAGREE {counts:?}")
        };
        println!(
            "| {} | {matches} | {} | {} | {} | {} | {} | {} |",
            c.name,
            cell(&tw, 3),
            cell(&rate, 2),
            cell(&gr, 3),
            if jq.is_empty() {
                "not run".to_string()
            } else {
                format!(
                    "{}{}",
                    cell(&jq, 2),
                    if jq.len() < 3 {
                        format!(
                            " ({} run{})",
                            jq.len(),
                            if jq.len() == 1 { "" } else { "s" }
                        )
                    } else {
                        String::new()
                    }
                )
            },
            ratio(&tw_grep, 2),
            if jq_tw.is_empty() {
                "n/a".to_string()
            } else {
                ratio(&jq_tw, 1)
            }
        );
    }
    println!(
        "\nWall times of whole runs over the same events (JSONL in the page cache, store files as left by ingest). FilterLogEvents paginates the whole group 10,000 events per page in-process; `grep -c` and `jq -c FILTER | wc -l` run as processes. Ratios are per run (paired), then median [min–max]. Above 1M events `jq` (about 40k events/s) runs once, on the selective JSON pattern only. Targets: Thingwatch ÷ grep ≤ 3 for a JSON pattern, jq ÷ Thingwatch ≥ 10, ingest ≥ 500k events/s, on disk ≤ 25 % of raw."
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--profile N REPEATS [PATTERN…]`: ingest, then scan each pattern REPEATS times.
fn profile(mut args: impl Iterator<Item = String>, root: &Path) {
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let repeats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let patterns: Vec<String> = args.collect();
    let names: Vec<String> = (0..STREAMS).map(|i| format!("iot-stream-{i:02}")).collect();
    let store = match LogStore::open(&root.join("profile"), StoreOptions::default()) {
        Ok(s) => s,
        Err(e) => panic!("open: {e}"),
    };
    let mut gen_ = EventGen::new();
    let (mut left, mut wall) = (n, 0.0f64);
    while left > 0 {
        let chunk: Vec<Ev> = gen_.by_ref().take(left.min(1_000)).collect();
        left -= chunk.len();
        let events = append_events(&chunk, &names);
        let now = chunk.last().map_or(BASE_MS, |e| e.ts);
        let t = Instant::now();
        if let Err(e) = store.append(&events, now) {
            panic!("append: {e}");
        }
        wall += t.elapsed().as_secs_f64();
    }
    println!("ingest {n}: {:.0} events/s wall", n as f64 / wall);
    if let Err(e) = store.flush_memtables() {
        panic!("flush: {e}");
    }
    store.set_filter_scan_budget(usize::MAX);
    for p in &patterns {
        for _ in 0..repeats {
            let (count, wall, cpu) = tw_count(&store, p);
            println!("{p}: {count} matches, wall {wall:.3} s, thread CPU {cpu:.2} s");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--profile") {
        let root = std::env::temp_dir().join(format!("logstore-bench-{}", std::process::id()));
        profile(args.into_iter().skip(1), &root);
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    if args.first().is_some_and(|a| a == "--engines") {
        engines(args.into_iter().skip(1));
        return;
    }
    let mut sizes: Vec<usize> = vec![1_000_000];
    if std::env::var_os("BENCH_LOGSTORE_10M").is_some_and(|v| v == "1") {
        sizes.push(10_000_000);
    }
    let mut runs = 3usize;
    let mut jq_runs = None;
    let mut batch = 1_000usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> usize {
            match it.next().and_then(|v| v.replace('_', "").parse().ok()) {
                Some(v) if v > 0 => v,
                _ => panic!("{what} needs a positive number"),
            }
        };
        match a.as_str() {
            "--sizes" => {
                sizes = match it.next() {
                    Some(list) => list
                        .split(',')
                        .filter_map(|x| x.replace('_', "").parse().ok())
                        .filter(|&x| x > 0)
                        .collect(),
                    None => panic!("--sizes needs N[,N...]"),
                }
            }
            "--runs" => runs = num("--runs"),
            "--batch" => batch = num("--batch"),
            "--jq-runs" => jq_runs = Some(num("--jq-runs")),
            other => panic!("unknown argument {other} (see the file's doc comment)"),
        }
    }
    let root: PathBuf = std::env::temp_dir().join(format!("logstore-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&root) {
        panic!("mkdir: {e}");
    }
    let t = Instant::now();
    for n in sizes {
        compare(n, runs, jq_runs, batch, &root);
    }
    println!(
        "\n(log store comparison took {:.0} s)",
        t.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&root);
}
