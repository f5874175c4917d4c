//! The single HTTP port: [`ApiState`], the [`router`], [`serve`] with graceful shutdown,
//! and the dispatcher that reads the body (bounded), verifies SigV4 and hands the request
//! to the [`ServiceHandler`] registered for the credential-scope service.
//!
//! **Extension point:** every AWS service registers a [`ServiceHandler`] under its SigV4
//! signing name with [`ApiState::with_service`] — CloudWatch Logs is
//! `with_service("logs", …)` from `thingwatch-logs-api`, the AWS IoT control plane
//! `with_service("iot", …)` from `thingwatch-iot-api`, and so on; a service that needs
//! routes of its own (MQTT over WebSocket) mounts them with [`ApiState::with_routes`].
//! Until a service is registered, requests for it are answered with
//! `UnknownOperationException` in that service's protocol (rest-json 404, JSON 400) —
//! a client error, so SDKs do not retry.
//!
//! **API Boundary:** this crate knows HTTP and SigV4, no service's operations; the services'
//! wire shapes live in their API crates, over domain crates that know nothing of HTTP.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::{ApiError, ErrorCode, Protocol, REQUEST_ID_HEADER, RenderError, auth_error};
use crate::observer::{ApiCall, ApiCallObserver, ApiCallOutcome, Caller};
use crate::sigv4::{self, Clock, SignedRequest, SystemClock, Verified, Verifier};
use arc_swap::ArcSwap;
use thingwatch_aws::CredentialProvider;

/// Default request body limit: 4 MiB. The largest legitimate body is a maximal PutLogEvents
/// batch (1,048,576 bytes of messages plus 26 bytes per event, API reference), which JSON
/// framing (~45 bytes per event × 10,000 events) and string escaping (quotes in JSON-in-JSON
/// IoT log messages double) can push close to 2 MiB; 4 MiB leaves headroom without letting a
/// client make the server buffer arbitrary amounts. Larger bodies get
/// `RequestEntityTooLargeException` (HTTP 413).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The services AWS clients address on this port, by SigV4 signing name, with their
/// protocol (aws-wire.md §1). Used to answer in the right format for services whose handler
/// is not registered yet.
pub const KNOWN_SERVICES: &[(&str, Protocol)] = &[
    ("iot", Protocol::RestJson),
    ("iotdata", Protocol::RestJson),
    ("iot-jobs-data", Protocol::RestJson),
    ("logs", Protocol::AwsJson11),
    ("monitoring", Protocol::AwsJson10QueryCompatible),
    ("cloudtrail", Protocol::AwsJson11),
    ("iam", Protocol::AwsQuery),
    ("sts", Protocol::AwsQuery),
];

/// A buffered, authenticated request as a [`ServiceHandler`] receives it.
#[derive(Debug)]
pub struct AwsRequest {
    /// HTTP method.
    pub method: Method,
    /// Request URI (raw path and query as on the request line).
    pub uri: Uri,
    /// All headers.
    pub headers: HeaderMap,
    /// The complete body (at most the configured limit).
    pub body: Bytes,
}

/// Per-request context handed to a [`ServiceHandler`].
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The UUID sent back as `x-amzn-RequestId`.
    pub request_id: String,
    /// Who signed the request, and its credential scope.
    pub auth: Verified,
    /// The server clock's reading when the request arrived (use it for creation times so a
    /// request sees one consistent "now").
    pub received_at: SystemTime,
    /// The TCP peer, when the server was started with connect info ([`serve`] does).
    pub peer: Option<std::net::SocketAddr>,
}

impl RequestContext {
    /// [`Self::received_at`] in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.received_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The future a [`ServiceHandler`] returns: a success response, or an [`ApiError`] the
/// dispatcher renders in the handler's [`Protocol`].
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>>;

/// One AWS service on the shared port (registered under its SigV4 signing name).
pub trait ServiceHandler: Send + Sync + 'static {
    /// The wire protocol (decides the error format, also for authentication failures).
    fn protocol(&self) -> Protocol;

