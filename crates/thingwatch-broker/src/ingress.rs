//! The one ingress: every message that enters the broker — an MQTT PUBLISH over TCP, TLS or
//! WebSocket, an MQTT will, an HTTPS `iot-data` Publish, a message a server component
//! publishes (Device Shadow responses; later rule republish, job notifications) — goes
//! through [`ingest`], and only there is the router called.
//!
//! In order, for a message from `origin`:
//! 1. **validate**: QoS 0 or 1 (AWS IoT refuses QoS 2), the topic name
//!    ([`crate::topic::validate_topic_name`]), the 128 KiB payload limit;
//! 2. **authorize** `iot:Publish` on the topic for a client connection (an HTTPS caller was
//!    authorized by the API dispatcher; a component needs none); a retained message on a
//!    reserved `$aws/…` topic is refused (AWS IoT: reserved topics cannot be retained);
//! 3. **log** `Publish-In` (clients only; components log their own service events), counting
//!    its metric in the same call ([`thingwatch_events::Outcome`]);
//! 4. **retain**, then **route** to the matching sessions (deliveries then go through the one
//!    delivery path: `Shared::enqueue` → the connection's `drain`) — except a Basic Ingest
//!    message (`$aws/rules/<rule>/…`), which reaches no subscriber: it is addressed to one
//!    rule (Developer Guide, *Reducing messaging costs with Basic Ingest*);
//! 5. offer the message to every [message observer](MessageObserver) (the rules engine is
//!    one): each has its own bounded, named queue with a [`WhenFull`] policy and counts what it
//!    drops;
//! 6. hand a reserved request topic to its [`ReservedTopicHandler`](crate::ReservedTopicHandler)
//!    (after the observers, so that no observer sees an answer before its request) — except
//!    a will, which the services behind reserved topics ignore, as AWS's do.
//!
//! A refusal is logged as a `Publish-In` Failure with AWS's reason and counted as its metric
//! before it is returned; the caller maps it to its wire answer (a PUBACK reason code, a
//! DISCONNECT, an HTTP error). Sources: AWS IoT Developer Guide *Message broker*, *Reserved
//! topics*, *Logging events*; `../shared/reference/aws-iot-logging.md`.

use crate::auth::Principal;
use crate::codec::{ArcPayload, Property};
use crate::hook::ReservedPublish;
use crate::names::{ClientId, TopicName};
use crate::state::{Expiry, Message, Shared};
use crate::{BrokerError, topic};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use thingwatch_events::{
    ClientIdentity, ClientLog, MetricName, Outcome, Protocol, PublishIn, TraceId, WhenFull,
};
use tokio::sync::oneshot;

/// A client that sends a message: its MQTT client ID (`"N/A"` over HTTPS), principal and
/// logging handle (whose identity carries the protocol and source address).
#[derive(Clone, Copy)]
pub struct ClientOrigin<'a> {
    /// The MQTT client ID, or [`HTTP_CLIENT_ID`] ([`ClientId::http`]) for an HTTPS request.
    pub client_id: &'a ClientId,
    /// The authenticated principal.
    pub principal: &'a Principal,
    /// The sender's logging handle: `Publish-In` is written under it.
    pub log: &'a Arc<ClientLog>,
}

/// The `clientId` written in log entries of HTTPS requests, which have no MQTT client ID (our
/// choice; AWS uses `"N/A"` the same way in rules-engine entries without a client).
pub const HTTP_CLIENT_ID: &str = "N/A";

