//! `thingwatch-aws`: the AWS-wide vocabulary every Thingwatch service shares, so that no
//! service builds an ARN with `format!` or invents its own pagination token.
//!
//! - [`Scope`] — the account and region a server serves (every resource ARN carries both).
//! - [`Arn`] — Amazon Resource Names: parsed and printed in AWS's form
//!   (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`), with a typed constructor for every
//!   resource kind Thingwatch hosts or will host (AWS IoT, IAM, STS, CloudWatch Logs,
//!   CloudWatch, SNS).
//! - [`page_token`] — the one pagination-token scheme: opaque, tagged with the operation it
//!   belongs to, resuming strictly after the last key of the previous page.
//!
//! No I/O, no HTTP: domain crates and API crates both depend on it.

pub mod arn;
pub mod page_token;

pub use arn::{Arn, ArnError, IotKind, Scope};
pub use page_token::{Alphabet, InvalidToken};
