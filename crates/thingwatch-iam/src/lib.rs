//! `thingwatch-iam`: IAM for Thingwatch's control plane.
//!
//! * [`Iam`] — users, access keys, roles and inline policies on SQLite (`iam.sqlite3`),
//!   served from an in-memory snapshot of compiled policies; the decisions the server asks
//!   for: [`thingwatch_api::CredentialProvider`] (root key + Active user keys),
//!   [`Iam::authorize`], [`Iam::check_pass_role`], [`Iam::role_allows`], and the built-in
//!   logging role ([`Iam::ensure_builtin_logging_role`]).
//! * [`IamService`] — the `iam` API (awsQuery, version 2010-05-08) as a
//!   [`thingwatch_api::ServiceHandler`]; [`StsService`] — `sts` GetCallerIdentity.
//!
//! Code map: `model` (entities, ids, ARNs), `validate` (the iam model's constraints and
//! quotas), `store` (SQLite), `iam` (the handle, snapshot and decisions), `query` (awsQuery
//! form parsing and XML writing), `service` (the IAM operations), `sts`.
//!
//! Policy grammar and evaluation are `thingwatch_policy`'s (one evaluator for IoT and IAM).
//!
//! **API Boundary:** this crate knows the awsQuery wire shapes of `iam` and `sts`; the SigV4
//! layer and the error table are `thingwatch_api`'s.

mod error;
mod iam;
pub mod model;
mod query;
mod service;
mod store;
mod sts;
pub mod validate;

pub use error::{IamError, PassRoleError};
pub use iam::{
    BUILTIN_LOGGING_POLICY_NAME, BUILTIN_LOGGING_ROLE_NAME, BUILTIN_LOGGING_TRUST_POLICY,
    IOT_SERVICE_PRINCIPAL, Iam, IamSettings, InlinePolicy, NewRole, access_denied_message,
    builtin_logging_role_policy,
};
pub use model::{AccessKey, KeyStatus, Role, User};
pub use service::{IAM_XML_NAMESPACE, IamService};
pub use store::DB_FILE;
pub use sts::{STS_XML_NAMESPACE, StsService};
pub use thingwatch_policy::Decision;
