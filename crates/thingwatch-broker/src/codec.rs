//! The boundary to the MQTT packet library (`mqtt-protocol-core`, see
//! `docs/decisions/0001-mqtt-codec.md`): framing with the packet-size limit enforced before
//! buffering, version detection from the CONNECT, decoding into the broker's version-neutral
//! [`Inbound`] packets, and encoding of every server→client packet for either version.
//!
//! **Architecture Invariant:** no I/O here; bytes in, packets out, and the reverse. The rest of
//! the broker never names a `mqtt-protocol-core` type except [`Property`] and [`ArcPayload`].

pub use mqtt_protocol_core::mqtt::ArcPayload;
use mqtt_protocol_core::mqtt::common::Cursor;
use mqtt_protocol_core::mqtt::connection::{
    PacketBuildResult, PacketBuilder, PacketData, RawPacket,
};
pub use mqtt_protocol_core::mqtt::packet::Property;
use mqtt_protocol_core::mqtt::packet::{
    AssignedClientIdentifier, MaximumPacketSize, MaximumQos, MessageExpiryInterval, ReceiveMaximum,
    RetainAvailable, ServerKeepAlive, SessionExpiryInterval, SharedSubscriptionAvailable,
    SubscriptionIdentifierAvailable, TopicAliasMaximum, WildcardSubscriptionAvailable,
};
use mqtt_protocol_core::mqtt::packet::{Qos, SubEntry, v3_1_1, v5_0};
use mqtt_protocol_core::mqtt::result_code::{
    ConnectReasonCode, ConnectReturnCode, DisconnectReasonCode, MqttError, PubackReasonCode,
    SubackReasonCode, SubackReturnCode, UnsubackReasonCode,
};

/// MQTT protocol version of a connection, from the CONNECT's protocol level byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

impl Version {
    /// The CONNECT protocol level byte: 4 for 3.1.1, 5 for 5.0 ([MQTT-3.1.2.2]).
    pub fn level(self) -> u8 {
        match self {
            Version::V311 => 4,
            Version::V5 => 5,
        }
    }

    /// The version of a protocol level byte (`None` for anything but 4 and 5).
    pub fn from_level(level: u8) -> Option<Version> {
        match level {
            4 => Some(Version::V311),
            5 => Some(Version::V5),
            _ => None,
        }
    }
}

/// A decoding failure, carrying the v5 reason code it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a well-formed packet (0x81).
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// Well-formed but not allowed here (0x82).
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// Remaining Length over the maximum packet size (0x95).
    #[error("packet too large")]
    TooLarge,
    /// CONNECT with a protocol level other than 4 or 5 (v3 CONNACK 0x01, v5 0x84).
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
}

fn lib_err(e: MqttError) -> DecodeError {
    match e {
        MqttError::PacketTooLarge => DecodeError::TooLarge,
        MqttError::ProtocolError => DecodeError::Protocol("rejected by the packet parser"),
        _ => DecodeError::Malformed("rejected by the packet parser"),
    }
}

/// Splits a byte stream into raw packets; refuses a packet larger than `max_packet` as soon as
/// its Remaining Length is known.
pub struct Framer {
    builder: PacketBuilder,
}

impl Framer {
    /// A framer accepting packets of at most `max_packet` bytes in total.
    pub fn new(max_packet: u32) -> Self {
        Framer {
            builder: PacketBuilder::with_maximum_packet_size(max_packet),
        }
    }

    /// Feeds `bytes`, appending every completed packet to `out`.
    ///
    /// # Errors
    /// [`DecodeError::TooLarge`] or [`DecodeError::Malformed`] (bad Remaining Length); the
    /// stream cannot be resynchronised after either.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<RawPacket>) -> Result<(), DecodeError> {
        let mut cur = Cursor::new(bytes);
        while (cur.position() as usize) < bytes.len() {
            match self.builder.feed(&mut cur) {
                PacketBuildResult::Complete(p) => out.push(p),
                PacketBuildResult::Incomplete => {}
                PacketBuildResult::Error(e) => return Err(lib_err(e)),
            }
        }
        Ok(())
    }
}

