//! The device API — GetPendingJobExecutions, StartNextPendingJobExecution,
//! DescribeJobExecution, UpdateJobExecution — shared by the MQTT topics and the
//! `iot-jobs-data` HTTP API; each request writes its Jobs log entry under the caller's
//! [`ClientLog`] (so log targets by client ID, source IP and thing group apply), Success
//! (DEBUG) or Failure (ERROR, `reason` = the MQTT error code).
//!
//! The MQTT payloads (`…/accepted`, `…/rejected`, `notify`, `notify-next`) are written here
//! as the Developer Guide's *Jobs device MQTT API* shows them: times in epoch seconds, the job
//! document as a JSON object, `clientToken` echoed.

use crate::error::{ExecutionState, JobsError, JobsErrorKind, execution_not_found};
use crate::model::{
    Execution, ExecutionStatus, Job, JobStatus, MAX_STATUS_DETAIL_VALUE, MAX_TIMEOUT_MINUTES,
};
use crate::{Jobs, Outbox, now_ms, secs, store};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use thingwatch_events::{
    ClientLog, DescribeJobExecution, Failure, GetPendingJobExecution, JobRequest,
    StartNextPendingJobExecution, TraceId, UpdateJobExecution, request_failed_details,
    update_succeeded_details,
};

/// Who sent a device request: their logging handle (identity, protocol) and the request's
/// `clientToken`.
#[derive(Clone, Copy)]
pub struct DeviceCaller<'a> {
    /// The requester's logging handle (an MQTT connection's, or one built for the HTTP
    /// caller with protocol `HTTP`).
    pub log: &'a ClientLog,
    /// The request's `clientToken`, echoed in responses and written in the log entry.
    pub client_token: Option<&'a str>,
}

/// A thing's pending executions (GetPendingJobExecutions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJobs {
    /// `inProgressJobs`, oldest first.
    pub in_progress: Vec<Execution>,
    /// `queuedJobs`, oldest first.
    pub queued: Vec<Execution>,
}

/// An execution with, when asked for, its job's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobExecutionView {
    /// The execution.
    pub execution: Execution,
    /// The job document (JSON text).
    pub document: Option<String>,
    /// `approximateSecondsBeforeTimedOut` when the answer was made.
    pub seconds_before_timed_out: Option<i64>,
}

/// StartNextPendingJobExecution's members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartNextRequest {
    /// `statusDetails` for the started execution.
    pub status_details: Option<BTreeMap<String, String>>,
    /// `stepTimeoutInMinutes` (1–10080).
    pub step_timeout_in_minutes: Option<i64>,
}

/// UpdateJobExecution's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRequest {
    /// `status` as sent (`IN_PROGRESS`, `SUCCEEDED`, `FAILED`, `REJECTED`).
    pub status: String,
    /// `statusDetails`: replaces the execution's when present.
    pub status_details: Option<BTreeMap<String, String>>,
    /// `stepTimeoutInMinutes` (1–10080, or -1 to clear the step timer).
    pub step_timeout_in_minutes: Option<i64>,
    /// `expectedVersion`.
    pub expected_version: Option<i64>,
    /// `executionNumber` (the latest when absent).
    pub execution_number: Option<i64>,
    /// `includeJobExecutionState`.
    pub include_job_execution_state: bool,
    /// `includeJobDocument`.
    pub include_job_document: bool,
}

/// UpdateJobExecution's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateResult {
    /// The execution after the update.
    pub execution: Execution,
    /// The job document.
    pub document: String,
}

/// Checks a `statusDetails` map: keys 1–128 of `[a-zA-Z0-9:_-]`, values 1–1024 characters
/// without control characters (botocore `DetailsKey` / `DetailsValue`).
pub(crate) fn check_status_details(details: &BTreeMap<String, String>) -> Result<(), JobsError> {
    for (k, v) in details {
        let key_ok = !k.is_empty()
            && k.len() <= 128
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-'));
        if !key_ok {
            return Err(JobsError::invalid(format!(
                "statusDetails key '{k}' is invalid: 1 to 128 characters of [a-zA-Z0-9:_-]."
            )));
        }
        if v.is_empty()
            || v.chars().count() > MAX_STATUS_DETAIL_VALUE
            || v.chars().any(char::is_control)
        {
            return Err(JobsError::invalid(format!(
                "statusDetails value of '{k}' is invalid: 1 to {MAX_STATUS_DETAIL_VALUE} characters, no control characters."
            )));
        }
    }
    Ok(())
}