/// Where a message entering the broker comes from.
#[derive(Clone, Copy)]
pub enum Origin<'a> {
    /// An MQTT client (PUBLISH or will) on a TCP, TLS or WebSocket connection: `iot:Publish`
    /// is checked here with the broker's [`Authorizer`](crate::Authorizer).
    Connection(ClientOrigin<'a>),
    /// The will of an MQTT client whose connection ended ([MQTT-3.1.2-8]): logged and routed
    /// as the client's message, but not authorized again — the connection's authorization
    /// context ended with it, and the will was validated with the CONNECT.
    Will(ClientOrigin<'a>),
    /// An HTTPS `iot-data` Publish: the API dispatcher already authorized the call (SigV4 and
    /// the caller's IAM policy), so it is not checked again.
    Http(ClientOrigin<'a>),
    /// A server component (named, e.g. `"shadow"`): trusted, and logs no `Publish-In` (the
    /// component logs its own service events).
    Component(&'static str),
}

impl Origin<'_> {
    fn client(&self) -> Option<&ClientOrigin<'_>> {
        match self {
            Origin::Connection(c) | Origin::Will(c) | Origin::Http(c) => Some(c),
            Origin::Component(_) => None,
        }
    }
}

/// One message as it arrives, before validation.
pub(crate) struct Inbound {
    pub topic: Arc<str>,
    pub payload: ArcPayload,
    pub qos: u8,
    pub retain: bool,
    /// MQTT 5 properties forwarded to v5 subscribers.
    pub props: Vec<Property>,
    /// MQTT 5 Message Expiry Interval, seconds (clamped by [`Expiry::after_secs`]).
    pub message_expiry: Option<u32>,
    /// The trace id of the entries of this message (`Publish-In`, `Publish-Out`, and the
    /// component's own entries for component messages).
    pub trace: TraceId,
}

/// An accepted message: the durable writes (retained message, queued QoS 1 copies) to await
/// before acknowledging it.
pub(crate) struct Accepted {
    pub durable: Vec<oneshot::Receiver<()>>,
}

impl BrokerError {
    /// The `Publish-In` Failure this refusal is logged as: its outcome (level + metric), AWS's
    /// reason and the details text. The texts are the MQTT handler's, so an HTTPS and an MQTT
    /// publish refused for the same cause log the same entry.
    fn publish_in(&self) -> (Outcome<PublishIn<'static>>, &'static str, &'static str) {
        match self {
            BrokerError::Qos(_) => (
                PublishIn::CLIENT_ERROR,
                crate::handlers::subscribe::QOS_NOT_SUPPORTED,
                "QoS 2 is not supported",
            ),
            BrokerError::Topic(_) => (
                PublishIn::CLIENT_ERROR,
                "INVALID_TOPIC",
                "The topic name is invalid or exceeds AWS IoT limits",
            ),
            BrokerError::PayloadTooLarge => (
                PublishIn::CLIENT_ERROR,
                "PAYLOAD_LIMIT_EXCEEDED",
                "The payload exceeds the 128 KB limit",
            ),
            BrokerError::NotAuthorized => (
                PublishIn::AUTH_ERROR,
                "AUTHORIZATION_FAILURE",
                "Authorization Failure",
            ),
            BrokerError::RetainNotSupported => (
                PublishIn::CLIENT_ERROR,
                "RETAIN_NOT_SUPPORTED",
                "Reserved topics cannot be retained",
            ),
            BrokerError::Store(_) | BrokerError::Storage => (
                PublishIn::SERVER_ERROR,
                "SERVER_ERROR",
                "Internal service failure",
            ),
        }
    }
}

/// Checks what AWS IoT checks of every message, whatever its origin; the topic comes out
/// typed (the one place a message's topic name is validated, without copying it).
fn validate(inbound: &Inbound) -> Result<TopicName, BrokerError> {
    if inbound.qos > 1 {
        return Err(BrokerError::Qos(inbound.qos));
    }
    let topic = TopicName::from_arc(inbound.topic.clone())?;
    if inbound.payload.len() > crate::limits::MAX_PAYLOAD_BYTES {
        return Err(BrokerError::PayloadTooLarge);
    }
    Ok(topic)
}

/// The ingress (module docs): validates, authorizes, logs `Publish-In`, retains, routes,
/// offers the message to the observers and hands reserved requests to their handler.
///
/// # Errors
/// [`BrokerError::Qos`], [`BrokerError::Topic`], [`BrokerError::PayloadTooLarge`],
/// [`BrokerError::NotAuthorized`], [`BrokerError::RetainNotSupported`] — each already logged
/// as a `Publish-In` Failure under the client's handle and counted.
pub(crate) fn ingest(
    shared: &Shared,
    origin: Origin<'_>,
    inbound: Inbound,
) -> Result<Accepted, BrokerError> {
    let checked = validate(&inbound).and_then(|topic| {
        if let Origin::Connection(c) = &origin
            && !shared
                .authorizer
                .authorize_publish(c.principal, c.client_id, &inbound.topic)
        {
            return Err(BrokerError::NotAuthorized);
        }
        if inbound.retain && topic::is_reserved(&inbound.topic) {
            return Err(BrokerError::RetainNotSupported);
        }
        Ok(topic)
    });
    let topic = match checked {
        Ok(topic) => topic,
        Err(e) => {
            if let Some(c) = origin.client() {
                let (outcome, reason, details) = e.publish_in();
                shared.logger.emit(c.log, outcome, TraceId::new(), |id| {
                    PublishIn::failure(id, &inbound.topic, inbound.retain, reason, details)
                });
            }
            return Err(e);
        }
    };
    let trace = inbound.trace;
    if let Some(c) = origin.client() {
        shared.counters.messages_in.fetch_add(1, Ordering::Relaxed);
        shared.logger.emit(c.log, PublishIn::SUCCESS, trace, |id| {
            PublishIn::success(id, &inbound.topic, inbound.retain)
        });
    }
    let msg = Arc::new(Message {
        topic,
        payload: inbound.payload,
        qos: inbound.qos,
        retain: inbound.retain,
        props: inbound.props,
        trace,
        expiry: inbound.message_expiry.map(Expiry::after_secs),
        wire_v311_qos0: Default::default(),
    });
    let mut durable = Vec::new();
    let basic_ingest = msg.topic.as_str().starts_with(topic::BASIC_INGEST_PREFIX);
    if msg.retain && !basic_ingest {
        durable.push(shared.retain(&msg));
        if let Some(c) = origin.client() {
            shared.logger.metrics().incr(
                MetricName::PublishRetainedSuccess,
                c.log.identity().protocol,
            );
        }
    }
    let publisher = match &origin {
        // A will is routed as before its ingress existed: No Local ([MQTT-3.8.3-3]) applies
        // to the publishing connection, which is gone.
        Origin::Connection(c) => Some(c.client_id.as_str()),
        _ => None,
    };
    if !basic_ingest {
        durable.extend(shared.route(&msg, publisher).durable);
    }
    // Observers first: a reserved request's answers (published by its handler, possibly on
    // another thread at once) must never reach an observer before the request itself.
    offer_to_observers(shared, &origin, &msg);
    // A will on a reserved request topic reaches subscribers but not the service behind it
    // (Developer Guide, *Using shadows in apps and services*: the shadow service ignores
    // Last Will messages on its reserved topics).
    if topic::is_reserved(&msg.topic) && !matches!(origin, Origin::Will(_)) {
        hand_to_reserved_handler(shared, &origin, &msg);
    }
    Ok(Accepted { durable })
}

/// Hands a reserved-topic request to the first handler that serves its topic.
fn hand_to_reserved_handler(shared: &Shared, origin: &Origin<'_>, msg: &Arc<Message>) {
    let handlers = shared.reserved_handlers.load();
    let Some(handler) = handlers.iter().find(|h| h.handles(&msg.topic)) else {
        return;
    };
    let request = |client_id: &str, principal: &Principal, log: &Arc<ClientLog>| {
        handler.on_publish(ReservedPublish {
            topic: &msg.topic,
            payload: msg.payload.as_slice(),
            client_id,
            principal,
            log,
            trace_id: msg.trace,
        });
    };
    match origin {
        Origin::Connection(c) | Origin::Will(c) => request(c.client_id, c.principal, c.log),
        Origin::Http(c) => {
            // In-flight requests are counted per HTTPS connection (`N/A@ip:port`).
            let id = &c.log.identity();
            let key = format!(
                "{}@{}",
                c.client_id,
                SocketAddr::new(id.source_ip, id.source_port)
            );
            request(&key, c.principal, c.log);
        }
        Origin::Component(name) => {
            // A component asking another one (e.g. a rule republishing to a shadow topic):
            // rare, so its identity is built here.
            let principal = Principal {
                principal_id: (*name).to_owned(),
                thing_name: None,
            };
            let log = Arc::new(shared.logger.client(ClientIdentity {
                client_id: (*name).to_owned(),
                principal_id: (*name).to_owned(),
                source_ip: std::net::Ipv4Addr::LOCALHOST.into(),
                source_port: 0,
                protocol: Protocol::Mqtt,
                thing_name: None,
            }));
            request(name, &principal, &log);
        }
    }
}

// ── Message observers ─────────────────────────────────────────────────────────────────────

/// Who sent an [`ObservedMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A client over MQTT (TCP, TLS, WebSocket) or HTTPS.
    Client {
        /// `MQTT` or `HTTP`.
        protocol: Protocol,
        /// The MQTT client ID (`"N/A"` over HTTPS).
        client_id: ClientId,
        /// The authenticated principal (certificate ID, IAM identity, …).
        principal_id: Arc<str>,
        /// The client's address.
        source: SocketAddr,
    },
    /// A server component, by name (e.g. `"shadow"`).
    Component(&'static str),
}

/// One accepted message as an observer sees it: after validation and authorization, in the
/// order the ingress accepted them (per observer).
#[derive(Debug, Clone)]
pub struct ObservedMessage {
    message: Arc<Message>,
    /// Who sent it.
    pub sender: Sender,
    /// The sending client's logging handle (`None` for a component): entries a consumer
    /// writes about this message (the rules engine's) are filtered by the client's log
    /// targets, as the client's own entries are.
    pub client_log: Option<Arc<ClientLog>>,
    /// When the ingress accepted it, epoch milliseconds.
    pub timestamp_ms: i64,
}

impl ObservedMessage {
    /// The topic name (validated by the ingress).
    pub fn topic(&self) -> &TopicName {
        &self.message.topic
    }
    /// The payload bytes (≤ 128 KiB).
    pub fn payload(&self) -> &[u8] {
        self.message.payload.as_slice()
    }
    /// 0 or 1.
    pub fn qos(&self) -> u8 {
        self.message.qos
    }
    /// The RETAIN flag as published.
    pub fn retain(&self) -> bool {
        self.message.retain
    }
    /// The `traceId` of the message's `Publish-In` and `Publish-Out` entries.
    pub fn trace_id(&self) -> TraceId {
        self.message.trace
    }
    /// Its MQTT 5 properties (empty for an MQTT 3.1.1 or HTTPS message).
    pub fn properties(&self) -> crate::codec::PublishProperties {
        crate::codec::PublishProperties::from_props(&self.message.props)
    }
}

/// A consumer of every message the ingress accepts — the rules engine is one. Called on the
/// observer's own thread (`observer-{name}`), never on the publisher's, one message at a time.
pub trait MessageObserver: Send + 'static {
    /// Takes one accepted message.
    fn on_message(&mut self, message: &ObservedMessage);
}