/// A decoded CONNECT.
#[derive(Debug, Clone)]
pub struct ConnectPacket {
    /// Protocol version.
    pub version: Version,
    /// Client identifier (may be empty).
    pub client_id: String,
    /// 3.1.1 cleanSession / v5 Clean Start.
    pub clean_start: bool,
    /// Requested keep-alive, seconds.
    pub keep_alive: u16,
    /// v5 Session Expiry Interval (seconds), absent = 0.
    pub session_expiry: u32,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Vec<u8>>,
    /// The will message, if any.
    pub will: Option<WillPacket>,
}

/// The will of a CONNECT.
#[derive(Debug, Clone)]
pub struct WillPacket {
    /// Will topic.
    pub topic: String,
    /// Will payload.
    pub payload: Vec<u8>,
    /// Will QoS (0, 1 or 2 as sent).
    pub qos: u8,
    /// Will retain flag.
    pub retain: bool,
    /// v5 Will Delay Interval, seconds.
    pub delay_secs: u32,
    /// v5 Message Expiry Interval of the will, seconds, as received.
    pub message_expiry: Option<u32>,
    /// v5 will properties to forward (payload format, content type, …; Will Delay Interval
    /// and Message Expiry Interval removed).
    pub props: Vec<Property>,
}

/// A decoded PUBLISH.
#[derive(Debug, Clone)]
pub struct PublishPacket {
    /// Topic (empty when a v5 topic alias stands for it).
    pub topic: String,
    /// Payload, sharing the received packet's buffer.
    pub payload: ArcPayload,
    /// QoS as sent (2 is refused by the handler, 3 by the decoder).
    pub qos: u8,
    /// RETAIN flag.
    pub retain: bool,
    /// DUP flag.
    pub dup: bool,
    /// Packet identifier (QoS > 0).
    pub packet_id: Option<u16>,
    /// v5 Topic Alias.
    pub topic_alias: Option<u16>,
    /// v5 Message Expiry Interval as received, seconds ([MQTT-3.3.2.3.3]); not clamped here.
    pub message_expiry: Option<u32>,
    /// v5 properties to forward (Topic Alias, Subscription Identifier and Message Expiry
    /// Interval removed: the broker writes its own remaining interval on delivery).
    pub props: Vec<Property>,
}

/// One SUBSCRIBE entry.
#[derive(Debug, Clone)]
pub struct SubscribeEntry {
    /// The topic filter as sent.
    pub filter: String,
    /// Requested QoS.
    pub qos: u8,
    /// v5 No Local.
    pub no_local: bool,
    /// v5 Retain As Published.
    pub retain_as_published: bool,
    /// v5 Retain Handling (0, 1, 2).
    pub retain_handling: u8,
}

/// A decoded client→server packet.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// CONNECT.
    Connect(Box<ConnectPacket>),
    /// PUBLISH.
    Publish(PublishPacket),
    /// PUBACK for an outbound QoS 1 message.
    Puback(u16),
    /// SUBSCRIBE: packet id and entries.
    Subscribe(u16, Vec<SubscribeEntry>),
    /// UNSUBSCRIBE: packet id and filters.
    Unsubscribe(u16, Vec<String>),
    /// PINGREQ.
    Pingreq,
    /// DISCONNECT: v5 reason code and new Session Expiry Interval, if sent.
    Disconnect {
        reason: u8,
        session_expiry: Option<u32>,
    },
    /// PUBREC/PUBREL/PUBCOMP/AUTH: not supported by AWS IoT (QoS 2, enhanced auth).
    Unsupported(&'static str),
}

/// The protocol level of a raw CONNECT body (`None` if it is not a CONNECT with a readable
/// header), checking the protocol name.
///
/// # Errors
/// [`DecodeError`] for a wrong first packet or protocol name.
pub fn detect_version(raw: &RawPacket) -> Result<Version, DecodeError> {
    if raw.packet_type() != 1 {
        return Err(DecodeError::Protocol("first packet is not CONNECT"));
    }
    let d = raw.data_as_slice();
    if d.len() < 7 {
        return Err(DecodeError::Malformed("truncated CONNECT"));
    }
    let name_len = u16::from_be_bytes([d[0], d[1]]) as usize;
    let name = d
        .get(2..2 + name_len)
        .ok_or(DecodeError::Malformed("truncated protocol name"))?;
    let level = *d
        .get(2 + name_len)
        .ok_or(DecodeError::Malformed("truncated CONNECT"))?;
    match (name, level) {
        (b"MQTT", 4) => Ok(Version::V311),
        (b"MQTT", 5) => Ok(Version::V5),
        (b"MQTT", l) | (b"MQIsdp", l) => Err(DecodeError::UnsupportedVersion(l)),
        _ => Err(DecodeError::Protocol("bad protocol name")),
    }
}

