//! The Jobs service through its public API: job lifecycles, the device API's state machine
//! and errors, notifications, timeouts, retries, rollouts, continuous targets, abort
//! criteria, durability across a reopen, and the log entries.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use thingwatch_aws::Scope;
use thingwatch_events::{
    ClientIdentity, LevelSetting, Logger, LoggerSettings, LoggingOptions, MemorySink,
    PipelineConfig, Protocol,
};
use thingwatch_jobs::model::{
    ExecutionStatus, JobConfig, JobStatus, RetryConfig, RetryCriteria, RolloutConfig,
    TargetSelection, TimeoutConfig,
};
use thingwatch_jobs::{
    DeviceCaller, Directory, Jobs, JobsErrorKind, JobsSettings, NewJob, Notifier, StartNextRequest,
    UpdateRequest,
};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

#[derive(Default)]
struct FakeDirectory {
    things: Mutex<Vec<String>>,
    /// group → members
    groups: Mutex<HashMap<String, Vec<String>>>,
}

impl Directory for FakeDirectory {
    fn thing_exists(&self, thing: &str) -> bool {
        self.things.lock().iter().any(|t| t == thing)
    }
    fn group_exists(&self, group: &str) -> bool {
        self.groups.lock().contains_key(group)
    }
    fn things_in_group(&self, group: &str) -> Vec<String> {
        self.groups.lock().get(group).cloned().unwrap_or_default()
    }
    fn groups_of_thing(&self, thing: &str) -> Vec<String> {
        self.groups
            .lock()
            .iter()
            .filter(|(_, m)| m.iter().any(|t| t == thing))
            .map(|(g, _)| g.clone())
            .collect()
    }
}

#[derive(Default)]
struct Capture(Mutex<Vec<(String, serde_json::Value)>>);

impl Notifier for Capture {
    fn publish(&self, topic: String, payload: Vec<u8>) {
        let v = serde_json::from_slice(&payload).expect("notification is JSON");
        self.0.lock().push((topic, v));
    }
}

