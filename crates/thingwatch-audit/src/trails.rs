//! Trails: CloudTrail's named configurations that deliver records somewhere beyond the event
//! history. Here a trail delivers to a CloudWatch Logs log group of the built-in log store
//! (`CloudWatchLogsLogGroupArn` through `CloudWatchLogsRoleArn`), as soon as each record is
//! written, into the stream `ACCOUNT_CloudTrail_REGION` (CloudTrail User Guide, *Sending
//! events to CloudWatch Logs*). S3 delivery is not hosted (there is no object store yet): the
//! bucket name is kept and `GetTrailStatus` says so in `LatestDeliveryError`.
//!
//! Event selectors decide which records a trail takes: basic selectors (`ReadWriteType`,
//! `IncludeManagementEvents`, `ExcludeManagementEventSources`) or advanced ones (field
//! selectors on `eventCategory`, `readOnly`, `eventSource`, `eventName`). Source:
//! CloudTrail API Reference `PutEventSelectors`, `EventSelector`, `AdvancedFieldSelector`.

use serde::{Deserialize, Serialize};
use thingwatch_aws::{ApiError, Arn, ErrorCode, Scope};

use crate::record::BuiltRecord;

/// Trails per region (CloudTrail quota: five trails per Region).
pub const MAX_TRAILS: usize = 5;
/// Basic event selectors per trail (`PutEventSelectors`: up to five).
pub const MAX_EVENT_SELECTORS: usize = 5;
/// Conditions across a trail's advanced event selectors (`PutEventSelectors`: 500).
pub const MAX_ADVANCED_CONDITIONS: usize = 500;

/// The message `LatestDeliveryError` carries for every trail.
pub const S3_NOT_HOSTED: &str = "S3 delivery is not hosted by this server; records are in the event history (LookupEvents) and, with CloudWatchLogsLogGroupArn, in CloudWatch Logs.";

/// A basic event selector (wire shape `EventSelector`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    /// `ReadOnly`, `WriteOnly` or `All` (default `All`).
    #[serde(default = "all")]
    pub read_write_type: String,
    /// Default `true`.
    #[serde(default = "yes")]
    pub include_management_events: bool,
    /// Data event resources (`{Type, Values}`): kept, never matched (no data events are
    /// recorded).
    #[serde(default)]
    pub data_resources: Vec<serde_json::Value>,
    /// `kms.amazonaws.com` / `rdsdata.amazonaws.com`.
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

fn all() -> String {
    "All".to_owned()
}
fn yes() -> bool {
    true
}

/// One condition of an advanced selector (wire shape `AdvancedFieldSelector`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldSelector {
    /// `eventCategory`, `readOnly`, `eventSource`, `eventName`, `resources.type`, ….
    pub field: String,
    /// Any of these values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equals: Vec<String>,
    /// Starts with any of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starts_with: Vec<String>,
    /// Ends with any of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ends_with: Vec<String>,
    /// Equals none of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_equals: Vec<String>,
    /// Starts with none of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_starts_with: Vec<String>,
    /// Ends with none of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_ends_with: Vec<String>,
}

impl FieldSelector {
    fn conditions(&self) -> usize {
        self.equals.len()
            + self.starts_with.len()
            + self.ends_with.len()
            + self.not_equals.len()
            + self.not_starts_with.len()
            + self.not_ends_with.len()
    }

    fn matches(&self, value: &str) -> bool {
        let any = |v: &[String], f: &dyn Fn(&str) -> bool| v.is_empty() || v.iter().any(|x| f(x));
        let none = |v: &[String], f: &dyn Fn(&str) -> bool| !v.iter().any(|x| f(x));
        any(&self.equals, &|x| value == x)
            && any(&self.starts_with, &|x| value.starts_with(x))
            && any(&self.ends_with, &|x| value.ends_with(x))
            && none(&self.not_equals, &|x| value == x)
            && none(&self.not_starts_with, &|x| value.starts_with(x))
            && none(&self.not_ends_with, &|x| value.ends_with(x))
    }
}

