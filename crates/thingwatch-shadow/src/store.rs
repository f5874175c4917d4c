//! The SQLite side: `shadows.db` in the data directory, one row per shadow (classic shadow =
//! empty shadow name), including tombstones of deleted shadows that remember their version.
//!
//! The connection is opened by [`thingwatch_sqlite::open`] (WAL verified, `synchronous=NORMAL`,
//! busy timeout, foreign keys; ADR 0006).
//!
//! Durability: WAL with `synchronous=NORMAL` — a committed transaction is in the `-wal` file
//! before `COMMIT` returns, so a call that returned survives `kill -9`; only an OS crash or
//! power loss can lose the last transactions (SQLite docs, *Write-Ahead Logging*, *PRAGMA
//! synchronous*).

use crate::document::Document;
use crate::error::ShadowError;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use std::path::Path;
use thingwatch_sqlite::{Migration, Schema};

/// The database file inside the data directory.
pub const DB_FILE: &str = "shadows.db";

/// Version 1: one row per shadow, live or tombstone. Its version was the `meta` row "1" before
/// `user_version`, and that row is kept in step.
const SCHEMA: Schema = Schema::with_legacy_meta_version(DB_FILE, &[Migration::Sql(SCHEMA_V1)]);

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS shadows (
    thing TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    metadata TEXT NOT NULL,
    deleted_ms INTEGER,
    PRIMARY KEY (thing, name)
) STRICT, WITHOUT ROWID;
";

/// One stored row: a live shadow (`deleted_ms` = `None`) or a tombstone.
pub(crate) struct Row {
    pub version: u64,
    pub doc: Document,
    pub deleted_ms: Option<i64>,
}

/// Opens `dir/shadows.db` (creating `dir` and the schema).
pub(crate) fn open(dir: &Path) -> Result<Connection, ShadowError> {
    thingwatch_sqlite::open(&dir.join(DB_FILE), &SCHEMA).map_err(|e| ShadowError::internal(&e))
}

fn parse_map(text: &str) -> Result<Map<String, Value>, ShadowError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ShadowError::internal(
            &"stored shadow JSON is not an object",
        )),
        Err(e) => Err(ShadowError::internal(&e)),
    }
}

/// Loads the row of `(thing, name)`, live or tombstone.
pub(crate) fn load(conn: &Connection, thing: &str, name: &str) -> Result<Option<Row>, ShadowError> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, state, metadata, deleted_ms FROM shadows WHERE thing = ?1 AND name = ?2",
    )?;
    let raw = stmt
        .query_row(params![thing, name], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()?;
    let Some((version, state, metadata, deleted_ms)) = raw else {
        return Ok(None);
    };
    Ok(Some(Row {
        version: u64::try_from(version).map_err(|e| ShadowError::internal(&e))?,
        doc: Document {
            state: parse_map(&state)?,
            metadata: parse_map(&metadata)?,
        },
        deleted_ms,
    }))
}

fn to_i64(version: u64) -> Result<i64, ShadowError> {
    i64::try_from(version).map_err(|e| ShadowError::internal(&e))
}

/// Writes a live shadow.
pub(crate) fn save(
    conn: &Connection,
    thing: &str,
    name: &str,
    version: u64,
    doc: &Document,
) -> Result<(), ShadowError> {
    let state = serde_json::to_string(&doc.state).map_err(|e| ShadowError::internal(&e))?;
    let metadata = serde_json::to_string(&doc.metadata).map_err(|e| ShadowError::internal(&e))?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO shadows (thing, name, version, state, metadata, deleted_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL)
         ON CONFLICT (thing, name) DO UPDATE SET
           version = excluded.version, state = excluded.state,
           metadata = excluded.metadata, deleted_ms = NULL",
    )?;
    stmt.execute(params![thing, name, to_i64(version)?, state, metadata])?;
    Ok(())
}

/// Turns a live shadow into a tombstone that keeps its version.
pub(crate) fn tombstone(
    conn: &Connection,
    thing: &str,
    name: &str,
    now_ms: i64,
) -> Result<(), ShadowError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE shadows SET state = '{}', metadata = '{}', deleted_ms = ?3
         WHERE thing = ?1 AND name = ?2",
    )?;
    stmt.execute(params![thing, name, now_ms])?;
    Ok(())
}

/// Names of live named shadows of `thing` strictly after `after`, in name order, at most
/// `limit`.
pub(crate) fn list_named(
    conn: &Connection,
    thing: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<String>, ShadowError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name FROM shadows
         WHERE thing = ?1 AND name <> '' AND name > ?2 AND deleted_ms IS NULL
         ORDER BY name LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let names = stmt
        .query_map(params![thing, after, limit], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}
