//! [`ShadowGateway`]: the Device Shadow service on the wire — the broker's handler for the
//! reserved `$aws/things/{thing}/shadow/…` request topics, and the operations behind the
//! `iotdata` HTTP API — with AWS's throttling, the shadow log events and the `*.Accepted`
//! metrics.
//!
//! - **MQTT topics.** A message on `…/get|update|delete` — an MQTT PUBLISH, or an HTTPS
//!   `Publish` to that topic — is routed like any message by the broker's ingress, then queued
//!   here on the bounded `shadow-requests` queue (never blocking the caller) and processed in
//!   order by one worker thread (`shadow-worker`); the entry's `protocol` is the requester's
//!   (`MQTT`, or `HTTP` for an HTTPS `Publish`). The answer is published on `…/accepted` or `…/rejected`; an
//!   accepted update also publishes `…/update/delta` (when `desired` ≠ `reported`) and
//!   `…/update/documents`. (Developer Guide *Device Shadow MQTT topics*.)
//! - **HTTP.** The `iotdata` operations call [`ShadowGateway::get_http`] etc. directly (from a
//!   blocking-capable thread); errors are returned, never published ("If the client updates
//!   the document using the REST API, then it receives the HTTP error code as part of its
//!   response, and no MQTT error messages are emitted" — *Device Shadow error messages*).
//!   Accepted HTTP updates and deletes publish the same `accepted`/`delta`/`documents`
//!   messages as MQTT ones, so devices see changes made by applications.
//! - **Throttling (429).** More than [`GatewayLimits::max_in_flight_per_connection`] (10)
//!   MQTT requests of one connection not yet answered, or more than
//!   [`GatewayLimits::requests_per_second_per_thing`] (20) requests per second on one thing
//!   (token bucket, burst = one second's worth), are rejected with code 429. Sources: *Device
//!   Shadow error messages* (429: "more than 10 in-flight requests on a single connection")
//!   and *AWS IoT Core endpoints and quotas* (Device Shadow: 20 requests per second per thing).
//! - **Logs and metrics.** Every request writes `GetThingShadow` / `UpdateThingShadow` /
//!   `DeleteThingShadow` (INFO Success, or ERROR Failure with `reason` = the code) through
//!   the logging gate — for MQTT with the requesting connection's identity, for HTTP with the
//!   caller's — and an accepted one counts `<Op>.Accepted` under its `Protocol`;
//!   ListNamedShadowsForThing counts `ListThingShadow.Accepted`.

use crate::error::{ShadowError, ShadowErrorKind};
use crate::service::ShadowService;
use crate::topic::{self, Reply, ShadowOp, ShadowTopic};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;
use thingwatch_broker::{Broker, Origin, PublishRequest, ReservedPublish, ReservedTopicHandler};
use thingwatch_events::{
    ClientIdentity, ClientLog, DeleteThingShadow, GetThingShadow, Logger, MetricName, Protocol,
    TraceId, UpdateThingShadow,
};

/// AWS's documented in-flight limit per connection (*Device Shadow error messages*, 429).
pub const MAX_IN_FLIGHT_PER_CONNECTION: usize = 10;

/// AWS's Device Shadow request rate per thing, requests/s (*AWS IoT Core endpoints and
/// quotas*, Device Shadow service quotas).
pub const REQUESTS_PER_SECOND_PER_THING: u32 = 20;

/// The text of a 429 `/rejected` payload or `ThrottlingException` (AWS documents the code,
/// not the text).
pub const THROTTLED_MESSAGE: &str = "Too Many Requests";

/// Capacity of the `shadow-requests` queue (MQTT requests waiting for the worker), requests.
/// The per-connection in-flight limit bounds one client's share; this bounds the total, so
/// that many connections cannot grow the queue without limit. A request that finds it full
/// is rejected with 429, like any throttled request, and counted
/// ([`ShadowQueueStats::rejected_full`]).
pub const REQUEST_QUEUE_CAPACITY: usize = 10_000;

/// The component name the service publishes its responses under
/// ([`Origin::Component`]; message observers see it as the sender).
pub const COMPONENT: &str = "shadow";

/// QoS of the messages the service publishes (`accepted`, `rejected`, `delta`, `documents`);
/// each subscriber receives them at the lower of this and its subscription's QoS.
pub const RESPONSE_QOS: u8 = 1;

