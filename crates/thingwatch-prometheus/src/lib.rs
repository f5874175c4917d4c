//! `GET /metrics` on Thingwatch's HTTP port, in the OpenMetrics 1.0 text format
//! (`application/openmetrics-text; version=1.0.0; charset=utf-8`), encoded by
//! `prometheus-client`.
//!
//! What a scrape returns (every value is read at scrape time; nothing is counted here, so the
//! data path pays nothing beyond the atomic add it already makes):
//!
//! - **Every `AWS/IoT` metric** of [`thingwatch_events::Metrics`] as one counter family each
//!   (cumulative since the server started: Prometheus counter semantics; CloudWatch's
//!   1-minute `Sum` is `increase(…[1m])`). The family name is [`family_name`]: `aws_iot_` +
//!   the CloudWatch name in snake case with `.` → `_`, plus the `_total` suffix, e.g.
//!   `PublishIn.Success` → `aws_iot_publish_in_success_total`, `Connect.ClientIDThrottle` →
//!   `aws_iot_connect_client_id_throttle_total`, `NumLogEventsFailedToPublishThrottled` →
//!   `aws_iot_num_log_events_failed_to_publish_throttled_total`. The CloudWatch name is kept
//!   in the HELP text and in the label `metric_name`; the `Protocol` dimension is the label
//!   `protocol` (`MQTT`, `HTTP`). Every series a metric can have ([`dimensions`]) is present
//!   from the start, at 0, so queries work before the first message; account-level metrics
//!   (the log pipeline's) have no `protocol` label.
//! - **The named queues** ([`queues`]): `thingwatch_queue_capacity{queue}` (gauge, entries),
//!   `thingwatch_queue_enqueued_total{queue}`, `thingwatch_queue_dropped_total{queue}`
//!   (refused because full), and for the blocking `broker-store` queue
//!   `thingwatch_queue_waits_total` / `thingwatch_queue_wait_seconds_total`; broker gauges
//!   (`thingwatch_broker_sessions`, `thingwatch_broker_subscriptions`,
//!   `thingwatch_broker_retained_messages`).
//! - **The process's own metrics** ([`process`], Linux only: read from `/proc/self`), with
//!   the names of Prometheus's client libraries: `process_cpu_seconds_total`,
//!   `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
//!   `process_max_fds`, `process_start_time_seconds` (Unix epoch seconds),
//!   `process_threads`.
//!
//! Access ([`Access`]): by default the same rules as the rest of the API — a SigV4-signed GET
//! with credential scope `monitoring`, and IAM action `cloudwatch:GetMetricData` on `*` when
//! an authorizer is given; anything else gets the AWS error (403, rest-json shape).
//! [`Access::Open`] (the binary's `--metrics-open`) serves everyone, for a plain Prometheus
//! scrape on loopback.

pub mod process;
mod queues;
mod route;

pub use route::{Access, METRICS_PATH, OPENMETRICS_CONTENT_TYPE, SIGNING_NAME, routes};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use thingwatch_broker::Broker;
use thingwatch_events::{Dimension, Logger, MetricName, Metrics, Protocol};
use thingwatch_shadow::ShadowGateway;

/// The labels of one series: `(name, value)` pairs in order.
type Labels = Vec<(String, String)>;

/// Where a scrape reads its values. Cheap to clone (every component is a handle).
#[derive(Clone)]
pub struct Sources {
    /// The logger: the `AWS/IoT` counters ([`Logger::metrics`]) and the `log-pipeline` queue.
    pub logger: Logger,
    /// The broker: observer queues, the `broker-store` queue, session and subscription
    /// gauges. `None` leaves them out.
    pub broker: Option<Broker>,
    /// The Device Shadow gateway: the `shadow-requests` queue. `None` leaves it out.
    pub shadows: Option<ShadowGateway>,
    /// The rules engine: its rule metrics (`RuleName`/`ActionType` labels) and the
    /// `rules-http` queue. `None` leaves them out.
    pub rules: Option<thingwatch_rules::EngineHandle>,
    /// The audit trail: the `audit` queue. `None` leaves it out.
    pub audit: Option<thingwatch_audit::Audit>,
    /// AWS IoT Jobs' MQTT gateway: the `jobs-requests` queue. `None` leaves it out.
    pub jobs: Option<thingwatch_jobs::JobsGateway>,
}

