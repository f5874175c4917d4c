//! An AWS client for tests: builds requests in the AWS protocols the server speaks, signs them
//! with Signature Version 4 — the AWS SDK for Rust's signer (`aws-sigv4`), an implementation
//! independent of the server's verifier — and sends them over real HTTP with reqwest.
//!
//! Protocols (the wire shapes are AWS's, see each constructor of [`Request`]):
//! - JSON 1.0 / 1.1 ([`Request::aws_json`], [`Request::logs`]): `POST /`, the operation in
//!   `X-Amz-Target`, a JSON body.
//! - rest-json ([`Request::rest_json`]): the operation in the method and path (`iot`,
//!   `iot-data`), an optional JSON body.
//! - query ([`Request::query`]): `POST /` with a form body (`iam`, `sts`); the answers are XML,
//!   read with [`Response::xml`].
//! - raw ([`Request::new`]): any method, path, headers and body bytes.
//!
//! Presigned URLs (query-string SigV4, as the AWS IoT Device SDKs sign the MQTT-over-WebSocket
//! `/mqtt` URL) come from [`AwsClient::presign`].
//!
//! Source of the signing rules: "Create a signed AWS API request" and "Authenticating Requests:
//! Using Query Parameters" in the AWS documentation
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use serde_json::Value;

use crate::{REGION, ROOT_AKID, ROOT_SECRET};

/// An access key: ID, secret and, for temporary credentials, the session token (sent as
/// `X-Amz-Security-Token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key ID (`AKID…`, `AKIA…`, `ASIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl Credentials {
    /// Long-term credentials (no session token).
    pub fn new(access_key_id: &str, secret_access_key: &str) -> Credentials {
        Credentials {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: None,
        }
    }

    /// [`ROOT_AKID`] / [`ROOT_SECRET`], the root key of the in-process test servers.
    pub fn root() -> Credentials {
        Credentials::new(ROOT_AKID, ROOT_SECRET)
    }

    /// The same key with a session token.
    pub fn with_session_token(mut self, token: &str) -> Credentials {
        self.session_token = Some(token.to_owned());
        self
    }

    fn identity(&self) -> aws_smithy_runtime_api::client::identity::Identity {
        aws_credential_types::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "thingwatch-test-support",
        )
        .into()
    }
}

/// How a [`Request`] is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// Signed with the current time (the default).
    Now,
    /// Signed as if at this time (for clock-skew and expiry tests).
    At(SystemTime),
    /// Not signed at all: no `Authorization` or `X-Amz-Date` header.
    Unsigned,
}

/// One request before signing: the signing name of the service, method, path (with its query
/// string), headers beyond `host`, body bytes, how to sign and, optionally, credentials that
/// replace the client's.
#[derive(Debug, Clone)]
pub struct Request {
    /// The SigV4 signing name (`logs`, `iot`, `iotdata`, `iam`, `sts`, …).
    pub service: String,
    /// The HTTP method.
    pub method: String,
    /// Path and query string, e.g. `/things/t1?namespace=x`.
    pub path: String,
    /// Headers to send and sign, in order; `host` is added by the client.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// How to sign.
    pub signing: Signing,
    /// Credentials to sign with instead of the client's.
    pub credentials: Option<Credentials>,
}

impl Request {
    /// A raw request with no headers and an empty body.
    pub fn new(service: &str, method: &str, path: &str) -> Request {
        Request {
            service: service.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            signing: Signing::Now,
            credentials: None,
        }
    }

    /// An AWS JSON `version` (`"1.0"` or `"1.1"`) call: `POST /`, `Content-Type:
    /// application/x-amz-json-{version}`, `X-Amz-Target: {target}` (e.g.
    /// `Logs_20140328.PutLogEvents`), `body` as compact JSON.
    pub fn aws_json(service: &str, version: &str, target: &str, body: &Value) -> Request {
        Request::new(service, "POST", "/")
            .header("content-type", &format!("application/x-amz-json-{version}"))
            .header("x-amz-target", target)
            .body(body.to_string().into_bytes())
    }

    /// A CloudWatch Logs operation `op` (JSON 1.1, target prefix `Logs_20140328`).
    pub fn logs(op: &str, body: &Value) -> Request {
        Request::aws_json("logs", "1.1", &format!("Logs_20140328.{op}"), body)
    }

