//! Validation of thing names and shadow names against the `iot-data` model's patterns, with
//! AWS's standard validation message.

use crate::error::ShadowError;
use crate::limits::MAX_SHADOW_NAME_LEN;
use thingwatch_aws::{NameViolation, ThingName};

/// The shadow-name pattern as the `iot-data` model spells it.
const SHADOW_NAME_PATTERN: &str = "[$a-zA-Z0-9:_-]+";

fn shadow_char(c: char) -> bool {
    ThingName::is_name_char(c) || c == '$'
}

fn check_shadow_name(value: &str) -> Result<(), NameViolation> {
    if value.is_empty() {
        Err(NameViolation::TooShort { min: 1 })
    } else if value.chars().count() > MAX_SHADOW_NAME_LEN {
        Err(NameViolation::TooLong {
            max: MAX_SHADOW_NAME_LEN,
        })
    } else if !value.chars().all(shadow_char) {
        Err(NameViolation::Pattern {
            regex: SHADOW_NAME_PATTERN,
        })
    } else {
        Ok(())
    }
}

/// AWS's validation message for one violated constraint of `member`.
fn invalid(value: &str, member: &str, violation: NameViolation) -> ShadowError {
    ShadowError::invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy \
         constraint: {}",
        violation.constraint()
    ))
}

/// Checks a thing name: 1–128 characters of `[a-zA-Z0-9:_-]` ([`ThingName::check`]).
/// Errors: 400 with AWS's validation message. Source: `iot-data` model, ThingName.
pub fn validate_thing_name(thing: &str) -> Result<(), ShadowError> {
    ThingName::check(thing).map_err(|v| invalid(thing, "thingName", v))
}

/// Checks a shadow name: 1–64 characters of `[$a-zA-Z0-9:_-]`. Errors: 400 with AWS's
/// validation message. Source: `iot-data` model, ShadowName.
pub fn validate_shadow_name(shadow: &str) -> Result<(), ShadowError> {
    check_shadow_name(shadow).map_err(|v| invalid(shadow, "shadowName", v))
}

/// Checks a thing name and, for a named shadow, its shadow name.
pub(crate) fn validate(thing: &str, shadow: Option<&str>) -> Result<(), ShadowError> {
    validate_thing_name(thing)?;
    if let Some(shadow) = shadow {
        validate_shadow_name(shadow)?;
    }
    Ok(())
}
