//! The alarm operations: PutMetricAlarm, DescribeAlarms, DescribeAlarmsForMetric,
//! DescribeAlarmHistory, DeleteAlarms, SetAlarmState, EnableAlarmActions and
//! DisableAlarmActions (botocore 1.43.11, cloudwatch 2010-08-01).

use thingwatch_aws::page_token::{self, Alphabet};
use thingwatch_http::{ApiError, ErrorCode};
use thingwatch_metrics::alarms::{
    Alarm, AlarmDefinition, AlarmError, AlarmFilter, Alarms, Comparison, CompositeAlarm,
    CompositeDefinition, StateValue, TreatMissing,
};
use thingwatch_metrics::{MetricId, Statistic};
use thingwatch_wire::{Reader, Value};

use thingwatch_metrics::query::{DataQuery, QueryKind};

use crate::ops::{MAX_DIMENSIONS, dimensions, dimensions_value, period, read_queries, unit};
use crate::validate::{
    check_len, combination, invalid, invalid_value, missing, namespace, optional_str, required_str,
    validation,
};

/// At most this many queries in an alarm's `Metrics` (CloudWatch quota).
pub const MAX_ALARM_METRICS: usize = 10;
/// At most this many actions per state.
pub const MAX_ACTIONS: usize = 5;
/// Default and largest `MaxRecords` of DescribeAlarms / DescribeAlarmHistory.
pub const MAX_RECORDS: usize = 100;

fn alarm_error(e: AlarmError) -> ApiError {
    match e {
        AlarmError::NotFound(m) => ApiError::new(ErrorCode::CloudWatchResourceNotFound, m),
        AlarmError::Invalid(m) => ApiError::new(ErrorCode::InvalidParameterValue, m),
        AlarmError::Store(e) => {
            tracing::warn!(error = %e, "alarm store failure");
            ApiError::new(ErrorCode::InternalServiceFault, "Internal service error.")
        }
    }
}

fn actions(r: &Reader<'_>, name: &str) -> Result<Vec<String>, ApiError> {
    let list = r.strings(name)?;
    if list.len() > MAX_ACTIONS {
        return Err(invalid(format!(
            "The collection {name} must not have a size greater than {MAX_ACTIONS}."
        )));
    }
    for (i, a) in list.iter().enumerate() {
        let path = format!("{name}.member.{}", i + 1);
        check_len(&path, a, 1, 1024)?;
        if !a.starts_with("arn:") {
            return Err(invalid(format!("Invalid arn syntax: {a}")));
        }
    }
    Ok(list.into_iter().map(str::to_owned).collect())
}

fn positive(r: &Reader<'_>, name: &str) -> Result<Option<u32>, ApiError> {
    match r.i64(name)? {
        None => Ok(None),
        Some(v) if (1..=i64::from(u32::MAX)).contains(&v) => Ok(Some(v as u32)),
        Some(v) => Err(invalid(format!(
            "The parameter {name} must be greater than or equal to 1, not {v}."
        ))),
    }
}

