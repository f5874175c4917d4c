//! One client connection (mini-redis `Handler` style): read the CONNECT, then select between
//! the next packet, queued deliveries, a takeover kick, the keep-alive deadline and server
//! shutdown; on exit write the `Disconnect` event with its AWS `disconnectReason`, publish the
//! will when AWS would, and park or end the session.

use crate::auth::Principal;
use crate::codec::{self, DecodeError, Framer, Version};
use crate::handlers::{self, Flow, HandlerError};
use crate::ingress::{self, ClientOrigin, Inbound, Origin};
use crate::limits::{MAX_INFLIGHT, MAX_PACKET_BYTES};
use crate::names::ClientId;
use crate::state::{Kick, Message, Session, Shared};
use crate::store::Op;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thingwatch_events::{
    ClientIdentity, ClientLog, Connect, Disconnect, DisconnectReason, Outcome, Protocol, PublishIn,
    PublishOut, TraceId,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, broadcast, oneshot};
use tokio::time::Instant;

/// A will to publish when the connection ends abnormally.
pub(crate) struct Will {
    pub msg: Arc<Message>,
    pub delay: Duration,
    /// v5 Message Expiry Interval of the will, seconds: it starts when the will is published.
    pub message_expiry: Option<u32>,
}

/// State of an established connection, shared by the handlers.
pub(crate) struct Conn {
    pub shared: Arc<Shared>,
    pub version: Version,
    pub client_id: ClientId,
    pub principal: Principal,
    pub log: Arc<ClientLog>,
    pub session: Arc<Mutex<Session>>,
    pub conn_id: u64,
    pub notify: Arc<Notify>,
    pub kick_rx: Option<oneshot::Receiver<Kick>>,
    pub will: Option<Will>,
    pub aliases: HashMap<u16, Arc<str>>,
    /// Encoded packets not yet written.
    pub out: Vec<u8>,
    /// 1.5 × the effective keep-alive.
    pub keep_alive: Duration,
}

impl Conn {
    /// Appends an encoded packet; `None` means the encoder refused (a broker bug).
    pub fn write(&mut self, bytes: Option<Vec<u8>>) -> Result<(), HandlerError> {
        let b = bytes.ok_or(HandlerError::Server("packet encoding failed"))?;
        self.out.extend_from_slice(&b);
        Ok(())
    }

    /// Logs a refused PUBLISH (`Publish-In` Failure, `PublishIn.ClientError`) and returns the
    /// error that closes the connection.
    pub fn publish_refused(
        &self,
        topic: &str,
        retain: bool,
        e: HandlerError,
    ) -> Result<(), HandlerError> {
        let (_, _, reason, details) = e.describe();
        self.shared
            .logger
            .emit(&self.log, PublishIn::CLIENT_ERROR, TraceId::new(), |id| {
                PublishIn::failure(id, topic, retain, reason, details)
            });
        Err(e)
    }

    /// Moves queued deliveries into the output buffer, respecting the in-flight limit.
    fn drain(&mut self, resend_inflight: bool) {
        let shared = self.shared.clone();
        let session = self.session.clone();
        let mut s = session.lock();
        if resend_inflight {
            let resend: Vec<_> = s.inflight.iter().map(|(id, o)| (*id, o.clone())).collect();
            for (id, o) in resend {
                self.encode_delivery(&o, Some(id), true);
            }
        }
        while let Some(front) = s.queue.front() {
            if front.qos == 1 && s.inflight.len() >= MAX_INFLIGHT {
                break;
            }
            let Some(o) = s.queue.pop_front() else { break };
            if o.msg.expired(std::time::Instant::now()) {
                // Not delivered once its Message Expiry Interval passed ([MQTT-3.3.2-5]).
                if let Some(db) = o.db_id {
                    shared.store.submit(vec![Op::DelMsg { id: db }]);
                }
                continue;
            }
            let id = (o.qos == 1).then(|| s.alloc_pkid());
            self.encode_delivery(&o, id, o.dup);
            if let Some(id) = id {
                s.inflight.insert(id, o.clone());
            }
            shared
                .counters
                .messages_out
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            shared
                .logger
                .emit(&self.log, PublishOut::SUCCESS, o.msg.trace, |id| {
                    PublishOut::success(id, &o.msg.topic, o.retain)
                });
        }
    }

