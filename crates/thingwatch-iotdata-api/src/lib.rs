//! The AWS IoT data plane over HTTP (`iot-data`, SigV4 signing name `iotdata`, rest-json):
//! the Device Shadow REST API and `Publish`.
//!
//! | Operation | HTTP |
//! |---|---|
//! | GetThingShadow | `GET /things/{thingName}/shadow[?name=]` |
//! | UpdateThingShadow | `POST /things/{thingName}/shadow[?name=]` (raw JSON body, no Content-Type) |
//! | DeleteThingShadow | `DELETE /things/{thingName}/shadow[?name=]` |
//! | ListNamedShadowsForThing | `GET /api/things/shadow/ListNamedShadowsForThing/{thingName}[?nextToken&pageSize]` |
//! | Publish | `POST /topics/{topic}[?qos&retain&messageExpiry…]` (topic percent-encoded as one label; a shadow request topic is also handed to the shadow service) |
//!
//! Shadow bodies are the documents themselves (the `payload` blob members), answered as
//! `application/json`. Errors are the model's: `InvalidRequestException` 400,
//! `ResourceNotFoundException` 404, `MethodNotAllowedException` 405, `ConflictException` 409,
//! `RequestEntityTooLargeException` 413, `UnsupportedDocumentEncodingException` 415,
//! `ThrottlingException` 429, `InternalFailureException` 500 — the shadow's error text as the
//! `message`. A known path with another method is 405 `MethodNotAllowedException`.
//!
//! [`mqtt_ws`] serves MQTT over WebSocket at `/mqtt` on the same port (mounted with
//! `ApiState::with_routes(mqtt_ws::routes(broker))`).
//!
//! Sources: botocore `iot-data` 2015-05-28 model (`../shared/reference/aws-wire.md`), AWS IoT
//! Developer Guide *Device Shadow REST API* and *HTTPS* (publishing over HTTP).

pub mod mqtt_ws;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use thingwatch_broker::{
    Broker, BrokerError, ClientId, ClientOrigin, Origin, Principal, PublishRequest,
};
use thingwatch_events::{ClientIdentity, Logger, TraceId};
use thingwatch_shadow::{HttpCaller, ShadowError, ShadowErrorKind, ShadowGateway};

use thingwatch_http::error::{ApiError, ErrorCode, Protocol};
use thingwatch_http::rest::{self as route, Query, Route};
use thingwatch_http::server::{AwsRequest, HandlerFuture, RequestContext, ServiceHandler};

/// The `clientId` written in log entries of HTTP requests, which have no MQTT client ID (the
/// broker's; AWS uses `"N/A"` the same way in rules-engine entries without a client).
pub use thingwatch_broker::HTTP_CLIENT_ID;

/// Default `pageSize` of ListNamedShadowsForThing (AWS documents 1–100 and no default; 25
/// matches the `aws` CLI's page when none is given).
pub const DEFAULT_LIST_PAGE_SIZE: usize = 25;

/// Every `iot-data` operation served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET /things/{thingName}/shadow`
    GetThingShadow,
    /// `POST /things/{thingName}/shadow`
    UpdateThingShadow,
    /// `DELETE /things/{thingName}/shadow`
    DeleteThingShadow,
    /// `GET /api/things/shadow/ListNamedShadowsForThing/{thingName}`
    ListNamedShadowsForThing,
    /// `POST /topics/{topic}`
    Publish,
}

/// The route table (botocore `http` traits).
pub const ROUTES: &[Route<Operation>] = &[
    route::route(
        Method::GET,
        "/things/{thingName}/shadow",
        Operation::GetThingShadow,
    ),
    route::route(
        Method::POST,
        "/things/{thingName}/shadow",
        Operation::UpdateThingShadow,
    ),
    route::route(
        Method::DELETE,
        "/things/{thingName}/shadow",
        Operation::DeleteThingShadow,
    ),
    route::route(
        Method::GET,
        "/api/things/shadow/ListNamedShadowsForThing/{thingName}",
        Operation::ListNamedShadowsForThing,
    ),
    route::route(Method::POST, "/topics/{topic}", Operation::Publish),
];

/// The `iotdata` service. Cheap to clone.
#[derive(Clone)]
pub struct IotDataService {
    inner: Arc<Inner>,
}

