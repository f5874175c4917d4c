//! `thingwatch-sns`: the Amazon SNS subset CloudWatch alarms need — standard topics,
//! `http`/`https` subscriptions with AWS's confirmation handshake, and `Publish` with signed,
//! retried deliveries. No HTTP server here (the `sns` API is `thingwatch-sns-api`); an HTTP
//! client delivers.
//!
//! Code map: `store` (`DATA_DIR/sns/sns.db`), `signer` (the RSA key and self-signed
//! certificate in `DATA_DIR/sns/`, the canonical string), `delivery` (the `sns-deliveries`
//! queue, the worker, the [`DeliveryPolicy`] and [`DeliveryStats`]).
//!
//! The Rust entry point for other components (CloudWatch alarm actions) is [`Sns::publish`].
//!
//! Semantics follow the Amazon SNS API Reference (CreateTopic, DeleteTopic, ListTopics,
//! Subscribe, ConfirmSubscription, ListSubscriptions, ListSubscriptionsByTopic, Unsubscribe,
//! Publish). Out of scope: FIFO topics, protocols other than `http`/`https`, attributes,
//! filter policies, raw message delivery.

mod delivery;
mod signer;
mod store;

pub use delivery::{DELIVERY_QUEUE_CAPACITY, DeliveryPolicy, DeliveryStats, outbound_client};
pub use signer::{SIGNATURE_VERSION, SIGNING_CERT_FILE, canonical_string};

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::Connection;
use thingwatch_aws::arn::{Arn, Scope};
use thingwatch_aws::error::{ApiError, ErrorCode};

use delivery::{Body, Counters, Delivery};
use signer::Signer;

/// Topics and subscriptions per page of ListTopics / ListSubscriptions(ByTopic) (AWS: 100).
pub const PAGE_SIZE: usize = 100;
/// The largest `Message` Publish accepts, in bytes (AWS: 256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// The longest `Subject`, in characters (AWS: 100).
pub const MAX_SUBJECT_CHARS: usize = 100;
/// The longest topic name (AWS: 256 characters of `[A-Za-z0-9_-]`).
pub const MAX_TOPIC_NAME: usize = 256;
/// What ListSubscriptions answers as the ARN of an unconfirmed subscription.
pub const PENDING_CONFIRMATION: &str = "PendingConfirmation";

/// An SNS failure, mapped to the awsQuery error AWS answers by [`SnsError::to_api_error`].
#[derive(Debug, thiserror::Error)]
pub enum SnsError {
    /// `NotFound` (404): the topic or subscription does not exist.
    #[error("{0}")]
    NotFound(String),
    /// `InvalidParameter` (400): a bad name, protocol, endpoint, token, message or subject.
    #[error("{0}")]
    InvalidParameter(String),
    /// `InternalError` (500): storage or signing failed (the cause is logged).
    #[error("{0}")]
    Internal(String),
}

impl SnsError {
    /// The AWS error for this failure (internal causes are logged, not sent).
    pub fn to_api_error(&self) -> ApiError {
        match self {
            SnsError::NotFound(m) => ApiError::new(ErrorCode::SnsNotFound, m.clone()),
            SnsError::InvalidParameter(m) => {
                ApiError::new(ErrorCode::SnsInvalidParameter, m.clone())
            }
            SnsError::Internal(m) => {
                tracing::error!("sns: {m}");
                ApiError::new(ErrorCode::SnsInternalError, "Internal Error")
            }
        }
    }
}

/// Where the domain lives and how it delivers.
#[derive(Clone, Debug)]
pub struct SnsSettings {
    /// The account topics belong to.
    pub account_id: String,
    /// The region in topic ARNs.
    pub region: String,
    /// The base URL receivers reach this server's HTTP port at (`http://127.0.0.1:4566`), for
    /// `SubscribeURL`, `UnsubscribeURL` and `SigningCertURL`.
    pub base_url: String,
    /// Retries and timeouts of HTTP/S deliveries.
    pub delivery: DeliveryPolicy,
    /// Certificate authorities trusted for `https` endpoints besides the system's roots
    /// (the server's own CA, an operator's private CA), DER.
    pub trusted_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
}

