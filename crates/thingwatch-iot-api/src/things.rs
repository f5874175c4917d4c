//! The AWS IoT thing registry operations: things (Create/Describe/Update/Delete/ListThings),
//! thing groups (Create/Describe/Update/Delete/ListThingGroups) and membership
//! (Add/RemoveThingToThingGroup, ListThingsInThingGroup, ListThingGroupsForThing).
//!
//! Shapes: aws-wire.md Appendix A; UpdateThing (`PATCH /things/{thingName}`, body
//! `{thingTypeName, attributePayload, expectedVersion, removeThingType}`, empty output) and
//! UpdateThingGroup (`PATCH /thing-groups/{thingGroupName}`, body `{thingGroupProperties*,
//! expectedVersion}`, output `{version}`) from the AWS IoT API Reference.
//!
//! Thingwatch has no thing types or billing groups yet: naming one answers
//! `ResourceNotFoundException`. Choices where AWS is silent: ListThingGroups without
//! `recursive` lists every level when no `parentGroup` is given and only direct children of
//! `parentGroup` otherwise; Add/RemoveThingToThingGroup accept a name or an ARN for each side
//! (both given must name the same resource).

use std::collections::BTreeMap;
use thingwatch_aws::{Arn, IotKind};

use serde::{Deserialize, Serialize};
use thingwatch_registry::{
    GroupNameAndArn, ListThingsQuery, ThingGroupInfo, ThingGroupProperties, ThingInfo,
};

use super::validate::{
    IotNames, MAX_ATTRIBUTE_NAME_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_GROUP_DESCRIPTION_LEN, Pattern,
    Validation,
};
use super::{Empty, Input, IotService, blocking, epoch_seconds, max_results};
use thingwatch_http::error::{ApiError, ErrorCode};

/// The 500 code the registry operations model.
const INTERNAL: ErrorCode = ErrorCode::InternalFailure;

