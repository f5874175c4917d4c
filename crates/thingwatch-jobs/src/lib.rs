//! AWS IoT Jobs: remote operations sent to things, tracked per thing as job executions.
//!
//! - **Control plane** ([`Jobs`]'s `create_job`, `describe_job`, …, in `control.rs`): jobs on
//!   thing and thing-group targets (`SNAPSHOT`, or `CONTINUOUS`: a thing that joins a target
//!   group later gets the job), rollouts (`maximumPerMinute`, exponential rates), abort
//!   criteria, in-progress and step timeouts, retries, scheduled starts and ends, job
//!   templates with `documentParameters`; cancel and delete with AWS's `force` rules.
//! - **Device API** (`device.rs`): GetPendingJobExecutions, StartNextPendingJobExecution,
//!   DescribeJobExecution and UpdateJobExecution, shared by the MQTT reserved topics
//!   ([`JobsGateway`], `$aws/things/{thing}/jobs/…`) and the `iot-jobs-data` HTTP API; each
//!   request writes its Jobs log entry (`GetPendingJobExecution`, …) through the level gate.
//! - **Notifications**: `…/jobs/notify` when a thing's pending list gains or loses an
//!   execution, `…/jobs/notify-next` when its next pending execution changes, published
//!   through the broker's one ingress as `Origin::Component("jobs")`.
//! - **Scheduler** (thread `jobs-scheduler`): rollout batches, timeouts, scheduled starts and
//!   ends, deletions, continuous targets after membership changes. Its state is the store's,
//!   so rollouts and timers continue after a restart.
//! - **Metrics**: [`JobCounters`], the `JobId` metrics for the metrics publisher.
//!
//! State lives in `DATA_DIR/jobs/jobs.db` (`store.rs`); every accepted change is committed
//! before it is answered.
//!
//! Sources: AWS IoT API Reference (`iot` job operations, `iot-jobs-data`), Developer Guide
//! *Jobs* (*Job configurations*, *Jobs device MQTT API*, *Jobs and job execution states*,
//! *AWS IoT Jobs quotas*), `../shared/reference/aws-iot-logging.md` §3.6 and §4.

mod control;
mod counters;
mod device;
mod error;
mod gateway;
pub mod model;
mod scheduler;
mod store;

pub use control::{ExecutionPage, JobPage, JobQuery, JobUpdate, NewJob, NewTemplate, TemplatePage};
pub use counters::{JobCounters, count_metric, total_metric};
pub use device::{
    DeviceCaller, JobExecutionView, PendingJobs, StartNextRequest, UpdateRequest, UpdateResult,
};
pub use error::{ExecutionState, JobsError, JobsErrorKind};
pub use gateway::{COMPONENT, JobsGateway, JobsQueueStats, REQUEST_QUEUE_CAPACITY};
pub use store::DB_FILE;

use model::{Execution, ExecutionStatus, Job, JobStatus};
use parking_lot::Mutex;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use thingwatch_aws::{Arn, IotKind, Scope};
use thingwatch_events::{
    ClientIdentity, ClientLog, FinalExecutionCounts, Logger, Protocol,
    ReportFinalJobExecutionCount, TraceId,
};

/// What Jobs needs of the thing registry: existence and (recursive) group membership.
pub trait Directory: Send + Sync {
    /// Does the thing exist?
    fn thing_exists(&self, thing: &str) -> bool;
    /// Does the thing group exist?
    fn group_exists(&self, group: &str) -> bool;
    /// The things in `group` and in all its descendant groups.
    fn things_in_group(&self, group: &str) -> Vec<String>;
    /// The groups `thing` is in, directly or through a parent group.
    fn groups_of_thing(&self, thing: &str) -> Vec<String>;
}

impl Directory for thingwatch_registry::Registry {
    fn thing_exists(&self, thing: &str) -> bool {
        self.describe_thing(thing).is_ok()
    }

    fn group_exists(&self, group: &str) -> bool {
        self.group_membership().chain(group).is_some()
    }

