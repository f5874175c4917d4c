//! Topic rule destinations (AWS IoT Developer Guide, *Working with HTTP topic rule
//! destinations*): HTTP URL destinations only, their state machine and the confirmation
//! handshake.
//!
//! A destination is created `IN_PROGRESS` with a random confirmation token; the server POSTs
//! the confirmation message to `confirmationUrl?confirmationToken=TOKEN` with the headers
//! `x-amz-rules-engine-message-type: DestinationConfirmation` and
//! `x-amz-rules-engine-destination-arn: ARN` and the JSON body [`ConfirmationMessage`]
//! (guide, *Managing HTTP topic rule destinations*). ConfirmTopicRuleDestination with the
//! token (or a GET of the `enableUrl`) makes it `ENABLED`. A POST that fails (no answer, or
//! a status other than 2xx) puts it in `ERROR` with a `statusReason`.
//!
//! Transitions (UpdateTopicRuleDestination): `ENABLED` ↔ `DISABLED`; `IN_PROGRESS` from any
//! state resends the confirmation with a new token; `ERROR` and `DELETING` cannot be asked
//! for. An http action may use a destination whose confirmation URL is a prefix of its URL
//! ([`Rules::destination_for_url`]).

use crate::error::RulesError;
use crate::registry::Rules;
use rusqlite::{Connection, params};
use serde::Serialize;
use std::str::FromStr;
use std::sync::Arc;
use thingwatch_aws::{Arn, IotKind, Scope};

/// `confirmationUrl`: at most this many characters (model `Url`, max=2000).
pub const MAX_URL_LEN: usize = 2000;
/// The path prefix of a destination's `enableUrl` (AWS: `https://iot.REGION.amazonaws.com
/// /confirmdestination/TOKEN`, the ConfirmTopicRuleDestination route).
pub const ENABLE_PATH: &str = "/confirmdestination/";

/// `TopicRuleDestinationStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DestinationStatus {
    /// Confirmed and usable by rules.
    Enabled,
    /// Created; the confirmation was sent and is awaited.
    InProgress,
    /// Confirmed but not usable until enabled again.
    Disabled,
    /// The confirmation could not be delivered (see `statusReason`).
    Error,
    /// Being deleted (never stored by Thingwatch: deletion is immediate).
    Deleting,
}

impl DestinationStatus {
    /// The wire value (`ENABLED`, `IN_PROGRESS`, `DISABLED`, `ERROR`, `DELETING`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::InProgress => "IN_PROGRESS",
            Self::Disabled => "DISABLED",
            Self::Error => "ERROR",
            Self::Deleting => "DELETING",
        }
    }
}

impl FromStr for DestinationStatus {
    type Err = RulesError;
    fn from_str(s: &str) -> Result<Self, RulesError> {
        Ok(match s {
            "ENABLED" => Self::Enabled,
            "IN_PROGRESS" => Self::InProgress,
            "DISABLED" => Self::Disabled,
            "ERROR" => Self::Error,
            "DELETING" => Self::Deleting,
            other => {
                return Err(RulesError::InvalidRequest(format!(
                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, IN_PROGRESS, DISABLED, ERROR, DELETING]"
                )));
            }
        })
    }
}

/// One HTTP topic rule destination (`TopicRuleDestination`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// `arn:aws:iot:REGION:ACCOUNT:ruledestination/http/UUID`.
    pub arn: String,
    /// `httpUrlProperties.confirmationUrl`.
    pub confirmation_url: String,
    /// `status`.
    pub status: DestinationStatus,
    /// `statusReason` (why it is in `ERROR`).
    pub status_reason: Option<String>,
    /// `createdAt`, epoch milliseconds.
    pub created_at_ms: i64,
    /// `lastUpdatedAt`, epoch milliseconds.
    pub last_updated_at_ms: i64,
    /// The current confirmation token (never answered by Get/List).
    pub(crate) token: String,
}

