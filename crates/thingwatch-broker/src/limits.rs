//! AWS IoT Core message-broker limits, as typed constants next to the broker that enforces them.
//!
//! Source: AWS General Reference, *AWS IoT Core endpoints and quotas* (message broker and
//! protocol limits), and the AWS IoT Developer Guide *MQTT* page (`mqtt.md`: keep-alive,
//! persistent sessions, MQTT 5 features). Restated in `shared/reference/aws-iot-logging.md` §5.
//! What the broker does when each is exceeded is documented on the constant.

use std::time::Duration;

/// Largest PUBLISH payload (and CONNECT will payload), bytes: 128 KiB, not adjustable.
/// Exceeded → the connection is closed (v5: DISCONNECT 0x95 *Packet too large*), a
/// `Publish-In`/`Connect` Failure is logged, disconnectReason `CLIENT_ERROR`.
pub const MAX_PAYLOAD_BYTES: usize = 128 * 1024;

/// Largest MQTT packet accepted, bytes: the 128 KiB payload plus room for the fixed header,
/// a 256-byte topic, packet id and v5 properties. Advertised as *Maximum Packet Size* in the
/// v5 CONNACK ([MQTT-3.2.2.3.6]); a packet whose Remaining Length exceeds it is refused before
/// its body is buffered.
pub const MAX_PACKET_BYTES: u32 = (MAX_PAYLOAD_BYTES as u32) + 4 * 1024;

/// Largest topic name, bytes of UTF-8, not counting a Basic Ingest `$aws/rules/<rule>/` prefix.
/// Exceeded on PUBLISH → `Publish-In` Failure and disconnect (v5 0x90 *Topic name invalid*);
/// on SUBSCRIBE → that filter fails in the SUBACK.
pub const MAX_TOPIC_BYTES: usize = 256;

/// Most forward slashes in a topic name or filter (8 levels), not counting a Basic Ingest
/// prefix or the two slashes of `$share/<group>/`. Exceeded → as [`MAX_TOPIC_BYTES`].
pub const MAX_TOPIC_SLASHES: usize = 7;

/// Longest client ID, bytes of UTF-8. Exceeded → CONNACK *Identifier rejected* (v3 0x02) /
/// *Client Identifier not valid* (v5 0x85) and `Connect` Failure.
pub const MAX_CLIENT_ID_BYTES: usize = 128;

/// Most topic filters in one SUBSCRIBE. The filters after the 8th fail in the SUBACK
/// (v3 0x80, v5 0x97 *Quota exceeded*) with a `Subscribe` Failure each.
pub const MAX_FILTERS_PER_SUBSCRIBE: usize = 8;

/// Most subscriptions one connection (session) holds. AWS: "may be rejected … check SUBACK":
/// a filter beyond the 50th fails in the SUBACK (v3 0x80, v5 0x97) with a `Subscribe` Failure.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 50;

/// Longest shared-subscription group name, bytes (`$share/<group>/…`). Exceeded → the filter
/// fails in the SUBACK (v5 0x8F *Topic filter invalid*).
pub const MAX_SHARE_GROUP_BYTES: usize = 128;

/// Topic Alias Maximum the broker accepts from a v5 client and advertises in CONNACK.
/// An alias of 0 or above it → DISCONNECT 0x94 *Topic Alias invalid* ([MQTT-3.3.2-9]).
pub const TOPIC_ALIAS_MAX: u16 = 8;

/// Unacknowledged outbound QoS 1 PUBLISHes per client; further messages wait in the session
/// queue until a PUBACK frees a slot. Also advertised as v5 *Receive Maximum*.
pub const MAX_INFLIGHT: usize = 100;

/// Smallest keep-alive, seconds: a requested 1–29 s is raised to 30 s.
pub const KEEP_ALIVE_MIN_SECS: u16 = 30;

/// Largest keep-alive, seconds: a requested 0 or > 1200 s becomes 1200 s.
pub const KEEP_ALIVE_MAX_SECS: u16 = 1200;

/// Default persistent-session expiry: 1 hour (account setting, raisable to 7 days).
pub const DEFAULT_SESSION_EXPIRY: Duration = Duration::from_secs(3600);

/// Upper bound of the persistent-session expiry setting: 7 days.
pub const MAX_SESSION_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Most messages queued for one session (online but slow, or offline persistent).
/// AWS documents rate limits for stored messages but no per-session count; this bound is
/// ours. At the bound a new message for that session is dropped, counted as
/// `PublishOut.Throttle` and, for an offline session, logged as a `Queued` Failure.
pub const DEFAULT_MAX_QUEUED_PER_SESSION: usize = 1000;

/// Smallest MQTT 5 *Message Expiry Interval*, seconds. AWS IoT supports message expiry with
/// values 1…604,800 s and clamps what is outside (Developer Guide, *MQTT*, MQTT 5 support);
/// a received 0 becomes 1.
pub const MIN_MESSAGE_EXPIRY_SECS: u32 = 1;

/// Largest MQTT 5 *Message Expiry Interval*, seconds (7 days); larger values are clamped to it.
pub const MAX_MESSAGE_EXPIRY_SECS: u32 = 604_800;

/// Clamps a received Message Expiry Interval to AWS's range
/// [`MIN_MESSAGE_EXPIRY_SECS`]…[`MAX_MESSAGE_EXPIRY_SECS`].
pub fn clamp_message_expiry(requested_secs: u32) -> u32 {
    requested_secs.clamp(MIN_MESSAGE_EXPIRY_SECS, MAX_MESSAGE_EXPIRY_SECS)
}

/// Clamps a requested keep-alive to AWS's range: 0 or > 1200 → 1200; 1–29 → 30.
pub fn clamp_keep_alive(requested: u16, min: u16, max: u16) -> u16 {
    if requested == 0 || requested > max {
        max
    } else if requested < min {
        min
    } else {
        requested
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_expiry_clamping_table() {
        for (req, want) in [
            (0, 1),
            (1, 1),
            (60, 60),
            (604_800, 604_800),
            (604_801, 604_800),
            (u32::MAX, 604_800),
        ] {
            assert_eq!(clamp_message_expiry(req), want, "{req}");
        }
    }

    #[test]
    fn keep_alive_clamping_table() {
        for (req, want) in [
            (0, 1200),
            (1, 30),
            (29, 30),
            (30, 30),
            (60, 60),
            (1200, 1200),
            (1201, 1200),
            (u16::MAX, 1200),
        ] {
            assert_eq!(
                clamp_keep_alive(req, KEEP_ALIVE_MIN_SECS, KEEP_ALIVE_MAX_SECS),
                want,
                "{req}"
            );
        }
    }
}