    /// Encodes one delivery. For a v5 subscriber of a message with an expiry, the Message
    /// Expiry Interval sent is the **remaining** interval, in whole seconds rounded up
    /// ([MQTT-3.3.2-6]); a redelivery of an in-flight message whose expiry passed meanwhile
    /// still goes out (onward delivery had started, [MQTT-3.3.2-5]) with 1 s.
    fn encode_delivery(&mut self, o: &crate::state::Outgoing, id: Option<u16>, dup: bool) {
        let with_expiry;
        let props: &[codec::Property] = match (self.version, o.msg.expiry) {
            (Version::V311, _) => &[],
            (Version::V5, None) => &o.msg.props,
            (Version::V5, Some(e)) => {
                let left = e.remaining_secs(std::time::Instant::now()).unwrap_or(1);
                let mut p = o.msg.props.clone();
                p.extend(codec::message_expiry_property(left));
                with_expiry = p;
                &with_expiry
            }
        };
        if self.version == Version::V311
            && o.qos == 0
            && !o.retain
            && !dup
            && id.is_none()
            && !o.msg.retain
        {
            let wire = o.msg.wire_v311_qos0.get_or_init(|| {
                let mut wire = Vec::new();
                codec::publish_into(
                    &mut wire,
                    Version::V311,
                    &o.msg.topic,
                    &o.msg.payload,
                    0,
                    false,
                    false,
                    None,
                    &[],
                );
                wire
            });
            self.out.extend_from_slice(wire);
            return;
        }
        // AWS does not support DUP on deliveries to 3.1.1 clients; v5 and 3.1.1 both get it
        // set on a redelivery of an unacknowledged message as the MQTT specs require.
        codec::publish_into(
            &mut self.out,
            self.version,
            &o.msg.topic,
            &o.msg.payload,
            o.qos,
            o.retain,
            dup,
            id,
            props,
        );
    }
}

/// How the connection ended.
struct Close {
    reason: DisconnectReason,
    detail: Option<(&'static str, &'static str)>,
    send_will: bool,
    /// v5 DISCONNECT reason code to send, if any.
    code: Option<u8>,
}

impl Close {
    fn of(reason: DisconnectReason, code: Option<u8>) -> Self {
        Close {
            reason,
            detail: None,
            send_will: true,
            code,
        }
    }
}

/// Logs a CONNECT that could not even be decoded (no client id known).
fn pre_connect_failure(shared: &Shared, peer: SocketAddr, reason: &str, details: &str) {
    pre_connect_entry(shared, peer, "", Connect::CLIENT_ERROR, reason, details);
}

/// Logs a TLS handshake the broker refused (unknown, inactive or revoked client certificate,
/// or no certificate): a `Connect` Failure with `AUTHORIZATION_FAILURE`, counted as
/// `Connect.AuthError`. `principal_id` is the certificate ID when the certificate was read.
pub(crate) fn handshake_refused(
    shared: &Shared,
    peer: SocketAddr,
    principal_id: &str,
    details: &str,
) {
    pre_connect_entry(
        shared,
        peer,
        principal_id,
        Connect::AUTH_ERROR,
        "AUTHORIZATION_FAILURE",
        details,
    );
}

