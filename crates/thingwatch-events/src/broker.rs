//! Message-broker log events: one type per AWS IoT `eventType` (`Connect`, `Disconnect`,
//! `Subscribe`, `Unsubscribe`, `Publish-In`, `Publish-Out`, `Queued`).
//!
//! Source: AWS IoT Developer Guide, *CloudWatch AWS IoT log entries* → *Message broker log
//! entries* (`cwl-format`). Each struct's `Serialize` writes the event-specific attributes in the
//! order of the documented example; [`crate::encode`] writes the common header
//! (`timestamp`, `logLevel`, `traceId`, `accountId`, `status`, `eventType`) before them.
//! Fields borrow from the connection's [`ClientIdentity`], so building an event allocates
//! nothing.

use crate::event::{EventType, Failure, IotLogEvent, Status};
use crate::json::JsonFields;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::net::IpAddr;

/// The transport an entry came through: `MQTT` or `HTTP` (the `protocol` attribute, and the
/// `Protocol` dimension of the `AWS/IoT` broker metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Protocol {
    /// MQTT over TCP, TLS or WebSocket.
    #[serde(rename = "MQTT")]
    Mqtt,
    /// HTTPS data-plane requests.
    #[serde(rename = "HTTP")]
    Http,
}

impl Protocol {
    /// `MQTT` or `HTTP`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Mqtt => "MQTT",
            Protocol::Http => "HTTP",
        }
    }
}

/// Who a connection is: the common broker attributes of every entry (`protocol`, `clientId`,
/// `principalId`, `sourceIp`, `sourcePort`) and the keys that log targets match on
/// (CLIENT_ID, SOURCE_IP, PRINCIPAL_ID, and THING_GROUP through `thing_name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The MQTT client ID (≤ 128 bytes UTF-8 in AWS IoT).
    pub client_id: String,
    /// The authenticated principal: a certificate ID (64 hex), an IAM identity, or the
    /// broker's documented placeholder for unauthenticated loopback clients.
    pub principal_id: String,
    /// The peer's IP address.
    pub source_ip: IpAddr,
    /// The peer's TCP port.
    pub source_port: u16,
    /// MQTT or HTTP.
    pub protocol: Protocol,
    /// The thing this connection is associated with (client ID equal to a thing name, or an
    /// exclusive thing attachment); `None` when unknown.
    pub thing_name: Option<String>,
}

/// AWS IoT lifecycle disconnect reasons, spelled exactly as AWS spells them (the
/// `disconnectReason` attribute). Source: Developer Guide *Lifecycle events* and
/// *Troubleshooting fleet disconnects*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DisconnectReason {
    /// Authentication or authorization failed.
    AuthError,
    /// The client sent MQTT DISCONNECT (or a WebSocket close frame).
    ClientInitiatedDisconnect,
    /// The client misbehaved: a second CONNECT, an oversized or malformed packet, …
    ClientError,
    /// The network connection dropped.
    ConnectionLost,
    /// Another connection took the client ID; written for the **old** connection.
    /// (AWS spells it without an underscore between CLIENT and ID.)
    #[serde(rename = "DUPLICATE_CLIENTID")]
    DuplicateClientid,
    /// The client is not allowed, e.g. its source address is refused.
    ForbiddenAccess,
    /// No packet for 1.5 × the keep-alive interval.
    MqttKeepAliveTimeout,
    /// An unexpected server problem.
    ServerError,
    /// A deliberate server disconnect, e.g. shutdown.
    ServerInitiatedDisconnect,
    /// The `DeleteConnection` API.
    ApiInitiatedDisconnect,
    /// A throttling limit was hit.
    Throttled,
}

impl DisconnectReason {
    /// The exact AWS spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::AuthError => "AUTH_ERROR",
            DisconnectReason::ClientInitiatedDisconnect => "CLIENT_INITIATED_DISCONNECT",
            DisconnectReason::ClientError => "CLIENT_ERROR",
            DisconnectReason::ConnectionLost => "CONNECTION_LOST",
            DisconnectReason::DuplicateClientid => "DUPLICATE_CLIENTID",
            DisconnectReason::ForbiddenAccess => "FORBIDDEN_ACCESS",
            DisconnectReason::MqttKeepAliveTimeout => "MQTT_KEEP_ALIVE_TIMEOUT",
            DisconnectReason::ServerError => "SERVER_ERROR",
            DisconnectReason::ServerInitiatedDisconnect => "SERVER_INITIATED_DISCONNECT",
            DisconnectReason::ApiInitiatedDisconnect => "API_INITIATED_DISCONNECT",
            DisconnectReason::Throttled => "THROTTLED",
        }
    }
}

