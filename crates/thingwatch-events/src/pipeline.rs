//! The bounded log pipeline: producers enqueue encoded entries without blocking; one batcher
//! thread drains the queue into a [`LogSink`] in batches.
//!
//! **Buffer policy is explicit** ([`WhenFull`]): the default, `DropNewest`, never blocks a
//! producer; every entry it drops is counted as the `AWS/IoT` metric
//! `NumLogEventsFailedToPublishThrottled` and in [`PipelineStats::dropped`]. The queue is named
//! `log-pipeline` in stats and logs.
//!
//! Batching is adaptive: the batcher blocks for the first entry, then takes whatever else is
//! already queued (up to [`PipelineConfig::max_batch`]) and writes it in one sink call — one
//! durable write per batch under load, no added latency when idle.

use crate::metrics::{Dimension, MetricName, Metrics};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// One encoded entry on its way to a log group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Destination log group, e.g. `AWSIotLogsV2`.
    pub log_group: Arc<str>,
    /// Destination log stream.
    pub log_stream: Arc<str>,
    /// Entry time, epoch milliseconds.
    pub timestamp: i64,
    /// The entry text (AWS JSON for V2 entries).
    pub message: String,
}

/// Error a sink reports for a batch it could not write.
#[derive(Debug, thiserror::Error)]
#[error("log sink write failed: {0}")]
pub struct SinkError(pub String);

/// Where batches go: the embedded log store, stdout, a file, an external engine.
///
/// Called from the pipeline's own thread only, so it may block.
pub trait LogSink: Send + 'static {
    /// Writes one batch durably (as durable as the sink promises). On `Err` the batcher
    /// retries a bounded number of times, then drops the batch and counts it.
    fn write_batch(&mut self, records: &[LogRecord]) -> Result<(), SinkError>;
}

/// What a producer does when the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Drop the new entry and count it (`NumLogEventsFailedToPublishThrottled`). The data path
    /// never waits for logging. The default.
    #[default]
    DropNewest,
    /// Wait for room. No entry is lost, but a slow sink slows the producer (and blocks its
    /// thread): for batch tools and lossless benchmarks, never for the broker's data path.
    Block,
}

/// Pipeline sizing and policy.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// Queue capacity in entries (default 65,536).
    pub capacity: usize,
    /// Most entries per sink call (default 8,192).
    pub max_batch: usize,
    /// Full-queue policy (default [`WhenFull::DropNewest`]).
    pub when_full: WhenFull,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            capacity: 65_536,
            max_batch: 8_192,
            when_full: WhenFull::DropNewest,
        }
    }
}

/// Counters of the `log-pipeline` queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Entries accepted into the queue.
    pub enqueued: u64,
    /// Entries the sink wrote.
    pub written: u64,
    /// Entries dropped because the queue was full.
    pub dropped: u64,
    /// Entries lost because the sink kept failing.
    pub failed: u64,
    /// Sink calls made.
    pub batches: u64,
}

enum Msg {
    Record(LogRecord),
    Flush(Sender<()>),
    Stop,
}

#[derive(Default)]
struct Counters {
    enqueued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    batches: AtomicU64,
}

/// The queue's producer side plus the batcher thread. Cheap to share behind an `Arc`.
pub struct LogPipeline {
    tx: Sender<Msg>,
    when_full: WhenFull,
    counters: Arc<Counters>,
    metrics: Arc<Metrics>,
    worker: parking::Worker,
}

mod parking {
    //! Owns the batcher thread handle so shutdown can join it exactly once.
    use std::sync::Mutex;
    use std::thread::JoinHandle;

    pub struct Worker(Mutex<Option<JoinHandle<()>>>);

    impl Worker {
        pub fn new(h: JoinHandle<()>) -> Worker {
            Worker(Mutex::new(Some(h)))
        }
        pub fn take(&self) -> Option<JoinHandle<()>> {
            self.0.lock().ok().and_then(|mut g| g.take())
        }
    }
}

