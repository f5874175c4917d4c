//! The CloudTrail-compatible audit trail (service `cloudtrail`'s domain; no HTTP).
//!
//! Every management call on the AWS APIs becomes a CloudTrail record ([`record`]): the
//! API-call observer hands a [`ManagementCall`] to [`Audit::record`], which only copies it
//! into the bounded queue [`QUEUE_NAME`] and returns — recording never makes a call fail or
//! wait. The `audit-writer` thread builds the records (secrets redacted), appends them to the
//! hash-chained store ([`store`]) in batches, delivers them to the trails that log to
//! CloudWatch Logs ([`trails`]), and every hour seals the chain with a signed digest
//! ([`integrity`]). When the queue is full a call is answered but not recorded; the drop is
//! counted ([`AuditStats::dropped`]) and the gap itself becomes a record
//! ([`record::gap_record`]) as soon as the writer catches up — never silent.
//!
//! Reads: [`Audit::lookup`] (LookupEvents, newest first, 90 days kept), the trail operations,
//! and [`verify_dir`] (`thingwatch audit verify`), which needs no running server.

pub mod integrity;
pub mod record;
pub mod store;
pub mod trails;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::Duration;

use parking_lot::Mutex;
use thingwatch_aws::{ApiError, ErrorCode, Scope};
use thingwatch_logstore::{AppendEvent, LogStore};

pub use integrity::{DigestKey, Problem, VerifyReport};
pub use record::{Identities, Identity, IdentityType, ManagementCall, SessionIssuer};
pub use store::{Lookup, LookupAttribute, StoredRecord};
pub use trails::{AdvancedEventSelector, EventSelector, FieldSelector, Trail};

/// The recording queue's name (on `/metrics` as `queue="audit"`).
pub const QUEUE_NAME: &str = "audit";
/// Default capacity of the recording queue, in calls. At ~1 KiB a call this bounds the
/// queue's memory to ~10 MiB; the writer drains batches of up to [`BATCH`].
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// The most records appended in one transaction.
pub const BATCH: usize = 500;
/// How often the writer takes what is queued (a record is visible to LookupEvents at most
/// this late, unless [`Audit::flush`] wakes it; each tick's calls go in one transaction).
pub const WRITER_TICK: Duration = Duration::from_millis(100);
/// The digest period: one hour (CloudTrail delivers digest files hourly).
pub const DIGEST_INTERVAL_MS: i64 = 3_600_000;
/// How long [`Audit::flush`] waits for the writer.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The audit directory under the data directory.
pub fn audit_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("audit")
}

/// Whether a trail's role may deliver to a log group (IAM, implemented by the server).
pub trait DeliveryRoles: Send + Sync + 'static {
    /// Do the policies of `role_arn` allow `action` on `resource`?
    fn role_allows(&self, role_arn: &str, action: &str, resource: &str) -> bool;
}

/// Settings of [`Audit::open`].
#[derive(Clone, Debug)]
pub struct AuditSettings {
    /// Account and region (ARNs, `recipientAccountId`, `awsRegion` of gap records).
    pub scope: Scope,
    /// Recording queue capacity ([`DEFAULT_QUEUE_CAPACITY`]).
    pub queue_capacity: usize,
    /// Digest period in ms ([`DIGEST_INTERVAL_MS`]; shorter in tests).
    pub digest_interval_ms: i64,
}

impl AuditSettings {
    /// The defaults for `scope`.
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            digest_interval_ms: DIGEST_INTERVAL_MS,
        }
    }
}

/// Counters of the audit trail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Records written (gap records included).
    pub recorded: u64,
    /// Calls not recorded because the queue was full.
    pub dropped: u64,
    /// Calls waiting in the queue.
    pub queue_depth: usize,
    /// The queue's capacity.
    pub queue_capacity: usize,
    /// Records a trail could not deliver to its log group.
    pub delivery_failures: u64,
    /// Digests written since the start.
    pub digests: u64,
}

enum Msg {
    Call(Box<ManagementCall>),
    Flush(SyncSender<()>),
    Seal(SyncSender<Result<store::DigestRow, String>>),
    Stop,
}

