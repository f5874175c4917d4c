//! [`PolicyError`]: everything that makes a policy document unacceptable, with the message AWS
//! gives for it where one is known.
//!
//! The caller maps every variant to the service's error code: AWS IoT `CreatePolicy` /
//! `CreatePolicyVersion` answer `MalformedPolicyException` (HTTP 400), IAM `PutUserPolicy`,
//! `PutRolePolicy`, `CreatePolicy`, `CreateRole` and `UpdateAssumeRolePolicy` answer
//! `MalformedPolicyDocument` (HTTP 400) — except [`PolicyError::TooLarge`], which IAM reports as
//! `LimitExceeded` (HTTP 409). [`PolicyError::aws_message`] gives the message text per service.
//!
//! Messages quoted from IAM ("Syntax errors in policy.", "Policy document should not specify a
//! principal.", "Has prohibited field Resource", "Missing required field Principal",
//! "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", "Resource X must
//! be in ARN format or \"*\".", "Invalid principal in policy", "Statement IDs (SID) in a single
//! policy must be unique", "The policy failed legacy parsing") are the texts IAM returns for
//! those faults as reported by its users; the others ("Missing required field Effect",
//! "Invalid effect: X", "Invalid Condition type : X", condition values, characters) follow the
//! same style but are not confirmed. AWS IoT prefixes its messages with
//! "Policy document is Malformed: " and says "Invalid policy syntax." for structural faults.

use crate::document::PolicyKind;

/// Why a policy document was rejected at parse time. `Display` is the IAM-style message; use
/// [`PolicyError::aws_message`] for the text to put in the AWS error body of a given service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is empty (AWS IoT `policyDocument`: "minimum length of 1").
    #[error("Policy document must not be empty.")]
    Empty,
    /// The document is not JSON, or an element has the wrong JSON type. `detail` says where
    /// (for logs only; AWS answers the fixed text).
    #[error("Syntax errors in policy.")]
    Syntax {
        /// What was wrong, for diagnostics (not part of the AWS message).
        detail: String,
    },
    /// An element name that the grammar does not know (top level or statement level).
    #[error("Syntax errors in policy.")]
    UnknownElement(String),
    /// `Version` is present but is neither `2012-10-17` nor `2008-10-17`.
    #[error("The policy failed legacy parsing")]
    InvalidVersion(String),
    /// No `Statement` element.
    #[error("Syntax errors in policy.")]
    MissingStatement,
    /// A statement without `Effect`.
    #[error("Missing required field Effect")]
    MissingEffect,
    /// A statement whose `Effect` is not exactly `Allow` or `Deny`.
    #[error("Invalid effect: {0}")]
    InvalidEffect(String),
    /// A statement has neither `Action` nor `NotAction`.
    #[error("Policy statement must contain actions.")]
    MissingAction,
    /// A statement has neither `Resource` nor `NotResource` (identity and IoT policies).
    #[error("Policy statement must contain resources.")]
    MissingResource,
    /// A trust policy statement has neither `Principal` nor `NotPrincipal`.
    #[error("Missing required field Principal")]
    MissingPrincipal,
    /// Both halves of an element pair are present (`Action`+`NotAction`, `Resource`+`NotResource`,
    /// `Principal`+`NotPrincipal`).
    #[error("Syntax errors in policy.")]
    Conflicting(&'static str, &'static str),
    /// `Principal` / `NotPrincipal` in a policy that is not a resource-based (trust) policy.
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    /// An element the policy kind prohibits (`Resource` / `NotResource` in a trust policy).
    #[error("Has prohibited field {0}")]
    Prohibited(&'static str),
    /// An action that is neither `*` nor `vendor:pattern`.
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    InvalidAction(String),
    /// A resource that is neither `*` nor an ARN (`arn:partition:service:region:account:res`).
    #[error("Resource {0} must be in ARN format or \"*\".")]
    InvalidResource(String),
    /// A `Principal` that is not `"*"` or a map of `AWS` / `Service` / `Federated` /
    /// `CanonicalUser` to a string or array of strings.
    #[error("Invalid principal in policy: {0}")]
    InvalidPrincipal(String),
    /// A `Sid` that is not alphanumeric (IAM: `[0-9A-Za-z]*`).
    #[error(
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
    )]
    InvalidSid(String),
    /// Two statements share a `Sid` (IAM).
    #[error("Statement IDs (SID) in a single policy must be unique.")]
    DuplicateSid(String),
    /// A condition operator the grammar does not define (checked at parse time).
    #[error("Invalid Condition type : {0}")]
    UnknownConditionOperator(String),
    /// A condition value that its operator cannot use (not a number, date, CIDR block or
    /// boolean; a `Null` value other than `true` / `false`).
    #[error("Invalid value for condition {operator} on key {key}: {value}")]
    InvalidConditionValue {
        /// The operator as written in the policy.
        operator: String,
        /// The condition key as written in the policy.
        key: String,
        /// The offending value.
        value: String,
    },
    /// A character outside what IAM allows in policy documents (tab, LF, CR, U+0020–U+00FF;
    /// IAM User Guide, *IAM and AWS STS quotas*).
    #[error("Policy document contains an invalid character: U+{:04X}", *.0 as u32)]
    InvalidCharacter(char),
    /// The document has more non-whitespace characters than the kind allows
    /// (see [`crate::limits`]).
    #[error("Cannot exceed quota for PolicySize: {max}")]
    TooLarge {
        /// Non-whitespace characters in the document.
        chars: usize,
        /// The limit that applied.
        max: usize,
    },
}

impl PolicyError {
    /// The message text for the AWS error body of the service that owns `kind`.
    ///
    /// AWS IoT (`MalformedPolicyException`): `"Policy document is Malformed: …"`, with
    /// `"Invalid policy syntax."` for structural faults and
    /// `"The following resources are invalid : X"` for bad resources. IAM
    /// (`MalformedPolicyDocument` / `LimitExceeded`): the `Display` text.
    pub fn aws_message(&self, kind: PolicyKind) -> String {
        match kind {
            PolicyKind::IotPolicy => {
                let detail = match self {
                    Self::Syntax { .. }
                    | Self::UnknownElement(_)
                    | Self::MissingStatement
                    | Self::Conflicting(..)
                    | Self::InvalidAction(_) => "Invalid policy syntax.".to_owned(),
                    Self::InvalidResource(r) => {
                        format!("The following resources are invalid : {r}")
                    }
                    Self::TooLarge { chars, max } => format!(
                        "The policy document has {chars} characters excluding whitespace; the maximum is {max}."
                    ),
                    other => other.to_string(),
                };
                format!("Policy document is Malformed: {detail}")
            }
            PolicyKind::IamIdentity | PolicyKind::IamTrust => self.to_string(),
        }
    }

    pub(crate) fn syntax(detail: impl Into<String>) -> Self {
        Self::Syntax {
            detail: detail.into(),
        }
    }
}
