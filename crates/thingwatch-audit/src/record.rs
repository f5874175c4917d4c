//! The CloudTrail record of one management call: which calls are recorded, the record's
//! fields in CloudTrail's order, what is redacted, and the resources a call names.
//!
//! Source: CloudTrail User Guide, *CloudTrail record contents* and *userIdentity element*
//! (reference: aws-iot-logging.md §6.2); the AWS IoT developer guide's *Logging AWS IoT API
//! calls using AWS CloudTrail* (data-plane calls are not recorded).
//!
//! **The seed's older example.** The AWS IoT page's 2022 example record uses capitalised,
//! misspelt keys (`EventID`, `EventName`, `RequestParamters`, `SourceIPAddress`, …). Those
//! are the fields `eventID`, `eventName`, `requestParameters`, `sourceIPAddress` of the
//! current format written here (`eventVersion` [`EVENT_VERSION`]); nothing is written in
//! the old spelling.

use serde::Serialize;
use serde_json::{Map, Value};
use thingwatch_aws::Scope;

/// The record format version written (CloudTrail User Guide, 2023: 1.08 adds `tlsDetails`,
/// `addendum`, `sessionCredentialFromConsole`, `edgeDeviceDetails`).
pub const EVENT_VERSION: &str = "1.08";

/// What replaces a secret in `requestParameters` / `responseElements`: the string CloudTrail
/// writes in place of fields it does not record (e.g. a private key).
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// `userAgent` and `errorMessage` are truncated to this many bytes (record contents: 1 KB).
pub const MAX_FIELD_BYTES: usize = 1024;

/// `requestParameters` and `responseElements` above this many bytes of JSON are omitted
/// (record contents: 100 KB), and `additionalEventData` says so.
pub const MAX_ELEMENTS_BYTES: usize = 100 * 1024;

/// The keys (compared case-insensitively) whose values are secrets and never recorded:
/// secret access keys (IAM CreateAccessKey), private keys (AWS IoT CreateKeysAndCertificate
/// `keyPair.PrivateKey`), passwords, session tokens.
const SECRET_KEYS: &[&str] = &[
    "secretaccesskey",
    "privatekey",
    "password",
    "newpassword",
    "oldpassword",
    "sessiontoken",
    "secretkey",
];

/// The caller's identity type (`userIdentity.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum IdentityType {
    /// The account's root user.
    Root,
    /// An IAM user.
    #[serde(rename = "IAMUser")]
    IamUser,
    /// A role session (temporary credentials from `sts:AssumeRole`).
    AssumedRole,
}

/// The role a session was issued by (`userIdentity.sessionContext.sessionIssuer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// `Role`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The role's unique id (`AROA…`).
    pub principal_id: String,
    /// The role's ARN.
    pub arn: String,
    /// The role's account.
    pub account_id: String,
    /// The role's name.
    pub user_name: String,
}

/// Who made a call (`userIdentity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Root, IAM user or assumed role.
    pub kind: IdentityType,
    /// The account id for the root user; the user's unique id (`AIDA…`) for an IAM user;
    /// `ROLEID:SESSION` for a role session.
    pub principal_id: String,
    /// The principal's ARN.
    pub arn: String,
    /// Its account (12 digits).
    pub account_id: String,
    /// The access key id that signed the call.
    pub access_key_id: String,
    /// The friendly name: `root`, the user name, or the session name.
    pub user_name: String,
    /// For a role session, the role.
    pub session_issuer: Option<SessionIssuer>,
}

/// Resolves the access key id of a call to its owner — also when the signature did not
/// verify, since CloudTrail records refused calls that carry a valid key id.
pub trait Identities: Send + Sync + 'static {
    /// The identity owning `access_key_id`; `None` for an unknown key (such calls are not
    /// recorded: nobody can be named).
    fn identify(&self, access_key_id: &str) -> Option<Identity>;
}

