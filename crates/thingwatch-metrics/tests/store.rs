//! The metric store through its public API: roll-ups, late data, units, percentiles,
//! retention, ListMetrics filters and paging, and the persistence of all of it.

use thingwatch_metrics::store::{aligned_start_s, query_resolution};
use thingwatch_metrics::{Datum, ListFilter, MetricId, MetricStore, StatQuery, Statistic, Values};

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// 2026-12-07T00:00:00Z, a whole hour.
const NOW: i64 = 1_796_601_600_000;

fn metric(name: &str) -> MetricId {
    MetricId::new("Custom", name, vec![("Thing".into(), "t1".into())])
}

fn datum(name: &str, at: i64, v: f64) -> Datum {
    Datum {
        metric: metric(name),
        timestamp_ms: at,
        values: Values::Single(v),
        unit: "Count".into(),
        storage_resolution: 60,
    }
}

fn query(name: &str, start: i64, end: i64, period_s: i64) -> StatQuery {
    StatQuery {
        metric: metric(name),
        start_ms: start,
        end_ms: end,
        period_s,
        unit: None,
        percentiles: true,
    }
}

#[test]
fn a_minute_of_data_is_one_bucket_in_every_rollup_and_late_data_lands_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path()).unwrap();
    let t0 = NOW - 2 * 3_600_000; // two hours ago, on the hour
    store
        .put(
            &[datum("M", t0 + 5_000, 1.0), datum("M", t0 + 30_000, 3.0)],
            NOW,
        )
        .unwrap();
    store
        .put(&[datum("M", t0 + MIN + 1_000, 10.0)], NOW)
        .unwrap();
    // Late: a point for the first minute arrives after the second minute's.
    store.put(&[datum("M", t0 + 59_000, 2.0)], NOW).unwrap();

    let per_minute = store
        .statistics(&query("M", t0, t0 + 5 * MIN, 60), NOW)
        .unwrap();
    assert_eq!(per_minute.len(), 2);
    assert_eq!(per_minute[0].timestamp_ms, t0);
    assert_eq!(per_minute[0].aggregate.count, 3.0);
    assert_eq!(per_minute[0].aggregate.sum, 6.0);
    assert_eq!(per_minute[1].aggregate.sum, 10.0);

    // A 5-minute and an hourly period read their roll-ups and see all four values.
    for period in [300, 3600] {
        let b = store
            .statistics(&query("M", t0, t0 + 3_600_000, period), NOW)
            .unwrap();
        assert_eq!(b.len(), 1, "period {period}");
        assert_eq!(b[0].aggregate.sum, 16.0);
        assert_eq!(b[0].aggregate.statistic(Statistic::Maximum), Some(10.0));
        assert_eq!(b[0].aggregate.statistic(Statistic::Minimum), Some(1.0));
        let p50 = b[0]
            .aggregate
            .statistic(Statistic::Percentile(50.0))
            .unwrap();
        assert!((1.9..=3.1).contains(&p50), "{p50}");
    }
    // Other units and other dimensions are other data.
    let mut q = query("M", t0, t0 + 3_600_000, 3600);
    q.unit = Some("Seconds".into());
    assert!(store.statistics(&q, NOW).unwrap().is_empty());
    q.unit = None;
    q.metric = MetricId::new("Custom", "M", vec![]);
    assert!(store.statistics(&q, NOW).unwrap().is_empty());

    // Everything survives a reopen.
    drop(store);
    let store = MetricStore::open(dir.path()).unwrap();
    let b = store
        .statistics(&query("M", t0, t0 + 3_600_000, 3600), NOW)
        .unwrap();
    assert_eq!(b[0].aggregate.sum, 16.0);
}

#[test]
fn start_times_round_like_cloudwatch_and_old_data_needs_coarse_periods() {
    // Within 15 days: to the minute; 15–63 days: 5 minutes; older: the hour.
    let t = NOW - DAY + 34_000 + 2 * MIN;
    assert_eq!(aligned_start_s(t, 60, NOW) * 1000, NOW - DAY + 2 * MIN);
    let t = NOW - 20 * DAY + 7 * MIN;
    assert_eq!(
        aligned_start_s(t, 300, NOW) * 1000,
        NOW - 20 * DAY + 5 * MIN
    );
    let t = NOW - 100 * DAY + 7 * MIN;
    assert_eq!(aligned_start_s(t, 3600, NOW) * 1000, NOW - 100 * DAY);
    // Periods under a minute only within 3 hours (1-second data).
    assert_eq!(query_resolution((NOW - 3_600_000) / 1000, 10, NOW), Some(1));
    assert_eq!(query_resolution((NOW - DAY) / 1000, 10, NOW), None);
    assert_eq!(query_resolution((NOW - 20 * DAY) / 1000, 60, NOW), None);
    assert_eq!(
        query_resolution((NOW - 20 * DAY) / 1000, 600, NOW),
        Some(300)
    );
    assert_eq!(
        query_resolution((NOW - 100 * DAY) / 1000, 3600, NOW),
        Some(3600)
    );
}

