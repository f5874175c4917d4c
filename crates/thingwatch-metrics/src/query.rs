//! Metric data queries (`MetricDataQuery`): reads of one statistic of one metric
//! (`MetricStat`) and metric math expressions over the other queries of the same request,
//! evaluated over one time range. `GetMetricData` and alarms on metric math
//! (`PutMetricAlarm` `Metrics`) both evaluate them here.
//!
//! Source: CloudWatch API Reference, `MetricDataQuery`, `MetricStat`, `GetMetricData`;
//! CloudWatch User Guide, *Using metric math* and *Creating a CloudWatch alarm based on a
//! metric math expression*.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::math::{self, MathContext, MathError, MathValue, SearchQuery, Series};
use crate::model::{MetricId, Statistic, valid_period};
use crate::store::{ListFilter, MetricStore, MetricsError, StatQuery, aligned_start_s};

/// Time series one `SEARCH` may return (CloudWatch's limit).
pub const MAX_SEARCH_SERIES: usize = 500;
/// Metrics read per listing page while a `SEARCH` runs.
const SEARCH_PAGE: usize = 500;
/// Grid points `FILL` and scalar results span at most.
pub const MAX_GRID_POINTS: usize = 100_800;

/// `MetricStat`: one statistic of one metric at one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatSpec {
    /// `Metric`.
    pub metric: MetricId,
    /// `Period`, seconds.
    pub period_s: i64,
    /// `Stat` as given (`Sum`, `p99`); a valid [`Statistic`] name (checked by the API).
    pub stat: String,
    /// `Unit`, when the query filters by one.
    pub unit: Option<String>,
}

impl StatSpec {
    /// The parsed statistic (`Sum` when [`Self::stat`] is somehow invalid).
    pub fn statistic(&self) -> Statistic {
        Statistic::parse(&self.stat).unwrap_or(Statistic::Sum)
    }
}

/// What a query computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QueryKind {
    /// `MetricStat`.
    Stat(StatSpec),
    /// `Expression` with its optional `Period` (seconds).
    Expression(String, Option<i64>),
}

/// One `MetricDataQuery`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataQuery {
    /// `Id` (starts with a lowercase letter; unique in the request).
    pub id: String,
    /// `Label`.
    pub label: Option<String>,
    /// `ReturnData` (default true).
    pub return_data: bool,
    /// `MetricStat` or `Expression`.
    pub kind: QueryKind,
}

impl DataQuery {
    /// The period this query's points fall on: its `MetricStat` period or its expression's
    /// `Period`.
    pub fn period_s(&self) -> Option<i64> {
        match &self.kind {
            QueryKind::Stat(s) => Some(s.period_s),
            QueryKind::Expression(_, p) => *p,
        }
    }
}

/// Why a query could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A client mistake (a bad expression, an unknown id, a cycle), worded for
    /// `InvalidParameterValue`.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] MetricsError),
}

/// The time series of one `MetricStat` over `[start_ms, end_ms)`, several units in one
/// period merged into one value as CloudWatch answers.
///
/// # Errors
/// Storage failures.
pub fn stat_series(
    store: &MetricStore,
    spec: &StatSpec,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
    label: String,
) -> Result<Series, MetricsError> {
    let stat = spec.statistic();
    Ok(Series {
        label,
        points: period_aggregates(store, spec, start_ms, end_ms, now_ms)?
            .into_iter()
            .filter_map(|(t, a)| a.statistic(stat).map(|v| (t, v)))
            .collect(),
    })
}

/// One aggregate per period of `spec`'s metric over `[start_ms, end_ms)`, oldest first:
/// the buckets of several units in one period merged, as CloudWatch answers one value.
///
/// # Errors
/// Storage failures.
pub fn period_aggregates(
    store: &MetricStore,
    spec: &StatSpec,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
) -> Result<Vec<(i64, crate::Aggregate)>, MetricsError> {
    let stat = spec.statistic();
    let buckets = store.statistics(
        &StatQuery {
            metric: spec.metric.clone(),
            start_ms,
            end_ms,
            period_s: spec.period_s,
            unit: spec.unit.clone(),
            percentiles: matches!(stat, Statistic::Percentile(_)),
        },
        now_ms,
    )?;
    let mut by_time: Vec<(i64, crate::Aggregate)> = Vec::new();
    for b in buckets {
        match by_time.last_mut() {
            Some((t, a)) if *t == b.timestamp_ms => a.merge(&b.aggregate),
            _ => by_time.push((b.timestamp_ms, b.aggregate)),
        }
    }
    Ok(by_time)
}

/// One evaluation of a request's queries over `[start_ms, end_ms)`: each query computed
/// at most once, expressions reading the others by id, cycles refused.
pub struct Evaluation<'a> {
    store: &'a MetricStore,
    queries: &'a [DataQuery],
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
    grid_period_s: i64,
    done: RefCell<HashMap<String, MathValue>>,
    visiting: RefCell<BTreeSet<String>>,
    error: RefCell<Option<QueryError>>,
}

impl std::fmt::Debug for Evaluation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluation")
            .field("start_ms", &self.start_ms)
            .field("end_ms", &self.end_ms)
            .finish_non_exhaustive()
    }
}

