//! The run itself: connect N subscribers, then N publishers, publish for warm-up + duration,
//! count what the subscribers receive, drain, disconnect, and fill in a [`RunReport`].
//!
//! # Flow control (what the throughput number means)
//!
//! Every *link* (a publisher/subscriber pair messages flow along: `cfg.pairs` of them in every
//! [`Scenario`]) has an end-to-end window of `cfg.window` messages: a publisher only hands
//! message `k` to its MQTT client once every subscriber it feeds has received message
//! `k - window` (one subscriber in one-to-one and fan-in, all N in fan-out). So at most
//! `pairs × window` messages are anywhere between the publishers and the subscribers (client queues, sockets, broker queues) at any time, for QoS 0 and QoS 1
//! alike. The throughput number is therefore the broker's *sustainable* delivery rate with that
//! much work in flight, never a rate at which the broker merely buffers or silently drops. On top
//! of that, each client's request channel is small and its event loop writes to the socket
//! before taking the next request, so a publisher can never queue unboundedly in the client.
//!
//! If a window stays shut for [`STALL_TIMEOUT`] with no delivery at all (the broker dropped QoS 0
//! messages, which MQTT allows), the publisher writes its outstanding messages off, counts a
//! stall and carries on; lost messages are reported, never hidden.
//!
//! # Latency
//!
//! Each payload carries its send time (see [`crate::payload`]), taken just before the message
//! is handed to the client; the subscriber subtracts it from its receive time. Both clocks are
//! the same monotonic clock in this process. Samples are kept only for messages received inside
//! the measurement window.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, SubscribeReasonCode};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::config::{BenchConfig, KEEP_ALIVE_SECS, Mode, Scenario};
use crate::cpu::{self, CpuError};
use crate::payload::{self, Header};
use crate::report::RunReport;
use crate::stats::LatencySummary;

/// How long a publisher waits for its window to open, with no delivery at all, before writing
/// the outstanding messages off as lost.
pub const STALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Longest wait for all clients to connect (and subscribers to get their SUBACK).
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait after publishing stops for in-flight messages to arrive.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest wait for one client's DISCONNECT to be written at the end of the run.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Capacity of each client's request channel (rumqttc `AsyncClient::new`): small, so a
/// publisher blocks on its own event loop rather than queueing in memory.
const REQUEST_CHANNEL_CAPACITY: usize = 16;

/// Slack added to the payload size for the PUBLISH fixed header, topic and packet id when
/// setting the client's maximum packet size.
const PACKET_OVERHEAD_BYTES: usize = 1024;

/// How long a publish in progress when the publishers are stopped may still take to be handed
/// to the client (and then be counted as sent).
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// Why a run could not produce a report at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A client could not connect, or a subscription was refused.
    #[error("{role} {index} failed during setup: {reason}")]
    Setup {
        /// `"subscriber"`, `"publisher"` or (connect mode) `"connector"`.
        role: &'static str,
        /// Pair index, or the connect worker's index.
        index: usize,
        /// What went wrong (connection error or SUBACK failure).
        reason: String,
    },
    /// Not every client was ready within [`SETUP_TIMEOUT`].
    #[error("clients were not all connected within {0:?}")]
    SetupTimeout(Duration),
    /// The generator's own CPU time could not be read.
    #[error(transparent)]
    Cpu(#[from] CpuError),
}

/// State one link (publisher/subscriber pair) shares. Counts are per link: a fan-out publish
/// counts as sent once on each of its N links.
struct Pair {
    /// Messages the subscriber received (whole run).
    received: AtomicU64,
    /// Messages the publisher handed to its client (whole run).
    sent: AtomicU64,
    /// Messages the subscriber received while `Shared::measuring` was set.
    received_in_window: AtomicU64,
    /// Messages the publisher handed to its client while `Shared::measuring` was set.
    sent_in_window: AtomicU64,
    /// `received` count at which the waiting publisher wants waking (`u64::MAX`: nobody
    /// waiting). The publisher asks to be woken when half its window has drained, so a full
    /// window costs one wake-up per `window / 2` deliveries rather than one per delivery.
    wake_at: AtomicU64,
    /// Signalled by the subscriber when `received` reaches `wake_at`.
    delivered: Notify,
}

