//! The AWS IoT SQL value model ([`Value`], [`Object`]) and the standard conversions between
//! its types, as the *Data types* page (iot-sql-data-types.html) defines them: to Decimal, to
//! Int, to Boolean, to String, plus the JSON encoding (where `Undefined` is omitted) and an
//! order-preserving JSON decoder.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// One AWS IoT SQL value.
///
/// Follows *Data types* (iot-sql-data-types.html). AWS keeps 34-digit decimals; Thingwatch keeps
/// `Int` as `i64` and `Decimal` as `f64` (double precision, which AWS itself uses for most math
/// functions). `Undefined` is "not a value": a missing key, a function called with arguments it
/// cannot convert, a comparison between incompatible types. It is omitted from JSON objects and
/// arrays and serializes as the empty string on its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Not a value (a missing key, a failed conversion).
    #[default]
    Undefined,
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Boolean(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fractional part (double precision).
    Decimal(f64),
    /// A UTF-8 string.
    String(String),
    /// A JSON array; items need not share a type.
    Array(Vec<Value>),
    /// A JSON object, keys in insertion order.
    Object(Object),
}

/// A JSON object whose keys keep their insertion order (payload order for decoded payloads,
/// SELECT order for outputs). Setting an existing key replaces its value in place.
#[derive(Debug, Clone, Default)]
pub struct Object {
    entries: Vec<(String, Value)>,
}

impl PartialEq for Object {
    /// Objects are equal when they hold the same keys with equal values, in any order
    /// (*Operators*, `=`: "The order of keys/values is unimportant").
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| o == v))
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A mutable reference to the value under `key`, if present.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Sets `key` to `value`: replaces in place if present, appends otherwise.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(i).1)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries (including any `Undefined` values).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the object has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<(String, Value)> for Object {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut o = Object::new();
        for (k, v) in iter {
            o.insert(k, v);
        }
        o
    }
}

/// The regular expression AWS uses to decide whether a String converts to a Decimal
/// (*Data types*, "To decimal"): `^-?\d+(\.\d+)?((?i)E-?\d+)?$`. Hand-matched, no regex engine.
fn decimal_string(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && b[i] == b'-' {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A number after the standard numeric conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Dec(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Dec(d) => d,
        }
    }
}