fn pre_connect_entry(
    shared: &Shared,
    peer: SocketAddr,
    principal_id: &str,
    outcome: Outcome<Connect<'static>>,
    reason: &str,
    details: &str,
) {
    let log = shared.logger.client(ClientIdentity {
        client_id: String::new(),
        principal_id: principal_id.to_owned(),
        source_ip: peer.ip(),
        source_port: peer.port(),
        protocol: Protocol::Mqtt,
        thing_name: None,
    });
    shared.logger.emit(&log, outcome, TraceId::new(), |id| {
        Connect::failure(id, reason, details)
    });
}

/// The connection's read buffer: small while the connection is idle or sends small packets,
/// doubled whenever a read fills it (up to [`ReadBuffer::MAX`]) so a busy connection reads
/// many packets per system call, and shrunk back when a read brings little again. Nothing is
/// zero-filled: reads go into spare capacity. An idle connection therefore holds
/// [`ReadBuffer::MIN`] bytes instead of a fixed 16 KiB.
struct ReadBuffer {
    bytes: Vec<u8>,
}

impl ReadBuffer {
    /// Bytes held by an idle connection.
    const MIN: usize = 512;
    /// Largest buffer, bytes.
    const MAX: usize = 64 * 1024;

    fn new() -> Self {
        ReadBuffer {
            bytes: Vec::with_capacity(Self::MIN),
        }
    }

    /// Reads once into the buffer (after resizing it for the last read); `Ok(0)` = end of
    /// stream. Cancel-safe: nothing is consumed unless the read completes.
    async fn read_from<S: tokio::io::AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<usize> {
        self.bytes.clear();
        stream.read_buf(&mut self.bytes).await
    }

    /// The `n` bytes the last read brought; adapts the capacity for the next read.
    fn filled(&mut self, n: usize) -> &[u8] {
        let cap = self.bytes.capacity();
        if n >= cap && cap < Self::MAX {
            self.bytes.reserve_exact((cap * 2).min(Self::MAX) - n);
        } else if n <= Self::MIN && cap > Self::MIN {
            // Traffic became small again: give the memory back. The bytes just read stay.
            let keep = self.bytes.len();
            self.bytes.shrink_to(Self::MIN.max(keep));
        }
        &self.bytes[..n]
    }
}

