//! [`ShadowService`]: the Device Shadow operations (UpdateThingShadow, GetThingShadow,
//! DeleteThingShadow, ListNamedShadowsForThing) over the SQLite store, returning the exact
//! payloads AWS publishes or returns. Transport-agnostic: MQTT and HTTP call the same methods.
//!
//! **Architecture Invariant:** every operation on the database runs under one mutex, inside
//! one transaction, so concurrent updates to a shadow are serialised (no lost update, each
//! version is produced once) and a returned call is durable.

use crate::document::{
    self, AcceptedPayload, DeletePayload, DeltaPayload, DocumentsPayload, GetPayload, Snapshot,
    to_bytes,
};
use crate::error::{ShadowError, ShadowErrorKind};
use crate::limits::{MAX_LIST_PAGE_SIZE, ShadowLimits};
use crate::names;
use crate::store::{self, Row};
use parking_lot::Mutex;
use rusqlite::Connection;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use thingwatch_aws::page_token::{self, Alphabet};

/// The Device Shadow service: classic and named shadows of any thing name (a shadow does not
/// need a registered thing), stored in `dir/shadows.db`. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct ShadowService {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    limits: ShadowLimits,
}

/// The result of an accepted UpdateThingShadow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// The `/update/accepted` payload and HTTP response body:
    /// `{state: <request state as sent>, metadata: <its timestamps>, version, timestamp,
    /// clientToken?}`.
    pub accepted: Vec<u8>,
    /// The `/update/delta` payload `{version, timestamp, state: <delta>, metadata, clientToken?}`
    /// — present when `desired` differs from `reported` after the update (published for HTTP
    /// updates too).
    pub delta: Option<Vec<u8>>,
    /// The `/update/documents` payload `{previous?, current, timestamp, clientToken?}`, each
    /// side `{state, metadata, version}`; `previous` is absent when the update created the
    /// shadow.
    pub documents: Vec<u8>,
    /// The shadow's new version.
    pub version: u64,
}

/// One page of ListNamedShadowsForThing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPage {
    /// Shadow names in ascending order (the classic shadow is never listed).
    pub results: Vec<String>,
    /// Token for the next page; `None` on the last page.
    pub next_token: Option<String>,
}

#[derive(Serialize)]
struct ListPayload<'a> {
    results: &'a [String],
    #[serde(rename = "nextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
    timestamp: i64,
}

impl NamedPage {
    /// The HTTP response body `{"results":[…],"nextToken"?:…,"timestamp":<epoch s>}`.
    pub fn payload(&self, now_ms: i64) -> Vec<u8> {
        let body = ListPayload {
            results: &self.results,
            next_token: self.next_token.as_deref(),
            timestamp: now_ms.div_euclid(1000),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

fn seconds(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000)
}

fn not_found(thing: &str, shadow: Option<&str>) -> ShadowError {
    // Real AWS names a named shadow as `thing~shadow` in this message.
    let name = match shadow {
        None => thing.to_string(),
        Some(s) => format!("{thing}~{s}"),
    };
    ShadowError::new(
        ShadowErrorKind::NotFound,
        format!("No shadow exists with name: '{name}'"),
    )
}

/// The tag of ListNamedShadowsForThing tokens ([`thingwatch_aws::page_token`]).
const LIST_TAG: &str = "named-shadows";

fn encode_token(name: &str) -> String {
    page_token::encode(Alphabet::UrlSafe, LIST_TAG, &[name])
}

fn decode_token(token: &str) -> Option<String> {
    page_token::decode_one(Alphabet::UrlSafe, LIST_TAG, token).ok()
}

impl ShadowService {
    /// Opens (creating if needed) `dir/shadows.db`. Errors: 500 when the directory or database
    /// cannot be opened or has an unknown schema version.
    pub fn open(dir: &Path, limits: ShadowLimits) -> Result<ShadowService, ShadowError> {
        let conn = store::open(dir)?;
        Ok(ShadowService {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                limits,
            }),
        })
    }

    /// The limits this service enforces.
    pub fn limits(&self) -> &ShadowLimits {
        &self.inner.limits
    }

