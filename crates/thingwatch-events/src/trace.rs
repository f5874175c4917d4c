//! [`TraceId`]: the random ID that ties together all entries of one request.
//!
//! Source: AWS IoT Developer Guide, *CloudWatch AWS IoT log entries* — "`traceId`: a randomly
//! generated identifier for a call … can be used to find all the log entries for a call".
//! A PUBLISH's `Publish-In` and every `Publish-Out` it causes share one.

use serde::{Serialize, Serializer};
use std::fmt;

/// A 128-bit random trace ID, rendered as a lower-case UUID string
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`). `Copy`, and cheap to create: no syscall, no
/// allocation (a thread-local PRNG).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub u128);

impl TraceId {
    /// A fresh random trace ID.
    #[inline]
    pub fn new() -> TraceId {
        TraceId(fastrand::u128(..))
    }

    /// Renders the 36-byte UUID form into a stack buffer: two hex digits per byte, dashes
    /// after bytes 4, 6, 8 and 10.
    pub(crate) fn render(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0usize;
        for (i, byte) in self.0.to_be_bytes().into_iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0xf)];
            at += 2;
        }
        out
    }
}

impl Default for TraceId {
    fn default() -> Self {
        TraceId::new()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buf = self.render();
        // The buffer holds only ASCII hex digits and dashes.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl Serialize for TraceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let buf = self.render();
        match std::str::from_utf8(&buf) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Err(serde::ser::Error::custom("trace id rendering")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_uuid_layout() {
        let id = TraceId(0x20b23f3f_d7f1_feae_169f_82263394fbdb);
        assert_eq!(id.to_string(), "20b23f3f-d7f1-feae-169f-82263394fbdb");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"20b23f3f-d7f1-feae-169f-82263394fbdb\""
        );
    }

    #[test]
    fn fresh_ids_differ() {
        let a = TraceId::new();
        let b = TraceId::new();
        assert_ne!(a, b);
    }
}
