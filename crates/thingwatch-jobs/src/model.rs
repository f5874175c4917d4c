//! The Jobs vocabulary: job and job-execution statuses with their state machine, a job's
//! configuration (the `CreateJob` members the service acts on), jobs, executions and job
//! templates as stored.
//!
//! Shapes and limits: botocore `iot` 2015-05-28 (`CreateJob`, `Job`, `JobExecution`,
//! `AbortCriteria`, `RetryCriteria`, `ExponentialRolloutRate`) and `iot-jobs-data`
//! 2017-09-29, read with `../shared/tools/aws-op.py` (botocore 1.43.11). State machine:
//! Developer Guide *Jobs and job execution states*. Configuration structs serialize with
//! AWS's member names (camelCase), so the API crate reads and writes them as they are on the
//! wire and the store keeps them as JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// AWS's limit on a job document, bytes (`JobDocument` max=32768).
pub const MAX_DOCUMENT_BYTES: usize = 32_768;
/// `inProgressTimeoutInMinutes` and `stepTimeoutInMinutes`: 1 minute to 7 days (Developer
/// Guide *Job configurations*: "between 1 and 10080 minutes").
pub const MAX_TIMEOUT_MINUTES: i64 = 10_080;
/// `maximumPerMinute` upper bound (*Job rollout*: "1 to 1000").
pub const MAX_ROLLOUT_PER_MINUTE: u32 = 1_000;
/// Targets per job (*AWS IoT Jobs quotas*: "Maximum number of targets in a job: 100").
pub const MAX_TARGETS: usize = 100;
/// `statusDetails` value length, characters (*Jobs* device API: "maximum length of the value
/// … 1,024 characters").
pub const MAX_STATUS_DETAIL_VALUE: usize = 1_024;
/// Jobs in `DELETION_IN_PROGRESS` at once (*AWS IoT Jobs quotas*: 10 concurrent job
/// deletions).
pub const MAX_CONCURRENT_DELETIONS: usize = 10;

/// A job's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Rolling out (or waiting for devices).
    InProgress,
    /// Canceled (CancelJob, an abort criterion, a scheduling end).
    Canceled,
    /// DeleteJob accepted; executions are being removed.
    DeletionInProgress,
    /// A snapshot job whose every execution reached a terminal status.
    Completed,
    /// Waiting for its `schedulingConfig.startTime`.
    Scheduled,
}

impl JobStatus {
    /// The wire name (`IN_PROGRESS`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Canceled => "CANCELED",
            JobStatus::DeletionInProgress => "DELETION_IN_PROGRESS",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Scheduled => "SCHEDULED",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<JobStatus> {
        [
            JobStatus::InProgress,
            JobStatus::Canceled,
            JobStatus::DeletionInProgress,
            JobStatus::Completed,
            JobStatus::Scheduled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A job execution's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Waiting for the device.
    Queued,
    /// The device started it.
    InProgress,
    /// The device reported success (terminal).
    Succeeded,
    /// The device reported failure (terminal).
    Failed,
    /// An in-progress or step timeout expired (terminal).
    TimedOut,
    /// The device refused it (terminal).
    Rejected,
    /// The thing left the continuous job's target group while queued (terminal).
    Removed,
    /// Canceled by CancelJob or CancelJobExecution (terminal).
    Canceled,
}

impl ExecutionStatus {
    /// Every status, in AWS's enum order.
    pub const ALL: [ExecutionStatus; 8] = [
        ExecutionStatus::Queued,
        ExecutionStatus::InProgress,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
        ExecutionStatus::Rejected,
        ExecutionStatus::Removed,
        ExecutionStatus::Canceled,
    ];

    /// The wire name (`QUEUED`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Queued => "QUEUED",
            ExecutionStatus::InProgress => "IN_PROGRESS",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Rejected => "REJECTED",
            ExecutionStatus::Removed => "REMOVED",
            ExecutionStatus::Canceled => "CANCELED",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<ExecutionStatus> {
        ExecutionStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// `QUEUED` or `IN_PROGRESS`: on the thing's pending list.
    pub const fn is_pending(self) -> bool {
        matches!(self, ExecutionStatus::Queued | ExecutionStatus::InProgress)
    }

    /// Every status but `QUEUED` and `IN_PROGRESS`.
    pub const fn is_terminal(self) -> bool {
        !self.is_pending()
    }

    /// The statuses a device may set with UpdateJobExecution (`IN_PROGRESS`, `SUCCEEDED`,
    /// `FAILED`, `REJECTED`; the API reference: "This must be specified on every update").
    pub const fn settable_by_device(self) -> bool {
        matches!(
            self,
            ExecutionStatus::InProgress
                | ExecutionStatus::Succeeded
                | ExecutionStatus::Failed
                | ExecutionStatus::Rejected
        )
    }

    /// May a device move an execution from `self` to `to`? From `QUEUED` or `IN_PROGRESS` to
    /// any device status (`IN_PROGRESS` → `IN_PROGRESS` updates the details); nothing leaves
    /// a terminal status (*Jobs* device API, `InvalidStateTransition`: "an attempt to change
    /// a request in state SUCCEEDED to state IN_PROGRESS").
    pub const fn device_may_move_to(self, to: ExecutionStatus) -> bool {
        self.is_pending() && to.settable_by_device()
    }
}

/// `targetSelection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetSelection {
    /// The job runs on the targets as they are at creation (default).
    #[default]
    Snapshot,
    /// Things added to a target group later get the job too; the job never completes.
    Continuous,
}

impl TargetSelection {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetSelection::Snapshot => "SNAPSHOT",
            TargetSelection::Continuous => "CONTINUOUS",
        }
    }
}

