//! The AWS IoT Jobs data plane over HTTP (`iot-jobs-data`, SigV4 signing name
//! `iot-jobs-data`, rest-json), over `thingwatch_jobs::Jobs`:
//!
//! | Operation | HTTP |
//! |---|---|
//! | GetPendingJobExecutions | `GET /things/{thingName}/jobs` |
//! | StartNextPendingJobExecution | `PUT /things/{thingName}/jobs/$next` |
//! | DescribeJobExecution | `GET /things/{thingName}/jobs/{jobId}[?includeJobDocument&executionNumber]` (`jobId` may be `$next`) |
//! | UpdateJobExecution | `POST /things/{thingName}/jobs/{jobId}` |
//!
//! Its routes collide with the `iot` service's ListJobExecutionsForThing and
//! DescribeJobExecution; the dispatcher tells them apart by the credential scope's service
//! (`../shared/reference/aws-wire.md` §0.4). Times (`queuedAt`, `startedAt`,
//! `lastUpdatedAt`) are `long` epoch **seconds**; `jobDocument` is the document text.
//! Errors are the model's: `InvalidRequestException` 400, `ResourceNotFoundException` 404,
//! `InvalidStateTransitionException` 409 (also a stale `expectedVersion`: the model has no
//! version error), `TerminalStateException` 410, `ThrottlingException` 429. Each request
//! writes its Jobs log entry with protocol `HTTP` and `clientId` `N/A`.
//!
//! Sources: botocore `iot-jobs-data` 2017-09-29 (botocore 1.43.11), AWS IoT API Reference
//! *AWS IoT Jobs Data Plane*.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::response::Response;
use http::Method;
use serde::{Deserialize, Serialize};
use thingwatch_events::{ClientIdentity, ClientLog, Logger, Protocol as LogProtocol};
use thingwatch_http::error::{ApiError, ErrorCode, Protocol, json_success};
use thingwatch_http::rest::{self as route, Query, Route};
use thingwatch_http::server::{AwsRequest, HandlerFuture, RequestContext, ServiceHandler};
use thingwatch_jobs::model::Execution;
use thingwatch_jobs::{
    DeviceCaller, JobExecutionView, Jobs, JobsError, JobsErrorKind, StartNextRequest, UpdateRequest,
};

/// The SigV4 signing name (and dispatch key) of the service.
pub const SERVICE: &str = "iot-jobs-data";

/// The `clientId` of HTTP requests' log entries.
pub const HTTP_CLIENT_ID: &str = "N/A";

/// Every `iot-jobs-data` operation served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET /things/{thingName}/jobs`
    GetPendingJobExecutions,
    /// `PUT /things/{thingName}/jobs/$next`
    StartNextPendingJobExecution,
    /// `GET /things/{thingName}/jobs/{jobId}`
    DescribeJobExecution,
    /// `POST /things/{thingName}/jobs/{jobId}`
    UpdateJobExecution,
}

/// The route table (botocore `http` traits). `PUT …/jobs/{jobId}` is StartNext only for
/// `$next`.
pub const ROUTES: &[Route<Operation>] = &[
    route::route(
        Method::GET,
        "/things/{thingName}/jobs",
        Operation::GetPendingJobExecutions,
    ),
    route::route(
        Method::PUT,
        "/things/{thingName}/jobs/{jobId}",
        Operation::StartNextPendingJobExecution,
    ),
    route::route(
        Method::GET,
        "/things/{thingName}/jobs/{jobId}",
        Operation::DescribeJobExecution,
    ),
    route::route(
        Method::POST,
        "/things/{thingName}/jobs/{jobId}",
        Operation::UpdateJobExecution,
    ),
];

/// The `iot-jobs-data` service. Cheap to clone.
#[derive(Clone)]
pub struct JobsDataService {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Jobs,
    logger: Logger,
}

