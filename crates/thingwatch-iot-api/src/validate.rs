//! Wire validation of AWS IoT request members, in the message style AWS IoT answers with
//! (`InvalidRequestException`, e.g. `1 validation error detected: Value 'a b' at 'thingName'
//! failed to satisfy constraint: Member must satisfy regular expression pattern:
//! [a-zA-Z0-9:_-]+`; several violations are joined with `; `). Constraints and patterns are
//! those of the botocore `iot-2015-05-28` model (aws-wire.md Appendix A). The message builder
//! itself is shared with CloudWatch Logs ([`thingwatch_aws::validate`]); this module holds AWS IoT's
//! patterns and limits.

use thingwatch_aws::ThingName;
pub use thingwatch_aws::validate::ModelPattern;
use thingwatch_http::error::ErrorCode;

/// `ThingName` / `ThingGroupName` / `ThingTypeName` / `BillingGroupName` length (1..=128).
pub const MAX_NAME_LEN: usize = ThingName::MAX_LEN;
/// `AttributeName` maximum length (model: max=128).
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 128;
/// `AttributeValue` maximum length (model: max=800).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 800;
/// `ThingGroupDescription` maximum length (model: max=2028).
pub const MAX_GROUP_DESCRIPTION_LEN: usize = 2028;
/// `LogEventType` / `LogDestination` maximum length (model: max=512).
pub const MAX_EVENT_FIELD_LEN: usize = 512;
/// `EndpointType` maximum length (model: max=128).
pub const MAX_ENDPOINT_TYPE_LEN: usize = 128;
/// `PolicyName` length (model: min=1, max=128).
pub const MAX_POLICY_NAME_LEN: usize = 128;
/// `PolicyDocument` maximum length as the model states it (max=404600); the 2,048
/// non-whitespace characters AWS IoT enforces are checked by `thingwatch_policy`.
pub const MAX_POLICY_DOCUMENT_LEN: usize = 404_600;
/// `CertificatePem` maximum length (model: min=1, max=65536).
pub const MAX_CERTIFICATE_PEM_LEN: usize = 65_536;
/// `CertificateSigningRequest` maximum length (model: min=1, max=4096).
pub const MAX_CSR_LEN: usize = 4096;
/// `Marker` maximum length (model: max=1024).
pub const MAX_MARKER_LEN: usize = 1024;
/// `RuleName` length (model: min=1, max=128).
pub const MAX_RULE_NAME_LEN: usize = thingwatch_rules::model::MAX_RULE_NAME_LEN;
/// `ConfirmationToken` length (model: min=1, max=2048).
pub const MAX_CONFIRMATION_TOKEN_LEN: usize = 2048;
/// `Url` (a destination's `confirmationUrl`) maximum length (model: max=2000).
pub const MAX_URL_LEN: usize = thingwatch_rules::destinations::MAX_URL_LEN;

/// A model string pattern with a matcher equivalent to its regular expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `ThingName`, `ThingGroupName`, `ThingTypeName`, `BillingGroupName`: `[a-zA-Z0-9:_-]+`.
    ResourceName,
    /// `AttributeName`: `[a-zA-Z0-9_.,@/:#-]+`.
    AttributeName,
    /// `AttributeValue`: `[a-zA-Z0-9_.,@/:#=\[\]-]*`.
    AttributeValue,
    /// `ThingGroupDescription`: `[\p{Graph}\x20]*` (printable ASCII and space).
    Description,
    /// `LogDestination`: `^[.\-_/#A-Za-z0-9]+$`.
    LogDestination,
    /// `PolicyName`: `[\w+=,.@-]+`.
    PolicyName,
    /// `PolicyVersionId`: `[0-9]+`.
    PolicyVersionId,
    /// `Marker`: `[A-Za-z0-9+/]+={0,2}`.
    Marker,
    /// `RuleName`: `^[a-zA-Z0-9_]+$`.
    RuleName,
    /// `JobId`, `JobTemplateId`, `NamespaceId`: `[a-zA-Z0-9_-]+`.
    JobId,
    /// `ReasonCode`: `[\p{Upper}\p{Digit}_]+`.
    ReasonCode,
    /// `JobDescription`, `Comment`: `[^\p{C}]+` (no control or other "C" characters).
    NoControl,
}

/// AWS IoT raises `InvalidRequestException` and reports only the length violation of a
/// too-short string.
impl ModelPattern for Pattern {
    const ERROR: ErrorCode = ErrorCode::InvalidRequest;
    const PATTERN_WHEN_TOO_SHORT: bool = false;

