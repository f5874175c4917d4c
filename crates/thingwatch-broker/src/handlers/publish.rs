//! PUBLISH from a client ([MQTT-3.3]) with AWS IoT's rules: QoS 2 refused (see
//! [`refuse_qos2`]), topic and payload limits, v5 topic aliases, authorization, retained messages (not on reserved topics), then
//! routing; a QoS 1 PUBACK is sent only after every durable write it implies reached the WAL.

use super::HandlerError;
use crate::codec::{self, PublishPacket};
use crate::connection::Conn;
use crate::limits::{MAX_PAYLOAD_BYTES, TOPIC_ALIAS_MAX};
use crate::state::{Expiry, Message};
use crate::topic;
use std::sync::Arc;
use thingwatch_events::{LogLevel, MetricName, PublishIn, TraceId};

pub(crate) async fn handle(conn: &mut Conn, p: PublishPacket) -> Result<(), HandlerError> {
    // Parse.
    let topic: Arc<str> = match (p.topic_alias, p.topic.is_empty()) {
        (Some(a), _) if a == 0 || a > TOPIC_ALIAS_MAX => {
            return conn.publish_refused(&p.topic, p.retain, HandlerError::TopicAliasInvalid);
        }
        (Some(a), true) => match conn.aliases.get(&a) {
            Some(t) => t.clone(),
            None => return conn.publish_refused("", p.retain, HandlerError::TopicAliasInvalid),
        },
        (Some(a), false) => {
            let t: Arc<str> = Arc::from(p.topic.as_str());
            conn.aliases.insert(a, t.clone());
            t
        }
        (None, true) => {
            return conn.publish_refused(
                "",
                p.retain,
                HandlerError::Protocol("empty topic without alias"),
            );
        }
        (None, false) => Arc::from(p.topic.as_str()),
    };
    if p.qos == 2 {
        return refuse_qos2(conn, &topic, p.retain);
    }
    if topic::validate_topic_name(&topic).is_err() {
        return conn.publish_refused(&topic, p.retain, HandlerError::TopicInvalid);
    }
    if p.payload.len() > MAX_PAYLOAD_BYTES {
        return conn.publish_refused(&topic, p.retain, HandlerError::TooLarge);
    }
    let shared = conn.shared.clone();
    if !shared
        .authorizer
        .authorize_publish(&conn.principal, &conn.client_id, &topic)
    {
        shared.metric(MetricName::PublishInAuthError);
        shared
            .logger
            .emit(&conn.log, LogLevel::Error, TraceId::new(), |id| {
                PublishIn::failure(
                    id,
                    &topic,
                    p.retain,
                    "AUTHORIZATION_FAILURE",
                    "Authorization Failure",
                )
            });
        return match (conn.version, p.packet_id) {
            (codec::Version::V5, Some(id)) => conn.write(codec::puback(conn.version, id, 0x87)),
            (codec::Version::V5, None) => Ok(()),
            (codec::Version::V311, _) => Err(HandlerError::NotAuthorized),
        };
    }
    if p.retain && topic::is_reserved(&topic) {
        shared.metric(MetricName::PublishInClientError);
        shared
            .logger
            .emit(&conn.log, LogLevel::Error, TraceId::new(), |id| {
                PublishIn::failure(
                    id,
                    &topic,
                    true,
                    "RETAIN_NOT_SUPPORTED",
                    "Reserved topics cannot be retained",
                )
            });
        return match p.packet_id {
            Some(id) => conn.write(codec::puback(conn.version, id, 0x9A)),
            None => Ok(()),
        };
    }

    // Apply.
    let trace = TraceId::new();
    shared.metric(MetricName::PublishInSuccess);
    shared
        .counters
        .messages_in
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    shared.logger.emit(&conn.log, LogLevel::Info, trace, |id| {
        PublishIn::success(id, &topic, p.retain)
    });
    let msg = Arc::new(Message {
        topic,
        payload: p.payload,
        qos: p.qos,
        retain: p.retain,
        props: p.props,
        trace,
        expiry: p.message_expiry.map(Expiry::after_secs),
        wire_v311_qos0: Default::default(),
    });
    let mut tickets = Vec::new();
    if p.retain {
        tickets.push(shared.retain(&msg));
        shared.metric(MetricName::PublishRetainedSuccess);
    }
    tickets.extend(shared.route(&msg, Some(&conn.client_id)).durable);
    if topic::is_reserved(&msg.topic) {
        let handlers = shared.reserved_handlers.load();
        if let Some(h) = handlers.iter().find(|h| h.handles(&msg.topic)) {
            h.on_publish(crate::hook::ReservedPublish {
                topic: &msg.topic,
                payload: msg.payload.as_slice(),
                client_id: &conn.client_id,
                principal: &conn.principal,
                log: &conn.log,
                trace_id: trace,
            });
        }
    }
    if let Some(id) = p.packet_id {
        for t in tickets {
            t.await
                .map_err(|_| HandlerError::Server("storage write failed"))?;
        }
        conn.write(codec::puback(conn.version, id, 0))?;
    }
    Ok(())
}

/// Refuses a QoS 2 PUBLISH. AWS IoT:
///
/// > AWS IoT does not support publishing and subscribing with QoS 2. The AWS IoT message
/// > broker does not send a PUBACK or SUBACK when QoS 2 is requested.
/// > (AWS IoT Developer Guide, *MQTT*, "AWS IoT differences from MQTT specifications")
///
/// - **MQTT 3.1.1:** no PUBACK and no PUBREC (the QoS 2 flow of [MQTT-4.3.3] is not started),
///   the message is not routed nor retained, and the connection **stays open**. 3.1.1 has no
///   way to advertise a maximum QoS, so silently ignoring the packet is what AWS describes.
/// - **MQTT 5:** the CONNACK advertised *Maximum QoS* 1, so a QoS 2 PUBLISH is a protocol
///   violation the server must answer with DISCONNECT 0x9B *QoS not supported*
///   ([MQTT-3.2.2-11]); the connection closes (disconnectReason `CLIENT_ERROR`).
///
/// Both log a `Publish-In` Failure (ERROR, reason
/// [`QOS_NOT_SUPPORTED`](super::subscribe::QOS_NOT_SUPPORTED)) and count `PublishIn.ClientError`.
fn refuse_qos2(conn: &mut Conn, topic: &str, retain: bool) -> Result<(), HandlerError> {
    match conn.version {
        codec::Version::V5 => conn.publish_refused(topic, retain, HandlerError::QosNotSupported),
        codec::Version::V311 => {
            let (_, _, reason, details) = HandlerError::QosNotSupported.describe();
            conn.shared.metric(MetricName::PublishInClientError);
            conn.shared
                .logger
                .emit(&conn.log, LogLevel::Error, TraceId::new(), |id| {
                    PublishIn::failure(id, topic, retain, reason, details)
                });
            Ok(())
        }
    }
}
