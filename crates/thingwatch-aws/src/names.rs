//! Validated AWS IoT resource names shared by the services that take them.
//!
//! [`ThingName`] — a thing's name as the AWS IoT models define it (`ThingName` in
//! `iot-2015-05-28` and `iot-data-2015-05-28`: length 1–128, pattern `[a-zA-Z0-9:_-]+`). The
//! registry, the Device Shadow service (REST and MQTT topics), the authorizer's
//! `iot:Connection.Thing.ThingName` and later jobs and fleet provisioning all take this one
//! type, so the rule is written once.

use std::fmt;
use std::sync::Arc;

/// Why a string is not a valid name: one AWS model constraint, with the text AWS's
/// validation message gives it (`Member must …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameViolation {
    /// Shorter than the minimum length (characters).
    TooShort {
        /// The model's `min`.
        min: usize,
    },
    /// Longer than the maximum length (characters).
    TooLong {
        /// The model's `max`.
        max: usize,
    },
    /// A character outside the model's pattern.
    Pattern {
        /// The pattern as the model (and AWS's message) spells it.
        regex: &'static str,
    },
}

impl NameViolation {
    /// The constraint in AWS's words, e.g. `Member must have length less than or equal to
    /// 128` or `Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+`.
    pub fn constraint(&self) -> String {
        match self {
            NameViolation::TooShort { min } => {
                format!("Member must have length greater than or equal to {min}")
            }
            NameViolation::TooLong { max } => {
                format!("Member must have length less than or equal to {max}")
            }
            NameViolation::Pattern { regex } => {
                format!("Member must satisfy regular expression pattern: {regex}")
            }
        }
    }
}

impl fmt::Display for NameViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.constraint())
    }
}

impl std::error::Error for NameViolation {}

/// A valid thing name: 1–128 characters of `[a-zA-Z0-9:_-]` (AWS IoT API Reference,
/// `CreateThing` / `ThingName`; the same constraint in the `iot-data` model). Cheap to clone
/// (shared `Arc<str>`); compares, hashes and dereferences as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThingName(Arc<str>);

impl ThingName {
    /// The model's maximum length, in characters.
    pub const MAX_LEN: usize = 128;
    /// The model's pattern, as AWS's validation message spells it.
    pub const PATTERN: &'static str = "[a-zA-Z0-9:_-]+";

    /// Whether `c` may appear in a thing name.
    pub fn is_name_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-')
    }

    /// Checks `value` against the model: the first violated constraint, length before
    /// pattern (AWS IoT reports only the length violation of an empty name).
    ///
    /// # Errors
    /// [`NameViolation`] when `value` is empty, longer than [`ThingName::MAX_LEN`]
    /// characters, or has a character outside [`ThingName::PATTERN`].
    pub fn check(value: &str) -> Result<(), NameViolation> {
        if value.is_empty() {
            Err(NameViolation::TooShort { min: 1 })
        } else if value.chars().count() > Self::MAX_LEN {
            Err(NameViolation::TooLong { max: Self::MAX_LEN })
        } else if !value.chars().all(Self::is_name_char) {
            Err(NameViolation::Pattern {
                regex: Self::PATTERN,
            })
        } else {
            Ok(())
        }
    }

    /// Parses a thing name.
    ///
    /// # Errors
    /// As [`ThingName::check`].
    pub fn parse(value: &str) -> Result<ThingName, NameViolation> {
        Self::check(value)?;
        Ok(ThingName(Arc::from(value)))
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ThingName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ThingName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ThingName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ThingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl TryFrom<&str> for ThingName {
    type Error = NameViolation;
    fn try_from(value: &str) -> Result<Self, NameViolation> {
        ThingName::parse(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thing_names_follow_the_model() {
        for ok in ["a", "phone-1", "a:b_c-D9", &"x".repeat(128)] {
            assert_eq!(ThingName::parse(ok).unwrap().as_str(), ok);
        }
        let table: &[(&str, NameViolation)] = &[
            ("", NameViolation::TooShort { min: 1 }),
            (&"x".repeat(129), NameViolation::TooLong { max: 128 }),
            (
                "a b",
                NameViolation::Pattern {
                    regex: "[a-zA-Z0-9:_-]+",
                },
            ),
            (
                "a.b",
                NameViolation::Pattern {
                    regex: "[a-zA-Z0-9:_-]+",
                },
            ),
            (
                "é",
                NameViolation::Pattern {
                    regex: "[a-zA-Z0-9:_-]+",
                },
            ),
        ];
        for (value, violation) in table {
            assert_eq!(ThingName::parse(value), Err(*violation), "{value:?}");
        }
    }

    #[test]
    fn constraints_read_as_aws_writes_them() {
        assert_eq!(
            NameViolation::TooShort { min: 1 }.constraint(),
            "Member must have length greater than or equal to 1"
        );
        assert_eq!(
            NameViolation::TooLong { max: 128 }.to_string(),
            "Member must have length less than or equal to 128"
        );
        assert_eq!(
            NameViolation::Pattern {
                regex: ThingName::PATTERN
            }
            .constraint(),
            "Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+"
        );
    }

    #[test]
    fn a_name_is_its_text() {
        let name = ThingName::parse("sensor-1").unwrap();
        assert_eq!(&*name, "sensor-1");
        assert_eq!(format!("{name} {name:?}"), "sensor-1 \"sensor-1\"");
        let set: std::collections::HashSet<ThingName> = [name.clone()].into();
        assert!(set.contains("sensor-1"));
    }
}
