//! `DATA_DIR/jobs/jobs.db`: jobs, executions, the rollout queue and job templates in SQLite
//! (WAL, `synchronous=NORMAL` through `thingwatch_sqlite`: a change that returned survives
//! `kill -9`).
//!
//! - `jobs(job_id, seq, status, target_selection, body)`: `body` is the [`Job`] as JSON;
//!   `seq` orders ListJobs (newest first, as AWS lists).
//! - `executions`: one row per execution (`job_id, thing, execution_number`); `latest` marks
//!   the thing's current execution of the job (older ones are retries' predecessors),
//!   `pending` the `QUEUED`/`IN_PROGRESS` ones, `deadline` the earlier timeout (indexed for
//!   the scheduler).
//! - `rollout(job_id, seq, thing)`: targets resolved but not yet notified (a rollout rate or
//!   a schedule holds them back).
//! - `templates(template_id, seq, body)`.

use crate::model::{Execution, ExecutionStatus, Job, JobTemplate, ProcessCounts};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::BTreeMap;
use thingwatch_sqlite::{Migration, Schema};

/// Prepared statements kept per connection (more than this module has).
pub(crate) const STATEMENT_CACHE: usize = 64;

/// The database file in the jobs directory.
pub const DB_FILE: &str = "jobs.db";

pub(crate) const SCHEMA: Schema = Schema::new(
    DB_FILE,
    &[Migration::Sql(
        "CREATE TABLE IF NOT EXISTS jobs (
            job_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            status TEXT NOT NULL,
            target_selection TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS jobs_seq ON jobs(seq);
        CREATE TABLE IF NOT EXISTS executions (
            job_id TEXT NOT NULL,
            thing TEXT NOT NULL,
            execution_number INTEGER NOT NULL,
            status TEXT NOT NULL,
            latest INTEGER NOT NULL,
            pending INTEGER NOT NULL,
            force_canceled INTEGER NOT NULL,
            status_details TEXT NOT NULL,
            queued_at INTEGER NOT NULL,
            started_at INTEGER,
            last_updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            retry_attempt INTEGER NOT NULL,
            in_progress_deadline INTEGER,
            step_deadline INTEGER,
            deadline INTEGER,
            PRIMARY KEY (job_id, thing, execution_number)
        );
        CREATE INDEX IF NOT EXISTS executions_pending ON executions(thing, pending, queued_at);
        CREATE INDEX IF NOT EXISTS executions_deadline ON executions(deadline)
            WHERE deadline IS NOT NULL;
        CREATE INDEX IF NOT EXISTS executions_thing ON executions(thing, job_id);
        CREATE INDEX IF NOT EXISTS executions_job_pending ON executions(job_id, pending);
        CREATE TABLE IF NOT EXISTS rollout (
            job_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            thing TEXT NOT NULL,
            PRIMARY KEY (job_id, seq)
        );
        CREATE TABLE IF NOT EXISTS templates (
            template_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            body TEXT NOT NULL
        );",
    )],
);

const EXECUTION_COLUMNS: &str = "job_id, thing, execution_number, status, force_canceled, \
     status_details, queued_at, started_at, last_updated_at, version, retry_attempt, \
     in_progress_deadline, step_deadline";

fn execution_of(row: &Row<'_>) -> rusqlite::Result<Execution> {
    let status: String = row.get(3)?;
    let details: String = row.get(5)?;
    Ok(Execution {
        job_id: row.get(0)?,
        thing_name: row.get(1)?,
        execution_number: row.get(2)?,
        status: ExecutionStatus::parse(&status).unwrap_or(ExecutionStatus::Queued),
        force_canceled: row.get::<_, i64>(4)? != 0,
        status_details: serde_json::from_str(&details).unwrap_or_default(),
        queued_at_ms: row.get(6)?,
        started_at_ms: row.get(7)?,
        last_updated_at_ms: row.get(8)?,
        version_number: row.get(9)?,
        retry_attempt: row.get(10)?,
        in_progress_deadline_ms: row.get(11)?,
        step_deadline_ms: row.get(12)?,
    })
}

/// Runs one statement through the connection's statement cache (parsed once).
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// Reads one row through the connection's statement cache.
fn row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

fn details_json(details: &BTreeMap<String, String>) -> String {
    serde_json::to_string(details).unwrap_or_else(|_| "{}".to_owned())
}

