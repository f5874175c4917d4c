//! The CloudTrail API (AWS JSON 1.1, `X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>`, signing name `cloudtrail`)
//! over [`thingwatch_audit::Audit`], and [`AuditObserver`], which records every management
//! call made on the HTTP port.
//!
//! Operations: LookupEvents, CreateTrail, GetTrail, DescribeTrails, GetTrailStatus,
//! StartLogging, StopLogging, DeleteTrail, PutEventSelectors, GetEventSelectors. Shapes and
//! errors from botocore's `cloudtrail-2013-11-01` model (botocore 1.43.11; aws-wire.md
//! Appendix A). Timestamps are epoch seconds (JSON 1.1).

mod observer;

pub use observer::{AuditObserver, form_to_json, lower_camel, management_call, xml_to_json};

use serde::{Deserialize, Serialize};
use thingwatch_audit::{
    AdvancedEventSelector, Audit, EventSelector, Lookup, LookupAttribute, StoredRecord, Trail,
};
use thingwatch_aws::page_token::{self, Alphabet};
use thingwatch_http::error::{ApiError, ErrorCode, Protocol, json_success};
use thingwatch_http::server::{AwsRequest, HandlerFuture, RequestContext, ServiceHandler};

/// The `X-Amz-Target` prefix (model `targetPrefix`).
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
/// `MaxResults` of LookupEvents: 1..=50, default 50.
pub const MAX_LOOKUP_RESULTS: i64 = 50;
/// `LookupAttributeValue` length: 1..=2000.
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 2000;

/// The CloudTrail service handler.
#[derive(Clone)]
pub struct CloudTrailService {
    audit: Audit,
}

impl CloudTrailService {
    /// Serves `audit`.
    pub fn new(audit: Audit) -> Self {
        Self { audit }
    }
}

impl ServiceHandler for CloudTrailService {
    fn protocol(&self) -> Protocol {
        Protocol::AwsJson11
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let svc = self.clone();
        Box::pin(async move {
            let target = req
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let op = match target.rsplit_once('.') {
                Some((prefix, op)) if prefix == TARGET_PREFIX => op.to_owned(),
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::UnknownOperation,
                        format!(
                            "Unknown operation: expected X-Amz-Target '{TARGET_PREFIX}.<Operation>', got '{target}'."
                        ),
                    ));
                }
            };
            let body = req.body.clone();
            let now = ctx.now_ms();
            let value = tokio::task::spawn_blocking(move || svc.run(&op, &body, now))
                .await
                .map_err(|e| ApiError::internal(&e))??;
            json_success(Protocol::AwsJson11, &ctx.request_id, &value)
        })
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    thingwatch_http::json::parse_body("cloudtrail", body)
}

fn invalid(code: ErrorCode, m: impl Into<String>) -> ApiError {
    ApiError::new(code, m)
}