/// One finished management call, as the API-call observer hands it over (no HTTP types).
#[derive(Clone, Debug)]
pub struct ManagementCall {
    /// The `x-amzn-RequestId` the caller received (`requestID`).
    pub request_id: String,
    /// When the request arrived, epoch ms (`eventTime`, written in seconds).
    pub event_time_ms: i64,
    /// The caller's IP address (`sourceIPAddress`).
    pub source_ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The SigV4 signing name (`iot`, `logs`, `monitoring`, `sns`, `iam`, `sts`,
    /// `cloudtrail`).
    pub service: String,
    /// The region of the credential scope (`awsRegion`).
    pub region: String,
    /// The operation (`eventName`).
    pub operation: String,
    /// The caller.
    pub identity: Identity,
    /// The request's parameters as JSON (member names in lowerCamelCase, as CloudTrail
    /// writes them); `None` when the call had none.
    pub request_parameters: Option<Value>,
    /// The response as JSON, for a successful call.
    pub response_elements: Option<Value>,
    /// The AWS error code and message of a refused or failed call.
    pub error: Option<(String, String)>,
}

/// The `eventSource` of a signing name: `iot.amazonaws.com`, `logs.amazonaws.com`,
/// `monitoring.amazonaws.com`, ….
pub fn event_source(service: &str) -> String {
    format!("{service}.amazonaws.com")
}

/// Whether a call is a **management event** CloudTrail records in its event history.
/// Data-plane calls are not: every `iotdata` and `iot-jobs-data` call (publish, shadows,
/// retained messages, the jobs device API — the AWS IoT guide), CloudWatch Logs' event reads
/// and writes (`PutLogEvents`, `GetLogEvents`, `FilterLogEvents`, `StartLiveTail`,
/// `GetLogRecord`), and CloudWatch's metric reads and writes (`PutMetricData`,
/// `GetMetricData`, `GetMetricStatistics`, `ListMetrics`, `GetMetricWidgetImage`:
/// CloudTrail's `AWS::CloudWatch::Metric` data events).
pub fn is_management_event(service: &str, operation: &str) -> bool {
    match service {
        "iotdata" | "iot-jobs-data" => false,
        "logs" => !matches!(
            operation,
            "PutLogEvents" | "GetLogEvents" | "FilterLogEvents" | "StartLiveTail" | "GetLogRecord"
        ),
        "monitoring" => !matches!(
            operation,
            "PutMetricData"
                | "GetMetricData"
                | "GetMetricStatistics"
                | "ListMetrics"
                | "GetMetricWidgetImage"
        ),
        _ => true,
    }
}

/// Whether an operation only reads (`readOnly`): `Describe*`, `Get*`, `List*`, `Lookup*`,
/// `Search*`, `Filter*`, `Test*`, `BatchGet*`.
pub fn is_read_only(operation: &str) -> bool {
    [
        "Describe", "Get", "List", "Lookup", "Search", "Filter", "Test", "BatchGet",
    ]
    .iter()
    .any(|p| {
        operation.strip_prefix(p).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase())
        })
    })
}

