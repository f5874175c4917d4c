//! The registry's value types (settings, pages, thing and thing-group descriptions) and its
//! limits, each a typed constant checked against the AWS documentation.

use std::collections::BTreeMap;

/// Default for [`RegistrySettings::max_log_targets`]: 10. The AWS IoT Developer Guide allowed
/// "up to 10 logging targets" until July 2020; no current quota is published
/// (`../shared/reference/aws-iot-logging.md` §2, CWL-19).
pub const DEFAULT_MAX_LOG_TARGETS: usize = 10;

/// A thing can be in at most 10 thing groups (Developer Guide *Static thing groups*: "You can
/// add a thing to a maximum of 10 groups").
pub const MAX_GROUPS_PER_THING: usize = 10;

/// The deepest a thing-group hierarchy may be, counting the root as level 1: 7 (AWS General
/// Reference *AWS IoT Device Management endpoints and quotas*, "Thing group hierarchy depth").
pub const MAX_HIERARCHY_DEPTH: usize = 7;

/// Direct child groups per thing group: 100 (same quota table).
pub const MAX_DIRECT_CHILD_GROUPS: usize = 100;

/// Attributes of a thing without a thing type: 3 (API Reference `CreateThing`
/// `attributePayload`: "up to three name/value pairs"; thing types are not implemented, so
/// every thing is untyped).
pub const MAX_THING_ATTRIBUTES: usize = 3;

/// Largest `maxResults` of every registry list operation: 250 (botocore `RegistryMaxResults`
/// and `SkyfallMaxResults`, min 1 max 250).
pub const MAX_RESULTS_LIMIT: usize = 250;

/// Static settings of a [`crate::Registry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySettings {
    /// The 12-digit AWS account ID, used in ARNs and to check logging role ARNs.
    pub account_id: String,
    /// The region used in ARNs, e.g. `us-east-1`.
    pub region: String,
    /// Most resource-specific log targets (`SetV2LoggingLevel` beyond it fails with
    /// `LimitExceededException`, HTTP 410). Default [`DEFAULT_MAX_LOG_TARGETS`].
    pub max_log_targets: usize,
}

impl Default for RegistrySettings {
    /// Account `123456789012` (the AWS documentation's example account), `us-east-1`,
    /// [`DEFAULT_MAX_LOG_TARGETS`].
    fn default() -> Self {
        RegistrySettings {
            account_id: "123456789012".to_string(),
            region: "us-east-1".to_string(),
            max_log_targets: DEFAULT_MAX_LOG_TARGETS,
        }
    }
}

/// One page of a list operation. `next_token` is opaque (URL-safe base64) and is `None` on
/// the last page; a malformed token passed back fails with `InvalidRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page, in the operation's order.
    pub items: Vec<T>,
    /// The token for the next page, `None` when this is the last one.
    pub next_token: Option<String>,
}

/// A thing as `DescribeThing` / `ListThings` (`ThingAttribute`) describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThingInfo {
    /// `thingName` (1–128, `[a-zA-Z0-9:_-]+`).
    pub thing_name: String,
    /// `thingId`: a UUID assigned at creation.
    pub thing_id: String,
    /// `thingArn`: `arn:aws:iot:REGION:ACCOUNT:thing/NAME`.
    pub thing_arn: String,
    /// `attributes` (at most [`MAX_THING_ATTRIBUTES`]).
    pub attributes: BTreeMap<String, String>,
    /// `version`: 1 at creation, +1 on every `UpdateThing`.
    pub version: i64,
    /// `thingTypeName`: always `None` (thing types are not implemented).
    pub thing_type_name: Option<String>,
}

/// The filters and paging of `ListThings`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListThingsQuery {
    /// Only things that have this attribute (`attributeName`).
    pub attribute_name: Option<String>,
    /// …with exactly this value (`attributeValue`; requires `attribute_name`).
    pub attribute_value: Option<String>,
    /// Only things of this type; as no thing has a type, any value matches nothing.
    pub thing_type_name: Option<String>,
    /// `nextToken` from the previous page.
    pub next_token: Option<String>,
    /// `maxResults`, 1..=[`MAX_RESULTS_LIMIT`].
    pub max_results: usize,
}

/// `ThingGroupProperties` of `CreateThingGroup` / `UpdateThingGroup`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThingGroupProperties {
    /// `thingGroupDescription` (≤ 2028 characters; validated by the API layer). On update,
    /// `None` keeps the stored description.
    pub description: Option<String>,
    /// `attributePayload.attributes`. On update, `None` keeps the stored attributes.
    pub attributes: Option<BTreeMap<String, String>>,
    /// `attributePayload.merge`: on update, merge into the stored attributes (an empty value
    /// removes that attribute) instead of replacing them.
    pub merge: bool,
}

/// `GroupNameAndArn`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupNameAndArn {
    /// `groupName`.
    pub group_name: String,
    /// `groupArn`: `arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME`.
    pub group_arn: String,
}

/// A thing group as `DescribeThingGroup` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThingGroupInfo {
    /// `thingGroupName`.
    pub name: String,
    /// `thingGroupId`: a UUID assigned at creation.
    pub id: String,
    /// `thingGroupArn`.
    pub arn: String,
    /// `version`: 1 at creation, +1 on every `UpdateThingGroup`.
    pub version: i64,
    /// `thingGroupProperties.thingGroupDescription`.
    pub description: Option<String>,
    /// `thingGroupProperties.attributePayload.attributes`.
    pub attributes: BTreeMap<String, String>,
    /// `thingGroupMetadata.parentGroupName` (`None` for a root group).
    pub parent_group_name: Option<String>,
    /// `thingGroupMetadata.rootToParentThingGroups`: the ancestors, root first, ending with
    /// the parent; empty for a root group.
    pub root_to_parent: Vec<GroupNameAndArn>,
    /// `thingGroupMetadata.creationDate`, epoch milliseconds.
    pub creation_date_ms: i64,
}

