//! Metric math (`GetMetricData` `Expression`): a small expression language over the time
//! series of the request's other queries.
//!
//! Grammar: `expr := term (("+"|"-") term)*`, `term := unary (("*"|"/") unary)*`,
//! `unary := "-" unary | primary`, `primary := number | id | "(" expr ")" |
//! NAME "(" [arg ("," arg)*] ")"`, strings in `'…'` or `"…"`. Values are scalars, time
//! series or arrays of time series; arithmetic pairs points with equal timestamps (a point
//! missing on either side is missing in the result) and applies scalars to every point.
//! Functions: `SUM`, `AVG`, `MIN`, `MAX` (over an array: per timestamp; over one series: a
//! scalar), `RATE` (per-second change), `DIFF`, `ABS`, `FILL(x, value | REPEAT | LINEAR)`
//! over the query's period grid, `METRICS([substring])`, `SEARCH('expr', 'Stat', period)`.
//!
//! Source: Amazon CloudWatch User Guide, *Using metric math* (syntax and functions) and
//! *Search expression syntax*.

use crate::model::MetricId;

/// One time series: a label and its points `(timestamp ms, value)`, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The label CloudWatch shows (`Label`).
    pub label: String,
    /// Points, sorted by timestamp, at most one per timestamp.
    pub points: Vec<(i64, f64)>,
}

/// The value of an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum MathValue {
    /// A number.
    Scalar(f64),
    /// One time series.
    Series(Series),
    /// Several (`METRICS()`, `SEARCH(…)`, `[a, b]` is not supported).
    Array(Vec<Series>),
}

/// An expression error, worded for `InvalidParameterValue` / a query's message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct MathError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, MathError> {
    Err(MathError(msg.into()))
}

/// What an expression can read.
pub trait MathContext {
    /// The result of the query `id` of the same request (`MetricStat` or expression).
    fn series(&self, id: &str) -> Option<MathValue>;
    /// `METRICS()`: every `MetricStat` result of the request, as (id, series).
    fn metric_stats(&self) -> Vec<(String, Series)>;
    /// `SEARCH(expression, statistic, period)`.
    ///
    /// # Errors
    /// An invalid search or statistic.
    fn search(
        &self,
        query: &SearchQuery,
        statistic: &str,
        period_s: i64,
    ) -> Result<Vec<Series>, MathError>;
    /// The request's period grid (timestamps ms), for `FILL`.
    fn grid(&self) -> Vec<i64>;
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Str(String),
    Op(char),
}

fn tokenize(s: &str) -> Result<Vec<Token>, MathError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse()
                .map_err(|_| MathError(format!("Invalid number {text}.")))?;
            out.push(Token::Num(n));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == '\'' || c == '"' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            if i == chars.len() {
                return err("Unterminated string in expression.");
            }
            out.push(Token::Str(chars[start..i].iter().collect()));
            i += 1;
        } else if "+-*/(),".contains(c) {
            out.push(Token::Op(c));
            i += 1;
        } else {
            return err(format!("Unrecognized character '{c}' in expression."));
        }
    }
    Ok(out)
}

