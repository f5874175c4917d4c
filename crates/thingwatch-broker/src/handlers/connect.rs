//! CONNECT ([MQTT-3.1]) with AWS IoT's rules: client-id limits, will validation, the
//! [`crate::Authorizer`], keep-alive clamping (v5: *Server Keep Alive*), session expiry
//! clamping, clean vs resumed sessions, and client-id takeover (the **old** connection is
//! kicked). Produces the connection state or a refusing CONNACK.
//!
//! **Sessions do not carry over between MQTT versions.** AWS IoT: "Persistent sessions do not
//! carry over between versions" (Developer Guide, *MQTT*, MQTT 5 support). A session records
//! the version it was created with (persisted with it, see [`crate::store::Op::PutSession`]);
//! a CONNECT with cleanSession=0 / Clean Start=0 whose version differs from the stored
//! session's is treated as a clean start: the old session (subscriptions, queued and in-flight
//! messages) is discarded and the CONNACK has Session Present = 0 ([MQTT-3.2.2-2],
//! [MQTT-3.2.2-3] as for a session the server does not have).

use crate::auth::ConnectRequest;
use crate::codec::{self, ConnackInfo, ConnectPacket, Version};
use crate::connection::{Conn, Will};
use crate::limits::{MAX_PAYLOAD_BYTES, clamp_keep_alive};
use crate::names::{ClientId, TopicName};
use crate::state::{Kick, Link, Message, Session, Shared};
use crate::store::Op;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thingwatch_events::{ClientIdentity, Connect, Outcome, Protocol, TraceId};
use tokio::sync::{Notify, oneshot};

/// Logs a refused CONNECT and appends the refusing CONNACK.
#[allow(clippy::too_many_arguments)]
fn refuse(
    shared: &Shared,
    version: Version,
    client_id: &str,
    principal_id: &str,
    peer: SocketAddr,
    code: u8,
    outcome: Outcome<Connect<'static>>,
    reason: &str,
    details: &str,
    out: &mut Vec<u8>,
) {
    let log = shared.logger.client(ClientIdentity {
        client_id: client_id.to_owned(),
        principal_id: principal_id.to_owned(),
        source_ip: peer.ip(),
        source_port: peer.port(),
        protocol: Protocol::Mqtt,
        thing_name: None,
    });
    shared.logger.emit(&log, outcome, TraceId::new(), |id| {
        Connect::failure(id, reason, details)
    });
    if let Some(b) = codec::connack(version, false, code, &ConnackInfo::default()) {
        out.extend_from_slice(&b);
    }
}

