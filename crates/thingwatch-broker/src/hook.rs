//! [`ReservedTopicHandler`]: how server-side services (the Device Shadow service; later Jobs)
//! receive the PUBLISHes clients send to AWS IoT's reserved `$aws/…` request topics.
//!
//! AWS IoT treats a publish on `$aws/things/{thing}/shadow/update` as an ordinary message
//! (authorized as `iot:Publish`, logged as `Publish-In`, delivered to any subscriber of that
//! topic) **and** as a request to the shadow service, which answers on
//! `…/update/accepted|rejected` etc. The broker does the first part exactly as for any topic,
//! then hands the request to the registered handler; the handler answers by publishing
//! through [`crate::Broker::publish_detached`] as an [`Origin::Component`](crate::Origin).
//! The handler is called from the one ingress ([`crate::ingress`]) for every origin: MQTT
//! PUBLISH, HTTPS Publish and component messages alike. (AWS IoT Developer Guide, *Reserved
//! topics*.)

use crate::auth::Principal;
use std::sync::Arc;
use thingwatch_events::{ClientLog, TraceId};

/// One accepted PUBLISH on a reserved topic (`$aws/…`), borrowed from the connection.
#[derive(Debug, Clone, Copy)]
pub struct ReservedPublish<'a> {
    /// The topic name, e.g. `$aws/things/lamp/shadow/update`.
    pub topic: &'a str,
    /// The payload bytes (≤ 128 KiB, already checked).
    pub payload: &'a [u8],
    /// The publishing client's MQTT client ID.
    pub client_id: &'a str,
    /// The publishing connection's principal.
    pub principal: &'a Principal,
    /// The publishing connection's logging handle (its identity and cached levels), for the
    /// service's own log entries (e.g. `UpdateThingShadow` with protocol `MQTT`).
    pub log: &'a Arc<ClientLog>,
    /// The `traceId` of the request's `Publish-In` entry.
    pub trace_id: TraceId,
}

/// A consumer of reserved-topic requests. Called on the connection's task right after the
/// PUBLISH was routed and before its PUBACK; implementations must not block (queue the work).
pub trait ReservedTopicHandler: Send + Sync {
    /// `true` if this handler serves `topic` (a topic that starts with `$aws/`).
    fn handles(&self, topic: &str) -> bool;
    /// Takes one request. Responses are published by the handler itself.
    fn on_publish(&self, request: ReservedPublish<'_>);
}
