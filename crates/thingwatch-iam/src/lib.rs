//! `thingwatch-iam`: IAM for Thingwatch's control plane.
//!
//! * [`Iam`] — users, access keys, roles and inline policies on SQLite (`iam.sqlite3`),
//!   served from an in-memory snapshot of compiled policies; the decisions the server asks
//!   for: [`thingwatch_aws::CredentialProvider`] (root key + Active user keys),
//!   [`Iam::authorize`], [`Iam::check_pass_role`], [`Iam::role_allows`], and the built-in
//!   logging role ([`Iam::ensure_builtin_logging_role`]).
//!
//! The `iam` and `sts` APIs (awsQuery) over this crate are `thingwatch-iam-api`.
//!
//! Code map: `model` (entities, ids, ARNs), `validate` (the iam model's constraints and
//! quotas), `store` (SQLite), `iam` (the handle, snapshot and decisions).
//!
//! Policy grammar and evaluation are `thingwatch_policy`'s (one evaluator for IoT and IAM).
//!
//! **API Boundary:** no HTTP here. [`IamError::to_api_error`] maps onto the AWS error table
//! of `thingwatch_aws`.

mod error;
mod iam;
pub mod model;
mod store;
pub mod validate;

pub use error::{IamError, PassRoleError};
pub use iam::{
    BUILTIN_LOGGING_POLICY_NAME, BUILTIN_LOGGING_ROLE_NAME, BUILTIN_LOGGING_TRUST_POLICY,
    IOT_SERVICE_PRINCIPAL, Iam, IamSettings, InlinePolicy, NewRole, access_denied_message,
    builtin_logging_role_policy,
};
pub use model::{AccessKey, KeyStatus, Role, User};
pub use store::DB_FILE;
pub use thingwatch_policy::Decision;
