//! [`LogStore`]: log groups, streams and events on fjall (key layout in `crate::keys`).
//!
//! Concurrency: one `RwLock<Catalog>` holds the in-memory catalog (groups, streams, counters).
//! Writers (`append`, `put_log_events`, create/delete) hold it exclusively for the duration of
//! one atomic fjall write batch, so stream statistics and event sequence numbers stay
//! consistent; readers hold it only long enough to copy the handles they need, then read from
//! an engine snapshot without blocking writers.
//!
//! Durability: every write batch is flushed to the OS before the call returns
//! (`PersistMode::Buffer`, survives `kill -9`); a background thread fsyncs the journal every
//! `fsync_interval_ms` (or each write is fsynced when it is 0); [`LogStore::sync`] fsyncs now.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use fjall::config::{BlockSizePolicy, CompressionPolicy};
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use parking_lot::{Condvar, Mutex, RwLock};

use crate::block::{self, Codec, NewEvent};
use crate::error::{group_not_found, stream_not_found};
use crate::filter_pattern::Anchor;
use crate::keys::{self, GroupRec, Pos, StreamRec, counter_key, group_key, stream_key};
use crate::limits::{
    DEFAULT_FILTER_SCAN_BUDGET, EVENT_OVERHEAD_BYTES, MAX_AGE_MS, MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS, MAX_BATCH_SPAN_MS, MAX_DESCRIBE_LIMIT, MAX_EVENT_BYTES, MAX_EVENTS_PER_PAGE,
    MAX_FUTURE_MS, MAX_RESPONSE_BYTES,
};
use crate::token::{self, Dir};
use crate::{
    AppendEvent, DescribeStreamsQuery, FilterPage, FilterQuery, FilteredLogEvent, GetEventsPage,
    GetEventsQuery, InputLogEvent, LogGroupInfo, LogStreamInfo, OutputLogEvent, Page,
    PutLogEventsOutcome, RejectedLogEventsInfo, StoreError, StoreOptions, StreamOrder,
};

/// Valid `retentionInDays` values (PutRetentionPolicy API reference; aws-wire.md §4).
pub const VALID_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Engine tuning; [`Tuning::default`] is what the ADR measured best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Compression codec of new event blocks (existing blocks keep theirs).
    pub codec: Codec,
}

impl Default for Tuning {
    /// See docs/decisions/0002-log-store-engine.md.
    fn default() -> Self {
        Tuning {
            codec: Codec::Zstd(1),
        }
    }
}

/// The embedded CloudWatch Logs–compatible log store. Cheap to clone (an `Arc` inside);
/// `Send + Sync`; all methods are synchronous (call them from `spawn_blocking` in async code).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore").finish_non_exhaustive()
    }
}

struct Inner {
    db: Database,
    meta: Keyspace,
    catalog: RwLock<Catalog>,
    /// Block encoder (compression context), used under the catalog write lock.
    cctx: Mutex<block::Encoder>,
    fsync_each_write: bool,
    scan_budget: AtomicUsize,
    stop: Arc<(Mutex<bool>, Condvar)>,
    syncer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(h) = self.syncer.lock().take() {
            let _ = h.join();
        }
    }
}

struct Group {
    rec: GroupRec,
    ev: Keyspace,
    ix: Keyspace,
    streams: BTreeMap<String, StreamRec>,
}

struct Catalog {
    groups: BTreeMap<String, Group>,
    next_gid: u32,
    next_sid: u32,
    next_seq: u64,
}

/// Names of the per-group keyspaces.
fn ev_name(gid: u32) -> String {
    format!("ev{gid}")
}
fn ix_name(gid: u32) -> String {
    format!("ix{gid}")
}

fn clamp_limit(limit: usize, max: usize) -> usize {
    limit.clamp(1, max)
}

/// The largest possible position.
const POS_MAX: Pos = Pos {
    ts: u64::MAX,
    seq: u64::MAX,
};
const POS_MIN: Pos = Pos { ts: 0, seq: 0 };