fn qos_u8(q: Qos) -> u8 {
    match q {
        Qos::AtMostOnce => 0,
        Qos::AtLeastOnce => 1,
        Qos::ExactlyOnce => 2,
    }
}

fn qos_of(q: u8) -> Qos {
    match q {
        0 => Qos::AtMostOnce,
        1 => Qos::AtLeastOnce,
        _ => Qos::ExactlyOnce,
    }
}

/// Required fixed-header flags per packet type ([MQTT-2.2.2-1]): PUBLISH is free (QoS 3
/// checked separately), SUBSCRIBE/UNSUBSCRIBE/PUBREL need 0b0010, everything else 0.
fn check_flags(raw: &RawPacket) -> Result<(), DecodeError> {
    let want = match raw.packet_type() {
        3 => {
            return if raw.flags() & 0b0110 == 0b0110 {
                Err(DecodeError::Malformed("PUBLISH QoS 3"))
            } else {
                Ok(())
            };
        }
        6 | 8 | 10 => 0b0010,
        _ => 0,
    };
    if raw.flags() != want {
        Err(DecodeError::Malformed("reserved fixed-header flags"))
    } else {
        Ok(())
    }
}

fn sub_entry(e: &SubEntry) -> SubscribeEntry {
    let o = e.sub_opts();
    SubscribeEntry {
        filter: e.topic_filter().to_owned(),
        qos: qos_u8(o.qos()),
        no_local: o.nl(),
        retain_as_published: o.rap(),
        retain_handling: o.rh() as u8,
    }
}

/// `(topic alias, message expiry interval, properties to forward)`.
fn split_publish_props(props: &[Property]) -> (Option<u16>, Option<u32>, Vec<Property>) {
    let mut alias = None;
    let mut expiry = None;
    let mut rest = Vec::new();
    for p in props {
        match p {
            Property::TopicAlias(a) => alias = Some(a.val()),
            Property::MessageExpiryInterval(e) => expiry = Some(e.val()),
            Property::SubscriptionIdentifier(_) => {}
            other => rest.push(other.clone()),
        }
    }
    (alias, expiry, rest)
}

/// The MQTT 5 PUBLISH properties a server component reads from a message or sets on one it
/// publishes ([MQTT-3.3.2.3]): the rules engine's `get_mqtt_property()` and a republish
/// action's `headers`. Topic alias, message expiry and subscription identifiers are not here
/// (the broker handles them itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishProperties {
    /// *Payload Format Indicator* ([MQTT-3.3.2.3.2]): `Some(true)` = UTF-8 data,
    /// `Some(false)` = unspecified bytes.
    pub payload_format_utf8: Option<bool>,
    /// *Content Type* ([MQTT-3.3.2.3.9]).
    pub content_type: Option<String>,
    /// *Response Topic* ([MQTT-3.3.2.3.5]).
    pub response_topic: Option<String>,
    /// *Correlation Data* ([MQTT-3.3.2.3.6]), raw bytes.
    pub correlation_data: Option<Vec<u8>>,
    /// *User Property* pairs ([MQTT-3.3.2.3.7]), in order; a name may repeat.
    pub user_properties: Vec<(String, String)>,
}

impl PublishProperties {
    /// Reads the properties a PUBLISH carried.
    pub fn from_props(props: &[Property]) -> PublishProperties {
        let mut out = PublishProperties::default();
        for p in props {
            match p {
                Property::PayloadFormatIndicator(v) => out.payload_format_utf8 = Some(v.val() == 1),
                Property::ContentType(v) => out.content_type = Some(v.val().to_owned()),
                Property::ResponseTopic(v) => out.response_topic = Some(v.val().to_owned()),
                Property::CorrelationData(v) => out.correlation_data = Some(v.val().to_vec()),
                Property::UserProperty(v) => out
                    .user_properties
                    .push((v.key().to_owned(), v.val().to_owned())),
                _ => {}
            }
        }
        out
    }

