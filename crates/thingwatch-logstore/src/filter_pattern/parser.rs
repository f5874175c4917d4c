//! Recursive-descent parser: pattern text → [`Pattern`] AST.
//!
//! Grammar (JSON patterns; `&&` binds tighter than `||`):
//! ```text
//! json    := '{' or '}'
//! or      := and ('||' and)*
//! and     := unary ('&&' unary)*
//! unary   := '(' or ')' | cond
//! cond    := SELECTOR op value | SELECTOR 'IS' ('NULL'|'TRUE'|'FALSE') | SELECTOR 'NOT' 'EXISTS'
//! value   := QUOTED | BARE | REGEX
//! ```
//! Term patterns are a whitespace-separated list of `word`, `"phrase"`, `?term`, `-term`.

use super::lexer::{Tok, lex, quoted};
use super::{
    CmpOp, Glob, JsonExpr, JsonPattern, MAX_REGEXES, Pattern, PatternError, RegexValue, Step, Term,
    TermPattern, Test,
};

/// Parses a whole filter pattern.
pub(crate) fn parse(src: &str) -> Result<Pattern, PatternError> {
    let trimmed = src.trim();
    if trimmed.is_empty() {
        return Ok(Pattern::All);
    }
    match trimmed.as_bytes()[0] {
        b'{' => parse_json(trimmed).map(Pattern::Json),
        b'[' => Err(PatternError::new(
            "space-delimited filter patterns ([...]) are not supported yet",
        )),
        b'%' => {
            let body = trimmed
                .strip_prefix('%')
                .and_then(|r| r.strip_suffix('%'))
                .filter(|b| !b.contains('%'))
                .ok_or_else(|| {
                    PatternError::new("a regular expression pattern must be a single %...%")
                })?;
            RegexValue::new(body).map(Pattern::Regex)
        }
        _ => parse_terms(trimmed).map(Pattern::Terms),
    }
}

fn parse_terms(src: &str) -> Result<TermPattern, PatternError> {
    #[derive(Clone, Copy)]
    enum Kind {
        Required,
        Optional,
        Excluded,
    }
    let mut out = TermPattern::default();
    let b = src.as_bytes();
    let mut i = 0;
    let mut kind = Kind::Required;
    let mut pending_modifier = false;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if !pending_modifier && (c == b'?' || c == b'-') {
            kind = if c == b'?' {
                Kind::Optional
            } else {
                Kind::Excluded
            };
            pending_modifier = true;
            i += 1;
            continue;
        }
        let text = if c == b'"' {
            let (s, end) = quoted(src, i)?;
            i = end;
            if s.is_empty() {
                return Err(PatternError::new(format!(
                    "empty quoted term at position {}",
                    i - 2
                )));
            }
            s
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'"' {
                i += 1;
            }
            src[start..i].to_string()
        };
        let term = Term::new(text);
        match kind {
            Kind::Required => out.required.push(term),
            Kind::Optional => out.optional.push(term),
            Kind::Excluded => out.excluded.push(term),
        }
        kind = Kind::Required;
        pending_modifier = false;
    }
    if pending_modifier {
        return Err(PatternError::new("'?' or '-' must be followed by a term"));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    selectors: Vec<Vec<Step>>,
    regexes: usize,
}