/// Throttling settings; `Default` is AWS's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayLimits {
    /// MQTT requests of one connection queued or being processed before further ones get 429
    /// (default [`MAX_IN_FLIGHT_PER_CONNECTION`]).
    pub max_in_flight_per_connection: usize,
    /// Sustained requests per second per thing, over MQTT and HTTP together, before 429
    /// (default [`REQUESTS_PER_SECOND_PER_THING`]; 0 disables the rate limit).
    pub requests_per_second_per_thing: u32,
    /// Capacity of the `shadow-requests` queue, requests (default
    /// [`REQUEST_QUEUE_CAPACITY`]; at least 1).
    pub request_queue_capacity: usize,
}

impl Default for GatewayLimits {
    fn default() -> GatewayLimits {
        GatewayLimits {
            max_in_flight_per_connection: MAX_IN_FLIGHT_PER_CONNECTION,
            requests_per_second_per_thing: REQUESTS_PER_SECOND_PER_THING,
            request_queue_capacity: REQUEST_QUEUE_CAPACITY,
        }
    }
}

/// Counters of the `shadow-requests` queue ([`ShadowGateway::queue_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShadowQueueStats {
    /// The queue's name: `"shadow-requests"`.
    pub name: &'static str,
    /// Its capacity, requests.
    pub capacity: usize,
    /// MQTT requests queued for the worker since start.
    pub queued: u64,
    /// MQTT requests rejected with 429 because the queue was full.
    pub rejected_full: u64,
}

/// Who made an HTTP request: the identity written in its shadow log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCaller {
    /// The SigV4 principal (the access key's identity), written as `principalId`.
    pub principal_id: String,
    /// The TCP peer of the request.
    pub peer: SocketAddr,
}

/// The Device Shadow service on MQTT and HTTP. Cheap to clone; `Send + Sync`. Register it with
/// [`Broker::add_reserved_handler`] to serve the MQTT topics.
#[derive(Clone)]
pub struct ShadowGateway {
    inner: Arc<Inner>,
}

struct Inner {
    service: ShadowService,
    broker: Broker,
    logger: Logger,
    limits: GatewayLimits,
    jobs: Mutex<Option<mpsc::SyncSender<Job>>>,
    queued: AtomicU64,
    rejected_full: AtomicU64,
    in_flight: Mutex<HashMap<Arc<str>, usize>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// One queued MQTT request.
struct Job {
    topic: String,
    payload: Vec<u8>,
    client_id: Arc<str>,
    log: Arc<ClientLog>,
    trace: TraceId,
}

/// Token bucket of one thing: `tokens` (capacity = the per-second rate) refilled continuously.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Drop idle buckets once the table is this large (each is refilled to full after 1 s idle).
const BUCKET_SWEEP_AT: usize = 50_000;

impl ShadowGateway {
    /// Starts the gateway and its worker thread. The worker stops when every clone of the
    /// gateway is dropped or [`ShadowGateway::stop`] is called.
    pub fn start(
        service: ShadowService,
        broker: Broker,
        logger: Logger,
        limits: GatewayLimits,
    ) -> ShadowGateway {
        let (tx, rx) = mpsc::sync_channel::<Job>(limits.request_queue_capacity.max(1));
        let inner = Arc::new(Inner {
            service,
            broker,
            logger,
            limits,
            jobs: Mutex::new(Some(tx)),
            queued: AtomicU64::new(0),
            rejected_full: AtomicU64::new(0),
            in_flight: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
        });
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("shadow-worker".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let Some(inner) = weak.upgrade() else { break };
                    inner.process(job);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the shadow worker thread");
        }
        ShadowGateway { inner }
    }

    /// Stops accepting MQTT requests; the worker finishes the queued ones and exits.
    pub fn stop(&self) {
        self.inner.jobs.lock().take();
    }

    /// Counters of the `shadow-requests` queue.
    pub fn queue_stats(&self) -> ShadowQueueStats {
        let inner = &self.inner;
        ShadowQueueStats {
            name: "shadow-requests",
            capacity: inner.limits.request_queue_capacity.max(1),
            queued: inner.queued.load(Ordering::Relaxed),
            rejected_full: inner.rejected_full.load(Ordering::Relaxed),
        }
    }

    /// The underlying document service.
    pub fn service(&self) -> &ShadowService {
        &self.inner.service
    }

