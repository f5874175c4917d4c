//! AWS JSON (1.0 and 1.1): request bodies to [`Value`], [`Value`]s to response bodies.
//!
//! Timestamps are epoch **seconds** as numbers (integers when whole, else fractional), blobs
//! base64 strings (Smithy AWS JSON protocol).

use base64::Engine as _;
use thingwatch_aws::error::ApiError;

use crate::Value;

/// Parses a JSON request body. An empty body is an empty structure (botocore sends `{}`,
/// some clients nothing).
///
/// # Errors
/// `SerializationException` when the body is not JSON or not an object.
pub fn parse(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::structure());
    }
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(format!("The request body is not valid JSON: {e}")))?;
    if !json.is_object() {
        return Err(ApiError::serialization(
            "The request body must be a JSON object.",
        ));
    }
    Ok(from_json(json))
}

fn from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::List(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(members) => Value::Struct(
            members
                .into_iter()
                .map(|(k, v)| (k, from_json(v)))
                .collect(),
        ),
    }
}

/// `v` as a JSON value (see the module doc for timestamps and blobs). Non-finite doubles,
/// which JSON cannot carry, are written as `null` (no AWS output member holds one).
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Timestamp(ms) => {
            if ms % 1000 == 0 {
                serde_json::Value::from(ms / 1000)
            } else {
                #[allow(clippy::cast_precision_loss)]
                let secs = *ms as f64 / 1000.0;
                serde_json::Number::from_f64(secs).map_or(serde_json::Value::Null, Into::into)
            }
        }
        Value::Blob(b) => {
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Struct(members) | Value::Map(members) => serde_json::Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// `v` as a JSON response body (bytes), members in the order written.
pub fn to_body(v: &Value) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail.
    serde_json::to_vec(&Ordered(v)).unwrap_or_default()
}

/// Serializes a [`Value`] keeping structure members in order (`serde_json::Map` would sort
/// them without the `preserve_order` feature, which would change every other JSON body of
/// the workspace).
struct Ordered<'a>(&'a Value);

impl serde::Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Ordered(item))?;
                }
                seq.end()
            }
            Value::Struct(members) | Value::Map(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, &Ordered(v))?;
                }
                map.end()
            }
            scalar => to_json(scalar).serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reader;

    #[test]
    fn round_trips_a_get_metric_data_result() {
        let out = Value::structure()
            .with(
                "MetricDataResults",
                Value::list([Value::structure()
                    .with("Id", "m1")
                    .with("Label", "PublishIn.Success")
                    .with(
                        "Timestamps",
                        Value::list([
                            Value::time_ms(1_704_067_260_000),
                            Value::time_ms(1_704_067_200_000),
                        ]),
                    )
                    .with("Values", Value::list([5.0, 3.0]))
                    .with("StatusCode", "Complete")]),
            )
            .with("Messages", Value::List(vec![]));
        // The body aws-wire.md §6 shows botocore parsing.
        assert_eq!(
            String::from_utf8_lossy(&to_body(&out)),
            r#"{"MetricDataResults":[{"Id":"m1","Label":"PublishIn.Success","Timestamps":[1704067260,1704067200],"Values":[5.0,3.0],"StatusCode":"Complete"}],"Messages":[]}"#
        );
    }

    #[test]
    fn parses_requests() -> Result<(), ApiError> {
        let v = parse(
            br#"{"StartTime": 1704067200, "Period": 60, "Dims": [{"Name":"a"}], "x": null}"#,
        )?;
        let r = Reader::new(&v);
        assert_eq!(r.timestamp_ms("StartTime")?, Some(1_704_067_200_000));
        assert_eq!(r.i64("Period")?, Some(60));
        assert!(r.member("x").is_none());
        assert_eq!(parse(b"")?, Value::structure());
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"{").is_err());
        Ok(())
    }
}
