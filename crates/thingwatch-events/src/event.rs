//! The event vocabulary shared by every component: [`EventType`], [`Status`], [`Failure`] and
//! the [`IotLogEvent`] trait each typed event implements, plus the encoder that produces the
//! exact AWS JSON entry ([`encode`]).
//!
//! Source: AWS IoT Developer Guide, *CloudWatch AWS IoT log entries* (`cwl-format`): common
//! attributes `timestamp` (`YYYY-MM-DD HH:MM:SS.mmm`, UTC here), `logLevel`, `traceId`,
//! `accountId`, `status`, `eventType`, then the event's own attributes.

use crate::json::JsonFields;
use crate::level::LogLevel;
use crate::trace::TraceId;
use serde::Serialize;
#[cfg(test)]
use serde::ser::SerializeMap;
use serde::ser::Serializer;

/// Every AWS IoT v2 `eventType` Thingwatch emits.
///
/// The discriminant indexes per-event-type tables (level caches, configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EventType {
    /// `Connect`
    Connect = 0,
    /// `Disconnect`
    Disconnect,
    /// `Subscribe`
    Subscribe,
    /// `Unsubscribe`
    Unsubscribe,
    /// `Publish-In`
    PublishIn,
    /// `Publish-Out`
    PublishOut,
    /// `Queued`
    Queued,
    /// `GetThingShadow` (Device Shadow service)
    GetThingShadow,
    /// `UpdateThingShadow` (Device Shadow service)
    UpdateThingShadow,
    /// `DeleteThingShadow` (Device Shadow service)
    DeleteThingShadow,
    /// `RuleMatch` (rules engine)
    RuleMatch,
    /// `StartingRuleExecution` (rules engine)
    StartingRuleExecution,
    /// `RuleExecution` (rules engine)
    RuleExecution,
    /// `RuleNotFound` (rules engine, Basic Ingest)
    RuleNotFound,
    /// `RuleMessageThrottled` (rules engine)
    RuleMessageThrottled,
    /// `FunctionExecution` (rules engine, external SQL functions)
    FunctionExecution,
    /// `GetPendingJobExecution` (Jobs device API)
    GetPendingJobExecution,
    /// `DescribeJobExecution` (Jobs device API)
    DescribeJobExecution,
    /// `StartNextPendingJobExecution` (Jobs device API)
    StartNextPendingJobExecution,
    /// `UpdateJobExecution` (Jobs device API)
    UpdateJobExecution,
    /// `ReportFinalJobExecutionCount` (a job completed)
    ReportFinalJobExecutionCount,
}

impl EventType {
    /// Number of event types (size of per-type tables).
    pub const COUNT: usize = 21;

    /// Every event type, in discriminant order.
    pub const ALL: [EventType; EventType::COUNT] = [
        EventType::Connect,
        EventType::Disconnect,
        EventType::Subscribe,
        EventType::Unsubscribe,
        EventType::PublishIn,
        EventType::PublishOut,
        EventType::Queued,
        EventType::GetThingShadow,
        EventType::UpdateThingShadow,
        EventType::DeleteThingShadow,
        EventType::RuleMatch,
        EventType::StartingRuleExecution,
        EventType::RuleExecution,
        EventType::RuleNotFound,
        EventType::RuleMessageThrottled,
        EventType::FunctionExecution,
        EventType::GetPendingJobExecution,
        EventType::DescribeJobExecution,
        EventType::StartNextPendingJobExecution,
        EventType::UpdateJobExecution,
        EventType::ReportFinalJobExecutionCount,
    ];