    /// GetThingShadow over HTTP (`GET /things/{thing}/shadow[?name=]`): the shadow document.
    ///
    /// # Errors
    /// [`ShadowError`] 400 (names), 404 (no such shadow), 429 (rate), 500.
    pub fn get_http(
        &self,
        caller: &HttpCaller,
        thing: &str,
        shadow: Option<&str>,
    ) -> Result<Vec<u8>, ShadowError> {
        let (result, _, _) =
            self.inner
                .http_call(caller, thing, shadow, ShadowOp::Get, |svc, now| {
                    svc.get(thing, shadow, None, now)
                });
        result
    }

    /// UpdateThingShadow over HTTP (`POST /things/{thing}/shadow[?name=]`): the
    /// `update/accepted` document. Also publishes `update/accepted`, `update/delta` (if any)
    /// and `update/documents` on MQTT.
    ///
    /// # Errors
    /// [`ShadowError`] 400, 409 (version conflict), 413, 415, 429, 500.
    pub fn update_http(
        &self,
        caller: &HttpCaller,
        thing: &str,
        shadow: Option<&str>,
        payload: &[u8],
    ) -> Result<Vec<u8>, ShadowError> {
        let (result, request, trace) =
            self.inner
                .http_call(caller, thing, shadow, ShadowOp::Update, |svc, now| {
                    svc.update(thing, shadow, payload, now)
                });
        let outcome = result?;
        self.inner.publish_update(&request, &outcome, trace);
        Ok(outcome.accepted)
    }

    /// DeleteThingShadow over HTTP (`DELETE /things/{thing}/shadow[?name=]`): the
    /// `delete/accepted` document `{version, timestamp}`, also published on MQTT.
    ///
    /// # Errors
    /// [`ShadowError`] 400, 404 (no such shadow), 429, 500.
    pub fn delete_http(
        &self,
        caller: &HttpCaller,
        thing: &str,
        shadow: Option<&str>,
    ) -> Result<Vec<u8>, ShadowError> {
        let (result, request, trace) =
            self.inner
                .http_call(caller, thing, shadow, ShadowOp::Delete, |svc, now| {
                    svc.delete(thing, shadow, None, now)
                });
        let body = result?;
        self.inner
            .publish(request.response_topic(Reply::Accepted), body.clone(), trace);
        Ok(body)
    }

    /// ListNamedShadowsForThing over HTTP
    /// (`GET /api/things/shadow/ListNamedShadowsForThing/{thing}`): the body
    /// `{"results":[…],"nextToken"?:…,"timestamp":…}`. Counts `ListThingShadow.Accepted`
    /// (AWS documents no log entry for it).
    ///
    /// # Errors
    /// [`ShadowError`] 400 (name, `nextToken`, `pageSize` outside 1–100), 429, 500.
    pub fn list_named_http(
        &self,
        thing: &str,
        next_token: Option<&str>,
        page_size: usize,
    ) -> Result<Vec<u8>, ShadowError> {
        let inner = &self.inner;
        inner.throttle(thing)?;
        let page = inner.service.list_named(thing, next_token, page_size)?;
        inner
            .logger
            .metrics()
            .incr(MetricName::ListThingShadowAccepted, Protocol::Http);
        Ok(page.payload(thingwatch_events::now_ms()))
    }
}

impl ReservedTopicHandler for ShadowGateway {
    fn handles(&self, topic: &str) -> bool {
        topic::parse_request_topic(topic).is_some()
    }