/// Evaluates `expression` against `ctx`.
///
/// # Errors
/// Syntax errors, unknown ids or functions, wrong argument types.
pub fn evaluate(expression: &str, ctx: &dyn MathContext) -> Result<MathValue, MathError> {
    let tokens = tokenize(expression)?;
    if tokens.is_empty() {
        return err("The expression is empty.");
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        ctx,
    };
    let v = p.expr()?;
    if p.pos != p.tokens.len() {
        return err(format!(
            "Syntax error in expression at token {}.",
            p.pos + 1
        ));
    }
    Ok(v)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    ctx: &'a dyn MathContext,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Op(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<MathValue, MathError> {
        let mut v = self.term()?;
        loop {
            if self.eat('+') {
                v = binary(v, self.term()?, '+');
            } else if self.eat('-') {
                v = binary(v, self.term()?, '-');
            } else {
                return Ok(v);
            }
        }
    }

    fn term(&mut self) -> Result<MathValue, MathError> {
        let mut v = self.unary()?;
        loop {
            if self.eat('*') {
                v = binary(v, self.unary()?, '*');
            } else if self.eat('/') {
                v = binary(v, self.unary()?, '/');
            } else {
                return Ok(v);
            }
        }
    }

    fn unary(&mut self) -> Result<MathValue, MathError> {
        if self.eat('-') {
            return Ok(binary(MathValue::Scalar(0.0), self.unary()?, '-'));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<MathValue, MathError> {
        let Some(tok) = self.peek().cloned() else {
            return err("Unexpected end of expression.");
        };
        self.pos += 1;
        match tok {
            Token::Num(n) => Ok(MathValue::Scalar(n)),
            Token::Op('(') => {
                let v = self.expr()?;
                if !self.eat(')') {
                    return err("Missing ')' in expression.");
                }
                Ok(v)
            }
            Token::Ident(name) if self.eat('(') => {
                let mut args = Vec::new();
                if !self.eat(')') {
                    loop {
                        args.push(self.argument()?);
                        if self.eat(')') {
                            break;
                        }
                        if !self.eat(',') {
                            return err(format!("Missing ')' in the call of {name}."));
                        }
                    }
                }
                self.call(&name, args)
            }
            Token::Ident(id) => self
                .ctx
                .series(&id)
                .ok_or_else(|| MathError(format!("Unrecognized metric id or keyword: {id}."))),
            Token::Str(_) => err("A string is only valid as a function argument."),
            Token::Op(c) => err(format!("Unexpected '{c}' in expression.")),
        }
    }

    fn argument(&mut self) -> Result<Arg, MathError> {
        match self.peek().cloned() {
            Some(Token::Str(s)) => {
                self.pos += 1;
                Ok(Arg::Str(s))
            }
            Some(Token::Ident(k)) if matches!(k.as_str(), "REPEAT" | "LINEAR") => {
                self.pos += 1;
                Ok(Arg::Keyword(k))
            }
            _ => Ok(Arg::Value(self.expr()?)),
        }
    }

    fn call(&self, name: &str, args: Vec<Arg>) -> Result<MathValue, MathError> {
        let upper = name.to_ascii_uppercase();
        match (upper.as_str(), args.as_slice()) {
            ("SUM" | "AVG" | "MIN" | "MAX", [Arg::Value(v)]) => Ok(reduce(&upper, v.clone())),
            ("RATE", [Arg::Value(v)]) => Ok(map_series(v.clone(), rate)),
            ("DIFF", [Arg::Value(v)]) => Ok(map_series(v.clone(), diff)),
            ("ABS", [Arg::Value(v)]) => Ok(map_points(v.clone(), f64::abs)),
            ("FILL", [Arg::Value(v), how]) => {
                let grid = self.ctx.grid();
                let how = match how {
                    Arg::Value(MathValue::Scalar(n)) => Fill::Value(*n),
                    Arg::Keyword(k) if k == "REPEAT" => Fill::Repeat,
                    Arg::Keyword(k) if k == "LINEAR" => Fill::Linear,
                    _ => {
                        return err(
                            "FILL takes a number, REPEAT or LINEAR as its second argument.",
                        );
                    }
                };
                Ok(map_series(v.clone(), |s| fill(s, &grid, how)))
            }
            ("METRICS", []) => Ok(MathValue::Array(
                self.ctx
                    .metric_stats()
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect(),
            )),
            ("METRICS", [Arg::Str(part)]) => Ok(MathValue::Array(
                self.ctx
                    .metric_stats()
                    .into_iter()
                    .filter(|(id, _)| id.contains(part.as_str()))
                    .map(|(_, s)| s)
                    .collect(),
            )),
            (
                "SEARCH",
                [
                    Arg::Str(q),
                    Arg::Str(stat),
                    Arg::Value(MathValue::Scalar(p)),
                ],
            ) => {
                let query = SearchQuery::parse(q)?;
                #[allow(clippy::cast_possible_truncation)]
                let period = *p as i64;
                Ok(MathValue::Array(self.ctx.search(&query, stat, period)?))
            }
            (
                "SUM" | "AVG" | "MIN" | "MAX" | "RATE" | "DIFF" | "ABS" | "FILL" | "METRICS"
                | "SEARCH",
                _,
            ) => err(format!("Invalid arguments for function {upper}.")),
            _ => err(format!("Unrecognized function: {name}.")),
        }
    }
}

#[derive(Clone, Debug)]
enum Arg {
    Value(MathValue),
    Str(String),
    Keyword(String),
}

#[derive(Clone, Copy)]
enum Fill {
    Value(f64),
    Repeat,
    Linear,
}

fn apply(a: f64, b: f64, op: char) -> f64 {
    match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        _ => a / b,
    }
}

fn join(a: &Series, b: &Series, op: char) -> Series {
    let mut points = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.points.len() && j < b.points.len() {
        let (ta, va) = a.points[i];
        let (tb, vb) = b.points[j];
        match ta.cmp(&tb) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let v = apply(va, vb, op);
                if v.is_finite() {
                    points.push((ta, v));
                }
                i += 1;
                j += 1;
            }
        }
    }
    Series {
        label: a.label.clone(),
        points,
    }
}

