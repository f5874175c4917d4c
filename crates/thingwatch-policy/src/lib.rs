//! The AWS policy language, written once and shared by AWS IoT Core policies and IAM (identity
//! policies and role trust policies): parse and validate a JSON document into a compiled
//! [`PolicyDocument`], then answer [`Request`]s with [`evaluate`] → [`Decision`].
//!
//! ```
//! use thingwatch_policy::{evaluate, Decision, PolicyDocument, PolicyKind, Request};
//!
//! let doc = PolicyDocument::parse(r#"{
//!   "Version": "2012-10-17",
//!   "Statement": [{
//!     "Effect": "Allow",
//!     "Action": "iot:Connect",
//!     "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"
//!   }]
//! }"#, PolicyKind::IotPolicy)?;
//! let req = Request::new("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/sensor-1")
//!     .with("iot:Connection.Thing.ThingName", "sensor-1");
//! assert_eq!(evaluate([&doc], &req), Decision::Allow);
//! # Ok::<(), thingwatch_policy::PolicyError>(())
//! ```
//!
//! Code map: `document` (grammar, validation per [`PolicyKind`], per-document evaluation),
//! `pattern` (policy strings: literals, `*`/`?`, `${variables}`), `glob` (the wildcard
//! matcher), `condition` (operators), `request` ([`Request`], [`Context`], [`Principal`]),
//! `eval` ([`Decision`]), [`limits`] (documented size limits), [`iot`] (AWS IoT actions, ARNs and
//! context keys).
//!
//! **Architecture Invariant:** pure library — no I/O, no storage, no clock; everything that is
//! compiled (patterns, operators, CIDRs, numbers, dates) is compiled in
//! [`PolicyDocument::parse`], so evaluation never re-reads the policy (only request values a
//! numeric, date or IP condition compares are parsed) and allocates nothing for patterns of up
//! to 8 pieces.
//!
//! **API Boundary:** this crate knows the policy grammar and evaluation rules, not the wire:
//! callers map [`PolicyError`] to `MalformedPolicyException` (AWS IoT) or
//! `MalformedPolicyDocument` / `LimitExceeded` (IAM), and build the request context (client ID,
//! thing name, source IP, user name …) from the connection or the signed API call.

mod condition;
mod document;
mod error;
mod eval;
mod glob;
pub mod iot;
pub mod limits;
mod pattern;
mod request;

pub use document::{Effect, PolicyDocument, PolicyKind, PolicyVersion};
pub use error::PolicyError;
pub use eval::{Decision, evaluate};
pub use request::{Context, Principal, Request};
