//! [`Logger`]: the account's logging front door — level gate, encoder and pipeline in one
//! `emit` path — and [`ClientLog`], the per-connection handle with its cached levels.
//!
//! **Gate before formatting.** [`Logger::enabled`] is the first and cheapest operation: one
//! atomic load against the most verbose level anything could admit, then the connection's
//! cached per-event-type level, revalidated by an epoch counter. Nothing is built, formatted
//! or allocated for an entry the gate drops. Configuration changes ([`Logger::set_options`])
//! bump the epoch, so connected clients see them on their next entry.

use crate::broker::ClientIdentity;
use crate::config::{
    GroupMembership, LogFormat, LoggingConfig, LoggingOptions, NoGroups, ResolvedConfig,
};
use crate::event::{EventType, IotLogEvent, encode_into, encode_plain_text_into};
use crate::level::LogLevel;
use crate::metrics::Metrics;
use crate::outcome::Outcome;
use crate::pipeline::{LogPipeline, LogRecord, LogSink, PipelineConfig, PipelineStats};
use crate::trace::TraceId;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// Static settings of a [`Logger`].
#[derive(Clone, Debug)]
pub struct LoggerSettings {
    /// The 12-digit AWS account ID written as `accountId`.
    pub account_id: String,
    /// This server's node name, part of the log stream name (see [`log_stream_name`]).
    pub node_id: String,
    /// Queue sizing and policy.
    pub pipeline: PipelineConfig,
}

/// The log stream an entry written at `epoch_ms` goes to: one stream per server node per UTC
/// day, `YYYY/MM/DD/<node_id>` (AWS does not document its stream naming; this is ours).
pub fn log_stream_name(epoch_ms: i64, node_id: &str) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let dt =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}/{:02}/{:02}/{}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        node_id
    )
}

const MS_PER_DAY: i64 = 86_400_000;

struct Inner {
    account_id: String,
    node_id: String,
    resolved: ArcSwap<ResolvedConfig>,
    groups: std::sync::RwLock<Arc<dyn GroupMembership>>,
    epoch: AtomicU64,
    max_rank: AtomicU8,
    stream: ArcSwap<(i64, Arc<str>)>,
    pipeline: LogPipeline,
    metrics: Arc<Metrics>,
}

/// The account's logging front door. `Clone` (an `Arc` inside), `Send + Sync`.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("account_id", &self.inner.account_id)
            .field("epoch", &self.inner.epoch.load(Ordering::Relaxed))
            .finish()
    }
}

/// Per-connection logging handle: the identity plus the effective level per event type,
/// cached and revalidated against the logger's epoch.
pub struct ClientLog {
    identity: Arc<ClientIdentity>,
    epoch: AtomicU64,
    levels: [AtomicU8; EventType::COUNT],
}

impl ClientLog {
    /// The connection's identity.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }
}

impl std::fmt::Debug for ClientLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLog")
            .field("identity", &self.identity)
            .finish()
    }
}

/// Epoch value no logger ever has: forces the first revalidation.
const STALE: u64 = u64::MAX;

impl Logger {
    /// Starts a logger writing into `sink` with the given initial configuration
    /// (`LoggingConfig::default()` or `None` options = not configured: nothing is written
    /// until [`Logger::set_config`]).
    pub fn start(
        settings: LoggerSettings,
        config: impl Into<LoggingConfig>,
        sink: Box<dyn LogSink>,
    ) -> Logger {
        let metrics = Arc::new(Metrics::new());
        let resolved = ResolvedConfig::new(config.into());
        let max_rank = resolved.max_rank();
        let pipeline = LogPipeline::start(settings.pipeline, sink, metrics.clone());
        let now = now_ms();
        let stream: Arc<str> = Arc::from(log_stream_name(now, &settings.node_id));
        Logger {
            inner: Arc::new(Inner {
                account_id: settings.account_id,
                node_id: settings.node_id,
                resolved: ArcSwap::from_pointee(resolved),
                groups: std::sync::RwLock::new(Arc::new(NoGroups)),
                epoch: AtomicU64::new(0),
                max_rank: AtomicU8::new(max_rank),
                stream: ArcSwap::from_pointee((now.div_euclid(MS_PER_DAY), stream)),
                pipeline,
                metrics,
            }),
        }
    }

