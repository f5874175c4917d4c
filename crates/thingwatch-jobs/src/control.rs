//! The Jobs control plane (service `iot`): jobs, their executions and job templates, with
//! AWS's semantic checks (targets that exist, documents that are JSON and ≤ 32 KiB,
//! configuration ranges, the status rules of cancel and delete). Names and shapes of
//! parameters are the API crate's to check; what depends on state is checked here.
//!
//! Sources: AWS IoT API Reference *CreateJob*, *CancelJob*, *DeleteJob*, *UpdateJob*,
//! *CancelJobExecution*, *DeleteJobExecution*, *CreateJobTemplate*; Developer Guide *Job
//! configurations* (rollout, scheduling, abort, timeout, retry).

use crate::error::{JobsError, JobsErrorKind, execution_not_found, job_not_found};
use crate::model::{
    AbortConfig, Execution, ExecutionStatus, Job, JobConfig, JobStatus, JobTemplate,
    MAX_CONCURRENT_DELETIONS, MAX_DOCUMENT_BYTES, MAX_ROLLOUT_PER_MINUTE, MAX_TARGETS,
    MAX_TIMEOUT_MINUTES, PresignedUrlConfig, ProcessCounts, RetryConfig, RolloutConfig,
    SchedulingConfig, TargetSelection, TimeoutConfig, substitute_parameters,
};
use crate::{Jobs, Outbox, now_ms, store};
use std::collections::BTreeMap;
use thingwatch_aws::page_token::{self, Alphabet};
use thingwatch_aws::{Arn, IotKind};

/// CreateJob's request, as the service acts on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewJob {
    /// `jobId`.
    pub job_id: String,
    /// Everything else (`document` empty when a template or `documentSource` gives it).
    pub config: JobConfig,
    /// `documentSource` (an S3 URL).
    pub document_source: Option<String>,
}

/// UpdateJob's members (each `None` leaves the job's value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobUpdate {
    /// `description`.
    pub description: Option<String>,
    /// `presignedUrlConfig`.
    pub presigned_url_config: Option<PresignedUrlConfig>,
    /// `jobExecutionsRolloutConfig`.
    pub rollout: Option<RolloutConfig>,
    /// `abortConfig`.
    pub abort: Option<AbortConfig>,
    /// `timeoutConfig`.
    pub timeout: Option<TimeoutConfig>,
    /// `jobExecutionsRetryConfig`.
    pub retry: Option<RetryConfig>,
}

/// ListJobs' filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// `status`.
    pub status: Option<JobStatus>,
    /// `targetSelection`.
    pub target_selection: Option<TargetSelection>,
    /// `thingGroupName`: jobs that target this group.
    pub thing_group_name: Option<String>,
    /// `maxResults` (1–250, default 50? AWS's default page is 50 here too).
    pub max_results: usize,
    /// `nextToken`.
    pub next_token: Option<String>,
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    /// The jobs.
    pub jobs: Vec<Job>,
    /// The token of the next page.
    pub next_token: Option<String>,
}

/// A page of executions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionPage {
    /// The executions.
    pub executions: Vec<Execution>,
    /// The token of the next page.
    pub next_token: Option<String>,
}

/// CreateJobTemplate's request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTemplate {
    /// `jobTemplateId`.
    pub job_template_id: String,
    /// `jobArn`: copy the configuration of this job.
    pub job_arn: Option<String>,
    /// `documentSource`.
    pub document_source: Option<String>,
    /// `description`.
    pub description: String,
    /// The configuration (its `document`, rollout, abort, timeout, retry, presigned URL).
    pub config: JobConfig,
    /// `maintenanceWindows`, kept as sent.
    pub maintenance_windows: Option<serde_json::Value>,
}

/// A page of templates.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePage {
    /// The templates, by id.
    pub templates: Vec<JobTemplate>,
    /// The token of the next page.
    pub next_token: Option<String>,
}

const TOKEN_JOBS: &str = "ListJobs";
const TOKEN_FOR_JOB: &str = "ListJobExecutionsForJob";
const TOKEN_FOR_THING: &str = "ListJobExecutionsForThing";
const TOKEN_TEMPLATES: &str = "ListJobTemplates";

fn bad_token() -> JobsError {
    JobsError::invalid("The nextToken is not valid.")
}

