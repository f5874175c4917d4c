//! The one way Thingwatch opens a SQLite database: [`open`] (and [`open_with`]) set and verify
//! the connection's pragmas, then bring the file's schema to the version the code knows by
//! applying its [`Schema`]'s migrations in one transaction.
//!
//! Every store (registry, IAM, shadows, certificates, broker) opens its file here, so they all
//! get the same settings (ADR 0006):
//!
//! - `journal_mode = WAL`, **verified**: SQLite answers the mode it is in, and a file that stays
//!   in another mode (an in-memory database, a file system without shared memory) is refused
//!   ([`OpenError::PragmaRefused`]) instead of silently running with other durability and
//!   locking. In WAL a committed transaction is in the `-wal` file before `COMMIT` returns,
//!   so it survives `kill -9`.
//! - `synchronous = NORMAL`: with WAL, only an OS crash or power loss can roll back the last
//!   commits (SQLite documentation, *PRAGMA synchronous*). Every store chose this before; none
//!   needs `FULL`.
//! - a busy timeout of [`BUSY_TIMEOUT`]: a statement that finds the file locked (a checkpoint,
//!   another process with the file open) retries for that long before failing with
//!   `SQLITE_BUSY`.
//! - `foreign_keys = ON`, verified: `REFERENCES … ON DELETE CASCADE` is enforced.
//!
//! **Schema version.** The version is `PRAGMA user_version` (0 in a new file). Migration `i`
//! (0-based) takes the file from version `i` to `i + 1`; [`open`] applies the missing ones in
//! order inside one `BEGIN IMMEDIATE` transaction together with the new version, so a failed
//! migration leaves the file as it was. A file whose version is newer than the code knows is
//! refused ([`OpenError::TooNew`]), never used. Files created before versions were kept in
//! `user_version` read as version 0, so every schema's first migration is idempotent
//! (`CREATE TABLE IF NOT EXISTS …`) and upgrades them in place.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for a lock held elsewhere before failing with `SQLITE_BUSY`.
/// Each store has one connection and one writer, so a lock is only ever held briefly by a
/// checkpoint or by another process reading the file (`sqlite3` on a live data directory);
/// five seconds covers those without hanging a request for long.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `meta` key under which the registry, shadow and certificate stores recorded their
/// schema version before it moved to `PRAGMA user_version` ([`Schema::legacy_meta_version`]).
pub const LEGACY_VERSION_KEY: &str = "schema_version";

/// One step of a [`Schema`]: what takes the file from one version to the next.
#[derive(Clone, Copy)]
pub enum Migration {
    /// An SQL batch (several statements separated by `;`).
    Sql(&'static str),
    /// Code, for a step SQL alone cannot write idempotently (adding a column only where it is
    /// missing).
    Code(fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Migration::Sql(sql) => f.debug_tuple("Sql").field(sql).finish(),
            Migration::Code(_) => f.write_str("Code(..)"),
        }
    }
}

/// A store's schema: its migrations, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// The file's name, for error messages (`"registry.db"`).
    pub name: &'static str,
    /// Migration `i` takes the file from version `i` to `i + 1`; the version the code knows is
    /// their number ([`Schema::version`]). The first one must be idempotent (see the crate
    /// documentation). Never edit or reorder a released migration: append a new one.
    pub migrations: &'static [Migration],
    /// The store recorded its version as the row `meta(key = 'schema_version')` before this
    /// crate existed (the registry, shadow and certificate stores). Then [`open`] also reads
    /// that row, migrates from the older of the two records, refuses the file if either is
    /// newer than the code knows, and keeps the row equal to `user_version`, so that a build
    /// from before this crate still recognises the file (instead of taking it for a new one).
    /// Requires every migration to be idempotent, and the first to create
    /// `meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`.
    pub legacy_meta_version: bool,
}

