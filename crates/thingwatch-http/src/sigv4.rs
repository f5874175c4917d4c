//! AWS Signature Version 4 verification, server side.
//!
//! Two forms are accepted:
//! * **Header auth** (`Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
//!   SignedHeaders=…, Signature=…` plus `X-Amz-Date`), what every AWS SDK and the CLI send;
//! * **Presigned query auth** (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//!   `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature` in the query string), used
//!   by MQTT over WebSocket.
//!
//! Canonicalisation follows the SigV4 documentation ("Create a signed AWS API request",
//! IAM User Guide) as reproduced against real AWS CLI captures in
//! `shared/reference/aws-wire.md` §4.1:
//! * canonical URI = the path exactly as on the request line, percent-encoded again
//!   (every byte except `A-Za-z0-9-_.~/`; `%2F` becomes `%252F`);
//! * canonical query = pairs form-decoded, RFC 3986-encoded, sorted by key then value;
//! * canonical headers = the `SignedHeaders` in their given order, values trimmed with
//!   whitespace runs collapsed, repeated headers joined with `,`;
//! * payload hash = `X-Amz-Content-SHA256` when sent (it must then match the body, unless
//!   it is `UNSIGNED-PAYLOAD`), else the hex SHA-256 of the exact body bytes.
//!
//! The clock is injectable ([`Clock`]) so recorded requests verify in tests. Signatures are
//! compared in constant time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::format_description;

use thingwatch_aws::{CredentialProvider, Principal};

/// The only signing algorithm accepted (SigV4; SigV4a is not supported).
pub const SIGV4_ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// How far `X-Amz-Date` may be from the server clock, either way: 15 minutes. AWS services
/// reject requests outside this window with `InvalidSignatureException` `"Signature expired:
/// <date> is now earlier than <now-15min> (<now> - 15 min.)"` (observed verbatim from
/// DynamoDB/Kinesis/ECR in aws/aws-sdk-js#254, upmc-enterprises/registry-creds#24) or
/// `"Signature not yet current: … (<now> + 15 min.)"` for dates in the future.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Largest `X-Amz-Expires` of a presigned request: 604,800 seconds (7 days), as SigV4
/// query-string authentication documents.
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;

/// Payload hash placeholder of requests whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Terminator of every SigV4 credential scope.
const SCOPE_TERMINATOR: &str = "aws4_request";

/// Bytes left unescaped in the canonical URI: RFC 3986 unreserved characters and `/`.
const URI_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Bytes left unescaped in canonical query keys and values: RFC 3986 unreserved characters.
const QUERY_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

type HmacSha256 = Hmac<Sha256>;

/// Source of "now" for the clock-skew and expiry checks.
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stopped at one instant (tests, replay of recorded requests).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// The parts of an HTTP request SigV4 covers, borrowed from the real request.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as on the request line (still percent-encoded), e.g. `/topics/a%2Fb`.
    pub raw_path: &'a str,
    /// The raw query string without `?`, if any.
    pub raw_query: Option<&'a str>,
    /// The URI authority, used as the `host` value when no `Host` header exists (HTTP/2).
    pub authority: Option<&'a str>,
    /// All request headers.
    pub headers: &'a HeaderMap,
    /// The exact body bytes as received.
    pub body: &'a [u8],
}

/// `<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    /// The access key id.
    pub access_key_id: String,
    /// The scope date, `YYYYMMDD` (must equal the date of `X-Amz-Date`).
    pub date: String,
    /// The signing region, e.g. `us-east-1`. Not checked against the server region.
    pub region: String,
    /// The signing name, e.g. `logs`, `iot`, `iotdata`: what the router dispatches on.
    pub service: String,
}

/// Which form of SigV4 the request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `Authorization` header.
    Header,
    /// Query-string (presigned URL) authentication, valid for `expires_secs` seconds after
    /// `X-Amz-Date`.
    Presigned {
        /// `X-Amz-Expires`, 1..=[`MAX_PRESIGNED_EXPIRES_SECS`] seconds.
        expires_secs: u64,
    },
}

/// The authentication parameters of a request, parsed but not yet verified.
#[derive(Clone, Debug)]
pub struct ParsedAuth {
    /// The credential scope (tells the router which service is addressed).
    pub scope: CredentialScope,
    /// `SignedHeaders` exactly as sent (`;`-separated, lowercase).
    pub signed_headers: String,
    /// The hex signature as sent.
    pub signature: String,
    /// `X-Amz-Date` as sent (`YYYYMMDDTHHMMSSZ`).
    pub amz_date: String,
    /// `X-Amz-Date`, parsed.
    pub timestamp: OffsetDateTime,
    /// Header or presigned.
    pub mode: AuthMode,
    /// `X-Amz-Security-Token`, if sent.
    pub security_token: Option<String>,
}