impl Value {
    /// The AWS type name (`Int`, `Decimal`, `Boolean`, `String`, `Array`, `Object`, `Null`,
    /// `Undefined`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Undefined => "Undefined",
            Value::Null => "Null",
            Value::Boolean(_) => "Boolean",
            Value::Int(_) => "Int",
            Value::Decimal(_) => "Decimal",
            Value::String(_) => "String",
            Value::Array(_) => "Array",
            Value::Object(_) => "Object",
        }
    }

    /// Whether this is `Undefined`.
    pub fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined)
    }

    /// A String value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A Decimal from a double; NaN and infinities (not representable in JSON) become
    /// `Undefined`, as the math functions' "imaginary results are returned as Undefined".
    pub fn decimal(d: f64) -> Value {
        if d.is_finite() {
            Value::Decimal(d)
        } else {
            Value::Undefined
        }
    }

    /// Int and Decimal as they are; a String matching AWS's decimal pattern as a Decimal;
    /// anything else `None`. This is the operand conversion of `- * / %` and of the math
    /// functions.
    pub(crate) fn to_num(&self) -> Option<Num> {
        match self {
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Decimal(d) => Some(Num::Dec(*d)),
            Value::String(s) => decimal_string(s).map(Num::Dec),
            _ => None,
        }
    }

    /// The standard conversion to a double (*Data types*, "To decimal"), `None` when the
    /// result would be Null or Undefined.
    pub(crate) fn to_f64(&self) -> Option<f64> {
        self.to_num().map(Num::as_f64)
    }

    /// Conversion to an Int by rounding down (floor), used by the functions whose tables say
    /// "rounded down to the nearest Int" (bit functions, chr, lpad, substring, trunc …).
    pub(crate) fn to_int_floor(&self) -> Option<i64> {
        match self.to_num()? {
            Num::Int(i) => Some(i),
            Num::Dec(d) => f64_to_i64(d.floor()),
        }
    }

    /// The standard conversion to Int (*Data types*, "To int"): Decimal rounded to the
    /// nearest Int, String parsed as a Decimal then truncated.
    pub(crate) fn to_int_standard(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Decimal(d) => f64_to_i64(d.round()),
            Value::String(s) => decimal_string(s).and_then(|d| f64_to_i64(d.trunc())),
            _ => None,
        }
    }

    /// The standard conversion to Boolean (*Data types*, "To Boolean"): Booleans, and the
    /// strings "true"/"false" in any case.
    pub(crate) fn to_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The standard conversion to String (*Data types*, "To string"): Int in standard
    /// notation, Decimal possibly in scientific notation, Booleans lowercase, Arrays and
    /// Objects serialized to JSON; Null and Undefined have no string form (`None`).
    pub fn to_sql_string(&self) -> Option<String> {
        match self {
            Value::Undefined | Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Boolean(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Decimal(d) => Some(decimal_to_string(*d)),
            Value::Array(_) | Value::Object(_) => Some(self.to_json_string()),
        }
    }

    /// The value serialized as JSON text; `Undefined` members are omitted and a bare
    /// `Undefined` is the empty string (*Data types*, Undefined).
    pub fn to_json_string(&self) -> String {
        if self.is_undefined() {
            return String::new();
        }
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Converts to a `serde_json::Value` (which may reorder object keys; use
    /// [`Value::to_json_string`] when the order matters). `Undefined` members are dropped;
    /// a bare `Undefined` becomes `None`.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Undefined => return None,
            Value::Null => serde_json::Value::Null,
            Value::Boolean(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Decimal(d) => serde_json::Number::from_f64(*d)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(a) => {
                serde_json::Value::Array(a.iter().filter_map(Value::to_json).collect())
            }
            Value::Object(o) => serde_json::Value::Object(
                o.iter()
                    .filter_map(|(k, v)| v.to_json().map(|j| (k.to_string(), j)))
                    .collect(),
            ),
        })
    }

    /// Decodes JSON text, keeping object key order; `None` when the bytes are not JSON.
    pub fn from_json_slice(bytes: &[u8]) -> Option<Value> {
        serde_json::from_slice(bytes).ok()
    }

    /// With SQL 2016-03-23, numeric values that are whole numbers (such as `10.0`) are
    /// processed as Int values (*Data types*, Decimal). Applies that rule to this value and
    /// everything inside it.
    pub(crate) fn whole_decimals_to_int(&mut self) {
        match self {
            Value::Decimal(d) => {
                if let Some(i) = whole_to_i64(*d) {
                    *self = Value::Int(i);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(Value::whole_decimals_to_int),
            Value::Object(o) => o
                .entries
                .iter_mut()
                .for_each(|(_, v)| v.whole_decimals_to_int()),
            _ => {}
        }
    }
}

/// `d` as an i64 if it is whole and in range.
pub(crate) fn whole_to_i64(d: f64) -> Option<i64> {
    if d.fract() == 0.0 && d.abs() < 9.007_199_254_740_992e15 {
        Some(d as i64)
    } else {
        None
    }
}

/// `d` (already whole) as an i64 if in range.
pub(crate) fn f64_to_i64(d: f64) -> Option<i64> {
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d) {
        Some(d as i64)
    } else {
        None
    }
}

/// A Decimal's string form: shortest round-trip digits, scientific notation for very large or
/// small magnitudes (as JSON would print it).
pub(crate) fn decimal_to_string(d: f64) -> String {
    serde_json::Number::from_f64(d)
        .map(|n| n.to_string())
        .unwrap_or_else(|| d.to_string())
}

impl From<serde_json::Value> for Value {
    fn from(j: serde_json::Value) -> Self {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Boolean(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::decimal(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}

impl fmt::Display for Value {
    /// The JSON text of the value (empty for `Undefined`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Undefined => s.serialize_str(""),
            Value::Null => s.serialize_unit(),
            Value::Boolean(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Decimal(d) => {
                if d.is_finite() {
                    s.serialize_f64(*d)
                } else {
                    s.serialize_unit()
                }
            }
            Value::String(v) => s.serialize_str(v),
            Value::Array(a) => {
                let items: Vec<&Value> = a.iter().filter(|v| !v.is_undefined()).collect();
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let items: Vec<(&str, &Value)> =
                    o.iter().filter(|(_, v)| !v.is_undefined()).collect();
                let mut map = s.serialize_map(Some(items.len()))?;
                for (k, v) in items {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Decimal(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::decimal(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut o = Object::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            o.insert(k, v);
        }
        Ok(Value::Object(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_pattern_matches_aws_examples() {
        assert_eq!(decimal_string("0"), Some(0.0));
        assert_eq!(decimal_string("-1.2"), Some(-1.2));
        assert_eq!(decimal_string("5E-12"), Some(5e-12));
        assert_eq!(decimal_string("5e3"), Some(5000.0));
        for bad in ["", "-", "1.", ".5", "+1", "1e", "abc", " 1", "1 ", "0x10"] {
            assert_eq!(decimal_string(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn object_keeps_order_and_drops_undefined() {
        let v: Value = Value::from_json_slice(br#"{"b":1,"a":[1,2],"c":{"z":null}}"#).unwrap();
        assert_eq!(v.to_json_string(), r#"{"b":1,"a":[1,2],"c":{"z":null}}"#);
        let mut o = Object::new();
        o.insert("x", Value::Undefined);
        o.insert("y", Value::Int(1));
        assert_eq!(Value::Object(o).to_json_string(), r#"{"y":1}"#);
        assert_eq!(Value::Undefined.to_json_string(), "");
    }

    #[test]
    fn string_conversions() {
        assert_eq!(Value::Decimal(10.0).to_sql_string().unwrap(), "10.0");
        assert_eq!(Value::Boolean(false).to_sql_string().unwrap(), "false");
        assert_eq!(Value::Null.to_sql_string(), None);
        assert_eq!(
            Value::from_json_slice(br#"["a",1,null]"#)
                .unwrap()
                .to_sql_string()
                .unwrap(),
            r#"["a",1,null]"#
        );
    }
}