/// Inserts a new execution as the thing's latest of the job (older ones stop being latest).
pub(crate) fn insert_execution(conn: &Connection, e: &Execution) -> rusqlite::Result<()> {
    exec(
        conn,
        "UPDATE executions SET latest = 0 WHERE job_id = ?1 AND thing = ?2 AND latest = 1",
        params![e.job_id, e.thing_name],
    )?;
    exec(
        conn,
        "INSERT INTO executions (job_id, thing, execution_number, status, latest, pending, \
         force_canceled, status_details, queued_at, started_at, last_updated_at, version, \
         retry_attempt, in_progress_deadline, step_deadline, deadline) \
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            e.job_id,
            e.thing_name,
            e.execution_number,
            e.status.as_str(),
            e.status.is_pending() as i64,
            e.force_canceled as i64,
            details_json(&e.status_details),
            e.queued_at_ms,
            e.started_at_ms,
            e.last_updated_at_ms,
            e.version_number,
            e.retry_attempt,
            e.in_progress_deadline_ms,
            e.step_deadline_ms,
            e.deadline_ms(),
        ],
    )?;
    Ok(())
}

/// Writes an execution's changed state back.
pub(crate) fn update_execution(conn: &Connection, e: &Execution) -> rusqlite::Result<()> {
    let deadline = if e.status.is_pending() {
        e.deadline_ms()
    } else {
        None
    };
    exec(
        conn,
        "UPDATE executions SET status = ?4, pending = ?5, force_canceled = ?6, \
         status_details = ?7, started_at = ?8, last_updated_at = ?9, version = ?10, \
         in_progress_deadline = ?11, step_deadline = ?12, deadline = ?13 \
         WHERE job_id = ?1 AND thing = ?2 AND execution_number = ?3",
        params![
            e.job_id,
            e.thing_name,
            e.execution_number,
            e.status.as_str(),
            e.status.is_pending() as i64,
            e.force_canceled as i64,
            details_json(&e.status_details),
            e.started_at_ms,
            e.last_updated_at_ms,
            e.version_number,
            e.in_progress_deadline_ms,
            e.step_deadline_ms,
            deadline,
        ],
    )?;
    Ok(())
}

/// The thing's latest execution of the job, or the numbered one.
pub(crate) fn execution(
    conn: &Connection,
    job_id: &str,
    thing: &str,
    execution_number: Option<i64>,
) -> rusqlite::Result<Option<Execution>> {
    match execution_number {
        Some(n) => conn
            .query_row(
                &format!(
                    "SELECT {EXECUTION_COLUMNS} FROM executions \
                     WHERE job_id = ?1 AND thing = ?2 AND execution_number = ?3"
                ),
                params![job_id, thing, n],
                execution_of,
            )
            .optional(),
        None => conn
            .query_row(
                &format!(
                    "SELECT {EXECUTION_COLUMNS} FROM executions \
                     WHERE job_id = ?1 AND thing = ?2 AND latest = 1"
                ),
                params![job_id, thing],
                execution_of,
            )
            .optional(),
    }
}

/// The thing's pending executions: `IN_PROGRESS` ones first, then `QUEUED`, each oldest
/// first (the order `$next` picks from).
pub(crate) fn pending_of(conn: &Connection, thing: &str) -> rusqlite::Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE thing = ?1 AND pending = 1 \
         ORDER BY status = 'QUEUED', queued_at, job_id"
    ))?;
    let rows = stmt.query_map(params![thing], execution_of)?;
    rows.collect()
}

/// A page of a job's latest executions, by thing name after `after`.
pub(crate) fn executions_of_job(
    conn: &Connection,
    job_id: &str,
    status: Option<ExecutionStatus>,
    after: &str,
    limit: usize,
) -> rusqlite::Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE job_id = ?1 AND latest = 1 \
         AND thing > ?2 AND (?3 IS NULL OR status = ?3) ORDER BY thing LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![job_id, after, status.map(|s| s.as_str()), limit as i64],
        execution_of,
    )?;
    rows.collect()
}

/// A page of a thing's executions (every execution number), by (job, number) after `after`.
pub(crate) fn executions_of_thing(
    conn: &Connection,
    thing: &str,
    status: Option<ExecutionStatus>,
    job_id: Option<&str>,
    after: (&str, i64),
    limit: usize,
) -> rusqlite::Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE thing = ?1 \
         AND (job_id > ?2 OR (job_id = ?2 AND execution_number > ?3)) \
         AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR job_id = ?5) \
         ORDER BY job_id, execution_number LIMIT ?6"
    ))?;
    let rows = stmt.query_map(
        params![
            thing,
            after.0,
            after.1,
            status.map(|s| s.as_str()),
            job_id,
            limit as i64
        ],
        execution_of,
    )?;
    rows.collect()
}

/// Executions whose timer fired by `now_ms`.
pub(crate) fn expired(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> rusqlite::Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE deadline IS NOT NULL \
         AND deadline <= ?1 ORDER BY deadline LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now_ms, limit as i64], execution_of)?;
    rows.collect()
}

