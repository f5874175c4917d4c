//! Shadow document semantics, with no I/O: parsing and validating an update request, merging
//! it into the stored `desired`/`reported` state and its metadata, computing `delta`, and
//! building the exact response payloads (`accepted`, `delta`, `documents`, `get`).
//!
//! Sources (AWS IoT Developer Guide): *Device Shadow service documents* (document properties,
//! empty sections, arrays, client tokens), *Interacting with shadows* (update, delete of a
//! property with `null`, optimistic locking), *Device Shadow MQTT topics* (`/update/delta`
//! contents), *Device Shadow error messages* (message texts); the AWS-verified tests of
//! `getmoto/moto` `tests/test_iotdata/test_iotdata.py` (e.g. `{"state": null}`).

use crate::error::{ShadowError, ShadowErrorKind};
use crate::limits::{MAX_CLIENT_TOKEN_BYTES, ShadowLimits};
use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) const DESIRED: &str = "desired";
pub(crate) const REPORTED: &str = "reported";
const SECTIONS: [&str; 2] = [DESIRED, REPORTED];

/// A stored shadow: `state` holds only non-empty `desired` / `reported` objects; `metadata`
/// mirrors them with `{"timestamp": <epoch s>}` per leaf (arrays: one entry per element).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Document {
    pub state: Map<String, Value>,
    pub metadata: Map<String, Value>,
}

/// A validated update request.
#[derive(Debug)]
pub(crate) struct UpdateRequest {
    /// The request's `state` exactly as sent (echoed in `/update/accepted`).
    pub state: Value,
    /// The `clientToken`, if any.
    pub client_token: Option<String>,
    /// The expected current version, if any.
    pub version: Option<u64>,
}

/// Parses and validates an update payload. Order of checks: size (413), UTF-8 (415), JSON
/// (400 `Invalid JSON`), `clientToken` (400 `Invalid clientToken`), then — with the token
/// attached to every later error — `version` (400 `Invalid version`), `state` presence and
/// types (400), unknown state nodes (400 `State contains an invalid node: 'x'`), `null` in
/// arrays (400 `Invalid JSON`) and nesting depth (400).
pub(crate) fn parse_update(
    payload: &[u8],
    limits: &ShadowLimits,
) -> Result<UpdateRequest, ShadowError> {
    if payload.len() > limits.max_request_bytes {
        return Err(too_large());
    }
    let text = std::str::from_utf8(payload).map_err(|_| {
        ShadowError::new(
            ShadowErrorKind::UnsupportedEncoding,
            "Unsupported documented encoding; supported encoding is UTF-8",
        )
    })?;
    let root: Value =
        serde_json::from_str(text).map_err(|_| ShadowError::invalid("Invalid JSON"))?;
    let Value::Object(mut root) = root else {
        return Err(ShadowError::invalid("Invalid JSON"));
    };
    let client_token = client_token(&root)?;
    let token = client_token.as_deref();
    let version = match root.get("version") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| ShadowError::invalid("Invalid version").with_client_token(token))?,
        ),
    };
    let Some(state) = root.remove("state") else {
        return Err(ShadowError::invalid("Missing required node: state").with_client_token(token));
    };
    match &state {
        Value::Null => {}
        Value::Object(sections) => {
            for (key, value) in sections {
                let (is_section, kind) = match key.as_str() {
                    DESIRED => (true, "Desired"),
                    REPORTED => (true, "Reported"),
                    _ => (false, ""),
                };
                if !is_section {
                    return Err(ShadowError::invalid(format!(
                        "State contains an invalid node: '{key}'"
                    ))
                    .with_client_token(token));
                }
                if !matches!(value, Value::Object(_) | Value::Null) {
                    return Err(
                        ShadowError::invalid(format!("{kind} node must be an object"))
                            .with_client_token(token),
                    );
                }
            }
            if has_null_in_array(&state, false) {
                return Err(ShadowError::invalid("Invalid JSON").with_client_token(token));
            }
            if depth(&state) > limits.max_state_depth {
                return Err(ShadowError::invalid(format!(
                    "JSON contains too many levels of nesting; maximum is {}",
                    limits.max_state_depth
                ))
                .with_client_token(token));
            }
        }
        _ => {
            return Err(
                ShadowError::invalid("State node must be an object").with_client_token(token)
            );
        }
    }
    Ok(UpdateRequest {
        state,
        client_token,
        version,
    })
}