    fn regex(self) -> &'static str {
        match self {
            Self::ResourceName => ThingName::PATTERN,
            Self::AttributeName => "[a-zA-Z0-9_.,@/:#-]+",
            Self::AttributeValue => r"[a-zA-Z0-9_.,@/:#=\[\]-]*",
            Self::Description => r"[\p{Graph}\x20]*",
            Self::LogDestination => r"^[.\-_/#A-Za-z0-9]+$",
            Self::PolicyName => r"[\w+=,.@-]+",
            Self::PolicyVersionId => "[0-9]+",
            Self::Marker => "[A-Za-z0-9+/]+={0,2}",
            Self::RuleName => "^[a-zA-Z0-9_]+$",
            Self::JobId => "[a-zA-Z0-9_-]+",
            Self::ReasonCode => r"[\p{Upper}\p{Digit}_]+",
            Self::NoControl => r"[^\p{C}]+",
        }
    }

    fn matches(self, s: &str) -> bool {
        let all = |extra: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        };
        match self {
            Self::ResourceName => !s.is_empty() && s.chars().all(ThingName::is_name_char),
            Self::AttributeName => !s.is_empty() && all("_.,@/:#-"),
            Self::AttributeValue => all("_.,@/:#=[]-"),
            Self::Description => s.chars().all(|c| c.is_ascii_graphic() || c == ' '),
            Self::LogDestination => !s.is_empty() && all(".-_/#"),
            Self::PolicyName => !s.is_empty() && all("_+=,.@-"),
            Self::PolicyVersionId => !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()),
            Self::Marker => {
                let body = s.trim_end_matches('=');
                !body.is_empty()
                    && s.len() - body.len() <= 2
                    && body
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+/".contains(c))
            }
            Self::RuleName => !s.is_empty() && all("_"),
            Self::JobId => !s.is_empty() && all("_-"),
            Self::ReasonCode => {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            }
            Self::NoControl => !s.is_empty() && !s.chars().any(char::is_control),
        }
    }
}

/// Collects the constraint violations of one AWS IoT request (`InvalidRequestException`).
pub type Validation = thingwatch_aws::validate::Validation<Pattern>;

/// AWS IoT's recurring name checks on a [`Validation`].
pub trait IotNames {
    /// A policy name: 1..=128, `[\w+=,.@-]+`.
    fn policy_name(&mut self, field: &str, value: Option<&str>);
    /// A thing / thing group / thing type name: 1..=128, `[a-zA-Z0-9:_-]+`.
    fn name(&mut self, field: &str, value: Option<&str>);
}

impl IotNames for Validation {
    fn policy_name(&mut self, field: &str, value: Option<&str>) {
        self.string(
            field,
            value,
            1,
            MAX_POLICY_NAME_LEN,
            Some(Pattern::PolicyName),
        );
    }

    fn name(&mut self, field: &str, value: Option<&str>) {
        self.string(field, value, 1, MAX_NAME_LEN, Some(Pattern::ResourceName));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let table: &[(Pattern, &str, bool)] = &[
            (Pattern::ResourceName, "phone-1", true),
            (Pattern::ResourceName, "a:b_c-D9", true),
            (Pattern::ResourceName, "", false),
            (Pattern::ResourceName, "a b", false),
            (Pattern::ResourceName, "a.b", false),
            (Pattern::AttributeName, "model.v2@x/y#z", true),
            (Pattern::AttributeName, "", false),
            (Pattern::AttributeName, "a=b", false),
            (Pattern::AttributeValue, "", true),
            (Pattern::AttributeValue, "[1]=x", true),
            (Pattern::AttributeValue, "a b", false),
            (Pattern::Description, "Phones of the sales team!", true),
            (Pattern::Description, "tab\there", false),
            (Pattern::LogDestination, "/aws/iot/connects", true),
            (Pattern::LogDestination, "AWSIotLogsV2", true),
            (Pattern::LogDestination, "bad group", false),
            (Pattern::LogDestination, "", false),
            (Pattern::PolicyName, "my_policy+=,.@-1", true),
            (Pattern::PolicyName, "a b", false),
            (Pattern::PolicyName, "a/b", false),
            (Pattern::PolicyName, "", false),
            (Pattern::PolicyVersionId, "12", true),
            (Pattern::PolicyVersionId, "1a", false),
            (Pattern::Marker, "cG9saWNpZXMKYQ==", true),
            (Pattern::Marker, "a===", false),
            (Pattern::Marker, "a_b", false),
            (Pattern::RuleName, "my_rule_1", true),
            (Pattern::RuleName, "my-rule", false),
            (Pattern::RuleName, "", false),
        ];
        for (p, s, want) in table {
            assert_eq!(p.matches(s), *want, "{p:?} {s:?}");
        }
    }

    #[test]
    fn messages() {
        let mut v = Validation::new();
        v.name("thingName", Some("a b"));
        assert_eq!(
            v.finish().unwrap_err().message,
            "1 validation error detected: Value 'a b' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+"
        );
        let mut v = Validation::new();
        v.required("logLevel", None::<&str>);
        v.range("maxResults", Some(251), 1, 250);
        let e = v.finish().unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(
            e.message,
            "2 validation errors detected: Value null at 'logLevel' failed to satisfy constraint: Member must not be null; Value '251' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 250"
        );
        let mut v = Validation::new();
        v.fail("Free-form.");
        assert_eq!(v.finish().unwrap_err().message, "Free-form.");
    }
}
