//! Connect mode: `workers` concurrent loops, each repeating CONNECT → CONNACK → DISCONNECT
//! with fresh MQTT 3.1.1 clean-session connections, for warm-up + duration. Measures accepted
//! connections per second and connect latency (TCP connect + CONNECT → CONNACK), with the
//! generator's and the broker's CPU time, into a [`ConnectReport`].
//!
//! Each cycle opens a new TCP connection, waits for the CONNACK ([MQTT-3.2]), writes a
//! DISCONNECT ([MQTT-3.14]) and closes the socket, so the broker pays its whole per-connection
//! cost every cycle: accept, CONNECT handling (including the level gate's resolution of the
//! client's effective log levels), the `Connect` and `Disconnect` log events, and teardown.
//! Client IDs follow [`ConnectConfig::client_id`]; worker `w` uses indices `w, w + workers, …`
//! so no two live connections share an ID.
//!
//! Before warm-up, every worker completes one cycle; if any cannot, the run fails with
//! [`RunError::Setup`] (role `"connector"`) and no report, like the publish modes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{Event, Packet};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::ConnectConfig;
use crate::report::ConnectReport;
use crate::runner::{
    Ready, ReadyWait, RunError, disconnect, measure, mqtt_options, new_client, round3, wait_ready,
};
use crate::stats::LatencySummary;

/// Request channel capacity of a connect-mode client: it only ever carries the DISCONNECT.
const CONNECT_CHANNEL_CAPACITY: usize = 1;

/// Pause after a failed connect attempt before the worker tries again, so a broker that
/// refuses everything is not hammered in a tight loop.
pub const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// Most distinct error messages kept for the report; further failures are only counted.
pub const MAX_REPORTED_ERRORS: usize = 10;

/// State every worker shares.
struct Shared {
    /// True during the measurement window.
    measuring: AtomicBool,
    /// Failed attempts, whole run.
    failed: AtomicU64,
    /// The first [`MAX_REPORTED_ERRORS`] distinct error messages.
    errors: Mutex<Vec<String>>,
}

impl Shared {
    /// Counts one failed attempt and keeps its message.
    fn failure(&self, worker: usize, client_id: &str, reason: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.error(format!("connector {worker} ({client_id}): {reason}"));
    }

    /// Keeps `msg` if it is new and fewer than [`MAX_REPORTED_ERRORS`] are kept.
    fn error(&self, msg: String) {
        if let Ok(mut errors) = self.errors.lock()
            && errors.len() < MAX_REPORTED_ERRORS
            && !errors.contains(&msg)
        {
            errors.push(msg);
        }
    }
}

/// What one worker measured: connect latencies (ns) of the cycles completed in the window.
struct WorkerResult {
    samples: Vec<u64>,
}

/// Runs one connect-mode benchmark as configured.
///
/// Phases: each worker completes one cycle (setup, bounded by
/// [`crate::runner::SETUP_TIMEOUT`]); all workers cycle through warm-up, then the measured
/// window; then they are stopped (a cycle in progress is abandoned).
///
/// Failed attempts during the run do not abort it: they are counted in
/// [`ConnectReport::failed`] and listed (first few) in [`ConnectReport::errors`], which marks
/// the run invalid.
///
/// # Errors
/// [`RunError::Setup`] or [`RunError::SetupTimeout`] if a worker's first cycle fails or does
/// not finish in time; [`RunError::Cpu`] if CPU time cannot be read.
pub async fn run_connect(cfg: &ConnectConfig) -> Result<ConnectReport, RunError> {
    let shared = Arc::new(Shared {
        measuring: AtomicBool::new(false),
        failed: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
    });
    let stop = CancellationToken::new();
    let _stop_guard = stop.clone().drop_guard();
    let mut ready: Vec<ReadyWait> = Vec::with_capacity(cfg.workers);
    let mut tasks = Vec::with_capacity(cfg.workers);
    for worker in 0..cfg.workers {
        let (tx, rx) = oneshot::channel();
        ready.push(("connector", worker, rx));
        tasks.push(tokio::spawn(connect_loop(
            worker,
            cfg.clone(),
            shared.clone(),
            stop.clone(),
            tx,
        )));
    }
    wait_ready(ready).await?;

    tokio::time::sleep(cfg.warmup).await;
    let mut report = ConnectReport::new(cfg);
    let window = measure(
        cfg.duration,
        cfg.broker_pid,
        &shared.measuring,
        &mut report.errors,
    )
    .await?;
    stop.cancel();

    let mut samples = Vec::new();
    for t in tasks {
        match t.await {
            Ok(mut r) => samples.append(&mut r.samples),
            Err(e) => shared.error(format!("connector task: {e}")),
        }
    }
    let wall_s = window.wall.as_secs_f64().max(f64::MIN_POSITIVE);
    report.wall_s = round3(wall_s);
    report.connects = samples.len() as u64;
    report.connects_per_s = (report.connects as f64 / wall_s).round();
    report.failed = shared.failed.load(Ordering::Acquire);
    report.latency = LatencySummary::from_nanos(&mut samples);
    let connects = report.connects;
    let per_connect =
        |cpu_s: f64| (connects > 0).then(|| (cpu_s * 1e7 / connects as f64).round() / 10.0);
    let gen_cpu = window.generator_cpu.as_secs_f64();
    report.generator_cpu_s = round3(gen_cpu);
    report.generator_cpu_cores = round3(gen_cpu / wall_s);
    report.generator_cpu_us_per_connect = per_connect(gen_cpu);
    if let Some(b) = window.broker_cpu.map(|b| b.as_secs_f64()) {
        report.broker_cpu_s = Some(round3(b));
        report.broker_cpu_cores = Some(round3(b / wall_s));
        report.broker_cpu_us_per_connect = per_connect(b);
    }
    if let Ok(mut errors) = shared.errors.lock() {
        report.errors.append(&mut errors);
    }
    Ok(report)
}

/// One worker: cycles through its client IDs until stopped. Its first cycle is the setup
/// check, reported through `ready`.
async fn connect_loop(
    worker: usize,
    cfg: ConnectConfig,
    shared: Arc<Shared>,
    stop: CancellationToken,
    ready: Ready,
) -> WorkerResult {
    let mut ready = Some(ready);
    let mut samples = Vec::new();
    let mut index = worker;
    loop {
        let client_id = cfg.client_id(index);
        index += cfg.workers;
        if index >= cfg.clients {
            index = worker;
        }
        let outcome = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            outcome = cycle(&cfg, client_id.clone()) => outcome,
        };
        match outcome {
            Ok(latency) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                } else if shared.measuring.load(Ordering::Acquire) {
                    samples.push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
                }
            }
            Err(reason) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(reason));
                    break;
                }
                shared.failure(worker, &client_id, &reason);
                tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                }
            }
        }
    }
    WorkerResult { samples }
}

/// One CONNECT → CONNACK → DISCONNECT cycle on a new connection. Returns the connect latency
/// (from the start of the TCP connect until the CONNACK is read), or why it failed (connection
/// error, refused CONNACK, rumqttc's connection timeout).
async fn cycle(cfg: &ConnectConfig, client_id: String) -> Result<Duration, String> {
    let (client, mut eventloop) = new_client(
        mqtt_options(&cfg.host, cfg.port, client_id),
        CONNECT_CHANNEL_CAPACITY,
    );
    let t0 = Instant::now();
    let latency = loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => break t0.elapsed(),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    };
    // Writes and flushes the DISCONNECT; dropping the event loop then closes the socket.
    disconnect(&client, &mut eventloop).await;
    Ok(latency)
}
