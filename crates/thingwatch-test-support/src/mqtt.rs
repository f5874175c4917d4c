//! MQTT for tests at the byte level: packets built as exact bytes for both versions (3.1.1 and
//! 5), a raw-socket client ([`RawClient`]) that reads whole packets, a PUBLISH decoder
//! ([`parse_publish`]) and [`read_to_close`] for connections the server is expected to end.
//!
//! Packet layouts are those of the OASIS MQTT Version 3.1.1 and Version 5.0 standards
//! (section 2 "MQTT Control Packet format", section 3 per packet). Nothing here validates
//! what it sends: tests also send malformed packets on purpose.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How long [`RawClient::expect`] and the connect helpers wait for a packet.
pub const EXPECT_WITHIN: Duration = Duration::from_secs(5);

/// How long [`read_to_close`] waits for more bytes before it reports the connection open.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// A control packet: the first byte (type and flags), the Remaining Length as a variable byte
/// integer, then `body`.
pub fn packet(first: u8, body: Vec<u8>) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend(body);
    out
}

/// How a client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOpts {
    /// The protocol level: 4 (3.1.1) or 5.
    pub version: u8,
    /// Clean Session (3.1.1) / Clean Start (5).
    pub clean: bool,
    /// Keep Alive, seconds.
    pub keep_alive: u16,
    /// The v5 Session Expiry Interval property (seconds), when `Some`.
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

/// A CONNECT for client ID `id` with no will, user name or password.
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

/// A SUBSCRIBE with packet ID `pid`: `(filter, options byte)` pairs, the options byte being
/// the QoS (plus the v5 subscription option bits).
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

/// An UNSUBSCRIBE with packet ID `pid`.
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

/// A PUBLISH with any QoS (0–2; `pid` must be `Some` above 0); `props` is the raw v5 property
/// block content, at most 127 bytes (ignored for 3.1.1).
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

/// A QoS 0, non-retained PUBLISH without properties.
pub fn publish_qos0(v5: bool, topic: &str, payload: &[u8]) -> Vec<u8> {
    publish_packet(v5, topic, payload, 0, false, None, &[])
}

/// A PUBACK (valid for both versions: the v5 reason code Success is omitted).
pub fn puback_packet(pid: u16) -> Vec<u8> {
    let [a, b] = pid.to_be_bytes();
    vec![0x40, 2, a, b]
}

/// The DISCONNECT both versions accept (v5: reason Normal omitted).
pub const DISCONNECT: [u8; 2] = [0xE0, 0];

/// A PUBLISH as received: fixed-header flags, topic, packet ID and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The topic name.
    pub topic: String,
    /// QoS 0–2.
    pub qos: u8,
    /// The RETAIN flag.
    pub retain: bool,
    /// The DUP flag.
    pub dup: bool,
    /// The packet ID (QoS 1 and 2 only).
    pub pid: Option<u16>,
    /// The v5 Message Expiry Interval property (seconds), if present.
    pub expiry: Option<u32>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// Decodes a PUBLISH (first byte and body) sent by the server. The v5 decoder knows the
/// properties a server sends to these tests (Payload Format Indicator, Message Expiry
/// Interval) in a property block under 128 bytes, and panics on anything else.
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

/// Reads until EOF (or [`CLOSE_WITHIN`] without a byte) and returns everything the server
/// sent, with whether the connection was closed (EOF or a read error) rather than left open.
pub async fn read_to_close(s: &mut (impl AsyncRead + Unpin)) -> (Vec<u8>, bool) {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(CLOSE_WITHIN, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (all, true),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
            Err(_) => return (all, false),
        }
    }
}

/// What [`RawClient::next`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// One whole packet: first byte and body.
    Packet(u8, Vec<u8>),
    /// The server closed the connection.
    Closed,
    /// Nothing within the window.
    Timeout,
}