impl Capture {
    fn take(&self) -> Vec<(String, serde_json::Value)> {
        std::mem::take(&mut *self.0.lock())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    directory: Arc<FakeDirectory>,
    notes: Arc<Capture>,
    logger: Logger,
    sink: MemorySink,
    jobs: Jobs,
}

fn logger() -> (Logger, MemorySink) {
    let sink = MemorySink::new();
    let logger = Logger::start(
        LoggerSettings {
            account_id: ACCOUNT.into(),
            node_id: "node-1".into(),
            pipeline: PipelineConfig::default(),
        },
        Some(LoggingOptions {
            default_log_level: LevelSetting::Debug,
            ..Default::default()
        }),
        Box::new(sink.clone()),
    );
    (logger, sink)
}

fn open(
    path: &std::path::Path,
    directory: Arc<FakeDirectory>,
    logger: &Logger,
    minute_ms: i64,
) -> Jobs {
    Jobs::open(
        path,
        Scope::new(ACCOUNT, REGION),
        directory,
        logger.clone(),
        JobsSettings {
            minute_ms,
            tick_ms: 20,
        },
    )
    .unwrap()
}

fn fixture(minute_ms: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let directory = Arc::new(FakeDirectory::default());
    for t in ["t1", "t2", "t3", "t4", "t5"] {
        directory.things.lock().push(t.into());
    }
    directory
        .groups
        .lock()
        .insert("fleet".into(), vec!["t1".into(), "t2".into(), "t3".into()]);
    let (logger, sink) = logger();
    let jobs = open(&path, directory.clone(), &logger, minute_ms);
    let notes = Arc::new(Capture::default());
    jobs.set_notifier(notes.clone());
    Fixture {
        _dir: dir,
        path,
        directory,
        notes,
        logger,
        sink,
        jobs,
    }
}

fn thing_arn(t: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:thing/{t}")
}

fn group_arn(g: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{g}")
}

fn new_job(id: &str, targets: Vec<String>) -> NewJob {
    NewJob {
        job_id: id.into(),
        config: JobConfig {
            targets,
            document: r#"{"operation":"reboot","z":1,"a":2}"#.into(),
            ..Default::default()
        },
        document_source: None,
    }
}

fn device_log(logger: &Logger, thing: &str) -> thingwatch_events::ClientLog {
    logger.client(ClientIdentity {
        client_id: thing.into(),
        principal_id: "cert-1".into(),
        source_ip: "127.0.0.1".parse().unwrap(),
        source_port: 40000,
        protocol: Protocol::Mqtt,
        thing_name: Some(thing.into()),
    })
}

fn update(status: &str) -> UpdateRequest {
    UpdateRequest {
        status: status.into(),
        status_details: None,
        step_timeout_in_minutes: None,
        expected_version: None,
        execution_number: None,
        include_job_execution_state: true,
        include_job_document: false,
    }
}

fn poll(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_group_job_runs_to_completion_with_notifications_counts_and_log_entries() {
    let f = fixture(60_000);
    let job = f
        .jobs
        .create_job(new_job("fw-1", vec![group_arn("fleet")]))
        .unwrap();
    assert_eq!(job.status, JobStatus::InProgress);
    assert_eq!(
        job.job_arn,
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:job/fw-1")
    );
    let notes = f.notes.take();
    for t in ["t1", "t2", "t3"] {
        let next = notes
            .iter()
            .find(|(topic, _)| *topic == format!("$aws/things/{t}/jobs/notify-next"))
            .expect("notify-next");
        let e = &next.1["execution"];
        assert_eq!(e["jobId"], "fw-1");
        assert_eq!(e["status"], "QUEUED");
        assert_eq!(e["versionNumber"], 1);
        // The document arrives as a JSON object (parsed here, so member order is not compared).
        assert_eq!(
            serde_json::to_string(&e["jobDocument"]).unwrap(),
            r#"{"a":2,"operation":"reboot","z":1}"#
        );
        let notify = notes
            .iter()
            .find(|(topic, _)| *topic == format!("$aws/things/{t}/jobs/notify"))
            .expect("notify");
        assert_eq!(notify.1["jobs"]["QUEUED"][0]["jobId"], "fw-1");
    }
    let (_, counts) = f.jobs.describe_job("fw-1").unwrap();
    assert_eq!(counts.queued, 3);

    for (t, last) in [("t1", "SUCCEEDED"), ("t2", "SUCCEEDED"), ("t3", "FAILED")] {
        let log = device_log(&f.logger, t);
        let caller = DeviceCaller {
            log: &log,
            client_token: Some("tok"),
        };
        let started = f
            .jobs
            .start_next(caller, t, &StartNextRequest::default())
            .unwrap()
            .expect("a pending execution");
        assert_eq!(started.execution.status, ExecutionStatus::InProgress);
        assert_eq!(started.execution.version_number, 2);
        let mut progress = update("IN_PROGRESS");
        progress.status_details = Some(BTreeMap::from([("progress".into(), "50%".into())]));
        progress.expected_version = Some(2);
        let r = f
            .jobs
            .update_execution(caller, t, "fw-1", &progress)
            .unwrap();
        assert_eq!(r.execution.version_number, 3);
        f.jobs
            .update_execution(caller, t, "fw-1", &update(last))
            .unwrap();
    }
    let (job, counts) = f.jobs.describe_job("fw-1").unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert!(job.completed_at_ms.is_some());
    assert_eq!(
        (counts.succeeded, counts.failed, counts.pending()),
        (2, 1, 0)
    );
    // Each device saw its pending list empty again.
    let notes = f.notes.take();
    assert!(notes.iter().any(
        |(topic, v)| topic == "$aws/things/t3/jobs/notify-next" && v.get("execution").is_none()
    ));

    f.logger.flush();
    let messages: Vec<String> = f.sink.records().into_iter().map(|r| r.message).collect();
    let final_count = messages
        .iter()
        .find(|m| m.contains("\"eventType\":\"ReportFinalJobExecutionCount\""))
        .expect("ReportFinalJobExecutionCount");
    assert!(
        final_count.contains("SUCCEEDED job execution count: 2"),
        "{final_count}"
    );
    assert!(
        final_count.contains("FAILED job execution count: 1"),
        "{final_count}"
    );
    let updates = messages
        .iter()
        .filter(|m| m.contains("\"eventType\":\"UpdateJobExecution\""))
        .count();
    assert_eq!(updates, 6);
    assert!(messages.iter().any(|m| m.contains(
        "\"details\":\"The destination status is SUCCEEDED. The request status is SUCCESS.\""
    )));
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("StartNextPendingJobExecution") && m.contains("traceId"))
    );
    assert_eq!(
        f.jobs.counters().get("SuccededJobExecutionCount", "fw-1"),
        2
    );
    assert_eq!(f.jobs.counters().get("QueuedJobExecutionCount", "fw-1"), 3);
}

