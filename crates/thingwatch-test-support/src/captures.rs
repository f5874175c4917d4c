//! The raw requests captured from the real AWS CLI and boto3
//! (`shared/reference/aws-wire-captures/log_*.txt`, real signatures), parsed the way
//! `verify_sigv4.py` reads them: blocks separated by `\n----------\n`, `### CMD` lines
//! dropped, the body the lines after the blank line (binary bodies as Python `bytes`
//! literals).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The secret the AWS CLI runs were signed with (key id [`crate::ROOT_AKID`]).
pub const CLI_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The boto3 query/CBOR runs were signed with this secret (aws-wire.md, Artifacts).
pub const BOTO_SECRET: &str = "secret";

/// One captured request.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The capture file's name (`log_cloudwatch_gzip.txt`).
    pub file: String,
    /// HTTP method.
    pub method: String,
    /// Raw path.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Every header, as sent.
    pub headers: HeaderMap,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// The secret it was signed with.
    pub secret: &'static str,
}

impl Capture {
    /// Its `X-Amz-Date` as a point in time (sign-time for a verifier's clock).
    ///
    /// # Panics
    /// On a capture without a valid `X-Amz-Date`.
    pub fn amz_date(&self) -> SystemTime {
        let v = self.headers["x-amz-date"].to_str().unwrap();
        let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        let t = time::PrimitiveDateTime::parse(v, fmt).unwrap().assume_utc();
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix_timestamp()).unwrap())
    }

    /// The names in its `SignedHeaders`.
    ///
    /// # Panics
    /// On a capture without an `Authorization` header.
    pub fn signed_headers(&self) -> Vec<String> {
        let auth = self.headers["authorization"].to_str().unwrap();
        let sh = auth.split("SignedHeaders=").nth(1).unwrap();
        sh.split(',')
            .next()
            .unwrap()
            .split(';')
            .map(str::to_owned)
            .collect()
    }

    /// The request as HTTP/1.1 bytes, exactly as captured (for replay over a socket).
    pub fn to_http1(&self) -> Vec<u8> {
        let target = match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        };
        let mut out = format!("{} {target} HTTP/1.1\r\n", self.method).into_bytes();
        for (k, v) in &self.headers {
            out.extend_from_slice(k.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// `shared/reference/aws-wire-captures`, beside the checkout.
pub fn captures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/aws-wire-captures")
}

/// Decodes a Python `bytes` literal (`b'\xa3iAlarm…'`), the form binary bodies were saved in.
pub fn python_bytes_literal(s: &str) -> Option<Vec<u8>> {
    let inner = s
        .strip_prefix("b'")
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| s.strip_prefix("b\"").and_then(|r| r.strip_suffix('"')))?;
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 4;
                    continue;
                }
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'\'' => out.push(b'\''),
                b'"' => out.push(b'"'),
                other => panic!("unexpected escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Every capture of every `log_*.txt` file, files in name order.
///
/// # Panics
/// When the captures directory is missing or a file is malformed.
pub fn load_captures() -> Vec<Capture> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(captures_dir())
        .expect("captures directory /work/shared/reference/aws-wire-captures")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "txt")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("log_"))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let secret = if file.contains("query") || file.contains("cbor") {
            BOTO_SECRET
        } else {
            CLI_SECRET
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for block in text.split("\n----------\n") {
            let mut lines: Vec<&str> = block
                .split('\n')
                .filter(|l| !l.starts_with("### CMD"))
                .collect();
            while lines.first().is_some_and(|l| l.trim().is_empty()) {
                lines.remove(0);
            }
            if lines.is_empty() {
                continue;
            }
            let mut rl = lines[0].splitn(3, ' ');
            let method = rl.next().unwrap().to_owned();
            let target = rl.next().unwrap();
            let (path_part, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                None => (target.to_owned(), None),
            };
            let mut headers = HeaderMap::new();
            let mut i = 1;
            while i < lines.len() && !lines[i].is_empty() {
                let (k, v) = lines[i].split_once(": ").unwrap();
                headers.append(
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
                i += 1;
            }
            let body_text = lines.get(i + 1..).unwrap_or_default().join("\n");
            let body = python_bytes_literal(&body_text).unwrap_or_else(|| body_text.into_bytes());
            out.push(Capture {
                file: file.clone(),
                method,
                path: path_part,
                query,
                headers,
                body,
                secret,
            });
        }
    }
    out
}
