//! CloudWatch Logs filter patterns (FilterLogEvents, metric/subscription filters, Live Tail).
//!
//! Syntax source: CloudWatch Logs User Guide, "Filter pattern syntax for metric filters,
//! subscription filters, filter log events, and Live Tail" (`FilterAndPatternSyntax.html`),
//! summarised in `reference/aws-wire.md` §8.
//!
//! Pipeline: `lexer` turns a JSON pattern body into tokens; `parser` builds the AST
//! ([`Pattern`]) by recursive descent; matching is in `json` (selective, allocation-light JSON
//! walk with serde) and here (term patterns with precompiled substring finders). Before the
//! serde walk, a JSON pattern's necessary conditions are checked on the raw bytes: required
//! literals, and the value written after each quoted selector key (`json::raw_value_may_pass`;
//! the store applies the same check block-wide through [`Anchor`]s). See
//! `docs/decisions/0005-json-value-precheck.md`.
//!
//! Supported now: unstructured terms (AND), quoted phrases, `?term` (OR), `-term` (exclusion);
//! JSON patterns `{ … }` with `$.a.b` / `$.a[0].b` selectors, `=`/`!=` on strings with `*`
//! wildcards, numeric `= != < > <= >=`, `&&` (binds tighter), `||`, parentheses, `IS NULL`,
//! `NOT EXISTS`, `IS TRUE`, `IS FALSE`; `%regex%` as a whole pattern or as a JSON `=`/`!=`
//! value (at most [`MAX_REGEXES`], no parentheses, as AWS documents). Not yet: space-delimited
//! `[…]` patterns, rejected with a [`PatternError`] saying so (the AST has room for them).
//!
//! Matching is case-sensitive. A JSON pattern never matches a non-JSON message; a selector that
//! hits an object or array matches neither `=` nor `!=`.

mod json;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use memchr::memmem::Finder;

/// At most this many `%regex%` per filter pattern (filter-pattern syntax guide, "Using regex
/// to match terms in unstructured log events").
pub const MAX_REGEXES: usize = 2;

/// A compiled `%regex%` of a filter pattern, matched as "contains a match" (unanchored unless
/// the regex uses `^`/`$`).
#[derive(Debug, Clone)]
pub struct RegexValue(regex::bytes::Regex);

impl PartialEq for RegexValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl RegexValue {
    /// Compiles the body of `%…%`. AWS allows no parentheses in filter-pattern regexes.
    pub(crate) fn new(body: &str) -> Result<RegexValue, PatternError> {
        if body.contains(['(', ')']) {
            return Err(PatternError::new(format!(
                "regular expression %{body}% must not contain parentheses"
            )));
        }
        if body.is_empty() {
            return Err(PatternError::new("empty regular expression %%"));
        }
        regex::bytes::Regex::new(body)
            .map(RegexValue)
            .map_err(|e| PatternError::new(format!("invalid regular expression %{body}%: {e}")))
    }

    /// Whether `hay` contains a match.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        self.0.is_match(hay)
    }
}

/// A filter-pattern syntax error, shown to users as an `InvalidParameterException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid filter pattern: {message}")]
pub struct PatternError {
    message: String,
}

impl PatternError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        PatternError {
            message: message.into(),
        }
    }

    /// The detail without the "Invalid filter pattern: " prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Parses a filter pattern. An empty or all-whitespace pattern matches every event.
///
/// Errors: [`PatternError`] describing the first syntax problem (or an unsupported form).
pub fn parse(pattern: &str) -> Result<FilterPattern, PatternError> {
    parser::parse(pattern).map(|ast| FilterPattern { ast })
}

/// A parsed filter pattern, ready to match messages. Cheap to share (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct FilterPattern {
    ast: Pattern,
}

impl FilterPattern {
    /// Whether `message` matches the pattern.
    pub fn matches(&self, message: &str) -> bool {
        self.matches_bytes(message.as_bytes())
    }

    /// Like [`FilterPattern::matches`] on the raw UTF-8 bytes of a message (the store's scan
    /// path; avoids a UTF-8 validation pass for term patterns).
    pub fn matches_bytes(&self, message: &[u8]) -> bool {
        match &self.ast {
            Pattern::All => true,
            Pattern::Terms(t) => t.matches(message),
            Pattern::Regex(r) => r.is_match(message),
            Pattern::Json(j) => j.matches(message),
        }
    }

