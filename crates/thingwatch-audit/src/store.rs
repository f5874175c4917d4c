//! `DATA_DIR/audit/audit.db`: the records (append-only, each with its chain value), the
//! LookupEvents indexes, the signed digests, the trails.
//!
//! **Chain.** Record `n` stores `chain(n) = SHA-256(chain(n-1) ‖ n as u64 big-endian ‖
//! record JSON bytes)`, `chain(0)` = 32 zero bytes ([`GENESIS`]). Sequence numbers are dense
//! (1, 2, 3, …): a missing number is a removed record.
//!
//! **Digests** (`crate::integrity`) seal contiguous ranges of sequence numbers: digest `k`
//! covers `(last_seq(k-1), last_seq(k)]` and signs its chain value at `last_seq(k)` together
//! with digest `k-1`'s signature.
//!
//! **Retention**: records older than [`RETENTION_MS`] (CloudTrail event history: 90 days) are
//! pruned a whole digest range at a time; digests are kept, so verification starts from the
//! chain value the last pruned digest signed.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

use crate::record::BuiltRecord;

/// How long records are kept: 90 days (CloudTrail event history).
pub const RETENTION_MS: i64 = 90 * 24 * 3600 * 1000;

/// The chain value before the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// WAL pages between automatic checkpoints (SQLite's default is 1,000): 16,384 pages of 4 KiB
/// bound the `-wal` file to ~64 MiB.
pub const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// The database file under the audit directory.
pub const DB_FILE: &str = "audit.db";

const SCHEMA: thingwatch_sqlite::Schema = thingwatch_sqlite::Schema {
    name: DB_FILE,
    migrations: &[thingwatch_sqlite::Migration::Sql(
        "CREATE TABLE IF NOT EXISTS records (
            seq INTEGER PRIMARY KEY,
            event_time INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            event_name TEXT NOT NULL,
            event_source TEXT NOT NULL,
            read_only INTEGER NOT NULL,
            username TEXT NOT NULL,
            access_key_id TEXT NOT NULL,
            record TEXT NOT NULL,
            chain BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS records_time ON records (event_time, seq);
        CREATE INDEX IF NOT EXISTS records_event_id ON records (event_id);
        CREATE INDEX IF NOT EXISTS records_name ON records (event_name, event_time, seq);
        CREATE INDEX IF NOT EXISTS records_source ON records (event_source, event_time, seq);
        CREATE INDEX IF NOT EXISTS records_user ON records (username, event_time, seq);
        CREATE INDEX IF NOT EXISTS records_key ON records (access_key_id, event_time, seq);
        CREATE INDEX IF NOT EXISTS records_read_only ON records (read_only, event_time, seq);
        CREATE TABLE IF NOT EXISTS resources (
            seq INTEGER NOT NULL,
            event_time INTEGER NOT NULL,
            type TEXT NOT NULL,
            name TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS resources_seq ON resources (seq);
        CREATE INDEX IF NOT EXISTS resources_type ON resources (type, event_time, seq);
        CREATE INDEX IF NOT EXISTS resources_name ON resources (name, event_time, seq);
        CREATE TABLE IF NOT EXISTS digests (
            number INTEGER PRIMARY KEY,
            start_time INTEGER NOT NULL,
            end_time INTEGER NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            record_count INTEGER NOT NULL,
            chain BLOB NOT NULL,
            previous_signature BLOB NOT NULL,
            signature BLOB NOT NULL,
            key_fingerprint TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS trails (
            name TEXT PRIMARY KEY,
            spec TEXT NOT NULL
        );",
    )],
    legacy_meta_version: false,
};

/// A storage failure (SQLite).
#[derive(Debug, thiserror::Error)]
#[error("audit store: {0}")]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// The one LookupEvents attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupAttribute {
    /// `EventId`.
    EventId(String),
    /// `EventName`.
    EventName(String),
    /// `ReadOnly` (`true` / `false`).
    ReadOnly(bool),
    /// `Username`.
    Username(String),
    /// `ResourceType`.
    ResourceType(String),
    /// `ResourceName`.
    ResourceName(String),
    /// `EventSource`.
    EventSource(String),
    /// `AccessKeyId`.
    AccessKeyId(String),
}

/// A LookupEvents query: newest first, strictly before `after` when resuming.
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    /// The attribute to match, if any.
    pub attribute: Option<LookupAttribute>,
    /// Inclusive lower bound, epoch ms.
    pub start_ms: Option<i64>,
    /// Inclusive upper bound, epoch ms.
    pub end_ms: Option<i64>,
    /// At most this many records.
    pub limit: usize,
    /// Resume after this `(event_time_ms, seq)` (the last record of the previous page).
    pub after: Option<(i64, i64)>,
}

