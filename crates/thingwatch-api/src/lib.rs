//! `thingwatch-api`: the single HTTP port of Thingwatch, serving every AWS API the platform
//! speaks (default `127.0.0.1:4580`).
//!
//! Requests are dispatched by the service in the SigV4 credential scope (`iot`, `iotdata`,
//! `iot-jobs-data`, `logs`, `monitoring`, `cloudtrail`), then by route or `X-Amz-Target`.
//! Every request is SigV4-verified ([`sigv4`]); errors use each protocol's AWS error format
//! ([`error`]). This crate implements the layer, the CloudWatch Logs API ([`logs`]) and the
//! AWS IoT control plane ([`iot`], registered with [`ApiState::with_service`]); other services
//! plug in the same way through [`ServiceHandler`].
//!
//! Module map:
//! - [`credentials`] — [`Principal`], [`CredentialProvider`], [`StaticCredentials`].
//! - [`sigv4`] — the SigV4 verifier (header and presigned forms), injectable [`sigv4::Clock`].
//! - [`error`] — the AWS error table ([`ErrorCode`]) and per-protocol renderers.
//! - [`server`] — [`ApiState`], [`router`], [`serve`], the dispatcher and the service
//!   extension point.
//! - [`logs`] — CloudWatch Logs JSON 1.1 operations over `thingwatch_logstore::LogStore`.
//! - [`validate`] — the shared AWS validation-message builder ([`validate::Validation`]).
//! - [`iot`] — the AWS IoT control plane (rest-json): logging configuration, thing registry,
//!   DescribeEndpoint, over `thingwatch_registry::Registry` ([`IotService`]).
//! - [`observer`] — the API-call observer hook ([`ApiCallObserver`]): every call with its
//!   caller, operation, parameters and outcome (the audit trail's source).
//! - [`mqtt_ws`] — MQTT over WebSocket at `/mqtt` (SigV4-presigned upgrade) into the broker.
//! - [`iotdata`] — the AWS IoT data plane (`iotdata`): Device Shadow REST API over
//!   `thingwatch_shadow::ShadowGateway` and `Publish` into the broker ([`IotDataService`]).
//!
//! **API Boundary:** only this crate knows AWS wire shapes and SigV4; the log store knows
//! nothing of HTTP.

pub mod credentials;
pub mod error;
pub mod iot;
pub mod iotdata;
mod json;
pub mod logs;
pub mod mqtt_ws;
pub mod observer;
pub mod server;
pub mod sigv4;
pub mod validate;

pub use credentials::{CredentialProvider, Principal, StaticCredentials};
pub use error::{ApiError, ErrorCode, Protocol};
pub use iot::{Endpoints, IotService, IotSettings, RoleChecker};
pub use iotdata::IotDataService;
pub use observer::{ApiCall, ApiCallObserver, ApiCallOutcome, Caller};
pub use server::{
    ApiState, AwsRequest, DEFAULT_MAX_BODY_BYTES, HandlerFuture, RequestAuthorizer, RequestContext,
    ServiceHandler, iam_action_prefix, router, serve,
};
pub use sigv4::{Clock, FixedClock, SystemClock};
