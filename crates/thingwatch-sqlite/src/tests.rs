//! Tests of [`crate::open`]: the pragmas are verified, migrations run once and in order, newer
//! files are refused, files from before `user_version` are upgraded in place.

use super::*;
use std::path::PathBuf;

/// A `log (n)` table; each migration appends its number, so the rows show which ran.
const M1: Migration = Migration::Sql(
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS log (n INTEGER NOT NULL);
     INSERT INTO log (n) VALUES (1);",
);
const M2: Migration = Migration::Sql("INSERT INTO log (n) VALUES (2);");
const M3: Migration = Migration::Code(|tx| {
    tx.execute("INSERT INTO log (n) VALUES (3)", [])?;
    Ok(())
});

const TWO: Schema = Schema::new("test.db", &[M1, M2]);
const THREE: Schema = Schema::new("test.db", &[M1, M2, M3]);

fn file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("test.db");
    (dir, path)
}

fn log(conn: &Connection) -> Vec<i64> {
    conn.prepare("SELECT n FROM log ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The one integer `sql` answers.
fn scalar(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn user_version(conn: &Connection) -> i64 {
    scalar(conn, "PRAGMA user_version")
}

fn legacy_row(conn: &Connection) -> Option<String> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )
    .optional()
    .unwrap()
}

#[test]
fn a_database_that_cannot_be_wal_is_refused() {
    let e = open(Path::new(":memory:"), &TWO).unwrap_err();
    assert!(
        matches!(&e, OpenError::PragmaRefused { pragma: "journal_mode", got, .. } if got == "memory"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "test.db: PRAGMA journal_mode = WAL did not apply (it reads memory)"
    );
}

#[test]
fn the_pragmas_read_back() {
    let (_dir, path) = file();
    let conn = open(&path, &TWO).unwrap();
    let pragma = |p: &str| -> Value {
        conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(pragma("journal_mode"), Value::Text("wal".into()));
    assert_eq!(pragma("synchronous"), Value::Integer(1), "NORMAL");
    assert_eq!(pragma("foreign_keys"), Value::Integer(1));
    assert_eq!(
        pragma("busy_timeout"),
        Value::Integer(BUSY_TIMEOUT.as_millis() as i64)
    );
    assert_eq!(BUSY_TIMEOUT, Duration::from_secs(5));
}

#[test]
fn foreign_keys_are_enforced() {
    const FK: Schema = Schema {
        name: "fk.db",
        migrations: &[Migration::Sql(
            "CREATE TABLE IF NOT EXISTS parent (id TEXT PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS child (p TEXT NOT NULL REFERENCES parent(id) ON DELETE CASCADE);",
        )],
        legacy_meta_version: false,
    };
    let (_dir, path) = file();
    let conn = open(&path, &FK).unwrap();
    let e = conn
        .execute("INSERT INTO child (p) VALUES ('nobody')", [])
        .unwrap_err();
    assert_eq!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
    conn.execute_batch(
        "INSERT INTO parent VALUES ('a'); INSERT INTO child VALUES ('a'); DELETE FROM parent;",
    )
    .unwrap();
    // ON DELETE CASCADE ran.
    assert_eq!(scalar(&conn, "SELECT COUNT(*) FROM child"), 0);
}

#[test]
fn migrations_run_once_and_in_order() {
    let (_dir, path) = file();
    let mut initialized = 0;
    for _ in 0..2 {
        let conn = open_with(&path, &TWO, |_| {
            initialized += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((log(&conn), user_version(&conn)), (vec![1, 2], 2));
    }
    assert_eq!(initialized, 1, "only the new file is initialized");
    // A build with one more migration applies only that one.
    let conn = open(&path, &THREE).unwrap();
    assert_eq!((log(&conn), user_version(&conn)), (vec![1, 2, 3], 3));
}

#[test]
fn a_newer_database_is_refused_and_left_alone() {
    let (_dir, path) = file();
    drop(open(&path, &THREE).unwrap());
    let e = open(&path, &TWO).unwrap_err();
    assert!(
        matches!(
            e,
            OpenError::TooNew {
                found: 3,
                known: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "test.db has schema version 3; this build knows versions up to 2"
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!((log(&conn), user_version(&conn)), (vec![1, 2, 3], 3));
}

#[test]
fn a_failed_migration_changes_nothing() {
    const BROKEN: Schema = Schema {
        name: "test.db",
        migrations: &[M1, Migration::Sql("INSERT INTO no_such_table VALUES (1);")],
        legacy_meta_version: false,
    };
    let (_dir, path) = file();
    let e = open(&path, &BROKEN).unwrap_err();
    assert!(matches!(e, OpenError::Sqlite { .. }), "{e:?}");
    let conn = Connection::open(&path).unwrap();
    // The first migration rolled back too: no table, no version.
    let tables = scalar(&conn, "SELECT COUNT(*) FROM sqlite_master");
    assert_eq!((tables, user_version(&conn)), (0, 0));
}

#[test]
fn a_database_from_before_user_version_is_upgraded_in_place() {
    let (_dir, path) = file();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE log (n INTEGER NOT NULL);
             INSERT INTO log (n) VALUES (0);",
        )
        .unwrap();
    }
    let conn = open(&path, &TWO).unwrap();
    // Version 0: the idempotent first migration ran beside the existing data.
    assert_eq!((log(&conn), user_version(&conn)), (vec![0, 1, 2], 2));
}

const LEGACY: Schema = Schema::with_legacy_meta_version("legacy.db", &[M1, M2]);

/// A file as the stores wrote it before: the version in `meta`, `user_version` 0.
fn legacy_file(version: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = file();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE log (n INTEGER NOT NULL);",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
        [version],
    )
    .unwrap();
    (dir, path)
}

/// Rewrites the legacy row and closes the connection.
fn set_legacy_row(conn: Connection, version: &str) {
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        [version],
    )
    .unwrap();
}

#[test]
fn a_legacy_meta_version_is_honoured_and_kept_in_step() {
    let (_dir, path) = legacy_file("1");
    let mut initialized = false;
    let conn = open_with(&path, &LEGACY, |_| {
        initialized = true;
        Ok(())
    })
    .unwrap();
    assert!(!initialized, "a file with a recorded version is not new");
    assert_eq!(log(&conn), vec![2], "only migration 2 ran");
    assert_eq!(user_version(&conn), 2);
    assert_eq!(legacy_row(&conn).as_deref(), Some("2"));
    // The older of the two records wins (migrations are idempotent).
    set_legacy_row(conn, "1");
    let conn = open(&path, &LEGACY).unwrap();
    assert_eq!(log(&conn), vec![2, 2]);
    assert_eq!(legacy_row(&conn).as_deref(), Some("2"));
    // Either record newer than the code: refused.
    set_legacy_row(conn, "99");
    let e = open(&path, &LEGACY).unwrap_err();
    assert!(matches!(e, OpenError::TooNew { found: 99, .. }), "{e:?}");
}

#[test]
fn a_new_legacy_schema_file_gets_the_row() {
    let (_dir, path) = file();
    let conn = open(&path, &LEGACY).unwrap();
    assert_eq!(legacy_row(&conn).as_deref(), Some("2"));
    assert_eq!(user_version(&conn), 2);
}

#[test]
fn a_version_that_is_not_a_number_is_refused() {
    let (_dir, path) = legacy_file("two");
    let e = open(&path, &LEGACY).unwrap_err();
    assert!(
        matches!(&e, OpenError::BadVersion { value, .. } if value == "two"),
        "{e:?}"
    );
}

#[test]
fn a_failing_initialize_keeps_nothing() {
    let (_dir, path) = file();
    let e = open_with(&path, &TWO, |_| Err(rusqlite::Error::InvalidQuery)).unwrap_err();
    assert!(matches!(e, OpenError::Sqlite { .. }), "{e:?}");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), 0);
}
