//! The CloudWatch metric data model: a metric's identity ([`MetricId`]), what one
//! `PutMetricData` datum carries ([`Datum`], [`Values`]), units ([`UNITS`]) and the
//! statistics asked of stored data ([`Statistic`]).
//!
//! Source: Amazon CloudWatch User Guide, *Metrics concepts* (namespaces, dimensions,
//! resolution, statistics, percentiles), and the `PutMetricData` / `GetMetricStatistics`
//! API references (botocore 1.43.11, cloudwatch 2010-08-01).

/// Every CloudWatch `StandardUnit`, as written on the wire.
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// A metric's identity: namespace, name and dimensions. Dimensions are a set: they are kept
/// sorted by name, so `{A=1,B=2}` and `{B=2,A=1}` are one metric, as in CloudWatch.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct MetricId {
    /// e.g. `AWS/IoT` or a custom namespace.
    pub namespace: String,
    /// e.g. `PublishIn.Success`.
    pub name: String,
    /// `(name, value)` pairs sorted by name (at most 30, names unique).
    pub dimensions: Vec<(String, String)>,
}

impl MetricId {
    /// A metric identity; `dimensions` are sorted here.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        mut dimensions: Vec<(String, String)>,
    ) -> MetricId {
        dimensions.sort();
        MetricId {
            namespace: namespace.into(),
            name: name.into(),
            dimensions,
        }
    }

    /// The dimensions as one text key (`name\u{1f}value\u{1e}…`), how the store indexes them.
    pub(crate) fn dimensions_key(&self) -> String {
        let mut key = String::new();
        for (n, v) in &self.dimensions {
            key.push_str(n);
            key.push('\u{1f}');
            key.push_str(v);
            key.push('\u{1e}');
        }
        key
    }

    pub(crate) fn dimensions_from_key(key: &str) -> Vec<(String, String)> {
        key.split('\u{1e}')
            .filter(|s| !s.is_empty())
            .filter_map(|pair| {
                pair.split_once('\u{1f}')
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
            })
            .collect()
    }
}

/// The values of one datum (`PutMetricData` `Value`, `Values`+`Counts`, or
/// `StatisticValues`).
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// One value (`Value`).
    Single(f64),
    /// Distinct values, each seen `count` times (`Values`/`Counts`; a missing count is 1).
    Weighted(Vec<(f64, f64)>),
    /// A pre-aggregated statistic set (`StatisticValues`): no percentiles can be computed
    /// from it.
    StatisticSet {
        /// `SampleCount`.
        sample_count: f64,
        /// `Sum`.
        sum: f64,
        /// `Minimum`.
        min: f64,
        /// `Maximum`.
        max: f64,
    },
}

/// One data point as `PutMetricData` receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Datum {
    /// The metric.
    pub metric: MetricId,
    /// When the value was observed, epoch **milliseconds**.
    pub timestamp_ms: i64,
    /// The values.
    pub values: Values,
    /// One of [`UNITS`]; `None` when not given.
    pub unit: String,
    /// 1 (high resolution: kept at 1 s for 3 hours) or 60 (standard).
    pub storage_resolution: u32,
}

/// A statistic of a period's data points: `SampleCount`, `Average`, `Sum`, `Minimum`,
/// `Maximum`, or a percentile `pNN.NN` (extended statistic).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Statistic {
    /// Number of values.
    SampleCount,
    /// Sum / SampleCount.
    Average,
    /// Sum of values.
    Sum,
    /// Smallest value.
    Minimum,
    /// Largest value.
    Maximum,
    /// Percentile, 0.0–100.0 (`p99` = 99.0).
    Percentile(f64),
}

impl Statistic {
    /// A standard statistic by its wire name (`Sum`), or a percentile (`p99`, `p99.9`).
    pub fn parse(s: &str) -> Option<Statistic> {
        Some(match s {
            "SampleCount" => Statistic::SampleCount,
            "Average" => Statistic::Average,
            "Sum" => Statistic::Sum,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            _ => return Statistic::parse_percentile(s),
        })
    }

    /// A percentile `pNN` / `pNN.NN` (at most two decimals, 0–100) as CloudWatch's extended
    /// statistics name them.
    pub fn parse_percentile(s: &str) -> Option<Statistic> {
        let n = s.strip_prefix('p')?;
        if n.is_empty() || n.starts_with('.') || n.ends_with('.') {
            return None;
        }
        if let Some((_, frac)) = n.split_once('.')
            && frac.len() > 2
        {
            return None;
        }
        if !n.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        let v: f64 = n.parse().ok()?;
        (0.0..=100.0)
            .contains(&v)
            .then_some(Statistic::Percentile(v))
    }
}

/// CloudWatch's retention per storage resolution, in seconds of age: 1-second points for
/// 3 hours, 1-minute points for 15 days, 5-minute points for 63 days, 1-hour points for
/// 455 days (CloudWatch User Guide, *Metrics retention*).
pub const RETENTION: &[(i64, i64)] = &[
    (1, 3 * 3600),
    (60, 15 * 86_400),
    (300, 63 * 86_400),
    (3600, 455 * 86_400),
];

/// Whether `period_s` is a CloudWatch period: 1, 5, 10, 30 (high resolution) or a multiple
/// of 60 seconds.
pub fn valid_period(period_s: i64) -> bool {
    if period_s < 60 {
        matches!(period_s, 1 | 5 | 10 | 30)
    } else {
        period_s % 60 == 0
    }
}
