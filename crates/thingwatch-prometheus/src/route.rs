//! The `GET /metrics` route and who may read it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use http::header::CONTENT_TYPE;
use subtle::ConstantTimeEq as _;
use thingwatch_http::error::{ApiError, ErrorCode, Protocol, RenderError, auth_error};
use thingwatch_http::server::{ApiState, RequestAuthorizer};
use thingwatch_http::sigv4::{self, AuthError, SignedRequest, Verifier};

use crate::Sources;

/// The path Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

/// The response's content type: OpenMetrics 1.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The SigV4 credential-scope service a signed scrape must use: CloudWatch's.
pub const SIGNING_NAME: &str = "monitoring";

/// The IAM action a signed scrape needs (reading metrics is CloudWatch's `GetMetricData`).
pub const IAM_ACTION: &str = "cloudwatch:GetMetricData";

/// Who may read `/metrics`.
#[derive(Clone)]
pub enum Access {
    /// Anyone (the binary's `--metrics-open`): a plain Prometheus scrape.
    Open,
    /// The rules of the rest of the API: a SigV4-signed request (credential scope
    /// [`SIGNING_NAME`]) verified with the state's credentials and clock — or the same
    /// access key sent as HTTP Basic credentials (key id as user name, secret as password),
    /// which is what Prometheus's `basic_auth` can send — then, when an authorizer is given,
    /// IAM action [`IAM_ACTION`] on `*`.
    Signed {
        /// IAM; `None` lets every authenticated caller read (the root-only setup).
        authorizer: Option<Arc<dyn RequestAuthorizer>>,
    },
}

/// The routes to mount on the HTTP port ([`ApiState::with_routes`]): `GET /metrics` over
/// `sources`, readable as `access` says.
pub fn routes(sources: Sources, access: Access) -> Router<ApiState> {
    Router::new().route(
        METRICS_PATH,
        get(move |State(state): State<ApiState>, req: Request| {
            let (sources, access) = (sources.clone(), access.clone());
            async move { scrape(state, sources, access, req).await }
        }),
    )
}

async fn scrape(state: ApiState, sources: Sources, access: Access, req: Request) -> Response {
    if let Access::Signed { authorizer } = &access
        && let Err(e) = authenticate(&state, authorizer.as_deref(), &req)
    {
        let request_id = uuid::Uuid::new_v4().to_string();
        return e.render(Protocol::RestJson, &request_id);
    }
    // Reading /proc and the broker's locks is quick but blocking: off the async workers.
    match tokio::task::spawn_blocking(move || crate::render(&sources)).await {
        Ok(text) => ([(CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "rendering the metrics failed");
            ApiError::new(
                ErrorCode::ServiceUnavailable,
                "The metrics could not be read.",
            )
            .render(Protocol::RestJson, &uuid::Uuid::new_v4().to_string())
        }
    }
}

/// The principal ARN of HTTP Basic credentials `Authorization: Basic
/// base64(ACCESS_KEY_ID:SECRET_ACCESS_KEY)` — what Prometheus's `basic_auth` scrape option
/// sends, since Prometheus cannot sign a scrape with SigV4. `Ok(None)` when the request
/// carries no Basic credentials (it must then be SigV4-signed).
///
/// # Errors
/// `IncompleteSignature` (malformed header), `UnrecognizedClientException` (unknown key),
/// `InvalidSignatureException` (wrong secret), and `InvalidSignatureException` for
/// temporary credentials (their session token only travels in a SigV4 request).
fn basic_principal(state: &ApiState, req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Some(encoded) = value.to_str().ok().and_then(|v| v.strip_prefix("Basic ")) else {
        return Ok(None);
    };
    let malformed = || {
        ApiError::new(
            ErrorCode::IncompleteSignature,
            "Basic credentials must be base64(ACCESS_KEY_ID:SECRET_ACCESS_KEY).",
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (key_id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let Some(principal) = state.credentials().lookup(key_id) else {
        return Err(ApiError::new(
            ErrorCode::UnrecognizedClient,
            "The security token included in the request is invalid.",
        ));
    };
    if !bool::from(
        principal
            .secret_access_key
            .as_bytes()
            .ct_eq(secret.as_bytes()),
    ) {
        return Err(ApiError::new(
            ErrorCode::InvalidSignature,
            "The secret access key does not match the access key id.",
        ));
    }
    if principal.session_token.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidSignature,
            "Temporary credentials need a SigV4-signed request carrying their session token.",
        ));
    }
    Ok(Some(principal.arn))
}

/// HTTP Basic credentials ([`basic_principal`]) or SigV4 (scope [`SIGNING_NAME`]) with the
/// state's credentials and clock, then IAM.
fn authenticate(
    state: &ApiState,
    authorizer: Option<&dyn RequestAuthorizer>,
    req: &Request,
) -> Result<(), ApiError> {
    let arn = match basic_principal(state, req)? {
        Some(arn) => arn,
        None => sigv4_principal(state, req)?,
    };
    if let Some(authorizer) = authorizer
        && let Some(message) = authorizer.authorize(&arn, IAM_ACTION, "*")
    {
        return Err(ApiError::new(ErrorCode::AccessDenied, message));
    }
    Ok(())
}

/// The principal ARN of a SigV4-signed scrape (scope [`SIGNING_NAME`]).
fn sigv4_principal(state: &ApiState, req: &Request) -> Result<String, ApiError> {
    let signed = SignedRequest {
        method: req.method().as_str(),
        raw_path: req.uri().path(),
        raw_query: req.uri().query(),
        authority: req.uri().authority().map(|a| a.as_str()),
        headers: req.headers(),
        body: &[],
    };
    let verified = sigv4::parse_auth(&signed)
        .and_then(|parsed| {
            if parsed.scope.service != SIGNING_NAME {
                return Err(AuthError::InvalidSignature(format!(
                    "Credential should be scoped to correct service: '{SIGNING_NAME}'."
                )));
            }
            Verifier::new(state.credentials().clone(), state.clock().clone())
                .verify_parsed(&signed, &parsed)
        })
        .map_err(|e| match e {
            AuthError::Missing => ApiError::new(
                ErrorCode::MissingAuthenticationToken,
                format!(
                    "GET {METRICS_PATH} needs a SigV4-signed request (service '{SIGNING_NAME}') \
                     or Basic credentials (access key id and secret access key, Prometheus's \
                     basic_auth); start the server with --metrics-open to serve it without \
                     authentication."
                ),
            ),
            other => {
                tracing::debug!(error = %other, "GET /metrics: SigV4 refused");
                auth_error(&other)
            }
        })?;
    Ok(verified.principal.arn)
}
