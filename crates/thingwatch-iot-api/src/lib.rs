//! The AWS IoT control-plane API (rest-json, SigV4 signing name `iot`) over
//! [`thingwatch_registry::Registry`]: the logging configuration (V2 and legacy V1), the thing
//! registry (things, thing groups, membership), IoT policies with versions and attachments,
//! thing principals ([`policies`]), DescribeEndpoint, and — when configured with
//! [`IotService::with_certificates`] — the certificate operations over
//! `thingwatch_certs::CertificateRegistry` ([`certificates`]), and — when configured with
//! [`IotService::with_rules`] — the rules engine's control plane (topic rules and topic rule
//! destinations over `thingwatch_rules::Rules`, [`rules`]), with the unsigned `enableUrl`
//! route of destination confirmations ([`confirm_routes`]).
//!
//! Routing is a small table ([`route::ROUTES`]: method + path template with percent-decoded
//! labels); each operation is one `op_*` function that reads its labels, query and JSON body,
//! validates them with AWS's constraints ([`validate`]), then calls the registry on the
//! blocking pool. Members, routes and statuses follow the botocore `iot-2015-05-28` model
//! (aws-wire.md Appendix A); absent response members are omitted, never `null`; timestamps
//! are epoch **seconds** as JSON numbers (fractional), as rest-json requires.
//!
//! The logging role (`roleArn` of SetV2LoggingOptions / SetLoggingOptions) is checked by the
//! registry's one role check, `thingwatch_registry::check_logging_role` (an IAM role ARN of
//! this account; the identities work adds trust and permission checks there).
//!
//! Errors are rendered in the rest-json format: status + `x-amzn-ErrorType` + `{"message"}`
//! ([`crate::error`]); `ResourceAlreadyExistsException` also carries `resourceId` and
//! `resourceArn`. A request that matches no route is `UnknownOperationException` (404).

pub mod certificates;
pub mod jobs;
mod logging;
pub mod policies;
pub mod route;
pub mod rules;
mod things;
pub mod validate;

use std::sync::Arc;

use axum::response::Response;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thingwatch_certs::CertificateRegistry;
use thingwatch_registry::{Registry, RegistryError};
use thingwatch_rules::Rules;

pub use route::{Operation, ROUTES};
pub use rules::confirm_routes;
use thingwatch_http::error::{ApiError, ErrorCode, Protocol, json_success};
use thingwatch_http::server::{AwsRequest, HandlerFuture, RequestContext, ServiceHandler};

/// Default `maxResults` of the list operations when the caller sends none (our choice; the
/// model allows 1..=250 and AWS documents no default).
pub const DEFAULT_MAX_RESULTS: usize = 250;
/// Upper bound of `maxResults` (`RegistryMaxResults` / `SkyfallMaxResults`: 1..=250).
pub const MAX_RESULTS: i64 = 250;

/// The endpoints DescribeEndpoint answers with, by `endpointType`.
///
/// `endpointAddress` is a host name in AWS (clients add the port: 8883 MQTT/TLS, 443).
/// Thingwatch listens on configurable ports, so the binary decides what to advertise — a host
/// name, or `host:port` when the port is not the protocol default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The MQTT broker's address, answered for `iot:Data-ATS` (the default when no
    /// `endpointType` is given) and for the legacy `iot:Data` (Thingwatch has one broker and
    /// one server certificate, so both types name the same endpoint).
    pub data: String,
    /// The `iot:Jobs` endpoint (the jobs data plane, served on the HTTP API port), if any.
    pub jobs: Option<String>,
    /// The `iot:CredentialProvider` endpoint, if any (Thingwatch has no credential provider
    /// yet; `None` answers `InvalidRequestException`).
    pub credential_provider: Option<String>,
}

impl Endpoints {
    /// Only the MQTT data endpoint.
    pub fn data_only(data: impl Into<String>) -> Endpoints {
        Endpoints {
            data: data.into(),
            jobs: None,
            credential_provider: None,
        }
    }
}