impl Default for Pair {
    fn default() -> Self {
        Pair {
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received_in_window: AtomicU64::new(0),
            sent_in_window: AtomicU64::new(0),
            wake_at: AtomicU64::new(u64::MAX),
            delivered: Notify::new(),
        }
    }
}

/// State every task shares.
struct Shared {
    /// Zero point of payload timestamps.
    epoch: Instant,
    /// True during the measurement window: subscribers keep latency samples.
    measuring: AtomicBool,
    out_of_order: AtomicU64,
    malformed: AtomicU64,
    stalls: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn error(&self, msg: String) {
        if let Ok(mut errors) = self.errors.lock() {
            errors.push(msg);
        }
    }
}

/// Runs one benchmark as configured and reports what was measured.
///
/// Phases: connect and subscribe the scenario's subscribers (N, or 1 for fan-in); connect its
/// publishers (N, or 1 for fan-out); publish for warm-up,
/// then measure for the configured duration; stop publishing; drain for at most
/// [`DRAIN_TIMEOUT`]; disconnect everything.
///
/// Errors during the run (a connection dropped, a publish refused) do not abort it: they are
/// listed in [`RunReport::errors`], which marks the run invalid.
///
/// # Errors
/// [`RunError`] if the clients cannot be set up or CPU time cannot be read.
pub async fn run(cfg: &BenchConfig) -> Result<RunReport, RunError> {
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        measuring: AtomicBool::new(false),
        out_of_order: AtomicU64::new(0),
        malformed: AtomicU64::new(0),
        stalls: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
    });
    let run_id = run_id();
    let pairs: Vec<Arc<Pair>> = (0..cfg.pairs).map(|_| Arc::default()).collect();
    let stop_all = CancellationToken::new();
    let stop_publishing = stop_all.child_token();
    // Dropping the guard (including on an early error return) stops every task.
    let _stop_guard = stop_all.clone().drop_guard();

    // Subscribers first, so no message is published before its subscription exists.
    let subscribers = start_subscribers(cfg, &run_id, &shared, &pairs, &stop_all).await?;
    let (drivers, clients) = start_publishers(cfg, &run_id, &shared, &stop_all).await?;
    let start = tokio::time::Instant::now();
    let publishers: Vec<JoinHandle<()>> = clients
        .into_iter()
        .enumerate()
        .map(|(index, client)| {
            let links = match cfg.scenario {
                Scenario::OneToOne | Scenario::FanIn => vec![pairs[index].clone()],
                Scenario::FanOut => pairs.clone(),
            };
            let ctx = PublisherCtx {
                index,
                topic: topic(&run_id, index),
                cfg: cfg.clone(),
                shared: shared.clone(),
                links,
                stop: stop_publishing.clone(),
                start,
            };
            tokio::spawn(publish_loop(ctx, client))
        })
        .collect();

    tokio::time::sleep(cfg.warmup).await;
    let mut report = RunReport::new(cfg);
    let window = measure(
        cfg.duration,
        cfg.broker_pid,
        &shared.measuring,
        &mut report.errors,
    )
    .await?;

    // Stop publishing, let what is in flight arrive, then stop everything.
    stop_publishing.cancel();
    for p in publishers {
        if let Err(e) = p.await {
            shared.error(format!("publisher task: {e}"));
        }
    }
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while totals(&pairs).1 < totals(&pairs).0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_all.cancel();
    let mut samples = Vec::new();
    for s in subscribers {
        match s.await {
            Ok(mut v) => samples.append(&mut v),
            Err(e) => shared.error(format!("subscriber task: {e}")),
        }
    }
    for d in drivers {
        if let Err(e) = d.await {
            shared.error(format!("publisher driver task: {e}"));
        }
    }
    fill_report(&mut report, &window, &shared, &pairs, &mut samples);
    Ok(report)
}

