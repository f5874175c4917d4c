//! Event blocks: the unit of storage of log events.
//!
//! One append call writes, per log group, its events sorted by (timestamp, seq) and cut into
//! blocks that span at most [`MAX_BLOCK_SPAN_MS`] of event time, [`MAX_BLOCK_EVENTS`] events
//! and [`MAX_BLOCK_RAW_BYTES`] of messages. A block is one fjall value:
//!
//! ```text
//! key   (ev{gid}):  min_ts(8) first_seq(8)            — see keys::Pos
//! value: codec(1: 1=zstd, 2=lz4)  count(u32)  ingestion_time(i64)  raw_len(u32)
//!        n_sids(u16)  sid(u32)*n
//!        codec( per event: varint ts-min_ts, varint seq-first_seq, varint sid_index,
//!               varint len; then all messages back to back )
//! ```
//!
//! Many events per key remove the per-key LSM overhead, and zstd over ~100 KB of similar JSON
//! compresses far better than per-4 KiB lz4 (measured in the ADR). The stream ids sit outside
//! the compressed part so readers skip blocks of other streams without decompressing.
//! Because a block spans at most [`MAX_BLOCK_SPAN_MS`], every block holding an event at time
//! `t` has `min_ts >= t - MAX_BLOCK_SPAN_MS`: readers seek there and merge.

use crate::StoreError;
use crate::keys::Pos;

/// Maximum event-time span (ms) of one block; bounds how far back a reader must seek.
pub(crate) const MAX_BLOCK_SPAN_MS: u64 = 1_000;
/// Maximum events per block.
pub(crate) const MAX_BLOCK_EVENTS: usize = 4_096;
/// Maximum message bytes per block (before compression).
pub(crate) const MAX_BLOCK_RAW_BYTES: usize = 512 * 1024;

const CODEC_ZSTD: u8 = 1;
const CODEC_LZ4: u8 = 2;
const HEADER_LEN: usize = 19;

/// Block compression codec (see the ADR for the measured trade-off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// zstd at the given level (1 = fast; 3 = zstd's default; negative = faster).
    Zstd(i32),
    /// lz4 block format (lz4_flex): faster to decode, larger.
    Lz4,
}

