//! CloudWatch metrics for Thingwatch: the domain behind the `monitoring` API.
//!
//! * [`model`] — metric identity, datums, units, statistics, retention.
//! * [`aggregate`] — a bucket's statistics (count, sum, min, max, percentile sketch),
//!   mergeable exactly.
//! * [`store`] — series and roll-ups (1 s, 1 min, 5 min, 1 h) in SQLite with CloudWatch's
//!   retention; statistics queries; ListMetrics.
//! * [`math`] — metric math over query results (`GetMetricData` expressions).
//! * [`query`] — metric data queries (`MetricStat`, expressions) evaluated over a range,
//!   for `GetMetricData` and alarms on metric math.
//! * [`publisher`] — the minute publication of components' counters (`AWS/IoT`).
//! * [`alarms`] — metric alarms: evaluation (M of N, missing data), states, history, actions.
//! * [`dashboards`] — dashboards: validated bodies, stored by name.
//!
//! **Architecture Invariant:** this crate knows nothing of HTTP or AWS wire shapes; the
//! `monitoring` API crate validates requests and renders answers.

pub mod aggregate;
pub mod alarms;
pub mod dashboards;
pub mod math;
pub mod model;
mod periodic;
pub mod publisher;
pub mod query;
pub mod store;

pub use aggregate::Aggregate;
pub use model::{Datum, MetricId, RETENTION, Statistic, UNITS, Values, valid_period};
pub use publisher::{AWS_IOT_NAMESPACE, CounterSource, DEFAULT_INTERVAL, Publisher};
pub use store::{Bucket, ListFilter, MetricStore, MetricsError, StatQuery};
