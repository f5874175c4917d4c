//! Selective JSON evaluation for JSON filter patterns.
//!
//! Instead of building a `serde_json::Value` tree per message, the selectors of a pattern are
//! compiled into a [`Trie`] of path steps and the message is walked once with a serde
//! `DeserializeSeed`: only values on a selector path are captured (strings borrowed from the
//! message when unescaped), everything else is skipped with `IgnoredAny`.
//!
//! [`raw_value_may_pass`] is the cheap pre-check before that walk: it reads the value written
//! after each occurrence of a quoted key in the raw bytes of an escape-free message, so most
//! messages that fail a condition are rejected without being parsed.

use std::borrow::Cow;
use std::fmt;

use memchr::memmem::Finder;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{CmpOp, Step, Test};

/// What a selector found in a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Found<'a> {
    /// The path does not exist.
    Missing,
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    /// An object or array: matches no comparison.
    Composite,
}

#[derive(Debug, Clone, Default)]
struct Node {
    keys: Vec<(String, usize)>,
    indexes: Vec<(usize, usize)>,
    selectors: Vec<usize>,
}

/// Selector paths merged into a prefix tree; node 0 is the root object.
#[derive(Debug, Clone)]
pub(crate) struct Trie {
    nodes: Vec<Node>,
}

impl Trie {
    pub(crate) fn build(selectors: &[Vec<Step>]) -> Trie {
        let mut nodes = vec![Node::default()];
        for (id, path) in selectors.iter().enumerate() {
            let mut cur = 0;
            for step in path {
                let existing = match step {
                    Step::Key(k) => nodes[cur].keys.iter().find(|(n, _)| n == k).map(|x| x.1),
                    Step::Index(i) => nodes[cur].indexes.iter().find(|(n, _)| n == i).map(|x| x.1),
                };
                cur = match existing {
                    Some(n) => n,
                    None => {
                        nodes.push(Node::default());
                        let n = nodes.len() - 1;
                        match step {
                            Step::Key(k) => nodes[cur].keys.push((k.clone(), n)),
                            Step::Index(i) => nodes[cur].indexes.push((*i, n)),
                        }
                        n
                    }
                };
            }
            nodes[cur].selectors.push(id);
        }
        Trie { nodes }
    }
}

/// Walks `msg` once and returns what each selector found; `None` if `msg` is not a JSON
/// object.
pub(crate) fn extract<'a>(
    trie: &Trie,
    n_selectors: usize,
    msg: &'a [u8],
) -> Option<Vec<Found<'a>>> {
    let mut out = vec![Found::Missing; n_selectors];
    let mut de = serde_json::Deserializer::from_slice(msg);
    let root = RootSeed {
        seed: NodeSeed {
            trie,
            node: 0,
            out: &mut out,
        },
    };
    root.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(out)
}

/// Accepts only an object at the top level.
struct RootSeed<'t, 'o, 'a> {
    seed: NodeSeed<'t, 'o, 'a>,
}

impl<'de, 't, 'o> DeserializeSeed<'de> for RootSeed<'t, 'o, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self.seed)
    }
}

struct NodeSeed<'t, 'o, 'a> {
    trie: &'t Trie,
    node: usize,
    out: &'o mut [Found<'a>],
}

impl<'a> NodeSeed<'_, '_, 'a> {
    fn set(&mut self, f: Found<'a>) {
        if let Some(node) = self.trie.nodes.get(self.node) {
            for &id in &node.selectors {
                if let Some(slot) = self.out.get_mut(id) {
                    *slot = f.clone();
                }
            }
        }
    }
}

impl<'de, 't, 'o> DeserializeSeed<'de> for NodeSeed<'t, 'o, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Resolves an object key to the child node it leads to, if any.
struct KeySeed<'t> {
    keys: &'t [(String, usize)],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.keys.iter().find(|(k, _)| k == v).map(|x| x.1))
    }
}

