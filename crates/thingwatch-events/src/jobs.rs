//! AWS IoT Jobs log events: the device API's `GetPendingJobExecution`,
//! `DescribeJobExecution`, `StartNextPendingJobExecution`, `UpdateJobExecution`, and
//! `ReportFinalJobExecutionCount` when a job completes.
//!
//! Source: AWS IoT Developer Guide, *CloudWatch AWS IoT log entries* → *Job logs*
//! (`../shared/reference/aws-iot-logging.md` §3.6). DEBUG for the device requests, INFO for
//! the final count; attributes after the common header in the documented order
//! (`protocol, clientId, [jobId,] topicName, clientToken, [versionNumber,] details`). The
//! examples carry no `traceId`, so these entries have none ([`IotLogEvent::TRACE_ID`]).
//! `versionNumber` is a JSON string in the example (`"versionNumber":"1"`) and written so.
//!
//! AWS documents only the Success form. A rejected request (`…/rejected` or an HTTP 4xx) is
//! written as the Failure form — ERROR, `status: Failure`, `reason` = the Jobs error code
//! (`ResourceNotFound`, `InvalidStateTransition`, `VersionMismatch`, …) and `details` =
//! `"The request status is FAILURE. "` followed by the error message — our documented
//! choice, in the style of the other Failure entries. For an HTTP request `topicName` is the
//! MQTT request topic the call is equivalent to, as for shadow entries. `clientToken` is
//! omitted when the request carried none.

use crate::broker::Protocol;
use crate::event::{EventType, Failure, IotLogEvent, Status};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The `details` of every successful device request.
pub const REQUEST_SUCCEEDED: &str = "The request status is SUCCESS.";

/// What every device-request entry carries: who asked, on which topic, with which token.
#[derive(Clone, Copy, Debug)]
pub struct JobRequest<'a> {
    /// `MQTT` or `HTTP`.
    pub protocol: Protocol,
    /// The requesting client's MQTT client ID (`N/A` over HTTP).
    pub client_id: &'a str,
    /// The request topic (`$aws/things/{thing}/jobs/…`).
    pub topic_name: &'a str,
    /// The request's `clientToken`, if it sent one.
    pub client_token: Option<&'a str>,
}

/// The `details` of a successful `UpdateJobExecution`:
/// `"The destination status is IN_PROGRESS. The request status is SUCCESS."`.
pub fn update_succeeded_details(destination_status: &str) -> String {
    format!("The destination status is {destination_status}. {REQUEST_SUCCEEDED}")
}

/// The `details` of a Failure entry: `"The request status is FAILURE. <message>"`.
pub fn request_failed_details(message: &str) -> String {
    format!("The request status is FAILURE. {message}")
}

fn write_outcome<M: SerializeMap>(
    map: &mut M,
    details: &str,
    failure: &Option<Failure<'_>>,
) -> Result<(), M::Error> {
    match failure {
        Some(f) => {
            map.serialize_entry("reason", f.reason)?;
            map.serialize_entry("details", f.details)
        }
        None => map.serialize_entry("details", details),
    }
}

macro_rules! job_request_event {
    ($(#[$doc:meta])* $name:ident, $event_type:expr, job_id: $with_job:tt) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name<'a> {
            /// Who asked, on which topic.
            pub request: JobRequest<'a>,
            /// The job addressed (written only by the event types that document `jobId`).
            pub job_id: Option<&'a str>,
            /// `Some` for the Failure form (`reason`, `details`).
            pub failure: Option<Failure<'a>>,
        }

        impl<'a> $name<'a> {
            /// The Success form (DEBUG, `details` = [`REQUEST_SUCCEEDED`]).
            pub fn success(request: JobRequest<'a>, job_id: Option<&'a str>) -> Self {
                $name { request, job_id, failure: None }
            }
            /// The Failure form (ERROR): `reason` the Jobs error code, `details` from
            /// [`request_failed_details`].
            pub fn failure(
                request: JobRequest<'a>,
                job_id: Option<&'a str>,
                reason: &'a str,
                details: &'a str,
            ) -> Self {
                $name { request, job_id, failure: Some(Failure { reason, details }) }
            }
        }

        impl Serialize for $name<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let r = &self.request;
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("protocol", &r.protocol)?;
                map.serialize_entry("clientId", r.client_id)?;
                if $with_job {
                    if let Some(job) = self.job_id {
                        map.serialize_entry("jobId", job)?;
                    }
                }
                map.serialize_entry("topicName", r.topic_name)?;
                if let Some(token) = r.client_token {
                    map.serialize_entry("clientToken", token)?;
                }
                write_outcome(&mut map, REQUEST_SUCCEEDED, &self.failure)?;
                map.end()
            }
        }

        impl IotLogEvent for $name<'_> {
            const EVENT_TYPE: EventType = $event_type;
            const TRACE_ID: bool = false;
            fn status(&self) -> Status {
                Status::of(&self.failure)
            }
        }
    };
}