/// The JSON body POSTed to a confirmation URL (guide, *Managing HTTP topic rule
/// destinations*).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationMessage {
    /// The destination's ARN.
    pub arn: String,
    /// The token ConfirmTopicRuleDestination takes.
    pub confirmation_token: String,
    /// A URL that confirms the destination when fetched (GET, unsigned).
    pub enable_url: String,
    /// Always `DestinationConfirmation`.
    pub message_type: &'static str,
}

/// Checks a confirmation URL: an absolute `https://` (or, for loopback and test receivers,
/// `http://`) URL of at most [`MAX_URL_LEN`] characters.
///
/// # Errors
/// [`RulesError::InvalidRequest`].
pub fn check_url(url: &str) -> Result<(), RulesError> {
    if url.len() > MAX_URL_LEN {
        return Err(RulesError::InvalidRequest(format!(
            "1 validation error detected: Value at 'confirmationUrl' failed to satisfy constraint: Member must have length less than or equal to {MAX_URL_LEN}"
        )));
    }
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        _ => Err(RulesError::InvalidRequest(format!(
            "The confirmation URL {url} is not a valid HTTPS URL."
        ))),
    }
}

fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Destination, String)> {
    Ok((
        Destination {
            arn: r.get(0)?,
            confirmation_url: r.get(1)?,
            status: DestinationStatus::Error,
            status_reason: r.get(3)?,
            token: r.get(4)?,
            created_at_ms: r.get(5)?,
            last_updated_at_ms: r.get(6)?,
        },
        r.get(2)?,
    ))
}

const COLS: &str = "arn, confirmation_url, status, status_reason, token, created_ms, updated_ms";

/// Every stored destination, sorted by ARN.
pub(crate) fn load(conn: &Connection) -> Result<Vec<Arc<Destination>>, RulesError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLS} FROM destinations ORDER BY arn"))?;
    let rows = stmt.query_map([], row)?;
    let mut out = Vec::new();
    for r in rows {
        let (mut d, status) = r?;
        d.status = status.parse().unwrap_or(DestinationStatus::Error);
        out.push(Arc::new(d));
    }
    Ok(out)
}

/// Inserts a new `IN_PROGRESS` destination for `url`.
pub(crate) fn insert_new(
    conn: &Connection,
    scope: &Scope,
    url: &str,
    now_ms: i64,
) -> Result<Destination, RulesError> {
    let id = format!("http/{}", uuid::Uuid::new_v4());
    let d = Destination {
        arn: Arn::iot(scope, IotKind::RuleDestination, &id).to_string(),
        confirmation_url: url.to_owned(),
        status: DestinationStatus::InProgress,
        status_reason: None,
        created_at_ms: now_ms,
        last_updated_at_ms: now_ms,
        token: new_token(),
    };
    conn.execute(
        &format!("INSERT INTO destinations ({COLS}) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?5)"),
        params![
            d.arn,
            d.confirmation_url,
            d.status.as_str(),
            d.token,
            now_ms
        ],
    )?;
    Ok(d)
}

