//! The `sns-deliveries` queue and its worker: each queued message is POSTed to its endpoint
//! with AWS's headers and JSON body, retried per the [`DeliveryPolicy`], and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use serde::Serialize;

/// Capacity of the `sns-deliveries` queue (messages waiting for the worker). A publish that
/// finds it full drops that delivery and counts it in [`DeliveryStats::dropped`].
pub const DELIVERY_QUEUE_CAPACITY: usize = 10_000;

/// The HTTP/S delivery policy: AWS's default (SNS Developer Guide, "Amazon SNS message
/// delivery retries": `numRetries` 3, `numNoDelayRetries` 0, `minDelayTarget` 20 s,
/// `maxDelayTarget` 20 s, `backoffFunction` linear), with the delays configurable so tests
/// can use milliseconds.
#[derive(Clone, Debug)]
pub struct DeliveryPolicy {
    /// Retries after the first attempt (AWS default 3).
    pub num_retries: u32,
    /// Delay before the first retry (AWS default 20 s).
    pub min_delay: Duration,
    /// Delay before the last retry (AWS default 20 s); the delays in between are linear.
    pub max_delay: Duration,
    /// How long one attempt may take before it counts as failed (AWS: 15 s).
    pub attempt_timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            num_retries: 3,
            min_delay: Duration::from_secs(20),
            max_delay: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(15),
        }
    }
}

impl DeliveryPolicy {
    /// The delay before retry `n` (1-based), linear from `min_delay` to `max_delay`.
    pub fn delay(&self, n: u32) -> Duration {
        if self.num_retries <= 1 {
            return self.min_delay;
        }
        let (min, max) = (self.min_delay.as_secs_f64(), self.max_delay.as_secs_f64());
        let f = f64::from(n.saturating_sub(1)) / f64::from(self.num_retries - 1);
        Duration::from_secs_f64(min + (max - min) * f)
    }
}

/// Counters of the delivery pipeline, readable with [`crate::Sns::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Messages accepted by an endpoint (a 2xx answer).
    pub delivered: u64,
    /// Messages that failed every attempt (AWS's `NumberOfNotificationsFailed`).
    pub failed: u64,
    /// Attempts retried after a failure.
    pub retries: u64,
    /// Deliveries dropped because `sns-deliveries` was full.
    pub dropped: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> DeliveryStats {
        DeliveryStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The JSON body of a delivery, members in the order AWS writes them.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Body {
    #[serde(rename = "Type")]
    pub(crate) kind: &'static str,
    #[serde(rename = "MessageId")]
    pub(crate) message_id: String,
    #[serde(rename = "Token", skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
    #[serde(rename = "TopicArn")]
    pub(crate) topic_arn: String,
    #[serde(rename = "Subject", skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<String>,
    #[serde(rename = "Message")]
    pub(crate) message: String,
    #[serde(rename = "SubscribeURL", skip_serializing_if = "Option::is_none")]
    pub(crate) subscribe_url: Option<String>,
    #[serde(rename = "Timestamp")]
    pub(crate) timestamp: String,
    #[serde(rename = "SignatureVersion")]
    pub(crate) signature_version: &'static str,
    #[serde(rename = "Signature")]
    pub(crate) signature: String,
    #[serde(rename = "SigningCertURL")]
    pub(crate) signing_cert_url: String,
    #[serde(rename = "UnsubscribeURL", skip_serializing_if = "Option::is_none")]
    pub(crate) unsubscribe_url: Option<String>,
}

/// One queued delivery.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) endpoint: String,
    pub(crate) subscription_arn: Option<String>,
    pub(crate) body: Body,
}

/// Receives from `sns-deliveries` until `stop`, one task per delivery (a retrying endpoint
/// does not hold up the others).
pub(crate) async fn run(
    mut rx: tokio::sync::mpsc::Receiver<Delivery>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    policy: DeliveryPolicy,
    trusted_roots: Vec<CertificateDer<'static>>,
    counters: Arc<Counters>,
) {
    let client = match outbound_client(policy.attempt_timeout, &trusted_roots) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("sns: building the delivery client: {e}");
            return;
        }
    };
    loop {
        let d = tokio::select! {
            d = rx.recv() => match d { Some(d) => d, None => return },
            _ = stop.wait_for(|v| *v) => return,
        };
        let (client, policy, counters) = (client.clone(), policy.clone(), counters.clone());
        tokio::spawn(async move { deliver(&client, &policy, &counters, d).await });
    }
}

/// An HTTP client for the server's outbound requests (SNS deliveries, rule `http` actions
/// and destination confirmations): `timeout` per request, `https` over rustls (AWS-LC)
/// trusting the system's roots and `trusted_roots`; no redirects followed (neither SNS nor
/// AWS IoT's HTTP action follows them).
///
/// # Errors
/// A trusted root that is not a valid certificate, or a TLS setup failure.
pub fn outbound_client(
    timeout: std::time::Duration,
    trusted_roots: &[CertificateDer<'static>],
) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    tracing::debug!("sns: {added} system root certificates");
    for cert in trusted_roots {
        roots
            .add(cert.clone())
            .map_err(|e| format!("a trusted root certificate: {e}"))?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| e.to_string())
}

async fn deliver(client: &reqwest::Client, policy: &DeliveryPolicy, c: &Counters, d: Delivery) {
    let body = match serde_json::to_string(&d.body) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("sns: encoding a delivery: {e}");
            c.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    for attempt in 0..=policy.num_retries {
        if attempt > 0 {
            c.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(policy.delay(attempt)).await;
        }
        let mut req = client
            .post(&d.endpoint)
            .header("x-amz-sns-message-type", d.body.kind)
            .header("x-amz-sns-message-id", &d.body.message_id)
            .header("x-amz-sns-topic-arn", &d.body.topic_arn)
            .header("Content-Type", "text/plain; charset=UTF-8")
            .header("User-Agent", "Amazon Simple Notification Service Agent")
            .body(body.clone());
        if let Some(arn) = &d.subscription_arn {
            req = req.header("x-amz-sns-subscription-arn", arn);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                c.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r) => tracing::debug!("sns: {} answered {}", d.endpoint, r.status()),
            Err(e) => tracing::debug!("sns: delivering to {}: {e}", d.endpoint),
        }
    }
    c.failed.fetch_add(1, Ordering::Relaxed);
}
