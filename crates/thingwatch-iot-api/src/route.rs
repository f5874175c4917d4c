//! The AWS IoT rest-json route table: every [`Operation`] with its HTTP method and path
//! template (`/things/{thingName}`), matched with
//! `thingwatch_http::rest`'s matcher (which percent-decodes path labels).
//!
//! Routes are the `http` traits of the botocore `iot-2015-05-28` model (aws-wire.md
//! Appendix A; UpdateThing / UpdateThingGroup from the AWS IoT API Reference: `PATCH
//! /things/{thingName}`, `PATCH /thing-groups/{thingGroupName}`). A literal segment wins over
//! a label (`PUT /thing-groups/addThingToThingGroup`). The topic rule destination routes
//! end in greedy labels (`/destinations/{arn+}`), which take the rest of the path.

use http::Method;

use thingwatch_http::error::{ApiError, ErrorCode};
pub use thingwatch_http::rest::{Labels, Query, Route, match_in, route};

/// Every AWS IoT control-plane operation this service serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST /v2LoggingOptions`
    SetV2LoggingOptions,
    /// `GET /v2LoggingOptions`
    GetV2LoggingOptions,
    /// `POST /v2LoggingLevel`
    SetV2LoggingLevel,
    /// `GET /v2LoggingLevel`
    ListV2LoggingLevels,
    /// `DELETE /v2LoggingLevel`
    DeleteV2LoggingLevel,
    /// `POST /loggingOptions`
    SetLoggingOptions,
    /// `GET /loggingOptions`
    GetLoggingOptions,
    /// `POST /things/{thingName}`
    CreateThing,
    /// `GET /things/{thingName}`
    DescribeThing,
    /// `PATCH /things/{thingName}`
    UpdateThing,
    /// `DELETE /things/{thingName}`
    DeleteThing,
    /// `GET /things`
    ListThings,
    /// `POST /thing-groups/{thingGroupName}`
    CreateThingGroup,
    /// `GET /thing-groups/{thingGroupName}`
    DescribeThingGroup,
    /// `PATCH /thing-groups/{thingGroupName}`
    UpdateThingGroup,
    /// `DELETE /thing-groups/{thingGroupName}`
    DeleteThingGroup,
    /// `GET /thing-groups`
    ListThingGroups,
    /// `PUT /thing-groups/addThingToThingGroup`
    AddThingToThingGroup,
    /// `PUT /thing-groups/removeThingFromThingGroup`
    RemoveThingFromThingGroup,
    /// `GET /thing-groups/{thingGroupName}/things`
    ListThingsInThingGroup,
    /// `GET /things/{thingName}/thing-groups`
    ListThingGroupsForThing,
    /// `GET /endpoint`
    DescribeEndpoint,
    /// `POST /policies/{policyName}`
    CreatePolicy,
    /// `GET /policies/{policyName}`
    GetPolicy,
    /// `GET /policies`
    ListPolicies,
    /// `DELETE /policies/{policyName}`
    DeletePolicy,
    /// `POST /policies/{policyName}/version`
    CreatePolicyVersion,
    /// `GET /policies/{policyName}/version/{policyVersionId}`
    GetPolicyVersion,
    /// `GET /policies/{policyName}/version`
    ListPolicyVersions,
    /// `DELETE /policies/{policyName}/version/{policyVersionId}`
    DeletePolicyVersion,
    /// `PATCH /policies/{policyName}/version/{policyVersionId}`
    SetDefaultPolicyVersion,
    /// `PUT /target-policies/{policyName}`
    AttachPolicy,
    /// `POST /target-policies/{policyName}`
    DetachPolicy,
    /// `POST /attached-policies/{target}`
    ListAttachedPolicies,
    /// `POST /policy-targets/{policyName}`
    ListTargetsForPolicy,
    /// `PUT /things/{thingName}/principals`
    AttachThingPrincipal,
    /// `DELETE /things/{thingName}/principals`
    DetachThingPrincipal,
    /// `GET /things/{thingName}/principals`
    ListThingPrincipals,
    /// `GET /things/{thingName}/principals-v2`
    ListThingPrincipalsV2,
    /// `GET /principals/things`
    ListPrincipalThings,
    /// `GET /principals/things-v2`
    ListPrincipalThingsV2,
    /// `POST /keys-and-certificate`
    CreateKeysAndCertificate,
    /// `POST /certificates`
    CreateCertificateFromCsr,
    /// `POST /certificate/register`
    RegisterCertificate,
    /// `POST /certificate/register-no-ca`
    RegisterCertificateWithoutCA,
    /// `POST /cacertificate`
    RegisterCACertificate,
    /// `GET /certificates/{certificateId}`
    DescribeCertificate,
    /// `GET /certificates`
    ListCertificates,
    /// `GET /certificates-by-ca/{caCertificateId}`
    ListCertificatesByCA,
    /// `PUT /certificates/{certificateId}`
    UpdateCertificate,
    /// `DELETE /certificates/{certificateId}`
    DeleteCertificate,
    /// `GET /cacertificate/{caCertificateId}`
    DescribeCACertificate,
    /// `GET /cacertificates`
    ListCACertificates,
    /// `PUT /cacertificate/{caCertificateId}`
    UpdateCACertificate,
    /// `DELETE /cacertificate/{caCertificateId}`
    DeleteCACertificate,
    /// `GET /registrationcode`
    GetRegistrationCode,
    /// `POST /effective-policies`
    GetEffectivePolicies,
    /// `POST /rules/{ruleName}`
    CreateTopicRule,
    /// `GET /rules/{ruleName}`
    GetTopicRule,
    /// `GET /rules`
    ListTopicRules,
    /// `PATCH /rules/{ruleName}`
    ReplaceTopicRule,
    /// `DELETE /rules/{ruleName}`
    DeleteTopicRule,
    /// `POST /rules/{ruleName}/enable`
    EnableTopicRule,
    /// `POST /rules/{ruleName}/disable`
    DisableTopicRule,
    /// `POST /destinations`
    CreateTopicRuleDestination,
    /// `GET /destinations/{arn+}` (greedy label: the ARN's `/` stay unencoded)
    GetTopicRuleDestination,
    /// `GET /destinations`
    ListTopicRuleDestinations,
    /// `PATCH /destinations`
    UpdateTopicRuleDestination,
    /// `DELETE /destinations/{arn+}`
    DeleteTopicRuleDestination,
    /// `GET /confirmdestination/{confirmationToken+}`
    ConfirmTopicRuleDestination,
    /// `PUT /jobs/{jobId}`
    CreateJob,
    /// `GET /jobs/{jobId}`
    DescribeJob,
    /// `GET /jobs`
    ListJobs,
    /// `PATCH /jobs/{jobId}`
    UpdateJob,
    /// `PUT /jobs/{jobId}/cancel`
    CancelJob,
    /// `DELETE /jobs/{jobId}`
    DeleteJob,
    /// `GET /jobs/{jobId}/job-document`
    GetJobDocument,
    /// `GET /things/{thingName}/jobs/{jobId}`
    DescribeJobExecution,
    /// `GET /jobs/{jobId}/things`
    ListJobExecutionsForJob,
    /// `GET /things/{thingName}/jobs`
    ListJobExecutionsForThing,
    /// `PUT /things/{thingName}/jobs/{jobId}/cancel`
    CancelJobExecution,
    /// `DELETE /things/{thingName}/jobs/{jobId}/executionNumber/{executionNumber}`
    DeleteJobExecution,
    /// `PUT /job-templates/{jobTemplateId}`
    CreateJobTemplate,
    /// `GET /job-templates/{jobTemplateId}`
    DescribeJobTemplate,
    /// `GET /job-templates`
    ListJobTemplates,
    /// `DELETE /job-templates/{jobTemplateId}`
    DeleteJobTemplate,
}