/// A request whose signature verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Who signed it.
    pub principal: Principal,
    /// Its credential scope.
    pub scope: CredentialScope,
    /// Header or presigned.
    pub mode: AuthMode,
}

/// Why a request failed authentication. Each maps to one AWS error code (see
/// [`crate::error::auth_error`]); the `Display` text is the message sent to the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header and no presigned query parameters
    /// (`MissingAuthenticationTokenException`).
    #[error("Missing Authentication Token")]
    Missing,
    /// The authentication parameters are malformed or incomplete
    /// (`IncompleteSignatureException`).
    #[error("{0}")]
    Incomplete(String),
    /// The access key id (or session token) is not known (`UnrecognizedClientException`).
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// The recomputed signature differs (`InvalidSignatureException`).
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,
    /// The signature is well-formed but not acceptable: outside the clock-skew window,
    /// presigned URL expired, scope date mismatch, payload hash mismatch
    /// (`InvalidSignatureException`).
    #[error("{0}")]
    InvalidSignature(String),
}

/// Verifies SigV4 requests against a credential provider and a clock.
#[derive(Clone)]
pub struct Verifier {
    credentials: Arc<dyn CredentialProvider>,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// A verifier looking keys up in `credentials` and reading time from `clock`.
    pub fn new(credentials: Arc<dyn CredentialProvider>, clock: Arc<dyn Clock>) -> Self {
        Self { credentials, clock }
    }

    /// Parses and verifies `req` in one step.
    ///
    /// # Errors
    /// Any [`AuthError`].
    pub fn verify(&self, req: &SignedRequest<'_>) -> Result<Verified, AuthError> {
        let parsed = parse_auth(req)?;
        self.verify_parsed(req, &parsed)
    }

    /// Verifies a request whose parameters [`parse_auth`] already parsed. Checks, in
    /// order: the access key is known, the session token (if the principal has one), the
    /// time window, then the signature.
    ///
    /// # Errors
    /// [`AuthError::UnrecognizedClient`], [`AuthError::InvalidSignature`],
    /// [`AuthError::SignatureMismatch`], [`AuthError::Incomplete`].
    pub fn verify_parsed(
        &self,
        req: &SignedRequest<'_>,
        parsed: &ParsedAuth,
    ) -> Result<Verified, AuthError> {
        let principal = self
            .credentials
            .lookup(&parsed.scope.access_key_id)
            .ok_or(AuthError::UnrecognizedClient)?;
        if let Some(expected) = &principal.session_token {
            let sent = parsed.security_token.as_deref().unwrap_or("");
            if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(AuthError::UnrecognizedClient);
            }
        }
        check_time(parsed, OffsetDateTime::from(self.clock.now()))?;

        let key = signing_key(
            &principal.secret_access_key,
            &parsed.scope.date,
            &parsed.scope.region,
            &parsed.scope.service,
        );
        let scope_str = format!(
            "{}/{}/{}/{}",
            parsed.scope.date, parsed.scope.region, parsed.scope.service, SCOPE_TERMINATOR
        );
        let headers = canonical_headers(req, &parsed.signed_headers);
        let uri = canonical_uri(req.raw_path);

        // Candidate (query, payload hash) pairs. Header auth has exactly one. Presigned
        // requests are tried with `UNSIGNED-PAYLOAD` and with the body hash (AWS IoT's
        // WebSocket signing examples hash the empty body), and also with
        // `X-Amz-Security-Token` left out of the canonical query, because AWS IoT appends
        // the token after signing.
        let mut queries = Vec::with_capacity(2);
        let mut payloads = Vec::with_capacity(2);
        match parsed.mode {
            AuthMode::Header => {
                queries.push(canonical_query(req.raw_query.unwrap_or(""), &[]));
                payloads.push(header_payload_hash(req)?);
            }
            AuthMode::Presigned { .. } => {
                let q = req.raw_query.unwrap_or("");
                queries.push(canonical_query(q, &["X-Amz-Signature"]));
                if parsed.security_token.is_some() {
                    queries.push(canonical_query(
                        q,
                        &["X-Amz-Signature", "X-Amz-Security-Token"],
                    ));
                }
                payloads.push(UNSIGNED_PAYLOAD.to_owned());
                payloads.push(hex::encode(Sha256::digest(req.body)));
            }
        }