    fn on_publish(&self, request: ReservedPublish<'_>) {
        let inner = &self.inner;
        let Some(parsed) = topic::parse_request_topic(request.topic) else {
            return;
        };
        let client_id: Arc<str> = Arc::from(request.client_id);
        let admitted = {
            let mut in_flight = inner.in_flight.lock();
            let n = in_flight.entry(client_id.clone()).or_insert(0);
            if *n >= inner.limits.max_in_flight_per_connection {
                false
            } else {
                *n += 1;
                true
            }
        };
        let refused = if !admitted {
            Some(throttled())
        } else {
            inner.throttle(parsed.thing).err()
        };
        if let Some(err) = refused {
            if admitted {
                inner.done(&client_id);
            }
            let token = crate::request_client_token(request.payload).ok().flatten();
            let err = err.with_client_token(token.as_deref());
            inner.reject(
                request.log,
                request.log.identity().protocol,
                &parsed,
                request.trace_id,
                &err,
            );
            return;
        }
        let job = Job {
            topic: request.topic.to_owned(),
            payload: request.payload.to_vec(),
            client_id: client_id.clone(),
            log: request.log.clone(),
            trace: request.trace_id,
        };
        let sent = match inner.jobs.lock().as_ref() {
            Some(tx) => tx.try_send(job),
            None => Err(mpsc::TrySendError::Disconnected(job)),
        };
        let err = match sent {
            Ok(()) => {
                inner.queued.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(mpsc::TrySendError::Full(job)) => {
                inner.rejected_full.fetch_add(1, Ordering::Relaxed);
                let token = crate::request_client_token(&job.payload).ok().flatten();
                throttled().with_client_token(token.as_deref())
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                ShadowError::new(ShadowErrorKind::Internal, "Internal service failure")
            }
        };
        inner.done(&client_id);
        inner.reject(
            request.log,
            request.log.identity().protocol,
            &parsed,
            request.trace_id,
            &err,
        );
    }
}

fn throttled() -> ShadowError {
    ShadowError::new(ShadowErrorKind::Throttled, THROTTLED_MESSAGE)
}

impl Inner {
    /// One HTTP shadow operation: throttle, run `op` on the service, write its log entry and
    /// count it. Returns the result with the request (for response topics) and its trace.
    fn http_call<'a, T>(
        &self,
        caller: &HttpCaller,
        thing: &'a str,
        shadow: Option<&'a str>,
        op: ShadowOp,
        run: impl FnOnce(&ShadowService, i64) -> Result<T, ShadowError>,
    ) -> (Result<T, ShadowError>, ShadowTopic<'a>, TraceId) {
        let log = self.http_log(caller, thing);
        let request = ShadowTopic { thing, shadow, op };
        let trace = TraceId::new();
        let result = self
            .throttle(thing)
            .and_then(|()| run(&self.service, thingwatch_events::now_ms()));
        self.record(&log, Protocol::Http, &request, trace, &result);
        (result, request, trace)
    }

    /// Runs one queued MQTT request and publishes its answer.
    fn process(&self, job: Job) {
        if let Some(request) = topic::parse_request_topic(&job.topic) {
            let now = thingwatch_events::now_ms();
            let (thing, shadow) = (request.thing, request.shadow);
            match request.op {
                ShadowOp::Update => {
                    let result = self.service.update(thing, shadow, &job.payload, now);
                    self.record(
                        &job.log,
                        job.log.identity().protocol,
                        &request,
                        job.trace,
                        &result,
                    );
                    match result {
                        Ok(outcome) => self.publish_update(&request, &outcome, job.trace),
                        Err(e) => self.publish_rejected(&request, &e, job.trace),
                    }
                }
                ShadowOp::Get | ShadowOp::Delete => {
                    let result = crate::request_client_token(&job.payload).and_then(|token| {
                        if request.op == ShadowOp::Get {
                            self.service.get(thing, shadow, token.as_deref(), now)
                        } else {
                            self.service.delete(thing, shadow, token.as_deref(), now)
                        }
                    });
                    self.record(
                        &job.log,
                        job.log.identity().protocol,
                        &request,
                        job.trace,
                        &result,
                    );
                    match result {
                        Ok(body) => {
                            self.publish(request.response_topic(Reply::Accepted), body, job.trace)
                        }
                        Err(e) => self.publish_rejected(&request, &e, job.trace),
                    }
                }
            }
        }
        self.done(&job.client_id);
    }

    fn done(&self, client_id: &Arc<str>) {
        let mut in_flight = self.in_flight.lock();
        if let Some(n) = in_flight.get_mut(client_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.remove(client_id);
            }
        }
    }