/// What [`IotService::new`] needs besides the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IotSettings {
    /// The 12-digit account id (ARNs given to AddThingToThingGroup must name this account).
    pub account_id: String,
    /// The server region (ARNs given to AddThingToThingGroup must name this region).
    pub region: String,
    /// DescribeEndpoint's answers.
    pub endpoints: Endpoints,
}

/// The AWS IoT service handler (signing name `iot`). Cheap to clone.
///
/// Register it with `ApiState::with_service("iot", Arc::new(IotService::new(registry,
/// settings).with_certificates(certs)))`.
#[derive(Clone)]
pub struct IotService {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    settings: IotSettings,
    /// Serializes SetV2LoggingOptions / SetLoggingOptions: they read the stored options,
    /// merge the members the caller sent, and write the result back.
    logging_writes: tokio::sync::Mutex<()>,
    /// The certificate registry the certificate operations use; `None` answers them with
    /// `UnknownOperationException`.
    certificates: Option<CertificateRegistry>,
    /// Checks that the caller may pass a logging role to AWS IoT (`iam:PassRole`, trust in
    /// `iot.amazonaws.com`); `None` checks only the ARN's shape.
    roles: Option<Arc<dyn RoleChecker>>,
    /// The topic rules and destinations the rule operations use; `None` answers them with
    /// `UnknownOperationException`.
    rules: Option<Rules>,
    /// The Jobs service the job and job template operations use; `None` answers them with
    /// `UnknownOperationException`.
    jobs: Option<thingwatch_jobs::Jobs>,
}

/// The IAM check SetV2LoggingOptions / SetLoggingOptions make on `roleArn` (AWS IoT guide,
/// *Configure AWS IoT logging*: the role must trust `iot.amazonaws.com` and the caller needs
/// `iam:PassRole` for it), also made by CreateTopicRule / ReplaceTopicRule on every distinct
/// `roleArn` of the rule's actions and error action (guide, *Granting an AWS IoT rule the
/// access it requires*: the caller passes each action's role to AWS IoT).
pub trait RoleChecker: Send + Sync + 'static {
    /// `Ok` when `caller_arn` may pass `role_arn` to AWS IoT; else the error to answer
    /// (`AccessDeniedException` when the caller lacks `iam:PassRole`,
    /// `InvalidRequestException` when the role does not exist or does not trust
    /// `iot.amazonaws.com`).
    fn check(&self, caller_arn: &str, role_arn: &str) -> Result<(), ApiError>;
}

impl IotService {
    /// Serves `registry` with `settings` (account, region, DescribeEndpoint answers).
    pub fn new(registry: Registry, settings: IotSettings) -> IotService {
        IotService {
            inner: Arc::new(Inner {
                registry,
                settings,
                logging_writes: tokio::sync::Mutex::new(()),
                certificates: None,
                roles: None,
                rules: None,
                jobs: None,
            }),
        }
    }

    /// The same service with the certificate operations (CreateKeysAndCertificate …
    /// GetRegistrationCode) served by `certificates`, which also makes certificate principals
    /// and targets be checked for existence. Call it before the service is shared (it builds
    /// a new handle; clones made earlier keep the old configuration).
    #[must_use]
    pub fn with_certificates(self, certificates: CertificateRegistry) -> IotService {
        IotService {
            inner: Arc::new(Inner {
                registry: self.inner.registry.clone(),
                settings: self.inner.settings.clone(),
                logging_writes: tokio::sync::Mutex::new(()),
                certificates: Some(certificates),
                roles: self.inner.roles.clone(),
                rules: self.inner.rules.clone(),
                jobs: self.inner.jobs.clone(),
            }),
        }
    }

    /// The same service with logging roles checked by `roles` (see [`RoleChecker`]). Call it
    /// before the service is shared.
    #[must_use]
    pub fn with_role_checker(self, roles: Arc<dyn RoleChecker>) -> IotService {
        IotService {
            inner: Arc::new(Inner {
                registry: self.inner.registry.clone(),
                settings: self.inner.settings.clone(),
                logging_writes: tokio::sync::Mutex::new(()),
                certificates: self.inner.certificates.clone(),
                roles: Some(roles),
                rules: self.inner.rules.clone(),
                jobs: self.inner.jobs.clone(),
            }),
        }
    }