#[test]
fn high_resolution_data_has_second_buckets_and_statistic_sets_have_no_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path()).unwrap();
    let t0 = NOW - 10 * MIN;
    let mut data = Vec::new();
    for s in 0..20 {
        let mut d = datum("Hi", t0 + s * 1000, 1.0);
        d.storage_resolution = 1;
        data.push(d);
    }
    data.push(Datum {
        metric: metric("Set"),
        timestamp_ms: t0,
        values: Values::StatisticSet {
            sample_count: 4.0,
            sum: 10.0,
            min: 1.0,
            max: 4.0,
        },
        unit: "Milliseconds".into(),
        storage_resolution: 60,
    });
    store.put(&data, NOW).unwrap();
    let tens = store
        .statistics(&query("Hi", t0, t0 + MIN, 10), NOW)
        .unwrap();
    assert_eq!(tens.len(), 2);
    assert_eq!(tens[0].aggregate.count, 10.0);
    let set = store
        .statistics(&query("Set", t0, t0 + MIN, 60), NOW)
        .unwrap();
    assert_eq!(set[0].unit, "Milliseconds");
    assert_eq!(set[0].aggregate.statistic(Statistic::Average), Some(2.5));
    assert_eq!(
        set[0].aggregate.statistic(Statistic::Percentile(99.0)),
        None
    );
}

#[test]
fn retention_prunes_each_resolution_at_its_age() {
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path()).unwrap();
    let old = NOW - 20 * DAY; // past the 1-minute retention, within the 5-minute one
    store.put(&[datum("Old", old, 5.0)], old).unwrap();
    let deleted = store.prune(NOW).unwrap();
    assert!(deleted >= 1, "the 1-minute bucket goes");
    assert!(
        store
            .statistics(&query("Old", old, old + MIN, 60), NOW)
            .unwrap()
            .is_empty()
    );
    let five = store
        .statistics(&query("Old", old, old + 300_000, 300), NOW)
        .unwrap();
    assert_eq!(five[0].aggregate.sum, 5.0);
    // Data older than any retention is not stored at all.
    store
        .put(&[datum("Ancient", NOW - 500 * DAY, 1.0)], NOW)
        .unwrap();
    let q = query("Ancient", NOW - 500 * DAY, NOW - 499 * DAY, 3600);
    assert!(store.statistics(&q, NOW).unwrap().is_empty());
}

#[test]
fn list_filters_by_namespace_name_dimensions_and_activity_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = MetricStore::open(dir.path()).unwrap();
    let mut data = Vec::new();
    for i in 0..7 {
        data.push(Datum {
            metric: MetricId::new(
                "AWS/IoT",
                "PublishIn.Success",
                vec![("Protocol".into(), format!("P{i}"))],
            ),
            ..datum("x", NOW - MIN, 1.0)
        });
    }
    data.push(datum("Other", NOW - MIN, 1.0));
    store.put(&data, NOW - 4 * 3_600_000).unwrap();
    store.put(&[datum("Fresh", NOW - MIN, 1.0)], NOW).unwrap();

    let all = |f: &ListFilter| {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let (page, next) = store.list(f, after, 3, NOW).unwrap();
            assert!(page.len() <= 3);
            out.extend(page);
            match next {
                Some(n) => after = n,
                None => return out,
            }
        }
    };
    assert_eq!(all(&ListFilter::default()).len(), 9);
    let iot = ListFilter {
        namespace: Some("AWS/IoT".into()),
        ..Default::default()
    };
    assert_eq!(all(&iot).len(), 7);
    let p3 = ListFilter {
        dimensions: vec![("Protocol".into(), Some("P3".into()))],
        ..Default::default()
    };
    assert_eq!(all(&p3).len(), 1);
    let thing = ListFilter {
        dimensions: vec![("Thing".into(), None)],
        name: Some("Other".into()),
        ..Default::default()
    };
    assert_eq!(all(&thing), vec![metric("Other")]);
    let recent = ListFilter {
        active_within_ms: Some(3 * 3_600_000),
        ..Default::default()
    };
    assert_eq!(all(&recent), vec![metric("Fresh")]);
    assert_eq!(store.series_count().unwrap(), 9);
}
