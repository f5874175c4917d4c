//! Wire validation of CloudWatch Logs request members, producing AWS's message style:
//! `1 validation error detected: Value 'x' at 'logGroupName' failed to satisfy constraint:
//! Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+` (several errors are
//! joined with `; ` after `N validation errors detected: `). Constraints come from the
//! botocore `logs-2014-03-28` model (aws-wire.md Appendix A). The message builder itself is
//! shared with AWS IoT ([`thingwatch_aws::validate`]); this module holds the Logs patterns.

pub use thingwatch_aws::validate::ModelPattern;
use thingwatch_http::error::ErrorCode;

/// A model string pattern, with a matcher equivalent to the model's regular expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `LogGroupName`: `[\.\-_/#A-Za-z0-9]+`.
    LogGroupName,
    /// `LogGroupNamePattern`: `[\.\-_/#A-Za-z0-9]*`.
    LogGroupNamePattern,
    /// `LogStreamName`: `[^:*]*`.
    LogStreamName,
    /// `LogGroupIdentifier`: `[\w#+=/:,.@-]*` (`\w` = `[A-Za-z0-9_]` in the model's Java
    /// regex dialect).
    LogGroupIdentifier,
}

/// CloudWatch Logs raises `InvalidParameterException` and checks the pattern of a
/// too-short string as well as its length.
impl ModelPattern for Pattern {
    const ERROR: ErrorCode = ErrorCode::InvalidParameter;
    const PATTERN_WHEN_TOO_SHORT: bool = true;

    fn regex(self) -> &'static str {
        match self {
            Self::LogGroupName => r"[\.\-_/#A-Za-z0-9]+",
            Self::LogGroupNamePattern => r"[\.\-_/#A-Za-z0-9]*",
            Self::LogStreamName => "[^:*]*",
            Self::LogGroupIdentifier => r"[\w#+=/:,.@-]*",
        }
    }

    fn matches(self, s: &str) -> bool {
        let group_char = |c: char| c.is_ascii_alphanumeric() || ".-_/#".contains(c);
        match self {
            Self::LogGroupName => !s.is_empty() && s.chars().all(group_char),
            Self::LogGroupNamePattern => s.chars().all(group_char),
            Self::LogStreamName => !s.contains([':', '*']),
            Self::LogGroupIdentifier => s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_#+=/:,.@-".contains(c)),
        }
    }
}

/// Collects constraint violations of one CloudWatch Logs request
/// (`InvalidParameterException`).
pub type Validation = thingwatch_aws::validate::Validation<Pattern>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let table: &[(Pattern, &str, bool)] = &[
            (Pattern::LogGroupName, "AWSIotLogsV2", true),
            (Pattern::LogGroupName, "/aws/iot/a.b-c_d#e", true),
            (Pattern::LogGroupName, "", false),
            (Pattern::LogGroupName, "bad name", false),
            (Pattern::LogGroupName, "bad:name", false),
            (Pattern::LogGroupNamePattern, "", true),
            (Pattern::LogStreamName, "any thing/é ok", true),
            (Pattern::LogStreamName, "a:b", false),
            (Pattern::LogStreamName, "a*", false),
            (
                Pattern::LogGroupIdentifier,
                "arn:aws:logs:us-east-1:123456789012:log-group:g",
                true,
            ),
            (Pattern::LogGroupIdentifier, "arn:...:*", false),
        ];
        for (p, s, want) in table {
            assert_eq!(p.matches(s), *want, "{p:?} {s:?}");
        }
    }

    #[test]
    fn messages_follow_aws_style() {
        let mut v = Validation::new();
        v.string(
            "logGroupName",
            Some("bad name"),
            1,
            512,
            Some(Pattern::LogGroupName),
        );
        let e = v.finish().unwrap_err();
        assert_eq!(
            e.message,
            r"1 validation error detected: Value 'bad name' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+"
        );
        let mut v = Validation::new();
        v.required("logStreamName", false);
        v.range("limit", Some(0), 1, 50);
        let e = v.finish().unwrap_err();
        assert_eq!(
            e.message,
            "2 validation errors detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null; Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
    }
}