struct Inner {
    shadows: ShadowGateway,
    broker: Broker,
    logger: Logger,
}

impl IotDataService {
    /// Serves shadows through `shadows` and `Publish` into `broker`, logging `Publish-In`
    /// (protocol `HTTP`) through `logger`.
    pub fn new(shadows: ShadowGateway, broker: Broker, logger: Logger) -> IotDataService {
        IotDataService {
            inner: Arc::new(Inner {
                shadows,
                broker,
                logger,
            }),
        }
    }
}

impl ServiceHandler for IotDataService {
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let inner = self.inner.clone();
        Box::pin(async move { inner.dispatch(ctx, req).await })
    }

    fn operation_name(&self, req: &AwsRequest) -> Option<String> {
        match route::match_in(ROUTES, &req.method, req.uri.path()) {
            Ok(Some((op, _))) => Some(format!("{op:?}")),
            _ => None,
        }
    }
}

/// Maps a shadow failure to the `iot-data` error of the same HTTP code.
fn shadow_error(e: ShadowError) -> ApiError {
    let code = match e.kind {
        ShadowErrorKind::InvalidRequest => ErrorCode::InvalidRequest,
        ShadowErrorKind::Unauthorized | ShadowErrorKind::Forbidden => ErrorCode::Unauthorized,
        ShadowErrorKind::NotFound => ErrorCode::ResourceNotFound,
        ShadowErrorKind::Conflict => ErrorCode::Conflict,
        ShadowErrorKind::PayloadTooLarge => ErrorCode::RequestEntityTooLarge,
        ShadowErrorKind::UnsupportedEncoding => ErrorCode::UnsupportedDocumentEncoding,
        ShadowErrorKind::Throttled => ErrorCode::Throttling,
        ShadowErrorKind::Internal => ErrorCode::InternalFailure,
    };
    ApiError::new(code, e.message)
}

fn document(request_id: &str, body: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-RequestId", v);
    }
    resp
}

/// The optional `?name=` of the shadow operations (validated by the shadow service).
fn shadow_name(query: &Query) -> Option<String> {
    query.get("name").map(str::to_owned)
}

