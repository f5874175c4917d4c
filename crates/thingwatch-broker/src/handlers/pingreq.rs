//! PINGREQ → PINGRESP ([MQTT-3.12]); counts `Ping.Success`.

use super::HandlerError;
use crate::codec;
use crate::connection::Conn;
use thingwatch_events::MetricName;

pub(crate) fn handle(conn: &mut Conn) -> Result<(), HandlerError> {
    let bytes = codec::pingresp(conn.version).ok_or(HandlerError::Server("encode PINGRESP"))?;
    conn.out.extend_from_slice(&bytes);
    conn.shared.metric(MetricName::PingSuccess);
    Ok(())
}