    /// The protocol of one request, for services that accept several (CloudWatch: Smithy
    /// RPC v2 CBOR, AWS JSON 1.0 and awsQuery, told apart by [`request_protocol`]). Errors
    /// of the request, authentication failures included, are written in it. Defaults to
    /// [`Self::protocol`].
    fn protocol_for(&self, headers: &HeaderMap) -> Protocol {
        let _ = headers;
        self.protocol()
    }
    /// Serves one authenticated request. The dispatcher adds `x-amzn-RequestId` to the
    /// response if the handler did not.
    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture;

    /// The operation name of a rest-json request (e.g. `CreateThing`), for IAM authorization
    /// (`iot:CreateThing`). JSON and awsQuery requests name their operation themselves
    /// (`X-Amz-Target`, `Action=`), so the default is `None`.
    fn operation_name(&self, req: &AwsRequest) -> Option<String> {
        let _ = req;
        None
    }

    /// The decoded path labels of a rest-json request (`[("thingName", "t1")]`), for the
    /// API-call observers (CloudTrail's `requestParameters` name them). Default: none.
    fn path_labels(&self, req: &AwsRequest) -> Vec<(String, String)> {
        let _ = req;
        Vec::new()
    }
}

/// IAM for the API: decides whether an authenticated caller may perform an action. The
/// dispatcher asks before every request whose service is registered.
pub trait RequestAuthorizer: Send + Sync + 'static {
    /// `None` when `principal_arn` may perform `action` (e.g. `iot:CreateThing`) on
    /// `resource`; else the `AccessDeniedException` message.
    fn authorize(&self, principal_arn: &str, action: &str, resource: &str) -> Option<String>;
}

/// The IAM action prefix of a SigV4 signing name (`iotdata` → `iot`, `monitoring` →
/// `cloudwatch`, …).
pub fn iam_action_prefix(signing_name: &str) -> &str {
    match signing_name {
        "iotdata" | "iot" => "iot",
        "iot-jobs-data" => "iotjobsdata",
        "monitoring" => "cloudwatch",
        other => other,
    }
}

/// The protocol a request is written in, from its headers alone: `smithy-protocol:
/// rpc-v2-cbor` is Smithy RPC v2 CBOR; an `X-Amz-Target` is AWS JSON (1.0 when the content
/// type says so, else 1.1); a form body without a target is awsQuery; anything else
/// rest-json (aws-wire.md §0, §6).
pub fn request_protocol(headers: &HeaderMap) -> Protocol {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("smithy-protocol").is_some_and(|p| p.eq_ignore_ascii_case("rpc-v2-cbor")) {
        return Protocol::RpcV2Cbor;
    }
    let content_type = header(http::header::CONTENT_TYPE.as_str()).unwrap_or("");
    match header("x-amz-target") {
        Some(_) if content_type.contains("x-amz-json-1.0") => Protocol::AwsJson10QueryCompatible,
        Some(_) => Protocol::AwsJson11,
        None if content_type.starts_with("application/x-www-form-urlencoded") => Protocol::AwsQuery,
        None => Protocol::RestJson,
    }
}

/// The operation of a Smithy RPC v2 request path, `/service/{Service}/operation/{Op}`.
pub fn rpc_v2_operation(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/service/")?;
    let (_service, op) = rest.split_once("/operation/")?;
    (!op.is_empty() && !op.contains('/')).then_some(op)
}

/// The operation a request asks for: `X-Amz-Target` (JSON protocols), the Smithy RPC v2
/// path, `Action=` (awsQuery form body or query string), else the handler's route table.
fn operation_of(handler: &dyn ServiceHandler, req: &AwsRequest) -> Option<String> {
    if let Some(target) = req
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return target.rsplit('.').next().map(str::to_owned);
    }
    if req.headers.contains_key("smithy-protocol")
        && let Some(op) = rpc_v2_operation(req.uri.path())
    {
        return Some(op.to_owned());
    }
    let form = |raw: &[u8]| {
        form_urlencoded::parse(raw)
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.into_owned())
    };
    form(&req.body)
        .or_else(|| req.uri.query().and_then(|q| form(q.as_bytes())))
        .or_else(|| handler.operation_name(req))
}