/// The Prometheus family name of an `AWS/IoT` metric, without the `_total` suffix the
/// encoder appends to counters: `aws_iot_` + the CloudWatch name in snake case, `.` → `_`
/// (a run of capitals is one word: `ClientIDThrottle` → `client_id_throttle`).
pub fn family_name(metric: MetricName) -> String {
    family_name_of(metric.as_str())
}

/// [`family_name`] of a metric named by its CloudWatch name (the rule metrics, counted
/// outside the logger).
fn family_name_of(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::from("aws_iot_");
    for (i, &c) in chars.iter().enumerate() {
        if c == '.' {
            out.push('_');
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower);
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The dimensions a metric is always exposed under (at 0 before it is first counted), per
/// the AWS IoT Developer Guide's *metrics and dimensions*: the connection-level metrics
/// (`Connect.*`, `Ping.*`, `Subscribe.*`, `Unsubscribe.*`, `PublishOut.*`) exist for MQTT;
/// `PublishIn.*`, `PublishRetained.*` and the shadow operations for MQTT and HTTP; the log
/// pipeline's metrics have no dimension. A counter that is non-zero under another
/// dimension is exposed too, so nothing counted is hidden.
pub fn dimensions(metric: MetricName) -> &'static [Dimension] {
    use MetricName as M;
    const MQTT: &[Dimension] = &[Dimension::Protocol(Protocol::Mqtt)];
    const BOTH: &[Dimension] = &[
        Dimension::Protocol(Protocol::Mqtt),
        Dimension::Protocol(Protocol::Http),
    ];
    const NONE: &[Dimension] = &[Dimension::None];
    match metric {
        M::NumLogEventsFailedToPublishThrottled
        | M::NumLogBatchesFailedToPublishThrottled
        | M::NumLogEventsFailedToPublishUnauthorized => NONE,
        M::PublishInSuccess
        | M::PublishInAuthError
        | M::PublishInClientError
        | M::PublishInServerError
        | M::PublishInThrottle
        | M::PublishRetainedSuccess
        | M::PublishRetainedAuthError
        | M::PublishRetainedServerError
        | M::PublishRetainedThrottle
        | M::GetThingShadowAccepted
        | M::UpdateThingShadowAccepted
        | M::DeleteThingShadowAccepted
        | M::ListThingShadowAccepted => BOTH,
        _ => MQTT,
    }
}

const ALL_DIMENSIONS: [Dimension; 3] = [
    Dimension::Protocol(Protocol::Mqtt),
    Dimension::Protocol(Protocol::Http),
    Dimension::None,
];

fn protocol_label(p: Protocol) -> &'static str {
    match p {
        Protocol::Mqtt => "MQTT",
        Protocol::Http => "HTTP",
    }
}

/// Registers one counter family per `AWS/IoT` metric in `registry`, with the values of
/// `metrics` now.
pub fn register_aws_iot(registry: &mut Registry, metrics: &Metrics) {
    for &metric in MetricName::ALL {
        let family = Family::<Labels, Counter>::default();
        for dim in ALL_DIMENSIONS {
            let value = metrics.get(metric, dim);
            if value == 0 && !dimensions(metric).contains(&dim) {
                continue;
            }
            let mut labels = vec![("metric_name".to_owned(), metric.as_str().to_owned())];
            if let Dimension::Protocol(p) = dim {
                labels.push(("protocol".to_owned(), protocol_label(p).to_owned()));
            }
            family.get_or_create(&labels).inc_by(value);
        }
        registry.register(
            family_name(metric),
            format!(
                "AWS/IoT metric {} (CloudWatch name), count since the server started",
                metric.as_str()
            ),
            family,
        );
    }
}