impl<'de, 't, 'o> Visitor<'de> for NodeSeed<'t, 'o, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        self.set(Found::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        self.set(Found::Num(v as f64));
        Ok(())
    }
    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        self.set(Found::Num(v as f64));
        Ok(())
    }
    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.set(Found::Num(v));
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(mut self, v: &'de str) -> Result<(), E> {
        self.set(Found::Str(Cow::Borrowed(v)));
        Ok(())
    }
    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        if self
            .trie
            .nodes
            .get(self.node)
            .is_some_and(|n| !n.selectors.is_empty())
        {
            self.set(Found::Str(Cow::Owned(v.to_string())));
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.set(Found::Null);
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.set(Found::Composite);
        let trie = self.trie;
        let keys: &[(String, usize)] = trie.nodes.get(self.node).map_or(&[], |n| &n.keys);
        let out = self.out;
        while let Some(child) = map.next_key_seed(KeySeed { keys })? {
            match child {
                Some(node) => map.next_value_seed(NodeSeed {
                    trie,
                    node,
                    out: &mut *out,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.set(Found::Composite);
        let trie = self.trie;
        let indexes: &[(usize, usize)] = trie.nodes.get(self.node).map_or(&[], |n| &n.indexes);
        let out = self.out;
        let mut i = 0usize;
        loop {
            let more = match indexes.iter().find(|(n, _)| *n == i) {
                Some(&(_, node)) => seq
                    .next_element_seed(NodeSeed {
                        trie,
                        node,
                        out: &mut *out,
                    })?
                    .is_some(),
                None => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// Evaluates one condition on what its selector found.
pub(crate) fn test(t: &Test, f: &Found<'_>) -> bool {
    match (t, f) {
        (Test::NotExists, f) => matches!(f, Found::Missing),
        (_, Found::Missing | Found::Composite) => false,
        (Test::IsNull, f) => matches!(f, Found::Null),
        (Test::IsTrue, f) => matches!(f, Found::Bool(true)),
        (Test::IsFalse, f) => matches!(f, Found::Bool(false)),
        (Test::Str { glob, negate }, f) => {
            let hit = match f {
                Found::Str(s) => glob.matches(s),
                Found::Num(n) => glob.matches(&num_text(*n)),
                Found::Bool(b) => glob.matches(if *b { "true" } else { "false" }),
                Found::Null => glob.matches("null"),
                Found::Missing | Found::Composite => false,
            };
            hit != *negate
        }
        (Test::Regex { re, negate }, f) => {
            let hit = match f {
                Found::Str(s) => re.is_match(s.as_bytes()),
                Found::Num(n) => re.is_match(num_text(*n).as_bytes()),
                Found::Bool(b) => re.is_match(if *b { b"true" } else { b"false" }),
                Found::Null | Found::Missing | Found::Composite => false,
            };
            hit != *negate
        }
        (Test::Num { op, value, text }, f) => match f {
            Found::Num(n) => match op {
                CmpOp::Eq => n == value,
                CmpOp::Ne => n != value,
                CmpOp::Lt => n < value,
                CmpOp::Gt => n > value,
                CmpOp::Le => n <= value,
                CmpOp::Ge => n >= value,
            },
            Found::Str(s) => match op {
                CmpOp::Eq => s == text,
                CmpOp::Ne => s != text,
                _ => false,
            },
            _ => false,
        },
    }
}

fn num_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Whether a message without `\` escapes may satisfy `test` on a selector whose last step is
/// the key that `key` finds quoted (`"name"`). `false` only when it certainly cannot:
///
/// Without escapes every `"` delimits a string, so the value of that selector, if it exists
/// and is a scalar, is written right after one occurrence of `"name"` followed by
/// (whitespace and) `:`. Every test but `NOT EXISTS` (never given here) fails on a missing
/// selector or an object/array, so if the value after every such occurrence fails `test`, the
/// message cannot match. A value read here is what the full parse reads: strings are the bytes
/// between the quotes, numbers go through `serde_json` itself. Anything unexpected (an invalid
/// number, a truncated message) answers `true` and leaves the verdict to the full parse.
pub(crate) fn raw_value_may_pass(key: &Finder<'_>, test: &Test, msg: &[u8]) -> bool {
    let klen = key.needle().len();
    key.find_iter(msg)
        .any(|at| raw_value_at(klen, test, msg, at))
}

/// For one occurrence at `at` of a quoted key `klen` bytes long: `false` if it is not followed
/// by `:` (so it is not a key) or if the value after it certainly fails `test`. Reading past
/// the end of a message (when `msg` is several messages back to back) only happens for an
/// incomplete, hence invalid, message, which matches nothing anyway.
pub(crate) fn raw_value_at(klen: usize, test: &Test, msg: &[u8], at: usize) -> bool {
    let mut i = skip_ws(msg, at + klen);
    if msg.get(i) != Some(&b':') {
        return false;
    }
    i = skip_ws(msg, i + 1);
    match raw_scalar(msg, i) {
        Some(found) => self::test(test, &found),
        None => true,
    }
}

fn skip_ws(msg: &[u8], mut i: usize) -> usize {
    while matches!(msg.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The JSON value starting at `msg[i]` as the full parse would report it (objects and arrays
/// as [`Found::Composite`]); `None` if it cannot tell.
fn raw_scalar(msg: &[u8], i: usize) -> Option<Found<'_>> {
    let rest = msg.get(i..)?;
    match rest.first()? {
        b'"' => {
            let body = rest.get(1..)?;
            let end = memchr::memchr(b'"', body)?;
            std::str::from_utf8(&body[..end])
                .ok()
                .map(|s| Found::Str(Cow::Borrowed(s)))
        }
        b'{' | b'[' => Some(Found::Composite),
        b't' => rest.starts_with(b"true").then_some(Found::Bool(true)),
        b'f' => rest.starts_with(b"false").then_some(Found::Bool(false)),
        b'n' => rest.starts_with(b"null").then_some(Found::Null),
        b'-' | b'0'..=b'9' => {
            let len = rest
                .iter()
                .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(rest.len());
            let token = &rest[..len];
            // Short plain integers (the common case) exactly as serde_json's `u64 as f64`.
            if token.len() <= 15 && token.iter().all(u8::is_ascii_digit) && token[0] != b'0' {
                let v = token.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
                return Some(Found::Num(v as f64));
            }
            serde_json::from_slice::<f64>(token).ok().map(Found::Num)
        }
        _ => None,
    }
}