/// Shared state of the HTTP API. Cheap to clone (everything is behind `Arc`).
#[derive(Clone)]
pub struct ApiState {
    credentials: Arc<dyn CredentialProvider>,
    clock: Arc<dyn Clock>,
    account_id: Arc<str>,
    region: Arc<str>,
    services: Arc<HashMap<String, Arc<dyn ServiceHandler>>>,
    max_body_bytes: usize,
    routes: Option<Router<ApiState>>,
    authorizer: Option<Arc<dyn RequestAuthorizer>>,
    call_observers: Arc<ArcSwap<Vec<Arc<dyn ApiCallObserver>>>>,
}

impl ApiState {
    /// State for account `account_id` (12 digits) in `region` (e.g. `us-east-1`, used in
    /// ARNs), authenticating with `credentials`, with no service registered yet (register
    /// each with [`Self::with_service`]). Uses the system clock and
    /// [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new(
        credentials: Arc<dyn CredentialProvider>,
        account_id: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            credentials,
            clock: Arc::new(SystemClock),
            account_id: account_id.into().into(),
            region: region.into().into(),
            services: Arc::new(HashMap::new()),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            routes: None,
            authorizer: None,
            call_observers: Default::default(),
        }
    }

    /// Replaces the clock used for SigV4 time checks and request timestamps.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Registers (or replaces) the handler for SigV4 signing name `service`
    /// (`iot`, `iotdata`, `iot-jobs-data`, `monitoring`, `cloudtrail`, …).
    #[must_use]
    pub fn with_service(mut self, service: &str, handler: Arc<dyn ServiceHandler>) -> Self {
        Arc::make_mut(&mut self.services).insert(service.to_owned(), handler);
        self
    }

    /// Authorizes every request with `authorizer` (IAM) before its service sees it: action
    /// `PREFIX:Operation` (see [`iam_action_prefix`]), resource `*`. Without one, every
    /// authenticated caller may do everything (the root-only setup).
    #[must_use]
    pub fn with_authorizer(mut self, authorizer: Arc<dyn RequestAuthorizer>) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// Registers an [`ApiCallObserver`]: from now on it sees every call on this state's
    /// port (every clone of the state shares the list, so it works after [`serve`] started).
    pub fn add_call_observer(&self, observer: Arc<dyn ApiCallObserver>) {
        self.call_observers.rcu(|os| {
            let mut v = Vec::clone(os);
            v.push(observer.clone());
            v
        });
    }

    /// Mounts a service's extra routes (a WebSocket endpoint, a console, a stream) on the
    /// port, before the SigV4 dispatcher: a request matching one of `routes` is served by
    /// it, every other request is dispatched by credential scope. The routes get this state
    /// ([`Self::credentials`], [`Self::clock`]) to authenticate their requests themselves.
    /// Calling it again adds more routes (axum's `merge`: overlapping paths panic at start).
    #[must_use]
    pub fn with_routes(mut self, routes: Router<ApiState>) -> Self {
        self.routes = Some(match self.routes.take() {
            Some(existing) => existing.merge(routes),
            None => routes,
        });
        self
    }

    /// Sets the request body limit in bytes.
    #[must_use]
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// The account id (12 digits).
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The server region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The credential provider.
    pub fn credentials(&self) -> &Arc<dyn CredentialProvider> {
        &self.credentials
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn protocol_of(&self, service: &str, headers: &HeaderMap) -> Option<Protocol> {
        self.services
            .get(service)
            .map(|h| h.protocol_for(headers))
            .or_else(|| {
                KNOWN_SERVICES
                    .iter()
                    .find(|(name, _)| *name == service)
                    .map(|(_, p)| *p)
            })
    }
}

