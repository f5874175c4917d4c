//! Smithy RPC v2 CBOR: request bodies to [`Value`], [`Value`]s to response bodies (ciborium).
//!
//! Timestamps are CBOR tag 1 over epoch seconds (integer or float), blobs byte strings,
//! structures and maps CBOR maps with text keys (Smithy *RPC v2 CBOR protocol*, "Shape
//! serialization"). An empty body is an empty structure, and an operation without output
//! answers with the empty map (`0xa0`).

use ciborium::value::Value as Cbor;
use thingwatch_aws::error::ApiError;

use crate::Value;

/// CBOR tag for epoch-based date/time (RFC 8949 §3.4.2).
const EPOCH_TAG: u64 = 1;

/// Parses a CBOR request body.
///
/// # Errors
/// `SerializationException` when the body is not CBOR, not a map, or uses a map key that is
/// not text.
pub fn parse(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::structure());
    }
    let cbor: Cbor = ciborium::de::from_reader(body)
        .map_err(|e| ApiError::serialization(format!("The request body is not valid CBOR: {e}")))?;
    if !cbor.is_map() {
        return Err(ApiError::serialization(
            "The request body must be a CBOR map.",
        ));
    }
    from_cbor(cbor)
}

fn from_cbor(v: Cbor) -> Result<Value, ApiError> {
    Ok(match v {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => {
            let wide = i128::from(i);
            match i64::try_from(wide) {
                Ok(i) => Value::Int(i),
                #[allow(clippy::cast_precision_loss)]
                Err(_) => Value::Float(wide as f64),
            }
        }
        Cbor::Float(f) => Value::Float(f),
        Cbor::Text(s) => Value::String(s),
        Cbor::Bytes(b) => Value::Blob(b),
        Cbor::Array(items) => {
            Value::List(items.into_iter().map(from_cbor).collect::<Result<_, _>>()?)
        }
        Cbor::Map(entries) => Value::Struct(
            entries
                .into_iter()
                .map(|(k, v)| match k {
                    Cbor::Text(k) => Ok((k, from_cbor(v)?)),
                    _ => Err(ApiError::serialization(
                        "CBOR map keys must be text strings.",
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        Cbor::Tag(EPOCH_TAG, inner) => match *inner {
            Cbor::Integer(i) => i64::try_from(i128::from(i))
                .ok()
                .and_then(|s| s.checked_mul(1000))
                .map(Value::Timestamp)
                .ok_or_else(|| ApiError::serialization("CBOR timestamp out of range."))?,
            #[allow(clippy::cast_possible_truncation)]
            Cbor::Float(f) if f.is_finite() && f.abs() < 1.0e14 => {
                Value::Timestamp((f * 1000.0).round() as i64)
            }
            _ => return Err(ApiError::serialization("Invalid CBOR timestamp.")),
        },
        Cbor::Tag(_, inner) => from_cbor(*inner)?,
        _ => return Err(ApiError::serialization("Unsupported CBOR value.")),
    })
}

/// `v` as a CBOR value (see the module doc).
pub fn to_cbor(v: &Value) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Int(i) => Cbor::Integer((*i).into()),
        Value::Float(f) => Cbor::Float(*f),
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Timestamp(ms) => {
            let secs = if ms % 1000 == 0 {
                Cbor::Integer((ms / 1000).into())
            } else {
                #[allow(clippy::cast_precision_loss)]
                Cbor::Float(*ms as f64 / 1000.0)
            };
            Cbor::Tag(EPOCH_TAG, Box::new(secs))
        }
        Value::Blob(b) => Cbor::Bytes(b.clone()),
        Value::List(items) => Cbor::Array(items.iter().map(to_cbor).collect()),
        Value::Struct(members) | Value::Map(members) => Cbor::Map(
            members
                .iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), to_cbor(v)))
                .collect(),
        ),
    }
}

/// `v` as a CBOR response body.
pub fn to_body(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = ciborium::ser::into_writer(&to_cbor(v), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reader;

    #[test]
    fn empty_output_is_the_empty_map() {
        assert_eq!(to_body(&Value::structure()), vec![0xa0]);
    }

    #[test]
    fn round_trips_timestamps_and_members() -> Result<(), ApiError> {
        let v = Value::structure()
            .with("StartTime", Value::time_ms(1_704_067_200_000))
            .with("EndTime", Value::time_ms(1_704_067_200_500))
            .with("Statistics", Value::list(["Sum"]))
            .with("Period", 60i64)
            .with("Value", 2.5);
        let back = parse(&to_body(&v))?;
        assert_eq!(back, v);
        let r = Reader::new(&back);
        assert_eq!(r.timestamp_ms("EndTime")?, Some(1_704_067_200_500));
        Ok(())
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(&[0xff, 0x00]).is_err());
        assert!(parse(&to_body(&Value::list([1i64]))).is_err());
    }
}
