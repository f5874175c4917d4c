//! Data-driven SigV4 verifier test over every raw request captured from the real AWS CLI
//! and boto3 (`shared/reference/aws-wire-captures/log_*.txt`, real signatures), plus
//! tamper cases (body, signed header, path, signature, secret, key, clock) for each, and
//! presigned (query-string) requests produced by the AWS SDK for Rust's signer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};
use thingwatch_http::sigv4::{AuthError, AuthMode, FixedClock, SignedRequest, Verifier};
use thingwatch_http::{CredentialProvider, StaticCredentials};
use thingwatch_test_support::aws::{AwsClient, Credentials, PresignedPayload};

const CLI_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The boto3 query/CBOR runs were signed with this secret (aws-wire.md, Artifacts).
const BOTO_SECRET: &str = "secret";

struct Capture {
    file: String,
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
    secret: &'static str,
}

impl Capture {
    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            raw_path: &self.path,
            raw_query: self.query.as_deref(),
            authority: None,
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn amz_date(&self) -> SystemTime {
        let v = self.headers["x-amz-date"].to_str().unwrap();
        let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        let t = time::PrimitiveDateTime::parse(v, fmt).unwrap().assume_utc();
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix_timestamp()).unwrap())
    }

    fn signed_headers(&self) -> Vec<String> {
        let auth = self.headers["authorization"].to_str().unwrap();
        let sh = auth.split("SignedHeaders=").nth(1).unwrap();
        sh.split(',')
            .next()
            .unwrap()
            .split(';')
            .map(str::to_owned)
            .collect()
    }
}

fn captures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/aws-wire-captures")
}

