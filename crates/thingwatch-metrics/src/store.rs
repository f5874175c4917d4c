//! [`MetricStore`]: metric series and their data points in SQLite
//! (`DATA_DIR/metrics/metrics.db`, opened through `thingwatch-sqlite`).
//!
//! Every datum is written, at put time, into each roll-up its storage resolution feeds:
//! 1-second buckets (high-resolution data only), 1-minute, 5-minute and 1-hour buckets,
//! each bucket an [`Aggregate`] merged with what was there (so late data lands in every
//! roll-up, and a roll-up is exactly the merge of its data). [`MetricStore::prune`] drops
//! each resolution's buckets older than CloudWatch's retention ([`RETENTION`]). A query reads
//! the coarsest roll-up that divides its period and start, and merges buckets into periods.
//!
//! Schema: `series(id, namespace, name, dims, first_put_ms, last_put_ms)` unique on
//! (namespace, name, dims); `points(series, res, ts, unit, count, sum, min, max, sketch)`
//! keyed by (series, res, ts, unit), `ts` the bucket start in epoch **seconds**.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use thingwatch_sqlite::{Migration, Schema};

use crate::aggregate::Aggregate;
use crate::model::{Datum, MetricId, RETENTION};

const SCHEMA: Schema = Schema::new(
    "metrics.db",
    &[Migration::Sql(
        "CREATE TABLE IF NOT EXISTS series (
            id INTEGER PRIMARY KEY,
            namespace TEXT NOT NULL,
            name TEXT NOT NULL,
            dims TEXT NOT NULL,
            first_put_ms INTEGER NOT NULL,
            last_put_ms INTEGER NOT NULL,
            UNIQUE (namespace, name, dims)
        );
        CREATE TABLE IF NOT EXISTS points (
            series INTEGER NOT NULL,
            res INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            unit TEXT NOT NULL,
            count REAL NOT NULL,
            sum REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            sketch BLOB,
            PRIMARY KEY (series, res, ts, unit)
        ) WITHOUT ROWID;",
    )],
);

/// Errors of the metric store.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The database could not be opened.
    #[error("opening the metric store: {0}")]
    Open(#[from] thingwatch_sqlite::OpenError),
    /// A read or write failed.
    #[error("metric store: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// One period of a statistics query: its start and the aggregate of its data with one unit.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// Period start, epoch **milliseconds**.
    pub timestamp_ms: i64,
    /// The unit the data was put with.
    pub unit: String,
    /// The statistics of the period.
    pub aggregate: Aggregate,
}

/// A statistics query over one metric.
#[derive(Clone, Debug)]
pub struct StatQuery {
    /// The metric (dimensions must match exactly, as in CloudWatch).
    pub metric: MetricId,
    /// Inclusive start, epoch **milliseconds**.
    pub start_ms: i64,
    /// Exclusive end, epoch **milliseconds**.
    pub end_ms: i64,
    /// Period in **seconds** (1, 5, 10, 30 or a multiple of 60).
    pub period_s: i64,
    /// Only data put with this unit, when given.
    pub unit: Option<String>,
    /// Whether percentiles are wanted (reads the sketches).
    pub percentiles: bool,
}

/// What [`MetricStore::list`] matches.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Exact namespace.
    pub namespace: Option<String>,
    /// Exact metric name.
    pub name: Option<String>,
    /// Dimensions the metric must have: a name, with a value when given.
    pub dimensions: Vec<(String, Option<String>)>,
    /// Only metrics that received data in the last this many milliseconds (`RecentlyActive`
    /// `PT3H` is 3 hours).
    pub active_within_ms: Option<i64>,
}

/// How long a metric that receives no data is still listed: two weeks (ListMetrics).
pub const LISTED_FOR_MS: i64 = 14 * 86_400_000;

/// The metric store. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct MetricStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    series: Mutex<HashMap<MetricId, i64>>,
}

impl std::fmt::Debug for MetricStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricStore").finish_non_exhaustive()
    }
}