    /// The exact AWS `eventType` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::Connect => "Connect",
            EventType::Disconnect => "Disconnect",
            EventType::Subscribe => "Subscribe",
            EventType::Unsubscribe => "Unsubscribe",
            EventType::PublishIn => "Publish-In",
            EventType::PublishOut => "Publish-Out",
            EventType::Queued => "Queued",
            EventType::GetThingShadow => "GetThingShadow",
            EventType::UpdateThingShadow => "UpdateThingShadow",
            EventType::DeleteThingShadow => "DeleteThingShadow",
            EventType::RuleMatch => "RuleMatch",
            EventType::StartingRuleExecution => "StartingRuleExecution",
            EventType::RuleExecution => "RuleExecution",
            EventType::RuleNotFound => "RuleNotFound",
            EventType::RuleMessageThrottled => "RuleMessageThrottled",
            EventType::FunctionExecution => "FunctionExecution",
            EventType::GetPendingJobExecution => "GetPendingJobExecution",
            EventType::DescribeJobExecution => "DescribeJobExecution",
            EventType::StartNextPendingJobExecution => "StartNextPendingJobExecution",
            EventType::UpdateJobExecution => "UpdateJobExecution",
            EventType::ReportFinalJobExecutionCount => "ReportFinalJobExecutionCount",
        }
    }

    /// Looks an `eventType` string up (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Index into per-event-type tables.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The `status` attribute: `Success` or `Failure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    /// The operation succeeded.
    Success,
    /// The operation failed; the entry carries `reason` and `details`.
    Failure,
}

impl Status {
    /// `Success` or `Failure`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Success => "Success",
            Status::Failure => "Failure",
        }
    }

    /// `Failure` when a failure is present.
    pub fn of(failure: &Option<Failure<'_>>) -> Status {
        if failure.is_some() {
            Status::Failure
        } else {
            Status::Success
        }
    }
}

/// The `reason` (a code such as `AUTHORIZATION_FAILURE`) and `details` (human text) of a
/// Failure entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure<'a> {
    /// Machine-readable code, e.g. `AUTHORIZATION_FAILURE`.
    pub reason: &'a str,
    /// Human-readable text, e.g. `Authorization Failure`.
    pub details: &'a str,
}

/// Implemented by each typed event (one type per `eventType`). `Serialize` must write a map
/// of the event's own attributes in documented order; the header is written by [`encode`].
pub trait IotLogEvent: Serialize {
    /// The `eventType` this type encodes.
    const EVENT_TYPE: EventType;
    /// `Success` or `Failure`.
    fn status(&self) -> Status;
    /// Whether the entry carries the header's `traceId`. AWS's Jobs entries have none (the
    /// developer guide's Jobs examples, `../shared/reference/aws-iot-logging.md` §3.6).
    const TRACE_ID: bool = true;

    /// Writes the event's own attributes, in documented order, after the header that
    /// [`encode_into`] wrote. The output must equal the members of the event's `Serialize`
    /// map (the default does exactly that, through `serde_json`); the hot broker events
    /// write them by hand (see `json.rs`).
    fn write_attributes(&self, fields: &mut JsonFields<'_>) {
        if let Ok(object) = serde_json::to_vec(self) {
            fields.members_of(&object);
        }
    }
}

/// Formats epoch milliseconds as AWS IoT's entry timestamp, `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn format_timestamp(epoch_ms: i64) -> String {
    let mut out = String::with_capacity(23);
    write_timestamp(&mut out, epoch_ms);
    out
}

fn write_timestamp(out: &mut String, epoch_ms: i64) {
    use std::fmt::Write;
    let secs = epoch_ms.div_euclid(1000);
    let millis = epoch_ms.rem_euclid(1000);
    let dt =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        millis
    );
}

#[cfg(test)]
struct TimestampText(i64);

#[cfg(test)]
impl Serialize for TimestampText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = String::with_capacity(23);
        write_timestamp(&mut buf, self.0);
        s.serialize_str(&buf)
    }
}

/// The entry: common header, then the event's attributes flattened after it. The `serde`
/// form of [`encode_into`], kept as the reference its hand-written output is tested against.
#[cfg(test)]
struct Entry<'a, E> {
    epoch_ms: i64,
    level: LogLevel,
    trace_id: TraceId,
    account_id: &'a str,
    event: &'a E,
}