/// Decodes a Python `bytes` literal (`b'\xa3iAlarm…'`), the form binary bodies were saved in.
fn python_bytes_literal(s: &str) -> Option<Vec<u8>> {
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

/// Parses every capture file the way `verify_sigv4.py` does (blocks separated by
/// `\n----------\n`, `### CMD` lines dropped, body = the lines after the blank line).
fn load_captures() -> Vec<Capture> {
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

fn verifier(secret: &str, now: SystemTime) -> Verifier {
    let creds: Arc<dyn CredentialProvider> = Arc::new(StaticCredentials::root(
        "AKIDEXAMPLE",
        secret,
        "123456789012",
    ));
    Verifier::new(creds, Arc::new(FixedClock(now)))
}

#[test]
fn every_capture_verifies_and_every_tamper_fails() {
    let captures = load_captures();
    // 52 AWS CLI text-body captures (iot, iot-data, iot-jobs-data, logs, monitoring,
    // cloudtrail) + 3 boto3 awsQuery + 2 CBOR + 1 gzip'd PutMetricData.
    assert_eq!(captures.len(), 58, "number of captured requests");
    let mut services = std::collections::BTreeMap::new();
    for c in &captures {
        let ctx = format!("{} {} {}", c.file, c.method, c.path);
        let now = c.amz_date() + Duration::from_secs(60);
        let v = verifier(c.secret, now);
        let ok = v
            .verify(&c.request())
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(ok.mode, AuthMode::Header);
        assert_eq!(ok.principal.account_id, "123456789012");
        *services.entry(ok.scope.service.clone()).or_insert(0) += 1;

        // Body: flip one byte (or add one to an empty body).
        let mut body = c.body.clone();
        match body.first_mut() {
            Some(b) => *b ^= 0x01,
            None => body.push(b'x'),
        }
        let r = SignedRequest {
            body: &body,
            ..c.request()
        };
        assert_eq!(
            v.verify(&r).unwrap_err(),
            AuthError::SignatureMismatch,
            "{ctx} body"
        );

        // Each signed header other than the date: flip one byte of its value.
        for name in c.signed_headers() {
            if name == "x-amz-date" {
                continue;
            }
            let mut headers = c.headers.clone();
            let mut value = headers[name.as_str()].as_bytes().to_vec();
            let last = value.len() - 1;
            value[last] ^= 0x02;
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(&value).unwrap(),
            );
            let r = SignedRequest {
                headers: &headers,
                ..c.request()
            };
            assert!(v.verify(&r).is_err(), "{ctx} header {name}");
        }

        // Path: change one byte.
        let mut path = c.path.clone().into_bytes();
        let last = path.len() - 1;
        path[last] = if path[last] == b'x' { b'y' } else { b'x' };
        let path = String::from_utf8(path).unwrap();
        let r = SignedRequest {
            raw_path: &path,
            ..c.request()
        };
        assert_eq!(
            v.verify(&r).unwrap_err(),
            AuthError::SignatureMismatch,
            "{ctx} path"
        );

        // Signature: flip one hex digit.
        let mut headers = c.headers.clone();
        let auth = headers["authorization"].to_str().unwrap().to_owned();
        let last = auth.chars().last().unwrap();
        let flipped = if last == '0' { '1' } else { '0' };
        let auth = format!("{}{flipped}", &auth[..auth.len() - 1]);
        headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        let r = SignedRequest {
            headers: &headers,
            ..c.request()
        };
        assert_eq!(
            v.verify(&r).unwrap_err(),
            AuthError::SignatureMismatch,
            "{ctx} signature"
        );

        // Wrong secret, unknown key, clock skew both ways.
        let wrong = verifier("not-the-secret", now);
        assert_eq!(
            wrong.verify(&c.request()).unwrap_err(),
            AuthError::SignatureMismatch
        );
        let creds: Arc<dyn CredentialProvider> = Arc::new(StaticCredentials::root(
            "AKIDOTHER",
            c.secret,
            "123456789012",
        ));
        let other = Verifier::new(creds, Arc::new(FixedClock(now)));
        assert_eq!(
            other.verify(&c.request()).unwrap_err(),
            AuthError::UnrecognizedClient
        );
        let late = verifier(c.secret, c.amz_date() + Duration::from_secs(15 * 60 + 1));
        match late.verify(&c.request()) {
            Err(AuthError::InvalidSignature(m)) => {
                assert!(m.starts_with("Signature expired: "), "{m}");
                assert!(m.ends_with(" - 15 min.)"), "{m}");
            }
            other => panic!("{ctx}: expected expiry, got {other:?}"),
        }
        let early = verifier(c.secret, c.amz_date() - Duration::from_secs(15 * 60 + 1));
        match early.verify(&c.request()) {
            Err(AuthError::InvalidSignature(m)) => {
                assert!(m.starts_with("Signature not yet current: "), "{m}")
            }
            other => panic!("{ctx}: expected not-yet-current, got {other:?}"),
        }
        // Exactly at the edge of the window still verifies.
        let edge = verifier(c.secret, c.amz_date() + Duration::from_secs(15 * 60));
        assert!(edge.verify(&c.request()).is_ok(), "{ctx} edge");
    }
    let want: std::collections::BTreeMap<String, i32> = [
        ("cloudtrail", 1),
        ("iot", 15),
        ("iot-jobs-data", 3),
        ("iotdata", 9),
        ("logs", 16),
        ("monitoring", 14),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(services, want, "captures per service");
}

#[test]
fn missing_and_malformed_authorization() {
    let captures = load_captures();
    let c = &captures[0];
    let v = verifier(c.secret, c.amz_date());

    let mut headers = c.headers.clone();
    headers.remove("authorization");
    let r = SignedRequest {
        headers: &headers,
        ..c.request()
    };
    assert_eq!(v.verify(&r).unwrap_err(), AuthError::Missing);

    let mut headers = c.headers.clone();
    headers.remove("x-amz-date");
    let r = SignedRequest {
        headers: &headers,
        ..c.request()
    };
    assert!(matches!(v.verify(&r), Err(AuthError::Incomplete(_))));

    let mut headers = c.headers.clone();
    let auth = headers["authorization"]
        .to_str()
        .unwrap()
        .replace(";host;", ";");
    assert!(!auth.contains("host"), "{auth}");
    headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    let r = SignedRequest {
        headers: &headers,
        ..c.request()
    };
    match v.verify(&r) {
        Err(AuthError::Incomplete(m)) => assert!(m.contains("'Host'"), "{m}"),
        other => panic!("host must be signed: {other:?}"),
    }

    // An unsigned X-Amz-Security-Token is refused.
    let mut headers = c.headers.clone();
    headers.insert("x-amz-security-token", HeaderValue::from_static("tok"));
    let r = SignedRequest {
        headers: &headers,
        ..c.request()
    };
    match v.verify(&r) {
        Err(AuthError::Incomplete(m)) => assert!(m.contains("X-Amz-Security-Token"), "{m}"),
        other => panic!("token must be signed: {other:?}"),
    }

    let mut headers = c.headers.clone();
    headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
    let r = SignedRequest {
        headers: &headers,
        ..c.request()
    };
    assert!(matches!(v.verify(&r), Err(AuthError::Incomplete(_))));
}

/// Presigns `GET http://127.0.0.1:4580{path}` (signing name `iotdevicegateway`,
/// `UNSIGNED-PAYLOAD`) with the AWS SDK for Rust's signer (query-string form) and returns the
/// resulting query string.
fn presign(
    path: &str,
    secret: &str,
    token: Option<&str>,
    at: SystemTime,
    expires: Duration,
) -> String {
    let mut creds = Credentials::new("AKIDEXAMPLE", secret);
    if let Some(token) = token {
        creds = creds.with_session_token(token);
    }
    AwsClient::new("127.0.0.1:4580".parse().unwrap(), creds).presign(
        "iotdevicegateway",
        path,
        at,
        expires,
        PresignedPayload::Unsigned,
    )
}

#[test]
fn presigned_requests_verify_until_they_expire() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:4580"));
    for token in [None, Some("session-token/with+chars=")] {
        let query = presign("/mqtt", CLI_SECRET, token, at, Duration::from_secs(300));
        let req = SignedRequest {
            method: "GET",
            raw_path: "/mqtt",
            raw_query: Some(&query),
            authority: None,
            headers: &headers,
            body: b"",
        };
        let ok = verifier(CLI_SECRET, at + Duration::from_secs(299))
            .verify(&req)
            .unwrap_or_else(|e| panic!("presigned {token:?}: {e} ({query})"));
        assert_eq!(ok.mode, AuthMode::Presigned { expires_secs: 300 });
        assert_eq!(ok.scope.service, "iotdevicegateway");

        match verifier(CLI_SECRET, at + Duration::from_secs(301)).verify(&req) {
            Err(AuthError::InvalidSignature(m)) => {
                assert!(m.starts_with("Signature expired"), "{m}")
            }
            other => panic!("expected expiry: {other:?}"),
        }
        assert_eq!(
            verifier("wrong", at).verify(&req).unwrap_err(),
            AuthError::SignatureMismatch
        );
        let tampered = query.replace("X-Amz-Expires=300", "X-Amz-Expires=301");
        let req = SignedRequest {
            raw_query: Some(&tampered),
            ..req
        };
        assert_eq!(
            verifier(CLI_SECRET, at).verify(&req).unwrap_err(),
            AuthError::SignatureMismatch
        );
    }
}

#[test]
fn presigned_token_appended_after_signing_is_accepted() {
    // AWS IoT's WebSocket signing appends X-Amz-Security-Token after computing the signature.
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let query = presign("/mqtt", CLI_SECRET, None, at, Duration::from_secs(60));
    let query = format!("{query}&X-Amz-Security-Token=abc%2Fdef");
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:4580"));
    let req = SignedRequest {
        method: "GET",
        raw_path: "/mqtt",
        raw_query: Some(&query),
        authority: None,
        headers: &headers,
        body: b"",
    };
    let ok = verifier(CLI_SECRET, at).verify(&req).unwrap();
    assert!(matches!(ok.mode, AuthMode::Presigned { .. }));
}