/// The `reason` the documented `Disconnect` example carries for a takeover.
pub const DUPLICATE_CLIENT_ID_REASON: Failure<'static> = Failure {
    reason: "DUPLICATE_CLIENT_ID",
    details: "A new connection was established with the same client ID",
};

/// Writes the five client attributes in documented order; `topic` (when given) goes after
/// `protocol`, as in the `Publish-In`/`Subscribe` examples.
fn client_fields<M: SerializeMap>(
    map: &mut M,
    id: &ClientIdentity,
    topic: Option<&str>,
) -> Result<(), M::Error> {
    map.serialize_entry("protocol", &id.protocol)?;
    if let Some(topic) = topic {
        map.serialize_entry("topicName", topic)?;
    }
    map.serialize_entry("clientId", &id.client_id)?;
    map.serialize_entry("principalId", &id.principal_id)?;
    map.serialize_entry("sourceIp", &IpText(id.source_ip))?;
    map.serialize_entry("sourcePort", &id.source_port)
}

/// The hand-written form of [`client_fields`] (same members, same order).
fn write_client(f: &mut JsonFields<'_>, id: &ClientIdentity, topic: Option<&str>) {
    f.str("protocol", id.protocol.as_str());
    if let Some(topic) = topic {
        f.str("topicName", topic);
    }
    f.str("clientId", &id.client_id);
    f.str("principalId", &id.principal_id);
    f.ip("sourceIp", id.source_ip);
    f.u64("sourcePort", u64::from(id.source_port));
}

/// The hand-written form of [`failure_fields`].
fn write_failure(f: &mut JsonFields<'_>, failure: &Option<Failure<'_>>) {
    if let Some(fail) = failure {
        f.str("reason", fail.reason);
        f.str("details", fail.details);
    }
}

fn failure_fields<M: SerializeMap>(
    map: &mut M,
    failure: &Option<Failure<'_>>,
) -> Result<(), M::Error> {
    if let Some(f) = failure {
        map.serialize_entry("reason", f.reason)?;
        map.serialize_entry("details", f.details)?;
    }
    Ok(())
}

/// An IP address serialised as text without a temporary `String`.
struct IpText(IpAddr);

impl Serialize for IpText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// `Connect`: a client's CONNECT was accepted (INFO) or refused (ERROR, with `reason` and
/// `details`, e.g. `AUTHORIZATION_FAILURE` / `Authorization Failure`).
///
/// Documented order: `protocol, clientId, principalId, sourceIp, sourcePort[, reason, details]`.
#[derive(Clone, Debug)]
pub struct Connect<'a> {
    /// The connecting client.
    pub client: &'a ClientIdentity,
    /// `Some` for the Failure form.
    pub failure: Option<Failure<'a>>,
}

impl<'a> Connect<'a> {
    /// The Success form.
    pub fn success(client: &'a ClientIdentity) -> Self {
        Connect {
            client,
            failure: None,
        }
    }
    /// The Failure form.
    pub fn failure(client: &'a ClientIdentity, reason: &'a str, details: &'a str) -> Self {
        Connect {
            client,
            failure: Some(Failure { reason, details }),
        }
    }
}

impl Serialize for Connect<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        client_fields(&mut map, self.client, None)?;
        failure_fields(&mut map, &self.failure)?;
        map.end()
    }
}

impl IotLogEvent for Connect<'_> {
    const EVENT_TYPE: EventType = EventType::Connect;
    fn status(&self) -> Status {
        Status::of(&self.failure)
    }
    fn write_attributes(&self, f: &mut JsonFields<'_>) {
        write_client(f, self.client, None);
        write_failure(f, &self.failure);
    }
}

/// `Disconnect`: a connection ended (INFO).
///
/// Documented order: `protocol, clientId, principalId, sourceIp, sourcePort[, reason,
/// details], disconnectReason`. A takeover carries
/// [`DUPLICATE_CLIENT_ID_REASON`] and `DUPLICATE_CLIENTID`.
#[derive(Clone, Debug)]
pub struct Disconnect<'a> {
    /// The disconnected client.
    pub client: &'a ClientIdentity,
    /// Optional `reason`/`details` pair (the entry stays `status: Success`, as documented).
    pub detail: Option<Failure<'a>>,
    /// Why the connection ended.
    pub disconnect_reason: DisconnectReason,
}

