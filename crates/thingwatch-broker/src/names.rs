//! The broker's names as types: [`ClientId`] (a connected client's MQTT client identifier)
//! and [`TopicName`] (a validated PUBLISH topic name). Each is checked once where it enters
//! the broker (CONNECT; the ingress) and carried from there as a cheap `Arc<str>` clone, so
//! no delivery copies a `String`. Topic *filters* are [`crate::topic::parse_filter`]'s.

use crate::limits::MAX_CLIENT_ID_BYTES;
use crate::topic::{self, TopicError};
use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// Why a client ID is refused at CONNECT (CONNACK v3 0x02 / v5 0x85, `CLIENT_ID_INVALID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    /// Longer than [`MAX_CLIENT_ID_BYTES`] bytes of UTF-8.
    #[error("client ID longer than 128 bytes")]
    TooLong,
    /// Starts with `$`, which AWS IoT reserves.
    #[error("client ID uses the reserved $ prefix")]
    Reserved,
}

/// A connected client's MQTT client identifier: at most [`MAX_CLIENT_ID_BYTES`] (128) bytes
/// of UTF-8, not starting with `$` (AWS IoT Developer Guide, *AWS IoT Core message broker and
/// protocol limits and quotas*: client ID size 128 bytes, `$` reserved; UTF-8 per
/// [MQTT-3.1.3-4], the server may restrict length and characters [MQTT-3.1.3-5]). Empty IDs
/// are never stored: the broker assigns one ([`ClientId::assigned`]).
///
/// Cheap to clone (a shared `Arc<str>`); compares, hashes and orders as its text, and
/// borrows as `&str`, so a `HashMap<ClientId, _>` is looked up with a `&str`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// Checks `id` against AWS IoT's client-ID rule (type docs).
    ///
    /// # Errors
    /// [`ClientIdError::TooLong`] over 128 bytes, [`ClientIdError::Reserved`] for a `$`
    /// prefix (length is checked first).
    pub fn check(id: &str) -> Result<(), ClientIdError> {
        if id.len() > MAX_CLIENT_ID_BYTES {
            Err(ClientIdError::TooLong)
        } else if id.starts_with('$') {
            Err(ClientIdError::Reserved)
        } else {
            Ok(())
        }
    }

    /// Parses a client ID a client sent (non-empty; an empty one is assigned instead).
    ///
    /// # Errors
    /// As [`ClientId::check`].
    pub fn new(id: &str) -> Result<ClientId, ClientIdError> {
        Self::check(id)?;
        Ok(ClientId(Arc::from(id)))
    }

    /// A fresh server-assigned client ID, `thingwatch-<32 hex digits>` (a v4 UUID), for a
    /// CONNECT with an empty client ID ([MQTT-3.1.3-6]; MQTT 5 returns it as *Assigned
    /// Client Identifier*, [MQTT-3.2.2-16]).
    pub fn assigned() -> ClientId {
        ClientId(Arc::from(format!(
            "thingwatch-{}",
            uuid::Uuid::new_v4().simple()
        )))
    }

    /// The ID of HTTPS senders, [`crate::HTTP_CLIENT_ID`] (`N/A`), shared (no allocation).
    pub fn http() -> ClientId {
        static HTTP: std::sync::LazyLock<ClientId> =
            std::sync::LazyLock::new(|| ClientId(Arc::from(crate::HTTP_CLIENT_ID)));
        HTTP.clone()
    }

    /// An ID that was valid when it was stored (persistent sessions read back from the
    /// broker's database, which only ever holds IDs accepted at CONNECT).
    pub(crate) fn stored(id: &str) -> ClientId {
        ClientId(Arc::from(id))
    }

    /// The ID's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid topic name for an application message: non-empty, no wildcard `+`/`#`, no NUL
/// ([MQTT-3.3.2-2], [MQTT-4.7.3-1], [MQTT-4.7.1-1]), within AWS IoT's limits (256 bytes and 7
/// forward slashes, a Basic Ingest `$aws/rules/<rule>/` prefix not counted; AWS IoT
/// Developer Guide, *AWS IoT Core message broker and protocol limits and quotas*) — the rule
/// of [`topic::validate_topic_name`].
///
/// Cheap to clone (a shared `Arc<str>`); compares, hashes and orders as its text, and
/// borrows as `&str` (retained messages are keyed by it and looked up by filter text).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(Arc<str>);

