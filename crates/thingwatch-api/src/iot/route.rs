//! The AWS IoT rest-json route table: every [`Operation`] with its HTTP method and path
//! template (`/things/{thingName}`), the matcher that percent-decodes path labels, and the
//! query-string reader.
//!
//! Routes are the `http` traits of the botocore `iot-2015-05-28` model (aws-wire.md
//! Appendix A; UpdateThing / UpdateThingGroup from the AWS IoT API Reference: `PATCH
//! /things/{thingName}`, `PATCH /thing-groups/{thingGroupName}`). A literal segment wins over
//! a label (`PUT /thing-groups/addThingToThingGroup`).

use std::borrow::Cow;

use http::Method;
use percent_encoding::percent_decode_str;

use crate::error::{ApiError, ErrorCode};

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
}

/// One row of a rest-json route table (`O`: the service's operation enum; AWS IoT's
/// [`Operation`] by default, `iotdata` has its own).
#[derive(Clone, Debug)]
pub struct Route<O = Operation> {
    /// HTTP method.
    pub method: Method,
    /// Path template: `/`-separated literal segments and `{label}` segments.
    pub template: &'static str,
    /// The operation served.
    pub operation: O,
}

/// A route table row (for `const` tables).
pub const fn route<O>(method: Method, template: &'static str, operation: O) -> Route<O> {
    Route {
        method,
        template,
        operation,
    }
}

/// The route table (model `http.method` + `http.requestUri`, query part omitted).
pub const ROUTES: &[Route] = &[
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

/// Percent-decodes one path segment or query component (`+` stays `+`: botocore encodes a
/// space as `%20`). Bytes that are not UTF-8 are rejected.
fn decode(raw: &str, what: &str) -> Result<String, ApiError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("The {what} is not valid percent-encoded UTF-8."),
            )
        })
}

/// Matches `template` against the raw path segments; `None` when the shape differs.
fn match_template(
    template: &'static str,
    segments: &[&str],
) -> Result<Option<Vec<(&'static str, String)>>, ApiError> {
    let parts: Vec<&'static str> = template.trim_start_matches('/').split('/').collect();
    if parts.len() != segments.len() {
        return Ok(None);
    }
    let mut labels = Vec::new();
    for (part, seg) in parts.iter().zip(segments) {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            labels.push((name, decode(seg, "request path")?));
        } else if part != seg {
            return Ok(None);
        }
    }
    Ok(Some(labels))
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

/// The decoded path labels of a match, `(label, value)` in template order.
pub type Labels = Vec<(&'static str, String)>;

/// Finds the operation of any rest-json route table for `method` and the raw (still
/// percent-encoded) `path`; literal templates are tried before templates with labels.
/// `Ok(None)` when nothing matches.
///
/// # Errors
/// `InvalidRequestException` when a path label is not valid percent-encoded UTF-8.
pub fn match_in<O: Copy>(
    routes: &[Route<O>],
    method: &Method,
    path: &str,
) -> Result<Option<(O, Labels)>, ApiError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let literal_first = routes
        .iter()
        .filter(|r| !r.template.contains('{'))
        .chain(routes.iter().filter(|r| r.template.contains('{')));
    for r in literal_first {
        if r.method != *method {
            continue;
        }
        if let Some(labels) = match_template(r.template, &segments)? {
            return Ok(Some((r.operation, labels)));
        }
    }
    Ok(None)
}

/// The decoded query parameters of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (`a=1&b=x%3Ay`); a key without `=` has the value `""`.
    ///
    /// # Errors
    /// `InvalidRequestException` for components that are not percent-encoded UTF-8.
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k, "query string")?, decode(v, "query string")?));
        }
        Ok(Query { pairs })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter (`true` / `false`, as botocore serializes them).
    ///
    /// # Errors
    /// `InvalidRequestException` for any other value.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("Value '{other}' at '{name}' is not a valid boolean (true or false)."),
            )),
        }
    }

    /// An integer parameter.
    ///
    /// # Errors
    /// `InvalidRequestException` when the value is not a base-10 integer.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("Value '{v}' at '{name}' is not a valid integer."),
                )
            }),
        }
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

    #[test]
    fn query_values() {
        let q = Query::parse(Some(
            "endpointType=iot%3AData-ATS&recursive=true&maxResults=5&x",
        ))
        .unwrap();
        assert_eq!(q.get("endpointType"), Some("iot:Data-ATS"));
        assert_eq!(q.bool("recursive").unwrap(), Some(true));
        assert_eq!(q.int("maxResults").unwrap(), Some(5));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.get("missing"), None);
        assert!(q.bool("endpointType").is_err());
        assert!(q.int("endpointType").is_err());
    }
}