/// What [`measure`] observed: wall time and CPU times over the measurement window.
pub(crate) struct Window {
    /// Wall time of the window.
    pub(crate) wall: Duration,
    /// Generator user+system CPU during the window.
    pub(crate) generator_cpu: Duration,
    /// Broker CPU during the window, when its PID is known and `/proc` could be read.
    pub(crate) broker_cpu: Option<Duration>,
}

/// The measurement window: sets `measuring` for `duration` and reads wall and CPU clocks at
/// both ends (the broker's too when `broker_pid` is given). A failure to read the broker's CPU
/// is pushed onto `errors`.
pub(crate) async fn measure(
    duration: Duration,
    broker_pid: Option<u32>,
    measuring: &AtomicBool,
    errors: &mut Vec<String>,
) -> Result<Window, RunError> {
    let broker_cpu = |errors: &mut Vec<String>| -> Option<Duration> {
        let pid = broker_pid?;
        cpu::process_cpu_time(pid)
            .map_err(|e| errors.push(format!("broker CPU: {e}")))
            .ok()
    };
    let cpu0 = cpu::self_cpu_time()?;
    let broker0 = broker_cpu(errors);
    measuring.store(true, Ordering::Release);
    let t0 = Instant::now();

    tokio::time::sleep(duration).await;

    let wall = t0.elapsed();
    measuring.store(false, Ordering::Release);
    let cpu1 = cpu::self_cpu_time()?;
    let broker1 = broker_cpu(errors);
    Ok(Window {
        wall,
        generator_cpu: cpu1.saturating_sub(cpu0),
        broker_cpu: broker0.zip(broker1).map(|(b0, b1)| b1.saturating_sub(b0)),
    })
}

/// Fills the measured fields of `report` once every task has finished.
fn fill_report(
    report: &mut RunReport,
    window: &Window,
    shared: &Shared,
    pairs: &[Arc<Pair>],
    samples: &mut [u64],
) {
    let wall_s = window.wall.as_secs_f64().max(f64::MIN_POSITIVE);
    let sum = |f: fn(&Pair) -> &AtomicU64| -> u64 {
        pairs.iter().map(|p| f(p).load(Ordering::Acquire)).sum()
    };
    let (sent_all, received_all) = totals(pairs);
    report.wall_s = round3(wall_s);
    report.sent = sum(|p| &p.sent_in_window);
    report.delivered = sum(|p| &p.received_in_window);
    report.sent_per_s = (report.sent as f64 / wall_s).round();
    report.delivered_per_s = (report.delivered as f64 / wall_s).round();
    report.lost = sent_all.saturating_sub(received_all);
    // Links per publish: every subscriber of a fan-out publish, else one.
    let links_per_publish = match report.scenario {
        Scenario::FanOut => pairs.len().max(1) as u64,
        Scenario::OneToOne | Scenario::FanIn => 1,
    };
    report.published_total = sent_all / links_per_publish;
    report.received_total = received_all;
    report.out_of_order = shared.out_of_order.load(Ordering::Acquire);
    report.malformed = shared.malformed.load(Ordering::Acquire);
    report.stalls = shared.stalls.load(Ordering::Acquire);
    report.latency = LatencySummary::from_nanos(samples);
    let delivered = report.delivered;
    let per_msg =
        |cpu_s: f64| (delivered > 0).then(|| (cpu_s * 1e7 / delivered as f64).round() / 10.0);
    let gen_cpu = window.generator_cpu.as_secs_f64();
    report.generator_cpu_s = round3(gen_cpu);
    report.generator_cpu_cores = round3(gen_cpu / wall_s);
    report.generator_cpu_us_per_msg = per_msg(gen_cpu);
    if let Some(b) = window.broker_cpu.map(|b| b.as_secs_f64()) {
        report.broker_cpu_s = Some(round3(b));
        report.broker_cpu_cores = Some(round3(b / wall_s));
        report.broker_cpu_us_per_msg = per_msg(b);
    }
    if let Ok(mut errors) = shared.errors.lock() {
        report.errors.append(&mut errors);
    }
}

