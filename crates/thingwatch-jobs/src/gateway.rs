//! [`JobsGateway`]: the Jobs device API on MQTT — the broker's handler for the reserved
//! `$aws/things/{thing}/jobs/…` request topics — and the publisher of Jobs notifications.
//!
//! A request (`…/jobs/get`, `…/jobs/start-next`, `…/jobs/{jobId}/get`,
//! `…/jobs/{jobId}/update`) is routed like any message by the broker's ingress (so it was
//! authorized by the connection's IoT policy as `iot:Publish`), then queued here on the
//! bounded `jobs-requests` queue and answered in order by the `jobs-worker` thread on
//! `<request topic>/accepted` or `/rejected`. Any other topic under `…/jobs/` that is not a
//! response or notification topic is answered with `InvalidTopic`; a payload that is not JSON
//! with `InvalidJson`; a full queue with `RequestThrottled`. (Developer Guide *Jobs device
//! MQTT API*.)

use crate::device::{self, DeviceCaller, StartNextRequest, UpdateRequest};
use crate::{Jobs, JobsError, JobsErrorKind, Notifier, now_ms};
use parking_lot::Mutex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use thingwatch_broker::{Broker, Origin, PublishRequest, ReservedPublish, ReservedTopicHandler};
use thingwatch_events::{ClientLog, TraceId};

/// Capacity of the `jobs-requests` queue (MQTT requests waiting for the worker).
pub const REQUEST_QUEUE_CAPACITY: usize = 10_000;

/// The component name responses and notifications are published under.
pub const COMPONENT: &str = "jobs";

/// QoS of responses and notifications.
const RESPONSE_QOS: u8 = 1;

/// One device request topic, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request<'a> {
    GetPending {
        thing: &'a str,
    },
    StartNext {
        thing: &'a str,
    },
    Describe {
        thing: &'a str,
        job_id: &'a str,
    },
    Update {
        thing: &'a str,
        job_id: &'a str,
    },
    /// Under `…/jobs/` but no API.
    Invalid,
}

fn is_response_or_notification(rest: &str) -> bool {
    rest == "notify"
        || rest == "notify-next"
        || rest.ends_with("/accepted")
        || rest.ends_with("/rejected")
}

/// Parses `$aws/things/{thing}/jobs/…`; `None` for other topics and for the response and
/// notification topics.
fn parse(topic: &str) -> Option<Request<'_>> {
    let rest = topic.strip_prefix("$aws/things/")?;
    let (thing, rest) = rest.split_once("/jobs/")?;
    if thing.is_empty() || thing.contains('/') || is_response_or_notification(rest) {
        return None;
    }
    let valid_id = |s: &str| {
        s == "$next"
            || (!s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    };
    Some(match rest.split('/').collect::<Vec<_>>().as_slice() {
        ["get"] => Request::GetPending { thing },
        ["start-next"] => Request::StartNext { thing },
        [job_id, "get"] if valid_id(job_id) => Request::Describe { thing, job_id },
        [job_id, "update"] if valid_id(job_id) && *job_id != "$next" => {
            Request::Update { thing, job_id }
        }
        _ => Request::Invalid,
    })
}

/// The members any request may carry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    client_token: Option<String>,
    status: Option<String>,
    status_details: Option<BTreeMap<String, String>>,
    step_timeout_in_minutes: Option<i64>,
    expected_version: Option<NumberOrString>,
    execution_number: Option<NumberOrString>,
    include_job_execution_state: Option<bool>,
    include_job_document: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(i64),
    Text(String),
}

impl NumberOrString {
    fn value(&self, name: &str) -> Result<i64, JobsError> {
        match self {
            NumberOrString::Number(n) => Ok(*n),
            NumberOrString::Text(s) => s
                .parse()
                .map_err(|_| JobsError::invalid(format!("{name} must be a number."))),
        }
    }
}

/// The `clientToken` of a payload, if it has one (also for payloads that are otherwise
/// invalid, so that the rejection echoes it).
fn client_token_of(payload: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()?
        .get("clientToken")?
        .as_str()
        .map(str::to_owned)
}

fn parse_body(payload: &[u8]) -> Result<Body, JobsError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::default());
    }
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(|_| {
        JobsError::new(
            JobsErrorKind::InvalidJson,
            "The request payload is not valid JSON.",
        )
    })?;
    serde_json::from_value(value)
        .map_err(|e| JobsError::invalid(format!("The request payload is invalid: {e}.")))
}

/// One queued request.
struct Queued {
    topic: String,
    payload: Vec<u8>,
    log: Arc<ClientLog>,
}

