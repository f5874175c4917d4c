//! The protocol-neutral value tree ([`Value`]) and the member reader requests are read with
//! ([`Reader`]).

use thingwatch_aws::error::{ApiError, ErrorCode};

/// One value of an AWS request or response, independent of the protocol that carries it.
///
/// The variants are what the three codecs can tell apart: AWS JSON has no timestamp or blob
/// type (timestamps are epoch-second numbers, blobs base64 strings), awsQuery has only
/// strings, CBOR has all of them (tag 1 for timestamps). Readers therefore accept every
/// encoding of a member's type ([`Reader::f64`] takes a number or a numeric string,
/// [`Reader::timestamp_ms`] an epoch number, a CBOR timestamp or an ISO 8601 string).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// JSON `null` / CBOR null: read as an absent member.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A double.
    Float(f64),
    /// A string (every awsQuery scalar arrives as one).
    String(String),
    /// A point in time in epoch **milliseconds** (Smithy `timestamp`).
    Timestamp(i64),
    /// Bytes (Smithy `blob`; base64 in JSON and XML).
    Blob(Vec<u8>),
    /// A list (awsQuery `Name.member.N`, XML `<member>`).
    List(Vec<Value>),
    /// A structure: members in the order written.
    Struct(Vec<(String, Value)>),
    /// A map (Smithy `map`; awsQuery/XML `entry`/`key`/`value`).
    Map(Vec<(String, Value)>),
}

impl Value {
    /// An empty structure, to add members to with [`Value::with`] / [`Value::with_opt`].
    pub fn structure() -> Value {
        Value::Struct(Vec::new())
    }

    /// This structure with member `name` set to `v` (appended; ignored on non-structures).
    #[must_use]
    pub fn with(mut self, name: &str, v: impl Into<Value>) -> Value {
        if let Value::Struct(members) = &mut self {
            members.push((name.to_owned(), v.into()));
        }
        self
    }

    /// [`Value::with`] when `v` is `Some`; AWS leaves absent members out rather than
    /// sending `null`.
    #[must_use]
    pub fn with_opt<V: Into<Value>>(self, name: &str, v: Option<V>) -> Value {
        match v {
            Some(v) => self.with(name, v),
            None => self,
        }
    }

    /// A timestamp from epoch milliseconds.
    pub fn time_ms(ms: i64) -> Value {
        Value::Timestamp(ms)
    }

    /// A list of `items` converted with `Into<Value>`.
    pub fn list<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::List(items.into_iter().map(Into::into).collect())
    }

    /// Member `name` of a structure or map; `None` when absent, `null`, or `self` is not a
    /// structure.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(m) | Value::Map(m) => m
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
                .filter(|v| !matches!(v, Value::Null)),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Timestamp(_) => "a timestamp",
            Value::Blob(_) => "a blob",
            Value::List(_) => "a list",
            Value::Struct(_) | Value::Map(_) => "a structure",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::String(s.clone())
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Value {
        Value::Int(i64::from(i))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::List(v)
    }
}

