//! The publication of components' counters as CloudWatch metrics: every flush interval
//! (60 s by default: AWS IoT's metrics have 1-minute resolution) the [`Publisher`] reads each
//! [`CounterSource`]'s cumulative counters, and puts the increase since the previous flush
//! as one `Sum` datum (unit `Count`) per metric that moved. Counting costs the data path
//! one relaxed atomic add (`thingwatch_events::Metrics`); everything else happens here.
//!
//! Source: AWS IoT Developer Guide, *AWS IoT metrics and dimensions* (namespace `AWS/IoT`,
//! dimension `Protocol`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use thingwatch_events::{Dimension, Logger};

use crate::model::{Datum, MetricId, Values};
use crate::periodic::Periodic;
use crate::store::MetricStore;

/// The namespace of AWS IoT's metrics.
pub const AWS_IOT_NAMESPACE: &str = "AWS/IoT";

/// The default flush interval: one minute.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// How often the publisher prunes expired buckets.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// Something that keeps cumulative counters (monotonic since start) to publish as metrics.
pub trait CounterSource: Send + Sync {
    /// Every counter with its metric identity and cumulative value.
    fn counters(&self) -> Vec<(MetricId, u64)>;

    /// Values published as they are at every interval, not as increases: running totals such
    /// as the Jobs `…TotalCount` metrics. Default: none.
    fn gauges(&self) -> Vec<(MetricId, f64)> {
        Vec::new()
    }
}

/// The logger's `AWS/IoT` counters (broker, Device Shadow, log pipeline), with their
/// `Protocol` dimension (account-level metrics have none).
impl CounterSource for Logger {
    fn counters(&self) -> Vec<(MetricId, u64)> {
        self.metrics()
            .snapshot()
            .into_iter()
            .map(|(name, dim, value)| {
                let dimensions = match dim {
                    Dimension::Protocol(p) => vec![("Protocol".to_owned(), p.as_str().to_owned())],
                    Dimension::None => Vec::new(),
                };
                (
                    MetricId::new(AWS_IOT_NAMESPACE, name.as_str(), dimensions),
                    value,
                )
            })
            .collect()
    }
}

struct Core {
    store: MetricStore,
    sources: Vec<Arc<dyn CounterSource>>,
    last: Mutex<(HashMap<MetricId, u64>, i64)>,
    clock: fn() -> i64,
}

impl Core {
    fn flush(&self) {
        let now = (self.clock)();
        let mut data = Vec::new();
        let mut last = self.last.lock();
        for source in &self.sources {
            for (metric, value) in source.counters() {
                let previous = last.0.get(&metric).copied().unwrap_or(0);
                if value > previous {
                    #[allow(clippy::cast_precision_loss)]
                    data.push(Datum {
                        metric: metric.clone(),
                        timestamp_ms: now,
                        values: Values::Single((value - previous) as f64),
                        unit: "Count".to_owned(),
                        storage_resolution: 60,
                    });
                }
                last.0.insert(metric, value);
            }
            for (metric, value) in source.gauges() {
                data.push(Datum {
                    metric,
                    timestamp_ms: now,
                    values: Values::Single(value),
                    unit: "Count".to_owned(),
                    storage_resolution: 60,
                });
            }
        }
        if !data.is_empty()
            && let Err(e) = self.store.put(&data, now)
        {
            tracing::warn!(error = %e, "could not publish AWS/IoT metrics");
            // Keep the increase for the next flush.
            for d in &data {
                if let (Some(v), Values::Single(delta)) = (last.0.get_mut(&d.metric), &d.values) {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    {
                        *v -= *delta as u64;
                    }
                }
            }
        }
        if now - last.1 >= PRUNE_EVERY_MS {
            last.1 = now;
            if let Err(e) = self.store.prune(now) {
                tracing::warn!(error = %e, "could not prune the metric store");
            }
        }
    }
}

/// The running publication thread (`metrics-publisher`). [`Publisher::stop`] flushes once
/// more, so counts up to the stop are kept.
pub struct Publisher {
    core: Arc<Core>,
    thread: Periodic,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Starts publishing `sources` into `store` every `interval`.
    ///
    /// # Panics
    /// If the thread cannot be spawned.
    pub fn start(
        store: MetricStore,
        sources: Vec<Arc<dyn CounterSource>>,
        interval: Duration,
    ) -> Publisher {
        Publisher::start_with_clock(store, sources, interval, thingwatch_events::now_ms)
    }

    /// [`Publisher::start`] with another clock (epoch milliseconds), for tests.
    ///
    /// # Panics
    /// If the thread cannot be spawned.
    pub fn start_with_clock(
        store: MetricStore,
        sources: Vec<Arc<dyn CounterSource>>,
        interval: Duration,
        clock: fn() -> i64,
    ) -> Publisher {
        let core = Arc::new(Core {
            store,
            sources,
            last: Mutex::new((HashMap::new(), 0)),
            clock,
        });
        let (tick, last) = (core.clone(), core.clone());
        let thread = Periodic::start(
            "metrics-publisher",
            interval,
            move || tick.flush(),
            move || last.flush(),
        );
        Publisher { core, thread }
    }

    /// Publishes now (the increase since the previous flush), on the caller's thread.
    pub fn flush(&self) {
        self.core.flush();
    }

    /// Flushes once more and stops the thread.
    pub fn stop(mut self) {
        self.thread.stop();
    }
}
