//! JSON request bodies shared by every JSON-speaking service (rest-json and AWS JSON 1.x):
//! one parser whose rejection is an AWS-shaped `SerializationException`.

use crate::error::ApiError;
use serde::de::DeserializeOwned;

/// Parses a JSON request body into `T`; an empty (or all-whitespace) body counts as `{}`,
/// as the AWS SDKs send no body for operations without input members.
///
/// # Errors
/// `SerializationException` (HTTP 400) naming whether the body is not JSON or a member has
/// the wrong type, with the position; the serde message itself is only logged.
pub fn parse_body<T: DeserializeOwned>(service: &str, body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        tracing::debug!(error = %e, service, "request body rejected");
        let what = match e.classify() {
            serde_json::error::Category::Data => "a member has the wrong type",
            _ => "the body is not valid JSON",
        };
        ApiError::serialization(format!(
            "Could not parse the request: {what} (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })
}
