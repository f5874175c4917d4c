//! The recursive-descent parser and validator: turns SQL text into a [`Query`] (and FROM
//! topic filter), rejecting unknown functions, wrong argument counts and features newer
//! than the rule's SQL version at parse time, as CreateTopicRule does.
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, comparisons (`= <> < <= > >= IN`),
//! `+ -`, `* / %`, unary `-`, postfix `.name` / `[index]`.

use crate::ast::{BinOp, CastType, Expr, Query, SelectItem};
use crate::error::{ParseErrorKind, Pos, SqlParseError};
use crate::functions::{self, Func};
use crate::lexer::{Tok, Token, tokenize};
use crate::topic::TopicFilter;
use crate::value::{Object, Value};
use crate::version::SqlVersion;

/// How deeply expressions may nest before the parser refuses (keeps garbage input from
/// exhausting the stack).
pub(crate) const MAX_DEPTH: usize = 128;

/// Words that cannot be used as field names.
const RESERVED: &[&str] = &[
    "set", "select", "from", "where", "and", "or", "not", "case", "when", "then", "else", "end",
    "as", "in",
];

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// A parsed top-level statement.
pub(crate) struct Parsed {
    pub(crate) query: Query,
    pub(crate) from: Option<TopicFilter>,
    pub(crate) dynamodb_calls: usize,
    /// `SET @name = expr, …` in order.
    pub(crate) variables: Vec<(String, Expr)>,
}

pub(crate) struct Parser {
    toks: Vec<Token>,
    i: usize,
    version: SqlVersion,
    depth: usize,
    dynamodb_calls: usize,
    /// Variables defined so far, for validating references; `None` accepts any (templates).
    defined: Option<Vec<String>>,
}

impl Parser {
    pub(crate) fn new(src: &str, version: SqlVersion) -> Result<Self, SqlParseError> {
        Ok(Parser {
            toks: tokenize(src)?,
            i: 0,
            version,
            depth: 0,
            dynamodb_calls: 0,
            defined: None,
        })
    }

