//! `DATA_DIR/sns/sns.db`: topics and subscriptions in SQLite (opened by `thingwatch_sqlite`).

use rusqlite::{Connection, OptionalExtension, params};
use thingwatch_sqlite::{Migration, Schema};

use crate::{SnsError, Subscription, Topic};

pub(crate) const SCHEMA: Schema = Schema::new(
    "sns.db",
    &[Migration::Sql(
        "CREATE TABLE IF NOT EXISTS topics (
            arn TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_ms INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS subscriptions (
            arn TEXT PRIMARY KEY,
            topic_arn TEXT NOT NULL REFERENCES topics(arn) ON DELETE CASCADE,
            protocol TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            token TEXT NOT NULL,
            confirmed INTEGER NOT NULL,
            created_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS subscriptions_by_topic ON subscriptions(topic_arn, arn);",
    )],
);

fn db(e: rusqlite::Error) -> SnsError {
    SnsError::Internal(format!("sns.db: {e}"))
}

const SUB_COLS: &str = "arn, topic_arn, protocol, endpoint, token, confirmed";

fn sub_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        arn: r.get(0)?,
        topic_arn: r.get(1)?,
        protocol: r.get(2)?,
        endpoint: r.get(3)?,
        token: r.get(4)?,
        confirmed: r.get::<_, i64>(5)? != 0,
    })
}

pub(crate) fn insert_topic(
    c: &Connection,
    arn: &str,
    name: &str,
    now: i64,
) -> Result<(), SnsError> {
    c.execute(
        "INSERT INTO topics (arn, name, created_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![arn, name, now],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn topic(c: &Connection, arn: &str) -> Result<Option<Topic>, SnsError> {
    c.query_row(
        "SELECT arn, name FROM topics WHERE arn = ?1",
        params![arn],
        |r| {
            Ok(Topic {
                arn: r.get(0)?,
                name: r.get(1)?,
            })
        },
    )
    .optional()
    .map_err(db)
}

pub(crate) fn delete_topic(c: &Connection, arn: &str) -> Result<(), SnsError> {
    c.execute("DELETE FROM topics WHERE arn = ?1", params![arn])
        .map_err(db)?;
    Ok(())
}

/// Topics ordered by ARN after `after`, at most `limit`.
pub(crate) fn topics(c: &Connection, after: &str, limit: usize) -> Result<Vec<Topic>, SnsError> {
    let mut st = c
        .prepare("SELECT arn, name FROM topics WHERE arn > ?1 ORDER BY arn LIMIT ?2")
        .map_err(db)?;
    let rows = st
        .query_map(params![after, limit as i64], |r| {
            Ok(Topic {
                arn: r.get(0)?,
                name: r.get(1)?,
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub(crate) fn insert_subscription(
    c: &Connection,
    s: &Subscription,
    now: i64,
) -> Result<(), SnsError> {
    c.execute(
        "INSERT INTO subscriptions (arn, topic_arn, protocol, endpoint, token, confirmed, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![s.arn, s.topic_arn, s.protocol, s.endpoint, s.token, s.confirmed as i64, now],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn subscription(c: &Connection, arn: &str) -> Result<Option<Subscription>, SnsError> {
    c.query_row(
        &format!("SELECT {SUB_COLS} FROM subscriptions WHERE arn = ?1"),
        params![arn],
        sub_row,
    )
    .optional()
    .map_err(db)
}

pub(crate) fn subscription_by_endpoint(
    c: &Connection,
    topic_arn: &str,
    protocol: &str,
    endpoint: &str,
) -> Result<Option<Subscription>, SnsError> {
    c.query_row(
        &format!(
            "SELECT {SUB_COLS} FROM subscriptions WHERE topic_arn = ?1 AND protocol = ?2 AND endpoint = ?3"
        ),
        params![topic_arn, protocol, endpoint],
        sub_row,
    )
    .optional()
    .map_err(db)
}

pub(crate) fn subscription_by_token(
    c: &Connection,
    topic_arn: &str,
    token: &str,
) -> Result<Option<Subscription>, SnsError> {
    c.query_row(
        &format!("SELECT {SUB_COLS} FROM subscriptions WHERE topic_arn = ?1 AND token = ?2"),
        params![topic_arn, token],
        sub_row,
    )
    .optional()
    .map_err(db)
}

pub(crate) fn confirm(c: &Connection, arn: &str) -> Result<(), SnsError> {
    c.execute(
        "UPDATE subscriptions SET confirmed = 1 WHERE arn = ?1",
        params![arn],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn delete_subscription(c: &Connection, arn: &str) -> Result<(), SnsError> {
    c.execute("DELETE FROM subscriptions WHERE arn = ?1", params![arn])
        .map_err(db)?;
    Ok(())
}

/// Subscriptions (of `topic_arn`, or all) ordered by ARN after `after`, at most `limit`.
pub(crate) fn subscriptions(
    c: &Connection,
    topic_arn: Option<&str>,
    after: &str,
    limit: usize,
) -> Result<Vec<Subscription>, SnsError> {
    let mut st = c
        .prepare(&format!(
            "SELECT {SUB_COLS} FROM subscriptions WHERE (?1 IS NULL OR topic_arn = ?1) AND arn > ?2
             ORDER BY arn LIMIT ?3"
        ))
        .map_err(db)?;
    let rows = st
        .query_map(params![topic_arn, after, limit as i64], sub_row)
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}