impl Schema {
    /// A schema whose version lives in `user_version` only.
    pub const fn new(name: &'static str, migrations: &'static [Migration]) -> Schema {
        Schema {
            name,
            migrations,
            legacy_meta_version: false,
        }
    }

    /// A schema that also keeps the legacy `meta` version row
    /// ([`Schema::legacy_meta_version`]).
    pub const fn with_legacy_meta_version(
        name: &'static str,
        migrations: &'static [Migration],
    ) -> Schema {
        Schema {
            name,
            migrations,
            legacy_meta_version: true,
        }
    }

    /// The schema version this code writes and reads: the number of migrations.
    pub const fn version(&self) -> u32 {
        self.migrations.len() as u32
    }
}

/// Why [`open`] refused or failed to open a database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The database file's directory could not be created.
    #[error("{name}: cannot create its directory: {source}")]
    Directory {
        /// The file ([`Schema::name`]).
        name: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite failed: opening the file, a pragma, reading the version, or a migration (then
    /// the file is unchanged: the migration transaction rolled back).
    #[error("{name}: {source}")]
    Sqlite {
        /// The file ([`Schema::name`]).
        name: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A pragma did not take the value set, e.g. `journal_mode` stays `memory` for an
    /// in-memory database: the file would run with other durability or locking than the
    /// store assumes, so it is not used.
    #[error("{name}: PRAGMA {pragma} = {wanted} did not apply (it reads {got})")]
    PragmaRefused {
        /// The file ([`Schema::name`]).
        name: &'static str,
        /// The pragma (`journal_mode`, `synchronous`, `foreign_keys`).
        pragma: &'static str,
        /// The value set.
        wanted: &'static str,
        /// What SQLite answered.
        got: String,
    },
    /// The file's schema version is newer than this code knows (written by a newer build):
    /// using it could misread or damage data it does not understand.
    #[error("{name} has schema version {found}; this build knows versions up to {known}")]
    TooNew {
        /// The file ([`Schema::name`]).
        name: &'static str,
        /// The version recorded in the file.
        found: i64,
        /// [`Schema::version`].
        known: u32,
    },
    /// The recorded version is not a version number (a negative `user_version`, a `meta`
    /// row that is not an integer).
    #[error("{name}: the recorded schema version '{value}' is not a version number")]
    BadVersion {
        /// The file ([`Schema::name`]).
        name: &'static str,
        /// The recorded value, as text.
        value: String,
    },
}

/// Opens (creating it and its directory if needed) the database at `path`, sets and verifies
/// the pragmas described in the crate documentation, and migrates it to
/// [`Schema::version`].
///
/// # Errors
/// [`OpenError`]: the directory or file cannot be created or opened, a pragma does not apply
/// (the file cannot be put in WAL mode), the file's version is newer than `schema` knows, or a
/// migration fails.
pub fn open(path: &Path, schema: &Schema) -> Result<Connection, OpenError> {
    open_with(path, schema, |_| Ok(()))
}

/// [`open`], then `initialize` runs in the migration transaction when the file recorded no
/// version (a new file, or one from before versions were recorded and without a legacy `meta`
/// row): for the rows a new database starts with. If it fails, nothing of the open is kept.
///
/// # Errors
/// As [`open`]; an error of `initialize` is [`OpenError::Sqlite`].
pub fn open_with(
    path: &Path,
    schema: &Schema,
    initialize: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<()>,
) -> Result<Connection, OpenError> {
    let name = schema.name;
    let sqlite = |source| OpenError::Sqlite { name, source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Directory { name, source })?;
    }
    let mut conn = Connection::open(path).map_err(sqlite)?;
    // First, so that switching the journal mode also waits for a lock held elsewhere.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    set_pragma(&conn, name, "journal_mode", "WAL", "wal")?;
    set_pragma(&conn, name, "synchronous", "NORMAL", "1")?;
    set_pragma(&conn, name, "foreign_keys", "ON", "1")?;
    migrate(&mut conn, schema, initialize)?;
    Ok(conn)
}

/// Sets `pragma = value` and checks that it reads back as `expect` (case-insensitively).
fn set_pragma(
    conn: &Connection,
    name: &'static str,
    pragma: &'static str,
    value: &'static str,
    expect: &str,
) -> Result<(), OpenError> {
    let sqlite = |source| OpenError::Sqlite { name, source };
    // `journal_mode` answers the mode it is in; the others answer nothing, so read them back.
    let answer: Option<Value> = conn
        .query_row(&format!("PRAGMA {pragma} = {value}"), [], |r| r.get(0))
        .optional()
        .map_err(sqlite)?;
    let got = match answer {
        Some(v) => v,
        None => conn
            .query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))
            .optional()
            .map_err(sqlite)?
            .unwrap_or(Value::Null),
    };
    let got = match got {
        Value::Text(s) => s,
        Value::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    };
    if got.eq_ignore_ascii_case(expect) {
        Ok(())
    } else {
        Err(OpenError::PragmaRefused {
            name,
            pragma,
            wanted: value,
            got,
        })
    }
}