/// One record as LookupEvents answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// Sequence number.
    pub seq: i64,
    /// Epoch ms.
    pub event_time_ms: i64,
    /// `EventId`.
    pub event_id: String,
    /// `EventName`.
    pub event_name: String,
    /// `EventSource`.
    pub event_source: String,
    /// `ReadOnly`.
    pub read_only: bool,
    /// `Username`.
    pub username: String,
    /// `AccessKeyId`.
    pub access_key_id: String,
    /// The record JSON.
    pub json: String,
    /// `(ResourceType, ResourceName)`.
    pub resources: Vec<(String, String)>,
}

/// A signed digest row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestRow {
    /// 1, 2, 3, …
    pub number: i64,
    /// Period start, epoch ms (the previous digest's end).
    pub start_ms: i64,
    /// Period end, epoch ms.
    pub end_ms: i64,
    /// First sequence number covered (`last_seq + 1` when the period had no record).
    pub first_seq: i64,
    /// Last sequence number covered.
    pub last_seq: i64,
    /// Records covered.
    pub record_count: i64,
    /// The chain value at `last_seq`.
    pub chain: Vec<u8>,
    /// The previous digest's signature (empty for the first).
    pub previous_signature: Vec<u8>,
    /// This digest's signature.
    pub signature: Vec<u8>,
    /// The signing key's fingerprint.
    pub key_fingerprint: String,
}

/// The SQLite store (one connection; the writer thread and lookups share it behind a lock).
pub struct Store {
    conn: Connection,
    last_seq: i64,
    last_chain: [u8; 32],
}

