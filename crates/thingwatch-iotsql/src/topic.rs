//! The FROM clause's MQTT topic filter (iot-sql-from.html): `+` matches one level, `#` (last
//! level only) matches the parent and any number of levels; wildcards never match a first
//! level starting with `$`.

use std::fmt;

/// A validated MQTT topic filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicFilter(String);

/// Why a string is not a topic filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid topic filter {0:?}")]
pub struct InvalidTopicFilter(pub String);

impl TopicFilter {
    /// Validates `s`: non-empty, no NUL, `+` and `#` alone in their level, `#` only last.
    pub fn new(s: &str) -> Result<Self, InvalidTopicFilter> {
        let bad = || InvalidTopicFilter(s.to_string());
        if s.is_empty() || s.contains('\0') {
            return Err(bad());
        }
        let levels: Vec<&str> = s.split('/').collect();
        for (i, level) in levels.iter().enumerate() {
            if level.contains('#') && (*level != "#" || i != levels.len() - 1) {
                return Err(bad());
            }
            if level.contains('+') && *level != "+" {
                return Err(bad());
            }
        }
        Ok(TopicFilter(s.to_string()))
    }

    /// The filter text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the topic name `topic` matches this filter.
    pub fn matches(&self, topic: &str) -> bool {
        let mut f = self.0.split('/');
        let mut t = topic.split('/');
        let mut first = true;
        loop {
            match (f.next(), t.next()) {
                (Some("#"), Some(level)) => return !(first && level.starts_with('$')),
                (Some("#"), None) => return true,
                (Some("+"), Some(level)) => {
                    if first && level.starts_with('$') {
                        return false;
                    }
                }
                (Some(fl), Some(tl)) => {
                    if fl != tl {
                        return false;
                    }
                }
                (None, None) => return true,
                _ => return false,
            }
            first = false;
        }
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let m = |f: &str, t: &str| TopicFilter::new(f).unwrap().matches(t);
        assert!(m("topic/#", "topic/subtopic"));
        assert!(m("topic/#", "topic/subtopic-3/details"));
        assert!(m("topic/#", "topic"));
        assert!(!m("topic/#", "topic-2/subtopic-x"));
        assert!(m("topic/+", "topic/subtopic-2"));
        assert!(!m("topic/+", "topic/subtopic-3/details"));
        assert!(!m("#", "$aws/things/x"));
        assert!(m(
            "$aws/things/+/shadow/update",
            "$aws/things/x/shadow/update"
        ));
        assert!(!m("a/b", "a/b/c"));
        for bad in ["", "a/#/b", "a/b#", "a+/b", "a/+x"] {
            assert!(TopicFilter::new(bad).is_err(), "{bad}");
        }
    }
}