/// The route table (model `http.method` + `http.requestUri`, query part omitted).
pub const ROUTES: &[Route<Operation>] = &[
    route(
        Method::POST,
        "/v2LoggingOptions",
        Operation::SetV2LoggingOptions,
    ),
    route(
        Method::GET,
        "/v2LoggingOptions",
        Operation::GetV2LoggingOptions,
    ),
    route(
        Method::POST,
        "/v2LoggingLevel",
        Operation::SetV2LoggingLevel,
    ),
    route(
        Method::GET,
        "/v2LoggingLevel",
        Operation::ListV2LoggingLevels,
    ),
    route(
        Method::DELETE,
        "/v2LoggingLevel",
        Operation::DeleteV2LoggingLevel,
    ),
    route(
        Method::POST,
        "/loggingOptions",
        Operation::SetLoggingOptions,
    ),
    route(Method::GET, "/loggingOptions", Operation::GetLoggingOptions),
    route(Method::GET, "/things", Operation::ListThings),
    route(Method::POST, "/things/{thingName}", Operation::CreateThing),
    route(Method::GET, "/things/{thingName}", Operation::DescribeThing),
    route(Method::PATCH, "/things/{thingName}", Operation::UpdateThing),
    route(
        Method::DELETE,
        "/things/{thingName}",
        Operation::DeleteThing,
    ),
    route(
        Method::GET,
        "/things/{thingName}/thing-groups",
        Operation::ListThingGroupsForThing,
    ),
    route(Method::GET, "/thing-groups", Operation::ListThingGroups),
    route(
        Method::PUT,
        "/thing-groups/addThingToThingGroup",
        Operation::AddThingToThingGroup,
    ),
    route(
        Method::PUT,
        "/thing-groups/removeThingFromThingGroup",
        Operation::RemoveThingFromThingGroup,
    ),
    route(
        Method::POST,
        "/thing-groups/{thingGroupName}",
        Operation::CreateThingGroup,
    ),
    route(
        Method::GET,
        "/thing-groups/{thingGroupName}",
        Operation::DescribeThingGroup,
    ),
    route(
        Method::PATCH,
        "/thing-groups/{thingGroupName}",
        Operation::UpdateThingGroup,
    ),
    route(
        Method::DELETE,
        "/thing-groups/{thingGroupName}",
        Operation::DeleteThingGroup,
    ),
    route(
        Method::GET,
        "/thing-groups/{thingGroupName}/things",
        Operation::ListThingsInThingGroup,
    ),
    route(Method::GET, "/endpoint", Operation::DescribeEndpoint),
    route(
        Method::POST,
        "/policies/{policyName}",
        Operation::CreatePolicy,
    ),
    route(Method::GET, "/policies/{policyName}", Operation::GetPolicy),
    route(Method::GET, "/policies", Operation::ListPolicies),
    route(
        Method::DELETE,
        "/policies/{policyName}",
        Operation::DeletePolicy,
    ),
    route(
        Method::POST,
        "/policies/{policyName}/version",
        Operation::CreatePolicyVersion,
    ),
    route(
        Method::GET,
        "/policies/{policyName}/version/{policyVersionId}",
        Operation::GetPolicyVersion,
    ),
    route(
        Method::GET,
        "/policies/{policyName}/version",
        Operation::ListPolicyVersions,
    ),
    route(
        Method::DELETE,
        "/policies/{policyName}/version/{policyVersionId}",
        Operation::DeletePolicyVersion,
    ),
    route(
        Method::PATCH,
        "/policies/{policyName}/version/{policyVersionId}",
        Operation::SetDefaultPolicyVersion,
    ),
    route(
        Method::PUT,
        "/target-policies/{policyName}",
        Operation::AttachPolicy,
    ),
    route(
        Method::POST,
        "/target-policies/{policyName}",
        Operation::DetachPolicy,
    ),
    route(
        Method::POST,
        "/attached-policies/{target}",
        Operation::ListAttachedPolicies,
    ),
    route(
        Method::POST,
        "/policy-targets/{policyName}",
        Operation::ListTargetsForPolicy,
    ),
    route(
        Method::PUT,
        "/things/{thingName}/principals",
        Operation::AttachThingPrincipal,
    ),
    route(
        Method::DELETE,
        "/things/{thingName}/principals",
        Operation::DetachThingPrincipal,
    ),
    route(
        Method::GET,
        "/things/{thingName}/principals",
        Operation::ListThingPrincipals,
    ),
    route(
        Method::GET,
        "/things/{thingName}/principals-v2",
        Operation::ListThingPrincipalsV2,
    ),
    route(
        Method::GET,
        "/principals/things",
        Operation::ListPrincipalThings,
    ),
    route(
        Method::GET,
        "/principals/things-v2",
        Operation::ListPrincipalThingsV2,
    ),
    route(
        Method::POST,
        "/keys-and-certificate",
        Operation::CreateKeysAndCertificate,
    ),
    route(
        Method::POST,
        "/certificates",
        Operation::CreateCertificateFromCsr,
    ),
    route(
        Method::POST,
        "/certificate/register",
        Operation::RegisterCertificate,
    ),
    route(
        Method::POST,
        "/certificate/register-no-ca",
        Operation::RegisterCertificateWithoutCA,
    ),
    route(
        Method::POST,
        "/cacertificate",
        Operation::RegisterCACertificate,
    ),
    route(
        Method::GET,
        "/certificates/{certificateId}",
        Operation::DescribeCertificate,
    ),
    route(Method::GET, "/certificates", Operation::ListCertificates),
    route(
        Method::GET,
        "/certificates-by-ca/{caCertificateId}",
        Operation::ListCertificatesByCA,
    ),
    route(
        Method::PUT,
        "/certificates/{certificateId}",
        Operation::UpdateCertificate,
    ),
    route(
        Method::DELETE,
        "/certificates/{certificateId}",
        Operation::DeleteCertificate,
    ),
    route(
        Method::GET,
        "/cacertificate/{caCertificateId}",
        Operation::DescribeCACertificate,
    ),
    route(
        Method::GET,
        "/cacertificates",
        Operation::ListCACertificates,
    ),
    route(
        Method::PUT,
        "/cacertificate/{caCertificateId}",
        Operation::UpdateCACertificate,
    ),
    route(
        Method::DELETE,
        "/cacertificate/{caCertificateId}",
        Operation::DeleteCACertificate,
    ),
    route(
        Method::GET,
        "/registrationcode",
        Operation::GetRegistrationCode,
    ),
    route(
        Method::POST,
        "/effective-policies",
        Operation::GetEffectivePolicies,
    ),
    route(
        Method::POST,
        "/rules/{ruleName}",
        Operation::CreateTopicRule,
    ),
    route(Method::GET, "/rules/{ruleName}", Operation::GetTopicRule),
    route(Method::GET, "/rules", Operation::ListTopicRules),
    route(
        Method::PATCH,
        "/rules/{ruleName}",
        Operation::ReplaceTopicRule,
    ),
    route(
        Method::DELETE,
        "/rules/{ruleName}",
        Operation::DeleteTopicRule,
    ),
    route(
        Method::POST,
        "/rules/{ruleName}/enable",
        Operation::EnableTopicRule,
    ),
    route(
        Method::POST,
        "/rules/{ruleName}/disable",
        Operation::DisableTopicRule,
    ),
    route(
        Method::POST,
        "/destinations",
        Operation::CreateTopicRuleDestination,
    ),
    route(
        Method::GET,
        "/destinations/{arn+}",
        Operation::GetTopicRuleDestination,
    ),
    route(
        Method::GET,
        "/destinations",
        Operation::ListTopicRuleDestinations,
    ),
    route(
        Method::PATCH,
        "/destinations",
        Operation::UpdateTopicRuleDestination,
    ),
    route(
        Method::DELETE,
        "/destinations/{arn+}",
        Operation::DeleteTopicRuleDestination,
    ),
    route(
        Method::GET,
        "/confirmdestination/{confirmationToken+}",
        Operation::ConfirmTopicRuleDestination,
    ),
    route(Method::PUT, "/jobs/{jobId}", Operation::CreateJob),
    route(Method::GET, "/jobs/{jobId}", Operation::DescribeJob),
    route(Method::GET, "/jobs", Operation::ListJobs),
    route(Method::PATCH, "/jobs/{jobId}", Operation::UpdateJob),
    route(Method::PUT, "/jobs/{jobId}/cancel", Operation::CancelJob),
    route(Method::DELETE, "/jobs/{jobId}", Operation::DeleteJob),
    route(
        Method::GET,
        "/jobs/{jobId}/job-document",
        Operation::GetJobDocument,
    ),
    route(
        Method::GET,
        "/things/{thingName}/jobs/{jobId}",
        Operation::DescribeJobExecution,
    ),
    route(
        Method::GET,
        "/jobs/{jobId}/things",
        Operation::ListJobExecutionsForJob,
    ),
    route(
        Method::GET,
        "/things/{thingName}/jobs",
        Operation::ListJobExecutionsForThing,
    ),
    route(
        Method::PUT,
        "/things/{thingName}/jobs/{jobId}/cancel",
        Operation::CancelJobExecution,
    ),
    route(
        Method::DELETE,
        "/things/{thingName}/jobs/{jobId}/executionNumber/{executionNumber}",
        Operation::DeleteJobExecution,
    ),
    route(
        Method::PUT,
        "/job-templates/{jobTemplateId}",
        Operation::CreateJobTemplate,
    ),
    route(
        Method::GET,
        "/job-templates/{jobTemplateId}",
        Operation::DescribeJobTemplate,
    ),
    route(Method::GET, "/job-templates", Operation::ListJobTemplates),
    route(
        Method::DELETE,
        "/job-templates/{jobTemplateId}",
        Operation::DeleteJobTemplate,
    ),
];