/// A raw-bytes MQTT client over TCP that frames what it reads into whole packets.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    /// Whether it connected with MQTT 5 (how [`RawClient::delivery`] decodes PUBLISH).
    pub v5: bool,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects to `addr`, sends CONNECT and returns the client with the CONNACK body (it
    /// panics unless a CONNACK arrives within [`EXPECT_WITHIN`]).
    pub async fn connect(addr: SocketAddr, id: &str, o: &ConnectOpts) -> (RawClient, Vec<u8>) {
        let stream = TcpStream::connect(addr).await.expect("TCP connect");
        RawClient::handshake(stream, id, o).await
    }

    /// Opens a TCP connection to `addr` and sends nothing: for tests that write their own
    /// (possibly malformed) CONNECT. `version` (4 or 5) only says how
    /// [`RawClient::delivery`] decodes PUBLISH.
    pub async fn tcp(addr: SocketAddr, version: u8) -> RawClient {
        RawClient {
            stream: TcpStream::connect(addr).await.expect("TCP connect"),
            v5: version == 5,
            buf: Vec::new(),
        }
    }

    /// Like [`RawClient::connect`], from the local address `source` (port chosen by the OS):
    /// for tests that need a particular `sourceIp`.
    pub async fn connect_from(
        source: IpAddr,
        addr: SocketAddr,
        id: &str,
        o: &ConnectOpts,
    ) -> (RawClient, Vec<u8>) {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind the source address");
        let stream = socket.connect(addr).await.expect("TCP connect");
        RawClient::handshake(stream, id, o).await
    }

    /// Connects and asserts CONNACK success; returns the session-present flag.
    pub async fn connected(addr: SocketAddr, id: &str, o: &ConnectOpts) -> (RawClient, bool) {
        let (r, ack) = RawClient::connect(addr, id, o).await;
        assert_eq!(ack.get(1), Some(&0), "CONNACK accepted: {ack:?}");
        (r, ack[0] & 1 == 1)
    }

    async fn handshake(stream: TcpStream, id: &str, o: &ConnectOpts) -> (RawClient, Vec<u8>) {
        let mut r = RawClient {
            stream,
            v5: o.version == 5,
            buf: Vec::new(),
        };
        r.send(&connect_packet(id, o)).await;
        match r.next(EXPECT_WITHIN).await {
            Read::Packet(0x20, body) => (r, body),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Writes `bytes` as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
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
            match tokio::time::timeout_at(deadline, self.stream.read(&mut tmp)).await {
                Err(_) => return Read::Timeout,
                Ok(Ok(0)) | Ok(Err(_)) => return Read::Closed,
                Ok(Ok(n)) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    /// The next packet, which must arrive within [`EXPECT_WITHIN`].
    pub async fn expect(&mut self) -> (u8, Vec<u8>) {
        match self.next(EXPECT_WITHIN).await {
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

    /// PUBLISH QoS 1 (no properties) with packet ID `pid`; asserts that the next packet is
    /// exactly its PUBACK (reason Success, omitted).
    pub async fn publish_qos1(&mut self, topic: &str, payload: &[u8], pid: u16) {
        self.send(&publish_packet(
            self.v5,
            topic,
            payload,
            1,
            false,
            Some(pid),
            &[],
        ))
        .await;
        let (first, body) = self.expect().await;
        assert_eq!((first, body), (0x40, pid.to_be_bytes().to_vec()), "PUBACK");
    }

    /// Every byte until the server closes the connection; see [`read_to_close`]. Bytes already
    /// read but not yet framed come first.
    pub async fn read_to_close(&mut self) -> (Vec<u8>, bool) {
        let (rest, closed) = read_to_close(&mut self.stream).await;
        let mut all = std::mem::take(&mut self.buf);
        all.extend(rest);
        (all, closed)
    }

    /// Sends DISCONNECT and closes the socket (errors ignored: the server may be gone).
    pub async fn disconnect(mut self) {
        let _ = self.stream.write_all(&DISCONNECT).await;
        let _ = self.stream.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_length_is_a_variable_byte_integer() {
        assert_eq!(packet(0xC0, vec![]), [0xC0, 0]);
        let p = packet(0x30, vec![0; 321]);
        assert_eq!(&p[..3], [0x30, 0xC1, 0x02]);
        assert_eq!(p.len(), 3 + 321);
    }

    #[test]
    fn connect_packets_for_both_versions() {
        assert_eq!(
            connect_packet("c", &ConnectOpts::new(4)),
            [
                0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'c'
            ]
        );
        assert_eq!(
            connect_packet("c", &ConnectOpts::persistent(5)),
            [
                0x10, 19, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x00, 0, 60, 5, 0x11, 0, 0, 0x0E, 0x10,
                0, 1, b'c'
            ]
        );
    }

    #[test]
    fn publish_round_trips_through_the_decoder() {
        let p = publish_packet(true, "a/b", b"hi", 1, true, Some(7), &[0x02, 0, 0, 0, 9]);
        let d = parse_publish(true, p[0], &p[2..]);
        assert_eq!(
            d,
            Delivery {
                topic: "a/b".into(),
                qos: 1,
                retain: true,
                dup: false,
                pid: Some(7),
                expiry: Some(9),
                payload: b"hi".to_vec(),
            }
        );
        assert_eq!(publish_qos0(false, "t", b"x"), [0x30, 4, 0, 1, b't', b'x']);
    }
}
