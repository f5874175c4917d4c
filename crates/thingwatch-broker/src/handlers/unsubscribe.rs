//! UNSUBSCRIBE ([MQTT-3.10]): removes each filter from the session and the trie; one
//! `Unsubscribe` event per filter; v5 UNSUBACK 0x11 *No subscription existed* when unknown.

use super::HandlerError;
use crate::codec;
use crate::connection::Conn;
use crate::store::Op;
use crate::topic;
use thingwatch_events::{TraceId, Unsubscribe};

pub(crate) fn handle(
    conn: &mut Conn,
    packet_id: u16,
    filters: Vec<String>,
) -> Result<(), HandlerError> {
    let shared = conn.shared.clone();
    let mut codes = Vec::with_capacity(filters.len());
    for f in &filters {
        let Ok(parsed) = topic::parse_filter(f) else {
            shared
                .logger
                .emit(&conn.log, Unsubscribe::CLIENT_ERROR, TraceId::new(), |id| {
                    Unsubscribe::failure(
                        id,
                        f,
                        false,
                        "INVALID_TOPIC_FILTER",
                        "The topic filter is invalid",
                    )
                });
            codes.push(0x8F);
            continue;
        };
        let existed = {
            let mut s = conn.session.lock();
            let existed = s.subs.remove(f).is_some();
            if existed && s.expiry_secs > 0 {
                shared.store.submit(vec![Op::DelSub {
                    client_id: conn.client_id.to_string(),
                    filter: f.clone(),
                }]);
            }
            existed
        };
        if existed {
            shared.trie_remove(&conn.client_id, parsed);
        }
        shared
            .logger
            .emit(&conn.log, Unsubscribe::SUCCESS, TraceId::new(), |id| {
                Unsubscribe::success(id, f, false)
            });
        codes.push(if existed { 0x00 } else { 0x11 });
    }
    conn.write(codec::unsuback(conn.version, packet_id, &codes))
}