/// Cuts a page read with one row more than `max`: the page, and the token of the next one
/// (the keys of the page's last item, tagged `tag`) when that extra row came back.
fn paginate<T>(
    mut items: Vec<T>,
    max: usize,
    tag: &str,
    keys: impl Fn(&T) -> Vec<String>,
) -> (Vec<T>, Option<String>) {
    if items.len() <= max {
        return (items, None);
    }
    items.truncate(max);
    let token = items.last().map(|last| {
        let keys = keys(last);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        page_token::encode(Alphabet::UrlSafe, tag, &keys)
    });
    (items, token)
}

fn check_max_results(n: usize) -> Result<(), JobsError> {
    if (1..=250).contains(&n) {
        Ok(())
    } else {
        Err(JobsError::invalid(format!(
            "maxResults {n} is invalid: it must be between 1 and 250."
        )))
    }
}

/// `YYYY-MM-DDTHH:MM` (UTC) → epoch ms (`schedulingConfig` times).
pub(crate) fn parse_schedule_time(s: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let with_seconds =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(s.trim_end_matches('Z'), &format)
        .or_else(|_| time::PrimitiveDateTime::parse(s.trim_end_matches('Z'), &with_seconds))
        .ok()?;
    Some((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The checks of a job's configuration that AWS makes beyond the shapes.
fn check_config(config: &JobConfig) -> Result<(), JobsError> {
    if let Some(r) = &config.job_executions_rollout_config {
        if let Some(m) = r.maximum_per_minute
            && !(1..=MAX_ROLLOUT_PER_MINUTE).contains(&m)
        {
            return Err(JobsError::invalid(format!(
                "maximumPerMinute {m} is invalid: it must be between 1 and {MAX_ROLLOUT_PER_MINUTE}."
            )));
        }
        if let Some(e) = &r.exponential_rate {
            if !(1..=MAX_ROLLOUT_PER_MINUTE).contains(&e.base_rate_per_minute) {
                return Err(JobsError::invalid(
                    "baseRatePerMinute must be between 1 and 1000.",
                ));
            }
            if !(1.1..=5.0).contains(&e.increment_factor) {
                return Err(JobsError::invalid(
                    "incrementFactor must be between 1.1 and 5.",
                ));
            }
            let c = &e.rate_increase_criteria;
            if c.number_of_notified_things.is_none() && c.number_of_succeeded_things.is_none() {
                return Err(JobsError::invalid(
                    "rateIncreaseCriteria must set numberOfNotifiedThings or numberOfSucceededThings.",
                ));
            }
        }
    }
    if let Some(a) = &config.abort_config {
        if a.criteria_list.is_empty() {
            return Err(JobsError::invalid(
                "abortConfig.criteriaList must not be empty.",
            ));
        }
        for c in &a.criteria_list {
            if !matches!(
                c.failure_type.as_str(),
                "FAILED" | "REJECTED" | "TIMED_OUT" | "ALL"
            ) {
                return Err(JobsError::invalid(format!(
                    "failureType '{}' is invalid: it must be FAILED, REJECTED, TIMED_OUT or ALL.",
                    c.failure_type
                )));
            }
            if c.action != "CANCEL" {
                return Err(JobsError::invalid(format!(
                    "action '{}' is invalid: it must be CANCEL.",
                    c.action
                )));
            }
            if !(0.0..=100.0).contains(&c.threshold_percentage) {
                return Err(JobsError::invalid(
                    "thresholdPercentage must be between 0 and 100.",
                ));
            }
            if c.min_number_of_executed_things < 1 {
                return Err(JobsError::invalid(
                    "minNumberOfExecutedThings must be at least 1.",
                ));
            }
        }
    }
    if let Some(t) = &config.timeout_config
        && let Some(m) = t.in_progress_timeout_in_minutes
        && !(1..=MAX_TIMEOUT_MINUTES).contains(&m)
    {
        return Err(JobsError::invalid(format!(
            "inProgressTimeoutInMinutes {m} is invalid: it must be between 1 and {MAX_TIMEOUT_MINUTES}."
        )));
    }
    if let Some(r) = &config.job_executions_retry_config {
        if r.criteria_list.is_empty() || r.criteria_list.len() > 2 {
            return Err(JobsError::invalid(
                "jobExecutionsRetryConfig.criteriaList must have 1 or 2 members.",
            ));
        }
        for c in &r.criteria_list {
            if !matches!(c.failure_type.as_str(), "FAILED" | "TIMED_OUT" | "ALL") {
                return Err(JobsError::invalid(format!(
                    "failureType '{}' is invalid: it must be FAILED, TIMED_OUT or ALL.",
                    c.failure_type
                )));
            }
            if c.number_of_retries > 10 {
                return Err(JobsError::invalid(
                    "numberOfRetries must be between 0 and 10.",
                ));
            }
        }
    }
    if let Some(p) = &config.presigned_url_config
        && let Some(s) = p.expires_in_sec
        && !(60..=3600).contains(&s)
    {
        return Err(JobsError::invalid(
            "expiresInSec must be between 60 and 3600.",
        ));
    }
    if let Some(s) = &config.scheduling_config {
        check_scheduling(s)?;
    }
    Ok(())
}

fn check_scheduling(s: &SchedulingConfig) -> Result<(), JobsError> {
    let parse = |name: &str, v: &Option<String>| -> Result<Option<i64>, JobsError> {
        match v {
            None => Ok(None),
            Some(text) => parse_schedule_time(text).map(Some).ok_or_else(|| {
                JobsError::invalid(format!(
                    "{name} '{text}' is invalid: use the ISO 8601 form YYYY-MM-DDTHH:MM (UTC)."
                ))
            }),
        }
    };
    let start = parse("startTime", &s.start_time)?;
    let end = parse("endTime", &s.end_time)?;
    if let (Some(a), Some(b)) = (start, end)
        && b <= a
    {
        return Err(JobsError::invalid("endTime must be after startTime."));
    }
    if let Some(b) = &s.end_behavior
        && !matches!(b.as_str(), "STOP_ROLLOUT" | "CANCEL" | "FORCE_CANCEL")
    {
        return Err(JobsError::invalid(format!(
            "endBehavior '{b}' is invalid: it must be STOP_ROLLOUT, CANCEL or FORCE_CANCEL."
        )));
    }
    if s.end_behavior.is_some() && end.is_none() {
        return Err(JobsError::invalid("endBehavior requires endTime."));
    }
    Ok(())
}

/// The document must be JSON text within AWS's size limit.
fn check_document(document: &str) -> Result<(), JobsError> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(JobsError::invalid(format!(
            "The job document is {} bytes; the maximum is {MAX_DOCUMENT_BYTES}.",
            document.len()
        )));
    }
    match serde_json::from_str::<serde_json::Value>(document) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(JobsError::invalid(
            "The job document is not a valid JSON object.",
        )),
    }
}

