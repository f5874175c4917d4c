//! Writing AWS errors and JSON successes as HTTP responses.
//!
//! The error table and each protocol's error format are `thingwatch_aws::error`'s
//! ([`ApiError::to_wire`]); this module turns that wire form into an axum [`Response`]
//! ([`RenderError::render`]), maps SigV4 failures onto the table ([`auth_error`]) and writes
//! JSON successes ([`json_success`]).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

pub use thingwatch_aws::error::{
    ApiError, CONTENT_TYPE_JSON_1_0, CONTENT_TYPE_JSON_1_1, CONTENT_TYPE_XML, ERROR_TYPE_HEADER,
    ErrorCode, Fault, Protocol, QUERY_ERROR_HEADER, REQUEST_ID_HEADER, WireError,
};

use crate::sigv4::AuthError;

/// Renders an [`ApiError`] as an HTTP response.
pub trait RenderError {
    /// This error in `protocol`'s format, with `x-amzn-RequestId: request_id`.
    fn render(&self, protocol: Protocol, request_id: &str) -> Response;
}

impl RenderError for ApiError {
    fn render(&self, protocol: Protocol, request_id: &str) -> Response {
        wire_response(self.to_wire(protocol, request_id))
    }
}

/// The HTTP response carrying `wire`. A header value that is not valid in HTTP (a request id
/// with control characters) is left out rather than failing the response.
pub fn wire_response(wire: WireError) -> Response {
    let mut resp = Response::new(Body::from(wire.body));
    *resp.status_mut() =
        StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire.content_type),
    );
    for (name, value) in wire.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

/// The code an authentication failure is reported with.
pub fn auth_error_code(err: &AuthError) -> ErrorCode {
    match err {
        AuthError::Missing => ErrorCode::MissingAuthenticationToken,
        AuthError::Incomplete(_) => ErrorCode::IncompleteSignature,
        AuthError::UnrecognizedClient => ErrorCode::UnrecognizedClient,
        AuthError::SignatureMismatch | AuthError::InvalidSignature(_) => {
            ErrorCode::InvalidSignature
        }
    }
}

/// The error for an authentication failure: its code and the failure's text as message.
pub fn auth_error(err: &AuthError) -> ApiError {
    ApiError::new(auth_error_code(err), err.to_string())
}

/// A successful JSON-protocol response: 200, the protocol's content type, the request id,
/// and `body` serialized (members that are `None` must be skipped by the caller's serde
/// attributes: AWS omits absent members rather than sending `null`).
///
/// # Errors
/// `ServiceUnavailableException` if `body` cannot be serialized (logged; cannot happen for
/// plain data structs).
pub fn json_success(
    protocol: Protocol,
    request_id: &str,
    body: &impl serde::Serialize,
) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::internal(&e))?;
    let content_type = match protocol {
        // JSON bodies only: CBOR successes are written with `thingwatch_wire::cbor`.
        Protocol::RestJson | Protocol::RpcV2Cbor => "application/json",
        Protocol::AwsJson11 => CONTENT_TYPE_JSON_1_1,
        Protocol::AwsJson10QueryCompatible => CONTENT_TYPE_JSON_1_0,
        Protocol::AwsQuery => CONTENT_TYPE_XML,
    };
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(REQUEST_ID_HEADER, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body_text(r: Response) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("test runtime");
        let bytes = rt
            .block_on(async { r.into_body().collect().await.map(|c| c.to_bytes().to_vec()) })
            .unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn rendered_response_carries_the_wire_form() {
        let r = ApiError::new(ErrorCode::ResourceNotFound, "Thing x cannot be found.")
            .render(Protocol::RestJson, "rid-1");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let h = r.headers();
        assert_eq!(
            h.get(ERROR_TYPE_HEADER).unwrap(),
            "ResourceNotFoundException"
        );
        assert_eq!(h.get(REQUEST_ID_HEADER).unwrap(), "rid-1");
        assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
        assert_eq!(body_text(r), r#"{"message":"Thing x cannot be found."}"#);

        let r = ApiError::new(ErrorCode::InternalFailure, "x")
            .render(Protocol::AwsJson10QueryCompatible, "rid");
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            r.headers().get(QUERY_ERROR_HEADER).unwrap(),
            "InternalServiceError;Receiver"
        );

        let r = ApiError::new(ErrorCode::NoSuchEntity, "gone").render(Protocol::AwsQuery, "q");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers().get(header::CONTENT_TYPE).unwrap(), "text/xml");
        assert!(body_text(r).contains("<Code>NoSuchEntity</Code>"));
    }

    #[test]
    fn a_request_id_that_is_no_header_value_is_left_out() {
        let r = ApiError::new(ErrorCode::Throttling, "slow").render(Protocol::RestJson, "a\nb");
        assert!(r.headers().get(REQUEST_ID_HEADER).is_none());
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    #[test]
    fn auth_failures_map_onto_the_table() {
        assert_eq!(
            auth_error_code(&AuthError::Missing),
            ErrorCode::MissingAuthenticationToken
        );
        assert_eq!(
            auth_error_code(&AuthError::SignatureMismatch),
            ErrorCode::InvalidSignature
        );
        assert_eq!(
            auth_error_code(&AuthError::UnrecognizedClient),
            ErrorCode::UnrecognizedClient
        );
    }
}
