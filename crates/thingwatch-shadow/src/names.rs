//! Validation of thing names and shadow names against the `iot-data` model's patterns, with
//! AWS's standard validation message.

use crate::error::ShadowError;
use crate::limits::{MAX_SHADOW_NAME_LEN, MAX_THING_NAME_LEN};

fn thing_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-')
}

fn shadow_char(c: char) -> bool {
    thing_char(c) || c == '$'
}

fn check(
    value: &str,
    member: &str,
    max_len: usize,
    pattern: &str,
    allowed: fn(char) -> bool,
) -> Result<(), ShadowError> {
    let constraint = if value.is_empty() {
        Some("Member must have length greater than or equal to 1".to_string())
    } else if value.chars().count() > max_len {
        Some(format!(
            "Member must have length less than or equal to {max_len}"
        ))
    } else if !value.chars().all(allowed) {
        Some(format!(
            "Member must satisfy regular expression pattern: {pattern}"
        ))
    } else {
        None
    };
    match constraint {
        None => Ok(()),
        Some(constraint) => Err(ShadowError::invalid(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy \
             constraint: {constraint}"
        ))),
    }
}

/// Checks a thing name: 1–128 characters of `[a-zA-Z0-9:_-]`. Errors: 400 with AWS's
/// validation message. Source: `iot-data` model, ThingName.
pub fn validate_thing_name(thing: &str) -> Result<(), ShadowError> {
    check(
        thing,
        "thingName",
        MAX_THING_NAME_LEN,
        "[a-zA-Z0-9:_-]+",
        thing_char,
    )
}

/// Checks a shadow name: 1–64 characters of `[$a-zA-Z0-9:_-]`. Errors: 400 with AWS's
/// validation message. Source: `iot-data` model, ShadowName.
pub fn validate_shadow_name(shadow: &str) -> Result<(), ShadowError> {
    check(
        shadow,
        "shadowName",
        MAX_SHADOW_NAME_LEN,
        "[$a-zA-Z0-9:_-]+",
        shadow_char,
    )
}

/// Checks a thing name and, for a named shadow, its shadow name.
pub(crate) fn validate(thing: &str, shadow: Option<&str>) -> Result<(), ShadowError> {
    validate_thing_name(thing)?;
    if let Some(shadow) = shadow {
        validate_shadow_name(shadow)?;
    }
    Ok(())
}