/// `chain(n)` from `chain(n-1)`.
pub fn chain_next(previous: &[u8], seq: i64, record: &[u8]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(previous);
    ctx.update(&(seq as u64).to_be_bytes());
    ctx.update(record);
    let d = ctx.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn to_chain(v: Vec<u8>) -> [u8; 32] {
    let mut out = [0u8; 32];
    if v.len() == 32 {
        out.copy_from_slice(&v);
    }
    out
}

impl Store {
    /// Opens (creating) `dir/audit.db`.
    ///
    /// # Errors
    /// The file cannot be opened or migrated.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let conn = thingwatch_sqlite::open(&dir.join(DB_FILE), &SCHEMA)
            .map_err(|e| StoreError(e.to_string()))?;
        // Appends touch the same last leaf of every index in each transaction: checkpointing
        // less often copies each such page once instead of many times (BENCHMARKS.md,
        // "Audit trail": the default 1,000 pages cost a third of the writer's time).
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        let last: Option<(i64, Vec<u8>)> = conn
            .query_row(
                "SELECT seq, chain FROM records ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (last_seq, last_chain) = match last {
            Some((s, c)) => (s, to_chain(c)),
            None => {
                // Everything was pruned (or nothing written): continue from the last digest.
                let d: Option<(i64, Vec<u8>)> = conn
                    .query_row(
                        "SELECT last_seq, chain FROM digests ORDER BY number DESC LIMIT 1",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                d.map_or((0, GENESIS), |(s, c)| (s, to_chain(c)))
            }
        };
        Ok(Store {
            conn,
            last_seq,
            last_chain,
        })
    }

    /// The last sequence number written and its chain value.
    pub fn head(&self) -> (i64, [u8; 32]) {
        (self.last_seq, self.last_chain)
    }

    /// Appends `records` in one transaction, chaining each to the previous.
    ///
    /// # Errors
    /// Storage failures (nothing of the batch is kept).
    pub fn append(&mut self, records: &[BuiltRecord]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let (mut seq, mut chain) = (self.last_seq, self.last_chain);
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO records (seq, event_time, event_id, event_name, event_source,
                    read_only, username, access_key_id, record, chain)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut resource = tx.prepare_cached(
                "INSERT INTO resources (seq, event_time, type, name) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in records {
                seq += 1;
                chain = chain_next(&chain, seq, r.json.as_bytes());
                insert.execute(params![
                    seq,
                    r.event_time_ms,
                    r.event_id,
                    r.event_name,
                    r.event_source,
                    r.read_only,
                    r.username,
                    r.access_key_id,
                    r.json,
                    &chain[..],
                ])?;
                for (kind, name) in &r.resources {
                    resource.execute(params![seq, r.event_time_ms, kind, name])?;
                }
            }
        }
        tx.commit()?;
        self.last_seq = seq;
        self.last_chain = chain;
        Ok(())
    }

    /// Runs a LookupEvents query (newest first).
    ///
    /// # Errors
    /// Storage failures.
    pub fn lookup(&self, q: &Lookup) -> Result<Vec<StoredRecord>, StoreError> {
        let start = q.start_ms.unwrap_or(i64::MIN);
        let end = q.end_ms.unwrap_or(i64::MAX);
        let (after_time, after_seq) = q.after.unwrap_or((i64::MAX, i64::MAX));
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let cols = "r.seq, r.event_time, r.event_id, r.event_name, r.event_source, r.read_only,
                    r.username, r.access_key_id, r.record";
        let window =
            "r.event_time >= ?1 AND r.event_time <= ?2 AND (r.event_time, r.seq) < (?3, ?4)";
        let (sql, value): (String, Option<rusqlite::types::Value>) = match &q.attribute {
            None => (
                format!(
                    "SELECT {cols} FROM records r WHERE {window}
                     ORDER BY r.event_time DESC, r.seq DESC LIMIT ?5"
                ),
                None,
            ),
            Some(LookupAttribute::ResourceType(v) | LookupAttribute::ResourceName(v)) => {
                let column = if matches!(q.attribute, Some(LookupAttribute::ResourceType(_))) {
                    "type"
                } else {
                    "name"
                };
                // Walks the resource index newest first; a record naming the value twice
                // (as two types) appears once.
                (
                    format!(
                        "SELECT {cols} FROM resources x JOIN records r ON r.seq = x.seq
                         WHERE x.{column} = ?6 AND x.event_time >= ?1 AND x.event_time <= ?2
                           AND (x.event_time, x.seq) < (?3, ?4)
                         ORDER BY x.event_time DESC, x.seq DESC LIMIT ?5"
                    ),
                    Some(v.clone().into()),
                )
            }
            Some(a) => {
                let (column, value): (&str, rusqlite::types::Value) = match a {
                    LookupAttribute::EventId(v) => ("event_id", v.clone().into()),
                    LookupAttribute::EventName(v) => ("event_name", v.clone().into()),
                    LookupAttribute::ReadOnly(v) => ("read_only", i64::from(*v).into()),
                    LookupAttribute::Username(v) => ("username", v.clone().into()),
                    LookupAttribute::EventSource(v) => ("event_source", v.clone().into()),
                    LookupAttribute::AccessKeyId(v) => ("access_key_id", v.clone().into()),
                    LookupAttribute::ResourceType(_) | LookupAttribute::ResourceName(_) => {
                        unreachable!("matched above")
                    }
                };
                (
                    format!(
                        "SELECT {cols} FROM records r WHERE {window} AND r.{column} = ?6
                         ORDER BY r.event_time DESC, r.seq DESC LIMIT ?5"
                    ),
                    Some(value),
                )
            }
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok(StoredRecord {
                seq: r.get(0)?,
                event_time_ms: r.get(1)?,
                event_id: r.get(2)?,
                event_name: r.get(3)?,
                event_source: r.get(4)?,
                read_only: r.get(5)?,
                username: r.get(6)?,
                access_key_id: r.get(7)?,
                json: r.get(8)?,
                resources: Vec::new(),
            })
        };
        let mut rows: Vec<StoredRecord> = match value {
            None => stmt
                .query_map(params![start, end, after_time, after_seq, limit], map)?
                .collect::<Result<_, _>>()?,
            Some(v) => stmt
                .query_map(params![start, end, after_time, after_seq, limit, v], map)?
                .collect::<Result<_, _>>()?,
        };
        rows.dedup_by_key(|r| r.seq);
        let mut res = self
            .conn
            .prepare_cached("SELECT type, name FROM resources WHERE seq = ?1")?;
        for row in &mut rows {
            row.resources = res
                .query_map([row.seq], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
        }
        Ok(rows)
    }

    /// The last digest, if any.
    ///
    /// # Errors
    /// Storage failures.
    pub fn last_digest(&self) -> Result<Option<DigestRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT number, start_time, end_time, first_seq, last_seq, record_count, chain,
                        previous_signature, signature, key_fingerprint
                 FROM digests ORDER BY number DESC LIMIT 1",
                [],
                digest_row,
            )
            .optional()?)
    }

    /// Every digest, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    pub fn digests(&self) -> Result<Vec<DigestRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT number, start_time, end_time, first_seq, last_seq, record_count, chain,
                    previous_signature, signature, key_fingerprint
             FROM digests ORDER BY number",
        )?;
        Ok(stmt.query_map([], digest_row)?.collect::<Result<_, _>>()?)
    }

    /// Stores a digest.
    ///
    /// # Errors
    /// Storage failures.
    pub fn insert_digest(&self, d: &DigestRow) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO digests (number, start_time, end_time, first_seq, last_seq,
                record_count, chain, previous_signature, signature, key_fingerprint)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                d.number,
                d.start_ms,
                d.end_ms,
                d.first_seq,
                d.last_seq,
                d.record_count,
                d.chain,
                d.previous_signature,
                d.signature,
                d.key_fingerprint
            ],
        )?;
        Ok(())
    }

    /// Visits the records with `first <= seq <= last` in sequence order:
    /// `(seq, event_time_ms, event_id, event_name, event_source, read_only, record, chain)`.
    /// Stops at the first error `visit` returns.
    ///
    /// # Errors
    /// Storage failures, or `visit`'s error.
    pub fn scan<E: From<StoreError>>(
        &self,
        first: i64,
        last: i64,
        mut visit: impl FnMut(ScannedRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, event_time, event_id, event_name, event_source, read_only, record,
                        chain
                 FROM records WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
            )
            .map_err(StoreError::from)?;
        let mut rows = stmt.query([first, last]).map_err(StoreError::from)?;
        while let Some(r) = rows.next().map_err(StoreError::from)? {
            let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<ScannedRecord> {
                Ok(ScannedRecord {
                    seq: r.get(0)?,
                    event_time_ms: r.get(1)?,
                    event_id: r.get(2)?,
                    event_name: r.get(3)?,
                    event_source: r.get(4)?,
                    read_only: r.get(5)?,
                    record: r.get(6)?,
                    chain: r.get(7)?,
                })
            };
            visit(read(r).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// The smallest and largest sequence numbers present.
    ///
    /// # Errors
    /// Storage failures.
    pub fn seq_range(&self) -> Result<Option<(i64, i64)>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT MIN(seq), MAX(seq) FROM records", [], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .map(|(a, b)| a.zip(b))?)
    }

    /// Deletes the records of whole digest ranges that ended before `cutoff_ms`. Returns how
    /// many records went.
    ///
    /// # Errors
    /// Storage failures.
    pub fn prune(&mut self, cutoff_ms: i64) -> Result<usize, StoreError> {
        let through: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(last_seq) FROM digests WHERE end_time < ?1",
                [cutoff_ms],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let Some(through) = through else {
            return Ok(0);
        };
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM records WHERE seq <= ?1", [through])?;
        tx.execute("DELETE FROM resources WHERE seq <= ?1", [through])?;
        tx.commit()?;
        Ok(n)
    }

    /// Every stored trail spec (JSON), by name.
    ///
    /// # Errors
    /// Storage failures.
    pub fn trails(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, spec FROM trails ORDER BY name")?;
        Ok(stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?)
    }

    /// Inserts or replaces a trail.
    ///
    /// # Errors
    /// Storage failures.
    pub fn put_trail(&self, name: &str, spec: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO trails (name, spec) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
            params![name, spec],
        )?;
        Ok(())
    }

    /// Deletes a trail.
    ///
    /// # Errors
    /// Storage failures.
    pub fn delete_trail(&self, name: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM trails WHERE name = ?1", [name])?;
        Ok(())
    }
}

/// One record as [`Store::scan`] reads it.
#[derive(Clone, Debug)]
pub struct ScannedRecord {
    /// Sequence number.
    pub seq: i64,
    /// The indexed event time, epoch ms.
    pub event_time_ms: i64,
    /// The indexed event id.
    pub event_id: String,
    /// The indexed event name.
    pub event_name: String,
    /// The indexed event source.
    pub event_source: String,
    /// The indexed read-only flag.
    pub read_only: bool,
    /// The record JSON.
    pub record: String,
    /// The stored chain value.
    pub chain: Vec<u8>,
}

fn digest_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DigestRow> {
    Ok(DigestRow {
        number: r.get(0)?,
        start_ms: r.get(1)?,
        end_ms: r.get(2)?,
        first_seq: r.get(3)?,
        last_seq: r.get(4)?,
        record_count: r.get(5)?,
        chain: r.get(6)?,
        previous_signature: r.get(7)?,
        signature: r.get(8)?,
        key_fingerprint: r.get(9)?,
    })
}