/// What GetTrailStatus reports beyond the trail itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Last successful CloudWatch Logs delivery, epoch ms.
    pub latest_cloudwatch_delivery_ms: Option<i64>,
    /// Last CloudWatch Logs delivery error.
    pub latest_cloudwatch_delivery_error: Option<String>,
    /// Last digest, epoch ms.
    pub latest_digest_ms: Option<i64>,
}

struct TrailState {
    trail: Trail,
    status: DeliveryStatus,
}

struct Inner {
    scope: Scope,
    store: Mutex<store::Store>,
    key: DigestKey,
    tx: SyncSender<Msg>,
    capacity: usize,
    depth: AtomicUsize,
    recorded: AtomicU64,
    dropped_total: AtomicU64,
    pending_drops: AtomicU64,
    first_drop_ms: AtomicI64,
    last_drop_ms: AtomicI64,
    delivery_failures: AtomicU64,
    digests: AtomicU64,
    trails: Mutex<Vec<TrailState>>,
    logs: Option<LogStore>,
    roles: Option<Arc<dyn DeliveryRoles>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    latest_digest_ms: AtomicI64,
}

/// The audit trail. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    inner: Arc<Inner>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "audit store failure");
    ApiError::new(ErrorCode::InternalFailure, "The audit store failed.")
}