    /// Literals every matching message contains, for block-level pre-filtering: the scan
    /// searches a whole block for one of them at once (picking the rarest it sees) and only
    /// evaluates messages holding an occurrence the [`Anchor`] accepts. The flag says a literal
    /// may be absent from a matching message that contains `\` escapes (JSON patterns), so
    /// such messages must be evaluated too. Empty when the pattern has no such literal.
    pub fn anchors(&self) -> (Vec<Anchor<'_>>, bool) {
        let literal = |finder| Anchor { finder, test: None };
        match &self.ast {
            Pattern::All | Pattern::Regex(_) => (Vec::new(), false),
            Pattern::Terms(t) => (
                t.required.iter().map(|t| literal(&t.finder)).collect(),
                false,
            ),
            Pattern::Json(j) => {
                fn one(r: &Req) -> Option<Anchor<'_>> {
                    match r {
                        Req::Contains(f) => Some(Anchor {
                            finder: f,
                            test: None,
                        }),
                        Req::Value { key, test } => Some(Anchor {
                            finder: key,
                            test: Some(test),
                        }),
                        _ => None,
                    }
                }
                let v = match &j.precheck {
                    Req::All(v) => v.iter().filter_map(one).collect(),
                    r => one(r).into_iter().collect(),
                };
                (v, true)
            }
        }
    }

    /// The parsed form (for diagnostics and tests).
    pub fn ast(&self) -> &Pattern {
        &self.ast
    }
}

/// The AST of a filter pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Empty pattern: matches everything.
    All,
    /// Unstructured term pattern.
    Terms(TermPattern),
    /// A whole-pattern `%regex%`: events containing a match.
    Regex(RegexValue),
    /// JSON pattern `{ … }`.
    Json(JsonPattern),
}

/// One term of an unstructured pattern (a bare word or a quoted phrase), matched as a
/// case-sensitive substring.
#[derive(Debug, Clone)]
pub struct Term {
    /// The literal text.
    pub text: String,
    finder: Finder<'static>,
}

impl Term {
    pub(crate) fn new(text: String) -> Term {
        let finder = Finder::new(text.as_bytes()).into_owned();
        Term { text, finder }
    }
    fn found_in(&self, hay: &[u8]) -> bool {
        self.finder.find(hay).is_some()
    }
}

/// Unstructured pattern: every `required` term appears, at least one `optional` (`?term`)
/// term appears if there are any, and no `excluded` (`-term`) term appears.
#[derive(Debug, Clone, Default)]
pub struct TermPattern {
    /// Plain terms (AND).
    pub required: Vec<Term>,
    /// `?term`s (OR).
    pub optional: Vec<Term>,
    /// `-term`s (NOT).
    pub excluded: Vec<Term>,
}

impl TermPattern {
    fn matches(&self, msg: &[u8]) -> bool {
        self.required.iter().all(|t| t.found_in(msg))
            && (self.optional.is_empty() || self.optional.iter().any(|t| t.found_in(msg)))
            && !self.excluded.iter().any(|t| t.found_in(msg))
    }
}

/// A JSON selector path step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// `.name`
    Key(String),
    /// `[n]`
    Index(usize),
}

/// Comparison operators of JSON (and later space-delimited) patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

/// A string value with `*` wildcards (matches any run of characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The literal pieces between `*`s.
    pub parts: Vec<String>,
    /// No leading `*`.
    pub anchored_start: bool,
    /// No trailing `*`.
    pub anchored_end: bool,
}

impl Glob {
    pub(crate) fn new(s: &str) -> Glob {
        let parts: Vec<String> = s.split('*').map(str::to_string).collect();
        Glob {
            anchored_start: !s.starts_with('*'),
            anchored_end: !s.ends_with('*'),
            parts: parts.into_iter().filter(|p| !p.is_empty()).collect(),
        }
    }

    fn is_exact(&self) -> bool {
        self.anchored_start && self.anchored_end && self.parts.len() <= 1
    }