    /// The wire properties; a value the codec refuses (a string above 65,535 bytes) is left
    /// out.
    pub fn to_props(&self) -> Vec<Property> {
        use mqtt_protocol_core::mqtt::packet::{
            ContentType, CorrelationData, PayloadFormat, PayloadFormatIndicator, ResponseTopic,
            UserProperty,
        };
        let mut out = Vec::new();
        if let Some(utf8) = self.payload_format_utf8 {
            let f = if utf8 {
                PayloadFormat::String
            } else {
                PayloadFormat::Binary
            };
            out.extend(
                PayloadFormatIndicator::new(f)
                    .ok()
                    .map(Property::PayloadFormatIndicator),
            );
        }
        if let Some(c) = &self.content_type {
            out.extend(ContentType::new(c.as_str()).ok().map(Property::ContentType));
        }
        if let Some(t) = &self.response_topic {
            out.extend(
                ResponseTopic::new(t.as_str())
                    .ok()
                    .map(Property::ResponseTopic),
            );
        }
        if let Some(d) = &self.correlation_data {
            out.extend(CorrelationData::new(d).ok().map(Property::CorrelationData));
        }
        for (k, v) in &self.user_properties {
            out.extend(
                UserProperty::new(k.as_str(), v.as_str())
                    .ok()
                    .map(Property::UserProperty),
            );
        }
        out
    }
}

/// A v5 *Message Expiry Interval* property of `secs` seconds (for a delivery: the remaining
/// interval, [MQTT-3.3.2-6]).
pub fn message_expiry_property(secs: u32) -> Option<Property> {
    Some(Property::MessageExpiryInterval(
        MessageExpiryInterval::new(secs).ok()?,
    ))
}