/// The axum router serving every AWS API on one port: the extra routes services mounted
/// ([`ApiState::with_routes`]), then the SigV4 dispatcher for all other paths and methods.
pub fn router(state: ApiState) -> Router {
    let base = state.routes.clone().unwrap_or_default();
    base.fallback(dispatch).with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` completes, then stops accepting and
/// waits for in-flight requests to finish (graceful shutdown).
///
/// # Errors
/// I/O errors from the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The protocol to answer in before the credential scope is known: the one the request is
/// written in ([`request_protocol`]).
fn guess_protocol(headers: &HeaderMap) -> Protocol {
    request_protocol(headers)
}

/// What the dispatcher learns of a call as it goes, for the [`ApiCallObserver`]s.
struct CallFacts {
    /// Whether any observer is registered (otherwise nothing is copied).
    observing: bool,
    request_id: String,
    received_at: SystemTime,
    source: Option<std::net::SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    request_body: Bytes,
    service: Option<String>,
    region: Option<String>,
    operation: Option<String>,
    path_labels: Vec<(String, String)>,
    protocol: Option<Protocol>,
    access_key_id: Option<String>,
    caller: Option<Caller>,
    error: Option<(&'static str, String)>,
}

impl CallFacts {
    /// Renders `e` in `protocol`, remembering its code and message.
    fn fail(&mut self, e: &ApiError, protocol: Protocol) -> Response {
        if self.observing {
            self.error = Some((e.code.as_str(), e.message.clone()));
        }
        e.render(protocol, &self.request_id)
    }
}

async fn dispatch(State(state): State<ApiState>, req: Request) -> Response {
    let observers = state.call_observers.load_full();
    let observing = !observers.is_empty();
    let mut facts = CallFacts {
        observing,
        request_id: uuid::Uuid::new_v4().to_string(),
        received_at: state.clock.now(),
        source: req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0),
        method: Method::GET,
        uri: Uri::default(),
        headers: HeaderMap::new(),
        request_body: Bytes::new(),
        service: None,
        region: None,
        operation: None,
        path_labels: Vec::new(),
        protocol: None,
        access_key_id: None,
        caller: None,
        error: None,
    };
    if observing {
        facts.method = req.method().clone();
        facts.uri = req.uri().clone();
        facts.headers = req.headers().clone();
    }
    let response = serve_call(&state, req, &mut facts).await;
    if !observing {
        return response;
    }
    // Buffer the response (every handler's body is in memory already) so observers see it.
    let (parts, body) = response.into_parts();
    let response_body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "could not buffer a response for the call observers");
            Bytes::new()
        }
    };
    let (error_code, error_message) = match facts.error.take() {
        Some((code, message)) => (Some(code), Some(message)),
        None => (None, None),
    };
    let call = ApiCall {
        request_id: facts.request_id,
        received_at: facts.received_at,
        source: facts.source,
        service: facts.service,
        region: facts.region,
        operation: facts.operation,
        path_labels: facts.path_labels,
        protocol: facts.protocol,
        access_key_id: facts.access_key_id,
        caller: facts.caller,
        method: facts.method,
        uri: facts.uri,
        headers: facts.headers,
        request_body: facts.request_body,
        outcome: ApiCallOutcome {
            status: parts.status.as_u16(),
            error_code,
            error_message,
            response_body: response_body.clone(),
        },
    };
    for o in observers.iter() {
        o.on_call(&call);
    }
    Response::from_parts(parts, axum::body::Body::from(response_body))
}

async fn serve_call(state: &ApiState, req: Request, facts: &mut CallFacts) -> Response {
    let (parts, body) = req.into_parts();
    let mut protocol = guess_protocol(&parts.headers);

    let declared_len = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > state.max_body_bytes as u64) {
        return facts.fail(&too_large(state), protocol);
    }
    let body = match Limited::new(body, state.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return facts.fail(&too_large(state), protocol);
        }
        Err(e) => {
            tracing::debug!(error = %e, "failed to read request body");
            let e = ApiError::serialization("The request body could not be read.");
            return facts.fail(&e, protocol);
        }
    };
    if facts.observing {
        facts.request_body = body.clone();
    }

    let signed = SignedRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query(),
        authority: parts.uri.authority().map(|a| a.as_str()),
        headers: &parts.headers,
        body: &body,
    };
    let parsed = match sigv4::parse_auth(&signed) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "SigV4 parameters rejected");
            return facts.fail(&auth_error(&e), protocol);
        }
    };
    let service = parsed.scope.service.clone();
    if facts.observing {
        facts.service = Some(service.clone());
        facts.region = Some(parsed.scope.region.clone());
        facts.access_key_id = Some(parsed.scope.access_key_id.clone());
    }
    if let Some(p) = state.protocol_of(&service, &parts.headers) {
        protocol = p;
    }
    let handler = state.services.get(&service).cloned();
    if facts.observing
        && let Some(h) = &handler
    {
        // Named before verification, so refused calls are reported with their operation.
        let probe = AwsRequest {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
        };
        facts.operation = operation_of(h.as_ref(), &probe);
        facts.path_labels = h.path_labels(&probe);
        facts.protocol = Some(h.protocol_for(&probe.headers));
    }
    let verifier = Verifier::new(state.credentials.clone(), state.clock.clone());
    let auth = match verifier.verify_parsed(&signed, &parsed) {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(error = %e, %service, "SigV4 verification failed");
            return facts.fail(&auth_error(&e), protocol);
        }
    };
    if facts.observing {
        let p = &auth.principal;
        facts.caller = Some(Caller {
            access_key_id: p.access_key_id.clone(),
            arn: p.arn.clone(),
            account_id: p.account_id.clone(),
            user_name: p.user_name.clone(),
        });
    }

    let Some(handler) = handler else {
        let message = if KNOWN_SERVICES.iter().any(|(n, _)| *n == service) {
            format!("The service '{service}' is not supported by this server yet.")
        } else {
            format!("'{service}' is not a service provided by this server.")
        };
        return facts.fail(
            &ApiError::new(ErrorCode::UnknownOperation, message),
            protocol,
        );
    };
    let ctx = RequestContext {
        request_id: facts.request_id.clone(),
        auth,
        received_at: facts.received_at,
        peer: facts.source,
    };
    // The signature covers the body as sent; only now is a compressed body decoded.
    let mut headers = parts.headers;
    let body = match decode_content_encoding(&mut headers, body, state.max_body_bytes) {
        Ok(b) => b,
        Err(e) => return facts.fail(&e, protocol),
    };
    if facts.observing {
        facts.request_body = body.clone();
    }
    let aws_req = AwsRequest {
        method: parts.method,
        uri: parts.uri,
        headers,
        body,
    };
    // `iam` authorizes its own calls against the users and roles they name; `sts`
    // GetCallerIdentity needs no permission.
    if let Some(authorizer) = state
        .authorizer
        .as_ref()
        .filter(|_| !matches!(service.as_str(), "iam" | "sts"))
    {
        let operation = operation_of(handler.as_ref(), &aws_req).unwrap_or_else(|| "*".to_owned());
        let action = format!("{}:{operation}", iam_action_prefix(&service));
        if let Some(message) = authorizer.authorize(&ctx.auth.principal.arn, &action, "*") {
            return facts.fail(&ApiError::new(ErrorCode::AccessDenied, message), protocol);
        }
    }
    match handler.handle(ctx, aws_req).await {
        Ok(mut resp) => {
            if !resp.headers().contains_key(REQUEST_ID_HEADER)
                && let Ok(v) = HeaderValue::from_str(&facts.request_id)
            {
                resp.headers_mut().insert(REQUEST_ID_HEADER, v);
            }
            resp
        }
        Err(e) => {
            if e.code.fault() == crate::error::Fault::Server {
                tracing::warn!(request_id = %facts.request_id, code = e.code.as_str(), "server fault");
            }
            facts.fail(&e, protocol)
        }
    }
}

/// Decodes a `Content-Encoding: gzip` request body (botocore compresses CloudWatch
/// `PutMetricData` bodies of 10 KiB or more, aws-wire.md §0 item 8) and removes the header,
/// so handlers always see the plain body. The decoded body is held to `max` bytes like any
/// other (`RequestEntityTooLargeException`); a body that is not valid gzip is a
/// `SerializationException` (400). Other encodings than `gzip` and `identity` are refused
/// as a `SerializationException`.
fn decode_content_encoding(
    headers: &mut HeaderMap,
    body: Bytes,
    max: usize,
) -> Result<Bytes, ApiError> {
    use std::io::Read;
    let Some(encoding) = headers.get(http::header::CONTENT_ENCODING) else {
        return Ok(body);
    };
    let encoding = encoding.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => {}
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
            let mut decoder = flate2::read::GzDecoder::new(&body[..]).take(max as u64 + 1);
            decoder
                .read_to_end(&mut out)
                .map_err(|_| ApiError::serialization("The request body is not valid gzip data."))?;
            if out.len() > max {
                return Err(ApiError::new(
                    ErrorCode::RequestEntityTooLarge,
                    format!(
                        "The decompressed request body is larger than the maximum of {max} bytes."
                    ),
                ));
            }
            headers.remove(http::header::CONTENT_ENCODING);
            return Ok(Bytes::from(out));
        }
        other => {
            return Err(ApiError::serialization(format!(
                "Content-Encoding '{other}' is not supported; use gzip."
            )));
        }
    }
    headers.remove(http::header::CONTENT_ENCODING);
    Ok(body)
}

fn too_large(state: &ApiState) -> ApiError {
    ApiError::new(
        ErrorCode::RequestEntityTooLarge,
        format!(
            "Request body is larger than the maximum of {} bytes.",
            state.max_body_bytes
        ),
    )
}

#[cfg(test)]
mod protocol_tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn tells_the_protocols_apart_by_headers() {
        // The headers botocore 1.44.5 (JSON 1.0), 1.42.6 (awsQuery) and its forced CBOR
        // serializer send to CloudWatch (aws-wire.md §4, §6).
        let cases = [
            (
                headers(&[
                    ("smithy-protocol", "rpc-v2-cbor"),
                    ("content-type", "application/cbor"),
                ]),
                Protocol::RpcV2Cbor,
            ),
            (
                headers(&[
                    (
                        "x-amz-target",
                        "GraniteServiceVersion20100801.GetMetricData",
                    ),
                    ("content-type", "application/x-amz-json-1.0"),
                ]),
                Protocol::AwsJson10QueryCompatible,
            ),
            (
                headers(&[
                    ("x-amz-target", "Logs_20140328.PutLogEvents"),
                    ("content-type", "application/x-amz-json-1.1"),
                ]),
                Protocol::AwsJson11,
            ),
            (
                headers(&[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )]),
                Protocol::AwsQuery,
            ),
            (headers(&[]), Protocol::RestJson),
        ];
        for (h, expected) in cases {
            assert_eq!(request_protocol(&h), expected, "{h:?}");
        }
    }

    #[test]
    fn reads_the_rpc_v2_operation_path() {
        assert_eq!(
            rpc_v2_operation(
                "/service/GraniteServiceVersion20100801/operation/GetMetricStatistics"
            ),
            Some("GetMetricStatistics")
        );
        assert_eq!(rpc_v2_operation("/service/X/operation/"), None);
        assert_eq!(rpc_v2_operation("/service/X/operation/a/b"), None);
        assert_eq!(rpc_v2_operation("/things/x"), None);
    }
}
