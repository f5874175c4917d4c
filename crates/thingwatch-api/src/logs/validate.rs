//! Wire validation of CloudWatch Logs request members, producing AWS's message style:
//! `1 validation error detected: Value 'x' at 'logGroupName' failed to satisfy constraint:
//! Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+` (several errors are
//! joined with `; ` after `N validation errors detected: `). Constraints come from the
//! botocore `logs-2014-03-28` model (aws-wire.md Appendix A).

use crate::error::ApiError;

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

impl Pattern {
    /// The regular expression as the model (and AWS's error message) spells it.
    pub fn regex(self) -> &'static str {
        match self {
            Self::LogGroupName => r"[\.\-_/#A-Za-z0-9]+",
            Self::LogGroupNamePattern => r"[\.\-_/#A-Za-z0-9]*",
            Self::LogStreamName => "[^:*]*",
            Self::LogGroupIdentifier => r"[\w#+=/:,.@-]*",
        }
    }

    /// Whether the whole of `s` matches.
    pub fn matches(self, s: &str) -> bool {
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

/// Collects constraint violations of one request.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<String>,
}

/// Renders a value the way AWS quotes it in validation messages.
fn quote(value: &str) -> String {
    format!("'{value}'")
}

impl Validation {
    /// A validator with no errors.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<String>, field: &str, constraint: &str) {
        let value = value.unwrap_or_else(|| "null".to_owned());
        self.errors.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records "Member must not be null" when `present` is false. Returns `present`.
    pub fn required(&mut self, field: &str, present: bool) -> bool {
        if !present {
            self.push(None, field, "Member must not be null");
        }
        present
    }

    /// Checks a string member's length (in characters) and optional pattern.
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
                Some(quote(v)),
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(quote(v)),
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        if let Some(p) = pattern
            && !p.matches(v)
        {
            self.push(
                Some(quote(v)),
                field,
                &format!(
                    "Member must satisfy regular expression pattern: {}",
                    p.regex()
                ),
            );
        }
    }

    /// Checks an integer member's range.
    pub fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(v) = value else { return };
        if v < min {
            self.push(
                Some(quote(&v.to_string())),
                field,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if v > max {
            self.push(
                Some(quote(&v.to_string())),
                field,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// Checks a list member's length (number of items).
    pub fn list_len(&mut self, field: &str, len: Option<usize>, min: usize, max: usize) {
        let Some(n) = len else { return };
        if n < min {
            self.push(
                Some(format!("'[{n} items]'")),
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if n > max {
            self.push(
                Some(format!("'[{n} items]'")),
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// Checks a string member against an enum value set.
    pub fn one_of(&mut self, field: &str, value: Option<&str>, allowed: &[&str]) {
        let Some(v) = value else { return };
        if !allowed.contains(&v) {
            self.push(
                Some(quote(v)),
                field,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// `Ok` when no constraint failed, else `InvalidParameterException` with AWS's
    /// "N validation error(s) detected: …" message.
    ///
    /// # Errors
    /// `InvalidParameterException` listing every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(ApiError::invalid_parameter(format!(
                "1 validation error detected: {}",
                self.errors[0]
            ))),
            n => Err(ApiError::invalid_parameter(format!(
                "{n} validation errors detected: {}",
                self.errors.join("; ")
            ))),
        }
    }
}

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