/// Registers the rules engine's metrics (`RulesExecuted`, `TopicMatch`, `Success`, …), one
/// family per CloudWatch name, labelled `rule_name` and `action_type` as their dimensions.
fn register_rules(registry: &mut Registry, rules: &thingwatch_rules::EngineHandle) {
    let mut families: std::collections::BTreeMap<String, Family<Labels, Counter>> =
        Default::default();
    for (id, value) in thingwatch_metrics::CounterSource::counters(rules.counters().as_ref()) {
        let mut labels = vec![("metric_name".to_owned(), id.name.clone())];
        for (k, v) in &id.dimensions {
            let key = if k == "RuleName" {
                "rule_name"
            } else {
                "action_type"
            };
            labels.push((key.to_owned(), v.clone()));
        }
        families
            .entry(id.name)
            .or_default()
            .get_or_create(&labels)
            .inc_by(value);
    }
    for (name, family) in families {
        registry.register(
            family_name_of(&name),
            format!("AWS/IoT rule metric {name} (CloudWatch name), count since the server started"),
            family,
        );
    }
}

/// Renders one scrape of `sources`: the OpenMetrics text, ending with `# EOF`.
pub fn render(sources: &Sources) -> String {
    let mut registry = Registry::default();
    register_aws_iot(&mut registry, sources.logger.metrics());
    if let Some(rules) = &sources.rules {
        register_rules(&mut registry, rules);
    }
    queues::register(&mut registry, sources);
    process::register(&mut registry);
    let mut out = String::new();
    // Writing into a String cannot fail.
    if let Err(e) = encode(&mut out, &registry) {
        tracing::warn!(error = %e, "encoding the metrics failed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_are_deterministic_snake_case() {
        let cases = [
            (MetricName::PublishInSuccess, "aws_iot_publish_in_success"),
            (
                MetricName::ConnectClientIdThrottle,
                "aws_iot_connect_client_id_throttle",
            ),
            (
                MetricName::GetThingShadowAccepted,
                "aws_iot_get_thing_shadow_accepted",
            ),
            (
                MetricName::NumLogEventsFailedToPublishThrottled,
                "aws_iot_num_log_events_failed_to_publish_throttled",
            ),
        ];
        for (metric, want) in cases {
            assert_eq!(family_name(metric), want, "{}", metric.as_str());
        }
        let mut names: Vec<_> = MetricName::ALL.iter().map(|&m| family_name(m)).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            MetricName::ALL.len(),
            "the mapping is one-to-one"
        );
    }

    #[test]
    fn every_metric_is_exposed_at_zero_and_counted_values_appear() {
        let metrics = Metrics::new();
        metrics.add(
            MetricName::PublishInSuccess,
            Dimension::Protocol(Protocol::Mqtt),
            7,
        );
        // Under a dimension not exposed by default: still shown once counted.
        metrics.add(
            MetricName::PublishOutSuccess,
            Dimension::Protocol(Protocol::Http),
            2,
        );
        let mut registry = Registry::default();
        register_aws_iot(&mut registry, &metrics);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            "aws_iot_publish_in_success_total{metric_name=\"PublishIn.Success\",protocol=\"MQTT\"} 7\n"
        ), "{text}");
        assert!(text.contains(
            "aws_iot_publish_in_success_total{metric_name=\"PublishIn.Success\",protocol=\"HTTP\"} 0\n"
        ));
        assert!(text.contains(
            "aws_iot_publish_out_success_total{metric_name=\"PublishOut.Success\",protocol=\"HTTP\"} 2\n"
        ));
        assert!(text.contains(
            "aws_iot_num_log_events_failed_to_publish_throttled_total{metric_name=\"NumLogEventsFailedToPublishThrottled\"} 0\n"
        ));
        for &metric in MetricName::ALL {
            let line = format!("# TYPE {} counter\n", family_name(metric));
            assert!(text.contains(&line), "missing {line}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