/// Decodes one raw packet of an established connection (or its CONNECT).
///
/// # Errors
/// [`DecodeError`] with the reason the connection is closed for.
pub fn decode(version: Version, raw: RawPacket) -> Result<Inbound, DecodeError> {
    check_flags(&raw)?;
    let ty = raw.packet_type();
    let flags = raw.flags();
    match (ty, version) {
        (1, Version::V311) => {
            let c = raw.parse_exact(v3_1_1::Connect::parse).map_err(lib_err)?;
            Ok(Inbound::Connect(Box::new(ConnectPacket {
                version,
                client_id: c.client_id().to_owned(),
                clean_start: c.clean_start(),
                keep_alive: c.keep_alive(),
                session_expiry: 0,
                username: c.user_name().map(str::to_owned),
                password: c.password().map(<[u8]>::to_vec),
                will: c.will_flag().then(|| WillPacket {
                    topic: c.will_topic().unwrap_or_default().to_owned(),
                    payload: c.will_payload().unwrap_or_default().to_vec(),
                    qos: qos_u8(c.will_qos()),
                    retain: c.will_retain(),
                    delay_secs: 0,
                    message_expiry: None,
                    props: Vec::new(),
                }),
            })))
        }
        (1, Version::V5) => {
            let c = raw.parse_exact(v5_0::Connect::parse).map_err(lib_err)?;
            let session_expiry = c
                .props()
                .iter()
                .find_map(|p| {
                    if let Property::SessionExpiryInterval(v) = p {
                        Some(v.val())
                    } else {
                        None
                    }
                })
                .unwrap_or(0);
            let will = c.will_flag().then(|| {
                let mut delay_secs = 0;
                let mut message_expiry = None;
                let mut props = Vec::new();
                for p in c.will_props() {
                    match p {
                        Property::WillDelayInterval(d) => delay_secs = d.val(),
                        Property::MessageExpiryInterval(e) => message_expiry = Some(e.val()),
                        other => props.push(other.clone()),
                    }
                }
                WillPacket {
                    topic: c.will_topic().unwrap_or_default().to_owned(),
                    payload: c.will_payload().unwrap_or_default().to_vec(),
                    qos: qos_u8(c.will_qos()),
                    retain: c.will_retain(),
                    delay_secs,
                    message_expiry,
                    props,
                }
            });
            Ok(Inbound::Connect(Box::new(ConnectPacket {
                version,
                client_id: c.client_id().to_owned(),
                clean_start: c.clean_start(),
                keep_alive: c.keep_alive(),
                session_expiry,
                username: c.user_name().map(str::to_owned),
                password: c.password().map(<[u8]>::to_vec),
                will,
            })))
        }
        (3, _) => {
            let arc = match raw.data {
                PacketData::Publish(a) => a,
                PacketData::Normal(v) => v.into_boxed_slice().into(),
            };
            let len = arc.len();
            let (
                topic,
                payload,
                qos,
                retain,
                dup,
                packet_id,
                (topic_alias, message_expiry, props),
                consumed,
            ) = match version {
                Version::V311 => {
                    let (p, n) = v3_1_1::Publish::parse(flags, arc).map_err(lib_err)?;
                    (
                        p.topic_name().to_owned(),
                        p.payload().clone(),
                        qos_u8(p.qos()),
                        p.retain(),
                        p.dup(),
                        p.packet_id(),
                        (None, None, Vec::new()),
                        n,
                    )
                }
                Version::V5 => {
                    let (p, n) = v5_0::Publish::parse(flags, arc).map_err(lib_err)?;
                    let props = split_publish_props(p.props());
                    (
                        p.topic_name().to_owned(),
                        p.payload().clone(),
                        qos_u8(p.qos()),
                        p.retain(),
                        p.dup(),
                        p.packet_id(),
                        props,
                        n,
                    )
                }
            };
            if consumed != len {
                return Err(DecodeError::Malformed("trailing bytes in PUBLISH"));
            }
            if qos > 0 && packet_id.is_none_or(|id| id == 0) {
                return Err(DecodeError::Malformed("PUBLISH without packet identifier"));
            }
            Ok(Inbound::Publish(PublishPacket {
                topic,
                payload,
                qos,
                retain,
                dup,
                packet_id,
                topic_alias,
                message_expiry,
                props,
            }))
        }
        (4, Version::V311) => Ok(Inbound::Puback(
            raw.parse_exact(v3_1_1::Puback::parse)
                .map_err(lib_err)?
                .packet_id(),
        )),
        (4, Version::V5) => Ok(Inbound::Puback(
            raw.parse_exact(v5_0::Puback::parse)
                .map_err(lib_err)?
                .packet_id(),
        )),
        (8, Version::V311) => {
            let s = raw.parse_exact(v3_1_1::Subscribe::parse).map_err(lib_err)?;
            if s.entries().is_empty() {
                return Err(DecodeError::Protocol("SUBSCRIBE without filters"));
            }
            Ok(Inbound::Subscribe(
                s.packet_id(),
                s.entries().iter().map(sub_entry).collect(),
            ))
        }
        (8, Version::V5) => {
            let s = raw.parse_exact(v5_0::Subscribe::parse).map_err(lib_err)?;
            if s.entries().is_empty() {
                return Err(DecodeError::Protocol("SUBSCRIBE without filters"));
            }
            Ok(Inbound::Subscribe(
                s.packet_id(),
                s.entries().iter().map(sub_entry).collect(),
            ))
        }
        (10, Version::V311) => {
            let u = raw
                .parse_exact(v3_1_1::Unsubscribe::parse)
                .map_err(lib_err)?;
            Ok(Inbound::Unsubscribe(
                u.packet_id(),
                u.entries().iter().map(|s| s.as_str().to_owned()).collect(),
            ))
        }
        (10, Version::V5) => {
            let u = raw.parse_exact(v5_0::Unsubscribe::parse).map_err(lib_err)?;
            Ok(Inbound::Unsubscribe(
                u.packet_id(),
                u.entries().iter().map(|s| s.as_str().to_owned()).collect(),
            ))
        }
        (12, _) => {
            if raw.remaining_length() != 0 {
                return Err(DecodeError::Malformed("PINGREQ with a body"));
            }
            Ok(Inbound::Pingreq)
        }
        (14, Version::V311) => {
            if raw.remaining_length() != 0 {
                return Err(DecodeError::Malformed("DISCONNECT with a body"));
            }
            Ok(Inbound::Disconnect {
                reason: 0,
                session_expiry: None,
            })
        }
        (14, Version::V5) => {
            let d = raw.parse_exact(v5_0::Disconnect::parse).map_err(lib_err)?;
            let session_expiry = d.props().iter().flatten().find_map(|p| {
                if let Property::SessionExpiryInterval(v) = p {
                    Some(v.val())
                } else {
                    None
                }
            });
            Ok(Inbound::Disconnect {
                reason: d.reason_code().map(|c| c as u8).unwrap_or(0),
                session_expiry,
            })
        }
        (5, _) => Ok(Inbound::Unsupported("PUBREC")),
        (6, _) => Ok(Inbound::Unsupported("PUBREL")),
        (7, _) => Ok(Inbound::Unsupported("PUBCOMP")),
        (15, Version::V5) => Ok(Inbound::Unsupported("AUTH")),
        _ => Err(DecodeError::Protocol("packet type not sent by clients")),
    }
}

