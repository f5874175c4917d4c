//! Data-driven SigV4 verifier test over every raw request captured from the real AWS CLI
//! and boto3 (`shared/reference/aws-wire-captures/log_*.txt`, real signatures), plus
//! tamper cases (body, signed header, path, signature, secret, key, clock) for each, and
//! presigned (query-string) requests produced by the AWS SDK for Rust's signer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};
use thingwatch_http::sigv4::{AuthError, AuthMode, FixedClock, SignedRequest, Verifier};
use thingwatch_http::{CredentialProvider, StaticCredentials};
use thingwatch_test_support::aws::{AwsClient, Credentials, PresignedPayload};

use thingwatch_test_support::captures::{CLI_SECRET, Capture, load_captures};

fn signed_request(c: &Capture) -> SignedRequest<'_> {
    SignedRequest {
        method: &c.method,
        raw_path: &c.path,
        raw_query: c.query.as_deref(),
        authority: None,
        headers: &c.headers,
        body: &c.body,
    }
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
            .verify(&signed_request(c))
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
            ..signed_request(c)
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
                ..signed_request(c)
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
            ..signed_request(c)
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
            ..signed_request(c)
        };
        assert_eq!(
            v.verify(&r).unwrap_err(),
            AuthError::SignatureMismatch,
            "{ctx} signature"
        );

        // Wrong secret, unknown key, clock skew both ways.
        let wrong = verifier("not-the-secret", now);
        assert_eq!(
            wrong.verify(&signed_request(c)).unwrap_err(),
            AuthError::SignatureMismatch
        );
        let creds: Arc<dyn CredentialProvider> = Arc::new(StaticCredentials::root(
            "AKIDOTHER",
            c.secret,
            "123456789012",
        ));
        let other = Verifier::new(creds, Arc::new(FixedClock(now)));
        assert_eq!(
            other.verify(&signed_request(c)).unwrap_err(),
            AuthError::UnrecognizedClient
        );
        let late = verifier(c.secret, c.amz_date() + Duration::from_secs(15 * 60 + 1));
        match late.verify(&signed_request(c)) {
            Err(AuthError::InvalidSignature(m)) => {
                assert!(m.starts_with("Signature expired: "), "{m}");
                assert!(m.ends_with(" - 15 min.)"), "{m}");
            }
            other => panic!("{ctx}: expected expiry, got {other:?}"),
        }
        let early = verifier(c.secret, c.amz_date() - Duration::from_secs(15 * 60 + 1));
        match early.verify(&signed_request(c)) {
            Err(AuthError::InvalidSignature(m)) => {
                assert!(m.starts_with("Signature not yet current: "), "{m}")
            }
            other => panic!("{ctx}: expected not-yet-current, got {other:?}"),
        }
        // Exactly at the edge of the window still verifies.
        let edge = verifier(c.secret, c.amz_date() + Duration::from_secs(15 * 60));
        assert!(edge.verify(&signed_request(c)).is_ok(), "{ctx} edge");
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
        ..signed_request(c)
    };
    assert_eq!(v.verify(&r).unwrap_err(), AuthError::Missing);

    let mut headers = c.headers.clone();
    headers.remove("x-amz-date");
    let r = SignedRequest {
        headers: &headers,
        ..signed_request(c)
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
        ..signed_request(c)
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
        ..signed_request(c)
    };
    match v.verify(&r) {
        Err(AuthError::Incomplete(m)) => assert!(m.contains("X-Amz-Security-Token"), "{m}"),
        other => panic!("token must be signed: {other:?}"),
    }

    let mut headers = c.headers.clone();
    headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
    let r = SignedRequest {
        headers: &headers,
        ..signed_request(c)
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
