//! Thingwatch's AWS IoT SQL: the query language of topic rules, as the AWS IoT SQL reference
//! (iot-sql-reference.html and its pages) defines it — a pure domain crate with no I/O.
//!
//! # Model
//! - [`Value`] is the rules engine's value: Int, Decimal, String, Array, Object (ordered),
//!   Boolean, Null and **Undefined** (a missing key or a failed conversion; omitted from JSON
//!   output). Operators and functions convert their arguments by the *Data types* tables and
//!   yield Undefined, never an error, for what they cannot convert.
//! - [`Statement::parse`] parses and validates `SELECT … FROM 'topic/filter' WHERE …` for a
//!   [`SqlVersion`] (`2015-10-08`, `2016-03-23`, `beta`). Unknown functions, wrong argument
//!   counts and features newer than the version fail here with a [`SqlParseError`], as
//!   CreateTopicRule's `SqlParseException` does.
//! - [`Statement::evaluate`] runs it on a [`Message`] (topic, payload bytes, MQTT 5
//!   properties) with a [`Context`] (client ID, principal, clock, randomness, and the
//!   external functions such as `get_thing_shadow`), giving `None` (FROM does not match,
//!   WHERE not true) or an [`Output`] (a JSON value, or the raw bytes of a binary payload).
//! - [`Template`] / [`substitute`] render `${expression}` substitution templates in action
//!   parameters.
//!
//! **Architecture Invariant:** nothing here does I/O or knows the rules engine's actions or
//! logging; everything that leaves the process goes through [`Context`].

mod ast;
mod error;
mod eval;
mod functions;
mod lexer;
mod ops;
mod parser;
mod template;
mod timefmt;
mod topic;
mod value;
mod version;

pub use error::{EvalError, ParseErrorKind, Pos, SqlParseError};
pub use eval::{Context, Message, MqttProperties, Output, Statement, TestContext};
pub use functions::function_names;
pub use template::{SubstitutionError, Template, substitute};
pub use topic::{InvalidTopicFilter, TopicFilter};
pub use value::{Object, Value};
pub use version::SqlVersion;
