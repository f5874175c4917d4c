//! Binary key and value layout of the log store (all integers big-endian so byte order is
//! numeric order).
//!
//! Keyspaces (fjall partitions):
//! - `meta` — catalog: `G`+group name → [`GroupRec`]; `S`+gid(4)+stream name → [`StreamRec`];
//!   `C`+counter name → u64 counters.
//! - `ev{gid}` — one per log group, the event blocks (`crate::block`): key
//!   `min_ts(8) first_seq(8)` → compressed block of that group's events. Key order is
//!   timestamp order across all streams of the group, so FilterLogEvents is one forward range
//!   scan that seeks to `startTime` minus the maximum block span, merging overlapping blocks.
//! - `ix{gid}` — per-stream index of the blocks: key `sid(4) min_ts(8) first_seq(8)` → empty,
//!   one entry per (stream, block). A stream's blocks are one contiguous key range, read
//!   forwards or backwards by GetLogEvents.
//!
//! `ts` is the event timestamp (i64 ms) with its sign bit flipped so negative times sort first;
//! `seq` is a store-wide unique, increasing u64 (`epoch << 40 | counter`, the epoch bumped at
//! every open), which orders events of equal timestamp by arrival and makes the event id.

/// Length of an event key in `ev{gid}`.
pub(crate) const EV_KEY_LEN: usize = 16;
/// Length of an index key in `ix{gid}`.
pub(crate) const IX_KEY_LEN: usize = 20;

/// Order-preserving u64 encoding of an i64 timestamp.
pub(crate) fn ts_enc(ts: i64) -> u64 {
    (ts as u64) ^ (1u64 << 63)
}

/// Inverse of [`ts_enc`].
pub(crate) fn ts_dec(v: u64) -> i64 {
    (v ^ (1u64 << 63)) as i64
}

/// Position of an event inside a group: (encoded timestamp, seq). Ordered like the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub ts: u64,
    pub seq: u64,
}

impl Pos {
    /// The smallest position at or after timestamp `ts`.
    pub fn at_time(ts: i64) -> Pos {
        Pos {
            ts: ts_enc(ts),
            seq: 0,
        }
    }
    /// The next position in key order (saturating at the maximum).
    pub fn succ(self) -> Pos {
        match self.seq.checked_add(1) {
            Some(seq) => Pos { ts: self.ts, seq },
            None => match self.ts.checked_add(1) {
                Some(ts) => Pos { ts, seq: 0 },
                None => self,
            },
        }
    }
    /// The previous position in key order (saturating at zero).
    pub fn pred(self) -> Pos {
        match self.seq.checked_sub(1) {
            Some(seq) => Pos { ts: self.ts, seq },
            None => match self.ts.checked_sub(1) {
                Some(ts) => Pos { ts, seq: u64::MAX },
                None => self,
            },
        }
    }
    /// Event key in `ev{gid}`.
    pub fn ev_key(self) -> [u8; EV_KEY_LEN] {
        let mut k = [0u8; EV_KEY_LEN];
        k[..8].copy_from_slice(&self.ts.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
    /// Index key in `ix{gid}` for stream `sid`.
    pub fn ix_key(self, sid: u32) -> [u8; IX_KEY_LEN] {
        let mut k = [0u8; IX_KEY_LEN];
        k[..4].copy_from_slice(&sid.to_be_bytes());
        k[4..12].copy_from_slice(&self.ts.to_be_bytes());
        k[12..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
    /// Decodes an `ev{gid}` key; `None` if malformed.
    pub fn from_ev_key(k: &[u8]) -> Option<Pos> {
        if k.len() != EV_KEY_LEN {
            return None;
        }
        Some(Pos {
            ts: u64::from_be_bytes(k[..8].try_into().ok()?),
            seq: u64::from_be_bytes(k[8..].try_into().ok()?),
        })
    }
    /// Decodes an `ix{gid}` key into (sid, pos); `None` if malformed.
    pub fn from_ix_key(k: &[u8]) -> Option<(u32, Pos)> {
        if k.len() != IX_KEY_LEN {
            return None;
        }
        let sid = u32::from_be_bytes(k[..4].try_into().ok()?);
        let pos = Pos::from_ev_key(&k[4..])?;
        Some((sid, pos))
    }
    /// The timestamp in ms.
    pub fn time(self) -> i64 {
        ts_dec(self.ts)
    }
    /// The AWS-style decimal event id: 20 digits of timestamp key + 20 digits of seq.
    pub fn event_id(self) -> String {
        let mut digits = [b'0'; 40];
        let (a, b) = digits.split_at_mut(20);
        put_digits(a, self.ts);
        put_digits(b, self.seq);
        // One allocation and copy (collecting chars pushed them one by one, and one division
        // per digit made this ~10 % of a FilterLogEvents scan returning many events).
        std::str::from_utf8(&digits).map_or_else(|_| String::new(), str::to_owned)
    }
}

/// Writes `v` as 20 zero-padded decimal digits (u64::MAX has 20), four digits per division.
fn put_digits(out: &mut [u8], mut v: u64) {
    for chunk in out.rchunks_exact_mut(4) {
        if v == 0 {
            break;
        }
        let mut q = (v % 10_000) as u32;
        v /= 10_000;
        for d in chunk.iter_mut().rev() {
            *d = b'0' + (q % 10) as u8;
            q /= 10;
        }
    }
}

/// Catalog key of a group.
pub(crate) fn group_key(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + name.len());
    k.push(b'G');
    k.extend_from_slice(name.as_bytes());
    k
}

/// Catalog key of a stream.
pub(crate) fn stream_key(gid: u32, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + name.len());
    k.push(b'S');
    k.extend_from_slice(&gid.to_be_bytes());
    k.extend_from_slice(name.as_bytes());
    k
}

/// Catalog key of a named counter.
pub(crate) fn counter_key(name: &str) -> Vec<u8> {
    let mut k = vec![b'C'];
    k.extend_from_slice(name.as_bytes());
    k
}

/// Persisted log group record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupRec {
    pub gid: u32,
    pub creation_time: i64,
    /// 0 = no retention policy.
    pub retention_days: u32,
}

impl GroupRec {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&self.gid.to_be_bytes());
        v.extend_from_slice(&self.creation_time.to_be_bytes());
        v.extend_from_slice(&self.retention_days.to_be_bytes());
        v
    }
    pub fn decode(v: &[u8]) -> Option<GroupRec> {
        if v.len() != 16 {
            return None;
        }
        Some(GroupRec {
            gid: u32::from_be_bytes(v[..4].try_into().ok()?),
            creation_time: i64::from_be_bytes(v[4..12].try_into().ok()?),
            retention_days: u32::from_be_bytes(v[12..16].try_into().ok()?),
        })
    }
}