/// Maximum attributes of a thing without a thing type (AWS IoT Developer Guide, *Managing
/// things with the registry*: "up to three attributes" — CreateThing `attributePayload`
/// "consists of up to three name/value pairs").
pub const MAX_THING_ATTRIBUTES: usize = 3;
/// Maximum attributes of a thing group (AWS IoT quotas: 50 attributes per thing group).
pub const MAX_GROUP_ATTRIBUTES: usize = 50;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AttributePayload {
    attributes: Option<BTreeMap<String, String>>,
    merge: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateThingInput {
    thing_type_name: Option<String>,
    attribute_payload: Option<AttributePayload>,
    billing_group_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateThingOutput {
    thing_name: String,
    thing_arn: String,
    thing_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeThingOutput {
    default_client_id: String,
    thing_name: String,
    thing_id: String,
    thing_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    thing_type_name: Option<String>,
    attributes: BTreeMap<String, String>,
    version: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateThingInput {
    thing_type_name: Option<String>,
    attribute_payload: Option<AttributePayload>,
    expected_version: Option<i64>,
    #[allow(dead_code)]
    remove_thing_type: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThingAttribute {
    thing_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    thing_type_name: Option<String>,
    thing_arn: String,
    attributes: BTreeMap<String, String>,
    version: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListThingsOutput {
    things: Vec<ThingAttribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ThingGroupPropertiesWire {
    thing_group_description: Option<String>,
    attribute_payload: Option<AttributePayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateThingGroupInput {
    parent_group_name: Option<String>,
    thing_group_properties: Option<ThingGroupPropertiesWire>,
    #[allow(dead_code)]
    tags: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateThingGroupOutput {
    thing_group_name: String,
    thing_group_arn: String,
    thing_group_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttributePayloadOut {
    attributes: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThingGroupPropertiesOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    thing_group_description: Option<String>,
    attribute_payload: AttributePayloadOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupNameAndArnOut {
    group_name: String,
    group_arn: String,
}

impl From<GroupNameAndArn> for GroupNameAndArnOut {
    fn from(g: GroupNameAndArn) -> Self {
        GroupNameAndArnOut {
            group_name: g.group_name,
            group_arn: g.group_arn,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThingGroupMetadataOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_group_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    root_to_parent_thing_groups: Vec<GroupNameAndArnOut>,
    /// Epoch seconds.
    creation_date: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeThingGroupOutput {
    thing_group_name: String,
    thing_group_id: String,
    thing_group_arn: String,
    version: i64,
    thing_group_properties: ThingGroupPropertiesOut,
    thing_group_metadata: ThingGroupMetadataOut,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateThingGroupInput {
    thing_group_properties: Option<ThingGroupPropertiesWire>,
    expected_version: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateThingGroupOutput {
    version: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupListOutput {
    thing_groups: Vec<GroupNameAndArnOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MembershipInput {
    thing_group_name: Option<String>,
    thing_group_arn: Option<String>,
    thing_name: Option<String>,
    thing_arn: Option<String>,
    #[allow(dead_code)]
    override_dynamic_groups: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListThingsInThingGroupOutput {
    things: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Validates an `attributePayload.attributes` map (names, values, count).
fn check_attributes(
    v: &mut Validation,
    field: &str,
    attrs: Option<&BTreeMap<String, String>>,
    max_count: usize,
) {
    let Some(attrs) = attrs else { return };
    for (k, val) in attrs {
        v.string(
            &format!("{field}.key"),
            Some(k),
            1,
            MAX_ATTRIBUTE_NAME_LEN,
            Some(Pattern::AttributeName),
        );
        v.string(
            &format!("{field}.value"),
            Some(val),
            0,
            MAX_ATTRIBUTE_VALUE_LEN,
            Some(Pattern::AttributeValue),
        );
    }
    let non_empty = attrs.values().filter(|v| !v.is_empty()).count();
    if non_empty > max_count {
        v.fail(format!(
            "The number of attributes ({non_empty}) exceeds the maximum of {max_count}."
        ));
    }
}

/// Validates and converts `thingGroupProperties`.
fn group_properties(
    v: &mut Validation,
    props: Option<ThingGroupPropertiesWire>,
) -> ThingGroupProperties {
    let props = props.unwrap_or_default();
    v.string(
        "thingGroupProperties.thingGroupDescription",
        props.thing_group_description.as_deref(),
        0,
        MAX_GROUP_DESCRIPTION_LEN,
        Some(Pattern::Description),
    );
    let payload = props.attribute_payload.unwrap_or_default();
    check_attributes(
        v,
        "thingGroupProperties.attributePayload.attributes",
        payload.attributes.as_ref(),
        MAX_GROUP_ATTRIBUTES,
    );
    ThingGroupProperties {
        description: props.thing_group_description,
        attributes: payload.attributes,
        merge: payload.merge.unwrap_or(false),
    }
}

/// Thing types and billing groups do not exist in Thingwatch yet.
fn no_such_thing_type(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceNotFound,
        format!("Thing type {name} cannot be found."),
    )
}

fn thing_attribute(t: ThingInfo) -> ThingAttribute {
    ThingAttribute {
        thing_name: t.thing_name,
        thing_type_name: t.thing_type_name,
        thing_arn: t.thing_arn,
        attributes: t.attributes,
        version: t.version,
    }
}

fn describe_group(g: ThingGroupInfo) -> DescribeThingGroupOutput {
    DescribeThingGroupOutput {
        thing_group_name: g.name,
        thing_group_id: g.id,
        thing_group_arn: g.arn,
        version: g.version,
        thing_group_properties: ThingGroupPropertiesOut {
            thing_group_description: g.description,
            attribute_payload: AttributePayloadOut {
                attributes: g.attributes,
            },
        },
        thing_group_metadata: ThingGroupMetadataOut {
            parent_group_name: g.parent_group_name,
            root_to_parent_thing_groups: g
                .root_to_parent
                .into_iter()
                .map(GroupNameAndArnOut::from)
                .collect(),
            creation_date: epoch_seconds(g.creation_date_ms),
        },
    }
}

impl IotService {
    /// Resolves a name-or-ARN pair for AddThingToThingGroup / RemoveThingFromThingGroup.
    /// `kind` is the ARN resource type (`thing` / `thinggroup`).
    fn name_or_arn(
        &self,
        v: &mut Validation,
        name_field: &str,
        name: Option<&str>,
        arn_field: &str,
        arn: Option<&str>,
        kind: IotKind,
    ) -> Option<String> {
        v.name(name_field, name);
        let from_arn = arn.map(|arn| {
            let prefix = Arn::iot_prefix(&self.scope(), kind);
            arn.strip_prefix(&prefix).map(str::to_owned).ok_or(arn)
        });
        match (name, from_arn) {
            (None, None) => {
                v.fail(format!(
                    "Either {name_field} or {arn_field} must be specified."
                ));
                None
            }
            (_, Some(Err(arn))) => {
                v.fail(format!(
                    "Invalid {arn_field} '{arn}': expected {}NAME.",
                    Arn::iot_prefix(&self.scope(), kind)
                ));
                None
            }
            (Some(n), Some(Ok(a))) if n != a => {
                v.fail(format!(
                    "{name_field} '{n}' and {arn_field} name '{a}' do not name the same resource."
                ));
                None
            }
            (Some(n), _) => Some(n.to_owned()),
            (None, Some(Ok(a))) => {
                v.name(arn_field, Some(&a));
                Some(a)
            }
        }
    }

    /// CreateThing (`POST /things/{thingName}`).
    pub(crate) async fn op_create_thing(
        &self,
        input: &Input<'_>,
    ) -> Result<CreateThingOutput, ApiError> {
        let name = input.matched.label("thingName").to_owned();
        let body: CreateThingInput = input.body()?;
        let mut v = Validation::new();
        v.name("thingName", Some(&name));
        v.name("thingTypeName", body.thing_type_name.as_deref());
        v.name("billingGroupName", body.billing_group_name.as_deref());
        let payload = body.attribute_payload.unwrap_or_default();
        check_attributes(
            &mut v,
            "attributePayload.attributes",
            payload.attributes.as_ref(),
            MAX_THING_ATTRIBUTES,
        );
        v.finish()?;
        if let Some(t) = &body.thing_type_name {
            return Err(no_such_thing_type(t));
        }
        if let Some(b) = &body.billing_group_name {
            return Err(ApiError::new(
                ErrorCode::ResourceNotFound,
                format!("Billing group {b} cannot be found."),
            ));
        }
        let attributes = payload.attributes.unwrap_or_default();
        let now = input.ctx.now_ms();
        let registry = self.registry();
        let t = blocking(INTERNAL, move || {
            registry.create_thing(&name, attributes, now)
        })
        .await?;
        Ok(CreateThingOutput {
            thing_name: t.thing_name,
            thing_arn: t.thing_arn,
            thing_id: t.thing_id,
        })
    }

    /// DescribeThing (`GET /things/{thingName}`); `defaultClientId` is the thing name.
    pub(crate) async fn op_describe_thing(
        &self,
        input: &Input<'_>,
    ) -> Result<DescribeThingOutput, ApiError> {
        let name = input.matched.label("thingName").to_owned();
        let mut v = Validation::new();
        v.name("thingName", Some(&name));
        v.finish()?;
        let registry = self.registry();
        let t = blocking(INTERNAL, move || registry.describe_thing(&name)).await?;
        Ok(DescribeThingOutput {
            default_client_id: t.thing_name.clone(),
            thing_name: t.thing_name,
            thing_id: t.thing_id,
            thing_arn: t.thing_arn,
            thing_type_name: t.thing_type_name,
            attributes: t.attributes,
            version: t.version,
        })
    }

    /// UpdateThing (`PATCH /things/{thingName}`).
    pub(crate) async fn op_update_thing(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let name = input.matched.label("thingName").to_owned();
        let body: UpdateThingInput = input.body()?;
        let mut v = Validation::new();
        v.name("thingName", Some(&name));
        v.name("thingTypeName", body.thing_type_name.as_deref());
        let payload = body.attribute_payload.unwrap_or_default();
        check_attributes(
            &mut v,
            "attributePayload.attributes",
            payload.attributes.as_ref(),
            MAX_THING_ATTRIBUTES,
        );
        v.finish()?;
        if let Some(t) = &body.thing_type_name {
            return Err(no_such_thing_type(t));
        }
        let merge = payload.merge.unwrap_or(false);
        let attributes = payload.attributes;
        let expected = body.expected_version;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.update_thing(&name, attributes, merge, expected)
        })
        .await?;
        Ok(Empty {})
    }

    /// DeleteThing (`DELETE /things/{thingName}?expectedVersion=`).
    pub(crate) async fn op_delete_thing(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let name = input.matched.label("thingName").to_owned();
        let expected = input.query.int("expectedVersion")?;
        let mut v = Validation::new();
        v.name("thingName", Some(&name));
        v.finish()?;
        let registry = self.registry();
        blocking(INTERNAL, move || registry.delete_thing(&name, expected)).await?;
        Ok(Empty {})
    }

    /// ListThings (`GET /things?attributeName=&attributeValue=&thingTypeName=&maxResults=&nextToken=`).
    pub(crate) async fn op_list_things(
        &self,
        input: &Input<'_>,
    ) -> Result<ListThingsOutput, ApiError> {
        let q = &input.query;
        let mut v = Validation::new();
        let attribute_name = q.get("attributeName");
        let attribute_value = q.get("attributeValue");
        v.string(
            "attributeName",
            attribute_name,
            0,
            MAX_ATTRIBUTE_NAME_LEN,
            Some(Pattern::AttributeName),
        );
        v.string(
            "attributeValue",
            attribute_value,
            0,
            MAX_ATTRIBUTE_VALUE_LEN,
            Some(Pattern::AttributeValue),
        );
        v.name("thingTypeName", q.get("thingTypeName"));
        let max = max_results(&mut v, q.int("maxResults")?);
        if attribute_value.is_some() && attribute_name.is_none() {
            v.fail("attributeValue requires attributeName.");
        }
        if q.bool("usePrefixAttributeValue")? == Some(true) {
            v.fail("usePrefixAttributeValue is not supported by this server.");
        }
        v.finish()?;
        let query = ListThingsQuery {
            attribute_name: attribute_name.map(str::to_owned),
            attribute_value: attribute_value.map(str::to_owned),
            thing_type_name: q.get("thingTypeName").map(str::to_owned),
            next_token: q.get("nextToken").map(str::to_owned),
            max_results: max,
        };
        let registry = self.registry();
        let page = blocking(INTERNAL, move || registry.list_things(&query)).await?;
        Ok(ListThingsOutput {
            things: page.items.into_iter().map(thing_attribute).collect(),
            next_token: page.next_token,
        })
    }

    /// CreateThingGroup (`POST /thing-groups/{thingGroupName}`).
    pub(crate) async fn op_create_thing_group(
        &self,
        input: &Input<'_>,
    ) -> Result<CreateThingGroupOutput, ApiError> {
        let name = input.matched.label("thingGroupName").to_owned();
        let body: CreateThingGroupInput = input.body()?;
        let mut v = Validation::new();
        v.name("thingGroupName", Some(&name));
        v.name("parentGroupName", body.parent_group_name.as_deref());
        let props = group_properties(&mut v, body.thing_group_properties);
        v.finish()?;
        let parent = body.parent_group_name;
        let now = input.ctx.now_ms();
        let registry = self.registry();
        let g = blocking(INTERNAL, move || {
            registry.create_thing_group(&name, parent.as_deref(), props, now)
        })
        .await?;
        Ok(CreateThingGroupOutput {
            thing_group_name: g.name,
            thing_group_arn: g.arn,
            thing_group_id: g.id,
        })
    }

    /// DescribeThingGroup (`GET /thing-groups/{thingGroupName}`).
    pub(crate) async fn op_describe_thing_group(
        &self,
        input: &Input<'_>,
    ) -> Result<DescribeThingGroupOutput, ApiError> {
        let name = input.matched.label("thingGroupName").to_owned();
        let mut v = Validation::new();
        v.name("thingGroupName", Some(&name));
        v.finish()?;
        let registry = self.registry();
        let g = blocking(INTERNAL, move || registry.describe_thing_group(&name)).await?;
        Ok(describe_group(g))
    }

    /// UpdateThingGroup (`PATCH /thing-groups/{thingGroupName}`).
    pub(crate) async fn op_update_thing_group(
        &self,
        input: &Input<'_>,
    ) -> Result<UpdateThingGroupOutput, ApiError> {
        let name = input.matched.label("thingGroupName").to_owned();
        let body: UpdateThingGroupInput = input.body()?;
        let mut v = Validation::new();
        v.name("thingGroupName", Some(&name));
        v.required("thingGroupProperties", body.thing_group_properties.as_ref());
        let props = group_properties(&mut v, body.thing_group_properties);
        v.finish()?;
        let expected = body.expected_version;
        let registry = self.registry();
        let version = blocking(INTERNAL, move || {
            registry.update_thing_group(&name, props, expected)
        })
        .await?;
        Ok(UpdateThingGroupOutput { version })
    }

    /// DeleteThingGroup (`DELETE /thing-groups/{thingGroupName}?expectedVersion=`).
    pub(crate) async fn op_delete_thing_group(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let name = input.matched.label("thingGroupName").to_owned();
        let expected = input.query.int("expectedVersion")?;
        let mut v = Validation::new();
        v.name("thingGroupName", Some(&name));
        v.finish()?;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.delete_thing_group(&name, expected)
        })
        .await?;
        Ok(Empty {})
    }

    /// ListThingGroups (`GET /thing-groups?parentGroup=&namePrefixFilter=&recursive=&maxResults=&nextToken=`).
    pub(crate) async fn op_list_thing_groups(
        &self,
        input: &Input<'_>,
    ) -> Result<GroupListOutput, ApiError> {
        let q = &input.query;
        let mut v = Validation::new();
        let parent = q.get("parentGroup").map(str::to_owned);
        let prefix = q.get("namePrefixFilter").map(str::to_owned);
        v.name("parentGroup", parent.as_deref());
        v.name("namePrefixFilter", prefix.as_deref());
        let recursive = q.bool("recursive")?.unwrap_or(parent.is_none());
        let max = max_results(&mut v, q.int("maxResults")?);
        v.finish()?;
        let next = q.get("nextToken").map(str::to_owned);
        let registry = self.registry();
        let page = blocking(INTERNAL, move || {
            registry.list_thing_groups(
                parent.as_deref(),
                prefix.as_deref(),
                recursive,
                next.as_deref(),
                max,
            )
        })
        .await?;
        Ok(GroupListOutput {
            thing_groups: page
                .items
                .into_iter()
                .map(GroupNameAndArnOut::from)
                .collect(),
            next_token: page.next_token,
        })
    }

    fn membership(&self, input: &Input<'_>) -> Result<(String, String), ApiError> {
        let body: MembershipInput = input.body()?;
        let mut v = Validation::new();
        let group = self.name_or_arn(
            &mut v,
            "thingGroupName",
            body.thing_group_name.as_deref(),
            "thingGroupArn",
            body.thing_group_arn.as_deref(),
            IotKind::ThingGroup,
        );
        let thing = self.name_or_arn(
            &mut v,
            "thingName",
            body.thing_name.as_deref(),
            "thingArn",
            body.thing_arn.as_deref(),
            IotKind::Thing,
        );
        v.finish()?;
        match (thing, group) {
            (Some(t), Some(g)) => Ok((t, g)),
            _ => Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "A thing and a thing group must be specified.",
            )),
        }
    }

    /// AddThingToThingGroup (`PUT /thing-groups/addThingToThingGroup`).
    pub(crate) async fn op_add_thing_to_group(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let (thing, group) = self.membership(input)?;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.add_thing_to_thing_group(&thing, &group)
        })
        .await?;
        Ok(Empty {})
    }

    /// RemoveThingFromThingGroup (`PUT /thing-groups/removeThingFromThingGroup`).
    pub(crate) async fn op_remove_thing_from_group(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let (thing, group) = self.membership(input)?;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.remove_thing_from_thing_group(&thing, &group)
        })
        .await?;
        Ok(Empty {})
    }

    /// ListThingsInThingGroup (`GET /thing-groups/{thingGroupName}/things?recursive=`).
    pub(crate) async fn op_list_things_in_group(
        &self,
        input: &Input<'_>,
    ) -> Result<ListThingsInThingGroupOutput, ApiError> {
        let name = input.matched.label("thingGroupName").to_owned();
        let q = &input.query;
        let mut v = Validation::new();
        v.name("thingGroupName", Some(&name));
        let recursive = q.bool("recursive")?.unwrap_or(false);
        let max = max_results(&mut v, q.int("maxResults")?);
        v.finish()?;
        let next = q.get("nextToken").map(str::to_owned);
        let registry = self.registry();
        let page = blocking(INTERNAL, move || {
            registry.list_things_in_thing_group(&name, recursive, next.as_deref(), max)
        })
        .await?;
        Ok(ListThingsInThingGroupOutput {
            things: page.items,
            next_token: page.next_token,
        })
    }

    /// ListThingGroupsForThing (`GET /things/{thingName}/thing-groups`).
    pub(crate) async fn op_list_groups_for_thing(
        &self,
        input: &Input<'_>,
    ) -> Result<GroupListOutput, ApiError> {
        let name = input.matched.label("thingName").to_owned();
        let q = &input.query;
        let mut v = Validation::new();
        v.name("thingName", Some(&name));
        let max = max_results(&mut v, q.int("maxResults")?);
        v.finish()?;
        let next = q.get("nextToken").map(str::to_owned);
        let registry = self.registry();
        let page = blocking(INTERNAL, move || {
            registry.list_thing_groups_for_thing(&name, next.as_deref(), max)
        })
        .await?;
        Ok(GroupListOutput {
            thing_groups: page
                .items
                .into_iter()
                .map(GroupNameAndArnOut::from)
                .collect(),
            next_token: page.next_token,
        })
    }
}