fn with_scalar(s: &Series, n: f64, op: char, scalar_first: bool) -> Series {
    Series {
        label: s.label.clone(),
        points: s
            .points
            .iter()
            .map(|&(t, v)| {
                (
                    t,
                    if scalar_first {
                        apply(n, v, op)
                    } else {
                        apply(v, n, op)
                    },
                )
            })
            .filter(|(_, v)| v.is_finite())
            .collect(),
    }
}

fn binary(a: MathValue, b: MathValue, op: char) -> MathValue {
    use MathValue::{Array, Scalar, Series as S};
    match (a, b) {
        (Scalar(x), Scalar(y)) => Scalar(apply(x, y, op)),
        (S(s), Scalar(n)) => S(with_scalar(&s, n, op, false)),
        (Scalar(n), S(s)) => S(with_scalar(&s, n, op, true)),
        (S(x), S(y)) => S(join(&x, &y, op)),
        (Array(xs), Scalar(n)) => Array(xs.iter().map(|s| with_scalar(s, n, op, false)).collect()),
        (Scalar(n), Array(xs)) => Array(xs.iter().map(|s| with_scalar(s, n, op, true)).collect()),
        (Array(xs), S(y)) => Array(xs.iter().map(|x| join(x, &y, op)).collect()),
        (S(x), Array(ys)) => Array(ys.iter().map(|y| join(&x, y, op)).collect()),
        (Array(xs), Array(ys)) => Array(xs.iter().zip(&ys).map(|(x, y)| join(x, y, op)).collect()),
    }
}

