//! The hand-written JSON writer behind [`crate::encode_into`]: the entry header, the attribute
//! members of an event ([`JsonFields`]) and the pieces that dominated the profile of the
//! serde-based encoder (issue #6 performance pass, BENCHMARKS.md): the `timestamp` text
//! (calendar arithmetic and `core::fmt` per entry; now once per second per thread), string
//! escaping (a scan, then one copy when nothing needs escaping), the source IP (no `fmt` for
//! IPv4) and the trace ID.
//!
//! The output is byte-for-byte what `serde_json` writes for the same members (compact form,
//! the same escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as
//! `\u00XX` with lower-case hex, everything else as UTF-8); the tests in `event.rs` check
//! the two encoders against each other.

use std::cell::Cell;
use std::net::IpAddr;

/// Appends `s` as a JSON string literal (quotes included), escaped as `serde_json` does.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Branch-free scan (vectorises); most attribute values need no escaping at all.
    let needs_escape = bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.extend_from_slice(bytes);
    } else {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x0c => b"\\f",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x00..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            if short.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            } else {
                out.extend_from_slice(short);
            }
            start = i + 1;
        }
        out.extend_from_slice(&bytes[start..]);
    }
    out.push(b'"');
}

/// Appends the decimal digits of `v`.
pub(crate) fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends an IP address as a JSON string: dotted quad for IPv4 without `core::fmt`, the
/// standard library's text form for IPv6.
fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            out.push(b'"');
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                write_u64(out, u64::from(octet));
            }
            out.push(b'"');
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            out.push(b'"');
            let _ = write!(out, "{v6}");
            out.push(b'"');
        }
    }
}

/// The members of a JSON object written after at least one other member: every call
/// appends `,"key":value`. Keys are `'static` attribute names that need no escaping; values
/// are escaped. Handed to [`crate::IotLogEvent::write_attributes`].
pub struct JsonFields<'o> {
    out: &'o mut Vec<u8>,
}

impl<'o> JsonFields<'o> {
    /// Members appended to `out`, which must already hold `{` and at least one member.
    pub(crate) fn new(out: &'o mut Vec<u8>) -> Self {
        JsonFields { out }
    }

    fn key(&mut self, key: &'static str) {
        debug_assert!(
            key.bytes()
                .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x80)
        );
        self.out.extend_from_slice(b",\"");
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// `,"key":"value"` (value escaped).
    pub fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        write_str(self.out, value);
    }

    /// `,"key":123`.
    pub fn u64(&mut self, key: &'static str, value: u64) {
        self.key(key);
        write_u64(self.out, value);
    }

    /// `,"key":"192.0.2.1"`.
    pub fn ip(&mut self, key: &'static str, value: IpAddr) {
        self.key(key);
        write_ip(self.out, value);
    }

    /// Appends the members of an already-encoded JSON object (`{…}`, as `serde_json` writes
    /// it), dropping its braces: the fallback for events without a hand-written encoder.
    pub(crate) fn members_of(&mut self, object: &[u8]) {
        if object.len() > 2 && object.first() == Some(&b'{') && object.last() == Some(&b'}') {
            self.out.push(b',');
            self.out.extend_from_slice(&object[1..object.len() - 1]);
        }
    }
}

/// Last second a thread formatted, and its `YYYY-MM-DD HH:MM:SS` text.
#[derive(Clone, Copy)]
struct SecondText {
    second: i64,
    text: [u8; 19],
}

thread_local! {
    static LAST_SECOND: Cell<Option<SecondText>> = const { Cell::new(None) };
}

/// Largest epoch second with a four-digit year (9999-12-31 23:59:59 UTC).
const MAX_FOUR_DIGIT_SECOND: i64 = 253_402_300_799;

/// Appends the `timestamp` text `YYYY-MM-DD HH:MM:SS.mmm` (UTC) of `epoch_ms`. The calendar
/// part is computed once per second per thread; the milliseconds are three digits.
pub(crate) fn write_timestamp(out: &mut Vec<u8>, epoch_ms: i64) {
    let second = epoch_ms.div_euclid(1000);
    let millis = epoch_ms.rem_euclid(1000) as u16;
    if !(0..=MAX_FOUR_DIGIT_SECOND).contains(&second) {
        // Outside what a 19-byte cache holds: the general formatter.
        out.extend_from_slice(crate::event::format_timestamp(epoch_ms).as_bytes());
        return;
    }
    let text = LAST_SECOND.with(|cell| match cell.get() {
        Some(c) if c.second == second => c.text,
        _ => {
            let text = calendar_text(second);
            cell.set(Some(SecondText { second, text }));
            text
        }
    });
    out.extend_from_slice(&text);
    out.extend_from_slice(&[
        b'.',
        b'0' + (millis / 100) as u8,
        b'0' + (millis / 10 % 10) as u8,
        b'0' + (millis % 10) as u8,
    ]);
}

fn calendar_text(second: i64) -> [u8; 19] {
    let dt = time::OffsetDateTime::from_unix_timestamp(second)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut t = [0u8; 19];
    let two = |t: &mut [u8], at: usize, v: u8| {
        t[at] = b'0' + v / 10;
        t[at + 1] = b'0' + v % 10;
    };
    let year = dt.year().clamp(0, 9999) as u16;
    t[0] = b'0' + (year / 1000) as u8;
    t[1] = b'0' + (year / 100 % 10) as u8;
    t[2] = b'0' + (year / 10 % 10) as u8;
    t[3] = b'0' + (year % 10) as u8;
    t[4] = b'-';
    two(&mut t, 5, u8::from(dt.month()));
    t[7] = b'-';
    two(&mut t, 8, dt.day());
    t[10] = b' ';
    two(&mut t, 11, dt.hour());
    t[13] = b':';
    two(&mut t, 14, dt.minute());
    t[16] = b':';
    two(&mut t, 17, dt.second());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_exactly_as_serde_json() {
        let cases = [
            "",
            "plain/topic",
            "quote\"back\\slash",
            "tab\tnl\ncr\rbs\u{8}ff\u{c}",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "unicode é ✓ 😀 / </script>",
        ];
        for s in cases {
            let mut ours = Vec::new();
            write_str(&mut ours, s);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn integers_and_addresses() {
        for v in [0u64, 7, 10, 65535, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        for ip in [
            "0.0.0.0",
            "205.251.233.181",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let mut out = Vec::new();
            write_ip(&mut out, ip.parse().unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"{ip}\""));
        }
    }

    #[test]
    fn timestamps_match_the_general_formatter_across_seconds_and_edges() {
        let cases = [
            0i64,
            1,
            999,
            1_000,
            1_502_379_443_476,
            1_502_379_443_999,
            1_502_379_444_000,
            951_782_400_000 - 1, // 2000-02-28 23:59:59.999 → leap day next
            951_868_800_000,     // 2000-03-01
            MAX_FOUR_DIGIT_SECOND * 1000 + 999,
            MAX_FOUR_DIGIT_SECOND * 1000 + 1000,
            -1,
        ];
        for ms in cases {
            // Twice: the second call is served from the per-second cache.
            for _ in 0..2 {
                let mut out = Vec::new();
                write_timestamp(&mut out, ms);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    crate::event::format_timestamp(ms),
                    "{ms}"
                );
            }
        }
    }
}
