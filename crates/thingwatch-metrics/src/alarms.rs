//! CloudWatch metric alarms: definitions, their evaluation against the metric store, states
//! with AWS's reasons, history, and actions on state changes.
//!
//! An alarm watches one statistic of one metric over `period_s`; each evaluation reads the
//! last `evaluation_periods` periods (the current, still-filling one included, so a
//! breaching point is seen on the next evaluation), classifies each as breaching, not
//! breaching or missing — missing periods counted as `TreatMissingData` says — and goes to
//! `ALARM` when at least `datapoints_to_alarm` periods breach, to `OK` when fewer do and
//! some data exists, and, with no data at all, to `INSUFFICIENT_DATA` (`missing`), stays
//! (`ignore`), or treats it as breaching / not breaching. A state change is recorded in the
//! history and, when actions are enabled, runs the new state's actions once (an
//! [`AlarmNotifier`], SNS topics). Evaluation runs on a schedule ([`Evaluator`]) and right
//! after data for the alarm's metric is put.
//!
//! Source: Amazon CloudWatch User Guide, *Using Amazon CloudWatch alarms* (evaluating an
//! alarm, M out of N, treating missing data), the `PutMetricAlarm`, `DescribeAlarms`,
//! `DescribeAlarmHistory` and `SetAlarmState` API references, and the alarm notification
//! format SNS subscribers receive.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use thingwatch_aws::{Arn, Scope};
use thingwatch_sqlite::{Migration, Schema};

use crate::math::MathValue;
use crate::model::{MetricId, Statistic};
use crate::periodic::Periodic;
use crate::query::{DataQuery, Evaluation, QueryKind, StatSpec, period_aggregates};
use crate::store::{MetricStore, MetricsError};

mod composite;
pub use composite::{AlarmRule, CompositeAlarm, CompositeDefinition};

const SCHEMA: Schema = Schema::new(
    "alarms.db",
    &[Migration::Sql(
        "CREATE TABLE IF NOT EXISTS alarms (
            name TEXT PRIMARY KEY,
            body TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS composites (
            name TEXT PRIMARY KEY,
            body TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS history (
            id INTEGER PRIMARY KEY,
            alarm_name TEXT NOT NULL,
            alarm_type TEXT NOT NULL,
            ts INTEGER NOT NULL,
            item_type TEXT NOT NULL,
            summary TEXT NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS history_by_alarm ON history (alarm_name, ts);",
    )],
);

/// The `(name, body JSON)` tables: metric alarms and composite alarms.
#[derive(Clone, Copy)]
enum Table {
    Alarms,
    Composites,
}

impl Table {
    fn select_one(self) -> &'static str {
        match self {
            Table::Alarms => "SELECT body FROM alarms WHERE name = ?1",
            Table::Composites => "SELECT body FROM composites WHERE name = ?1",
        }
    }

    fn select_all(self) -> &'static str {
        match self {
            Table::Alarms => "SELECT body FROM alarms ORDER BY name",
            Table::Composites => "SELECT body FROM composites ORDER BY name",
        }
    }

    fn upsert(self) -> &'static str {
        match self {
            Table::Alarms => "INSERT OR REPLACE INTO alarms (name, body) VALUES (?1, ?2)",
            Table::Composites => "INSERT OR REPLACE INTO composites (name, body) VALUES (?1, ?2)",
        }
    }
}

/// History is kept for 30 days (DescribeAlarmHistory).
pub const HISTORY_RETENTION_MS: i64 = 30 * 86_400_000;
/// The default evaluation interval: one minute, as CloudWatch.
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);

/// An alarm state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateValue {
    /// `OK`.
    #[serde(rename = "OK")]
    Ok,
    /// `ALARM`.
    #[serde(rename = "ALARM")]
    Alarm,
    /// `INSUFFICIENT_DATA`.
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl StateValue {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateValue::Ok => "OK",
            StateValue::Alarm => "ALARM",
            StateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// By wire name.
    pub fn parse(s: &str) -> Option<StateValue> {
        Some(match s {
            "OK" => StateValue::Ok,
            "ALARM" => StateValue::Alarm,
            "INSUFFICIENT_DATA" => StateValue::InsufficientData,
            _ => return None,
        })
    }
}

/// The static-threshold comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `GreaterThanOrEqualToThreshold`.
    GreaterThanOrEqualToThreshold,
    /// `GreaterThanThreshold`.
    GreaterThanThreshold,
    /// `LessThanThreshold`.
    LessThanThreshold,
    /// `LessThanOrEqualToThreshold`.
    LessThanOrEqualToThreshold,
}