/// Spawns the scenario's subscriber tasks and waits until each has its SUBACK. Subscriber `i`
/// feeds link `i` (one-to-one, fan-out: filter `bench/<run>/<i>` or `bench/<run>/0`), or all
/// links (fan-in: filter `bench/<run>/+`).
async fn start_subscribers(
    cfg: &BenchConfig,
    run_id: &str,
    shared: &Arc<Shared>,
    pairs: &[Arc<Pair>],
    stop: &CancellationToken,
) -> Result<Vec<JoinHandle<Vec<u64>>>, RunError> {
    let n = cfg.scenario.subscribers(cfg.pairs);
    let mut tasks = Vec::with_capacity(n);
    let mut ready = Vec::with_capacity(n);
    for index in 0..n {
        let (tx, rx) = oneshot::channel();
        ready.push(("subscriber", index, rx));
        let (filter, links) = match cfg.scenario {
            Scenario::OneToOne => (topic(run_id, index), vec![pairs[index].clone()]),
            Scenario::FanOut => (topic(run_id, 0), vec![pairs[index].clone()]),
            Scenario::FanIn => (format!("bench/{run_id}/+"), pairs.to_vec()),
        };
        let ctx = SubscriberCtx {
            index,
            filter,
            cfg: cfg.clone(),
            shared: shared.clone(),
            links,
            stop: stop.clone(),
        };
        let client = connect(cfg, client_id(cfg, run_id, 's', index));
        tasks.push(tokio::spawn(subscriber(ctx, client, tx)));
    }
    wait_ready(ready).await?;
    Ok(tasks)
}

/// Spawns one event-loop driver per publisher and waits until each is connected; returns the
/// drivers and the clients to publish through.
async fn start_publishers(
    cfg: &BenchConfig,
    run_id: &str,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
) -> Result<(Vec<JoinHandle<()>>, Vec<AsyncClient>), RunError> {
    let n = cfg.scenario.publishers(cfg.pairs);
    let mut drivers = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    let mut ready = Vec::with_capacity(n);
    for index in 0..n {
        let (tx, rx) = oneshot::channel();
        ready.push(("publisher", index, rx));
        let (client, eventloop) = connect(cfg, client_id(cfg, run_id, 'p', index));
        drivers.push(tokio::spawn(drive_publisher(
            index,
            client.clone(),
            eventloop,
            tx,
            shared.clone(),
            stop.clone(),
        )));
        clients.push(client);
    }
    wait_ready(ready).await?;
    Ok((drivers, clients))
}

/// `x` rounded to three decimals (report values in s and cores).
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A short identifier that keeps client ids and topics of concurrent or consecutive runs apart.
pub(crate) fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}{:08x}", std::process::id(), nanos)
}

/// Client ID of the `role` (`p`ublisher or `s`ubscriber) of pair `index`:
/// `<client_prefix><role><index>`, or `twb-<run>-<role><index>` without a fixed prefix.
fn client_id(cfg: &BenchConfig, run_id: &str, role: char, index: usize) -> String {
    match &cfg.client_prefix {
        Some(prefix) => format!("{prefix}{role}{index}"),
        None => format!("twb-{run_id}-{role}{index}"),
    }
}

/// Topic of publisher `index`: `bench/<run>/<index>` (3 levels, well under AWS IoT's limit of
/// 8).
fn topic(run_id: &str, index: usize) -> String {
    format!("bench/{run_id}/{index}")
}

/// `(sent, received)` summed over all pairs.
fn totals(pairs: &[Arc<Pair>]) -> (u64, u64) {
    pairs.iter().fold((0, 0), |(s, r), p| {
        (
            s + p.sent.load(Ordering::Acquire),
            r + p.received.load(Ordering::Acquire),
        )
    })
}

