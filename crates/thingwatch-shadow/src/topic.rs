//! The reserved shadow MQTT topics: parsing request topics
//! (`$aws/things/{thing}/shadow[/name/{shadow}]/{get|update|delete}`) and building response
//! topics (`…/{op}/accepted|rejected`, `…/update/delta`, `…/update/documents`).
//!
//! Source: AWS IoT Developer Guide, *Device Shadow MQTT topics* (ShadowTopicPrefix
//! `$aws/things/thingName/shadow` for the classic shadow, `…/shadow/name/shadowName` for a
//! named one).

/// A shadow operation (the last level of a request topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShadowOp {
    /// `…/get`: GetThingShadow.
    Get,
    /// `…/update`: UpdateThingShadow.
    Update,
    /// `…/delete`: DeleteThingShadow.
    Delete,
}

impl ShadowOp {
    /// The topic level: `get`, `update` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShadowOp::Get => "get",
            ShadowOp::Update => "update",
            ShadowOp::Delete => "delete",
        }
    }

    /// The AWS IoT log event type and metric prefix: `GetThingShadow`, `UpdateThingShadow`,
    /// `DeleteThingShadow` (Developer Guide, *Device Shadow log entries*).
    pub fn event_type(self) -> &'static str {
        match self {
            ShadowOp::Get => "GetThingShadow",
            ShadowOp::Update => "UpdateThingShadow",
            ShadowOp::Delete => "DeleteThingShadow",
        }
    }

    fn parse(level: &str) -> Option<ShadowOp> {
        match level {
            "get" => Some(ShadowOp::Get),
            "update" => Some(ShadowOp::Update),
            "delete" => Some(ShadowOp::Delete),
            _ => None,
        }
    }
}

/// The kind of a response topic's last level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reply {
    /// `…/{op}/accepted`.
    Accepted,
    /// `…/{op}/rejected`.
    Rejected,
    /// `…/update/delta`.
    Delta,
    /// `…/update/documents`.
    Documents,
}

impl Reply {
    /// The topic level: `accepted`, `rejected`, `delta` or `documents`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reply::Accepted => "accepted",
            Reply::Rejected => "rejected",
            Reply::Delta => "delta",
            Reply::Documents => "documents",
        }
    }
}

/// A parsed shadow request topic. Names are not validated here (the service does, and
/// rejects invalid ones with 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShadowTopic<'a> {
    /// The thing name (non-empty).
    pub thing: &'a str,
    /// The shadow name for a named shadow; `None` for the classic shadow.
    pub shadow: Option<&'a str>,
    /// The requested operation.
    pub op: ShadowOp,
}

impl ShadowTopic<'_> {
    /// The response topic for `reply` to this request.
    pub fn response_topic(&self, reply: Reply) -> String {
        response_topic(self.thing, self.shadow, self.op, reply)
    }
}

/// Parses a shadow *request* topic: `$aws/things/{thing}/shadow/{get|update|delete}` or
/// `$aws/things/{thing}/shadow/name/{shadow}/{get|update|delete}`. Anything else — response
/// topics (`…/get/accepted`), other `$aws` topics, empty names, extra levels — is `None`.
pub fn parse_request_topic(topic: &str) -> Option<ShadowTopic<'_>> {
    let rest = topic.strip_prefix("$aws/things/")?;
    let mut levels = rest.split('/');
    let thing = levels.next().filter(|t| !t.is_empty())?;
    if levels.next()? != "shadow" {
        return None;
    }
    let first = levels.next()?;
    let (shadow, op) = if first == "name" {
        let shadow = levels.next().filter(|s| !s.is_empty())?;
        (Some(shadow), ShadowOp::parse(levels.next()?)?)
    } else {
        (None, ShadowOp::parse(first)?)
    };
    if levels.next().is_some() {
        return None;
    }
    Some(ShadowTopic { thing, shadow, op })
}

/// The topic prefix of a shadow: `$aws/things/{thing}/shadow` or
/// `$aws/things/{thing}/shadow/name/{shadow}`.
pub fn topic_prefix(thing: &str, shadow: Option<&str>) -> String {
    match shadow {
        None => format!("$aws/things/{thing}/shadow"),
        Some(shadow) => format!("$aws/things/{thing}/shadow/name/{shadow}"),
    }
}

/// The request topic of `op` on a shadow, e.g. `$aws/things/t/shadow/name/s/update`.
pub fn request_topic(thing: &str, shadow: Option<&str>, op: ShadowOp) -> String {
    format!("{}/{}", topic_prefix(thing, shadow), op.as_str())
}

/// A response topic, e.g. `$aws/things/t/shadow/update/delta` or
/// `$aws/things/t/shadow/name/s/get/rejected`.
pub fn response_topic(thing: &str, shadow: Option<&str>, op: ShadowOp, reply: Reply) -> String {
    format!(
        "{}/{}/{}",
        topic_prefix(thing, shadow),
        op.as_str(),
        reply.as_str()
    )
}
