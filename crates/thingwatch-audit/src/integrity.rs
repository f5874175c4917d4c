//! Integrity beyond AWS's: every record is on a hash chain (`crate::store`), and every hour a
//! **digest** signs the chain value with an Ed25519 key generated per data directory, so
//! [`verify`] proves offline that no record was removed, reordered or altered.
//!
//! CloudTrail validates only log files delivered to S3 (hourly digest files signed with
//! SHA256withRSA, each carrying the previous digest's signature: CloudTrail User Guide,
//! *Validating CloudTrail log file integrity*). Here the same chain of signed digests covers
//! every record of the event history.
//!
//! **Signed string** of a digest (UTF-8, `\n`-separated, the last line without newline):
//! `thingwatch-audit-digest-1`, number, start (epoch ms), end (epoch ms), first seq, last
//! seq, record count, hex chain value at last seq, hex previous signature (empty for the
//! first digest).
//!
//! **Trust.** The private key is `DATA_DIR/audit/digest-key.pk8` (PKCS#8, mode 0600). An
//! attacker who can read it can re-sign a rewritten history; export the public key
//! (`thingwatch audit public-key`) to somewhere else and verify against that copy
//! (`thingwatch audit verify --public-key FILE`). Records written after the last digest are
//! protected by the chain only: removing them from the tail is detectable once the next
//! digest is written (hourly, and when the server stops).

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use crate::store::{DigestRow, GENESIS, Store, StoreError, chain_next};

/// The private key file under the audit directory.
pub const KEY_FILE: &str = "digest-key.pk8";

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410 §4), before the 32 key
/// bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The data directory's digest-signing key.
pub struct DigestKey {
    pair: Ed25519KeyPair,
}

impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl DigestKey {
    /// Loads `dir/digest-key.pk8`, creating it (mode 0600) on first use.
    ///
    /// # Errors
    /// The file cannot be read, written or parsed.
    pub fn load_or_create(dir: &Path) -> Result<DigestKey, String> {
        let path = dir.join(KEY_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("creating {}: {e}", dir.display()))?;
                let rng = ring::rand::SystemRandom::new();
                let doc = Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| "generating the digest key failed".to_owned())?;
                write_private(&path, doc.as_ref())?;
                doc.as_ref().to_vec()
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        let pair = Ed25519KeyPair::from_pkcs8(&bytes)
            .map_err(|e| format!("{} is not an Ed25519 PKCS#8 key: {e}", path.display()))?;
        Ok(DigestKey { pair })
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), what
    /// `thingwatch audit public-key` prints and `audit verify --public-key` reads.
    pub fn public_key_pem(&self) -> String {
        public_key_pem(self.public_key())
    }

    /// [`fingerprint`] of the public key.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.public_key())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// A public key's fingerprint: hex SHA-256 of the 32 key bytes.
pub fn fingerprint(public_key: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, public_key))
}

/// PEM `PUBLIC KEY` of a raw Ed25519 key.
pub fn public_key_pem(public_key: &[u8]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(public_key);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
}

/// The raw key of a PEM `PUBLIC KEY` written by [`public_key_pem`].
///
/// # Errors
/// Not PEM, not base64, or not an Ed25519 SubjectPublicKeyInfo.
pub fn parse_public_key_pem(text: &str) -> Result<Vec<u8>, String> {
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .take_while(|l| *l != "-----END PUBLIC KEY-----")
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| {
            "the public key is not PEM (base64 between BEGIN/END PUBLIC KEY)".to_owned()
        })?;
    match der.strip_prefix(&SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => Ok(key.to_vec()),
        _ => Err("the public key is not an Ed25519 SubjectPublicKeyInfo".to_owned()),
    }
}

/// The string a digest's signature covers (module docs).
pub fn signing_string(d: &DigestRow) -> String {
    format!(
        "thingwatch-audit-digest-1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        d.number,
        d.start_ms,
        d.end_ms,
        d.first_seq,
        d.last_seq,
        d.record_count,
        hex::encode(&d.chain),
        hex::encode(&d.previous_signature)
    )
}

/// Seals every record written since the last digest with a new digest ending at `end_ms`
/// (an hour boundary, or the stop time), stored and returned. A period without records
/// still gets a digest, as CloudTrail's hourly digests do.
///
/// # Errors
/// Storage failures.
pub fn seal(store: &Store, key: &DigestKey, end_ms: i64) -> Result<DigestRow, StoreError> {
    let previous = store.last_digest()?;
    let (head_seq, head_chain) = store.head();
    let (number, start_ms, first_seq, previous_signature) = match &previous {
        Some(p) => (p.number + 1, p.end_ms, p.last_seq + 1, p.signature.clone()),
        None => {
            let first = store.seq_range()?.map_or(1, |(lo, _)| lo);
            (1, end_ms.min(first_record_time(store)?), first, Vec::new())
        }
    };
    let mut d = DigestRow {
        number,
        start_ms,
        end_ms: end_ms.max(start_ms),
        first_seq,
        last_seq: head_seq,
        record_count: (head_seq - first_seq + 1).max(0),
        chain: head_chain.to_vec(),
        previous_signature,
        signature: Vec::new(),
        key_fingerprint: key.fingerprint(),
    };
    d.signature = key.sign(signing_string(&d).as_bytes());
    store.insert_digest(&d)?;
    Ok(d)
}