/// The roll-up resolutions (seconds) a datum of storage resolution `storage_resolution`
/// feeds.
fn resolutions(storage_resolution: u32) -> &'static [i64] {
    if storage_resolution == 1 {
        &[1, 60, 300, 3600]
    } else {
        &[60, 300, 3600]
    }
}

fn retention_s(res: i64) -> i64 {
    RETENTION
        .iter()
        .find(|(r, _)| *r == res)
        .map_or(0, |(_, keep)| *keep)
}

/// The start of a query, rounded down as CloudWatch rounds it: to the period for periods
/// under a minute, else to the minute (start within 15 days), 5 minutes (within 63 days)
/// or the hour (older). Seconds.
pub fn aligned_start_s(start_ms: i64, period_s: i64, now_ms: i64) -> i64 {
    let start = start_ms.div_euclid(1000);
    let age = now_ms.div_euclid(1000) - start;
    let align = if period_s < 60 {
        period_s.max(1)
    } else if age <= 15 * 86_400 {
        60
    } else if age <= 63 * 86_400 {
        300
    } else {
        3600
    };
    start.div_euclid(align) * align
}

/// The roll-up a query reads: the coarsest resolution that still holds data at the query
/// start and divides both the period and the aligned start; `None` when no resolution fits
/// (CloudWatch then returns no data points: an older start needs a coarser period).
pub fn query_resolution(aligned_start_s: i64, period_s: i64, now_ms: i64) -> Option<i64> {
    let age = now_ms.div_euclid(1000) - aligned_start_s;
    RETENTION
        .iter()
        .rev()
        .map(|(r, _)| *r)
        .find(|&r| age <= retention_s(r) + r && period_s % r == 0 && aligned_start_s % r == 0)
}

