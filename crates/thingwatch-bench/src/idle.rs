//! Idle mode: open N MQTT 3.1.1 connections that CONNECT, keep alive and do nothing else, and
//! measure what they cost the broker in resident memory ([`IdleReport::broker_kib_per_connection`]).
//!
//! Each connection is a plain tokio TCP stream with no MQTT client behind it (50,000 rumqttc
//! event loops would cost the generator more than the broker): the CONNECT ([MQTT-3.1]) is
//! encoded and the CONNACK ([MQTT-3.2]) decoded with rumqttc's `mqttbytes` codec, and after that
//! the connection only writes PINGREQ ([MQTT-3.12]) every half keep-alive and reads PINGRESP
//! ([MQTT-3.13]). On loopback every (source IP, destination IP:port) has about 28,000 ephemeral
//! ports, so connections are spread over source addresses `127.0.0.2, 127.0.0.3, …`
//! ([`IdleConfig::source_addrs`]), bound before connecting.
//!
//! Phases: raise this process's open-file limit and check it fits N; settle, read the broker's
//! `VmRSS` (before); open the connections, at most [`IdleConfig::concurrency`] handshakes at a
//! time; settle, read `VmRSS` again (after); hold for [`IdleConfig::hold`], counting
//! connections the broker drops; write DISCONNECT on every connection and close it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, Packet};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, MAX_CLIENT_ID_BYTES};
use crate::mem;
use crate::report::REPORT_SCHEMA;
use crate::runner::round3;
use crate::stats::LatencySummary;

/// Most connections one idle run opens.
pub const MAX_IDLE_CONNECTIONS: usize = 1_000_000;

/// Connections per loopback source address when spreading automatically: below the ~28,000
/// ephemeral ports Linux offers per (source IP, destination) with the default
/// `net.ipv4.ip_local_port_range` of 32768–60999.
pub const CONNECTIONS_PER_SOURCE_ADDR: usize = 20_000;

/// Most loopback source addresses (`127.0.0.2 ..= 127.0.0.254`).
pub const MAX_SOURCE_ADDRS: usize = 253;

/// File descriptors kept free for everything that is not a connection (runtime, stdio, /proc
/// reads) when checking that N connections fit the open-file limit.
pub const SPARE_FDS: u64 = 64;

/// How long one connection may take from TCP connect to CONNACK.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default keep-alive asked for in CONNECT, seconds: inside AWS IoT Core's 30–1200 s range
/// (AWS IoT Core quotas, "Keep-alive"). The connection sends PINGREQ every half of it.
pub const DEFAULT_IDLE_KEEP_ALIVE_SECS: u16 = 60;

/// Smallest keep-alive accepted, seconds (AWS IoT Core's lower bound).
pub const MIN_IDLE_KEEP_ALIVE_SECS: u16 = 30;

/// Most distinct error messages kept for the report.
const MAX_REPORTED_ERRORS: usize = 10;

/// A validated idle-mode configuration; build it with [`IdleConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleConfig {
    /// Broker IPv4 address (idle mode binds source addresses, so no host names).
    pub host: Ipv4Addr,
    /// Broker MQTT port (plain TCP).
    pub port: u16,
    /// Free-form label copied into the report.
    pub label: String,
    /// Connections to open, `1..=MAX_IDLE_CONNECTIONS`.
    pub connections: usize,
    /// Source addresses to bind, round-robin; empty = let the kernel choose (non-loopback
    /// brokers).
    pub source_addrs: Vec<Ipv4Addr>,
    /// Time with every connection open after the "after" RSS reading.
    pub hold: Duration,
    /// Pause before each RSS reading, so the broker finishes what the connects started (log
    /// events written, buffers settled).
    pub settle: Duration,
    /// Keep-alive in CONNECT, seconds.
    pub keep_alive_s: u16,
    /// Most handshakes in progress at once.
    pub concurrency: usize,
    /// Client IDs are `<client_prefix><i>`.
    pub client_prefix: String,
    /// PID of the broker, whose `VmRSS` is read before and after; without it only the
    /// generator's memory is reported.
    pub broker_pid: Option<u32>,
}