    /// A rest-json call; with a body, `Content-Type: application/json` and the body as compact
    /// JSON, without one, neither.
    pub fn rest_json(service: &str, method: &str, path: &str, body: Option<&Value>) -> Request {
        let request = Request::new(service, method, path);
        match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes()),
            None => request,
        }
    }

    /// A query-protocol call: `POST /` with `form` URL-encoded as the body (`Content-Type:
    /// application/x-www-form-urlencoded; charset=utf-8`, as botocore sends it). `form`
    /// carries `Action` and `Version` like any other parameter.
    pub fn query(service: &str, form: &[(&str, &str)]) -> Request {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        Request::new(service, "POST", "/")
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body.into_bytes())
    }

    /// Adds a header (sent and signed).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds every header of `headers`.
    pub fn headers(mut self, headers: &[(&str, &str)]) -> Request {
        for (name, value) in headers {
            self = self.header(name, value);
        }
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = body;
        self
    }

    /// Signs as if at `time`.
    pub fn signed_at(mut self, time: SystemTime) -> Request {
        self.signing = Signing::At(time);
        self
    }

    /// Sends the request unsigned.
    pub fn unsigned(mut self) -> Request {
        self.signing = Signing::Unsigned;
        self
    }

    /// Signs with `credentials` instead of the client's.
    pub fn signed_with(mut self, credentials: Credentials) -> Request {
        self.credentials = Some(credentials);
        self
    }
}

/// An HTTP answer: status, headers and the exact body bytes.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Every response header.
    pub headers: reqwest::header::HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The header `name` as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error code of `x-amzn-ErrorType` without any `:…` suffix (what botocore reads).
    pub fn error_type(&self) -> Option<&str> {
        self.header("x-amzn-errortype")
            .map(|v| v.split(':').next().unwrap_or(v))
    }

    /// `Content-Type`, or `""` when absent.
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// `x-amzn-RequestId`, if present.
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-amzn-requestid")
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not JSON (an empty body is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("non-JSON body ({e}): {}", self.text()))
    }

    /// The texts of every XML element at `path` in the body; see [`xml_texts`].
    pub fn xml(&self, path: &str) -> Vec<String> {
        xml_texts(&self.text(), path)
    }
}

/// What the payload hash of a presigned request covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignedPayload {
    /// `UNSIGNED-PAYLOAD`, as S3-style presigned URLs sign it.
    Unsigned,
    /// The SHA-256 of the empty body, as the AWS IoT Device SDKs sign the `/mqtt` URL.
    Empty,
}

/// A SigV4 client for one endpoint (`http://{endpoint}`) in [`REGION`] with one set of
/// credentials. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AwsClient {
    endpoint: SocketAddr,
    credentials: Credentials,
    http: reqwest::Client,
}

impl AwsClient {
    /// A client for `http://{endpoint}` signing with `credentials`.
    pub fn new(endpoint: SocketAddr, credentials: Credentials) -> AwsClient {
        AwsClient {
            endpoint,
            credentials,
            http: reqwest::Client::new(),
        }
    }

    /// A client signing with [`Credentials::root`].
    pub fn root(endpoint: SocketAddr) -> AwsClient {
        AwsClient::new(endpoint, Credentials::root())
    }

    /// The same endpoint with other credentials.
    pub fn with_credentials(&self, credentials: Credentials) -> AwsClient {
        AwsClient {
            credentials,
            ..self.clone()
        }
    }