/// Reads the members of a request [`Value`], naming each member by its awsQuery path
/// (`MetricData.member.1.Value`) in errors — the names CloudWatch's and SNS's messages use
/// whichever protocol the caller spoke.
///
/// Type mismatches are `SerializationException`s ("… must be a number"): the body does not
/// fit the operation's shape. Constraint checks (ranges, enums) are the service's.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Reader<'a> {
    /// A reader over a whole request body.
    pub fn new(value: &'a Value) -> Reader<'a> {
        Reader {
            value,
            path: String::new(),
        }
    }

    /// The value read.
    pub fn value(&self) -> &'a Value {
        self.value
    }

    /// This value's awsQuery parameter path, e.g. `MetricData.member.1.Dimensions`; empty
    /// for the request itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of member `name` of this value (for messages about a member that is absent).
    pub fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// Member `name`, when present and not null.
    pub fn member(&self, name: &str) -> Option<Reader<'a>> {
        self.value.get(name).map(|value| Reader {
            value,
            path: self.path_of(name),
        })
    }

    fn type_error(&self, expected: &str) -> ApiError {
        ApiError::new(
            ErrorCode::Serialization,
            format!(
                "{} must be {expected}, not {}.",
                self.path(),
                self.value.kind()
            ),
        )
    }

    /// This value as a string.
    ///
    /// # Errors
    /// `SerializationException` for a non-string.
    pub fn as_str(&self) -> Result<&'a str, ApiError> {
        self.value
            .as_str()
            .ok_or_else(|| self.type_error("a string"))
    }

    /// This value as a double: a number, or a string holding one (awsQuery).
    ///
    /// # Errors
    /// `SerializationException` for anything else.
    pub fn as_f64(&self) -> Result<f64, ApiError> {
        match self.value {
            Value::Float(f) => Ok(*f),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Ok(*i as f64),
            Value::String(s) => s.trim().parse().map_err(|_| self.type_error("a number")),
            _ => Err(self.type_error("a number")),
        }
    }

    /// This value as an integer: an integral number, or a string holding one.
    ///
    /// # Errors
    /// `SerializationException` for anything else (also `1.5`).
    pub fn as_i64(&self) -> Result<i64, ApiError> {
        match self.value {
            Value::Int(i) => Ok(*i),
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
            Value::String(s) => s.trim().parse().map_err(|_| self.type_error("an integer")),
            _ => Err(self.type_error("an integer")),
        }
    }

    /// This value as a boolean: a boolean, or `true`/`false` as a string.
    ///
    /// # Errors
    /// `SerializationException` for anything else.
    pub fn as_bool(&self) -> Result<bool, ApiError> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.type_error("a boolean")),
        }
    }

    /// This value as epoch milliseconds: a CBOR timestamp, an epoch-**seconds** number
    /// (AWS JSON), or an ISO 8601 / RFC 3339 string or epoch-seconds string (awsQuery).
    ///
    /// # Errors
    /// `SerializationException` for anything else.
    pub fn as_timestamp_ms(&self) -> Result<i64, ApiError> {
        let from_secs = |s: f64| {
            if s.is_finite() && s.abs() < 1.0e14 {
                #[allow(clippy::cast_possible_truncation)]
                Some((s * 1000.0).round() as i64)
            } else {
                None
            }
        };
        let parsed = match self.value {
            Value::Timestamp(ms) => Some(*ms),
            Value::Int(s) => s.checked_mul(1000),
            Value::Float(s) => from_secs(*s),
            Value::String(s) => parse_timestamp(s.trim())
                .or_else(|| s.trim().parse::<f64>().ok().and_then(from_secs)),
            _ => None,
        };
        parsed.ok_or_else(|| self.type_error("a timestamp"))
    }

    /// This value as a list of readers. An empty awsQuery parameter (`AlarmNames=`, how
    /// botocore sends an empty list) is an empty list.
    ///
    /// # Errors
    /// `SerializationException` for a non-list.
    pub fn as_list(&self) -> Result<Vec<Reader<'a>>, ApiError> {
        match self.value {
            Value::List(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| Reader {
                    value,
                    path: self.path_of(&format!("member.{}", i + 1)),
                })
                .collect()),
            Value::String(s) if s.is_empty() => Ok(Vec::new()),
            _ => Err(self.type_error("a list")),
        }
    }

    /// Member `name` as a string, if present.
    ///
    /// # Errors
    /// As [`Reader::as_str`].
    pub fn str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        self.member(name).map(|m| m.as_str()).transpose()
    }

    /// Member `name` as a double, if present.
    ///
    /// # Errors
    /// As [`Reader::as_f64`].
    pub fn f64(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.member(name).map(|m| m.as_f64()).transpose()
    }

    /// Member `name` as an integer, if present.
    ///
    /// # Errors
    /// As [`Reader::as_i64`].
    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.member(name).map(|m| m.as_i64()).transpose()
    }

    /// Member `name` as a boolean, if present.
    ///
    /// # Errors
    /// As [`Reader::as_bool`].
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.member(name).map(|m| m.as_bool()).transpose()
    }

    /// Member `name` as epoch milliseconds, if present.
    ///
    /// # Errors
    /// As [`Reader::as_timestamp_ms`].
    pub fn timestamp_ms(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.member(name).map(|m| m.as_timestamp_ms()).transpose()
    }

    /// Member `name` as a list of strings; absent is empty.
    ///
    /// # Errors
    /// As [`Reader::as_list`] and [`Reader::as_str`].
    pub fn strings(&self, name: &str) -> Result<Vec<&'a str>, ApiError> {
        let Some(m) = self.member(name) else {
            return Ok(Vec::new());
        };
        m.as_list()?.iter().map(Reader::as_str).collect()
    }

    /// Member `name` as a string map: a map/structure of strings (JSON, CBOR) or an awsQuery
    /// `Name.entry.N.key` / `Name.entry.N.value` list. Absent is empty.
    ///
    /// # Errors
    /// `SerializationException` for any other shape.
    pub fn string_map(&self, name: &str) -> Result<Vec<(String, String)>, ApiError> {
        let Some(m) = self.member(name) else {
            return Ok(Vec::new());
        };
        let bad = || m.type_error("a map of strings");
        match m.value {
            Value::Struct(members) | Value::Map(members) => members
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(bad()),
                })
                .collect(),
            Value::List(entries) => entries
                .iter()
                .map(|e| {
                    let k = e.get("key").and_then(Value::as_str);
                    let v = e.get("value").and_then(Value::as_str).unwrap_or("");
                    k.map(|k| (k.to_owned(), v.to_owned())).ok_or_else(bad)
                })
                .collect(),
            Value::String(s) if s.is_empty() => Ok(Vec::new()),
            _ => Err(bad()),
        }
    }
}