fn first_record_time(store: &Store) -> Result<i64, StoreError> {
    let mut first = i64::MAX;
    if let Some((lo, _)) = store.seq_range()? {
        store.scan::<StoreError>(lo, lo, |r| {
            first = r.event_time_ms;
            Ok(())
        })?;
    }
    Ok(first)
}

/// One thing [`verify`] found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Record `seq` does not hash to its chain value: its content was changed.
    Altered {
        /// The record.
        seq: i64,
        /// Its `eventID`, as stored.
        event_id: String,
    },
    /// The indexed columns of record `seq` (what LookupEvents filters on) differ from the
    /// record itself.
    IndexMismatch {
        /// The record.
        seq: i64,
        /// Which column.
        column: &'static str,
    },
    /// Sequence numbers `from..=to` are missing: records were removed.
    Missing {
        /// First missing.
        from: i64,
        /// Last missing.
        to: i64,
    },
    /// The chain value at the end of digest `number` differs from the recomputed one:
    /// records in its range were altered, removed or reordered and the chain rewritten.
    DigestMismatch {
        /// The digest.
        number: i64,
        /// Its first sequence number.
        first_seq: i64,
        /// Its last sequence number.
        last_seq: i64,
    },
    /// Digest `number`'s signature does not verify, or it does not follow its predecessor.
    BadDigest {
        /// The digest.
        number: i64,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Altered { seq, event_id } => write!(
                f,
                "record {seq} (eventID {event_id}) was altered: it does not hash to its chain value"
            ),
            Problem::IndexMismatch { seq, column } => write!(
                f,
                "record {seq}: its indexed {column} differs from the record (lookups would lie)"
            ),
            Problem::Missing { from, to } if from == to => {
                write!(f, "record {from} is missing (removed)")
            }
            Problem::Missing { from, to } => {
                write!(f, "records {from} to {to} are missing (removed)")
            }
            Problem::DigestMismatch {
                number,
                first_seq,
                last_seq,
            } => write!(
                f,
                "digest {number} (records {first_seq} to {last_seq}) does not match the records: \
                 they were altered, removed or reordered and the chain rewritten"
            ),
            Problem::BadDigest { number, reason } => write!(f, "digest {number}: {reason}"),
        }
    }
}

/// What [`verify`] checked and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records whose chain value was recomputed.
    pub records_checked: u64,
    /// Digests whose signature was checked.
    pub digests_checked: u64,
    /// Records after the last digest (protected by the chain only).
    pub unsealed_records: u64,
    /// The sequence numbers checked, if any.
    pub range: Option<(i64, i64)>,
    /// Everything wrong, in order; empty when the history is intact.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the store against `public_key` (raw Ed25519): every digest's signature and
