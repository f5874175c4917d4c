//! The AWS request-validation message builder shared by every service this crate serves:
//! `1 validation error detected: Value 'a b' at 'thingName' failed to satisfy constraint:
//! Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+` (several violations are
//! joined with `; ` after `N validation errors detected: `).
//!
//! Each service keeps only its model's string patterns (an enum implementing
//! [`ModelPattern`]), which also fixes the error code the service raises: CloudWatch Logs
//! answers `InvalidParameterException`, AWS IoT `InvalidRequestException` (aws-wire.md
//! Appendix A; botocore `logs-2014-03-28` / `iot-2015-05-28` models).

use std::marker::PhantomData;

use crate::error::{ApiError, ErrorCode};

/// One service's set of model string patterns, each with a matcher equivalent to the model's
/// regular expression; the implementing type also selects the service's validation dialect.
pub trait ModelPattern: Copy {
    /// The error code a failed validation is raised with (e.g.
    /// [`ErrorCode::InvalidParameter`] for CloudWatch Logs).
    const ERROR: ErrorCode;
    /// Whether a string shorter than its minimum length is still checked against its pattern
    /// (CloudWatch Logs reports both violations; AWS IoT only the length one).
    const PATTERN_WHEN_TOO_SHORT: bool;

    /// The regular expression as the model (and AWS's error message) spells it.
    fn regex(self) -> &'static str;

    /// Whether the whole of `s` matches [`ModelPattern::regex`].
    fn matches(self, s: &str) -> bool;
}

/// Collects the constraint violations of one request, for the service whose patterns are `P`.
#[derive(Debug)]
pub struct Validation<P> {
    errors: Vec<String>,
    service: PhantomData<P>,
}

/// A value whose presence [`Validation::required`] checks: an `Option` (present when
/// `Some`) or a `bool` presence flag.
pub trait Presence {
    /// Whether the member was given.
    fn is_present(&self) -> bool;
}

impl<T> Presence for Option<T> {
    fn is_present(&self) -> bool {
        self.is_some()
    }
}

impl Presence for bool {
    fn is_present(&self) -> bool {
        *self
    }
}

impl<P> Default for Validation<P> {
    fn default() -> Self {
        Self {
            errors: Vec::new(),
            service: PhantomData,
        }
    }
}

/// Renders a value the way AWS quotes it in validation messages.
fn quote(value: &str) -> String {
    format!("'{value}'")
}

impl<P: ModelPattern> Validation<P> {
    /// A validator with no errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `Value {value} at '{field}' failed to satisfy constraint: {constraint}`, where
    /// `value` is already quoted (`None` renders as `null`).
    fn push(&mut self, value: Option<String>, field: &str, constraint: &str) {
        let value = value.unwrap_or_else(|| "null".to_owned());
        self.errors.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records "Member must not be null" for `field`.
    pub fn null(&mut self, field: &str) {
        self.push(None, field, "Member must not be null");
    }

    /// Records "Member must not be null" for `field` when `value` is absent (a `None`, or
    /// `false` for a presence flag); returns `value` unchanged.
    pub fn required<V: Presence>(&mut self, field: &str, value: V) -> V {
        if !value.is_present() {
            self.null(field);
        }
        value
    }

    /// Records "Member must have length greater/less than or equal to …" when `len` is
    /// outside `min..=max`; `shown` is the already-quoted value.
    fn length(
        &mut self,
        field: &str,
        shown: impl Fn() -> String,
        len: usize,
        min: usize,
        max: usize,
    ) {
        if len < min {
            self.push(
                Some(shown()),
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(shown()),
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// Checks a string member's length (in characters) and optional pattern.
    pub fn string(
        &mut self,
        field: &str,
        value: Option<&str>,
        min: usize,
        max: usize,
        pattern: Option<P>,
    ) {
        let Some(v) = value else { return };
        let len = v.chars().count();
        self.length(field, || quote(v), len, min, max);
        if let Some(p) = pattern
            && (P::PATTERN_WHEN_TOO_SHORT || len >= min)
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

    /// Checks a list member's length (number of items; the value shows as `'[N items]'`).
    pub fn list_len(&mut self, field: &str, len: Option<usize>, min: usize, max: usize) {
        let Some(n) = len else { return };
        self.length(field, || format!("'[{n} items]'"), n, min, max);
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

    /// Records a free-form violation (already phrased as a full sentence).
    pub fn fail(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    /// `Ok` when nothing failed, else [`ModelPattern::ERROR`] with AWS's
    /// "N validation error(s) detected: …" message (a single free-form failure recorded with
    /// [`Validation::fail`] is sent as is).
    ///
    /// # Errors
    /// [`ModelPattern::ERROR`] listing every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        let message = match self.errors.as_slice() {
            [] => return Ok(()),
            [only] if !only.starts_with("Value ") => only.clone(),
            [only] => format!("1 validation error detected: {only}"),
            all => format!(
                "{} validation errors detected: {}",
                all.len(),
                all.join("; ")
            ),
        };
        Err(ApiError::new(P::ERROR, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-pattern dialect: lowercase letters, `[a-z]+`.
    #[derive(Clone, Copy, Debug)]
    struct Lower<const WHEN_SHORT: bool>;

    impl<const WHEN_SHORT: bool> ModelPattern for Lower<WHEN_SHORT> {
        const ERROR: ErrorCode = ErrorCode::Validation;
        const PATTERN_WHEN_TOO_SHORT: bool = WHEN_SHORT;
        fn regex(self) -> &'static str {
            "[a-z]+"
        }
        fn matches(self, s: &str) -> bool {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase())
        }
    }

    #[test]
    fn error_code_and_short_pattern_follow_the_dialect() {
        let mut v = Validation::<Lower<true>>::new();
        v.string("f", Some(""), 1, 5, Some(Lower));
        let e = v.finish().unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(
            e.message,
            "2 validation errors detected: Value '' at 'f' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'f' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+"
        );
        let mut v = Validation::<Lower<false>>::new();
        v.string("f", Some(""), 1, 5, Some(Lower));
        assert_eq!(
            v.finish().unwrap_err().message,
            "1 validation error detected: Value '' at 'f' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn list_and_enum_messages() {
        let mut v = Validation::<Lower<true>>::new();
        v.list_len("names", Some(0), 1, 3);
        v.one_of("order", Some("x"), &["A", "B"]);
        v.fail("Free-form.");
        assert_eq!(
            v.finish().unwrap_err().message,
            "3 validation errors detected: Value '[0 items]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'x' at 'order' failed to satisfy constraint: Member must satisfy enum value set: [A, B]; Free-form."
        );
        assert!(Validation::<Lower<true>>::new().finish().is_ok());
    }
}