/// The unvalidated idle-mode values a user supplied; see [`IdleConfig`] for each field.
#[derive(Debug, Clone, PartialEq)]
pub struct RawIdleConfig {
    /// Broker host: an IPv4 address.
    pub host: String,
    /// Broker MQTT port.
    pub port: u16,
    /// Report label.
    pub label: String,
    /// Connections to open.
    pub connections: usize,
    /// Source addresses to spread over; `None` = automatic (one loopback address per
    /// [`CONNECTIONS_PER_SOURCE_ADDR`] connections if the broker is on loopback, else none).
    pub source_addrs: Option<usize>,
    /// Hold time, seconds.
    pub hold_s: f64,
    /// Settle time before each RSS reading, seconds.
    pub settle_s: f64,
    /// Keep-alive, seconds.
    pub keep_alive_s: u16,
    /// Concurrent handshakes.
    pub concurrency: usize,
    /// Client-ID prefix; `None` = `twi-<run>-`.
    pub client_prefix: Option<String>,
    /// Broker PID, if known.
    pub broker_pid: Option<u32>,
}

impl IdleConfig {
    /// Checks every field of `raw`.
    ///
    /// # Errors
    /// [`ConfigError::Host`] for a host that is not an IPv4 address,
    /// [`ConfigError::Connections`], [`ConfigError::SourceAddrs`] (more than
    /// [`MAX_SOURCE_ADDRS`], or any for a broker off loopback), [`ConfigError::Duration`] /
    /// [`ConfigError::Warmup`] for the hold and settle times, [`ConfigError::KeepAlive`],
    /// [`ConfigError::Workers`] for the concurrency, or a client-prefix error.
    pub fn validate(raw: RawIdleConfig) -> Result<Self, ConfigError> {
        let host: Ipv4Addr = raw
            .host
            .parse()
            .map_err(|_| ConfigError::Host(raw.host.clone()))?;
        if !(1..=MAX_IDLE_CONNECTIONS).contains(&raw.connections) {
            return Err(ConfigError::Connections(raw.connections));
        }
        let wanted = raw.source_addrs.unwrap_or(if host.is_loopback() {
            raw.connections.div_ceil(CONNECTIONS_PER_SOURCE_ADDR)
        } else {
            0
        });
        if wanted > MAX_SOURCE_ADDRS || (wanted > 0 && !host.is_loopback()) {
            return Err(ConfigError::SourceAddrs(wanted));
        }
        let source_addrs = (0..wanted)
            .map(|i| Ipv4Addr::new(127, 0, 0, u8::try_from(i + 2).unwrap_or(u8::MAX)))
            .collect();
        for s in [raw.hold_s, raw.settle_s] {
            if !(s.is_finite() && (0.0..=86_400.0).contains(&s)) {
                return Err(ConfigError::Warmup(s));
            }
        }
        if raw.keep_alive_s < MIN_IDLE_KEEP_ALIVE_SECS {
            return Err(ConfigError::KeepAlive(raw.keep_alive_s));
        }
        if !(1..=crate::config::MAX_CONNECT_WORKERS).contains(&raw.concurrency) {
            return Err(ConfigError::Workers(raw.concurrency));
        }
        let client_prefix = raw
            .client_prefix
            .unwrap_or_else(|| format!("twi-{}-", crate::runner::run_id()));
        let digits = (raw.connections - 1)
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1);
        crate::config::check_client_prefix(&client_prefix, digits)?;
        debug_assert!(client_prefix.len() + digits <= MAX_CLIENT_ID_BYTES);
        Ok(IdleConfig {
            host,
            port: raw.port,
            label: raw.label,
            connections: raw.connections,
            source_addrs,
            hold: Duration::from_secs_f64(raw.hold_s),
            settle: Duration::from_secs_f64(raw.settle_s),
            keep_alive_s: raw.keep_alive_s,
            concurrency: raw.concurrency,
            client_prefix,
            broker_pid: raw.broker_pid,
        })
    }

    /// Source address of connection `i` (round-robin), if any are configured.
    pub fn source_addr(&self, i: usize) -> Option<Ipv4Addr> {
        (!self.source_addrs.is_empty()).then(|| self.source_addrs[i % self.source_addrs.len()])
    }
}

