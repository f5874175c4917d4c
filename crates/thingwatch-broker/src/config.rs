//! [`BrokerConfig`]: the broker's tunables, with AWS IoT's values as defaults (one place).

use crate::limits;
use std::time::Duration;

/// Broker settings. Defaults ([`BrokerConfig::default`]) reproduce AWS IoT Core; tests shrink
/// the time-based ones.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Most concurrent TCP connections; further accepts wait for a slot (default 10,000).
    pub max_connections: usize,
    /// Persistent-session expiry for MQTT 3.1.1 `cleanSession=0` sessions, and the upper bound
    /// a v5 *Session Expiry Interval* is clamped to (default 1 h, AWS's default; at most
    /// [`limits::MAX_SESSION_EXPIRY`]).
    pub session_expiry: Duration,
    /// Smallest keep-alive in seconds (default 30, AWS). Tests lower it.
    pub keep_alive_min_secs: u16,
    /// Largest keep-alive in seconds, also used for keep-alive 0 (default 1200, AWS).
    pub keep_alive_max_secs: u16,
    /// Most messages queued per session before new ones are dropped (default 1000).
    pub max_queued_per_session: usize,
    /// How long a new connection may take to send CONNECT (default 10 s).
    pub connect_timeout: Duration,
    /// How often expired persistent sessions are purged (default 10 s).
    pub expiry_sweep_interval: Duration,
    /// Deliver retained messages on wildcard subscriptions too (default `false`: AWS delivers
    /// them only on an exact-topic subscription; never on shared subscriptions).
    pub retained_on_wildcard: bool,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            max_connections: 10_000,
            session_expiry: limits::DEFAULT_SESSION_EXPIRY,
            keep_alive_min_secs: limits::KEEP_ALIVE_MIN_SECS,
            keep_alive_max_secs: limits::KEEP_ALIVE_MAX_SECS,
            max_queued_per_session: limits::DEFAULT_MAX_QUEUED_PER_SESSION,
            connect_timeout: Duration::from_secs(10),
            expiry_sweep_interval: Duration::from_secs(10),
            retained_on_wildcard: false,
        }
    }
}

impl BrokerConfig {
    /// `session_expiry` clamped to AWS's maximum, in seconds.
    pub fn session_expiry_secs(&self) -> u32 {
        self.session_expiry
            .min(limits::MAX_SESSION_EXPIRY)
            .as_secs() as u32
    }
}