    /// Replaces the whole logging configuration (the internal API the logging control plane
    /// calls). Takes effect for connected clients on their next entry.
    pub fn set_config(&self, config: LoggingConfig) {
        let resolved = ResolvedConfig::new(config);
        let max_rank = resolved.max_rank();
        self.inner.resolved.store(Arc::new(resolved));
        self.inner.max_rank.store(max_rank, Ordering::Release);
        self.inner.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The current logging configuration.
    pub fn config(&self) -> LoggingConfig {
        self.inner.resolved.load().config().clone()
    }

    /// Replaces only the V2 options, keeping log targets and legacy options.
    pub fn set_options(&self, options: Option<LoggingOptions>) {
        let mut config = self.config();
        config.v2 = options;
        self.set_config(config);
    }

    /// The role log entries are delivered with: the V2 `roleArn`, else the legacy
    /// (`SetLoggingOptions`) one; `None` when logging is not configured. Reads the live
    /// configuration without copying it (the log sink asks once per batch).
    pub fn delivery_role_arn(&self) -> Option<String> {
        let resolved = self.inner.resolved.load();
        let config = resolved.config();
        config
            .v2
            .as_ref()
            .and_then(|o| o.role_arn.clone())
            .or_else(|| config.legacy.as_ref().map(|l| l.role_arn.clone()))
    }

    /// The current V2 logging options (`None` = not configured).
    pub fn options(&self) -> Option<LoggingOptions> {
        self.inner.resolved.load().options().cloned()
    }

    /// Installs the thing registry's group membership (for THING_GROUP targets) and
    /// revalidates every connection.
    pub fn set_group_membership(&self, groups: Arc<dyn GroupMembership>) {
        if let Ok(mut g) = self.inner.groups.write() {
            *g = groups;
        }
        self.invalidate();
    }

    /// Forces every connection to re-resolve its levels (e.g. after a thing-group change).
    pub fn invalidate(&self) {
        self.inner.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The account ID written into entries.
    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// A per-connection handle for `identity`.
    pub fn client(&self, identity: ClientIdentity) -> ClientLog {
        ClientLog {
            identity: Arc::new(identity),
            epoch: AtomicU64::new(STALE),
            levels: std::array::from_fn(|_| AtomicU8::new(0)),
        }
    }

    /// Would an entry of `event_type` at `level` be written for `client`? Atomic loads only;
    /// no allocation.
    #[inline]
    pub fn enabled(&self, client: &ClientLog, event_type: EventType, level: LogLevel) -> bool {
        if level as u8 > self.inner.max_rank.load(Ordering::Acquire) {
            return false;
        }
        let epoch = self.inner.epoch.load(Ordering::Acquire);
        if client.epoch.load(Ordering::Acquire) != epoch {
            self.revalidate(client, epoch);
        }
        level as u8 <= client.levels[event_type.index()].load(Ordering::Relaxed)
    }

    #[cold]
    fn revalidate(&self, client: &ClientLog, epoch: u64) {
        let resolved = self.inner.resolved.load();
        let groups = match self.inner.groups.read() {
            Ok(g) => g.clone(),
            Err(_) => Arc::new(NoGroups),
        };
        let levels = resolved.levels_for(&client.identity, groups.as_ref());
        for t in EventType::ALL {
            client.levels[t.index()].store(levels[t.index()] as u8, Ordering::Relaxed);
        }
        client.epoch.store(epoch, Ordering::Release);
    }

    /// Counts the outcome's `AWS/IoT` metric, then gates, builds, encodes the exact AWS JSON
    /// and enqueues without blocking — one call, so an entry and its metric cannot drift.
    ///
    /// `outcome` is one of the constants declared on the event type (e.g.
    /// [`PublishIn::SUCCESS`](crate::PublishIn::SUCCESS)): its metric is counted under the
    /// client's `Protocol` dimension whether or not the level admits the entry (one relaxed
    /// atomic add, so counters stay cheap when logging is DISABLED); its level is what the
    /// gate compares. `build` runs only when the entry is admitted. `trace_id` ties related
    /// entries together (a `Publish-In` and its `Publish-Out`s share one). Built with the
    /// benchmark-only feature `bench-no-logging`, it counts and returns (the "build without
    /// the gate" that `scripts/bench-gate.sh` measures the gate against).
    #[inline]
    pub fn emit<'c, E: IotLogEvent + 'c>(
        &self,
        client: &'c ClientLog,
        outcome: Outcome<E>,
        trace_id: TraceId,
        build: impl FnOnce(&'c ClientIdentity) -> E,
    ) {
        if let Some(metric) = outcome.metric() {
            self.inner.metrics.incr(metric, client.identity.protocol);
        }
        if cfg!(feature = "bench-no-logging") {
            return;
        }
        let level = outcome.level();
        if !self.enabled(client, E::EVENT_TYPE, level) {
            return;
        }
        let event = build(&client.identity);
        self.write(&event, level, trace_id, now_ms());
    }

    /// Encodes and enqueues an admitted entry at `epoch_ms`.
    fn write<E: IotLogEvent>(&self, event: &E, level: LogLevel, trace_id: TraceId, epoch_ms: i64) {
        let resolved = self.inner.resolved.load();
        // Entries are 300–450 bytes with typical client IDs and topics: one allocation.
        let mut buf = Vec::with_capacity(512);
        match resolved.format() {
            LogFormat::Json => encode_into(
                &mut buf,
                event,
                level,
                trace_id,
                &self.inner.account_id,
                epoch_ms,
            ),
            LogFormat::PlainText => {
                encode_plain_text_into(&mut buf, event, level, trace_id, epoch_ms)
            }
        }
        let message = match String::from_utf8(buf) {
            Ok(s) => s,
            Err(_) => return, // both encoders only write UTF-8
        };
        let log_group = resolved.destination(E::EVENT_TYPE).clone();
        let log_stream = self.stream_for(epoch_ms);
        self.inner.pipeline.push(LogRecord {
            log_group,
            log_stream,
            timestamp: epoch_ms,
            message,
        });
    }

    fn stream_for(&self, epoch_ms: i64) -> Arc<str> {
        let day = epoch_ms.div_euclid(MS_PER_DAY);
        let cur = self.inner.stream.load();
        if cur.0 == day {
            return cur.1.clone();
        }
        let name: Arc<str> = Arc::from(log_stream_name(epoch_ms, &self.inner.node_id));
        self.inner.stream.store(Arc::new((day, name.clone())));
        name
    }

    /// The account's `AWS/IoT` counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Blocks until every entry emitted before this call reached the sink.
    pub fn flush(&self) {
        self.inner.pipeline.flush();
    }

    /// Writes what is queued and stops the pipeline thread (graceful shutdown).
    pub fn shutdown(&self) {
        self.inner.pipeline.shutdown();
    }

    /// Counters of the `log-pipeline` queue.
    pub fn pipeline_stats(&self) -> PipelineStats {
        self.inner.pipeline.stats()
    }
}

/// Wall-clock time in epoch milliseconds.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as i64
}