/// Counters of the `jobs-requests` queue ([`JobsGateway::queue_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsQueueStats {
    /// `"jobs-requests"`.
    pub name: &'static str,
    /// Capacity, requests.
    pub capacity: usize,
    /// Requests queued since start.
    pub queued: u64,
    /// Requests rejected with `RequestThrottled` because the queue was full.
    pub rejected_full: u64,
}

/// The Jobs MQTT API and notification publisher. Register it with
/// [`Broker::add_reserved_handler`].
#[derive(Clone)]
pub struct JobsGateway {
    inner: Arc<GatewayInner>,
}

struct GatewayInner {
    jobs: Jobs,
    broker: Broker,
    requests: Mutex<Option<mpsc::SyncSender<Queued>>>,
    queued: AtomicU64,
    rejected_full: AtomicU64,
}

struct BrokerNotifier(Broker);

impl Notifier for BrokerNotifier {
    fn publish(&self, topic: String, payload: Vec<u8>) {
        publish(&self.0, topic, payload);
    }
}

fn publish(broker: &Broker, topic: String, payload: Vec<u8>) {
    let result = broker.publish_detached(
        Origin::Component(COMPONENT),
        PublishRequest {
            topic,
            payload,
            qos: RESPONSE_QOS,
            retain: false,
            trace_id: TraceId::new(),
            message_expiry: None,
            properties: Default::default(),
        },
    );
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not publish a jobs message");
    }
}