impl Audit {
    /// Opens `dir` (the store, the digest key, the trails) and starts the `audit-writer`
    /// thread. A store whose last digest is older than one period gets a digest for the
    /// time it was closed before anything new is written. `logs` is where trails deliver,
    /// `roles` decides whether their roles may.
    ///
    /// # Errors
    /// The store or key cannot be opened, the thread cannot start.
    pub fn open(
        dir: &Path,
        settings: AuditSettings,
        logs: Option<LogStore>,
        roles: Option<Arc<dyn DeliveryRoles>>,
    ) -> Result<Audit, String> {
        let store = store::Store::open(dir).map_err(|e| e.to_string())?;
        let key = DigestKey::load_or_create(dir)?;
        let trails = store
            .trails()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|(name, spec)| match serde_json::from_str::<Trail>(&spec) {
                Ok(trail) => Some(TrailState {
                    trail,
                    status: DeliveryStatus::default(),
                }),
                Err(e) => {
                    tracing::warn!(%name, error = %e, "skipping an unreadable trail");
                    None
                }
            })
            .collect();
        let capacity = settings.queue_capacity.max(1);
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
        let latest = store.last_digest().ok().flatten().map_or(0, |d| d.end_ms);
        let inner = Arc::new(Inner {
            scope: settings.scope.clone(),
            store: Mutex::new(store),
            key,
            tx,
            capacity,
            depth: AtomicUsize::new(0),
            recorded: AtomicU64::new(0),
            dropped_total: AtomicU64::new(0),
            pending_drops: AtomicU64::new(0),
            first_drop_ms: AtomicI64::new(0),
            last_drop_ms: AtomicI64::new(0),
            delivery_failures: AtomicU64::new(0),
            digests: AtomicU64::new(0),
            trails: Mutex::new(trails),
            logs,
            roles,
            worker: Mutex::new(None),
            latest_digest_ms: AtomicI64::new(latest),
        });
        let worker_inner = inner.clone();
        let interval = settings.digest_interval_ms.max(1);
        let handle = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer(&worker_inner, &rx, interval))
            .map_err(|e| format!("starting the audit writer: {e}"))?;
        *inner.worker.lock() = Some(handle);
        Ok(Audit { inner })
    }

    /// The account and region.
    pub fn scope(&self) -> &Scope {
        &self.inner.scope
    }

    /// Queues one call for recording; never blocks. A full queue drops it and counts the
    /// drop (see the crate docs).
    pub fn record(&self, call: ManagementCall) {
        let i = &self.inner;
        let at = call.event_time_ms;
        i.depth.fetch_add(1, Ordering::Relaxed);
        match i.tx.try_send(Msg::Call(Box::new(call))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                i.depth.fetch_sub(1, Ordering::Relaxed);
                i.dropped_total.fetch_add(1, Ordering::Relaxed);
                if i.pending_drops.fetch_add(1, Ordering::AcqRel) == 0 {
                    i.first_drop_ms.store(at, Ordering::Relaxed);
                }
                i.last_drop_ms.store(at, Ordering::Relaxed);
            }
        }
    }

    /// Waits (at most [`FLUSH_TIMEOUT`]) until every call queued before it is written and
    /// delivered. LookupEvents calls it so a caller sees its own earlier calls.
    pub fn flush(&self) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if self.inner.tx.send(Msg::Flush(tx)).is_ok() {
            self.wake();
            let _ = rx.recv_timeout(FLUSH_TIMEOUT);
        }
    }

    /// Writes a digest now (what the hourly timer and the stop do).
    ///
    /// # Errors
    /// Storage failures; the writer has stopped.
    pub fn seal_now(&self) -> Result<store::DigestRow, String> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.inner
            .tx
            .send(Msg::Seal(tx))
            .map_err(|_| "the audit writer has stopped".to_owned())?;
        self.wake();
        rx.recv_timeout(FLUSH_TIMEOUT)
            .map_err(|_| "the audit writer did not answer".to_owned())?
    }

    fn wake(&self) {
        if let Some(h) = self.inner.worker.lock().as_ref() {
            h.thread().unpark();
        }
    }

    /// Stops the writer after it has written everything queued and a final digest.
    pub fn stop(&self) {
        let _ = self.inner.tx.send(Msg::Stop);
        self.wake();
        if let Some(h) = self.inner.worker.lock().take() {
            let _ = h.join();
        }
    }

    /// Holds the store's lock until the guard drops, so the writer stalls at its next
    /// batch: how tests fill the queue to see drops recorded as a gap.
    #[doc(hidden)]
    pub fn stall_writer(&self) -> impl Drop + '_ {
        self.inner.store.lock()
    }

    /// The counters.
    pub fn stats(&self) -> AuditStats {
        let i = &self.inner;
        AuditStats {
            recorded: i.recorded.load(Ordering::Relaxed),
            dropped: i.dropped_total.load(Ordering::Relaxed),
            queue_depth: i.depth.load(Ordering::Relaxed),
            queue_capacity: i.capacity,
            delivery_failures: i.delivery_failures.load(Ordering::Relaxed),
            digests: i.digests.load(Ordering::Relaxed),
        }
    }

    /// LookupEvents over the event history.
    ///
    /// # Errors
    /// Storage failures (`InternalFailure`).
    pub fn lookup(&self, q: &Lookup) -> Result<Vec<StoredRecord>, ApiError> {
        self.inner.store.lock().lookup(q).map_err(internal)
    }

    // ---- trails

    fn resolve(&self, trails: &[TrailState], name: &str) -> Result<usize, ApiError> {
        let scope = &self.inner.scope;
        let wanted = match name.strip_prefix("arn:") {
            Some(_) => {
                let prefix = thingwatch_aws::Arn::cloudtrail_trail(scope, "").to_string();
                match name.strip_prefix(&prefix) {
                    Some(n) if !n.is_empty() => n.to_owned(),
                    _ if name.starts_with("arn:aws:cloudtrail:") && name.contains(":trail/") => {
                        return Err(not_found(scope, name));
                    }
                    _ => {
                        return Err(ApiError::new(
                            ErrorCode::CloudTrailArnInvalid,
                            format!("The ARN {name} is not valid."),
                        ));
                    }
                }
            }
            None => {
                trails::validate_name(name)?;
                name.to_owned()
            }
        };
        trails
            .iter()
            .position(|t| t.trail.name == wanted)
            .ok_or_else(|| not_found(scope, &wanted))
    }

    fn save(&self, trail: &Trail) -> Result<(), ApiError> {
        let spec = serde_json::to_string(trail).map_err(internal)?;
        self.inner
            .store
            .lock()
            .put_trail(&trail.name, &spec)
            .map_err(internal)
    }

    /// CreateTrail: validates (name, bucket, log group and role), stores it not logging.
    ///
    /// # Errors
    /// `InvalidTrailNameException`, `TrailAlreadyExistsException`,
    /// `MaximumNumberOfTrailsExceededException`, `InvalidS3BucketNameException`,
    /// `InvalidCloudWatchLogsLogGroupArnException`, `InvalidCloudWatchLogsRoleArnException`,
    /// `InvalidParameterCombinationException`.
    pub fn create_trail(&self, trail: Trail) -> Result<Trail, ApiError> {
        trails::validate_name(&trail.name)?;
        trails::validate_bucket(&trail.s3_bucket_name)?;
        self.check_delivery(&trail)?;
        let mut all = self.inner.trails.lock();
        if all.iter().any(|t| t.trail.name == trail.name) {
            return Err(ApiError::new(
                ErrorCode::TrailAlreadyExists,
                format!(
                    "Trail {} already exists for customer: {}",
                    trail.name, self.inner.scope.account_id
                ),
            ));
        }
        if all.len() >= trails::MAX_TRAILS {
            return Err(ApiError::new(
                ErrorCode::MaximumNumberOfTrailsExceeded,
                format!(
                    "User: {} already has {} trails in {}.",
                    self.inner.scope.account_id,
                    trails::MAX_TRAILS,
                    self.inner.scope.region
                ),
            ));
        }
        self.save(&trail)?;
        all.push(TrailState {
            trail: trail.clone(),
            status: DeliveryStatus::default(),
        });
        Ok(trail)
    }

    /// The log group and role of a trail: both or neither; the group exists; the role may
    /// create streams and put events in it.
    fn check_delivery(&self, trail: &Trail) -> Result<(), ApiError> {
        let (group_arn, role) = match (
            &trail.cloud_watch_logs_log_group_arn,
            &trail.cloud_watch_logs_role_arn,
        ) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidCloudWatchLogsRoleArn,
                    "You must specify a CloudWatchLogsRoleArn with a CloudWatchLogsLogGroupArn.",
                ));
            }
            (None, Some(_)) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidCloudWatchLogsLogGroupArn,
                    "You must specify a CloudWatchLogsLogGroupArn with a CloudWatchLogsRoleArn.",
                ));
            }
            (Some(g), Some(r)) => (g, r),
        };
        let scope = &self.inner.scope;
        let group = trails::log_group_of_arn(group_arn)
            .filter(|_| {
                group_arn.starts_with(&thingwatch_aws::Arn::log_group_bare(scope, "").to_string())
            })
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidCloudWatchLogsLogGroupArn,
                    format!("CloudWatch Logs log group ARN {group_arn} is not valid: expected arn:aws:logs:{}:{}:log-group:NAME:*.", scope.region, scope.account_id),
                )
            })?;
        if let Some(logs) = &self.inner.logs {
            let exists = logs
                .describe_log_groups(Some(group), None, None, 50)
                .map(|p| p.items.iter().any(|g| g.name == group))
                .unwrap_or(false);
            if !exists {
                return Err(ApiError::new(
                    ErrorCode::InvalidCloudWatchLogsLogGroupArn,
                    format!("The log group {group} does not exist."),
                ));
            }
        }
        let stream_arn =
            thingwatch_aws::Arn::log_stream(scope, group, &stream_name(scope)).to_string();
        let allowed = self.inner.roles.as_ref().is_none_or(|roles| {
            roles.role_allows(role, "logs:CreateLogStream", &stream_arn)
                && roles.role_allows(role, "logs:PutLogEvents", &stream_arn)
        });
        if !allowed {
            return Err(ApiError::new(
                ErrorCode::InvalidCloudWatchLogsRoleArn,
                "Access denied. Verify in IAM that the role has adequate permissions.",
            ));
        }
        Ok(())
    }

    /// GetTrail.
    ///
    /// # Errors
    /// `TrailNotFoundException`, `InvalidTrailNameException`, `CloudTrailARNInvalidException`.
    pub fn get_trail(&self, name: &str) -> Result<Trail, ApiError> {
        let all = self.inner.trails.lock();
        let i = self.resolve(&all, name)?;
        Ok(all[i].trail.clone())
    }

    /// DescribeTrails: all, or those named (unknown names are left out, as AWS does).
    ///
    /// # Errors
    /// `InvalidTrailNameException`, `CloudTrailARNInvalidException`.
    pub fn describe_trails(&self, names: Option<&[String]>) -> Result<Vec<Trail>, ApiError> {
        let all = self.inner.trails.lock();
        match names.filter(|n| !n.is_empty()) {
            None => Ok(all.iter().map(|t| t.trail.clone()).collect()),
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    match self.resolve(&all, n) {
                        Ok(i) => out.push(all[i].trail.clone()),
                        Err(e) if e.code == ErrorCode::TrailNotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(out)
            }
        }
    }

    /// GetTrailStatus.
    ///
    /// # Errors
    /// As [`Self::get_trail`].
    pub fn trail_status(&self, name: &str) -> Result<(Trail, DeliveryStatus), ApiError> {
        let all = self.inner.trails.lock();
        let i = self.resolve(&all, name)?;
        let mut status = all[i].status.clone();
        let latest = self.inner.latest_digest_ms.load(Ordering::Relaxed);
        status.latest_digest_ms = (latest > 0).then_some(latest);
        Ok((all[i].trail.clone(), status))
    }

    /// StartLogging / StopLogging.
    ///
    /// # Errors
    /// As [`Self::get_trail`].
    pub fn set_logging(&self, name: &str, on: bool, now_ms: i64) -> Result<(), ApiError> {
        let mut all = self.inner.trails.lock();
        let i = self.resolve(&all, name)?;
        let mut t = all[i].trail.clone();
        if t.is_logging != on {
            t.is_logging = on;
            if on {
                t.start_logging_ms = Some(now_ms);
            } else {
                t.stop_logging_ms = Some(now_ms);
            }
        }
        self.save(&t)?;
        all[i].trail = t;
        Ok(())
    }

    /// DeleteTrail.
    ///
    /// # Errors
    /// As [`Self::get_trail`].
    pub fn delete_trail(&self, name: &str) -> Result<(), ApiError> {
        let mut all = self.inner.trails.lock();
        let i = self.resolve(&all, name)?;
        self.inner
            .store
            .lock()
            .delete_trail(&all[i].trail.name)
            .map_err(internal)?;
        all.remove(i);
        Ok(())
    }

    /// PutEventSelectors.
    ///
    /// # Errors
    /// As [`Self::get_trail`], and [`trails::validate_selectors`]'s.
    pub fn put_event_selectors(
        &self,
        name: &str,
        basic: Option<Vec<EventSelector>>,
        advanced: Option<Vec<AdvancedEventSelector>>,
    ) -> Result<Trail, ApiError> {
        trails::validate_selectors(basic.as_deref(), advanced.as_deref())?;
        let mut all = self.inner.trails.lock();
        let i = self.resolve(&all, name)?;
        let mut t = all[i].trail.clone();
        t.event_selectors = basic;
        t.advanced_event_selectors = advanced;
        self.save(&t)?;
        all[i].trail = t.clone();
        Ok(t)
    }
}