impl JobsDataService {
    /// Serves the device API of `jobs`, logging through `logger`.
    pub fn new(jobs: Jobs, logger: Logger) -> JobsDataService {
        JobsDataService {
            inner: Arc::new(Inner { jobs, logger }),
        }
    }
}

/// A route's decoded path labels, in template order.
type Labels = Vec<(&'static str, String)>;

fn matched(req: &AwsRequest) -> Result<(Operation, Labels), ApiError> {
    let path = req.uri.path();
    match route::match_in(ROUTES, &req.method, path)? {
        Some((op, labels)) => {
            let job = labels
                .iter()
                .find(|(n, _)| *n == "jobId")
                .map(|(_, v)| v.as_str());
            if op == Operation::StartNextPendingJobExecution && job != Some("$next") {
                return Err(unknown(&req.method, path));
            }
            Ok((op, labels))
        }
        None => Err(unknown(&req.method, path)),
    }
}

fn unknown(method: &Method, path: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownOperation,
        format!("No AWS IoT Jobs data operation matches {method} {path}."),
    )
}

impl ServiceHandler for JobsDataService {
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let svc = self.clone();
        Box::pin(async move { svc.dispatch(ctx, req).await })
    }

    fn operation_name(&self, req: &AwsRequest) -> Option<String> {
        matched(req).ok().map(|(op, _)| format!("{op:?}"))
    }

    fn path_labels(&self, req: &AwsRequest) -> Vec<(String, String)> {
        matched(req)
            .map(|(_, labels)| labels.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            .unwrap_or_default()
    }
}