/// How an observer is registered ([`crate::Broker::add_observer`]).
#[derive(Debug, Clone, Copy)]
pub struct ObserverConfig {
    /// The queue's name, listed in stats and ARCHITECTURE.md (e.g. `"rules"`).
    pub name: &'static str,
    /// Queue capacity in messages (at least 1).
    pub capacity: usize,
    /// What the ingress does when the queue is full: [`WhenFull::DropNewest`] drops the
    /// message for this observer and counts it (the publisher never waits — the data path's
    /// policy); [`WhenFull::Block`] waits for room (lossless; for tests and batch tools).
    pub when_full: WhenFull,
}

/// Counters of one observer's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserverStats {
    /// The queue's name.
    pub name: &'static str,
    /// Its capacity in messages.
    pub capacity: usize,
    /// Its policy when full.
    pub when_full: WhenFull,
    /// Messages offered and queued.
    pub queued: u64,
    /// Messages dropped because the queue was full (always 0 with [`WhenFull::Block`]).
    pub dropped: u64,
}

/// One registered observer: its queue's sending half and counters.
pub(crate) struct ObserverSlot {
    config: ObserverConfig,
    tx: crossbeam_channel::Sender<Arc<ObservedMessage>>,
    queued: AtomicU64,
    dropped: AtomicU64,
}

