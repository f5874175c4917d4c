//! Shared test harness: a broker on 127.0.0.1:0 with a `MemorySink`-backed [`Logger`], rumqttc
//! clients, and a raw-bytes MQTT client ([`Raw`]) that reads whole packets, for exact-bytes
//! assertions in both MQTT versions.
#![allow(dead_code)]

use rumqttc::{AsyncClient, Event, Incoming, LastWill, MqttOptions};
pub use std::net::SocketAddr;
use std::sync::Arc;
pub use std::time::Duration;
use thingwatch_broker::{Broker, BrokerConfig, LoopbackAnonymous};
use thingwatch_events::{
    Dimension, LevelSetting, Logger, LoggerSettings, LoggingOptions, MemorySink, MetricName,
    PipelineConfig, Protocol,
};
pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

pub struct Server {
    pub addr: SocketAddr,
    pub sink: MemorySink,
    pub logger: Logger,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    pub broker: Broker,
}

pub async fn start(dir: &std::path::Path, config: BrokerConfig) -> Server {
    let sink = MemorySink::new();
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "n1".into(),
            pipeline: PipelineConfig::default(),
        },
        Some(LoggingOptions {
            default_log_level: LevelSetting::Debug,
            ..Default::default()
        }),
        Box::new(sink.clone()),
    );
    let broker = Broker::open(dir, config, logger.clone(), Arc::new(LoopbackAnonymous)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = oneshot::channel::<()>();
    let b = broker.clone();
    let task = tokio::spawn(async move {
        b.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
        b.close();
    });
    Server {
        addr,
        sink,
        logger,
        stop: Some(stop),
        task,
        broker,
    }
}

impl Server {
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
    /// All log entries so far, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.logger.flush();
        self.sink
            .records()
            .iter()
            .map(|r| serde_json::from_str(&r.message).unwrap())
            .collect()
    }
    pub fn events_of(&self, ty: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["eventType"] == ty)
            .collect()
    }
}

/// A 3.1.1 client whose received PUBLISHes arrive on the returned channel.
pub async fn v4(
    addr: SocketAddr,
    id: &str,
    clean: bool,
    will: Option<LastWill>,
) -> (
    AsyncClient,
    mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>,
    tokio::task::JoinHandle<()>,
) {
    let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    o.set_clean_session(clean)
        .set_keep_alive(Duration::from_secs(30));
    if let Some(w) = will {
        o.set_last_will(w);
    }
    let (client, mut el) = AsyncClient::new(o, 100);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let mut ready = Some(ready_tx);
    let task = tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Incoming::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec(), p.retain));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), ready_rx)
        .await
        .unwrap()
        .unwrap();
    (client, rx, task)
}

pub async fn recv(
    rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>,
) -> Option<(String, Vec<u8>, bool)> {
    tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .ok()
        .flatten()
}

pub async fn nothing(rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>) -> bool {
    tokio::time::timeout(Duration::from_millis(300), rx.recv())
        .await
        .is_err()
}

pub fn raw_connect(version: u8, id: &str, keep_alive: u16) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', version, 0x02];
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if version == 5 {
        body.push(0);
    }
    body.extend_from_slice(&(id.len() as u16).to_be_bytes());
    body.extend_from_slice(id.as_bytes());
    packet(0x10, body)
}

/// A packet with a correct variable-length Remaining Length.
pub fn packet(first: u8, body: Vec<u8>) -> Vec<u8> {
    let mut p = vec![first];
    let mut n = body.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        p.push(b);
        if n == 0 {
            break;
        }
    }
    p.extend(body);
    p
}

/// A 3.1.1/v5 QoS 0 PUBLISH.
pub fn raw_publish(v5: bool, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic.as_bytes());
    if v5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(0x30, body)
}

/// Connects a raw client and consumes the CONNACK.
pub async fn raw_client(addr: SocketAddr, version: u8, id: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&raw_connect(version, id, 60)).await.unwrap();
    let mut hdr = [0u8; 2];
    s.read_exact(&mut hdr).await.unwrap();
    let mut rest = vec![0u8; hdr[1] as usize];
    s.read_exact(&mut rest).await.unwrap();
    assert_eq!(rest.get(1), Some(&0), "CONNACK accepted");
    s
}

/// Reads until EOF (or 3 s), returning everything the server sent.
pub async fn read_to_close(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (all, true),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
            Err(_) => return (all, false),
        }
    }
}