    /// Takes one token of `thing`'s bucket, or fails with 429.
    fn throttle(&self, thing: &str) -> Result<(), ShadowError> {
        let rate = self.limits.requests_per_second_per_thing;
        if rate == 0 {
            return Ok(());
        }
        let rate = f64::from(rate);
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() >= BUCKET_SWEEP_AT {
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < 1.0);
        }
        let bucket = buckets.entry(thing.to_owned()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(throttled())
        }
    }

    /// The logging handle of an HTTP caller: protocol `HTTP`, the caller's principal and
    /// address, and the addressed thing (so THING_GROUP log targets apply). There is no MQTT
    /// client ID; `clientId` targets do not match HTTP requests.
    fn http_log(&self, caller: &HttpCaller, thing: &str) -> ClientLog {
        self.logger.client(ClientIdentity {
            client_id: String::new(),
            principal_id: caller.principal_id.clone(),
            source_ip: caller.peer.ip(),
            source_port: caller.peer.port(),
            protocol: Protocol::Http,
            thing_name: Some(thing.to_owned()),
        })
    }

    /// Writes the request's log entry, which counts its metric (`*ThingShadow.Accepted` for an
    /// accepted request; AWS counts none for a rejection).
    fn record<T>(
        &self,
        log: &ClientLog,
        protocol: Protocol,
        request: &ShadowTopic<'_>,
        trace: TraceId,
        result: &Result<T, ShadowError>,
    ) {
        self.log_entry(log, protocol, request, trace, result.as_ref().err());
    }

    fn log_entry(
        &self,
        log: &ClientLog,
        protocol: Protocol,
        request: &ShadowTopic<'_>,
        trace: TraceId,
        error: Option<&ShadowError>,
    ) {
        // Built even when the gate drops the entry: `emit` must run to count the metric, and
        // one small string per shadow request is noise beside the document's JSON work.
        let topic_name = topic::request_topic(request.thing, request.shadow, request.op);
        let code = error.map(|e| e.code().to_string());
        let thing = request.thing;
        let failure = error.zip(code.as_deref());
        match request.op {
            ShadowOp::Get => {
                let outcome = match failure {
                    None => GetThingShadow::ACCEPTED,
                    Some(_) => GetThingShadow::REJECTED,
                };
                self.logger.emit(log, outcome, trace, |_| match failure {
                    None => GetThingShadow::success(protocol, thing, &topic_name),
                    Some((e, code)) => {
                        GetThingShadow::failure(protocol, thing, &topic_name, code, &e.message)
                    }
                })
            }
            ShadowOp::Update => {
                let outcome = match failure {
                    None => UpdateThingShadow::ACCEPTED,
                    Some(_) => UpdateThingShadow::REJECTED,
                };
                self.logger.emit(log, outcome, trace, |_| match failure {
                    None => UpdateThingShadow::success(protocol, thing, &topic_name),
                    Some((e, code)) => {
                        UpdateThingShadow::failure(protocol, thing, &topic_name, code, &e.message)
                    }
                })
            }
            ShadowOp::Delete => {
                let outcome = match failure {
                    None => DeleteThingShadow::ACCEPTED,
                    Some(_) => DeleteThingShadow::REJECTED,
                };
                self.logger.emit(log, outcome, trace, |_| match failure {
                    None => DeleteThingShadow::success(protocol, thing, &topic_name),
                    Some((e, code)) => {
                        DeleteThingShadow::failure(protocol, thing, &topic_name, code, &e.message)
                    }
                })
            }
        }
    }

    /// Logs and publishes a refusal decided before the request reached the worker.
    fn reject(
        &self,
        log: &ClientLog,
        protocol: Protocol,
        request: &ShadowTopic<'_>,
        trace: TraceId,
        error: &ShadowError,
    ) {
        self.log_entry(log, protocol, request, trace, Some(error));
        self.publish_rejected(request, error, trace);
    }

    fn publish_rejected(&self, request: &ShadowTopic<'_>, error: &ShadowError, trace: TraceId) {
        let payload = error.rejected_payload(thingwatch_events::now_ms());
        self.publish(request.response_topic(Reply::Rejected), payload, trace);
    }

    fn publish_update(
        &self,
        request: &ShadowTopic<'_>,
        outcome: &crate::UpdateOutcome,
        trace: TraceId,
    ) {
        self.publish(
            request.response_topic(Reply::Accepted),
            outcome.accepted.clone(),
            trace,
        );
        if let Some(delta) = &outcome.delta {
            self.publish(request.response_topic(Reply::Delta), delta.clone(), trace);
        }
        self.publish(
            request.response_topic(Reply::Documents),
            outcome.documents.clone(),
            trace,
        );
    }

    fn publish(&self, topic: String, payload: Vec<u8>, trace: TraceId) {
        let result = self.broker.publish_detached(
            Origin::Component(COMPONENT),
            PublishRequest {
                topic,
                payload,
                qos: RESPONSE_QOS,
                retain: false,
                trace_id: trace,
                message_expiry: None,
                properties: Default::default(),
            },
        );
        if let Err(e) = result {
            // A thing or shadow name that is valid for AWS but not as a topic level cannot
            // occur (both patterns exclude `/`, `+`, `#`); anything else is a server bug.
            tracing::warn!(error = %e, "could not publish a shadow response");
        }
    }
}