/// Reads an optional `clientToken` from a request object: a string of at most 64 bytes.
/// Errors: 400 `Invalid clientToken`.
pub(crate) fn client_token(root: &Map<String, Value>) -> Result<Option<String>, ShadowError> {
    match root.get("clientToken") {
        None => Ok(None),
        Some(Value::String(t)) if t.len() <= MAX_CLIENT_TOKEN_BYTES => Ok(Some(t.clone())),
        Some(_) => Err(ShadowError::invalid("Invalid clientToken")),
    }
}

/// Checks a caller-supplied `clientToken` (MQTT get/delete payloads). Errors: 400.
pub(crate) fn check_client_token(token: Option<&str>) -> Result<(), ShadowError> {
    match token {
        Some(t) if t.len() > MAX_CLIENT_TOKEN_BYTES => {
            Err(ShadowError::invalid("Invalid clientToken"))
        }
        _ => Ok(()),
    }
}

pub(crate) fn too_large() -> ShadowError {
    ShadowError::new(
        ShadowErrorKind::PayloadTooLarge,
        "The payload exceeds the maximum size allowed",
    )
}

/// Nesting depth: every object or array counts one level; scalars count none.
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether a `null` appears as an array element anywhere ("Arrays can't have null values").
fn has_null_in_array(value: &Value, in_array: bool) -> bool {
    match value {
        Value::Null => in_array,
        Value::Object(map) => map.values().any(|v| has_null_in_array(v, false)),
        Value::Array(items) => items.iter().any(|v| has_null_in_array(v, true)),
        _ => false,
    }
}

/// The metadata mirror of a request value: a scalar or `null` becomes
/// `{"timestamp": ts}`, an object maps member-wise, an array element-wise.
pub(crate) fn metadata_of(value: &Value, ts: i64) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), metadata_of(v, ts)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| metadata_of(v, ts)).collect()),
        _ => timestamp_leaf(ts),
    }
}

fn timestamp_leaf(ts: i64) -> Value {
    let mut leaf = Map::new();
    leaf.insert("timestamp".to_string(), Value::from(ts));
    Value::Object(leaf)
}

/// Merges `patch` into `state` and keeps `meta` in step: `null` removes a member, an object
/// merges recursively (replacing a non-object), anything else (scalars, arrays) replaces the
/// member whole and gets fresh metadata.
fn merge(
    state: &mut Map<String, Value>,
    meta: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    ts: i64,
) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                state.remove(key);
                meta.remove(key);
            }
            Value::Object(sub_patch) => {
                if !matches!(state.get(key), Some(Value::Object(_))) {
                    state.insert(key.clone(), Value::Object(Map::new()));
                    meta.insert(key.clone(), Value::Object(Map::new()));
                }
                if !matches!(meta.get(key), Some(Value::Object(_))) {
                    meta.insert(key.clone(), Value::Object(Map::new()));
                }
                if let (Some(Value::Object(sub_state)), Some(Value::Object(sub_meta))) =
                    (state.get_mut(key), meta.get_mut(key))
                {
                    merge(sub_state, sub_meta, sub_patch, ts);
                }
            }
            other => {
                state.insert(key.clone(), other.clone());
                meta.insert(key.clone(), metadata_of(other, ts));
            }
        }
    }
}

impl Document {
    /// Applies a validated request `state` at `ts` (epoch s): `null` clears both sections;
    /// `"desired": null` / `"reported": null` removes that section; an object merges into it.
    /// A section left empty is removed. Returns the request's metadata mirror (the
    /// `metadata` of `/update/accepted`).
    pub fn apply(&mut self, state: &Value, ts: i64) -> Value {
        let Value::Object(sections) = state else {
            self.state.clear();
            self.metadata.clear();
            return timestamp_leaf(ts);
        };
        for section in SECTIONS {
            match sections.get(section) {
                None => {}
                Some(Value::Object(patch)) => {
                    let mut sec_state = match self.state.remove(section) {
                        Some(Value::Object(m)) => m,
                        _ => Map::new(),
                    };
                    let mut sec_meta = match self.metadata.remove(section) {
                        Some(Value::Object(m)) => m,
                        _ => Map::new(),
                    };
                    merge(&mut sec_state, &mut sec_meta, patch, ts);
                    if !sec_state.is_empty() {
                        self.state
                            .insert(section.to_string(), Value::Object(sec_state));
                        self.metadata
                            .insert(section.to_string(), Value::Object(sec_meta));
                    }
                }
                Some(_) => {
                    self.state.remove(section);
                    self.metadata.remove(section);
                }
            }
        }
        metadata_of(state, ts)
    }

