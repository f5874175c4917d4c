//! The CloudWatch operations, each written once over `thingwatch_wire::Value`: input read
//! with a `Reader` (paths in errors are awsQuery paths), output a `Value` the protocol
//! layer encodes. Shapes: botocore 1.43.11, cloudwatch 2010-08-01.

use std::collections::BTreeSet;

use thingwatch_aws::page_token::{self, Alphabet};
use thingwatch_http::{ApiError, ErrorCode};
use thingwatch_metrics::alarms::Alarms;
use thingwatch_metrics::math::MathValue;
use thingwatch_metrics::query::{DataQuery, Evaluation, QueryError, QueryKind, StatSpec};
use thingwatch_metrics::store::aligned_start_s;
use thingwatch_metrics::{
    Datum, ListFilter, MetricId, MetricStore, MetricsError, StatQuery, Statistic, UNITS, Values,
    valid_period,
};
use thingwatch_wire::{Reader, Value};

use crate::validate::{
    check_len, combination, invalid, invalid_value, missing, namespace, optional_str, required_str,
    required_time,
};

/// At most this many datums per `PutMetricData` (CloudWatch quota, 2024).
pub const MAX_PUT_DATUMS: usize = 1000;
/// At most this many `Values` per datum.
pub const MAX_VALUES: usize = 150;
/// At most this many dimensions per metric.
pub const MAX_DIMENSIONS: usize = 30;
/// Data points one `GetMetricStatistics` call may ask for.
pub const MAX_STATISTICS_DATAPOINTS: i64 = 1440;
/// Metrics per `ListMetrics` page.
pub const LIST_METRICS_PAGE: usize = 500;
/// Queries per `GetMetricData` request.
pub const MAX_METRIC_DATA_QUERIES: usize = 500;
/// Default and largest `MaxDatapoints` of `GetMetricData`.
pub const MAX_METRIC_DATA_DATAPOINTS: i64 = 100_800;

const TWO_WEEKS_MS: i64 = 14 * 86_400_000;
const TWO_HOURS_MS: i64 = 2 * 3_600_000;

fn store_error(e: MetricsError) -> ApiError {
    tracing::warn!(error = %e, "metric store failure");
    ApiError::new(ErrorCode::InternalServiceFault, "Internal service error.")
}

/// A query evaluation error: the client's (`InvalidParameterValue`) or the store's.
pub(crate) fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::Invalid(m) => invalid(m),
        QueryError::Store(e) => store_error(e),
    }
}

/// What the operations work on: the metric store and the alarms over it.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Series and data points.
    pub store: MetricStore,
    /// Metric alarms.
    pub alarms: Alarms,
    /// Dashboards.
    pub dashboards: crate::dashboards::DashboardBackend,
}

/// Runs operation `op` on `input` at `now_ms`; `Ok(None)` for operations without output.
///
/// # Errors
/// The operation's AWS errors; `UnknownOperationException` for an operation CloudWatch
/// does not have or this server does not serve yet.
pub fn call(
    backend: &Backend,
    op: &str,
    input: &Value,
    now_ms: i64,
) -> Result<Option<Value>, ApiError> {
    use crate::alarms as a;
    let r = Reader::new(input);
    let (store, alarms) = (&backend.store, &backend.alarms);
    match op {
        "PutMetricData" => put_metric_data(backend, &r, now_ms).map(|()| None),
        "GetMetricStatistics" => get_metric_statistics(store, &r, now_ms).map(Some),
        "ListMetrics" => list_metrics(store, &r, now_ms).map(Some),
        "GetMetricData" => get_metric_data(store, &r, now_ms).map(Some),
        "PutMetricAlarm" => a::put_metric_alarm(alarms, &r, now_ms).map(|()| None),
        "PutCompositeAlarm" => a::put_composite_alarm(alarms, &r, now_ms).map(|()| None),
        "DescribeAlarms" => a::describe_alarms(alarms, &r).map(Some),
        "DescribeAlarmsForMetric" => a::describe_alarms_for_metric(alarms, &r).map(Some),
        "DescribeAlarmHistory" => a::describe_alarm_history(alarms, &r).map(Some),
        "DeleteAlarms" => a::delete_alarms(alarms, &r).map(|()| None),
        "SetAlarmState" => a::set_alarm_state(alarms, &r, now_ms).map(|()| None),
        "EnableAlarmActions" => a::set_actions(alarms, &r, true, now_ms).map(|()| None),
        "DisableAlarmActions" => a::set_actions(alarms, &r, false, now_ms).map(|()| None),
        "PutDashboard" => crate::dashboards::put(&backend.dashboards, &r, now_ms).map(Some),
        "GetDashboard" => crate::dashboards::get(&backend.dashboards, &r).map(Some),
        "ListDashboards" => crate::dashboards::list(&backend.dashboards, &r).map(Some),
        "DeleteDashboards" => crate::dashboards::delete(&backend.dashboards, &r).map(|()| None),
        _ => Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!("The operation {op} is not supported by this server."),
        )),
    }
}

