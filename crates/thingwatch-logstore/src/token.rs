//! Opaque pagination tokens: produced and validated by the store only.
//!
//! - FilterLogEvents / Describe* tokens: URL-safe base64 of `version(1) kind(1) payload`.
//! - GetLogEvents tokens: `f/` or `b/` (as AWS) followed by 50 decimal digits:
//!   20 of the encoded timestamp, 20 of the seq, 10 of the stream id.
//!
//! Anything that does not decode exactly is rejected with "The specified nextToken is invalid.".

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::StoreError;
use crate::error::invalid_token;
use crate::keys::Pos;

const VERSION: u8 = 1;
const KIND_FILTER: u8 = b'F';
const KIND_GROUPS: u8 = b'G';
const KIND_STREAMS: u8 = b'S';

fn wrap(kind: u8, payload: &[u8]) -> String {
    let mut raw = Vec::with_capacity(2 + payload.len());
    raw.push(VERSION);
    raw.push(kind);
    raw.extend_from_slice(payload);
    URL_SAFE_NO_PAD.encode(raw)
}

fn unwrap(kind: u8, token: &str) -> Result<Vec<u8>, StoreError> {
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid_token())?;
    match raw.as_slice() {
        [VERSION, k, ..] if *k == kind => Ok(raw[2..].to_vec()),
        _ => Err(invalid_token()),
    }
}

/// FilterLogEvents token: resume strictly after `pos` in group `gid`.
pub(crate) fn filter_encode(gid: u32, pos: Pos) -> String {
    let mut p = Vec::with_capacity(20);
    p.extend_from_slice(&gid.to_be_bytes());
    p.extend_from_slice(&pos.ev_key());
    wrap(KIND_FILTER, &p)
}

/// Decodes a FilterLogEvents token for group `gid`.
pub(crate) fn filter_decode(gid: u32, token: &str) -> Result<Pos, StoreError> {
    let p = unwrap(KIND_FILTER, token)?;
    if p.len() != 20 || p[..4] != gid.to_be_bytes() {
        return Err(invalid_token());
    }
    Pos::from_ev_key(&p[4..]).ok_or_else(invalid_token)
}

/// DescribeLogGroups token: resume after group `name`.
pub(crate) fn groups_encode(name: &str) -> String {
    wrap(KIND_GROUPS, name.as_bytes())
}

/// Decodes a DescribeLogGroups token into the last returned name.
pub(crate) fn groups_decode(token: &str) -> Result<String, StoreError> {
    String::from_utf8(unwrap(KIND_GROUPS, token)?).map_err(|_| invalid_token())
}

/// DescribeLogStreams token: resume after sort key (`order`, `descending`, `last_ts`, `name`).
pub(crate) fn streams_encode(order: u8, descending: bool, last_ts: i64, name: &str) -> String {
    let mut p = Vec::with_capacity(10 + name.len());
    p.push(order);
    p.push(u8::from(descending));
    p.extend_from_slice(&last_ts.to_be_bytes());
    p.extend_from_slice(name.as_bytes());
    wrap(KIND_STREAMS, &p)
}

/// Decodes a DescribeLogStreams token; the order and direction must match the query's.
pub(crate) fn streams_decode(
    order: u8,
    descending: bool,
    token: &str,
) -> Result<(i64, String), StoreError> {
    let p = unwrap(KIND_STREAMS, token)?;
    if p.len() < 10 || p[0] != order || p[1] != u8::from(descending) {
        return Err(invalid_token());
    }
    let ts = i64::from_be_bytes(p[2..10].try_into().map_err(|_| invalid_token())?);
    let name = String::from_utf8(p[10..].to_vec()).map_err(|_| invalid_token())?;
    Ok((ts, name))
}

/// Direction of a GetLogEvents token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// `f/…`: events strictly after the position.
    Forward,
    /// `b/…`: events strictly before the position.
    Backward,
}

/// GetLogEvents token for stream `sid`.
pub(crate) fn get_encode(dir: Dir, sid: u32, pos: Pos) -> String {
    let d = match dir {
        Dir::Forward => 'f',
        Dir::Backward => 'b',
    };
    format!("{d}/{:020}{:020}{:010}", pos.ts, pos.seq, sid)
}

/// Decodes a GetLogEvents token; it must belong to stream `sid`.
pub(crate) fn get_decode(sid: u32, token: &str) -> Result<(Dir, Pos), StoreError> {
    let (dir, digits) = if let Some(d) = token.strip_prefix("f/") {
        (Dir::Forward, d)
    } else if let Some(d) = token.strip_prefix("b/") {
        (Dir::Backward, d)
    } else {
        return Err(invalid_token());
    };
    if digits.len() != 50 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_token());
    }
    let ts: u64 = digits[..20].parse().map_err(|_| invalid_token())?;
    let seq: u64 = digits[20..40].parse().map_err(|_| invalid_token())?;
    let tok_sid: u32 = digits[40..].parse().map_err(|_| invalid_token())?;
    if tok_sid != sid {
        return Err(invalid_token());
    }
    Ok((dir, Pos { ts, seq }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let pos = Pos {
            ts: 123,
            seq: u64::MAX,
        };
        assert_eq!(filter_decode(7, &filter_encode(7, pos)), Ok(pos));
        assert_eq!(groups_decode(&groups_encode("/a/b")), Ok("/a/b".into()));
        assert_eq!(
            streams_decode(1, true, &streams_encode(1, true, -4, "s")),
            Ok((-4, "s".into()))
        );
        let t = get_encode(Dir::Backward, 42, pos);
        assert!(t.starts_with("b/") && t.len() == 52, "{t}");
        assert_eq!(get_decode(42, &t), Ok((Dir::Backward, pos)));
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let pos = Pos { ts: 1, seq: 2 };
        let bad = [
            filter_decode(8, &filter_encode(7, pos)),
            filter_decode(7, "not base64 !!"),
            filter_decode(7, &groups_encode("x")),
            filter_decode(7, ""),
        ];
        for r in bad {
            assert_eq!(r, Err(invalid_token()));
        }
        assert_eq!(
            streams_decode(0, false, &streams_encode(1, false, 0, "s")),
            Err(invalid_token())
        );
        assert_eq!(
            get_decode(1, &get_encode(Dir::Forward, 2, pos)),
            Err(invalid_token())
        );
        for t in [
            "x/123",
            "f/12",
            "f/+0000000000000000000000000000000000000000000000000",
            "f/99999999999999999999000000000000000000000000000001",
        ] {
            assert_eq!(get_decode(1, t), Err(invalid_token()), "{t}");
        }
    }
}