    fn section(&self, name: &str) -> Option<&Map<String, Value>> {
        match self.state.get(name) {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// Bytes of `desired` + `reported` as compact JSON (what the 8 KB limit counts).
    pub fn state_bytes(&self) -> usize {
        SECTIONS
            .iter()
            .filter_map(|s| self.state.get(*s))
            .map(|v| serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX))
            .fold(0usize, usize::saturating_add)
    }

    /// The delta: `desired` members that differ from `reported` (see [`delta`]); `None` when
    /// there is no `desired` or no difference.
    pub fn delta(&self) -> Option<Map<String, Value>> {
        let desired = self.section(DESIRED)?;
        let d = delta(desired, self.section(REPORTED));
        (!d.is_empty()).then_some(d)
    }

    /// The metadata of a delta: the `desired` metadata of each member the delta contains.
    pub fn delta_metadata(&self, delta: &Map<String, Value>) -> Map<String, Value> {
        match self.metadata.get(DESIRED) {
            Some(Value::Object(meta)) => delta_metadata(delta, meta),
            _ => Map::new(),
        }
    }
}

/// `desired` members that differ from `reported`: a member missing from `reported` is
/// included; two objects are compared member-wise (only differing members included); any
/// other pair (scalars, arrays, mixed types) is included whole when unequal, numbers compared
/// by value (`1` equals `1.0`). Members only in `reported` are never included.
pub(crate) fn delta(
    desired: &Map<String, Value>,
    reported: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, want) in desired {
        match reported.and_then(|r| r.get(key)) {
            None => {
                out.insert(key.clone(), want.clone());
            }
            Some(have) => match (want, have) {
                (Value::Object(w), Value::Object(h)) => {
                    let sub = delta(w, Some(h));
                    if !sub.is_empty() {
                        out.insert(key.clone(), Value::Object(sub));
                    }
                }
                _ => {
                    if !values_equal(want, have) {
                        out.insert(key.clone(), want.clone());
                    }
                }
            },
        }
    }
    out
}

/// JSON equality with numbers compared by value.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| values_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn delta_metadata(delta: &Map<String, Value>, meta: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in delta {
        match (value, meta.get(key)) {
            (Value::Object(sub), Some(Value::Object(sub_meta))) => {
                out.insert(key.clone(), Value::Object(delta_metadata(sub, sub_meta)));
            }
            (_, Some(m)) => {
                out.insert(key.clone(), m.clone());
            }
            (_, None) => {}
        }
    }
    out
}

/// `/update/accepted` and the UpdateThingShadow response.
#[derive(Serialize)]
pub(crate) struct AcceptedPayload<'a> {
    pub state: &'a Value,
    pub metadata: &'a Value,
    pub version: u64,
    pub timestamp: i64,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    pub client_token: Option<&'a str>,
}

/// `/update/delta`.
#[derive(Serialize)]
pub(crate) struct DeltaPayload<'a> {
    pub version: u64,
    pub timestamp: i64,
    pub state: &'a Map<String, Value>,
    pub metadata: &'a Map<String, Value>,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    pub client_token: Option<&'a str>,
}

/// One side of `/update/documents`.
#[derive(Serialize)]
pub(crate) struct Snapshot<'a> {
    pub state: &'a Map<String, Value>,
    pub metadata: &'a Map<String, Value>,
    pub version: u64,
}

/// `/update/documents`.
#[derive(Serialize)]
pub(crate) struct DocumentsPayload<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Snapshot<'a>>,
    pub current: Snapshot<'a>,
    pub timestamp: i64,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    pub client_token: Option<&'a str>,
}

/// `/get/accepted` and the GetThingShadow response.
#[derive(Serialize)]
pub(crate) struct GetPayload<'a> {
    pub state: Map<String, Value>,
    pub metadata: &'a Map<String, Value>,
    pub version: u64,
    pub timestamp: i64,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    pub client_token: Option<&'a str>,
}

/// `/delete/accepted` and the DeleteThingShadow response.
#[derive(Serialize)]
pub(crate) struct DeletePayload<'a> {
    pub version: u64,
    pub timestamp: i64,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    pub client_token: Option<&'a str>,
}

/// Serialises a payload struct (cannot fail for these types; a failure yields `500`).
pub(crate) fn to_bytes<T: Serialize>(payload: &T) -> Result<Vec<u8>, ShadowError> {
    serde_json::to_vec(payload).map_err(|e| ShadowError::internal(&e))
}
