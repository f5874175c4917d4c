//! The API-call observer: the dispatcher's hook that sees **every** call on the HTTP port —
//! who made it (when the key id is known, also if the signature was wrong), from where, which
//! service and operation, its parameters, and its outcome (status, AWS error code and message,
//! response body). The audit trail (CloudTrail) is one observer; metrics of API calls can be
//! another.
//!
//! Observers are called on the request's task after the response is built and before it is
//! sent: an observer must not block — it copies what it keeps into its own bounded queue and
//! returns. Calls are reported in completion order. MQTT over WebSocket (`/mqtt`) is data
//! plane and is not reported, as CloudTrail does not record data-plane actions.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use std::net::SocketAddr;
use std::time::SystemTime;

/// Who made a call whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The access key id that signed the request.
    pub access_key_id: String,
    /// The caller's ARN (`arn:aws:iam::ACCOUNT:root`, `…:user/NAME`).
    pub arn: String,
    /// The caller's 12-digit account.
    pub account_id: String,
    /// The friendly name (`root` for the root user).
    pub user_name: String,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCallOutcome {
    /// The HTTP status sent.
    pub status: u16,
    /// The AWS error code (e.g. `AccessDeniedException`, `ResourceNotFoundException`) for a
    /// refused or failed call; `None` for a success.
    pub error_code: Option<&'static str>,
    /// The error message sent with it.
    pub error_message: Option<String>,
    /// The response body as sent (JSON, XML, or empty).
    pub response_body: Bytes,
}

/// One call on the HTTP port, as the dispatcher saw it.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// The `x-amzn-RequestId` the caller received.
    pub request_id: String,
    /// When the request arrived (the server clock).
    pub received_at: SystemTime,
    /// The TCP peer.
    pub source: Option<SocketAddr>,
    /// The SigV4 signing name the request addressed (`iot`, `logs`, …); `None` when the
    /// request carried no readable credential scope.
    pub service: Option<String>,
    /// The signing region of the credential scope.
    pub region: Option<String>,
    /// The operation (`CreateThing`, `FilterLogEvents`); `None` when it could not be told
    /// (no scope, unknown route).
    pub operation: Option<String>,
    /// The decoded path labels of a rest-json request (`thingName` → `t1`), from the
    /// service's route table; empty for other protocols.
    pub path_labels: Vec<(String, String)>,
    /// The protocol the request was served in (`None` when no service handled it).
    pub protocol: Option<crate::error::Protocol>,
    /// The access key id in the credential scope, also when the signature did not verify
    /// (CloudTrail records refused calls that carry a valid key id).
    pub access_key_id: Option<String>,
    /// The authenticated caller; `None` when authentication failed.
    pub caller: Option<Caller>,
    /// The request method.
    pub method: Method,
    /// The request URI (path and query as sent).
    pub uri: Uri,
    /// The request headers (including `User-Agent`; `Authorization` carries no secret, only
    /// the key id and signature).
    pub headers: HeaderMap,
    /// The request body as received (empty when the request was refused before it was read,
    /// e.g. over the size limit).
    pub request_body: Bytes,
    /// How it ended.
    pub outcome: ApiCallOutcome,
}

impl ApiCall {
    /// The `User-Agent` header, if any.
    pub fn user_agent(&self) -> Option<&str> {
        self.headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
    }
}

/// A consumer of every API call ([`crate::ApiState::add_call_observer`]).
pub trait ApiCallObserver: Send + Sync + 'static {
    /// Takes one finished call. Must not block (see the module docs).
    fn on_call(&self, call: &ApiCall);
}