fn check_step_timeout(minutes: Option<i64>) -> Result<(), JobsError> {
    match minutes {
        None | Some(-1) => Ok(()),
        Some(m) if (1..=MAX_TIMEOUT_MINUTES).contains(&m) => Ok(()),
        Some(m) => Err(JobsError::invalid(format!(
            "stepTimeoutInMinutes {m} is invalid: it must be between 1 and {MAX_TIMEOUT_MINUTES}, or -1."
        ))),
    }
}

fn state_of(e: &Execution) -> ExecutionState {
    ExecutionState {
        status: e.status,
        status_details: e.status_details.clone(),
        version_number: e.version_number,
    }
}

/// The job of an execution, refusing jobs being deleted.
fn live_job(conn: &rusqlite::Connection, job_id: &str) -> Result<Option<Job>, JobsError> {
    Ok(store::job(conn, job_id)?.filter(|j| j.status != JobStatus::DeletionInProgress))
}

/// Writes the entry of a device request (not UpdateJobExecution, which carries more): the
/// event type's Success form, or its Failure form with the error's MQTT code.
macro_rules! log_request {
    ($self:expr, $caller:expr, $topic:expr, $job_id:expr, $result:expr, $event:ident) => {{
        let caller: DeviceCaller<'_> = $caller;
        let identity = caller.log.identity();
        let r = JobRequest {
            protocol: identity.protocol,
            client_id: &identity.client_id,
            topic_name: $topic,
            client_token: caller.client_token,
        };
        let job_id: Option<&str> = $job_id;
        match $result {
            Ok(_) => $self
                .inner
                .logger
                .emit(caller.log, $event::SUCCESS, TraceId::new(), |_| {
                    $event::success(r, job_id)
                }),
            Err(e) => {
                let details = request_failed_details(&e.message);
                $self
                    .inner
                    .logger
                    .emit(caller.log, $event::FAILURE, TraceId::new(), |_| {
                        $event::failure(r, job_id, e.mqtt_code(), &details)
                    });
            }
        }
    }};
}

impl Jobs {
    /// GetPendingJobExecutions (`$aws/things/{thing}/jobs/get`, `GET /things/{thing}/jobs`).
    ///
    /// # Errors
    /// `Internal` on a store failure.
    pub fn get_pending(
        &self,
        caller: DeviceCaller<'_>,
        thing: &str,
    ) -> Result<PendingJobs, JobsError> {
        let topic = format!("$aws/things/{thing}/jobs/get");
        let result: Result<PendingJobs, JobsError> = (|| {
            let conn = self.inner.conn.lock();
            let pending = store::pending_of(&conn, thing)?;
            let (in_progress, queued) = pending
                .into_iter()
                .partition(|e| e.status == ExecutionStatus::InProgress);
            Ok(PendingJobs {
                in_progress,
                queued,
            })
        })();
        log_request!(self, caller, &topic, None, &result, GetPendingJobExecution);
        result
    }

    /// StartNextPendingJobExecution (`…/jobs/start-next`, `PUT /things/{thing}/jobs/$next`):
    /// the next pending execution (in-progress ones first, then queued, oldest first), moved
    /// to `IN_PROGRESS` if it was `QUEUED`; `None` when nothing is pending.
    ///
    /// # Errors
    /// `InvalidRequest` (status details, step timeout), `Internal`.
    pub fn start_next(
        &self,
        caller: DeviceCaller<'_>,
        thing: &str,
        request: &StartNextRequest,
    ) -> Result<Option<JobExecutionView>, JobsError> {
        let topic = format!("$aws/things/{thing}/jobs/start-next");
        let result = self.start_next_in(thing, request);
        let job = result
            .as_ref()
            .ok()
            .and_then(|v| v.as_ref())
            .map(|v| v.execution.job_id.clone());
        log_request!(
            self,
            caller,
            &topic,
            None,
            &result,
            StartNextPendingJobExecution
        );
        if let (Err(e), Some(job)) = (&result, job) {
            self.inner
                .counters
                .request_failed(&job, e.is_client_error());
        }
        result
    }

