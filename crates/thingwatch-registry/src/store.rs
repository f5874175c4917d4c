//! The SQLite side: schema, its migrations, and the load/save of the logging configuration.
//! The connection is opened by [`thingwatch_sqlite::open_with`] (WAL verified,
//! `synchronous=NORMAL`, foreign keys on, busy timeout; ADR 0006).
//!
//! Durability: in WAL mode every committed transaction is in the `-wal` file before `COMMIT`
//! returns, so a process killed with SIGKILL afterwards loses nothing; with
//! `synchronous=NORMAL` only an OS crash or power loss can roll back the last transactions
//! (SQLite documentation, *Write-Ahead Logging* and *PRAGMA synchronous*).

use crate::error::RegistryError;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::path::Path;
use thingwatch_events::{
    EventConfiguration, LegacyOptions, LevelSetting, LogTarget, LogTargetConfiguration,
    LogTargetType, LoggingConfig, LoggingOptions,
};
use thingwatch_sqlite::{Migration, Schema};

/// The database file inside the data directory.
pub const DB_FILE: &str = "registry.db";

/// The registry's schema. Version 1: things, groups, logging. Version 2 adds tables only (IoT
/// policies, their versions and targets, thing principals). Both steps are
/// `CREATE … IF NOT EXISTS`, as the versions kept in `meta` before `user_version` require.
const SCHEMA: Schema = Schema::with_legacy_meta_version(
    DB_FILE,
    &[Migration::Sql(SCHEMA_V1), Migration::Sql(SCHEMA_V2)],
);

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS logging_v2 (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    role_arn TEXT,
    default_log_level TEXT NOT NULL,
    disable_all_logs INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS logging_events (
    position INTEGER PRIMARY KEY,
    event_type TEXT NOT NULL,
    log_level TEXT,
    log_destination TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS logging_targets (
    target_type TEXT NOT NULL,
    target_name TEXT NOT NULL,
    log_level TEXT NOT NULL,
    PRIMARY KEY (target_type, target_name)
) STRICT;
CREATE TABLE IF NOT EXISTS logging_legacy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    role_arn TEXT NOT NULL,
    log_level TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS things (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    thing_type TEXT,
    version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS thing_attributes (
    thing TEXT NOT NULL REFERENCES things(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (thing, name)
) STRICT;
CREATE INDEX IF NOT EXISTS thing_attributes_by_name ON thing_attributes(name, value, thing);
CREATE TABLE IF NOT EXISTS thing_groups (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    parent TEXT REFERENCES thing_groups(name),
    description TEXT,
    attributes TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS thing_groups_by_parent ON thing_groups(parent, name);
CREATE TABLE IF NOT EXISTS memberships (
    thing TEXT NOT NULL REFERENCES things(name) ON DELETE CASCADE,
    grp TEXT NOT NULL REFERENCES thing_groups(name) ON DELETE CASCADE,
    PRIMARY KEY (thing, grp)
) STRICT;
CREATE INDEX IF NOT EXISTS memberships_by_group ON memberships(grp, thing);
";

const SCHEMA_V2: &str = "
CREATE TABLE IF NOT EXISTS policies (
    name TEXT PRIMARY KEY,
    default_version INTEGER NOT NULL,
    next_version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    generation_id TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS policies_by_creation ON policies(created_ms, name);
CREATE TABLE IF NOT EXISTS policy_versions (
    policy TEXT NOT NULL REFERENCES policies(name) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (policy, version)
) STRICT;
CREATE TABLE IF NOT EXISTS policy_targets (
    policy TEXT NOT NULL REFERENCES policies(name),
    target TEXT NOT NULL,
    PRIMARY KEY (policy, target)
) STRICT;
CREATE INDEX IF NOT EXISTS policy_targets_by_target ON policy_targets(target, policy);
CREATE TABLE IF NOT EXISTS thing_principals (
    thing TEXT NOT NULL REFERENCES things(name) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    exclusive INTEGER NOT NULL,
    PRIMARY KEY (thing, principal)
) STRICT;
CREATE INDEX IF NOT EXISTS thing_principals_by_principal ON thing_principals(principal, thing);
";

/// Opens `dir/registry.db` (creating `dir` and the schema). On a new database stores
/// `initial_logging`, in the transaction that creates the schema.
pub(crate) fn open(
    dir: &Path,
    initial_logging: &LoggingConfig,
) -> Result<Connection, RegistryError> {
    Ok(thingwatch_sqlite::open_with(
        &dir.join(DB_FILE),
        &SCHEMA,
        |tx| save_logging(tx, initial_logging),
    )?)
}

fn level(s: &str) -> Result<LevelSetting, RegistryError> {
    s.parse()
        .map_err(|_| RegistryError::Storage(format!("stored log level '{s}' is not valid")))
}

fn target_type(s: &str) -> Result<LogTargetType, RegistryError> {
    s.parse()
        .map_err(|_| RegistryError::Storage(format!("stored log target type '{s}' is not valid")))
}

/// Replaces the stored logging configuration with `cfg` (inside the caller's transaction).
pub(crate) fn save_logging(tx: &Transaction<'_>, cfg: &LoggingConfig) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM logging_v2; DELETE FROM logging_events; DELETE FROM logging_targets; DELETE FROM logging_legacy;",
    )?;
    if let Some(v2) = &cfg.v2 {
        tx.execute(
            "INSERT INTO logging_v2 (id, role_arn, default_log_level, disable_all_logs) VALUES (1, ?1, ?2, ?3)",
            params![v2.role_arn, v2.default_log_level.as_str(), v2.disable_all_logs],
        )?;
        let mut stmt = tx.prepare(
            "INSERT INTO logging_events (position, event_type, log_level, log_destination) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, e) in v2.event_configurations.iter().enumerate() {
            stmt.execute(params![
                i as i64,
                e.event_type,
                e.log_level.map(|l| l.as_str()),
                e.log_destination
            ])?;
        }
    }
    let mut stmt = tx.prepare(
        "INSERT OR REPLACE INTO logging_targets (target_type, target_name, log_level) VALUES (?1, ?2, ?3)",
    )?;
    for t in &cfg.targets {
        if let Some(name) = &t.target.target_name {
            stmt.execute(params![
                t.target.target_type.as_str(),
                name,
                t.level.as_str()
            ])?;
        }
    }
    if let Some(legacy) = &cfg.legacy {
        tx.execute(
            "INSERT INTO logging_legacy (id, role_arn, log_level) VALUES (1, ?1, ?2)",
            params![legacy.role_arn, legacy.log_level.as_str()],
        )?;
    }
    Ok(())
}

/// Reads the stored logging configuration; targets come back sorted by (type, name).
pub(crate) fn load_logging(conn: &Connection) -> Result<LoggingConfig, RegistryError> {
    let v2_row: Option<(Option<String>, String, bool)> = conn
        .query_row(
            "SELECT role_arn, default_log_level, disable_all_logs FROM logging_v2 WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let v2 = match v2_row {
        None => None,
        Some((role_arn, default_level, disable_all_logs)) => {
            let mut stmt = conn.prepare(
                "SELECT event_type, log_level, log_destination FROM logging_events ORDER BY position",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?;
            let mut event_configurations = Vec::new();
            for row in rows {
                let (event_type, log_level, log_destination) = row?;
                event_configurations.push(EventConfiguration {
                    event_type,
                    log_level: log_level.as_deref().map(level).transpose()?,
                    log_destination,
                });
            }
            Some(LoggingOptions {
                role_arn,
                default_log_level: level(&default_level)?,
                disable_all_logs,
                event_configurations,
            })
        }
    };
    let mut stmt =
        conn.prepare("SELECT target_type, target_name, log_level FROM logging_targets")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut targets = Vec::new();
    for row in rows {
        let (ty, name, lvl) = row?;
        targets.push(LogTargetConfiguration {
            target: LogTarget {
                target_type: target_type(&ty)?,
                target_name: Some(name),
            },
            level: level(&lvl)?,
        });
    }
    targets.sort_by(|a, b| a.target.cmp(&b.target));
    let legacy = conn
        .query_row(
            "SELECT role_arn, log_level FROM logging_legacy WHERE id = 1",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?
        .map(|(role_arn, lvl)| {
            level(&lvl).map(|log_level| LegacyOptions {
                role_arn,
                log_level,
            })
        })
        .transpose()?;
    Ok(LoggingConfig {
        v2,
        targets,
        legacy,
    })
}

/// Every `(group, parent)` pair and every `(thing, group)` membership, for the in-memory index.
pub(crate) type IndexRows = (Vec<(String, Option<String>)>, Vec<(String, String)>);

/// Reads what [`crate::membership::MembershipIndex`] is built from.
pub(crate) fn load_index_rows(conn: &Connection) -> Result<IndexRows, RegistryError> {
    let mut stmt = conn.prepare("SELECT name, parent FROM thing_groups")?;
    let groups = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare("SELECT thing, grp FROM memberships")?;
    let members = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((groups, members))
}

/// What the in-memory security index is built from.
pub(crate) struct SecurityRows {
    /// `(policy name, default version's document)`.
    pub(crate) policies: Vec<(String, String)>,
    /// `(policy name, target)`.
    pub(crate) targets: Vec<(String, String)>,
    /// `(principal, thing, exclusive)`.
    pub(crate) principals: Vec<(String, String, bool)>,
}

/// Reads the default version of every policy, every policy attachment and every thing
/// principal.
pub(crate) fn load_security_rows(conn: &Connection) -> Result<SecurityRows, RegistryError> {
    let mut stmt = conn.prepare(
        "SELECT p.name, v.document FROM policies p JOIN policy_versions v ON v.policy = p.name AND v.version = p.default_version",
    )?;
    let policies = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare("SELECT policy, target FROM policy_targets")?;
    let targets = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare("SELECT principal, thing, exclusive FROM thing_principals")?;
    let principals = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SecurityRows {
        policies,
        targets,
        principals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy_logging(role: &str) -> LoggingConfig {
        LoggingConfig {
            legacy: Some(LegacyOptions {
                role_arn: role.into(),
                log_level: LevelSetting::Info,
            }),
            ..LoggingConfig::default()
        }
    }

    #[test]
    fn a_database_of_the_previous_build_keeps_its_logging_configuration() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path(), &legacy_logging("first")).unwrap());
        // The previous build kept the version in `meta` only: user_version 0.
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            conn.pragma_update(None, "user_version", 0).unwrap();
        }
        let conn = open(dir.path(), &legacy_logging("second")).unwrap();
        assert_eq!(load_logging(&conn).unwrap(), legacy_logging("first"));
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
    }
}