/// `PutMetricAlarm`: a static threshold on one metric, or on metric math (`Metrics`).
pub fn put_metric_alarm(alarms: &Alarms, r: &Reader<'_>, now_ms: i64) -> Result<(), ApiError> {
    let name = required_str(r, "AlarmName", 1, 255)?;
    let description = optional_str(r, "AlarmDescription", 0, 1024)?;
    let watched = if r.member("Metrics").is_some() {
        Watched::Math(math_queries(r)?)
    } else {
        let ns = required_str(r, "Namespace", 1, 255)?;
        namespace("Namespace", ns)?;
        let metric_name = required_str(r, "MetricName", 1, 255)?;
        let dims = dimensions(r, "Dimensions", MAX_DIMENSIONS)?;
        let (statistic, extended) = one_statistic(r)?;
        Watched::Metric(
            MetricId::new(ns, metric_name, dims),
            statistic.to_owned(),
            extended,
            period(r, "Period")?,
        )
    };
    let period_s = match &watched {
        Watched::Metric(_, _, _, p) => *p,
        Watched::Math((_, p)) => *p,
    };
    let evaluation_periods =
        positive(r, "EvaluationPeriods")?.ok_or_else(|| missing("EvaluationPeriods"))?;
    let datapoints_to_alarm = positive(r, "DatapointsToAlarm")?.unwrap_or(evaluation_periods);
    if datapoints_to_alarm > evaluation_periods {
        return Err(invalid(
            "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
        ));
    }
    if i64::from(evaluation_periods) * period_s > 86_400 * 7 {
        return Err(invalid(
            "The evaluation period multiplied by the number of periods must not exceed one week (604800 seconds).",
        ));
    }
    let threshold = r.f64("Threshold")?.ok_or_else(|| missing("Threshold"))?;
    let comparison_s = r
        .str("ComparisonOperator")?
        .ok_or_else(|| missing("ComparisonOperator"))?;
    let comparison = Comparison::parse(comparison_s).ok_or_else(|| {
        if comparison_s.contains("Upper") || comparison_s.contains("Lower") {
            invalid(format!(
                "The comparison operator {comparison_s} is only for anomaly detection alarms, which this server does not support."
            ))
        } else {
            invalid_value("ComparisonOperator", comparison_s)
        }
    })?;
    let treat_missing = match r.str("TreatMissingData")? {
        None => TreatMissing::Missing,
        Some(t) => TreatMissing::parse(t).ok_or_else(|| invalid_value("TreatMissingData", t))?,
    };
    let low = r.str("EvaluateLowSampleCountPercentile")?;
    if let Some(l) = low
        && !matches!(l, "evaluate" | "ignore")
    {
        return Err(invalid_value("EvaluateLowSampleCountPercentile", l));
    }
    let definition = AlarmDefinition {
        name: name.to_owned(),
        description: description.map(str::to_owned),
        actions_enabled: r.bool("ActionsEnabled")?.unwrap_or(true),
        ok_actions: actions(r, "OKActions")?,
        alarm_actions: actions(r, "AlarmActions")?,
        insufficient_data_actions: actions(r, "InsufficientDataActions")?,
        metric: None,
        metrics: Vec::new(),
        statistic: String::new(),
        extended: false,
        period_s,
        unit: unit(r, "Unit")?,
        evaluation_periods,
        datapoints_to_alarm,
        threshold,
        comparison,
        treat_missing,
        evaluate_low_sample_count_percentile: low.map(str::to_owned),
    };
    let definition = match watched {
        Watched::Metric(metric, statistic, extended, _) => AlarmDefinition {
            metric: Some(metric),
            statistic,
            extended,
            ..definition
        },
        Watched::Math((metrics, _)) => AlarmDefinition {
            metrics,
            ..definition
        },
    };
    alarms.put(definition, now_ms).map_err(alarm_error)
}

/// What an alarm watches: one metric (with `Statistic`/`ExtendedStatistic`, whether
/// extended, and `Period`) or metric math (its queries and the watched query's period).
enum Watched {
    Metric(MetricId, String, bool, i64),
    Math((Vec<DataQuery>, i64)),
}

/// `Statistic` or `ExtendedStatistic` (exactly one), and whether it is the extended one.
fn one_statistic<'a>(r: &Reader<'a>) -> Result<(&'a str, bool), ApiError> {
    match (r.str("Statistic")?, r.str("ExtendedStatistic")?) {
        (Some(_), Some(_)) => Err(combination(
            "The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both.",
        )),
        (None, None) => Err(missing("Statistic")),
        (Some(s), None) => match Statistic::parse(s) {
            Some(Statistic::Percentile(_)) | None => Err(invalid_value("Statistic", s)),
            Some(_) => Ok((s, false)),
        },
        (None, Some(s)) => match Statistic::parse_percentile(s) {
            Some(_) => Ok((s, true)),
            None => Err(invalid_value("ExtendedStatistic", s)),
        },
    }
}