/// Runs one connection to completion. Never panics on peer input.
pub(crate) async fn run<S>(
    shared: Arc<Shared>,
    mut stream: S,
    peer: SocketAddr,
    transport: crate::auth::Transport,
    mut shutdown: broadcast::Receiver<()>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let mut framer = Framer::new(MAX_PACKET_BYTES);
    let mut buf = ReadBuffer::new();
    let mut packets = Vec::new();

    // Phase 1: the CONNECT.
    let deadline = Instant::now() + shared.config.connect_timeout;
    while packets.is_empty() {
        let n = tokio::select! {
            r = buf.read_from(&mut stream) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
            _ = tokio::time::sleep_until(deadline) => return,
            _ = shutdown.recv() => return,
        };
        if let Err(e) = framer.feed(buf.filled(n), &mut packets) {
            pre_connect_failure(
                &shared,
                peer,
                "MALFORMED_PACKET",
                if e == DecodeError::TooLarge {
                    "The CONNECT exceeds the packet size limit"
                } else {
                    "Malformed CONNECT"
                },
            );
            return;
        }
    }
    let mut pending = packets.drain(..).collect::<std::collections::VecDeque<_>>();
    let Some(first) = pending.pop_front() else {
        return;
    };
    let version = match codec::detect_version(&first) {
        Ok(v) => v,
        Err(DecodeError::UnsupportedVersion(_)) => {
            pre_connect_failure(
                &shared,
                peer,
                "UNSUPPORTED_PROTOCOL_VERSION",
                "Only MQTT 3.1.1 and 5 are supported",
            );
            if let Some(b) = codec::connack(Version::V311, false, 0x84, &Default::default()) {
                let _ = stream.write_all(&b).await;
            }
            return;
        }
        Err(_) => {
            pre_connect_failure(
                &shared,
                peer,
                "MALFORMED_PACKET",
                "The first packet is not a valid CONNECT",
            );
            return;
        }
    };
    let connect = match codec::decode(version, first) {
        Ok(codec::Inbound::Connect(c)) => c,
        _ => {
            pre_connect_failure(&shared, peer, "MALFORMED_PACKET", "Malformed CONNECT");
            if let Some(b) = codec::connack(version, false, 0x81, &Default::default())
                .filter(|_| version == Version::V5)
            {
                let _ = stream.write_all(&b).await;
            }
            return;
        }
    };
    let mut out = Vec::new();
    let Some(mut conn) = handlers::connect::handle(&shared, *connect, peer, &transport, &mut out)
    else {
        let _ = stream.write_all(&out).await;
        return;
    };

    // Phase 2: the session.
    let mut resend = true;
    let mut ka_deadline = Instant::now() + conn.keep_alive;
    let mut kick_rx = conn.kick_rx.take();
    let close: Close = 'conn: loop {
        // Packets that arrived with the CONNECT or in the last read.
        while let Some(raw) = pending.pop_front() {
            let result = match codec::decode(version, raw) {
                Ok(p) => handlers::dispatch(&mut conn, p).await,
                Err(DecodeError::TooLarge) => Err(HandlerError::TooLarge),
                Err(DecodeError::Protocol(d)) => Err(HandlerError::Protocol(d)),
                Err(DecodeError::Malformed(d)) => Err(HandlerError::Malformed(d)),
                Err(DecodeError::UnsupportedVersion(_)) => Err(HandlerError::Protocol("CONNECT")),
            };
            match result {
                Ok(Flow::Continue) => {}
                Ok(Flow::ClientDisconnect { send_will }) => {
                    break 'conn Close {
                        reason: DisconnectReason::ClientInitiatedDisconnect,
                        detail: None,
                        send_will,
                        code: None,
                    };
                }
                Err(e) => break 'conn fail(&conn, e),
            }
        }
        conn.drain(resend);
        resend = false;
        if !conn.out.is_empty() {
            if stream.write_all(&conn.out).await.is_err() {
                conn.out.clear();
                break Close::of(DisconnectReason::ConnectionLost, None);
            }
            conn.out.clear();
        }
        tokio::select! {
            _ = shutdown.recv() => break Close::of(DisconnectReason::ServerInitiatedDisconnect, Some(0x8B)),
            k = async { match kick_rx.as_mut() { Some(rx) => rx.await, None => std::future::pending().await } } => {
                match k {
                    Ok(Kick::Takeover) => break Close::of(DisconnectReason::DuplicateClientid, Some(0x8E)),
                    Ok(Kick::AuthRevoked) => break Close::of(DisconnectReason::AuthError, Some(0x87)),
                    Err(_) => kick_rx = None,
                }
            }
            _ = tokio::time::sleep_until(ka_deadline) => break Close::of(DisconnectReason::MqttKeepAliveTimeout, Some(0x8D)),
            _ = conn.notify.notified() => {}
            r = buf.read_from(&mut stream) => match r {
                Ok(0) | Err(_) => break Close::of(DisconnectReason::ConnectionLost, None),
                Ok(n) => {
                    ka_deadline = Instant::now() + conn.keep_alive;
                    let mut got = Vec::new();
                    let fed = framer.feed(buf.filled(n), &mut got);
                    pending.extend(got);
                    if let Err(e) = fed {
                        // Handle what was complete before the bad bytes, then fail.
                        let e = match e { DecodeError::TooLarge => HandlerError::TooLarge, _ => HandlerError::Malformed("bad remaining length") };
                        while let Some(raw) = pending.pop_front() {
                            if let Ok(p) = codec::decode(version, raw) {
                                let _ = handlers::dispatch(&mut conn, p).await;
                            }
                        }
                        break fail(&conn, e);
                    }
                }
            },
        }
    };

    // Phase 3: close.
    if let Some(code) = close.code
        && let Some(b) = codec::disconnect(version, code)
    {
        conn.out.extend_from_slice(&b);
    }
    if !conn.out.is_empty() {
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&conn.out)).await;
    }
    let _ = stream.shutdown().await;
    finish(conn, close);
}