        let mut matched = false;
        for query in &queries {
            for payload in &payloads {
                let creq = format!(
                    "{}\n{}\n{}\n{}\n{}\n{}",
                    req.method, uri, query, headers, parsed.signed_headers, payload
                );
                let sts = format!(
                    "{SIGV4_ALGORITHM}\n{}\n{}\n{}",
                    parsed.amz_date,
                    scope_str,
                    hex::encode(Sha256::digest(creq.as_bytes()))
                );
                let computed = hex::encode(hmac(&key, sts.as_bytes()));
                // Evaluate every candidate (no early exit) so timing does not reveal which
                // variant matched.
                matched |= bool::from(computed.as_bytes().ct_eq(parsed.signature.as_bytes()));
            }
        }
        if !matched {
            return Err(AuthError::SignatureMismatch);
        }
        Ok(Verified {
            principal,
            scope: parsed.scope.clone(),
            mode: parsed.mode,
        })
    }
}

/// Parses the SigV4 parameters of `req` (header form first, else presigned query form)
/// without checking the signature. The router uses the scope to pick the service before
/// verification, so that even authentication errors use that service's error format.
///
/// # Errors
/// [`AuthError::Missing`] when neither form is present; [`AuthError::Incomplete`] for
/// malformed parameters, a missing `X-Amz-Date`, `host` not signed, or an unsigned
/// `X-Amz-Security-Token`; [`AuthError::InvalidSignature`] when the scope date differs
/// from `X-Amz-Date`.
pub fn parse_auth(req: &SignedRequest<'_>) -> Result<ParsedAuth, AuthError> {
    if let Some(value) = req.headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| {
            AuthError::Incomplete("Authorization header is not valid ASCII.".into())
        })?;
        return parse_header_auth(req, value);
    }
    let query = req.raw_query.unwrap_or("");
    let params = decode_query(query);
    if params.iter().any(|(k, _)| k == "X-Amz-Algorithm") {
        return parse_presigned(&params);
    }
    Err(AuthError::Missing)
}