    /// Parses a whole statement: `[SET @v = …, …] SELECT … [FROM 'filter'] [WHERE …]`.
    pub(crate) fn statement(mut self) -> Result<Parsed, SqlParseError> {
        self.defined = Some(Vec::new());
        let mut variables = Vec::new();
        if self.eat_kw("SET") {
            loop {
                let pos = self.pos();
                let name = match self.next().tok {
                    Tok::Var(v) => v,
                    other => {
                        return Err(self.err_at(
                            pos,
                            ParseErrorKind::UnexpectedToken {
                                expected: "VARIABLE (@name)".into(),
                                found: other.describe(),
                            },
                        ));
                    }
                };
                if self.defined.as_ref().is_some_and(|d| d.contains(&name)) {
                    return Err(self.err_at(pos, ParseErrorKind::DuplicateVariable(name)));
                }
                self.expect(&Tok::Eq, "'='")?;
                let e = self.expr()?;
                if let Some(d) = &mut self.defined {
                    d.push(name.clone());
                }
                variables.push((name, e));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        self.expect_kw("SELECT")?;
        let (value, items) = self.select_list()?;
        let from = if self.eat_kw("FROM") {
            let pos = self.pos();
            match self.next().tok {
                Tok::Str(s) => Some(
                    TopicFilter::new(&s)
                        .map_err(|_| self.err_at(pos, ParseErrorKind::InvalidTopicFilter(s)))?,
                ),
                other => {
                    return Err(self.err_at(
                        pos,
                        ParseErrorKind::UnexpectedToken {
                            expected: "STRING (a quoted topic filter)".into(),
                            found: other.describe(),
                        },
                    ));
                }
            }
        } else {
            None
        };
        let filter = if self.eat_kw("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        self.expect_eof()?;
        Ok(Parsed {
            query: Query {
                value,
                items,
                source: None,
                alias: None,
                filter,
            },
            from,
            dynamodb_calls: self.dynamodb_calls,
            variables,
        })
    }

    /// Parses one standalone expression (a substitution template's `${…}` body).
    pub(crate) fn standalone_expr(mut self) -> Result<Expr, SqlParseError> {
        let e = self.expr()?;
        self.expect_eof()?;
        Ok(e)
    }

    fn select_list(&mut self) -> Result<(bool, Vec<SelectItem>), SqlParseError> {
        let value = self.peek().is_kw("VALUE") && self.value_is_keyword();
        if value {
            self.i += 1;
        }
        let mut items = vec![self.select_item(1)?];
        while self.eat(&Tok::Comma) {
            items.push(self.select_item(items.len() + 1)?);
        }
        if value && items.len() > 1 {
            return Err(self.err(ParseErrorKind::UnexpectedToken {
                expected: "FROM (SELECT VALUE takes one expression)".into(),
                found: "','".into(),
            }));
        }
        Ok((value, items))
    }

    /// `VALUE` right after SELECT is the keyword unless it is obviously a field named value.
    fn value_is_keyword(&self) -> bool {
        match &self.toks[self.i + 1].tok {
            Tok::Comma | Tok::Dot | Tok::Eof | Tok::Plus | Tok::Slash => false,
            Tok::Percent | Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => false,
            t => !(t.is_kw("FROM") || t.is_kw("AS") || t.is_kw("WHERE")),
        }
    }

    fn select_item(&mut self, index: usize) -> Result<SelectItem, SqlParseError> {
        if self.peek() == &Tok::Star {
            self.i += 1;
            return Ok(SelectItem::Wildcard);
        }
        let expr = self.expr()?;
        let key = if self.eat_kw("AS") {
            let mut key = vec![self.alias_part()?];
            while self.eat(&Tok::Dot) {
                key.push(self.alias_part()?);
            }
            key
        } else {
            vec![default_name(&expr, index)]
        };
        Ok(SelectItem::Expr { expr, key })
    }

    fn alias_part(&mut self) -> Result<String, SqlParseError> {
        let pos = self.pos();
        match self.next().tok {
            Tok::Ident(s) if !is_reserved(&s) => Ok(s),
            Tok::Str(s) => Ok(s),
            other => Err(self.err_at(
                pos,
                ParseErrorKind::UnexpectedToken {
                    expected: "IDENTIFIER (an alias)".into(),
                    found: other.describe(),
                },
            )),
        }
    }

    pub(crate) fn expr(&mut self) -> Result<Expr, SqlParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(ParseErrorKind::TooDeep));
        }
        let r = self.or();
        self.depth -= 1;
        r
    }

    fn or(&mut self) -> Result<Expr, SqlParseError> {
        self.left_assoc(Self::and, |t| t.is_kw("OR").then_some(BinOp::Or))
    }

    fn and(&mut self) -> Result<Expr, SqlParseError> {
        self.left_assoc(Self::not, |t| t.is_kw("AND").then_some(BinOp::And))
    }

    fn not(&mut self) -> Result<Expr, SqlParseError> {
        if self.eat_kw("NOT") {
            self.nest(|p| p.not().map(|e| Expr::Not(Box::new(e))))
        } else {
            self.comparison()
        }
    }

    fn comparison(&mut self) -> Result<Expr, SqlParseError> {
        self.left_assoc(Self::additive, |t| match t {
            Tok::Eq => Some(BinOp::Eq),
            Tok::Ne => Some(BinOp::Ne),
            Tok::Lt => Some(BinOp::Lt),
            Tok::Le => Some(BinOp::Le),
            Tok::Gt => Some(BinOp::Gt),
            Tok::Ge => Some(BinOp::Ge),
            t if t.is_kw("IN") => Some(BinOp::In),
            _ => None,
        })
    }

    fn additive(&mut self) -> Result<Expr, SqlParseError> {
        self.left_assoc(Self::multiplicative, |t| match t {
            Tok::Plus => Some(BinOp::Add),
            Tok::Minus => Some(BinOp::Sub),
            _ => None,
        })
    }