/// A payload owning `bytes`.
pub fn payload_from_vec(bytes: Vec<u8>) -> ArcPayload {
    let len = bytes.len();
    ArcPayload::new(std::sync::Arc::from(bytes.into_boxed_slice()), 0, len)
}

/// What the v5 CONNACK advertises (AWS IoT's MQTT 5 limits).
#[derive(Debug, Clone, Default)]
pub struct ConnackInfo {
    /// Server Keep Alive, when it differs from the requested keep-alive.
    pub server_keep_alive: Option<u16>,
    /// Assigned Client Identifier for an empty client id.
    pub assigned_client_id: Option<String>,
    /// Session Expiry Interval granted, when it differs from the request.
    pub session_expiry: Option<u32>,
}

// Encoders. A failure to build is a bug in the broker (values are validated before), so
// encoders return `Option` and the caller closes the connection on `None`.

/// CONNACK. `code` is the v5 reason code; for 3.1.1 it is mapped to a return code.
pub fn connack(
    version: Version,
    session_present: bool,
    code: u8,
    info: &ConnackInfo,
) -> Option<Vec<u8>> {
    match version {
        Version::V311 => {
            let rc = match code {
                0 => ConnectReturnCode::Accepted,
                0x84 => ConnectReturnCode::UnacceptableProtocolVersion,
                0x85 => ConnectReturnCode::IdentifierRejected,
                0x86 => ConnectReturnCode::BadUserNameOrPassword,
                0x87 => ConnectReturnCode::NotAuthorized,
                _ => ConnectReturnCode::ServerUnavailable,
            };
            let p = v3_1_1::Connack::builder()
                .session_present(session_present && code == 0)
                .return_code(rc)
                .build()
                .ok()?;
            Some(p.to_continuous_buffer())
        }
        Version::V5 => {
            let rc =
                ConnectReasonCode::try_from(code).unwrap_or(ConnectReasonCode::UnspecifiedError);
            let mut props = Vec::new();
            if code == 0 {
                props.push(Property::MaximumQos(MaximumQos::new(1).ok()?));
                props.push(Property::RetainAvailable(RetainAvailable::new(1).ok()?));
                props.push(Property::MaximumPacketSize(
                    MaximumPacketSize::new(crate::limits::MAX_PACKET_BYTES).ok()?,
                ));
                props.push(Property::TopicAliasMaximum(
                    TopicAliasMaximum::new(crate::limits::TOPIC_ALIAS_MAX).ok()?,
                ));
                props.push(Property::ReceiveMaximum(
                    ReceiveMaximum::new(crate::limits::MAX_INFLIGHT as u16).ok()?,
                ));
                props.push(Property::WildcardSubscriptionAvailable(
                    WildcardSubscriptionAvailable::new(1).ok()?,
                ));
                props.push(Property::SharedSubscriptionAvailable(
                    SharedSubscriptionAvailable::new(1).ok()?,
                ));
                props.push(Property::SubscriptionIdentifierAvailable(
                    SubscriptionIdentifierAvailable::new(0).ok()?,
                ));
                if let Some(ka) = info.server_keep_alive {
                    props.push(Property::ServerKeepAlive(ServerKeepAlive::new(ka).ok()?));
                }
                if let Some(id) = &info.assigned_client_id {
                    props.push(Property::AssignedClientIdentifier(
                        AssignedClientIdentifier::new(id.as_str()).ok()?,
                    ));
                }
                if let Some(se) = info.session_expiry {
                    props.push(Property::SessionExpiryInterval(
                        SessionExpiryInterval::new(se).ok()?,
                    ));
                }
            }
            let p = v5_0::Connack::builder()
                .session_present(session_present && code == 0)
                .reason_code(rc)
                .props(props)
                .build()
                .ok()?;
            Some(p.to_continuous_buffer())
        }
    }
}