    /// The same service with the topic rule and topic rule destination operations
    /// (CreateTopicRule … ConfirmTopicRuleDestination, see [`rules`]) served by `rules`.
    /// Without it they answer `UnknownOperationException`. Call it before the service is
    /// shared. Mount [`confirm_routes`] as well so the `enableUrl` of confirmation messages
    /// works unsigned.
    #[must_use]
    pub fn with_rules(self, rules: Rules) -> IotService {
        IotService {
            inner: Arc::new(Inner {
                registry: self.inner.registry.clone(),
                settings: self.inner.settings.clone(),
                logging_writes: tokio::sync::Mutex::new(()),
                certificates: self.inner.certificates.clone(),
                roles: self.inner.roles.clone(),
                rules: Some(rules),
                jobs: self.inner.jobs.clone(),
            }),
        }
    }

    /// The same service with the Jobs control plane (CreateJob … DeleteJobTemplate, see
    /// [`jobs`]) served by `jobs`. Without it they answer `UnknownOperationException`. Call
    /// it before the service is shared.
    #[must_use]
    pub fn with_jobs(self, jobs: thingwatch_jobs::Jobs) -> IotService {
        IotService {
            inner: Arc::new(Inner {
                registry: self.inner.registry.clone(),
                settings: self.inner.settings.clone(),
                logging_writes: tokio::sync::Mutex::new(()),
                certificates: self.inner.certificates.clone(),
                roles: self.inner.roles.clone(),
                rules: self.inner.rules.clone(),
                jobs: Some(jobs),
            }),
        }
    }

    /// The topic rules, when configured.
    pub fn rules(&self) -> Option<&Rules> {
        self.inner.rules.as_ref()
    }

    /// Runs the [`RoleChecker`], if configured.
    pub(crate) fn check_role(&self, caller_arn: &str, role_arn: &str) -> Result<(), ApiError> {
        match &self.inner.roles {
            Some(r) => r.check(caller_arn, role_arn),
            None => Ok(()),
        }
    }

    /// The certificate registry, when configured.
    pub fn certificates(&self) -> Option<&CertificateRegistry> {
        self.inner.certificates.as_ref()
    }

    fn registry(&self) -> Registry {
        self.inner.registry.clone()
    }

    /// The account and region ARNs are built in.
    fn scope(&self) -> thingwatch_aws::Scope {
        let s = self.settings();
        thingwatch_aws::Scope::new(&s.account_id, &s.region)
    }

    fn settings(&self) -> &IotSettings {
        &self.inner.settings
    }
}