fn parse_json(src: &str) -> Result<JsonPattern, PatternError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        at: 0,
        end: src.len(),
        selectors: Vec::new(),
        regexes: 0,
    };
    p.expect(&Tok::LBrace, "'{'")?;
    let expr = p.or()?;
    p.expect(&Tok::RBrace, "'}' or an operator (&&, ||)")?;
    if let Some((pos, t)) = p.toks.get(p.at) {
        return Err(PatternError::new(format!(
            "unexpected {} at position {pos} after the closing '}}'",
            describe(t)
        )));
    }
    Ok(JsonPattern::new(expr, p.selectors))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LBrace => "'{'".into(),
        Tok::RBrace => "'}'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::And => "'&&'".into(),
        Tok::Or => "'||'".into(),
        Tok::Op(_) => "an operator".into(),
        Tok::Selector(s) => format!("selector '{s}'"),
        Tok::Quoted(s) => format!("string \"{s}\""),
        Tok::Regex(s) => format!("regex %{s}%"),
        Tok::Bare(s) => format!("'{s}'"),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(_, t)| t.clone());
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    fn err_expected(&self, what: &str) -> PatternError {
        match self.toks.get(self.at) {
            Some((pos, t)) => PatternError::new(format!(
                "expected {what} at position {pos}, found {}",
                describe(t)
            )),
            None => PatternError::new(format!("expected {what} at end of pattern")),
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), PatternError> {
        if self.peek() == Some(t) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.err_expected(what))
        }
    }

    fn or(&mut self) -> Result<JsonExpr, PatternError> {
        let mut v = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            JsonExpr::Or(v)
        })
    }

    fn and(&mut self) -> Result<JsonExpr, PatternError> {
        let mut v = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            JsonExpr::And(v)
        })
    }

    fn unary(&mut self) -> Result<JsonExpr, PatternError> {
        if self.peek() == Some(&Tok::LParen) {
            self.at += 1;
            let e = self.or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(e);
        }
        self.cond()
    }

    fn cond(&mut self) -> Result<JsonExpr, PatternError> {
        let pos = self.pos();
        let Some(Tok::Selector(sel)) = self.peek().cloned() else {
            return Err(self.err_expected("a selector such as $.field"));
        };
        self.at += 1;
        let steps = parse_selector(&sel, pos)?;
        let selector = match self.selectors.iter().position(|s| *s == steps) {
            Some(i) => i,
            None => {
                self.selectors.push(steps);
                self.selectors.len() - 1
            }
        };
        let test = match self.next() {
            Some(Tok::Op(op)) => self.value(op)?,
            Some(Tok::Bare(w)) if w == "IS" => match self.next() {
                Some(Tok::Bare(w)) if w == "NULL" => Test::IsNull,
                Some(Tok::Bare(w)) if w == "TRUE" => Test::IsTrue,
                Some(Tok::Bare(w)) if w == "FALSE" => Test::IsFalse,
                _ => {
                    self.at -= 1;
                    return Err(self.err_expected("NULL, TRUE or FALSE after IS"));
                }
            },
            Some(Tok::Bare(w)) if w == "NOT" => match self.next() {
                Some(Tok::Bare(w)) if w == "EXISTS" => Test::NotExists,
                _ => {
                    self.at -= 1;
                    return Err(self.err_expected("EXISTS after NOT"));
                }
            },
            Some(_) => {
                self.at -= 1;
                return Err(self.err_expected("an operator (=, !=, <, >, <=, >=, IS, NOT EXISTS)"));
            }
            None => {
                return Err(self.err_expected("an operator (=, !=, <, >, <=, >=, IS, NOT EXISTS)"));
            }
        };
        Ok(JsonExpr::Cond { selector, test })
    }

    fn value(&mut self, op: CmpOp) -> Result<Test, PatternError> {
        let pos = self.pos();
        let (text, quoted) = match self.next() {
            Some(Tok::Quoted(s)) => (s, true),
            Some(Tok::Bare(s)) => (s, false),
            Some(Tok::Regex(body)) => {
                self.regexes += 1;
                if self.regexes > MAX_REGEXES {
                    return Err(PatternError::new(format!(
                        "at most {MAX_REGEXES} regular expressions are allowed in a filter pattern"
                    )));
                }
                return match op {
                    CmpOp::Eq | CmpOp::Ne => Ok(Test::Regex {
                        re: RegexValue::new(&body)?,
                        negate: op == CmpOp::Ne,
                    }),
                    _ => Err(PatternError::new(format!(
                        "a regular expression at position {pos} can only be compared with = or !="
                    ))),
                };
            }
            _ => {
                if self.at > 0 && self.toks.get(self.at - 1).is_some() {
                    self.at -= 1;
                }
                return Err(self.err_expected("a value"));
            }
        };
        if !quoted && let Some(value) = parse_number(&text) {
            let text = text.strip_prefix('+').unwrap_or(&text).to_string();
            return Ok(Test::Num { op, value, text });
        }
        match op {
            CmpOp::Eq | CmpOp::Ne => Ok(Test::Str {
                glob: Glob::new(&text),
                negate: op == CmpOp::Ne,
            }),
            _ => Err(PatternError::new(format!(
                "the comparison at position {pos} needs a number, found '{text}'"
            ))),
        }
    }
}

/// Parses a numeric literal: optional sign, digits with optional fraction and exponent.
fn parse_number(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let ok = body
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == b'.')
        && body.bytes().any(|c| c.is_ascii_digit())
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !ok {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse::<f64>().ok()
}

/// Parses `$.a.b[0][1].c` into steps.
fn parse_selector(sel: &str, pos: usize) -> Result<Vec<Step>, PatternError> {
    let bad =
        |why: &str| PatternError::new(format!("invalid selector '{sel}' at position {pos}: {why}"));
    let Some(rest) = sel.strip_prefix('$') else {
        return Err(bad("must start with $"));
    };
    let b = rest.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                i = start;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                let name = &rest[start..i];
                if name.is_empty() || name.contains(']') {
                    return Err(bad("empty or malformed property name"));
                }
                steps.push(Step::Key(name.to_string()));
            }
            b'[' => {
                let Some(close) = rest[i..].find(']') else {
                    return Err(bad("missing ']'"));
                };
                let n = rest[i + 1..i + close]
                    .parse::<usize>()
                    .map_err(|_| bad("array index must be a non-negative integer"))?;
                if steps.is_empty() {
                    return Err(bad("an array index must follow a property"));
                }
                steps.push(Step::Index(n));
                i += close + 1;
            }
            _ => return Err(bad("expected '.' or '['")),
        }
    }
    if steps.is_empty() {
        return Err(bad("needs at least one property, e.g. $.eventType"));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(
            parse_selector("$.a[0][1].b-c", 0),
            Ok(vec![
                Step::Key("a".into()),
                Step::Index(0),
                Step::Index(1),
                Step::Key("b-c".into())
            ])
        );
        for bad in ["$", "$.", "$.a[x]", "$[0]", "$.a..b", "$.a[1"] {
            assert!(parse_selector(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        for (s, v) in [
            ("1", 1.0),
            ("-2.5", -2.5),
            ("+1000", 1000.0),
            ("10e3", 10e3),
            ("1.5E-2", 0.015),
            (".5", 0.5),
        ] {
            assert_eq!(parse_number(s), Some(v), "{s}");
        }
        for s in ["inf", "NaN", "1.2.3.*", "abc", "-", "e5", "123.123.*"] {
            assert_eq!(parse_number(s), None, "{s}");
        }
    }

    #[test]
    fn precedence_and_binds_tighter() {
        let Ok(Pattern::Json(j)) = parse("{ $.a = 1 || $.b = 2 && $.c = 3 }") else {
            panic!("parse failed");
        };
        let num = |sel: usize, v: f64| JsonExpr::Cond {
            selector: sel,
            test: Test::Num {
                op: CmpOp::Eq,
                value: v,
                text: format!("{v}"),
            },
        };
        assert_eq!(
            j.expr,
            JsonExpr::Or(vec![
                num(0, 1.0),
                JsonExpr::And(vec![num(1, 2.0), num(2, 3.0)])
            ])
        );
    }
}
