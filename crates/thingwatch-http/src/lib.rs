//! `thingwatch-http`: the single HTTP port of Thingwatch, serving every AWS API the platform
//! speaks (default `127.0.0.1:4580`).
//!
//! Requests are SigV4-verified ([`sigv4`]) and dispatched by the service in the credential
//! scope (`iot`, `iotdata`, `logs`, `iam`, `sts`, later `iot-jobs-data`, `monitoring`,
//! `cloudtrail`) to the [`ServiceHandler`] registered for it with
//! [`ApiState::with_service`]; services mount extra routes with [`ApiState::with_routes`].
//! Errors use each protocol's AWS error format ([`error`], over the table in
//! `thingwatch_aws::error`). Every call is reported to the API-call observers ([`observer`]).
//!
//! This crate knows no service: CloudWatch Logs is `thingwatch-logs-api`, the AWS IoT control
//! plane `thingwatch-iot-api`, the data plane `thingwatch-iotdata-api`, IAM and STS
//! `thingwatch-iam-api`.
//!
//! Module map:
//! - [`sigv4`] — the SigV4 verifier (header and presigned forms), injectable [`sigv4::Clock`].
//! - [`error`] — [`RenderError`] (an `ApiError` as a response), [`json_success`], SigV4
//!   failures as AWS errors.
//! - [`json`] — the JSON request-body parser every JSON service uses.
//! - [`server`] — [`ApiState`], [`router`], [`serve`], the dispatcher and the service
//!   extension point.
//! - [`rest`] — rest-json route tables, the path matcher and the query-string reader.
//! - [`observer`] — the API-call observer hook ([`ApiCallObserver`]): every call with its
//!   caller, operation, parameters and outcome (the audit trail's source).

pub mod error;
pub mod json;
pub mod observer;
pub mod rest;
pub mod server;
pub mod sigv4;

pub use error::{RenderError, json_success};
pub use observer::{ApiCall, ApiCallObserver, ApiCallOutcome, Caller};
pub use server::{
    ApiState, AwsRequest, DEFAULT_MAX_BODY_BYTES, HandlerFuture, KNOWN_SERVICES, RequestAuthorizer,
    RequestContext, ServiceHandler, iam_action_prefix, router, serve,
};
pub use sigv4::{Clock, FixedClock, SystemClock};
pub use thingwatch_aws::{
    ApiError, CredentialProvider, ErrorCode, Principal, Protocol, StaticCredentials,
};
