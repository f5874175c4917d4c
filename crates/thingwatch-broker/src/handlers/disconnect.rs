//! DISCONNECT from the client ([MQTT-3.14]): a normal close (no will), or v5 0x04 *Disconnect
//! with Will Message*; a v5 Session Expiry Interval in it updates the session (it may not turn
//! a 0 into non-zero, [MQTT-3.14.2-2]).

use super::{Flow, HandlerError};
use crate::connection::Conn;

pub(crate) fn handle(
    conn: &mut Conn,
    reason: u8,
    session_expiry: Option<u32>,
) -> Result<Flow, HandlerError> {
    if let Some(se) = session_expiry {
        let mut s = conn.session.lock();
        if s.expiry_secs == 0 && se > 0 {
            return Err(HandlerError::Protocol(
                "session expiry set on DISCONNECT after 0 at CONNECT",
            ));
        }
        s.expiry_secs = se.min(conn.shared.config.session_expiry_secs());
    }
    Ok(Flow::ClientDisconnect {
        send_will: reason == 0x04,
    })
}
