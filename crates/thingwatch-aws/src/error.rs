//! The AWS error table: one [`ErrorCode`] variant per AWS error code, its fault side and
//! HTTP status per [`Protocol`], and the renderers for each protocol's error format.
//!
//! Formats (verified against botocore's parsers, `shared/reference/aws-wire.md` §5):
//! * **rest-json** (iot, iotdata, iot-jobs-data): status + `x-amzn-ErrorType: Code` +
//!   `Content-Type: application/json` + `{"message": "…"}`;
//! * **AWS JSON 1.1** (logs, cloudtrail): `Content-Type: application/x-amz-json-1.1`,
//!   `{"__type": "Code", "message": "…"}`, HTTP 400 for client faults, 500 for server faults;
//! * **AWS JSON 1.0, awsQueryCompatible** (CloudWatch `monitoring`): as JSON 1.1 with
//!   `application/x-amz-json-1.0` plus `x-amzn-query-error: <QueryCode>;Sender|Receiver`;
//! * **Smithy RPC v2 CBOR, awsQueryCompatible** (CloudWatch `monitoring` from the Go, Java
//!   and JS SDKs): `Content-Type: application/cbor`, `smithy-protocol: rpc-v2-cbor`, a CBOR
//!   map `{"__type": "Code", "message": "…"}` and `x-amzn-query-error` as in JSON 1.0;
//! * **awsQuery** (IAM `iam`, STS `sts`, CloudWatch from botocore ≤ 1.42.6): `Content-Type: text/xml`,
//!   `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>NoSuchEntity</Code>`
//!   `<Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>` with the status the
//!   botocore model's error shape declares (`httpStatusCode`; IAM `NoSuchEntity` 404,
//!   `EntityAlreadyExists` 409, …). botocore's query parser reads `Error/Code`,
//!   `Error/Message` and `RequestId`, ignoring the namespace.
//!
//! Every response carries `x-amzn-RequestId`. Internal causes are logged by the caller
//! with `tracing` and replaced by a generic message here; client mistakes are never 5xx.

/// `x-amzn-RequestId`: the request id header on every response (botocore reads it into
/// `ResponseMetadata.RequestId`).
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";
/// `x-amzn-ErrorType`: the error code header of rest-json errors.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-ErrorType";
/// `x-amzn-query-error`: the legacy query error code of awsQueryCompatible JSON errors.
pub const QUERY_ERROR_HEADER: &str = "x-amzn-query-error";
/// Content type of AWS JSON 1.1 requests and responses.
pub const CONTENT_TYPE_JSON_1_1: &str = "application/x-amz-json-1.1";
/// Content type of AWS JSON 1.0 requests and responses.
pub const CONTENT_TYPE_JSON_1_0: &str = "application/x-amz-json-1.0";
/// Content type of Smithy RPC v2 CBOR requests and responses.
pub const CONTENT_TYPE_CBOR: &str = "application/cbor";
/// `smithy-protocol`: the header naming the Smithy protocol of a request and its response.
pub const SMITHY_PROTOCOL_HEADER: &str = "smithy-protocol";
/// The `smithy-protocol` value of RPC v2 CBOR.
pub const SMITHY_RPC_V2_CBOR: &str = "rpc-v2-cbor";
/// Content type of awsQuery (IAM, STS) responses and errors.
pub const CONTENT_TYPE_XML: &str = "text/xml";

/// The wire protocol a service speaks; decides the error format and statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `rest-json` (iot, iotdata, iot-jobs-data): HTTP statuses come from the model.
    RestJson,
    /// AWS JSON 1.1 (logs, cloudtrail): `X-Amz-Target` dispatch, 400/500 statuses.
    AwsJson11,
    /// AWS JSON 1.0 with awsQueryCompatible errors (CloudWatch `monitoring`).
    AwsJson10QueryCompatible,
    /// Smithy RPC v2 CBOR with awsQueryCompatible errors (CloudWatch `monitoring`):
    /// `POST /service/{Service}/operation/{Op}`, CBOR bodies.
    RpcV2Cbor,
    /// awsQuery (IAM `iam`, STS `sts`): form-encoded `Action=…&Version=…` requests, XML
    /// responses and `<ErrorResponse>` errors with per-code statuses.
    AwsQuery,
}

/// Who is at fault: decides 4xx vs 5xx in the JSON protocols and `Sender`/`Receiver` in
/// query-compatible errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The caller's request was wrong (4xx; not retried by SDKs).
    Client,
    /// The server failed (5xx; retried by SDKs).
    Server,
}

