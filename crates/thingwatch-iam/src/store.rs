//! The SQLite file behind [`crate::Iam`] (`iam.sqlite3`, opened by [`thingwatch_sqlite::open`]:
//! WAL verified, `synchronous=NORMAL`, busy timeout; ADR 0006): one table per entity,
//! names unique case-insensitively (`COLLATE NOCASE`; IAM User Guide, *IAM identifiers*: "names
//! must be unique within an account. They are not distinguished by case"). Only
//! [`crate::Iam`]'s writer (under its mutex) touches it; reads are served from the in-memory
//! snapshot rebuilt from [`Store::load`] after every write.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use thingwatch_sqlite::{Migration, Schema};

use crate::error::IamError;
use crate::model::{AccessKey, KeyStatus, Role, User};

/// File name of the store inside the directory given to [`crate::Iam::open`].
pub const DB_FILE: &str = "iam.sqlite3";

/// The IAM store's schema: version 1 is the tables as first released (`IF NOT EXISTS`, so files
/// from before `user_version` upgrade in place).
const SCHEMA: Schema = Schema::new(DB_FILE, &[Migration::Sql(SCHEMA_V1)]);

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    id         TEXT NOT NULL UNIQUE,
    path       TEXT NOT NULL,
    arn        TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS access_keys (
    id         TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL COLLATE NOCASE,
    secret     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS roles (
    name        TEXT PRIMARY KEY COLLATE NOCASE,
    id          TEXT NOT NULL UNIQUE,
    path        TEXT NOT NULL,
    arn         TEXT NOT NULL,
    trust       TEXT NOT NULL,
    description TEXT,
    max_session INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user_policies (
    owner    TEXT NOT NULL COLLATE NOCASE,
    name     TEXT NOT NULL COLLATE NOCASE,
    document TEXT NOT NULL,
    PRIMARY KEY (owner, name)
);
CREATE TABLE IF NOT EXISTS role_policies (
    owner    TEXT NOT NULL COLLATE NOCASE,
    name     TEXT NOT NULL COLLATE NOCASE,
    document TEXT NOT NULL,
    PRIMARY KEY (owner, name)
);
";

/// An inline policy row: (owner name, policy name, document JSON as given).
pub(crate) type PolicyRow = (String, String, String);

/// Everything in the store, for rebuilding the snapshot.
#[derive(Default)]
pub(crate) struct Rows {
    pub users: Vec<User>,
    pub keys: Vec<AccessKey>,
    pub roles: Vec<Role>,
    pub user_policies: Vec<PolicyRow>,
    pub role_policies: Vec<PolicyRow>,
}

/// Which inline-policy table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    User,
    Role,
}

impl Owner {
    fn table(self) -> &'static str {
        match self {
            Owner::User => "user_policies",
            Owner::Role => "role_policies",
        }
    }
}