#[test]
fn device_errors_are_aws_codes_with_the_execution_state() {
    let f = fixture(60_000);
    f.jobs
        .create_job(new_job("j1", vec![thing_arn("t1")]))
        .unwrap();
    let log = device_log(&f.logger, "t1");
    let caller = DeviceCaller {
        log: &log,
        client_token: None,
    };
    let mut stale = update("IN_PROGRESS");
    stale.expected_version = Some(7);
    let e = f
        .jobs
        .update_execution(caller, "t1", "j1", &stale)
        .unwrap_err();
    assert_eq!(e.kind, JobsErrorKind::VersionMismatch);
    assert_eq!(e.mqtt_code(), "VersionMismatch");
    assert_eq!(e.execution_state.as_ref().unwrap().version_number, 1);

    let e = f
        .jobs
        .update_execution(caller, "t1", "j1", &update("QUEUED"))
        .unwrap_err();
    assert_eq!(e.mqtt_code(), "InvalidRequest");
    // The wrong thing has no such execution.
    let e = f
        .jobs
        .update_execution(caller, "t2", "j1", &update("SUCCEEDED"))
        .unwrap_err();
    assert_eq!(e.mqtt_code(), "ResourceNotFound");

    f.jobs
        .update_execution(caller, "t1", "j1", &update("SUCCEEDED"))
        .unwrap();
    let e = f
        .jobs
        .update_execution(caller, "t1", "j1", &update("IN_PROGRESS"))
        .unwrap_err();
    assert_eq!(e.mqtt_code(), "InvalidStateTransition");
    assert_eq!(
        e.execution_state.unwrap().status,
        ExecutionStatus::Succeeded
    );
    // Nothing pending any more.
    assert!(
        f.jobs
            .start_next(caller, "t1", &StartNextRequest::default())
            .unwrap()
            .is_none()
    );
    let mut bad = update("IN_PROGRESS");
    bad.status_details = Some(BTreeMap::from([("bad key".into(), "v".into())]));
    assert_eq!(
        f.jobs
            .update_execution(caller, "t1", "j1", &bad)
            .unwrap_err()
            .kind,
        JobsErrorKind::InvalidRequest
    );
    assert_eq!(f.jobs.counters().get("ClientErrorCount", "j1"), 5);
}