/// Every AWS error code this server emits. `as_str` is the exact code on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // ---- authentication (common to all services)
    /// `MissingAuthenticationTokenException`: no SigV4 parameters. 403 in every protocol.
    MissingAuthenticationToken,
    /// `IncompleteSignatureException`: malformed/incomplete SigV4 parameters.
    IncompleteSignature,
    /// `InvalidSignatureException`: signature mismatch, expired or not yet current.
    InvalidSignature,
    /// `UnrecognizedClientException`: unknown access key id or session token.
    UnrecognizedClient,
    /// `AccessDeniedException`: authenticated but not allowed.
    AccessDenied,
    // ---- protocol level
    /// `SerializationException`: the body is not valid JSON for the operation's shape.
    Serialization,
    /// `UnknownOperationException`: unknown `X-Amz-Target` / route, or a service this
    /// server does not implement (yet).
    UnknownOperation,
    /// `RequestEntityTooLargeException`: body above the server's limit (HTTP 413).
    RequestEntityTooLarge,
    /// `ThrottlingException`: rate limited.
    Throttling,
    // ---- service level (CloudWatch Logs and shared names)
    /// `InvalidParameterException`: CloudWatch Logs validation failures.
    InvalidParameter,
    /// `ResourceNotFoundException`.
    ResourceNotFound,
    /// `ResourceAlreadyExistsException`.
    ResourceAlreadyExists,
    /// `LimitExceededException` (IoT models it as HTTP 410).
    LimitExceeded,
    /// `OperationAbortedException`: conflicting concurrent operation.
    OperationAborted,
    /// `ValidationException`.
    Validation,
    /// `ServiceUnavailableException`: internal failure (storage, I/O).
    ServiceUnavailable,
    /// `InternalFailureException`: unexpected internal failure.
    InternalFailure,
    /// `InternalException` (IoT logging operations model their 500 with this name).
    Internal,
    // ---- IoT rest-json codes (statuses from the iot model)
    /// `InvalidRequestException` (IoT, 400).
    InvalidRequest,
    /// `UnauthorizedException` (IoT, 401).
    Unauthorized,
    /// `ConflictException` (409).
    Conflict,
    /// `NotConfiguredException` (IoT logging, 404).
    NotConfigured,
    /// `VersionConflictException` (IoT, 409).
    VersionConflict,
    /// `InvalidStateTransitionException` (IoT Jobs, 409): the job or execution's status
    /// does not allow the change.
    InvalidStateTransition,
    /// `TerminalStateException` (iot-jobs-data, 410): the job execution is in a terminal
    /// state.
    TerminalState,
    /// `MethodNotAllowedException` (iot-data, 405).
    MethodNotAllowed,
    /// `UnsupportedDocumentEncodingException` (iot-data, 415).
    UnsupportedDocumentEncoding,
    /// `MalformedPolicyException` (IoT, 400): the policy document is not a valid AWS IoT policy.
    MalformedPolicy,
    /// `DeleteConflictException` (IoT, 409): the policy, version or certificate is still in
    /// use (attached, non-default versions, default version).
    IotDeleteConflict,
    /// `VersionsLimitExceededException` (IoT, 409): the policy already has 5 versions.
    VersionsLimitExceeded,
    /// `CertificateStateException` (IoT, 406): not allowed in the certificate's status.
    CertificateState,
    /// `CertificateValidationException` (IoT, 400): the certificate is invalid.
    CertificateValidation,
    /// `CertificateConflictException` (IoT, 409): more than one registered CA matches.
    CertificateConflict,
    /// `RegistrationCodeValidationException` (IoT, 400): the verification certificate does
    /// not prove the registration code.
    RegistrationCodeValidation,
    /// `SqlParseException` (IoT, 400): a topic rule's SQL does not parse.
    SqlParse,
    /// `ConflictingResourceUpdateException` (IoT, 409): a concurrent change to the topic rule
    /// or destination.
    ConflictingResourceUpdate,
    // ---- IAM awsQuery codes (statuses from the iam-2010-05-08 model's `httpStatusCode`)
    /// `NoSuchEntity` (IAM, 404): the user, role, access key or policy does not exist.
    NoSuchEntity,
    /// `EntityAlreadyExists` (IAM, 409).
    EntityAlreadyExists,
    /// `MalformedPolicyDocument` (IAM, 400): the policy document failed validation.
    MalformedPolicyDocument,
    /// `DeleteConflict` (IAM, 409): the entity still has subordinate entities (access keys,
    /// policies).
    DeleteConflict,
    /// `InvalidInput` (IAM, 400): an invalid parameter value.
    InvalidInput,
    /// `UnmodifiableEntity` (IAM, 400): the entity is protected.
    UnmodifiableEntity,
    /// `ServiceFailure` (IAM, 500): unexpected internal failure.
    ServiceFailure,
    // ---- CloudWatch codes (cloudwatch-2010-08-01 model; query codes from `awsQueryError`)
    /// `InvalidParameterValueException` (query `InvalidParameterValue`, 400).
    InvalidParameterValue,
    /// `MissingRequiredParameterException` (query `MissingParameter`, 400).
    MissingRequiredParameter,
    /// `InvalidParameterCombinationException` (query `InvalidParameterCombination`, 400).
    InvalidParameterCombination,
    /// `InternalServiceFault` (query `InternalServiceError`, 500).
    InternalServiceFault,
    /// `InvalidNextToken` (400).
    InvalidNextToken,
    /// `LimitExceededFault` (query `LimitExceeded`, 400).
    LimitExceededFault,
    /// `ResourceNotFound` (CloudWatch alarms, 404).
    CloudWatchResourceNotFound,
    /// `InvalidFormatFault` (query `InvalidFormat`, 400).
    InvalidFormatFault,
    /// `DashboardInvalidInputError` (query `InvalidParameterInput`, 400).
    DashboardInvalidInput,
    /// `DashboardNotFoundError` (query `ResourceNotFound`, 404).
    DashboardNotFound,
    // ---- CloudTrail JSON 1.1 codes (cloudtrail-2013-11-01 model, botocore 1.43.11)
    /// `InvalidLookupAttributesException` (CloudTrail, 400): the LookupEvents attribute is not valid (unknown key, more than one, bad value).
    InvalidLookupAttributes,
    /// `InvalidTimeRangeException` (CloudTrail, 400): the start time is after the end time.
    InvalidTimeRange,
    /// `InvalidMaxResultsException` (CloudTrail, 400): `MaxResults` is outside 1..=50.
    InvalidMaxResults,
    /// `InvalidNextTokenException` (CloudTrail, 400): the `NextToken` was not issued for this query.
    InvalidNextTokenException,
    /// `InvalidEventCategoryException` (CloudTrail, 400): `EventCategory` is not `insight`.
    InvalidEventCategory,
    /// `TrailNotFoundException` (CloudTrail, 400): the trail does not exist.
    TrailNotFound,
    /// `TrailAlreadyExistsException` (CloudTrail, 400): a trail of that name exists.
    TrailAlreadyExists,
    /// `InvalidTrailNameException` (CloudTrail, 400): the trail name breaks CloudTrail's naming rules.
    InvalidTrailName,
    /// `MaximumNumberOfTrailsExceededException` (CloudTrail, 400): five trails exist in the region.
    MaximumNumberOfTrailsExceeded,
    /// `InvalidCloudWatchLogsLogGroupArnException` (CloudTrail, 400): the log group ARN is malformed or names no log group.
    InvalidCloudWatchLogsLogGroupArn,
    /// `InvalidCloudWatchLogsRoleArnException` (CloudTrail, 400): the role is missing or may not deliver to the log group.
    InvalidCloudWatchLogsRoleArn,
    /// `InvalidEventSelectorsException` (CloudTrail, 400): the event selectors are not valid.
    InvalidEventSelectors,
    /// `InvalidS3BucketNameException` (CloudTrail, 400): the S3 bucket name is not valid.
    InvalidS3BucketName,
    /// `InvalidParameterException` (CloudTrail, 400): (CloudTrail) a parameter is not valid.
    CloudTrailInvalidParameter,
    /// `InvalidParameterCombinationException` (CloudTrail, 400): (CloudTrail) parameters that may not be combined.
    CloudTrailInvalidParameterCombination,
    /// `CloudTrailARNInvalidException` (CloudTrail, 400): a trail ARN that is not valid.
    CloudTrailArnInvalid,
    // ---- SNS awsQuery codes (statuses from the sns-2010-03-31 model's `httpStatusCode`, botocore 1.43.11)
    /// `NotFound` (SNS, 404): the topic or subscription does not exist.
    SnsNotFound,
    /// `InvalidParameter` (SNS, 400): a request parameter does not comply with the
    /// associated constraints.
    SnsInvalidParameter,
    /// `AuthorizationError` (SNS, 403): the caller may not access the resource.
    SnsAuthorizationError,
    /// `InternalError` (SNS, 500): an internal service error.
    SnsInternalError,
}