/// Maps a handler error to the close (the dispatcher's reason-code table lives in
/// [`HandlerError::describe`]).
fn fail(conn: &Conn, e: HandlerError) -> Close {
    let (code, reason, r, d) = e.describe();
    tracing::debug!(client = %conn.client_id, error = %e, "closing connection");
    Close {
        reason,
        detail: Some((r, d)),
        send_will: true,
        code: Some(code),
    }
}

/// Writes the Disconnect event, publishes the will, parks or ends the session.
fn finish(conn: Conn, close: Close) {
    conn.shared
        .authorizer
        .disconnected(&conn.client_id, &conn.principal);
    let shared = conn.shared.clone();
    shared.logger.emit(
        &conn.log,
        Disconnect::LOGGED,
        TraceId::new(),
        |id| match close.detail {
            Some((r, d)) => Disconnect::with_detail(id, close.reason, r, d),
            None => Disconnect::new(id, close.reason),
        },
    );
    // Park or end the session, unless a newer connection already took it over.
    {
        let mut map = shared.sessions.lock();
        if let Some(sess) = map.get(&conn.client_id).cloned() {
            let mut s = sess.lock();
            if s.link.as_ref().is_some_and(|l| l.conn_id == conn.conn_id) {
                s.link = None;
                if s.expiry_secs == 0 {
                    shared.drop_session_state(&s);
                    drop(s);
                    map.remove(&conn.client_id);
                } else {
                    s.disconnected_at = Some(std::time::Instant::now());
                    shared.store.submit(vec![Op::PutSession {
                        client_id: conn.client_id.to_string(),
                        expiry_secs: s.expiry_secs,
                        disconnected_at: Some(thingwatch_events::now_ms() / 1000),
                        version: s.version.level(),
                    }]);
                }
            }
        }
    }
    if let Some(will) = conn.will.filter(|_| close.send_will) {
        if will.delay.is_zero() {
            publish_will(&shared, &conn.client_id, &conn.principal, &conn.log, &will);
        } else {
            let (client_id, principal, log) = (conn.client_id, conn.principal, conn.log);
            let conn_id = conn.conn_id;
            tokio::spawn(async move {
                tokio::time::sleep(will.delay).await;
                // Not sent if the client reconnected in the meantime ([MQTT-3.1.3-9]).
                let reconnected =
                    shared.sessions.lock().get(&client_id).is_some_and(|s| {
                        s.lock().link.as_ref().is_some_and(|l| l.conn_id != conn_id)
                    });
                if !reconnected {
                    publish_will(&shared, &client_id, &principal, &log, &will);
                }
            });
        }
    }
}

/// Publishes a will through the ingress, as a message of the client that set it
/// ([`Origin::Will`]): logged as its `Publish-In`, retained, routed and observed like any
/// other. Its Message Expiry Interval starts now ([MQTT-3.1.3-10]).
fn publish_will(
    shared: &Shared,
    client_id: &ClientId,
    principal: &Principal,
    log: &Arc<ClientLog>,
    will: &Will,
) {
    let inbound = Inbound {
        topic: will.msg.topic.to_arc(),
        payload: will.msg.payload.clone(),
        qos: will.msg.qos,
        retain: will.msg.retain,
        props: will.msg.props.clone(),
        message_expiry: will.message_expiry,
        trace: will.msg.trace,
    };
    let origin = Origin::Will(ClientOrigin {
        client_id,
        principal,
        log,
    });
    // A refused will (a retained will on a reserved topic) was logged by the ingress; the
    // durable writes complete on their own (nobody waits to acknowledge a will).
    let _ = ingress::ingest(shared, origin, inbound);
}