    fn things_in_group(&self, group: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        while let Ok(page) = self.list_things_in_thing_group(group, true, token.as_deref(), 250) {
            out.extend(page.items);
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out
    }

    fn groups_of_thing(&self, thing: &str) -> Vec<String> {
        let index = self.group_membership();
        let mut out: Vec<String> = Vec::new();
        for g in index.groups_of(thing) {
            if let Some(chain) = index.chain(&g) {
                for name in chain.iter() {
                    if !out.iter().any(|o| **o == **name) {
                        out.push(name.to_string());
                    }
                }
            }
        }
        out
    }
}

/// Where notifications go: the broker's ingress in the server ([`JobsGateway`] is one).
pub trait Notifier: Send + Sync {
    /// Publishes `payload` on `topic` (QoS 1, not retained).
    fn publish(&self, topic: String, payload: Vec<u8>);
}

/// Tunables; `Default` is AWS's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsSettings {
    /// The length of a "minute" in timeouts (`inProgressTimeoutInMinutes`,
    /// `stepTimeoutInMinutes`) and rollout rates (things per minute), ms. 60,000; tests and
    /// demonstrations shorten it (`THINGWATCH_JOBS_MINUTE_MS`).
    pub minute_ms: i64,
    /// How often the scheduler looks for due work at the latest, ms (it is also woken by
    /// every change that gives it work).
    pub tick_ms: u64,
}

impl Default for JobsSettings {
    fn default() -> JobsSettings {
        JobsSettings {
            minute_ms: 60_000,
            tick_ms: 1_000,
        }
    }
}

/// The Jobs service. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Jobs {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) conn: Mutex<Connection>,
    pub(crate) scope: Scope,
    pub(crate) settings: JobsSettings,
    pub(crate) directory: Arc<dyn Directory>,
    pub(crate) notifier: OnceLock<Arc<dyn Notifier>>,
    pub(crate) logger: Logger,
    /// The identity `ReportFinalJobExecutionCount` is written under (no client: the
    /// account's default level and event configuration decide).
    pub(crate) service_log: ClientLog,
    pub(crate) counters: Arc<JobCounters>,
    pub(crate) scheduler: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub(crate) stopping: AtomicBool,
    /// Things whose memberships changed, for the continuous jobs (bounded: past
    /// [`MAX_PENDING_MEMBERSHIP`] the scheduler reconciles every continuous job instead).
    pub(crate) membership: Mutex<(HashSet<String>, bool)>,
}

/// Membership changes remembered one by one before the scheduler falls back to a full
/// reconciliation of the continuous jobs.
pub(crate) const MAX_PENDING_MEMBERSHIP: usize = 100_000;

/// Epoch ms now.
pub(crate) fn now_ms() -> i64 {
    thingwatch_events::now_ms()
}