impl Server {
    /// The cumulative `AWS/IoT` counter `metric` under `Protocol=MQTT`.
    pub fn metric(&self, metric: MetricName) -> u64 {
        self.logger
            .metrics()
            .get(metric, Dimension::Protocol(Protocol::Mqtt))
    }

    /// Every non-zero `Protocol=MQTT` counter by its CloudWatch name.
    pub fn metrics(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.logger
            .metrics()
            .snapshot()
            .into_iter()
            .filter(|(_, d, _)| *d == Dimension::Protocol(Protocol::Mqtt))
            .map(|(m, _, v)| (m.as_str(), v))
            .collect()
    }

    /// Polls the log (every 10 ms, at most 5 s) until `pred` holds over every entry so far;
    /// returns the entries. Event-driven enough: it returns as soon as the entry is written.
    pub async fn wait_events(
        &self,
        mut pred: impl FnMut(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let ev = self.events();
            if pred(&ev) || tokio::time::Instant::now() >= deadline {
                return ev;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// How a [`Raw`] client connects.
#[derive(Debug, Clone)]
pub struct ConnectOpts {
    /// 4 (3.1.1) or 5.
    pub version: u8,
    /// Clean session / Clean Start.
    pub clean: bool,
    /// Keep-alive, seconds.
    pub keep_alive: u16,
    /// v5 Session Expiry Interval property, when `Some`.
    pub session_expiry: Option<u32>,
}

impl ConnectOpts {
    /// Clean, keep-alive 60 s, no session expiry.
    pub fn new(version: u8) -> Self {
        ConnectOpts {
            version,
            clean: true,
            keep_alive: 60,
            session_expiry: None,
        }
    }
    /// A persistent session (3.1.1 cleanSession=0; v5 Clean Start 0 + expiry 3600 s).
    pub fn persistent(version: u8) -> Self {
        ConnectOpts {
            version,
            clean: false,
            keep_alive: 60,
            session_expiry: (version == 5).then_some(3600),
        }
    }
}

/// A CONNECT packet.
pub fn connect_packet(id: &str, o: &ConnectOpts) -> Vec<u8> {
    let flags = if o.clean { 0x02 } else { 0x00 };
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', o.version, flags];
    body.extend_from_slice(&o.keep_alive.to_be_bytes());
    if o.version == 5 {
        match o.session_expiry {
            Some(se) => {
                body.push(5);
                body.push(0x11);
                body.extend_from_slice(&se.to_be_bytes());
            }
            None => body.push(0),
        }
    }
    body.extend_from_slice(&(id.len() as u16).to_be_bytes());
    body.extend_from_slice(id.as_bytes());
    packet(0x10, body)
}

/// A SUBSCRIBE: `(filter, options byte)` where the options byte is the QoS (plus v5 flags).
pub fn subscribe_packet(v5: bool, pid: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    if v5 {
        body.push(0);
    }
    for (f, o) in filters {
        body.extend_from_slice(&(f.len() as u16).to_be_bytes());
        body.extend_from_slice(f.as_bytes());
        body.push(*o);
    }
    packet(0x82, body)
}

/// An UNSUBSCRIBE.
pub fn unsubscribe_packet(v5: bool, pid: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    if v5 {
        body.push(0);
    }
    for f in filters {
        body.extend_from_slice(&(f.len() as u16).to_be_bytes());
        body.extend_from_slice(f.as_bytes());
    }
    packet(0xA2, body)
}

/// A PUBLISH with any QoS; `props` is the raw v5 property block content (ignored for 3.1.1).
pub fn publish_packet(
    v5: bool,
    topic: &str,
    payload: &[u8],
    qos: u8,
    retain: bool,
    pid: Option<u16>,
    props: &[u8],
) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic.as_bytes());
    if let Some(id) = pid {
        body.extend_from_slice(&id.to_be_bytes());
    }
    if v5 {
        body.push(props.len() as u8);
        body.extend_from_slice(props);
    }
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1) | u8::from(retain), body)
}

/// A PUBACK (valid for both versions: v5 reason Success omitted).
pub fn puback_packet(pid: u16) -> Vec<u8> {
    let [a, b] = pid.to_be_bytes();
    vec![0x40, 2, a, b]
}

/// A PUBLISH received by a [`Raw`] client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub pid: Option<u16>,
    /// v5 Message Expiry Interval property, if present.
    pub expiry: Option<u32>,
    pub payload: Vec<u8>,
}