pub(crate) struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating) `dir/iam.sqlite3` and its schema.
    pub fn open(dir: &Path) -> Result<Self, IamError> {
        let conn = thingwatch_sqlite::open(&dir.join(DB_FILE), &SCHEMA)?;
        Ok(Self { conn })
    }

    pub fn load(&self) -> Result<Rows, IamError> {
        let c = &self.conn;
        let users = c
            .prepare("SELECT name, id, path, arn, created_ms FROM users")?
            .query_map([], |r| {
                Ok(User {
                    user_name: r.get(0)?,
                    user_id: r.get(1)?,
                    path: r.get(2)?,
                    arn: r.get(3)?,
                    create_date_ms: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let keys = c
            .prepare("SELECT user_name, id, secret, status, created_ms FROM access_keys ORDER BY created_ms, id")?
            .query_map([], |r| {
                let status: String = r.get(3)?;
                Ok(AccessKey {
                    user_name: r.get(0)?,
                    access_key_id: r.get(1)?,
                    secret_access_key: r.get(2)?,
                    // Anything but "Active" fails closed.
                    status: KeyStatus::parse(&status).unwrap_or(KeyStatus::Inactive),
                    create_date_ms: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let roles = c
            .prepare(
                "SELECT name, id, path, arn, trust, description, max_session, created_ms FROM roles",
            )?
            .query_map([], |r| {
                Ok(Role {
                    role_name: r.get(0)?,
                    role_id: r.get(1)?,
                    path: r.get(2)?,
                    arn: r.get(3)?,
                    assume_role_policy_document: r.get(4)?,
                    description: r.get(5)?,
                    max_session_duration_s: r.get(6)?,
                    create_date_ms: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let policies = |owner: Owner| -> Result<Vec<PolicyRow>, IamError> {
            let sql = format!("SELECT owner, name, document FROM {}", owner.table());
            Ok(c.prepare(&sql)?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?)
        };
        Ok(Rows {
            users,
            keys,
            roles,
            user_policies: policies(Owner::User)?,
            role_policies: policies(Owner::Role)?,
        })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, IamError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), IamError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn insert_user(&self, u: &User) -> Result<(), IamError> {
        self.conn.execute(
            "INSERT INTO users (name, id, path, arn, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![u.user_name, u.user_id, u.path, u.arn, u.create_date_ms],
        )?;
        Ok(())
    }

    pub fn delete_user(&self, name: &str) -> Result<(), IamError> {
        self.conn
            .execute("DELETE FROM users WHERE name = ?1", [name])?;
        Ok(())
    }

    pub fn insert_key(&self, k: &AccessKey) -> Result<(), IamError> {
        self.conn.execute(
            "INSERT INTO access_keys (id, user_name, secret, status, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                k.access_key_id,
                k.user_name,
                k.secret_access_key,
                k.status.as_str(),
                k.create_date_ms
            ],
        )?;
        Ok(())
    }

    pub fn set_key_status(&self, id: &str, status: KeyStatus) -> Result<(), IamError> {
        self.conn.execute(
            "UPDATE access_keys SET status = ?2 WHERE id = ?1",
            params![id, status.as_str()],
        )?;
        Ok(())
    }

    pub fn delete_key(&self, id: &str) -> Result<(), IamError> {
        self.conn
            .execute("DELETE FROM access_keys WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn insert_role(&self, r: &Role) -> Result<(), IamError> {
        self.conn.execute(
            "INSERT INTO roles (name, id, path, arn, trust, description, max_session, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                r.role_name,
                r.role_id,
                r.path,
                r.arn,
                r.assume_role_policy_document,
                r.description,
                r.max_session_duration_s,
                r.create_date_ms
            ],
        )?;
        Ok(())
    }

    pub fn set_trust(&self, role: &str, document: &str) -> Result<(), IamError> {
        self.conn.execute(
            "UPDATE roles SET trust = ?2 WHERE name = ?1",
            params![role, document],
        )?;
        Ok(())
    }

    pub fn delete_role(&self, name: &str) -> Result<(), IamError> {
        self.conn
            .execute("DELETE FROM roles WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Inserts or replaces an inline policy (PutUserPolicy / PutRolePolicy replace by name;
    /// a replacement keeps the stored spelling of the policy name).
    pub fn put_policy(
        &self,
        owner: Owner,
        owner_name: &str,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        let sql = format!(
            "INSERT INTO {} (owner, name, document) VALUES (?1, ?2, ?3)
             ON CONFLICT(owner, name) DO UPDATE SET document = excluded.document",
            owner.table()
        );
        self.conn
            .execute(&sql, params![owner_name, name, document])?;
        Ok(())
    }

    pub fn delete_policy(
        &self,
        owner: Owner,
        owner_name: &str,
        name: &str,
    ) -> Result<(), IamError> {
        let sql = format!(
            "DELETE FROM {} WHERE owner = ?1 AND name = ?2",
            owner.table()
        );
        self.conn.execute(&sql, params![owner_name, name])?;
        Ok(())
    }
}
