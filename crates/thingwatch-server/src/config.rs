//! [`ServerConfig`]: everything the server needs, resolved (the binary resolves it from
//! flags, environment, config file and defaults; tests build it directly).

use std::net::SocketAddr;
use std::path::PathBuf;
use thingwatch_events::LevelSetting;

/// The initial V2 logging configuration of a fresh data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialLogging {
    /// `SetV2LoggingOptions` as if called with this default level (and the built-in logging
    /// role as `roleArn`).
    Level(LevelSetting),
    /// No V2 configuration (`GetV2LoggingOptions` answers NotConfiguredException).
    Unconfigured,
}

/// Root credentials given explicitly (environment or config file).
#[derive(Clone)]
pub struct GivenCredentials {
    /// Access key ID.
    pub access_key_id: String,
    /// Secret access key. Never logged (`Debug` redacts it).
    pub secret_access_key: String,
    /// Where they came from, for the start-up banner.
    pub source: &'static str,
}

impl std::fmt::Debug for GivenCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GivenCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

/// Fully resolved server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Data directory (created when missing).
    pub data_dir: PathBuf,
    /// Plain MQTT listener (loopback only; port 0 = ephemeral).
    pub mqtt_listen: SocketAddr,
    /// MQTT over TLS listener (port 0 = ephemeral).
    pub mqtts_listen: SocketAddr,
    /// HTTP listener: every AWS API and MQTT over WebSocket at `/mqtt` (loopback only).
    pub http_listen: SocketAddr,
    /// Most concurrent MQTT connections.
    pub max_connections: usize,
    /// 12-digit account ID.
    pub account_id: String,
    /// Region (e.g. `us-east-1`).
    pub region: String,
    /// Initial logging configuration for a fresh data directory.
    pub initial_logging: InitialLogging,
    /// Explicit root credentials; `None` = the data directory's (generated on first start).
    pub credentials: Option<GivenCredentials>,
    /// Most log targets (`SetV2LoggingLevel` quota; AWS's default is 10).
    pub max_log_targets: usize,
    /// Serve `GET /metrics` (Prometheus) without authentication; `false` (the default) asks
    /// for a SigV4-signed request with `cloudwatch:GetMetricData`, like the rest of the API.
    pub metrics_open: bool,
    /// How often the `AWS/IoT` counters are published as CloudWatch metrics and alarms are
    /// evaluated (AWS: every minute; shorter in tests, the points still land in 1-minute
    /// buckets).
    pub metrics_interval: std::time::Duration,
    /// Retries and timeouts of SNS `http`/`https` deliveries (AWS's default policy: 3
    /// retries 20 s apart, 15 s per attempt).
    pub sns_delivery: thingwatch_sns::DeliveryPolicy,
    /// Certificate authorities (DER) SNS trusts for `https` endpoints besides the system's
    /// roots and the server's own CA (`DATA_DIR/ca.pem`).
    pub sns_trusted_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// Record every management call in the audit trail (`DATA_DIR/audit`, CloudTrail
    /// LookupEvents). `false` serves CloudTrail's API without recording (benchmarks of the
    /// trail's cost).
    pub audit: bool,
    /// How often the audit trail seals its hash chain with a signed digest (CloudTrail:
    /// hourly; shorter in tests).
    pub audit_digest_interval: std::time::Duration,
    /// The length of one "minute" of AWS IoT Jobs — in-progress and step timeouts
    /// (`…InMinutes`) and rollout rates (things per minute) — in ms (AWS: 60,000; shorter in
    /// tests and demonstrations, `THINGWATCH_JOBS_MINUTE_MS`).
    pub jobs_minute_ms: i64,
}

impl ServerConfig {
    /// Loopback, ephemeral ports, account `123456789012` in `us-east-1`, logging at INFO:
    /// what tests and embedders start from.
    pub fn loopback(data_dir: impl Into<PathBuf>) -> ServerConfig {
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        ServerConfig {
            data_dir: data_dir.into(),
            mqtt_listen: any,
            mqtts_listen: any,
            http_listen: any,
            max_connections: 10_000,
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            initial_logging: InitialLogging::Level(LevelSetting::Info),
            credentials: None,
            max_log_targets: 10,
            metrics_open: false,
            metrics_interval: thingwatch_metrics::DEFAULT_INTERVAL,
            sns_delivery: thingwatch_sns::DeliveryPolicy::default(),
            sns_trusted_roots: Vec::new(),
            audit: true,
            audit_digest_interval: std::time::Duration::from_millis(
                thingwatch_audit::DIGEST_INTERVAL_MS as u64,
            ),
            jobs_minute_ms: 60_000,
        }
    }
}
