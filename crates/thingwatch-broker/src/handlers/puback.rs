//! PUBACK for an outbound QoS 1 message: frees the in-flight slot, deletes the stored copy and
//! lets the next queued message go ([MQTT-4.3.2]).

use super::HandlerError;
use crate::connection::Conn;
use crate::store::Op;

pub(crate) fn handle(conn: &mut Conn, packet_id: u16) -> Result<(), HandlerError> {
    let mut s = conn.session.lock();
    // An unknown packet id is ignored (a duplicate PUBACK after a redelivery).
    if let Some(out) = s.inflight.remove(&packet_id)
        && let Some(id) = out.db_id
    {
        conn.shared.store.submit(vec![Op::DelMsg { id }]);
    }
    if !s.queue.is_empty() {
        conn.notify.notify_one();
    }
    Ok(())
}
