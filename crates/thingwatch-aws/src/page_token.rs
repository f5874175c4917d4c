//! The one pagination-token scheme (`nextToken`, `marker`, `Marker`): opaque to clients,
//! tagged with the operation that issued it, and carrying the key(s) of the last item of the
//! page, so the next page continues strictly after it — items created or deleted between
//! calls never make a page repeat or skip an item that existed throughout.
//!
//! Text: base64 of `TAG '\n' KEY1 ['\0' KEY2 …]`. The alphabet follows the model's
//! constraint on the field: URL-safe without padding by default (safe in query strings and
//! JSON), standard with padding where the model's pattern requires it (AWS IoT's `Marker`,
//! `[A-Za-z0-9+/]+={0,2}`). Keys never contain NUL (no AWS name does).
//!
//! A token is accepted only by the operation (tag) that issued it; anything this module did
//! not produce is [`InvalidToken`], which each service reports with its own AWS message
//! (e.g. `InvalidRequestException` "The nextToken … is not valid.").

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Which base64 alphabet a field's model allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// URL-safe, no padding: `nextToken`s.
    UrlSafe,
    /// Standard with padding: fields constrained to `[A-Za-z0-9+/]+={0,2}`.
    Standard,
}

/// A token this scheme did not issue for the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pagination token is not valid")]
pub struct InvalidToken;

/// The token that resumes operation `tag` after the item whose key is `keys`.
pub fn encode(alphabet: Alphabet, tag: &str, keys: &[&str]) -> String {
    let text = format!("{tag}\n{}", keys.join("\0"));
    match alphabet {
        Alphabet::UrlSafe => URL_SAFE_NO_PAD.encode(text),
        Alphabet::Standard => STANDARD.encode(text),
    }
}

/// The keys a token of operation `tag` carries (as many as were encoded).
///
/// # Errors
/// [`InvalidToken`] for anything [`encode`] did not produce for `tag` with `alphabet`.
pub fn decode(alphabet: Alphabet, tag: &str, token: &str) -> Result<Vec<String>, InvalidToken> {
    let bytes = match alphabet {
        Alphabet::UrlSafe => URL_SAFE_NO_PAD.decode(token),
        Alphabet::Standard => STANDARD.decode(token),
    }
    .map_err(|_| InvalidToken)?;
    let text = String::from_utf8(bytes).map_err(|_| InvalidToken)?;
    match text.split_once('\n') {
        Some((t, keys)) if t == tag => Ok(keys.split('\0').map(str::to_owned).collect()),
        _ => Err(InvalidToken),
    }
}

/// Like [`decode`] for a token that carries exactly one key.
///
/// # Errors
/// [`InvalidToken`] as [`decode`], or when the token carries another number of keys.
pub fn decode_one(alphabet: Alphabet, tag: &str, token: &str) -> Result<String, InvalidToken> {
    let mut keys = decode(alphabet, tag, token)?;
    match (keys.pop(), keys.is_empty()) {
        (Some(key), true) => Ok(key),
        _ => Err(InvalidToken),
    }
}

/// Like [`decode`] for a token that carries exactly two keys (e.g. a sort key and an id).
///
/// # Errors
/// [`InvalidToken`] as [`decode`], or when the token carries another number of keys.
pub fn decode_two(
    alphabet: Alphabet,
    tag: &str,
    token: &str,
) -> Result<(String, String), InvalidToken> {
    let keys = decode(alphabet, tag, token)?;
    match <[String; 2]>::try_from(keys) {
        Ok([a, b]) => Ok((a, b)),
        Err(_) => Err(InvalidToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_both_alphabets() {
        for alphabet in [Alphabet::UrlSafe, Alphabet::Standard] {
            let t = encode(alphabet, "things", &["phone-1"]);
            assert_eq!(decode_one(alphabet, "things", &t), Ok("phone-1".to_owned()));
            let t = encode(alphabet, "certs", &["1700000000000", "ab12"]);
            assert_eq!(
                decode_two(alphabet, "certs", &t),
                Ok(("1700000000000".to_owned(), "ab12".to_owned()))
            );
        }
    }

    #[test]
    fn the_alphabets_meet_their_constraints() {
        // Bytes that encode to `+`/`/` in the standard alphabet.
        let key = "\u{fb}\u{ff}~~??";
        let url = encode(Alphabet::UrlSafe, "t", &[key]);
        assert!(
            url.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let std = encode(Alphabet::Standard, "t", &[key]);
        let body = std.trim_end_matches('=');
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        );
        assert!(std.len() - body.len() <= 2);
    }

    #[test]
    fn foreign_or_garbled_tokens_are_invalid() {
        let t = encode(Alphabet::UrlSafe, "groups", &["g"]);
        for bad in ["", "!!!", "bm90IGEgdG9rZW4", t.as_str()] {
            assert_eq!(
                decode_one(Alphabet::UrlSafe, "things", bad),
                Err(InvalidToken),
                "{bad}"
            );
        }
        let two = encode(Alphabet::UrlSafe, "things", &["a", "b"]);
        assert_eq!(
            decode_one(Alphabet::UrlSafe, "things", &two),
            Err(InvalidToken)
        );
        let one = encode(Alphabet::UrlSafe, "things", &["a"]);
        assert_eq!(
            decode_two(Alphabet::UrlSafe, "things", &one),
            Err(InvalidToken)
        );
        // A standard-alphabet token with padding is not a URL-safe one.
        let std = encode(Alphabet::Standard, "things", &["a"]);
        assert!(std.ends_with('='));
        assert_eq!(
            decode_one(Alphabet::UrlSafe, "things", &std),
            Err(InvalidToken)
        );
    }
}