    /// Whether `text` matches the whole glob.
    pub fn matches(&self, text: &str) -> bool {
        let parts = &self.parts;
        let n = parts.len();
        if self.is_exact() {
            return parts.first().map_or("", String::as_str) == text;
        }
        let mut rest = text;
        let mut next = 0;
        if self.anchored_start {
            match parts.first().and_then(|p| rest.strip_prefix(p.as_str())) {
                Some(r) => rest = r,
                None => return false,
            }
            next = 1;
        }
        // The last piece of an end-anchored glob must be a suffix of what is left.
        let middle_end = if self.anchored_end && n > next {
            n - 1
        } else {
            n
        };
        for part in &parts[next.min(middle_end)..middle_end] {
            match rest.find(part.as_str()) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        if self.anchored_end && n > next {
            return parts.last().is_some_and(|p| rest.ends_with(p.as_str()));
        }
        true
    }
}

/// What a JSON condition tests on the selected value.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `= value` / `!= value` with a string (quoted, or bare non-numeric), `*` wildcards.
    Str {
        /// The value.
        glob: Glob,
        /// `!=`.
        negate: bool,
    },
    /// Comparison with a numeric literal. `=`/`!=` also match a JSON string spelled exactly
    /// like the literal.
    Num {
        /// Operator.
        op: CmpOp,
        /// The literal's value.
        value: f64,
        /// The literal as written (without a leading `+`).
        text: String,
    },
    /// `= %regex%` / `!= %regex%` on a string value (the value contains a match).
    Regex {
        /// The regex.
        re: RegexValue,
        /// `!=`.
        negate: bool,
    },
    /// `IS NULL`
    IsNull,
    /// `NOT EXISTS`
    NotExists,
    /// `IS TRUE`
    IsTrue,
    /// `IS FALSE`
    IsFalse,
}

/// A JSON pattern expression.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpr {
    /// All must hold (`&&`).
    And(Vec<JsonExpr>),
    /// Any must hold (`||`).
    Or(Vec<JsonExpr>),
    /// `selector test`; `selector` indexes [`JsonPattern::selectors`].
    Cond {
        /// Index into [`JsonPattern::selectors`].
        selector: usize,
        /// The test.
        test: Test,
    },
}

/// A compiled JSON pattern: the expression, its distinct selectors and a substring pre-check.
#[derive(Debug, Clone)]
pub struct JsonPattern {
    /// The expression.
    pub expr: JsonExpr,
    /// Distinct selector paths (`$.a.b` → `[Key(a), Key(b)]`).
    pub selectors: Vec<Vec<Step>>,
    trie: json::Trie,
    precheck: Req,
}

/// A literal every matching message contains (see [`FilterPattern::anchors`]), optionally
/// with a condition on the JSON value written after it.
#[derive(Debug, Clone, Copy)]
pub struct Anchor<'p> {
    finder: &'p Finder<'static>,
    /// For a quoted JSON key: the condition its value must be able to pass.
    test: Option<&'p Test>,
}

impl Anchor<'_> {
    /// The literal's searcher.
    pub fn finder(&self) -> &Finder<'static> {
        self.finder
    }

    /// Whether [`Anchor::accepts`] reads the JSON value after each occurrence (costlier than
    /// finding the literal).
    pub fn checks_value(&self) -> bool {
        self.test.is_some()
    }

    /// Whether the occurrence of the literal at byte `at` of `hay` (a message without `\`
    /// escapes, or several such messages back to back) may belong to a matching message:
    /// always for plain literals; for a quoted JSON key, `false` when the value written after
    /// it certainly fails the pattern's condition on that key (or it is not a key).
    pub fn accepts(&self, hay: &[u8], at: usize) -> bool {
        match self.test {
            None => true,
            Some(t) => json::raw_value_at(self.finder.needle().len(), t, hay, at),
        }
    }
}

/// A necessary condition on the raw message bytes, valid when the message has no `\` escapes.
#[derive(Debug, Clone)]
enum Req {
    True,
    Contains(Box<Finder<'static>>),
    /// Some occurrence of the quoted key `key` followed by `:` has a value passing `test`
    /// (see [`json::raw_value_may_pass`]). `test` is never `NOT EXISTS`.
    Value {
        key: Box<Finder<'static>>,
        test: Box<Test>,
    },
    All(Vec<Req>),
    Any(Vec<Req>),
}

impl Req {
    fn holds(&self, msg: &[u8]) -> bool {
        match self {
            Req::True => true,
            Req::Contains(f) => f.find(msg).is_some(),
            Req::Value { key, test } => json::raw_value_may_pass(key, test, msg),
            Req::All(v) => v.iter().all(|r| r.holds(msg)),
            Req::Any(v) => v.iter().any(|r| r.holds(msg)),
        }
    }

    fn contains(s: &str) -> Req {
        Req::Contains(Box::new(Finder::new(s.as_bytes()).into_owned()))
    }