impl TopicName {
    /// Parses a topic name.
    ///
    /// # Errors
    /// The first [`TopicError`] [`topic::validate_topic_name`] finds.
    pub fn new(topic: &str) -> Result<TopicName, TopicError> {
        topic::validate_topic_name(topic)?;
        Ok(TopicName(Arc::from(topic)))
    }

    /// [`TopicName::new`] of text already shared, without copying it.
    ///
    /// # Errors
    /// As [`TopicName::new`].
    pub fn from_arc(topic: Arc<str>) -> Result<TopicName, TopicError> {
        topic::validate_topic_name(&topic)?;
        Ok(TopicName(topic))
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared text (an `Arc` clone).
    pub(crate) fn to_arc(&self) -> Arc<str> {
        self.0.clone()
    }

    /// A name that was valid when it was stored (retained messages and queued copies read
    /// back from the broker's database, which only ever holds validated names).
    pub(crate) fn stored(topic: String) -> TopicName {
        TopicName(Arc::from(topic))
    }
}

impl TryFrom<String> for TopicName {
    type Error = TopicError;
    fn try_from(topic: String) -> Result<TopicName, TopicError> {
        TopicName::from_arc(Arc::from(topic))
    }
}

impl TryFrom<&str> for TopicName {
    type Error = TopicError;
    fn try_from(topic: &str) -> Result<TopicName, TopicError> {
        TopicName::new(topic)
    }
}

impl TryFrom<&str> for ClientId {
    type Error = ClientIdError;
    fn try_from(id: &str) -> Result<ClientId, ClientIdError> {
        ClientId::new(id)
    }
}

macro_rules! str_traits {
    ($t:ty) => {
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

str_traits!(ClientId);
str_traits!(TopicName);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn client_id_limits() {
        let ok128 = "a".repeat(128);
        let long = "a".repeat(129);
        // 126 ASCII bytes + 'é' (2 bytes) = 128 bytes; + 'ü' would be 130.
        let multi128 = format!("{}é", "a".repeat(126));
        let multi130 = format!("{}éü", "a".repeat(126));
        // 43 × '€' (3 bytes) = 129 bytes, only 43 characters.
        let euro129 = "€".repeat(43);
        let table: &[(&str, Result<(), ClientIdError>)] = &[
            ("lamp", Ok(())),
            (&ok128, Ok(())),
            (&long, Err(ClientIdError::TooLong)),
            (&multi128, Ok(())),
            (&multi130, Err(ClientIdError::TooLong)),
            (&euro129, Err(ClientIdError::TooLong)),
            ("$aws", Err(ClientIdError::Reserved)),
            ("a$b", Ok(())),
        ];
        for (id, want) in table {
            assert_eq!(ClientId::check(id), *want, "{id:?}");
            assert_eq!(
                ClientId::new(id).map(|c| c.to_string()),
                want.map(|()| id.to_string())
            );
        }
    }

    #[test]
    fn assigned_client_ids_are_valid_and_distinct() {
        let (a, b) = (ClientId::assigned(), ClientId::assigned());
        assert_ne!(a, b);
        assert!(
            a.starts_with("thingwatch-") && a.len() == "thingwatch-".len() + 32,
            "{a}"
        );
        assert_eq!(ClientId::check(&a), Ok(()));
    }

    #[test]
    fn client_id_borrows_as_str() {
        let mut map = HashMap::new();
        map.insert(ClientId::new("lamp").unwrap(), 1);
        assert_eq!(map.get("lamp"), Some(&1));
        let id = ClientId::new("lamp").unwrap();
        assert_eq!(format!("{id} {id:?}"), "lamp \"lamp\"");
        assert_eq!(id, "lamp");
    }

    /// The rule itself is tested row by row in `topic::tests::topic_name_table`.
    #[test]
    fn topic_name_borrows_as_str() {
        let mut map = HashMap::new();
        map.insert(TopicName::new("a/b").unwrap(), ());
        assert!(map.contains_key("a/b"));
    }
}