    /// The current version of a stored row, as the base of the next update: a live shadow's
    /// version; a tombstone younger than the retention its deleted version; otherwise 0.
    fn base_version(&self, row: Option<&Row>, now_ms: i64) -> u64 {
        match row {
            Some(Row {
                deleted_ms: None,
                version,
                ..
            }) => *version,
            Some(Row {
                deleted_ms: Some(at),
                version,
                ..
            }) if now_ms.saturating_sub(*at) <= self.inner.limits.tombstone_retention_ms => {
                *version
            }
            _ => 0,
        }
    }

    /// UpdateThingShadow (MQTT `…/update`, HTTP `POST /things/{thing}/shadow[?name=]`):
    /// creates the shadow if needed, merges `state.desired` / `state.reported`, increments the
    /// version. `now_ms` is epoch milliseconds; payload timestamps are epoch seconds.
    ///
    /// Errors (each carrying the request's `clientToken` when it could be read): 400 invalid
    /// names, JSON, node types, `version`, `clientToken`, nesting; 409 `Version conflict` when
    /// `version` is given and is not the current version (for a shadow that does not exist the
    /// current version is 0, or the deleted version within 48 h); 413 over the request or
    /// state size limit; 415 not UTF-8; 500 storage.
    pub fn update(
        &self,
        thing: &str,
        shadow: Option<&str>,
        payload: &[u8],
        now_ms: i64,
    ) -> Result<UpdateOutcome, ShadowError> {
        names::validate(thing, shadow)?;
        let request = document::parse_update(payload, &self.inner.limits)?;
        let token = request.client_token.as_deref();
        let ts = seconds(now_ms);
        let name = shadow.unwrap_or("");

        let mut conn = self.inner.conn.lock();
        let tx = conn
            .transaction()
            .map_err(|e| ShadowError::from(e).with_client_token(token))?;
        let row = store::load(&tx, thing, name).map_err(|e| e.with_client_token(token))?;
        let base = self.base_version(row.as_ref(), now_ms);
        if request.version.is_some_and(|v| v != base) {
            return Err(
                ShadowError::new(ShadowErrorKind::Conflict, "Version conflict")
                    .with_client_token(token),
            );
        }
        let previous = match row {
            Some(Row {
                deleted_ms: None,
                doc,
                version,
            }) => Some((doc, version)),
            _ => None,
        };
        let mut doc = previous
            .as_ref()
            .map(|(d, _)| d.clone())
            .unwrap_or_default();
        let metadata_patch = doc.apply(&request.state, ts);
        if doc.state_bytes() > self.inner.limits.max_state_bytes {
            return Err(document::too_large().with_client_token(token));
        }
        let version = base + 1;
        store::save(&tx, thing, name, version, &doc).map_err(|e| e.with_client_token(token))?;
        tx.commit()
            .map_err(|e| ShadowError::from(e).with_client_token(token))?;
        drop(conn);

        let accepted = to_bytes(&AcceptedPayload {
            state: &request.state,
            metadata: &metadata_patch,
            version,
            timestamp: ts,
            client_token: token,
        })?;
        let delta = match doc.delta() {
            Some(delta) => {
                let metadata = doc.delta_metadata(&delta);
                Some(to_bytes(&DeltaPayload {
                    version,
                    timestamp: ts,
                    state: &delta,
                    metadata: &metadata,
                    client_token: token,
                })?)
            }
            None => None,
        };
        let documents = to_bytes(&DocumentsPayload {
            previous: previous.as_ref().map(|(d, v)| Snapshot {
                state: &d.state,
                metadata: &d.metadata,
                version: *v,
            }),
            current: Snapshot {
                state: &doc.state,
                metadata: &doc.metadata,
                version,
            },
            timestamp: ts,
            client_token: token,
        })?;
        Ok(UpdateOutcome {
            accepted,
            delta,
            documents,
            version,
        })
    }

