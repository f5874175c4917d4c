//! SUBSCRIBE ([MQTT-3.8]) with AWS IoT's rules: at most 8 filters per packet and 50
//! subscriptions per connection (the excess fails in the SUBACK), QoS 2 granted as QoS 1,
//! shared subscriptions `$share/<group>/<filter>` for both versions, retained messages sent
//! after the SUBACK per Retain Handling. One `Subscribe` event per filter.

use super::HandlerError;
use crate::codec::{self, SubscribeEntry, Version};
use crate::connection::Conn;
use crate::limits::{MAX_FILTERS_PER_SUBSCRIBE, MAX_SUBSCRIPTIONS_PER_CONNECTION};
use crate::state::{Outgoing, SubOpts};
use crate::store::Op;
use crate::topic;
use thingwatch_events::{LogLevel, MetricName, Subscribe, TraceId};

pub(crate) async fn handle(
    conn: &mut Conn,
    packet_id: u16,
    entries: Vec<SubscribeEntry>,
) -> Result<(), HandlerError> {
    let shared = conn.shared.clone();
    let mut codes = Vec::with_capacity(entries.len());
    let mut retained = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let fail = |conn: &Conn, code: u8, metric: MetricName, reason: &str, details: &str| {
            shared.metric(metric);
            shared
                .logger
                .emit(&conn.log, LogLevel::Error, TraceId::new(), |id| {
                    Subscribe::failure(id, &e.filter, false, reason, details)
                });
            code
        };
        if i >= MAX_FILTERS_PER_SUBSCRIBE {
            codes.push(fail(
                conn,
                0x97,
                MetricName::SubscribeClientError,
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
                    MetricName::SubscribeClientError,
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
                MetricName::SubscribeAuthError,
                "AUTHORIZATION_FAILURE",
                "Authorization Failure",
            ));
            continue;
        }
        let granted = e.qos.min(1);
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
                MetricName::SubscribeClientError,
                "SUBSCRIPTION_LIMIT_EXCEEDED",
                "More than 50 subscriptions on this connection",
            ));
            continue;
        };
        shared.trie_add(&conn.client_id, parsed, opts);
        shared.metric(MetricName::SubscribeSuccess);
        shared
            .logger
            .emit(&conn.log, LogLevel::Info, TraceId::new(), |id| {
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