/// The `Metrics` of an alarm on metric math: at most [`MAX_ALARM_METRICS`] queries, none
/// of the single-metric parameters beside them, exactly one returning data, no `SEARCH`
/// (an alarm watches one time series), and every id an expression names defined. The
/// alarm's period is the watched query's (an expression without one: its metrics'
/// largest).
fn math_queries(r: &Reader<'_>) -> Result<(Vec<DataQuery>, i64), ApiError> {
    for (p, what) in [
        ("MetricName", "MetricName"),
        ("Namespace", "Namespace"),
        ("Dimensions", "Dimensions"),
        ("Statistic", "Statistic"),
        ("ExtendedStatistic", "ExtendedStatistic"),
        ("Period", "Period"),
        ("Unit", "Unit"),
    ] {
        if r.member(p).is_some() {
            return Err(validation(format!(
                "{what} should not be set if list of Metrics is set."
            )));
        }
    }
    if r.member("ThresholdMetricId").is_some() {
        return Err(invalid(
            "ThresholdMetricId (anomaly detection alarms) is not supported by this server.",
        ));
    }
    let queries = read_queries(r, "Metrics", MAX_ALARM_METRICS)?;
    let returning: Vec<&DataQuery> = queries.iter().filter(|q| q.return_data).collect();
    let [watched] = returning.as_slice() else {
        return Err(validation(
            "Exactly one element of the metrics list should return data.",
        ));
    };
    for q in &queries {
        if let QueryKind::Expression(e, _) = &q.kind
            && e.to_ascii_uppercase().contains("SEARCH(")
        {
            return Err(validation(format!(
                "The expression of {} uses SEARCH; an alarm can watch only one time series, so alarms on search expressions are not supported.",
                q.id
            )));
        }
    }
    let period_s = watched
        .period_s()
        .or_else(|| queries.iter().filter_map(DataQuery::period_s).max())
        .ok_or_else(|| {
            validation("The Metrics list must contain at least one MetricStat or an expression with a Period.")
        })?;
    Ok((queries, period_s))
}

/// `Metrics` as DescribeAlarms answers them (`MetricDataQuery` shapes).
fn queries_value(queries: &[DataQuery]) -> Value {
    Value::list(queries.iter().map(|q| {
        let mut v = Value::structure()
            .with("Id", q.id.as_str())
            .with_opt("Label", q.label.as_deref())
            .with("ReturnData", q.return_data);
        match &q.kind {
            QueryKind::Stat(s) => {
                v = v.with(
                    "MetricStat",
                    Value::structure()
                        .with(
                            "Metric",
                            Value::structure()
                                .with("Namespace", s.metric.namespace.as_str())
                                .with("MetricName", s.metric.name.as_str())
                                .with("Dimensions", dimensions_value(&s.metric.dimensions)),
                        )
                        .with("Period", s.period_s)
                        .with("Stat", s.stat.as_str())
                        .with_opt("Unit", s.unit.as_deref()),
                );
            }
            QueryKind::Expression(e, p) => {
                v = v.with("Expression", e.as_str()).with_opt("Period", *p);
            }
        }
        v
    }))
}

fn alarm_value(a: &Alarm) -> Value {
    let d = &a.definition;
    let list = |v: &[String]| Value::list(v.iter().map(String::as_str));
    let mut out = Value::structure()
        .with("AlarmName", d.name.as_str())
        .with("AlarmArn", a.arn.as_str())
        .with_opt("AlarmDescription", d.description.as_deref())
        .with(
            "AlarmConfigurationUpdatedTimestamp",
            Value::time_ms(a.configuration_updated_ms),
        )
        .with("ActionsEnabled", d.actions_enabled)
        .with("OKActions", list(&d.ok_actions))
        .with("AlarmActions", list(&d.alarm_actions))
        .with(
            "InsufficientDataActions",
            list(&d.insufficient_data_actions),
        )
        .with("StateValue", a.state.as_str())
        .with("StateReason", a.state_reason.as_str())
        .with_opt("StateReasonData", a.state_reason_data.as_deref())
        .with("StateUpdatedTimestamp", Value::time_ms(a.state_updated_ms));
    out = match &d.metric {
        Some(m) => {
            out = out
                .with("MetricName", m.name.as_str())
                .with("Namespace", m.namespace.as_str());
            out = if d.extended {
                out.with("ExtendedStatistic", d.statistic.as_str())
            } else {
                out.with("Statistic", d.statistic.as_str())
            };
            out.with("Dimensions", dimensions_value(&m.dimensions))
                .with("Period", d.period_s)
                .with_opt("Unit", d.unit.as_deref())
        }
        None => out.with("Metrics", queries_value(&d.metrics)),
    };
    out.with("EvaluationPeriods", d.evaluation_periods)
        .with("DatapointsToAlarm", d.datapoints_to_alarm)
        .with("Threshold", d.threshold)
        .with("ComparisonOperator", d.comparison.as_str())
        .with("TreatMissingData", d.treat_missing.as_str())
        .with_opt(
            "EvaluateLowSampleCountPercentile",
            d.evaluate_low_sample_count_percentile.as_deref(),
        )
        .with(
            "StateTransitionedTimestamp",
            Value::time_ms(a.state_transitioned_ms),
        )
}