/// A matched route: the operation and its decoded path labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    /// The operation.
    pub operation: Operation,
    /// `(label, percent-decoded value)` in template order.
    pub labels: Vec<(&'static str, String)>,
}

impl Matched {
    /// The decoded value of path label `name` (empty when the template has no such label).
    pub fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Finds the operation for `method` and the raw (still percent-encoded) `path`.
/// Routes whose template has no labels are tried first, so literal paths win.
///
/// # Errors
/// `UnknownOperationException` (rest-json 404) when no route matches the method and path;
/// `InvalidRequestException` when a path label is not valid percent-encoded UTF-8.
pub fn match_route(method: &Method, path: &str) -> Result<Matched, ApiError> {
    match match_in(ROUTES, method, path)? {
        Some((operation, labels)) => Ok(Matched { operation, labels }),
        None => Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!("No AWS IoT operation matches {method} {path}."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_decoded_labels() {
        type Case = (
            Method,
            &'static str,
            Operation,
            &'static [(&'static str, &'static str)],
        );
        let table: &[Case] = &[
            (
                Method::POST,
                "/v2LoggingOptions",
                Operation::SetV2LoggingOptions,
                &[],
            ),
            (
                Method::DELETE,
                "/v2LoggingLevel",
                Operation::DeleteV2LoggingLevel,
                &[],
            ),
            (
                Method::GET,
                "/things/my%3Athing",
                Operation::DescribeThing,
                &[("thingName", "my:thing")],
            ),
            (
                Method::GET,
                "/things/t1/thing-groups",
                Operation::ListThingGroupsForThing,
                &[("thingName", "t1")],
            ),
            (
                Method::PUT,
                "/thing-groups/addThingToThingGroup",
                Operation::AddThingToThingGroup,
                &[],
            ),
            (
                Method::GET,
                "/thing-groups/addThingToThingGroup",
                Operation::DescribeThingGroup,
                &[("thingGroupName", "addThingToThingGroup")],
            ),
            (
                Method::GET,
                "/thing-groups/g%201/things",
                Operation::ListThingsInThingGroup,
                &[("thingGroupName", "g 1")],
            ),
            (Method::GET, "/endpoint", Operation::DescribeEndpoint, &[]),
            (
                Method::POST,
                "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2Fab",
                Operation::ListAttachedPolicies,
                &[("target", "arn:aws:iot:us-east-1:123456789012:cert/ab")],
            ),
            (
                Method::PATCH,
                "/policies/p1/version/3",
                Operation::SetDefaultPolicyVersion,
                &[("policyName", "p1"), ("policyVersionId", "3")],
            ),
            (
                Method::GET,
                "/policies/p1/version",
                Operation::ListPolicyVersions,
                &[("policyName", "p1")],
            ),
            (
                Method::PUT,
                "/things/t1/principals",
                Operation::AttachThingPrincipal,
                &[("thingName", "t1")],
            ),
            (
                Method::GET,
                "/principals/things",
                Operation::ListPrincipalThings,
                &[],
            ),
            (
                Method::POST,
                "/certificates",
                Operation::CreateCertificateFromCsr,
                &[],
            ),
            (
                Method::PUT,
                "/certificates/abc",
                Operation::UpdateCertificate,
                &[("certificateId", "abc")],
            ),
            (
                Method::POST,
                "/certificate/register-no-ca",
                Operation::RegisterCertificateWithoutCA,
                &[],
            ),
            (
                Method::POST,
                "/rules/my_rule/disable",
                Operation::DisableTopicRule,
                &[("ruleName", "my_rule")],
            ),
            (Method::GET, "/rules", Operation::ListTopicRules, &[]),
            (
                Method::PATCH,
                "/rules/r1",
                Operation::ReplaceTopicRule,
                &[("ruleName", "r1")],
            ),
            (
                Method::DELETE,
                "/destinations/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Aruledestination/http/u-1",
                Operation::DeleteTopicRuleDestination,
                &[(
                    "arn",
                    "arn:aws:iot:us-east-1:123456789012:ruledestination/http/u-1",
                )],
            ),
            (
                Method::PATCH,
                "/destinations",
                Operation::UpdateTopicRuleDestination,
                &[],
            ),
            (
                Method::GET,
                "/confirmdestination/abc123",
                Operation::ConfirmTopicRuleDestination,
                &[("confirmationToken", "abc123")],
            ),
        ];
        for (method, path, op, labels) in table {
            let m = match_route(method, path).unwrap();
            assert_eq!(m.operation, *op, "{method} {path}");
            for (name, value) in *labels {
                assert_eq!(m.label(name), *value, "{method} {path} {name}");
            }
        }
    }

    #[test]
    fn every_security_operation_has_exactly_one_route() {
        for op in [
            Operation::CreatePolicy,
            Operation::GetPolicy,
            Operation::ListPolicies,
            Operation::DeletePolicy,
            Operation::CreatePolicyVersion,
            Operation::GetPolicyVersion,
            Operation::ListPolicyVersions,
            Operation::DeletePolicyVersion,
            Operation::SetDefaultPolicyVersion,
            Operation::AttachPolicy,
            Operation::DetachPolicy,
            Operation::ListAttachedPolicies,
            Operation::ListTargetsForPolicy,
            Operation::AttachThingPrincipal,
            Operation::DetachThingPrincipal,
            Operation::ListThingPrincipals,
            Operation::ListThingPrincipalsV2,
            Operation::ListPrincipalThings,
            Operation::ListPrincipalThingsV2,
            Operation::CreateKeysAndCertificate,
            Operation::CreateCertificateFromCsr,
            Operation::RegisterCertificate,
            Operation::RegisterCertificateWithoutCA,
            Operation::RegisterCACertificate,
            Operation::DescribeCertificate,
            Operation::ListCertificates,
            Operation::ListCertificatesByCA,
            Operation::UpdateCertificate,
            Operation::DeleteCertificate,
            Operation::DescribeCACertificate,
            Operation::ListCACertificates,
            Operation::UpdateCACertificate,
            Operation::DeleteCACertificate,
            Operation::GetRegistrationCode,
            Operation::GetEffectivePolicies,
            Operation::CreateTopicRule,
            Operation::GetTopicRule,
            Operation::ListTopicRules,
            Operation::ReplaceTopicRule,
            Operation::DeleteTopicRule,
            Operation::EnableTopicRule,
            Operation::DisableTopicRule,
            Operation::CreateTopicRuleDestination,
            Operation::GetTopicRuleDestination,
            Operation::ListTopicRuleDestinations,
            Operation::UpdateTopicRuleDestination,
            Operation::DeleteTopicRuleDestination,
            Operation::ConfirmTopicRuleDestination,
            Operation::CreateJob,
            Operation::DescribeJob,
            Operation::ListJobs,
            Operation::UpdateJob,
            Operation::CancelJob,
            Operation::DeleteJob,
            Operation::GetJobDocument,
            Operation::DescribeJobExecution,
            Operation::ListJobExecutionsForJob,
            Operation::ListJobExecutionsForThing,
            Operation::CancelJobExecution,
            Operation::DeleteJobExecution,
            Operation::CreateJobTemplate,
            Operation::DescribeJobTemplate,
            Operation::ListJobTemplates,
            Operation::DeleteJobTemplate,
        ] {
            let routes: Vec<_> = ROUTES.iter().filter(|r| r.operation == op).collect();
            assert_eq!(routes.len(), 1, "{op:?}");
            // Its own template, with labels filled in, routes back to it.
            let path = routes[0].template.replace('{', "x").replace('}', "");
            let m = match_route(&routes[0].method, &path).unwrap();
            assert_eq!(m.operation, op, "{path}");
        }
    }

    #[test]
    fn unknown_routes_are_unknown_operation() {
        for (method, path) in [
            (Method::GET, "/nope"),
            (Method::PUT, "/things/t1"),
            (Method::GET, "/things/t1/extra/more"),
            (Method::POST, "/endpoint"),
        ] {
            let e = match_route(&method, path).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnknownOperation, "{method} {path}");
        }
        let e = match_route(&Method::GET, "/things/%FF").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }
}