    /// GetThingShadow (MQTT `…/get`, HTTP `GET /things/{thing}/shadow[?name=]`): the
    /// `/get/accepted` payload `{state: {desired?, reported?, delta?}, metadata: {desired?,
    /// reported?}, version, timestamp, clientToken?}`. `client_token` is the MQTT request's
    /// `clientToken` (HTTP has none).
    ///
    /// Errors: 400 invalid names or token; 404 `No shadow exists with name: 'thing'` (named:
    /// `'thing~shadow'`) when the shadow does not exist or was deleted; 500 storage.
    pub fn get(
        &self,
        thing: &str,
        shadow: Option<&str>,
        client_token: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<u8>, ShadowError> {
        names::validate(thing, shadow)?;
        document::check_client_token(client_token)?;
        let row = {
            let conn = self.inner.conn.lock();
            store::load(&conn, thing, shadow.unwrap_or(""))
                .map_err(|e| e.with_client_token(client_token))?
        };
        let Some(Row {
            version,
            doc,
            deleted_ms: None,
        }) = row
        else {
            return Err(not_found(thing, shadow).with_client_token(client_token));
        };
        let mut state = doc.state.clone();
        if let Some(delta) = doc.delta() {
            state.insert("delta".to_string(), serde_json::Value::Object(delta));
        }
        to_bytes(&GetPayload {
            state,
            metadata: &doc.metadata,
            version,
            timestamp: seconds(now_ms),
            client_token,
        })
    }

    /// DeleteThingShadow (MQTT `…/delete`, HTTP `DELETE /things/{thing}/shadow[?name=]`): the
    /// `/delete/accepted` payload `{version: <the deleted version>, timestamp, clientToken?}`.
    /// The version is remembered for 48 h, so a re-created shadow continues from it.
    ///
    /// Errors: 400 invalid names or token; 404 as for [`ShadowService::get`]; 500 storage.
    pub fn delete(
        &self,
        thing: &str,
        shadow: Option<&str>,
        client_token: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<u8>, ShadowError> {
        names::validate(thing, shadow)?;
        document::check_client_token(client_token)?;
        let name = shadow.unwrap_or("");
        let version = {
            let mut conn = self.inner.conn.lock();
            let tx = conn
                .transaction()
                .map_err(|e| ShadowError::from(e).with_client_token(client_token))?;
            let row =
                store::load(&tx, thing, name).map_err(|e| e.with_client_token(client_token))?;
            let version = match row {
                Some(Row {
                    version,
                    deleted_ms: None,
                    ..
                }) => version,
                _ => return Err(not_found(thing, shadow).with_client_token(client_token)),
            };
            store::tombstone(&tx, thing, name, now_ms)
                .map_err(|e| e.with_client_token(client_token))?;
            tx.commit()
                .map_err(|e| ShadowError::from(e).with_client_token(client_token))?;
            version
        };
        to_bytes(&DeletePayload {
            version,
            timestamp: seconds(now_ms),
            client_token,
        })
    }

    /// ListNamedShadowsForThing (HTTP `GET /api/things/shadow/ListNamedShadowsForThing/{thing}`):
    /// live named shadows of `thing` in name order, `page_size` (1–100) per page; an unknown
    /// thing gives an empty page. `next_token` is a token from a previous page.
    ///
    /// Errors: 400 invalid thing name, `pageSize` out of range, or a token this service did
    /// not issue; 500 storage.
    pub fn list_named(
        &self,
        thing: &str,
        next_token: Option<&str>,
        page_size: usize,
    ) -> Result<NamedPage, ShadowError> {
        names::validate_thing_name(thing)?;
        if !(1..=MAX_LIST_PAGE_SIZE).contains(&page_size) {
            return Err(ShadowError::invalid(format!(
                "1 validation error detected: Value '{page_size}' at 'pageSize' failed to \
                 satisfy constraint: Member must have value between 1 and {MAX_LIST_PAGE_SIZE}"
            )));
        }
        let after = match next_token {
            None => String::new(),
            Some(t) => {
                decode_token(t).ok_or_else(|| ShadowError::invalid("The nextToken is invalid"))?
            }
        };
        let mut results = {
            let conn = self.inner.conn.lock();
            store::list_named(&conn, thing, &after, page_size + 1)?
        };
        let next_token = if results.len() > page_size {
            results.truncate(page_size);
            results.last().map(|n| encode_token(n))
        } else {
            None
        };
        Ok(NamedPage {
            results,
            next_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        for name in ["a", "$package", "x:y_z-1"] {
            assert_eq!(decode_token(&encode_token(name)).as_deref(), Some(name));
        }
        let foreign = page_token::encode(Alphabet::UrlSafe, "things", &["a"]);
        for bad in ["", "0", "zz", "2f", "c3", foreign.as_str()] {
            assert_eq!(decode_token(bad), None, "{bad}");
        }
    }
}