impl Comparison {
    /// By wire name; the anomaly-detection operators are not static comparisons (`None`).
    pub fn parse(s: &str) -> Option<Comparison> {
        Some(match s {
            "GreaterThanOrEqualToThreshold" => Comparison::GreaterThanOrEqualToThreshold,
            "GreaterThanThreshold" => Comparison::GreaterThanThreshold,
            "LessThanThreshold" => Comparison::LessThanThreshold,
            "LessThanOrEqualToThreshold" => Comparison::LessThanOrEqualToThreshold,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    fn breaches(self, v: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => v >= threshold,
            Comparison::GreaterThanThreshold => v > threshold,
            Comparison::LessThanThreshold => v < threshold,
            Comparison::LessThanOrEqualToThreshold => v <= threshold,
        }
    }

    /// How AWS's state reasons word it ("greater than or equal to").
    fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Comparison::GreaterThanThreshold => "greater than",
            Comparison::LessThanThreshold => "less than",
            Comparison::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }
}

/// `TreatMissingData`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TreatMissing {
    /// `missing` (the default): no data at all is `INSUFFICIENT_DATA`.
    #[serde(rename = "missing")]
    Missing,
    /// `ignore`: no data keeps the current state.
    #[serde(rename = "ignore")]
    Ignore,
    /// `breaching`: a missing period breaches.
    #[serde(rename = "breaching")]
    Breaching,
    /// `notBreaching`: a missing period does not breach.
    #[serde(rename = "notBreaching")]
    NotBreaching,
}