    fn start_next_in(
        &self,
        thing: &str,
        request: &StartNextRequest,
    ) -> Result<Option<JobExecutionView>, JobsError> {
        if let Some(d) = &request.status_details {
            check_status_details(d)?;
        }
        check_step_timeout(request.step_timeout_in_minutes)?;
        let now = now_ms();
        let mut outbox = Outbox::default();
        let view = {
            let mut conn = self.inner.conn.lock();
            let tx = conn.transaction()?;
            let Some(mut e) = store::pending_of(&tx, thing)?.into_iter().next() else {
                return Ok(None);
            };
            let Some(mut job) = live_job(&tx, &e.job_id)? else {
                return Ok(None);
            };
            if e.status == ExecutionStatus::Queued {
                if let Some(d) = &request.status_details {
                    e.status_details = d.clone();
                }
                self.apply_step_timeout(&mut e, request.step_timeout_in_minutes, now, &mut outbox);
                self.inner.set_status(
                    &tx,
                    &job,
                    &mut e,
                    ExecutionStatus::InProgress,
                    now,
                    &mut outbox,
                )?;
                job.last_updated_at_ms = now;
                store::update_job(&tx, &job)?;
            }
            tx.commit()?;
            JobExecutionView {
                seconds_before_timed_out: e.seconds_before_timed_out(now),
                execution: e,
                document: Some(job.config.document),
            }
        };
        self.inner.deliver(outbox);
        Ok(Some(view))
    }

    fn apply_step_timeout(
        &self,
        e: &mut Execution,
        minutes: Option<i64>,
        now: i64,
        outbox: &mut Outbox,
    ) {
        match minutes {
            Some(-1) => e.step_deadline_ms = None,
            Some(m) => {
                e.step_deadline_ms = Some(now + m * self.inner.settings.minute_ms);
                outbox.wake_scheduler();
            }
            None => {}
        }
    }

    /// DescribeJobExecution (`…/jobs/{jobId}/get`, `GET /things/{thing}/jobs/{jobId}`);
    /// `job_id` may be `$next` (`None` when nothing is pending).
    ///
    /// # Errors
    /// `ResourceNotFound` (no such execution), `Internal`.
    pub fn describe_execution(
        &self,
        caller: DeviceCaller<'_>,
        thing: &str,
        job_id: &str,
        execution_number: Option<i64>,
        include_document: bool,
    ) -> Result<Option<JobExecutionView>, JobsError> {
        let topic = format!("$aws/things/{thing}/jobs/{job_id}/get");
        let result: Result<Option<JobExecutionView>, JobsError> = (|| {
            let conn = self.inner.conn.lock();
            let execution = if job_id == "$next" {
                store::pending_of(&conn, thing)?.into_iter().next()
            } else {
                match store::execution(&conn, job_id, thing, execution_number)? {
                    Some(e) => Some(e),
                    None => return Err(execution_not_found(job_id, thing)),
                }
            };
            let Some(execution) = execution else {
                return Ok(None);
            };
            let Some(job) = live_job(&conn, &execution.job_id)? else {
                return Err(execution_not_found(job_id, thing));
            };
            let now = now_ms();
            Ok(Some(JobExecutionView {
                seconds_before_timed_out: execution.seconds_before_timed_out(now),
                execution,
                document: include_document.then_some(job.config.document),
            }))
        })();
        log_request!(
            self,
            caller,
            &topic,
            Some(job_id),
            &result,
            DescribeJobExecution
        );
        if let Err(e) = &result
            && job_id != "$next"
        {
            self.inner
                .counters
                .request_failed(job_id, e.is_client_error());
        }
        result
    }

    /// UpdateJobExecution (`…/jobs/{jobId}/update`, `POST /things/{thing}/jobs/{jobId}`).
    ///
    /// # Errors
    /// `InvalidRequest` (status, details, timeout), `ResourceNotFound`, `VersionMismatch`
    /// and `InvalidStateTransition` (both with the execution's state), `Internal`.
    pub fn update_execution(
        &self,
        caller: DeviceCaller<'_>,
        thing: &str,
        job_id: &str,
        request: &UpdateRequest,
    ) -> Result<UpdateResult, JobsError> {
        let topic = format!("$aws/things/{thing}/jobs/{job_id}/update");
        let (result, version) = self.update_in(thing, job_id, request);
        let r = JobRequest {
            protocol: caller.log.identity().protocol,
            client_id: &caller.log.identity().client_id,
            topic_name: &topic,
            client_token: caller.client_token,
        };
        match &result {
            Ok(u) => {
                let details = update_succeeded_details(u.execution.status.as_str());
                self.inner.logger.emit(
                    caller.log,
                    UpdateJobExecution::SUCCESS,
                    TraceId::new(),
                    |_| UpdateJobExecution {
                        request: r,
                        job_id,
                        version_number: version,
                        outcome: Ok(&details),
                    },
                );
            }
            Err(e) => {
                self.inner
                    .counters
                    .request_failed(job_id, e.is_client_error());
                let details = request_failed_details(&e.message);
                self.inner.logger.emit(
                    caller.log,
                    UpdateJobExecution::FAILURE,
                    TraceId::new(),
                    |_| UpdateJobExecution {
                        request: r,
                        job_id,
                        version_number: version,
                        outcome: Err(Failure {
                            reason: e.mqtt_code(),
                            details: &details,
                        }),
                    },
                );
            }
        }
        result
    }