/// What [`Raw::next`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// One whole packet: first byte and body.
    Packet(u8, Vec<u8>),
    /// The server closed the connection.
    Closed,
    /// Nothing within the window.
    Timeout,
}

/// A raw-bytes MQTT client.
pub struct Raw {
    pub s: TcpStream,
    pub v5: bool,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects and returns the client with the CONNACK body.
    pub async fn connect(addr: SocketAddr, id: &str, o: &ConnectOpts) -> (Raw, Vec<u8>) {
        let s = TcpStream::connect(addr).await.unwrap();
        let mut r = Raw {
            s,
            v5: o.version == 5,
            buf: Vec::new(),
        };
        r.send(&connect_packet(id, o)).await;
        match r.next(Duration::from_secs(5)).await {
            Read::Packet(0x20, body) => (r, body),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Connects and asserts CONNACK success; returns the session-present flag.
    pub async fn connected(addr: SocketAddr, id: &str, o: &ConnectOpts) -> (Raw, bool) {
        let (r, ack) = Raw::connect(addr, id, o).await;
        assert_eq!(ack.get(1), Some(&0), "CONNACK accepted: {ack:?}");
        (r, ack[0] & 1 == 1)
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.unwrap();
    }

    fn take_packet(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut len = 0usize;
        let mut mult = 1usize;
        let mut i = 1;
        loop {
            let b = *self.buf.get(i)?;
            len += usize::from(b & 0x7F) * mult;
            mult *= 128;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        if self.buf.len() < i + len {
            return None;
        }
        let first = self.buf[0];
        let body = self.buf[i..i + len].to_vec();
        self.buf.drain(..i + len);
        Some((first, body))
    }

    /// The next packet within `within`.
    pub async fn next(&mut self, within: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some((f, b)) = self.take_packet() {
                return Read::Packet(f, b);
            }
            let mut tmp = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.s.read(&mut tmp)).await {
                Err(_) => return Read::Timeout,
                Ok(Ok(0)) | Ok(Err(_)) => return Read::Closed,
                Ok(Ok(n)) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    /// The next packet, which must arrive within 5 s.
    pub async fn expect(&mut self) -> (u8, Vec<u8>) {
        match self.next(Duration::from_secs(5)).await {
            Read::Packet(f, b) => (f, b),
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    /// Sends PINGREQ and returns every packet that arrived before the PINGRESP (a barrier:
    /// the server handles one connection's packets in order).
    pub async fn ping(&mut self) -> Vec<(u8, Vec<u8>)> {
        self.send(&[0xC0, 0]).await;
        let mut before = Vec::new();
        loop {
            match self.expect().await {
                (0xD0, _) => return before,
                p => before.push(p),
            }
        }
    }

    /// The next packet, which must be a PUBLISH.
    pub async fn delivery(&mut self) -> Delivery {
        let (f, b) = self.expect().await;
        assert_eq!(f >> 4, 3, "expected PUBLISH, got {f:#x} {b:?}");
        parse_publish(self.v5, f, &b)
    }
}

/// Decodes a PUBLISH sent by the broker.
pub fn parse_publish(v5: bool, first: u8, b: &[u8]) -> Delivery {
    let qos = (first >> 1) & 3;
    let tl = usize::from(u16::from_be_bytes([b[0], b[1]]));
    let topic = String::from_utf8(b[2..2 + tl].to_vec()).unwrap();
    let mut i = 2 + tl;
    let pid = (qos > 0).then(|| {
        i += 2;
        u16::from_be_bytes([b[i - 2], b[i - 1]])
    });
    let mut expiry = None;
    if v5 {
        let plen = usize::from(b[i]);
        assert!(plen < 128, "test decoder handles one-byte property lengths");
        let props = &b[i + 1..i + 1 + plen];
        let mut j = 0;
        while j < props.len() {
            match props[j] {
                0x02 => {
                    expiry = Some(u32::from_be_bytes([
                        props[j + 1],
                        props[j + 2],
                        props[j + 3],
                        props[j + 4],
                    ]));
                    j += 5;
                }
                0x01 => j += 2,
                other => panic!("test decoder: unexpected property {other:#x}"),
            }
        }
        i += 1 + plen;
    }
    Delivery {
        topic,
        qos,
        retain: first & 1 == 1,
        dup: first & 8 == 8,
        pid,
        expiry,
        payload: b[i..].to_vec(),
    }
}