impl Jobs {
    /// The things a target list names, each once, in order; unknown targets are refused.
    fn resolve_targets(&self, targets: &[String]) -> Result<Vec<String>, JobsError> {
        let scope = &self.inner.scope;
        let dir = &self.inner.directory;
        let mut things: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for target in targets {
            if let Some(thing) = Arn::iot_id(scope, IotKind::Thing, target) {
                if !dir.thing_exists(thing) {
                    return Err(JobsError::not_found(format!(
                        "Thing {thing} does not exist."
                    )));
                }
                if seen.insert(thing.to_owned()) {
                    things.push(thing.to_owned());
                }
            } else if let Some(group) = Arn::iot_id(scope, IotKind::ThingGroup, target) {
                if !dir.group_exists(group) {
                    return Err(JobsError::not_found(format!(
                        "Thing group {group} does not exist."
                    )));
                }
                for thing in dir.things_in_group(group) {
                    if seen.insert(thing.clone()) {
                        things.push(thing);
                    }
                }
            } else {
                return Err(JobsError::invalid(format!(
                    "Target {target} is not the ARN of a thing or thing group of this account and region."
                )));
            }
        }
        Ok(things)
    }

    /// CreateJob: the job, its first rollout batch of executions (`QUEUED`, `notify` and
    /// `notify-next` to each thing) and the rest queued for the scheduler.
    ///
    /// # Errors
    /// `ResourceAlreadyExists`; `ResourceNotFound` (a target, the template); `InvalidRequest`
    /// (targets, document, configuration, `documentSource`); `Internal`.
    pub fn create_job(&self, new: NewJob) -> Result<Job, JobsError> {
        let NewJob {
            job_id,
            mut config,
            document_source,
        } = new;
        if let Some(arn) = config.job_template_arn.clone() {
            let Some(id) = Arn::iot_id(&self.inner.scope, IotKind::JobTemplate, &arn) else {
                return Err(JobsError::invalid(format!(
                    "jobTemplateArn {arn} is not a job template ARN of this account and region."
                )));
            };
            let template = {
                let conn = self.inner.conn.lock();
                store::template(&conn, id)?
            }
            .ok_or_else(|| JobsError::not_found(format!("Job template {id} does not exist.")))?;
            merge_template(&mut config, &template);
        }
        if config.document.is_empty() {
            if document_source.is_some() {
                return Err(JobsError::invalid(
                    "documentSource is not supported: this server hosts no object storage (S3) to read the document from; send document instead.",
                ));
            }
            return Err(JobsError::invalid(
                "Either document or documentSource must be specified.",
            ));
        }
        if document_source.is_some() {
            return Err(JobsError::invalid(
                "Only one of document and documentSource can be specified.",
            ));
        }
        if let Some(params) = &config.document_parameters {
            let substituted = substitute_parameters(&config.document, params).map_err(|name| {
                JobsError::invalid(format!(
                    "documentParameters does not give a value for the document's parameter {name}."
                ))
            })?;
            if substituted != config.document {
                config.document_before_substitution =
                    Some(std::mem::replace(&mut config.document, substituted));
            }
        }
        check_document(&config.document)?;
        if config.targets.is_empty() || config.targets.len() > MAX_TARGETS {
            return Err(JobsError::invalid(format!(
                "targets must name 1 to {MAX_TARGETS} things or thing groups."
            )));
        }
        check_config(&config)?;
        let things = self.resolve_targets(&config.targets)?;
        let now = now_ms();
        let start = config
            .scheduling_config
            .as_ref()
            .and_then(|s| s.start_time.as_deref())
            .and_then(parse_schedule_time);
        let mut job = Job {
            job_arn: self.inner.job_arn(&job_id),
            job_id,
            status: if start.is_some_and(|s| s > now) {
                JobStatus::Scheduled
            } else {
                JobStatus::InProgress
            },
            force_canceled: false,
            reason_code: None,
            comment: None,
            created_at_ms: now,
            last_updated_at_ms: now,
            completed_at_ms: None,
            rollout_rate: config
                .job_executions_rollout_config
                .as_ref()
                .and_then(|r| r.exponential_rate.as_ref())
                .map(|e| f64::from(e.base_rate_per_minute)),
            notified_at_last_increase: 0,
            succeeded_at_last_increase: 0,
            notified: 0,
            rollout_window_start_ms: now,
            rollout_in_window: 0,
            config,
        };
        let mut outbox = Outbox::default();
        {
            let mut conn = self.inner.conn.lock();
            let tx = conn.transaction()?;
            if store::job(&tx, &job.job_id)?.is_some() {
                return Err(JobsError::new(
                    JobsErrorKind::ResourceAlreadyExists,
                    format!("Job {} already exists.", job.job_id),
                ));
            }
            store::insert_job(&tx, &job)?;
            store::push_rollout(&tx, &job.job_id, &things)?;
            if job.status == JobStatus::InProgress {
                self.inner.roll_out(&tx, &mut job, now, &mut outbox)?;
                self.inner
                    .check_completion(&tx, &mut job, now, &mut outbox)?;
            }
            outbox.wake_scheduler();
            store::update_job(&tx, &job)?;
            tx.commit()?;
        }
        self.inner.deliver(outbox);
        Ok(job)
    }