impl ObserverSlot {
    /// Starts the observer's thread; it ends once the slot is dropped and the queue drained.
    pub(crate) fn start(
        config: ObserverConfig,
        mut observer: Box<dyn MessageObserver>,
    ) -> std::io::Result<Arc<ObserverSlot>> {
        let (tx, rx) = crossbeam_channel::bounded::<Arc<ObservedMessage>>(config.capacity.max(1));
        std::thread::Builder::new()
            .name(format!("observer-{}", config.name))
            .spawn(move || {
                for m in rx {
                    observer.on_message(&m);
                }
            })?;
        Ok(Arc::new(ObserverSlot {
            config,
            tx,
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }))
    }

    fn offer(&self, m: &Arc<ObservedMessage>) {
        let sent = match self.config.when_full {
            WhenFull::DropNewest => self.tx.try_send(m.clone()).is_ok(),
            WhenFull::Block => self.tx.send(m.clone()).is_ok(),
        };
        if sent {
            self.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn stats(&self) -> ObserverStats {
        ObserverStats {
            name: self.config.name,
            capacity: self.config.capacity.max(1),
            when_full: self.config.when_full,
            queued: self.queued.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

fn offer_to_observers(shared: &Shared, origin: &Origin<'_>, msg: &Arc<Message>) {
    let observers = shared.observers.load();
    if observers.is_empty() {
        return;
    }
    let (sender, client_log) = match origin {
        Origin::Connection(c) | Origin::Will(c) | Origin::Http(c) => {
            let id = &c.log.identity();
            let sender = Sender::Client {
                protocol: id.protocol,
                client_id: c.client_id.clone(),
                principal_id: Arc::from(c.principal.principal_id.as_str()),
                source: SocketAddr::new(id.source_ip, id.source_port),
            };
            (sender, Some(c.log.clone()))
        }
        Origin::Component(name) => (Sender::Component(name), None),
    };
    let observed = Arc::new(ObservedMessage {
        message: msg.clone(),
        sender,
        client_log,
        timestamp_ms: thingwatch_events::now_ms(),
    });
    for o in observers.iter() {
        o.offer(&observed);
    }
}