/// Why an idle run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum IdleError {
    /// The open-file limit cannot hold the requested connections.
    #[error(
        "{connections} connections need {needed} open files but the hard limit (ulimit -Hn) is {hard}"
    )]
    FdLimit {
        /// Connections requested.
        connections: usize,
        /// File descriptors needed (connections + [`SPARE_FDS`]).
        needed: u64,
        /// The hard `RLIMIT_NOFILE`.
        hard: u64,
    },
    /// No connection at all could be established (the first error is given).
    #[error("no connection succeeded: {0}")]
    NothingConnected(String),
    /// A memory or limit probe failed.
    #[error(transparent)]
    Mem(#[from] mem::MemError),
}

/// What one idle run measured. Memory in KiB (1,024 bytes), as `/proc/<pid>/status` gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdleReport {
    /// Always `"thingwatch-bench"`.
    pub tool: &'static str,
    /// [`REPORT_SCHEMA`].
    pub schema: u32,
    /// The `--label` given on the command line.
    pub label: String,
    /// Always `"idle"`.
    pub mode: &'static str,
    /// Broker address, `host:port`.
    pub broker: String,
    /// Connections requested (N).
    pub connections: usize,
    /// Connections whose CONNACK accepted them.
    pub connected: usize,
    /// Connections that failed (refused, reset, CONNACK refused, or no CONNACK within
    /// [`HANDSHAKE_TIMEOUT`], e.g. a broker's connection cap).
    pub failed: usize,
    /// Connected connections the broker closed before the end of the hold.
    pub dropped: u64,
    /// Loopback source addresses used.
    pub source_addrs: usize,
    /// Keep-alive in CONNECT, seconds.
    pub keep_alive_s: u16,
    /// Wall time from the first TCP connect to the last CONNACK (or failure), seconds.
    pub connect_wall_s: f64,
    /// `connected / connect_wall_s`.
    pub connects_per_s: f64,
    /// TCP connect → CONNACK time of the accepted connections, µs; `null` if none.
    pub connect_latency: Option<LatencySummary>,
    /// Settle time before each RSS reading, seconds.
    pub settle_s: f64,
    /// Time held with every connection open after the "after" reading, seconds.
    pub hold_s: f64,
    /// Broker `VmRSS` before the first connect, KiB; `null` without `--broker-pid`.
    pub broker_rss_before_kib: Option<u64>,
    /// Broker `VmRSS` with every connection open and settled, KiB.
    pub broker_rss_after_kib: Option<u64>,
    /// `(after − before) / connected`, KiB per idle connection: the headline.
    pub broker_kib_per_connection: Option<f64>,
    /// Broker CPU time spent accepting the connections, seconds (`/proc/<pid>/stat`).
    pub broker_cpu_connect_s: Option<f64>,
    /// Generator `VmRSS` before connecting, KiB.
    pub generator_rss_before_kib: u64,
    /// Generator `VmRSS` with every connection open, KiB.
    pub generator_rss_after_kib: u64,
    /// `(after − before) / connected` for the generator, KiB per connection.
    pub generator_kib_per_connection: Option<f64>,
    /// Cores available to this process.
    pub host_cores: usize,
    /// The first few distinct errors (failed connects, probes).
    pub errors: Vec<String>,
}

impl IdleReport {
    /// True when every connection was accepted and kept, and no error was recorded.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
            && self.failed == 0
            && self.dropped == 0
            && self.connected == self.connections
    }

    /// The report as one line of JSON.
    ///
    /// # Errors
    /// Only if serialisation fails, which the field types rule out.
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// One human-readable summary line.
    pub fn human_line(&self) -> String {
        let kib = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.2} KiB"));
        let problems = if self.is_clean() {
            String::new()
        } else {
            format!(
                " | PROBLEMS: failed {}, dropped {}, errors {:?}",
                self.failed, self.dropped, self.errors
            )
        };
        format!(
            "[{}] idle {}/{} connected from {} source addrs in {:.1} s ({:.0}/s) | broker RSS {} -> {} KiB = {} per connection | generator {} per connection{}",
            self.label,
            self.connected,
            self.connections,
            self.source_addrs.max(1),
            self.connect_wall_s,
            self.connects_per_s,
            self.broker_rss_before_kib
                .map_or("n/a".into(), |k| k.to_string()),
            self.broker_rss_after_kib
                .map_or("n/a".into(), |k| k.to_string()),
            kib(self.broker_kib_per_connection),
            kib(self.generator_kib_per_connection),
            problems
        )
    }
}

