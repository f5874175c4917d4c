//! Parameter constraints of the iam-2010-05-08 model (botocore `service-2.json`: patterns,
//! lengths, ranges) and IAM quotas, as typed constants, with validators producing AWS's
//! `ValidationError` message ("1 validation error detected: Value 'x' at 'userName' failed to
//! satisfy constraint: Member must …").

use crate::error::IamError;

/// `userNameType` / `roleNameType`: at most 64 characters.
pub const NAME_MAX_CHARS: usize = 64;
/// `existingUserNameType`: names given to look up an existing user, at most 128 characters.
pub const EXISTING_USER_NAME_MAX_CHARS: usize = 128;
/// `policyNameType`: at most 128 characters.
pub const POLICY_NAME_MAX_CHARS: usize = 128;
/// `pathType`: at most 512 characters.
pub const PATH_MAX_CHARS: usize = 512;
/// `roleDescriptionType`: at most 1,000 characters.
pub const ROLE_DESCRIPTION_MAX_CHARS: usize = 1000;
/// `policyDocumentType`: at most 131,072 characters on the wire (the policy crate then applies
/// IAM's whitespace-excluding size quotas).
pub const POLICY_DOCUMENT_MAX_CHARS: usize = 131_072;
/// `roleMaxSessionDurationType`: 3,600–43,200 **seconds**; the default is 3,600.
pub const MAX_SESSION_DURATION_S: std::ops::RangeInclusive<u32> = 3600..=43200;
/// Default `MaxSessionDuration` (seconds) when CreateRole gives none.
pub const DEFAULT_MAX_SESSION_DURATION_S: u32 = 3600;
/// IAM quota "Access keys assigned to an IAM user": 2 (IAM User Guide, *IAM and AWS STS
/// quotas*); a third CreateAccessKey is `LimitExceeded`.
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// `maxItemsType`: 1–1,000.
pub const MAX_ITEMS: std::ops::RangeInclusive<usize> = 1..=1000;
/// Default `MaxItems` of the List operations (IAM API Reference: "defaults to 100").
pub const DEFAULT_MAX_ITEMS: usize = 100;

/// The name pattern of users, roles and policies, as the model writes it.
pub const NAME_PATTERN: &str = r"[\w+=,.@-]+";
/// The `pathType` pattern, as the model writes it.
pub const PATH_PATTERN: &str = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)";

fn violation(field: &str, value: &str, constraint: &str) -> IamError {
    IamError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must {constraint}"
    ))
}

/// The error for a missing required parameter (`field` in lower camel case, e.g. `userName`).
pub fn missing(field: &str) -> IamError {
    IamError::Validation(format!(
        "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
    ))
}

