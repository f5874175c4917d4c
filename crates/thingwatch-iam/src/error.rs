//! [`IamError`]: why an IAM store operation failed, one variant per IAM error code, carrying
//! the AWS-style message; [`PassRoleError`]: why a role may not be passed to a service.
//! [`IamError::to_api_error`] maps to the awsQuery error table of `thingwatch_aws`.

use thingwatch_aws::{ApiError, ErrorCode};

/// A failed IAM operation. `Display` is the message the client sees (except
/// [`IamError::Storage`], [`IamError::Open`], [`IamError::Io`] and [`IamError::Random`], which
/// are internal and answered with a generic `ServiceFailure`).
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// `NoSuchEntity` (404), e.g. "The user with name bob cannot be found."
    #[error("{0}")]
    NoSuchEntity(String),
    /// `EntityAlreadyExists` (409), e.g. "User with name bob already exists."
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// `LimitExceeded` (409), e.g. "Cannot exceed quota for AccessKeysPerUser: 2".
    #[error("{0}")]
    LimitExceeded(String),
    /// `DeleteConflict` (409), e.g. "Cannot delete entity, must delete policies first."
    #[error("{0}")]
    DeleteConflict(String),
    /// `MalformedPolicyDocument` (400), with `thingwatch_policy`'s IAM message.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// `ValidationError` (400): a parameter violates the model's constraints
    /// ("1 validation error detected: Value 'x' at 'userName' failed to satisfy constraint: …").
    #[error("{0}")]
    Validation(String),
    /// `InvalidInput` (400): a value the model allows but the operation does not.
    #[error("{0}")]
    InvalidInput(String),
    /// The SQLite store failed (internal).
    #[error("IAM store: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The store could not be opened: its directory or file, a pragma, or a schema version
    /// this build does not know (internal).
    #[error("IAM store: {0}")]
    Open(#[from] thingwatch_sqlite::OpenError),
    /// Creating the store directory failed (internal).
    #[error("IAM store directory: {0}")]
    Io(#[from] std::io::Error),
    /// The OS random source failed while generating an id or secret (internal).
    #[error("random source: {0}")]
    Random(getrandom::Error),
}

impl From<getrandom::Error> for IamError {
    fn from(e: getrandom::Error) -> Self {
        IamError::Random(e)
    }
}

impl IamError {
    /// The AWS error to answer with (awsQuery codes; internal causes are logged and hidden).
    pub fn to_api_error(&self) -> ApiError {
        let code = match self {
            IamError::NoSuchEntity(_) => ErrorCode::NoSuchEntity,
            IamError::EntityAlreadyExists(_) => ErrorCode::EntityAlreadyExists,
            IamError::LimitExceeded(_) => ErrorCode::LimitExceeded,
            IamError::DeleteConflict(_) => ErrorCode::DeleteConflict,
            IamError::MalformedPolicyDocument(_) => ErrorCode::MalformedPolicyDocument,
            IamError::Validation(_) => ErrorCode::Validation,
            IamError::InvalidInput(_) => ErrorCode::InvalidInput,
            IamError::Storage(_) | IamError::Open(_) | IamError::Io(_) | IamError::Random(_) => {
                tracing::error!(error = %self, "IAM internal failure");
                return ApiError::new(
                    ErrorCode::ServiceFailure,
                    "The request processing has failed because of an unknown error, exception or failure.",
                );
            }
        };
        ApiError::new(code, self.to_string())
    }
}

/// Why `iam:PassRole` of a role to a service was refused ([`crate::Iam::check_pass_role`]).
/// `Display` is a client-facing message; AWS IoT answers `SetV2LoggingOptions` /
/// `SetLoggingOptions` with `InvalidRequestException` carrying it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassRoleError {
    /// The ARN is not an IAM role ARN of this account.
    #[error("{role_arn} is not a valid IAM role ARN of account {account_id}.")]
    InvalidRoleArn {
        /// The ARN given.
        role_arn: String,
        /// This server's account.
        account_id: String,
    },
    /// No role has this ARN.
    #[error("The role {role_arn} does not exist.")]
    NoSuchRole {
        /// The ARN given.
        role_arn: String,
    },
    /// The role's trust policy does not let `service` call `sts:AssumeRole`.
    #[error(
        "The role {role_arn} cannot be assumed by {service}: its trust policy must allow sts:AssumeRole for the service principal {service}."
    )]
    NotTrusted {
        /// The role's ARN.
        role_arn: String,
        /// The service principal, e.g. `iot.amazonaws.com`.
        service: String,
    },
    /// The caller's policies do not allow `iam:PassRole` on the role.
    #[error(
        "User: {caller_arn} is not authorized to perform: iam:PassRole on resource: {role_arn}"
    )]
    NotAuthorized {
        /// Who tried to pass the role.
        caller_arn: String,
        /// The role's ARN.
        role_arn: String,
    },
}