/// An MQTT 3.1.1 client (clean session, TCP_NODELAY) for `client_id`; nothing is sent until its
/// event loop is polled.
fn connect(cfg: &BenchConfig, client_id: String) -> (AsyncClient, EventLoop) {
    let mut opts = mqtt_options(&cfg.host, cfg.port, client_id);
    let max_packet = cfg.payload_bytes + PACKET_OVERHEAD_BYTES;
    opts.set_max_packet_size(max_packet, max_packet);
    // The end-to-end window already bounds QoS 1 publishes in flight; never let rumqttc's own
    // limit be the tighter one. `window >= 1` is guaranteed by validation.
    opts.set_inflight(u16::try_from(cfg.window).unwrap_or(u16::MAX).max(1));
    new_client(opts, REQUEST_CHANNEL_CAPACITY)
}

/// MQTT 3.1.1 options shared by every generator client: clean session ([MQTT-3.1.2.4]) and
/// [`KEEP_ALIVE_SECS`].
pub(crate) fn mqtt_options(host: &str, port: u16, client_id: String) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id, host, port);
    opts.set_keep_alive(Duration::from_secs(KEEP_ALIVE_SECS));
    opts.set_clean_session(true);
    opts
}

/// A client and its event loop for `opts`, with TCP_NODELAY; nothing is sent until the event
/// loop is polled. `capacity` is the request channel's size.
pub(crate) fn new_client(opts: MqttOptions, capacity: usize) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(opts, capacity);
    let mut net = eventloop.network_options();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
    (client, eventloop)
}

/// A client task's one-shot "connected (and subscribed)" signal, or why setup failed.
pub(crate) type Ready = oneshot::Sender<Result<(), String>>;

/// The waiting side of [`Ready`], tagged with the client's role and pair index.
pub(crate) type ReadyWait = (&'static str, usize, oneshot::Receiver<Result<(), String>>);

/// Waits until every client has reported ready, or fails with the first setup error.
pub(crate) async fn wait_ready(ready: Vec<ReadyWait>) -> Result<(), RunError> {
    let all = async {
        for (role, index, rx) in ready {
            match rx.await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    return Err(RunError::Setup {
                        role,
                        index,
                        reason,
                    });
                }
                Err(_) => {
                    return Err(RunError::Setup {
                        role,
                        index,
                        reason: "client task ended before it was ready".into(),
                    });
                }
            }
        }
        Ok(())
    };
    tokio::time::timeout(SETUP_TIMEOUT, all)
        .await
        .map_err(|_| RunError::SetupTimeout(SETUP_TIMEOUT))?
}

