//! Persistence of retained messages and persistent sessions (subscriptions, queued QoS 1
//! messages, session expiry, MQTT version) in `<data_dir>/broker.sqlite3`, opened by
//! [`thingwatch_sqlite::open`]: WAL verified, `synchronous=NORMAL` (a committed transaction is
//! in the WAL, i.e. reached the OS: it survives `kill -9`; only an OS crash can lose the last
//! commits), busy timeout, foreign keys (ADR 0006).
//!
//! Writes never run on the async hot path: callers hand [`Op`]s to one dedicated writer thread
//! that applies everything queued so far in one transaction (group commit). A caller that must
//! not acknowledge before the write is durable (PUBACK of a retained or queued message) waits
//! on the ticket returned by [`Store::submit_durable`].
//!
//! **Queue policy.** The writer's queue, `broker-store`, holds at most
//! [`STORE_QUEUE_CAPACITY`] submissions and **blocks** the submitter when full (backpressure):
//! its writes are retained messages and the QoS 1 copies of persistent sessions, which MQTT
//! does not allow to be dropped. Submitters run on tokio worker threads, where blocking is
//! acceptable only because it is rare and short: the queue is large, the writer empties it a
//! whole transaction at a time, and a full queue means the disk is behind, when waiting is the
//! right answer. Every wait is counted ([`StoreQueueStats`], in `Broker::stats`).
//!
//! Of a message's MQTT 5 properties only the Message Expiry deadline is persisted (column
//! `expires_at`, epoch milliseconds); the others (content type, payload format, response topic,
//! correlation data, user properties) are kept in memory only, so a retained or queued
//! message reloaded after a restart is delivered without them (a known gap).

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::TrySendError;
use thingwatch_sqlite::{Migration, Schema};

/// The database file inside the broker's data directory.
pub const DB_FILE: &str = "broker.sqlite3";

/// Most operations applied in one transaction.
const MAX_OPS_PER_COMMIT: usize = 4096;

/// The name of the writer's queue (the writer thread has the same name).
pub const STORE_QUEUE_NAME: &str = "broker-store";

/// Capacity of the `broker-store` queue, in submissions ([`Store::submit`] and
/// [`Store::submit_durable`] calls; nearly all carry one [`Op`]). That is 16 full
/// transactions of `MAX_OPS_PER_COMMIT` (4,096), so the writer always finds a whole batch
/// while submitters rarely wait; when it is full they block until the writer has taken
/// the next batch (the queue's policy, see the module documentation).
pub const STORE_QUEUE_CAPACITY: usize = 65_536;

/// Counters of the `broker-store` queue (in `BrokerStats::store_queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreQueueStats {
    /// The queue's name: [`STORE_QUEUE_NAME`].
    pub name: &'static str,
    /// Its capacity, submissions ([`STORE_QUEUE_CAPACITY`]).
    pub capacity: usize,
    /// Submissions that found the queue full and waited for room (none is ever dropped).
    pub waits: u64,
    /// Total time submitters spent waiting for room, microseconds.
    pub wait_us: u64,
}

impl Default for StoreQueueStats {
    fn default() -> StoreQueueStats {
        StoreQueueStats {
            name: STORE_QUEUE_NAME,
            capacity: STORE_QUEUE_CAPACITY,
            waits: 0,
            wait_us: 0,
        }
    }
}

