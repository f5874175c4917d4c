//! Crash durability: a child process appends, then aborts without `sync()`; everything whose
//! `append` returned Ok must be there after reopening.

use std::path::Path;
use std::process::Command;

use thingwatch_logstore::{AppendEvent, FilterQuery, LogStore, StoreOptions};

const CHILD_ENV: &str = "THINGWATCH_LOGSTORE_CRASH_CHILD_DIR";
const BATCHES: usize = 40;
const PER_BATCH: usize = 250;

fn child(dir: &Path) -> ! {
    // A long fsync interval: only the per-append OS flush can save the data.
    let store = LogStore::open(
        dir,
        StoreOptions {
            fsync_interval_ms: 600_000,
        },
    )
    .unwrap();
    for b in 0..BATCHES {
        let msgs: Vec<String> = (0..PER_BATCH)
            .map(|i| format!("event {}", b * PER_BATCH + i))
            .collect();
        let evs: Vec<AppendEvent<'_>> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| AppendEvent {
                log_group: "AWSIotLogsV2",
                log_stream: if i % 2 == 0 { "even" } else { "odd" },
                timestamp: 1_000_000 + (b * PER_BATCH + i) as i64,
                message: m,
            })
            .collect();
        store.append(&evs, 2_000_000).unwrap();
    }
    std::process::abort();
}

#[test]
fn appended_events_survive_process_abort() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "appended_events_survive_process_abort",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must die by abort");

    let store = LogStore::open(dir.path(), StoreOptions::default()).unwrap();
    let mut q = FilterQuery {
        limit: 10_000,
        ..Default::default()
    };
    let mut messages = Vec::new();
    loop {
        let p = store.filter_log_events("AWSIotLogsV2", &q).unwrap();
        messages.extend(p.events.into_iter().map(|e| e.message));
        match p.next_token {
            Some(t) => q.next_token = Some(t),
            None => break,
        }
    }
    let want: Vec<String> = (0..BATCHES * PER_BATCH)
        .map(|i| format!("event {i}"))
        .collect();
    assert_eq!(messages, want);
}