impl LogStore {
    /// Opens (or creates) the store in directory `dir` with the default [`Tuning`].
    ///
    /// Errors: [`StoreError::Storage`] if the directory cannot be opened, is locked by another
    /// process, or holds a corrupt catalog.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<LogStore, StoreError> {
        Self::open_tuned(dir, opts, Tuning::default())
    }

    /// Like [`LogStore::open`] with explicit engine tuning (used by the engine benchmark).
    /// The tuning applies to keyspaces created from now on.
    pub fn open_tuned(
        dir: &Path,
        opts: StoreOptions,
        tuning: Tuning,
    ) -> Result<LogStore, StoreError> {
        let db = Database::builder(dir).open()?;
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default)?;

        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let mut gid_to_name: HashMap<u32, String> = HashMap::new();
        let mut streams: Vec<(u32, String, StreamRec)> = Vec::new();
        let mut counters: HashMap<String, u64> = HashMap::new();
        let corrupt = |what: &str| StoreError::Storage(format!("corrupt catalog entry: {what}"));
        for kv in meta.iter() {
            let (k, v) = kv.into_inner()?;
            match k.first() {
                Some(b'G') => {
                    let name = String::from_utf8(k[1..].to_vec()).map_err(|_| corrupt("group"))?;
                    let rec = GroupRec::decode(&v).ok_or_else(|| corrupt("group"))?;
                    let ev = db.keyspace(&ev_name(rec.gid), || ks_options(false))?;
                    let ix = db.keyspace(&ix_name(rec.gid), || ks_options(true))?;
                    gid_to_name.insert(rec.gid, name.clone());
                    groups.insert(
                        name,
                        Group {
                            rec,
                            ev,
                            ix,
                            streams: BTreeMap::new(),
                        },
                    );
                }
                Some(b'S') if k.len() >= 5 => {
                    let gid = u32::from_be_bytes([k[1], k[2], k[3], k[4]]);
                    let name = String::from_utf8(k[5..].to_vec()).map_err(|_| corrupt("stream"))?;
                    let rec = StreamRec::decode(&v).ok_or_else(|| corrupt("stream"))?;
                    streams.push((gid, name, rec));
                }
                Some(b'C') => {
                    let name =
                        String::from_utf8(k[1..].to_vec()).map_err(|_| corrupt("counter"))?;
                    let val = u64::from_be_bytes(v[..].try_into().map_err(|_| corrupt("counter"))?);
                    counters.insert(name, val);
                }
                _ => return Err(corrupt("unknown key")),
            }
        }
        for (gid, name, rec) in streams {
            // Streams of a group deleted mid-way are dropped here.
            if let Some(g) = gid_to_name.get(&gid).and_then(|n| groups.get_mut(n)) {
                g.streams.insert(name, rec);
            }
        }
        // Keyspaces of groups whose deletion was interrupted.
        for ks in db.list_keyspace_names() {
            let name: &str = &ks;
            let gid = name
                .strip_prefix("ev")
                .or_else(|| name.strip_prefix("ix"))
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(gid) = gid
                && !gid_to_name.contains_key(&gid)
            {
                let handle = db.keyspace(name, KeyspaceCreateOptions::default)?;
                db.delete_keyspace(handle)?;
            }
        }
        // A new seq epoch per open keeps seqs unique without persisting every increment.
        let epoch = counters.get("epoch").copied().unwrap_or(0) + 1;
        meta.insert(counter_key("epoch"), epoch.to_be_bytes())?;
        db.persist(PersistMode::SyncAll)?;
        let next_gid = counters.get("gid").copied().unwrap_or(1);
        let next_sid = counters.get("sid").copied().unwrap_or(1);
        let catalog = Catalog {
            groups,
            next_gid: u32::try_from(next_gid).map_err(|_| corrupt("gid counter"))?,
            next_sid: u32::try_from(next_sid).map_err(|_| corrupt("sid counter"))?,
            next_seq: (epoch << 40) | 1,
        };

        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let inner = Arc::new(Inner {
            db: db.clone(),
            meta,
            catalog: RwLock::new(catalog),
            cctx: Mutex::new(block::Encoder::new(tuning.codec)?),
            fsync_each_write: opts.fsync_interval_ms == 0,
            scan_budget: AtomicUsize::new(DEFAULT_FILTER_SCAN_BUDGET),
            stop: stop.clone(),
            syncer: Mutex::new(None),
        });
        if opts.fsync_interval_ms > 0 {
            let interval = Duration::from_millis(opts.fsync_interval_ms);
            let handle = std::thread::Builder::new()
                .name("logstore-fsync".into())
                .spawn(move || {
                    let (lock, cv) = &*stop;
                    let mut stopped = lock.lock();
                    while !*stopped {
                        cv.wait_for(&mut stopped, interval);
                        if *stopped {
                            break;
                        }
                        // A failed fsync poisons the engine; the next write reports it.
                        let _ = db.persist(PersistMode::SyncData);
                    }
                })?;
            *inner.syncer.lock() = Some(handle);
        }
        Ok(LogStore { inner })
    }

    /// Sets how many stored events one [`LogStore::filter_log_events`] call may examine before
    /// returning a page with a `nextToken` (default [`DEFAULT_FILTER_SCAN_BUDGET`]; min 1).
    pub fn set_filter_scan_budget(&self, events: usize) {
        self.inner
            .scan_budget
            .store(events.max(1), Ordering::Relaxed);
    }

    /// Bytes the engine uses on disk (journal + tables), for the benchmark and metrics.
    pub fn disk_space(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.disk_space()?)
    }

    /// CreateLogGroup. Errors: `ResourceAlreadyExists` ("The specified log group already
    /// exists"), `Storage`.
    pub fn create_log_group(&self, name: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut cat = self.inner.catalog.write();
        if cat.groups.contains_key(name) {
            return Err(StoreError::ResourceAlreadyExists(
                "The specified log group already exists".into(),
            ));
        }
        let mut batch = self.batch();
        self.inner
            .create_group(&mut cat, &mut batch, name, now_ms)?;
        batch.commit()?;
        Ok(())
    }

    /// DeleteLogGroup: removes the group, its streams and events. Errors: `ResourceNotFound`
    /// ("The specified log group does not exist."), `Storage`.
    pub fn delete_log_group(&self, name: &str) -> Result<(), StoreError> {
        let mut cat = self.inner.catalog.write();
        let Some(group) = cat.groups.get(name) else {
            return Err(group_not_found());
        };
        let mut batch = self.batch();
        batch.remove(&self.inner.meta, group_key(name));
        for s in group.streams.keys() {
            batch.remove(&self.inner.meta, stream_key(group.rec.gid, s));
        }
        batch.commit()?;
        if let Some(group) = cat.groups.remove(name) {
            // The catalog no longer names the keyspaces; if we crash before this, `open`
            // deletes them as orphans.
            self.inner.db.delete_keyspace(group.ev)?;
            self.inner.db.delete_keyspace(group.ix)?;
        }
        Ok(())
    }

    /// PutRetentionPolicy: `days` must be one of [`VALID_RETENTION_DAYS`]. Affects which
    /// PutLogEvents events count as expired. Errors: `ResourceNotFound`, `InvalidParameter`.
    pub fn put_retention_policy(&self, group: &str, days: u32) -> Result<(), StoreError> {
        if !VALID_RETENTION_DAYS.contains(&days) {
            return Err(StoreError::InvalidParameter(format!(
                "Invalid retentionInDays value: {days}"
            )));
        }
        self.set_retention(group, days)
    }

    /// DeleteRetentionPolicy: events never expire. Errors: `ResourceNotFound`, `Storage`.
    pub fn delete_retention_policy(&self, group: &str) -> Result<(), StoreError> {
        self.set_retention(group, 0)
    }

    fn set_retention(&self, group: &str, days: u32) -> Result<(), StoreError> {
        let mut cat = self.inner.catalog.write();
        let g = cat.groups.get_mut(group).ok_or_else(group_not_found)?;
        let mut rec = g.rec;
        rec.retention_days = days;
        let mut batch = self.batch();
        batch.insert(&self.inner.meta, group_key(group), rec.encode());
        batch.commit()?;
        g.rec = rec;
        Ok(())
    }

    /// DescribeLogGroups, sorted by name. `prefix` = `logGroupNamePrefix`; `pattern` =
    /// `logGroupNamePattern` (case-insensitive substring); `limit` 1..=50 (clamped).
    /// Errors: `InvalidParameter` for a bad token.
    pub fn describe_log_groups(
        &self,
        prefix: Option<&str>,
        pattern: Option<&str>,
        next_token: Option<&str>,
        limit: usize,
    ) -> Result<Page<LogGroupInfo>, StoreError> {
        let limit = clamp_limit(limit, MAX_DESCRIBE_LIMIT);
        let after = next_token.map(token::groups_decode).transpose()?;
        let pattern = pattern.map(str::to_lowercase);
        let cat = self.inner.catalog.read();
        let lower = match &after {
            Some(a) => Bound::Excluded(a.as_str()),
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut more = false;
        for (name, g) in cat.groups.range::<str, _>((lower, Bound::Unbounded)) {
            if prefix.is_some_and(|p| !name.starts_with(p))
                || pattern
                    .as_deref()
                    .is_some_and(|p| !name.to_lowercase().contains(p))
            {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(LogGroupInfo {
                name: name.clone(),
                creation_time: g.rec.creation_time,
                stored_bytes: g.streams.values().map(|s| s.stored_bytes).sum(),
                retention_in_days: (g.rec.retention_days != 0).then_some(g.rec.retention_days),
                metric_filter_count: 0,
            });
        }
        let next_token = if more {
            items.last().map(|g| token::groups_encode(&g.name))
        } else {
            None
        };
        Ok(Page { items, next_token })
    }

    /// CreateLogStream. Errors: `ResourceNotFound` (group), `ResourceAlreadyExists`
    /// ("The specified log stream already exists"), `Storage`.
    pub fn create_log_stream(
        &self,
        group: &str,
        stream: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut cat = self.inner.catalog.write();
        let g = cat.groups.get(group).ok_or_else(group_not_found)?;
        if g.streams.contains_key(stream) {
            return Err(StoreError::ResourceAlreadyExists(
                "The specified log stream already exists".into(),
            ));
        }
        let mut batch = self.batch();
        self.inner
            .create_stream(&mut cat, &mut batch, group, stream, now_ms)?;
        batch.commit()?;
        Ok(())
    }

    /// DeleteLogStream: removes the stream and its events. Errors: `ResourceNotFound`
    /// (group or stream), `Storage`.
    pub fn delete_log_stream(&self, group: &str, stream: &str) -> Result<(), StoreError> {
        let mut cat = self.inner.catalog.write();
        let g = cat.groups.get_mut(group).ok_or_else(group_not_found)?;
        let rec = *g.streams.get(stream).ok_or_else(stream_not_found)?;
        let mut batch = self.batch();
        batch.remove(&self.inner.meta, stream_key(g.rec.gid, stream));
        batch.commit()?;
        g.streams.remove(stream);
        // Events of a stream no longer in the catalog are invisible (readers skip unknown
        // stream ids), so rewriting its blocks after the catalog commit is safe; a crash
        // mid-way only leaves invisible bytes behind.
        let (ev, ix) = (g.ev.clone(), g.ix.clone());
        drop(cat);
        let mut dec = block::Decoder::new()?;
        let block_keys: Vec<Pos> = ix
            .prefix(rec.sid.to_be_bytes())
            .map(|kv| {
                let k = kv.key()?;
                Pos::from_ix_key(&k)
                    .map(|(_, p)| p)
                    .ok_or_else(|| StoreError::Storage("corrupt index key".into()))
            })
            .collect::<Result<_, _>>()?;
        for chunk in block_keys.chunks(256) {
            // Hold the write lock per chunk so appends cannot interleave with a rewrite.
            let _guard = self.inner.catalog.write();
            let mut cctx = self.inner.cctx.lock();
            let mut batch = self.batch();
            for &bkey in chunk {
                batch.remove(&ix, bkey.ix_key(rec.sid));
                let Some(v) = ev.get(bkey.ev_key())? else {
                    continue;
                };
                let h = block::header(&v)?;
                dec.decode(bkey, &h)?;
                let d = &dec;
                let mut old_sids = Vec::new();
                let mut keep = Vec::with_capacity(d.events.len());
                for (pos, sid, r) in &d.events {
                    if !old_sids.contains(sid) {
                        old_sids.push(*sid);
                    }
                    if *sid != rec.sid {
                        let message = std::str::from_utf8(&d.data[r.clone()])
                            .map_err(|_| StoreError::Storage("corrupt event block".into()))?;
                        keep.push(NewEvent {
                            pos: *pos,
                            sid: *sid,
                            message,
                        });
                    }
                }
                batch.remove(&ev, bkey.ev_key());
                for sid in &old_sids {
                    batch.remove(&ix, bkey.ix_key(*sid));
                }
                if !keep.is_empty() {
                    let (key, value, sids) = block::encode(&mut cctx, &keep, h.ingestion)?;
                    batch.insert(&ev, key.ev_key(), value);
                    for sid in sids {
                        batch.insert(&ix, key.ix_key(sid), &[][..]);
                    }
                }
            }
            batch.commit()?;
        }
        Ok(())
    }

    /// DescribeLogStreams of `group`. Errors: `ResourceNotFound` (group), `InvalidParameter`
    /// (bad token; prefix combined with `LastEventTime` order, as AWS).
    pub fn describe_log_streams(
        &self,
        group: &str,
        q: &DescribeStreamsQuery,
    ) -> Result<Page<LogStreamInfo>, StoreError> {
        let limit = clamp_limit(q.limit, MAX_DESCRIBE_LIMIT);
        let order = match q.order_by {
            StreamOrder::LogStreamName => 0u8,
            StreamOrder::LastEventTime => 1u8,
        };
        if order == 1 && q.prefix.is_some() {
            return Err(StoreError::InvalidParameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
            ));
        }
        let after = q
            .next_token
            .as_deref()
            .map(|t| token::streams_decode(order, q.descending, t))
            .transpose()?;
        let cat = self.inner.catalog.read();
        let g = cat.groups.get(group).ok_or_else(group_not_found)?;
        let mut all: Vec<(i64, &String, &StreamRec)> = g
            .streams
            .iter()
            .filter(|(n, _)| q.prefix.as_deref().is_none_or(|p| n.starts_with(p)))
            .map(|(n, r)| (if order == 1 { r.last_ts } else { 0 }, n, r))
            .collect();
        // BTreeMap iteration is already name-ordered; sort by (last_ts, name) when asked.
        if order == 1 {
            all.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        }
        if q.descending {
            all.reverse();
        }
        let start = match &after {
            None => 0,
            Some((ts, name)) => all
                .iter()
                .position(|(t, n, _)| {
                    let k = (*t, n.as_str());
                    let a = (*ts, name.as_str());
                    if q.descending { k < a } else { k > a }
                })
                .unwrap_or(all.len()),
        };
        let page: Vec<_> = all.iter().skip(start).take(limit).collect();
        let more = start + page.len() < all.len();
        let next_token = match (more, page.last()) {
            (true, Some((t, n, _))) => Some(token::streams_encode(order, q.descending, *t, n)),
            _ => None,
        };
        let items = page
            .into_iter()
            .map(|(_, n, r)| LogStreamInfo {
                name: (*n).clone(),
                creation_time: r.creation_time,
                first_event_timestamp: StreamRec::opt(r.first_ts),
                last_event_timestamp: StreamRec::opt(r.last_ts),
                last_ingestion_time: StreamRec::opt(r.last_ingestion),
                stored_bytes: r.stored_bytes,
            })
            .collect();
        Ok(Page { items, next_token })
    }

    /// PutLogEvents with the AWS batch rules (see [`crate::limits`]): at most
    /// [`MAX_BATCH_EVENTS`] events and [`MAX_BATCH_BYTES`] (message bytes + 26 each), each
    /// message 1..=[`MAX_EVENT_BYTES`] bytes, chronological order, valid events spanning at
    /// most 24 h; events more than 2 h ahead of `now_ms`, older than 14 days, or older than the
    /// group's retention are skipped and reported in `rejected`.
    ///
    /// Errors: `ResourceNotFound` (group or stream), `InvalidParameter` (a batch rule),
    /// `Storage`.
    pub fn put_log_events(
        &self,
        group: &str,
        stream: &str,
        events: &[InputLogEvent],
        now_ms: i64,
    ) -> Result<PutLogEventsOutcome, StoreError> {
        if events.len() > MAX_BATCH_EVENTS {
            return Err(StoreError::InvalidParameter(format!(
                "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: \
                 Member must have length less than or equal to {MAX_BATCH_EVENTS}"
            )));
        }
        let mut total = 0usize;
        for e in events {
            let n = e.message.len();
            if n == 0 {
                return Err(StoreError::InvalidParameter(
                    "1 validation error detected: Value at 'logEvents.message' failed to \
                     satisfy constraint: Member must have length greater than or equal to 1"
                        .into(),
                ));
            }
            if n > MAX_EVENT_BYTES {
                return Err(StoreError::InvalidParameter(format!(
                    "Log event too large: {n} bytes exceeds limit of {MAX_EVENT_BYTES}"
                )));
            }
            total += n + EVENT_OVERHEAD_BYTES;
        }
        if total > MAX_BATCH_BYTES {
            return Err(StoreError::InvalidParameter(format!(
                "Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
            )));
        }
        if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
            return Err(StoreError::InvalidParameter(
                "Log events in a single PutLogEvents request must be in chronological order."
                    .into(),
            ));
        }
        let retention_days = {
            let cat = self.inner.catalog.read();
            let g = cat.groups.get(group).ok_or_else(group_not_found)?;
            if !g.streams.contains_key(stream) {
                return Err(stream_not_found());
            }
            g.rec.retention_days
        };
        let mut rejected = RejectedLogEventsInfo::default();
        let too_new_after = now_ms.saturating_add(MAX_FUTURE_MS);
        let too_old_before = now_ms.saturating_sub(MAX_AGE_MS);
        let expired_before = (retention_days > 0)
            .then(|| now_ms.saturating_sub(i64::from(retention_days) * 86_400_000));
        let mut valid = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            if e.timestamp > too_new_after {
                rejected.too_new_log_event_start_index.get_or_insert(i);
            } else if e.timestamp < too_old_before {
                rejected.too_old_log_event_end_index = Some(i);
            } else if expired_before.is_some_and(|b| e.timestamp < b) {
                rejected.expired_log_event_end_index = Some(i);
            } else {
                valid.push(e);
            }
        }
        if let (Some(first), Some(last)) = (valid.first(), valid.last())
            && last.timestamp - first.timestamp > MAX_BATCH_SPAN_MS
        {
            return Err(StoreError::InvalidParameter(
                "The batch of log events in a single PutLogEvents request cannot span more \
                 than 24 hours."
                    .into(),
            ));
        }
        let appends: Vec<AppendEvent<'_>> = valid
            .iter()
            .map(|e| AppendEvent {
                log_group: group,
                log_stream: stream,
                timestamp: e.timestamp,
                message: &e.message,
            })
            .collect();
        self.ingest(&appends, now_ms, false)?;
        let any = rejected != RejectedLogEventsInfo::default();
        Ok(PutLogEventsOutcome {
            rejected: any.then_some(rejected),
        })
    }

    /// The log pipeline's write path: appends events of any groups/streams in one atomic,
    /// OS-flushed write, creating missing groups and streams (`creationTime = now_ms`);
    /// `ingestionTime = now_ms`. No PutLogEvents batch rules apply. Errors: `Storage`.
    pub fn append(&self, events: &[AppendEvent<'_>], now_ms: i64) -> Result<(), StoreError> {
        self.ingest(events, now_ms, true)
    }

    fn batch(&self) -> fjall::OwnedWriteBatch {
        let b = self.inner.db.batch();
        if self.inner.fsync_each_write {
            b.durability(Some(PersistMode::SyncData))
        } else {
            b.durability(Some(PersistMode::Buffer))
        }
    }
    fn ingest(
        &self,
        events: &[AppendEvent<'_>],
        now_ms: i64,
        create: bool,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        struct Acc<'a> {
            group: &'a str,
            stream: &'a str,
            min: i64,
            max: i64,
            bytes: u64,
        }
        struct PerGroup<'a> {
            ev: Keyspace,
            ix: Keyspace,
            events: Vec<NewEvent<'a>>,
        }
        let inner = &*self.inner;
        let mut cat = inner.catalog.write();
        let mut batch = self.batch();
        // Per distinct (group, stream) of this call: its stream's accumulator in `acc` and its
        // group's events in `groups`, found by slot. Consecutive events often share the pair
        // (memo); otherwise one hash lookup of the pair, instead of several per event.
        let mut acc: Vec<Acc<'_>> = Vec::new();
        let mut groups: Vec<(u32, PerGroup<'_>)> = Vec::new();
        let mut slots: HashMap<(&str, &str), (usize, usize, u32)> = HashMap::new();
        let mut memo: Option<(&str, &str, (usize, usize, u32))> = None;
        for e in events {
            let (gslot, aslot, sid) = match memo {
                Some((g, st, found)) if g == e.log_group && st == e.log_stream => found,
                _ => {
                    let found = match slots.get(&(e.log_group, e.log_stream)) {
                        Some(found) => *found,
                        None => {
                            let sid = match cat
                                .groups
                                .get(e.log_group)
                                .and_then(|g| g.streams.get(e.log_stream))
                            {
                                Some(r) => r.sid,
                                None if !create => {
                                    return Err(if cat.groups.contains_key(e.log_group) {
                                        stream_not_found()
                                    } else {
                                        group_not_found()
                                    });
                                }
                                None => {
                                    if !cat.groups.contains_key(e.log_group) {
                                        inner.create_group(
                                            &mut cat,
                                            &mut batch,
                                            e.log_group,
                                            now_ms,
                                        )?;
                                    }
                                    inner.create_stream(
                                        &mut cat,
                                        &mut batch,
                                        e.log_group,
                                        e.log_stream,
                                        now_ms,
                                    )?
                                }
                            };
                            let g = cat.groups.get(e.log_group).ok_or_else(group_not_found)?;
                            let gid = g.rec.gid;
                            let gslot = match groups.iter().position(|(id, _)| *id == gid) {
                                Some(i) => i,
                                None => {
                                    groups.push((
                                        gid,
                                        PerGroup {
                                            ev: g.ev.clone(),
                                            ix: g.ix.clone(),
                                            events: Vec::with_capacity(events.len()),
                                        },
                                    ));
                                    groups.len() - 1
                                }
                            };
                            acc.push(Acc {
                                group: e.log_group,
                                stream: e.log_stream,
                                min: e.timestamp,
                                max: e.timestamp,
                                bytes: 0,
                            });
                            let found = (gslot, acc.len() - 1, sid);
                            slots.insert((e.log_group, e.log_stream), found);
                            found
                        }
                    };
                    memo = Some((e.log_group, e.log_stream, found));
                    found
                }
            };
            let pos = Pos {
                ts: keys::ts_enc(e.timestamp),
                seq: cat.next_seq,
            };
            cat.next_seq += 1;
            if let Some((_, pg)) = groups.get_mut(gslot) {
                pg.events.push(NewEvent {
                    pos,
                    sid,
                    message: e.message,
                });
            }
            if let Some(a) = acc.get_mut(aslot) {
                a.min = a.min.min(e.timestamp);
                a.max = a.max.max(e.timestamp);
                a.bytes += e.message.len() as u64;
            }
        }
        let mut cctx = inner.cctx.lock();
        for (_, pg) in groups.iter_mut() {
            pg.events.sort_unstable_by_key(|e| e.pos);
            for run in block::split(&pg.events) {
                let (key, value, sids) = block::encode(&mut cctx, run, now_ms)?;
                batch.insert(&pg.ev, key.ev_key(), value);
                for sid in sids {
                    batch.insert(&pg.ix, key.ix_key(sid), &[][..]);
                }
            }
        }
        for a in &acc {
            let Some(g) = cat.groups.get_mut(a.group) else {
                continue;
            };
            let gid = g.rec.gid;
            if let Some(r) = g.streams.get_mut(a.stream) {
                r.first_ts = if r.first_ts == i64::MIN {
                    a.min
                } else {
                    r.first_ts.min(a.min)
                };
                r.last_ts = r.last_ts.max(a.max);
                r.last_ingestion = r.last_ingestion.max(now_ms);
                r.stored_bytes += a.bytes;
                batch.insert(&inner.meta, stream_key(gid, a.stream), r.encode());
            }
        }
        batch.commit()?;
        Ok(())
    }

    /// GetLogEvents of one stream. Without a token: the first page from the head
    /// (`start_from_head`) or the newest `limit` events (default). With `f/…` or `b/…` tokens:
    /// the next page in that direction. `end_time` is exclusive. Events come oldest first; at
    /// the end (head) of the stream the forward (backward) token passed in comes back.
    ///
    /// Errors: `ResourceNotFound` (group or stream), `InvalidParameter` (bad token), `Storage`.
    pub fn get_log_events(
        &self,
        group: &str,
        stream: &str,
        q: &GetEventsQuery,
    ) -> Result<GetEventsPage, StoreError> {
        let limit = clamp_limit(q.limit, MAX_EVENTS_PER_PAGE);
        let (sid, ev, ix) = {
            let cat = self.inner.catalog.read();
            let g = cat.groups.get(group).ok_or_else(group_not_found)?;
            let s = g.streams.get(stream).ok_or_else(stream_not_found)?;
            (s.sid, g.ev.clone(), g.ix.clone())
        };
        let tok = q
            .next_token
            .as_deref()
            .map(|t| token::get_decode(sid, t))
            .transpose()?;
        // [lo, hi) in position space.
        let mut lo = q.start_time.map_or(POS_MIN, Pos::at_time);
        let mut hi = q.end_time.map_or(POS_MAX, Pos::at_time);
        let forward = match tok {
            Some((Dir::Forward, p)) => {
                lo = lo.max(p.succ());
                true
            }
            Some((Dir::Backward, p)) => {
                hi = hi.min(p);
                false
            }
            None => q.start_from_head,
        };
        let snap = self.inner.db.snapshot();
        // (position, ingestion, message)
        let mut hits: Vec<(Pos, i64, String)> = Vec::new();
        if lo < hi {
            let from = Pos {
                ts: lo.ts.saturating_sub(block::MAX_BLOCK_SPAN_MS),
                seq: 0,
            };
            let to = Pos {
                ts: hi.ts,
                seq: u64::MAX,
            };
            let range = snap.range(&ix, from.ix_key(sid)..=to.ix_key(sid));
            let mut dec = block::Decoder::new()?;
            let mut open =
                |bkey: Pos, hits: &mut Vec<(Pos, i64, String)>| -> Result<(), StoreError> {
                    let Some(v) = snap.get(&ev, bkey.ev_key())? else {
                        return Ok(()); // block removed concurrently
                    };
                    let h = block::header(&v)?;
                    dec.decode(bkey, &h)?;
                    for (pos, s, r) in &dec.events {
                        let (pos, s) = (*pos, *s);
                        if s == sid && pos >= lo && pos < hi {
                            let msg = utf8_string(&dec.data[r.clone()]);
                            hits.push((pos, h.ingestion, msg));
                        }
                    }
                    Ok(())
                };
            let block_pos = |kv: fjall::Guard| -> Result<Pos, StoreError> {
                let k = kv.key()?;
                Pos::from_ix_key(&k)
                    .map(|(_, p)| p)
                    .ok_or_else(|| StoreError::Storage("corrupt index key".into()))
            };
            if forward {
                for kv in range {
                    let bkey = block_pos(kv)?;
                    // Blocks come by min_ts; once `limit` hits precede this block, stop.
                    if hits.len() >= limit {
                        hits.sort_unstable_by_key(|h| h.0);
                        hits.truncate(limit);
                        if hits.last().is_some_and(|h| h.0.ts < bkey.ts) {
                            break;
                        }
                    }
                    open(bkey, &mut hits)?;
                }
                hits.sort_unstable_by_key(|h| h.0);
                hits.truncate(limit);
            } else {
                for kv in range.rev() {
                    let bkey = block_pos(kv)?;
                    // This and older blocks hold events at most min_ts + span.
                    if hits.len() >= limit {
                        hits.sort_unstable_by_key(|h| std::cmp::Reverse(h.0));
                        hits.truncate(limit);
                        let newest_possible = bkey.ts.saturating_add(block::MAX_BLOCK_SPAN_MS);
                        if hits.last().is_some_and(|h| h.0.ts > newest_possible) {
                            break;
                        }
                    }
                    open(bkey, &mut hits)?;
                }
                hits.sort_unstable_by_key(|h| std::cmp::Reverse(h.0));
                hits.truncate(limit);
                hits.reverse();
            }
        }
        // Keep at most ~1 MB: a prefix going forward, a suffix going backward.
        let mut bytes = 0usize;
        let keep = if forward {
            hits.iter()
                .take_while(|h| {
                    bytes += h.2.len() + EVENT_OVERHEAD_BYTES;
                    bytes <= MAX_RESPONSE_BYTES
                })
                .count()
                .max(hits.len().min(1))
        } else {
            hits.iter()
                .rev()
                .take_while(|h| {
                    bytes += h.2.len() + EVENT_OVERHEAD_BYTES;
                    bytes <= MAX_RESPONSE_BYTES
                })
                .count()
                .max(hits.len().min(1))
        };
        if forward {
            hits.truncate(keep);
        } else {
            hits.drain(..hits.len() - keep);
        }
        let (f, b) = match (hits.first(), hits.last()) {
            (Some(first), Some(last)) => (last.0, first.0),
            _ => match (tok, q.next_token.as_deref()) {
                (Some((Dir::Forward, p)), Some(t)) => {
                    return Ok(GetEventsPage {
                        events: Vec::new(),
                        next_forward_token: t.to_string(),
                        next_backward_token: token::get_encode(Dir::Backward, sid, p.succ()),
                    });
                }
                (Some((Dir::Backward, p)), Some(t)) => {
                    return Ok(GetEventsPage {
                        events: Vec::new(),
                        next_forward_token: token::get_encode(Dir::Forward, sid, p.pred()),
                        next_backward_token: t.to_string(),
                    });
                }
                _ => (lo.pred(), lo),
            },
        };
        let events = hits
            .into_iter()
            .map(|(pos, ingestion_time, message)| OutputLogEvent {
                timestamp: pos.time(),
                message,
                ingestion_time,
            })
            .collect();
        Ok(GetEventsPage {
            events,
            next_forward_token: token::get_encode(Dir::Forward, sid, f),
            next_backward_token: token::get_encode(Dir::Backward, sid, b),
        })
    }

    /// FilterLogEvents over `group`: events of the selected streams with
    /// `start_time <= timestamp <= end_time` that match the pattern, in timestamp order across
    /// streams (ties by arrival). A page holds at most `limit` events and ~1 MB; a call also
    /// stops after examining the scan budget of stored events, returning a short (even empty)
    /// page with a token. `next_token` is `None` only when the search is complete.
    ///
    /// Errors: `ResourceNotFound` (group), `InvalidParameter` (bad token), `Storage`.
    pub fn filter_log_events(
        &self,
        group: &str,
        q: &FilterQuery,
    ) -> Result<FilterPage, StoreError> {
        let limit = clamp_limit(q.limit, MAX_EVENTS_PER_PAGE);
        let budget = self.inner.scan_budget.load(Ordering::Relaxed);
        let (gid, ev, names) = {
            let cat = self.inner.catalog.read();
            let g = cat.groups.get(group).ok_or_else(group_not_found)?;
            let wanted: Option<HashSet<&str>> = q
                .stream_names
                .as_ref()
                .map(|v| v.iter().map(String::as_str).collect());
            let names: HashMap<u32, String> = g
                .streams
                .iter()
                .filter(|(n, _)| wanted.as_ref().is_none_or(|w| w.contains(n.as_str())))
                .filter(|(n, _)| {
                    q.stream_name_prefix
                        .as_deref()
                        .is_none_or(|p| n.starts_with(p))
                })
                .map(|(n, r)| (r.sid, n.clone()))
                .collect();
            (g.rec.gid, g.ev.clone(), names)
        };
        let mut lo = q.start_time.map_or(POS_MIN, Pos::at_time);
        let hi = q.end_time.map_or(POS_MAX, |e| Pos {
            ts: keys::ts_enc(e),
            seq: u64::MAX,
        });
        if let Some(t) = q.next_token.as_deref() {
            lo = lo.max(token::filter_decode(gid, t)?.succ());
        }
        let mut out: Vec<FilteredLogEvent> = Vec::new();
        if names.is_empty() || lo > hi {
            return Ok(FilterPage {
                events: out,
                next_token: None,
            });
        }
        let snap = self.inner.db.snapshot();
        let from = Pos {
            ts: lo.ts.saturating_sub(block::MAX_BLOCK_SPAN_MS),
            seq: 0,
        };
        let to = Pos {
            ts: hi.ts,
            seq: u64::MAX,
        };
        // Matches from opened blocks not yet emitted; a match is final once the next block
        // starts after it (blocks come in min_ts order).
        let mut pending: Vec<(Pos, FilteredLogEvent)> = Vec::new();
        let mut bytes = 0usize;
        let mut scanned = 0usize;
        let mut last_emitted: Option<Pos> = None;
        // Emits pending matches before `bound`; returns false when the page is full.
        let emit = |pending: &mut Vec<(Pos, FilteredLogEvent)>,
                    out: &mut Vec<FilteredLogEvent>,
                    bytes: &mut usize,
                    last: &mut Option<Pos>,
                    bound: Pos|
         -> bool {
            pending.sort_unstable_by_key(|p| std::cmp::Reverse(p.0));
            while let Some((pos, e)) = pending.last() {
                if *pos >= bound {
                    break;
                }
                let size = e.message.len() + EVENT_OVERHEAD_BYTES;
                // At most `limit` events and 1 MB (but always at least one event).
                if out.len() >= limit || (!out.is_empty() && *bytes + size > MAX_RESPONSE_BYTES) {
                    return false;
                }
                let Some((pos, e)) = pending.pop() else { break };
                *bytes += size;
                out.push(e);
                *last = Some(pos);
            }
            out.len() < limit && *bytes < MAX_RESPONSE_BYTES
        };
        let mut iter = snap.range(&ev, from.ev_key()..=to.ev_key());
        let mut stop: Option<Pos> = None;
        let mut dec = block::Decoder::new()?;
        let (anchors, escapes) = q
            .pattern
            .as_ref()
            .map_or((Vec::new(), false), |p| p.anchors());
        // Index into `anchors` of the literal used for block search, chosen on the first
        // block as the one with the fewest occurrences (`Some(None)`: no anchors).
        let mut chosen: Option<Option<usize>> = None;
        // Per event of a block: whether it is a candidate; and the candidates' indexes.
        let mut marked: Vec<bool> = Vec::new();
        let mut candidates: Vec<usize> = Vec::new();
        let mut block_names: Vec<Option<&String>> = Vec::new();
        for kv in iter.by_ref() {
            let (k, v) = kv.into_inner()?;
            let bkey =
                Pos::from_ev_key(&k).ok_or_else(|| StoreError::Storage("corrupt key".into()))?;
            let bound = Pos {
                ts: bkey.ts,
                seq: 0,
            };
            if !emit(&mut pending, &mut out, &mut bytes, &mut last_emitted, bound) {
                stop = last_emitted;
                break;
            }
            if scanned >= budget && bkey.ts > lo.ts {
                // Everything before this block's start is done.
                stop = Some(bound.pred());
                break;
            }
            let h = block::header(&v)?;
            if !h.has_stream(|s| names.contains_key(&s)) {
                continue;
            }
            scanned += h.count;
            dec.decode(bkey, &h)?;
            // Stream names by the block's stream index: no hash lookup per event.
            block_names.clear();
            block_names.extend(dec.sids.iter().map(|s| names.get(s)));
            candidates.clear();
            match chosen.get_or_insert_with(|| rarest(&dec, &anchors)) {
                Some(pick) => {
                    if let Some(anchor) = anchors.get(*pick) {
                        mark_candidates(&dec, anchor, escapes, &mut marked, &mut candidates);
                    }
                }
                None => candidates.extend(0..dec.events.len()),
            }
            for &i in &candidates {
                let Some((pos, _, r)) = dec.events.get(i) else {
                    continue;
                };
                let pos = *pos;
                if pos < lo || pos > hi {
                    continue;
                }
                let idx = dec.sid_index.get(i).copied().unwrap_or(u16::MAX);
                let Some(name) = block_names.get(usize::from(idx)).copied().flatten() else {
                    continue;
                };
                let msg = &dec.data[r.clone()];
                if q.pattern.as_ref().is_none_or(|p| p.matches_bytes(msg)) {
                    pending.push((
                        pos,
                        FilteredLogEvent {
                            log_stream_name: name.clone(),
                            timestamp: pos.time(),
                            message: utf8_string(msg),
                            ingestion_time: h.ingestion,
                            event_id: pos.event_id(),
                        },
                    ));
                }
            }
        }
        let next_token = match stop {
            Some(pos) => Some(token::filter_encode(gid, pos)),
            None => {
                let done = emit(
                    &mut pending,
                    &mut out,
                    &mut bytes,
                    &mut last_emitted,
                    POS_MAX,
                );
                if done || pending.is_empty() {
                    None
                } else {
                    last_emitted.map(|p| token::filter_encode(gid, p))
                }
            }
        };
        Ok(FilterPage {
            events: out,
            next_token,
        })
    }

    /// Writes all in-memory tables (memtables) out as compressed on-disk tables and waits,
    /// so [`LogStore::disk_space`] reflects the compressed size (benchmarks; optional before
    /// shutdown — recovery replays the journal otherwise). Errors: `Storage`.
    pub fn flush_memtables(&self) -> Result<(), StoreError> {
        let handles: Vec<Keyspace> = {
            let cat = self.inner.catalog.read();
            cat.groups
                .values()
                .flat_map(|g| [g.ev.clone(), g.ix.clone()])
                .chain(std::iter::once(self.inner.meta.clone()))
                .collect()
        };
        for ks in handles {
            ks.rotate_memtable_and_wait()?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the journal (graceful shutdown). Errors: `Storage`.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.inner.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }
}

/// Messages were stored from `&str`, so this is valid UTF-8; the lossy path only guards
/// against on-disk corruption (the fast validating path is much quicker than the lossy one).
fn utf8_string(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// The index of the anchor with the fewest accepted occurrences in a decoded block (plain
/// literals first on a tie: they need no value check); `None` without anchors.
fn rarest(dec: &block::Decoder, anchors: &[Anchor<'_>]) -> Option<usize> {
    let start = dec.events.first().map_or(0, |e| e.2.start);
    let end = dec.events.last().map_or(start, |e| e.2.end);
    let region = dec.data.get(start..end).unwrap_or(&[]);
    (0..anchors.len()).min_by_key(|&i| {
        let a = &anchors[i];
        let n = a
            .finder()
            .find_iter(region)
            .filter(|&at| a.accepts(region, at))
            .count();
        (n, a.checks_value())
    })
}

/// Collects into `out`, in order, the indexes of the events of a decoded block holding an
/// occurrence of `anchor` that it accepts (and, if `escapes`, those containing a backslash):
/// one pass over the block's message bytes, like grep, instead of one search per message.
/// `marked` is scratch space.
fn mark_candidates(
    dec: &block::Decoder,
    anchor: &Anchor<'_>,
    escapes: bool,
    marked: &mut Vec<bool>,
    out: &mut Vec<usize>,
) {
    out.clear();
    marked.clear();
    marked.resize(dec.events.len(), false);
    let Some(start) = dec.events.first().map(|e| e.2.start) else {
        return;
    };
    let end = dec.events.last().map_or(start, |e| e.2.end);
    let region = dec.data.get(start..end).unwrap_or(&[]);
    let mut mark = |offset: usize| {
        let at = start + offset;
        // Messages are laid out in event order: binary search the one holding `at`.
        let i = dec.events.partition_point(|e| e.2.end <= at);
        match marked.get_mut(i) {
            Some(slot) if !*slot => {
                *slot = true;
                out.push(i);
                true
            }
            _ => false,
        }
    };
    for off in anchor.finder().find_iter(region) {
        if anchor.accepts(region, off) {
            mark(off);
        }
    }
    // Events with escapes come after the others: sort if there were any.
    let mut added = false;
    if escapes {
        for off in memchr::memchr_iter(b'\\', region) {
            added |= mark(off);
        }
    }
    if added {
        out.sort_unstable();
    }
}

/// Event blocks are compressed already; the stream index is keys only (lz4 helps).
fn ks_options(compress: bool) -> KeyspaceCreateOptions {
    let o =
        KeyspaceCreateOptions::default().data_block_size_policy(BlockSizePolicy::all(32 * 1024));
    if compress {
        o.data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
    } else {
        o.data_block_compression_policy(CompressionPolicy::disabled())
    }
}

impl Inner {
    fn create_group(
        &self,
        cat: &mut Catalog,
        batch: &mut fjall::OwnedWriteBatch,
        name: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let gid = cat.next_gid;
        let next = gid
            .checked_add(1)
            .ok_or_else(|| StoreError::Storage("log group ids exhausted".into()))?;
        let ev = self.db.keyspace(&ev_name(gid), || ks_options(false))?;
        let ix = self.db.keyspace(&ix_name(gid), || ks_options(true))?;
        let rec = GroupRec {
            gid,
            creation_time: now_ms,
            retention_days: 0,
        };
        batch.insert(&self.meta, group_key(name), rec.encode());
        batch.insert(
            &self.meta,
            counter_key("gid"),
            u64::from(next).to_be_bytes(),
        );
        cat.next_gid = next;
        cat.groups.insert(
            name.to_string(),
            Group {
                rec,
                ev,
                ix,
                streams: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn create_stream(
        &self,
        cat: &mut Catalog,
        batch: &mut fjall::OwnedWriteBatch,
        group: &str,
        stream: &str,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        let sid = cat.next_sid;
        let next = sid
            .checked_add(1)
            .ok_or_else(|| StoreError::Storage("log stream ids exhausted".into()))?;
        let g = cat.groups.get_mut(group).ok_or_else(group_not_found)?;
        let rec = StreamRec::new(sid, now_ms);
        batch.insert(&self.meta, stream_key(g.rec.gid, stream), rec.encode());
        batch.insert(
            &self.meta,
            counter_key("sid"),
            u64::from(next).to_be_bytes(),
        );
        g.streams.insert(stream.to_string(), rec);
        cat.next_sid = next;
        Ok(sid)
    }
}