impl Inner {
    async fn dispatch(
        self: Arc<Self>,
        ctx: RequestContext,
        req: AwsRequest,
    ) -> Result<Response, ApiError> {
        let path = req.uri.path().to_owned();
        let Some((op, labels)) = route::match_in(ROUTES, &req.method, &path)? else {
            let known = [Method::GET, Method::POST, Method::DELETE]
                .iter()
                .any(|m| matches!(route::match_in(ROUTES, m, &path), Ok(Some(_))));
            return Err(if known {
                ApiError::new(
                    ErrorCode::MethodNotAllowed,
                    format!("Method {} is not allowed on {path}.", req.method),
                )
            } else {
                ApiError::new(
                    ErrorCode::UnknownOperation,
                    format!("No AWS IoT data operation matches {} {path}.", req.method),
                )
            });
        };
        let query = Query::parse(req.uri.query())?;
        let label = |name: &str| {
            labels
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(String::new(), |(_, v)| v.clone())
        };
        let caller = HttpCaller {
            principal_id: ctx.auth.principal.access_key_id.clone(),
            peer: ctx.peer.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()),
        };
        if op == Operation::Publish {
            return self
                .publish(&ctx, &caller, label("topic"), &query, req)
                .await;
        }
        let thing = label("thingName");
        let shadows = self.shadows.clone();
        let body = req.body;
        let name = shadow_name(&query);
        let page_size = query.int("pageSize")?;
        let next_token = query.get("nextToken").map(str::to_owned);
        // SQLite work runs on the blocking pool, never on the async workers.
        let result = tokio::task::spawn_blocking(move || {
            let shadow = name.as_deref();
            match op {
                Operation::GetThingShadow => shadows.get_http(&caller, &thing, shadow),
                Operation::UpdateThingShadow => shadows.update_http(&caller, &thing, shadow, &body),
                Operation::DeleteThingShadow => shadows.delete_http(&caller, &thing, shadow),
                Operation::ListNamedShadowsForThing => {
                    let size = match page_size {
                        None => DEFAULT_LIST_PAGE_SIZE,
                        // Out-of-range values are refused by the service with AWS's message.
                        Some(n) => usize::try_from(n).unwrap_or(0),
                    };
                    shadows.list_named_http(&thing, next_token.as_deref(), size)
                }
                Operation::Publish => Err(ShadowError::new(
                    ShadowErrorKind::Internal,
                    "unreachable: Publish is handled above",
                )),
            }
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        result
            .map(|body| document(&ctx.request_id, body))
            .map_err(shadow_error)
    }

    /// `Publish`: validates the query (`qos` 0–1, `retain`, `messageExpiry`), then hands the
    /// message to the broker's one ingress as an [`Origin::Http`] message, which logs
    /// `Publish-In` (protocol `HTTP`) with its metric and does everything an MQTT PUBLISH
    /// gets. Errors: `InvalidRequestException` (topic, QoS, retained reserved topic),
    /// `RequestEntityTooLargeException` (> 128 KiB), `InternalFailureException` (storage).
    async fn publish(
        &self,
        ctx: &RequestContext,
        caller: &HttpCaller,
        topic: String,
        query: &Query,
        req: AwsRequest,
    ) -> Result<Response, ApiError> {
        let qos = match query.int("qos")? {
            None => 0,
            Some(q @ 0..=1) => q as u8,
            Some(q) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "1 validation error detected: Value '{q}' at 'qos' failed to satisfy \
                         constraint: Member must have value less than or equal to 1"
                    ),
                ));
            }
        };
        let retain = query.bool("retain")?.unwrap_or(false);
        let message_expiry = match query.int("messageExpiry")? {
            None => None,
            Some(s) if s >= 0 => Some(u32::try_from(s).unwrap_or(u32::MAX)),
            Some(s) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("Value '{s}' at 'messageExpiry' must not be negative."),
                ));
            }
        };
        let log = Arc::new(self.logger.client(ClientIdentity {
            client_id: HTTP_CLIENT_ID.to_owned(),
            principal_id: caller.principal_id.clone(),
            source_ip: caller.peer.ip(),
            source_port: caller.peer.port(),
            protocol: thingwatch_events::Protocol::Http,
            thing_name: None,
        }));
        let principal = Principal {
            principal_id: caller.principal_id.clone(),
            thing_name: None,
        };
        // The one ingress: validation, `Publish-In` (protocol `HTTP`) with its metric,
        // retain, route, the reserved-topic handler (a shadow request topic is answered on
        // MQTT as for an MQTT client), the message observers. The dispatcher already
        // authorized the call with the caller's IAM policy.
        let client_id = ClientId::http();
        let origin = Origin::Http(ClientOrigin {
            client_id: &client_id,
            principal: &principal,
            log: &log,
        });
        let request = PublishRequest {
            topic,
            payload: req.body.to_vec(),
            qos,
            retain,
            trace_id: TraceId::new(),
            message_expiry,
            properties: Default::default(),
        };
        match self.broker.publish(origin, request).await {
            Ok(()) => {
                let mut resp = StatusCode::OK.into_response();
                if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
                    resp.headers_mut().insert("x-amzn-RequestId", v);
                }
                Ok(resp)
            }
            Err(e) => Err(publish_error(&e)),
        }
    }
}

/// The `iot-data` error of a publish the ingress refused (already logged as `Publish-In`).
fn publish_error(e: &BrokerError) -> ApiError {
    match e {
        BrokerError::Topic(t) => ApiError::new(
            ErrorCode::InvalidRequest,
            format!("Invalid topic name: {t}"),
        ),
        BrokerError::PayloadTooLarge => ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            "The payload exceeds the maximum size allowed",
        ),
        BrokerError::Qos(q) => ApiError::new(
            ErrorCode::InvalidRequest,
            format!("QoS {q} is not supported"),
        ),
        BrokerError::RetainNotSupported => ApiError::new(
            ErrorCode::InvalidRequest,
            "Messages on reserved topics cannot be retained",
        ),
        // Not produced for an HTTPS origin (authorized by the dispatcher); kept total.
        BrokerError::NotAuthorized => ApiError::new(
            ErrorCode::Unauthorized,
            "The caller is not authorized to publish to this topic",
        ),
        BrokerError::Store(_) | BrokerError::Storage => ApiError::internal(e),
    }
}