impl ServiceHandler for IotService {
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let svc = self.clone();
        Box::pin(async move { svc.dispatch(ctx, req).await })
    }

    fn operation_name(&self, req: &AwsRequest) -> Option<String> {
        route::match_route(&req.method, req.uri.path())
            .ok()
            .map(|m| format!("{:?}", m.operation))
    }

    fn path_labels(&self, req: &AwsRequest) -> Vec<(String, String)> {
        route::match_route(&req.method, req.uri.path())
            .map(|m| {
                m.labels
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Everything an operation reads from the request.
pub(crate) struct Input<'a> {
    pub matched: route::Matched,
    pub query: route::Query,
    pub body: &'a [u8],
    pub headers: &'a http::HeaderMap,
    pub ctx: &'a RequestContext,
}

impl Input<'_> {
    /// Parses the JSON body into `T` (an empty body counts as `{}`).
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_body(self.body)
    }

    /// A request header as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl IotService {
    async fn dispatch(self, ctx: RequestContext, req: AwsRequest) -> Result<Response, ApiError> {
        let matched = route::match_route(&req.method, req.uri.path())?;
        let query = route::Query::parse(req.uri.query())?;
        let rid = ctx.request_id.clone();
        let input = Input {
            matched,
            query,
            body: &req.body,
            headers: &req.headers,
            ctx: &ctx,
        };
        use Operation as O;
        match input.matched.operation {
            O::SetV2LoggingOptions => reply(&rid, self.op_set_v2_logging_options(&input)).await,
            O::GetV2LoggingOptions => reply(&rid, self.op_get_v2_logging_options(&input)).await,
            O::SetV2LoggingLevel => reply(&rid, self.op_set_v2_logging_level(&input)).await,
            O::ListV2LoggingLevels => reply(&rid, self.op_list_v2_logging_levels(&input)).await,
            O::DeleteV2LoggingLevel => reply(&rid, self.op_delete_v2_logging_level(&input)).await,
            O::SetLoggingOptions => reply(&rid, self.op_set_logging_options(&input)).await,
            O::GetLoggingOptions => reply(&rid, self.op_get_logging_options()).await,
            O::CreateThing => reply(&rid, self.op_create_thing(&input)).await,
            O::DescribeThing => reply(&rid, self.op_describe_thing(&input)).await,
            O::UpdateThing => reply(&rid, self.op_update_thing(&input)).await,
            O::DeleteThing => reply(&rid, self.op_delete_thing(&input)).await,
            O::ListThings => reply(&rid, self.op_list_things(&input)).await,
            O::CreateThingGroup => reply(&rid, self.op_create_thing_group(&input)).await,
            O::DescribeThingGroup => reply(&rid, self.op_describe_thing_group(&input)).await,
            O::UpdateThingGroup => reply(&rid, self.op_update_thing_group(&input)).await,
            O::DeleteThingGroup => reply(&rid, self.op_delete_thing_group(&input)).await,
            O::ListThingGroups => reply(&rid, self.op_list_thing_groups(&input)).await,
            O::AddThingToThingGroup => reply(&rid, self.op_add_thing_to_group(&input)).await,
            O::RemoveThingFromThingGroup => {
                reply(&rid, self.op_remove_thing_from_group(&input)).await
            }
            O::ListThingsInThingGroup => reply(&rid, self.op_list_things_in_group(&input)).await,
            O::ListThingGroupsForThing => reply(&rid, self.op_list_groups_for_thing(&input)).await,
            O::DescribeEndpoint => reply(&rid, async { self.op_describe_endpoint(&input) }).await,
            O::CreatePolicy => reply(&rid, self.op_create_policy(&input)).await,
            O::GetPolicy => reply(&rid, self.op_get_policy(&input)).await,
            O::ListPolicies => reply(&rid, self.op_list_policies(&input)).await,
            O::DeletePolicy => reply(&rid, self.op_delete_policy(&input)).await,
            O::CreatePolicyVersion => reply(&rid, self.op_create_policy_version(&input)).await,
            O::GetPolicyVersion => reply(&rid, self.op_get_policy_version(&input)).await,
            O::ListPolicyVersions => reply(&rid, self.op_list_policy_versions(&input)).await,
            O::DeletePolicyVersion => reply(&rid, self.op_delete_policy_version(&input)).await,
            O::SetDefaultPolicyVersion => {
                reply(&rid, self.op_set_default_policy_version(&input)).await
            }
            O::AttachPolicy => reply(&rid, self.op_attach_policy(&input)).await,
            O::DetachPolicy => reply(&rid, self.op_detach_policy(&input)).await,
            O::ListAttachedPolicies => reply(&rid, self.op_list_attached_policies(&input)).await,
            O::ListTargetsForPolicy => reply(&rid, self.op_list_targets_for_policy(&input)).await,
            O::AttachThingPrincipal => reply(&rid, self.op_attach_thing_principal(&input)).await,
            O::DetachThingPrincipal => reply(&rid, self.op_detach_thing_principal(&input)).await,
            O::ListThingPrincipals => reply(&rid, self.op_list_thing_principals(&input)).await,
            O::ListThingPrincipalsV2 => reply(&rid, self.op_list_thing_principals_v2(&input)).await,
            O::ListPrincipalThings => reply(&rid, self.op_list_principal_things(&input)).await,
            O::ListPrincipalThingsV2 => reply(&rid, self.op_list_principal_things_v2(&input)).await,
            O::CreateKeysAndCertificate => {
                reply(&rid, self.op_create_keys_and_certificate(&input)).await
            }
            O::CreateCertificateFromCsr => {
                reply(&rid, self.op_create_certificate_from_csr(&input)).await
            }
            O::RegisterCertificate => {
                reply(&rid, self.op_register_certificate(&input, false)).await
            }
            O::RegisterCertificateWithoutCA => {
                reply(&rid, self.op_register_certificate(&input, true)).await
            }
            O::RegisterCACertificate => reply(&rid, self.op_register_ca_certificate(&input)).await,
            O::DescribeCertificate => reply(&rid, self.op_describe_certificate(&input)).await,
            O::ListCertificates => reply(&rid, self.op_list_certificates(&input)).await,
            O::ListCertificatesByCA => reply(&rid, self.op_list_certificates_by_ca(&input)).await,
            O::UpdateCertificate => reply(&rid, self.op_update_certificate(&input)).await,
            O::DeleteCertificate => reply(&rid, self.op_delete_certificate(&input)).await,
            O::DescribeCACertificate => reply(&rid, self.op_describe_ca_certificate(&input)).await,
            O::ListCACertificates => reply(&rid, self.op_list_ca_certificates(&input)).await,
            O::UpdateCACertificate => reply(&rid, self.op_update_ca_certificate(&input)).await,
            O::DeleteCACertificate => reply(&rid, self.op_delete_ca_certificate(&input)).await,
            O::GetRegistrationCode => reply(&rid, self.op_get_registration_code()).await,
            O::GetEffectivePolicies => reply(&rid, self.op_get_effective_policies(&input)).await,
            O::CreateTopicRule => reply(&rid, self.op_create_topic_rule(&input)).await,
            O::GetTopicRule => reply(&rid, self.op_get_topic_rule(&input)).await,
            O::ListTopicRules => reply(&rid, self.op_list_topic_rules(&input)).await,
            O::ReplaceTopicRule => reply(&rid, self.op_replace_topic_rule(&input)).await,
            O::DeleteTopicRule => reply(&rid, self.op_delete_topic_rule(&input)).await,
            O::EnableTopicRule => reply(&rid, self.op_set_topic_rule_disabled(&input, false)).await,
            O::DisableTopicRule => reply(&rid, self.op_set_topic_rule_disabled(&input, true)).await,
            O::CreateTopicRuleDestination => {
                reply(&rid, self.op_create_topic_rule_destination(&input)).await
            }
            O::GetTopicRuleDestination => {
                reply(&rid, self.op_get_topic_rule_destination(&input)).await
            }
            O::ListTopicRuleDestinations => {
                reply(&rid, self.op_list_topic_rule_destinations(&input)).await
            }
            O::UpdateTopicRuleDestination => {
                reply(&rid, self.op_update_topic_rule_destination(&input)).await
            }
            O::DeleteTopicRuleDestination => {
                reply(&rid, self.op_delete_topic_rule_destination(&input)).await
            }
            O::ConfirmTopicRuleDestination => {
                reply(&rid, self.op_confirm_topic_rule_destination(&input)).await
            }
            O::CreateJob => reply(&rid, self.op_create_job(&input)).await,
            O::DescribeJob => reply(&rid, self.op_describe_job(&input)).await,
            O::ListJobs => reply(&rid, self.op_list_jobs(&input)).await,
            O::UpdateJob => reply(&rid, self.op_update_job(&input)).await,
            O::CancelJob => reply(&rid, self.op_cancel_job(&input)).await,
            O::DeleteJob => reply(&rid, self.op_delete_job(&input)).await,
            O::GetJobDocument => reply(&rid, self.op_get_job_document(&input)).await,
            O::DescribeJobExecution => reply(&rid, self.op_describe_job_execution(&input)).await,
            O::ListJobExecutionsForJob => {
                reply(&rid, self.op_list_job_executions_for_job(&input)).await
            }
            O::ListJobExecutionsForThing => {
                reply(&rid, self.op_list_job_executions_for_thing(&input)).await
            }
            O::CancelJobExecution => reply(&rid, self.op_cancel_job_execution(&input)).await,
            O::DeleteJobExecution => reply(&rid, self.op_delete_job_execution(&input)).await,
            O::CreateJobTemplate => reply(&rid, self.op_create_job_template(&input)).await,
            O::DescribeJobTemplate => reply(&rid, self.op_describe_job_template(&input)).await,
            O::ListJobTemplates => reply(&rid, self.op_list_job_templates(&input)).await,
            O::DeleteJobTemplate => reply(&rid, self.op_delete_job_template(&input)).await,
        }
    }

    /// DescribeEndpoint (`GET /endpoint?endpointType=`): see [`Endpoints`].
    fn op_describe_endpoint(&self, input: &Input<'_>) -> Result<DescribeEndpointOutput, ApiError> {
        let endpoint_type = input.query.get("endpointType");
        let mut v = validate::Validation::new();
        v.string(
            "endpointType",
            endpoint_type,
            0,
            validate::MAX_ENDPOINT_TYPE_LEN,
            None,
        );
        v.finish()?;
        let eps = &self.settings().endpoints;
        let unsupported = |t: &str| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("Endpoint type {t} is not supported by this server."),
            )
        };
        let address = match endpoint_type.unwrap_or(ENDPOINT_DATA_ATS) {
            ENDPOINT_DATA_ATS | ENDPOINT_DATA => eps.data.clone(),
            ENDPOINT_JOBS => eps.jobs.clone().ok_or_else(|| unsupported(ENDPOINT_JOBS))?,
            ENDPOINT_CREDENTIAL_PROVIDER => eps
                .credential_provider
                .clone()
                .ok_or_else(|| unsupported(ENDPOINT_CREDENTIAL_PROVIDER))?,
            other => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "Invalid endpoint type '{other}': expected one of {ENDPOINT_DATA_ATS}, {ENDPOINT_DATA}, {ENDPOINT_CREDENTIAL_PROVIDER}, {ENDPOINT_JOBS}."
                    ),
                ));
            }
        };
        Ok(DescribeEndpointOutput {
            endpoint_address: address,
        })
    }
}

