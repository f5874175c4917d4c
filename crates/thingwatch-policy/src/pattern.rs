//! Compiled policy strings: a `Resource`, `NotResource` or condition value, split once at parse
//! time into literal text, `*` / `?` wildcards and policy variables (`${iot:ClientId}`,
//! `${aws:username, 'default'}`, and the escapes `${*}`, `${?}`, `${$}`).
//!
//! Sources: IAM User Guide, *IAM policy elements: Variables and tags* (syntax, "Specifying
//! default values", "Policy variables with no value", special characters) and *IAM JSON policy
//! elements: Version* (variables are only recognised under `2012-10-17`; under `2008-10-17` a
//! `${...}` is literal text); AWS IoT Developer Guide, *AWS IoT Core policy variables*.
//!
//! Resolution rule: a variable resolves to the request-context value of its key when the key has
//! exactly one value; otherwise to its default, if it has one; otherwise the whole string is
//! *unresolved* and matches nothing (IAM: "the value is effectively null. There is no equal or
//! like value"; AWS IoT *Thing policy examples*: an unresolved thing variable "will result in an
//! access denied error").

use smallvec::SmallVec;

use crate::glob::{self, Tok};
use crate::request::Context;

/// One compiled piece of a policy string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(Box<str>),
    Any,
    One,
    /// `${key}` / `${key, 'default'}`; `key` is lower-cased (context keys are case-insensitive).
    /// An empty key never resolves (malformed variable syntax).
    Var {
        key: Box<str>,
        default: Option<Box<str>>,
    },
}

/// How a string is compiled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// Recognise `${...}` (policy `Version` 2012-10-17).
    pub variables: bool,
    /// Treat `*` and `?` as wildcards (`Resource`, `StringLike`, `ArnLike`); otherwise they are
    /// literal (`StringEquals`).
    pub wildcards: bool,
}

/// A compiled policy string; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    parts: Box<[Part]>,
}

impl Pattern {
    /// Compiles `raw` under `syntax`. Never fails: malformed variable syntax is kept as literal
    /// text (an unterminated `${`) or as a variable that never resolves (a bad default).
    pub(crate) fn parse(raw: &str, syntax: Syntax) -> Self {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, parts: &mut Vec<Part>| {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(lit).into_boxed_str()));
            }
        };
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if syntax.variables
                && rest.starts_with("${")
                && let Some(end) = closing_brace(&rest[2..])
            {
                let inner = &rest[2..2 + end];
                rest = &rest[2 + end + 1..];
                match inner {
                    "*" | "?" | "$" => lit.push_str(inner),
                    _ => {
                        flush(&mut lit, &mut parts);
                        parts.push(parse_variable(inner));
                    }
                }
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '*' if syntax.wildcards => {
                    flush(&mut lit, &mut parts);
                    parts.push(Part::Any);
                }
                '?' if syntax.wildcards => {
                    flush(&mut lit, &mut parts);
                    parts.push(Part::One);
                }
                _ => lit.push(c),
            }
        }
        flush(&mut lit, &mut parts);
        Self {
            parts: parts.into_boxed_slice(),
        }
    }

    /// Whether the pattern contains a policy variable.
    pub(crate) fn has_variables(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Var { .. }))
    }

    /// Resolves variables against `ctx` into `out`; `false` if one cannot be resolved.
    fn resolve<'a>(&'a self, ctx: &'a Context, out: &mut SmallVec<[Tok<'a>; 16]>) -> bool {
        for part in self.parts.iter() {
            match resolve_part(part, ctx) {
                Some(tok) => out.push(tok),
                None => return false,
            }
        }
        true
    }

    /// Whether `text` matches, with variables taken from `ctx`. An unresolved variable makes
    /// the result `false`. `ignore_case` compares ASCII letters without case.
    pub(crate) fn matches(&self, text: &str, ctx: &Context, ignore_case: bool) -> bool {
        match &*self.parts {
            // The two commonest shapes skip token building entirely.
            [Part::Any] => true,
            [Part::Lit(s)] => {
                if ignore_case {
                    s.eq_ignore_ascii_case(text)
                } else {
                    **s == *text
                }
            }
            parts if parts.len() <= INLINE_PARTS => {
                let mut toks = [Tok::Any; INLINE_PARTS];
                for (slot, part) in toks.iter_mut().zip(parts) {
                    match resolve_part(part, ctx) {
                        Some(tok) => *slot = tok,
                        None => return false,
                    }
                }
                glob::matches(&toks[..parts.len()], text, ignore_case)
            }
            _ => {
                let mut toks = SmallVec::new();
                self.resolve(ctx, &mut toks) && glob::matches(&toks, text, ignore_case)
            }
        }
    }

    /// The pattern's text with variables resolved (for exact comparisons such as IP addresses
    /// written with a variable); `None` if a variable cannot be resolved.
    #[cfg(test)]
    pub(crate) fn render(&self, ctx: &Context) -> Option<String> {
        let mut toks = SmallVec::new();
        if !self.resolve(ctx, &mut toks) {
            return None;
        }
        Some(
            toks.iter()
                .map(|t| match t {
                    Tok::Lit(s) => *s,
                    Tok::Any => "*",
                    Tok::One => "?",
                })
                .collect(),
        )
    }
}