    fn simplify(self) -> Req {
        match self {
            Req::All(v) => {
                // Flattened, so that the literals of every `&&` operand are anchors.
                let v: Vec<Req> = v
                    .into_iter()
                    .map(Req::simplify)
                    .flat_map(|r| match r {
                        Req::All(inner) => inner,
                        r => vec![r],
                    })
                    .filter(|r| !matches!(r, Req::True))
                    .collect();
                match v.len() {
                    0 => Req::True,
                    1 => v.into_iter().next().unwrap_or(Req::True),
                    _ => Req::All(v),
                }
            }
            Req::Any(v) => {
                let v: Vec<Req> = v.into_iter().map(Req::simplify).collect();
                if v.is_empty() || v.iter().any(|r| matches!(r, Req::True)) {
                    Req::True
                } else {
                    Req::Any(v)
                }
            }
            r => r,
        }
    }
}

impl JsonPattern {
    pub(crate) fn new(expr: JsonExpr, selectors: Vec<Vec<Step>>) -> JsonPattern {
        let trie = json::Trie::build(&selectors);
        let precheck = Self::req(&expr, &selectors).simplify();
        JsonPattern {
            expr,
            selectors,
            trie,
            precheck,
        }
    }

    /// Substrings any matching message must contain (absent `\` escapes): the quoted last key
    /// of every selector that must exist, and the literal pieces of `=` string values.
    fn req(e: &JsonExpr, sels: &[Vec<Step>]) -> Req {
        match e {
            JsonExpr::And(v) => Req::All(v.iter().map(|x| Self::req(x, sels)).collect()),
            JsonExpr::Or(v) => Req::Any(v.iter().map(|x| Self::req(x, sels)).collect()),
            JsonExpr::Cond { selector, test } => {
                if matches!(test, Test::NotExists) {
                    return Req::True;
                }
                let mut all = Vec::new();
                if let Some(Step::Key(k)) = sels.get(*selector).and_then(|s| s.last()) {
                    // Implies that the quoted key occurs; also tests the value written after
                    // it, which spares the full parse of most messages that fail the test.
                    all.push(Req::Value {
                        key: Box::new(Finder::new(format!("\"{k}\"").as_bytes()).into_owned()),
                        test: Box::new(test.clone()),
                    });
                }
                if let Test::Str {
                    glob,
                    negate: false,
                } = test
                {
                    if glob.is_exact() {
                        // Only a JSON string can equal it textually if it isn't a number/bool.
                        let text = glob.parts.first().map_or("", String::as_str);
                        if !matches!(text, "true" | "false" | "null")
                            && text.parse::<f64>().is_err()
                        {
                            all.push(Req::contains(&format!("\"{text}\"")));
                        }
                    } else {
                        // A number's text is `num_text` of its value (digits, `-`, `.`), not
                        // necessarily its raw spelling (`1e2` is "100"): only pieces that no
                        // number's text can contain must appear verbatim.
                        all.extend(
                            glob.parts
                                .iter()
                                .filter(|p| {
                                    p.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'-' | b'.'))
                                })
                                .map(|p| Req::contains(p)),
                        );
                    }
                }
                Req::All(all)
            }
        }
    }

    fn matches(&self, msg: &[u8]) -> bool {
        let first = msg.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return false;
        }
        if memchr::memchr(b'\\', msg).is_none() && !self.precheck.holds(msg) {
            return false;
        }
        match json::extract(&self.trie, self.selectors.len(), msg) {
            Some(found) => eval(&self.expr, &found),
            None => false,
        }
    }
}

#[cfg(test)]
impl FilterPattern {
    /// The verdict of the full JSON parse alone (no raw-byte pre-check), for tests that prove
    /// the pre-check never rejects a real match.
    pub(crate) fn matches_unfiltered(&self, msg: &[u8]) -> bool {
        match &self.ast {
            Pattern::Json(j) => {
                msg.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
                    && json::extract(&j.trie, j.selectors.len(), msg)
                        .is_some_and(|found| eval(&j.expr, &found))
            }
            _ => self.matches_bytes(msg),
        }
    }
}

fn eval(e: &JsonExpr, found: &[json::Found<'_>]) -> bool {
    match e {
        JsonExpr::And(v) => v.iter().all(|x| eval(x, found)),
        JsonExpr::Or(v) => v.iter().any(|x| eval(x, found)),
        JsonExpr::Cond { selector, test } => {
            let f = found.get(*selector).unwrap_or(&json::Found::Missing);
            json::test(test, f)
        }
    }
}
