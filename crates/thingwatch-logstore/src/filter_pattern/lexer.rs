//! Tokenizer for the body of JSON filter patterns (`{ $.a = "x" && ($.b > 1 || … ) }`).
//!
//! The space-delimited form (`[w1, w2 = x]`) will reuse these tokens plus `[`, `]`, `,` and
//! `...` when it is added.

use super::{CmpOp, PatternError};

/// A lexical token with its byte offset in the pattern (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    And,
    Or,
    Op(CmpOp),
    /// `$…` selector text, unparsed.
    Selector(String),
    /// `"…"` with escapes resolved.
    Quoted(String),
    /// `%…%` regex body.
    Regex(String),
    /// Any other run of characters: bare values and keywords (`IS`, `NULL`, …).
    Bare(String),
}

/// Splits `src` into tokens.
pub(crate) fn lex(src: &str) -> Result<Vec<(usize, Tok)>, PatternError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'{' => {
                i += 1;
                Tok::LBrace
            }
            b'}' => {
                i += 1;
                Tok::RBrace
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'&' if b.get(i + 1) == Some(&b'&') => {
                i += 2;
                Tok::And
            }
            b'|' if b.get(i + 1) == Some(&b'|') => {
                i += 2;
                Tok::Or
            }
            b'=' => {
                i += 1;
                Tok::Op(CmpOp::Eq)
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op(CmpOp::Ne)
            }
            b'<' | b'>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                i += if eq { 2 } else { 1 };
                Tok::Op(match (c, eq) {
                    (b'<', false) => CmpOp::Lt,
                    (b'<', true) => CmpOp::Le,
                    (_, false) => CmpOp::Gt,
                    (_, true) => CmpOp::Ge,
                })
            }
            b'"' => {
                let (s, end) = quoted(src, i)?;
                i = end;
                Tok::Quoted(s)
            }
            b'%' => {
                let Some(len) = src[i + 1..].find('%') else {
                    return Err(PatternError::new(format!(
                        "unterminated regular expression starting at position {i}"
                    )));
                };
                let body = src[i + 1..i + 1 + len].to_string();
                i += len + 2;
                Tok::Regex(body)
            }
            b'$' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b"$._-@[]".contains(&b[i])) {
                    i += 1;
                }
                Tok::Selector(src[start..i].to_string())
            }
            _ => {
                while i < b.len() && !ends_bare(b, i) {
                    i += 1;
                }
                if i == start {
                    return Err(PatternError::new(format!(
                        "unexpected character '{}' at position {i}",
                        src[i..].chars().next().unwrap_or(' ')
                    )));
                }
                Tok::Bare(src[start..i].to_string())
            }
        };
        out.push((start, tok));
    }
    Ok(out)
}

fn ends_bare(b: &[u8], i: usize) -> bool {
    let c = b[i];
    c.is_ascii_whitespace()
        || b"{}()\"=<>".contains(&c)
        || (c == b'!' && b.get(i + 1) == Some(&b'='))
        || (c == b'&' && b.get(i + 1) == Some(&b'&'))
        || (c == b'|' && b.get(i + 1) == Some(&b'|'))
}

/// Reads a double-quoted string starting at byte `at` (which holds `"`); returns the
/// unescaped text and the offset after the closing quote. `\"` and `\\` are escapes.
pub(crate) fn quoted(src: &str, at: usize) -> Result<(String, usize), PatternError> {
    let mut s = String::new();
    let mut chars = src[at + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        match ch {
            '"' => return Ok((s, at + 1 + off + 1)),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => s.push(e),
                Some((_, e)) => {
                    s.push('\\');
                    s.push(e);
                }
                None => break,
            },
            c => s.push(c),
        }
    }
    Err(PatternError::new(format!(
        "unterminated quoted string starting at position {at}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_operators_and_values() {
        let toks: Vec<Tok> = lex(r#"{ ($.a[0].b-c>=+1e3) && $.x != "q\"z" || $.y=bare.*}"#)
            .map(|v| v.into_iter().map(|(_, t)| t).collect())
            .unwrap_or_default();
        assert_eq!(
            toks,
            vec![
                Tok::LBrace,
                Tok::LParen,
                Tok::Selector("$.a[0].b-c".into()),
                Tok::Op(CmpOp::Ge),
                Tok::Bare("+1e3".into()),
                Tok::RParen,
                Tok::And,
                Tok::Selector("$.x".into()),
                Tok::Op(CmpOp::Ne),
                Tok::Quoted("q\"z".into()),
                Tok::Or,
                Tok::Selector("$.y".into()),
                Tok::Op(CmpOp::Eq),
                Tok::Bare("bare.*".into()),
                Tok::RBrace,
            ]
        );
    }

    #[test]
    fn lex_errors() {
        assert!(lex(r#"{ $.a = "open }"#).is_err());
        assert!(lex("{ $.a = %abc }").is_err());
    }
}
