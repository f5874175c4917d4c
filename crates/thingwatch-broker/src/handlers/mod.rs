//! One handler per client→server packet (mosquitto's `handle_*.c`, mini-redis's `cmd/`), and
//! the dispatcher: the only `match` over packet kinds, and the only place that maps a
//! [`HandlerError`] to a v5 reason code, an AWS `disconnectReason` and a logged detail.
//!
//! Handlers parse (validate) then apply; they append encoded replies to the connection's
//! output buffer and never do I/O themselves.

pub(crate) mod connect;
mod disconnect;
mod pingreq;
mod puback;
pub(crate) mod publish;
pub(crate) mod subscribe;
mod unsubscribe;

use crate::codec::Inbound;
use crate::connection::Conn;
use thingwatch_events::DisconnectReason;

/// What the connection does after a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep reading.
    Continue,
    /// The client sent DISCONNECT; `send_will` for v5 reason 0x04.
    ClientDisconnect { send_will: bool },
}

/// Why a handler gives up on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HandlerError {
    /// Malformed packet (v5 0x81).
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// Protocol error (v5 0x82), e.g. a second CONNECT, QoS 2 flow packets.
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// Packet or payload over the AWS limit (v5 0x95).
    #[error("packet too large")]
    TooLarge,
    /// QoS 2 PUBLISH on an MQTT 5 connection (v5 0x9B, [MQTT-3.2.2-11]): AWS IoT does not
    /// support QoS 2 (a 3.1.1 QoS 2 PUBLISH is ignored instead, see `publish::refuse_qos2`).
    #[error("QoS 2 is not supported")]
    QosNotSupported,
    /// Topic name invalid or over AWS limits (v5 0x90).
    #[error("invalid topic name")]
    TopicInvalid,
    /// Topic alias 0 or above the maximum, or unknown (v5 0x94).
    #[error("invalid topic alias")]
    TopicAliasInvalid,
    /// Publish not authorized on a 3.1.1 connection (v5 answers with PUBACK 0x87 instead).
    #[error("not authorized")]
    NotAuthorized,
    /// A server-side failure (storage), v5 0x80.
    #[error("server error: {0}")]
    Server(&'static str),
}

impl HandlerError {
    /// `(v5 DISCONNECT reason code, AWS disconnectReason, log reason, log details)`.
    pub(crate) fn describe(self) -> (u8, DisconnectReason, &'static str, &'static str) {
        match self {
            HandlerError::Malformed(d) => {
                (0x81, DisconnectReason::ClientError, "MALFORMED_PACKET", d)
            }
            HandlerError::Protocol(d) => (0x82, DisconnectReason::ClientError, "PROTOCOL_ERROR", d),
            HandlerError::TooLarge => (
                0x95,
                DisconnectReason::ClientError,
                "PAYLOAD_LIMIT_EXCEEDED",
                "The payload exceeds the 128 KB limit",
            ),
            HandlerError::QosNotSupported => (
                0x9B,
                DisconnectReason::ClientError,
                subscribe::QOS_NOT_SUPPORTED,
                "QoS 2 is not supported",
            ),
            HandlerError::TopicInvalid => (
                0x90,
                DisconnectReason::ClientError,
                "INVALID_TOPIC",
                "The topic name is invalid or exceeds AWS IoT limits",
            ),
            HandlerError::TopicAliasInvalid => (
                0x94,
                DisconnectReason::ClientError,
                "INVALID_TOPIC_ALIAS",
                "The topic alias is invalid",
            ),
            HandlerError::NotAuthorized => (
                0x87,
                DisconnectReason::AuthError,
                "AUTHORIZATION_FAILURE",
                "Authorization Failure",
            ),
            HandlerError::Server(d) => (0x80, DisconnectReason::ServerError, "SERVER_ERROR", d),
        }
    }
}

/// Routes one packet of an established connection to its handler.
pub(crate) async fn dispatch(conn: &mut Conn, packet: Inbound) -> Result<Flow, HandlerError> {
    match packet {
        Inbound::Connect(_) => Err(HandlerError::Protocol("second CONNECT")),
        Inbound::Publish(p) => publish::handle(conn, p).await.map(|()| Flow::Continue),
        Inbound::Puback(id) => puback::handle(conn, id).map(|()| Flow::Continue),
        Inbound::Subscribe(id, entries) => subscribe::handle(conn, id, entries)
            .await
            .map(|()| Flow::Continue),
        Inbound::Unsubscribe(id, filters) => {
            unsubscribe::handle(conn, id, filters).map(|()| Flow::Continue)
        }
        Inbound::Pingreq => pingreq::handle(conn).map(|()| Flow::Continue),
        Inbound::Disconnect {
            reason,
            session_expiry,
        } => disconnect::handle(conn, reason, session_expiry),
        Inbound::Unsupported(what) => Err(HandlerError::Protocol(what)),
    }
}