fn parse_header_auth(req: &SignedRequest<'_>, value: &str) -> Result<ParsedAuth, AuthError> {
    let rest = value
        .strip_prefix(SIGV4_ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            AuthError::Incomplete(format!(
                "Unsupported Authorization type; only '{SIGV4_ALGORITHM}' is accepted."
            ))
        })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for (name, v) in [
        ("Credential", &credential),
        ("Signature", &signature),
        ("SignedHeaders", &signed_headers),
    ] {
        if v.is_none_or(str::is_empty) {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let amz_date = header_str(req.headers, "x-amz-date");
    if amz_date.is_none() {
        missing.push("Authorization header requires existence of a 'X-Amz-Date' header.".into());
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(amz_date), true) = (
        credential,
        signed_headers,
        signature,
        amz_date,
        missing.is_empty(),
    ) else {
        return Err(AuthError::Incomplete(missing.join(" ")));
    };
    let security_token = header_str(req.headers, "x-amz-security-token").map(str::to_owned);
    let signed_list: Vec<&str> = signed_headers.split(';').collect();
    if !signed_list.contains(&"host") {
        return Err(AuthError::Incomplete(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    if security_token.is_some() && !signed_list.contains(&"x-amz-security-token") {
        return Err(AuthError::Incomplete(
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let scope = parse_scope(credential)?;
    let timestamp = parse_amz_date(amz_date)?;
    check_scope_date(&scope, amz_date)?;
    Ok(ParsedAuth {
        scope,
        signed_headers: signed_headers.to_owned(),
        signature: signature.to_owned(),
        amz_date: amz_date.to_owned(),
        timestamp,
        mode: AuthMode::Header,
        security_token,
    })
}

fn parse_presigned(params: &[(String, String)]) -> Result<ParsedAuth, AuthError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let algorithm = get("X-Amz-Algorithm").unwrap_or("");
    if algorithm != SIGV4_ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported X-Amz-Algorithm '{algorithm}'; only '{SIGV4_ALGORITHM}' is accepted."
        )));
    }
    let names = [
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ];
    let missing: Vec<String> = names
        .iter()
        .filter(|n| get(n).is_none_or(str::is_empty))
        .map(|n| format!("Query-string authentication requires the '{n}' parameter."))
        .collect();
    let (
        Some(credential),
        Some(amz_date),
        Some(expires),
        Some(signed_headers),
        Some(signature),
        true,
    ) = (
        get("X-Amz-Credential"),
        get("X-Amz-Date"),
        get("X-Amz-Expires"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
        missing.is_empty(),
    )
    else {
        return Err(AuthError::Incomplete(missing.join(" ")));
    };
    let expires_secs = expires
        .parse::<u64>()
        .ok()
        .filter(|e| (1..=MAX_PRESIGNED_EXPIRES_SECS).contains(e))
        .ok_or_else(|| {
            AuthError::Incomplete(format!(
                "X-Amz-Expires must be an integer between 1 and {MAX_PRESIGNED_EXPIRES_SECS} seconds, not '{expires}'."
            ))
        })?;
    if !signed_headers.split(';').any(|h| h == "host") {
        return Err(AuthError::Incomplete(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let scope = parse_scope(credential)?;
    let timestamp = parse_amz_date(amz_date)?;
    check_scope_date(&scope, amz_date)?;
    Ok(ParsedAuth {
        scope,
        signed_headers: signed_headers.to_owned(),
        signature: signature.to_owned(),
        amz_date: amz_date.to_owned(),
        timestamp,
        mode: AuthMode::Presigned { expires_secs },
        security_token: get("X-Amz-Security-Token").map(str::to_owned),
    })
}

fn parse_scope(credential: &str) -> Result<CredentialScope, AuthError> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [akid, date, region, service, term]
            if *term == SCOPE_TERMINATOR
                && !akid.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty()
                && !service.is_empty() =>
        {
            Ok(CredentialScope {
                access_key_id: (*akid).to_owned(),
                date: (*date).to_owned(),
                region: (*region).to_owned(),
                service: (*service).to_owned(),
            })
        }
        _ => Err(AuthError::Incomplete(format!(
            "Credential must have the form <AccessKeyId>/<YYYYMMDD>/<region>/<service>/{SCOPE_TERMINATOR}, not '{credential}'."
        ))),
    }
}

fn parse_amz_date(value: &str) -> Result<OffsetDateTime, AuthError> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(value, fmt)
        .map(time::PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            AuthError::Incomplete(format!(
                "X-Amz-Date must be in ISO-8601 'basic format' (YYYYMMDD'T'HHMMSS'Z'). Got '{value}'."
            ))
        })
}

fn check_scope_date(scope: &CredentialScope, amz_date: &str) -> Result<(), AuthError> {
    let day = amz_date.get(..8).unwrap_or("");
    if scope.date == day {
        Ok(())
    } else {
        Err(AuthError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{amz_date}'.",
            scope.date
        )))
    }
}

/// Formats a time as `YYYYMMDDTHHMMSSZ` (the `X-Amz-Date` form).
fn basic_iso(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn check_time(parsed: &ParsedAuth, now: OffsetDateTime) -> Result<(), AuthError> {
    let skew = time::Duration::try_from(MAX_CLOCK_SKEW).unwrap_or(time::Duration::minutes(15));
    let t = parsed.timestamp;
    let latest = now + skew;
    if t > latest {
        return Err(AuthError::InvalidSignature(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            parsed.amz_date,
            basic_iso(latest),
            basic_iso(now)
        )));
    }
    match parsed.mode {
        AuthMode::Header => {
            let earliest = now - skew;
            if t < earliest {
                return Err(AuthError::InvalidSignature(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    parsed.amz_date,
                    basic_iso(earliest),
                    basic_iso(now)
                )));
            }
        }
        AuthMode::Presigned { expires_secs } => {
            let expires_at = t + time::Duration::seconds(i64::try_from(expires_secs).unwrap_or(0));
            if now > expires_at {
                return Err(AuthError::InvalidSignature(format!(
                    "Signature expired: the presigned request expired at {} (now {}).",
                    basic_iso(expires_at),
                    basic_iso(now)
                )));
            }
        }
    }
    Ok(())
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_payload_hash(req: &SignedRequest<'_>) -> Result<String, AuthError> {
    let Some(declared) = req.headers.get("x-amz-content-sha256") else {
        return Ok(hex::encode(Sha256::digest(req.body)));
    };
    let declared = declared.to_str().unwrap_or("");
    if declared == UNSIGNED_PAYLOAD {
        return Ok(declared.to_owned());
    }
    if declared.starts_with("STREAMING-") {
        return Err(AuthError::Incomplete(
            "Streaming (chunked) SigV4 payloads are not supported by this server.".into(),
        ));
    }
    let actual = hex::encode(Sha256::digest(req.body));
    if declared.eq_ignore_ascii_case(&actual) {
        Ok(declared.to_owned())
    } else {
        Err(AuthError::InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
        ))
    }
}

