//! CloudWatch's request-validation errors, with the parameter named by its awsQuery path
//! (`MetricData.member.1.Value`), as CloudWatch words them in every protocol.

use thingwatch_http::{ApiError, ErrorCode};
use thingwatch_wire::Reader;

/// `MissingParameter`: "The parameter NAME is required."
pub fn missing(path: &str) -> ApiError {
    ApiError::new(
        ErrorCode::MissingRequiredParameter,
        format!("The parameter {path} is required."),
    )
}

/// `InvalidParameterValue` with `message`.
pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValue, message)
}

/// `InvalidParameterValue`: "The value V for parameter NAME is invalid."
pub fn invalid_value(path: &str, value: &str) -> ApiError {
    invalid(format!(
        "The value {value} for parameter {path} is invalid."
    ))
}

/// `ValidationError` with `message` (CloudWatch's answer to inconsistent alarm queries).
pub fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Validation, message)
}

/// `InvalidParameterCombination` with `message`.
pub fn combination(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterCombination, message)
}

/// Member `name` as a required string of `min..=max` characters.
pub fn required_str<'a>(
    r: &Reader<'a>,
    name: &str,
    min: usize,
    max: usize,
) -> Result<&'a str, ApiError> {
    let s = r.str(name)?.ok_or_else(|| missing(&r.path_of(name)))?;
    check_len(&r.path_of(name), s, min, max)?;
    Ok(s)
}

/// Member `name` as an optional string of `min..=max` characters.
pub fn optional_str<'a>(
    r: &Reader<'a>,
    name: &str,
    min: usize,
    max: usize,
) -> Result<Option<&'a str>, ApiError> {
    let Some(s) = r.str(name)? else {
        return Ok(None);
    };
    check_len(&r.path_of(name), s, min, max)?;
    Ok(Some(s))
}

/// A length constraint, in characters.
pub fn check_len(path: &str, s: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = s.chars().count();
    if n < min {
        return Err(invalid(format!(
            "The parameter {path} must be at least {min} characters long."
        )));
    }
    if n > max {
        return Err(invalid(format!(
            "The parameter {path} must be shorter than {} characters.",
            max + 1
        )));
    }
    Ok(())
}

/// A required timestamp, epoch ms.
pub fn required_time(r: &Reader<'_>, name: &str) -> Result<i64, ApiError> {
    r.timestamp_ms(name)?
        .ok_or_else(|| missing(&r.path_of(name)))
}

/// A namespace (1–255 characters, not starting with `:`).
pub fn namespace(path: &str, ns: &str) -> Result<(), ApiError> {
    check_len(path, ns, 1, 255)?;
    if ns.starts_with(':') {
        return Err(invalid_value(path, ns));
    }
    Ok(())
}