/// Persisted log stream record; `i64::MIN` encodes "no events yet" for the time fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamRec {
    pub sid: u32,
    pub creation_time: i64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub last_ingestion: i64,
    pub stored_bytes: u64,
}

impl StreamRec {
    pub fn new(sid: u32, creation_time: i64) -> StreamRec {
        StreamRec {
            sid,
            creation_time,
            first_ts: i64::MIN,
            last_ts: i64::MIN,
            last_ingestion: i64::MIN,
            stored_bytes: 0,
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(44);
        v.extend_from_slice(&self.sid.to_be_bytes());
        for x in [
            self.creation_time,
            self.first_ts,
            self.last_ts,
            self.last_ingestion,
        ] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(&self.stored_bytes.to_be_bytes());
        v
    }
    pub fn decode(v: &[u8]) -> Option<StreamRec> {
        if v.len() != 44 {
            return None;
        }
        let i =
            |o: usize| -> Option<i64> { Some(i64::from_be_bytes(v[o..o + 8].try_into().ok()?)) };
        Some(StreamRec {
            sid: u32::from_be_bytes(v[..4].try_into().ok()?),
            creation_time: i(4)?,
            first_ts: i(12)?,
            last_ts: i(20)?,
            last_ingestion: i(28)?,
            stored_bytes: u64::from_be_bytes(v[36..44].try_into().ok()?),
        })
    }
    pub fn opt(x: i64) -> Option<i64> {
        (x != i64::MIN).then_some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_encoding_preserves_order() {
        let ts = [i64::MIN, -5, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        for w in ts.windows(2) {
            assert!(ts_enc(w[0]) < ts_enc(w[1]), "{w:?}");
            assert_eq!(ts_dec(ts_enc(w[0])), w[0]);
        }
    }

    #[test]
    fn keys_round_trip_and_order() {
        let a = Pos {
            ts: ts_enc(10),
            seq: 7,
        };
        let b = Pos {
            ts: ts_enc(10),
            seq: 8,
        };
        let c = Pos {
            ts: ts_enc(11),
            seq: 1,
        };
        assert!(a.ev_key() < b.ev_key() && b.ev_key() < c.ev_key());
        assert_eq!(Pos::from_ev_key(&c.ev_key()), Some(c));
        assert_eq!(Pos::from_ix_key(&c.ix_key(9)), Some((9, c)));
        assert_eq!(a.succ(), b);
        assert_eq!(b.pred(), a);
        assert_eq!(
            Pos { ts: 3, seq: 0 }.pred(),
            Pos {
                ts: 2,
                seq: u64::MAX
            }
        );
        assert_eq!(Pos::from_ev_key(b"short"), None);
        let id = Pos {
            ts: 42,
            seq: u64::MAX,
        }
        .event_id();
        assert_eq!(id, format!("{:020}{:020}", 42, u64::MAX));
        for (ts, seq) in [(0, 0), (u64::MAX, 10), (1 << 63, 1_000_000_007)] {
            assert_eq!(
                Pos { ts, seq }.event_id(),
                format!("{ts:020}{seq:020}"),
                "{ts} {seq}"
            );
        }
    }

    #[test]
    fn records_round_trip() {
        let g = GroupRec {
            gid: 3,
            creation_time: 99,
            retention_days: 7,
        };
        assert_eq!(GroupRec::decode(&g.encode()), Some(g));
        let mut s = StreamRec::new(5, 100);
        s.stored_bytes = 1234;
        s.last_ts = 55;
        assert_eq!(StreamRec::decode(&s.encode()), Some(s));
    }
}
