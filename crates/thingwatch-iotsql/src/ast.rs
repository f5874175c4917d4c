//! The syntax tree of an AWS IoT SQL statement: [`Query`] (SELECT … FROM … WHERE, also used
//! for nested queries), [`SelectItem`] and [`Expr`].

use crate::functions::Func;
use crate::value::Value;

/// One SELECT … FROM … [WHERE …]: the top-level statement's body or a nested object query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    /// `SELECT VALUE expr`: the output is that value, not an object.
    pub(crate) value: bool,
    pub(crate) items: Vec<SelectItem>,
    /// For a nested query, the array or object it iterates over (`FROM e`); `None` at top level.
    pub(crate) source: Option<Expr>,
    /// For a nested query, the name the current element is known by: `FROM e AS x`, or the
    /// source's own name (`FROM x` makes `x` the element, as in `SELECT VALUE x.v FROM x`).
    pub(crate) alias: Option<String>,
    pub(crate) filter: Option<Expr>,
}

/// One entry of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    /// `*`: every key of the payload (or the raw payload when it is not JSON).
    Wildcard,
    /// `expr [AS a.b]`: `key` is the output path (alias split on dots, or the derived name).
    Expr { expr: Expr, key: Vec<String> },
}

/// Binary operators, loosest first in [`crate::parser`]'s precedence climbing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// The `cast(x AS type)` targets (*Functions*, cast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CastType {
    String,
    Int,
    Double,
    Decimal,
    Boolean,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    /// A SET variable, `@name`.
    Var(String),
    /// A top-level name, looked up in the current document (the payload, or the element of a
    /// nested query).
    Field(String),
    /// `*` as a value: the whole current document (function argument position).
    Wildcard,
    /// `e.name`
    Member(Box<Expr>, String),
    /// `e[i]`
    Index(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`; without an operand each WHEN is a condition.
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Call(Func, Vec<Expr>),
    Cast(Box<Expr>, CastType),
    Array(Vec<Expr>),
    Object(Vec<(String, Expr)>),
    Subquery(Box<Query>),
}