fn not_found(scope: &Scope, name: &str) -> ApiError {
    let arn = if name.starts_with("arn:") {
        name.to_owned()
    } else {
        thingwatch_aws::Arn::cloudtrail_trail(scope, name).to_string()
    };
    ApiError::new(
        ErrorCode::TrailNotFound,
        format!("Unknown trail: {arn} for the user: {}", scope.account_id),
    )
}

/// The log stream trails deliver into: `ACCOUNT_CloudTrail_REGION`.
pub fn stream_name(scope: &Scope) -> String {
    format!("{}_CloudTrail_{}", scope.account_id, scope.region)
}

fn next_boundary(now: i64, interval: i64) -> i64 {
    (now / interval + 1) * interval
}

fn writer(inner: &Inner, rx: &Receiver<Msg>, interval: i64) {
    // Records left unsealed by an unclean stop, or a store closed for longer than a
    // period, get their digest before anything new is written.
    {
        let store = inner.store.lock();
        let last = store.last_digest().ok().flatten();
        let unsealed = store.head().0 > last.as_ref().map_or(0, |d| d.last_seq);
        let stale = last
            .as_ref()
            .is_some_and(|d| now_ms() - d.end_ms >= interval);
        if unsealed || stale {
            let _ = seal(inner, &store, now_ms());
        }
    }
    let mut next_digest = next_boundary(now_ms(), interval);
    let mut batch: Vec<ManagementCall> = Vec::with_capacity(BATCH);
    loop {
        // The writer polls on a tick instead of blocking on the queue: a blocked receiver
        // makes every `try_send` wake it (a futex call and a context switch per API call).
        // Flush, seal and stop unpark it at once.
        let until_digest = u64::try_from((next_digest - now_ms()).max(0)).unwrap_or(0);
        std::thread::park_timeout(WRITER_TICK.min(Duration::from_millis(until_digest)));
        let mut control = Vec::new();
        let mut disconnected = false;
        loop {
            match rx.try_recv() {
                Ok(Msg::Call(c)) => {
                    batch.push(*c);
                    if batch.len() >= BATCH {
                        write_batch(inner, &mut batch);
                    }
                }
                Ok(other) => {
                    control.push(other);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        if disconnected && batch.is_empty() && control.is_empty() {
            return;
        }
        write_batch(inner, &mut batch);
        if now_ms() >= next_digest {
            let store = inner.store.lock();
            let _ = seal(inner, &store, next_digest);
            let cutoff = now_ms() - store::RETENTION_MS;
            drop(store);
            if let Err(e) = inner.store.lock().prune(cutoff) {
                tracing::warn!(error = %e, "pruning audit records failed");
            }
            next_digest = next_boundary(now_ms(), interval);
        }
        for msg in control {
            match msg {
                Msg::Flush(ack) => {
                    let _ = ack.send(());
                }
                Msg::Seal(ack) => {
                    let store = inner.store.lock();
                    let _ = ack.send(seal(inner, &store, now_ms()));
                }
                Msg::Stop => {
                    // Everything still queued, then the final digest.
                    while let Ok(m) = rx.try_recv() {
                        if let Msg::Call(c) = m {
                            batch.push(*c);
                            if batch.len() >= BATCH {
                                write_batch(inner, &mut batch);
                            }
                        }
                    }
                    write_batch(inner, &mut batch);
                    let store = inner.store.lock();
                    let _ = seal(inner, &store, now_ms());
                    return;
                }
                Msg::Call(_) => unreachable!("calls are batched"),
            }
        }
    }
}

/// Writes a digest ending at `end_ms` and counts it; a failure is logged (and returned, for
/// [`Audit::seal_now`]).
fn seal(inner: &Inner, store: &store::Store, end_ms: i64) -> Result<store::DigestRow, String> {
    match integrity::seal(store, &inner.key, end_ms) {
        Ok(d) => {
            inner.digests.fetch_add(1, Ordering::Relaxed);
            inner.latest_digest_ms.store(d.end_ms, Ordering::Relaxed);
            Ok(d)
        }
        Err(e) => {
            tracing::warn!(error = %e, "writing the audit digest failed");
            Err(e.to_string())
        }
    }
}

/// Builds, appends and delivers a batch (and the gap record of any drops before it); the
/// batch's calls leave the queue's depth.
fn write_batch(inner: &Inner, batch: &mut Vec<ManagementCall>) {
    inner.depth.fetch_sub(batch.len(), Ordering::Relaxed);
    let drops = inner.pending_drops.swap(0, Ordering::AcqRel);
    if batch.is_empty() && drops == 0 {
        return;
    }
    let scope = &inner.scope;
    let mut records = Vec::with_capacity(batch.len() + 1);
    if drops > 0 {
        records.push(record::gap_record(
            drops,
            inner.first_drop_ms.load(Ordering::Relaxed),
            inner.last_drop_ms.load(Ordering::Relaxed),
            uuid::Uuid::new_v4().to_string(),
            now_ms(),
            scope,
        ));
    }
    for call in batch.drain(..) {
        records.push(record::build(call, uuid::Uuid::new_v4().to_string(), scope));
    }
    if let Err(e) = inner.store.lock().append(&records) {
        // Not silent: the records count as dropped and the next batch carries a gap record.
        tracing::warn!(error = %e, n = records.len(), "appending audit records failed");
        let n = records.len() as u64;
        inner.dropped_total.fetch_add(n, Ordering::Relaxed);
        if inner.pending_drops.fetch_add(n, Ordering::AcqRel) == 0 {
            inner
                .first_drop_ms
                .store(records[0].event_time_ms, Ordering::Relaxed);
        }
        return;
    }
    inner
        .recorded
        .fetch_add(records.len() as u64, Ordering::Relaxed);
    deliver(inner, &records);
}

/// Delivers records to every logging trail with a log group, in its stream.
fn deliver(inner: &Inner, records: &[record::BuiltRecord]) {
    let Some(logs) = &inner.logs else { return };
    let scope = &inner.scope;
    let stream = stream_name(scope);
    let mut trails = inner.trails.lock();
    for state in trails.iter_mut().filter(|t| t.trail.is_logging) {
        let Some(group) = state.trail.log_group().map(str::to_owned) else {
            continue;
        };
        let wanted: Vec<&record::BuiltRecord> =
            records.iter().filter(|r| state.trail.wants(r)).collect();
        if wanted.is_empty() {
            continue;
        }
        let stream_arn = thingwatch_aws::Arn::log_stream(scope, &group, &stream).to_string();
        let role = state
            .trail
            .cloud_watch_logs_role_arn
            .clone()
            .unwrap_or_default();
        let allowed = inner
            .roles
            .as_ref()
            .is_none_or(|r| r.role_allows(&role, "logs:PutLogEvents", &stream_arn));
        let outcome = if !allowed {
            Err(format!(
                "Access denied: role {role} may not call logs:PutLogEvents on {stream_arn}."
            ))
        } else {
            match logs.create_log_stream(&group, &stream, now_ms()) {
                Ok(()) | Err(thingwatch_logstore::StoreError::ResourceAlreadyExists(_)) => {
                    let mut events: Vec<AppendEvent<'_>> = wanted
                        .iter()
                        .map(|r| AppendEvent {
                            log_group: &group,
                            log_stream: &stream,
                            timestamp: r.event_time_ms,
                            message: &r.json,
                        })
                        .collect();
                    events.sort_by_key(|e| e.timestamp);
                    logs.append(&events, now_ms()).map_err(|e| e.to_string())
                }
                Err(e) => Err(format!("Log group {group} could not be written: {e}")),
            }
        };
        match outcome {
            Ok(()) => {
                state.status.latest_cloudwatch_delivery_ms = Some(now_ms());
                state.status.latest_cloudwatch_delivery_error = None;
            }
            Err(e) => {
                inner
                    .delivery_failures
                    .fetch_add(wanted.len() as u64, Ordering::Relaxed);
                state.status.latest_cloudwatch_delivery_error = Some(e);
            }
        }
    }
}

/// `thingwatch audit verify`: opens `DATA_DIR/audit` (no server needed) and verifies it
/// against `public_key` (raw Ed25519; the data directory's own key when `None`), over
/// `[from_ms, to_ms]` when given.
///
/// # Errors
/// No audit store in the directory, an unreadable key, or a store SQLite cannot read
/// (corrupt file) — each a message naming the file.
pub fn verify_dir(
    data_dir: &Path,
    public_key: Option<Vec<u8>>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<VerifyReport, String> {
    let dir = audit_dir(data_dir);
    if !dir.join(store::DB_FILE).exists() {
        return Err(format!(
            "{} holds no audit trail ({} is missing)",
            data_dir.display(),
            dir.join(store::DB_FILE).display()
        ));
    }
    let key = match public_key {
        Some(k) => k,
        None => {
            if !dir.join(integrity::KEY_FILE).exists() {
                return Err(format!(
                    "{} is missing",
                    dir.join(integrity::KEY_FILE).display()
                ));
            }
            DigestKey::load_or_create(&dir)?.public_key().to_vec()
        }
    };
    let store = store::Store::open(&dir).map_err(|e| e.to_string())?;
    integrity::verify(&store, &key, from_ms, to_ms).map_err(|e| e.to_string())
}

/// `thingwatch audit public-key`: the data directory's digest public key as PEM.
///
/// # Errors
/// No key in the directory.
pub fn public_key_of_dir(data_dir: &Path) -> Result<String, String> {
    let dir = audit_dir(data_dir);
    if !dir.join(integrity::KEY_FILE).exists() {
        return Err(format!(
            "{} is missing",
            dir.join(integrity::KEY_FILE).display()
        ));
    }
    Ok(DigestKey::load_or_create(&dir)?.public_key_pem())
}