/// An advanced event selector (wire shape `AdvancedEventSelector`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedEventSelector {
    /// A label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Every condition must hold.
    pub field_selectors: Vec<FieldSelector>,
}

/// The fields advanced selectors may name (CloudTrail API Reference).
const ADVANCED_FIELDS: &[&str] = &[
    "eventCategory",
    "readOnly",
    "eventSource",
    "eventName",
    "eventType",
    "resources.type",
    "resources.ARN",
    "sessionCredentialFromConsole",
    "userIdentity.arn",
    "errorCode",
    "vpcEndpointId",
];

/// A trail, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    /// `Name`.
    pub name: String,
    /// `S3BucketName` (kept; S3 delivery is not hosted).
    pub s3_bucket_name: String,
    /// `S3KeyPrefix`.
    pub s3_key_prefix: Option<String>,
    /// `SnsTopicName`.
    pub sns_topic_name: Option<String>,
    /// `IncludeGlobalServiceEvents` (default true).
    pub include_global_service_events: bool,
    /// `IsMultiRegionTrail` (default false).
    pub is_multi_region_trail: bool,
    /// `EnableLogFileValidation` (the records are always chained and digested).
    pub log_file_validation_enabled: bool,
    /// `CloudWatchLogsLogGroupArn` (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`).
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// `CloudWatchLogsRoleArn`.
    pub cloud_watch_logs_role_arn: Option<String>,
    /// `KmsKeyId` (kept).
    pub kms_key_id: Option<String>,
    /// `TagsList`.
    pub tags: Vec<(String, Option<String>)>,
    /// Basic selectors (`None`: the default, all management events).
    pub event_selectors: Option<Vec<EventSelector>>,
    /// Advanced selectors.
    pub advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
    /// Whether it delivers (a new trail does not until StartLogging).
    pub is_logging: bool,
    /// Last StartLogging, epoch ms.
    pub start_logging_ms: Option<i64>,
    /// Last StopLogging, epoch ms.
    pub stop_logging_ms: Option<i64>,
}

impl Trail {
    /// `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`.
    pub fn arn(&self, scope: &Scope) -> String {
        Arn::cloudtrail_trail(scope, &self.name).to_string()
    }

    /// The log group name of `cloud_watch_logs_log_group_arn`.
    pub fn log_group(&self) -> Option<&str> {
        self.cloud_watch_logs_log_group_arn
            .as_deref()
            .and_then(log_group_of_arn)
    }

    /// The selectors in effect (the default when none were put).
    pub fn selectors(&self) -> Vec<EventSelector> {
        self.event_selectors.clone().unwrap_or_else(|| {
            vec![EventSelector {
                read_write_type: all(),
                include_management_events: true,
                data_resources: Vec::new(),
                exclude_management_event_sources: Vec::new(),
            }]
        })
    }

    /// Whether the trail takes `record`.
    pub fn wants(&self, record: &BuiltRecord) -> bool {
        if let Some(advanced) = &self.advanced_event_selectors {
            return advanced.iter().any(|s| {
                s.field_selectors.iter().all(|f| {
                    let value = match f.field.as_str() {
                        "eventCategory" => "Management",
                        "readOnly" if record.read_only => "true",
                        "readOnly" => "false",
                        "eventSource" => record.event_source.as_str(),
                        "eventName" => record.event_name.as_str(),
                        "eventType" if record.event_name == crate::record::GAP_EVENT_NAME => {
                            "AwsServiceEvent"
                        }
                        "eventType" => "AwsApiCall",
                        // Resource and identity fields select data events only.
                        _ => return false,
                    };
                    f.matches(value)
                })
            });
        }
        self.selectors().iter().any(|s| {
            s.include_management_events
                && match s.read_write_type.as_str() {
                    "ReadOnly" => record.read_only,
                    "WriteOnly" => !record.read_only,
                    _ => true,
                }
                && !s
                    .exclude_management_event_sources
                    .contains(&record.event_source)
        })
    }
}