    fn multiplicative(&mut self) -> Result<Expr, SqlParseError> {
        self.left_assoc(Self::unary, |t| match t {
            Tok::Star => Some(BinOp::Mul),
            Tok::Slash => Some(BinOp::Div),
            Tok::Percent => Some(BinOp::Mod),
            _ => None,
        })
    }

    /// One left-associative precedence level: `operand (op operand)*` for the operators
    /// `op_of` recognises; each link counts towards the nesting depth like a parenthesis.
    fn left_assoc(
        &mut self,
        operand: fn(&mut Self) -> Result<Expr, SqlParseError>,
        op_of: fn(&Tok) -> Option<BinOp>,
    ) -> Result<Expr, SqlParseError> {
        let mut l = operand(self)?;
        let mut n = 0;
        while let Some(op) = op_of(self.peek()) {
            self.i += 1;
            self.chain(&mut n)?;
            let r = operand(self)?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
        self.depth -= n;
        Ok(l)
    }

    fn unary(&mut self) -> Result<Expr, SqlParseError> {
        if self.eat(&Tok::Minus) {
            return self.nest(|p| {
                Ok(match p.unary()? {
                    Expr::Literal(Value::Int(i)) => Expr::Literal(Value::Int(-i)),
                    Expr::Literal(Value::Decimal(d)) => Expr::Literal(Value::Decimal(-d)),
                    e => Expr::Neg(Box::new(e)),
                })
            });
        }
        if self.eat(&Tok::Plus) {
            return self.nest(Parser::unary);
        }
        self.postfix()
    }

    /// One more link of an operator or postfix chain: chains nest as deeply as parentheses.
    fn chain(&mut self, n: &mut usize) -> Result<(), SqlParseError> {
        *n += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(ParseErrorKind::TooDeep));
        }
        Ok(())
    }

    fn nest<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, SqlParseError>,
    ) -> Result<T, SqlParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(ParseErrorKind::TooDeep));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn postfix(&mut self) -> Result<Expr, SqlParseError> {
        let mut e = self.primary()?;
        let mut n = 0;
        loop {
            if self.peek() == &Tok::Dot || self.peek() == &Tok::LBracket {
                self.chain(&mut n)?;
            }
            if self.eat(&Tok::Dot) {
                let pos = self.pos();
                match self.next().tok {
                    Tok::Ident(name) if !is_reserved(&name) => {
                        e = Expr::Member(Box::new(e), name);
                    }
                    other => {
                        return Err(self.err_at(
                            pos,
                            ParseErrorKind::UnexpectedToken {
                                expected: "IDENTIFIER".into(),
                                found: other.describe(),
                            },
                        ));
                    }
                }
            } else if self.eat(&Tok::LBracket) {
                let idx = self.expr()?;
                self.expect(&Tok::RBracket, "']'")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                self.depth -= n;
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, SqlParseError> {
        let pos = self.pos();
        let tok = self.next().tok;
        match tok {
            Tok::Int(i) => Ok(Expr::Literal(Value::Int(i))),
            Tok::Decimal(d) => {
                let mut v = Value::Decimal(d);
                if self.version.is_v2() {
                    v.whole_decimals_to_int();
                }
                Ok(Expr::Literal(v))
            }
            Tok::Str(s) => Ok(Expr::Literal(Value::String(s))),
            Tok::Star => Ok(Expr::Wildcard),
            Tok::Var(v) => match &self.defined {
                Some(d) if !d.contains(&v) => {
                    Err(self.err_at(pos, ParseErrorKind::UnknownVariable(v)))
                }
                _ => Ok(Expr::Var(v)),
            },
            Tok::LParen => {
                if self.peek().is_kw("SELECT") {
                    self.require_v2(pos, "Nested object queries")?;
                    self.i += 1;
                    let q = self.nest(Parser::nested_query)?;
                    self.expect(&Tok::RParen, "')'")?;
                    return Ok(Expr::Subquery(Box::new(q)));
                }
                let e = self.expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::LBracket => {
                self.require_v2(pos, "Array literals")?;
                let items = self.nest(|p| p.list(&Tok::RBracket, "']'"))?;
                Ok(Expr::Array(items))
            }
            Tok::LBrace => {
                self.require_v2(pos, "Object literals")?;
                self.nest(Parser::object_literal)
            }
            Tok::Ident(name) => self.ident(name, pos),
            other => Err(self.err_at(
                pos,
                ParseErrorKind::UnexpectedToken {
                    expected: "an expression".into(),
                    found: other.describe(),
                },
            )),
        }
    }

    fn ident(&mut self, name: String, pos: Pos) -> Result<Expr, SqlParseError> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "true" => return Ok(Expr::Literal(Value::Boolean(true))),
            "false" => return Ok(Expr::Literal(Value::Boolean(false))),
            "null" => return Ok(Expr::Literal(Value::Null)),
            "case" => return self.nest(Parser::case),
            _ => {}
        }
        if self.peek() == &Tok::LParen {
            self.i += 1;
            return self.nest(|p| p.call(&name, pos));
        }
        if is_reserved(&lower) {
            return Err(self.err_at(
                pos,
                ParseErrorKind::UnexpectedToken {
                    expected: "an expression".into(),
                    found: format!("keyword {}", name.to_ascii_uppercase()),
                },
            ));
        }
        Ok(Expr::Field(name))
    }

    fn call(&mut self, name: &str, pos: Pos) -> Result<Expr, SqlParseError> {
        if name.eq_ignore_ascii_case("cast") {
            let e = self.expr()?;
            self.expect_kw("AS")?;
            let tpos = self.pos();
            let ty = match self.next().tok {
                Tok::Ident(t) => t,
                other => {
                    return Err(self.err_at(
                        tpos,
                        ParseErrorKind::UnexpectedToken {
                            expected: "IDENTIFIER (a cast type)".into(),
                            found: other.describe(),
                        },
                    ));
                }
            };
            let ct = match ty.to_ascii_lowercase().as_str() {
                "string" | "nvarchar" | "text" | "ntext" | "varchar" => CastType::String,
                "int" | "integer" => CastType::Int,
                "double" => CastType::Double,
                "decimal" | "bool" | "boolean" if !self.version.is_v2() => {
                    return Err(self.err_at(
                        tpos,
                        ParseErrorKind::NotInVersion {
                            feature: format!("Cast type {ty}"),
                            version: self.version.to_string(),
                        },
                    ));
                }
                "decimal" => CastType::Decimal,
                "bool" | "boolean" => CastType::Boolean,
                _ => return Err(self.err_at(tpos, ParseErrorKind::UnknownCastType(ty))),
            };
            self.expect(&Tok::RParen, "')'")?;
            return Ok(Expr::Cast(Box::new(e), ct));
        }
        let Some(def) = functions::lookup(name) else {
            return Err(self.err_at(pos, ParseErrorKind::UnknownFunction(name.to_string())));
        };
        if def.since > self.version {
            return Err(self.err_at(
                pos,
                ParseErrorKind::NotInVersion {
                    feature: format!("Function {}", def.name),
                    version: self.version.to_string(),
                },
            ));
        }
        let args = self.list(&Tok::RParen, "')'")?;
        if !def.accepts(args.len()) {
            return Err(self.err_at(
                pos,
                ParseErrorKind::WrongArity {
                    function: def.name.to_string(),
                    expected: def.arity_text(),
                    got: args.len(),
                },
            ));
        }
        if def.func == Func::GetDynamoDb {
            self.dynamodb_calls += 1;
        }
        Ok(Expr::Call(def.func, args))
    }

    /// `expr, expr, … close` (possibly empty), the opening token already consumed.
    fn list(&mut self, close: &Tok, close_text: &str) -> Result<Vec<Expr>, SqlParseError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(&Tok::Comma, &format!("',' or {close_text}"))?;
        }
    }

    fn object_literal(&mut self) -> Result<Expr, SqlParseError> {
        let mut entries: Vec<(String, Expr)> = Vec::new();
        if self.eat(&Tok::RBrace) {
            return Ok(Expr::Literal(Value::Object(Object::new())));
        }
        loop {
            let pos = self.pos();
            let key = match self.next().tok {
                Tok::Str(s) | Tok::Ident(s) => s,
                other => {
                    return Err(self.err_at(
                        pos,
                        ParseErrorKind::UnexpectedToken {
                            expected: "STRING (an object key)".into(),
                            found: other.describe(),
                        },
                    ));
                }
            };
            self.expect(&Tok::Colon, "':'")?;
            let v = self.expr()?;
            entries.retain(|(k, _)| *k != key);
            entries.push((key, v));
            if self.eat(&Tok::RBrace) {
                return Ok(Expr::Object(entries));
            }
            self.expect(&Tok::Comma, "',' or '}'")?;
        }
    }

    fn case(&mut self) -> Result<Expr, SqlParseError> {
        let operand = if self.peek().is_kw("WHEN") {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN") {
            let t = self.expr()?;
            self.expect_kw("THEN")?;
            let r = self.expr()?;
            whens.push((t, r));
        }
        if whens.is_empty() {
            return Err(self.err(ParseErrorKind::UnexpectedToken {
                expected: "WHEN".into(),
                found: self.peek().describe(),
            }));
        }
        let otherwise = if self.eat_kw("ELSE") {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        self.expect_kw("END")?;
        Ok(Expr::Case {
            operand,
            whens,
            otherwise,
        })
    }

    /// `[VALUE] items FROM expr [WHERE expr]`, SELECT already consumed.
    fn nested_query(&mut self) -> Result<Query, SqlParseError> {
        let (value, items) = self.select_list()?;
        self.expect_kw("FROM")?;
        let source = self.expr()?;
        let alias = if self.eat_kw("AS") {
            Some(self.alias_part()?)
        } else {
            match &source {
                Expr::Field(n) | Expr::Member(_, n) => Some(n.clone()),
                _ => None,
            }
        };
        let filter = if self.eat_kw("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Query {
            value,
            items,
            source: Some(source),
            alias,
            filter,
        })
    }

    fn require_v2(&self, pos: Pos, feature: &str) -> Result<(), SqlParseError> {
        if self.version.is_v2() {
            Ok(())
        } else {
            Err(self.err_at(
                pos,
                ParseErrorKind::NotInVersion {
                    feature: feature.into(),
                    version: self.version.to_string(),
                },
            ))
        }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }

    fn pos(&self) -> Pos {
        self.toks[self.i].pos
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok, text: &str) -> Result<(), SqlParseError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.err(ParseErrorKind::UnexpectedToken {
                expected: text.into(),
                found: self.peek().describe(),
            }))
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SqlParseError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.err(ParseErrorKind::UnexpectedToken {
                expected: kw.into(),
                found: self.peek().describe(),
            }))
        }
    }

    fn expect_eof(&mut self) -> Result<(), SqlParseError> {
        if self.peek() == &Tok::Eof {
            Ok(())
        } else {
            Err(self.err(ParseErrorKind::UnexpectedToken {
                expected: "EOF".into(),
                found: self.peek().describe(),
            }))
        }
    }

    fn err(&self, kind: ParseErrorKind) -> SqlParseError {
        self.err_at(self.pos(), kind)
    }

    fn err_at(&self, pos: Pos, kind: ParseErrorKind) -> SqlParseError {
        SqlParseError { kind, pos }
    }
}

/// The output key of a SELECT item without `AS`: the last name of a path (`a.b.c` → `c`),
/// the function name of a call, otherwise `_<position>` (AWS's exact naming for computed
/// items is undocumented).
fn default_name(e: &Expr, index: usize) -> String {
    match e {
        Expr::Field(n) | Expr::Member(_, n) => n.clone(),
        Expr::Call(f, _) => functions::name_of(*f).to_string(),
        Expr::Cast(..) => "cast".to_string(),
        _ => format!("_{index}"),
    }
}
