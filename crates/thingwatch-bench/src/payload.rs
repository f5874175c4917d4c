//! The benchmark payload: a fixed 16-byte header (sequence number and send timestamp) followed
//! by filler up to the configured size.
//!
//! Layout, little-endian: bytes 0..8 = per-publisher sequence number (`u64`, from 0), bytes
//! 8..16 = send time in nanoseconds since the run's epoch (`u64`, a monotonic clock shared by
//! every task in the generator process), bytes 16.. = `b'x'` filler. Publishers and subscribers
//! live in the same process, so the timestamp needs no clock synchronisation.

use bytes::{BufMut, Bytes, BytesMut};

/// Size of the header at the start of every payload, in bytes.
pub const HEADER_BYTES: usize = 16;

/// The decoded payload header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Per-publisher sequence number, starting at 0.
    pub seq: u64,
    /// Send time, nanoseconds since the run epoch.
    pub sent_ns: u64,
}

/// Why a received payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Fewer than [`HEADER_BYTES`] bytes.
    #[error("payload of {0} bytes is shorter than the {HEADER_BYTES}-byte header")]
    TooShort(usize),
}

/// Builds a payload of exactly `size` bytes (callers guarantee `size >= HEADER_BYTES`; a
/// smaller `size` still yields the full 16-byte header so the header is never truncated).
pub fn encode(header: Header, size: usize) -> Bytes {
    let mut buf = BytesMut::with_capacity(size.max(HEADER_BYTES));
    buf.put_u64_le(header.seq);
    buf.put_u64_le(header.sent_ns);
    buf.resize(size.max(HEADER_BYTES), b'x');
    buf.freeze()
}

/// Reads the header from a received payload.
///
/// # Errors
/// [`PayloadError::TooShort`] if the payload is shorter than [`HEADER_BYTES`] (a message that
/// did not come from this generator).
pub fn decode(payload: &[u8]) -> Result<Header, PayloadError> {
    let (seq, rest) = payload
        .split_first_chunk::<8>()
        .ok_or(PayloadError::TooShort(payload.len()))?;
    let (sent, _) = rest
        .split_first_chunk::<8>()
        .ok_or(PayloadError::TooShort(payload.len()))?;
    Ok(Header {
        seq: u64::from_le_bytes(*seq),
        sent_ns: u64::from_le_bytes(*sent),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pads_to_size() {
        let h = Header {
            seq: 0x0102_0304_0506_0708,
            sent_ns: 42,
        };
        let p = encode(h, 64);
        assert_eq!(p.len(), 64);
        assert_eq!(
            &p[..16],
            &[8, 7, 6, 5, 4, 3, 2, 1, 42, 0, 0, 0, 0, 0, 0, 0][..]
        );
        assert!(p[16..].iter().all(|&b| b == b'x'));
        assert_eq!(decode(&p), Ok(h));
    }

    #[test]
    fn never_truncates_header() {
        let h = Header { seq: 7, sent_ns: 9 };
        let p = encode(h, 3);
        assert_eq!(p.len(), HEADER_BYTES);
        assert_eq!(decode(&p), Ok(h));
    }

    #[test]
    fn rejects_short_payloads() {
        for len in [0, 1, 8, 15] {
            assert_eq!(decode(&vec![0; len]), Err(PayloadError::TooShort(len)));
        }
    }
}