/// Epoch seconds of epoch ms (the device API's and the `iot` model's timestamps).
pub(crate) fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl Jobs {
    /// Opens `dir/jobs.db` (creating it) and starts the `jobs-scheduler` thread, with its
    /// own [`JobCounters`] ([`Jobs::open_with_counters`] to share them with a metrics
    /// publisher started earlier).
    ///
    /// # Errors
    /// The database cannot be opened or migrated.
    pub fn open(
        dir: &Path,
        scope: Scope,
        directory: Arc<dyn Directory>,
        logger: Logger,
        settings: JobsSettings,
    ) -> Result<Jobs, thingwatch_sqlite::OpenError> {
        Jobs::open_with_counters(dir, scope, directory, logger, settings, Arc::default())
    }

    /// [`Jobs::open`] counting into `counters`.
    ///
    /// # Errors
    /// The database cannot be opened or migrated.
    pub fn open_with_counters(
        dir: &Path,
        scope: Scope,
        directory: Arc<dyn Directory>,
        logger: Logger,
        settings: JobsSettings,
        counters: Arc<JobCounters>,
    ) -> Result<Jobs, thingwatch_sqlite::OpenError> {
        let conn = thingwatch_sqlite::open(&dir.join(DB_FILE), &store::SCHEMA)?;
        // Every statement of store.rs stays parsed (there are about 40).
        conn.set_prepared_statement_cache_capacity(store::STATEMENT_CACHE);
        let service_log = logger.client(ClientIdentity {
            client_id: "N/A".to_owned(),
            principal_id: "N/A".to_owned(),
            source_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            source_port: 0,
            protocol: Protocol::Http,
            thing_name: None,
        });
        let inner = Arc::new(Inner {
            conn: Mutex::new(conn),
            scope,
            settings,
            directory,
            notifier: OnceLock::new(),
            logger,
            service_log,
            counters,
            scheduler: Mutex::new(None),
            stopping: AtomicBool::new(false),
            membership: Mutex::new((HashSet::new(), false)),
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        inner.counters.set_totals(Box::new(move |touched| {
            weak.upgrade()
                .map(|inner| inner.totals(touched))
                .unwrap_or_default()
        }));
        let jobs = Jobs { inner };
        let handle = scheduler::spawn(Arc::downgrade(&jobs.inner));
        *jobs.inner.scheduler.lock() = handle;
        Ok(jobs)
    }

    /// Sends notifications through `notifier` from now on (the first call wins).
    pub fn set_notifier(&self, notifier: Arc<dyn Notifier>) {
        let _ = self.inner.notifier.set(notifier);
    }

    /// The `JobId` metrics, for the metrics publisher.
    pub fn counters(&self) -> Arc<JobCounters> {
        self.inner.counters.clone()
    }

    /// Tells continuous jobs that `thing`'s group memberships changed (the registry's
    /// membership listener).
    pub fn membership_changed(&self, thing: &str) {
        {
            let mut m = self.inner.membership.lock();
            if m.0.len() < MAX_PENDING_MEMBERSHIP {
                m.0.insert(thing.to_owned());
            } else {
                m.1 = true;
            }
        }
        self.inner.wake();
    }

    /// Stops the scheduler (waits for its current pass).
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        let handle = self.inner.scheduler.lock().take();
        if let Some(h) = handle {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// What one change did, delivered after its commit: the things whose pending list may have
/// changed (with their pending executions before), status changes to count, jobs completed.
#[derive(Default)]
pub(crate) struct Outbox {
    before: HashMap<String, Vec<(String, i64)>>,
    changes: Vec<(String, ExecutionStatus)>,
    completed: Vec<(String, FinalExecutionCounts)>,
    wake: bool,
}

impl Outbox {
    /// Remembers `thing`'s pending list before the change (once per change).
    pub(crate) fn touch(&mut self, conn: &Connection, thing: &str) -> rusqlite::Result<()> {
        if !self.before.contains_key(thing) {
            let keys = store::pending_of(conn, thing)?
                .into_iter()
                .map(|e| (e.job_id, e.execution_number))
                .collect();
            self.before.insert(thing.to_owned(), keys);
        }
        Ok(())
    }

    pub(crate) fn changed(&mut self, job_id: &str, status: ExecutionStatus) {
        self.changes.push((job_id.to_owned(), status));
    }

    /// The scheduler has new work (a rollout queue, a timer).
    pub(crate) fn wake_scheduler(&mut self) {
        self.wake = true;
    }
}

impl Inner {
    pub(crate) fn wake(&self) {
        if let Some(h) = self.scheduler.lock().as_ref() {
            h.thread().unpark();
        }
    }

    pub(crate) fn thing_arn(&self, thing: &str) -> String {
        Arn::iot(&self.scope, IotKind::Thing, thing).to_string()
    }

    pub(crate) fn job_arn(&self, job_id: &str) -> String {
        Arn::iot(&self.scope, IotKind::Job, job_id).to_string()
    }

    /// The counts behind the `…TotalCount` gauges: jobs in progress and those in `touched`.
    fn totals(&self, touched: &HashSet<String>) -> Vec<(String, model::ProcessCounts)> {
        let conn = self.conn.lock();
        let mut ids: HashSet<String> = store::jobs_in(&conn, JobStatus::InProgress.as_str())
            .unwrap_or_default()
            .into_iter()
            .map(|j| j.job_id)
            .collect();
        ids.extend(touched.iter().cloned());
        ids.into_iter()
            .filter_map(|id| store::counts(&conn, &id).ok().map(|c| (id, c)))
            .collect()
    }

    /// Changes `e`'s status (version +1), starting the in-progress timer on `IN_PROGRESS` and
    /// clearing timers on a terminal status; writes it and records the change.
    pub(crate) fn set_status(
        &self,
        conn: &Connection,
        job: &Job,
        e: &mut Execution,
        to: ExecutionStatus,
        now: i64,
        outbox: &mut Outbox,
    ) -> rusqlite::Result<()> {
        outbox.touch(conn, &e.thing_name)?;
        let was = e.status;
        e.status = to;
        e.version_number += 1;
        e.last_updated_at_ms = now;
        if to == ExecutionStatus::InProgress && e.started_at_ms.is_none() {
            e.started_at_ms = Some(now);
            if let Some(minutes) = job
                .config
                .timeout_config
                .as_ref()
                .and_then(|t| t.in_progress_timeout_in_minutes)
            {
                e.in_progress_deadline_ms = Some(now + minutes * self.settings.minute_ms);
                outbox.wake_scheduler();
            }
        }
        if to.is_terminal() {
            e.in_progress_deadline_ms = None;
            e.step_deadline_ms = None;
        }
        store::update_execution(conn, e)?;
        if was != to {
            outbox.changed(&e.job_id, to);
        }
        Ok(())
    }

    /// Creates the first execution of `job` on each of `things` that has none yet.
    pub(crate) fn create_executions(
        &self,
        conn: &Connection,
        job: &mut Job,
        things: &[String],
        now: i64,
        outbox: &mut Outbox,
    ) -> rusqlite::Result<()> {
        for thing in things {
            if store::execution(conn, &job.job_id, thing, None)?.is_some() {
                continue;
            }
            outbox.touch(conn, thing)?;
            let e = Execution {
                job_id: job.job_id.clone(),
                thing_name: thing.clone(),
                execution_number: 1,
                status: ExecutionStatus::Queued,
                force_canceled: false,
                status_details: Default::default(),
                queued_at_ms: now,
                started_at_ms: None,
                last_updated_at_ms: now,
                version_number: 1,
                retry_attempt: 0,
                in_progress_deadline_ms: None,
                step_deadline_ms: None,
            };
            store::insert_execution(conn, &e)?;
            outbox.changed(&job.job_id, ExecutionStatus::Queued);
            job.notified += 1;
        }
        Ok(())
    }

    /// After an execution of `job` reached a terminal status: a retry (FAILED / TIMED_OUT
    /// with retries left), the abort criteria, and completion of a snapshot job.
    pub(crate) fn after_terminal(
        &self,
        conn: &Connection,
        job: &mut Job,
        e: &Execution,
        now: i64,
        outbox: &mut Outbox,
    ) -> rusqlite::Result<()> {
        if job.status == JobStatus::InProgress && self.should_retry(job, e) {
            outbox.touch(conn, &e.thing_name)?;
            let retry = Execution {
                execution_number: e.execution_number + 1,
                status: ExecutionStatus::Queued,
                force_canceled: false,
                status_details: Default::default(),
                queued_at_ms: now,
                started_at_ms: None,
                last_updated_at_ms: now,
                version_number: 1,
                retry_attempt: e.retry_attempt + 1,
                in_progress_deadline_ms: None,
                step_deadline_ms: None,
                ..e.clone()
            };
            store::insert_execution(conn, &retry)?;
            outbox.changed(&job.job_id, ExecutionStatus::Queued);
            return Ok(());
        }
        if job.status == JobStatus::InProgress
            && let Some(reason) = self.abort_reason(conn, job)?
        {
            job.comment = Some(reason);
            job.reason_code = None;
            self.cancel_in(conn, job, false, now, outbox)?;
            return Ok(());
        }
        self.check_completion(conn, job, now, outbox)
    }

    fn should_retry(&self, job: &Job, e: &Execution) -> bool {
        let Some(config) = &job.config.job_executions_retry_config else {
            return false;
        };
        let kind = match e.status {
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            _ => return false,
        };
        config.criteria_list.iter().any(|c| {
            (c.failure_type == kind || c.failure_type == "ALL")
                && e.retry_attempt < i64::from(c.number_of_retries)
        })
    }

    /// The comment of the abort whose criteria the job's executions meet, if any.
    fn abort_reason(&self, conn: &Connection, job: &Job) -> rusqlite::Result<Option<String>> {
        let Some(abort) = &job.config.abort_config else {
            return Ok(None);
        };
        let counts = store::counts(conn, &job.job_id)?;
        let executed = counts.executed();
        for c in &abort.criteria_list {
            if executed < u64::from(c.min_number_of_executed_things) || executed == 0 {
                continue;
            }
            let failed = match c.failure_type.as_str() {
                "FAILED" => counts.failed,
                "REJECTED" => counts.rejected,
                "TIMED_OUT" => counts.timed_out,
                _ => counts.failed + counts.rejected + counts.timed_out,
            };
            #[allow(clippy::cast_precision_loss)]
            let percent = failed as f64 * 100.0 / executed as f64;
            if percent >= c.threshold_percentage {
                return Ok(Some(format!(
                    "Job canceled by its abort configuration: {failed} of {executed} executed things ({percent:.1}%) are {} (threshold {}%).",
                    c.failure_type, c.threshold_percentage
                )));
            }
        }
        Ok(None)
    }

    /// A snapshot job in progress with nothing left to roll out and no pending execution is
    /// `COMPLETED`; `ReportFinalJobExecutionCount` follows the commit.
    pub(crate) fn check_completion(
        &self,
        conn: &Connection,
        job: &mut Job,
        now: i64,
        outbox: &mut Outbox,
    ) -> rusqlite::Result<()> {
        if job.status != JobStatus::InProgress
            || job.config.target_selection != model::TargetSelection::Snapshot
            || store::has_pending(conn, &job.job_id)?
            || store::rollout_len(conn, &job.job_id)? > 0
        {
            return Ok(());
        }
        let counts = store::counts(conn, &job.job_id)?;
        job.status = JobStatus::Completed;
        job.completed_at_ms = Some(now);
        job.last_updated_at_ms = now;
        outbox.completed.push((
            job.job_id.clone(),
            FinalExecutionCounts {
                queued: counts.queued,
                in_progress: counts.in_progress,
                failed: counts.failed,
                succeeded: counts.succeeded,
                canceled: counts.canceled,
                rejected: counts.rejected,
                removed: counts.removed,
            },
        ));
        Ok(())
    }

    /// Cancels `job`: `CANCELED`, its rollout queue dropped, its `QUEUED` executions
    /// `CANCELED` and, with `force`, its `IN_PROGRESS` ones too (`forceCanceled`).
    pub(crate) fn cancel_in(
        &self,
        conn: &Connection,
        job: &mut Job,
        force: bool,
        now: i64,
        outbox: &mut Outbox,
    ) -> rusqlite::Result<()> {
        job.status = JobStatus::Canceled;
        job.force_canceled |= force;
        job.last_updated_at_ms = now;
        store::clear_rollout(conn, &job.job_id)?;
        for mut e in store::pending_of_job(conn, &job.job_id)? {
            if e.status == ExecutionStatus::InProgress && !force {
                continue;
            }
            e.force_canceled = e.status == ExecutionStatus::InProgress;
            self.set_status(conn, job, &mut e, ExecutionStatus::Canceled, now, outbox)?;
        }
        Ok(())
    }

    /// After the commit: notifications for every touched thing, the status-change metrics,
    /// the completion entries, the scheduler's wake-up.
    pub(crate) fn deliver(&self, outbox: Outbox) {
        for (job, status) in &outbox.changes {
            self.counters.status_changed(job, *status);
        }
        for (job_id, counts) in &outbox.completed {
            self.logger.emit(
                &self.service_log,
                ReportFinalJobExecutionCount::COMPLETED,
                TraceId::new(),
                |_| ReportFinalJobExecutionCount {
                    job_id,
                    counts: *counts,
                },
            );
        }
        if outbox.wake {
            self.wake();
        }
        if outbox.before.is_empty() {
            return;
        }
        let Some(notifier) = self.notifier.get() else {
            return;
        };
        let now = now_ms();
        let mut messages = Vec::new();
        // One job's document serves every thing it notifies.
        let mut documents: HashMap<String, Option<String>> = HashMap::new();
        {
            let conn = self.conn.lock();
            for (thing, before) in &outbox.before {
                let Ok(pending) = store::pending_of(&conn, thing) else {
                    continue;
                };
                let after: Vec<(String, i64)> = pending
                    .iter()
                    .map(|e| (e.job_id.clone(), e.execution_number))
                    .collect();
                let mut before_set: Vec<&(String, i64)> = before.iter().collect();
                let mut after_set: Vec<&(String, i64)> = after.iter().collect();
                before_set.sort();
                after_set.sort();
                if before_set != after_set {
                    messages.push((
                        format!("$aws/things/{thing}/jobs/notify"),
                        device::notify_payload(&pending, now),
                    ));
                }
                if before.first() != after.first() {
                    let next = pending.first();
                    let document = next.and_then(|e| {
                        documents
                            .entry(e.job_id.clone())
                            .or_insert_with(|| {
                                store::job(&conn, &e.job_id)
                                    .ok()
                                    .flatten()
                                    .map(|j| j.config.document)
                            })
                            .clone()
                    });
                    messages.push((
                        format!("$aws/things/{thing}/jobs/notify-next"),
                        device::notify_next_payload(next, document.as_deref(), now),
                    ));
                }
            }
        }
        for (topic, payload) in messages {
            notifier.publish(topic, payload);
        }
    }
}