#[cfg(test)]
impl<E: IotLogEvent> Serialize for Entry<'_, E> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("timestamp", &TimestampText(self.epoch_ms))?;
        map.serialize_entry("logLevel", &self.level)?;
        if E::TRACE_ID {
            map.serialize_entry("traceId", &self.trace_id)?;
        }
        map.serialize_entry("accountId", self.account_id)?;
        map.serialize_entry("status", &self.event.status())?;
        map.serialize_entry("eventType", &E::EVENT_TYPE)?;
        self.event.serialize(FlattenInto(&mut map))?;
        map.end()
    }
}

/// Encodes one entry as the exact AWS JSON (one line, no spaces), appending to `out`:
/// `{"timestamp":…,"logLevel":…,"traceId":…,"accountId":…,"status":…,"eventType":…` and then
/// the event's attributes ([`IotLogEvent::write_attributes`]).
///
/// `epoch_ms` is the entry time in epoch milliseconds, written as `timestamp`.
pub fn encode_into<E: IotLogEvent>(
    out: &mut Vec<u8>,
    event: &E,
    level: LogLevel,
    trace_id: TraceId,
    account_id: &str,
    epoch_ms: i64,
) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    crate::json::write_timestamp(out, epoch_ms);
    out.extend_from_slice(b"\",\"logLevel\":\"");
    out.extend_from_slice(level.as_str().as_bytes());
    if E::TRACE_ID {
        out.extend_from_slice(b"\",\"traceId\":\"");
        out.extend_from_slice(&trace_id.render());
    }
    out.extend_from_slice(b"\",\"accountId\":");
    crate::json::write_str(out, account_id);
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(event.status().as_str().as_bytes());
    out.extend_from_slice(b"\",\"eventType\":\"");
    out.extend_from_slice(E::EVENT_TYPE.as_str().as_bytes());
    out.push(b'"');
    event.write_attributes(&mut JsonFields::new(out));
    out.push(b'}');
}

/// The `serde` reference encoding of an entry (what [`encode_into`] must equal).
#[cfg(test)]
pub(crate) fn encode_with_serde<E: IotLogEvent>(
    event: &E,
    level: LogLevel,
    trace_id: TraceId,
    account_id: &str,
    epoch_ms: i64,
) -> String {
    let entry = Entry {
        epoch_ms,
        level,
        trace_id,
        account_id,
        event,
    };
    serde_json::to_string(&entry).unwrap_or_default()
}

/// Encodes one entry as the exact AWS JSON string (see [`encode_into`]).
pub fn encode<E: IotLogEvent>(
    event: &E,
    level: LogLevel,
    trace_id: TraceId,
    account_id: &str,
    epoch_ms: i64,
) -> String {
    let mut out = Vec::with_capacity(320);
    encode_into(&mut out, event, level, trace_id, account_id, epoch_ms);
    String::from_utf8(out).unwrap_or_default()
}

/// Encodes one entry in the legacy V1 plain-text form (written to `AWSIotLogs` while V2
/// logging is not configured), appending to `out`.
///
/// AWS has not documented the V1 line layout; Thingwatch's is one line of
/// `KEY:value` fields after the timestamp, in the V2 attribute order:
/// `2017-08-10 15:37:23.476 TRACEID:<uuid> PRINCIPALID:<id> [INFO] EVENT:Publish-In
/// STATUS:Success PROTOCOL:MQTT TOPICNAME:dt/a CLIENTID:sensor-1 SOURCEIP:127.0.0.1
/// SOURCEPORT:5000` (keys upper-cased; string values written as-is, newlines replaced by
/// spaces).
pub fn encode_plain_text_into<E: IotLogEvent>(
    out: &mut Vec<u8>,
    event: &E,
    level: LogLevel,
    trace_id: TraceId,
    epoch_ms: i64,
) {
    use std::io::Write;
    // The event's attributes in their serialisation order.
    let attrs: Vec<(String, serde_json::Value)> = serde_json::to_string(event)
        .ok()
        .and_then(|json| serde_json::from_str::<OrderedPairs>(&json).ok())
        .map(|p| p.0)
        .unwrap_or_default();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.replace(['\n', '\r'], " "),
        other => other.to_string(),
    };
    let principal = attrs
        .iter()
        .find(|(k, _)| k == "principalId")
        .map(|(_, v)| text(v))
        .unwrap_or_else(|| "N/A".to_string());
    let mut line = format_timestamp(epoch_ms);
    let _ = write!(
        out,
        "{line} TRACEID:{trace_id} PRINCIPALID:{principal} [{}] EVENT:{} STATUS:{:?}",
        level.as_str(),
        E::EVENT_TYPE.as_str(),
        event.status()
    );
    for (k, v) in &attrs {
        if k == "principalId" {
            continue;
        }
        line.clear();
        line.push_str(&k.to_ascii_uppercase());
        let _ = write!(out, " {line}:{}", text(v));
    }
}