/// The earliest pending timer, epoch ms.
pub(crate) fn next_deadline(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    row(
        conn,
        "SELECT MIN(deadline) FROM executions WHERE deadline IS NOT NULL",
        [],
        |r| r.get(0),
    )
}

/// The job's things by the status of their latest execution.
pub(crate) fn counts(conn: &Connection, job_id: &str) -> rusqlite::Result<ProcessCounts> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, COUNT(*) FROM executions WHERE job_id = ?1 AND latest = 1 GROUP BY status",
    )?;
    let mut rows = stmt.query(params![job_id])?;
    let mut counts = ProcessCounts::default();
    while let Some(row) = rows.next()? {
        let status: String = row.get(0)?;
        let n: i64 = row.get(1)?;
        if let Some(s) = ExecutionStatus::parse(&status) {
            counts.add(s, n as u64);
        }
    }
    Ok(counts)
}

/// Does the job have a `QUEUED` or `IN_PROGRESS` execution? (Index `executions_job_pending`:
/// no scan of the job's executions.)
pub(crate) fn has_pending(conn: &Connection, job_id: &str) -> rusqlite::Result<bool> {
    row(
        conn,
        "SELECT EXISTS (SELECT 1 FROM executions WHERE job_id = ?1 AND pending = 1)",
        params![job_id],
        |r| r.get(0),
    )
}

/// Things of the job with an execution (any number).
pub(crate) fn has_execution(
    conn: &Connection,
    job_id: &str,
    thing: &str,
) -> rusqlite::Result<bool> {
    row(
        conn,
        "SELECT EXISTS (SELECT 1 FROM executions WHERE job_id = ?1 AND thing = ?2) \
         OR EXISTS (SELECT 1 FROM rollout WHERE job_id = ?1 AND thing = ?2)",
        params![job_id, thing],
        |r| r.get(0),
    )
}

fn job_of(row: &Row<'_>) -> rusqlite::Result<Job> {
    let body: String = row.get(0)?;
    serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// One job.
pub(crate) fn job(conn: &Connection, job_id: &str) -> rusqlite::Result<Option<Job>> {
    row(
        conn,
        "SELECT body FROM jobs WHERE job_id = ?1",
        params![job_id],
        job_of,
    )
    .optional()
}

/// Inserts a job (the caller checked it does not exist).
pub(crate) fn insert_job(conn: &Connection, job: &Job) -> rusqlite::Result<()> {
    let seq: i64 = row(
        conn,
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs",
        [],
        |r| r.get(0),
    )?;
    exec(
        conn,
        "INSERT INTO jobs (job_id, seq, status, target_selection, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            job.job_id,
            seq,
            job.status.as_str(),
            job.config.target_selection.as_str(),
            body(job)
        ],
    )?;
    Ok(())
}

fn body<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Writes a job's changed state back.
pub(crate) fn update_job(conn: &Connection, job: &Job) -> rusqlite::Result<()> {
    exec(
        conn,
        "UPDATE jobs SET status = ?2, body = ?3 WHERE job_id = ?1",
        params![job.job_id, job.status.as_str(), body(job)],
    )?;
    Ok(())
}

/// Jobs (newest first) with `seq` below `before` (0 = from the newest).
pub(crate) fn jobs_page(
    conn: &Connection,
    before: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, Job)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body, seq FROM jobs WHERE (?1 = 0 OR seq < ?1) ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before, limit as i64], |r| {
        Ok((r.get(1)?, job_of(r)?))
    })?;
    rows.collect()
}

/// Jobs in `status`.
pub(crate) fn jobs_in(conn: &Connection, status: &str) -> rusqlite::Result<Vec<Job>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM jobs WHERE status = ?1 ORDER BY seq")?;
    let rows = stmt.query_map(params![status], job_of)?;
    rows.collect()
}

/// Deletes a job with its executions and rollout rows.
pub(crate) fn delete_job(conn: &Connection, job_id: &str) -> rusqlite::Result<()> {
    exec(
        conn,
        "DELETE FROM executions WHERE job_id = ?1",
        params![job_id],
    )?;
    exec(
        conn,
        "DELETE FROM rollout WHERE job_id = ?1",
        params![job_id],
    )?;
    exec(conn, "DELETE FROM jobs WHERE job_id = ?1", params![job_id])?;
    Ok(())
}

/// Queues targets for a later rollout.
pub(crate) fn push_rollout(
    conn: &Connection,
    job_id: &str,
    things: &[String],
) -> rusqlite::Result<()> {
    let start: i64 = row(
        conn,
        "SELECT COALESCE(MAX(seq), 0) FROM rollout WHERE job_id = ?1",
        params![job_id],
        |r| r.get(0),
    )?;
    let mut stmt =
        conn.prepare_cached("INSERT INTO rollout (job_id, seq, thing) VALUES (?1, ?2, ?3)")?;
    for (i, thing) in things.iter().enumerate() {
        stmt.execute(params![job_id, start + 1 + i as i64, thing])?;
    }
    Ok(())
}