/// Retries for a failing sink before a batch is counted as lost.
const SINK_RETRIES: u32 = 3;

impl LogPipeline {
    /// Starts the batcher thread writing into `sink`.
    pub fn start(
        config: PipelineConfig,
        sink: Box<dyn LogSink>,
        metrics: Arc<Metrics>,
    ) -> LogPipeline {
        let (tx, rx) = bounded(config.capacity.max(1));
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let max_batch = config.max_batch.max(1);
        let handle: JoinHandle<()> = std::thread::Builder::new()
            .name("log-pipeline".into())
            .spawn(move || run_batcher(rx, sink, max_batch, c))
            .unwrap_or_else(|e| panic!("cannot spawn the log-pipeline thread: {e}"));
        LogPipeline {
            tx,
            when_full: config.when_full,
            counters,
            metrics,
            worker: parking::Worker::new(handle),
        }
    }

    /// Enqueues one entry according to the [`WhenFull`] policy. Never blocks under
    /// `DropNewest`.
    #[inline]
    pub fn push(&self, record: LogRecord) {
        let result = match self.when_full {
            WhenFull::DropNewest => self.tx.try_send(Msg::Record(record)),
            WhenFull::Block => self
                .tx
                .send(Msg::Record(record))
                .map_err(|e| TrySendError::Disconnected(e.0)),
        };
        match result {
            Ok(()) => {
                self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                self.metrics.add(
                    MetricName::NumLogEventsFailedToPublishThrottled,
                    Dimension::None,
                    1,
                );
            }
        }
    }

    /// Blocks until every entry enqueued before this call has been handed to the sink.
    pub fn flush(&self) {
        let (done_tx, done_rx) = bounded(1);
        if self.tx.send(Msg::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(30));
        }
    }

    /// Writes everything queued, then stops the batcher thread (idempotent). Entries pushed
    /// afterwards stay unwritten.
    pub fn shutdown(&self) {
        if let Some(h) = self.worker.take() {
            let _ = self.tx.send(Msg::Stop);
            let _ = h.join();
        }
    }

    /// Current counters.
    pub fn stats(&self) -> PipelineStats {
        let c = &self.counters;
        PipelineStats {
            enqueued: c.enqueued.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
        }
    }

    /// Entries waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }
}

fn run_batcher(rx: Receiver<Msg>, mut sink: Box<dyn LogSink>, max_batch: usize, c: Arc<Counters>) {
    let mut batch: Vec<LogRecord> = Vec::with_capacity(max_batch.min(1024));
    let mut flushes: Vec<Sender<()>> = Vec::new();
    let mut stop = false;
    while !stop {
        let Ok(first) = rx.recv() else { break };
        stop = take(first, &mut batch, &mut flushes);
        while !stop && batch.len() < max_batch {
            match rx.try_recv() {
                Ok(msg) => stop = take(msg, &mut batch, &mut flushes),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            write_with_retry(sink.as_mut(), &batch, &c);
            batch.clear();
        }
        for f in flushes.drain(..) {
            let _ = f.send(());
        }
    }
}

/// Sorts one message into the batch; `true` means stop after this batch.
fn take(msg: Msg, batch: &mut Vec<LogRecord>, flushes: &mut Vec<Sender<()>>) -> bool {
    match msg {
        Msg::Record(r) => batch.push(r),
        Msg::Flush(done) => flushes.push(done),
        Msg::Stop => return true,
    }
    false
}

fn write_with_retry(sink: &mut dyn LogSink, batch: &[LogRecord], c: &Counters) {
    let n = batch.len() as u64;
    for attempt in 0..=SINK_RETRIES {
        match sink.write_batch(batch) {
            Ok(()) => {
                c.written.fetch_add(n, Ordering::Relaxed);
                c.batches.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, events = n, "log-pipeline sink write failed");
                std::thread::sleep(Duration::from_millis(10 << attempt));
            }
        }
    }
    c.failed.fetch_add(n, Ordering::Relaxed);
    tracing::error!(events = n, "log-pipeline dropped a batch after retries");
}

