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
//! - [`credentials`] — [`Principal`] (who an access key id is), [`CredentialProvider`] (the
//!   lookup SigV4 verification uses), [`StaticCredentials`] (the configured root key).
//! - [`error`] — the AWS error table ([`ErrorCode`], one variant per code, with its fault
//!   side and HTTP status per [`Protocol`]) and [`ApiError`] with each protocol's wire form
//!   ([`ApiError::to_wire`]).
//! - [`names`] — validated resource names ([`ThingName`]) and the constraint each violates.
//! - [`validate`] — the AWS request-validation messages (`1 validation error detected: …`).
//!
//! No I/O, no HTTP framework: domain crates and API crates both depend on it. The HTTP
//! layer (`thingwatch-http`) turns [`WireError`]s into responses and verifies SigV4.

pub mod arn;
pub mod credentials;
pub mod error;
pub mod names;
pub mod page_token;
pub mod validate;

pub use arn::{Arn, ArnError, IotKind, Scope};
pub use credentials::{CredentialProvider, Principal, StaticCredentials};
pub use error::{ApiError, ErrorCode, Fault, Protocol, WireError};
pub use names::{NameViolation, ThingName};
pub use page_token::{Alphabet, InvalidToken};