    /// The server's address.
    pub fn endpoint(&self) -> SocketAddr {
        self.endpoint
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Signs `request` (unless [`Signing::Unsigned`]), sends it and reads the whole answer.
    /// Panics when the HTTP exchange itself fails (connection refused, reset).
    pub async fn send(&self, request: Request) -> Response {
        let url = format!("http://{}{}", self.endpoint, request.path);
        let mut headers = vec![("host".to_owned(), self.endpoint.to_string())];
        headers.extend(request.headers.iter().cloned());
        let time = match request.signing {
            Signing::Now => Some(SystemTime::now()),
            Signing::At(time) => Some(time),
            Signing::Unsigned => None,
        };
        if let Some(time) = time {
            let credentials = request.credentials.as_ref().unwrap_or(&self.credentials);
            let identity = credentials.identity();
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region(REGION)
                .name(&request.service)
                .time(time)
                .settings(SigningSettings::default())
                .build()
                .expect("signing parameters")
                .into();
            let signable = SignableRequest::new(
                &request.method,
                &url,
                headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                SignableBody::Bytes(&request.body),
            )
            .expect("signable request");
            let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
            for (k, v) in instructions.headers() {
                headers.push((k.to_owned(), v.to_owned()));
            }
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
        let mut builder = self.http.request(method, &url).body(request.body);
        // reqwest sets the same `host` from the URL.
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let response = builder.send().await.expect("HTTP exchange");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("response body").to_vec();
        Response {
            status,
            headers,
            body,
        }
    }

    /// The query string (`X-Amz-Algorithm=…&…&X-Amz-Signature=…`, no leading `?`) that
    /// presigns `GET http://{endpoint}{path}` for `service`, signed as if at `at` and valid for
    /// `expires` (`X-Amz-Expires`, whole seconds, at most 7 days). Only `host` is signed; a
    /// session token, if any, is part of the signed query. Values are URI-encoded as SigV4
    /// canonicalises them ([`uri_encode`]).
    pub fn presign(
        &self,
        service: &str,
        path: &str,
        at: SystemTime,
        expires: Duration,
        payload: PresignedPayload,
    ) -> String {
        let url = format!("http://{}{}", self.endpoint, path);
        let identity = self.credentials.identity();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(service)
            .time(at)
            .settings(settings)
            .build()
            .expect("signing parameters")
            .into();
        let host = self.endpoint.to_string();
        let body = match payload {
            PresignedPayload::Unsigned => SignableBody::UnsignedPayload,
            PresignedPayload::Empty => SignableBody::Bytes(&[]),
        };
        let signable =
            SignableRequest::new("GET", &url, [("host", host.as_str())].into_iter(), body)
                .expect("signable request");
        let (instructions, _) = sign(signable, &params).expect("presign").into_parts();
        instructions
            .params()
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// SigV4's URI encoding: every byte but the unreserved `A-Z a-z 0-9 - _ . ~` as `%XX`
/// (upper-case hex).
pub fn uri_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// The texts (entities unescaped) of every element at `path` in `xml`, in document order;
/// `path` is the `/`-separated element names from the root, e.g.
/// `GetUserResponse/GetUserResult/User/UserName`. An empty element gives `""`. Panics on
/// XML that does not parse.
pub fn xml_texts(xml: &str, path: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                if stack.join("/") == path {
                    current = Some(String::new());
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&t.decode().expect("utf-8 text"));
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(c) = current.as_mut() {
                    let name = r.decode().expect("utf-8 ref");
                    let s = match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected entity {other}"),
                    };
                    c.push_str(s);
                }
            }
            Ok(Event::End(_)) => {
                if stack.join("/") == path
                    && let Some(c) = current.take()
                {
                    out.push(c);
                }
                stack.pop();
            }
            Ok(Event::Empty(e)) => {
                stack.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                if stack.join("/") == path {
                    out.push(String::new());
                }
                stack.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("invalid XML ({e}): {xml}"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(uri_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(
            uri_encode("AKID/20250101/us-east-1/iot/aws4_request"),
            "AKID%2F20250101%2Fus-east-1%2Fiot%2Faws4_request"
        );
        assert_eq!(uri_encode("a+b=c d*"), "a%2Bb%3Dc%20d%2A");
    }

    #[test]
    fn xml_texts_follow_the_path_and_unescape() {
        let xml = "<R><A><B>x &amp; y</B><B/></A><B>no</B></R>";
        assert_eq!(xml_texts(xml, "R/A/B"), ["x & y", ""]);
        assert_eq!(xml_texts(xml, "R/B"), ["no"]);
        assert!(xml_texts(xml, "R/C").is_empty());
    }

    #[test]
    fn presigned_queries_carry_the_sigv4_parameters() {
        let client = AwsClient::new(
            "127.0.0.1:4580".parse().unwrap(),
            Credentials::root().with_session_token("t/o+k="),
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let query = client.presign(
            "iotdevicegateway",
            "/mqtt",
            at,
            Duration::from_secs(300),
            PresignedPayload::Empty,
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20261118%2Fus-east-1%2Fiotdevicegateway%2Faws4_request",
            "X-Amz-Expires=300",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Security-Token=t%2Fo%2Bk%3D",
        ] {
            assert!(query.split('&').any(|p| p == part), "{part} in {query}");
        }
        let signature = query
            .split('&')
            .find_map(|p| p.strip_prefix("X-Amz-Signature="))
            .expect("signature");
        assert_eq!(signature.len(), 64);
        let unsigned = client.presign(
            "iotdevicegateway",
            "/mqtt",
            at,
            Duration::from_secs(300),
            PresignedPayload::Unsigned,
        );
        assert_ne!(unsigned, query, "the payload hash is part of the signature");
    }
}