impl<'a> Evaluation<'a> {
    /// An evaluation of `queries` over `[start_ms, end_ms)` at `now_ms`; the period grid
    /// (`FILL`, scalars) is the largest period of the queries (60 s when none has one).
    pub fn new(
        store: &'a MetricStore,
        queries: &'a [DataQuery],
        start_ms: i64,
        end_ms: i64,
        now_ms: i64,
    ) -> Evaluation<'a> {
        let grid_period_s = queries
            .iter()
            .filter_map(DataQuery::period_s)
            .max()
            .unwrap_or(60);
        Evaluation {
            store,
            queries,
            start_ms,
            end_ms,
            now_ms,
            grid_period_s,
            done: RefCell::new(HashMap::new()),
            visiting: RefCell::new(BTreeSet::new()),
            error: RefCell::new(None),
        }
    }

    /// The value of query `q` (one of the evaluation's queries).
    ///
    /// # Errors
    /// [`QueryError::Invalid`] for a bad expression (the message names the query id),
    /// [`QueryError::Store`].
    pub fn value_of(&self, q: &DataQuery) -> Result<MathValue, QueryError> {
        if let Some(v) = self.done.borrow().get(&q.id) {
            return Ok(v.clone());
        }
        let v = match &q.kind {
            QueryKind::Stat(spec) => MathValue::Series(stat_series(
                self.store,
                spec,
                self.start_ms,
                self.end_ms,
                self.now_ms,
                q.label.clone().unwrap_or_else(|| spec.metric.name.clone()),
            )?),
            QueryKind::Expression(e, _) => {
                if !self.visiting.borrow_mut().insert(q.id.clone()) {
                    return Err(QueryError::Invalid(format!(
                        "Circular dependency detected in the expression of {}.",
                        q.id
                    )));
                }
                let result = math::evaluate(e, self);
                self.visiting.borrow_mut().remove(&q.id);
                if let Some(err) = self.error.borrow_mut().take() {
                    return Err(err);
                }
                result.map_err(|MathError(m)| {
                    QueryError::Invalid(format!("Error in expression {}: {m}", q.id))
                })?
            }
        };
        self.done.borrow_mut().insert(q.id.clone(), v.clone());
        Ok(v)
    }

    /// The timestamps (ms) of the evaluation's period grid, CloudWatch-aligned.
    pub fn grid(&self) -> Vec<i64> {
        let p = self.grid_period_s;
        let start = aligned_start_s(self.start_ms, p, self.now_ms);
        let end = self.end_ms.div_euclid(1000);
        (0..)
            .map(|k| (start + k * p) * 1000)
            .take_while(|t| *t < end * 1000)
            .take(MAX_GRID_POINTS)
            .collect()
    }
}

impl MathContext for Evaluation<'_> {
    fn series(&self, id: &str) -> Option<MathValue> {
        let q = self.queries.iter().find(|q| q.id == id)?;
        match self.value_of(q) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                // An empty value: the error is reported by the caller.
                Some(MathValue::Array(Vec::new()))
            }
        }
    }

    fn metric_stats(&self) -> Vec<(String, Series)> {
        self.queries
            .iter()
            .filter(|q| matches!(q.kind, QueryKind::Stat(_)))
            .filter_map(|q| match self.series(&q.id) {
                Some(MathValue::Series(s)) => Some((q.id.clone(), s)),
                _ => None,
            })
            .collect()
    }

    fn search(
        &self,
        query: &SearchQuery,
        statistic: &str,
        period_s: i64,
    ) -> Result<Vec<Series>, MathError> {
        if Statistic::parse(statistic).is_none() {
            return Err(MathError(format!(
                "Invalid statistic {statistic} in SEARCH."
            )));
        }
        if !valid_period(period_s) {
            return Err(MathError(format!("Invalid period {period_s} in SEARCH.")));
        }
        let filter = ListFilter {
            namespace: query.schema.as_ref().map(|(ns, _)| ns.clone()),
            ..ListFilter::default()
        };
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let (page, next) = self
                .store
                .list(&filter, after, SEARCH_PAGE, self.now_ms)
                .map_err(|e| MathError(e.to_string()))?;
            for m in page.iter().filter(|m| query.matches(m)) {
                if out.len() == MAX_SEARCH_SERIES {
                    return Ok(out);
                }
                let label = if m.dimensions.is_empty() {
                    m.name.clone()
                } else {
                    m.dimensions
                        .iter()
                        .map(|(_, v)| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let spec = StatSpec {
                    metric: m.clone(),
                    period_s,
                    stat: statistic.to_owned(),
                    unit: None,
                };
                let s = stat_series(
                    self.store,
                    &spec,
                    self.start_ms,
                    self.end_ms,
                    self.now_ms,
                    label,
                )
                .map_err(|e| MathError(e.to_string()))?;
                out.push(s);
            }
            match next {
                Some(n) => after = n,
                None => return Ok(out),
            }
        }
    }

    fn grid(&self) -> Vec<i64> {
        Evaluation::grid(self)
    }
}