impl ErrorCode {
    /// The code as sent on the wire (`__type` / `x-amzn-ErrorType`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::IncompleteSignature => "IncompleteSignatureException",
            Self::InvalidSignature => "InvalidSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::AccessDenied => "AccessDeniedException",
            Self::Serialization => "SerializationException",
            Self::UnknownOperation => "UnknownOperationException",
            Self::RequestEntityTooLarge => "RequestEntityTooLargeException",
            Self::Throttling => "ThrottlingException",
            Self::InvalidParameter => "InvalidParameterException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::ResourceAlreadyExists => "ResourceAlreadyExistsException",
            Self::LimitExceeded => "LimitExceededException",
            Self::OperationAborted => "OperationAbortedException",
            Self::Validation => "ValidationException",
            Self::ServiceUnavailable => "ServiceUnavailableException",
            Self::InternalFailure => "InternalFailureException",
            Self::Internal => "InternalException",
            Self::InvalidRequest => "InvalidRequestException",
            Self::Unauthorized => "UnauthorizedException",
            Self::Conflict => "ConflictException",
            Self::NotConfigured => "NotConfiguredException",
            Self::VersionConflict => "VersionConflictException",
            Self::InvalidStateTransition => "InvalidStateTransitionException",
            Self::TerminalState => "TerminalStateException",
            Self::MethodNotAllowed => "MethodNotAllowedException",
            Self::UnsupportedDocumentEncoding => "UnsupportedDocumentEncodingException",
            Self::MalformedPolicy => "MalformedPolicyException",
            Self::IotDeleteConflict => "DeleteConflictException",
            Self::VersionsLimitExceeded => "VersionsLimitExceededException",
            Self::CertificateState => "CertificateStateException",
            Self::CertificateValidation => "CertificateValidationException",
            Self::CertificateConflict => "CertificateConflictException",
            Self::RegistrationCodeValidation => "RegistrationCodeValidationException",
            Self::SqlParse => "SqlParseException",
            Self::ConflictingResourceUpdate => "ConflictingResourceUpdateException",
            Self::NoSuchEntity => "NoSuchEntity",
            Self::EntityAlreadyExists => "EntityAlreadyExists",
            Self::MalformedPolicyDocument => "MalformedPolicyDocument",
            Self::DeleteConflict => "DeleteConflict",
            Self::InvalidInput => "InvalidInput",
            Self::UnmodifiableEntity => "UnmodifiableEntity",
            Self::ServiceFailure => "ServiceFailure",
            Self::InvalidParameterValue => "InvalidParameterValueException",
            Self::MissingRequiredParameter => "MissingRequiredParameterException",
            Self::InvalidParameterCombination => "InvalidParameterCombinationException",
            Self::InternalServiceFault => "InternalServiceFault",
            Self::InvalidNextToken => "InvalidNextToken",
            Self::LimitExceededFault => "LimitExceededFault",
            Self::CloudWatchResourceNotFound => "ResourceNotFound",
            Self::InvalidFormatFault => "InvalidFormatFault",
            Self::DashboardInvalidInput => "DashboardInvalidInputError",
            Self::DashboardNotFound => "DashboardNotFoundError",
            Self::InvalidLookupAttributes => "InvalidLookupAttributesException",
            Self::InvalidTimeRange => "InvalidTimeRangeException",
            Self::InvalidMaxResults => "InvalidMaxResultsException",
            Self::InvalidNextTokenException => "InvalidNextTokenException",
            Self::InvalidEventCategory => "InvalidEventCategoryException",
            Self::TrailNotFound => "TrailNotFoundException",
            Self::TrailAlreadyExists => "TrailAlreadyExistsException",
            Self::InvalidTrailName => "InvalidTrailNameException",
            Self::MaximumNumberOfTrailsExceeded => "MaximumNumberOfTrailsExceededException",
            Self::InvalidCloudWatchLogsLogGroupArn => "InvalidCloudWatchLogsLogGroupArnException",
            Self::InvalidCloudWatchLogsRoleArn => "InvalidCloudWatchLogsRoleArnException",
            Self::InvalidEventSelectors => "InvalidEventSelectorsException",
            Self::InvalidS3BucketName => "InvalidS3BucketNameException",
            Self::CloudTrailInvalidParameter => "InvalidParameterException",
            Self::CloudTrailInvalidParameterCombination => "InvalidParameterCombinationException",
            Self::CloudTrailArnInvalid => "CloudTrailARNInvalidException",
            Self::SnsNotFound => "NotFound",
            Self::SnsInvalidParameter => "InvalidParameter",
            Self::SnsAuthorizationError => "AuthorizationError",
            Self::SnsInternalError => "InternalError",
        }
    }

    /// The code sent in an awsQuery `<Error><Code>` (IAM/STS). AWS query services name their
    /// errors without the `Exception` suffix (iam model: `NoSuchEntityException` has
    /// `error.code = "NoSuchEntity"`); the common authentication codes are the query front
    /// end's (`MissingAuthenticationToken`, `IncompleteSignature`, `InvalidClientTokenId`,
    /// `SignatureDoesNotMatch`, `AccessDenied`, `InvalidAction`, `ValidationError`,
    /// `Throttling`, `ServiceUnavailable`).
    pub fn aws_query_code(self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature => "IncompleteSignature",
            Self::InvalidSignature => "SignatureDoesNotMatch",
            Self::UnrecognizedClient => "InvalidClientTokenId",
            Self::AccessDenied | Self::Unauthorized => "AccessDenied",
            Self::Serialization => "MalformedQueryString",
            Self::UnknownOperation => "InvalidAction",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::Throttling => "Throttling",
            Self::InvalidParameter | Self::InvalidRequest => "InvalidParameterValue",
            Self::ResourceNotFound => "ResourceNotFound",
            Self::ResourceAlreadyExists => "ResourceAlreadyExists",
            Self::LimitExceeded => "LimitExceeded",
            Self::Validation => "ValidationError",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::InternalFailure | Self::Internal => "InternalFailure",
            code @ (Self::InvalidParameterValue
            | Self::MissingRequiredParameter
            | Self::InvalidParameterCombination
            | Self::InternalServiceFault
            | Self::LimitExceededFault
            | Self::CloudWatchResourceNotFound
            | Self::InvalidFormatFault
            | Self::DashboardInvalidInput
            | Self::DashboardNotFound) => code.query_code(),
            other => other.as_str(),
        }
    }

    /// Client or server fault.
    pub fn fault(self) -> Fault {
        match self {
            Self::ServiceUnavailable
            | Self::InternalFailure
            | Self::Internal
            | Self::ServiceFailure
            | Self::SnsInternalError
            | Self::InternalServiceFault => Fault::Server,
            _ => Fault::Client,
        }
    }

    /// The legacy awsQuery code sent in `x-amzn-query-error` (CloudWatch model's
    /// `awsQueryError` traits, aws-wire.md §5); codes without a mapping send themselves.
    pub fn query_code(self) -> &'static str {
        match self {
            Self::ResourceNotFound => "ResourceNotFound",
            Self::InvalidParameter => "InvalidParameterValue",
            Self::LimitExceeded => "LimitExceeded",
            Self::InternalFailure | Self::Internal | Self::ServiceUnavailable => {
                "InternalServiceError"
            }
            Self::Validation => "ValidationError",
            Self::InvalidParameterValue => "InvalidParameterValue",
            Self::MissingRequiredParameter => "MissingParameter",
            Self::InvalidParameterCombination => "InvalidParameterCombination",
            Self::InternalServiceFault => "InternalServiceError",
            Self::LimitExceededFault => "LimitExceeded",
            Self::InvalidFormatFault => "InvalidFormat",
            Self::DashboardInvalidInput => "InvalidParameterInput",
            Self::DashboardNotFound | Self::CloudWatchResourceNotFound => "ResourceNotFound",
            other => other.as_str(),
        }
    }

    /// The HTTP status for this code in `protocol`.
    ///
    /// * JSON protocols: 400 for client faults and 500 for server faults (aws-wire.md §3:
    ///   the Logs model has no `httpStatusCode`, and e.g. Cognito/DynamoDB (JSON 1.1)
    ///   answer `UnrecognizedClientException` and "Signature expired" with 400, as seen in
    ///   aws-sdk-js#254 and aws-sdk-php#2444), except `MissingAuthenticationTokenException`
    ///   (403, what AWS front ends answer for unauthenticated calls) and
    ///   `RequestEntityTooLargeException` (413).
    /// * rest-json: the statuses the IoT models declare (404 not found, 409 conflict,
    ///   410 limit exceeded, …); authentication failures are 403 (Lambda, a rest-json
    ///   service, answers `UnrecognizedClientException` with 403: iann0036/iamlive#58).
    ///   `UnknownOperationException` is 404 (no such route).
    /// * awsQuery: the IAM model's `httpStatusCode` per error shape (`NoSuchEntity` 404,
    ///   `EntityAlreadyExists` / `LimitExceeded` / `DeleteConflict` 409,
    ///   `MalformedPolicyDocument` / `InvalidInput` / `UnmodifiableEntity` 400,
    ///   `ServiceFailure` 500); authentication and authorization failures 403 (what IAM and
    ///   STS answer for `InvalidClientTokenId`, `SignatureDoesNotMatch` and `AccessDenied`),
    ///   other client faults 400, `ServiceUnavailable` 503, other server faults 500.
    pub fn http_status(self, protocol: Protocol) -> u16 {
        match (self, protocol) {
            (Self::MissingAuthenticationToken, _) => 403,
            (Self::RequestEntityTooLarge, _) => 413,
            (code, Protocol::AwsQuery) => match code {
                Self::InvalidSignature
                | Self::UnrecognizedClient
                | Self::AccessDenied
                | Self::Unauthorized
                | Self::SnsAuthorizationError => 403,
                Self::NoSuchEntity
                | Self::SnsNotFound
                | Self::ResourceNotFound
                | Self::CloudWatchResourceNotFound
                | Self::DashboardNotFound => 404,
                Self::EntityAlreadyExists
                | Self::ResourceAlreadyExists
                | Self::LimitExceeded
                | Self::DeleteConflict
                | Self::Conflict => 409,
                Self::Throttling => 400,
                Self::ServiceUnavailable => 503,
                _ => match code.fault() {
                    Fault::Client => 400,
                    Fault::Server => 500,
                },
            },
            (
                Self::CloudWatchResourceNotFound | Self::DashboardNotFound,
                Protocol::AwsJson10QueryCompatible | Protocol::RpcV2Cbor,
            ) => 404,
            (_, Protocol::AwsJson11 | Protocol::AwsJson10QueryCompatible | Protocol::RpcV2Cbor) => {
                match self.fault() {
                    Fault::Client => 400,
                    Fault::Server => 500,
                }
            }
            (code, Protocol::RestJson) => match code {
                Self::IncompleteSignature
                | Self::InvalidSignature
                | Self::UnrecognizedClient
                | Self::AccessDenied => 403,
                Self::Unauthorized => 401,
                Self::ResourceNotFound | Self::NotConfigured | Self::UnknownOperation => 404,
                Self::ResourceAlreadyExists
                | Self::Conflict
                | Self::VersionConflict
                | Self::InvalidStateTransition
                | Self::IotDeleteConflict
                | Self::VersionsLimitExceeded
                | Self::CertificateConflict
                | Self::ConflictingResourceUpdate => 409,
                Self::CertificateState => 406,
                Self::LimitExceeded | Self::TerminalState => 410,
                Self::Throttling => 429,
                Self::MethodNotAllowed => 405,
                Self::UnsupportedDocumentEncoding => 415,
                Self::ServiceUnavailable => 503,
                Self::InternalFailure | Self::Internal => 500,
                _ => 400,
            },
        }
    }
}

