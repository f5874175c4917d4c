//! Thingwatch's AWS IoT SQL: the query language of topic rules, as the AWS IoT SQL reference
//! (iot-sql-reference.html and its pages) defines it — a pure domain crate with no I/O.
//!
//! # Model
//! - [`Value`] is the rules engine's value: Int, Decimal, String, Array, Object (ordered),
//!   Boolean, Null and **Undefined** (a missing key or a failed conversion; omitted from JSON
//!   output). Operators and functions convert their arguments by the *Data types* tables and
//!   yield Undefined, never an error, for what they cannot convert.
//! - [`Statement::parse`] parses and validates `[SET @v = …] SELECT … FROM 'topic/filter'
//!   WHERE …` for a
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
//! # Where Thingwatch differs from (or guesses at) AWS
//! - Numbers are `i64`/`f64`, not AWS's 34-digit decimals; math results print with Rust's
//!   shortest round-trip digits (`1e-7`, where Java would print `1.0E-7`).
//! - `parse_time`/`time_to_epoch` know `UTC`/`GMT` and fixed offsets only; region zones
//!   (`America/Belize`) make them Undefined. Regular expressions use the `regex` crate's
//!   syntax (no look-around or back-references), replacement strings are translated from
//!   Java's `$1`.
//! - `decode(…, 'proto')` (Protobuf) is not supported (Undefined).
//! - Not documented by AWS, chosen here: `CASE WHEN cond THEN …` (searched form) is accepted;
//!   `AND`/`OR` are false/true as soon as one side decides it, even if the other is not
//!   Boolean; an unaliased computed SELECT item is named after its function (`topic`) or
//!   its position (`_2`); `AS a.b` builds the nested object `{"a":{"b":…}}`; `a[i]` indexes
//!   arrays; in a nested query `FROM e AS x` (or the source's own name) names the element;
//!   a nested query over an Object yields that object's result, not an array;
//!   `get_or_default` treats Null like Undefined; `regexp_substr` without a match is `""`;
//!   `bitnot` is a 64-bit NOT (`bitnot(13) = -14`, where the guide's example says 2).
//! - Wrong argument counts are parse errors (the brief of this crate), where the *Data types*
//!   page says functions with a wrong number of arguments return Undefined.
//! - The text of [`SqlParseError`] imitates AWS's `SqlParseException` style; AWS's exact
//!   messages are not documented.
//!
//! **Architecture Invariant:** nothing here does I/O or knows the rules engine's actions or
//! logging; everything that leaves the process goes through [`Context`].

#![warn(missing_docs)]

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
pub use eval::{
    Context, Matched, Message, MqttProperties, Output, Statement, TestContext, Variables,
};
pub use functions::function_names;
pub use template::{SubstitutionError, Template, substitute};
pub use topic::{InvalidTopicFilter, TopicFilter};
pub use value::{Object, Value};
pub use version::SqlVersion;