/// `presignedUrlConfig` (kept and returned; S3 URLs in documents are not rewritten: the
/// object store arrives with OTA).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUrlConfig {
    /// The role that grants access to the S3 objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// URL lifetime, seconds (60–3600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_sec: Option<i64>,
}

/// `jobExecutionsRolloutConfig.exponentialRate.rateIncreaseCriteria`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateIncreaseCriteria {
    /// Raise the rate after this many more things were notified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_notified_things: Option<u32>,
    /// Raise the rate after this many more things succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_succeeded_things: Option<u32>,
}

/// `jobExecutionsRolloutConfig.exponentialRate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExponentialRate {
    /// The starting rate, things notified per minute (1–1000).
    pub base_rate_per_minute: u32,
    /// The factor each increase multiplies the rate by (1.1–5).
    pub increment_factor: f64,
    /// When to increase.
    pub rate_increase_criteria: RateIncreaseCriteria,
}

/// `jobExecutionsRolloutConfig`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutConfig {
    /// Things notified per minute at most (1–1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_per_minute: Option<u32>,
    /// An increasing rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponential_rate: Option<ExponentialRate>,
}

/// One `abortConfig.criteriaList` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbortCriteria {
    /// `FAILED`, `REJECTED`, `TIMED_OUT` or `ALL`.
    pub failure_type: String,
    /// `CANCEL`.
    pub action: String,
    /// Percentage of executed things (0–100) that must have failed this way.
    pub threshold_percentage: f64,
    /// Executed things before the criterion is evaluated (≥ 1).
    pub min_number_of_executed_things: u32,
}

/// `abortConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbortConfig {
    /// At least one criterion.
    pub criteria_list: Vec<AbortCriteria>,
}

/// `timeoutConfig`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutConfig {
    /// Minutes an execution may stay `IN_PROGRESS` before it is `TIMED_OUT` (1–10080).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress_timeout_in_minutes: Option<i64>,
}

/// One `jobExecutionsRetryConfig.criteriaList` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryCriteria {
    /// `FAILED`, `TIMED_OUT` or `ALL`.
    pub failure_type: String,
    /// Retries (0–10).
    pub number_of_retries: u32,
}

/// `jobExecutionsRetryConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryConfig {
    /// One or two criteria.
    pub criteria_list: Vec<RetryCriteria>,
}

/// `schedulingConfig`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingConfig {
    /// ISO 8601 `YYYY-MM-DDTHH:MM` (UTC) when the rollout starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the job ends (at least 30 minutes after `startTime` on AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// `STOP_ROLLOUT`, `CANCEL` or `FORCE_CANCEL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_behavior: Option<String>,
    /// Maintenance windows, kept and returned as sent (not evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance_windows: Option<serde_json::Value>,
}