/// Versions one IoT policy may have: 5 (AWS IoT API Reference `CreatePolicyVersion`: "A
/// managed policy can have up to five versions. If the policy has five versions, you must use
/// DeletePolicyVersion to delete an existing version before you create a new one"; AWS General
/// Reference *AWS IoT Core endpoints and quotas*, "Maximum number of named policy versions").
pub const MAX_POLICY_VERSIONS: usize = 5;

/// Policies attached to one target (certificate or thing group): 10 (AWS General Reference
/// *AWS IoT Core endpoints and quotas*, "Maximum number of policies that can be attached to a
/// certificate or Amazon Cognito identity": 10). AttachPolicy beyond it fails with
/// `LimitExceededException` (HTTP 410, which the operation models).
pub const MAX_POLICIES_PER_TARGET: usize = 10;

/// `pageSize` of ListPolicies / ListAttachedPolicies / ListTargetsForPolicy when the caller
/// sends none: 25 (AWS documents no default for these operations; 25 is the default it
/// documents for ListCertificates, the sibling operation with the same paging members).
pub const DEFAULT_POLICY_PAGE_SIZE: usize = 25;

/// `ThingPrincipalType` of AttachThingPrincipal (botocore enum `EXCLUSIVE_THING |
/// NON_EXCLUSIVE_THING`; API Reference `AttachThingPrincipal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThingPrincipalType {
    /// `EXCLUSIVE_THING`: the thing is the only thing attached to the principal.
    Exclusive,
    /// `NON_EXCLUSIVE_THING` (the default): the principal may be attached to other things too.
    NonExclusive,
}

impl ThingPrincipalType {
    /// The wire spelling (`EXCLUSIVE_THING` / `NON_EXCLUSIVE_THING`).
    pub fn as_str(self) -> &'static str {
        match self {
            ThingPrincipalType::Exclusive => "EXCLUSIVE_THING",
            ThingPrincipalType::NonExclusive => "NON_EXCLUSIVE_THING",
        }
    }
}

impl std::fmt::Display for ThingPrincipalType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ThingPrincipalType {
    type Err = crate::RegistryError;

    /// Parses the wire spelling. Errors: `InvalidRequest` for anything else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "EXCLUSIVE_THING" => Ok(ThingPrincipalType::Exclusive),
            "NON_EXCLUSIVE_THING" => Ok(ThingPrincipalType::NonExclusive),
            other => Err(crate::RegistryError::InvalidRequest(format!(
                "Value '{other}' at 'thingPrincipalType' failed to satisfy constraint: Member must satisfy enum value set: [EXCLUSIVE_THING, NON_EXCLUSIVE_THING]"
            ))),
        }
    }
}

/// `Policy` (one entry of ListPolicies / ListAttachedPolicies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySummary {
    /// `policyName`.
    pub policy_name: String,
    /// `policyArn`: `arn:aws:iot:REGION:ACCOUNT:policy/NAME`.
    pub policy_arn: String,
}

/// An IoT policy as `GetPolicy` describes it (its default version's document).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyInfo {
    /// `policyName`.
    pub policy_name: String,
    /// `policyArn`.
    pub policy_arn: String,
    /// `policyDocument` of the default version, exactly as it was sent.
    pub policy_document: String,
    /// `defaultVersionId` (`policyVersionId` in CreatePolicy's output): 1 at creation.
    pub default_version_id: u32,
    /// `creationDate`, epoch milliseconds.
    pub creation_date_ms: i64,
    /// `lastModifiedDate`, epoch milliseconds: the last version change (create, delete,
    /// default switch).
    pub last_modified_date_ms: i64,
    /// `generationId`: a fresh UUID on every change of the policy.
    pub generation_id: String,
}

/// One version of an IoT policy as `GetPolicyVersion` / `CreatePolicyVersion` describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersionInfo {
    /// `policyName`.
    pub policy_name: String,
    /// `policyArn`.
    pub policy_arn: String,
    /// `policyDocument`, exactly as it was sent.
    pub policy_document: String,
    /// `policyVersionId`: 1, 2, … per policy, never reused after a delete.
    pub version_id: u32,
    /// `isDefaultVersion`.
    pub is_default_version: bool,
    /// `creationDate` of this version, epoch milliseconds.
    pub creation_date_ms: i64,
    /// `lastModifiedDate` of the policy, epoch milliseconds.
    pub last_modified_date_ms: i64,
    /// `generationId` of the policy.
    pub generation_id: String,
}

/// `PolicyVersion` (one entry of ListPolicyVersions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersionSummary {
    /// `versionId`.
    pub version_id: u32,
    /// `isDefaultVersion`.
    pub is_default_version: bool,
    /// `createDate`, epoch milliseconds.
    pub create_date_ms: i64,
}

/// Paging of ListPolicies / ListAttachedPolicies / ListTargetsForPolicy (`marker`,
/// `pageSize`; `ascendingOrder` where the operation has it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarkerQuery {
    /// `marker`: the `nextMarker` of the previous page.
    pub marker: Option<String>,
    /// `pageSize`, 1..=[`MAX_RESULTS_LIMIT`]; `None` = [`DEFAULT_POLICY_PAGE_SIZE`].
    pub page_size: Option<usize>,
    /// `isAscendingOrder` (ListPolicies only): oldest first when `true`, newest first
    /// otherwise ("If true, the results are returned in ascending creation order").
    pub ascending: bool,
}