/// A topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    /// `arn:aws:sns:REGION:ACCOUNT:NAME`.
    pub arn: String,
    /// The name.
    pub name: String,
}

/// A subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The topic ARN + `:` + a UUID (assigned at Subscribe; reported as
    /// [`PENDING_CONFIRMATION`] until confirmed).
    pub arn: String,
    /// The topic.
    pub topic_arn: String,
    /// `http` or `https`.
    pub protocol: String,
    /// The endpoint URL.
    pub endpoint: String,
    /// The confirmation token sent in the SubscriptionConfirmation.
    pub token: String,
    /// Whether the endpoint confirmed.
    pub confirmed: bool,
}

impl Subscription {
    /// The ARN as ListSubscriptions reports it: the ARN once confirmed, `PendingConfirmation`
    /// before.
    pub fn reported_arn(&self) -> &str {
        if self.confirmed {
            &self.arn
        } else {
            PENDING_CONFIRMATION
        }
    }
}

/// One page of a list operation.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The `NextToken` for the next page, if there may be one.
    pub next_token: Option<String>,
}

/// The SNS domain. Cheap to clone; must be opened inside a tokio runtime (the delivery worker
/// is a task). Call [`Sns::stop`] at shutdown.
#[derive(Clone)]
pub struct Sns {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    scope: Scope,
    settings: SnsSettings,
    signer: Signer,
    queue: tokio::sync::mpsc::Sender<Delivery>,
    counters: Arc<Counters>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Sns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sns").finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// ISO 8601 UTC with milliseconds and `Z`, as SNS writes `Timestamp`.
fn timestamp_now() -> String {
    let t = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

fn token() -> String {
    (0..4)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl Sns {
    /// Opens (creating) `dir` (`DATA_DIR/sns`): `sns.db`, the signing key and certificate,
    /// and starts the delivery worker.
    ///
    /// # Errors
    /// `Internal` with the path when the directory, database or key cannot be used.
    pub fn open(dir: &Path, settings: SnsSettings) -> Result<Sns, SnsError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SnsError::Internal(format!("{}: {e}", dir.display())))?;
        let conn = thingwatch_sqlite::open(&dir.join("sns.db"), &store::SCHEMA)
            .map_err(|e| SnsError::Internal(format!("{}: {e}", dir.display())))?;
        let signer = Signer::load_or_create(dir, &settings.region)?;
        let (queue, rx) = tokio::sync::mpsc::channel(DELIVERY_QUEUE_CAPACITY);
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let counters = Arc::new(Counters::default());
        tokio::spawn(delivery::run(
            rx,
            stop_rx,
            settings.delivery.clone(),
            settings.trusted_roots.clone(),
            counters.clone(),
        ));
        Ok(Sns {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                scope: Scope::new(settings.account_id.clone(), settings.region.clone()),
                settings,
                signer,
                queue,
                counters,
                stop,
            }),
        })
    }

    /// Stops the delivery worker (queued deliveries not yet started are dropped; attempts
    /// in flight end with the runtime).
    pub fn stop(&self) {
        let _ = self.inner.stop.send(true);
    }

    /// The delivery counters (delivered, failed, retries, dropped from `sns-deliveries`).
    pub fn stats(&self) -> DeliveryStats {
        self.inner.counters.snapshot()
    }

    /// The signing certificate in PEM, served at `SigningCertURL`.
    pub fn signing_cert_pem(&self) -> &str {
        self.inner.signer.cert_pem()
    }

    /// `SigningCertURL`: `BASE/sns/SimpleNotificationService-thingwatch.pem`.
    pub fn signing_cert_url(&self) -> String {
        format!("{}/sns/{SIGNING_CERT_FILE}", self.inner.settings.base_url)
    }

    /// CreateTopic: the topic's ARN, creating it if needed (idempotent by name).
    ///
    /// # Errors
    /// `InvalidParameter` for a name outside 1–256 `[A-Za-z0-9_-]` or a `.fifo` name (FIFO
    /// topics are not supported).
    pub fn create_topic(&self, name: &str) -> Result<String, SnsError> {
        if name.ends_with(".fifo") {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: FIFO topics are not supported".into(),
            ));
        }
        if name.is_empty()
            || name.len() > MAX_TOPIC_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Topic Name".into(),
            ));
        }
        let arn = Arn::sns_topic(&self.inner.scope, name).to_string();
        store::insert_topic(&self.inner.conn.lock(), &arn, name, now_ms())?;
        Ok(arn)
    }

    fn require_topic(&self, c: &Connection, arn: &str) -> Result<Topic, SnsError> {
        store::topic(c, arn)?.ok_or_else(|| SnsError::NotFound("Topic does not exist".into()))
    }

    /// DeleteTopic: deletes the topic and its subscriptions. Deleting a topic that does not
    /// exist succeeds, as in AWS.
    ///
    /// # Errors
    /// `Internal` on storage failure.
    pub fn delete_topic(&self, topic_arn: &str) -> Result<(), SnsError> {
        store::delete_topic(&self.inner.conn.lock(), topic_arn)
    }

    /// GetTopicAttributes' existence check: the topic, or `NotFound`.
    ///
    /// # Errors
    /// `NotFound` "Topic does not exist".
    pub fn topic(&self, topic_arn: &str) -> Result<Topic, SnsError> {
        self.require_topic(&self.inner.conn.lock(), topic_arn)
    }

    /// ListTopics: [`PAGE_SIZE`] topics ordered by ARN after `next_token`.
    ///
    /// # Errors
    /// `Internal` on storage failure.
    pub fn list_topics(&self, next_token: Option<&str>) -> Result<Page<Topic>, SnsError> {
        let items = store::topics(&self.inner.conn.lock(), next_token.unwrap_or(""), PAGE_SIZE)?;
        let next_token = (items.len() == PAGE_SIZE).then(|| items[PAGE_SIZE - 1].arn.clone());
        Ok(Page { items, next_token })
    }

    /// Subscribe: an `http`/`https` endpoint to a topic. A new subscription is pending and
    /// gets a SubscriptionConfirmation; subscribing the same endpoint again answers the
    /// existing subscription (its ARN once confirmed, `pending confirmation` before, as AWS
    /// does).
    ///
    /// Returns the subscription ARN as Subscribe answers it.
    ///
    /// # Errors
    /// `NotFound` for an unknown topic; `InvalidParameter` for another protocol or an
    /// endpoint that is not an `http://` / `https://` URL matching the protocol.
    pub fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: Option<&str>,
    ) -> Result<String, SnsError> {
        if protocol != "http" && protocol != "https" {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Amazon SNS does not support this protocol string: ".to_owned()
                    + protocol,
            ));
        }
        let endpoint = endpoint.unwrap_or("");
        let prefix = format!("{protocol}://");
        if !endpoint.starts_with(&prefix) || endpoint.len() == prefix.len() {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Endpoint must match the specified protocol".into(),
            ));
        }
        let sub = {
            let c = self.inner.conn.lock();
            self.require_topic(&c, topic_arn)?;
            if let Some(existing) =
                store::subscription_by_endpoint(&c, topic_arn, protocol, endpoint)?
            {
                return Ok(if existing.confirmed {
                    existing.arn
                } else {
                    "pending confirmation".to_owned()
                });
            }
            let sub = Subscription {
                arn: Arn::sns_subscription(topic_arn, &uuid::Uuid::new_v4().to_string()),
                topic_arn: topic_arn.to_owned(),
                protocol: protocol.to_owned(),
                endpoint: endpoint.to_owned(),
                token: token(),
                confirmed: false,
            };
            store::insert_subscription(&c, &sub, now_ms())?;
            sub
        };
        let message = format!(
            "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
        );
        self.enqueue_confirmation("SubscriptionConfirmation", &sub, message)?;
        Ok("pending confirmation".to_owned())
    }

    fn subscribe_url(&self, sub: &Subscription) -> String {
        format!(
            "{}/sns/?{}",
            self.inner.settings.base_url,
            query(&[
                ("Action", "ConfirmSubscription"),
                ("TopicArn", &sub.topic_arn),
                ("Token", &sub.token)
            ])
        )
    }

    fn unsubscribe_url(&self, sub_arn: &str) -> String {
        format!(
            "{}/sns/?{}",
            self.inner.settings.base_url,
            query(&[("Action", "Unsubscribe"), ("SubscriptionArn", sub_arn)])
        )
    }

    fn enqueue_confirmation(
        &self,
        kind: &'static str,
        sub: &Subscription,
        message: String,
    ) -> Result<(), SnsError> {
        let (message_id, timestamp) = (uuid::Uuid::new_v4().to_string(), timestamp_now());
        let subscribe_url = self.subscribe_url(sub);
        let canonical = canonical_string(&[
            ("Message", Some(&message)),
            ("MessageId", Some(&message_id)),
            ("SubscribeURL", Some(&subscribe_url)),
            ("Timestamp", Some(&timestamp)),
            ("Token", Some(&sub.token)),
            ("TopicArn", Some(&sub.topic_arn)),
            ("Type", Some(kind)),
        ]);
        let body = Body {
            kind,
            message_id,
            token: Some(sub.token.clone()),
            topic_arn: sub.topic_arn.clone(),
            subject: None,
            message,
            subscribe_url: Some(subscribe_url),
            timestamp,
            signature_version: SIGNATURE_VERSION,
            signature: self.inner.signer.sign(&canonical)?,
            signing_cert_url: self.signing_cert_url(),
            unsubscribe_url: None,
        };
        // AWS sends no subscription ARN header on a SubscriptionConfirmation.
        let subscription_arn = (kind != "SubscriptionConfirmation").then(|| sub.arn.clone());
        self.enqueue(Delivery {
            endpoint: sub.endpoint.clone(),
            subscription_arn,
            body,
        });
        Ok(())
    }

    fn enqueue(&self, d: Delivery) {
        if self.inner.queue.try_send(d).is_err() {
            self.inner
                .counters
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// ConfirmSubscription: confirms the subscription `token` was sent for and answers its
    /// ARN (also for a repeated confirmation).
    ///
    /// # Errors
    /// `NotFound` for an unknown topic; `InvalidParameter` "Invalid token" for a token that
    /// belongs to no subscription of the topic.
    pub fn confirm_subscription(&self, topic_arn: &str, token: &str) -> Result<String, SnsError> {
        let c = self.inner.conn.lock();
        self.require_topic(&c, topic_arn)?;
        let sub = store::subscription_by_token(&c, topic_arn, token)?
            .ok_or_else(|| SnsError::InvalidParameter("Invalid token".into()))?;
        store::confirm(&c, &sub.arn)?;
        Ok(sub.arn)
    }

    /// Unsubscribe: deletes the subscription; a confirmed HTTP/S endpoint gets an
    /// UnsubscribeConfirmation (whose SubscribeURL re-subscribes).
    ///
    /// # Errors
    /// `NotFound` "Subscription does not exist".
    pub fn unsubscribe(&self, subscription_arn: &str) -> Result<(), SnsError> {
        let sub = {
            let c = self.inner.conn.lock();
            let sub = store::subscription(&c, subscription_arn)?
                .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
            store::delete_subscription(&c, subscription_arn)?;
            sub
        };
        if sub.confirmed {
            let message = format!(
                "You have chosen to deactivate subscription {}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
                sub.arn
            );
            self.enqueue_confirmation("UnsubscribeConfirmation", &sub, message)?;
        }
        Ok(())
    }

    /// GetSubscriptionAttributes' lookup: the subscription, or `NotFound`.
    ///
    /// # Errors
    /// `NotFound` "Subscription does not exist".
    pub fn subscription(&self, subscription_arn: &str) -> Result<Subscription, SnsError> {
        store::subscription(&self.inner.conn.lock(), subscription_arn)?
            .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))
    }

    /// ListSubscriptions (`topic_arn` `None`) / ListSubscriptionsByTopic: [`PAGE_SIZE`]
    /// subscriptions ordered by ARN after `next_token`.
    ///
    /// # Errors
    /// `NotFound` for an unknown topic (ByTopic).
    pub fn list_subscriptions(
        &self,
        topic_arn: Option<&str>,
        next_token: Option<&str>,
    ) -> Result<Page<Subscription>, SnsError> {
        let c = self.inner.conn.lock();
        if let Some(t) = topic_arn {
            self.require_topic(&c, t)?;
        }
        let items = store::subscriptions(&c, topic_arn, next_token.unwrap_or(""), PAGE_SIZE)?;
        let next_token = (items.len() == PAGE_SIZE).then(|| items[PAGE_SIZE - 1].arn.clone());
        Ok(Page { items, next_token })
    }

    /// **Publish** — the entry point for other components (CloudWatch alarm actions):
    /// sends `message` (UTF-8, at most [`MAX_MESSAGE_BYTES`]) with an optional `subject`
    /// (1–[`MAX_SUBJECT_CHARS`] printable ASCII characters, no line breaks) to every
    /// confirmed subscription of `topic_arn`, and returns the `MessageId` (a UUID).
    ///
    /// Deliveries are queued on `sns-deliveries` and made by the worker (signed
    /// `Notification`s, retried per [`DeliveryPolicy`]); this call never waits for an
    /// endpoint. A full queue drops the delivery and counts it ([`Sns::stats`]).
    ///
    /// # Errors
    /// `NotFound` "Topic does not exist"; `InvalidParameter` for an empty or too long message
    /// or a bad subject.
    pub fn publish(
        &self,
        topic_arn: &str,
        subject: Option<&str>,
        message: &str,
    ) -> Result<String, SnsError> {
        if message.is_empty() {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Empty message".into(),
            ));
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Message too long".into(),
            ));
        }
        if let Some(s) = subject
            && (s.is_empty()
                || s.chars().count() > MAX_SUBJECT_CHARS
                || !s.chars().all(|ch| ch.is_ascii() && !ch.is_ascii_control()))
        {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Subject".into(),
            ));
        }
        let subs = {
            let c = self.inner.conn.lock();
            self.require_topic(&c, topic_arn)?;
            let mut all = Vec::new();
            let mut after = String::new();
            loop {
                let page = store::subscriptions(&c, Some(topic_arn), &after, 1000)?;
                let done = page.len() < 1000;
                if let Some(last) = page.last() {
                    after = last.arn.clone();
                }
                all.extend(page.into_iter().filter(|s| s.confirmed));
                if done {
                    break;
                }
            }
            all
        };
        let message_id = uuid::Uuid::new_v4().to_string();
        let timestamp = timestamp_now();
        let canonical = canonical_string(&[
            ("Message", Some(message)),
            ("MessageId", Some(&message_id)),
            ("Subject", subject),
            ("Timestamp", Some(&timestamp)),
            ("TopicArn", Some(topic_arn)),
            ("Type", Some("Notification")),
        ]);
        let signature = if subs.is_empty() {
            String::new()
        } else {
            self.inner.signer.sign(&canonical)?
        };
        for sub in subs {
            let body = Body {
                kind: "Notification",
                message_id: message_id.clone(),
                token: None,
                topic_arn: topic_arn.to_owned(),
                subject: subject.map(str::to_owned),
                message: message.to_owned(),
                subscribe_url: None,
                timestamp: timestamp.clone(),
                signature_version: SIGNATURE_VERSION,
                signature: signature.clone(),
                signing_cert_url: self.signing_cert_url(),
                unsubscribe_url: Some(self.unsubscribe_url(&sub.arn)),
            };
            self.enqueue(Delivery {
                endpoint: sub.endpoint.clone(),
                subscription_arn: Some(sub.arn.clone()),
                body,
            });
        }
        Ok(message_id)
    }
}