/// What a job is asked to be: `CreateJob`'s members after a job template was merged in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobConfig {
    /// Thing and thing-group ARNs.
    pub targets: Vec<String>,
    /// The job document (JSON text, ≤ 32 KiB), after substitution of `documentParameters`.
    pub document: String,
    /// The document before substitution, when a template with parameters produced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_before_substitution: Option<String>,
    /// `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `targetSelection`.
    #[serde(default)]
    pub target_selection: TargetSelection,
    /// `presignedUrlConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presigned_url_config: Option<PresignedUrlConfig>,
    /// `jobExecutionsRolloutConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_executions_rollout_config: Option<RolloutConfig>,
    /// `abortConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_config: Option<AbortConfig>,
    /// `timeoutConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_config: Option<TimeoutConfig>,
    /// `jobExecutionsRetryConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_executions_retry_config: Option<RetryConfig>,
    /// `schedulingConfig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling_config: Option<SchedulingConfig>,
    /// `namespaceId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// `jobTemplateArn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_template_arn: Option<String>,
    /// `documentParameters`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_parameters: Option<BTreeMap<String, String>>,
    /// `destinationPackageVersions`, kept and returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_package_versions: Option<Vec<String>>,
}

/// `jobProcessDetails`: the things of a job by the status of their latest execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessCounts {
    /// `numberOfQueuedThings`.
    pub queued: u64,
    /// `numberOfInProgressThings`.
    pub in_progress: u64,
    /// `numberOfSucceededThings`.
    pub succeeded: u64,
    /// `numberOfFailedThings`.
    pub failed: u64,
    /// `numberOfTimedOutThings`.
    pub timed_out: u64,
    /// `numberOfRejectedThings`.
    pub rejected: u64,
    /// `numberOfRemovedThings`.
    pub removed: u64,
    /// `numberOfCanceledThings`.
    pub canceled: u64,
}

impl ProcessCounts {
    /// Adds `n` things in `status`.
    pub fn add(&mut self, status: ExecutionStatus, n: u64) {
        let slot = match status {
            ExecutionStatus::Queued => &mut self.queued,
            ExecutionStatus::InProgress => &mut self.in_progress,
            ExecutionStatus::Succeeded => &mut self.succeeded,
            ExecutionStatus::Failed => &mut self.failed,
            ExecutionStatus::TimedOut => &mut self.timed_out,
            ExecutionStatus::Rejected => &mut self.rejected,
            ExecutionStatus::Removed => &mut self.removed,
            ExecutionStatus::Canceled => &mut self.canceled,
        };
        *slot += n;
    }

    /// Things whose execution is `QUEUED` or `IN_PROGRESS`.
    pub fn pending(&self) -> u64 {
        self.queued + self.in_progress
    }

    /// Things whose execution ended (`SUCCEEDED`, `FAILED`, `TIMED_OUT`, `REJECTED`): the
    /// "executed things" abort criteria count.
    pub fn executed(&self) -> u64 {
        self.succeeded + self.failed + self.timed_out + self.rejected
    }
}

/// A job as stored: its configuration and lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// `jobId`.
    pub job_id: String,
    /// `jobArn`.
    pub job_arn: String,
    /// What was asked.
    pub config: JobConfig,
    /// `status`.
    pub status: JobStatus,
    /// `forceCanceled`: CancelJob with `force`.
    #[serde(default)]
    pub force_canceled: bool,
    /// `reasonCode` of a cancel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// `comment` of a cancel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `createdAt`, epoch ms.
    pub created_at_ms: i64,
    /// `lastUpdatedAt`, epoch ms.
    pub last_updated_at_ms: i64,
    /// `completedAt`, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at_ms: Option<i64>,
    /// Rollout state: the current rate (things per minute) of an exponential rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_rate: Option<f64>,
    /// Rollout state: things notified when the rate last increased.
    #[serde(default)]
    pub notified_at_last_increase: u64,
    /// Rollout state: things succeeded when the rate last increased.
    #[serde(default)]
    pub succeeded_at_last_increase: u64,
    /// Rollout state: things notified so far.
    #[serde(default)]
    pub notified: u64,
    /// Rollout state: start of the current one-minute window, epoch ms.
    #[serde(default)]
    pub rollout_window_start_ms: i64,
    /// Rollout state: things notified in the current window.
    #[serde(default)]
    pub rollout_in_window: u64,
}