/// Parses an RFC 3339 / ISO 8601 UTC timestamp (`2024-01-01T00:00:00Z`,
/// `2024-01-01T00:00:00.123+00:00`) into epoch milliseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Epoch milliseconds as ISO 8601 UTC: `2024-01-01T00:01:00Z`, with `.123` milliseconds
/// when they are not zero (what AWS query services write).
pub fn format_timestamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let date = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let base = t.format(&date).unwrap_or_default();
    let millis = ms.rem_euclid(1000);
    if millis == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{millis:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        Value::structure()
            .with("Namespace", "Custom")
            .with(
                "MetricData",
                Value::list([Value::structure()
                    .with("MetricName", "M1")
                    .with("Value", "3.5")
                    .with("Timestamp", "2024-01-01T00:00:00Z")]),
            )
            .with("Flag", "true")
            .with("Empty", "")
    }

    #[test]
    fn reads_query_strings_as_typed_members() -> Result<(), ApiError> {
        let v = request();
        let r = Reader::new(&v);
        assert_eq!(r.str("Namespace")?, Some("Custom"));
        assert_eq!(r.bool("Flag")?, Some(true));
        let m = r
            .member("MetricData")
            .ok_or_else(|| ApiError::serialization("x"))?;
        let data = m.as_list()?;
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].f64("Value")?, Some(3.5));
        assert_eq!(data[0].timestamp_ms("Timestamp")?, Some(1_704_067_200_000));
        assert_eq!(data[0].path_of("Value"), "MetricData.member.1.Value");
        assert!(r.strings("Empty")?.is_empty());
        assert!(r.strings("Missing")?.is_empty());
        let mixed = Value::structure().with("S", Value::list([Value::from("a"), Value::Int(2)]));
        let e = Reader::new(&mixed).strings("S").err().map(|e| e.message);
        assert_eq!(
            e.as_deref(),
            Some("S.member.2 must be a string, not a number.")
        );
        Ok(())
    }

    #[test]
    fn type_errors_name_the_member_path() {
        let v = request();
        let r = Reader::new(&v);
        let m = r.member("MetricData").map(|m| m.as_list());
        let Some(Ok(data)) = m else {
            panic!("list expected")
        };
        let err = data[0].member("MetricName").map(|n| n.as_f64());
        let Some(Err(e)) = err else {
            panic!("error expected")
        };
        assert_eq!(e.code, ErrorCode::Serialization);
        assert_eq!(
            e.message,
            "MetricData.member.1.MetricName must be a number, not a string."
        );
    }

    #[test]
    fn timestamps_in_every_encoding() -> Result<(), ApiError> {
        for (v, ms) in [
            (Value::Int(1_704_067_200), 1_704_067_200_000),
            (Value::Float(1_704_067_200.5), 1_704_067_200_500),
            (Value::Timestamp(7), 7),
            (
                Value::from("2024-01-01T00:00:00.250+00:00"),
                1_704_067_200_250,
            ),
            (Value::from("1704067200"), 1_704_067_200_000),
        ] {
            assert_eq!(Reader::new(&v).as_timestamp_ms()?, ms, "{v:?}");
        }
        assert!(
            Reader::new(&Value::from("yesterday"))
                .as_timestamp_ms()
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn formats_iso_timestamps() {
        assert_eq!(format_timestamp(1_704_067_260_000), "2024-01-01T00:01:00Z");
        assert_eq!(
            format_timestamp(1_704_067_260_042),
            "2024-01-01T00:01:00.042Z"
        );
    }
}