/// Brings the file to `schema.version()` in one immediate transaction.
fn migrate(
    conn: &mut Connection,
    schema: &Schema,
    initialize: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<()>,
) -> Result<(), OpenError> {
    let name = schema.name;
    let sqlite = |source| OpenError::Sqlite { name, source };
    let known = schema.version();
    // IMMEDIATE: take the write lock before reading the version, so two processes opening the
    // same file cannot both migrate it.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    let user_version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite)?;
    if user_version < 0 {
        return Err(OpenError::BadVersion {
            name,
            value: user_version.to_string(),
        });
    }
    let legacy = if schema.legacy_meta_version {
        legacy_version(&tx, name)?
    } else {
        None
    };
    // Absent records (user_version 0, no row) say nothing.
    let records: Vec<i64> = [(user_version > 0).then_some(user_version), legacy]
        .into_iter()
        .flatten()
        .collect();
    if let Some(&found) = records.iter().max().filter(|&&v| v > i64::from(known)) {
        return Err(OpenError::TooNew { name, found, known });
    }
    // At most `known` now, so it fits.
    let stored = records.iter().copied().min().unwrap_or(0) as u32;
    for migration in &schema.migrations[stored as usize..] {
        match migration {
            Migration::Sql(sql) => tx.execute_batch(sql),
            Migration::Code(step) => step(&tx),
        }
        .map_err(sqlite)?;
    }
    if records.is_empty() {
        initialize(&tx).map_err(sqlite)?;
    }
    if user_version != i64::from(known) {
        tx.pragma_update(None, "user_version", known)
            .map_err(sqlite)?;
    }
    if schema.legacy_meta_version && legacy != Some(i64::from(known)) {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (LEGACY_VERSION_KEY, known.to_string()),
        )
        .map_err(sqlite)?;
    }
    tx.commit().map_err(sqlite)
}

/// The version in `meta(key = 'schema_version')`, if the table and the row exist.
fn legacy_version(tx: &Transaction<'_>, name: &'static str) -> Result<Option<i64>, OpenError> {
    let sqlite = |source| OpenError::Sqlite { name, source };
    let has_meta: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    if !has_meta {
        return Ok(None);
    }
    let value: Option<Value> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [LEGACY_VERSION_KEY],
            |r| r.get(0),
        )
        .optional()
        .map_err(sqlite)?;
    let text = match value {
        None => return Ok(None),
        Some(Value::Text(s)) => s,
        Some(Value::Integer(i)) => i.to_string(),
        Some(other) => format!("{other:?}"),
    };
    match text.parse::<i64>() {
        Ok(v) if v >= 0 => Ok(Some(v)),
        _ => Err(OpenError::BadVersion { name, value: text }),
    }
}

#[cfg(test)]
mod tests;
