//! `thingwatch-wire`: the AWS protocol document model. A request of any protocol becomes one
//! [`Value`] tree that a service reads with a [`Reader`]; a service's output [`Value`] is
//! written back in the caller's protocol.
//!
//! Services that accept several protocols on one operation set — CloudWatch (`monitoring`:
//! Smithy RPC v2 CBOR, AWS JSON 1.0, awsQuery; botocore model `protocols`) and SNS
//! (awsQuery) — implement each operation once over this model:
//! * [`json`] — AWS JSON 1.0/1.1 bodies;
//! * [`cbor`] — Smithy RPC v2 CBOR bodies (ciborium);
//! * [`query`] — awsQuery form requests and XML responses (quick-xml).
//!
//! **API Boundary:** no HTTP here: headers, statuses and routing are the HTTP crate's and
//! the API crates'; errors are `thingwatch_aws` [`ApiError`](thingwatch_aws::error::ApiError)s.

pub mod cbor;
pub mod json;
pub mod query;
mod value;

pub use value::{Reader, Value, format_timestamp, parse_timestamp};