/// Replaces every secret in `value` (at any depth) with [`HIDDEN`].
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if SECRET_KEYS.contains(&key.as_str()) && !v.is_null() {
                    *v = Value::String(HIDDEN.to_owned());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// A resource a call names (`resources[]` in the record; `Resources` in LookupEvents).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// The resource's name (the parameter's value).
    #[serde(skip)]
    pub name: String,
    /// Its ARN, where it can be built from the name.
    #[serde(rename = "ARN", skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Its account.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `AWS::IoT::Thing`, `AWS::Logs::LogGroup`, … (the record's `type`).
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// Which request or response member names which resource type, per service.
const RESOURCE_MEMBERS: &[(&str, &str, &str)] = &[
    ("iot", "thingName", "AWS::IoT::Thing"),
    ("iot", "thingGroupName", "AWS::IoT::ThingGroup"),
    ("iot", "policyName", "AWS::IoT::Policy"),
    ("iot", "certificateId", "AWS::IoT::Certificate"),
    ("iot", "ruleName", "AWS::IoT::TopicRule"),
    ("iot", "thingTypeName", "AWS::IoT::ThingType"),
    ("logs", "logGroupName", "AWS::Logs::LogGroup"),
    ("monitoring", "alarmName", "AWS::CloudWatch::Alarm"),
    ("monitoring", "dashboardName", "AWS::CloudWatch::Dashboard"),
    ("sns", "topicArn", "AWS::SNS::Topic"),
    ("iam", "userName", "AWS::IAM::User"),
    ("iam", "roleName", "AWS::IAM::Role"),
    ("iam", "policyArn", "AWS::IAM::Policy"),
    ("iam", "accessKeyId", "AWS::IAM::AccessKey"),
    ("cloudtrail", "name", "AWS::CloudTrail::Trail"),
    ("cloudtrail", "trailName", "AWS::CloudTrail::Trail"),
];

/// The resources a call names: the top-level request members of [`RESOURCE_MEMBERS`], then
/// those of the response (a certificate id CreateKeysAndCertificate returned). Each once.
pub fn resources(call: &ManagementCall, scope: &Scope) -> Vec<Resource> {
    let mut out: Vec<Resource> = Vec::new();
    let sources = [
        call.request_parameters.as_ref(),
        call.response_elements.as_ref(),
    ];
    for (service, member, kind) in RESOURCE_MEMBERS {
        if *service != call.service {
            continue;
        }
        for src in sources.iter().flatten() {
            let Some(name) = src.get(*member).and_then(Value::as_str) else {
                continue;
            };
            if name.is_empty() || out.iter().any(|r| r.kind == *kind && r.name == name) {
                continue;
            }
            out.push(Resource {
                kind,
                name: name.to_owned(),
                arn: resource_arn(kind, name, scope),
                account_id: scope.account_id.clone(),
            });
        }
    }
    out
}

fn resource_arn(kind: &str, name: &str, scope: &Scope) -> Option<String> {
    use thingwatch_aws::{Arn, IotKind};
    let iot = |k: IotKind| Some(Arn::iot(scope, k, name).to_string());
    match kind {
        "AWS::IoT::Thing" => iot(IotKind::Thing),
        "AWS::IoT::ThingGroup" => iot(IotKind::ThingGroup),
        "AWS::IoT::Policy" => iot(IotKind::Policy),
        "AWS::IoT::Certificate" => iot(IotKind::Cert),
        "AWS::IoT::TopicRule" => iot(IotKind::Rule),
        "AWS::Logs::LogGroup" => Some(Arn::log_group(scope, name).to_string()),
        "AWS::CloudWatch::Alarm" => Some(Arn::cloudwatch_alarm(scope, name).to_string()),
        "AWS::CloudTrail::Trail" if !name.starts_with("arn:") => {
            Some(Arn::cloudtrail_trail(scope, name).to_string())
        }
        _ if name.starts_with("arn:") => Some(name.to_owned()),
        _ => None,
    }
}

/// The `userIdentity` element.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type")]
    kind: IdentityType,
    principal_id: &'a str,
    arn: &'a str,
    account_id: &'a str,
    access_key_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<Value>,
}

/// A record, field by field in CloudTrail's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: &'static str,
    user_identity: UserIdentity<'a>,
    event_time: String,
    event_source: String,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: Option<Value>,
    response_elements: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<Value>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    event_category: &'static str,
}

/// A record ready to store: its JSON text and the values LookupEvents filters on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltRecord {
    /// `eventID` (a UUID).
    pub event_id: String,
    /// `eventTime` in epoch ms (the record carries it in whole seconds).
    pub event_time_ms: i64,
    /// `eventName`.
    pub event_name: String,
    /// `eventSource`.
    pub event_source: String,
    /// `readOnly`.
    pub read_only: bool,
    /// The LookupEvents `Username`.
    pub username: String,
    /// The access key id.
    pub access_key_id: String,
    /// `(ResourceType, ResourceName)` pairs.
    pub resources: Vec<(String, String)>,
    /// The whole record (LookupEvents' `CloudTrailEvent`).
    pub json: String,
}

/// `eventTime`: UTC ISO 8601 to the second (`2026-12-08T10:00:00Z`).
pub fn format_event_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Drops an element over [`MAX_ELEMENTS_BYTES`]; `true` when it did.
fn bounded(v: &mut Option<Value>) -> bool {
    let too_big = v
        .as_ref()
        .is_some_and(|v| serde_json::to_vec(v).map_or(0, |b| b.len()) > MAX_ELEMENTS_BYTES);
    if too_big {
        *v = None;
    }
    too_big
}

