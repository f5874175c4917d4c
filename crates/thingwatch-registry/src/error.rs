//! [`RegistryError`]: every way a registry operation fails, one variant per AWS IoT error code
//! the registry can produce (the API layer maps each to its HTTP status and
//! `x-amzn-ErrorType`).

/// A registry failure. `Display` is the AWS `message` text.
///
/// HTTP statuses per the AWS IoT API Reference (botocore `iot` model, see
/// `../shared/reference/aws-wire.md` §3): ResourceNotFound 404, ResourceAlreadyExists 409,
/// InvalidRequest 400, VersionConflict 409, LimitExceeded 410 (`SetV2LoggingLevel`, the only
/// operation that returns it here), NotConfigured 404, MalformedPolicy 400, DeleteConflict
/// 409, VersionsLimitExceeded 409, Storage → InternalFailure 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// `ResourceNotFoundException` (404): the named thing or thing group does not exist.
    #[error("{0}")]
    ResourceNotFound(String),
    /// `ResourceAlreadyExistsException` (409): a create with the name of an existing resource
    /// but a different configuration. Carries the existing resource's ID and ARN, which AWS
    /// returns as `resourceId` / `resourceArn`.
    #[error("{message}")]
    ResourceAlreadyExists {
        /// The AWS `message`.
        message: String,
        /// The existing resource's ID (`thingId` / `thingGroupId`).
        resource_id: String,
        /// The existing resource's ARN.
        resource_arn: String,
    },
    /// `InvalidRequestException` (400): the request breaks a registry rule (limits, hierarchy,
    /// a malformed `nextToken`, `maxResults` out of range, …).
    #[error("{0}")]
    InvalidRequest(String),
    /// `VersionConflictException` (409): `expectedVersion` differs from the stored version.
    #[error("{0}")]
    VersionConflict(String),
    /// `LimitExceededException` (410 on `SetV2LoggingLevel`): a new log target would exceed
    /// the configured maximum.
    #[error("{0}")]
    LimitExceeded(String),
    /// `NotConfiguredException` (404): V2 logging was never configured.
    #[error("{0}")]
    NotConfigured(String),
    /// `MalformedPolicyException` (400): CreatePolicy / CreatePolicyVersion with a document
    /// `thingwatch_policy` rejects; the text is `PolicyError::aws_message(IotPolicy)`.
    #[error("{0}")]
    MalformedPolicy(String),
    /// `DeleteConflictException` (409): DeletePolicy of a policy that is attached or has
    /// non-default versions; DeletePolicyVersion of the default version.
    #[error("{0}")]
    DeleteConflict(String),
    /// `VersionsLimitExceededException` (409): CreatePolicyVersion on a policy that already
    /// has [`crate::MAX_POLICY_VERSIONS`] versions.
    #[error("{0}")]
    VersionsLimitExceeded(String),
    /// `InternalFailureException` (500): the database failed. The text is for the server log,
    /// not for the client.
    #[error("registry storage failure: {0}")]
    Storage(String),
}

impl RegistryError {
    /// The AWS error code (`x-amzn-ErrorType`), e.g. `ResourceNotFoundException`.
    pub fn aws_code(&self) -> &'static str {
        match self {
            RegistryError::ResourceNotFound(_) => "ResourceNotFoundException",
            RegistryError::ResourceAlreadyExists { .. } => "ResourceAlreadyExistsException",
            RegistryError::InvalidRequest(_) => "InvalidRequestException",
            RegistryError::VersionConflict(_) => "VersionConflictException",
            RegistryError::LimitExceeded(_) => "LimitExceededException",
            RegistryError::NotConfigured(_) => "NotConfiguredException",
            RegistryError::MalformedPolicy(_) => "MalformedPolicyException",
            RegistryError::DeleteConflict(_) => "DeleteConflictException",
            RegistryError::VersionsLimitExceeded(_) => "VersionsLimitExceededException",
            RegistryError::Storage(_) => "InternalFailureException",
        }
    }

    /// The HTTP status AWS IoT answers this error with (see the type docs).
    pub fn http_status(&self) -> u16 {
        match self {
            RegistryError::ResourceNotFound(_) | RegistryError::NotConfigured(_) => 404,
            RegistryError::ResourceAlreadyExists { .. }
            | RegistryError::VersionConflict(_)
            | RegistryError::DeleteConflict(_)
            | RegistryError::VersionsLimitExceeded(_) => 409,
            RegistryError::InvalidRequest(_) | RegistryError::MalformedPolicy(_) => 400,
            RegistryError::LimitExceeded(_) => 410,
            RegistryError::Storage(_) => 500,
        }
    }
}

impl From<rusqlite::Error> for RegistryError {
    fn from(e: rusqlite::Error) -> Self {
        RegistryError::Storage(e.to_string())
    }
}

impl From<thingwatch_sqlite::OpenError> for RegistryError {
    fn from(e: thingwatch_sqlite::OpenError) -> Self {
        RegistryError::Storage(e.to_string())
    }
}

impl From<std::io::Error> for RegistryError {
    fn from(e: std::io::Error) -> Self {
        RegistryError::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for RegistryError {
    fn from(e: serde_json::Error) -> Self {
        RegistryError::Storage(format!("stored JSON: {e}"))
    }
}

/// `ResourceNotFound` for a thing, in AWS's wording.
pub(crate) fn thing_not_found(name: &str) -> RegistryError {
    RegistryError::ResourceNotFound(format!("Thing {name} cannot be found."))
}

/// `ResourceNotFound` for a thing group, in AWS's wording.
pub(crate) fn group_not_found(name: &str) -> RegistryError {
    RegistryError::ResourceNotFound(format!("Thing group {name} cannot be found."))
}

/// `ResourceNotFound` for an IoT policy, in AWS's wording.
pub(crate) fn policy_not_found(name: &str) -> RegistryError {
    RegistryError::ResourceNotFound(format!("Policy {name} cannot be found."))
}