/// Counters every connection task shares.
struct Shared {
    dropped: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, msg: String) {
        if let Ok(mut errors) = self.errors.lock()
            && errors.len() < MAX_REPORTED_ERRORS
            && !errors.contains(&msg)
        {
            errors.push(msg);
        }
    }
}

/// Runs one idle-connection measurement as configured (see the module docs for the phases).
///
/// Failed connects do not abort the run: they are counted in [`IdleReport::failed`] with the
/// first few reasons in [`IdleReport::errors`].
///
/// # Errors
/// [`IdleError::FdLimit`] if the open-file limit cannot hold N connections,
/// [`IdleError::NothingConnected`] if not one connection succeeded, [`IdleError::Mem`] if the
/// generator's own memory cannot be read.
pub async fn run_idle(cfg: &IdleConfig) -> Result<IdleReport, IdleError> {
    let (_, hard) = mem::raise_nofile_limit()?;
    let needed = cfg.connections as u64 + SPARE_FDS;
    if needed > hard {
        return Err(IdleError::FdLimit {
            connections: cfg.connections,
            needed,
            hard,
        });
    }
    let shared = Arc::new(Shared {
        dropped: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
    });
    let broker_rss = |shared: &Shared| {
        let pid = cfg.broker_pid?;
        mem::process_rss_kib(pid)
            .map_err(|e| shared.error(format!("broker RSS: {e}")))
            .ok()
    };
    let broker_cpu = |shared: &Shared| {
        let pid = cfg.broker_pid?;
        crate::cpu::process_cpu_time(pid)
            .map_err(|e| shared.error(format!("broker CPU: {e}")))
            .ok()
    };

    tokio::time::sleep(cfg.settle).await;
    let broker_before = broker_rss(&shared);
    let gen_before = mem::self_rss_kib()?;
    let cpu_before = broker_cpu(&shared);

    let stop = CancellationToken::new();
    let _stop_guard = stop.clone().drop_guard();
    let permits = Arc::new(Semaphore::new(cfg.concurrency));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(cfg.connections);
    for i in 0..cfg.connections {
        let ctx = ConnCtx {
            index: i,
            broker: SocketAddr::new(IpAddr::V4(cfg.host), cfg.port),
            source: cfg.source_addr(i),
            client_id: format!("{}{i}", cfg.client_prefix),
            keep_alive_s: cfg.keep_alive_s,
        };
        tasks.push(tokio::spawn(connection(
            ctx,
            permits.clone(),
            done_tx.clone(),
            shared.clone(),
            stop.clone(),
        )));
    }
    drop(done_tx);
    let mut samples = Vec::with_capacity(cfg.connections);
    let mut failed = 0usize;
    let mut first_error = None;
    while let Some(outcome) = done_rx.recv().await {
        match outcome {
            Ok(latency) => samples.push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX)),
            Err(reason) => {
                failed += 1;
                first_error.get_or_insert_with(|| reason.clone());
                shared.error(reason);
            }
        }
        if samples.len() + failed == cfg.connections {
            break;
        }
    }
    let connect_wall = t0.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    let connected = samples.len();
    if connected == 0 {
        return Err(IdleError::NothingConnected(
            first_error.unwrap_or_else(|| "no outcome".into()),
        ));
    }
    let cpu_after = broker_cpu(&shared);
    tokio::time::sleep(cfg.settle).await;
    let broker_after = broker_rss(&shared);
    let gen_after = mem::self_rss_kib()?;
    tokio::time::sleep(cfg.hold).await;
    stop.cancel();
    for t in tasks {
        if let Err(e) = t.await {
            shared.error(format!("connection task: {e}"));
        }
    }

    let per_conn = |before: u64, after: u64| {
        let delta = after as f64 - before as f64;
        (delta * 100.0 / connected as f64).round() / 100.0
    };
    let mut errors = shared.errors.lock().map(|e| e.clone()).unwrap_or_default();
    errors.truncate(MAX_REPORTED_ERRORS);
    Ok(IdleReport {
        tool: "thingwatch-bench",
        schema: REPORT_SCHEMA,
        label: cfg.label.clone(),
        mode: "idle",
        broker: format!("{}:{}", cfg.host, cfg.port),
        connections: cfg.connections,
        connected,
        failed,
        dropped: shared.dropped.load(Ordering::Acquire),
        source_addrs: cfg.source_addrs.len(),
        keep_alive_s: cfg.keep_alive_s,
        connect_wall_s: round3(connect_wall),
        connects_per_s: (connected as f64 / connect_wall).round(),
        connect_latency: LatencySummary::from_nanos(&mut samples),
        settle_s: cfg.settle.as_secs_f64(),
        hold_s: cfg.hold.as_secs_f64(),
        broker_rss_before_kib: broker_before,
        broker_rss_after_kib: broker_after,
        broker_kib_per_connection: broker_before.zip(broker_after).map(|(b, a)| per_conn(b, a)),
        broker_cpu_connect_s: cpu_before
            .zip(cpu_after)
            .map(|(b, a)| round3(a.saturating_sub(b).as_secs_f64())),
        generator_rss_before_kib: gen_before,
        generator_rss_after_kib: gen_after,
        generator_kib_per_connection: Some(per_conn(gen_before, gen_after)),
        host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        errors,
    })
}