fn max_records(r: &Reader<'_>) -> Result<usize, ApiError> {
    match r.i64("MaxRecords")? {
        None => Ok(MAX_RECORDS),
        Some(n) if (1..=MAX_RECORDS as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid(format!(
            "The parameter MaxRecords must be between 1 and {MAX_RECORDS}, not {n}."
        ))),
    }
}

fn skip_of(r: &Reader<'_>, tag: &str) -> Result<usize, ApiError> {
    match r.str("NextToken")? {
        None => Ok(0),
        Some(t) => page_token::decode_one(Alphabet::UrlSafe, tag, t)
            .ok()
            .and_then(|k| k.parse().ok())
            .ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidNextToken, "The NextToken is not valid.")
            }),
    }
}

fn token(tag: &str, next: usize) -> String {
    page_token::encode(Alphabet::UrlSafe, tag, &[&next.to_string()])
}

/// `DescribeAlarms` (metric alarms; composite alarms are answered as an empty list).
pub fn describe_alarms(alarms: &Alarms, r: &Reader<'_>) -> Result<Value, ApiError> {
    let names: Vec<String> = r
        .strings("AlarmNames")?
        .into_iter()
        .map(str::to_owned)
        .collect();
    if names.len() > 100 {
        return Err(invalid(
            "The collection AlarmNames must not have a size greater than 100.",
        ));
    }
    let prefix = optional_str(r, "AlarmNamePrefix", 1, 255)?;
    if prefix.is_some() && !names.is_empty() {
        return Err(combination(
            "The parameters AlarmNames and AlarmNamePrefix are mutually exclusive and you have specified both.",
        ));
    }
    let state = match r.str("StateValue")? {
        None => None,
        Some(s) => Some(StateValue::parse(s).ok_or_else(|| invalid_value("StateValue", s))?),
    };
    let types = r.strings("AlarmTypes")?;
    for t in &types {
        if !matches!(*t, "MetricAlarm" | "CompositeAlarm") {
            return Err(invalid_value("AlarmTypes", t));
        }
    }
    // AWS answers only metric alarms unless AlarmTypes asks for composite ones.
    let want_metric = types.is_empty() || types.contains(&"MetricAlarm");
    let want_composite = types.contains(&"CompositeAlarm");
    let filter = AlarmFilter {
        names,
        prefix: prefix.map(str::to_owned),
        state,
        action_prefix: optional_str(r, "ActionPrefix", 1, 1024)?.map(str::to_owned),
    };
    let limit = max_records(r)?;
    let skip = skip_of(r, "DescribeAlarms")?;
    let all = if want_metric {
        alarms.describe(&filter).map_err(alarm_error)?
    } else {
        Vec::new()
    };
    let composites: Vec<CompositeAlarm> = if want_composite {
        alarms
            .composites()
            .map_err(alarm_error)?
            .into_iter()
            .filter(|c| {
                let d = &c.definition;
                (filter.names.is_empty() || filter.names.contains(&d.name))
                    && filter.prefix.as_ref().is_none_or(|p| d.name.starts_with(p))
                    && filter.state.is_none_or(|s| c.state == s)
            })
            .collect()
    } else {
        Vec::new()
    };
    let total = all.len() + composites.len();
    let page: Vec<Value> = all.iter().skip(skip).take(limit).map(alarm_value).collect();
    let composite_page: Vec<Value> = composites
        .iter()
        .skip(skip.saturating_sub(all.len()))
        .take(limit - page.len())
        .map(composite_value)
        .collect();
    let next = (skip + limit < total).then(|| token("DescribeAlarms", skip + limit));
    Ok(Value::structure()
        .with("MetricAlarms", Value::List(page))
        .with("CompositeAlarms", Value::List(composite_page))
        .with_opt("NextToken", next))
}