/// An AWS error ready to render: a code, the client-facing message and any extra modeled
/// members of the error shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    /// The AWS error code.
    pub code: ErrorCode,
    /// The message shown to the client (never an internal cause).
    pub message: String,
    /// Extra string members of the error body beside `message`, e.g. IoT's
    /// `ResourceAlreadyExistsException {message, resourceId, resourceArn}` (botocore parses
    /// them into the error response when the code matches a modeled shape).
    pub fields: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error with `code` and client-facing `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Adds the string member `name` (e.g. `resourceId`) to the rendered error body.
    #[must_use]
    pub fn with_field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// A server-side failure. `cause` is logged (with `tracing::error!`) and NOT sent; the
    /// client sees `ServiceUnavailableException` "The service cannot complete the request."
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error while serving an AWS API request");
        Self::new(
            ErrorCode::ServiceUnavailable,
            "The service cannot complete the request.",
        )
    }

    /// Shorthand for `InvalidParameterException`.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }

    /// Shorthand for `SerializationException`.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Serialization, message)
    }

    /// This error in `protocol`'s format (see the module doc), with
    /// `x-amzn-RequestId: request_id`: what the HTTP layer writes.
    pub fn to_wire(&self, protocol: Protocol, request_id: &str) -> WireError {
        let status = self.code.http_status(protocol);
        let side = match self.code.fault() {
            Fault::Client => "Sender",
            Fault::Server => "Receiver",
        };
        let mut headers = vec![(REQUEST_ID_HEADER, request_id.to_owned())];
        let (content_type, mut body) = match protocol {
            Protocol::AwsQuery => {
                // Extra `fields` are not rendered: no IAM or STS error shape has members
                // beside `message`.
                let body = format!(
                    "<ErrorResponse><Error><Type>{side}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                    xml_escape(self.code.aws_query_code()),
                    xml_escape(&self.message),
                    xml_escape(request_id),
                );
                return WireError {
                    status,
                    content_type: CONTENT_TYPE_XML,
                    headers,
                    body: body.into_bytes(),
                };
            }
            Protocol::RestJson => {
                headers.push((ERROR_TYPE_HEADER, self.code.as_str().to_owned()));
                (
                    "application/json",
                    serde_json::json!({ "message": self.message }),
                )
            }
            Protocol::AwsJson11 => (
                CONTENT_TYPE_JSON_1_1,
                serde_json::json!({ "__type": self.code.as_str(), "message": self.message }),
            ),
            Protocol::RpcV2Cbor => {
                headers.push((SMITHY_PROTOCOL_HEADER, SMITHY_RPC_V2_CBOR.to_owned()));
                headers.push((
                    QUERY_ERROR_HEADER,
                    format!("{};{side}", self.code.query_code()),
                ));
                let mut map = vec![
                    (cbor_text("__type"), cbor_text(self.code.as_str())),
                    (cbor_text("message"), cbor_text(&self.message)),
                ];
                for (name, value) in &self.fields {
                    map.push((cbor_text(name), cbor_text(value)));
                }
                let mut body = Vec::new();
                // Writing into a Vec cannot fail.
                let _ = ciborium::ser::into_writer(&ciborium::value::Value::Map(map), &mut body);
                return WireError {
                    status,
                    content_type: CONTENT_TYPE_CBOR,
                    headers,
                    body,
                };
            }
            Protocol::AwsJson10QueryCompatible => {
                headers.push((
                    QUERY_ERROR_HEADER,
                    format!("{};{side}", self.code.query_code()),
                ));
                (
                    CONTENT_TYPE_JSON_1_0,
                    serde_json::json!({ "__type": self.code.as_str(), "message": self.message }),
                )
            }
        };
        if let Some(obj) = body.as_object_mut() {
            for (name, value) in &self.fields {
                obj.insert((*name).to_owned(), serde_json::Value::String(value.clone()));
            }
        }
        WireError {
            status,
            content_type,
            headers,
            body: body.to_string().into_bytes(),
        }
    }
}

fn cbor_text(s: &str) -> ciborium::value::Value {
    ciborium::value::Value::Text(s.to_owned())
}

/// An [`ApiError`] rendered in one protocol's format, as plain data: the HTTP status, the
/// `Content-Type`, the other headers (`x-amzn-RequestId` first, then `x-amzn-ErrorType` or
/// `x-amzn-query-error` where the protocol has one) and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// The HTTP status (e.g. 404).
    pub status: u16,
    /// The `Content-Type` header value.
    pub content_type: &'static str,
    /// The other headers, by name.
    pub headers: Vec<(&'static str, String)>,
    /// The body (JSON or awsQuery XML).
    pub body: Vec<u8>,
}

impl WireError {
    /// The body as text (lossy for CBOR), for tests and logs.
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Escapes `s` for XML character data and attribute values (`&`, `<`, `>`, `"`, `'`).
fn xml_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        use ErrorCode as C;
        use Protocol as P;
        let table = [
            (C::InvalidParameter, P::AwsJson11, 400),
            (C::ResourceNotFound, P::AwsJson11, 400),
            (C::ServiceUnavailable, P::AwsJson11, 500),
            (C::MissingAuthenticationToken, P::AwsJson11, 403),
            (C::UnrecognizedClient, P::AwsJson11, 400),
            (C::InvalidSignature, P::AwsJson11, 400),
            (C::RequestEntityTooLarge, P::AwsJson11, 413),
            (C::UnrecognizedClient, P::RestJson, 403),
            (C::InvalidSignature, P::RestJson, 403),
            (C::ResourceNotFound, P::RestJson, 404),
            (C::ResourceAlreadyExists, P::RestJson, 409),
            (C::LimitExceeded, P::RestJson, 410),
            (C::UnknownOperation, P::RestJson, 404),
            (C::UnknownOperation, P::AwsJson10QueryCompatible, 400),
            (C::NoSuchEntity, P::AwsQuery, 404),
            (C::EntityAlreadyExists, P::AwsQuery, 409),
            (C::LimitExceeded, P::AwsQuery, 409),
            (C::DeleteConflict, P::AwsQuery, 409),
            (C::MalformedPolicyDocument, P::AwsQuery, 400),
            (C::InvalidInput, P::AwsQuery, 400),
            (C::Validation, P::AwsQuery, 400),
            (C::ServiceFailure, P::AwsQuery, 500),
            (C::SnsNotFound, P::AwsQuery, 404),
            (C::SnsInvalidParameter, P::AwsQuery, 400),
            (C::SnsAuthorizationError, P::AwsQuery, 403),
            (C::SnsInternalError, P::AwsQuery, 500),
            (C::ServiceUnavailable, P::AwsQuery, 503),
            (C::AccessDenied, P::AwsQuery, 403),
            (C::UnrecognizedClient, P::AwsQuery, 403),
            (C::InvalidSignature, P::AwsQuery, 403),
            (C::IncompleteSignature, P::AwsQuery, 400),
            (C::MissingAuthenticationToken, P::AwsQuery, 403),
            (C::UnknownOperation, P::AwsQuery, 400),
        ];
        for (code, proto, want) in table {
            assert_eq!(code.http_status(proto), want, "{code:?} {proto:?}");
        }
    }

    #[test]
    fn query_compatible_error_header() {
        let w = ApiError::new(ErrorCode::ResourceNotFound, "nope")
            .to_wire(Protocol::AwsJson10QueryCompatible, "rid");
        assert_eq!(
            w.header(QUERY_ERROR_HEADER),
            Some("ResourceNotFound;Sender")
        );
        assert_eq!(w.content_type, CONTENT_TYPE_JSON_1_0);
        let w = ApiError::new(ErrorCode::InternalFailure, "x")
            .to_wire(Protocol::AwsJson10QueryCompatible, "rid");
        assert_eq!(
            w.header(QUERY_ERROR_HEADER),
            Some("InternalServiceError;Receiver")
        );
        assert_eq!(w.status, 500);
    }

    #[test]
    fn cbor_errors_are_cbor_maps_with_the_query_code() {
        let w = ApiError::new(ErrorCode::DashboardNotFound, "Dashboard d does not exist")
            .to_wire(Protocol::RpcV2Cbor, "rid");
        assert_eq!(w.status, 404);
        assert_eq!(w.content_type, CONTENT_TYPE_CBOR);
        assert_eq!(w.header(SMITHY_PROTOCOL_HEADER), Some("rpc-v2-cbor"));
        assert_eq!(
            w.header(QUERY_ERROR_HEADER),
            Some("ResourceNotFound;Sender")
        );
        let v: ciborium::value::Value =
            ciborium::de::from_reader(w.body.as_slice()).unwrap_or(ciborium::value::Value::Null);
        let map = v.as_map().cloned().unwrap_or_default();
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key.as_text() == Some(k))
                .and_then(|(_, v)| v.as_text().map(str::to_owned))
        };
        assert_eq!(get("__type").as_deref(), Some("DashboardNotFoundError"));
        assert_eq!(
            get("message").as_deref(),
            Some("Dashboard d does not exist")
        );
    }

    #[test]
    fn cloudwatch_codes_in_query_and_json() {
        let e = ApiError::new(
            ErrorCode::MissingRequiredParameter,
            "The parameter Namespace is required.",
        );
        let q = e.to_wire(Protocol::AwsQuery, "r");
        assert_eq!(q.status, 400);
        assert!(q.body_text().contains("<Code>MissingParameter</Code>"));
        let j = e.to_wire(Protocol::AwsJson10QueryCompatible, "r");
        assert_eq!(
            j.header(QUERY_ERROR_HEADER),
            Some("MissingParameter;Sender")
        );
        assert!(
            j.body_text()
                .contains(r#""__type":"MissingRequiredParameterException""#)
        );
        let f = ApiError::new(ErrorCode::InternalServiceFault, "x");
        assert_eq!(f.to_wire(Protocol::AwsQuery, "r").status, 500);
        assert_eq!(f.code.fault(), Fault::Server);
    }

    #[test]
    fn aws_query_error_xml() {
        let w = ApiError::new(
            ErrorCode::NoSuchEntity,
            "The user with name <bob> & co cannot be found.",
        )
        .to_wire(Protocol::AwsQuery, "rid-9");
        assert_eq!(w.status, 404);
        assert_eq!(w.content_type, "text/xml");
        assert_eq!(w.header(REQUEST_ID_HEADER), Some("rid-9"));
        assert_eq!(
            w.body_text(),
            "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
             <Message>The user with name &lt;bob&gt; &amp; co cannot be found.</Message></Error>\
             <RequestId>rid-9</RequestId></ErrorResponse>"
        );
        let w = ApiError::new(ErrorCode::ServiceFailure, "boom").to_wire(Protocol::AwsQuery, "r");
        assert_eq!(w.status, 500);
        assert!(
            w.body_text()
                .contains("<Type>Receiver</Type><Code>ServiceFailure</Code>")
        );
        let w = ApiError::new(
            ErrorCode::UnrecognizedClient,
            "The security token included in the request is invalid.",
        )
        .to_wire(Protocol::AwsQuery, "r");
        assert_eq!(w.status, 403);
        assert!(w.body_text().contains("<Code>InvalidClientTokenId</Code>"));
    }

    #[test]
    fn rest_json_error_has_type_header_and_fields() {
        let w = ApiError::new(ErrorCode::ResourceNotFound, "Thing x cannot be found.")
            .with_field("resourceId", "x")
            .to_wire(Protocol::RestJson, "rid-1");
        assert_eq!(w.status, 404);
        assert_eq!(
            w.header(ERROR_TYPE_HEADER),
            Some("ResourceNotFoundException")
        );
        assert_eq!(w.header(REQUEST_ID_HEADER), Some("rid-1"));
        assert_eq!(
            w.body_text(),
            r#"{"message":"Thing x cannot be found.","resourceId":"x"}"#
        );
    }

    #[test]
    fn json_1_1_error_body_names_the_type() {
        let w = ApiError::invalid_parameter("bad").to_wire(Protocol::AwsJson11, "r");
        assert_eq!(w.status, 400);
        assert_eq!(w.content_type, CONTENT_TYPE_JSON_1_1);
        assert_eq!(
            w.body_text(),
            r#"{"__type":"InvalidParameterException","message":"bad"}"#
        );
        assert_eq!(w.header(ERROR_TYPE_HEADER), None);
    }
}