    /// The update and the version it applied to (or the current one, on a refusal).
    fn update_in(
        &self,
        thing: &str,
        job_id: &str,
        request: &UpdateRequest,
    ) -> (Result<UpdateResult, JobsError>, Option<i64>) {
        let mut version = None;
        let result = (|| {
            let status = ExecutionStatus::parse(&request.status)
                .filter(|s| s.settable_by_device())
                .ok_or_else(|| {
                    JobsError::invalid(format!(
                        "status '{}' is invalid: it must be IN_PROGRESS, SUCCEEDED, FAILED or REJECTED.",
                        request.status
                    ))
                })?;
            if let Some(d) = &request.status_details {
                check_status_details(d)?;
            }
            check_step_timeout(request.step_timeout_in_minutes)?;
            let now = now_ms();
            let mut outbox = Outbox::default();
            let result = {
                let mut conn = self.inner.conn.lock();
                let tx = conn.transaction()?;
                let Some(mut e) = store::execution(&tx, job_id, thing, request.execution_number)?
                else {
                    return Err(execution_not_found(job_id, thing));
                };
                version = Some(e.version_number);
                let Some(mut job) = live_job(&tx, job_id)? else {
                    return Err(execution_not_found(job_id, thing));
                };
                if let Some(expected) = request.expected_version
                    && expected != e.version_number
                {
                    return Err(JobsError::new(
                        JobsErrorKind::VersionMismatch,
                        format!(
                            "The expected version {expected} does not match the job execution's version {}.",
                            e.version_number
                        ),
                    )
                    .with_state(state_of(&e)));
                }
                if !e.status.device_may_move_to(status) {
                    return Err(JobsError::new(
                        JobsErrorKind::InvalidStateTransition,
                        format!(
                            "Job execution of job {job_id} on thing {thing} cannot move from {} to {}.",
                            e.status.as_str(),
                            status.as_str()
                        ),
                    )
                    .with_state(state_of(&e)));
                }
                if let Some(d) = &request.status_details {
                    e.status_details = d.clone();
                }
                if status == ExecutionStatus::InProgress {
                    self.apply_step_timeout(
                        &mut e,
                        request.step_timeout_in_minutes,
                        now,
                        &mut outbox,
                    );
                }
                self.inner
                    .set_status(&tx, &job, &mut e, status, now, &mut outbox)?;
                job.last_updated_at_ms = now;
                if status.is_terminal() {
                    self.inner
                        .after_terminal(&tx, &mut job, &e, now, &mut outbox)?;
                }
                store::update_job(&tx, &job)?;
                tx.commit()?;
                UpdateResult {
                    execution: e,
                    document: job.config.document,
                }
            };
            self.inner.deliver(outbox);
            Ok(result)
        })();
        (result, version)
    }
}

// ---- MQTT payloads ----

fn raw_document(document: &str) -> Option<Box<RawValue>> {
    RawValue::from_string(document.to_owned()).ok()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    job_id: &'a str,
    queued_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<i64>,
    last_updated_at: i64,
    version_number: i64,
    execution_number: i64,
}

