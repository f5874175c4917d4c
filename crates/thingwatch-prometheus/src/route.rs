//! The `GET /metrics` route and who may read it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::CONTENT_TYPE;
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
    /// [`SIGNING_NAME`]) verified with the state's credentials and clock, then, when an
    /// authorizer is given, IAM action [`IAM_ACTION`] on `*`.
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

/// SigV4 (scope [`SIGNING_NAME`]) with the state's credentials and clock, then IAM.
fn authenticate(
    state: &ApiState,
    authorizer: Option<&dyn RequestAuthorizer>,
    req: &Request,
) -> Result<(), ApiError> {
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
                    "GET {METRICS_PATH} needs a SigV4-signed request (service '{SIGNING_NAME}'); \
                     start the server with --metrics-open to serve it without authentication."
                ),
            ),
            other => {
                tracing::debug!(error = %other, "GET /metrics: SigV4 refused");
                auth_error(&other)
            }
        })?;
    if let Some(authorizer) = authorizer
        && let Some(message) = authorizer.authorize(&verified.principal.arn, IAM_ACTION, "*")
    {
        return Err(ApiError::new(ErrorCode::AccessDenied, message));
    }
    Ok(())
}