job_request_event!(
    /// `GetPendingJobExecution`: a device listed its pending executions (`…/jobs/get`, HTTP
    /// `GetPendingJobExecutions`).
    GetPendingJobExecution,
    EventType::GetPendingJobExecution,
    job_id: false
);
job_request_event!(
    /// `DescribeJobExecution`: a device read one execution (`…/jobs/{jobId}/get`, HTTP
    /// `DescribeJobExecution`).
    DescribeJobExecution,
    EventType::DescribeJobExecution,
    job_id: true
);
job_request_event!(
    /// `StartNextPendingJobExecution`: a device started its next pending execution
    /// (`…/jobs/start-next`, HTTP `StartNextPendingJobExecution`).
    StartNextPendingJobExecution,
    EventType::StartNextPendingJobExecution,
    job_id: false
);

/// `UpdateJobExecution`: a device reported an execution's status (`…/jobs/{jobId}/update`,
/// HTTP `UpdateJobExecution`).
#[derive(Clone, Debug)]
pub struct UpdateJobExecution<'a> {
    /// Who asked, on which topic.
    pub request: JobRequest<'a>,
    /// The job addressed.
    pub job_id: &'a str,
    /// The version of the execution the update was made to — before the update: the
    /// `expectedVersion` of a device that sent the right one (the guide's example logs
    /// `"versionNumber":"1"` for the first update of a queued execution) — written as a JSON
    /// string; `None` when the execution does not exist.
    pub version_number: Option<i64>,
    /// The success `details` ([`update_succeeded_details`]) or the Failure.
    pub outcome: Result<&'a str, Failure<'a>>,
}

impl Serialize for UpdateJobExecution<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.request;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("protocol", &r.protocol)?;
        map.serialize_entry("clientId", r.client_id)?;
        map.serialize_entry("jobId", self.job_id)?;
        map.serialize_entry("topicName", r.topic_name)?;
        if let Some(token) = r.client_token {
            map.serialize_entry("clientToken", token)?;
        }
        if let Some(v) = self.version_number {
            map.serialize_entry("versionNumber", &v.to_string())?;
        }
        match self.outcome {
            Ok(details) => write_outcome(&mut map, details, &None)?,
            Err(f) => write_outcome(&mut map, "", &Some(f))?,
        }
        map.end()
    }
}

impl IotLogEvent for UpdateJobExecution<'_> {
    const EVENT_TYPE: EventType = EventType::UpdateJobExecution;
    const TRACE_ID: bool = false;
    fn status(&self) -> Status {
        match self.outcome {
            Ok(_) => Status::Success,
            Err(_) => Status::Failure,
        }
    }
}

/// The executions of a completed job by final status (the counts
/// `ReportFinalJobExecutionCount` reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FinalExecutionCounts {
    /// `QUEUED` executions.
    pub queued: u64,
    /// `IN_PROGRESS` executions.
    pub in_progress: u64,
    /// `FAILED` executions (AWS counts `TIMED_OUT` ones separately in DescribeJob, not here).
    pub failed: u64,
    /// `SUCCEEDED` executions.
    pub succeeded: u64,
    /// `CANCELED` executions.
    pub canceled: u64,
    /// `REJECTED` executions.
    pub rejected: u64,
    /// `REMOVED` executions.
    pub removed: u64,
}

/// `ReportFinalJobExecutionCount` (INFO): a job completed; `details` gives the executions
/// per status: `"Job 002 completed. QUEUED job execution count: 0 IN_PROGRESS job execution
/// count: 0 FAILED job execution count: 0 SUCCEEDED job execution count: 1 CANCELED job
/// execution count: 0 REJECTED job execution count: 0 REMOVED job execution count: 0"`.
#[derive(Clone, Debug)]
pub struct ReportFinalJobExecutionCount<'a> {
    /// The completed job.
    pub job_id: &'a str,
    /// Its executions by final status.
    pub counts: FinalExecutionCounts,
}

impl ReportFinalJobExecutionCount<'_> {
    /// The `details` text.
    pub fn details(&self) -> String {
        let c = &self.counts;
        format!(
            "Job {} completed. QUEUED job execution count: {} IN_PROGRESS job execution count: {} \
             FAILED job execution count: {} SUCCEEDED job execution count: {} CANCELED job \
             execution count: {} REJECTED job execution count: {} REMOVED job execution count: {}",
            self.job_id,
            c.queued,
            c.in_progress,
            c.failed,
            c.succeeded,
            c.canceled,
            c.rejected,
            c.removed
        )
    }
}

impl Serialize for ReportFinalJobExecutionCount<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jobId", self.job_id)?;
        map.serialize_entry("details", &self.details())?;
        map.end()
    }
}

impl IotLogEvent for ReportFinalJobExecutionCount<'_> {
    const EVENT_TYPE: EventType = EventType::ReportFinalJobExecutionCount;
    const TRACE_ID: bool = false;
    fn status(&self) -> Status {
        Status::Success
    }
}