    /// DescribeJob: the job and its things by execution status.
    ///
    /// # Errors
    /// `ResourceNotFound`, `Internal`.
    pub fn describe_job(&self, job_id: &str) -> Result<(Job, ProcessCounts), JobsError> {
        let conn = self.inner.conn.lock();
        let job = store::job(&conn, job_id)?.ok_or_else(|| job_not_found(job_id))?;
        let counts = store::counts(&conn, job_id)?;
        Ok((job, counts))
    }

    /// GetJobDocument (`beforeSubstitution`: the template's document before its parameters
    /// were filled in).
    ///
    /// # Errors
    /// `ResourceNotFound`, `Internal`.
    pub fn job_document(
        &self,
        job_id: &str,
        before_substitution: bool,
    ) -> Result<String, JobsError> {
        let (job, _) = self.describe_job(job_id)?;
        Ok(
            match (before_substitution, job.config.document_before_substitution) {
                (true, Some(before)) => before,
                _ => job.config.document,
            },
        )
    }

    /// ListJobs, newest first.
    ///
    /// # Errors
    /// `InvalidRequest` (`maxResults`, `nextToken`), `Internal`.
    pub fn list_jobs(&self, q: &JobQuery) -> Result<JobPage, JobsError> {
        check_max_results(q.max_results)?;
        let mut before: i64 = match &q.next_token {
            Some(t) => page_token::decode_one(Alphabet::UrlSafe, TOKEN_JOBS, t)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(bad_token)?,
            None => 0,
        };
        let group_arn = q
            .thing_group_name
            .as_ref()
            .map(|g| Arn::iot(&self.inner.scope, IotKind::ThingGroup, g).to_string());
        let conn = self.inner.conn.lock();
        let mut jobs = Vec::new();
        loop {
            let batch = store::jobs_page(&conn, before, 500)?;
            let exhausted = batch.len() < 500;
            for (seq, job) in batch {
                before = seq;
                let keep = q.status.is_none_or(|s| s == job.status)
                    && q.target_selection
                        .is_none_or(|t| t == job.config.target_selection)
                    && group_arn
                        .as_ref()
                        .is_none_or(|g| job.config.targets.contains(g));
                if keep {
                    if jobs.len() == q.max_results {
                        let token = page_token::encode(
                            Alphabet::UrlSafe,
                            TOKEN_JOBS,
                            &[&(before + 1).to_string()],
                        );
                        return Ok(JobPage {
                            jobs,
                            next_token: Some(token),
                        });
                    }
                    jobs.push(job);
                }
            }
            if exhausted {
                return Ok(JobPage {
                    jobs,
                    next_token: None,
                });
            }
        }
    }