#[test]
fn create_job_refuses_what_aws_refuses() {
    let f = fixture(60_000);
    let kind = |job: NewJob| f.jobs.create_job(job).unwrap_err().kind;
    assert_eq!(
        kind(new_job("a", vec![thing_arn("ghost")])),
        JobsErrorKind::ResourceNotFound
    );
    assert_eq!(
        kind(new_job("a", vec![group_arn("ghosts")])),
        JobsErrorKind::ResourceNotFound
    );
    assert_eq!(
        kind(new_job("a", vec!["arn:aws:s3:::bucket".into()])),
        JobsErrorKind::InvalidRequest
    );
    let mut big = new_job("a", vec![thing_arn("t1")]);
    big.config.document = format!(r#"{{"x":"{}"}}"#, "y".repeat(32_768));
    assert_eq!(kind(big), JobsErrorKind::InvalidRequest);
    let mut not_json = new_job("a", vec![thing_arn("t1")]);
    not_json.config.document = "reboot".into();
    assert_eq!(kind(not_json), JobsErrorKind::InvalidRequest);
    let mut timeout = new_job("a", vec![thing_arn("t1")]);
    timeout.config.timeout_config = Some(TimeoutConfig {
        in_progress_timeout_in_minutes: Some(10_081),
    });
    assert_eq!(kind(timeout), JobsErrorKind::InvalidRequest);
    f.jobs
        .create_job(new_job("a", vec![thing_arn("t1")]))
        .unwrap();
    assert_eq!(
        kind(new_job("a", vec![thing_arn("t1")])),
        JobsErrorKind::ResourceAlreadyExists
    );
    // An in-progress job is deleted only with force.
    assert_eq!(
        f.jobs.delete_job("a", false).unwrap_err().kind,
        JobsErrorKind::InvalidStateTransition
    );
    f.jobs
        .cancel_job("a", false, Some("USER_CANCELED".into()), None)
        .unwrap();
    let (job, counts) = f.jobs.describe_job("a").unwrap();
    assert_eq!(job.status, JobStatus::Canceled);
    assert_eq!(counts.canceled, 1);
    assert_eq!(
        f.jobs.cancel_job("a", false, None, None).unwrap_err().kind,
        JobsErrorKind::InvalidRequest
    );
    f.jobs.delete_job("a", false).unwrap();
    poll(|| f.jobs.describe_job("a").is_err());
}

#[test]
fn timeouts_time_out_and_retries_queue_a_new_execution() {
    let f = fixture(100); // a "minute" of 100 ms
    let mut job = new_job("t", vec![thing_arn("t1")]);
    job.config.timeout_config = Some(TimeoutConfig {
        in_progress_timeout_in_minutes: Some(1),
    });
    job.config.job_executions_retry_config = Some(RetryConfig {
        criteria_list: vec![RetryCriteria {
            failure_type: "TIMED_OUT".into(),
            number_of_retries: 1,
        }],
    });
    f.jobs.create_job(job).unwrap();
    let log = device_log(&f.logger, "t1");
    let caller = DeviceCaller {
        log: &log,
        client_token: None,
    };
    let started = f
        .jobs
        .start_next(caller, "t1", &StartNextRequest::default())
        .unwrap()
        .unwrap();
    assert!(started.seconds_before_timed_out.is_some());
    poll(|| f.jobs.job_execution("t", "t1", Some(1)).unwrap().status == ExecutionStatus::TimedOut);
    let retry = f.jobs.job_execution("t", "t1", None).unwrap();
    assert_eq!(
        (retry.execution_number, retry.retry_attempt, retry.status),
        (2, 1, ExecutionStatus::Queued)
    );
    // The retry times out too; no retry is left, so the job completes.
    f.jobs
        .start_next(caller, "t1", &StartNextRequest::default())
        .unwrap()
        .unwrap();
    poll(|| f.jobs.describe_job("t").unwrap().0.status == JobStatus::Completed);
    let (_, counts) = f.jobs.describe_job("t").unwrap();
    assert_eq!(counts.timed_out, 1);
    let all = f
        .jobs
        .executions_for_thing("t1", None, None, 10, None)
        .unwrap();
    assert_eq!(all.executions.len(), 2);
}

#[test]
fn a_rollout_rate_holds_executions_back_per_minute() {
    let f = fixture(300);
    let mut job = new_job(
        "r",
        vec![
            thing_arn("t1"),
            thing_arn("t2"),
            thing_arn("t3"),
            thing_arn("t4"),
            thing_arn("t5"),
        ],
    );
    job.config.job_executions_rollout_config = Some(RolloutConfig {
        maximum_per_minute: Some(2),
        exponential_rate: None,
    });
    f.jobs.create_job(job).unwrap();
    let (_, counts) = f.jobs.describe_job("r").unwrap();
    assert_eq!(counts.queued, 2, "the first minute notifies 2 things");
    poll(|| f.jobs.describe_job("r").unwrap().1.queued == 5);
}

#[test]
fn continuous_jobs_reach_things_that_join_later_and_state_survives_a_reopen() {
    let f = fixture(60_000);
    let mut job = new_job("c", vec![group_arn("fleet")]);
    job.config.target_selection = TargetSelection::Continuous;
    f.jobs.create_job(job).unwrap();
    assert!(f.jobs.job_execution("c", "t4", None).is_err());
    f.directory
        .groups
        .lock()
        .get_mut("fleet")
        .unwrap()
        .push("t4".into());
    f.jobs.membership_changed("t4");
    poll(|| f.jobs.job_execution("c", "t4", None).is_ok());
    // t1 leaves: its queued execution is REMOVED.
    f.directory
        .groups
        .lock()
        .get_mut("fleet")
        .unwrap()
        .retain(|t| t != "t1");
    f.jobs.membership_changed("t1");
    poll(|| f.jobs.job_execution("c", "t1", None).unwrap().status == ExecutionStatus::Removed);
    let log = device_log(&f.logger, "t2");
    let caller = DeviceCaller {
        log: &log,
        client_token: None,
    };
    f.jobs
        .update_execution(caller, "t2", "c", &update("SUCCEEDED"))
        .unwrap();
    // A continuous job never completes.
    assert_eq!(
        f.jobs.describe_job("c").unwrap().0.status,
        JobStatus::InProgress
    );

    f.jobs.stop();
    let reopened = open(&f.path, f.directory.clone(), &f.logger, 60_000);
    assert_eq!(
        reopened.job_execution("c", "t2", None).unwrap().status,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        reopened.job_execution("c", "t4", None).unwrap().status,
        ExecutionStatus::Queued
    );
    let page = reopened.executions_for_job("c", None, 2, None).unwrap();
    assert_eq!(page.executions.len(), 2);
    let rest = reopened
        .executions_for_job("c", None, 2, page.next_token.as_deref())
        .unwrap();
    assert_eq!(rest.executions.len(), 2);
    assert!(rest.next_token.is_none());
}

#[test]
fn abort_criteria_cancel_the_job() {
    let f = fixture(60_000);
    let mut job = new_job("a", vec![group_arn("fleet")]);
    job.config.abort_config = Some(thingwatch_jobs::model::AbortConfig {
        criteria_list: vec![thingwatch_jobs::model::AbortCriteria {
            failure_type: "FAILED".into(),
            action: "CANCEL".into(),
            threshold_percentage: 50.0,
            min_number_of_executed_things: 1,
        }],
    });
    f.jobs.create_job(job).unwrap();
    let log = device_log(&f.logger, "t1");
    let caller = DeviceCaller {
        log: &log,
        client_token: None,
    };
    f.jobs
        .update_execution(caller, "t1", "a", &update("FAILED"))
        .unwrap();
    let (job, counts) = f.jobs.describe_job("a").unwrap();
    assert_eq!(job.status, JobStatus::Canceled);
    assert_eq!((counts.failed, counts.canceled), (1, 2));
    assert!(job.comment.unwrap().contains("abort"));
}