/// Reusable block encoder (one zstd context), used under the store's write lock.
pub(crate) struct Encoder {
    codec: Codec,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl Encoder {
    pub fn new(codec: Codec) -> Result<Encoder, StoreError> {
        let zstd = match codec {
            Codec::Zstd(level) => Some(zstd::bulk::Compressor::new(level)?),
            Codec::Lz4 => None,
        };
        Ok(Encoder { codec, zstd })
    }

    fn compress(&mut self, raw: &[u8]) -> Result<(u8, Vec<u8>), StoreError> {
        match (&mut self.zstd, self.codec) {
            (Some(z), _) => Ok((CODEC_ZSTD, z.compress(raw)?)),
            _ => Ok((CODEC_LZ4, lz4_flex::block::compress(raw))),
        }
    }
}

/// One event to encode: position, stream id, message.
pub(crate) struct NewEvent<'a> {
    pub pos: Pos,
    pub sid: u32,
    pub message: &'a str,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Cuts events (already sorted by position) into block-sized runs.
pub(crate) fn split<'a, 'b>(events: &'b [NewEvent<'a>]) -> Vec<&'b [NewEvent<'a>]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0usize;
    for (i, e) in events.iter().enumerate() {
        let first = &events[start];
        if i > start
            && (e.pos.ts - first.pos.ts > MAX_BLOCK_SPAN_MS
                || i - start >= MAX_BLOCK_EVENTS
                || bytes + e.message.len() > MAX_BLOCK_RAW_BYTES)
        {
            out.push(&events[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += e.message.len();
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

/// Encodes a non-empty run of events sorted by position. Returns (first position = key,
/// value, distinct stream ids).
pub(crate) fn encode(
    enc: &mut Encoder,
    events: &[NewEvent<'_>],
    ingestion: i64,
) -> Result<(Pos, Vec<u8>, Vec<u32>), StoreError> {
    let first = events
        .first()
        .ok_or_else(|| StoreError::Storage("empty block".into()))?;
    let min_ts = first.pos.ts;
    let first_seq = events
        .iter()
        .map(|e| e.pos.seq)
        .min()
        .unwrap_or(first.pos.seq);
    let mut sids: Vec<u32> = Vec::new();
    let mut raw = Vec::with_capacity(events.iter().map(|e| e.message.len() + 8).sum());
    for e in events {
        let idx = match sids.iter().position(|s| *s == e.sid) {
            Some(i) => i,
            None => {
                sids.push(e.sid);
                sids.len() - 1
            }
        };
        put_varint(&mut raw, e.pos.ts - min_ts);
        put_varint(&mut raw, e.pos.seq - first_seq);
        put_varint(&mut raw, idx as u64);
        put_varint(&mut raw, e.message.len() as u64);
    }
    for e in events {
        raw.extend_from_slice(e.message.as_bytes());
    }
    let n_sids = u16::try_from(sids.len())
        .map_err(|_| StoreError::Storage("too many streams in one block".into()))?;
    let count = u32::try_from(events.len())
        .map_err(|_| StoreError::Storage("too many events in one block".into()))?;
    let raw_len =
        u32::try_from(raw.len()).map_err(|_| StoreError::Storage("block too large".into()))?;
    let (codec, compressed) = enc.compress(&raw)?;
    let mut v = Vec::with_capacity(HEADER_LEN + 4 * sids.len() + compressed.len());
    v.push(codec);
    v.extend_from_slice(&count.to_be_bytes());
    v.extend_from_slice(&ingestion.to_be_bytes());
    v.extend_from_slice(&raw_len.to_be_bytes());
    v.extend_from_slice(&n_sids.to_be_bytes());
    for s in &sids {
        v.extend_from_slice(&s.to_be_bytes());
    }
    v.extend_from_slice(&compressed);
    Ok((
        Pos {
            ts: min_ts,
            seq: first_seq,
        },
        v,
        sids,
    ))
}

/// The uncompressed header of a block.
pub(crate) struct Header<'v> {
    codec: u8,
    raw_len: usize,
    pub count: usize,
    pub ingestion: i64,
    sids: &'v [u8],
    body: &'v [u8],
}

impl Header<'_> {
    /// Whether the block holds events of a stream accepted by `want`.
    pub fn has_stream(&self, want: impl Fn(u32) -> bool) -> bool {
        self.sids
            .chunks_exact(4)
            .any(|c| want(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }
}

fn corrupt() -> StoreError {
    StoreError::Storage("corrupt event block".into())
}

/// Parses the header of a block value.
pub(crate) fn header(v: &[u8]) -> Result<Header<'_>, StoreError> {
    if v.len() < HEADER_LEN || !matches!(v[0], CODEC_ZSTD | CODEC_LZ4) {
        return Err(corrupt());
    }
    let count = u32::from_be_bytes([v[1], v[2], v[3], v[4]]) as usize;
    let ingestion = i64::from_be_bytes(v[5..13].try_into().map_err(|_| corrupt())?);
    let raw_len = u32::from_be_bytes([v[13], v[14], v[15], v[16]]) as usize;
    let n = u16::from_be_bytes([v[17], v[18]]) as usize;
    let end = HEADER_LEN + 4 * n;
    if v.len() < end
        || raw_len > MAX_BLOCK_RAW_BYTES.max(crate::limits::MAX_EVENT_BYTES) + count * 40
    {
        return Err(corrupt());
    }
    Ok(Header {
        codec: v[0],
        raw_len,
        count,
        ingestion,
        sids: &v[HEADER_LEN..end],
        body: &v[end..],
    })
}

/// Reusable block decoder: one zstd context and buffers for a whole scan.
pub(crate) struct Decoder {
    dctx: zstd::bulk::Decompressor<'static>,
    /// (position, stream id, message byte range in `data`) of the last decoded block.
    pub events: Vec<(Pos, u32, std::ops::Range<usize>)>,
    /// Decompressed payload of the last decoded block; messages are slices of it.
    pub data: Vec<u8>,
    /// The distinct stream ids of the last decoded block, in header order.
    pub sids: Vec<u32>,
    /// Per event of `events`: the index of its stream id in `sids`.
    pub sid_index: Vec<u16>,
}

impl Decoder {
    pub fn new() -> Result<Decoder, StoreError> {
        Ok(Decoder {
            dctx: zstd::bulk::Decompressor::new()?,
            events: Vec::new(),
            data: Vec::new(),
            sids: Vec::new(),
            sid_index: Vec::new(),
        })
    }

    /// Decompresses and decodes the block stored under key position `key` into `self`.
    pub fn decode(&mut self, key: Pos, h: &Header<'_>) -> Result<(), StoreError> {
        self.data.clear();
        if h.codec == CODEC_ZSTD {
            self.data.reserve(h.raw_len);
            self.dctx
                .decompress_to_buffer(h.body, &mut self.data)
                .map_err(|_| corrupt())?;
        } else {
            self.data.resize(h.raw_len, 0);
            let n =
                lz4_flex::block::decompress_into(h.body, &mut self.data).map_err(|_| corrupt())?;
            self.data.truncate(n);
        }
        if self.data.len() != h.raw_len {
            return Err(corrupt());
        }
        let data = &self.data;
        self.events.clear();
        self.sid_index.clear();
        self.sids.clear();
        self.sids.extend(
            h.sids
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
        );
        let mut at = 0usize;
        for _ in 0..h.count {
            let dts = get_varint(data, &mut at).ok_or_else(corrupt)?;
            let dseq = get_varint(data, &mut at).ok_or_else(corrupt)?;
            let idx = get_varint(data, &mut at).ok_or_else(corrupt)?;
            let len = get_varint(data, &mut at).ok_or_else(corrupt)? as usize;
            // n_sids is a u16 in the header, so a valid index fits.
            let idx = u16::try_from(idx).map_err(|_| corrupt())?;
            let sid = *self.sids.get(usize::from(idx)).ok_or_else(corrupt)?;
            self.sid_index.push(idx);
            let pos = Pos {
                ts: key.ts.checked_add(dts).ok_or_else(corrupt)?,
                seq: key.seq.checked_add(dseq).ok_or_else(corrupt)?,
            };
            // Temporarily store the length in the range end; fixed up below.
            self.events.push((pos, sid, 0..len));
        }
        for ev in self.events.iter_mut() {
            let end = at
                .checked_add(ev.2.end)
                .filter(|e| *e <= data.len())
                .ok_or_else(corrupt)?;
            ev.2 = at..end;
            at = end;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_round_trip() {
        let msgs = ["alpha", "", "gamma é", "delta"];
        let events: Vec<NewEvent<'_>> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| NewEvent {
                pos: Pos {
                    ts: 1_000 + i as u64 * 10,
                    seq: 50 + i as u64,
                },
                sid: if i % 2 == 0 { 7 } else { 9 },
                message: m,
            })
            .collect();
        for codec in [Codec::Zstd(3), Codec::Lz4] {
            let mut enc = Encoder::new(codec).unwrap_or_else(|e| panic!("{e}"));
            let (key, value, sids) =
                encode(&mut enc, &events, 1234).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(key, Pos { ts: 1_000, seq: 50 });
            assert_eq!(sids, vec![7, 9]);
            let h = header(&value).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((h.count, h.ingestion), (4, 1234));
            assert!(h.has_stream(|s| s == 9) && !h.has_stream(|s| s == 8));
            let mut d = Decoder::new().unwrap_or_else(|e| panic!("{e}"));
            d.decode(key, &h).unwrap_or_else(|e| panic!("{e}"));
            for (i, (pos, sid, r)) in d.events.iter().enumerate() {
                assert_eq!(*pos, events[i].pos);
                assert_eq!(*sid, events[i].sid);
                assert_eq!(&d.data[r.clone()], msgs[i].as_bytes());
            }
            assert!(header(&value[..10]).is_err());
            let mut bad = value.clone();
            bad.truncate(bad.len() - 3);
            assert!(header(&bad).and_then(|h| d.decode(key, &h)).is_err());
        }
    }

    #[test]
    fn split_respects_span_and_count() {
        let msg = "x";
        let events: Vec<NewEvent<'_>> = (0..10u64)
            .map(|i| NewEvent {
                pos: Pos {
                    ts: i * 400,
                    seq: i,
                },
                sid: 1,
                message: msg,
            })
            .collect();
        let runs = split(&events);
        for r in &runs {
            assert!(r[r.len() - 1].pos.ts - r[0].pos.ts <= MAX_BLOCK_SPAN_MS);
        }
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 10);
        assert_eq!(runs.len(), 4); // 0..=800, 1200..=2000, 2400..=3200, 3600
    }
}
