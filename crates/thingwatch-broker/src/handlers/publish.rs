//! PUBLISH from a client ([MQTT-3.3]) with AWS IoT's rules: QoS 2 refused (see
//! [`refuse_qos2`]), topic and payload limits, v5 topic aliases, authorization, retained messages (not on reserved topics), then
//! routing; a QoS 1 PUBACK is sent only after every durable write it implies reached the WAL.

use super::HandlerError;
use crate::BrokerError;
use crate::codec::{self, PublishPacket};
use crate::connection::Conn;
use crate::ingress::{self, ClientOrigin, Inbound, Origin};
use crate::limits::TOPIC_ALIAS_MAX;
use std::sync::Arc;
use thingwatch_events::TraceId;

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
    // Validate, authorize, log, retain, route: the one ingress.
    let shared = conn.shared.clone();
    let (retain, qos) = (p.retain, p.qos);
    let origin = Origin::Connection(ClientOrigin {
        client_id: &conn.client_id,
        principal: &conn.principal,
        log: &conn.log,
    });
    let inbound = Inbound {
        topic,
        payload: p.payload,
        qos,
        retain,
        props: p.props,
        message_expiry: p.message_expiry,
        trace: TraceId::new(),
    };
    let accepted = match ingress::ingest(&shared, origin, inbound) {
        Ok(a) => a,
        Err(e) => return refused(conn, p.packet_id, e),
    };
    if let Some(id) = p.packet_id {
        for t in accepted.durable {
            t.await
                .map_err(|_| HandlerError::Server("storage write failed"))?;
        }
        conn.write(codec::puback(conn.version, id, 0))?;
    }
    Ok(())
}

/// Answers a PUBLISH the ingress refused (and already logged): AWS IoT's answer per cause.
fn refused(conn: &mut Conn, packet_id: Option<u16>, e: BrokerError) -> Result<(), HandlerError> {
    match e {
        BrokerError::Qos(_) => refuse_qos2(conn),
        BrokerError::Topic(_) => Err(HandlerError::TopicInvalid),
        BrokerError::PayloadTooLarge => Err(HandlerError::TooLarge),
        BrokerError::NotAuthorized => match (conn.version, packet_id) {
            (codec::Version::V5, Some(id)) => conn.write(codec::puback(conn.version, id, 0x87)),
            (codec::Version::V5, None) => Ok(()),
            (codec::Version::V311, _) => Err(HandlerError::NotAuthorized),
        },
        BrokerError::RetainNotSupported => match packet_id {
            Some(id) => conn.write(codec::puback(conn.version, id, 0x9A)),
            None => Ok(()),
        },
        BrokerError::Store(_) | BrokerError::Storage => {
            Err(HandlerError::Server("storage write failed"))
        }
    }
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
/// Both are logged by the ingress as a `Publish-In` Failure (ERROR, reason
/// [`QOS_NOT_SUPPORTED`](super::subscribe::QOS_NOT_SUPPORTED)) counted as `PublishIn.ClientError`.
fn refuse_qos2(conn: &mut Conn) -> Result<(), HandlerError> {
    match conn.version {
        codec::Version::V5 => Err(HandlerError::QosNotSupported),
        codec::Version::V311 => Ok(()),
    }
}
