//! The Jobs `AWS/IoT` metrics, dimension `JobId` (Developer Guide *AWS IoT metrics and
//! dimensions* → Jobs metrics; `../shared/reference/aws-iot-logging.md` §4):
//!
//! - `{Queued, InProgress, Failed, Rejected, Canceled, Removed}JobExecutionCount` and
//!   `SuccededJobExecutionCount` (AWS's spelling): executions that moved to the status
//!   within the period — cumulative counters here; the metrics publisher publishes their
//!   increase each minute.
//! - the matching `…TotalCount`: the job's executions in the status now (a gauge the
//!   publisher writes each minute for every job that is in progress or changed).
//! - `ClientErrorCount`, `ServerErrorCount`: device requests on the job that were rejected
//!   for the client's fault or the server's.
//!
//! `TIMED_OUT` has no metric in AWS's list and counts none here.

use crate::model::{ExecutionStatus, ProcessCounts};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use thingwatch_metrics::{AWS_IOT_NAMESPACE, CounterSource, MetricId};

/// The `…JobExecutionCount` metric of a status (`None` for `TIMED_OUT`).
pub fn count_metric(status: ExecutionStatus) -> Option<&'static str> {
    Some(match status {
        ExecutionStatus::Queued => "QueuedJobExecutionCount",
        ExecutionStatus::InProgress => "InProgressJobExecutionCount",
        ExecutionStatus::Succeeded => "SuccededJobExecutionCount",
        ExecutionStatus::Failed => "FailedJobExecutionCount",
        ExecutionStatus::Rejected => "RejectedJobExecutionCount",
        ExecutionStatus::Removed => "RemovedJobExecutionCount",
        ExecutionStatus::Canceled => "CanceledJobExecutionCount",
        ExecutionStatus::TimedOut => return None,
    })
}

/// The `…JobExecutionTotalCount` metric of a status (`None` for `TIMED_OUT`).
pub fn total_metric(status: ExecutionStatus) -> Option<&'static str> {
    Some(match status {
        ExecutionStatus::Queued => "QueuedJobExecutionTotalCount",
        ExecutionStatus::InProgress => "InProgressJobExecutionTotalCount",
        ExecutionStatus::Succeeded => "SuccededJobExecutionTotalCount",
        ExecutionStatus::Failed => "FailedJobExecutionTotalCount",
        ExecutionStatus::Rejected => "RejectedJobExecutionTotalCount",
        ExecutionStatus::Removed => "RemovedJobExecutionTotalCount",
        ExecutionStatus::Canceled => "CanceledJobExecutionTotalCount",
        ExecutionStatus::TimedOut => return None,
    })
}

/// Reads the totals of the jobs in progress and of the given (changed) jobs.
type TotalsFn = Box<dyn Fn(&HashSet<String>) -> Vec<(String, ProcessCounts)> + Send + Sync>;

/// The Jobs counters (cumulative since start) and the source of the totals. Made before the
/// Jobs service (the metrics publisher starts first) and handed to [`crate::Jobs::open`],
/// which connects the totals.
#[derive(Default)]
pub struct JobCounters {
    counts: Mutex<HashMap<(String, &'static str), u64>>,
    touched: Mutex<HashSet<String>>,
    totals: std::sync::OnceLock<TotalsFn>,
}

impl std::fmt::Debug for JobCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobCounters").finish_non_exhaustive()
    }
}

impl JobCounters {
    /// Reads the totals with `totals` from now on (the first call wins).
    pub(crate) fn set_totals(&self, totals: TotalsFn) {
        let _ = self.totals.set(totals);
    }

    fn incr(&self, job_id: &str, metric: &'static str) {
        *self
            .counts
            .lock()
            .entry((job_id.to_owned(), metric))
            .or_default() += 1;
        self.touched.lock().insert(job_id.to_owned());
    }

    /// An execution of `job_id` moved to `status`.
    pub(crate) fn status_changed(&self, job_id: &str, status: ExecutionStatus) {
        if let Some(metric) = count_metric(status) {
            self.incr(job_id, metric);
        }
    }

    /// A device request on `job_id` was rejected.
    pub(crate) fn request_failed(&self, job_id: &str, client_error: bool) {
        self.incr(
            job_id,
            if client_error {
                "ClientErrorCount"
            } else {
                "ServerErrorCount"
            },
        );
    }

    /// The cumulative value of `metric` for `job_id` (tests and tools).
    pub fn get(&self, metric: &str, job_id: &str) -> u64 {
        self.counts
            .lock()
            .iter()
            .filter(|((j, m), _)| j == job_id && *m == metric)
            .map(|(_, v)| *v)
            .sum()
    }
}

fn job_metric(name: &str, job_id: &str) -> MetricId {
    MetricId::new(
        AWS_IOT_NAMESPACE,
        name,
        vec![("JobId".to_owned(), job_id.to_owned())],
    )
}

impl CounterSource for JobCounters {
    fn counters(&self) -> Vec<(MetricId, u64)> {
        self.counts
            .lock()
            .iter()
            .map(|((job, metric), v)| (job_metric(metric, job), *v))
            .collect()
    }

    fn gauges(&self) -> Vec<(MetricId, f64)> {
        let touched = std::mem::take(&mut *self.touched.lock());
        let mut out = Vec::new();
        let Some(totals) = self.totals.get() else {
            return out;
        };
        for (job, counts) in totals(&touched) {
            for status in ExecutionStatus::ALL {
                let Some(metric) = total_metric(status) else {
                    continue;
                };
                let n = match status {
                    ExecutionStatus::Queued => counts.queued,
                    ExecutionStatus::InProgress => counts.in_progress,
                    ExecutionStatus::Succeeded => counts.succeeded,
                    ExecutionStatus::Failed => counts.failed,
                    ExecutionStatus::Rejected => counts.rejected,
                    ExecutionStatus::Removed => counts.removed,
                    ExecutionStatus::Canceled => counts.canceled,
                    ExecutionStatus::TimedOut => counts.timed_out,
                };
                #[allow(clippy::cast_precision_loss)]
                out.push((job_metric(metric, &job), n as f64));
            }
        }
        out
    }
}
