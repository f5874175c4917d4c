//! `AWS/IoT` metric counters: every metric name in one enum ([`MetricName`]) and lock-free
//! counters per (metric, `Protocol` dimension) ([`Metrics`]).
//!
//! Source: AWS IoT Developer Guide, *AWS IoT metrics and dimensions* (message-broker, device
//! shadow and logging metrics). Counters are cumulative since start; the CloudWatch
//! publication of 1-minute `Sum`s reads deltas from them.

use crate::broker::Protocol;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! metric_names {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// An `AWS/IoT` metric name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum MetricName {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl MetricName {
            /// Every metric, in declaration order.
            pub const ALL: &'static [MetricName] = &[$(MetricName::$variant),*];

            /// The exact CloudWatch metric name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(MetricName::$variant => $name,)*
                }
            }
        }
    };
}

metric_names! {
    ConnectSuccess => "Connect.Success",
    ConnectAuthError => "Connect.AuthError",
    ConnectClientError => "Connect.ClientError",
    ConnectClientIdThrottle => "Connect.ClientIDThrottle",
    ConnectServerError => "Connect.ServerError",
    ConnectThrottle => "Connect.Throttle",
    PingSuccess => "Ping.Success",
    PublishInSuccess => "PublishIn.Success",
    PublishInAuthError => "PublishIn.AuthError",
    PublishInClientError => "PublishIn.ClientError",
    PublishInServerError => "PublishIn.ServerError",
    PublishInThrottle => "PublishIn.Throttle",
    PublishOutSuccess => "PublishOut.Success",
    PublishOutAuthError => "PublishOut.AuthError",
    PublishOutClientError => "PublishOut.ClientError",
    PublishOutThrottle => "PublishOut.Throttle",
    PublishRetainedSuccess => "PublishRetained.Success",
    PublishRetainedAuthError => "PublishRetained.AuthError",
    PublishRetainedServerError => "PublishRetained.ServerError",
    PublishRetainedThrottle => "PublishRetained.Throttle",
    SubscribeSuccess => "Subscribe.Success",
    SubscribeAuthError => "Subscribe.AuthError",
    SubscribeClientError => "Subscribe.ClientError",
    SubscribeServerError => "Subscribe.ServerError",
    SubscribeThrottle => "Subscribe.Throttle",
    UnsubscribeSuccess => "Unsubscribe.Success",
    UnsubscribeClientError => "Unsubscribe.ClientError",
    UnsubscribeServerError => "Unsubscribe.ServerError",
    UnsubscribeThrottle => "Unsubscribe.Throttle",
    GetThingShadowAccepted => "GetThingShadow.Accepted",
    UpdateThingShadowAccepted => "UpdateThingShadow.Accepted",
    DeleteThingShadowAccepted => "DeleteThingShadow.Accepted",
    ListThingShadowAccepted => "ListThingShadow.Accepted",
    NumLogEventsFailedToPublishThrottled => "NumLogEventsFailedToPublishThrottled",
    NumLogBatchesFailedToPublishThrottled => "NumLogBatchesFailedToPublishThrottled",
    // Thingwatch's own (AWS's "Logging metrics" group is not documented beyond the two
    // Throttled counters): entries dropped because the logging role may not write them.
    NumLogEventsFailedToPublishUnauthorized => "NumLogEventsFailedToPublishUnauthorized",
}

/// The dimension a counter is kept under: a `Protocol` value, or none (account-level
/// metrics such as `NumLogEventsFailedToPublishThrottled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// `Protocol=MQTT` / `Protocol=HTTP`.
    Protocol(Protocol),
    /// No dimension.
    None,
}

impl Dimension {
    const COUNT: usize = 3;

    fn index(self) -> usize {
        match self {
            Dimension::Protocol(Protocol::Mqtt) => 0,
            Dimension::Protocol(Protocol::Http) => 1,
            Dimension::None => 2,
        }
    }
}

/// Lock-free cumulative counters for every (metric, dimension). `Send + Sync`.
pub struct Metrics {
    counters: Box<[AtomicU64]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (name, dim, value) in self.snapshot() {
            m.entry(&(name.as_str(), dim), &value);
        }
        m.finish()
    }
}

impl Metrics {
    /// All counters at zero.
    pub fn new() -> Metrics {
        let n = MetricName::ALL.len() * Dimension::COUNT;
        Metrics {
            counters: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn slot(&self, metric: MetricName, dim: Dimension) -> &AtomicU64 {
        &self.counters[metric as usize * Dimension::COUNT + dim.index()]
    }

    /// Adds one to `metric` under `Protocol=protocol`.
    #[inline]
    pub fn incr(&self, metric: MetricName, protocol: Protocol) {
        self.add(metric, Dimension::Protocol(protocol), 1);
    }

    /// Adds `n` to `metric` under `dim`.
    #[inline]
    pub fn add(&self, metric: MetricName, dim: Dimension, n: u64) {
        self.slot(metric, dim).fetch_add(n, Ordering::Relaxed);
    }

    /// The cumulative value of `metric` under `dim`.
    pub fn get(&self, metric: MetricName, dim: Dimension) -> u64 {
        self.slot(metric, dim).load(Ordering::Relaxed)
    }

    /// Every non-zero counter as (metric, dimension, value).
    pub fn snapshot(&self) -> Vec<(MetricName, Dimension, u64)> {
        let dims = [
            Dimension::Protocol(Protocol::Mqtt),
            Dimension::Protocol(Protocol::Http),
            Dimension::None,
        ];
        let mut out = Vec::new();
        for &metric in MetricName::ALL {
            for dim in dims {
                let v = self.get(metric, dim);
                if v > 0 {
                    out.push((metric, dim, v));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_per_metric_and_dimension() {
        let m = Metrics::new();
        m.incr(MetricName::PublishInSuccess, Protocol::Mqtt);
        m.incr(MetricName::PublishInSuccess, Protocol::Mqtt);
        m.incr(MetricName::PublishInSuccess, Protocol::Http);
        m.add(
            MetricName::NumLogEventsFailedToPublishThrottled,
            Dimension::None,
            5,
        );
        assert_eq!(
            m.get(
                MetricName::PublishInSuccess,
                Dimension::Protocol(Protocol::Mqtt)
            ),
            2
        );
        assert_eq!(
            m.get(
                MetricName::PublishInSuccess,
                Dimension::Protocol(Protocol::Http)
            ),
            1
        );
        assert_eq!(
            m.get(
                MetricName::PublishOutSuccess,
                Dimension::Protocol(Protocol::Mqtt)
            ),
            0
        );
        assert_eq!(
            m.get(
                MetricName::NumLogEventsFailedToPublishThrottled,
                Dimension::None
            ),
            5
        );
        assert_eq!(m.snapshot().len(), 3);
    }

    #[test]
    fn names_are_unique_and_aws_spelled() {
        let mut names: Vec<_> = MetricName::ALL.iter().map(|m| m.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MetricName::ALL.len());
        assert!(names.contains(&"Connect.ClientIDThrottle"));
    }
}