/// What one connection task needs.
struct ConnCtx {
    index: usize,
    broker: SocketAddr,
    source: Option<Ipv4Addr>,
    client_id: String,
    keep_alive_s: u16,
}

/// One connection: handshake (holding a permit), report the outcome, then keep alive until
/// stopped.
async fn connection(
    ctx: ConnCtx,
    permits: Arc<Semaphore>,
    done: tokio::sync::mpsc::UnboundedSender<Result<Duration, String>>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let handshake = {
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        let t0 = Instant::now();
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&ctx)).await {
            Ok(Ok(stream)) => Ok((stream, t0.elapsed())),
            Ok(Err(e)) => Err(format!("connection {} ({}): {e}", ctx.index, ctx.client_id)),
            Err(_) => Err(format!(
                "connection {}: no CONNACK within {HANDSHAKE_TIMEOUT:?} (broker connection cap?)",
                ctx.index
            )),
        }
    };
    let mut stream = match handshake {
        Ok((stream, latency)) => {
            let _ = done.send(Ok(latency));
            stream
        }
        Err(reason) => {
            let _ = done.send(Err(reason));
            return;
        }
    };
    drop(done);
    if let Err(reason) = keep_alive(&mut stream, &ctx, &stop).await {
        shared.dropped.fetch_add(1, Ordering::Relaxed);
        shared.error(format!("connection {}: {reason}", ctx.index));
    }
}