/// Sends DISCONNECT and polls the event loop until it is written (or [`DISCONNECT_TIMEOUT`]).
pub(crate) async fn disconnect(client: &AsyncClient, eventloop: &mut EventLoop) {
    if client.try_disconnect().is_err() {
        return;
    }
    let _ = tokio::time::timeout(DISCONNECT_TIMEOUT, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

struct SubscriberCtx {
    index: usize,
    /// Topic filter to subscribe to.
    filter: String,
    cfg: BenchConfig,
    shared: Arc<Shared>,
    /// The links this subscriber ends: one, or (fan-in) one per publisher, indexed by the
    /// publisher index in the topic's last level.
    links: Vec<Arc<Pair>>,
    stop: CancellationToken,
}

impl SubscriberCtx {
    /// The link a PUBLISH on `topic` arrived on: the only one, or (several links) the one named
    /// by the topic's last level; `None` if the topic names no link of ours.
    fn link_of(&self, topic: &str) -> Option<usize> {
        if self.links.len() == 1 {
            return Some(0);
        }
        let last = topic.rsplit('/').next()?;
        last.parse::<usize>().ok().filter(|&i| i < self.links.len())
    }
}

/// One subscriber: connects, subscribes, then counts and timestamps every PUBLISH it receives
/// until stopped. Returns its latency samples (ns) from the measurement window.
async fn subscriber(
    ctx: SubscriberCtx,
    (client, mut eventloop): (AsyncClient, EventLoop),
    ready: Ready,
) -> Vec<u64> {
    let mut ready = Some(ready);
    let mut samples = Vec::new();
    // Highest sequence number seen per link.
    let mut last_seqs: Vec<Option<u64>> = vec![None; ctx.links.len()];
    loop {
        let event = tokio::select! {
            biased;
            () = ctx.stop.cancelled() => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let now = ctx.shared.now_ns();
                let link = ctx.link_of(&publish.topic);
                match (payload::decode(&publish.payload), link) {
                    (Ok(Header { seq, sent_ns }), Some(link))
                        if publish.payload.len() == ctx.cfg.payload_bytes =>
                    {
                        let pair = &ctx.links[link];
                        let last_seq = &mut last_seqs[link];
                        if last_seq.is_some_and(|last| seq <= last) {
                            ctx.shared.out_of_order.fetch_add(1, Ordering::Relaxed);
                        }
                        *last_seq = Some(last_seq.map_or(seq, |last| last.max(seq)));
                        if ctx.shared.measuring.load(Ordering::Acquire) {
                            samples.push(now.saturating_sub(sent_ns));
                            pair.received_in_window.fetch_add(1, Ordering::Relaxed);
                        }
                        // SeqCst here and in the publisher's store-then-load of `wake_at` /
                        // `received`, so at least one side sees the other's write.
                        let received = pair.received.fetch_add(1, Ordering::SeqCst) + 1;
                        if received >= pair.wake_at.load(Ordering::SeqCst) {
                            pair.delivered.notify_one();
                        }
                    }
                    _ => {
                        ctx.shared.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Err(e) = client
                    .subscribe(ctx.filter.clone(), ctx.cfg.qos.to_rumqttc())
                    .await
                {
                    fail(
                        &mut ready,
                        &ctx.shared,
                        "subscriber",
                        ctx.index,
                        e.to_string(),
                    );
                    break;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let granted = ack
                    .return_codes
                    .iter()
                    .all(|c| matches!(c, SubscribeReasonCode::Success(_)));
                if !granted {
                    let reason = format!("SUBACK refused: {:?}", ack.return_codes);
                    fail(&mut ready, &ctx.shared, "subscriber", ctx.index, reason);
                    break;
                }
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                }
            }
            Ok(_) => {}
            Err(e) => {
                fail(
                    &mut ready,
                    &ctx.shared,
                    "subscriber",
                    ctx.index,
                    e.to_string(),
                );
                break;
            }
        }
    }
    disconnect(&client, &mut eventloop).await;
    samples
}

/// Reports a failure: to the setup waiter if the client is not ready yet, else as a run error.
fn fail(ready: &mut Option<Ready>, shared: &Shared, role: &str, index: usize, reason: String) {
    match ready.take() {
        Some(r) => {
            let _ = r.send(Err(reason));
        }
        None => shared.error(format!("{role} {index}: {reason}")),
    }
}

/// Drives one publisher's event loop (connect, write publishes, read PUBACKs) until stopped.
async fn drive_publisher(
    index: usize,
    client: AsyncClient,
    mut eventloop: EventLoop,
    ready: Ready,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut ready = Some(ready);
    loop {
        let event = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                }
            }
            Ok(_) => {}
            Err(e) => {
                fail(&mut ready, &shared, "publisher", index, e.to_string());
                break;
            }
        }
    }
    disconnect(&client, &mut eventloop).await;
}

struct PublisherCtx {
    index: usize,
    topic: String,
    cfg: BenchConfig,
    shared: Arc<Shared>,
    /// The links this publisher feeds: one, or (fan-out) one per subscriber.
    links: Vec<Arc<Pair>>,
    stop: CancellationToken,
    start: tokio::time::Instant,
}