/// A sink that keeps every record in memory: for tests and embedding.
#[derive(Clone, Default)]
pub struct MemorySink {
    records: Arc<std::sync::Mutex<Vec<LogRecord>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// A copy of every record written so far, in write order.
    pub fn records(&self) -> Vec<LogRecord> {
        self.records.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Takes and clears the records written so far.
    pub fn take(&self) -> Vec<LogRecord> {
        self.records
            .lock()
            .map(|mut g| std::mem::take(&mut *g))
            .unwrap_or_default()
    }
}

impl LogSink for MemorySink {
    fn write_batch(&mut self, records: &[LogRecord]) -> Result<(), SinkError> {
        let mut g = self
            .records
            .lock()
            .map_err(|_| SinkError("poisoned".into()))?;
        g.extend_from_slice(records);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: usize) -> LogRecord {
        LogRecord {
            log_group: Arc::from("g"),
            log_stream: Arc::from("s"),
            timestamp: i as i64,
            message: format!("m{i}"),
        }
    }

    struct SlowSink(std::sync::mpsc::Receiver<()>, MemorySink);
    impl LogSink for SlowSink {
        fn write_batch(&mut self, records: &[LogRecord]) -> Result<(), SinkError> {
            let _ = self.0.recv();
            self.1.write_batch(records)
        }
    }

    #[test]
    fn everything_enqueued_is_written_in_order() {
        let sink = MemorySink::new();
        let metrics = Arc::new(Metrics::new());
        let p = LogPipeline::start(PipelineConfig::default(), Box::new(sink.clone()), metrics);
        for i in 0..10_000 {
            p.push(rec(i));
        }
        p.flush();
        let got = sink.records();
        assert_eq!(got.len(), 10_000);
        assert!(got.iter().enumerate().all(|(i, r)| r.timestamp == i as i64));
        let s = p.stats();
        assert_eq!((s.enqueued, s.written, s.dropped), (10_000, 10_000, 0));
    }

    #[test]
    fn full_queue_drops_newest_and_counts_the_aws_metric() {
        let (gate_tx, gate_rx) = std::sync::mpsc::channel();
        let sink = MemorySink::new();
        let metrics = Arc::new(Metrics::new());
        let cfg = PipelineConfig {
            capacity: 4,
            max_batch: 1,
            when_full: WhenFull::DropNewest,
        };
        let p = LogPipeline::start(
            cfg,
            Box::new(SlowSink(gate_rx, sink.clone())),
            metrics.clone(),
        );
        // The batcher takes record 0 and blocks in the sink; 4 more fill the queue.
        p.push(rec(0));
        while p.queued() > 0 {
            std::thread::yield_now();
        }
        for i in 1..=4 {
            p.push(rec(i));
        }
        for i in 5..15 {
            p.push(rec(i)); // dropped
        }
        assert_eq!(p.stats().dropped, 10);
        assert_eq!(
            metrics.get(
                MetricName::NumLogEventsFailedToPublishThrottled,
                Dimension::None
            ),
            10
        );
        for _ in 0..5 {
            gate_tx.send(()).unwrap();
        }
        p.flush();
        let ts: Vec<i64> = sink.records().iter().map(|r| r.timestamp).collect();
        assert_eq!(ts, vec![0, 1, 2, 3, 4]);
    }

    struct FailingSink;
    impl LogSink for FailingSink {
        fn write_batch(&mut self, _: &[LogRecord]) -> Result<(), SinkError> {
            Err(SinkError("disk full".into()))
        }
    }

    #[test]
    fn a_failing_sink_loses_batches_visibly() {
        let p = LogPipeline::start(
            PipelineConfig::default(),
            Box::new(FailingSink),
            Arc::new(Metrics::new()),
        );
        p.push(rec(1));
        p.flush();
        let s = p.stats();
        assert_eq!((s.enqueued, s.written, s.failed), (1, 0, 1));
    }
}