/// `endpointType` of the ATS-signed data endpoint (the one AWS recommends).
pub const ENDPOINT_DATA_ATS: &str = "iot:Data-ATS";
/// `endpointType` of the legacy VeriSign-signed data endpoint.
pub const ENDPOINT_DATA: &str = "iot:Data";
/// `endpointType` of the credential provider.
pub const ENDPOINT_CREDENTIAL_PROVIDER: &str = "iot:CredentialProvider";
/// `endpointType` of the jobs data plane.
pub const ENDPOINT_JOBS: &str = "iot:Jobs";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeEndpointOutput {
    endpoint_address: String,
}

/// The empty JSON object returned by operations without output.
#[derive(Serialize)]
pub(crate) struct Empty {}

/// Maps a registry error to its AWS error. `internal` is the operation's modeled 500 code
/// (`InternalException` for the logging operations, `InternalFailureException` for the
/// registry ones); its cause is logged, never sent.
pub(crate) fn registry_error(e: RegistryError, internal: ErrorCode) -> ApiError {
    match e {
        RegistryError::ResourceNotFound(m) => ApiError::new(ErrorCode::ResourceNotFound, m),
        RegistryError::ResourceAlreadyExists {
            message,
            resource_id,
            resource_arn,
        } => ApiError::new(ErrorCode::ResourceAlreadyExists, message)
            .with_field("resourceId", resource_id)
            .with_field("resourceArn", resource_arn),
        RegistryError::InvalidRequest(m) => ApiError::new(ErrorCode::InvalidRequest, m),
        RegistryError::VersionConflict(m) => ApiError::new(ErrorCode::VersionConflict, m),
        RegistryError::LimitExceeded(m) => ApiError::new(ErrorCode::LimitExceeded, m),
        RegistryError::NotConfigured(m) => ApiError::new(ErrorCode::NotConfigured, m),
        RegistryError::MalformedPolicy(m) => ApiError::new(ErrorCode::MalformedPolicy, m),
        RegistryError::DeleteConflict(m) => ApiError::new(ErrorCode::IotDeleteConflict, m),
        RegistryError::VersionsLimitExceeded(m) => {
            ApiError::new(ErrorCode::VersionsLimitExceeded, m)
        }
        RegistryError::Storage(cause) => {
            tracing::error!(%cause, "registry storage failure");
            ApiError::new(internal, "An unexpected error has occurred.")
        }
    }
}