/// The canonical URI: the raw request-line path percent-encoded again (`/` kept).
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    utf8_percent_encode(raw_path, URI_ENCODE_SET).to_string()
}

/// Form-decodes a raw query string into (key, value) pairs (`+` means space, as the AWS
/// SDK signers and botocore treat it); empty segments are skipped, a key without `=` gets
/// an empty value.
fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|s| !s.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let plus_as_space = s.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8_lossy()
        .into_owned()
}

fn form_decode_bytes(s: &str) -> Vec<u8> {
    let plus_as_space = s.replace('+', " ");
    percent_decode(plus_as_space.as_bytes()).collect()
}

/// The canonical query string: pairs decoded, RFC 3986-encoded, sorted by key then value,
/// joined with `&` (`=` always present); keys listed in `exclude` are left out.
pub fn canonical_query(raw: &str, exclude: &[&str]) -> String {
    let mut pairs: Vec<(String, String)> = raw
        .split('&')
        .filter(|s| !s.is_empty())
        .filter_map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            let key = form_decode_bytes(k);
            if exclude.iter().any(|e| e.as_bytes() == key.as_slice()) {
                return None;
            }
            let val = form_decode_bytes(v);
            Some((
                percent_encoding::percent_encode(&key, QUERY_ENCODE_SET).to_string(),
                percent_encoding::percent_encode(&val, QUERY_ENCODE_SET).to_string(),
            ))
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The canonical headers block: `name:value\n` for each signed header, in the given order.
fn canonical_headers(req: &SignedRequest<'_>, signed_headers: &str) -> String {
    let mut out = String::new();
    for name in signed_headers.split(';') {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for value in req.headers.get_all(name) {
            if !first {
                out.push(',');
            }
            first = false;
            collapse_into(&mut out, &String::from_utf8_lossy(value.as_bytes()));
        }
        if first && name == "host" {
            collapse_into(&mut out, req.authority.unwrap_or(""));
        }
        out.push('\n');
    }
    out
}

fn collapse_into(out: &mut String, value: &str) {
    for (i, word) in value.split_ascii_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC-SHA256 accepts keys of any length, so `new_from_slice` cannot fail here.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The SigV4 signing key: HMAC chain `"AWS4"+secret` → date → region → service →
/// `aws4_request`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, SCOPE_TERMINATOR.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uri_double_encodes_like_aws() {
        for (raw, want) in [
            (
                "/retainedMessage/dt%2Fapp%2Fx",
                "/retainedMessage/dt%252Fapp%252Fx",
            ),
            ("/things/myThing/jobs/$next", "/things/myThing/jobs/%24next"),
            (
                "/topics/dt%2Fapp%2Fsensor%201",
                "/topics/dt%252Fapp%252Fsensor%25201",
            ),
            ("", "/"),
            ("/", "/"),
        ] {
            assert_eq!(canonical_uri(raw), want, "{raw}");
        }
    }

    #[test]
    fn canonical_query_sorts_and_reencodes() {
        assert_eq!(
            canonical_query("retain=true&qos=1&contentType=text%2Fplain&a", &[]),
            "a=&contentType=text%2Fplain&qos=1&retain=true"
        );
        assert_eq!(canonical_query("b=2&b=1&x=a+b", &["x"]), "b=1&b=2");
        assert_eq!(canonical_query("k=a%20b~", &[]), "k=a%20b~");
    }

    #[test]
    fn signing_key_matches_aws_documented_example() {
        // IAM User Guide "Examples of how to derive a signing key for Signature Version 4".
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn scope_parsing_rejects_malformed_credentials() {
        assert!(parse_scope("AKID/20261121/us-east-1/logs/aws4_request").is_ok());
        for bad in [
            "AKID/20261121/us-east-1/logs",
            "AKID/2026112/us-east-1/logs/aws4_request",
            "/20261121/us-east-1/logs/aws4_request",
            "AKID/20261121/us-east-1/logs/aws5_request",
        ] {
            assert!(
                matches!(parse_scope(bad), Err(AuthError::Incomplete(_))),
                "{bad}"
            );
        }
    }
}