// ---- shared readers

pub(crate) fn dimensions(
    r: &Reader<'_>,
    name: &str,
    max: usize,
) -> Result<Vec<(String, String)>, ApiError> {
    let Some(list) = r.member(name) else {
        return Ok(Vec::new());
    };
    let items = list.as_list()?;
    if items.len() > max {
        return Err(invalid(format!(
            "The collection {} must not have a size greater than {max}.",
            list.path()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut seen = BTreeSet::new();
    for d in &items {
        let n = required_str(d, "Name", 1, 255)?;
        let v = required_str(d, "Value", 1, 1024)?;
        if !seen.insert(n) {
            return Err(invalid(format!(
                "The collection {} must not contain duplicate dimension names.",
                list.path()
            )));
        }
        out.push((n.to_owned(), v.to_owned()));
    }
    Ok(out)
}

pub(crate) fn unit(r: &Reader<'_>, name: &str) -> Result<Option<String>, ApiError> {
    match r.str(name)? {
        None => Ok(None),
        Some(u) if UNITS.contains(&u) => Ok(Some(u.to_owned())),
        Some(u) => Err(invalid_value(&r.path_of(name), u)),
    }
}

pub(crate) fn dimensions_value(dims: &[(String, String)]) -> Value {
    Value::list(dims.iter().map(|(n, v)| {
        Value::structure()
            .with("Name", n.as_str())
            .with("Value", v.as_str())
    }))
}

fn metric_value(m: &MetricId) -> Value {
    Value::structure()
        .with("Namespace", m.namespace.as_str())
        .with("MetricName", m.name.as_str())
        .with("Dimensions", dimensions_value(&m.dimensions))
}

/// A period: 1, 5, 10, 30 or a multiple of 60 seconds.
pub(crate) fn period(r: &Reader<'_>, name: &str) -> Result<i64, ApiError> {
    let p = r.i64(name)?.ok_or_else(|| missing(&r.path_of(name)))?;
    check_period(&r.path_of(name), p)?;
    Ok(p)
}

fn check_period(path: &str, p: i64) -> Result<(), ApiError> {
    if p < 1 {
        return Err(invalid(format!(
            "The parameter {path} must be greater than 0."
        )));
    }
    if !valid_period(p) {
        return Err(invalid(format!(
            "The parameter {path} must be 1, 5, 10, 30, or a multiple of 60."
        )));
    }
    Ok(())
}

// ---- PutMetricData

fn datum_value(r: &Reader<'_>, name: &str, v: f64) -> Result<f64, ApiError> {
    check_value(&r.path_of(name), v)
}

/// A datum value in CloudWatch's range: 0 or a magnitude in [2^-360, 2^360]; no NaN or
/// infinity. `path` names the member in the error.
fn check_value(path: &str, v: f64) -> Result<f64, ApiError> {
    let a = v.abs();
    if !v.is_finite() || (a != 0.0 && !(8.515_920e-109..=1.174_271e108).contains(&a)) {
        return Err(invalid_value(path, &v.to_string()));
    }
    Ok(v)
}

fn read_datum(r: &Reader<'_>, namespace: &str, now_ms: i64) -> Result<Datum, ApiError> {
    let name = required_str(r, "MetricName", 1, 255)?;
    let dims = dimensions(r, "Dimensions", MAX_DIMENSIONS)?;
    let timestamp_ms = r.timestamp_ms("Timestamp")?.unwrap_or(now_ms);
    let ts_path = r.path_of("Timestamp");
    if timestamp_ms < now_ms - TWO_WEEKS_MS {
        return Err(invalid(format!(
            "The parameter {ts_path} must specify a time no more than two weeks in the past."
        )));
    }
    if timestamp_ms > now_ms + TWO_HOURS_MS {
        return Err(invalid(format!(
            "The parameter {ts_path} must specify a time no more than two hours in the future."
        )));
    }
    let value = r.f64("Value")?;
    let set = r.member("StatisticValues");
    let values = r.member("Values").map(|v| v.as_list()).transpose()?;
    let given = [value.is_some(), set.is_some(), values.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(combination(format!(
            "The parameters {}, {} and {} are mutually exclusive and you have specified more than one.",
            r.path_of("Value"),
            r.path_of("StatisticValues"),
            r.path_of("Values")
        )));
    }
    let values = if let Some(v) = value {
        Values::Single(datum_value(r, "Value", v)?)
    } else if let Some(s) = set {
        let field = |n: &str| -> Result<f64, ApiError> {
            let v = s.f64(n)?.ok_or_else(|| missing(&s.path_of(n)))?;
            datum_value(&s, n, v)
        };
        let (sample_count, sum, min, max) = (
            field("SampleCount")?,
            field("Sum")?,
            field("Minimum")?,
            field("Maximum")?,
        );
        if sample_count <= 0.0 {
            return Err(invalid_value(
                &s.path_of("SampleCount"),
                &sample_count.to_string(),
            ));
        }
        if min > max {
            return Err(invalid(format!(
                "The parameter {} must not be greater than {}.",
                s.path_of("Minimum"),
                s.path_of("Maximum")
            )));
        }
        Values::StatisticSet {
            sample_count,
            sum,
            min,
            max,
        }
    } else if let Some(items) = values {
        let path = r.path_of("Values");
        if items.is_empty() || items.len() > MAX_VALUES {
            return Err(invalid(format!(
                "The collection {path} must have between 1 and {MAX_VALUES} values."
            )));
        }
        let counts = r.member("Counts").map(|c| c.as_list()).transpose()?;
        if let Some(c) = &counts
            && c.len() != items.len()
        {
            return Err(invalid(format!(
                "The parameters {path} and {} must be of the same size.",
                r.path_of("Counts")
            )));
        }
        let mut pairs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let v = check_value(item.path(), item.as_f64()?)?;
            let count = match &counts {
                Some(c) => {
                    let n = c[i].as_f64()?;
                    if !n.is_finite() || n < 0.0 {
                        return Err(invalid_value(c[i].path(), &n.to_string()));
                    }
                    n
                }
                None => 1.0,
            };
            if count > 0.0 {
                pairs.push((v, count));
            }
        }
        Values::Weighted(pairs)
    } else {
        return Err(combination(format!(
            "One of the parameters {}, {} or {} must be specified.",
            r.path_of("Value"),
            r.path_of("StatisticValues"),
            r.path_of("Values")
        )));
    };
    let storage_resolution = match r.i64("StorageResolution")? {
        None | Some(60) => 60,
        Some(1) => 1,
        Some(other) => {
            return Err(invalid(format!(
                "The parameter {} must be 1 or 60, not {other}.",
                r.path_of("StorageResolution")
            )));
        }
    };
    Ok(Datum {
        metric: MetricId::new(namespace, name, dims),
        timestamp_ms,
        values,
        unit: unit(r, "Unit")?.unwrap_or_else(|| "None".to_owned()),
        storage_resolution,
    })
}

/// `PutMetricData`: datums of `MetricData` (and `EntityMetricData[].MetricData`) into
/// namespace `Namespace`, which may not start with `AWS/` (reserved for AWS's own metrics,
/// here the server's `AWS/IoT` publication).
fn put_metric_data(backend: &Backend, r: &Reader<'_>, now_ms: i64) -> Result<(), ApiError> {
    let ns = required_str(r, "Namespace", 1, 255)?;
    namespace("Namespace", ns)?;
    if ns.starts_with("AWS/") {
        return Err(invalid(format!(
            "The value {ns} for parameter Namespace is invalid: namespaces starting with AWS/ are reserved for AWS services."
        )));
    }
    let mut lists = Vec::new();
    if let Some(m) = r.member("MetricData") {
        lists.push(m.as_list()?);
    }
    if let Some(e) = r.member("EntityMetricData") {
        for entity in e.as_list()? {
            if let Some(m) = entity.member("MetricData") {
                lists.push(m.as_list()?);
            }
        }
    }
    let total: usize = lists.iter().map(Vec::len).sum();
    if total == 0 {
        return Err(missing("MetricData"));
    }
    if total > MAX_PUT_DATUMS {
        return Err(invalid(format!(
            "The collection MetricData must not have a size greater than {MAX_PUT_DATUMS}."
        )));
    }
    let mut data = Vec::with_capacity(total);
    for list in &lists {
        for d in list {
            data.push(read_datum(d, ns, now_ms)?);
        }
    }
    backend.store.put(&data, now_ms).map_err(store_error)?;
    // Alarms on these metrics see the new (possibly late) data now, not at the next tick.
    let mut touched: Vec<MetricId> = data.into_iter().map(|d| d.metric).collect();
    touched.sort();
    touched.dedup();
    if let Err(e) = backend.alarms.evaluate_for(&touched, now_ms) {
        tracing::warn!(error = %e, "alarm evaluation after PutMetricData failed");
    }
    Ok(())
}

// ---- GetMetricStatistics

fn start_end(r: &Reader<'_>) -> Result<(i64, i64), ApiError> {
    let start = required_time(r, "StartTime")?;
    let end = required_time(r, "EndTime")?;
    if start >= end {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    Ok((start, end))
}

fn datapoint_count(start_ms: i64, end_ms: i64, period_s: i64, now_ms: i64) -> i64 {
    let start = aligned_start_s(start_ms, period_s, now_ms);
    let end = end_ms.div_euclid(1000);
    (end - start + period_s - 1).div_euclid(period_s)
}

/// `GetMetricStatistics`: the `Statistics` or `ExtendedStatistics` of one metric per
/// period, oldest first.
fn get_metric_statistics(
    store: &MetricStore,
    r: &Reader<'_>,
    now_ms: i64,
) -> Result<Value, ApiError> {
    let ns = required_str(r, "Namespace", 1, 255)?;
    namespace("Namespace", ns)?;
    let name = required_str(r, "MetricName", 1, 255)?;
    let dims = dimensions(r, "Dimensions", MAX_DIMENSIONS)?;
    let (start, end) = start_end(r)?;
    let period_s = period(r, "Period")?;
    let statistics = r.strings("Statistics")?;
    let extended = r.strings("ExtendedStatistics")?;
    match (statistics.is_empty(), extended.is_empty()) {
        (true, true) => {
            return Err(missing("Statistics"));
        }
        (false, false) => {
            return Err(combination(
                "The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.",
            ));
        }
        _ => {}
    }
    if statistics.len() > 5 {
        return Err(invalid(
            "The collection Statistics must not have a size greater than 5.",
        ));
    }
    if extended.len() > 10 {
        return Err(invalid(
            "The collection ExtendedStatistics must not have a size greater than 10.",
        ));
    }
    let mut standard = Vec::new();
    for (i, s) in statistics.iter().enumerate() {
        match Statistic::parse(s) {
            Some(st) if !matches!(st, Statistic::Percentile(_)) => standard.push((*s, st)),
            _ => return Err(invalid_value(&format!("Statistics.member.{}", i + 1), s)),
        }
    }
    let mut percentiles = Vec::new();
    for (i, s) in extended.iter().enumerate() {
        match Statistic::parse_percentile(s) {
            Some(st) => percentiles.push((*s, st)),
            None => {
                return Err(invalid_value(
                    &format!("ExtendedStatistics.member.{}", i + 1),
                    s,
                ));
            }
        }
    }
    let n = datapoint_count(start, end, period_s, now_ms);
    if n > MAX_STATISTICS_DATAPOINTS {
        return Err(combination(format!(
            "You have requested up to {n} datapoints, which exceeds the limit of {MAX_STATISTICS_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )));
    }
    let buckets = store
        .statistics(
            &StatQuery {
                metric: MetricId::new(ns, name, dims),
                start_ms: start,
                end_ms: end,
                period_s,
                unit: unit(r, "Unit")?,
                percentiles: !percentiles.is_empty(),
            },
            now_ms,
        )
        .map_err(store_error)?;
    let points = buckets.iter().map(|b| {
        let mut p = Value::structure().with("Timestamp", Value::time_ms(b.timestamp_ms));
        for (wire, st) in &standard {
            p = p.with_opt(wire, b.aggregate.statistic(*st));
        }
        p = p.with("Unit", b.unit.as_str());
        if !percentiles.is_empty() {
            p = p.with(
                "ExtendedStatistics",
                Value::Map(
                    percentiles
                        .iter()
                        .filter_map(|(wire, st)| {
                            b.aggregate
                                .statistic(*st)
                                .map(|v| ((*wire).to_owned(), Value::from(v)))
                        })
                        .collect(),
                ),
            );
        }
        p
    });
    Ok(Value::structure()
        .with("Label", name)
        .with("Datapoints", Value::list(points)))
}

// ---- ListMetrics

const LIST_METRICS_TAG: &str = "ListMetrics";

/// `ListMetrics`: metrics with data in the last two weeks (`RecentlyActive=PT3H`: the last
/// three hours), filtered by namespace, name and dimensions, 500 per page.
fn list_metrics(store: &MetricStore, r: &Reader<'_>, now_ms: i64) -> Result<Value, ApiError> {
    let ns = optional_str(r, "Namespace", 1, 255)?;
    if let Some(ns) = ns {
        namespace("Namespace", ns)?;
    }
    let name = optional_str(r, "MetricName", 1, 255)?;
    let mut filters = Vec::new();
    if let Some(list) = r.member("Dimensions") {
        let items = list.as_list()?;
        if items.len() > 10 {
            return Err(invalid(
                "The collection Dimensions must not have a size greater than 10.",
            ));
        }
        for d in &items {
            let n = required_str(d, "Name", 1, 255)?;
            let v = optional_str(d, "Value", 1, 1024)?;
            filters.push((n.to_owned(), v.map(str::to_owned)));
        }
    }
    let active_within_ms = match r.str("RecentlyActive")? {
        None => None,
        Some("PT3H") => Some(3 * 3_600_000),
        Some(other) => return Err(invalid_value("RecentlyActive", other)),
    };
    let after = match r.str("NextToken")? {
        None => 0,
        Some(t) => page_token::decode_one(Alphabet::UrlSafe, LIST_METRICS_TAG, t)
            .ok()
            .and_then(|k| k.parse::<i64>().ok())
            .ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidNextToken, "The NextToken is not valid.")
            })?,
    };
    let filter = ListFilter {
        namespace: ns.map(str::to_owned),
        name: name.map(str::to_owned),
        dimensions: filters,
        active_within_ms,
    };
    let (page, next) = store
        .list(&filter, after, LIST_METRICS_PAGE, now_ms)
        .map_err(store_error)?;
    Ok(Value::structure()
        .with("Metrics", Value::list(page.iter().map(metric_value)))
        .with_opt(
            "NextToken",
            next.map(|n| {
                page_token::encode(Alphabet::UrlSafe, LIST_METRICS_TAG, &[&n.to_string()])
            }),
        ))
}

// ---- GetMetricData

const GET_METRIC_DATA_TAG: &str = "GetMetricData";

fn parse_stat(path: &str, s: &str) -> Result<Statistic, ApiError> {
    Statistic::parse(s).ok_or_else(|| invalid_value(path, s))
}

/// The `MetricDataQuery` list `member` (`MetricDataQueries` of GetMetricData, `Metrics` of
/// PutMetricAlarm), at most `max` queries, ids valid and unique.
pub(crate) fn read_queries(
    r: &Reader<'_>,
    member: &str,
    max: usize,
) -> Result<Vec<DataQuery>, ApiError> {
    let list = r.member(member).ok_or_else(|| missing(member))?.as_list()?;
    if list.is_empty() {
        return Err(missing(member));
    }
    if list.len() > max {
        return Err(invalid(format!(
            "The collection {member} must not have a size greater than {max}."
        )));
    }
    let mut ids = BTreeSet::new();
    let mut out = Vec::with_capacity(list.len());
    for q in &list {
        let id = required_str(q, "Id", 1, 255)?;
        let valid_id = id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_id {
            return Err(invalid(format!(
                "The value {id} for parameter {} is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores.",
                q.path_of("Id")
            )));
        }
        if !ids.insert(id) {
            return Err(invalid(format!(
                "The values for parameter Id in {member} must be unique; {id} is repeated."
            )));
        }
        let expression = q.str("Expression")?;
        let stat = q.member("MetricStat");
        let kind = match (stat, expression) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(combination(format!(
                    "Exactly one of the parameters {} and {} must be specified.",
                    q.path_of("MetricStat"),
                    q.path_of("Expression")
                )));
            }
            (None, Some(e)) => {
                check_len(&q.path_of("Expression"), e, 1, 2048)?;
                let p = q.i64("Period")?;
                if let Some(p) = p {
                    check_period(&q.path_of("Period"), p)?;
                }
                QueryKind::Expression(e.to_owned(), p)
            }
            (Some(s), None) => {
                let m = s
                    .member("Metric")
                    .ok_or_else(|| missing(&s.path_of("Metric")))?;
                let ns = required_str(&m, "Namespace", 1, 255)?;
                namespace(&m.path_of("Namespace"), ns)?;
                let name = required_str(&m, "MetricName", 1, 255)?;
                let dims = dimensions(&m, "Dimensions", MAX_DIMENSIONS)?;
                let stat_name = required_str(&s, "Stat", 1, 255)?;
                parse_stat(&s.path_of("Stat"), stat_name)?;
                QueryKind::Stat(StatSpec {
                    metric: MetricId::new(ns, name, dims),
                    period_s: period(&s, "Period")?,
                    stat: stat_name.to_owned(),
                    unit: unit(&s, "Unit")?,
                })
            }
        };
        out.push(DataQuery {
            id: id.to_owned(),
            label: q.str("Label")?.map(str::to_owned),
            return_data: q.bool("ReturnData")?.unwrap_or(true),
            kind,
        });
    }
    Ok(out)
}

/// `GetMetricData`: every query evaluated (MetricStat reads, expressions over them), the
/// ones with `ReturnData` answered, points ordered by `ScanBy` (newest first by default),
/// at most `MaxDatapoints` points per page.
fn get_metric_data(store: &MetricStore, r: &Reader<'_>, now_ms: i64) -> Result<Value, ApiError> {
    let queries = read_queries(r, "MetricDataQueries", MAX_METRIC_DATA_QUERIES)?;
    let (start, end) = start_end(r)?;
    let ascending = match r.str("ScanBy")? {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(other) => return Err(invalid_value("ScanBy", other)),
    };
    let max_points = r
        .i64("MaxDatapoints")?
        .unwrap_or(MAX_METRIC_DATA_DATAPOINTS);
    if max_points < 1 {
        return Err(invalid_value("MaxDatapoints", &max_points.to_string()));
    }
    let skip = match r.str("NextToken")? {
        None => 0,
        Some(t) => page_token::decode_one(Alphabet::UrlSafe, GET_METRIC_DATA_TAG, t)
            .ok()
            .and_then(|k| k.parse::<i64>().ok())
            .ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidNextToken, "The NextToken is not valid.")
            })?,
    };
    let eval = Evaluation::new(store, &queries, start, end, now_ms);
    // Every returned result as (id, label, points), in query order.
    type Labelled = (String, String, Vec<(i64, f64)>);
    let mut results: Vec<Labelled> = Vec::new();
    for q in queries.iter().filter(|q| q.return_data) {
        let label = q.label.clone();
        match eval.value_of(q).map_err(query_error)? {
            MathValue::Series(s) => {
                results.push((q.id.clone(), label.unwrap_or(s.label), s.points));
            }
            MathValue::Array(xs) => {
                for s in xs {
                    let l = match &label {
                        Some(l) => format!("{l} {}", s.label),
                        None => s.label,
                    };
                    results.push((q.id.clone(), l, s.points));
                }
            }
            MathValue::Scalar(v) => {
                let points = eval.grid().into_iter().map(|t| (t, v)).collect();
                results.push((q.id.clone(), label.unwrap_or_else(|| q.id.clone()), points));
            }
        }
    }
    // Page over the concatenation of all results' points.
    let mut offset: i64 = 0;
    let mut budget = max_points;
    let mut next = None;
    let mut out = Vec::new();
    for (id, label, mut points) in results {
        if budget == 0 && next.is_some() {
            break;
        }
        if !ascending {
            points.reverse();
        }
        let n = points.len() as i64;
        let first = (skip - offset).clamp(0, n);
        offset += n;
        if skip >= offset && n > 0 {
            continue;
        }
        let take = (n - first).min(budget);
        let slice = &points[first as usize..(first + take) as usize];
        budget -= take;
        let complete = first + take == n;
        if !complete && next.is_none() {
            next = Some(offset - n + first + take);
        }
        out.push(
            Value::structure()
                .with("Id", id.as_str())
                .with("Label", label.as_str())
                .with(
                    "Timestamps",
                    Value::list(slice.iter().map(|(t, _)| Value::time_ms(*t))),
                )
                .with(
                    "Values",
                    Value::list(slice.iter().map(|(_, v)| Value::from(*v))),
                )
                .with(
                    "StatusCode",
                    if complete { "Complete" } else { "PartialData" },
                )
                .with("Messages", Value::List(Vec::new())),
        );
    }
    Ok(Value::structure()
        .with("MetricDataResults", Value::List(out))
        .with_opt(
            "NextToken",
            next.map(|n| {
                page_token::encode(Alphabet::UrlSafe, GET_METRIC_DATA_TAG, &[&n.to_string()])
            }),
        )
        .with("Messages", Value::List(Vec::new())))
}