/// A storage error (opening or loading; writer-thread errors are logged and counted).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("broker store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// [`thingwatch_sqlite::open`] refused `broker.sqlite3` (e.g. a newer schema version).
    #[error("broker store: {0}")]
    Open(#[from] thingwatch_sqlite::OpenError),
    /// The writer thread could not be started.
    #[error("broker store: {0}")]
    Io(#[from] std::io::Error),
}

/// One write.
#[derive(Debug)]
pub enum Op {
    /// Insert or replace the retained message of a topic. `expires_at`: the MQTT 5 message
    /// expiry deadline, epoch milliseconds (`None` = never).
    PutRetained {
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        expires_at: Option<i64>,
    },
    /// Delete the retained message of a topic.
    DelRetained { topic: String },
    /// Insert or replace a persistent session row. `version` is the MQTT protocol level the
    /// session was created with (4 = 3.1.1, 5 = 5.0): AWS IoT does not carry persistent
    /// sessions over between versions, so a resume checks it.
    PutSession {
        client_id: String,
        expiry_secs: u32,
        disconnected_at: Option<i64>,
        version: u8,
    },
    /// Delete a session with its subscriptions and queued messages.
    DelSession { client_id: String },
    /// Insert or replace a subscription (`flags`: bit 0 no-local, bit 1 retain-as-published).
    PutSub {
        client_id: String,
        filter: String,
        qos: u8,
        flags: u8,
    },
    /// Delete a subscription.
    DelSub { client_id: String, filter: String },
    /// Store a QoS 1 message for a session. `expires_at` as in [`Op::PutRetained`].
    PutMsg {
        id: i64,
        client_id: String,
        topic: String,
        payload: Vec<u8>,
        retain: bool,
        expires_at: Option<i64>,
    },
    /// Delete a stored message (acknowledged).
    DelMsg { id: i64 },
}

enum Cmd {
    Ops(Vec<Op>, Option<tokio::sync::oneshot::Sender<()>>),
    Stop,
}

/// A session as stored.
#[derive(Debug, Default)]
pub struct LoadedSession {
    /// Client ID.
    pub client_id: String,
    /// Expiry after disconnect, seconds.
    pub expiry_secs: u32,
    /// Disconnect time, epoch milliseconds (`None` if the process stopped while it was connected).
    pub disconnected_at: Option<i64>,
    /// MQTT protocol level the session was created with (4 = 3.1.1, 5 = 5.0; rows written
    /// before the column existed read as 4).
    pub version: u8,
    /// `(filter, qos, flags)`.
    pub subs: Vec<(String, u8, u8)>,
    /// `(id, topic, payload, retain, expires_at)`, oldest first; `expires_at` is the MQTT 5
    /// message expiry deadline in epoch milliseconds.
    pub msgs: Vec<StoredMsg>,
}

/// A stored session message: `(id, topic, payload, retain, expires_at)` (epoch milliseconds).
pub type StoredMsg = (i64, String, Vec<u8>, bool, Option<i64>);

/// A stored retained message: `(topic, payload, qos, expires_at)` (epoch milliseconds).
pub type StoredRetained = (String, Vec<u8>, u8, Option<i64>);

/// Everything loaded at start.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Retained messages.
    pub retained: Vec<StoredRetained>,
    /// Persistent sessions.
    pub sessions: Vec<LoadedSession>,
}

/// Handle to the writer thread.
pub struct Store {
    tx: crossbeam_channel::Sender<Cmd>,
    capacity: usize,
    waits: AtomicU64,
    wait_us: AtomicU64,
    next_msg_id: AtomicI64,
    thread: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The broker store's schema. Version 1 is the tables as released before `user_version`,
/// created if missing and given the columns added since ([`ADDED_COLUMNS`]), so every earlier
/// file upgrades in place.
const SCHEMA: Schema = Schema::new(DB_FILE, &[Migration::Code(schema_v1)]);

fn schema_v1(tx: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
    tx.execute_batch(SCHEMA_V1)?;
    add_missing_columns(tx)
}

/// Columns added after the first schema: `(table, column, declaration)`, added by
/// [`add_missing_columns`] to databases created before them.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("sessions", "version", "INTEGER NOT NULL DEFAULT 4"),
    ("retained", "expires_at", "INTEGER"),
    ("messages", "expires_at", "INTEGER"),
];

/// Adds the [`ADDED_COLUMNS`] a database lacks.
fn add_missing_columns(conn: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
    for (table, column, decl) in ADDED_COLUMNS {
        let names: Vec<String> = {
            let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
            st.query_map([], |r| r.get::<_, String>(1))?
                .collect::<Result<_, _>>()?
        };
        if !names.iter().any(|n| n == column) {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
        }
    }
    Ok(())
}

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL, expires_at INTEGER);
CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY, expiry_secs INTEGER NOT NULL, disconnected_at INTEGER, version INTEGER NOT NULL DEFAULT 4);
CREATE TABLE IF NOT EXISTS subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, flags INTEGER NOT NULL, PRIMARY KEY (client_id, filter));
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, retain INTEGER NOT NULL, expires_at INTEGER);
CREATE INDEX IF NOT EXISTS messages_client ON messages (client_id, id);
";

