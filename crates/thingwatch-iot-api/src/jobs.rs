//! The AWS IoT Jobs control plane over `thingwatch_jobs::Jobs`: CreateJob, DescribeJob,
//! ListJobs, UpdateJob, CancelJob, DeleteJob, GetJobDocument, DescribeJobExecution,
//! ListJobExecutionsForJob, ListJobExecutionsForThing, CancelJobExecution,
//! DeleteJobExecution, CreateJobTemplate, DescribeJobTemplate, ListJobTemplates and
//! DeleteJobTemplate.
//!
//! Members, routes, constraints and errors: botocore 1.43.11, `iot-2015-05-28` (AWS IoT API
//! Reference, e.g. <https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html>).
//! Timestamps (`createdAt`, `queuedAt`, …) are epoch **seconds** as JSON numbers. Shapes are
//! checked here (`InvalidRequestException` with AWS's validation messages); what depends on
//! state is the domain's ([`thingwatch_jobs::JobsError`], mapped by `jobs_error`).
//! Without [`IotService::with_jobs`] every operation answers `UnknownOperationException`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thingwatch_http::error::{ApiError, ErrorCode};
use thingwatch_jobs::model::{
    AbortConfig, Execution, ExecutionStatus, Job, JobConfig, JobStatus, JobTemplate,
    PresignedUrlConfig, ProcessCounts, RetryConfig, RolloutConfig, SchedulingConfig,
    TargetSelection, TimeoutConfig,
};
use thingwatch_jobs::{Jobs, JobsError, JobsErrorKind, NewJob, NewTemplate};

use super::validate::{MAX_NAME_LEN, Pattern, Validation};
use super::{Empty, Input, IotService, epoch_seconds};

/// `JobId` / `JobTemplateId` maximum length (model: max=64).
pub const MAX_JOB_ID_LEN: usize = 64;
/// `JobDescription` / `Comment` maximum length (model: max=2028).
pub const MAX_JOB_DESCRIPTION_LEN: usize = 2028;
/// `JobDocumentSource` maximum length (model: max=1350).
pub const MAX_DOCUMENT_SOURCE_LEN: usize = 1350;
/// `ReasonCode` maximum length (model: max=128).
pub const MAX_REASON_CODE_LEN: usize = 128;
/// `TargetArn` maximum length (model: max=2048).
pub const MAX_TARGET_ARN_LEN: usize = 2048;
/// ListJobs / ListJobExecutions* / ListJobTemplates page size without `maxResults` (our
/// choice; AWS documents none).
pub const DEFAULT_JOB_RESULTS: usize = 50;

/// The AWS error of a Jobs refusal on the control plane. `ResourceAlreadyExists` is
/// `ConflictException` for templates (`template`).
pub(crate) fn jobs_error(e: JobsError, template: bool) -> ApiError {
    let code = match e.kind {
        JobsErrorKind::InvalidRequest | JobsErrorKind::InvalidJson => ErrorCode::InvalidRequest,
        JobsErrorKind::ResourceNotFound => ErrorCode::ResourceNotFound,
        JobsErrorKind::ResourceAlreadyExists if template => ErrorCode::Conflict,
        JobsErrorKind::ResourceAlreadyExists => ErrorCode::ResourceAlreadyExists,
        JobsErrorKind::LimitExceeded => ErrorCode::LimitExceeded,
        JobsErrorKind::InvalidStateTransition | JobsErrorKind::TerminalState => {
            ErrorCode::InvalidStateTransition
        }
        JobsErrorKind::VersionMismatch => ErrorCode::VersionConflict,
        JobsErrorKind::Throttled => ErrorCode::Throttling,
        JobsErrorKind::Internal => ErrorCode::InternalFailure,
    };
    ApiError::new(code, e.message)
}