impl TreatMissing {
    /// By wire name.
    pub fn parse(s: &str) -> Option<TreatMissing> {
        Some(match s {
            "missing" => TreatMissing::Missing,
            "ignore" => TreatMissing::Ignore,
            "breaching" => TreatMissing::Breaching,
            "notBreaching" => TreatMissing::NotBreaching,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TreatMissing::Missing => "missing",
            TreatMissing::Ignore => "ignore",
            TreatMissing::Breaching => "breaching",
            TreatMissing::NotBreaching => "notBreaching",
        }
    }
}

/// What `PutMetricAlarm` defines (validated by the API crate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmDefinition {
    /// `AlarmName`.
    pub name: String,
    /// `AlarmDescription`.
    pub description: Option<String>,
    /// `ActionsEnabled` (default true).
    pub actions_enabled: bool,
    /// `OKActions` (ARNs).
    pub ok_actions: Vec<String>,
    /// `AlarmActions`.
    pub alarm_actions: Vec<String>,
    /// `InsufficientDataActions`.
    pub insufficient_data_actions: Vec<String>,
    /// The metric watched (`Namespace`, `MetricName`, `Dimensions`); `None` for an alarm
    /// on metric math, which watches [`Self::metrics`] instead.
    pub metric: Option<MetricId>,
    /// `Metrics`: the queries of an alarm on metric math, exactly one of them with
    /// `ReturnData` (the series watched); empty for an alarm on one metric.
    #[serde(default)]
    pub metrics: Vec<DataQuery>,
    /// `Statistic` (`Sum`) or `ExtendedStatistic` (`p99`) as given; empty for an alarm on
    /// metric math.
    #[serde(default)]
    pub statistic: String,
    /// Whether [`Self::statistic`] is an extended statistic.
    pub extended: bool,
    /// `Period`, seconds (for metric math: the watched query's period).
    pub period_s: i64,
    /// `Unit`.
    pub unit: Option<String>,
    /// `EvaluationPeriods` (N).
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm` (M; defaults to N).
    pub datapoints_to_alarm: u32,
    /// `Threshold`.
    pub threshold: f64,
    /// `ComparisonOperator`.
    pub comparison: Comparison,
    /// `TreatMissingData`.
    pub treat_missing: TreatMissing,
    /// `EvaluateLowSampleCountPercentile` as given.
    pub evaluate_low_sample_count_percentile: Option<String>,
}

impl AlarmDefinition {
    /// Whether data put for any of `metrics` may change this alarm's state: its metric, a
    /// `MetricStat` of its metric math, or any metric when an expression searches.
    pub fn watches_any(&self, metrics: &[MetricId]) -> bool {
        match &self.metric {
            Some(m) => metrics.contains(m),
            None => self.metrics.iter().any(|q| match &q.kind {
                QueryKind::Stat(s) => metrics.contains(&s.metric),
                QueryKind::Expression(e, _) => e.to_ascii_uppercase().contains("SEARCH"),
            }),
        }
    }
}

/// An alarm's `Metrics` as JSON: PascalCase (`Id`, `MetricStat`, …) as the notification's
/// `Trigger` writes them when `pascal`, camelCase as history data writes them otherwise.
fn queries_json(queries: &[DataQuery], pascal: bool) -> serde_json::Value {
    let k = |name: &'static str| -> String {
        if pascal {
            name.to_owned()
        } else {
            let mut c = name.chars();
            c.next()
                .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
                .unwrap_or_default()
        }
    };
    let list = queries
        .iter()
        .map(|q| {
            let mut o = serde_json::Map::new();
            o.insert(k("Id"), json!(q.id));
            if let Some(l) = &q.label {
                o.insert(k("Label"), json!(l));
            }
            match &q.kind {
                QueryKind::Stat(s) => {
                    let dims: Vec<_> = s
                        .metric
                        .dimensions
                        .iter()
                        .map(|(n, v)| json!({ k("Name"): n, k("Value"): v }))
                        .collect();
                    let mut stat = json!({
                        k("Metric"): {k("Namespace"): s.metric.namespace,
                                      k("MetricName"): s.metric.name, k("Dimensions"): dims},
                        k("Period"): s.period_s, k("Stat"): s.stat,
                    });
                    if let Some(u) = &s.unit {
                        stat[k("Unit")] = json!(u);
                    }
                    o.insert(k("MetricStat"), stat);
                }
                QueryKind::Expression(e, p) => {
                    o.insert(k("Expression"), json!(e));
                    if let Some(p) = p {
                        o.insert(k("Period"), json!(p));
                    }
                }
            }
            o.insert(k("ReturnData"), json!(q.return_data));
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::Value::Array(list)
}

/// An alarm: its definition and its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// The definition.
    pub definition: AlarmDefinition,
    /// `AlarmArn`.
    pub arn: String,
    /// When the definition last changed, epoch ms.
    pub configuration_updated_ms: i64,
    /// `StateValue`.
    pub state: StateValue,
    /// `StateReason`.
    pub state_reason: String,
    /// `StateReasonData` (JSON text), when the evaluation wrote one.
    pub state_reason_data: Option<String>,
    /// When the state last changed, epoch ms.
    pub state_updated_ms: i64,
    /// When the alarm was last evaluated, epoch ms.
    pub state_transitioned_ms: i64,
}

/// One history entry (`AlarmHistoryItem`).
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryItem {
    /// `AlarmName`.
    pub alarm_name: String,
    /// `MetricAlarm` or `CompositeAlarm`.
    pub alarm_type: String,
    /// `Timestamp`, epoch ms.
    pub timestamp_ms: i64,
    /// `ConfigurationUpdate`, `StateUpdate` or `Action`.
    pub item_type: String,
    /// `HistorySummary`.
    pub summary: String,
    /// `HistoryData` (JSON text).
    pub data: String,
}

/// Runs an alarm action: publishes the alarm notification `message` (JSON) with `subject`
/// to the action `arn` (an SNS topic ARN).
pub trait AlarmNotifier: Send + Sync {
    /// # Errors
    /// Why the action could not run (recorded in the alarm's history).
    fn notify(&self, arn: &str, subject: &str, message: &str) -> Result<(), String>;
}

/// Errors of the alarm store.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    /// No such alarm.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what exists (a metric alarm named like a composite one).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] MetricsError),
}

impl From<rusqlite::Error> for AlarmError {
    fn from(e: rusqlite::Error) -> AlarmError {
        AlarmError::Store(MetricsError::Sql(e))
    }
}

/// A filter of [`Alarms::describe`].
#[derive(Clone, Debug, Default)]
pub struct AlarmFilter {
    /// `AlarmNames` (empty: any).
    pub names: Vec<String>,
    /// `AlarmNamePrefix`.
    pub prefix: Option<String>,
    /// `StateValue`.
    pub state: Option<StateValue>,
    /// `ActionPrefix`: an action of any state starts with it.
    pub action_prefix: Option<String>,
}

/// The alarms of an account. Cheap to clone.
#[derive(Clone)]
pub struct Alarms {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    store: MetricStore,
    scope: Scope,
    notifier: Mutex<Option<Arc<dyn AlarmNotifier>>>,
    /// Serializes evaluations and changes so a state change is decided once.
    lock: Mutex<()>,
}

impl std::fmt::Debug for Alarms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alarms").finish_non_exhaustive()
    }
}

/// The region's name as alarm notifications write it (`US East (N. Virginia)`).
pub fn region_name(region: &str) -> &str {
    match region {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "eu-west-1" => "EU (Ireland)",
        "eu-central-1" => "EU (Frankfurt)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        other => other,
    }
}

/// `2026-12-07T11:02:05.123+0000`, how alarm data writes times.
pub fn alarm_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    t.format(&f).unwrap_or_default()
}

/// `07/12/26 11:02:00`, how state reasons write a datapoint's time (dd/MM/yy HH:mm:ss).
fn reason_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[day]/[month]/[year repr:last_two] [hour]:[minute]:[second]"
    );
    t.format(&f).unwrap_or_default()
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

struct Outcome {
    state: StateValue,
    reason: String,
    data: String,
}

impl Alarms {
    /// Opens (creating) `DIR/alarms.db` over `store`, for the account and region of `scope`.
    ///
    /// # Errors
    /// [`MetricsError::Open`].
    pub fn open(dir: &Path, store: MetricStore, scope: Scope) -> Result<Alarms, MetricsError> {
        let conn = thingwatch_sqlite::open(&dir.join("alarms.db"), &SCHEMA)?;
        Ok(Alarms {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                store,
                scope,
                notifier: Mutex::new(None),
                lock: Mutex::new(()),
            }),
        })
    }

    /// Sets what runs alarm actions (SNS).
    pub fn set_notifier(&self, notifier: Arc<dyn AlarmNotifier>) {
        *self.inner.notifier.lock() = Some(notifier);
    }

    fn load(&self, name: &str) -> Result<Option<Alarm>, AlarmError> {
        self.load_one(Table::Alarms, name)
    }

    fn save(&self, alarm: &Alarm) -> Result<(), AlarmError> {
        self.save_one(Table::Alarms, &alarm.definition.name, alarm)
    }

    /// The row `name` of a `(name, body JSON)` table; an unreadable row reads as absent.
    fn load_one<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        name: &str,
    ) -> Result<Option<T>, AlarmError> {
        let conn = self.inner.conn.lock();
        let body: Option<String> = conn
            .query_row(table.select_one(), [name], |r| r.get(0))
            .optional()?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// Writes `value` as the row `name` of a `(name, body JSON)` table.
    fn save_one<T: Serialize>(
        &self,
        table: Table,
        name: &str,
        value: &T,
    ) -> Result<(), AlarmError> {
        let body = serde_json::to_string(value).unwrap_or_default();
        self.inner
            .conn
            .lock()
            .execute(table.upsert(), params![name, body])?;
        Ok(())
    }

    fn record(&self, item: &HistoryItem) -> Result<(), AlarmError> {
        let conn = self.inner.conn.lock();
        conn.execute(
            "INSERT INTO history (alarm_name, alarm_type, ts, item_type, summary, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![item.alarm_name, item.alarm_type, item.timestamp_ms, item.item_type, item.summary, item.data],
        )?;
        conn.execute(
            "DELETE FROM history WHERE ts < ?1",
            [item.timestamp_ms - HISTORY_RETENTION_MS],
        )?;
        Ok(())
    }

    /// Every alarm, by name.
    ///
    /// # Errors
    /// Storage failures.
    pub fn all(&self) -> Result<Vec<Alarm>, AlarmError> {
        self.load_table(Table::Alarms)
    }

    /// Every row of a `(name, body JSON)` table by name; unreadable rows are skipped.
    fn load_table<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
    ) -> Result<Vec<T>, AlarmError> {
        let conn = self.inner.conn.lock();
        let mut stmt = conn.prepare_cached(table.select_all())?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for b in rows {
            match serde_json::from_str(&b?) {
                Ok(a) => out.push(a),
                Err(e) => tracing::warn!(error = %e, "unreadable alarm in the alarm store"),
            }
        }
        Ok(out)
    }

    /// Alarms matching `filter`, by name.
    ///
    /// # Errors
    /// Storage failures.
    pub fn describe(&self, filter: &AlarmFilter) -> Result<Vec<Alarm>, AlarmError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|a| {
                let d = &a.definition;
                (filter.names.is_empty() || filter.names.contains(&d.name))
                    && filter.prefix.as_ref().is_none_or(|p| d.name.starts_with(p))
                    && filter.state.is_none_or(|s| a.state == s)
                    && filter.action_prefix.as_ref().is_none_or(|p| {
                        d.ok_actions
                            .iter()
                            .chain(&d.alarm_actions)
                            .chain(&d.insufficient_data_actions)
                            .any(|x| x.starts_with(p))
                    })
            })
            .collect())
    }

    /// Alarms on `metric` (`DescribeAlarmsForMetric`), optionally only with that statistic,
    /// period and unit.
    ///
    /// # Errors
    /// Storage failures.
    pub fn for_metric(
        &self,
        metric: &MetricId,
        statistic: Option<&str>,
        period_s: Option<i64>,
        unit: Option<&str>,
    ) -> Result<Vec<Alarm>, AlarmError> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|a| {
                let d = &a.definition;
                d.metric.as_ref() == Some(metric)
                    && statistic.is_none_or(|s| d.statistic == s)
                    && period_s.is_none_or(|p| d.period_s == p)
                    && unit.is_none_or(|u| d.unit.as_deref() == Some(u))
            })
            .collect())
    }

    /// Creates or replaces an alarm (`PutMetricAlarm`). A new alarm starts in
    /// `INSUFFICIENT_DATA` ("Unchecked: Initial alarm creation"); an update keeps its state.
    /// Either is recorded as a `ConfigurationUpdate` and evaluated at once.
    ///
    /// # Errors
    /// Storage failures.
    pub fn put(&self, definition: AlarmDefinition, now_ms: i64) -> Result<(), AlarmError> {
        let guard = self.inner.lock.lock();
        if self.load_composite(&definition.name)?.is_some() {
            return Err(AlarmError::Invalid(format!(
                "An alarm named {} already exists and is a composite alarm.",
                definition.name
            )));
        }
        let existing = self.load(&definition.name)?;
        let arn = Arn::cloudwatch_alarm(&self.inner.scope, &definition.name).to_string();
        let (alarm, summary, kind) = match existing {
            Some(mut a) => {
                a.definition = definition;
                a.configuration_updated_ms = now_ms;
                let summary = format!("Alarm \"{}\" updated", a.definition.name);
                (a, summary, "Update")
            }
            None => {
                let summary = format!("Alarm \"{}\" created", definition.name);
                (
                    Alarm {
                        definition,
                        arn,
                        configuration_updated_ms: now_ms,
                        state: StateValue::InsufficientData,
                        state_reason: "Unchecked: Initial alarm creation".to_owned(),
                        state_reason_data: None,
                        state_updated_ms: now_ms,
                        state_transitioned_ms: now_ms,
                    },
                    summary,
                    "Create",
                )
            }
        };
        self.save(&alarm)?;
        self.record(&HistoryItem {
            alarm_name: alarm.definition.name.clone(),
            alarm_type: "MetricAlarm".into(),
            timestamp_ms: now_ms,
            item_type: "ConfigurationUpdate".into(),
            summary,
            data: json!({"version": "1.0", "type": kind,
                         "updatedAlarm": self.configuration_json(&alarm)})
            .to_string(),
        })?;
        drop(guard);
        self.evaluate(&alarm.definition.name, now_ms)
    }

    fn configuration_json(&self, a: &Alarm) -> serde_json::Value {
        let d = &a.definition;
        let mut out = json!({
            "alarmName": d.name, "alarmArn": a.arn, "period": d.period_s,
            "evaluationPeriods": d.evaluation_periods, "datapointsToAlarm": d.datapoints_to_alarm,
            "threshold": d.threshold, "comparisonOperator": d.comparison.as_str(),
            "treatMissingData": d.treat_missing.as_str(), "actionsEnabled": d.actions_enabled,
        });
        match &d.metric {
            Some(m) => {
                out["namespace"] = json!(m.namespace);
                out["metricName"] = json!(m.name);
                out["statistic"] = json!(d.statistic);
                out["dimensions"] = json!(
                    m.dimensions
                        .iter()
                        .map(|(n, v)| json!({"name": n, "value": v}))
                        .collect::<Vec<_>>()
                );
            }
            None => out["metrics"] = queries_json(&d.metrics, false),
        }
        out
    }

    /// Deletes alarms (`DeleteAlarms`); nothing is deleted when one does not exist.
    ///
    /// # Errors
    /// [`AlarmError::NotFound`] naming the first unknown alarm.
    pub fn delete(&self, names: &[String]) -> Result<(), AlarmError> {
        let _guard = self.inner.lock.lock();
        for n in names {
            if self.load(n)?.is_none() && self.load_composite(n)?.is_none() {
                return Err(AlarmError::NotFound(format!(
                    "Alarm with name {n} does not exist."
                )));
            }
        }
        let metric = self.delete_composites(names)?;
        let conn = self.inner.conn.lock();
        for n in &metric {
            conn.execute("DELETE FROM alarms WHERE name = ?1", [n])?;
        }
        Ok(())
    }

    /// Enables or disables the actions of `names` (unknown names are ignored, as AWS).
    ///
    /// # Errors
    /// Storage failures.
    pub fn set_actions_enabled(
        &self,
        names: &[String],
        enabled: bool,
        now_ms: i64,
    ) -> Result<(), AlarmError> {
        let _guard = self.inner.lock.lock();
        for n in names {
            if let Some(mut a) = self.load(n)? {
                a.definition.actions_enabled = enabled;
                a.configuration_updated_ms = now_ms;
                self.save(&a)?;
            }
        }
        Ok(())
    }

    /// Sets an alarm's state by hand (`SetAlarmState`): recorded and acted on like an
    /// evaluated change; the next evaluation may change it back.
    ///
    /// # Errors
    /// [`AlarmError::NotFound`].
    pub fn set_state(
        &self,
        name: &str,
        state: StateValue,
        reason: &str,
        reason_data: Option<&str>,
        now_ms: i64,
    ) -> Result<(), AlarmError> {
        let _guard = self.inner.lock.lock();
        let alarm = self
            .load(name)?
            .ok_or_else(|| AlarmError::NotFound(format!("Alarm {name} not found")))?;
        self.transition(
            alarm,
            Outcome {
                state,
                reason: reason.to_owned(),
                data: reason_data.unwrap_or("").to_owned(),
            },
            now_ms,
        )
    }

    /// History entries of `name` (or every alarm), of `item_type` when given, within
    /// `[start_ms, end_ms]`, newest first unless `ascending`.
    ///
    /// # Errors
    /// Storage failures.
    pub fn history(
        &self,
        name: Option<&str>,
        item_type: Option<&str>,
        start_ms: i64,
        end_ms: i64,
        ascending: bool,
    ) -> Result<Vec<HistoryItem>, AlarmError> {
        let conn = self.inner.conn.lock();
        let sql = if ascending {
            "SELECT alarm_name, ts, item_type, summary, data, alarm_type FROM history
             WHERE (?1 IS NULL OR alarm_name = ?1) AND (?2 IS NULL OR item_type = ?2)
               AND ts >= ?3 AND ts <= ?4 ORDER BY ts, id"
        } else {
            "SELECT alarm_name, ts, item_type, summary, data, alarm_type FROM history
             WHERE (?1 IS NULL OR alarm_name = ?1) AND (?2 IS NULL OR item_type = ?2)
               AND ts >= ?3 AND ts <= ?4 ORDER BY ts DESC, id DESC"
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![name, item_type, start_ms, end_ms], |r| {
            Ok(HistoryItem {
                alarm_name: r.get(0)?,
                timestamp_ms: r.get(1)?,
                item_type: r.get(2)?,
                summary: r.get(3)?,
                data: r.get(4)?,
                alarm_type: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Evaluates every alarm (the schedule).
    ///
    /// # Errors
    /// Storage failures.
    pub fn evaluate_all(&self, now_ms: i64) -> Result<(), AlarmError> {
        for a in self.all()? {
            self.evaluate(&a.definition.name, now_ms)?;
        }
        Ok(())
    }

    /// Evaluates the alarms on any of `metrics` (after data for them was put).
    ///
    /// # Errors
    /// Storage failures.
    pub fn evaluate_for(&self, metrics: &[MetricId], now_ms: i64) -> Result<(), AlarmError> {
        for a in self.all()? {
            if a.definition.watches_any(metrics) {
                self.evaluate(&a.definition.name, now_ms)?;
            }
        }
        Ok(())
    }

    /// Evaluates one alarm now and applies a state change.
    ///
    /// # Errors
    /// Storage failures.
    pub fn evaluate(&self, name: &str, now_ms: i64) -> Result<(), AlarmError> {
        let _guard = self.inner.lock.lock();
        let Some(alarm) = self.load(name)? else {
            return Ok(());
        };
        match self.assess(&alarm, now_ms)? {
            Some(outcome) if outcome.state != alarm.state => {
                self.transition(alarm, outcome, now_ms)
            }
            _ => Ok(()),
        }
    }

    /// The state the data calls for; `None` to keep the current one.
    /// The alarm's datapoints in `[start, end)`, newest first: `(timestamp ms, value,
    /// sample count)` — no sample count for metric math, and no points at all when the
    /// expression cannot be evaluated (logged).
    fn datapoints(
        &self,
        d: &AlarmDefinition,
        start: i64,
        end: i64,
        now_ms: i64,
    ) -> Result<Vec<(i64, f64, Option<f64>)>, AlarmError> {
        let Some(metric) = &d.metric else {
            let Some(watched) = d.metrics.iter().find(|q| q.return_data) else {
                return Ok(Vec::new());
            };
            let eval = Evaluation::new(&self.inner.store, &d.metrics, start, end, now_ms);
            let points = match eval.value_of(watched) {
                Ok(MathValue::Series(s)) => s.points,
                Ok(MathValue::Array(mut xs)) if xs.len() == 1 => xs.remove(0).points,
                Ok(MathValue::Scalar(v)) => eval.grid().into_iter().map(|t| (t, v)).collect(),
                Ok(MathValue::Array(_)) => Vec::new(),
                Err(crate::query::QueryError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(alarm = %d.name, error = %e, "alarm expression failed");
                    Vec::new()
                }
            };
            return Ok(points
                .into_iter()
                .rev()
                .filter(|(t, v)| *t >= start && *t < end && v.is_finite())
                .map(|(t, v)| (t, v, None))
                .collect());
        };
        let Some(stat) = Statistic::parse(&d.statistic) else {
            return Ok(Vec::new());
        };
        let spec = StatSpec {
            metric: metric.clone(),
            period_s: d.period_s,
            stat: d.statistic.clone(),
            unit: d.unit.clone(),
        };
        // One value per period (several units merged), newest first.
        Ok(
            period_aggregates(&self.inner.store, &spec, start, end, now_ms)?
                .iter()
                .rev()
                .filter_map(|(t, a)| a.statistic(stat).map(|v| (*t, v, Some(a.count))))
                .collect(),
        )
    }

    fn assess(&self, alarm: &Alarm, now_ms: i64) -> Result<Option<Outcome>, AlarmError> {
        let d = &alarm.definition;
        let period_ms = d.period_s * 1000;
        let n = i64::from(d.evaluation_periods);
        let end = (now_ms.div_euclid(period_ms) + 1) * period_ms;
        let start = end - n * period_ms;
        let values = self.datapoints(d, start, end, now_ms)?;
        let present = values.len() as i64;
        let missing = n - present;
        let breaching_present = values
            .iter()
            .filter(|(_, v, _)| d.comparison.breaches(*v, d.threshold))
            .count() as i64;
        let breaching = breaching_present
            + if d.treat_missing == TreatMissing::Breaching {
                missing
            } else {
                0
            };
        let m = i64::from(d.datapoints_to_alarm);
        let mut data = json!({
            "version": "1.0",
            "queryDate": alarm_time(now_ms),
            "startDate": alarm_time(start),
            "statistic": d.statistic,
            "period": d.period_s,
            "recentDatapoints": values.iter().rev().map(|(_, v, _)| v).collect::<Vec<_>>(),
            "threshold": d.threshold,
            "evaluatedDatapoints": values.iter().map(|(t, v, c)| match c {
                Some(c) => json!({"timestamp": alarm_time(*t), "sampleCount": c, "value": v}),
                None => json!({"timestamp": alarm_time(*t), "value": v}),
            }).collect::<Vec<_>>(),
        });
        if d.metric.is_none()
            && let Some(o) = data.as_object_mut()
        {
            o.remove("statistic");
        }
        let data = data.to_string();
        let listed = |items: &[(i64, f64, Option<f64>)]| {
            items
                .iter()
                .map(|(t, v, _)| format!("{} ({})", num(*v), reason_time(*t)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if present == 0 {
            return Ok(match d.treat_missing {
                TreatMissing::Ignore => None,
                TreatMissing::Missing => Some(Outcome {
                    state: StateValue::InsufficientData,
                    reason: format!(
                        "Insufficient Data: {n} datapoint{} {} unknown.",
                        if n == 1 { "" } else { "s" },
                        if n == 1 { "was" } else { "were" }
                    ),
                    data,
                }),
                TreatMissing::Breaching | TreatMissing::NotBreaching => Some(Outcome {
                    state: if breaching >= m {
                        StateValue::Alarm
                    } else {
                        StateValue::Ok
                    },
                    reason: format!(
                        "Threshold Crossed: no datapoints were received for {n} period{} and {n} missing datapoint{} {} treated as [{}].",
                        if n == 1 { "" } else { "s" },
                        if n == 1 { "" } else { "s" },
                        if n == 1 { "was" } else { "were" },
                        if d.treat_missing == TreatMissing::Breaching {
                            "Breaching"
                        } else {
                            "NonBreaching"
                        }
                    ),
                    data,
                }),
            });
        }
        let words = d.comparison.words();
        let threshold = num(d.threshold);
        let outcome = if breaching >= m {
            let shown: Vec<_> = values
                .iter()
                .filter(|(_, v, _)| d.comparison.breaches(*v, d.threshold))
                .copied()
                .collect();
            Outcome {
                state: StateValue::Alarm,
                reason: format!(
                    "Threshold Crossed: {breaching} out of the last {n} datapoints [{}] {} {words} the threshold ({threshold}) (minimum {m} datapoint{} for OK -> ALARM transition).",
                    listed(&shown),
                    if breaching == 1 { "was" } else { "were" },
                    if m == 1 { "" } else { "s" },
                ),
                data,
            }
        } else {
            let shown: Vec<_> = values.iter().take(1).copied().collect();
            Outcome {
                state: StateValue::Ok,
                reason: format!(
                    "Threshold Crossed: {} datapoint{} [{}] {} not {words} the threshold ({threshold}).",
                    present - breaching_present,
                    if present - breaching_present == 1 {
                        ""
                    } else {
                        "s"
                    },
                    listed(&shown),
                    if present - breaching_present == 1 {
                        "was"
                    } else {
                        "were"
                    },
                ),
                data,
            }
        };
        Ok(Some(outcome))
    }

    fn transition(
        &self,
        mut alarm: Alarm,
        outcome: Outcome,
        now_ms: i64,
    ) -> Result<(), AlarmError> {
        let old_state = alarm.state;
        let old_reason = std::mem::take(&mut alarm.state_reason);
        alarm.state = outcome.state;
        alarm.state_reason = outcome.reason;
        alarm.state_reason_data = (!outcome.data.is_empty()).then_some(outcome.data);
        alarm.state_transitioned_ms = now_ms;
        if old_state == alarm.state {
            // A state set by hand to what it already is: the reason changes, nothing runs.
            self.save(&alarm)?;
            return Ok(());
        }
        alarm.state_updated_ms = now_ms;
        self.save(&alarm)?;
        let name = alarm.definition.name.clone();
        let mut new_state =
            json!({"stateValue": alarm.state.as_str(), "stateReason": alarm.state_reason});
        if let Some(d) = alarm
            .state_reason_data
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        {
            new_state["stateReasonData"] = d;
        }
        self.record(&HistoryItem {
            alarm_name: name.clone(),
            alarm_type: "MetricAlarm".into(),
            timestamp_ms: now_ms,
            item_type: "StateUpdate".into(),
            summary: format!(
                "Alarm updated from {} to {}",
                old_state.as_str(),
                alarm.state.as_str()
            ),
            data: json!({"version": "1.0",
                         "oldState": {"stateValue": old_state.as_str(), "stateReason": old_reason},
                         "newState": new_state})
            .to_string(),
        })?;
        let changed_arn = alarm.arn.clone();
        let result = self.run_actions(&alarm, old_state, now_ms);
        self.evaluate_composites(Some(&changed_arn), now_ms)?;
        result
    }

    fn run_actions(
        &self,
        alarm: &Alarm,
        old_state: StateValue,
        now_ms: i64,
    ) -> Result<(), AlarmError> {
        if !alarm.definition.actions_enabled {
            return Ok(());
        }
        let actions = match alarm.state {
            StateValue::Ok => &alarm.definition.ok_actions,
            StateValue::Alarm => &alarm.definition.alarm_actions,
            StateValue::InsufficientData => &alarm.definition.insufficient_data_actions,
        };
        let message = self.notification(alarm, old_state, now_ms).to_string();
        self.execute_actions(
            &alarm.definition.name,
            "MetricAlarm",
            alarm.state,
            actions,
            &message,
            now_ms,
        )
    }

    /// Runs `actions` for alarm `name`'s change to `state` with `message`, recording each
    /// outcome as an `Action` history entry.
    fn execute_actions(
        &self,
        name: &str,
        alarm_type: &str,
        state: StateValue,
        actions: &[String],
        message: &str,
        now_ms: i64,
    ) -> Result<(), AlarmError> {
        let subject = format!(
            "{}: \"{}\" in {}",
            state.as_str(),
            name,
            region_name(&self.inner.scope.region)
        );
        let notifier = self.inner.notifier.lock().clone();
        for arn in actions {
            let result = match &notifier {
                Some(n) => n.notify(arn, &subject, message),
                None => Err("no notifier is configured".to_owned()),
            };
            let (summary, data) = match result {
                Ok(()) => (
                    format!("Successfully executed action {arn}"),
                    json!({"actionState": "Succeeded", "stateUpdateTimestamp": now_ms,
                           "notificationResource": arn, "publishedMessage": message}),
                ),
                Err(e) => (
                    format!("Failed to execute action {arn}"),
                    json!({"actionState": "Failed", "stateUpdateTimestamp": now_ms,
                           "notificationResource": arn, "error": e}),
                ),
            };
            self.record(&HistoryItem {
                alarm_name: name.to_owned(),
                alarm_type: alarm_type.to_owned(),
                timestamp_ms: now_ms,
                item_type: "Action".into(),
                summary,
                data: data.to_string(),
            })?;
        }
        Ok(())
    }

    /// The JSON an SNS subscriber receives for a state change, as CloudWatch writes it.
    fn notification(&self, a: &Alarm, old: StateValue, now_ms: i64) -> serde_json::Value {
        let d = &a.definition;
        let mut trigger = json!({
            "Period": d.period_s,
            "EvaluationPeriods": d.evaluation_periods,
            "DatapointsToAlarm": d.datapoints_to_alarm,
            "ComparisonOperator": d.comparison.as_str(),
            "Threshold": d.threshold,
            "TreatMissingData": d.treat_missing.as_str(),
            "EvaluateLowSampleCountPercentile": d.evaluate_low_sample_count_percentile.clone().unwrap_or_default(),
        });
        match &d.metric {
            Some(m) => {
                trigger["MetricName"] = json!(m.name);
                trigger["Namespace"] = json!(m.namespace);
                trigger["StatisticType"] = json!(if d.extended {
                    "ExtendedStatistic"
                } else {
                    "Statistic"
                });
                trigger["Unit"] = json!(d.unit);
                trigger["Dimensions"] = json!(
                    m.dimensions
                        .iter()
                        .map(|(n, v)| json!({"value": v, "name": n}))
                        .collect::<Vec<_>>()
                );
                if d.extended {
                    trigger["ExtendedStatistic"] = json!(d.statistic);
                } else {
                    trigger["Statistic"] = json!(d.statistic.to_ascii_uppercase());
                }
            }
            None => trigger["Metrics"] = queries_json(&d.metrics, true),
        }
        json!({
            "AlarmName": d.name,
            "AlarmDescription": d.description,
            "AWSAccountId": self.inner.scope.account_id,
            "AlarmConfigurationUpdatedTimestamp": alarm_time(a.configuration_updated_ms),
            "NewStateValue": a.state.as_str(),
            "NewStateReason": a.state_reason,
            "StateChangeTime": alarm_time(now_ms),
            "Region": region_name(&self.inner.scope.region),
            "AlarmArn": a.arn,
            "OldStateValue": old.as_str(),
            "OKActions": d.ok_actions,
            "AlarmActions": d.alarm_actions,
            "InsufficientDataActions": d.insufficient_data_actions,
            "Trigger": trigger,
        })
    }
}

/// The `alarm-evaluator` thread: evaluates every alarm each interval.
pub struct Evaluator {
    thread: Periodic,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

impl Evaluator {
    /// Starts evaluating `alarms` every `interval`.
    ///
    /// # Panics
    /// If the thread cannot be spawned.
    pub fn start(alarms: Alarms, interval: Duration) -> Evaluator {
        let thread = Periodic::start(
            "alarm-evaluator",
            interval,
            move || {
                if let Err(e) = alarms.evaluate_all(thingwatch_events::now_ms()) {
                    tracing::warn!(error = %e, "alarm evaluation failed");
                }
            },
            || {},
        );
        Evaluator { thread }
    }

    /// Stops the thread.
    pub fn stop(mut self) {
        self.thread.stop();
    }
}