fn fold(name: &str, values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    Some(match name {
        "SUM" => v.iter().sum(),
        "AVG" => v.iter().sum::<f64>() / v.len() as f64,
        "MIN" => v.iter().copied().fold(f64::INFINITY, f64::min),
        _ => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

fn reduce(name: &str, v: MathValue) -> MathValue {
    match v {
        MathValue::Scalar(n) => MathValue::Scalar(n),
        MathValue::Series(s) => {
            MathValue::Scalar(fold(name, s.points.iter().map(|p| p.1)).unwrap_or(f64::NAN))
        }
        MathValue::Array(xs) => {
            let mut by_time: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
            for s in &xs {
                for &(t, v) in &s.points {
                    by_time.entry(t).or_default().push(v);
                }
            }
            MathValue::Series(Series {
                label: String::new(),
                points: by_time
                    .into_iter()
                    .filter_map(|(t, vs)| fold(name, vs.into_iter()).map(|v| (t, v)))
                    .collect(),
            })
        }
    }
}

fn map_series(v: MathValue, f: impl Fn(&Series) -> Series) -> MathValue {
    match v {
        MathValue::Series(s) => MathValue::Series(f(&s)),
        MathValue::Array(xs) => MathValue::Array(xs.iter().map(f).collect()),
        s @ MathValue::Scalar(_) => s,
    }
}

fn map_points(v: MathValue, f: fn(f64) -> f64) -> MathValue {
    match v {
        MathValue::Scalar(n) => MathValue::Scalar(f(n)),
        other => map_series(other, |s| Series {
            label: s.label.clone(),
            points: s.points.iter().map(|&(t, v)| (t, f(v))).collect(),
        }),
    }
}

#[allow(clippy::cast_precision_loss)]
fn rate(s: &Series) -> Series {
    Series {
        label: s.label.clone(),
        points: s
            .points
            .windows(2)
            .map(|w| {
                (
                    w[1].0,
                    (w[1].1 - w[0].1) / ((w[1].0 - w[0].0) as f64 / 1000.0),
                )
            })
            .collect(),
    }
}

fn diff(s: &Series) -> Series {
    Series {
        label: s.label.clone(),
        points: s
            .points
            .windows(2)
            .map(|w| (w[1].0, w[1].1 - w[0].1))
            .collect(),
    }
}

#[allow(clippy::cast_precision_loss)]
fn fill(s: &Series, grid: &[i64], how: Fill) -> Series {
    let known: std::collections::BTreeMap<i64, f64> = s.points.iter().copied().collect();
    let mut points = Vec::with_capacity(grid.len());
    for &t in grid {
        if let Some(v) = known.get(&t) {
            points.push((t, *v));
            continue;
        }
        let before = known.range(..t).next_back();
        let after = known.range(t..).next();
        let v = match how {
            Fill::Value(n) => Some(n),
            Fill::Repeat => before.or(after).map(|(_, v)| *v),
            Fill::Linear => match (before, after) {
                (Some((t0, v0)), Some((t1, v1))) => {
                    Some(v0 + (v1 - v0) * ((t - t0) as f64 / (t1 - t0) as f64))
                }
                _ => None,
            },
        };
        if let Some(v) = v {
            points.push((t, v));
        }
    }
    Series {
        label: s.label.clone(),
        points,
    }
}

/// A parsed search expression: an optional schema `{Namespace,Dim1,Dim2}` (metrics of that
/// namespace with exactly those dimension names), `Name="value"` terms (`MetricName` or a
/// dimension), and bare terms matching any part of the namespace, name or dimensions.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SearchQuery {
    /// `{Namespace, dimension names…}`.
    pub schema: Option<(String, Vec<String>)>,
    /// `Name="value"` terms (exact).
    pub properties: Vec<(String, String)>,
    /// Bare terms (substring, case-insensitive).
    pub terms: Vec<String>,
}

impl SearchQuery {
    /// Parses a search expression.
    ///
    /// # Errors
    /// Unbalanced braces or quotes.
    pub fn parse(s: &str) -> Result<SearchQuery, MathError> {
        let mut q = SearchQuery::default();
        let mut rest = s.trim();
        if let Some(after) = rest.strip_prefix('{') {
            let Some((inside, tail)) = after.split_once('}') else {
                return err("Invalid search expression: missing '}'.");
            };
            let mut parts = inside
                .split(',')
                .map(|p| p.trim().trim_matches('"').to_owned());
            let ns = parts.next().unwrap_or_default();
            q.schema = Some((ns, parts.filter(|p| !p.is_empty()).collect()));
            rest = tail.trim();
        }
        let mut chars = rest.chars().peekable();
        let mut word = String::new();
        let push = |word: &mut String, q: &mut SearchQuery| {
            if !word.is_empty() {
                q.terms.push(std::mem::take(word));
            }
        };
        while let Some(c) = chars.next() {
            match c {
                ' ' => push(&mut word, &mut q),
                '=' => {
                    let name = std::mem::take(&mut word);
                    let mut value = String::new();
                    match chars.peek() {
                        Some('"') => {
                            chars.next();
                            loop {
                                match chars.next() {
                                    Some('"') => break,
                                    Some(c) => value.push(c),
                                    None => return err("Invalid search expression: missing '\"'."),
                                }
                            }
                        }
                        _ => {
                            while let Some(c) = chars.peek().copied().filter(|c| *c != ' ') {
                                value.push(c);
                                chars.next();
                            }
                        }
                    }
                    q.properties
                        .push((name.trim_matches('"').to_owned(), value));
                }
                '"' => {}
                c => word.push(c),
            }
        }
        push(&mut word, &mut q);
        Ok(q)
    }

    /// Whether `m` matches.
    pub fn matches(&self, m: &MetricId) -> bool {
        if let Some((ns, dims)) = &self.schema {
            if &m.namespace != ns || m.dimensions.len() != dims.len() {
                return false;
            }
            if !dims
                .iter()
                .all(|d| m.dimensions.iter().any(|(n, _)| n == d))
            {
                return false;
            }
        }
        let props = self.properties.iter().all(|(k, v)| match k.as_str() {
            "MetricName" => &m.name == v,
            "Namespace" => &m.namespace == v,
            _ => m.dimensions.iter().any(|(n, dv)| n == k && dv == v),
        });
        let terms = self.terms.iter().all(|t| {
            let t = t.to_ascii_lowercase();
            m.name.to_ascii_lowercase().contains(&t)
                || m.namespace.to_ascii_lowercase().contains(&t)
                || m.dimensions.iter().any(|(n, v)| {
                    n.to_ascii_lowercase().contains(&t) || v.to_ascii_lowercase().contains(&t)
                })
        });
        props && terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx;
    fn s(label: &str, points: &[(i64, f64)]) -> Series {
        Series {
            label: label.into(),
            points: points.to_vec(),
        }
    }
    impl MathContext for Ctx {
        fn series(&self, id: &str) -> Option<MathValue> {
            match id {
                "m1" => Some(MathValue::Series(s(
                    "m1",
                    &[(0, 1.0), (60_000, 2.0), (120_000, 4.0)],
                ))),
                "m2" => Some(MathValue::Series(s("m2", &[(0, 10.0), (120_000, 20.0)]))),
                _ => None,
            }
        }
        fn metric_stats(&self) -> Vec<(String, Series)> {
            ["m1", "m2"]
                .iter()
                .map(|id| match self.series(id) {
                    Some(MathValue::Series(x)) => ((*id).to_owned(), x),
                    _ => unreachable!(),
                })
                .collect()
        }
        fn search(&self, q: &SearchQuery, _: &str, _: i64) -> Result<Vec<Series>, MathError> {
            Ok(vec![s(&format!("{:?}", q.properties), &[(0, 1.0)])])
        }
        fn grid(&self) -> Vec<i64> {
            vec![0, 60_000, 120_000]
        }
    }

    fn eval(e: &str) -> MathValue {
        evaluate(e, &Ctx).unwrap()
    }

    #[test]
    fn arithmetic_pairs_timestamps_and_respects_precedence() {
        assert_eq!(eval("1 + 2 * 3"), MathValue::Scalar(7.0));
        assert_eq!(eval("(1 + 2) * 3"), MathValue::Scalar(9.0));
        assert_eq!(eval("-2 + 5"), MathValue::Scalar(3.0));
        assert_eq!(
            eval("m1 + m2"),
            MathValue::Series(s("m1", &[(0, 11.0), (120_000, 24.0)]))
        );
        assert_eq!(
            eval("m1 * 100 / 2"),
            MathValue::Series(s("m1", &[(0, 50.0), (60_000, 100.0), (120_000, 200.0)]))
        );
        // Division by zero drops the point rather than writing infinity.
        assert_eq!(eval("m1 / 0"), MathValue::Series(s("m1", &[])));
    }

    #[test]
    fn functions() {
        assert_eq!(eval("SUM(m1)"), MathValue::Scalar(7.0));
        assert_eq!(eval("AVG(m2)"), MathValue::Scalar(15.0));
        assert_eq!(
            eval("SUM(METRICS())"),
            MathValue::Series(s("", &[(0, 11.0), (60_000, 2.0), (120_000, 24.0)]))
        );
        assert_eq!(
            eval("MAX(METRICS('2'))"),
            MathValue::Series(s("", &[(0, 10.0), (120_000, 20.0)]))
        );
        assert_eq!(
            eval("RATE(m1)"),
            MathValue::Series(s("m1", &[(60_000, 1.0 / 60.0), (120_000, 2.0 / 60.0)]))
        );
        assert_eq!(
            eval("FILL(m2, 0)"),
            MathValue::Series(s("m2", &[(0, 10.0), (60_000, 0.0), (120_000, 20.0)]))
        );
        assert_eq!(
            eval("FILL(m2, LINEAR)"),
            MathValue::Series(s("m2", &[(0, 10.0), (60_000, 15.0), (120_000, 20.0)]))
        );
        assert_eq!(
            eval("FILL(m2, REPEAT)"),
            MathValue::Series(s("m2", &[(0, 10.0), (60_000, 10.0), (120_000, 20.0)]))
        );
        match eval("SEARCH('{AWS/IoT,Protocol} MetricName=\"PublishIn.Success\"', 'Sum', 60)") {
            MathValue::Array(xs) => assert!(xs[0].label.contains("PublishIn.Success")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_problem() {
        for (e, msg) in [
            ("m3 + 1", "Unrecognized metric id"),
            ("NOPE(m1)", "Unrecognized function"),
            ("m1 +", "Unexpected end"),
            ("(m1", "Missing ')'"),
            ("m1 m2", "Syntax error"),
            ("m1 # 2", "Unrecognized character"),
            ("FILL(m1)", "Invalid arguments"),
            ("", "empty"),
        ] {
            let got = evaluate(e, &Ctx).unwrap_err().0;
            assert!(got.contains(msg), "{e}: {got}");
        }
    }

    #[test]
    fn search_expressions_match_schema_properties_and_terms() {
        let q = SearchQuery::parse("{AWS/IoT,Protocol} MetricName=\"PublishIn.Success\"").unwrap();
        let hit = MetricId::new(
            "AWS/IoT",
            "PublishIn.Success",
            vec![("Protocol".into(), "MQTT".into())],
        );
        assert!(q.matches(&hit));
        assert!(!q.matches(&MetricId::new("AWS/IoT", "PublishIn.Success", vec![])));
        assert!(!q.matches(&MetricId::new(
            "AWS/IoT",
            "Connect.Success",
            vec![("Protocol".into(), "MQTT".into())]
        )));
        let terms = SearchQuery::parse("publishin Protocol=HTTP").unwrap();
        assert!(!terms.matches(&hit));
        assert!(SearchQuery::parse("publishin").unwrap().matches(&hit));
        assert!(SearchQuery::parse("{AWS/IoT").is_err());
    }
}
