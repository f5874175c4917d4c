//! The AWS IoT policy operations — CreatePolicy, GetPolicy, ListPolicies, DeletePolicy,
//! CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion,
//! SetDefaultPolicyVersion, AttachPolicy, DetachPolicy, ListAttachedPolicies,
//! ListTargetsForPolicy, GetEffectivePolicies — and the thing-principal operations — AttachThingPrincipal,
//! DetachThingPrincipal, ListThingPrincipals(V2), ListPrincipalThings(V2).
//!
//! Members, locations and shapes: botocore `iot-2015-05-28` (`x-amzn-principal` header for
//! the principal, `thingPrincipalType` / `setAsDefault` / `recursive` / `marker` /
//! `pageSize` / `isAscendingOrder` in the query string, `target` in the body of
//! AttachPolicy / DetachPolicy and in the path of ListAttachedPolicies). Timestamps are epoch
//! seconds.
//!
//! Principals and certificate targets must be certificate ARNs of this account and region
//! (`arn:aws:iot:REGION:ACCOUNT:cert/ID`); when the service has a certificate registry
//! ([`IotService::with_certificates`]) the certificate must exist
//! (`ResourceNotFoundException` otherwise). Cognito identities are not supported.

use serde::{Deserialize, Serialize};
use thingwatch_aws::{Arn, IotKind};
use thingwatch_registry::{
    MarkerQuery, PolicyInfo, PolicySummary, PolicyVersionInfo, ThingPrincipalType,
};

use super::validate::{IotNames, MAX_MARKER_LEN, MAX_POLICY_DOCUMENT_LEN, Pattern, Validation};
use super::{Empty, Input, IotService, blocking, epoch_seconds, max_results};
use thingwatch_http::error::{ApiError, ErrorCode};

/// The 500 code the policy operations model.
const INTERNAL: ErrorCode = ErrorCode::InternalFailure;

