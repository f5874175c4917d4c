//! [`StoreError`]: the error type of every [`crate::LogStore`] operation.

/// Errors returned by [`crate::LogStore`] methods.
///
/// The `String` payloads of the first three variants are the AWS-style messages shown to the
/// user verbatim by the API layer (CloudWatch Logs JSON 1.1 error bodies, HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// `ResourceNotFoundException`, e.g. "The specified log group does not exist.".
    #[error("{0}")]
    ResourceNotFound(String),
    /// `ResourceAlreadyExistsException`, e.g. "The specified log group already exists".
    #[error("{0}")]
    ResourceAlreadyExists(String),
    /// `InvalidParameterException`, e.g. "The specified nextToken is invalid." or a
    /// PutLogEvents batch-rule violation.
    #[error("{0}")]
    InvalidParameter(String),
    /// Engine or I/O failure; the API maps this to a 500/503 `ServiceUnavailableException`.
    /// The message is for logs, not for users.
    #[error("log store failure: {0}")]
    Storage(String),
}

impl From<fjall::Error> for StoreError {
    fn from(e: fjall::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Storage(e.to_string())
    }
}

/// "The specified log group does not exist." (AWS message, see aws-wire.md §5).
pub(crate) fn group_not_found() -> StoreError {
    StoreError::ResourceNotFound("The specified log group does not exist.".into())
}

/// "The specified log stream does not exist." (AWS message, see aws-wire.md §5).
pub(crate) fn stream_not_found() -> StoreError {
    StoreError::ResourceNotFound("The specified log stream does not exist.".into())
}

/// "The specified nextToken is invalid." (AWS message, see aws-wire.md §5).
pub(crate) fn invalid_token() -> StoreError {
    StoreError::InvalidParameter("The specified nextToken is invalid.".into())
}