fn secs(ms: i64) -> f64 {
    (ms.div_euclid(1000)) as f64
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttributeInput {
    attribute_key: Option<String>,
    attribute_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsInput {
    lookup_attributes: Option<Vec<LookupAttributeInput>>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceOut {
    resource_type: String,
    resource_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventOut {
    event_id: String,
    event_name: String,
    read_only: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    event_time: f64,
    event_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    resources: Vec<ResourceOut>,
    cloud_trail_event: String,
}

impl From<StoredRecord> for EventOut {
    fn from(r: StoredRecord) -> Self {
        EventOut {
            event_id: r.event_id,
            event_name: r.event_name,
            read_only: r.read_only.to_string(),
            access_key_id: Some(r.access_key_id).filter(|k| !k.is_empty()),
            event_time: secs(r.event_time_ms),
            event_source: r.event_source,
            username: Some(r.username).filter(|u| !u.is_empty()),
            resources: r
                .resources
                .into_iter()
                .map(|(t, n)| ResourceOut {
                    resource_type: t,
                    resource_name: n,
                })
                .collect(),
            cloud_trail_event: r.json,
        }
    }
}

/// The attribute of a LookupEvents request (at most one; AWS's
/// `InvalidLookupAttributesException` otherwise).
fn lookup_attribute(
    attrs: Option<Vec<LookupAttributeInput>>,
) -> Result<Option<LookupAttribute>, ApiError> {
    let attrs = attrs.unwrap_or_default();
    let bad = |m: String| invalid(ErrorCode::InvalidLookupAttributes, m);
    if attrs.len() > 1 {
        return Err(bad(
            "You cannot specify more than one lookup attribute.".into()
        ));
    }
    let Some(a) = attrs.into_iter().next() else {
        return Ok(None);
    };
    let key = a
        .attribute_key
        .ok_or_else(|| bad("The lookup attribute key is required.".into()))?;
    let value = a
        .attribute_value
        .ok_or_else(|| bad("The lookup attribute value is required.".into()))?;
    if value.is_empty() || value.chars().count() > MAX_ATTRIBUTE_VALUE_LEN {
        return Err(bad(format!(
            "The lookup attribute value must be between 1 and {MAX_ATTRIBUTE_VALUE_LEN} characters."
        )));
    }
    Ok(Some(match key.as_str() {
        "EventId" => LookupAttribute::EventId(value),
        "EventName" => LookupAttribute::EventName(value),
        "ReadOnly" => match value.as_str() {
            "true" => LookupAttribute::ReadOnly(true),
            "false" => LookupAttribute::ReadOnly(false),
            _ => {
                return Err(bad(format!(
                    "The ReadOnly lookup attribute value must be true or false, not '{value}'."
                )));
            }
        },
        "Username" => LookupAttribute::Username(value),
        "ResourceType" => LookupAttribute::ResourceType(value),
        "ResourceName" => LookupAttribute::ResourceName(value),
        "EventSource" => LookupAttribute::EventSource(value),
        "AccessKeyId" => LookupAttribute::AccessKeyId(value),
        other => {
            return Err(bad(format!(
                "Lookup attribute key '{other}' is not valid; valid keys are EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId."
            )));
        }
    }))
}

/// A token is accepted only by the same query (attribute and time range).
fn token_tag(attr: &Option<LookupAttribute>, start: Option<i64>, end: Option<i64>) -> String {
    format!("LookupEvents {attr:?} {start:?} {end:?}")
}

fn ms_of(secs: Option<f64>, member: &str) -> Result<Option<i64>, ApiError> {
    match secs {
        None => Ok(None),
        Some(s) if s.is_finite() && s.abs() < 1e13 => Ok(Some((s * 1000.0).round() as i64)),
        Some(_) => Err(ApiError::serialization(format!(
            "{member} is not a valid timestamp."
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagIn {
    key: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTrailInput {
    name: Option<String>,
    s3_bucket_name: Option<String>,
    s3_key_prefix: Option<String>,
    sns_topic_name: Option<String>,
    include_global_service_events: Option<bool>,
    is_multi_region_trail: Option<bool>,
    enable_log_file_validation: Option<bool>,
    cloud_watch_logs_log_group_arn: Option<String>,
    cloud_watch_logs_role_arn: Option<String>,
    kms_key_id: Option<String>,
    is_organization_trail: Option<bool>,
    tags_list: Option<Vec<TagIn>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameInput {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrailNameInput {
    trail_name: Option<String>,
    event_selectors: Option<Vec<EventSelector>>,
    advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeTrailsInput {
    trail_name_list: Option<Vec<String>>,
    #[allow(dead_code)]
    include_shadow_trails: Option<bool>,
}

fn required(v: Option<String>, member: &str) -> Result<String, ApiError> {
    v.ok_or_else(|| {
        ApiError::new(
            ErrorCode::CloudTrailInvalidParameter,
            format!("{member} is required."),
        )
    })
}

impl CloudTrailService {
    fn run(&self, op: &str, body: &[u8], now: i64) -> Result<serde_json::Value, ApiError> {
        match op {
            "LookupEvents" => self.lookup_events(parse(body)?),
            "CreateTrail" => self.create_trail(parse(body)?),
            "GetTrail" => {
                let input: NameInput = parse(body)?;
                let t = self.audit.get_trail(&required(input.name, "Name")?)?;
                Ok(serde_json::json!({ "Trail": self.trail_json(&t) }))
            }
            "DescribeTrails" => {
                let input: DescribeTrailsInput = parse(body)?;
                let trails = self
                    .audit
                    .describe_trails(input.trail_name_list.as_deref())?;
                let list: Vec<_> = trails.iter().map(|t| self.trail_json(t)).collect();
                Ok(serde_json::json!({ "trailList": list }))
            }
            "GetTrailStatus" => {
                let input: NameInput = parse(body)?;
                let (t, status) = self.audit.trail_status(&required(input.name, "Name")?)?;
                let mut out = serde_json::Map::new();
                out.insert("IsLogging".into(), t.is_logging.into());
                out.insert(
                    "LatestDeliveryError".into(),
                    thingwatch_audit::trails::S3_NOT_HOSTED.into(),
                );
                if let Some(ms) = status.latest_cloudwatch_delivery_ms {
                    out.insert("LatestCloudWatchLogsDeliveryTime".into(), secs(ms).into());
                }
                if let Some(e) = status.latest_cloudwatch_delivery_error {
                    out.insert("LatestCloudWatchLogsDeliveryError".into(), e.into());
                }
                if let Some(ms) = t.start_logging_ms {
                    out.insert("StartLoggingTime".into(), secs(ms).into());
                    out.insert("TimeLoggingStarted".into(), iso(ms).into());
                }
                if let Some(ms) = t.stop_logging_ms {
                    out.insert("StopLoggingTime".into(), secs(ms).into());
                    out.insert("TimeLoggingStopped".into(), iso(ms).into());
                }
                if let Some(ms) = status
                    .latest_digest_ms
                    .filter(|_| t.log_file_validation_enabled)
                {
                    out.insert("LatestDigestDeliveryTime".into(), secs(ms).into());
                }
                Ok(serde_json::Value::Object(out))
            }
            "StartLogging" | "StopLogging" => {
                let input: NameInput = parse(body)?;
                self.audit.set_logging(
                    &required(input.name, "Name")?,
                    op == "StartLogging",
                    now,
                )?;
                Ok(serde_json::json!({}))
            }
            "DeleteTrail" => {
                let input: NameInput = parse(body)?;
                self.audit.delete_trail(&required(input.name, "Name")?)?;
                Ok(serde_json::json!({}))
            }
            "PutEventSelectors" => {
                let input: TrailNameInput = parse(body)?;
                let t = self.audit.put_event_selectors(
                    &required(input.trail_name, "TrailName")?,
                    input.event_selectors,
                    input.advanced_event_selectors,
                )?;
                Ok(self.selectors_json(&t))
            }
            "GetEventSelectors" => {
                let input: TrailNameInput = parse(body)?;
                let t = self
                    .audit
                    .get_trail(&required(input.trail_name, "TrailName")?)?;
                Ok(self.selectors_json(&t))
            }
            other => Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("The CloudTrail operation {other} is not supported by this server."),
            )),
        }
    }

    fn lookup_events(&self, input: LookupEventsInput) -> Result<serde_json::Value, ApiError> {
        if let Some(c) = &input.event_category
            && c != "insight"
        {
            return Err(invalid(
                ErrorCode::InvalidEventCategory,
                format!("Event category '{c}' is not valid; the only category is insight."),
            ));
        }
        let limit = input.max_results.unwrap_or(MAX_LOOKUP_RESULTS);
        if !(1..=MAX_LOOKUP_RESULTS).contains(&limit) {
            return Err(invalid(
                ErrorCode::InvalidMaxResults,
                format!("MaxResults must be between 1 and {MAX_LOOKUP_RESULTS}; got {limit}."),
            ));
        }
        let attribute = lookup_attribute(input.lookup_attributes)?;
        let start = ms_of(input.start_time, "StartTime")?;
        let end = ms_of(input.end_time, "EndTime")?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(invalid(
                ErrorCode::InvalidTimeRange,
                "Start time must be before end time.",
            ));
        }
        let tag = token_tag(&attribute, start, end);
        let after = match &input.next_token {
            None => None,
            Some(t) => {
                let bad = || invalid(ErrorCode::InvalidNextTokenException, "Invalid NextToken.");
                let (time, seq) =
                    page_token::decode_two(Alphabet::UrlSafe, &tag, t).map_err(|_| bad())?;
                Some((
                    time.parse::<i64>().map_err(|_| bad())?,
                    seq.parse::<i64>().map_err(|_| bad())?,
                ))
            }
        };
        if input.event_category.is_some() {
            // Insights events are not produced here: there are none to return.
            return Ok(serde_json::json!({ "Events": [] }));
        }
        // A caller sees its own earlier calls.
        self.audit.flush();
        let limit = usize::try_from(limit).unwrap_or(50);
        let mut rows = self.audit.lookup(&Lookup {
            attribute,
            start_ms: start,
            end_ms: end,
            limit: limit + 1,
            after,
        })?;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| {
                page_token::encode(
                    Alphabet::UrlSafe,
                    &tag,
                    &[&r.event_time_ms.to_string(), &r.seq.to_string()],
                )
            })
        } else {
            None
        };
        let events: Vec<EventOut> = rows.into_iter().map(EventOut::from).collect();
        let mut out = serde_json::json!({ "Events": events });
        if let Some(n) = next {
            out["NextToken"] = n.into();
        }
        Ok(out)
    }

    fn create_trail(&self, input: CreateTrailInput) -> Result<serde_json::Value, ApiError> {
        if input.is_organization_trail == Some(true) {
            return Err(ApiError::new(
                ErrorCode::CloudTrailInvalidParameter,
                "Organization trails are not supported: this server hosts a single account.",
            ));
        }
        let trail = Trail {
            name: required(input.name, "Name")?,
            s3_bucket_name: required(input.s3_bucket_name, "S3BucketName")?,
            s3_key_prefix: input.s3_key_prefix,
            sns_topic_name: input.sns_topic_name,
            include_global_service_events: input.include_global_service_events.unwrap_or(true),
            is_multi_region_trail: input.is_multi_region_trail.unwrap_or(false),
            log_file_validation_enabled: input.enable_log_file_validation.unwrap_or(false),
            cloud_watch_logs_log_group_arn: input.cloud_watch_logs_log_group_arn,
            cloud_watch_logs_role_arn: input.cloud_watch_logs_role_arn,
            kms_key_id: input.kms_key_id,
            tags: input
                .tags_list
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect(),
            event_selectors: None,
            advanced_event_selectors: None,
            is_logging: false,
            start_logging_ms: None,
            stop_logging_ms: None,
        };
        let t = self.audit.create_trail(trail)?;
        let mut v = self.trail_json(&t);
        if let serde_json::Value::Object(m) = &mut v {
            for k in [
                "HomeRegion",
                "HasCustomEventSelectors",
                "HasInsightSelectors",
            ] {
                m.remove(k);
            }
        }
        Ok(v)
    }

    /// The `Trail` shape.
    fn trail_json(&self, t: &Trail) -> serde_json::Value {
        let scope = self.audit.scope();
        let mut m = serde_json::Map::new();
        m.insert("Name".into(), t.name.clone().into());
        m.insert("S3BucketName".into(), t.s3_bucket_name.clone().into());
        if let Some(p) = &t.s3_key_prefix {
            m.insert("S3KeyPrefix".into(), p.clone().into());
        }
        if let Some(s) = &t.sns_topic_name {
            m.insert("SnsTopicName".into(), s.clone().into());
            m.insert(
                "SnsTopicARN".into(),
                thingwatch_aws::Arn::sns_topic(scope, s).to_string().into(),
            );
        }
        m.insert(
            "IncludeGlobalServiceEvents".into(),
            t.include_global_service_events.into(),
        );
        m.insert("IsMultiRegionTrail".into(), t.is_multi_region_trail.into());
        m.insert("HomeRegion".into(), scope.region.clone().into());
        m.insert("TrailARN".into(), t.arn(scope).into());
        m.insert(
            "LogFileValidationEnabled".into(),
            t.log_file_validation_enabled.into(),
        );
        if let Some(g) = &t.cloud_watch_logs_log_group_arn {
            m.insert("CloudWatchLogsLogGroupArn".into(), g.clone().into());
        }
        if let Some(r) = &t.cloud_watch_logs_role_arn {
            m.insert("CloudWatchLogsRoleArn".into(), r.clone().into());
        }
        if let Some(k) = &t.kms_key_id {
            m.insert("KmsKeyId".into(), k.clone().into());
        }
        m.insert(
            "HasCustomEventSelectors".into(),
            (t.event_selectors.is_some() || t.advanced_event_selectors.is_some()).into(),
        );
        m.insert("HasInsightSelectors".into(), false.into());
        m.insert("IsOrganizationTrail".into(), false.into());
        serde_json::Value::Object(m)
    }

    fn selectors_json(&self, t: &Trail) -> serde_json::Value {
        let arn = t.arn(self.audit.scope());
        match &t.advanced_event_selectors {
            Some(a) => serde_json::json!({ "TrailARN": arn, "AdvancedEventSelectors": a }),
            None => serde_json::json!({ "TrailARN": arn, "EventSelectors": t.selectors() }),
        }
    }
}

fn iso(ms: i64) -> String {
    thingwatch_audit::record::format_event_time(ms)
}
