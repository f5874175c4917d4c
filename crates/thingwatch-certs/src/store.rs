//! The SQLite side of the registry: schema and the row-level reads and writes. No AWS rules
//! live here; `registry.rs` applies them. The connection is opened by
//! [`thingwatch_sqlite::open`] (WAL verified, `synchronous=NORMAL`, busy timeout, foreign
//! keys; ADR 0006).
//!
//! Durability: in WAL mode a committed transaction is in the `-wal` file before `COMMIT`
//! returns, so a killed process loses nothing; with `synchronous=NORMAL` only an OS crash or
//! power loss can roll back the last transactions (SQLite, *Write-Ahead Logging*).

use crate::error::CertError;
use crate::model::{
    AutoRegistrationStatus, CaCertificateStatus, CertificateMode, CertificateStatus,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::Path;
use thingwatch_sqlite::{Migration, Schema};

/// The database file inside the data directory.
pub const DB_FILE: &str = "certificates.sqlite3";

/// Version 1: device and CA certificates, and `meta` (the registration code). Its version was
/// the `meta` row "1" before `user_version`, and that row is kept in step.
const SCHEMA: Schema = Schema::with_legacy_meta_version(DB_FILE, &[Migration::Sql(SCHEMA_V1)]);

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS certificates (
    id TEXT PRIMARY KEY,
    der BLOB NOT NULL,
    status TEXT NOT NULL,
    issuer_kind TEXT NOT NULL CHECK (issuer_kind IN ('OWN', 'CA', 'NONE')),
    ca_id TEXT,
    mode TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    customer_version INTEGER NOT NULL,
    generation_id TEXT NOT NULL,
    not_before_ms INTEGER NOT NULL,
    not_after_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS certificates_by_created ON certificates(created_ms, id);
CREATE INDEX IF NOT EXISTS certificates_by_ca ON certificates(ca_id, created_ms, id);
CREATE TABLE IF NOT EXISTS ca_certificates (
    id TEXT PRIMARY KEY,
    der BLOB NOT NULL,
    status TEXT NOT NULL,
    auto_registration TEXT NOT NULL,
    mode TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    customer_version INTEGER NOT NULL,
    generation_id TEXT NOT NULL,
    not_before_ms INTEGER NOT NULL,
    not_after_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS ca_certificates_by_created ON ca_certificates(created_ms, id);
";

/// Who vouches for a device certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum IssuerKind {
    /// Issued by Thingwatch's own root CA (CreateKeysAndCertificate, CreateCertificateFromCsr,
    /// or RegisterCertificate of a certificate our CA signed).
    Own,
    /// Signed by this registered CA certificate.
    Ca(String),
    /// Registered without a CA (SNI_ONLY): no chain is checked.
    None,
}

/// One `certificates` row.
#[derive(Debug, Clone)]
pub(crate) struct CertRow {
    pub id: String,
    pub der: Vec<u8>,
    pub status: CertificateStatus,
    pub issuer: IssuerKind,
    pub mode: CertificateMode,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub customer_version: i32,
    pub generation_id: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
}

/// One `ca_certificates` row.
#[derive(Debug, Clone)]
pub(crate) struct CaRow {
    pub id: String,
    pub der: Vec<u8>,
    pub status: CaCertificateStatus,
    pub auto_registration: AutoRegistrationStatus,
    pub mode: CertificateMode,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub customer_version: i32,
    pub generation_id: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
}

/// A page request in storage terms: after `(created_ms, id)` in the given order.
pub(crate) struct PageQuery<'a> {
    pub after: Option<(i64, &'a str)>,
    pub ascending: bool,
    pub limit: u32,
}

/// The open database.
pub(crate) struct Store {
    conn: Connection,
}

const CERT_COLS: &str = "id, der, status, issuer_kind, ca_id, mode, created_ms, modified_ms, \
                         customer_version, generation_id, not_before_ms, not_after_ms";
const CA_COLS: &str = "id, der, status, auto_registration, mode, created_ms, modified_ms, \
                       customer_version, generation_id, not_before_ms, not_after_ms";

fn bad_row(what: &str, v: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("{what} '{v}'"), rusqlite::types::Type::Text)
}

fn cert_row(r: &Row<'_>) -> rusqlite::Result<CertRow> {
    let status: String = r.get(2)?;
    let kind: String = r.get(3)?;
    let ca_id: Option<String> = r.get(4)?;
    let issuer = match (kind.as_str(), ca_id) {
        ("OWN", _) => IssuerKind::Own,
        ("CA", Some(ca)) => IssuerKind::Ca(ca),
        ("NONE", _) => IssuerKind::None,
        _ => return Err(bad_row("issuer_kind", &kind)),
    };
    let mode: String = r.get(5)?;
    Ok(CertRow {
        id: r.get(0)?,
        der: r.get(1)?,
        status: status.parse().map_err(|_| bad_row("status", &status))?,
        issuer,
        mode: CertificateMode::parse_stored(&mode),
        created_ms: r.get(6)?,
        modified_ms: r.get(7)?,
        customer_version: r.get(8)?,
        generation_id: r.get(9)?,
        not_before_ms: r.get(10)?,
        not_after_ms: r.get(11)?,
    })
}

fn ca_row(r: &Row<'_>) -> rusqlite::Result<CaRow> {
    let status: String = r.get(2)?;
    let auto: String = r.get(3)?;
    let mode: String = r.get(4)?;
    Ok(CaRow {
        id: r.get(0)?,
        der: r.get(1)?,
        status: status.parse().map_err(|_| bad_row("status", &status))?,
        auto_registration: auto
            .parse()
            .map_err(|_| bad_row("auto_registration", &auto))?,
        mode: CertificateMode::parse_stored(&mode),
        created_ms: r.get(5)?,
        modified_ms: r.get(6)?,
        customer_version: r.get(7)?,
        generation_id: r.get(8)?,
        not_before_ms: r.get(9)?,
        not_after_ms: r.get(10)?,
    })
}

impl Store {
    /// Opens (creating if needed) `dir/certificates.sqlite3`.
    pub fn open(dir: &Path) -> Result<Store, CertError> {
        let conn = thingwatch_sqlite::open(&dir.join(DB_FILE), &SCHEMA)?;
        Ok(Store { conn })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, CertError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), CertError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn all_certs(&self) -> Result<Vec<CertRow>, CertError> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {CERT_COLS} FROM certificates"))?;
        let rows = st.query_map([], cert_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn all_cas(&self) -> Result<Vec<CaRow>, CertError> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {CA_COLS} FROM ca_certificates"))?;
        let rows = st.query_map([], ca_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn cert(&self, id: &str) -> Result<Option<CertRow>, CertError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {CERT_COLS} FROM certificates WHERE id = ?1"),
                [id],
                cert_row,
            )
            .optional()?)
    }

    pub fn ca(&self, id: &str) -> Result<Option<CaRow>, CertError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {CA_COLS} FROM ca_certificates WHERE id = ?1"),
                [id],
                ca_row,
            )
            .optional()?)
    }

    pub fn insert_cert(&self, row: &CertRow) -> Result<(), CertError> {
        let (kind, ca_id) = match &row.issuer {
            IssuerKind::Own => ("OWN", None),
            IssuerKind::Ca(id) => ("CA", Some(id.as_str())),
            IssuerKind::None => ("NONE", None),
        };
        self.conn.execute(
            &format!("INSERT INTO certificates ({CERT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                row.id,
                row.der,
                row.status.as_str(),
                kind,
                ca_id,
                row.mode.as_str(),
                row.created_ms,
                row.modified_ms,
                row.customer_version,
                row.generation_id,
                row.not_before_ms,
                row.not_after_ms
            ],
        )?;
        Ok(())
    }

    pub fn insert_ca(&self, row: &CaRow) -> Result<(), CertError> {
        self.conn.execute(
            &format!("INSERT INTO ca_certificates ({CA_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
            params![
                row.id,
                row.der,
                row.status.as_str(),
                row.auto_registration.as_str(),
                row.mode.as_str(),
                row.created_ms,
                row.modified_ms,
                row.customer_version,
                row.generation_id,
                row.not_before_ms,
                row.not_after_ms
            ],
        )?;
        Ok(())
    }

    /// Writes a changed status / version of an existing certificate row.
    pub fn update_cert(&self, row: &CertRow) -> Result<(), CertError> {
        self.conn.execute(
            "UPDATE certificates SET status = ?2, modified_ms = ?3, customer_version = ?4,
             generation_id = ?5 WHERE id = ?1",
            params![
                row.id,
                row.status.as_str(),
                row.modified_ms,
                row.customer_version,
                row.generation_id
            ],
        )?;
        Ok(())
    }

    pub fn update_ca(&self, row: &CaRow) -> Result<(), CertError> {
        self.conn.execute(
            "UPDATE ca_certificates SET status = ?2, auto_registration = ?3, modified_ms = ?4,
             customer_version = ?5, generation_id = ?6 WHERE id = ?1",
            params![
                row.id,
                row.status.as_str(),
                row.auto_registration.as_str(),
                row.modified_ms,
                row.customer_version,
                row.generation_id
            ],
        )?;
        Ok(())
    }

    pub fn delete_cert(&self, id: &str) -> Result<(), CertError> {
        self.conn
            .execute("DELETE FROM certificates WHERE id = ?1", [id])?;
        Ok(())
    }

    pub fn delete_ca(&self, id: &str) -> Result<(), CertError> {
        self.conn
            .execute("DELETE FROM ca_certificates WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Number of device certificates registered with CA `ca_id`.
    pub fn count_by_ca(&self, ca_id: &str) -> Result<u64, CertError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM certificates WHERE ca_id = ?1",
            [ca_id],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A page of device certificates (optionally only those of CA `ca_id`), `limit` rows.
    pub fn page_certs(
        &self,
        ca_id: Option<&str>,
        q: &PageQuery<'_>,
    ) -> Result<Vec<CertRow>, CertError> {
        let (cmp, dir) = if q.ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let (after_ms, after_id) = q.after.unwrap_or((0, ""));
        let sql = format!(
            "SELECT {CERT_COLS} FROM certificates
             WHERE (?1 IS NULL OR ca_id = ?1)
               AND (?2 = 0 OR (created_ms, id) {cmp} (?3, ?4))
             ORDER BY created_ms {dir}, id {dir} LIMIT ?5"
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(
                params![ca_id, q.after.is_some(), after_ms, after_id, q.limit],
                cert_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A page of CA certificates.
    pub fn page_cas(&self, q: &PageQuery<'_>) -> Result<Vec<CaRow>, CertError> {
        let (cmp, dir) = if q.ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let (after_ms, after_id) = q.after.unwrap_or((0, ""));
        let sql = format!(
            "SELECT {CA_COLS} FROM ca_certificates
             WHERE (?1 = 0 OR (created_ms, id) {cmp} (?2, ?3))
             ORDER BY created_ms {dir}, id {dir} LIMIT ?4"
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map(
                params![q.after.is_some(), after_ms, after_id, q.limit],
                ca_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
