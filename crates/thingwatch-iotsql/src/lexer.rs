//! The tokenizer of AWS IoT SQL: identifiers and keywords (case-insensitive), numbers,
//! single- or double-quoted strings with backslash escapes, punctuation and operators, each
//! with its 1-based line:column position for error messages.

use crate::error::{ParseErrorKind, Pos, SqlParseError};

/// One token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier or keyword, as written.
    Ident(String),
    /// An integer literal that fits an i64.
    Int(i64),
    /// A number with a fraction or exponent (or too large for an i64).
    Decimal(f64),
    /// A quoted string, escapes resolved.
    Str(String),
    /// A SET variable, `@name` (the name without `@`).
    Var(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

impl Tok {
    /// The token type as error messages name it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("IDENTIFIER ({s:?})"),
            Tok::Int(i) => format!("NUMBER ({i})"),
            Tok::Decimal(d) => format!("NUMBER ({d})"),
            Tok::Str(s) => format!("STRING ({s:?})"),
            Tok::Var(v) => format!("VARIABLE (@{v})"),
            Tok::Eof => "EOF".into(),
            other => format!("{:?}", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::Colon => ":",
            Tok::Star => "*",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Eq => "=",
            Tok::Ne => "<>",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            _ => "",
        }
    }

    /// Whether this is the keyword `kw` (case-insensitive).
    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, SqlParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let (mut line, mut col) = (1usize, 1usize);
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, c: char| {
        *i += 1;
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, column: col };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, c);
            continue;
        }
        let err = |kind| SqlParseError { kind, pos };
        let two = |next: char| chars.get(i + 1) == Some(&next);
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '{' => (Tok::LBrace, 1),
            '}' => (Tok::RBrace, 1),
            ',' => (Tok::Comma, 1),
            ':' => (Tok::Colon, 1),
            '*' => (Tok::Star, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '/' => (Tok::Slash, 1),
            '%' => (Tok::Percent, 1),
            '=' => (Tok::Eq, 1),
            '<' if two('>') => (Tok::Ne, 2),
            '<' if two('=') => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if two('=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '!' if two('=') => (Tok::Ne, 2),
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => (Tok::Dot, 1),
            '\'' | '"' => {
                let (s, len) = lex_string(&chars[i..]).map_err(err)?;
                (Tok::Str(s), len)
            }
            c if c.is_ascii_digit() || c == '.' => {
                let (t, len) = lex_number(&chars[i..]).map_err(err)?;
                (t, len)
            }
            '@' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                if name.is_empty() || name.len() > 64 {
                    return Err(err(ParseErrorKind::InvalidVariable(format!("@{name}"))));
                }
                (Tok::Var(name), j - i)
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let mut j = i;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '$')
                {
                    j += 1;
                }
                (Tok::Ident(chars[i..j].iter().collect()), j - i)
            }
            other => return Err(err(ParseErrorKind::InvalidCharacter(other))),
        };
        for _ in 0..len {
            let ch = chars[i];
            advance(&mut i, &mut line, &mut col, ch);
        }
        out.push(Token { tok, pos });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: Pos { line, column: col },
    });
    Ok(out)
}

/// A quoted string starting at `chars[0]` (the quote). Backslash escapes `\\ \' \" \n \t \r
/// \b \f \/ \uXXXX`; a doubled quote stands for one quote, as in ANSI SQL.
fn lex_string(chars: &[char]) -> Result<(String, usize), ParseErrorKind> {
    let quote = chars[0];
    let mut s = String::new();
    let mut i = 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(ParseErrorKind::UnterminatedString);
        };
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                s.push(quote);
                i += 2;
                continue;
            }
            return Ok((s, i + 1));
        }
        if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                return Err(ParseErrorKind::UnterminatedString);
            };
            i += 2;
            match e {
                'n' => s.push('\n'),
                't' => s.push('\t'),
                'r' => s.push('\r'),
                'b' => s.push('\u{8}'),
                'f' => s.push('\u{c}'),
                'u' => {
                    let hex: String = chars.get(i..i + 4).unwrap_or(&[]).iter().collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == 4)
                        .and_then(char::from_u32)
                        .ok_or(ParseErrorKind::InvalidEscape(format!("\\u{hex}")))?;
                    s.push(code);
                    i += 4;
                }
                '\\' | '\'' | '"' | '/' => s.push(e),
                other => return Err(ParseErrorKind::InvalidEscape(format!("\\{other}"))),
            }
            continue;
        }
        s.push(c);
        i += 1;
    }
}

/// A number literal: digits, optional fraction, optional exponent.
fn lex_number(chars: &[char]) -> Result<(Tok, usize), ParseErrorKind> {
    let mut i = 0;
    let mut is_dec = false;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
        is_dec = true;
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('-' | '+')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            is_dec = true;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text: String = chars[..i].iter().collect();
    if chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        let bad: String = chars[..=i].iter().collect();
        return Err(ParseErrorKind::InvalidNumber(bad));
    }
    if !is_dec && let Ok(n) = text.parse::<i64>() {
        return Ok((Tok::Int(n), i));
    }
    match text.parse::<f64>() {
        Ok(d) if d.is_finite() => Ok((Tok::Decimal(d), i)),
        _ => Err(ParseErrorKind::InvalidNumber(text)),
    }
}
