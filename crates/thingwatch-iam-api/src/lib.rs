//! `thingwatch-iam-api`: the `iam` (awsQuery, version 2010-05-08) and `sts` (version
//! 2011-06-15, GetCallerIdentity) APIs over `thingwatch_iam::Iam`, as
//! `thingwatch_http::ServiceHandler`s.
//!
//! * [`IamService`] — users, access keys, roles and inline user/role policies; every call is
//!   authorized against the resource ARN the IAM Service Authorization Reference names.
//! * [`StsService`] — GetCallerIdentity.
//!
//! Code map: `query` (awsQuery form parsing and the XML response writer), `service` (the IAM
//! operations), `sts`.
//!
//! **API Boundary:** this crate knows the awsQuery wire shapes of `iam` and `sts`; IAM's
//! entities, storage and decisions are `thingwatch_iam`'s (no HTTP), the SigV4 layer is
//! `thingwatch_http`'s and the error table `thingwatch_aws`'s.

mod query;
mod service;
mod sts;

pub use service::{IAM_XML_NAMESPACE, IamService};
pub use sts::{STS_XML_NAMESPACE, StsService};
