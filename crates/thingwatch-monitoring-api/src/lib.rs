//! CloudWatch (SigV4 signing name `monitoring`) over `thingwatch-metrics`, in the three
//! protocols CloudWatch clients send (aws-wire.md §0 item 3, §6):
//!
//! * **AWS JSON 1.0**, awsQueryCompatible — AWS CLI v1 / boto3 with botocore ≥ 1.42.7:
//!   `POST /`, `X-Amz-Target: GraniteServiceVersion20100801.<Op>`,
//!   `Content-Type: application/x-amz-json-1.0`, `x-amzn-query-mode: true`;
//! * **awsQuery** — botocore ≤ 1.42.6: a form body `Action=<Op>&Version=2010-08-01&…`,
//!   XML answers in namespace [`XML_NAMESPACE`];
//! * **Smithy RPC v2 CBOR** — the Go, Java and JS SDKs:
//!   `POST /service/GraniteServiceVersion20100801/operation/<Op>`, `smithy-protocol:
//!   rpc-v2-cbor`, CBOR bodies.
//!
//! Each request is decoded into one `thingwatch_wire::Value`, each operation is written
//! once over it ([`ops`]), and the answer is encoded back in the request's protocol; errors
//! likewise (the dispatcher renders them in [`ServiceHandler::protocol_for`]'s protocol).
//! Contracts: botocore 1.43.11, cloudwatch 2010-08-01 (`python3 ../shared/tools/aws-op.py
//! cloudwatch OP`).

mod alarms;
pub mod dashboards;
pub mod ops;
mod validate;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use thingwatch_aws::error::{
    CONTENT_TYPE_CBOR, CONTENT_TYPE_JSON_1_0, CONTENT_TYPE_XML, SMITHY_PROTOCOL_HEADER,
    SMITHY_RPC_V2_CBOR,
};
use thingwatch_http::server::{request_protocol, rpc_v2_operation};
use thingwatch_http::{
    ApiError, AwsRequest, ErrorCode, HandlerFuture, Protocol, RequestContext, ServiceHandler,
};
use thingwatch_metrics::MetricStore;
use thingwatch_metrics::alarms::Alarms;
use thingwatch_wire::Value;

/// The SigV4 signing name.
pub const SERVICE: &str = "monitoring";
/// The `X-Amz-Target` prefix and RPC v2 service name.
pub const TARGET_PREFIX: &str = "GraniteServiceVersion20100801";
/// The awsQuery XML namespace.
pub const XML_NAMESPACE: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

/// The CloudWatch service handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MonitoringService {
    backend: ops::Backend,
}

impl MonitoringService {
    /// CloudWatch over `store`, the `alarms` on it and the `dashboards` of account
    /// `account_id`.
    pub fn new(
        store: MetricStore,
        alarms: Alarms,
        dashboards: std::sync::Arc<thingwatch_metrics::dashboards::Dashboards>,
        account_id: &str,
    ) -> MonitoringService {
        MonitoringService {
            backend: ops::Backend {
                store,
                alarms,
                dashboards: dashboards::DashboardBackend {
                    dashboards,
                    account_id: account_id.to_owned(),
                },
            },
        }
    }
}

/// The protocol of a CloudWatch request: CBOR, awsQuery or (anything else) JSON 1.0.
fn protocol_of(headers: &HeaderMap) -> Protocol {
    match request_protocol(headers) {
        Protocol::RpcV2Cbor => Protocol::RpcV2Cbor,
        Protocol::AwsQuery => Protocol::AwsQuery,
        _ => Protocol::AwsJson10QueryCompatible,
    }
}

/// The operation and its input, decoded from `req` in `protocol`.
fn decode(protocol: Protocol, req: &AwsRequest) -> Result<(String, Value), ApiError> {
    let unknown = || ApiError::new(ErrorCode::UnknownOperation, "Unknown operation.");
    match protocol {
        Protocol::RpcV2Cbor => {
            let op = rpc_v2_operation(req.uri.path()).ok_or_else(unknown)?;
            let body = if req.body.is_empty() {
                Value::structure()
            } else {
                thingwatch_wire::cbor::parse(&req.body)?
            };
            Ok((op.to_owned(), body))
        }
        Protocol::AwsQuery => {
            let q = thingwatch_wire::query::parse(req.uri.query(), &req.body)?;
            Ok((q.action, q.params))
        }
        _ => {
            let target = req
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(unknown)?;
            let op = target
                .strip_prefix(TARGET_PREFIX)
                .and_then(|t| t.strip_prefix('.'))
                .ok_or_else(unknown)?;
            let body = if req.body.is_empty() {
                Value::structure()
            } else {
                thingwatch_wire::json::parse(&req.body)?
            };
            Ok((op.to_owned(), body))
        }
    }
}

/// A success answer to `op` in `protocol`; `output` `None` for operations without output.
fn encode(protocol: Protocol, op: &str, request_id: &str, output: Option<&Value>) -> Response {
    let empty = Value::structure();
    let (content_type, body) = match protocol {
        Protocol::RpcV2Cbor => (
            CONTENT_TYPE_CBOR,
            thingwatch_wire::cbor::to_body(output.unwrap_or(&empty)),
        ),
        Protocol::AwsQuery => (
            CONTENT_TYPE_XML,
            thingwatch_wire::query::to_body(op, XML_NAMESPACE, request_id, output),
        ),
        _ => (
            CONTENT_TYPE_JSON_1_0,
            thingwatch_wire::json::to_body(output.unwrap_or(&empty)),
        ),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if protocol == Protocol::RpcV2Cbor {
        h.insert(
            SMITHY_PROTOCOL_HEADER,
            HeaderValue::from_static(SMITHY_RPC_V2_CBOR),
        );
    }
    resp
}

impl ServiceHandler for MonitoringService {
    fn protocol(&self) -> Protocol {
        Protocol::AwsJson10QueryCompatible
    }

    fn protocol_for(&self, headers: &HeaderMap) -> Protocol {
        protocol_of(headers)
    }

    fn operation_name(&self, req: &AwsRequest) -> Option<String> {
        rpc_v2_operation(req.uri.path()).map(str::to_owned)
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let backend = self.backend.clone();
        Box::pin(async move {
            let protocol = protocol_of(&req.headers);
            let (op, input) = decode(protocol, &req)?;
            let now = ctx.now_ms();
            let op_name = op.clone();
            let output = tokio::task::spawn_blocking(move || ops::call(&backend, &op, &input, now))
                .await
                .map_err(|e| ApiError::internal(&e))??;
            Ok(encode(protocol, &op_name, &ctx.request_id, output.as_ref()))
        })
    }
}
