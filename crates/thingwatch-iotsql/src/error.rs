//! Errors of the language: [`SqlParseError`] (a statement or template that does not parse or
//! validate, AWS's `SqlParseException`), [`EvalError`] (an external function that failed
//! while a message was evaluated).

use std::fmt;

/// A 1-based position in the SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What went wrong in a statement that does not parse.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseErrorKind {
    /// The parser needed one token type and found another.
    UnexpectedToken {
        /// What was expected (a token type or a description).
        expected: String,
        /// The token found.
        found: String,
    },
    /// A function name that AWS IoT SQL does not have.
    UnknownFunction(String),
    /// A known function called with a number of arguments it does not take.
    WrongArity {
        /// The function.
        function: String,
        /// The accepted counts, e.g. `1` or `2 or 3`.
        expected: String,
        /// The count given.
        got: usize,
    },
    /// A feature (function, literal, nested query, cast type) newer than the rule's SQL
    /// version.
    NotInVersion {
        /// The feature.
        feature: String,
        /// The rule's SQL version.
        version: String,
    },
    /// `awsIotSqlVersion` is not one AWS knows.
    UnknownSqlVersion(String),
    /// The type after `AS` in `cast(x AS type)` is not a cast keyword.
    UnknownCastType(String),
    /// A string literal without its closing quote.
    UnterminatedString,
    /// A backslash escape that is not defined.
    InvalidEscape(String),
    /// A malformed number literal.
    InvalidNumber(String),
    /// A character that starts no token.
    InvalidCharacter(char),
    /// The FROM topic filter is not a valid MQTT topic filter.
    InvalidTopicFilter(String),
    /// A literal argument that must be a literal string (an encoding scheme) is not one.
    InvalidArgument(String),
    /// Expressions nested deeper than the parser allows.
    TooDeep,
    /// A variable name that is empty or longer than 64 characters.
    InvalidVariable(String),
    /// A variable used before (or without) its SET assignment.
    UnknownVariable(String),
    /// A variable assigned twice (variables are immutable).
    DuplicateVariable(String),
}

/// A SQL statement (or substitution template) that cannot be used, with where the problem is.
///
/// `Display` reads like AWS's `SqlParseException` messages ("Expected a token of type …",
/// "Unknown function: …") followed by ` at line:column`. AWS's exact wording is not
/// documented for every case; these messages are Thingwatch's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} at {pos}")]
pub struct SqlParseError {
    /// The problem.
    pub kind: ParseErrorKind,
    /// Where it starts.
    pub pos: Pos,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedToken { expected, found } => {
                write!(f, "Expected a token of type {expected} but got {found}")
            }
            Self::UnknownFunction(n) => write!(f, "Unknown function: '{n}'"),
            Self::WrongArity {
                function,
                expected,
                got,
            } => write!(
                f,
                "Wrong number of arguments for function '{function}': expected {expected}, got {got}"
            ),
            Self::NotInVersion { feature, version } => {
                write!(f, "{feature} is not supported by SQL version {version}")
            }
            Self::UnknownSqlVersion(v) => write!(f, "Unknown SQL version: '{v}'"),
            Self::UnknownCastType(t) => write!(f, "Unknown cast type: '{t}'"),
            Self::UnterminatedString => f.write_str("Unterminated string literal"),
            Self::InvalidEscape(e) => write!(f, "Invalid escape sequence '{e}' in string literal"),
            Self::InvalidNumber(n) => write!(f, "Invalid number literal '{n}'"),
            Self::InvalidCharacter(c) => write!(f, "Unexpected character '{c}'"),
            Self::InvalidTopicFilter(t) => write!(f, "Invalid topic filter in FROM clause: '{t}'"),
            Self::InvalidArgument(m) => f.write_str(m),
            Self::TooDeep => f.write_str("Expression is nested too deeply"),
            Self::InvalidVariable(v) => write!(f, "Invalid variable name: '{v}'"),
            Self::UnknownVariable(v) => write!(f, "Undefined variable: '@{v}'"),
            Self::DuplicateVariable(v) => write!(f, "Variable '@{v}' is already defined"),
        }
    }
}

/// A failure while evaluating a statement on one message. Type mismatches are never errors
/// (they yield `Undefined`); only external functions fail this way, and the rules engine then
/// runs no action (and logs the failure).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// An external function (`aws_lambda`, `get_dynamodb`, `get_secret`, `get_thing_shadow`,
    /// `machinelearning_predict`, `get_registry_data`) failed.
    #[error("function {function} failed: {message}")]
    External {
        /// The SQL function name.
        function: &'static str,
        /// Why.
        message: String,
    },
    /// `get_dynamodb()` was called more than once in one statement (*Functions*,
    /// get_dynamodb: "a maximum of one time per SQL statement").
    #[error("get_dynamodb() can be called at most once per SQL statement")]
    TooManyDynamoDbCalls,
}