/// Sets Linux's `IP_BIND_ADDRESS_NO_PORT` (ip(7)) on `socket`, so binding a source address
/// defers the port choice to `connect`, which then only needs the 4-tuple to be unique: without
/// it every bind reserves a port on that address outright, and earlier rounds' `TIME_WAIT`
/// sockets on the same address make port searches slow or fail. Best effort: a kernel without the
/// option still works, only with fewer usable ports.
#[cfg(target_os = "linux")]
fn bind_address_no_port(socket: &TcpSocket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: the fd is a valid socket owned by `socket`; `one` outlives the call and its size is
    // passed.
    let _ = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn bind_address_no_port(_socket: &TcpSocket) {}

/// TCP connect from the configured source address, CONNECT (clean session), CONNACK.
async fn handshake(ctx: &ConnCtx) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if let Some(src) = ctx.source {
        bind_address_no_port(&socket);
        socket
            .bind(SocketAddr::new(IpAddr::V4(src), 0))
            .map_err(|e| format!("bind {src}: {e}"))?;
    }
    let mut stream = socket
        .connect(ctx.broker)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut connect = Connect::new(ctx.client_id.as_str());
    connect.keep_alive = ctx.keep_alive_s;
    connect.clean_session = true;
    let mut buf = BytesMut::with_capacity(64);
    connect
        .write(&mut buf)
        .map_err(|e| format!("encoding CONNECT: {e:?}"))?;
    stream
        .write_all(&buf)
        .await
        .map_err(|e| format!("writing CONNECT: {e}"))?;
    buf.clear();
    loop {
        match Packet::read(&mut buf, 16) {
            Ok(Packet::ConnAck(ConnAck { code, .. })) => {
                return if code == ConnectReturnCode::Success {
                    Ok(stream)
                } else {
                    Err(format!("CONNACK refused: {code:?}"))
                };
            }
            Ok(other) => return Err(format!("expected CONNACK, got {other:?}")),
            Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(e) => return Err(format!("decoding CONNACK: {e:?}")),
        }
        let mut chunk = [0u8; 16];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("reading CONNACK: {e}"))?;
        if n == 0 {
            return Err("closed before CONNACK".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// PINGREQ every half keep-alive, PINGRESP checked; DISCONNECT when stopped. Returns why the
/// connection ended early.
async fn keep_alive(
    stream: &mut TcpStream,
    ctx: &ConnCtx,
    stop: &CancellationToken,
) -> Result<(), String> {
    /// PINGREQ, [MQTT-3.12]: fixed header only.
    const PINGREQ: [u8; 2] = [0xC0, 0x00];
    /// PINGRESP, [MQTT-3.13].
    const PINGRESP: [u8; 2] = [0xD0, 0x00];
    /// DISCONNECT, [MQTT-3.14].
    const DISCONNECT: [u8; 2] = [0xE0, 0x00];
    let period = Duration::from_secs(u64::from(ctx.keep_alive_s) / 2);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut pending = [0u8; 2];
    let mut filled = 0usize;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => {
                let _ = stream.write_all(&DISCONNECT).await;
                return Ok(());
            }
            _ = ticker.tick() => {
                stream.write_all(&PINGREQ).await.map_err(|e| format!("writing PINGREQ: {e}"))?;
            }
            read = stream.read(&mut pending[filled..]) => {
                let n = read.map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Err("closed by the broker".into());
                }
                filled += n;
                if filled == 2 {
                    if pending != PINGRESP {
                        return Err(format!("unexpected packet {pending:02x?} while idle"));
                    }
                    filled = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(host: &str, connections: usize) -> RawIdleConfig {
        RawIdleConfig {
            host: host.into(),
            port: 1883,
            label: "t".into(),
            connections,
            source_addrs: None,
            hold_s: 0.0,
            settle_s: 0.0,
            keep_alive_s: 60,
            concurrency: 100,
            client_prefix: Some("idle-".into()),
            broker_pid: None,
        }
    }

    #[test]
    fn source_addresses_spread_by_count() {
        type Case = (
            &'static str,
            usize,
            Option<usize>,
            Result<Vec<Ipv4Addr>, ConfigError>,
        );
        let table: [Case; 6] = [
            ("127.0.0.1", 1, None, Ok(vec![Ipv4Addr::new(127, 0, 0, 2)])),
            (
                "127.0.0.1",
                50_000,
                None,
                Ok((2..=4).map(|d| Ipv4Addr::new(127, 0, 0, d)).collect()),
            ),
            ("10.0.0.1", 50_000, None, Ok(vec![])),
            ("10.0.0.1", 5, Some(1), Err(ConfigError::SourceAddrs(1))),
            (
                "127.0.0.1",
                5,
                Some(254),
                Err(ConfigError::SourceAddrs(254)),
            ),
            (
                "localhost",
                5,
                None,
                Err(ConfigError::Host("localhost".into())),
            ),
        ];
        for (host, n, addrs, want) in table {
            let mut r = raw(host, n);
            r.source_addrs = addrs;
            let got = IdleConfig::validate(r).map(|c| c.source_addrs);
            assert_eq!(got, want, "{host} {n} {addrs:?}");
        }
    }

    #[test]
    fn round_robin_source() {
        let cfg = IdleConfig::validate(RawIdleConfig {
            source_addrs: Some(3),
            ..raw("127.0.0.1", 10)
        })
        .expect("valid");
        let got: Vec<u8> = (0..5)
            .filter_map(|i| cfg.source_addr(i))
            .map(|a| a.octets()[3])
            .collect();
        assert_eq!(got, vec![2, 3, 4, 2, 3]);
    }

    #[test]
    fn limits_rejected() {
        let mut r = raw("127.0.0.1", 0);
        assert_eq!(
            IdleConfig::validate(r.clone()),
            Err(ConfigError::Connections(0))
        );
        r.connections = 10;
        r.keep_alive_s = 29;
        assert_eq!(
            IdleConfig::validate(r.clone()),
            Err(ConfigError::KeepAlive(29))
        );
        r.keep_alive_s = 30;
        r.client_prefix = Some("bad prefix".into());
        assert!(matches!(
            IdleConfig::validate(r),
            Err(ConfigError::ClientPrefixChars(_))
        ));
    }
}