/// Builds the record of `call` (secrets redacted, limits applied) with event id `event_id`.
pub fn build(mut call: ManagementCall, event_id: String, scope: &Scope) -> BuiltRecord {
    let read_only = is_read_only(&call.operation);
    if let Some(p) = call.request_parameters.as_mut() {
        redact(p);
    }
    if read_only || call.error.is_some() {
        call.response_elements = None;
    }
    if let Some(r) = call.response_elements.as_mut() {
        redact(r);
    }
    let resources = resources(&call, scope);
    let mut additional = Map::new();
    if bounded(&mut call.request_parameters) {
        additional.insert("requestParametersTruncated".into(), Value::Bool(true));
    }
    if bounded(&mut call.response_elements) {
        additional.insert("responseElementsTruncated".into(), Value::Bool(true));
    }
    let id = &call.identity;
    let session_context = id.session_issuer.as_ref().map(|issuer| {
        serde_json::json!({
            "sessionIssuer": issuer,
            "attributes": {"mfaAuthenticated": "false"},
        })
    });
    let source = event_source(&call.service);
    let record = Record {
        event_version: EVENT_VERSION,
        user_identity: UserIdentity {
            kind: id.kind,
            principal_id: &id.principal_id,
            arn: &id.arn,
            account_id: &id.account_id,
            access_key_id: &id.access_key_id,
            user_name: (id.kind == IdentityType::IamUser).then_some(id.user_name.as_str()),
            session_context,
        },
        event_time: format_event_time(call.event_time_ms),
        event_source: source.clone(),
        event_name: &call.operation,
        aws_region: &call.region,
        source_ip_address: call.source_ip.as_deref().unwrap_or("AWS Internal"),
        user_agent: call
            .user_agent
            .as_deref()
            .map(|u| truncate(u, MAX_FIELD_BYTES)),
        error_code: call.error.as_ref().map(|(c, _)| c.as_str()),
        error_message: call
            .error
            .as_ref()
            .map(|(_, m)| truncate(m, MAX_FIELD_BYTES)),
        request_parameters: call.request_parameters.clone(),
        response_elements: call.response_elements.clone(),
        additional_event_data: (!additional.is_empty()).then_some(Value::Object(additional)),
        request_id: &call.request_id,
        event_id: &event_id,
        read_only,
        resources: resources.clone(),
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: &scope.account_id,
        event_category: "Management",
    };
    let json = serde_json::to_string(&record).unwrap_or_default();
    BuiltRecord {
        event_id,
        event_time_ms: call.event_time_ms,
        event_name: call.operation,
        event_source: source,
        read_only,
        username: call.identity.user_name,
        access_key_id: call.identity.access_key_id,
        resources: resources
            .into_iter()
            .map(|r| (r.kind.to_owned(), r.name))
            .collect(),
        json,
    }
}

/// The record written in place of calls that were dropped because the recording queue was
/// full: an `AwsServiceEvent` from `cloudtrail.amazonaws.com` named `AuditRecordsDropped`,
/// whose `serviceEventDetails` say how many calls between which times were not recorded.
/// Recording never makes a call wait, so a gap is possible; it is never silent.
pub fn gap_record(
    dropped: u64,
    first_ms: i64,
    last_ms: i64,
    event_id: String,
    now_ms: i64,
    scope: &Scope,
) -> BuiltRecord {
    let json = serde_json::json!({
        "eventVersion": EVENT_VERSION,
        "userIdentity": {"accountId": scope.account_id, "invokedBy": "cloudtrail.amazonaws.com"},
        "eventTime": format_event_time(now_ms),
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": GAP_EVENT_NAME,
        "awsRegion": scope.region,
        "sourceIPAddress": "cloudtrail.amazonaws.com",
        "userAgent": "cloudtrail.amazonaws.com",
        "requestParameters": null,
        "responseElements": null,
        "eventID": event_id,
        "readOnly": false,
        "eventType": "AwsServiceEvent",
        "managementEvent": true,
        "recipientAccountId": scope.account_id,
        "serviceEventDetails": {
            "droppedRecords": dropped,
            "firstDroppedEventTime": format_event_time(first_ms),
            "lastDroppedEventTime": format_event_time(last_ms),
            "reason": "The recording queue was full; the calls were answered but not recorded."
        },
        "eventCategory": "Management",
    });
    BuiltRecord {
        event_id,
        event_time_ms: now_ms,
        event_name: GAP_EVENT_NAME.to_owned(),
        event_source: "cloudtrail.amazonaws.com".to_owned(),
        read_only: false,
        username: String::new(),
        access_key_id: String::new(),
        resources: Vec::new(),
        json: json.to_string(),
    }
}

/// The `eventName` of [`gap_record`].
pub const GAP_EVENT_NAME: &str = "AuditRecordsDropped";

#[cfg(test)]
mod tests {
    use super::*;