/// PUBLISH to a subscriber, appended to `out` (the connection's output buffer) without an
/// intermediate packet buffer. `false` when the codec refused the packet (a topic with a
/// wildcard or over 65,535 bytes: the broker never routes such a topic).
#[allow(clippy::too_many_arguments)]
pub fn publish_into(
    out: &mut Vec<u8>,
    version: Version,
    topic: &str,
    payload: &ArcPayload,
    qos: u8,
    retain: bool,
    dup: bool,
    packet_id: Option<u16>,
    props: &[Property],
) -> bool {
    fn append(out: &mut Vec<u8>, size: usize, bufs: Vec<std::io::IoSlice<'_>>) {
        out.reserve(size);
        for b in bufs {
            out.extend_from_slice(&b);
        }
    }
    match version {
        Version::V311 => {
            let Ok(mut b) = v3_1_1::Publish::builder().topic_name(topic) else {
                return false;
            };
            b = b.qos(qos_of(qos)).retain(retain).dup(dup);
            if let Some(id) = packet_id {
                b = b.packet_id(id);
            }
            let Ok(p) = b.payload(payload.clone()).build() else {
                return false;
            };
            append(out, p.size(), p.to_buffers());
        }
        Version::V5 => {
            let Ok(mut b) = v5_0::Publish::builder().topic_name(topic) else {
                return false;
            };
            b = b.qos(qos_of(qos)).retain(retain).dup(dup);
            if let Some(id) = packet_id {
                b = b.packet_id(id);
            }
            if !props.is_empty() {
                b = b.props(props.to_vec());
            }
            let Ok(p) = b.payload(payload.clone()).build() else {
                return false;
            };
            append(out, p.size(), p.to_buffers());
        }
    }
    true
}

/// PUBACK with a v5 reason code (ignored for 3.1.1).
pub fn puback(version: Version, packet_id: u16, code: u8) -> Option<Vec<u8>> {
    match version {
        Version::V311 => Some(
            v3_1_1::Puback::builder()
                .packet_id(packet_id)
                .build()
                .ok()?
                .to_continuous_buffer(),
        ),
        Version::V5 => {
            let mut b = v5_0::Puback::builder().packet_id(packet_id);
            if code != 0 {
                b = b.reason_code(
                    PubackReasonCode::try_from(code).unwrap_or(PubackReasonCode::UnspecifiedError),
                );
            }
            Some(b.build().ok()?.to_continuous_buffer())
        }
    }
}

/// SUBACK; `codes` are v5 reason codes (granted QoS or failure), mapped to 0x80 for 3.1.1.
pub fn suback(version: Version, packet_id: u16, codes: &[u8]) -> Option<Vec<u8>> {
    match version {
        Version::V311 => {
            let rc = codes
                .iter()
                .map(|c| match c {
                    0 => SubackReturnCode::SuccessMaximumQos0,
                    1 => SubackReturnCode::SuccessMaximumQos1,
                    _ => SubackReturnCode::Failure,
                })
                .collect();
            Some(
                v3_1_1::Suback::builder()
                    .packet_id(packet_id)
                    .return_codes(rc)
                    .build()
                    .ok()?
                    .to_continuous_buffer(),
            )
        }
        Version::V5 => {
            let rc = codes
                .iter()
                .map(|c| {
                    SubackReasonCode::try_from(*c).unwrap_or(SubackReasonCode::UnspecifiedError)
                })
                .collect();
            Some(
                v5_0::Suback::builder()
                    .packet_id(packet_id)
                    .reason_codes(rc)
                    .build()
                    .ok()?
                    .to_continuous_buffer(),
            )
        }
    }
}

/// UNSUBACK; `codes` are v5 reason codes (absent for 3.1.1).
pub fn unsuback(version: Version, packet_id: u16, codes: &[u8]) -> Option<Vec<u8>> {
    match version {
        Version::V311 => Some(
            v3_1_1::Unsuback::builder()
                .packet_id(packet_id)
                .build()
                .ok()?
                .to_continuous_buffer(),
        ),
        Version::V5 => {
            let rc = codes
                .iter()
                .map(|c| {
                    UnsubackReasonCode::try_from(*c).unwrap_or(UnsubackReasonCode::UnspecifiedError)
                })
                .collect();
            Some(
                v5_0::Unsuback::builder()
                    .packet_id(packet_id)
                    .reason_codes(rc)
                    .build()
                    .ok()?
                    .to_continuous_buffer(),
            )
        }
    }
}