/// Checks a user, role or policy name: 1..=`max` characters of `[\w+=,.@-]` (Java `\w` is
/// `[A-Za-z0-9_]`).
///
/// # Errors
/// [`IamError::Validation`] naming `field`.
pub fn name(field: &str, value: &str, max: usize) -> Result<(), IamError> {
    let len = value.chars().count();
    if len == 0 || len > max {
        return Err(violation(
            field,
            value,
            &format!("have length less than or equal to {max}"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(violation(
            field,
            value,
            &format!("satisfy regular expression pattern: {NAME_PATTERN}"),
        ));
    }
    Ok(())
}

/// Checks a `Path`: `/`, or `/` + printable ASCII (U+0021–U+007E) + `/`, at most 512.
///
/// # Errors
/// [`IamError::Validation`].
pub fn path(value: &str) -> Result<(), IamError> {
    if value.len() > PATH_MAX_CHARS {
        return Err(violation(
            "path",
            value,
            &format!("have length less than or equal to {PATH_MAX_CHARS}"),
        ));
    }
    let ok = value == "/"
        || (value.len() >= 3
            && value.starts_with('/')
            && value.ends_with('/')
            && value.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(violation(
            "path",
            value,
            &format!("satisfy regular expression pattern: {PATH_PATTERN}"),
        ))
    }
}

/// Checks a `PathPrefix`: `/` followed by U+0021–U+007F, at most 512.
///
/// # Errors
/// [`IamError::Validation`].
pub fn path_prefix(value: &str) -> Result<(), IamError> {
    if value.is_empty()
        || value.len() > PATH_MAX_CHARS
        || !value.starts_with('/')
        || !value.bytes().all(|b| (0x21..=0x7f).contains(&b))
    {
        return Err(violation(
            "pathPrefix",
            value,
            r"satisfy regular expression pattern: \u002F[\u0021-\u007F]*",
        ));
    }
    Ok(())
}

/// Checks a policy document's wire constraints (1..=131,072 characters of tab, LF, CR and
/// U+0020–U+00FF); the grammar and IAM size quotas are `thingwatch_policy`'s.
///
/// # Errors
/// [`IamError::Validation`].
pub fn policy_document(field: &str, value: &str) -> Result<(), IamError> {
    let len = value.chars().count();
    if len == 0 || len > POLICY_DOCUMENT_MAX_CHARS {
        return Err(violation(
            field,
            "<policy document>",
            &format!("have length less than or equal to {POLICY_DOCUMENT_MAX_CHARS}"),
        ));
    }
    if !value
        .chars()
        .all(thingwatch_policy::limits::is_iam_policy_char)
    {
        return Err(violation(
            field,
            "<policy document>",
            r"satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+",
        ));
    }
    Ok(())
}

/// Checks a role `Description` (0–1,000 characters of tab, LF, CR, U+0020–U+007E,
/// U+00A1–U+00FF).
///
/// # Errors
/// [`IamError::Validation`].
pub fn description(value: &str) -> Result<(), IamError> {
    if value.chars().count() > ROLE_DESCRIPTION_MAX_CHARS {
        return Err(violation(
            "description",
            value,
            &format!("have length less than or equal to {ROLE_DESCRIPTION_MAX_CHARS}"),
        ));
    }
    if !value
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'))
    {
        return Err(violation(
            "description",
            value,
            r"satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*",
        ));
    }
    Ok(())
}

/// Parses and checks `MaxSessionDuration` (seconds, 3,600–43,200).
///
/// # Errors
/// [`IamError::Validation`].
pub fn max_session_duration(value: &str) -> Result<u32, IamError> {
    match value.parse::<u32>() {
        Ok(v) if MAX_SESSION_DURATION_S.contains(&v) => Ok(v),
        Ok(v) if v < *MAX_SESSION_DURATION_S.start() => Err(violation(
            "maxSessionDuration",
            value,
            "have value greater than or equal to 3600",
        )),
        _ => Err(violation(
            "maxSessionDuration",
            value,
            "have value less than or equal to 43200",
        )),
    }
}

/// Parses and checks `MaxItems` (1–1,000).
///
/// # Errors
/// [`IamError::Validation`].
pub fn max_items(value: &str) -> Result<usize, IamError> {
    match value.parse::<usize>() {
        Ok(v) if MAX_ITEMS.contains(&v) => Ok(v),
        Ok(0) => Err(violation(
            "maxItems",
            value,
            "have value greater than or equal to 1",
        )),
        _ => Err(violation(
            "maxItems",
            value,
            "have value less than or equal to 1000",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let table: &[(&str, bool)] = &[
            ("bob", true),
            ("Bob_1+=,.@-", true),
            (&"a".repeat(64), true),
            (&"a".repeat(65), false),
            ("", false),
            ("has space", false),
            ("slash/", false),
            ("ümlaut", false),
            ("colon:", false),
        ];
        for (v, ok) in table {
            assert_eq!(name("userName", v, NAME_MAX_CHARS).is_ok(), *ok, "{v:?}");
        }
        let Err(e) = name("userName", "a b", 64) else {
            panic!("a space is not allowed");
        };
        assert_eq!(
            e.to_string(),
            r"1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
        );
    }

    #[test]
    fn paths() {
        for (v, ok) in [
            ("/", true),
            ("/a/", true),
            ("/service-role/", true),
            ("/a/b/", true),
            ("", false),
            ("a/", false),
            ("/a", false),
            ("//", false),
            ("/a b/", false),
        ] {
            assert_eq!(path(v).is_ok(), ok, "{v:?}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(max_session_duration("3600").ok(), Some(3600));
        assert_eq!(max_session_duration("43200").ok(), Some(43200));
        assert!(max_session_duration("3599").is_err());
        assert!(max_session_duration("43201").is_err());
        assert!(max_session_duration("x").is_err());
        assert_eq!(max_items("1").ok(), Some(1));
        assert!(max_items("0").is_err());
        assert!(max_items("1001").is_err());
    }

    #[test]
    fn documents_and_descriptions() {
        assert!(policy_document("policyDocument", "{}").is_ok());
        assert!(policy_document("policyDocument", "").is_err());
        assert!(policy_document("policyDocument", "{\"a\":\"\u{100}\"}").is_err());
        assert!(description("").is_ok());
        assert!(description("Built-in\tlogging role").is_ok());
        assert!(description("\u{7f}").is_err());
        assert!(description(&"d".repeat(1001)).is_err());
    }
}