impl<'a> Disconnect<'a> {
    /// A disconnect with only a `disconnectReason`; a takeover adds the documented
    /// `reason`/`details` pair automatically.
    pub fn new(client: &'a ClientIdentity, disconnect_reason: DisconnectReason) -> Self {
        let detail = (disconnect_reason == DisconnectReason::DuplicateClientid)
            .then_some(DUPLICATE_CLIENT_ID_REASON);
        Disconnect {
            client,
            detail,
            disconnect_reason,
        }
    }
    /// A disconnect with an explicit `reason`/`details` pair (e.g. a malformed packet).
    pub fn with_detail(
        client: &'a ClientIdentity,
        disconnect_reason: DisconnectReason,
        reason: &'a str,
        details: &'a str,
    ) -> Self {
        Disconnect {
            client,
            detail: Some(Failure { reason, details }),
            disconnect_reason,
        }
    }
}

impl Serialize for Disconnect<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        client_fields(&mut map, self.client, None)?;
        failure_fields(&mut map, &self.detail)?;
        map.serialize_entry("disconnectReason", &self.disconnect_reason)?;
        map.end()
    }
}

impl IotLogEvent for Disconnect<'_> {
    const EVENT_TYPE: EventType = EventType::Disconnect;
    fn status(&self) -> Status {
        Status::Success
    }
    fn write_attributes(&self, f: &mut JsonFields<'_>) {
        write_client(f, self.client, None);
        write_failure(f, &self.detail);
        f.str("disconnectReason", self.disconnect_reason.as_str());
    }
}

macro_rules! topic_event {
    ($(#[$doc:meta])* $name:ident, $event_type:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name<'a> {
            /// The client the entry is about.
            pub client: &'a ClientIdentity,
            /// The topic name (or, for subscriptions, the topic filter).
            pub topic_name: &'a str,
            /// Whether the RETAIN flag was set; written as `"retain": "True"` only when set.
            pub retain: bool,
            /// `Some` for the Failure form.
            pub failure: Option<Failure<'a>>,
        }

        impl<'a> $name<'a> {
            /// The Success form.
            pub fn success(client: &'a ClientIdentity, topic_name: &'a str, retain: bool) -> Self {
                $name { client, topic_name, retain, failure: None }
            }
            /// The Failure form with AWS's `reason` code and `details` text.
            pub fn failure(
                client: &'a ClientIdentity,
                topic_name: &'a str,
                retain: bool,
                reason: &'a str,
                details: &'a str,
            ) -> Self {
                $name { client, topic_name, retain, failure: Some(Failure { reason, details }) }
            }
        }

        impl Serialize for $name<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(None)?;
                client_fields(&mut map, self.client, Some(self.topic_name))?;
                if self.retain {
                    map.serialize_entry("retain", "True")?;
                }
                failure_fields(&mut map, &self.failure)?;
                map.end()
            }
        }

        impl IotLogEvent for $name<'_> {
            const EVENT_TYPE: EventType = $event_type;
            fn status(&self) -> Status {
                Status::of(&self.failure)
            }
            fn write_attributes(&self, f: &mut JsonFields<'_>) {
                write_client(f, self.client, Some(self.topic_name));
                if self.retain {
                    f.str("retain", "True");
                }
                write_failure(f, &self.failure);
            }
        }
    };
}

topic_event!(
    /// `Publish-In`: the broker received a PUBLISH (INFO), or refused it (ERROR).
    ///
    /// Documented order: `protocol, topicName, clientId, principalId, sourceIp, sourcePort[,
    /// retain]`.
    PublishIn,
    EventType::PublishIn
);
topic_event!(
    /// `Publish-Out`: the broker delivered a message to a subscriber (INFO). `clientId` is the
    /// **receiving** subscriber; the `traceId` is the one of the `Publish-In`.
    PublishOut,
    EventType::PublishOut
);
topic_event!(
    /// `Subscribe`: one topic filter of a SUBSCRIBE was granted (INFO) or refused (ERROR).
    /// `topicName` is the filter.
    Subscribe,
    EventType::Subscribe
);
topic_event!(
    /// `Unsubscribe`: one topic filter of an UNSUBSCRIBE was removed (INFO). Attributes as
    /// `Subscribe` (AWS has not published the example; documented here as our choice).
    Unsubscribe,
    EventType::Unsubscribe
);
topic_event!(
    /// `Queued`: a QoS 1 message was stored for a disconnected persistent session (INFO), or
    /// could not be (ERROR, e.g. the session's queue is full). `clientId` is the offline
    /// subscriber. Attributes as `Publish-Out` (AWS has not published the example; our
    /// choice, documented).
    Queued,
    EventType::Queued
);