/// `DescribeAlarmsForMetric`.
pub fn describe_alarms_for_metric(alarms: &Alarms, r: &Reader<'_>) -> Result<Value, ApiError> {
    let ns = required_str(r, "Namespace", 1, 255)?;
    namespace("Namespace", ns)?;
    let name = required_str(r, "MetricName", 1, 255)?;
    let dims = dimensions(r, "Dimensions", MAX_DIMENSIONS)?;
    let statistic = r.str("Statistic")?.or(r.str("ExtendedStatistic")?);
    let period_s = match r.i64("Period")? {
        Some(_) => Some(period(r, "Period")?),
        None => None,
    };
    let unit = unit(r, "Unit")?;
    let found = alarms
        .for_metric(
            &MetricId::new(ns, name, dims),
            statistic,
            period_s,
            unit.as_deref(),
        )
        .map_err(alarm_error)?;
    Ok(Value::structure().with("MetricAlarms", Value::list(found.iter().map(alarm_value))))
}

/// `DescribeAlarmHistory`.
pub fn describe_alarm_history(alarms: &Alarms, r: &Reader<'_>) -> Result<Value, ApiError> {
    let name = optional_str(r, "AlarmName", 1, 255)?;
    let item_type = r.str("HistoryItemType")?;
    if let Some(t) = item_type
        && !matches!(t, "ConfigurationUpdate" | "StateUpdate" | "Action")
    {
        return Err(invalid_value("HistoryItemType", t));
    }
    let start = r.timestamp_ms("StartDate")?.unwrap_or(0);
    let end = r.timestamp_ms("EndDate")?.unwrap_or(i64::MAX);
    let ascending = match r.str("ScanBy")? {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(o) => return Err(invalid_value("ScanBy", o)),
    };
    let limit = max_records(r)?;
    let skip = skip_of(r, "DescribeAlarmHistory")?;
    let items = alarms
        .history(name, item_type, start, end, ascending)
        .map_err(alarm_error)?;
    let page = items.iter().skip(skip).take(limit).map(|h| {
        Value::structure()
            .with("AlarmName", h.alarm_name.as_str())
            .with("AlarmType", h.alarm_type.as_str())
            .with("Timestamp", Value::time_ms(h.timestamp_ms))
            .with("HistoryItemType", h.item_type.as_str())
            .with("HistorySummary", h.summary.as_str())
            .with("HistoryData", h.data.as_str())
    });
    let next = (skip + limit < items.len()).then(|| token("DescribeAlarmHistory", skip + limit));
    Ok(Value::structure()
        .with("AlarmHistoryItems", Value::list(page))
        .with_opt("NextToken", next))
}

fn alarm_names(r: &Reader<'_>) -> Result<Vec<String>, ApiError> {
    if r.member("AlarmNames").is_none() {
        return Err(missing("AlarmNames"));
    }
    let names = r.strings("AlarmNames")?;
    if names.len() > 100 {
        return Err(invalid(
            "The collection AlarmNames must not have a size greater than 100.",
        ));
    }
    Ok(names.into_iter().map(str::to_owned).collect())
}

/// `DeleteAlarms`: all or nothing; an unknown name is `ResourceNotFound` (404).
pub fn delete_alarms(alarms: &Alarms, r: &Reader<'_>) -> Result<(), ApiError> {
    alarms.delete(&alarm_names(r)?).map_err(alarm_error)
}

