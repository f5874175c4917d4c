//! Topic names and topic filters as AWS IoT accepts them: the validation functions (the typed
//! name is [`crate::names::TopicName`])
//! plus the parsed form of a (possibly shared) subscription filter.
//!
//! Sources: [MQTT-4.7] (syntax), AWS quotas (256 bytes, 7 slashes, Basic Ingest prefix and
//! `$share/<group>/` not counted), AWS *MQTT* page (shared subscriptions for 3.1.1 and 5).

use crate::limits::{MAX_SHARE_GROUP_BYTES, MAX_TOPIC_BYTES, MAX_TOPIC_SLASHES};
use crate::trie;

/// Why a topic name or filter is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Empty, contains NUL, a wildcard in a topic name, or misplaced wildcards in a filter.
    #[error("invalid topic syntax")]
    Syntax,
    /// Longer than [`MAX_TOPIC_BYTES`].
    #[error("topic longer than 256 bytes")]
    TooLong,
    /// More than [`MAX_TOPIC_SLASHES`] slashes.
    #[error("topic has more than 7 forward slashes")]
    TooManyLevels,
    /// `$share/<group>/<filter>` with an empty, wildcard or over-long group, or no filter.
    #[error("invalid shared subscription")]
    BadShare,
}

/// The Basic Ingest prefix: a message on `$aws/rules/<rule>/…` goes to rule `<rule>` only,
/// never to subscribers (Developer Guide, *Reducing messaging costs with Basic Ingest*).
pub const BASIC_INGEST_PREFIX: &str = "$aws/rules/";

/// The part of `topic` the length and level limits apply to: a Basic Ingest
/// `$aws/rules/<rule>/` prefix is not counted.
fn counted_part(topic: &str) -> &str {
    if let Some(rest) = topic.strip_prefix(BASIC_INGEST_PREFIX)
        && let Some((_rule, tail)) = rest.split_once('/')
    {
        return tail;
    }
    topic
}

fn check_limits(s: &str) -> Result<(), TopicError> {
    let counted = counted_part(s);
    if counted.len() > MAX_TOPIC_BYTES {
        return Err(TopicError::TooLong);
    }
    if counted.bytes().filter(|b| *b == b'/').count() > MAX_TOPIC_SLASHES {
        return Err(TopicError::TooManyLevels);
    }
    Ok(())
}

/// Validates a PUBLISH topic name: non-empty, no wildcard, no NUL ([MQTT-3.3.2-2],
/// [MQTT-4.7.3-1]), within AWS's length and level limits.
///
/// # Errors
/// The first [`TopicError`] found.
pub fn validate_topic_name(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() || trie::has_wildcard(topic) || topic.contains('\0') {
        return Err(TopicError::Syntax);
    }
    check_limits(topic)
}

/// Whether retaining a message on `topic` is refused: AWS reserved topics (`$`-prefixed)
/// cannot be retained.
pub fn is_reserved(topic: &str) -> bool {
    topic.starts_with('$')
}

/// A validated subscription filter, split into its shared-subscription group (if any) and the
/// filter that is matched against topic names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFilter<'a> {
    /// `Some(group)` for `$share/<group>/<filter>`.
    pub share_group: Option<&'a str>,
    /// The filter matched against topic names.
    pub filter: &'a str,
}

/// Parses and validates a SUBSCRIBE/UNSUBSCRIBE topic filter ([MQTT-4.7], [MQTT-4.8.2]).
///
/// # Errors
/// The first [`TopicError`] found.
pub fn parse_filter(raw: &str) -> Result<ParsedFilter<'_>, TopicError> {
    let (share_group, filter) = match raw.strip_prefix("$share/") {
        Some(rest) => {
            let (group, filter) = rest.split_once('/').ok_or(TopicError::BadShare)?;
            if group.is_empty()
                || trie::has_wildcard(group)
                || group.len() > MAX_SHARE_GROUP_BYTES
                || filter.is_empty()
            {
                return Err(TopicError::BadShare);
            }
            (Some(group), filter)
        }
        None => (None, raw),
    };
    if filter.contains('\0') {
        return Err(TopicError::Syntax);
    }
    trie::validate_filter(filter).map_err(|_| TopicError::Syntax)?;
    check_limits(filter)?;
    Ok(ParsedFilter {
        share_group,
        filter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_name_table() {
        let long = "a".repeat(257);
        let ok256 = "a".repeat(256);
        let ingest_long = format!("$aws/rules/myrule/{}", "b".repeat(256));
        let table: &[(&str, Result<(), TopicError>)] = &[
            ("a/b", Ok(())),
            ("", Err(TopicError::Syntax)),
            ("+", Err(TopicError::Syntax)),
            ("a/+", Err(TopicError::Syntax)),
            ("a/+/b", Err(TopicError::Syntax)),
            ("#", Err(TopicError::Syntax)),
            ("a/#", Err(TopicError::Syntax)),
            ("a\0b", Err(TopicError::Syntax)),
            (&ok256, Ok(())),
            (&long, Err(TopicError::TooLong)),
            ("1/2/3/4/5/6/7/8", Ok(())),
            ("1/2/3/4/5/6/7/8/9", Err(TopicError::TooManyLevels)),
            ("$aws/rules/r/1/2/3/4/5/6/7/8", Ok(())),
            (&ingest_long, Ok(())),
            ("$aws/things/lamp/shadow/update", Ok(())),
        ];
        for (t, want) in table {
            assert_eq!(validate_topic_name(t), *want, "{t:?}");
            // The typed name carries exactly this rule, from text and from a shared string.
            let text = want.map(|()| t.to_string());
            assert_eq!(crate::TopicName::new(t).map(|n| n.to_string()), text);
            let shared = std::sync::Arc::<str>::from(*t);
            assert_eq!(
                crate::TopicName::from_arc(shared).map(|n| n.to_string()),
                text
            );
        }
    }

    #[test]
    fn filter_table() {
        assert_eq!(
            parse_filter("a/+/#"),
            Ok(ParsedFilter {
                share_group: None,
                filter: "a/+/#"
            })
        );
        assert_eq!(
            parse_filter("$share/g1/a/+"),
            Ok(ParsedFilter {
                share_group: Some("g1"),
                filter: "a/+"
            })
        );
        // The two $share slashes are not counted.
        assert!(parse_filter("$share/g/1/2/3/4/5/6/7/8").is_ok());
        assert_eq!(
            parse_filter("1/2/3/4/5/6/7/8/9"),
            Err(TopicError::TooManyLevels)
        );
        for bad in ["$share/g", "$share//a", "$share/g+/a", "$share/g/"] {
            assert_eq!(parse_filter(bad), Err(TopicError::BadShare), "{bad}");
        }
        assert_eq!(parse_filter("a/#/b"), Err(TopicError::Syntax));
        assert!(is_reserved("$aws/things/x"));
        assert!(!is_reserved("a/$b"));
    }
}