/// The log group name of `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*` (also without
/// `:*`).
pub fn log_group_of_arn(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:aws:logs:")?;
    let (_region, rest) = rest.split_once(':')?;
    let (_account, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("log-group:")?;
    let name = name.strip_suffix(":*").unwrap_or(name);
    (!name.is_empty() && !name.contains(':')).then_some(name)
}

fn err(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

/// Checks a trail name (CloudTrail `CreateTrail`: 3–128 characters of ASCII letters, digits,
/// `.`, `_`, `-`; starting and ending with a letter or digit; no two of `._-` adjacent; not
/// an IP address).
///
/// # Errors
/// `InvalidTrailNameException`.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let bad = |m: &str| Err(err(ErrorCode::InvalidTrailName, m));
    if name.len() < 3 || name.len() > 128 {
        return bad("Trail name must be between 3 and 128 characters.");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return bad(
            "Trail name can only contain ASCII letters, numbers, periods, underscores and dashes.",
        );
    }
    let first_last = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_last(name.chars().next()) || !first_last(name.chars().last()) {
        return bad("Trail name must start and end with a letter or number.");
    }
    let punct = |c: char| matches!(c, '.' | '_' | '-');
    if name
        .as_bytes()
        .windows(2)
        .any(|w| punct(w[0] as char) && punct(w[1] as char))
    {
        return bad("Trail name cannot have adjacent periods, underscores or dashes.");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("Trail name cannot be formatted as an IP address.");
    }
    Ok(())
}

/// Checks an S3 bucket name (3–63 characters of lowercase letters, digits, `.`, `-`,
/// starting and ending with a letter or digit).
///
/// # Errors
/// `InvalidS3BucketNameException`.
pub fn validate_bucket(name: &str) -> Result<(), ApiError> {
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(err(
            ErrorCode::InvalidS3BucketName,
            format!("Bucket name '{name}' is not valid."),
        ))
    }
}