    fn call(service: &str, op: &str, params: Value, response: Option<Value>) -> ManagementCall {
        ManagementCall {
            request_id: "11111111-2222-3333-4444-555555555555".into(),
            event_time_ms: 1_796_000_000_123,
            source_ip: Some("127.0.0.1".into()),
            user_agent: Some("aws-cli/2.0".into()),
            service: service.into(),
            region: "us-east-1".into(),
            operation: op.into(),
            identity: Identity {
                kind: IdentityType::IamUser,
                principal_id: "AIDAEXAMPLEEXAMPLE123".into(),
                arn: "arn:aws:iam::123456789012:user/alice".into(),
                account_id: "123456789012".into(),
                access_key_id: "AKIAEXAMPLE".into(),
                user_name: "alice".into(),
                session_issuer: None,
            },
            request_parameters: Some(params),
            response_elements: response,
            error: None,
        }
    }

    #[test]
    fn writes_the_fields_in_cloudtrail_order() {
        let scope = Scope::new("123456789012", "us-east-1");
        let r = build(
            call(
                "iot",
                "CreateThing",
                serde_json::json!({"thingName": "t1"}),
                Some(
                    serde_json::json!({"thingName": "t1", "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/t1", "thingId": "x"}),
                ),
            ),
            "e-1".into(),
            &scope,
        );
        assert_eq!(
            r.json,
            concat!(
                r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEEXAMPLE123","#,
                r#""arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","#,
                r#""userName":"alice"},"eventTime":"2026-11-30T00:53:20Z","eventSource":"iot.amazonaws.com","#,
                r#""eventName":"CreateThing","awsRegion":"us-east-1","sourceIPAddress":"127.0.0.1","userAgent":"aws-cli/2.0","#,
                r#""requestParameters":{"thingName":"t1"},"responseElements":{"thingArn":"arn:aws:iot:us-east-1:123456789012:thing/t1","#,
                r#""thingId":"x","thingName":"t1"},"requestID":"11111111-2222-3333-4444-555555555555","eventID":"e-1","#,
                r#""readOnly":false,"resources":[{"ARN":"arn:aws:iot:us-east-1:123456789012:thing/t1","accountId":"123456789012","#,
                r#""type":"AWS::IoT::Thing"}],"eventType":"AwsApiCall","managementEvent":true,"#,
                r#""recipientAccountId":"123456789012","eventCategory":"Management"}"#
            )
        );
        assert_eq!(
            r.resources,
            vec![("AWS::IoT::Thing".to_owned(), "t1".to_owned())]
        );
    }

    #[test]
    fn hides_secrets_at_any_depth() {
        let scope = Scope::new("123456789012", "us-east-1");
        let r = build(
            call(
                "iot",
                "CreateKeysAndCertificate",
                serde_json::json!({"setAsActive": true}),
                Some(
                    serde_json::json!({"certificateId": "abc", "keyPair": {"PublicKey": "PUB", "PrivateKey": "-----BEGIN RSA PRIVATE KEY-----"}}),
                ),
            ),
            "e-2".into(),
            &scope,
        );
        assert!(!r.json.contains("BEGIN RSA PRIVATE KEY"), "{}", r.json);
        assert!(
            r.json
                .contains(r#""PrivateKey":"HIDDEN_DUE_TO_SECURITY_REASONS""#)
        );
        assert!(r.json.contains(r#""PublicKey":"PUB""#));
        assert_eq!(
            r.resources,
            vec![("AWS::IoT::Certificate".to_owned(), "abc".to_owned())]
        );
    }

    #[test]
    fn read_only_calls_keep_no_response_and_errors_are_recorded() {
        let scope = Scope::new("123456789012", "us-east-1");
        let mut c = call(
            "iot",
            "ListThings",
            Value::Null,
            Some(serde_json::json!({"things": []})),
        );
        c.request_parameters = None;
        c.error = Some(("AccessDeniedException".into(), "no".into()));
        let r = build(c, "e-3".into(), &scope);
        assert!(r.read_only);
        assert!(r.json.contains(r#""errorCode":"AccessDeniedException","errorMessage":"no","requestParameters":null,"responseElements":null"#), "{}", r.json);
    }

    #[test]
    fn tells_management_from_data_events() {
        assert!(is_management_event("iot", "CreateThing"));
        assert!(!is_management_event("iotdata", "Publish"));
        assert!(!is_management_event("logs", "PutLogEvents"));
        assert!(is_management_event("logs", "CreateLogGroup"));
        assert!(!is_management_event("monitoring", "PutMetricData"));
        assert!(is_management_event("monitoring", "PutMetricAlarm"));
        assert!(is_read_only("GetCallerIdentity"));
        assert!(is_read_only("LookupEvents"));
        assert!(!is_read_only("Getaway"));
        assert!(!is_read_only("AttachPolicy"));
    }
}
