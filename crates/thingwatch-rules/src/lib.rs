//! The AWS IoT rules engine (AWS IoT Developer Guide, *Rules for AWS IoT*).
//!
//! - [`model`]: a topic rule (`TopicRulePayload`) and its compiled form — the SQL
//!   ([`thingwatch_iotsql`]) and typed actions with their substitution templates.
//! - [`registry`]: the control plane's state ([`Rules`]): rules and topic rule destinations
//!   in SQLite, the compiled rule table the engine reads.
//! - [`destinations`]: topic rule destinations (HTTP URLs), their states and the
//!   confirmation handshake.
//! - [`engine`]: the engine, a message observer of the broker's ingress ([`RulesEngine`]): for
//!   each accepted message, every enabled rule whose FROM filter matches (or the one rule a
//!   Basic Ingest topic names) is evaluated and its actions run, each step logged
//!   (`RuleMatch`, `StartingRuleExecution`, `RuleExecution`, `RuleNotFound`,
//!   `RuleMessageThrottled`, `FunctionExecution`) and counted (`AWS/IoT` rule metrics).

#![warn(missing_docs)]

pub mod destinations;
pub mod engine;
pub mod error;
pub mod model;
pub mod registry;

pub use destinations::{ConfirmationMessage, Destination, DestinationStatus};
pub use engine::{EngineHandle, RoleAuthority, RuleCounters, RulesEngine, ShadowReader, Targets};
pub use error::RulesError;
pub use model::{CompiledRule, RuleAction, RuleTable, TopicRule};
pub use registry::{RuleFilter, Rules, RulesSettings};