/// The header that carries the principal of the thing-principal operations.
pub const PRINCIPAL_HEADER: &str = "x-amzn-principal";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePolicyInput {
    policy_document: Option<String>,
    #[allow(dead_code)]
    tags: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatePolicyOutput {
    policy_name: String,
    policy_arn: String,
    policy_document: String,
    policy_version_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetPolicyOutput {
    policy_name: String,
    policy_arn: String,
    policy_document: String,
    default_version_id: String,
    creation_date: f64,
    last_modified_date: f64,
    generation_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyOut {
    policy_name: String,
    policy_arn: String,
}

impl From<PolicySummary> for PolicyOut {
    fn from(p: PolicySummary) -> Self {
        PolicyOut {
            policy_name: p.policy_name,
            policy_arn: p.policy_arn,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PoliciesOutput {
    policies: Vec<PolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatePolicyVersionOutput {
    policy_arn: String,
    policy_document: String,
    policy_version_id: String,
    is_default_version: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetPolicyVersionOutput {
    policy_arn: String,
    policy_name: String,
    policy_document: String,
    policy_version_id: String,
    is_default_version: bool,
    creation_date: f64,
    last_modified_date: f64,
    generation_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyVersionOut {
    version_id: String,
    is_default_version: bool,
    create_date: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListPolicyVersionsOutput {
    policy_versions: Vec<PolicyVersionOut>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetInput {
    target: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListTargetsOutput {
    targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EffectivePoliciesInput {
    principal: Option<String>,
    cognito_identity_pool_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EffectivePolicyOut {
    policy_name: String,
    policy_arn: String,
    policy_document: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EffectivePoliciesOutput {
    effective_policies: Vec<EffectivePolicyOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListThingPrincipalsOutput {
    principals: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThingPrincipalObject {
    principal: String,
    thing_principal_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListThingPrincipalsV2Output {
    thing_principal_objects: Vec<ThingPrincipalObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListPrincipalThingsOutput {
    things: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalThingObject {
    thing_name: String,
    thing_principal_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListPrincipalThingsV2Output {
    principal_thing_objects: Vec<PrincipalThingObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn get_policy_output(p: PolicyInfo) -> GetPolicyOutput {
    GetPolicyOutput {
        policy_name: p.policy_name,
        policy_arn: p.policy_arn,
        policy_document: p.policy_document,
        default_version_id: p.default_version_id.to_string(),
        creation_date: epoch_seconds(p.creation_date_ms),
        last_modified_date: epoch_seconds(p.last_modified_date_ms),
        generation_id: p.generation_id,
    }
}

fn get_policy_version_output(v: PolicyVersionInfo) -> GetPolicyVersionOutput {
    GetPolicyVersionOutput {
        policy_arn: v.policy_arn,
        policy_name: v.policy_name,
        policy_document: v.policy_document,
        policy_version_id: v.version_id.to_string(),
        is_default_version: v.is_default_version,
        creation_date: epoch_seconds(v.creation_date_ms),
        last_modified_date: epoch_seconds(v.last_modified_date_ms),
        generation_id: v.generation_id,
    }
}

/// Validates the `policyName` path label.
fn policy_name_label(v: &mut Validation, input: &Input<'_>) -> String {
    let name = input.matched.label("policyName").to_owned();
    v.policy_name("policyName", Some(&name));
    name
}

/// Validates and parses the `policyVersionId` path label.
fn version_label(v: &mut Validation, input: &Input<'_>) -> u32 {
    let raw = input.matched.label("policyVersionId");
    v.string(
        "policyVersionId",
        Some(raw),
        1,
        10,
        Some(Pattern::PolicyVersionId),
    );
    raw.parse::<u32>().unwrap_or(0)
}

/// Reads `marker`, `pageSize` (and `isAscendingOrder` when `ordered`) from the query.
fn marker_query(
    v: &mut Validation,
    input: &Input<'_>,
    ordered: bool,
) -> Result<MarkerQuery, ApiError> {
    let q = &input.query;
    let marker = q.get("marker");
    v.string("marker", marker, 0, MAX_MARKER_LEN, Some(Pattern::Marker));
    let page_size = q.int("pageSize")?;
    v.range("pageSize", page_size, 1, super::MAX_RESULTS);
    let ascending = if ordered {
        q.bool("isAscendingOrder")?.unwrap_or(false)
    } else {
        true
    };
    Ok(MarkerQuery {
        marker: marker.map(str::to_owned),
        page_size: page_size.and_then(|n| usize::try_from(n).ok()),
        ascending,
    })
}

/// Validates a `policyDocument` member (required, model length).
fn document(v: &mut Validation, doc: Option<&str>) {
    if v.required("policyDocument", doc).is_some() {
        v.string("policyDocument", doc, 0, MAX_POLICY_DOCUMENT_LEN, None);
    }
}

/// Parses `thingPrincipalType` from the query (default `None`).
fn principal_type_query(input: &Input<'_>) -> Result<Option<ThingPrincipalType>, ApiError> {
    input
        .query
        .get("thingPrincipalType")
        .map(|s| s.parse::<ThingPrincipalType>())
        .transpose()
        .map_err(|e| super::registry_error(e, INTERNAL))
}

impl IotService {
    /// Checks that `arn` is a certificate ARN of this account and region and, when the
    /// service has a certificate registry, that the certificate exists. Returns the ARN with
    /// the ID in lowercase.
    pub(crate) async fn certificate_principal(
        &self,
        field: &str,
        arn: &str,
    ) -> Result<String, ApiError> {
        let prefix = Arn::iot_prefix(&self.scope(), IotKind::Cert);
        let Some(id) = arn.strip_prefix(&prefix) else {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("Invalid {field} {arn}: expected a certificate ARN {prefix}ID."),
            ));
        };
        let id = thingwatch_certs::normalize_certificate_id(id).map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("Invalid {field} {arn}: the certificate ID must be 64 hexadecimal digits."),
            )
        })?;
        if let Some(certs) = self.certificates() {
            let certs = certs.clone();
            let known = {
                let id = id.clone();
                super::certificates::cert_blocking(move || match certs.describe_certificate(&id) {
                    Ok(_) => Ok(true),
                    Err(thingwatch_certs::CertError::ResourceNotFound(_)) => Ok(false),
                    Err(e) => Err(e),
                })
                .await?
            };
            if !known {
                return Err(ApiError::new(
                    ErrorCode::ResourceNotFound,
                    format!("The certificate {id} cannot be found."),
                ));
            }
        }
        Ok(format!("{prefix}{id}"))
    }

    /// The principal of a thing-principal operation (`x-amzn-principal`), validated.
    async fn header_principal(&self, input: &Input<'_>) -> Result<String, ApiError> {
        let Some(principal) = input.header(PRINCIPAL_HEADER) else {
            let mut v = Validation::new();
            v.null("principal");
            v.finish()?;
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "principal is required.",
            ));
        };
        self.certificate_principal("principal", principal).await
    }

    /// CreatePolicy (`POST /policies/{policyName}`).
    pub(crate) async fn op_create_policy(
        &self,
        input: &Input<'_>,
    ) -> Result<CreatePolicyOutput, ApiError> {
        let body: CreatePolicyInput = input.body()?;
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        document(&mut v, body.policy_document.as_deref());
        v.finish()?;
        let doc = body.policy_document.unwrap_or_default();
        let now = input.ctx.now_ms();
        let registry = self.registry();
        let p = blocking(INTERNAL, move || registry.create_policy(&name, &doc, now)).await?;
        Ok(CreatePolicyOutput {
            policy_name: p.policy_name,
            policy_arn: p.policy_arn,
            policy_document: p.policy_document,
            policy_version_id: p.default_version_id.to_string(),
        })
    }

    /// GetPolicy (`GET /policies/{policyName}`).
    pub(crate) async fn op_get_policy(
        &self,
        input: &Input<'_>,
    ) -> Result<GetPolicyOutput, ApiError> {
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        v.finish()?;
        let registry = self.registry();
        let p = blocking(INTERNAL, move || registry.get_policy(&name)).await?;
        Ok(get_policy_output(p))
    }

    /// ListPolicies (`GET /policies?marker&pageSize&isAscendingOrder`).
    pub(crate) async fn op_list_policies(
        &self,
        input: &Input<'_>,
    ) -> Result<PoliciesOutput, ApiError> {
        let mut v = Validation::new();
        let q = marker_query(&mut v, input, true)?;
        v.finish()?;
        let registry = self.registry();
        let page = blocking(INTERNAL, move || registry.list_policies(&q)).await?;
        Ok(PoliciesOutput {
            policies: page.items.into_iter().map(PolicyOut::from).collect(),
            next_marker: page.next_token,
        })
    }

    /// DeletePolicy (`DELETE /policies/{policyName}`).
    pub(crate) async fn op_delete_policy(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        v.finish()?;
        let registry = self.registry();
        blocking(INTERNAL, move || registry.delete_policy(&name)).await?;
        Ok(Empty {})
    }

    /// CreatePolicyVersion (`POST /policies/{policyName}/version?setAsDefault`).
    pub(crate) async fn op_create_policy_version(
        &self,
        input: &Input<'_>,
    ) -> Result<CreatePolicyVersionOutput, ApiError> {
        let body: CreatePolicyInput = input.body()?;
        let set_as_default = input.query.bool("setAsDefault")?.unwrap_or(false);
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        document(&mut v, body.policy_document.as_deref());
        v.finish()?;
        let doc = body.policy_document.unwrap_or_default();
        let now = input.ctx.now_ms();
        let registry = self.registry();
        let p = blocking(INTERNAL, move || {
            registry.create_policy_version(&name, &doc, set_as_default, now)
        })
        .await?;
        Ok(CreatePolicyVersionOutput {
            policy_arn: p.policy_arn,
            policy_document: p.policy_document,
            policy_version_id: p.version_id.to_string(),
            is_default_version: p.is_default_version,
        })
    }

    /// GetPolicyVersion (`GET /policies/{policyName}/version/{policyVersionId}`).
    pub(crate) async fn op_get_policy_version(
        &self,
        input: &Input<'_>,
    ) -> Result<GetPolicyVersionOutput, ApiError> {
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        let version = version_label(&mut v, input);
        v.finish()?;
        let registry = self.registry();
        let p = blocking(INTERNAL, move || {
            registry.get_policy_version(&name, version)
        })
        .await?;
        Ok(get_policy_version_output(p))
    }

    /// ListPolicyVersions (`GET /policies/{policyName}/version`): newest first.
    pub(crate) async fn op_list_policy_versions(
        &self,
        input: &Input<'_>,
    ) -> Result<ListPolicyVersionsOutput, ApiError> {
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        v.finish()?;
        let registry = self.registry();
        let versions = blocking(INTERNAL, move || registry.list_policy_versions(&name)).await?;
        Ok(ListPolicyVersionsOutput {
            policy_versions: versions
                .into_iter()
                .map(|v| PolicyVersionOut {
                    version_id: v.version_id.to_string(),
                    is_default_version: v.is_default_version,
                    create_date: epoch_seconds(v.create_date_ms),
                })
                .collect(),
        })
    }

    /// DeletePolicyVersion (`DELETE /policies/{policyName}/version/{policyVersionId}`).
    pub(crate) async fn op_delete_policy_version(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        let version = version_label(&mut v, input);
        v.finish()?;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.delete_policy_version(&name, version)
        })
        .await?;
        Ok(Empty {})
    }

    /// SetDefaultPolicyVersion (`PATCH /policies/{policyName}/version/{policyVersionId}`).
    pub(crate) async fn op_set_default_policy_version(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        let version = version_label(&mut v, input);
        v.finish()?;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.set_default_policy_version(&name, version)
        })
        .await?;
        Ok(Empty {})
    }

    /// Resolves a policy target: a certificate ARN (checked with
    /// [`Self::certificate_principal`]) or anything else, left to the registry (thing-group
    /// ARNs; everything else is `InvalidRequestException`).
    async fn policy_target(&self, target: &str) -> Result<String, ApiError> {
        let cert_prefix = Arn::iot_prefix(&self.scope(), IotKind::Cert);
        if target.starts_with(&cert_prefix) {
            self.certificate_principal("target", target).await
        } else {
            Ok(target.to_owned())
        }
    }

    /// AttachPolicy (`PUT /target-policies/{policyName}`, body `{target}`).
    pub(crate) async fn op_attach_policy(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let body: TargetInput = input.body()?;
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        v.required("target", body.target.as_deref());
        v.finish()?;
        let target = self
            .policy_target(body.target.as_deref().unwrap_or_default())
            .await?;
        let registry = self.registry();
        blocking(INTERNAL, move || registry.attach_policy(&name, &target)).await?;
        Ok(Empty {})
    }

    /// DetachPolicy (`POST /target-policies/{policyName}`, body `{target}`). A certificate
    /// that no longer exists can still be detached from.
    pub(crate) async fn op_detach_policy(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let body: TargetInput = input.body()?;
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        v.required("target", body.target.as_deref());
        v.finish()?;
        let target = body.target.unwrap_or_default();
        let registry = self.registry();
        blocking(INTERNAL, move || registry.detach_policy(&name, &target)).await?;
        Ok(Empty {})
    }

    /// ListAttachedPolicies (`POST /attached-policies/{target}?recursive&marker&pageSize`).
    pub(crate) async fn op_list_attached_policies(
        &self,
        input: &Input<'_>,
    ) -> Result<PoliciesOutput, ApiError> {
        let mut v = Validation::new();
        let q = marker_query(&mut v, input, false)?;
        let recursive = input.query.bool("recursive")?.unwrap_or(false);
        v.finish()?;
        let target = self.policy_target(input.matched.label("target")).await?;
        let registry = self.registry();
        let page = blocking(INTERNAL, move || {
            registry.list_attached_policies(&target, recursive, &q)
        })
        .await?;
        Ok(PoliciesOutput {
            policies: page.items.into_iter().map(PolicyOut::from).collect(),
            next_marker: page.next_token,
        })
    }

    /// ListTargetsForPolicy (`POST /policy-targets/{policyName}?marker&pageSize`).
    pub(crate) async fn op_list_targets_for_policy(
        &self,
        input: &Input<'_>,
    ) -> Result<ListTargetsOutput, ApiError> {
        let mut v = Validation::new();
        let name = policy_name_label(&mut v, input);
        let q = marker_query(&mut v, input, false)?;
        v.finish()?;
        let registry = self.registry();
        let page = blocking(INTERNAL, move || {
            registry.list_targets_for_policy(&name, &q)
        })
        .await?;
        Ok(ListTargetsOutput {
            targets: page.items,
            next_marker: page.next_token,
        })
    }

    /// GetEffectivePolicies (`POST /effective-policies?thingName`, body `{principal}`): the
    /// policies the broker evaluates for a connection of `principal` as `thingName` — those
    /// attached to the certificate, then those of the thing's groups (root first). Cognito
    /// identity pools are not supported (`InvalidRequestException`).
    pub(crate) async fn op_get_effective_policies(
        &self,
        input: &Input<'_>,
    ) -> Result<EffectivePoliciesOutput, ApiError> {
        let body: EffectivePoliciesInput = input.body()?;
        let thing = input.query.get("thingName").map(str::to_owned);
        let mut v = Validation::new();
        v.name("thingName", thing.as_deref());
        v.required("principal", body.principal.as_deref());
        if body.cognito_identity_pool_id.is_some() {
            v.fail("cognitoIdentityPoolId is not supported by this server.");
        }
        v.finish()?;
        let principal = self
            .certificate_principal("principal", body.principal.as_deref().unwrap_or_default())
            .await?;
        let registry = self.registry();
        let infos = blocking(INTERNAL, move || {
            registry.effective_policy_infos(&principal, thing.as_deref())
        })
        .await?;
        Ok(EffectivePoliciesOutput {
            effective_policies: infos
                .into_iter()
                .map(|p| EffectivePolicyOut {
                    policy_name: p.policy_name,
                    policy_arn: p.policy_arn,
                    policy_document: p.policy_document,
                })
                .collect(),
        })
    }

    /// AttachThingPrincipal (`PUT /things/{thingName}/principals?thingPrincipalType`, header
    /// `x-amzn-principal`); the type defaults to NON_EXCLUSIVE_THING.
    pub(crate) async fn op_attach_thing_principal(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let thing = input.matched.label("thingName").to_owned();
        let mut v = Validation::new();
        v.name("thingName", Some(&thing));
        v.finish()?;
        let ty = principal_type_query(input)?.unwrap_or(ThingPrincipalType::NonExclusive);
        let principal = self.header_principal(input).await?;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.attach_thing_principal(&thing, &principal, ty)
        })
        .await?;
        Ok(Empty {})
    }

    /// DetachThingPrincipal (`DELETE /things/{thingName}/principals`, header
    /// `x-amzn-principal`). A deleted certificate can still be detached.
    pub(crate) async fn op_detach_thing_principal(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let thing = input.matched.label("thingName").to_owned();
        let mut v = Validation::new();
        v.name("thingName", Some(&thing));
        if input.header(PRINCIPAL_HEADER).is_none() {
            v.null("principal");
        }
        v.finish()?;
        let principal = input
            .header(PRINCIPAL_HEADER)
            .unwrap_or_default()
            .to_owned();
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.detach_thing_principal(&thing, &principal)
        })
        .await?;
        Ok(Empty {})
    }

    /// ListThingPrincipals (`GET /things/{thingName}/principals`) and ListThingPrincipalsV2
    /// (`GET /things/{thingName}/principals-v2?thingPrincipalType`): the shared part.
    async fn thing_principals(
        &self,
        input: &Input<'_>,
        ty: Option<ThingPrincipalType>,
    ) -> Result<thingwatch_registry::Page<(String, ThingPrincipalType)>, ApiError> {
        let thing = input.matched.label("thingName").to_owned();
        let mut v = Validation::new();
        v.name("thingName", Some(&thing));
        let max = max_results(&mut v, input.query.int("maxResults")?);
        v.finish()?;
        let token = input.query.get("nextToken").map(str::to_owned);
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.list_thing_principals(&thing, ty, token.as_deref(), max)
        })
        .await
    }

    /// ListThingPrincipals (`GET /things/{thingName}/principals?nextToken&maxResults`).
    pub(crate) async fn op_list_thing_principals(
        &self,
        input: &Input<'_>,
    ) -> Result<ListThingPrincipalsOutput, ApiError> {
        let page = self.thing_principals(input, None).await?;
        Ok(ListThingPrincipalsOutput {
            principals: page.items.into_iter().map(|(p, _)| p).collect(),
            next_token: page.next_token,
        })
    }

    /// ListThingPrincipalsV2 (`GET /things/{thingName}/principals-v2`).
    pub(crate) async fn op_list_thing_principals_v2(
        &self,
        input: &Input<'_>,
    ) -> Result<ListThingPrincipalsV2Output, ApiError> {
        let ty = principal_type_query(input)?;
        let page = self.thing_principals(input, ty).await?;
        Ok(ListThingPrincipalsV2Output {
            thing_principal_objects: page
                .items
                .into_iter()
                .map(|(principal, ty)| ThingPrincipalObject {
                    principal,
                    thing_principal_type: ty.as_str(),
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// ListPrincipalThings / ListPrincipalThingsV2: the shared part.
    async fn principal_things(
        &self,
        input: &Input<'_>,
        ty: Option<ThingPrincipalType>,
    ) -> Result<thingwatch_registry::Page<(String, ThingPrincipalType)>, ApiError> {
        let mut v = Validation::new();
        let max = max_results(&mut v, input.query.int("maxResults")?);
        v.finish()?;
        let principal = self.header_principal(input).await?;
        let token = input.query.get("nextToken").map(str::to_owned);
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.list_principal_things(&principal, ty, token.as_deref(), max)
        })
        .await
    }

    /// ListPrincipalThings (`GET /principals/things`, header `x-amzn-principal`).
    pub(crate) async fn op_list_principal_things(
        &self,
        input: &Input<'_>,
    ) -> Result<ListPrincipalThingsOutput, ApiError> {
        let page = self.principal_things(input, None).await?;
        Ok(ListPrincipalThingsOutput {
            things: page.items.into_iter().map(|(t, _)| t).collect(),
            next_token: page.next_token,
        })
    }

    /// ListPrincipalThingsV2 (`GET /principals/things-v2?thingPrincipalType`).
    pub(crate) async fn op_list_principal_things_v2(
        &self,
        input: &Input<'_>,
    ) -> Result<ListPrincipalThingsV2Output, ApiError> {
        let ty = principal_type_query(input)?;
        let page = self.principal_things(input, ty).await?;
        Ok(ListPrincipalThingsV2Output {
            principal_thing_objects: page
                .items
                .into_iter()
                .map(|(thing_name, ty)| PrincipalThingObject {
                    thing_name,
                    thing_principal_type: ty.as_str(),
                })
                .collect(),
            next_token: page.next_token,
        })
    }
}