impl JobsGateway {
    /// Starts the `jobs-worker` thread and makes `broker` the carrier of `jobs`'
    /// notifications.
    pub fn start(jobs: Jobs, broker: Broker) -> JobsGateway {
        jobs.set_notifier(Arc::new(BrokerNotifier(broker.clone())));
        let (tx, rx) = mpsc::sync_channel::<Queued>(REQUEST_QUEUE_CAPACITY);
        let inner = Arc::new(GatewayInner {
            jobs,
            broker,
            requests: Mutex::new(Some(tx)),
            queued: AtomicU64::new(0),
            rejected_full: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("jobs-worker".into())
            .spawn(move || {
                while let Ok(q) = rx.recv() {
                    let Some(inner) = weak.upgrade() else { break };
                    inner.process(&q);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the jobs worker thread");
        }
        JobsGateway { inner }
    }

    /// Stops accepting MQTT requests; the worker answers the queued ones and exits.
    pub fn stop(&self) {
        self.inner.requests.lock().take();
    }

    /// Counters of the `jobs-requests` queue.
    pub fn queue_stats(&self) -> JobsQueueStats {
        JobsQueueStats {
            name: "jobs-requests",
            capacity: REQUEST_QUEUE_CAPACITY,
            queued: self.inner.queued.load(Ordering::Relaxed),
            rejected_full: self.inner.rejected_full.load(Ordering::Relaxed),
        }
    }
}

impl ReservedTopicHandler for JobsGateway {
    fn handles(&self, topic: &str) -> bool {
        parse(topic).is_some()
    }

    fn on_publish(&self, request: ReservedPublish<'_>) {
        let q = Queued {
            topic: request.topic.to_owned(),
            payload: request.payload.to_vec(),
            log: request.log.clone(),
        };
        let sent = match self.inner.requests.lock().as_ref() {
            Some(tx) => tx.try_send(q),
            None => Err(mpsc::TrySendError::Disconnected(q)),
        };
        match sent {
            Ok(()) => {
                self.inner.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::TrySendError::Full(q)) => {
                self.inner.rejected_full.fetch_add(1, Ordering::Relaxed);
                let err = JobsError::new(JobsErrorKind::Throttled, "Too many requests.");
                self.inner
                    .reject(&q.topic, &err, client_token_of(&q.payload).as_deref());
            }
            Err(mpsc::TrySendError::Disconnected(q)) => {
                let err = JobsError::new(JobsErrorKind::Internal, "The Jobs service is stopping.");
                self.inner
                    .reject(&q.topic, &err, client_token_of(&q.payload).as_deref());
            }
        }
    }
}

impl GatewayInner {
    fn reject(&self, topic: &str, err: &JobsError, client_token: Option<&str>) {
        let payload = device::rejected_payload(
            err.mqtt_code(),
            &err.message,
            err.execution_state.as_ref(),
            client_token,
            now_ms(),
        );
        publish(&self.broker, format!("{topic}/rejected"), payload);
    }

    fn accept(&self, topic: &str, payload: Vec<u8>) {
        publish(&self.broker, format!("{topic}/accepted"), payload);
    }

    fn process(&self, q: &Queued) {
        let Some(request) = parse(&q.topic) else {
            return;
        };
        let token_any = client_token_of(&q.payload);
        if request == Request::Invalid {
            let message = format!("The topic {} does not name a Jobs API.", q.topic);
            let payload = device::rejected_payload(
                "InvalidTopic",
                &message,
                None,
                token_any.as_deref(),
                now_ms(),
            );
            return publish(&self.broker, format!("{}/rejected", q.topic), payload);
        }
        let body = match parse_body(&q.payload) {
            Ok(b) => b,
            Err(e) => return self.reject(&q.topic, &e, token_any.as_deref()),
        };
        let token = body.client_token.as_deref();
        let caller = DeviceCaller {
            log: &q.log,
            client_token: token,
        };
        let jobs = &self.jobs;
        let now = now_ms;
        let result: Result<Vec<u8>, JobsError> = match request {
            Request::Invalid => return,
            Request::GetPending { thing } => jobs
                .get_pending(caller, thing)
                .map(|p| device::pending_payload(&p, token, now())),
            Request::StartNext { thing } => jobs
                .start_next(
                    caller,
                    thing,
                    &StartNextRequest {
                        status_details: body.status_details.clone(),
                        step_timeout_in_minutes: body.step_timeout_in_minutes,
                    },
                )
                .map(|v| device::execution_payload(v.as_ref(), token, now())),
            Request::Describe { thing, job_id } => body
                .execution_number
                .as_ref()
                .map(|n| n.value("executionNumber"))
                .transpose()
                .and_then(|n| {
                    jobs.describe_execution(
                        caller,
                        thing,
                        job_id,
                        n,
                        body.include_job_document.unwrap_or(true),
                    )
                })
                .map(|v| device::execution_payload(v.as_ref(), token, now())),
            Request::Update { thing, job_id } => (|| {
                let expected_version = body
                    .expected_version
                    .as_ref()
                    .map(|v| v.value("expectedVersion"))
                    .transpose()?;
                let execution_number = body
                    .execution_number
                    .as_ref()
                    .map(|v| v.value("executionNumber"))
                    .transpose()?;
                let Some(status) = body.status.clone() else {
                    return Err(JobsError::invalid("status is required."));
                };
                let request = UpdateRequest {
                    status,
                    status_details: body.status_details.clone(),
                    step_timeout_in_minutes: body.step_timeout_in_minutes,
                    expected_version,
                    execution_number,
                    include_job_execution_state: body.include_job_execution_state.unwrap_or(false),
                    include_job_document: body.include_job_document.unwrap_or(false),
                };
                jobs.update_execution(caller, thing, job_id, &request)
                    .map(|r| {
                        device::update_payload(
                            &r,
                            request.include_job_execution_state,
                            request.include_job_document,
                            token,
                            now(),
                        )
                    })
            })(),
        };
        match result {
            Ok(payload) => self.accept(&q.topic, payload),
            Err(e) => self.reject(&q.topic, &e, token),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_topics_parse_and_responses_do_not() {
        assert_eq!(
            parse("$aws/things/t1/jobs/get"),
            Some(Request::GetPending { thing: "t1" })
        );
        assert_eq!(
            parse("$aws/things/t1/jobs/start-next"),
            Some(Request::StartNext { thing: "t1" })
        );
        assert_eq!(
            parse("$aws/things/t1/jobs/$next/get"),
            Some(Request::Describe {
                thing: "t1",
                job_id: "$next"
            })
        );
        assert_eq!(
            parse("$aws/things/t1/jobs/job-1/update"),
            Some(Request::Update {
                thing: "t1",
                job_id: "job-1"
            })
        );
        assert_eq!(
            parse("$aws/things/t1/jobs/job-1/delete"),
            Some(Request::Invalid)
        );
        for not_requests in [
            "$aws/things/t1/jobs/get/accepted",
            "$aws/things/t1/jobs/job-1/update/rejected",
            "$aws/things/t1/jobs/notify",
            "$aws/things/t1/jobs/notify-next",
            "$aws/things/t1/shadow/get",
            "dt/t1/jobs/get",
        ] {
            assert_eq!(parse(not_requests), None, "{not_requests}");
        }
    }

    #[test]
    fn bodies_accept_numbers_as_text_and_refuse_non_json() {
        let b = parse_body(br#"{"status":"IN_PROGRESS","expectedVersion":"2","clientToken":"c"}"#)
            .unwrap();
        assert_eq!(
            b.expected_version
                .unwrap()
                .value("expectedVersion")
                .unwrap(),
            2
        );
        assert_eq!(parse_body(b"").unwrap().client_token, None);
        assert_eq!(
            parse_body(b"{nope").unwrap_err().kind,
            JobsErrorKind::InvalidJson
        );
        assert_eq!(
            client_token_of(br#"{"clientToken":"x","status":5}"#).as_deref(),
            Some("x")
        );
    }
}
