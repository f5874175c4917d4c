//! The rules engine's errors, each mapping to one AWS IoT error code (the API crate renders
//! them).

/// What a control-plane call on topic rules or destinations can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The rule's SQL (or a substitution template of its actions) does not parse:
    /// `SqlParseException` (400).
    #[error("{0}")]
    SqlParse(String),
    /// A malformed or invalid request: `InvalidRequestException` (400).
    #[error("{0}")]
    InvalidRequest(String),
    /// The rule or destination does not exist. AWS IoT's model lists no not-found error for
    /// the topic rule operations: it answers `UnauthorizedException` (401) for a rule that
    /// does not exist, and `InvalidRequestException` for an unknown destination.
    #[error("{0}")]
    NotFound(String),
    /// A rule with that name exists: `ResourceAlreadyExistsException` (409).
    #[error("{0}")]
    AlreadyExists(String),
    /// An account limit (rules per account, destinations): `LimitExceededException` (410).
    #[error("{0}")]
    LimitExceeded(String),
    /// A change that conflicts with a concurrent one: `ConflictingResourceUpdateException`
    /// (409).
    #[error("{0}")]
    Conflict(String),
    /// The store failed: `InternalException` (500).
    #[error("storage: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for RulesError {
    fn from(e: rusqlite::Error) -> Self {
        RulesError::Storage(e.to_string())
    }
}
