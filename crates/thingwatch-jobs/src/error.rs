//! [`JobsError`]: every refusal of the Jobs service, with the kind that names its AWS error
//! on each surface — the control plane's exception (`iot`), the HTTP device API's
//! (`iot-jobs-data`) and the MQTT device API's `code` (Developer Guide *Jobs device MQTT
//! API*, error codes: `InvalidTopic`, `InvalidJson`, `InvalidRequest`,
//! `InvalidStateTransition`, `ResourceNotFound`, `VersionMismatch`, `InternalError`,
//! `RequestThrottled`, `TerminalStateReached`).

use crate::model::ExecutionStatus;
use std::collections::BTreeMap;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobsErrorKind {
    /// A parameter is invalid (`InvalidRequestException`, MQTT `InvalidRequest`).
    InvalidRequest,
    /// The request payload is not JSON (MQTT `InvalidJson`; HTTP `InvalidRequestException`).
    InvalidJson,
    /// No such job, execution, thing, group or template (`ResourceNotFoundException`, MQTT
    /// `ResourceNotFound`).
    ResourceNotFound,
    /// The job or template exists (`ResourceAlreadyExistsException`; templates:
    /// `ConflictException`).
    ResourceAlreadyExists,
    /// An AWS limit (`LimitExceededException`).
    LimitExceeded,
    /// The status does not allow the change (`InvalidStateTransitionException`, MQTT
    /// `InvalidStateTransition`).
    InvalidStateTransition,
    /// `expectedVersion` is stale (control plane `VersionConflictException`, MQTT
    /// `VersionMismatch`, HTTP device API `InvalidStateTransitionException`).
    VersionMismatch,
    /// The execution already ended (`TerminalStateException`, MQTT `TerminalStateReached`).
    TerminalState,
    /// Too many requests (`ThrottlingException`, MQTT `RequestThrottled`).
    Throttled,
    /// A storage failure (`InternalFailureException` / MQTT `InternalError`).
    Internal,
}

/// An execution's state as a rejection carries it (`executionState` of `InvalidStateTransition`
/// and `VersionMismatch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionState {
    /// `status`.
    pub status: ExecutionStatus,
    /// `statusDetails`.
    pub status_details: BTreeMap<String, String>,
    /// `versionNumber`.
    pub version_number: i64,
}

/// A refusal: kind, AWS-style message and, for state conflicts, the execution's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobsError {
    /// What went wrong.
    pub kind: JobsErrorKind,
    /// The message.
    pub message: String,
    /// The execution's current state, for `InvalidStateTransition` and `VersionMismatch`.
    pub execution_state: Option<ExecutionState>,
}

impl JobsError {
    /// A refusal without execution state.
    pub fn new(kind: JobsErrorKind, message: impl Into<String>) -> JobsError {
        JobsError {
            kind,
            message: message.into(),
            execution_state: None,
        }
    }

    /// `InvalidRequest`.
    pub fn invalid(message: impl Into<String>) -> JobsError {
        JobsError::new(JobsErrorKind::InvalidRequest, message)
    }

    /// `ResourceNotFound`.
    pub fn not_found(message: impl Into<String>) -> JobsError {
        JobsError::new(JobsErrorKind::ResourceNotFound, message)
    }

    /// Adds the execution's state.
    pub fn with_state(mut self, state: ExecutionState) -> JobsError {
        self.execution_state = Some(state);
        self
    }

    /// The MQTT device API's `code`.
    pub fn mqtt_code(&self) -> &'static str {
        match self.kind {
            JobsErrorKind::InvalidRequest
            | JobsErrorKind::LimitExceeded
            | JobsErrorKind::ResourceAlreadyExists => "InvalidRequest",
            JobsErrorKind::InvalidJson => "InvalidJson",
            JobsErrorKind::ResourceNotFound => "ResourceNotFound",
            JobsErrorKind::InvalidStateTransition => "InvalidStateTransition",
            JobsErrorKind::VersionMismatch => "VersionMismatch",
            JobsErrorKind::TerminalState => "TerminalStateReached",
            JobsErrorKind::Throttled => "RequestThrottled",
            JobsErrorKind::Internal => "InternalError",
        }
    }

    /// A client's fault (counted as `ClientErrorCount`), not the server's
    /// (`ServerErrorCount`).
    pub fn is_client_error(&self) -> bool {
        self.kind != JobsErrorKind::Internal
    }
}

impl From<rusqlite::Error> for JobsError {
    fn from(e: rusqlite::Error) -> JobsError {
        tracing::error!(error = %e, "jobs store failure");
        JobsError::new(JobsErrorKind::Internal, "Internal service failure")
    }
}

pub(crate) fn job_not_found(job_id: &str) -> JobsError {
    JobsError::not_found(format!("Job {job_id} does not exist."))
}

pub(crate) fn execution_not_found(job_id: &str, thing: &str) -> JobsError {
    JobsError::not_found(format!(
        "Job execution of job {job_id} on thing {thing} does not exist."
    ))
}
