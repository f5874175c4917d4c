//! The registry's pages, on the one pagination-token scheme ([`thingwatch_aws::page_token`]):
//! `nextToken`s in the URL-safe alphabet, and the `marker`s of the policy list operations,
//! which the model constrains to standard base64 (`Marker`: `[A-Za-z0-9+/]+={0,2}`), in the
//! standard one.
//!
//! Pages continue strictly after the last key of the previous page, so items created or
//! deleted between calls never make a page repeat or skip an item that existed throughout.

use crate::error::RegistryError;
use crate::types::MAX_RESULTS_LIMIT;
use thingwatch_aws::page_token::{self, Alphabet};

/// Encodes the key of the last item of a page for operation `tag`.
pub(crate) fn encode(tag: &str, last_key: &str) -> String {
    page_token::encode(Alphabet::UrlSafe, tag, &[last_key])
}

/// Decodes a `nextToken` of operation `tag` into the last key it carries. `None` → start.
/// Errors: `InvalidRequest` for anything this module did not produce for `tag`.
pub(crate) fn decode(tag: &str, token: Option<&str>) -> Result<Option<String>, RegistryError> {
    let Some(token) = token else {
        return Ok(None);
    };
    page_token::decode_one(Alphabet::UrlSafe, tag, token)
        .map(Some)
        .map_err(|_| RegistryError::InvalidRequest(format!("The nextToken {token} is not valid.")))
}

/// Encodes a `nextMarker` (standard base64 with padding) for operation `tag`.
pub(crate) fn encode_marker(tag: &str, last_key: &str) -> String {
    page_token::encode(Alphabet::Standard, tag, &[last_key])
}

/// Decodes a `marker` of operation `tag`. `None` → start.
/// Errors: `InvalidRequest` for anything [`encode_marker`] did not produce for `tag`.
pub(crate) fn decode_marker(
    tag: &str,
    marker: Option<&str>,
) -> Result<Option<String>, RegistryError> {
    let Some(marker) = marker else {
        return Ok(None);
    };
    page_token::decode_one(Alphabet::Standard, tag, marker)
        .map(Some)
        .map_err(|_| RegistryError::InvalidRequest(format!("The marker {marker} is not valid.")))
}

/// Resolves `pageSize` (default `default`, 1..=250). Errors: `InvalidRequest`.
pub(crate) fn page_size(page_size: Option<usize>, default: usize) -> Result<usize, RegistryError> {
    let n = page_size.unwrap_or(default);
    if (1..=MAX_RESULTS_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(RegistryError::InvalidRequest(format!(
            "pageSize must be between 1 and {MAX_RESULTS_LIMIT}, got {n}."
        )))
    }
}

/// Like [`page`], with a `nextMarker` from [`encode_marker`].
pub(crate) fn marker_page<T>(
    tag: &str,
    mut rows: Vec<T>,
    page_size: usize,
    key: impl Fn(&T) -> String,
) -> crate::Page<T> {
    let more = rows.len() > page_size;
    rows.truncate(page_size);
    let next_token = if more {
        rows.last().map(|last| encode_marker(tag, &key(last)))
    } else {
        None
    };
    crate::Page {
        items: rows,
        next_token,
    }
}

/// Checks `maxResults` (1..=250). Errors: `InvalidRequest`.
pub(crate) fn check_max_results(max_results: usize) -> Result<(), RegistryError> {
    if (1..=MAX_RESULTS_LIMIT).contains(&max_results) {
        Ok(())
    } else {
        Err(RegistryError::InvalidRequest(format!(
            "maxResults must be between 1 and {MAX_RESULTS_LIMIT}, got {max_results}."
        )))
    }
}

/// Cuts `rows` (fetched with `LIMIT max_results + 1`) to one page; the token carries the
/// key of the page's last item when more rows exist.
pub(crate) fn page<T>(
    tag: &str,
    mut rows: Vec<T>,
    max_results: usize,
    key: impl Fn(&T) -> String,
) -> crate::Page<T> {
    let more = rows.len() > max_results;
    rows.truncate(max_results);
    let next_token = if more {
        rows.last().map(|last| encode(tag, &key(last)))
    } else {
        None
    };
    crate::Page {
        items: rows,
        next_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let t = encode("things", "phone-1");
        assert_eq!(decode("things", Some(&t)), Ok(Some("phone-1".to_string())));
        assert_eq!(decode("things", None), Ok(None));
        for bad in ["", "!!!", &encode("groups", "phone-1"), "bm90IGEgdG9rZW4"] {
            assert!(
                matches!(decode("things", Some(bad)), Err(RegistryError::InvalidRequest(m)) if m.contains("nextToken")),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn markers_are_standard_base64_and_tagged() {
        let m = encode_marker("policies", "00000000000001\nmy-policy");
        assert!(
            m.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
        );
        assert_eq!(
            decode_marker("policies", Some(&m)),
            Ok(Some("00000000000001\nmy-policy".to_string()))
        );
        assert!(decode_marker("targets", Some(&m)).is_err());
        assert!(decode_marker("policies", Some("%%")).is_err());
        assert_eq!(page_size(None, 25), Ok(25));
        assert!(page_size(Some(0), 25).is_err());
        assert!(page_size(Some(251), 25).is_err());
    }

    #[test]
    fn max_results_bounds() {
        assert!(check_max_results(0).is_err());
        assert!(check_max_results(1).is_ok());
        assert!(check_max_results(250).is_ok());
        assert!(check_max_results(251).is_err());
    }
}