pub(crate) fn handle(
    shared: &Arc<Shared>,
    c: ConnectPacket,
    peer: SocketAddr,
    transport: &crate::auth::Transport,
    out: &mut Vec<u8>,
) -> Option<Conn> {
    let v = c.version;
    // Parse: client id.
    let mut assigned = None;
    let client_id = if c.client_id.is_empty() {
        if v == Version::V311 && !c.clean_start {
            refuse(
                shared,
                v,
                "",
                "",
                peer,
                0x85,
                Connect::CLIENT_ERROR,
                "CLIENT_ID_INVALID",
                "An empty client ID requires a clean session",
                out,
            );
            return None;
        }
        let id = ClientId::assigned();
        assigned = Some(id.to_string());
        id
    } else {
        match ClientId::new(&c.client_id) {
            Ok(id) => id,
            Err(_) => {
                refuse(
                    shared,
                    v,
                    &c.client_id,
                    "",
                    peer,
                    0x85,
                    Connect::CLIENT_ERROR,
                    "CLIENT_ID_INVALID",
                    "The client ID exceeds 128 bytes or uses the reserved $ prefix",
                    out,
                );
                return None;
            }
        }
    };
    // Parse: will (its topic is validated here, once, and carried typed).
    let mut will_topic = None;
    if let Some(w) = &c.will {
        let parsed = TopicName::new(&w.topic);
        let (code, reason, details) = if parsed.is_err() {
            (0x90, "INVALID_TOPIC", "The will topic is invalid")
        } else if w.payload.len() > MAX_PAYLOAD_BYTES {
            (
                0x95,
                "PAYLOAD_LIMIT_EXCEEDED",
                "The will payload exceeds the 128 KB limit",
            )
        } else if w.qos == 2 && v == Version::V5 {
            (0x9B, "QOS_NOT_SUPPORTED", "QoS 2 is not supported")
        } else {
            (0, "", "")
        };
        if code != 0 {
            refuse(
                shared,
                v,
                &client_id,
                "",
                peer,
                code,
                Connect::CLIENT_ERROR,
                reason,
                details,
                out,
            );
            return None;
        }
        will_topic = parsed.ok();
    }
    // Authenticate.
    let req = ConnectRequest {
        client_id: &client_id,
        username: c.username.as_deref(),
        password: c.password.as_deref(),
        peer,
        tls: transport.tls,
        client_certificate: transport.client_certificate.as_deref(),
        transport_principal: transport.principal.as_deref(),
    };
    let principal = match shared.authorizer.authenticate(&req) {
        Ok(p) => p,
        Err(e) => {
            let principal_id = match &e {
                crate::auth::AuthError::NotAuthorized { principal_id, .. } => principal_id.as_str(),
                _ => "",
            };
            refuse(
                shared,
                v,
                &client_id,
                principal_id,
                peer,
                0x87,
                Connect::AUTH_ERROR,
                "AUTHORIZATION_FAILURE",
                "Authorization Failure",
                out,
            );
            return None;
        }
    };

    // Apply.
    let identity = ClientIdentity {
        client_id: client_id.to_string(),
        principal_id: principal.principal_id.clone(),
        source_ip: peer.ip(),
        source_port: peer.port(),
        protocol: Protocol::Mqtt,
        thing_name: principal.thing_name.clone(),
    };
    let log = Arc::new(shared.logger.client(identity));
    let max_expiry = shared.config.session_expiry_secs();
    let expiry_secs = match v {
        Version::V311 if c.clean_start => 0,
        Version::V311 => max_expiry,
        Version::V5 => c.session_expiry.min(max_expiry),
    };
    let conn_id = shared
        .next_conn_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let notify = Arc::new(Notify::new());
    let (kick_tx, kick_rx) = oneshot::channel();
    let (session, session_present) = {
        let mut map = shared.sessions.lock();
        let existing = map.get(&client_id).cloned();
        let resumed = match existing {
            Some(old) => {
                let mut s = old.lock();
                if let Some(link) = s.link.take()
                    && let Some(k) = link.kick
                {
                    let _ = k.send(Kick::Takeover);
                }
                if c.clean_start || s.version != v {
                    shared.drop_session_state(&s);
                    None
                } else {
                    drop(s);
                    Some(old)
                }
            }
            None => None,
        };
        let present = resumed.is_some();
        let session = resumed.unwrap_or_else(|| {
            Arc::new(parking_lot::Mutex::new(Session::new(
                client_id.clone(),
                log.clone(),
                principal.clone(),
                v,
            )))
        });
        {
            let mut s = session.lock();
            s.expiry_secs = expiry_secs;
            s.link = Some(Link {
                conn_id,
                notify: notify.clone(),
                kick: Some(kick_tx),
            });
            s.disconnected_at = None;
            s.log = log.clone();
            s.principal = principal.clone();
            for o in s.inflight.values_mut() {
                o.dup = true;
            }
            if expiry_secs > 0 {
                shared.store.submit(vec![Op::PutSession {
                    client_id: client_id.to_string(),
                    expiry_secs,
                    disconnected_at: None,
                    version: v.level(),
                }]);
            }
        }
        map.insert(client_id.clone(), session.clone());
        (session, present)
    };
    if session_present {
        notify.notify_one();
    }
    let ka = clamp_keep_alive(
        c.keep_alive,
        shared.config.keep_alive_min_secs,
        shared.config.keep_alive_max_secs,
    );
    let info = ConnackInfo {
        server_keep_alive: (v == Version::V5 && ka != c.keep_alive).then_some(ka),
        assigned_client_id: assigned,
        session_expiry: (v == Version::V5 && expiry_secs != c.session_expiry)
            .then_some(expiry_secs),
    };
    let connack = codec::connack(v, session_present, 0, &info)?;
    out.extend_from_slice(&connack);
    shared
        .counters
        .connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    shared
        .logger
        .emit(&log, Connect::SUCCESS, TraceId::new(), Connect::success);
    let will = c.will.zip(will_topic).map(|(w, topic)| Will {
        msg: Arc::new(Message {
            topic,
            payload: codec::payload_from_vec(w.payload),
            qos: w.qos.min(1),
            retain: w.retain,
            props: w.props,
            trace: TraceId::new(),
            expiry: None,
            wire_v311_qos0: Default::default(),
        }),
        message_expiry: w.message_expiry,
        delay: Duration::from_secs(u64::from(w.delay_secs.min(expiry_secs))),
    });
    Some(Conn {
        shared: shared.clone(),
        version: v,
        client_id,
        principal,
        log,
        session,
        conn_id,
        notify,
        kick_rx: Some(kick_rx),
        will,
        aliases: HashMap::new(),
        out: std::mem::take(out),
        keep_alive: Duration::from_millis(u64::from(ka) * 1500),
    })
}