/// Patterns with at most this many pieces resolve into a stack array (no allocation).
const INLINE_PARTS: usize = 8;

/// One part as a token: literal, wildcard, or the variable's value / default; `None` if the
/// variable cannot be resolved.
fn resolve_part<'a>(part: &'a Part, ctx: &'a Context) -> Option<Tok<'a>> {
    Some(match part {
        Part::Lit(s) => Tok::Lit(s),
        Part::Any => Tok::Any,
        Part::One => Tok::One,
        Part::Var { key, default } => match ctx.get_lower(key) {
            Some([single]) => Tok::Lit(single),
            _ => Tok::Lit(default.as_deref()?),
        },
    })
}

/// Index (in `s`) of the `}` closing a variable, skipping braces inside a quoted default.
fn closing_brace(s: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Parses the inside of `${...}`: `key` or `key, 'default'` (a `''` inside the quotes is one
/// quote). Whitespace around the key and the default is ignored. Malformed → never resolves.
fn parse_variable(inner: &str) -> Part {
    let never = Part::Var {
        key: "".into(),
        default: None,
    };
    let (key, default) = match inner.split_once(',') {
        None => (inner.trim(), None),
        Some((key, def)) => {
            let def = def.trim();
            let Some(body) = def
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .filter(|_| def.len() >= 2)
            else {
                return never;
            };
            // Inside the quotes, a quote must be doubled.
            if body.replace("''", "").contains('\'') {
                return never;
            }
            (key.trim(), Some(body.replace("''", "'").into_boxed_str()))
        }
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return never;
    }
    Part::Var {
        key: key.to_ascii_lowercase().into_boxed_str(),
        default,
    }
}

#[cfg(test)]
mod tests {
    use super::{Pattern, Syntax};
    use crate::request::Context;

    const V12: Syntax = Syntax {
        variables: true,
        wildcards: true,
    };
    const V08: Syntax = Syntax {
        variables: false,
        wildcards: true,
    };

    fn ctx() -> Context {
        let mut c = Context::default();
        c.set("iot:ClientId", ["dev*1"]);
        c.set("aws:username", ["alice"]);
        c.set("multi", ["a", "b"]);
        c
    }

    #[test]
    fn render_table() {
        // (pattern, syntax, rendered)
        let rows: &[(&str, Syntax, Option<&str>)] = &[
            ("topic/${iot:ClientId}", V12, Some("topic/dev*1")),
            ("topic/${IOT:CLIENTID}", V12, Some("topic/dev*1")),
            ("topic/${iot:ClientId}", V08, Some("topic/${iot:ClientId}")),
            ("home/${aws:username}/*", V12, Some("home/alice/*")),
            ("a${*}b${?}c${$}", V12, Some("a*b?c$")),
            ("${missing}", V12, None),
            ("${missing, 'dflt'}", V12, Some("dflt")),
            ("${ missing , 'it''s' }", V12, Some("it's")),
            ("${missing, 'a}b'}", V12, Some("a}b")),
            ("${missing, unquoted}", V12, None),
            ("${multi}", V12, None),
            ("${multi, 'x'}", V12, Some("x")),
            (
                "unterminated ${iot:ClientId",
                V12,
                Some("unterminated ${iot:ClientId"),
            ),
            ("${}", V12, None),
        ];
        let c = ctx();
        for &(raw, syntax, want) in rows {
            let p = Pattern::parse(raw, syntax);
            assert_eq!(p.render(&c).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn substituted_star_is_literal_but_escaped_star_is_literal_too() {
        let c = ctx();
        let p = Pattern::parse("client/${iot:ClientId}", V12);
        assert!(p.matches("client/dev*1", &c, false));
        assert!(!p.matches("client/devX1", &c, false));
        let p = Pattern::parse("topic/${*}", V12);
        assert!(p.matches("topic/*", &c, false));
        assert!(!p.matches("topic/a", &c, false));
        let p = Pattern::parse("topic/*", V12);
        assert!(p.matches("topic/a", &c, false));
    }
}