/// A JSON object's members in document order.
struct OrderedPairs(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for OrderedPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    pairs.push(entry);
                }
                Ok(OrderedPairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

/// Encodes one entry in the legacy V1 plain-text form (see [`encode_plain_text_into`]).
pub fn encode_plain_text<E: IotLogEvent>(
    event: &E,
    level: LogLevel,
    trace_id: TraceId,
    epoch_ms: i64,
) -> String {
    let mut out = Vec::with_capacity(256);
    encode_plain_text_into(&mut out, event, level, trace_id, epoch_ms);
    String::from_utf8(out).unwrap_or_default()
}

/// A serializer that forwards an event's map entries into the enclosing entry map, so the
/// event's attributes follow the header at the same nesting level.
#[cfg(test)]
struct FlattenInto<'m, M>(&'m mut M);

#[cfg(test)]
impl<'m, M: SerializeMap> Serializer for FlattenInto<'m, M> {
    type Ok = ();
    type Error = M::Error;
    type SerializeSeq = serde::ser::Impossible<(), M::Error>;
    type SerializeTuple = serde::ser::Impossible<(), M::Error>;
    type SerializeTupleStruct = serde::ser::Impossible<(), M::Error>;
    type SerializeTupleVariant = serde::ser::Impossible<(), M::Error>;
    type SerializeMap = Self;
    type SerializeStruct = serde::ser::Impossible<(), M::Error>;
    type SerializeStructVariant = serde::ser::Impossible<(), M::Error>;

    fn serialize_map(self, _len: Option<usize>) -> Result<Self, M::Error> {
        Ok(self)
    }

    fn serialize_unit(self) -> Result<(), M::Error> {
        Ok(())
    }