/// `EnableAlarmActions` / `DisableAlarmActions`.
pub fn set_actions(
    alarms: &Alarms,
    r: &Reader<'_>,
    enabled: bool,
    now_ms: i64,
) -> Result<(), ApiError> {
    alarms
        .set_actions_enabled(&alarm_names(r)?, enabled, now_ms)
        .map_err(alarm_error)
}

/// `SetAlarmState`: `StateReasonData` must be JSON (`InvalidFormat` otherwise).
pub fn set_alarm_state(alarms: &Alarms, r: &Reader<'_>, now_ms: i64) -> Result<(), ApiError> {
    let name = required_str(r, "AlarmName", 1, 255)?;
    let state_s = r.str("StateValue")?.ok_or_else(|| missing("StateValue"))?;
    let state = StateValue::parse(state_s).ok_or_else(|| invalid_value("StateValue", state_s))?;
    let reason = r
        .str("StateReason")?
        .ok_or_else(|| missing("StateReason"))?;
    check_len("StateReason", reason, 0, 1023)?;
    let data = optional_str(r, "StateReasonData", 0, 4000)?;
    if let Some(d) = data
        && serde_json::from_str::<serde_json::Value>(d).is_err()
    {
        return Err(ApiError::new(
            ErrorCode::InvalidFormatFault,
            "The parameter StateReasonData is not valid JSON.",
        ));
    }
    alarms
        .set_state(name, state, reason, data, now_ms)
        .map_err(alarm_error)
}

fn composite_value(c: &CompositeAlarm) -> Value {
    let d = &c.definition;
    let list = |v: &[String]| Value::list(v.iter().map(String::as_str));
    Value::structure()
        .with("ActionsEnabled", d.actions_enabled)
        .with("AlarmActions", list(&d.alarm_actions))
        .with("AlarmArn", c.arn.as_str())
        .with(
            "AlarmConfigurationUpdatedTimestamp",
            Value::time_ms(c.configuration_updated_ms),
        )
        .with_opt("AlarmDescription", d.description.as_deref())
        .with("AlarmName", d.name.as_str())
        .with("AlarmRule", d.rule.as_str())
        .with(
            "InsufficientDataActions",
            list(&d.insufficient_data_actions),
        )
        .with("OKActions", list(&d.ok_actions))
        .with("StateReason", c.state_reason.as_str())
        .with_opt("StateReasonData", c.state_reason_data.as_deref())
        .with("StateUpdatedTimestamp", Value::time_ms(c.state_updated_ms))
        .with("StateValue", c.state.as_str())
        .with(
            "StateTransitionedTimestamp",
            Value::time_ms(c.state_updated_ms),
        )
}

/// `PutCompositeAlarm`: a rule over other alarms (`ALARM(x)`, `OK(x)`,
/// `INSUFFICIENT_DATA(x)`, `TRUE`, `FALSE`, `AND`, `OR`, `NOT`, parentheses); every alarm it
/// names must exist. Action suppressors are not supported.
pub fn put_composite_alarm(alarms: &Alarms, r: &Reader<'_>, now_ms: i64) -> Result<(), ApiError> {
    let name = required_str(r, "AlarmName", 1, 255)?;
    let rule = required_str(r, "AlarmRule", 1, 10_240)?;
    if r.member("ActionsSuppressor").is_some() {
        return Err(invalid(
            "ActionsSuppressor is not supported by this server.",
        ));
    }
    let definition = CompositeDefinition {
        name: name.to_owned(),
        description: optional_str(r, "AlarmDescription", 0, 1024)?.map(str::to_owned),
        rule: rule.to_owned(),
        actions_enabled: r.bool("ActionsEnabled")?.unwrap_or(true),
        ok_actions: actions(r, "OKActions")?,
        alarm_actions: actions(r, "AlarmActions")?,
        insufficient_data_actions: actions(r, "InsufficientDataActions")?,
    };
    match alarms
        .put_composite(definition, now_ms)
        .map_err(alarm_error)?
    {
        Ok(()) => Ok(()),
        Err(m) => Err(invalid(m)),
    }
}
