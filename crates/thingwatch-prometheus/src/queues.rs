//! The named queues of ARCHITECTURE.md's *Queues* table and the broker's gauges, as
//! families labelled by `queue`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

use crate::{Labels, Sources};

/// Registers the queue families and broker gauges with the values of `sources` now.
pub(crate) fn register(registry: &mut Registry, sources: &Sources) {
    let capacity = Family::<Labels, Gauge>::default();
    let enqueued = Family::<Labels, Counter>::default();
    let dropped = Family::<Labels, Counter>::default();
    let queue = |name: &str| vec![("queue".to_owned(), name.to_owned())];
    let size = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);

    let log = sources.logger.pipeline_stats();
    enqueued
        .get_or_create(&queue("log-pipeline"))
        .inc_by(log.enqueued);
    dropped
        .get_or_create(&queue("log-pipeline"))
        .inc_by(log.dropped);

    if let Some(shadows) = &sources.shadows {
        let s = shadows.queue_stats();
        capacity.get_or_create(&queue(s.name)).set(size(s.capacity));
        enqueued.get_or_create(&queue(s.name)).inc_by(s.queued);
        dropped
            .get_or_create(&queue(s.name))
            .inc_by(s.rejected_full);
    }
    if let Some(jobs) = &sources.jobs {
        let j = jobs.queue_stats();
        capacity.get_or_create(&queue(j.name)).set(size(j.capacity));
        enqueued.get_or_create(&queue(j.name)).inc_by(j.queued);
        dropped
            .get_or_create(&queue(j.name))
            .inc_by(j.rejected_full);
    }
    if let Some(rules) = &sources.rules {
        let h = rules.http_queue();
        let name = thingwatch_rules::engine::HTTP_QUEUE_NAME;
        capacity.get_or_create(&queue(name)).set(size(h.capacity));
        enqueued.get_or_create(&queue(name)).inc_by(h.queued);
        dropped.get_or_create(&queue(name)).inc_by(h.dropped);
    }
    if let Some(audit) = &sources.audit {
        let a = audit.stats();
        let name = thingwatch_audit::QUEUE_NAME;
        capacity
            .get_or_create(&queue(name))
            .set(size(a.queue_capacity));
        enqueued
            .get_or_create(&queue(name))
            .inc_by(a.recorded + a.dropped);
        dropped.get_or_create(&queue(name)).inc_by(a.dropped);
    }
    if let Some(broker) = &sources.broker {
        for o in broker.observer_stats() {
            let name = format!("observer-{}", o.name);
            capacity.get_or_create(&queue(&name)).set(size(o.capacity));
            enqueued.get_or_create(&queue(&name)).inc_by(o.queued);
            dropped.get_or_create(&queue(&name)).inc_by(o.dropped);
        }
        let stats = broker.stats();
        let store = stats.store_queue;
        capacity
            .get_or_create(&queue(store.name))
            .set(size(store.capacity));
        let waits = Family::<Labels, Counter>::default();
        waits.get_or_create(&queue(store.name)).inc_by(store.waits);
        let wait_seconds = Family::<Labels, Counter<f64, AtomicU64>>::default();
        wait_seconds
            .get_or_create(&queue(store.name))
            .inc_by(store.wait_us as f64 / 1e6);
        registry.register(
            "thingwatch_queue_waits",
            "Submissions that found a blocking queue full and waited for room",
            waits,
        );
        registry.register_with_unit(
            "thingwatch_queue_wait",
            "Time submitters spent waiting for room in a blocking queue, seconds",
            Unit::Seconds,
            wait_seconds,
        );
        let gauge = |help: &str, name: &str, v: usize| {
            let g = Gauge::<i64>::default();
            g.set(size(v));
            (name.to_owned(), help.to_owned(), g)
        };
        for (name, help, g) in [
            gauge(
                "Sessions known (online or persistent offline)",
                "thingwatch_broker_sessions",
                stats.sessions,
            ),
            gauge(
                "Subscriptions (topic-trie entries)",
                "thingwatch_broker_subscriptions",
                stats.subscriptions,
            ),
            gauge(
                "Retained messages stored",
                "thingwatch_broker_retained_messages",
                stats.retained,
            ),
        ] {
            registry.register(name, help, g);
        }
    }
    registry.register(
        "thingwatch_queue_capacity",
        "Capacity of a named bounded queue, entries",
        capacity,
    );
    registry.register(
        "thingwatch_queue_enqueued",
        "Entries accepted into a named queue since start",
        enqueued,
    );
    registry.register(
        "thingwatch_queue_dropped",
        "Entries a named queue refused because it was full, since start",
        dropped,
    );
}
