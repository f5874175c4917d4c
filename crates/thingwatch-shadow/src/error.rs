//! [`ShadowError`]: every way a Device Shadow request fails, with its HTTP code (the `code` of
//! the MQTT `/rejected` payload), its AWS message text and the request's `clientToken`.
//!
//! Source: AWS IoT Developer Guide, *Device Shadow error messages* (codes and message texts)
//! and *Shadow document examples — Error response document* (the `/rejected` shape); the
//! HTTP error codes are the `iot-data` botocore model's (`../shared/reference/aws-wire.md`).

use serde::Serialize;

/// The kind of a shadow failure: one variant per HTTP code the Device Shadow service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShadowErrorKind {
    /// 400 Bad Request: malformed JSON, wrong node types, bad `version` / `clientToken`,
    /// nesting too deep, invalid thing or shadow name, bad `nextToken` / `pageSize`.
    InvalidRequest,
    /// 401 Unauthorized. Not produced by this crate; for the transports' authorization.
    Unauthorized,
    /// 403 Forbidden. Not produced by this crate; for the transports' authorization.
    Forbidden,
    /// 404 Not Found: get or delete of a shadow that does not exist.
    NotFound,
    /// 409 Conflict: the request's `version` is not the shadow's current version.
    Conflict,
    /// 413 Payload Too Large: the request, or the resulting `desired` + `reported`, is over
    /// the limit.
    PayloadTooLarge,
    /// 415 Unsupported Media Type: the payload is not UTF-8.
    UnsupportedEncoding,
    /// 429 Too Many Requests. Not produced by this crate; for the transports' in-flight and
    /// rate limits.
    Throttled,
    /// 500 Internal Server Error: the database failed (the cause is logged, never returned).
    Internal,
}

impl ShadowErrorKind {
    /// The HTTP status code, which is also the `code` field of a `/rejected` payload.
    pub fn code(self) -> u16 {
        match self {
            ShadowErrorKind::InvalidRequest => 400,
            ShadowErrorKind::Unauthorized => 401,
            ShadowErrorKind::Forbidden => 403,
            ShadowErrorKind::NotFound => 404,
            ShadowErrorKind::Conflict => 409,
            ShadowErrorKind::PayloadTooLarge => 413,
            ShadowErrorKind::UnsupportedEncoding => 415,
            ShadowErrorKind::Throttled => 429,
            ShadowErrorKind::Internal => 500,
        }
    }

    /// The `iot-data` error code for HTTP (`x-amzn-ErrorType`), from the botocore `iot-data`
    /// model: `InvalidRequestException`, `UnauthorizedException`, `ResourceNotFoundException`,
    /// `ConflictException`, `RequestEntityTooLargeException`,
    /// `UnsupportedDocumentEncodingException`, `ThrottlingException`,
    /// `InternalFailureException`. 403 has no `iot-data` code; `ForbiddenException` is used.
    pub fn aws_error_code(self) -> &'static str {
        match self {
            ShadowErrorKind::InvalidRequest => "InvalidRequestException",
            ShadowErrorKind::Unauthorized => "UnauthorizedException",
            ShadowErrorKind::Forbidden => "ForbiddenException",
            ShadowErrorKind::NotFound => "ResourceNotFoundException",
            ShadowErrorKind::Conflict => "ConflictException",
            ShadowErrorKind::PayloadTooLarge => "RequestEntityTooLargeException",
            ShadowErrorKind::UnsupportedEncoding => "UnsupportedDocumentEncodingException",
            ShadowErrorKind::Throttled => "ThrottlingException",
            ShadowErrorKind::Internal => "InternalFailureException",
        }
    }
}

/// A rejected shadow request. `Display` is `"<code> <message>"`.
///
/// Over MQTT it becomes the `/rejected` payload ([`ShadowError::rejected_payload`]); over
/// HTTP the status is [`ShadowError::code`], the error type [`ShadowError::aws_error_code`]
/// and the message [`ShadowError::message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {message}", .kind.code())]
pub struct ShadowError {
    /// What failed.
    pub kind: ShadowErrorKind,
    /// The AWS message text, e.g. `Version conflict`.
    pub message: String,
    /// The request's `clientToken`, echoed in the `/rejected` payload; `None` when the request
    /// had none or it could not be read (malformed JSON, an invalid token).
    pub client_token: Option<String>,
}

/// The `/rejected` payload: `{code, message, timestamp, clientToken?}`.
#[derive(Serialize)]
struct Rejected<'a> {
    code: u16,
    message: &'a str,
    timestamp: i64,
    #[serde(rename = "clientToken", skip_serializing_if = "Option::is_none")]
    client_token: Option<&'a str>,
}

impl ShadowError {
    /// A new error of `kind` with the AWS `message` and no client token.
    pub fn new(kind: ShadowErrorKind, message: impl Into<String>) -> ShadowError {
        ShadowError {
            kind,
            message: message.into(),
            client_token: None,
        }
    }

    /// This error carrying the request's `clientToken`.
    pub fn with_client_token(mut self, client_token: Option<&str>) -> ShadowError {
        self.client_token = client_token.map(str::to_string);
        self
    }

    /// The HTTP status / `/rejected` `code`: 400, 401, 403, 404, 409, 413, 415, 429 or 500.
    pub fn code(&self) -> u16 {
        self.kind.code()
    }

    /// The `iot-data` error code for HTTP (`x-amzn-ErrorType`); see
    /// [`ShadowErrorKind::aws_error_code`].
    pub fn aws_error_code(&self) -> &'static str {
        self.kind.aws_error_code()
    }

    /// The MQTT `/rejected` payload (and the HTTP error body's content):
    /// `{"code":409,"message":"Version conflict","timestamp":<epoch s>,"clientToken":"…"}`
    /// with `timestamp` = `now_ms` in epoch **seconds**. Source: Developer Guide, *Error
    /// response document*.
    pub fn rejected_payload(&self, now_ms: i64) -> Vec<u8> {
        let rejected = Rejected {
            code: self.code(),
            message: &self.message,
            timestamp: now_ms.div_euclid(1000),
            client_token: self.client_token.as_deref(),
        };
        // Serialising a struct of plain fields cannot fail.
        serde_json::to_vec(&rejected).unwrap_or_default()
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ShadowError {
        ShadowError::new(ShadowErrorKind::InvalidRequest, message)
    }

    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> ShadowError {
        tracing::error!(%cause, "shadow storage failure");
        ShadowError::new(ShadowErrorKind::Internal, "Internal service failure")
    }
}

impl From<rusqlite::Error> for ShadowError {
    fn from(e: rusqlite::Error) -> ShadowError {
        ShadowError::internal(&e)
    }
}
