//! SUBSCRIBE ([MQTT-3.8]) with AWS IoT's rules: a SUBSCRIBE requesting QoS 2 on any filter is
//! not acknowledged at all (see [`refuse_qos2`]), at most 8 filters per packet and 50
//! subscriptions per connection (the excess fails in the SUBACK), shared subscriptions
//! `$share/<group>/<filter>` for both versions, retained messages sent after the SUBACK per
//! Retain Handling. One `Subscribe` event per filter.

use super::HandlerError;
use crate::codec::{self, SubscribeEntry, Version};
use crate::connection::Conn;
use crate::limits::{MAX_FILTERS_PER_SUBSCRIBE, MAX_SUBSCRIPTIONS_PER_CONNECTION};
use crate::state::{Outgoing, SubOpts};
use crate::store::Op;
use crate::topic;
use thingwatch_events::{Outcome, Subscribe, TraceId};

pub(crate) async fn handle(
    conn: &mut Conn,
    packet_id: u16,
    entries: Vec<SubscribeEntry>,
) -> Result<(), HandlerError> {
    let shared = conn.shared.clone();
    if entries.iter().any(|e| e.qos == 2) {
        refuse_qos2(conn, &entries);
        return Ok(());
    }
    let mut codes = Vec::with_capacity(entries.len());
    let mut retained = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let fail = |conn: &Conn,
                    code: u8,
                    outcome: Outcome<Subscribe<'static>>,
                    reason: &str,
                    details: &str| {
            shared
                .logger
                .emit(&conn.log, outcome, TraceId::new(), |id| {
                    Subscribe::failure(id, &e.filter, false, reason, details)
                });
            code
        };
        if i >= MAX_FILTERS_PER_SUBSCRIBE {
            codes.push(fail(
                conn,
                0x97,
                Subscribe::CLIENT_ERROR,
                "SUBSCRIBE_LIMIT_EXCEEDED",
                "More than 8 topic filters in one SUBSCRIBE",
            ));
            continue;
        }
        let parsed = match topic::parse_filter(&e.filter) {
            Ok(p) if !(p.share_group.is_some() && e.no_local) => p,
            _ => {
                codes.push(fail(
                    conn,
                    0x8F,
                    Subscribe::CLIENT_ERROR,
                    "INVALID_TOPIC_FILTER",
                    "The topic filter is invalid or exceeds AWS IoT limits",
                ));
                continue;
            }
        };
        if !shared
            .authorizer
            .authorize_subscribe(&conn.principal, &conn.client_id, &e.filter)
        {
            codes.push(fail(
                conn,
                0x87,
                Subscribe::AUTH_ERROR,
                "AUTHORIZATION_FAILURE",
                "Authorization Failure",
            ));
            continue;
        }
        let granted = e.qos;
        let opts = SubOpts {
            qos: granted,
            no_local: e.no_local,
            retain_as_published: e.retain_as_published,
        };
        let is_new = {
            let mut s = conn.session.lock();
            if !s.subs.contains_key(&e.filter) && s.subs.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
                None
            } else {
                let is_new = s.subs.insert(e.filter.clone(), opts).is_none();
                if s.expiry_secs > 0 {
                    shared.store.submit(vec![Op::PutSub {
                        client_id: conn.client_id.to_string(),
                        filter: e.filter.clone(),
                        qos: granted,
                        flags: opts.flags(),
                    }]);
                }
                Some(is_new)
            }
        };
        let Some(is_new) = is_new else {
            codes.push(fail(
                conn,
                0x97,
                Subscribe::CLIENT_ERROR,
                "SUBSCRIPTION_LIMIT_EXCEEDED",
                "More than 50 subscriptions on this connection",
            ));
            continue;
        };
        shared.trie_add(&conn.client_id, parsed, opts);
        shared
            .logger
            .emit(&conn.log, Subscribe::SUCCESS, TraceId::new(), |id| {
                Subscribe::success(id, &e.filter, false)
            });
        codes.push(granted);
        let send_retained = match e.retain_handling {
            0 => true,
            1 => is_new,
            _ => false,
        };
        if send_retained {
            for m in shared.retained_for(parsed) {
                retained.push(Outgoing {
                    qos: m.qos.min(granted),
                    msg: m,
                    retain: true,
                    db_id: None,
                    dup: false,
                });
            }
        }
    }
    let codes = if conn.version == Version::V311 {
        codes
            .into_iter()
            .map(|c| if c < 0x80 { c } else { 0x80 })
            .collect()
    } else {
        codes
    };
    conn.write(codec::suback(conn.version, packet_id, &codes))?;
    if !retained.is_empty() {
        let mut s = conn.session.lock();
        for out in retained {
            let _ = shared.enqueue(&mut s, out);
        }
    }
    Ok(())
}

/// The `reason` of the `Subscribe` / `Publish-In` Failure entries written for a QoS 2 request.
/// AWS IoT has not published a reason code for this case; `QOS_NOT_SUPPORTED` is ours, named
/// after the v5 reason code 0x9B *QoS not supported* ([MQTT-3.2.2-11]).
pub(crate) const QOS_NOT_SUPPORTED: &str = "QOS_NOT_SUPPORTED";

/// Refuses a SUBSCRIBE in which any filter requests QoS 2, as AWS IoT documents it:
///
/// > AWS IoT does not support publishing and subscribing with QoS 2. The AWS IoT message
/// > broker does not send a PUBACK or SUBACK when QoS 2 is requested.
/// > (AWS IoT Developer Guide, *MQTT*, "AWS IoT differences from MQTT specifications")
///
/// So, for both MQTT versions: **no SUBACK** is sent (a deliberate departure from
/// [MQTT-3.8.4-1], which requires one, and from [MQTT-3.8.4-5], which would allow granting a
/// lower QoS), **no** filter of the packet is subscribed, not even those asking for QoS 0/1,
/// and the connection stays open (the client's later packets are served normally). Each
/// filter of the packet gets a `Subscribe` Failure entry (ERROR, reason
/// [`QOS_NOT_SUPPORTED`]) and counts `Subscribe.ClientError`.
fn refuse_qos2(conn: &Conn, entries: &[SubscribeEntry]) {
    for e in entries {
        let details = if e.qos == 2 {
            "QoS 2 is not supported; the SUBSCRIBE is not acknowledged"
        } else {
            "Another filter of this SUBSCRIBE requested QoS 2; the SUBSCRIBE is not acknowledged"
        };
        conn.shared
            .logger
            .emit(&conn.log, Subscribe::CLIENT_ERROR, TraceId::new(), |id| {
                Subscribe::failure(id, &e.filter, false, QOS_NOT_SUPPORTED, details)
            });
    }
}