fn dest_not_found(arn: &str) -> RulesError {
    RulesError::NotFound(format!("Topic rule destination {arn} does not exist."))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Rules {
    /// CreateTopicRuleDestination (`httpUrlConfiguration.confirmationUrl`): a new
    /// `IN_PROGRESS` destination; its confirmation is sent.
    ///
    /// # Errors
    /// [`RulesError::InvalidRequest`] for a bad URL; [`RulesError::AlreadyExists`] when a
    /// destination has this confirmation URL; [`RulesError::Storage`].
    pub fn create_destination(
        &self,
        confirmation_url: &str,
        now_ms: i64,
    ) -> Result<Destination, RulesError> {
        check_url(confirmation_url)?;
        let db = self.inner.db.lock();
        if self
            .inner
            .destinations
            .load()
            .iter()
            .any(|d| d.confirmation_url == confirmation_url)
        {
            return Err(RulesError::AlreadyExists(format!(
                "A topic rule destination with confirmation URL {confirmation_url} already exists."
            )));
        }
        let d = insert_new(&db, &self.inner.scope, confirmation_url, now_ms)?;
        self.publish_destinations(&db, vec![Arc::new(d.clone())])?;
        Ok(d)
    }

    /// GetTopicRuleDestination.
    ///
    /// # Errors
    /// [`RulesError::NotFound`] (the API answers `InvalidRequestException`).
    pub fn get_destination(&self, arn: &str) -> Result<Arc<Destination>, RulesError> {
        self.inner
            .destinations
            .load()
            .iter()
            .find(|d| d.arn == arn)
            .cloned()
            .ok_or_else(|| dest_not_found(arn))
    }

    /// ListTopicRuleDestinations: every destination, sorted by ARN (the API paginates).
    pub fn list_destinations(&self) -> Arc<Vec<Arc<Destination>>> {
        self.inner.destinations.load_full()
    }

    /// The destination an http action with `url` uses: the one whose confirmation URL is
    /// the longest prefix of `url` (AWS: the action's URL must start with a destination's
    /// confirmation URL), in whatever state it is (the engine runs the action only when it
    /// is `ENABLED`).
    pub fn destination_for_url(&self, url: &str) -> Option<Destination> {
        self.inner
            .destinations
            .load()
            .iter()
            .filter(|d| url.starts_with(&d.confirmation_url))
            .max_by_key(|d| d.confirmation_url.len())
            .map(|d| Destination::clone(d))
    }

    /// ConfirmTopicRuleDestination (and the `enableUrl`): the destination holding `token`
    /// becomes `ENABLED` (again a no-op when it already is).
    ///
    /// # Errors
    /// [`RulesError::InvalidRequest`] for a token no destination holds;
    /// [`RulesError::Storage`].
    pub fn confirm_destination(&self, token: &str, now_ms: i64) -> Result<(), RulesError> {
        let db = self.inner.db.lock();
        let found = self
            .inner
            .destinations
            .load()
            .iter()
            .find(|d| d.token == token)
            .cloned();
        let Some(d) = found else {
            return Err(RulesError::InvalidRequest(
                "The confirmation token is not valid.".into(),
            ));
        };
        match d.status {
            DestinationStatus::Enabled => return Ok(()),
            DestinationStatus::InProgress | DestinationStatus::Error => {}
            other => {
                return Err(RulesError::InvalidRequest(format!(
                    "The topic rule destination {} is {} and cannot be confirmed.",
                    d.arn,
                    other.as_str()
                )));
            }
        }
        db.execute(
            "UPDATE destinations SET status = 'ENABLED', status_reason = NULL, updated_ms = ?2
             WHERE arn = ?1",
            params![d.arn, now_ms],
        )?;
        self.publish_destinations(&db, Vec::new())
    }

    /// UpdateTopicRuleDestination: `ENABLED` (from `DISABLED`), `DISABLED` (from `ENABLED`),
    /// `IN_PROGRESS` (from any state: a new token, the confirmation resent). Asking for the
    /// state it is in is a no-op.
    ///
    /// # Errors
    /// [`RulesError::NotFound`] (the API answers `InvalidRequestException`);
    /// [`RulesError::InvalidRequest`] for `ERROR`, `DELETING` or a transition AWS does not
    /// allow; [`RulesError::Storage`].
    pub fn update_destination(
        &self,
        arn: &str,
        status: DestinationStatus,
        now_ms: i64,
    ) -> Result<(), RulesError> {
        use DestinationStatus as S;
        let db = self.inner.db.lock();
        let d = self.get_destination(arn)?;
        let refuse = || {
            Err(RulesError::InvalidRequest(format!(
                "The topic rule destination {arn} cannot go from {} to {}.",
                d.status.as_str(),
                status.as_str()
            )))
        };
        match (d.status, status) {
            (S::Enabled, S::Disabled) | (S::Disabled, S::Enabled) => {
                db.execute(
                    "UPDATE destinations SET status = ?2, updated_ms = ?3 WHERE arn = ?1",
                    params![arn, status.as_str(), now_ms],
                )?;
                self.publish_destinations(&db, Vec::new())?;
            }
            (S::Enabled, S::Enabled) | (S::Disabled, S::Disabled) => {}
            (_, S::InProgress) => {
                let token = new_token();
                db.execute(
                    "UPDATE destinations SET status = 'IN_PROGRESS', status_reason = NULL,
                     token = ?2, updated_ms = ?3 WHERE arn = ?1",
                    params![arn, token, now_ms],
                )?;
                let mut resend = Destination::clone(&d);
                resend.token = token;
                resend.status = S::InProgress;
                self.publish_destinations(&db, vec![Arc::new(resend)])?;
            }
            _ => return refuse(),
        }
        Ok(())
    }

    /// DeleteTopicRuleDestination.
    ///
    /// # Errors
    /// [`RulesError::NotFound`] (the API answers `InvalidRequestException`);
    /// [`RulesError::Storage`].
    pub fn delete_destination(&self, arn: &str) -> Result<(), RulesError> {
        let db = self.inner.db.lock();
        let n = db.execute("DELETE FROM destinations WHERE arn = ?1", params![arn])?;
        if n == 0 {
            return Err(dest_not_found(arn));
        }
        self.publish_destinations(&db, Vec::new())
    }

    /// The confirmation message of `d` (its `enableUrl` under
    /// [`crate::RulesSettings::enable_base_url`]).
    pub fn confirmation_message(&self, d: &Destination) -> ConfirmationMessage {
        ConfirmationMessage {
            arn: d.arn.clone(),
            confirmation_token: d.token.clone(),
            enable_url: format!(
                "{}{ENABLE_PATH}{}",
                self.inner.settings.enable_base_url.trim_end_matches('/'),
                d.token
            ),
            message_type: "DestinationConfirmation",
        }
    }

    /// POSTs `d`'s confirmation on the runtime given to [`Rules::with_http`] (nothing without
    /// it); a failure puts the destination in `ERROR`.
    pub(crate) fn send_confirmation(&self, d: &Destination) {
        let Some((handle, client)) = self.inner.http.get() else {
            tracing::debug!(arn = %d.arn, "no HTTP client: destination confirmation not sent");
            return;
        };
        let msg = self.confirmation_message(d);
        let url = d.confirmation_url.clone();
        let request = client
            .post(&url)
            .query(&[("confirmationToken", msg.confirmation_token.as_str())])
            .header("x-amz-rules-engine-message-type", "DestinationConfirmation")
            .header("x-amz-rules-engine-destination-arn", msg.arn.as_str())
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&msg).unwrap_or_default());
        let rules = self.clone();
        let token = msg.confirmation_token.clone();
        let arn = msg.arn;
        handle.spawn(async move {
            let reason = match request.send().await {
                Ok(resp) if resp.status().is_success() => return,
                Ok(resp) => format!(
                    "The confirmation URL answered HTTP {}.",
                    resp.status().as_u16()
                ),
                Err(e) => format!("The confirmation request failed: {e}"),
            };
            tracing::warn!(%arn, %url, %reason, "topic rule destination confirmation failed");
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = rules.mark_error(&arn, &token, &reason) {
                    tracing::error!(%arn, error = %e, "cannot record the destination's error");
                }
            })
            .await;
        });
    }

    /// Puts the destination in `ERROR` if it still waits for the confirmation with `token`.
    fn mark_error(&self, arn: &str, token: &str, reason: &str) -> Result<(), RulesError> {
        let db = self.inner.db.lock();
        let n = db.execute(
            "UPDATE destinations SET status = 'ERROR', status_reason = ?3, updated_ms = ?4
             WHERE arn = ?1 AND token = ?2 AND status = 'IN_PROGRESS'",
            params![arn, token, reason, now_ms()],
        )?;
        if n > 0 {
            self.publish_destinations(&db, Vec::new())?;
        }
        Ok(())
    }

    /// The confirmation token of destination `arn` (what the confirmation message carries;
    /// for tests and tools that confirm without a receiver).
    ///
    /// # Errors
    /// [`RulesError::NotFound`].
    pub fn confirmation_token(&self, arn: &str) -> Result<String, RulesError> {
        Ok(self.get_destination(arn)?.token.clone())
    }
}