/// link to its predecessor, then every record's chain value, the density of sequence
/// numbers, the indexed columns, and each digest's chain value. With `from_ms` / `to_ms`,
/// only the digests whose periods overlap `[from, to]` and their records (plus the unsealed
/// tail when `to` is after the last digest).
///
/// # Errors
/// Storage failures (a file SQLite itself finds corrupt).
pub fn verify(
    store: &Store,
    public_key: &[u8],
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let digests = store.digests()?;
    let key = UnparsedPublicKey::new(&ED25519, public_key);
    let fp = fingerprint(public_key);
    let (from, to) = (from_ms.unwrap_or(i64::MIN), to_ms.unwrap_or(i64::MAX));
    // 1. The digest chain.
    let mut previous: Option<&DigestRow> = None;
    for d in &digests {
        let mut bad = |reason: String| {
            report.problems.push(Problem::BadDigest {
                number: d.number,
                reason,
            })
        };
        if let Some(p) = previous {
            if d.number != p.number + 1 {
                bad(format!("follows digest {} (digests removed)", p.number));
            }
            if d.previous_signature != p.signature {
                bad("does not carry its predecessor's signature".into());
            }
            if d.first_seq != p.last_seq + 1 || d.start_ms != p.end_ms {
                bad("does not start where its predecessor ended".into());
            }
        } else if d.number != 1 && !d.previous_signature.is_empty() {
            bad("the digests before it were removed".into());
        }
        if d.record_count != (d.last_seq - d.first_seq + 1).max(0) {
            bad("its record count does not match its range".into());
        }
        if d.key_fingerprint != fp {
            bad(format!(
                "signed by key {} (expected {fp})",
                d.key_fingerprint
            ));
        } else if key
            .verify(signing_string(d).as_bytes(), &d.signature)
            .is_err()
        {
            bad("its signature does not verify".into());
        }
        report.digests_checked += 1;
        previous = Some(d);
    }
    // 2. The records.
    let selected: Vec<&DigestRow> = digests
        .iter()
        .filter(|d| d.end_ms >= from && d.start_ms <= to)
        .collect();
    let last_digest = digests.last();
    let Some((min_seq, max_seq)) = store.seq_range()? else {
        // No record at all: fine only if no digest sealed any (retention prunes whole
        // digest ranges older than 90 days).
        if let Some(d) = last_digest
            .filter(|d| d.last_seq > 0 && d.end_ms >= now_ms() - crate::store::RETENTION_MS)
        {
            report.problems.push(Problem::Missing {
                from: 1,
                to: d.last_seq,
            });
        }
        return Ok(report);
    };
    let tail_selected = last_digest.is_none_or(|d| to > d.end_ms);
    let lo = match (from_ms, selected.first()) {
        (None, _) => min_seq,
        (Some(_), Some(d)) => d.first_seq.max(min_seq),
        (Some(_), None) => last_digest.map_or(min_seq, |d| d.last_seq + 1).max(min_seq),
    };
    let hi = match (to_ms, tail_selected) {
        (None, _) | (_, true) => max_seq,
        (Some(_), false) => selected.last().map_or(lo - 1, |d| d.last_seq.min(max_seq)),
    };
    // Where the chain starts: genesis, a digest's sealed value, or (partial runs) the
    // stored value of the record before.
    let mut chain: Vec<u8> = if lo == 1 {
        GENESIS.to_vec()
    } else if let Some(d) = digests.iter().find(|d| d.last_seq == lo - 1) {
        d.chain.clone()
    } else {
        let mut stored = None;
        store.scan::<StoreError>(lo - 1, lo - 1, |r| {
            stored = Some(r.chain);
            Ok(())
        })?;
        match stored {
            Some(c) => c,
            None => {
                report.problems.push(Problem::Missing {
                    from: 1,
                    to: lo - 1,
                });
                GENESIS.to_vec()
            }
        }
    };
    // Two values travel along: the chain recomputed from the start (what the digests must
    // match) and the previous record's stored chain value (against which each record's own
    // value is checked, so one altered record is named alone).
    let mut expected = lo;
    let mut previous_stored = chain.clone();
    let mut digest_iter = digests.iter().filter(|d| d.last_seq >= lo).peekable();
    store.scan::<StoreError>(lo, hi, |r| {
        let after_gap = r.seq != expected;
        if after_gap {
            report.problems.push(Problem::Missing {
                from: expected,
                to: r.seq - 1,
            });
        }
        let own = chain_next(&previous_stored, r.seq, r.record.as_bytes());
        if !after_gap && own[..] != r.chain[..] {
            report.problems.push(Problem::Altered {
                seq: r.seq,
                event_id: r.event_id.clone(),
            });
        }
        check_columns(&r, &mut report.problems);
        chain = chain_next(&chain, r.seq, r.record.as_bytes()).to_vec();
        previous_stored = r.chain.clone();
        while let Some(d) = digest_iter.peek() {
            if d.last_seq > r.seq {
                break;
            }
            if d.last_seq == r.seq && d.chain != chain {
                report.problems.push(Problem::DigestMismatch {
                    number: d.number,
                    first_seq: d.first_seq,
                    last_seq: d.last_seq,
                });
                // Resume from the signed value so later digests are judged on their own.
                chain = d.chain.clone();
            }
            digest_iter.next();
        }
        report.records_checked += 1;
        expected = r.seq + 1;
        Ok(())
    })?;
    if let Some(d) = last_digest
        && d.last_seq > max_seq
        && hi == max_seq
    {
        report.problems.push(Problem::Missing {
            from: max_seq + 1,
            to: d.last_seq,
        });
    }
    report.unsealed_records = u64::try_from(max_seq - last_digest.map_or(0, |d| d.last_seq))
        .unwrap_or(0)
        .min(u64::try_from(max_seq - min_seq + 1).unwrap_or(0));
    report.range = (hi >= lo).then_some((lo, hi));
    Ok(report)
}

/// Compares the indexed columns of a record with the record's JSON.
fn check_columns(r: &crate::store::ScannedRecord, problems: &mut Vec<Problem>) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&r.record) else {
        return; // not JSON: the chain check already names it
    };
    let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    let mut mismatch = |column| {
        problems.push(Problem::IndexMismatch { seq: r.seq, column });
    };
    if text("eventID") != r.event_id {
        mismatch("eventID");
    }
    if text("eventName") != r.event_name {
        mismatch("eventName");
    }
    if text("eventSource") != r.event_source {
        mismatch("eventSource");
    }
    if v.get("readOnly").and_then(serde_json::Value::as_bool) != Some(r.read_only) {
        mismatch("readOnly");
    }
    if text("eventTime") != crate::record::format_event_time(r.event_time_ms) {
        mismatch("eventTime");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