impl Store {
    /// Opens (creating) the database in `dir`, loads its contents and starts the writer thread.
    ///
    /// # Errors
    /// [`StoreError`] if the database cannot be opened, migrated or read.
    pub fn open(dir: &Path) -> Result<(Store, Loaded), StoreError> {
        Store::open_with_capacity(dir, STORE_QUEUE_CAPACITY)
    }

    /// [`Store::open`] with a queue of `capacity` submissions (at least 1; tests use tiny ones).
    fn open_with_capacity(dir: &Path, capacity: usize) -> Result<(Store, Loaded), StoreError> {
        let conn = thingwatch_sqlite::open(&dir.join(DB_FILE), &SCHEMA)?;
        let loaded = load(&conn)?;
        let max_id: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) FROM messages", [], |r| {
            r.get(0)
        })?;
        let capacity = capacity.max(1);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let thread = std::thread::Builder::new()
            .name(STORE_QUEUE_NAME.into())
            .spawn(move || writer(conn, rx))?;
        Ok((
            Store {
                tx,
                capacity,
                waits: AtomicU64::new(0),
                wait_us: AtomicU64::new(0),
                next_msg_id: AtomicI64::new(max_id + 1),
                thread: parking_lot::Mutex::new(Some(thread)),
            },
            loaded,
        ))
    }

    /// A fresh id for [`Op::PutMsg`].
    pub fn next_msg_id(&self) -> i64 {
        self.next_msg_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues writes; returns at once unless the queue is full, then waits for room (counted
    /// in [`Store::queue_stats`]).
    pub fn submit(&self, ops: Vec<Op>) {
        if !ops.is_empty() {
            self.send(Cmd::Ops(ops, None));
        }
    }

    /// Queues writes (waiting for room like [`Store::submit`]); the returned receiver
    /// completes once they are committed to the WAL (it errors if the writer is gone, which
    /// callers treat as a server error).
    pub fn submit_durable(&self, ops: Vec<Op>) -> tokio::sync::oneshot::Receiver<()> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.send(Cmd::Ops(ops, Some(done)));
        wait
    }

    /// Counters of the `broker-store` queue.
    pub fn queue_stats(&self) -> StoreQueueStats {
        StoreQueueStats {
            name: STORE_QUEUE_NAME,
            capacity: self.capacity,
            waits: self.waits.load(Ordering::Relaxed),
            wait_us: self.wait_us.load(Ordering::Relaxed),
        }
    }

    /// Hands `cmd` to the writer, blocking while the queue is full (the queue's policy: these
    /// writes must not be lost). A gone writer drops it: durable callers see their ticket fail.
    fn send(&self, cmd: Cmd) {
        let cmd = match self.tx.try_send(cmd) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => return,
            Err(TrySendError::Full(cmd)) => cmd,
        };
        // Counted before blocking, so a stalled writer shows in the stats while it lasts.
        self.waits.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let _ = self.tx.send(cmd);
        let waited = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.wait_us.fetch_add(waited, Ordering::Relaxed);
    }

    /// Applies what is queued and stops the writer thread (idempotent).
    pub fn close(&self) {
        self.send(Cmd::Stop);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn load(conn: &rusqlite::Connection) -> Result<Loaded, rusqlite::Error> {
    let mut loaded = Loaded::default();
    let mut st = conn.prepare("SELECT topic, payload, qos, expires_at FROM retained")?;
    loaded.retained = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut st =
        conn.prepare("SELECT client_id, expiry_secs, disconnected_at, version FROM sessions")?;
    let sessions: Vec<(String, u32, Option<i64>, u8)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut subs =
        conn.prepare("SELECT filter, qos, flags FROM subscriptions WHERE client_id = ?1")?;
    let mut msgs = conn.prepare(
        "SELECT id, topic, payload, retain, expires_at FROM messages WHERE client_id = ?1 ORDER BY id",
    )?;
    for (client_id, expiry_secs, disconnected_at, version) in sessions {
        let s = LoadedSession {
            subs: subs
                .query_map([&client_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?,
            msgs: msgs
                .query_map([&client_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<Result<_, _>>()?,
            client_id,
            expiry_secs,
            disconnected_at,
            version,
        };
        loaded.sessions.push(s);
    }
    Ok(loaded)
}

fn apply(tx: &rusqlite::Transaction<'_>, op: &Op) -> Result<(), rusqlite::Error> {
    use rusqlite::params;
    match op {
        Op::PutRetained {
            topic,
            payload,
            qos,
            expires_at,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO retained (topic, payload, qos, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![topic, payload, qos, expires_at])?;
        }
        Op::DelRetained { topic } => {
            tx.prepare_cached("DELETE FROM retained WHERE topic = ?1")?
                .execute(params![topic])?;
        }
        Op::PutSession {
            client_id,
            expiry_secs,
            disconnected_at,
            version,
        } => {
            tx.prepare_cached("INSERT OR REPLACE INTO sessions (client_id, expiry_secs, disconnected_at, version) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![client_id, expiry_secs, disconnected_at, version])?;
        }
        Op::DelSession { client_id } => {
            tx.prepare_cached("DELETE FROM sessions WHERE client_id = ?1")?
                .execute(params![client_id])?;
            tx.prepare_cached("DELETE FROM subscriptions WHERE client_id = ?1")?
                .execute(params![client_id])?;
            tx.prepare_cached("DELETE FROM messages WHERE client_id = ?1")?
                .execute(params![client_id])?;
        }
        Op::PutSub {
            client_id,
            filter,
            qos,
            flags,
        } => {
            tx.prepare_cached("INSERT OR REPLACE INTO subscriptions (client_id, filter, qos, flags) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![client_id, filter, qos, flags])?;
        }
        Op::DelSub { client_id, filter } => {
            tx.prepare_cached("DELETE FROM subscriptions WHERE client_id = ?1 AND filter = ?2")?
                .execute(params![client_id, filter])?;
        }
        Op::PutMsg {
            id,
            client_id,
            topic,
            payload,
            retain,
            expires_at,
        } => {
            tx.prepare_cached("INSERT OR REPLACE INTO messages (id, client_id, topic, payload, retain, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
                .execute(params![id, client_id, topic, payload, retain, expires_at])?;
        }
        Op::DelMsg { id } => {
            tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?
                .execute(params![id])?;
        }
    }
    Ok(())
}

fn writer(mut conn: rusqlite::Connection, rx: crossbeam_channel::Receiver<Cmd>) {
    let mut stop = false;
    while !stop {
        let Ok(first) = rx.recv() else { break };
        let mut batch = vec![first];
        let mut n = 0;
        while n < MAX_OPS_PER_COMMIT {
            match rx.try_recv() {
                Ok(c) => {
                    if let Cmd::Ops(ops, _) = &c {
                        n += ops.len();
                    }
                    batch.push(c);
                }
                Err(_) => break,
            }
        }
        let mut acks = Vec::new();
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            for cmd in &batch {
                match cmd {
                    Cmd::Ops(ops, _) => {
                        for op in ops {
                            apply(&tx, op)?;
                        }
                    }
                    Cmd::Stop => stop = true,
                }
            }
            tx.commit()
        })();
        for cmd in batch {
            if let Cmd::Ops(_, Some(ack)) = cmd {
                acks.push(ack);
            }
        }
        match result {
            // Acks are only sent after the commit; a failed commit drops them (callers see
            // an error and answer with a server error).
            Ok(()) => acks.into_iter().for_each(|a| {
                let _ = a.send(());
            }),
            Err(e) => tracing::error!(error = %e, "broker store commit failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_are_loaded_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, loaded) = Store::open(dir.path()).unwrap();
            assert!(loaded.retained.is_empty() && loaded.sessions.is_empty());
            let id = store.next_msg_id();
            store
                .submit_durable(vec![
                    Op::PutRetained {
                        topic: "a/b".into(),
                        payload: b"r".to_vec(),
                        qos: 1,
                        expires_at: Some(2_000_000_000),
                    },
                    Op::PutRetained {
                        topic: "gone".into(),
                        payload: b"x".to_vec(),
                        qos: 0,
                        expires_at: None,
                    },
                    Op::DelRetained {
                        topic: "gone".into(),
                    },
                    Op::PutSession {
                        client_id: "c1".into(),
                        expiry_secs: 60,
                        disconnected_at: Some(5),
                        version: 5,
                    },
                    Op::PutSub {
                        client_id: "c1".into(),
                        filter: "a/#".into(),
                        qos: 1,
                        flags: 0,
                    },
                    Op::PutMsg {
                        id,
                        client_id: "c1".into(),
                        topic: "a/b".into(),
                        payload: b"m".to_vec(),
                        retain: false,
                        expires_at: Some(7),
                    },
                    Op::PutSession {
                        client_id: "c2".into(),
                        expiry_secs: 60,
                        disconnected_at: None,
                        version: 4,
                    },
                    Op::DelSession {
                        client_id: "c2".into(),
                    },
                ])
                .await
                .unwrap();
        }
        let (store, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(
            loaded.retained,
            vec![("a/b".to_string(), b"r".to_vec(), 1, Some(2_000_000_000))]
        );
        assert_eq!(loaded.sessions.len(), 1);
        let s = &loaded.sessions[0];
        assert_eq!(
            (
                s.client_id.as_str(),
                s.expiry_secs,
                s.disconnected_at,
                s.version
            ),
            ("c1", 60, Some(5), 5)
        );
        assert_eq!(s.subs, vec![("a/#".to_string(), 1, 0)]);
        assert_eq!(s.msgs.len(), 1);
        assert_eq!(s.msgs[0].4, Some(7));
        assert!(store.next_msg_id() > s.msgs[0].0);
    }

    #[test]
    fn old_database_gains_the_added_columns() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE sessions (client_id TEXT PRIMARY KEY, expiry_secs INTEGER NOT NULL, disconnected_at INTEGER);
                 INSERT INTO sessions VALUES ('old', 60, 1);
                 CREATE TABLE retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL);
                 INSERT INTO retained VALUES ('t', x'01', 1);
                 CREATE TABLE messages (id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, retain INTEGER NOT NULL);
                 INSERT INTO messages VALUES (3, 'old', 't', x'02', 0);",
            )
            .unwrap();
        }
        let (_store, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(loaded.sessions.len(), 1);
        assert_eq!(
            (
                loaded.sessions[0].client_id.as_str(),
                loaded.sessions[0].version
            ),
            ("old", 4)
        );
        assert_eq!(loaded.retained, vec![("t".to_string(), vec![1], 1, None)]);
        assert_eq!(
            loaded.sessions[0].msgs,
            vec![(3, "t".to_string(), vec![2], false, None)]
        );
    }

    #[tokio::test]
    async fn a_full_queue_blocks_submitters_loses_nothing_and_counts_the_waits() {
        const N: usize = 50;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_with_capacity(dir.path(), 2).unwrap();
        let store = std::sync::Arc::new(store);
        assert_eq!(
            store.queue_stats(),
            StoreQueueStats {
                name: "broker-store",
                capacity: 2,
                waits: 0,
                wait_us: 0
            }
        );
        // Another connection holds the write lock: the writer's first commit waits for it
        // (busy timeout), so the queue fills behind it.
        let blocker = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let submitter = {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..N {
                    store.submit(vec![Op::PutRetained {
                        topic: format!("t/{i}"),
                        payload: vec![1],
                        qos: 1,
                        expires_at: None,
                    }]);
                }
            })
        };
        let held = std::time::Duration::from_millis(300);
        std::thread::sleep(held);
        let stalled = store.queue_stats();
        // (It may have waited briefly before, while the writer took its first batch.)
        assert!(stalled.waits >= 1, "{stalled:?}");
        assert!(
            !submitter.is_finished(),
            "the submitter is waiting for room"
        );
        blocker.execute_batch("ROLLBACK").unwrap();
        submitter.join().unwrap();
        store.submit_durable(Vec::new()).await.unwrap();
        let stats = store.queue_stats();
        assert!(stats.waits >= 1, "{stats:?}");
        assert!(stats.wait_us >= 200_000, "{stats:?}");
        store.close();
        drop(store);
        let (_store, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(loaded.retained.len(), N, "no submission was dropped");
    }
}