/// A job execution as stored: one thing's run of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// `jobId`.
    pub job_id: String,
    /// The thing.
    pub thing_name: String,
    /// `executionNumber` (1 for the first, +1 per retry).
    pub execution_number: i64,
    /// `status`.
    pub status: ExecutionStatus,
    /// `forceCanceled`.
    pub force_canceled: bool,
    /// `statusDetails.detailsMap`.
    pub status_details: BTreeMap<String, String>,
    /// `queuedAt`, epoch ms.
    pub queued_at_ms: i64,
    /// `startedAt`, epoch ms (when it went `IN_PROGRESS`).
    pub started_at_ms: Option<i64>,
    /// `lastUpdatedAt`, epoch ms.
    pub last_updated_at_ms: i64,
    /// `versionNumber` (1 when queued, +1 per change).
    pub version_number: i64,
    /// `retryAttempt` (0 for the first execution).
    pub retry_attempt: i64,
    /// When the in-progress timeout fires, epoch ms.
    pub in_progress_deadline_ms: Option<i64>,
    /// When the step timeout fires, epoch ms.
    pub step_deadline_ms: Option<i64>,
}

impl Execution {
    /// The earlier of the two timeouts, epoch ms.
    pub fn deadline_ms(&self) -> Option<i64> {
        match (self.in_progress_deadline_ms, self.step_deadline_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `approximateSecondsBeforeTimedOut` at `now_ms`, for a pending execution with a timer.
    pub fn seconds_before_timed_out(&self, now_ms: i64) -> Option<i64> {
        if !self.status.is_pending() {
            return None;
        }
        self.deadline_ms()
            .map(|d| ((d - now_ms).max(0) + 999) / 1000)
    }
}

/// A job template (`CreateJobTemplate`): a reusable job configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTemplate {
    /// `jobTemplateId`.
    pub job_template_id: String,
    /// `jobTemplateArn`.
    pub job_template_arn: String,
    /// `description` (required by AWS).
    pub description: String,
    /// The document (JSON text, may hold `${aws:iot:parameter:NAME}` placeholders).
    pub document: String,
    /// The template's configuration (targets empty).
    pub config: JobConfig,
    /// `maintenanceWindows`, kept as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance_windows: Option<serde_json::Value>,
    /// `createdAt`, epoch ms.
    pub created_at_ms: i64,
}

/// Replaces every `${aws:iot:parameter:NAME}` in `document` by `parameters[NAME]`.
///
/// # Errors
/// The name of the first placeholder without a value.
pub fn substitute_parameters(
    document: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<String, String> {
    const OPEN: &str = "${aws:iot:parameter:";
    let mut out = String::with_capacity(document.len());
    let mut rest = document;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        match parameters.get(name) {
            Some(v) => out.push_str(v),
            None => return Err(name.to_owned()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_transitions_follow_the_state_machine() {
        use ExecutionStatus::*;
        for from in ExecutionStatus::ALL {
            for to in ExecutionStatus::ALL {
                let allowed = from.device_may_move_to(to);
                let expected = matches!(from, Queued | InProgress)
                    && matches!(to, InProgress | Succeeded | Failed | Rejected);
                assert_eq!(allowed, expected, "{from:?} -> {to:?}");
            }
        }
        assert!(!Succeeded.device_may_move_to(InProgress));
        assert!(InProgress.device_may_move_to(InProgress));
    }

    #[test]
    fn statuses_round_trip_their_wire_names() {
        for s in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(
            JobStatus::parse("DELETION_IN_PROGRESS"),
            Some(JobStatus::DeletionInProgress)
        );
        assert_eq!(JobStatus::parse("done"), None);
    }

    #[test]
    fn parameters_are_substituted() {
        let mut p = BTreeMap::new();
        p.insert("version".to_owned(), "2.1".to_owned());
        assert_eq!(
            substitute_parameters(r#"{"v":"${aws:iot:parameter:version}"}"#, &p).unwrap(),
            r#"{"v":"2.1"}"#
        );
        assert_eq!(
            substitute_parameters(r#"{"v":"${aws:iot:parameter:url}"}"#, &p),
            Err("url".to_owned())
        );
        assert_eq!(substitute_parameters("plain", &p).unwrap(), "plain");
    }

    #[test]
    fn timeouts_report_seconds_left() {
        let e = Execution {
            job_id: "j".into(),
            thing_name: "t".into(),
            execution_number: 1,
            status: ExecutionStatus::InProgress,
            force_canceled: false,
            status_details: BTreeMap::new(),
            queued_at_ms: 0,
            started_at_ms: Some(0),
            last_updated_at_ms: 0,
            version_number: 2,
            retry_attempt: 0,
            in_progress_deadline_ms: Some(60_000),
            step_deadline_ms: Some(30_500),
        };
        assert_eq!(e.deadline_ms(), Some(30_500));
        assert_eq!(e.seconds_before_timed_out(10_000), Some(21));
    }
}
