//! Wire validation of AWS IoT request members, in the message style AWS IoT answers with
//! (`InvalidRequestException`, e.g. `1 validation error detected: Value 'a b' at 'thingName'
//! failed to satisfy constraint: Member must satisfy regular expression pattern:
//! [a-zA-Z0-9:_-]+`; several violations are joined with `; `). Constraints and patterns are
//! those of the botocore `iot-2015-05-28` model (aws-wire.md Appendix A).

use crate::error::{ApiError, ErrorCode};

/// `ThingName` / `ThingGroupName` / `ThingTypeName` / `BillingGroupName` length (1..=128).
pub const MAX_NAME_LEN: usize = 128;
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
}

impl Pattern {
    /// The regular expression as the model (and AWS's message) spells it.
    pub fn regex(self) -> &'static str {
        match self {
            Self::ResourceName => "[a-zA-Z0-9:_-]+",
            Self::AttributeName => "[a-zA-Z0-9_.,@/:#-]+",
            Self::AttributeValue => r"[a-zA-Z0-9_.,@/:#=\[\]-]*",
            Self::Description => r"[\p{Graph}\x20]*",
            Self::LogDestination => r"^[.\-_/#A-Za-z0-9]+$",
        }
    }

    /// Whether the whole of `s` matches.
    pub fn matches(self, s: &str) -> bool {
        let all = |extra: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        };
        match self {
            Self::ResourceName => !s.is_empty() && all(":_-"),
            Self::AttributeName => !s.is_empty() && all("_.,@/:#-"),
            Self::AttributeValue => all("_.,@/:#=[]-"),
            Self::Description => s.chars().all(|c| c.is_ascii_graphic() || c == ' '),
            Self::LogDestination => !s.is_empty() && all(".-_/#"),
        }
    }
}

/// Collects the constraint violations of one request.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<String>,
}

impl Validation {
    /// A validator with no errors.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<&str>, field: &str, constraint: &str) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        self.errors.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records "Member must not be null" when `value` is `None`; returns the value.
    pub fn required<'a, T: ?Sized>(&mut self, field: &str, value: Option<&'a T>) -> Option<&'a T> {
        if value.is_none() {
            self.push(None, field, "Member must not be null");
        }
        value
    }

    /// Checks a string member's length (characters) and optional pattern.
    pub fn string(
        &mut self,
        field: &str,
        value: Option<&str>,
        min: usize,
        max: usize,
        pattern: Option<Pattern>,
    ) {
        let Some(v) = value else { return };
        let len = v.chars().count();
        if len < min {
            self.push(
                Some(v),
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(v),
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        if let Some(p) = pattern
            && len >= min
            && !p.matches(v)
        {
            self.push(
                Some(v),
                field,
                &format!(
                    "Member must satisfy regular expression pattern: {}",
                    p.regex()
                ),
            );
        }
    }

    /// A thing / thing group / thing type name: 1..=128, `[a-zA-Z0-9:_-]+`.
    pub fn name(&mut self, field: &str, value: Option<&str>) {
        self.string(field, value, 1, MAX_NAME_LEN, Some(Pattern::ResourceName));
    }

    /// Checks an integer member's range.
    pub fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(v) = value else { return };
        let s = v.to_string();
        if v < min {
            self.push(
                Some(&s),
                field,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if v > max {
            self.push(
                Some(&s),
                field,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// Checks a string member against an enum value set.
    pub fn one_of(&mut self, field: &str, value: Option<&str>, allowed: &[&str]) {
        let Some(v) = value else { return };
        if !allowed.contains(&v) {
            self.push(
                Some(v),
                field,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// Records a free-form violation (already phrased as a full sentence).
    pub fn fail(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    /// `Ok` when nothing failed, else `InvalidRequestException` with AWS's
    /// "N validation error(s) detected: …" message (a single free-form failure is sent as is).
    ///
    /// # Errors
    /// `InvalidRequestException` listing every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.errors.len() {
            0 => Ok(()),
            1 if !self.errors[0].starts_with("Value ") => Err(ApiError::new(
                ErrorCode::InvalidRequest,
                self.errors[0].clone(),
            )),
            1 => Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("1 validation error detected: {}", self.errors[0]),
            )),
            n => Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("{n} validation errors detected: {}", self.errors.join("; ")),
            )),
        }
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
        v.required::<str>("logLevel", None);
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
