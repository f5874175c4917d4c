//! The topic-filter trie: maps MQTT topic filters to subscriber entries and finds every entry
//! whose filter matches a topic name.
//!
//! Self-contained (NATS `sublist` style): it knows MQTT filter syntax ([MQTT-4.7]) and nothing
//! about sessions, shared groups or AWS limits, has its own error type and counters, and its own
//! tests. Matching walks the topic level by level with `str::split` and a recursive descent over
//! at most three branches per level (literal, `+`, `#`); it allocates nothing — the caller gets
//! each match through a visitor, or collects into a buffer it owns and reuses.
//!
//! Rules implemented:
//! - `+` matches exactly one level, `#` matches the parent level and any number of levels below
//!   it, and must be the last level ([MQTT-4.7.1-1], [MQTT-4.7.1-2], [MQTT-4.7.1-3]).
//! - Topic names whose first level starts with `$` are not matched by a filter whose first level
//!   is a wildcard ([MQTT-4.7.2-1]).
//! - Empty levels are ordinary levels (`a//b` has three levels).
//!
//! Benchmark matrix (subscriptions × filter kind × topic depth):
//! `cargo run --release -p thingwatch-broker --example trie_bench`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors from [`TopicTrie::insert`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrieError {
    /// The filter is empty ([MQTT-4.7.3-1]).
    #[error("trie: empty topic filter")]
    EmptyFilter,
    /// `#` is not alone in the last level, or `+` is not alone in its level ([MQTT-4.7.1-2],
    /// [MQTT-4.7.1-3]).
    #[error("trie: misplaced wildcard in topic filter")]
    MisplacedWildcard,
}

/// Checks MQTT topic-filter syntax (wildcard placement, non-empty) ([MQTT-4.7.1]).
///
/// # Errors
/// [`TrieError`] naming the first rule broken.
pub fn validate_filter(filter: &str) -> Result<(), TrieError> {
    if filter.is_empty() {
        return Err(TrieError::EmptyFilter);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        match level {
            "#" if last => {}
            "+" => {}
            l if l.contains('#') || l.contains('+') => return Err(TrieError::MisplacedWildcard),
            _ => {}
        }
        if level == "#" && !last {
            return Err(TrieError::MisplacedWildcard);
        }
    }
    Ok(())
}

/// Whether a string holds any wildcard character (so it can only be a filter, never a topic name).
pub fn has_wildcard(s: &str) -> bool {
    s.bytes().any(|b| b == b'+' || b == b'#')
}

/// Operation counters of one trie (monotonic; read with [`TopicTrie::stats`]).
#[derive(Debug, Default)]
struct Counters {
    inserts: AtomicU64,
    removes: AtomicU64,
    matches: AtomicU64,
}

/// A snapshot of a trie's counters and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrieStats {
    /// Entries inserted (replacements included).
    pub inserts: u64,
    /// Entries removed.
    pub removes: u64,
    /// Topic names matched (calls to a match function).
    pub matches: u64,
    /// Entries currently stored.
    pub entries: usize,
}

#[derive(Debug)]
struct Node<K, V> {
    /// Literal child levels.
    /// Child levels. foldhash (randomly seeded per map) instead of SipHash: every PUBLISH
    /// hashes each of its topic levels here (issue #6 profile).
    children: HashMap<Box<str>, Node<K, V>, foldhash::fast::RandomState>,
    /// The `+` child level.
    plus: Option<Box<Node<K, V>>>,
    /// Entries whose filter ends in `/#` below this node (or is `#` at the root).
    hash: Vec<(K, V)>,
    /// Entries whose filter ends exactly at this node.
    exact: Vec<(K, V)>,
}

impl<K, V> Default for Node<K, V> {
    fn default() -> Self {
        Self {
            children: HashMap::default(),
            plus: None,
            hash: Vec::new(),
            exact: Vec::new(),
        }
    }
}

impl<K, V> Node<K, V> {
    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.plus.is_none()
            && self.hash.is_empty()
            && self.exact.is_empty()
    }
}

/// A topic-filter trie storing one `V` per (`filter`, key `K`).
///
/// `K` identifies the subscriber (e.g. a client id, or a shared-subscription group), so
/// re-subscribing with the same key replaces the entry ([MQTT-3.8.4-3]).
#[derive(Debug)]
pub struct TopicTrie<K, V> {
    root: Node<K, V>,
    entries: usize,
    counters: Counters,
}

