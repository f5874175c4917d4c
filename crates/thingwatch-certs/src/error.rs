//! [`CertError`]: every way a certificate operation fails, one variant per AWS IoT error code,
//! each carrying its HTTP status, so the API layer maps it without a second table.

/// A certificate-registry failure. `Display` is the AWS `message` text.
///
/// Codes and HTTP statuses from the AWS IoT API Reference error sections of
/// CreateKeysAndCertificate, CreateCertificateFromCsr, RegisterCertificate,
/// RegisterCertificateWithoutCA, RegisterCACertificate, UpdateCertificate, DeleteCertificate,
/// UpdateCACertificate and DeleteCACertificate (botocore `iot` model):
/// InvalidRequest 400, CertificateValidation 400, RegistrationCodeValidation 400,
/// ResourceNotFound 404, CertificateState 406, ResourceAlreadyExists 409,
/// CertificateConflict 409, DeleteConflict 409, Internal → InternalFailure 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// `InvalidRequestException` (400): a malformed ID, an out-of-range page size, a PEM over
    /// [`crate::MAX_PEM_CHARS`], a status the operation does not accept.
    #[error("{0}")]
    InvalidRequest(String),
    /// `CertificateValidationException` (400): the PEM is not a parsable X.509 certificate,
    /// or its signature does not verify against the CA it names.
    #[error("{0}")]
    CertificateValidation(String),
    /// `RegistrationCodeValidationException` (400): RegisterCACertificate's verification
    /// certificate is not signed by the CA or its common name is not the registration code.
    #[error("{0}")]
    RegistrationCodeValidation(String),
    /// `ResourceNotFoundException` (404): no certificate or CA certificate with that ID.
    #[error("{0}")]
    ResourceNotFound(String),
    /// `CertificateStateException` (406): the operation is not allowed in the certificate's
    /// current status (delete while ACTIVE, leave REVOKED, …).
    #[error("{0}")]
    CertificateState(String),
    /// `ResourceAlreadyExistsException` (409): the certificate (same DER, same ID) is already
    /// registered. Carries the existing ID and ARN (`resourceId` / `resourceArn`).
    #[error("{message}")]
    ResourceAlreadyExists {
        /// The AWS `message`.
        message: String,
        /// The existing certificate's ID.
        resource_id: String,
        /// The existing certificate's ARN.
        resource_arn: String,
    },
    /// `CertificateConflictException` (409): more than one registered CA has the issuer's
    /// subject and verifies the certificate, and the request did not say which one.
    #[error("{0}")]
    CertificateConflict(String),
    /// `DeleteConflictException` (409): the certificate is still attached to a thing or
    /// policy. Produced by the caller (which owns attachments) through
    /// [`CertError::delete_conflict`], so the message is the same everywhere.
    #[error("{0}")]
    DeleteConflict(String),
    /// `InternalFailureException` (500): storage, key generation or signing failed. The text is
    /// for the server log, not for the client.
    #[error("certificate registry internal failure: {0}")]
    Internal(String),
}

impl CertError {
    /// The AWS error code (`x-amzn-ErrorType` / `__type`), e.g. `CertificateStateException`.
    pub fn code(&self) -> &'static str {
        match self {
            CertError::InvalidRequest(_) => "InvalidRequestException",
            CertError::CertificateValidation(_) => "CertificateValidationException",
            CertError::RegistrationCodeValidation(_) => "RegistrationCodeValidationException",
            CertError::ResourceNotFound(_) => "ResourceNotFoundException",
            CertError::CertificateState(_) => "CertificateStateException",
            CertError::ResourceAlreadyExists { .. } => "ResourceAlreadyExistsException",
            CertError::CertificateConflict(_) => "CertificateConflictException",
            CertError::DeleteConflict(_) => "DeleteConflictException",
            CertError::Internal(_) => "InternalFailureException",
        }
    }

    /// The HTTP status AWS IoT answers this error with (see the type docs).
    pub fn status(&self) -> u16 {
        match self {
            CertError::InvalidRequest(_)
            | CertError::CertificateValidation(_)
            | CertError::RegistrationCodeValidation(_) => 400,
            CertError::ResourceNotFound(_) => 404,
            CertError::CertificateState(_) => 406,
            CertError::ResourceAlreadyExists { .. }
            | CertError::CertificateConflict(_)
            | CertError::DeleteConflict(_) => 409,
            CertError::Internal(_) => 500,
        }
    }

    /// The message the client sees: the `Display` text for client errors, a fixed text for
    /// [`CertError::Internal`] (whose detail belongs in the server log only).
    pub fn message(&self) -> String {
        match self {
            CertError::Internal(_) => "An unexpected error has occurred.".to_owned(),
            other => other.to_string(),
        }
    }

    /// The `DeleteConflictException` the caller returns from DeleteCertificate when the
    /// certificate is still attached to `what` (e.g. `"a thing"`, `"1 policy"`).
    pub fn delete_conflict(what: &str) -> CertError {
        CertError::DeleteConflict(format!(
            "Certificate is attached to {what}; detach it before deleting the certificate"
        ))
    }
}

impl From<thingwatch_sqlite::OpenError> for CertError {
    fn from(e: thingwatch_sqlite::OpenError) -> Self {
        CertError::Internal(format!("sqlite: {e}"))
    }
}

impl From<rusqlite::Error> for CertError {
    fn from(e: rusqlite::Error) -> Self {
        CertError::Internal(format!("sqlite: {e}"))
    }
}

impl From<std::io::Error> for CertError {
    fn from(e: std::io::Error) -> Self {
        CertError::Internal(format!("io: {e}"))
    }
}

impl From<rcgen::Error> for CertError {
    fn from(e: rcgen::Error) -> Self {
        CertError::Internal(format!("x509 generation: {e}"))
    }
}