/// Checks `PutEventSelectors` input: exactly one of the two kinds, within the limits, with
/// known values.
///
/// # Errors
/// `InvalidEventSelectorsException`, `InvalidParameterCombinationException`.
pub fn validate_selectors(
    basic: Option<&[EventSelector]>,
    advanced: Option<&[AdvancedEventSelector]>,
) -> Result<(), ApiError> {
    let bad = |m: String| Err(err(ErrorCode::InvalidEventSelectors, m));
    match (basic, advanced) {
        (Some(_), Some(_)) => Err(err(
            ErrorCode::CloudTrailInvalidParameterCombination,
            "You cannot specify both EventSelectors and AdvancedEventSelectors.",
        )),
        (None, None) => Err(err(
            ErrorCode::InvalidEventSelectors,
            "Specify EventSelectors or AdvancedEventSelectors.",
        )),
        (Some(basic), None) => {
            if basic.len() > MAX_EVENT_SELECTORS {
                return bad(format!(
                    "You can specify at most {MAX_EVENT_SELECTORS} event selectors; got {}.",
                    basic.len()
                ));
            }
            for s in basic {
                if !matches!(s.read_write_type.as_str(), "ReadOnly" | "WriteOnly" | "All") {
                    return bad(format!(
                        "ReadWriteType '{}' is not one of ReadOnly, WriteOnly, All.",
                        s.read_write_type
                    ));
                }
                if let Some(src) = s
                    .exclude_management_event_sources
                    .iter()
                    .find(|x| !matches!(x.as_str(), "kms.amazonaws.com" | "rdsdata.amazonaws.com"))
                {
                    return bad(format!(
                        "ExcludeManagementEventSources value '{src}' is not valid; only kms.amazonaws.com and rdsdata.amazonaws.com can be excluded."
                    ));
                }
                for d in &s.data_resources {
                    let kind = d
                        .get("Type")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("");
                    if !kind.starts_with("AWS::") {
                        return bad(format!("DataResource Type '{kind}' is not valid."));
                    }
                }
            }
            Ok(())
        }
        (None, Some(advanced)) => {
            let mut conditions = 0;
            for s in advanced {
                if s.field_selectors.is_empty() {
                    return bad(
                        "Each advanced event selector needs at least one field selector.".into(),
                    );
                }
                if !s.field_selectors.iter().any(|f| f.field == "eventCategory") {
                    return bad("Each advanced event selector must have a field selector for eventCategory.".into());
                }
                for f in &s.field_selectors {
                    if !ADVANCED_FIELDS.contains(&f.field.as_str()) {
                        return bad(format!("Field '{}' is not valid.", f.field));
                    }
                    if f.conditions() == 0 {
                        return bad(format!(
                            "Field selector '{}' needs at least one condition.",
                            f.field
                        ));
                    }
                    conditions += f.conditions();
                }
            }
            if conditions > MAX_ADVANCED_CONDITIONS {
                return bad(format!(
                    "Advanced event selectors may have at most {MAX_ADVANCED_CONDITIONS} conditions; got {conditions}."
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(read_only: bool, name: &str) -> BuiltRecord {
        BuiltRecord {
            event_id: "e".into(),
            event_time_ms: 0,
            event_name: name.into(),
            event_source: "iot.amazonaws.com".into(),
            read_only,
            username: "root".into(),
            access_key_id: "AK".into(),
            resources: Vec::new(),
            json: "{}".into(),
        }
    }

    fn trail() -> Trail {
        Trail {
            name: "t1".into(),
            s3_bucket_name: "b".into(),
            s3_key_prefix: None,
            sns_topic_name: None,
            include_global_service_events: true,
            is_multi_region_trail: false,
            log_file_validation_enabled: false,
            cloud_watch_logs_log_group_arn: Some(
                "arn:aws:logs:us-east-1:123456789012:log-group:trail-logs:*".into(),
            ),
            cloud_watch_logs_role_arn: None,
            kms_key_id: None,
            tags: Vec::new(),
            event_selectors: None,
            advanced_event_selectors: None,
            is_logging: true,
            start_logging_ms: None,
            stop_logging_ms: None,
        }
    }

    #[test]
    fn selectors_pick_records() {
        let mut t = trail();
        assert_eq!(t.log_group(), Some("trail-logs"));
        assert!(t.wants(&record(true, "ListThings")));
        t.event_selectors = Some(vec![EventSelector {
            read_write_type: "WriteOnly".into(),
            include_management_events: true,
            data_resources: Vec::new(),
            exclude_management_event_sources: Vec::new(),
        }]);
        assert!(!t.wants(&record(true, "ListThings")));
        assert!(t.wants(&record(false, "CreateThing")));
        t.event_selectors = None;
        t.advanced_event_selectors = Some(vec![AdvancedEventSelector {
            name: None,
            field_selectors: vec![
                FieldSelector {
                    field: "eventCategory".into(),
                    equals: vec!["Management".into()],
                    ..Default::default()
                },
                FieldSelector {
                    field: "eventName".into(),
                    starts_with: vec!["Attach".into()],
                    ..Default::default()
                },
            ],
        }]);
        assert!(t.wants(&record(false, "AttachPolicy")));
        assert!(!t.wants(&record(false, "CreateThing")));
    }

    #[test]
    fn names_follow_cloudtrail_rules() {
        assert!(validate_name("audit-trail_1.x").is_ok());
        for bad in ["ab", "-abc", "abc-", "a--b", "a._b", "a b c", "192.168.5.4"] {
            assert_eq!(
                validate_name(bad).unwrap_err().code,
                ErrorCode::InvalidTrailName,
                "{bad}"
            );
        }
    }
}