impl<'a> Summary<'a> {
    fn of(e: &'a Execution) -> Summary<'a> {
        Summary {
            job_id: &e.job_id,
            queued_at: secs(e.queued_at_ms),
            started_at: e.started_at_ms.map(secs),
            last_updated_at: secs(e.last_updated_at_ms),
            version_number: e.version_number,
            execution_number: e.execution_number,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionData<'a> {
    job_id: &'a str,
    thing_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_document: Option<Box<RawValue>>,
    status: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    status_details: &'a BTreeMap<String, String>,
    queued_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<i64>,
    last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    approximate_seconds_before_timed_out: Option<i64>,
    version_number: i64,
    execution_number: i64,
}

impl<'a> ExecutionData<'a> {
    fn of(e: &'a Execution, document: Option<&str>, now: i64) -> ExecutionData<'a> {
        ExecutionData {
            job_id: &e.job_id,
            thing_name: &e.thing_name,
            job_document: document.and_then(raw_document),
            status: e.status.as_str(),
            status_details: &e.status_details,
            queued_at: secs(e.queued_at_ms),
            started_at: e.started_at_ms.map(secs),
            last_updated_at: secs(e.last_updated_at_ms),
            approximate_seconds_before_timed_out: e.seconds_before_timed_out(now),
            version_number: e.version_number,
            execution_number: e.execution_number,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StateData<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    status_details: &'a BTreeMap<String, String>,
    version_number: i64,
}

fn to_vec<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// `…/jobs/get/accepted`.
pub(crate) fn pending_payload(p: &PendingJobs, client_token: Option<&str>, now: i64) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        in_progress_jobs: Vec<Summary<'a>>,
        queued_jobs: Vec<Summary<'a>>,
        timestamp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_token: Option<&'a str>,
    }
    to_vec(&Body {
        in_progress_jobs: p.in_progress.iter().map(Summary::of).collect(),
        queued_jobs: p.queued.iter().map(Summary::of).collect(),
        timestamp: secs(now),
        client_token,
    })
}

/// `…/jobs/start-next/accepted` and `…/jobs/{jobId}/get/accepted`: `execution` (absent when
/// nothing is pending).
pub(crate) fn execution_payload(
    view: Option<&JobExecutionView>,
    client_token: Option<&str>,
    now: i64,
) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        execution: Option<ExecutionData<'a>>,
        timestamp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_token: Option<&'a str>,
    }
    to_vec(&Body {
        execution: view.map(|v| ExecutionData::of(&v.execution, v.document.as_deref(), now)),
        timestamp: secs(now),
        client_token,
    })
}

/// `…/jobs/{jobId}/update/accepted`.
pub(crate) fn update_payload(
    result: &UpdateResult,
    include_state: bool,
    include_document: bool,
    client_token: Option<&str>,
    now: i64,
) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        execution_state: Option<StateData<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        job_document: Option<Box<RawValue>>,
        timestamp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_token: Option<&'a str>,
    }
    let e = &result.execution;
    to_vec(&Body {
        execution_state: include_state.then(|| StateData {
            status: e.status.as_str(),
            status_details: &e.status_details,
            version_number: e.version_number,
        }),
        job_document: if include_document {
            raw_document(&result.document)
        } else {
            None
        },
        timestamp: secs(now),
        client_token,
    })
}

/// `…/rejected`: `code`, `message`, `clientToken`, `timestamp`, and `executionState` for
/// state conflicts.
pub(crate) fn rejected_payload(
    code: &str,
    message: &str,
    state: Option<&ExecutionState>,
    client_token: Option<&str>,
    now: i64,
) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_token: Option<&'a str>,
        timestamp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        execution_state: Option<StateData<'a>>,
    }
    to_vec(&Body {
        code,
        message,
        client_token,
        timestamp: secs(now),
        execution_state: state.map(|s| StateData {
            status: s.status.as_str(),
            status_details: &s.status_details,
            version_number: s.version_number,
        }),
    })
}

/// `…/jobs/notify`: the pending executions by status (`IN_PROGRESS`, `QUEUED`; a status
/// without executions is left out, so an empty list is `"jobs":{}`).
pub(crate) fn notify_payload(pending: &[Execution], now: i64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Jobs<'a> {
        #[serde(rename = "IN_PROGRESS", skip_serializing_if = "Vec::is_empty")]
        in_progress: Vec<Summary<'a>>,
        #[serde(rename = "QUEUED", skip_serializing_if = "Vec::is_empty")]
        queued: Vec<Summary<'a>>,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        timestamp: i64,
        jobs: Jobs<'a>,
    }
    let pick = |s| {
        pending
            .iter()
            .filter(|e| e.status == s)
            .map(Summary::of)
            .collect()
    };
    to_vec(&Body {
        timestamp: secs(now),
        jobs: Jobs {
            in_progress: pick(ExecutionStatus::InProgress),
            queued: pick(ExecutionStatus::Queued),
        },
    })
}

/// `…/jobs/notify-next`: the next pending execution with its document (absent when none).
pub(crate) fn notify_next_payload(
    next: Option<&Execution>,
    document: Option<&str>,
    now: i64,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        timestamp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        execution: Option<ExecutionData<'a>>,
    }
    to_vec(&Body {
        timestamp: secs(now),
        execution: next.map(|e| ExecutionData::of(e, document, now)),
    })
}