/// One publisher's send loop: paced by the end-to-end window (and, in latency mode, by a
/// fixed-rate ticker) until stopped.
async fn publish_loop(ctx: PublisherCtx, client: AsyncClient) {
    let window = u64::from(ctx.cfg.window);
    let qos = ctx.cfg.qos.to_rumqttc();
    let mut ticker = match ctx.cfg.mode {
        Mode::Throughput => None,
        Mode::Latency { rate_per_s } => {
            // Each publisher sends rate/publishers per second; stagger their phases evenly.
            let publishers = ctx.cfg.scenario.publishers(ctx.cfg.pairs) as f64;
            let period = Duration::from_secs_f64(publishers / f64::from(rate_per_s));
            let offset = period.mul_f64(ctx.index as f64 / publishers);
            let mut t = tokio::time::interval_at(ctx.start + offset, period);
            t.set_missed_tick_behavior(MissedTickBehavior::Burst);
            Some(t)
        }
    };
    let mut seq: u64 = 0;
    let mut written_off: u64 = 0;
    loop {
        if let Some(t) = ticker.as_mut() {
            tokio::select! {
                biased;
                () = ctx.stop.cancelled() => return,
                _ = t.tick() => {}
            }
        }
        // The link we asked to be woken by, if any.
        let mut asked: Option<usize> = None;
        loop {
            // The window is as open as its slowest link's.
            let (lag, received) = slowest(&ctx.links);
            if seq.saturating_sub(received + written_off) < window {
                if let Some(l) = asked {
                    ctx.links[l].wake_at.store(u64::MAX, Ordering::Relaxed);
                }
                break;
            }
            if let Some(prev) = asked.replace(lag)
                && prev != lag
            {
                ctx.links[prev].wake_at.store(u64::MAX, Ordering::Relaxed);
            }
            // Ask the slowest link to wake us once half the window has drained, then re-check
            // so a delivery between the check above and this store cannot be missed (a
            // notification that arrives before we wait is kept as a permit by `Notify`).
            let link = &ctx.links[lag];
            let reopen_at = seq.saturating_sub(written_off).saturating_sub(window / 2);
            link.wake_at.store(reopen_at, Ordering::SeqCst);
            if link.received.load(Ordering::SeqCst) >= reopen_at {
                continue;
            }
            tokio::select! {
                biased;
                () = ctx.stop.cancelled() => return,
                () = link.delivered.notified() => {}
                () = tokio::time::sleep(STALL_TIMEOUT) => {
                    if slowest(&ctx.links).1 == received {
                        written_off = seq - received;
                        ctx.shared.stalls.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        if ctx.stop.is_cancelled() {
            return;
        }
        let body = payload::encode(
            Header {
                seq,
                sent_ns: ctx.shared.now_ns(),
            },
            ctx.cfg.payload_bytes,
        );
        // A publish already waiting for room in the client's request channel may be taken by
        // the event loop at any moment, so on stop it gets STOP_GRACE to finish and be counted
        // rather than being dropped half-sent (which would leave a delivered message uncounted).
        let publish = client.publish_bytes(ctx.topic.clone(), qos, false, body);
        tokio::pin!(publish);
        let sent = tokio::select! {
            r = &mut publish => r,
            () = ctx.stop.cancelled() => match tokio::time::timeout(STOP_GRACE, &mut publish).await {
                Ok(r) => r,
                Err(_) => return,
            },
        };
        if let Err(e) = sent {
            ctx.shared
                .error(format!("publisher {}: publish failed: {e}", ctx.index));
            return;
        }
        seq += 1;
        let measuring = ctx.shared.measuring.load(Ordering::Acquire);
        for link in &ctx.links {
            link.sent.store(seq, Ordering::Release);
            if measuring {
                link.sent_in_window.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Index and `received` count of the link with the fewest deliveries (`(0, 0)` for none).
fn slowest(links: &[Arc<Pair>]) -> (usize, u64) {
    links
        .iter()
        .map(|l| l.received.load(Ordering::Acquire))
        .enumerate()
        .min_by_key(|&(_, r)| r)
        .unwrap_or((0, 0))
}