/// Takes up to `limit` targets off the job's rollout queue, oldest first.
pub(crate) fn pop_rollout(
    conn: &Connection,
    job_id: &str,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    let rows: Vec<(i64, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, thing FROM rollout WHERE job_id = ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![job_id, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if let Some((last, _)) = rows.last() {
        exec(
            conn,
            "DELETE FROM rollout WHERE job_id = ?1 AND seq <= ?2",
            params![job_id, last],
        )?;
    }
    Ok(rows.into_iter().map(|(_, t)| t).collect())
}

/// Targets waiting in the job's rollout queue.
pub(crate) fn rollout_len(conn: &Connection, job_id: &str) -> rusqlite::Result<u64> {
    row(
        conn,
        "SELECT COUNT(*) FROM rollout WHERE job_id = ?1",
        params![job_id],
        |r| r.get::<_, i64>(0).map(|n| n as u64),
    )
}

/// Drops the job's rollout queue.
pub(crate) fn clear_rollout(conn: &Connection, job_id: &str) -> rusqlite::Result<()> {
    exec(
        conn,
        "DELETE FROM rollout WHERE job_id = ?1",
        params![job_id],
    )?;
    Ok(())
}

/// The job's pending latest executions.
pub(crate) fn pending_of_job(conn: &Connection, job_id: &str) -> rusqlite::Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE job_id = ?1 AND pending = 1"
    ))?;
    // (served by `executions_job_pending`)
    let rows = stmt.query_map(params![job_id], execution_of)?;
    rows.collect()
}

/// One template.
pub(crate) fn template(conn: &Connection, id: &str) -> rusqlite::Result<Option<JobTemplate>> {
    row(
        conn,
        "SELECT body FROM templates WHERE template_id = ?1",
        params![id],
        |r| {
            let body: String = r.get(0)?;
            serde_json::from_str(&body).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        },
    )
    .optional()
}

/// Inserts a template.
pub(crate) fn insert_template(conn: &Connection, t: &JobTemplate) -> rusqlite::Result<()> {
    let seq: i64 = row(
        conn,
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM templates",
        [],
        |r| r.get(0),
    )?;
    exec(
        conn,
        "INSERT INTO templates (template_id, seq, body) VALUES (?1, ?2, ?3)",
        params![t.job_template_id, seq, body(t)],
    )?;
    Ok(())
}

/// Templates by id after `after`.
pub(crate) fn templates_page(
    conn: &Connection,
    after: &str,
    limit: usize,
) -> rusqlite::Result<Vec<JobTemplate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM templates WHERE template_id > ?1 ORDER BY template_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        let body: String = r.get(0)?;
        serde_json::from_str(&body).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })?;
    rows.collect()
}

/// Deletes a template; `false` if there was none.
pub(crate) fn delete_template(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(exec(
        conn,
        "DELETE FROM templates WHERE template_id = ?1",
        params![id],
    )? > 0)
}

/// Deletes one execution; the thing's highest remaining execution of the job becomes latest.
pub(crate) fn delete_execution(conn: &Connection, e: &Execution) -> rusqlite::Result<()> {
    exec(
        conn,
        "DELETE FROM executions WHERE job_id = ?1 AND thing = ?2 AND execution_number = ?3",
        params![e.job_id, e.thing_name, e.execution_number],
    )?;
    exec(
        conn,
        "UPDATE executions SET latest = 1 WHERE job_id = ?1 AND thing = ?2 AND execution_number = \
         (SELECT MAX(execution_number) FROM executions WHERE job_id = ?1 AND thing = ?2) \
         AND NOT EXISTS (SELECT 1 FROM executions WHERE job_id = ?1 AND thing = ?2 AND latest = 1)",
        params![e.job_id, e.thing_name],
    )?;
    Ok(())
}

/// Jobs of `target_selection` in `status`.
pub(crate) fn continuous_in_progress(conn: &Connection) -> rusqlite::Result<Vec<Job>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM jobs WHERE status = 'IN_PROGRESS' AND target_selection = 'CONTINUOUS' ORDER BY seq",
    )?;
    let rows = stmt.query_map([], job_of)?;
    rows.collect()
}

/// Job ids with queued rollout targets.
pub(crate) fn jobs_with_rollout(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT job_id FROM rollout")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Up to `limit` executions of a job (any status), for deletion in batches.
pub(crate) fn some_executions_of(
    conn: &Connection,
    job_id: &str,
    limit: usize,
) -> rusqlite::Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE job_id = ?1 LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![job_id, limit as i64], execution_of)?;
    rows.collect()
}