impl MetricStore {
    /// Opens (creating) the store in `dir` (`DATA_DIR/metrics`).
    ///
    /// # Errors
    /// [`MetricsError::Open`] when the directory or file cannot be opened.
    pub fn open(dir: &Path) -> Result<MetricStore, MetricsError> {
        let conn = thingwatch_sqlite::open(&dir.join("metrics.db"), &SCHEMA)?;
        Ok(MetricStore {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                series: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Stores `data` (already validated by the caller: CloudWatch's limits are the API
    /// crate's) in one transaction; `now_ms` is when they were received, which makes their
    /// metrics recently active. Points older than a resolution's retention skip it.
    ///
    /// # Errors
    /// [`MetricsError::Sql`]; nothing is written then.
    pub fn put(&self, data: &[Datum], now_ms: i64) -> Result<(), MetricsError> {
        let now_s = now_ms.div_euclid(1000);
        // Merge the batch in memory first: one read-modify-write per bucket.
        let mut buckets: BTreeMap<(usize, i64, i64, &str), Aggregate> = BTreeMap::new();
        let mut metrics: Vec<&MetricId> = Vec::new();
        let mut index: HashMap<&MetricId, usize> = HashMap::new();
        for d in data {
            let m = *index.entry(&d.metric).or_insert_with(|| {
                metrics.push(&d.metric);
                metrics.len() - 1
            });
            let ts = d.timestamp_ms.div_euclid(1000);
            let agg = Aggregate::of(&d.values);
            for &res in resolutions(d.storage_resolution) {
                let bucket = ts.div_euclid(res) * res;
                if now_s - bucket > retention_s(res) + res {
                    continue;
                }
                buckets
                    .entry((m, res, bucket, d.unit.as_str()))
                    .and_modify(|a| a.merge(&agg))
                    .or_insert_with(|| agg.clone());
            }
        }
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let mut ids = Vec::with_capacity(metrics.len());
        {
            let mut cache = self.inner.series.lock();
            for metric in &metrics {
                ids.push(series_id(&tx, &mut cache, metric, now_ms)?);
            }
        }
        {
            let mut read = tx.prepare_cached(
                "SELECT count, sum, min, max, sketch FROM points
                 WHERE series = ?1 AND res = ?2 AND ts = ?3 AND unit = ?4",
            )?;
            let mut write = tx.prepare_cached(
                "INSERT OR REPLACE INTO points (series, res, ts, unit, count, sum, min, max, sketch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for ((m, res, ts, unit), mut agg) in buckets {
                let id = ids[m];
                let existing = read
                    .query_row(params![id, res, ts, unit], |r| {
                        let sketch: Option<Vec<u8>> = r.get(4)?;
                        Ok(Aggregate {
                            count: r.get(0)?,
                            sum: r.get(1)?,
                            min: r.get(2)?,
                            max: r.get(3)?,
                            sketch: sketch.map(|b| {
                                Aggregate::sketch_from(Some(&b)).unwrap_or_else(|| {
                                    tracing::warn!("unreadable sketch in the metric store");
                                    sketches_ddsketch::DDSketch::new(Default::default())
                                })
                            }),
                        })
                    })
                    .optional()?;
                if let Some(mut old) = existing {
                    old.merge(&agg);
                    agg = old;
                }
                write.execute(params![
                    id,
                    res,
                    ts,
                    unit,
                    agg.count,
                    agg.sum,
                    agg.min,
                    agg.max,
                    agg.sketch_bytes()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The periods of `q` that hold data, oldest first, one [`Bucket`] per (period, unit).
    ///
    /// # Errors
    /// [`MetricsError::Sql`].
    pub fn statistics(&self, q: &StatQuery, now_ms: i64) -> Result<Vec<Bucket>, MetricsError> {
        let start = aligned_start_s(q.start_ms, q.period_s, now_ms);
        let end = q.end_ms.div_euclid(1000) + i64::from(q.end_ms.rem_euclid(1000) != 0);
        if end <= start || q.period_s <= 0 {
            return Ok(Vec::new());
        }
        let Some(res) = query_resolution(start, q.period_s, now_ms) else {
            return Ok(Vec::new());
        };
        let Some(id) = self.find_series(&q.metric)? else {
            return Ok(Vec::new());
        };
        let conn = self.inner.conn.lock();
        let sql = if q.percentiles {
            "SELECT ts, unit, count, sum, min, max, sketch FROM points
             WHERE series = ?1 AND res = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts"
        } else {
            "SELECT ts, unit, count, sum, min, max, NULL FROM points
             WHERE series = ?1 AND res = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts"
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![id, res, start, end])?;
        let mut out: BTreeMap<(i64, String), Aggregate> = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let ts: i64 = r.get(0)?;
            let unit: String = r.get(1)?;
            if q.unit.as_ref().is_some_and(|u| *u != unit) {
                continue;
            }
            let sketch: Option<Vec<u8>> = r.get(6)?;
            let agg = Aggregate {
                count: r.get(2)?,
                sum: r.get(3)?,
                min: r.get(4)?,
                max: r.get(5)?,
                sketch: Aggregate::sketch_from(sketch.as_deref()),
            };
            let period_start = start + (ts - start).div_euclid(q.period_s) * q.period_s;
            out.entry((period_start, unit))
                .and_modify(|a| a.merge(&agg))
                .or_insert(agg);
        }
        Ok(out
            .into_iter()
            .map(|((ts, unit), aggregate)| Bucket {
                timestamp_ms: ts * 1000,
                unit,
                aggregate,
            })
            .collect())
    }

    fn find_series(&self, metric: &MetricId) -> Result<Option<i64>, MetricsError> {
        if let Some(id) = self.inner.series.lock().get(metric) {
            return Ok(Some(*id));
        }
        let conn = self.inner.conn.lock();
        let id = conn
            .query_row(
                "SELECT id FROM series WHERE namespace = ?1 AND name = ?2 AND dims = ?3",
                params![metric.namespace, metric.name, metric.dimensions_key()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        if let Some(id) = id {
            self.inner.series.lock().insert(metric.clone(), id);
        }
        Ok(id)
    }

    /// Metrics matching `filter` that received data in the last two weeks, in creation
    /// order, starting after series `after` (a previous page's last position), at most
    /// `limit`. Returns the page and, when more match, the position to continue from.
    ///
    /// # Errors
    /// [`MetricsError::Sql`].
    pub fn list(
        &self,
        filter: &ListFilter,
        after: i64,
        limit: usize,
        now_ms: i64,
    ) -> Result<(Vec<MetricId>, Option<i64>), MetricsError> {
        let conn = self.inner.conn.lock();
        let since = now_ms - filter.active_within_ms.unwrap_or(LISTED_FOR_MS);
        let mut stmt = conn.prepare_cached(
            "SELECT id, namespace, name, dims FROM series
             WHERE id > ?1 AND last_put_ms >= ?2
               AND (?3 IS NULL OR namespace = ?3) AND (?4 IS NULL OR name = ?4)
             ORDER BY id",
        )?;
        let mut rows = stmt.query(params![after, since, filter.namespace, filter.name])?;
        let mut page = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let dims = MetricId::dimensions_from_key(&r.get::<_, String>(3)?);
            let wanted = filter.dimensions.iter().all(|(n, v)| {
                dims.iter()
                    .any(|(dn, dv)| dn == n && v.as_ref().is_none_or(|v| v == dv))
            });
            if !wanted {
                continue;
            }
            if page.len() == limit {
                return Ok((page, Some(id - 1)));
            }
            page.push(MetricId {
                namespace: r.get(1)?,
                name: r.get(2)?,
                dimensions: dims,
            });
        }
        Ok((page, None))
    }

    /// Deletes every bucket older than its resolution's retention and the series that have
    /// no data left. Returns the number of buckets deleted.
    ///
    /// # Errors
    /// [`MetricsError::Sql`].
    pub fn prune(&self, now_ms: i64) -> Result<usize, MetricsError> {
        let now_s = now_ms.div_euclid(1000);
        let conn = self.inner.conn.lock();
        let mut deleted = 0;
        for (res, keep) in RETENTION {
            deleted += conn.execute(
                "DELETE FROM points WHERE res = ?1 AND ts < ?2",
                params![res, now_s - keep - res],
            )?;
        }
        let gone = conn.execute(
            "DELETE FROM series WHERE last_put_ms < ?1
               AND NOT EXISTS (SELECT 1 FROM points WHERE points.series = series.id)",
            params![now_ms - LISTED_FOR_MS],
        )?;
        if gone > 0 {
            self.inner.series.lock().clear();
        }
        Ok(deleted)
    }

    /// The number of stored series (for benchmarks and tests).
    ///
    /// # Errors
    /// [`MetricsError::Sql`].
    pub fn series_count(&self) -> Result<u64, MetricsError> {
        let conn = self.inner.conn.lock();
        Ok(conn.query_row("SELECT COUNT(*) FROM series", [], |r| r.get(0))?)
    }
}

fn series_id(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut HashMap<MetricId, i64>,
    metric: &MetricId,
    now_ms: i64,
) -> Result<i64, MetricsError> {
    let id =
        match cache.get(metric) {
            Some(id) => *id,
            None => {
                tx.execute(
                "INSERT OR IGNORE INTO series (namespace, name, dims, first_put_ms, last_put_ms)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![metric.namespace, metric.name, metric.dimensions_key(), now_ms],
            )?;
                let id: i64 = tx.query_row(
                    "SELECT id FROM series WHERE namespace = ?1 AND name = ?2 AND dims = ?3",
                    params![metric.namespace, metric.name, metric.dimensions_key()],
                    |r| r.get(0),
                )?;
                cache.insert(metric.clone(), id);
                id
            }
        };
    tx.execute(
        "UPDATE series SET last_put_ms = MAX(last_put_ms, ?2) WHERE id = ?1",
        params![id, now_ms],
    )?;
    Ok(id)
}