    /// UpdateJob: description, presigned URL, rollout, abort, timeout and retry
    /// configuration of a job that is not being deleted.
    ///
    /// # Errors
    /// `ResourceNotFound`, `InvalidRequest`, `Internal`.
    pub fn update_job(&self, job_id: &str, update: JobUpdate) -> Result<(), JobsError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let mut job = store::job(&tx, job_id)?
            .filter(|j| j.status != JobStatus::DeletionInProgress)
            .ok_or_else(|| job_not_found(job_id))?;
        let c = &mut job.config;
        if let Some(d) = update.description {
            c.description = Some(d);
        }
        if let Some(p) = update.presigned_url_config {
            c.presigned_url_config = Some(p);
        }
        if let Some(r) = update.rollout {
            job.rollout_rate = r
                .exponential_rate
                .as_ref()
                .map(|e| f64::from(e.base_rate_per_minute));
            c.job_executions_rollout_config = Some(r);
        }
        if let Some(a) = update.abort {
            c.abort_config = Some(a);
        }
        if let Some(t) = update.timeout {
            c.timeout_config = Some(t);
        }
        if let Some(r) = update.retry {
            c.job_executions_retry_config = Some(r);
        }
        check_config(&job.config)?;
        job.last_updated_at_ms = now_ms();
        store::update_job(&tx, &job)?;
        tx.commit()?;
        drop(conn);
        self.inner.wake();
        Ok(())
    }

    /// CancelJob: `CANCELED`; queued executions are canceled, in-progress ones too with
    /// `force` (a job canceled without `force` may be canceled again with it).
    ///
    /// # Errors
    /// `ResourceNotFound`; `InvalidRequest` (a completed job, or already canceled without
    /// `force` now); `Internal`.
    pub fn cancel_job(
        &self,
        job_id: &str,
        force: bool,
        reason_code: Option<String>,
        comment: Option<String>,
    ) -> Result<Job, JobsError> {
        let now = now_ms();
        let mut outbox = Outbox::default();
        let job = {
            let mut conn = self.inner.conn.lock();
            let tx = conn.transaction()?;
            let mut job = store::job(&tx, job_id)?
                .filter(|j| j.status != JobStatus::DeletionInProgress)
                .ok_or_else(|| job_not_found(job_id))?;
            match job.status {
                JobStatus::Completed => {
                    return Err(JobsError::invalid(format!(
                        "Job {job_id} is COMPLETED and cannot be canceled."
                    )));
                }
                JobStatus::Canceled if !force || job.force_canceled => {
                    return Err(JobsError::invalid(format!(
                        "Job {job_id} is already CANCELED."
                    )));
                }
                _ => {}
            }
            if reason_code.is_some() {
                job.reason_code = reason_code;
            }
            if comment.is_some() {
                job.comment = comment;
            }
            self.inner
                .cancel_in(&tx, &mut job, force, now, &mut outbox)?;
            store::update_job(&tx, &job)?;
            tx.commit()?;
            job
        };
        self.inner.deliver(outbox);
        Ok(job)
    }

    /// DeleteJob: `DELETION_IN_PROGRESS`, then the scheduler removes the job and its
    /// executions. An `IN_PROGRESS` job needs `force`.
    ///
    /// # Errors
    /// `ResourceNotFound`; `InvalidStateTransition` (in progress without `force`);
    /// `LimitExceeded` (10 deletions in progress); `Internal`.
    pub fn delete_job(&self, job_id: &str, force: bool) -> Result<(), JobsError> {
        {
            let mut conn = self.inner.conn.lock();
            let tx = conn.transaction()?;
            let mut job = store::job(&tx, job_id)?.ok_or_else(|| job_not_found(job_id))?;
            match job.status {
                JobStatus::DeletionInProgress => return Ok(()),
                JobStatus::InProgress | JobStatus::Scheduled if !force => {
                    return Err(JobsError::new(
                        JobsErrorKind::InvalidStateTransition,
                        format!(
                            "Job {job_id} is {} and cannot be deleted unless force is true.",
                            job.status.as_str()
                        ),
                    ));
                }
                _ => {}
            }
            if store::jobs_in(&tx, JobStatus::DeletionInProgress.as_str())?.len()
                >= MAX_CONCURRENT_DELETIONS
            {
                return Err(JobsError::new(
                    JobsErrorKind::LimitExceeded,
                    format!("{MAX_CONCURRENT_DELETIONS} jobs are already being deleted."),
                ));
            }
            job.status = JobStatus::DeletionInProgress;
            job.last_updated_at_ms = now_ms();
            store::clear_rollout(&tx, job_id)?;
            store::update_job(&tx, &job)?;
            tx.commit()?;
        }
        self.inner.wake();
        Ok(())
    }

    /// DescribeJobExecution (control plane): the thing's latest execution of the job, or the
    /// numbered one.
    ///
    /// # Errors
    /// `ResourceNotFound`, `Internal`.
    pub fn job_execution(
        &self,
        job_id: &str,
        thing: &str,
        execution_number: Option<i64>,
    ) -> Result<Execution, JobsError> {
        let conn = self.inner.conn.lock();
        store::execution(&conn, job_id, thing, execution_number)?
            .ok_or_else(|| execution_not_found(job_id, thing))
    }

    /// ListJobExecutionsForJob: the latest execution of each thing, by thing name.
    ///
    /// # Errors
    /// `ResourceNotFound` (job), `InvalidRequest`, `Internal`.
    pub fn executions_for_job(
        &self,
        job_id: &str,
        status: Option<ExecutionStatus>,
        max_results: usize,
        next_token: Option<&str>,
    ) -> Result<ExecutionPage, JobsError> {
        check_max_results(max_results)?;
        let after = match next_token {
            Some(t) => page_token::decode_one(Alphabet::UrlSafe, TOKEN_FOR_JOB, t)
                .map_err(|_| bad_token())?,
            None => String::new(),
        };
        let conn = self.inner.conn.lock();
        if store::job(&conn, job_id)?.is_none() {
            return Err(job_not_found(job_id));
        }
        let rows = store::executions_of_job(&conn, job_id, status, &after, max_results + 1)?;
        let (executions, next_token) = paginate(rows, max_results, TOKEN_FOR_JOB, |e| {
            vec![e.thing_name.clone()]
        });
        Ok(ExecutionPage {
            executions,
            next_token,
        })
    }

    /// ListJobExecutionsForThing: every execution of the thing (retries included), by job.
    ///
    /// # Errors
    /// `InvalidRequest`, `Internal`.
    pub fn executions_for_thing(
        &self,
        thing: &str,
        status: Option<ExecutionStatus>,
        job_id: Option<&str>,
        max_results: usize,
        next_token: Option<&str>,
    ) -> Result<ExecutionPage, JobsError> {
        check_max_results(max_results)?;
        let after = match next_token {
            Some(t) => {
                let (job, n) = page_token::decode_two(Alphabet::UrlSafe, TOKEN_FOR_THING, t)
                    .map_err(|_| bad_token())?;
                (job, n.parse::<i64>().map_err(|_| bad_token())?)
            }
            None => (String::new(), 0),
        };
        let conn = self.inner.conn.lock();
        let rows = store::executions_of_thing(
            &conn,
            thing,
            status,
            job_id,
            (&after.0, after.1),
            max_results + 1,
        )?;
        let (executions, next_token) = paginate(rows, max_results, TOKEN_FOR_THING, |e| {
            vec![e.job_id.clone(), e.execution_number.to_string()]
        });
        Ok(ExecutionPage {
            executions,
            next_token,
        })
    }

    /// CancelJobExecution: a queued execution, or an in-progress one with `force`, becomes
    /// `CANCELED`.
    ///
    /// # Errors
    /// `ResourceNotFound`; `VersionMismatch` (`expectedVersion`); `InvalidStateTransition`
    /// (terminal, or in progress without `force`); `InvalidRequest`; `Internal`.
    pub fn cancel_job_execution(
        &self,
        job_id: &str,
        thing: &str,
        force: bool,
        expected_version: Option<i64>,
        status_details: Option<BTreeMap<String, String>>,
    ) -> Result<(), JobsError> {
        if let Some(d) = &status_details {
            crate::device::check_status_details(d)?;
        }
        let now = now_ms();
        let mut outbox = Outbox::default();
        {
            let mut conn = self.inner.conn.lock();
            let tx = conn.transaction()?;
            let mut job = store::job(&tx, job_id)?
                .filter(|j| j.status != JobStatus::DeletionInProgress)
                .ok_or_else(|| job_not_found(job_id))?;
            let mut e = store::execution(&tx, job_id, thing, None)?
                .ok_or_else(|| execution_not_found(job_id, thing))?;
            if let Some(v) = expected_version
                && v != e.version_number
            {
                return Err(JobsError::new(
                    JobsErrorKind::VersionMismatch,
                    format!(
                        "The expected version {v} does not match the job execution's version {}.",
                        e.version_number
                    ),
                ));
            }
            if e.status.is_terminal() || (e.status == ExecutionStatus::InProgress && !force) {
                return Err(JobsError::new(
                    JobsErrorKind::InvalidStateTransition,
                    format!(
                        "Job execution of job {job_id} on thing {thing} is {} and cannot be canceled{}.",
                        e.status.as_str(),
                        if e.status == ExecutionStatus::InProgress {
                            " unless force is true"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if let Some(d) = status_details {
                e.status_details = d;
            }
            e.force_canceled = e.status == ExecutionStatus::InProgress;
            self.inner.set_status(
                &tx,
                &job,
                &mut e,
                ExecutionStatus::Canceled,
                now,
                &mut outbox,
            )?;
            self.inner
                .check_completion(&tx, &mut job, now, &mut outbox)?;
            store::update_job(&tx, &job)?;
            tx.commit()?;
        }
        self.inner.deliver(outbox);
        Ok(())
    }

    /// DeleteJobExecution: removes one execution; a pending one needs `force`.
    ///
    /// # Errors
    /// `ResourceNotFound`, `InvalidStateTransition`, `Internal`.
    pub fn delete_job_execution(
        &self,
        job_id: &str,
        thing: &str,
        execution_number: i64,
        force: bool,
    ) -> Result<(), JobsError> {
        let now = now_ms();
        let mut outbox = Outbox::default();
        {
            let mut conn = self.inner.conn.lock();
            let tx = conn.transaction()?;
            let e = store::execution(&tx, job_id, thing, Some(execution_number))?
                .ok_or_else(|| execution_not_found(job_id, thing))?;
            if e.status.is_pending() && !force {
                return Err(JobsError::new(
                    JobsErrorKind::InvalidStateTransition,
                    format!(
                        "Job execution of job {job_id} on thing {thing} is {} and cannot be deleted unless force is true.",
                        e.status.as_str()
                    ),
                ));
            }
            outbox.touch(&tx, thing)?;
            store::delete_execution(&tx, &e)?;
            if let Some(mut job) = store::job(&tx, job_id)? {
                self.inner
                    .check_completion(&tx, &mut job, now, &mut outbox)?;
                store::update_job(&tx, &job)?;
            }
            tx.commit()?;
        }
        self.inner.deliver(outbox);
        Ok(())
    }

    /// CreateJobTemplate (from a document or from an existing job's configuration).
    ///
    /// # Errors
    /// `ResourceAlreadyExists` (AWS: `ConflictException`), `ResourceNotFound` (`jobArn`),
    /// `InvalidRequest`, `Internal`.
    pub fn create_job_template(&self, new: NewTemplate) -> Result<JobTemplate, JobsError> {
        let NewTemplate {
            job_template_id,
            job_arn,
            document_source,
            description,
            mut config,
            maintenance_windows,
        } = new;
        if let Some(arn) = &job_arn {
            let id = Arn::iot_id(&self.inner.scope, IotKind::Job, arn)
                .ok_or_else(|| JobsError::invalid(format!("jobArn {arn} is not a job ARN.")))?;
            let (job, _) = self.describe_job(id)?;
            let mut from = job.config;
            from.targets.clear();
            from.description = None;
            from.document = from
                .document_before_substitution
                .take()
                .unwrap_or(from.document);
            config = from;
        } else if config.document.is_empty() {
            return Err(JobsError::invalid(if document_source.is_some() {
                "documentSource is not supported: this server hosts no object storage (S3); send document instead."
            } else {
                "One of document, documentSource or jobArn must be specified."
            }));
        }
        if document_source.is_some() && job_arn.is_none() && !config.document.is_empty() {
            return Err(JobsError::invalid(
                "Only one of document and documentSource can be specified.",
            ));
        }
        if config.document.len() > MAX_DOCUMENT_BYTES {
            return Err(JobsError::invalid(format!(
                "The job document is {} bytes; the maximum is {MAX_DOCUMENT_BYTES}.",
                config.document.len()
            )));
        }
        check_config(&config)?;
        let template = JobTemplate {
            job_template_arn: Arn::iot(&self.inner.scope, IotKind::JobTemplate, &job_template_id)
                .to_string(),
            job_template_id,
            description,
            document: config.document.clone(),
            config,
            maintenance_windows,
            created_at_ms: now_ms(),
        };
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        if store::template(&tx, &template.job_template_id)?.is_some() {
            return Err(JobsError::new(
                JobsErrorKind::ResourceAlreadyExists,
                format!("Job template {} already exists.", template.job_template_id),
            ));
        }
        store::insert_template(&tx, &template)?;
        tx.commit()?;
        Ok(template)
    }

    /// DescribeJobTemplate.
    ///
    /// # Errors
    /// `ResourceNotFound`, `Internal`.
    pub fn job_template(&self, id: &str) -> Result<JobTemplate, JobsError> {
        let conn = self.inner.conn.lock();
        store::template(&conn, id)?
            .ok_or_else(|| JobsError::not_found(format!("Job template {id} does not exist.")))
    }

    /// ListJobTemplates, by id.
    ///
    /// # Errors
    /// `InvalidRequest`, `Internal`.
    pub fn list_job_templates(
        &self,
        max_results: usize,
        next_token: Option<&str>,
    ) -> Result<TemplatePage, JobsError> {
        check_max_results(max_results)?;
        let after = match next_token {
            Some(t) => page_token::decode_one(Alphabet::UrlSafe, TOKEN_TEMPLATES, t)
                .map_err(|_| bad_token())?,
            None => String::new(),
        };
        let conn = self.inner.conn.lock();
        let rows = store::templates_page(&conn, &after, max_results + 1)?;
        let (templates, next_token) = paginate(rows, max_results, TOKEN_TEMPLATES, |t| {
            vec![t.job_template_id.clone()]
        });
        Ok(TemplatePage {
            templates,
            next_token,
        })
    }

    /// DeleteJobTemplate.
    ///
    /// # Errors
    /// `ResourceNotFound`, `Internal`.
    pub fn delete_job_template(&self, id: &str) -> Result<(), JobsError> {
        let conn = self.inner.conn.lock();
        if store::delete_template(&conn, id)? {
            Ok(())
        } else {
            Err(JobsError::not_found(format!(
                "Job template {id} does not exist."
            )))
        }
    }
}

/// Fills what the job's request left out from the template.
fn merge_template(config: &mut JobConfig, t: &JobTemplate) {
    let from = &t.config;
    if config.document.is_empty() {
        config.document = t.document.clone();
    }
    if config.description.is_none() {
        config.description = Some(t.description.clone());
    }
    if config.presigned_url_config.is_none() {
        config.presigned_url_config = from.presigned_url_config.clone();
    }
    if config.job_executions_rollout_config.is_none() {
        config.job_executions_rollout_config = from.job_executions_rollout_config.clone();
    }
    if config.abort_config.is_none() {
        config.abort_config = from.abort_config.clone();
    }
    if config.timeout_config.is_none() {
        config.timeout_config = from.timeout_config.clone();
    }
    if config.job_executions_retry_config.is_none() {
        config.job_executions_retry_config = from.job_executions_retry_config.clone();
    }
}