    fn serialize_bool(self, _: bool) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_i8(self, _: i8) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_i16(self, _: i16) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_i32(self, _: i32) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_i64(self, _: i64) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_u8(self, _: u8) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_u16(self, _: u16) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_u32(self, _: u32) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_u64(self, _: u64) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_f32(self, _: f32) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_f64(self, _: f64) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_char(self, _: char) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_str(self, _: &str) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_none(self) -> Result<(), M::Error> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), M::Error> {
        value.serialize(self)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), M::Error> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), M::Error> {
        Err(not_a_map())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, M::Error> {
        Err(not_a_map())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, M::Error> {
        Err(not_a_map())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, M::Error> {
        Err(not_a_map())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, M::Error> {
        Err(not_a_map())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, M::Error> {
        Err(not_a_map())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, M::Error> {
        Err(not_a_map())
    }
}

#[cfg(test)]
impl<M: SerializeMap> SerializeMap for FlattenInto<'_, M> {
    type Ok = ();
    type Error = M::Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), M::Error> {
        self.0.serialize_key(key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), M::Error> {
        self.0.serialize_value(value)
    }
    fn serialize_entry<K: ?Sized + Serialize, V: ?Sized + Serialize>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), M::Error> {
        self.0.serialize_entry(key, value)
    }
    fn end(self) -> Result<(), M::Error> {
        Ok(())
    }
}

#[cfg(test)]
fn not_a_map<E: serde::ser::Error>() -> E {
    E::custom("an IoT log event must serialize as a map of attributes")
}

#[cfg(test)]
mod tests {
    //! The hand-written encoder against the `serde` reference, member by member.
    use super::*;
    use crate::broker::*;
    use crate::shadow::{DeleteThingShadow, GetThingShadow, UpdateThingShadow};

    fn identities() -> Vec<ClientIdentity> {
        let mut out = Vec::new();
        for (client_id, principal_id, ip, port) in [
            ("sensor-1", "anonymous", "127.0.0.1", 5000u16),
            ("", "", "0.0.0.0", 0),
            (
                "quote\"back\\slash\nnew\tline\u{1}é😀",
                "arn:aws:iam::123456789012:user/Alice",
                "2001:db8::8a2e:370:7334",
                65535,
            ),
            (
                "abf27092886e49a8a5c1922749736453",
                "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167",
                "205.251.233.181",
                13490,
            ),
        ] {
            out.push(ClientIdentity {
                client_id: client_id.into(),
                principal_id: principal_id.into(),
                source_ip: ip.parse().unwrap(),
                source_port: port,
                protocol: if port == 0 {
                    Protocol::Http
                } else {
                    Protocol::Mqtt
                },
                thing_name: None,
            });
        }
        out
    }

    fn same<E: IotLogEvent>(event: &E, level: LogLevel, ms: i64) {
        let trace = TraceId(0x20b23f3f_d7f1_feae_169f_82263394fbdb ^ ms as u128);
        for account in ["123456789012", "odd\"account"] {
            let mut ours = Vec::new();
            encode_into(&mut ours, event, level, trace, account, ms);
            let reference = encode_with_serde(event, level, trace, account, ms);
            assert_eq!(String::from_utf8(ours).unwrap(), reference);
        }
    }

    #[test]
    fn hand_written_entries_equal_the_serde_form() {
        let topics = ["dt/a", "", "$aws/things/t/shadow/update", "we\"ird\\/\u{7}"];
        let mut ms = 1_502_379_443_476i64;
        for id in &identities() {
            for level in [
                LogLevel::Error,
                LogLevel::Warn,
                LogLevel::Info,
                LogLevel::Debug,
            ] {
                ms += 1_001;
                same(&Connect::success(id), level, ms);
                same(
                    &Connect::failure(id, "AUTHORIZATION_FAILURE", "Authorization Failure"),
                    level,
                    ms,
                );
                same(
                    &Disconnect::new(id, DisconnectReason::ClientInitiatedDisconnect),
                    level,
                    ms,
                );
                same(
                    &Disconnect::new(id, DisconnectReason::DuplicateClientid),
                    level,
                    ms,
                );
                same(
                    &Disconnect::with_detail(
                        id,
                        DisconnectReason::ClientError,
                        "MALFORMED_PACKET",
                        "bad \"x\"",
                    ),
                    level,
                    ms,
                );
                for topic in topics {
                    for retain in [false, true] {
                        same(&PublishIn::success(id, topic, retain), level, ms);
                        same(
                            &PublishIn::failure(id, topic, retain, "R", "d\n"),
                            level,
                            ms,
                        );
                        same(&PublishOut::success(id, topic, retain), level, ms);
                        same(&Subscribe::success(id, topic, retain), level, ms);
                        same(
                            &Subscribe::failure(
                                id,
                                topic,
                                retain,
                                "AUTHORIZATION_FAILURE",
                                "Authorization Failure",
                            ),
                            level,
                            ms,
                        );
                        same(&Unsubscribe::success(id, topic, retain), level, ms);
                        same(
                            &Queued::failure(id, topic, retain, "QUEUE_FULL", "q"),
                            level,
                            ms,
                        );
                    }
                    same(
                        &GetThingShadow::success(id.protocol, "thing\"1", topic),
                        level,
                        ms,
                    );
                    same(
                        &UpdateThingShadow::success(id.protocol, "t", topic),
                        level,
                        ms,
                    );
                    same(
                        &DeleteThingShadow::failure(
                            id.protocol,
                            "t",
                            topic,
                            "404",
                            "No shadow exists with name: 't'",
                        ),
                        level,
                        ms,
                    );
                }
            }
        }
    }
}
