//! The minute publication: the logger's cumulative `AWS/IoT` counters become one `Sum`
//! datum per flush with the increase since the previous one.

use std::sync::Arc;
use std::time::Duration;

use thingwatch_events::{
    Dimension, Logger, LoggerSettings, LoggingConfig, MemorySink, MetricName, PipelineConfig,
    Protocol,
};
use thingwatch_metrics::{CounterSource, MetricId, MetricStore, Publisher, StatQuery, Statistic};

fn logger() -> Logger {
    Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "n1".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::default(),
        Box::new(MemorySink::new()),
    )
}

fn sum(store: &MetricStore, metric: MetricId) -> Option<(f64, f64)> {
    let now = thingwatch_events::now_ms();
    let b = store
        .statistics(
            &StatQuery {
                metric,
                start_ms: now - 3_600_000,
                end_ms: now + 60_000,
                period_s: 3600,
                unit: Some("Count".into()),
                percentiles: false,
            },
            now,
        )
        .unwrap();
    b.first().map(|b| {
        (
            b.aggregate.statistic(Statistic::Sum).unwrap(),
            b.aggregate.count,
        )
    })
}

#[test]
fn each_flush_puts_the_increase_and_stop_flushes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path()).unwrap();
    let logger = logger();
    let source: Arc<dyn CounterSource> = Arc::new(logger.clone());
    // A long interval: only explicit flushes and the stop publish.
    let publisher = Publisher::start(store.clone(), vec![source], Duration::from_secs(3600));
    let mqtt = MetricId::new(
        "AWS/IoT",
        "PublishIn.Success",
        vec![("Protocol".into(), "MQTT".into())],
    );
    let m = logger.metrics();
    for _ in 0..5 {
        m.incr(MetricName::PublishInSuccess, Protocol::Mqtt);
    }
    m.add(
        MetricName::NumLogEventsFailedToPublishThrottled,
        Dimension::None,
        2,
    );
    publisher.flush();
    assert_eq!(sum(&store, mqtt.clone()), Some((5.0, 1.0)));
    // Nothing moved: nothing is put (the sample count stays 1).
    publisher.flush();
    assert_eq!(sum(&store, mqtt.clone()), Some((5.0, 1.0)));
    for _ in 0..3 {
        m.incr(MetricName::PublishInSuccess, Protocol::Mqtt);
    }
    publisher.stop();
    assert_eq!(sum(&store, mqtt), Some((8.0, 2.0)));
    let throttled = MetricId::new("AWS/IoT", "NumLogEventsFailedToPublishThrottled", vec![]);
    assert_eq!(sum(&store, throttled), Some((2.0, 1.0)));
    assert_eq!(
        sum(
            &store,
            MetricId::new(
                "AWS/IoT",
                "PublishIn.Success",
                vec![("Protocol".into(), "HTTP".into())]
            )
        ),
        None
    );
}