/// Runs a blocking registry call on the blocking pool, mapping its error with
/// [`registry_error`].
pub(crate) async fn blocking<T, F>(internal: ErrorCode, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, RegistryError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| registry_error(e, internal)),
        Err(join) => {
            tracing::error!(error = %join, "registry task failed");
            Err(ApiError::new(internal, "An unexpected error has occurred."))
        }
    }
}

/// Parses a JSON body (see [`thingwatch_http::json::parse_body`]).
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    thingwatch_http::json::parse_body("iot", body)
}

/// Awaits an operation and renders its output as a rest-json 200.
async fn reply<T: Serialize>(
    request_id: &str,
    op: impl Future<Output = Result<T, ApiError>>,
) -> Result<Response, ApiError> {
    let out = op.await?;
    json_success(Protocol::RestJson, request_id, &out)
}

/// Epoch milliseconds as rest-json epoch seconds (fractional).
pub(crate) fn epoch_seconds(ms: i64) -> f64 {
    // i64 -> f64 is exact for every realistic timestamp (< 2^53 ms).
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    s
}

/// Resolves a `maxResults` query parameter (validated 1..=[`MAX_RESULTS`]).
pub(crate) fn max_results(v: &mut validate::Validation, value: Option<i64>) -> usize {
    v.range("maxResults", value, 1, MAX_RESULTS);
    value
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| (1..=DEFAULT_MAX_RESULTS).contains(n))
        .unwrap_or(DEFAULT_MAX_RESULTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_map_to_aws_codes() {
        let table = [
            (
                RegistryError::ResourceNotFound("x".into()),
                ErrorCode::ResourceNotFound,
                404,
            ),
            (
                RegistryError::InvalidRequest("x".into()),
                ErrorCode::InvalidRequest,
                400,
            ),
            (
                RegistryError::VersionConflict("x".into()),
                ErrorCode::VersionConflict,
                409,
            ),
            (
                RegistryError::LimitExceeded("x".into()),
                ErrorCode::LimitExceeded,
                410,
            ),
            (
                RegistryError::NotConfigured("x".into()),
                ErrorCode::NotConfigured,
                404,
            ),
            (
                RegistryError::MalformedPolicy("x".into()),
                ErrorCode::MalformedPolicy,
                400,
            ),
            (
                RegistryError::DeleteConflict("x".into()),
                ErrorCode::IotDeleteConflict,
                409,
            ),
            (
                RegistryError::VersionsLimitExceeded("x".into()),
                ErrorCode::VersionsLimitExceeded,
                409,
            ),
            (
                RegistryError::Storage("disk on fire".into()),
                ErrorCode::InternalFailure,
                500,
            ),
        ];
        for (err, code, status) in table {
            let e = registry_error(err, ErrorCode::InternalFailure);
            assert_eq!(e.code, code);
            assert_eq!(e.code.http_status(Protocol::RestJson), status);
            assert!(!e.message.contains("disk on fire"));
        }
        let e = registry_error(
            RegistryError::ResourceAlreadyExists {
                message: "Thing t already exists".into(),
                resource_id: "id-1".into(),
                resource_arn: "arn:aws:iot:us-east-1:123456789012:thing/t".into(),
            },
            ErrorCode::InternalFailure,
        );
        assert_eq!(e.code, ErrorCode::ResourceAlreadyExists);
        assert_eq!(
            e.fields,
            vec![
                ("resourceId", "id-1".to_owned()),
                (
                    "resourceArn",
                    "arn:aws:iot:us-east-1:123456789012:thing/t".to_owned()
                )
            ]
        );
        let e = registry_error(RegistryError::Storage("x".into()), ErrorCode::Internal);
        assert_eq!(e.code.as_str(), "InternalException");
    }
}