/// Runs a Jobs call on the blocking pool (SQLite).
async fn blocking<T, F>(template: bool, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, JobsError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| jobs_error(e, template)),
        Err(join) => {
            tracing::error!(error = %join, "jobs task failed");
            Err(ApiError::new(
                ErrorCode::InternalFailure,
                "An unexpected error has occurred.",
            ))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateJobInput {
    targets: Option<Vec<String>>,
    document_source: Option<String>,
    document: Option<String>,
    description: Option<String>,
    presigned_url_config: Option<PresignedUrlConfig>,
    target_selection: Option<String>,
    job_executions_rollout_config: Option<RolloutConfig>,
    abort_config: Option<AbortConfig>,
    timeout_config: Option<TimeoutConfig>,
    #[serde(default)]
    #[allow(dead_code)]
    tags: Option<serde_json::Value>,
    namespace_id: Option<String>,
    job_template_arn: Option<String>,
    job_executions_retry_config: Option<RetryConfig>,
    document_parameters: Option<BTreeMap<String, String>>,
    scheduling_config: Option<SchedulingConfig>,
    destination_package_versions: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobArnOutput {
    job_arn: String,
    job_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessDetails {
    processing_targets: Vec<String>,
    number_of_canceled_things: u64,
    number_of_succeeded_things: u64,
    number_of_failed_things: u64,
    number_of_rejected_things: u64,
    number_of_queued_things: u64,
    number_of_in_progress_things: u64,
    number_of_removed_things: u64,
    number_of_timed_out_things: u64,
}

impl From<ProcessCounts> for ProcessDetails {
    fn from(c: ProcessCounts) -> ProcessDetails {
        ProcessDetails {
            processing_targets: Vec::new(),
            number_of_canceled_things: c.canceled,
            number_of_succeeded_things: c.succeeded,
            number_of_failed_things: c.failed,
            number_of_rejected_things: c.rejected,
            number_of_queued_things: c.queued,
            number_of_in_progress_things: c.in_progress,
            number_of_removed_things: c.removed,
            number_of_timed_out_things: c.timed_out,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobOut {
    job_arn: String,
    job_id: String,
    target_selection: &'static str,
    status: &'static str,
    force_canceled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presigned_url_config: Option<PresignedUrlConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_executions_rollout_config: Option<RolloutConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abort_config: Option<AbortConfig>,
    created_at: f64,
    last_updated_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<f64>,
    job_process_details: ProcessDetails,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_config: Option<TimeoutConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_template_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_executions_retry_config: Option<RetryConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_parameters: Option<BTreeMap<String, String>>,
    is_concurrent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduling_config: Option<SchedulingConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_package_versions: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeJobOutput {
    job: JobOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobSummaryOut {
    job_arn: String,
    job_id: String,
    target_selection: &'static str,
    status: &'static str,
    created_at: f64,
    last_updated_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<f64>,
    is_concurrent: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListJobsOutput {
    jobs: Vec<JobSummaryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobDocumentOutput {
    document: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusDetailsOut {
    details_map: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionOut {
    job_id: String,
    status: &'static str,
    force_canceled: bool,
    status_details: StatusDetailsOut,
    thing_arn: String,
    queued_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<f64>,
    last_updated_at: f64,
    execution_number: i64,
    version_number: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    approximate_seconds_before_timed_out: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeJobExecutionOutput {
    execution: ExecutionOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionSummaryOut {
    status: &'static str,
    queued_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<f64>,
    last_updated_at: f64,
    execution_number: i64,
    retry_attempt: i64,
}

impl From<&Execution> for ExecutionSummaryOut {
    fn from(e: &Execution) -> ExecutionSummaryOut {
        ExecutionSummaryOut {
            status: e.status.as_str(),
            queued_at: epoch_seconds(e.queued_at_ms),
            started_at: e.started_at_ms.map(epoch_seconds),
            last_updated_at: epoch_seconds(e.last_updated_at_ms),
            execution_number: e.execution_number,
            retry_attempt: e.retry_attempt,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ForJobOut {
    thing_arn: String,
    job_execution_summary: ExecutionSummaryOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ForJobOutput {
    execution_summaries: Vec<ForJobOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ForThingOut {
    job_id: String,
    job_execution_summary: ExecutionSummaryOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ForThingOutput {
    execution_summaries: Vec<ForThingOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UpdateJobInput {
    description: Option<String>,
    presigned_url_config: Option<PresignedUrlConfig>,
    job_executions_rollout_config: Option<RolloutConfig>,
    abort_config: Option<AbortConfig>,
    timeout_config: Option<TimeoutConfig>,
    job_executions_retry_config: Option<RetryConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CancelJobInput {
    reason_code: Option<String>,
    comment: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CancelExecutionInput {
    expected_version: Option<i64>,
    status_details: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateTemplateInput {
    job_arn: Option<String>,
    document_source: Option<String>,
    document: Option<String>,
    description: Option<String>,
    presigned_url_config: Option<PresignedUrlConfig>,
    job_executions_rollout_config: Option<RolloutConfig>,
    abort_config: Option<AbortConfig>,
    timeout_config: Option<TimeoutConfig>,
    #[serde(default)]
    #[allow(dead_code)]
    tags: Option<serde_json::Value>,
    job_executions_retry_config: Option<RetryConfig>,
    maintenance_windows: Option<serde_json::Value>,
    destination_package_versions: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateArnOutput {
    job_template_arn: String,
    job_template_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeTemplateOutput {
    job_template_arn: String,
    job_template_id: String,
    description: String,
    document: String,
    created_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    presigned_url_config: Option<PresignedUrlConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_executions_rollout_config: Option<RolloutConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abort_config: Option<AbortConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_config: Option<TimeoutConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_executions_retry_config: Option<RetryConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maintenance_windows: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_package_versions: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateSummaryOut {
    job_template_arn: String,
    job_template_id: String,
    description: String,
    created_at: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListTemplatesOutput {
    job_templates: Vec<TemplateSummaryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

const JOB_STATUSES: &[&str] = &[
    "IN_PROGRESS",
    "CANCELED",
    "COMPLETED",
    "DELETION_IN_PROGRESS",
    "SCHEDULED",
];
const EXECUTION_STATUSES: &[&str] = &[
    "QUEUED",
    "IN_PROGRESS",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "REJECTED",
    "REMOVED",
    "CANCELED",
];
const TARGET_SELECTIONS: &[&str] = &["CONTINUOUS", "SNAPSHOT"];

fn job_id_check(v: &mut Validation, field: &str, value: &str) {
    v.string(field, Some(value), 1, MAX_JOB_ID_LEN, Some(Pattern::JobId));
}

fn description_check(v: &mut Validation, field: &str, value: Option<&str>) {
    v.string(
        field,
        value,
        0,
        MAX_JOB_DESCRIPTION_LEN,
        Some(Pattern::NoControl),
    );
}

fn page_size(v: &mut Validation, input: &Input<'_>) -> Result<usize, ApiError> {
    let n = input.query.int("maxResults")?;
    v.range("maxResults", n, 1, 250);
    Ok(n.and_then(|n| usize::try_from(n).ok())
        .filter(|n| (1..=250).contains(n))
        .unwrap_or(DEFAULT_JOB_RESULTS))
}

fn job_out(job: Job, counts: ProcessCounts) -> JobOut {
    let c = job.config;
    JobOut {
        job_arn: job.job_arn,
        job_id: job.job_id,
        target_selection: c.target_selection.as_str(),
        status: job.status.as_str(),
        force_canceled: job.force_canceled,
        reason_code: job.reason_code,
        comment: job.comment,
        targets: c.targets,
        description: c.description,
        presigned_url_config: c.presigned_url_config,
        job_executions_rollout_config: c.job_executions_rollout_config,
        abort_config: c.abort_config,
        created_at: epoch_seconds(job.created_at_ms),
        last_updated_at: epoch_seconds(job.last_updated_at_ms),
        completed_at: job.completed_at_ms.map(epoch_seconds),
        job_process_details: counts.into(),
        timeout_config: c.timeout_config,
        namespace_id: c.namespace_id,
        job_template_arn: c.job_template_arn,
        job_executions_retry_config: c.job_executions_retry_config,
        document_parameters: c.document_parameters,
        is_concurrent: false,
        scheduling_config: c.scheduling_config,
        destination_package_versions: c.destination_package_versions,
    }
}

impl IotService {
    fn jobs_api(&self) -> Result<Jobs, ApiError> {
        self.inner.jobs.clone().ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownOperation,
                "Job operations are not configured on this server.",
            )
        })
    }

    /// CreateJob (`PUT /jobs/{jobId}`).
    pub(crate) async fn op_create_job(&self, input: &Input<'_>) -> Result<JobArnOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let body: CreateJobInput = input.body()?;
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        let targets = v.required("targets", body.targets);
        v.list_len("targets", targets.as_ref().map(Vec::len), 1, usize::MAX);
        for (i, t) in targets.iter().flatten().enumerate() {
            v.string(
                &format!("targets.{}", i + 1),
                Some(t),
                0,
                MAX_TARGET_ARN_LEN,
                None,
            );
        }
        v.string(
            "documentSource",
            body.document_source.as_deref(),
            1,
            MAX_DOCUMENT_SOURCE_LEN,
            None,
        );
        description_check(&mut v, "description", body.description.as_deref());
        v.one_of(
            "targetSelection",
            body.target_selection.as_deref(),
            TARGET_SELECTIONS,
        );
        v.string(
            "namespaceId",
            body.namespace_id.as_deref(),
            1,
            MAX_NAME_LEN,
            Some(Pattern::JobId),
        );
        v.string(
            "jobTemplateArn",
            body.job_template_arn.as_deref(),
            1,
            1600,
            None,
        );
        v.finish()?;
        let config = JobConfig {
            targets: targets.unwrap_or_default(),
            document: body.document.unwrap_or_default(),
            document_before_substitution: None,
            description: body.description,
            target_selection: match body.target_selection.as_deref() {
                Some("CONTINUOUS") => TargetSelection::Continuous,
                _ => TargetSelection::Snapshot,
            },
            presigned_url_config: body.presigned_url_config,
            job_executions_rollout_config: body.job_executions_rollout_config,
            abort_config: body.abort_config,
            timeout_config: body.timeout_config,
            job_executions_retry_config: body.job_executions_retry_config,
            scheduling_config: body.scheduling_config,
            namespace_id: body.namespace_id,
            job_template_arn: body.job_template_arn,
            document_parameters: body.document_parameters,
            destination_package_versions: body.destination_package_versions,
        };
        let new = NewJob {
            job_id,
            config,
            document_source: body.document_source,
        };
        let job = blocking(false, move || jobs.create_job(new)).await?;
        Ok(JobArnOutput {
            job_arn: job.job_arn,
            job_id: job.job_id,
            description: job.config.description,
        })
    }

    /// DescribeJob (`GET /jobs/{jobId}`).
    pub(crate) async fn op_describe_job(
        &self,
        input: &Input<'_>,
    ) -> Result<DescribeJobOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.finish()?;
        let (job, counts) = blocking(false, move || jobs.describe_job(&job_id)).await?;
        Ok(DescribeJobOutput {
            job: job_out(job, counts),
        })
    }

    /// ListJobs (`GET /jobs`).
    pub(crate) async fn op_list_jobs(&self, input: &Input<'_>) -> Result<ListJobsOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let q = &input.query;
        let mut v = Validation::new();
        v.one_of("status", q.get("status"), JOB_STATUSES);
        v.one_of(
            "targetSelection",
            q.get("targetSelection"),
            TARGET_SELECTIONS,
        );
        v.string(
            "thingGroupName",
            q.get("thingGroupName"),
            1,
            MAX_NAME_LEN,
            Some(Pattern::ResourceName),
        );
        let max_results = page_size(&mut v, input)?;
        v.finish()?;
        let query = thingwatch_jobs::JobQuery {
            status: q.get("status").and_then(JobStatus::parse),
            target_selection: match q.get("targetSelection") {
                Some("CONTINUOUS") => Some(TargetSelection::Continuous),
                Some("SNAPSHOT") => Some(TargetSelection::Snapshot),
                _ => None,
            },
            thing_group_name: q.get("thingGroupName").map(str::to_owned),
            max_results,
            next_token: q.get("nextToken").map(str::to_owned),
        };
        let page = blocking(false, move || jobs.list_jobs(&query)).await?;
        Ok(ListJobsOutput {
            jobs: page
                .jobs
                .into_iter()
                .map(|j| JobSummaryOut {
                    target_selection: j.config.target_selection.as_str(),
                    status: j.status.as_str(),
                    created_at: epoch_seconds(j.created_at_ms),
                    last_updated_at: epoch_seconds(j.last_updated_at_ms),
                    completed_at: j.completed_at_ms.map(epoch_seconds),
                    is_concurrent: false,
                    job_arn: j.job_arn,
                    job_id: j.job_id,
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// UpdateJob (`PATCH /jobs/{jobId}`).
    pub(crate) async fn op_update_job(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let body: UpdateJobInput = input.body()?;
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        description_check(&mut v, "description", body.description.as_deref());
        v.finish()?;
        let update = thingwatch_jobs::JobUpdate {
            description: body.description,
            presigned_url_config: body.presigned_url_config,
            rollout: body.job_executions_rollout_config,
            abort: body.abort_config,
            timeout: body.timeout_config,
            retry: body.job_executions_retry_config,
        };
        blocking(false, move || jobs.update_job(&job_id, update)).await?;
        Ok(Empty {})
    }

    /// CancelJob (`PUT /jobs/{jobId}/cancel[?force=]`).
    pub(crate) async fn op_cancel_job(&self, input: &Input<'_>) -> Result<JobArnOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let body: CancelJobInput = input.body()?;
        let force = input.query.bool("force")?.unwrap_or(false);
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.string(
            "reasonCode",
            body.reason_code.as_deref(),
            0,
            MAX_REASON_CODE_LEN,
            Some(Pattern::ReasonCode),
        );
        description_check(&mut v, "comment", body.comment.as_deref());
        v.finish()?;
        let job = blocking(false, move || {
            jobs.cancel_job(&job_id, force, body.reason_code, body.comment)
        })
        .await?;
        Ok(JobArnOutput {
            job_arn: job.job_arn,
            job_id: job.job_id,
            description: job.config.description,
        })
    }

    /// DeleteJob (`DELETE /jobs/{jobId}[?force=]`).
    pub(crate) async fn op_delete_job(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let force = input.query.bool("force")?.unwrap_or(false);
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.finish()?;
        blocking(false, move || jobs.delete_job(&job_id, force)).await?;
        Ok(Empty {})
    }

    /// GetJobDocument (`GET /jobs/{jobId}/job-document[?beforeSubstitution=]`).
    pub(crate) async fn op_get_job_document(
        &self,
        input: &Input<'_>,
    ) -> Result<JobDocumentOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let before = input.query.bool("beforeSubstitution")?.unwrap_or(false);
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.finish()?;
        let document = blocking(false, move || jobs.job_document(&job_id, before)).await?;
        Ok(JobDocumentOutput { document })
    }

    /// DescribeJobExecution (`GET /things/{thingName}/jobs/{jobId}[?executionNumber=]`).
    pub(crate) async fn op_describe_job_execution(
        &self,
        input: &Input<'_>,
    ) -> Result<DescribeJobExecutionOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let thing = input.matched.label("thingName").to_owned();
        let number = input.query.int("executionNumber")?;
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.string(
            "thingName",
            Some(&thing),
            1,
            MAX_NAME_LEN,
            Some(Pattern::ResourceName),
        );
        v.finish()?;
        let thing_arn =
            thingwatch_aws::Arn::iot(&self.scope(), thingwatch_aws::IotKind::Thing, &thing)
                .to_string();
        let e = blocking(false, move || jobs.job_execution(&job_id, &thing, number)).await?;
        let now = thingwatch_events::now_ms();
        Ok(DescribeJobExecutionOutput {
            execution: ExecutionOut {
                approximate_seconds_before_timed_out: e.seconds_before_timed_out(now),
                status: e.status.as_str(),
                force_canceled: e.force_canceled,
                thing_arn,
                queued_at: epoch_seconds(e.queued_at_ms),
                started_at: e.started_at_ms.map(epoch_seconds),
                last_updated_at: epoch_seconds(e.last_updated_at_ms),
                execution_number: e.execution_number,
                version_number: e.version_number,
                job_id: e.job_id,
                status_details: StatusDetailsOut {
                    details_map: e.status_details,
                },
            },
        })
    }

    /// ListJobExecutionsForJob (`GET /jobs/{jobId}/things`).
    pub(crate) async fn op_list_job_executions_for_job(
        &self,
        input: &Input<'_>,
    ) -> Result<ForJobOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let q = &input.query;
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.one_of("status", q.get("status"), EXECUTION_STATUSES);
        let max = page_size(&mut v, input)?;
        v.finish()?;
        let status = q.get("status").and_then(ExecutionStatus::parse);
        let token = q.get("nextToken").map(str::to_owned);
        let scope = self.scope();
        let page = blocking(false, move || {
            jobs.executions_for_job(&job_id, status, max, token.as_deref())
        })
        .await?;
        Ok(ForJobOutput {
            execution_summaries: page
                .executions
                .iter()
                .map(|e| ForJobOut {
                    thing_arn: thingwatch_aws::Arn::iot(
                        &scope,
                        thingwatch_aws::IotKind::Thing,
                        &e.thing_name,
                    )
                    .to_string(),
                    job_execution_summary: e.into(),
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// ListJobExecutionsForThing (`GET /things/{thingName}/jobs`).
    pub(crate) async fn op_list_job_executions_for_thing(
        &self,
        input: &Input<'_>,
    ) -> Result<ForThingOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let thing = input.matched.label("thingName").to_owned();
        let q = &input.query;
        let mut v = Validation::new();
        v.string(
            "thingName",
            Some(&thing),
            1,
            MAX_NAME_LEN,
            Some(Pattern::ResourceName),
        );
        v.one_of("status", q.get("status"), EXECUTION_STATUSES);
        v.string(
            "jobId",
            q.get("jobId"),
            1,
            MAX_JOB_ID_LEN,
            Some(Pattern::JobId),
        );
        let max = page_size(&mut v, input)?;
        v.finish()?;
        let status = q.get("status").and_then(ExecutionStatus::parse);
        let token = q.get("nextToken").map(str::to_owned);
        let job_id = q.get("jobId").map(str::to_owned);
        let page = blocking(false, move || {
            jobs.executions_for_thing(&thing, status, job_id.as_deref(), max, token.as_deref())
        })
        .await?;
        Ok(ForThingOutput {
            execution_summaries: page
                .executions
                .iter()
                .map(|e| ForThingOut {
                    job_id: e.job_id.clone(),
                    job_execution_summary: e.into(),
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// CancelJobExecution (`PUT /things/{thingName}/jobs/{jobId}/cancel[?force=]`).
    pub(crate) async fn op_cancel_job_execution(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let thing = input.matched.label("thingName").to_owned();
        let force = input.query.bool("force")?.unwrap_or(false);
        let body: CancelExecutionInput = input.body()?;
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.string(
            "thingName",
            Some(&thing),
            1,
            MAX_NAME_LEN,
            Some(Pattern::ResourceName),
        );
        v.finish()?;
        blocking(false, move || {
            jobs.cancel_job_execution(
                &job_id,
                &thing,
                force,
                body.expected_version,
                body.status_details,
            )
        })
        .await?;
        Ok(Empty {})
    }

    /// DeleteJobExecution
    /// (`DELETE /things/{thingName}/jobs/{jobId}/executionNumber/{executionNumber}`).
    pub(crate) async fn op_delete_job_execution(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let jobs = self.jobs_api()?;
        let job_id = input.matched.label("jobId").to_owned();
        let thing = input.matched.label("thingName").to_owned();
        let number_text = input.matched.label("executionNumber");
        let force = input.query.bool("force")?.unwrap_or(false);
        let mut v = Validation::new();
        job_id_check(&mut v, "jobId", &job_id);
        v.string(
            "thingName",
            Some(&thing),
            1,
            MAX_NAME_LEN,
            Some(Pattern::ResourceName),
        );
        let number: Option<i64> = number_text.parse().ok();
        if number.is_none() {
            v.fail(format!("executionNumber '{number_text}' is not a number."));
        }
        v.finish()?;
        let number = number.unwrap_or_default();
        blocking(false, move || {
            jobs.delete_job_execution(&job_id, &thing, number, force)
        })
        .await?;
        Ok(Empty {})
    }

    /// CreateJobTemplate (`PUT /job-templates/{jobTemplateId}`).
    pub(crate) async fn op_create_job_template(
        &self,
        input: &Input<'_>,
    ) -> Result<TemplateArnOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let id = input.matched.label("jobTemplateId").to_owned();
        let body: CreateTemplateInput = input.body()?;
        let mut v = Validation::new();
        job_id_check(&mut v, "jobTemplateId", &id);
        let description = v.required("description", body.description);
        description_check(&mut v, "description", description.as_deref());
        v.string(
            "documentSource",
            body.document_source.as_deref(),
            1,
            MAX_DOCUMENT_SOURCE_LEN,
            None,
        );
        v.finish()?;
        let new = NewTemplate {
            job_template_id: id,
            job_arn: body.job_arn,
            document_source: body.document_source,
            description: description.unwrap_or_default(),
            config: JobConfig {
                document: body.document.unwrap_or_default(),
                presigned_url_config: body.presigned_url_config,
                job_executions_rollout_config: body.job_executions_rollout_config,
                abort_config: body.abort_config,
                timeout_config: body.timeout_config,
                job_executions_retry_config: body.job_executions_retry_config,
                destination_package_versions: body.destination_package_versions,
                ..Default::default()
            },
            maintenance_windows: body.maintenance_windows,
        };
        let t = blocking(true, move || jobs.create_job_template(new)).await?;
        Ok(TemplateArnOutput {
            job_template_arn: t.job_template_arn,
            job_template_id: t.job_template_id,
        })
    }

    /// DescribeJobTemplate (`GET /job-templates/{jobTemplateId}`).
    pub(crate) async fn op_describe_job_template(
        &self,
        input: &Input<'_>,
    ) -> Result<DescribeTemplateOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let id = input.matched.label("jobTemplateId").to_owned();
        let mut v = Validation::new();
        job_id_check(&mut v, "jobTemplateId", &id);
        v.finish()?;
        let t: JobTemplate = blocking(true, move || jobs.job_template(&id)).await?;
        let c = t.config;
        Ok(DescribeTemplateOutput {
            job_template_arn: t.job_template_arn,
            job_template_id: t.job_template_id,
            description: t.description,
            document: t.document,
            created_at: epoch_seconds(t.created_at_ms),
            presigned_url_config: c.presigned_url_config,
            job_executions_rollout_config: c.job_executions_rollout_config,
            abort_config: c.abort_config,
            timeout_config: c.timeout_config,
            job_executions_retry_config: c.job_executions_retry_config,
            maintenance_windows: t.maintenance_windows,
            destination_package_versions: c.destination_package_versions,
        })
    }

    /// ListJobTemplates (`GET /job-templates`).
    pub(crate) async fn op_list_job_templates(
        &self,
        input: &Input<'_>,
    ) -> Result<ListTemplatesOutput, ApiError> {
        let jobs = self.jobs_api()?;
        let mut v = Validation::new();
        let max = page_size(&mut v, input)?;
        v.finish()?;
        let token = input.query.get("nextToken").map(str::to_owned);
        let page = blocking(true, move || jobs.list_job_templates(max, token.as_deref())).await?;
        Ok(ListTemplatesOutput {
            job_templates: page
                .templates
                .into_iter()
                .map(|t| TemplateSummaryOut {
                    job_template_arn: t.job_template_arn,
                    job_template_id: t.job_template_id,
                    description: t.description,
                    created_at: epoch_seconds(t.created_at_ms),
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// DeleteJobTemplate (`DELETE /job-templates/{jobTemplateId}`).
    pub(crate) async fn op_delete_job_template(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let jobs = self.jobs_api()?;
        let id = input.matched.label("jobTemplateId").to_owned();
        let mut v = Validation::new();
        job_id_check(&mut v, "jobTemplateId", &id);
        v.finish()?;
        blocking(true, move || jobs.delete_job_template(&id)).await?;
        Ok(Empty {})
    }
}