/// The AWS error of a Jobs refusal on this API.
fn jobs_error(e: JobsError) -> ApiError {
    let code = match e.kind {
        JobsErrorKind::InvalidRequest
        | JobsErrorKind::InvalidJson
        | JobsErrorKind::LimitExceeded
        | JobsErrorKind::ResourceAlreadyExists => ErrorCode::InvalidRequest,
        JobsErrorKind::ResourceNotFound => ErrorCode::ResourceNotFound,
        JobsErrorKind::InvalidStateTransition | JobsErrorKind::VersionMismatch => {
            ErrorCode::InvalidStateTransition
        }
        JobsErrorKind::TerminalState => ErrorCode::TerminalState,
        JobsErrorKind::Throttled => ErrorCode::Throttling,
        JobsErrorKind::Internal => ErrorCode::ServiceUnavailable,
    };
    ApiError::new(code, e.message)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StartNextInput {
    status_details: Option<BTreeMap<String, String>>,
    step_timeout_in_minutes: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UpdateInput {
    status: Option<String>,
    status_details: Option<BTreeMap<String, String>>,
    step_timeout_in_minutes: Option<i64>,
    expected_version: Option<i64>,
    include_job_execution_state: Option<bool>,
    include_job_document: Option<bool>,
    execution_number: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryOut<'a> {
    job_id: &'a str,
    queued_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<i64>,
    last_updated_at: i64,
    version_number: i64,
    execution_number: i64,
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl<'a> From<&'a Execution> for SummaryOut<'a> {
    fn from(e: &'a Execution) -> SummaryOut<'a> {
        SummaryOut {
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
struct PendingOut<'a> {
    in_progress_jobs: Vec<SummaryOut<'a>>,
    queued_jobs: Vec<SummaryOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionOut<'a> {
    job_id: &'a str,
    thing_name: &'a str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    job_document: Option<&'a str>,
}

impl<'a> From<&'a JobExecutionView> for ExecutionOut<'a> {
    fn from(v: &'a JobExecutionView) -> ExecutionOut<'a> {
        let e = &v.execution;
        ExecutionOut {
            job_id: &e.job_id,
            thing_name: &e.thing_name,
            status: e.status.as_str(),
            status_details: &e.status_details,
            queued_at: secs(e.queued_at_ms),
            started_at: e.started_at_ms.map(secs),
            last_updated_at: secs(e.last_updated_at_ms),
            approximate_seconds_before_timed_out: v.seconds_before_timed_out,
            version_number: e.version_number,
            execution_number: e.execution_number,
            job_document: v.document.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct ExecutionBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    execution: Option<ExecutionOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StateOut<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    status_details: &'a BTreeMap<String, String>,
    version_number: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpdateOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_state: Option<StateOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_document: Option<&'a str>,
}

fn check_names(thing: &str, job_id: Option<&str>) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    let thing_ok = !thing.is_empty()
        && thing.len() <= 128
        && thing
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-'));
    if !thing_ok {
        problems.push(format!(
            "Value '{thing}' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+"
        ));
    }
    if let Some(j) = job_id {
        let ok = j == "$next"
            || (!j.is_empty()
                && j.len() <= 64
                && j.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')));
        if !ok {
            problems.push(format!(
                "Value '{j}' at 'jobId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let n = problems.len();
    Err(ApiError::new(
        ErrorCode::InvalidRequest,
        format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            problems.join("; ")
        ),
    ))
}

impl JobsDataService {
    fn caller_log(&self, ctx: &RequestContext, thing: &str) -> ClientLog {
        let peer = ctx.peer.unwrap_or_else(|| ([127, 0, 0, 1], 0).into());
        self.inner.logger.client(ClientIdentity {
            client_id: HTTP_CLIENT_ID.to_owned(),
            principal_id: ctx.auth.principal.access_key_id.clone(),
            source_ip: peer.ip(),
            source_port: peer.port(),
            protocol: LogProtocol::Http,
            thing_name: Some(thing.to_owned()),
        })
    }

    async fn dispatch(self, ctx: RequestContext, req: AwsRequest) -> Result<Response, ApiError> {
        let (op, labels) = matched(&req)?;
        let label = |name: &str| {
            labels
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(String::new(), |(_, v)| v.clone())
        };
        let thing = label("thingName");
        let job_id = label("jobId");
        let query = Query::parse(req.uri.query())?;
        check_names(
            &thing,
            (op != Operation::GetPendingJobExecutions).then_some(job_id.as_str()),
        )?;
        let parse_body = |body: &[u8]| -> Result<serde_json::Value, ApiError> {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(serde_json::Value::Object(Default::default()));
            }
            serde_json::from_slice(body).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    "The request body is not valid JSON.",
                )
            })
        };
        let body = parse_body(&req.body)?;
        let include_document = query.bool("includeJobDocument")?;
        let execution_number = query.int("executionNumber")?;
        let log = self.caller_log(&ctx, &thing);
        let jobs = self.inner.jobs.clone();
        let rid = ctx.request_id.clone();
        let invalid =
            |e: serde_json::Error| ApiError::new(ErrorCode::InvalidRequest, e.to_string());
        let work: Box<dyn FnOnce() -> Result<Vec<u8>, ApiError> + Send> = match op {
            Operation::GetPendingJobExecutions => Box::new(move || {
                let caller = DeviceCaller {
                    log: &log,
                    client_token: None,
                };
                let p = jobs.get_pending(caller, &thing).map_err(jobs_error)?;
                to_json(&PendingOut {
                    in_progress_jobs: p.in_progress.iter().map(Into::into).collect(),
                    queued_jobs: p.queued.iter().map(Into::into).collect(),
                })
            }),
            Operation::StartNextPendingJobExecution => {
                let input: StartNextInput = serde_json::from_value(body).map_err(invalid)?;
                Box::new(move || {
                    let caller = DeviceCaller {
                        log: &log,
                        client_token: None,
                    };
                    let request = StartNextRequest {
                        status_details: input.status_details,
                        step_timeout_in_minutes: input.step_timeout_in_minutes,
                    };
                    let v = jobs
                        .start_next(caller, &thing, &request)
                        .map_err(jobs_error)?;
                    to_json(&ExecutionBody {
                        execution: v.as_ref().map(Into::into),
                    })
                })
            }
            Operation::DescribeJobExecution => Box::new(move || {
                let caller = DeviceCaller {
                    log: &log,
                    client_token: None,
                };
                let v = jobs
                    .describe_execution(
                        caller,
                        &thing,
                        &job_id,
                        execution_number,
                        include_document.unwrap_or(false),
                    )
                    .map_err(jobs_error)?;
                let Some(v) = v else {
                    return Err(ApiError::new(
                        ErrorCode::ResourceNotFound,
                        format!("Thing {thing} has no pending job execution."),
                    ));
                };
                to_json(&ExecutionBody {
                    execution: Some((&v).into()),
                })
            }),
            Operation::UpdateJobExecution => {
                let input: UpdateInput = serde_json::from_value(body).map_err(invalid)?;
                let Some(status) = input.status else {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        "1 validation error detected: Value null at 'status' failed to satisfy constraint: Member must not be null",
                    ));
                };
                Box::new(move || {
                    let caller = DeviceCaller {
                        log: &log,
                        client_token: None,
                    };
                    let request = UpdateRequest {
                        status,
                        status_details: input.status_details,
                        step_timeout_in_minutes: input.step_timeout_in_minutes,
                        expected_version: input.expected_version,
                        execution_number: input.execution_number,
                        include_job_execution_state: input
                            .include_job_execution_state
                            .unwrap_or(false),
                        include_job_document: input.include_job_document.unwrap_or(false),
                    };
                    let r = jobs
                        .update_execution(caller, &thing, &job_id, &request)
                        .map_err(jobs_error)?;
                    let e = &r.execution;
                    to_json(&UpdateOut {
                        execution_state: request.include_job_execution_state.then(|| StateOut {
                            status: e.status.as_str(),
                            status_details: &e.status_details,
                            version_number: e.version_number,
                        }),
                        job_document: request.include_job_document.then_some(r.document.as_str()),
                    })
                })
            }
        };
        let body = match tokio::task::spawn_blocking(work).await {
            Ok(r) => r?,
            Err(e) => {
                tracing::error!(error = %e, "jobs data task failed");
                return Err(ApiError::new(
                    ErrorCode::ServiceUnavailable,
                    "The service is unavailable.",
                ));
            }
        };
        // The body is already JSON (members in the model's order): sent as it is.
        let text = String::from_utf8(body).map_err(|e| ApiError::internal(&e))?;
        let raw =
            serde_json::value::RawValue::from_string(text).map_err(|e| ApiError::internal(&e))?;
        json_success(Protocol::RestJson, &rid, &raw)
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(v).map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_tell_start_next_from_other_puts() {
        let req = |method: Method, path: &str| AwsRequest {
            method,
            uri: path.parse().unwrap(),
            headers: Default::default(),
            body: Default::default(),
        };
        assert_eq!(
            matched(&req(Method::PUT, "/things/t1/jobs/%24next"))
                .unwrap()
                .0,
            Operation::StartNextPendingJobExecution
        );
        assert_eq!(
            matched(&req(Method::PUT, "/things/t1/jobs/$next"))
                .unwrap()
                .0,
            Operation::StartNextPendingJobExecution
        );
        assert_eq!(
            matched(&req(Method::PUT, "/things/t1/jobs/j1"))
                .unwrap_err()
                .code,
            ErrorCode::UnknownOperation
        );
        assert_eq!(
            matched(&req(Method::GET, "/things/t1/jobs")).unwrap().0,
            Operation::GetPendingJobExecutions
        );
        assert_eq!(
            matched(&req(Method::POST, "/things/t1/jobs/j1")).unwrap().1,
            vec![("thingName", "t1".to_owned()), ("jobId", "j1".to_owned())]
        );
    }

    #[test]
    fn names_are_checked_with_aws_messages() {
        assert!(check_names("t1", Some("$next")).is_ok());
        let e = check_names("bad name", Some("j 1")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(
            e.message.starts_with("2 validation errors detected"),
            "{}",
            e.message
        );
    }
}