/// PINGRESP.
pub fn pingresp(version: Version) -> Option<Vec<u8>> {
    match version {
        Version::V311 => Some(v3_1_1::Pingresp::new().to_continuous_buffer()),
        Version::V5 => Some(v5_0::Pingresp::new().to_continuous_buffer()),
    }
}

/// Server DISCONNECT (v5 only; 3.1.1 has none, the server just closes).
pub fn disconnect(version: Version, code: u8) -> Option<Vec<u8>> {
    match version {
        Version::V311 => None,
        Version::V5 => {
            let rc = DisconnectReasonCode::try_from(code)
                .unwrap_or(DisconnectReasonCode::UnspecifiedError);
            Some(
                v5_0::Disconnect::builder()
                    .reason_code(rc)
                    .build()
                    .ok()?
                    .to_continuous_buffer(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: &[u8]) -> Result<Vec<RawPacket>, DecodeError> {
        let mut f = Framer::new(1024);
        let mut out = Vec::new();
        f.feed(bytes, &mut out)?;
        Ok(out)
    }

    #[test]
    fn detects_both_versions_and_rejects_others() {
        let v4 = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 0];
        let v5 = [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 2, 0, 60, 0, 0, 0];
        let v3 = [
            0x10, 14, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 2, 0, 60, 0, 0,
        ];
        let bad = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'X', 4, 2, 0, 60, 0, 0];
        assert_eq!(detect_version(&frame(&v4).unwrap()[0]), Ok(Version::V311));
        assert_eq!(detect_version(&frame(&v5).unwrap()[0]), Ok(Version::V5));
        assert_eq!(
            detect_version(&frame(&v3).unwrap()[0]),
            Err(DecodeError::UnsupportedVersion(3))
        );
        assert!(matches!(
            detect_version(&frame(&bad).unwrap()[0]),
            Err(DecodeError::Protocol(_))
        ));
        let Ok(Inbound::Connect(c)) = decode(Version::V5, frame(&v5).unwrap().remove(0)) else {
            panic!()
        };
        assert_eq!(
            (c.clean_start, c.keep_alive, c.client_id.as_str()),
            (true, 60, "")
        );
    }

    #[test]
    fn size_limit_before_body() {
        // Remaining Length 2000 > 1024: refused after the length bytes alone.
        assert_eq!(
            frame(&[0x30, 0xD0, 0x0F]).err(),
            Some(DecodeError::TooLarge)
        );
        // Five length bytes.
        assert!(matches!(
            frame(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn reserved_flags_and_qos3() {
        let sub_bad_flags = [0x80, 6, 0, 1, 0, 1, b'a', 0];
        assert!(matches!(
            decode(Version::V311, frame(&sub_bad_flags).unwrap().remove(0)),
            Err(DecodeError::Malformed(_))
        ));
        let pub_qos3 = [0x36, 5, 0, 1, b'a', 0, 1];
        assert!(matches!(
            decode(Version::V311, frame(&pub_qos3).unwrap().remove(0)),
            Err(DecodeError::Malformed(_))
        ));
        let ping_flags = [0xC1, 0];
        assert!(decode(Version::V311, frame(&ping_flags).unwrap().remove(0)).is_err());
    }

    #[test]
    fn publish_roundtrip_both_versions() {
        let payload = ArcPayload::new(std::sync::Arc::from(&b"hello"[..]), 0, 5);
        for v in [Version::V311, Version::V5] {
            // Appended after what the buffer already holds, as in a connection's output.
            let mut out = vec![0xAA];
            assert!(publish_into(
                &mut out,
                v,
                "a/b",
                &payload,
                1,
                true,
                false,
                Some(7),
                &[]
            ));
            assert_eq!(out[0], 0xAA);
            let bytes = out.split_off(1);
            let Ok(Inbound::Publish(p)) = decode(v, frame(&bytes).unwrap().remove(0)) else {
                panic!()
            };
            assert_eq!(
                (
                    p.topic.as_str(),
                    p.payload.as_slice(),
                    p.qos,
                    p.retain,
                    p.packet_id
                ),
                ("a/b", &b"hello"[..], 1, true, Some(7))
            );
        }
        // A topic the codec refuses appends nothing.
        let mut out = Vec::new();
        assert!(!publish_into(
            &mut out,
            Version::V311,
            "a/#",
            &payload,
            0,
            false,
            false,
            None,
            &[]
        ));
        assert!(out.is_empty());
    }
}
