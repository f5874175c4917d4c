//! Substitution templates (iot-substitution-templates.html): `${expression}` inside a rule
//! action's parameters, e.g. `alerts/${topic(2)}`. Each expression is parsed like a SELECT
//! expression and evaluated against the *incoming* payload (SELECT aliases are not visible).

use crate::ast::Expr;
use crate::error::{EvalError, ParseErrorKind, Pos, SqlParseError};
use crate::eval::{Context, Env, Message, Variables};
use crate::parser::Parser;
use crate::value::Value;
use crate::version::SqlVersion;

/// A parsed substitution template: literal text and `${…}` expressions.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
    version: SqlVersion,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Expr(Expr),
}

impl Template {
    /// Parses `text`, whose `${…}` expressions use SQL `version`.
    ///
    /// # Errors
    /// [`SqlParseError`] for an unterminated `${` or an expression that does not parse (the
    /// position is within `text`).
    pub fn parse(text: &str, version: SqlVersion) -> Result<Template, SqlParseError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut consumed = 0usize;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let body_start = start + 2;
            let Some(len) = expression_len(&rest[body_start..]) else {
                return Err(SqlParseError {
                    kind: ParseErrorKind::UnexpectedToken {
                        expected: "'}' closing the substitution template".into(),
                        found: "EOF".into(),
                    },
                    pos: pos_in(text, consumed + start),
                });
            };
            let body = &rest[body_start..body_start + len];
            let expr = Parser::new(body, version)
                .and_then(Parser::standalone_expr)
                .map_err(|e| shift(e, pos_in(text, consumed + body_start)))?;
            parts.push(Part::Expr(expr));
            let used = body_start + len + 1;
            consumed += used;
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts, version })
    }

    /// Whether the template has any `${…}` expression.
    pub fn has_expressions(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Expr(_)))
    }

    /// Renders the template for `msg`: each expression's value in its string form (a String
    /// as is, Arrays and Objects as JSON); Null and Undefined render as the empty string.
    ///
    /// # Errors
    /// [`EvalError`] when an external function in an expression fails.
    pub fn render(&self, msg: &Message, ctx: &dyn Context) -> Result<String, EvalError> {
        self.render_with(msg, ctx, &Variables::default())
    }

    /// Renders the template with the rule's SET variables (`${@name}`), as
    /// [`Statement::run`](crate::Statement::run) returned them; an unknown variable is
    /// Undefined.
    ///
    /// # Errors
    /// [`EvalError`] when an external function in an expression fails.
    pub fn render_with(
        &self,
        msg: &Message,
        ctx: &dyn Context,
        variables: &Variables,
    ) -> Result<String, EvalError> {
        let undefined = Value::Undefined;
        let env = Env::top(
            msg,
            ctx,
            self.version,
            msg.json(self.version).unwrap_or(&undefined),
            &variables.0,
        );
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e) => {
                    if let Some(s) = env.eval(e)?.to_sql_string() {
                        out.push_str(&s);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Parses and renders `template` in one step with SQL version 2016-03-23.
///
/// # Errors
/// [`SubstitutionError`] when the template does not parse or an external function fails.
pub fn substitute(
    template: &str,
    msg: &Message,
    ctx: &dyn Context,
) -> Result<String, SubstitutionError> {
    Ok(Template::parse(template, SqlVersion::default())?.render(msg, ctx)?)
}

/// Why [`substitute`] failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubstitutionError {
    /// The template does not parse.
    #[error(transparent)]
    Parse(#[from] SqlParseError),
    /// Evaluating an expression failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// The length of the expression before its closing `}`, skipping quoted strings and nested
/// braces (object literals).
fn expression_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The line:column of byte offset `at` in `text`.
fn pos_in(text: &str, at: usize) -> Pos {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, column }
}

/// An error inside an expression that starts at `base` in the template.
fn shift(mut e: SqlParseError, base: Pos) -> SqlParseError {
    if e.pos.line == 1 {
        e.pos.column += base.column - 1;
    }
    e.pos.line += base.line - 1;
    e
}