impl<K: PartialEq, V> Default for TopicTrie<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: PartialEq, V> TopicTrie<K, V> {
    /// An empty trie.
    pub fn new() -> Self {
        Self {
            root: Node::default(),
            entries: 0,
            counters: Counters::default(),
        }
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether the trie holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Counters and size.
    pub fn stats(&self) -> TrieStats {
        TrieStats {
            inserts: self.counters.inserts.load(Ordering::Relaxed),
            removes: self.counters.removes.load(Ordering::Relaxed),
            matches: self.counters.matches.load(Ordering::Relaxed),
            entries: self.entries,
        }
    }

    /// Stores `value` for (`filter`, `key`), returning the value it replaced.
    ///
    /// # Errors
    /// [`TrieError`] if `filter` is not a valid MQTT topic filter.
    pub fn insert(&mut self, filter: &str, key: K, value: V) -> Result<Option<V>, TrieError> {
        validate_filter(filter)?;
        self.counters.inserts.fetch_add(1, Ordering::Relaxed);
        let slot = Self::slot_mut(&mut self.root, filter);
        if let Some(entry) = slot.iter_mut().find(|(k, _)| *k == key) {
            return Ok(Some(std::mem::replace(&mut entry.1, value)));
        }
        slot.push((key, value));
        self.entries += 1;
        Ok(None)
    }

    /// The entry for (`filter`, `key`), mutable.
    pub fn get_mut(&mut self, filter: &str, key: &K) -> Option<&mut V> {
        let slot = Self::find_slot_mut(&mut self.root, filter)?;
        slot.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes the entry for (`filter`, `key`) and prunes empty nodes; returns the removed value.
    pub fn remove(&mut self, filter: &str, key: &K) -> Option<V> {
        let removed = Self::remove_rec(
            &mut self.root,
            filter.split('/').collect::<Vec<_>>().as_slice(),
            key,
        );
        if removed.is_some() {
            self.entries -= 1;
            self.counters.removes.fetch_add(1, Ordering::Relaxed);
        }
        removed
    }

    /// Calls `visit` for every entry whose filter matches the topic name `topic`.
    ///
    /// Allocation-free. `topic` is taken as a topic name (wildcard characters in it are literal).
    pub fn for_each_match<'a>(&'a self, topic: &str, mut visit: impl FnMut(&'a K, &'a V)) {
        self.counters.matches.fetch_add(1, Ordering::Relaxed);
        let dollar = topic.starts_with('$');
        Self::match_rec(&self.root, topic, true, dollar, &mut visit);
    }

    /// Whether any entry's filter matches `topic`.
    pub fn has_match(&self, topic: &str) -> bool {
        let mut found = false;
        self.for_each_match(topic, |_, _| found = true);
        found
    }

    fn slot_mut<'n>(mut node: &'n mut Node<K, V>, filter: &str) -> &'n mut Vec<(K, V)> {
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            if level == "#" {
                return &mut node.hash;
            }
            node = if level == "+" {
                node.plus.get_or_insert_with(Box::default)
            } else {
                node.children.entry(level.into()).or_default()
            };
            if levels.peek().is_none() {
                return &mut node.exact;
            }
        }
        // Unreachable for a validated, non-empty filter: `split` yields at least one level.
        &mut node.exact
    }

    fn find_slot_mut<'n>(
        mut node: &'n mut Node<K, V>,
        filter: &str,
    ) -> Option<&'n mut Vec<(K, V)>> {
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            if level == "#" {
                return Some(&mut node.hash);
            }
            node = if level == "+" {
                node.plus.as_deref_mut()?
            } else {
                node.children.get_mut(level)?
            };
            if levels.peek().is_none() {
                return Some(&mut node.exact);
            }
        }
        None
    }

    fn remove_rec(node: &mut Node<K, V>, levels: &[&str], key: &K) -> Option<V> {
        let (level, rest) = levels.split_first()?;
        if *level == "#" {
            let pos = node.hash.iter().position(|(k, _)| k == key)?;
            return Some(node.hash.swap_remove(pos).1);
        }
        let removed;
        let prune;
        if *level == "+" {
            let child = node.plus.as_deref_mut()?;
            removed = Self::remove_leaf_or_descend(child, rest, key);
            prune = child.is_empty();
            if prune {
                node.plus = None;
            }
        } else {
            let child = node.children.get_mut(*level)?;
            removed = Self::remove_leaf_or_descend(child, rest, key);
            prune = child.is_empty();
            if prune {
                node.children.remove(*level);
            }
        }
        removed
    }

    fn remove_leaf_or_descend(child: &mut Node<K, V>, rest: &[&str], key: &K) -> Option<V> {
        if rest.is_empty() {
            let pos = child.exact.iter().position(|(k, _)| k == key)?;
            Some(child.exact.swap_remove(pos).1)
        } else {
            Self::remove_rec(child, rest, key)
        }
    }

    fn match_rec<'a>(
        node: &'a Node<K, V>,
        rest: &str,
        at_root: bool,
        dollar: bool,
        visit: &mut impl FnMut(&'a K, &'a V),
    ) {
        let wildcards_allowed = !(at_root && dollar);
        // `#` at this node matches the remaining levels (at least the parent level, which we are at).
        if wildcards_allowed {
            for (k, v) in &node.hash {
                visit(k, v);
            }
        }
        let (level, tail) = match rest.split_once('/') {
            Some((l, t)) => (l, Some(t)),
            None => (rest, None),
        };
        let mut descend = |child: &'a Node<K, V>| match tail {
            Some(t) => Self::match_rec(child, t, false, dollar, visit),
            None => {
                for (k, v) in &child.exact {
                    visit(k, v);
                }
                // "a/#" also matches "a" ([MQTT-4.7.1-2]).
                for (k, v) in &child.hash {
                    visit(k, v);
                }
            }
        };
        if let Some(child) = node.children.get(level) {
            descend(child);
        }
        if wildcards_allowed && let Some(child) = node.plus.as_deref() {
            descend(child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(filters: &[&str], topic: &str) -> Vec<String> {
        let mut t = TopicTrie::new();
        for f in filters {
            t.insert(f, f.to_string(), ()).unwrap();
        }
        let mut out = Vec::new();
        t.for_each_match(topic, |k, _| out.push(k.clone()));
        out.sort();
        out
    }

    #[test]
    fn matching_table() {
        // (filter, topic, matches?)
        let table: &[(&str, &str, bool)] = &[
            ("a/b/c", "a/b/c", true),
            ("a/b/c", "a/b", false),
            ("a/b", "a/b/c", false),
            ("a/+/c", "a/x/c", true),
            ("a/+/c", "a/x/y/c", false),
            ("a/+", "a/", true),
            ("+/+", "/x", true),
            ("+", "a", true),
            ("+", "a/b", false),
            ("#", "a/b/c", true),
            ("a/#", "a", true),
            ("a/#", "a/b/c", true),
            ("a/#", "ab", false),
            ("a/+/#", "a/b", true),
            ("a/+/#", "a", false),
            ("a//b", "a//b", true),
            ("a/+/b", "a//b", true),
            // [MQTT-4.7.2-1]: wildcards at the first level do not match $-topics.
            ("#", "$SYS/x", false),
            ("+/x", "$SYS/x", false),
            ("+", "$aws", false),
            ("$SYS/#", "$SYS/x", true),
            ("$SYS/+", "$SYS/x", true),
            (
                "$aws/things/+/shadow/update",
                "$aws/things/t1/shadow/update",
                true,
            ),
            // Literal '+' in a topic is not a wildcard.
            ("a/b", "a/+", false),
        ];
        for (filter, topic, expected) in table {
            let got = !matches(&[filter], topic).is_empty();
            assert_eq!(got, *expected, "filter {filter:?} topic {topic:?}");
        }
    }

    #[test]
    fn overlapping_filters_all_match() {
        let got = matches(&["a/b", "a/+", "a/#", "#", "+/b", "x/#"], "a/b");
        assert_eq!(got, vec!["#", "+/b", "a/#", "a/+", "a/b"]);
    }

    #[test]
    fn invalid_filters_rejected() {
        let mut t: TopicTrie<u32, ()> = TopicTrie::new();
        for bad in ["", "a/#/b", "a#", "a/b#", "+a", "a/+b/c", "#/a"] {
            assert!(t.insert(bad, 1, ()).is_err(), "{bad:?} accepted");
        }
        for good in ["#", "+", "a/+/#", "/", "a//b", "$share/g/a"] {
            assert!(t.insert(good, 1, ()).is_ok(), "{good:?} rejected");
        }
    }

    #[test]
    fn insert_replace_remove_prune_and_counters() {
        let mut t = TopicTrie::new();
        assert_eq!(t.insert("a/+/c", 1, "x").unwrap(), None);
        assert_eq!(t.insert("a/+/c", 1, "y").unwrap(), Some("x"));
        assert_eq!(t.insert("a/+/c", 2, "z").unwrap(), None);
        assert_eq!(t.insert("a/#", 1, "h").unwrap(), None);
        assert_eq!(t.len(), 3);
        *t.get_mut("a/+/c", &2).unwrap() = "z2";
        let mut seen = Vec::new();
        t.for_each_match("a/b/c", |k, v| seen.push((*k, *v)));
        seen.sort();
        assert_eq!(seen, vec![(1, "h"), (1, "y"), (2, "z2")]);
        assert_eq!(t.remove("a/+/c", &1), Some("y"));
        assert_eq!(t.remove("a/+/c", &1), None);
        assert_eq!(t.remove("a/+/c", &2), Some("z2"));
        assert_eq!(t.remove("a/#", &1), Some("h"));
        assert!(t.is_empty());
        assert!(t.root.is_empty(), "empty nodes are pruned");
        let s = t.stats();
        assert_eq!((s.inserts, s.removes, s.matches, s.entries), (4, 3, 1, 0));
        assert!(!t.has_match("a/b/c"));
    }

    #[test]
    fn many_subscribers_on_one_topic() {
        let mut t = TopicTrie::new();
        for i in 0..1000u32 {
            t.insert(&format!("dev/{i}/+"), i, ()).unwrap();
            t.insert("dev/+/temp", i, ()).unwrap();
        }
        let mut n = 0;
        t.for_each_match("dev/7/temp", |_, _| n += 1);
        assert_eq!(n, 1001);
    }
}
