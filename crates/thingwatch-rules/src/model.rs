//! A topic rule as AWS IoT defines it (`TopicRulePayload`, `Action` of botocore's
//! `iot-2015-05-28` model, botocore 1.43.11) and its compiled form.
//!
//! The payload is kept as the caller sent it (its JSON, so GetTopicRule answers every
//! member of every action, including actions of services Thingwatch does not host) and
//! compiled once: the SQL into a [`Statement`], each hosted action's substitution
//! templates into [`Template`]s. Compilation is also validation: what does not
//! compile is refused by CreateTopicRule/ReplaceTopicRule with AWS's error.

use crate::error::RulesError;
use serde_json::{Map, Value as Json};
use std::sync::Arc;
use thingwatch_iotsql::{SqlVersion, Statement, Template};

/// At most this many actions per rule (`ActionList` max=10; AWS IoT quotas: "Actions per
/// rule: 10").
pub const MAX_ACTIONS: usize = 10;
/// At most this many topic rules per account (AWS IoT quotas, *Rules engine*: "Maximum
/// number of rules per AWS account: 1,000").
pub const MAX_RULES: usize = 1000;
/// The largest accepted `topicRulePayload`, bytes of JSON (AWS IoT quotas: "Maximum size of
/// a rule: 256 KB").
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// `ruleName`: 1–128 characters of `[a-zA-Z0-9_]` (model `RuleName`).
pub const MAX_RULE_NAME_LEN: usize = 128;

/// Whether `name` is a valid `ruleName` (`^[a-zA-Z0-9_]+$`, 1–128 characters).
pub fn valid_rule_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RULE_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A stored topic rule: its name, creation time and the payload as sent.
#[derive(Debug, Clone)]
pub struct TopicRule {
    /// `ruleName`.
    pub name: String,
    /// `createdAt`, epoch milliseconds.
    pub created_at_ms: i64,
    /// The `topicRulePayload` members as sent (`sql`, `description`, `actions`,
    /// `ruleDisabled`, `awsIotSqlVersion`, `errorAction`).
    pub payload: Map<String, Json>,
}

impl TopicRule {
    /// `sql`.
    pub fn sql(&self) -> &str {
        self.payload.get("sql").and_then(Json::as_str).unwrap_or("")
    }
    /// `ruleDisabled` (false when absent).
    pub fn disabled(&self) -> bool {
        self.payload
            .get("ruleDisabled")
            .and_then(Json::as_bool)
            .unwrap_or(false)
    }
    /// `awsIotSqlVersion` as stored, or AWS's default for rules created through the API,
    /// `2015-10-08` (iot-rule-sql-version.html: "If this property is not set, for example in
    /// an AWS CLI command …, 2015-10-08 is used").
    pub fn sql_version(&self) -> &str {
        self.payload
            .get("awsIotSqlVersion")
            .and_then(Json::as_str)
            .unwrap_or("2015-10-08")
    }
}

/// A rule ready to run: the stored rule, its statement, its actions and error action.
#[derive(Debug)]
pub struct CompiledRule {
    /// The rule as stored.
    pub rule: TopicRule,
    /// The SQL statement.
    pub statement: Statement,
    /// The actions, in the payload's order.
    pub actions: Vec<RuleAction>,
    /// The `errorAction`, if any.
    pub error_action: Option<RuleAction>,
    /// The FROM clause's topic filter as written (`topicPattern` in ListTopicRules), `None`
    /// for a rule without one.
    pub topic_pattern: Option<String>,
}

impl CompiledRule {
    /// Validates and compiles a `topicRulePayload` (the JSON object as sent) for rule
    /// `name`.
    ///
    /// # Errors
    /// [`RulesError::SqlParse`] when the SQL or a substitution template does not parse;
    /// [`RulesError::InvalidRequest`] for a payload that is not an object, a missing `sql`
    /// or `actions`, an unknown `awsIotSqlVersion`, more than [`MAX_ACTIONS`] actions, an
    /// action that is not exactly one known member, or a hosted action missing a required
    /// member or with an invalid value.
    pub fn compile(rule: TopicRule) -> Result<CompiledRule, RulesError> {
        let p = &rule.payload;
        let sql = match p.get("sql") {
            Some(Json::String(s)) => s.clone(),
            _ => return Err(invalid("topicRulePayload.sql", "Member must not be null")),
        };
        let version: SqlVersion = match p.get("awsIotSqlVersion") {
            None | Some(Json::Null) => SqlVersion::V2015_10_08,
            Some(Json::String(v)) => v
                .parse()
                .map_err(|_| RulesError::InvalidRequest(format!("Unsupported SQL version: {v}")))?,
            Some(_) => {
                return Err(RulesError::InvalidRequest(
                    "awsIotSqlVersion must be a string".into(),
                ));
            }
        };
        let statement =
            Statement::parse(&sql, version).map_err(|e| RulesError::SqlParse(e.to_string()))?;
        let actions = match p.get("actions") {
            Some(Json::Array(a)) => a,
            _ => {
                return Err(invalid(
                    "topicRulePayload.actions",
                    "Member must not be null",
                ));
            }
        };
        if actions.len() > MAX_ACTIONS {
            return Err(invalid(
                "topicRulePayload.actions",
                "Member must have length less than or equal to 10",
            ));
        }
        let actions = actions
            .iter()
            .map(|a| RuleAction::compile(a, version))
            .collect::<Result<Vec<_>, _>>()?;
        let error_action = match p.get("errorAction") {
            None | Some(Json::Null) => None,
            Some(a) => Some(RuleAction::compile(a, version)?),
        };
        let topic_pattern = statement.topic_filter().map(|f| f.as_str().to_owned());
        Ok(CompiledRule {
            rule,
            statement,
            actions,
            error_action,
            topic_pattern,
        })
    }
}

fn invalid(member: &str, constraint: &str) -> RulesError {
    RulesError::InvalidRequest(format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// Every member of botocore's `Action` structure, in the model's order.
pub const ACTION_MEMBERS: &[&str] = &[
    "dynamoDB",
    "dynamoDBv2",
    "lambda",
    "sns",
    "sqs",
    "kinesis",
    "republish",
    "s3",
    "firehose",
    "cloudwatchMetric",
    "cloudwatchAlarm",
    "cloudwatchLogs",
    "elasticsearch",
    "salesforce",
    "iotAnalytics",
    "iotEvents",
    "iotSiteWise",
    "stepFunctions",
    "timestream",
    "http",
    "kafka",
    "openSearch",
    "location",
];

/// One action of a rule: its `Action` member name, its compiled form and the role it runs
/// with.
#[derive(Debug)]
pub struct RuleAction {
    /// The `Action` member (`republish`, `http`, `lambda`, …).
    pub member: &'static str,
    /// `roleArn` of the action, when it has one (`http` and `salesforce` have none).
    pub role_arn: Option<String>,
    /// What it does.
    pub kind: ActionKind,
}

impl RuleAction {
    /// The `ruleAction` attribute of its log entries: the model's structure name
    /// (`RepublishAction`, `CloudwatchLogsAction`, `HttpAction`, `LambdaAction`, …), as in
    /// the developer guide's `"ruleAction": "RepublishAction"`.
    pub fn log_name(&self) -> String {
        let mut s = self.dimension_name();
        s.push_str("Action");
        s
    }

    /// The `ActionType` dimension of its `Success`/`Failure` metrics: the member name with
    /// its first letter capitalised (`Republish`, `CloudwatchMetric`, `Http`, `DynamoDBv2`).
    pub fn dimension_name(&self) -> String {
        let mut c = self.member.chars();
        let mut s = String::new();
        if let Some(f) = c.next() {
            s.extend(f.to_uppercase());
        }
        s.extend(c);
        s
    }

    fn compile(action: &Json, version: SqlVersion) -> Result<RuleAction, RulesError> {
        let obj = match action {
            Json::Object(o) => o,
            _ => {
                return Err(RulesError::InvalidRequest(
                    "An action must be a JSON object".into(),
                ));
            }
        };
        let present: Vec<(&String, &Json)> = obj.iter().filter(|(_, v)| !v.is_null()).collect();
        let (key, body) = match present.as_slice() {
            [(k, v)] => (k.as_str(), *v),
            [] => {
                return Err(RulesError::InvalidRequest(
                    "Action must have exactly one action type specified".into(),
                ));
            }
            _ => {
                return Err(RulesError::InvalidRequest(
                    "Only one action type may be specified per action".into(),
                ));
            }
        };
        let Some(member) = ACTION_MEMBERS.iter().copied().find(|m| *m == key) else {
            return Err(RulesError::InvalidRequest(format!(
                "Unknown action type: {key}"
            )));
        };
        let Json::Object(body) = body else {
            return Err(RulesError::InvalidRequest(format!(
                "The {member} action must be an object"
            )));
        };
        let f = Fields {
            member,
            body,
            version,
        };
        let role_arn = body
            .get("roleArn")
            .and_then(Json::as_str)
            .map(str::to_owned);
        let kind = match member {
            "republish" => {
                let qos = match body.get("qos") {
                    None | Some(Json::Null) => 0,
                    Some(q) => match q.as_u64() {
                        Some(q @ 0..=1) => q as u8,
                        _ => {
                            return Err(
                                f.bad("qos", "Member must have value less than or equal to 1")
                            );
                        }
                    },
                };
                f.required_str("roleArn")?;
                ActionKind::Republish(Republish {
                    topic: f.template("topic")?,
                    qos,
                    headers: RepublishHeaders::compile(&f)?,
                })
            }
            "cloudwatchLogs" => {
                f.required_str("roleArn")?;
                ActionKind::CloudwatchLogs(CloudwatchLogs {
                    log_group_name: f.template("logGroupName")?,
                    batch_mode: body
                        .get("batchMode")
                        .and_then(Json::as_bool)
                        .unwrap_or(false),
                })
            }
            "cloudwatchMetric" => {
                f.required_str("roleArn")?;
                ActionKind::CloudwatchMetric(CloudwatchMetric {
                    namespace: f.template("metricNamespace")?,
                    name: f.template("metricName")?,
                    value: f.template("metricValue")?,
                    unit: f.template("metricUnit")?,
                    timestamp: f.optional_template("metricTimestamp")?,
                })
            }
            "cloudwatchAlarm" => {
                f.required_str("roleArn")?;
                ActionKind::CloudwatchAlarm(CloudwatchAlarm {
                    alarm_name: f.template("alarmName")?,
                    state_reason: f.template("stateReason")?,
                    state_value: f.template("stateValue")?,
                })
            }
            "http" => {
                let url = f.template("url")?;
                let confirmation_url = body
                    .get("confirmationUrl")
                    .and_then(Json::as_str)
                    .map(str::to_owned);
                let mut headers = Vec::new();
                if let Some(Json::Array(hs)) = body.get("headers") {
                    if hs.len() > 100 {
                        return Err(f.bad(
                            "headers",
                            "Member must have length less than or equal to 100",
                        ));
                    }
                    for h in hs {
                        let key = h.get("key").and_then(Json::as_str).ok_or_else(|| {
                            f.bad("headers.member.key", "Member must not be null")
                        })?;
                        let value = h.get("value").and_then(Json::as_str).ok_or_else(|| {
                            f.bad("headers.member.value", "Member must not be null")
                        })?;
                        if key.is_empty() || key.len() > 256 {
                            return Err(f.bad(
                                "headers.member.key",
                                "Member must have length between 1 and 256",
                            ));
                        }
                        headers.push((
                            key.to_owned(),
                            Template::parse(value, version)
                                .map_err(|e| RulesError::SqlParse(e.to_string()))?,
                        ));
                    }
                }
                ActionKind::Http(Http {
                    url,
                    url_text: f.required_str("url")?.to_owned(),
                    confirmation_url,
                    headers,
                })
            }
            _ => ActionKind::NotHosted,
        };
        Ok(RuleAction {
            member,
            role_arn,
            kind,
        })
    }
}

/// Reads one action's members with AWS's messages.
struct Fields<'a> {
    member: &'static str,
    body: &'a Map<String, Json>,
    version: SqlVersion,
}

impl Fields<'_> {
    fn bad(&self, field: &str, constraint: &str) -> RulesError {
        invalid(
            &format!("topicRulePayload.actions.member.{}.{field}", self.member),
            constraint,
        )
    }

    fn required_str(&self, field: &str) -> Result<&str, RulesError> {
        match self.body.get(field) {
            Some(Json::String(s)) => Ok(s),
            _ => Err(self.bad(field, "Member must not be null")),
        }
    }

    fn template(&self, field: &str) -> Result<Template, RulesError> {
        let text = self.required_str(field)?;
        Template::parse(text, self.version).map_err(|e| RulesError::SqlParse(e.to_string()))
    }

    fn optional_template(&self, field: &str) -> Result<Option<Template>, RulesError> {
        match self.body.get(field) {
            None | Some(Json::Null) => Ok(None),
            Some(_) => self.template(field).map(Some),
        }
    }
}

/// What an action does, for the actions Thingwatch runs; every other member of `Action` is
/// accepted, kept and answered by GetTopicRule, and fails when it runs.
#[derive(Debug)]
pub enum ActionKind {
    /// `republish`: back through the broker's ingress.
    Republish(Republish),
    /// `cloudwatchLogs`: into the log store.
    CloudwatchLogs(CloudwatchLogs),
    /// `cloudwatchMetric`: into the metric store.
    CloudwatchMetric(CloudwatchMetric),
    /// `cloudwatchAlarm`: sets an alarm's state.
    CloudwatchAlarm(CloudwatchAlarm),
    /// `http`: POST to a confirmed topic rule destination.
    Http(Http),
    /// An action of a service Thingwatch does not host (lambda, dynamoDB, s3, kinesis, sqs,
    /// …).
    NotHosted,
}

/// `RepublishAction`.
#[derive(Debug)]
pub struct Republish {
    /// `topic` (a substitution template).
    pub topic: Template,
    /// `qos`: 0 (default) or 1.
    pub qos: u8,
    /// `headers` (MQTT 5 properties of the republished message).
    pub headers: RepublishHeaders,
}

/// `MqttHeaders` of a republish action: every member is a substitution template.
#[derive(Debug, Default)]
pub struct RepublishHeaders {
    /// `payloadFormatIndicator`: `UNSPECIFIED_BYTES` or `UTF8_DATA`.
    pub payload_format_indicator: Option<Template>,
    /// `contentType`.
    pub content_type: Option<Template>,
    /// `responseTopic`.
    pub response_topic: Option<Template>,
    /// `correlationData` (base64 of the bytes).
    pub correlation_data: Option<Template>,
    /// `messageExpiry`, seconds.
    pub message_expiry: Option<Template>,
    /// `userProperties`, in order.
    pub user_properties: Vec<(Template, Template)>,
}

impl RepublishHeaders {
    fn compile(f: &Fields<'_>) -> Result<RepublishHeaders, RulesError> {
        let Some(Json::Object(h)) = f.body.get("headers") else {
            return Ok(RepublishHeaders::default());
        };
        let one = |name: &str| -> Result<Option<Template>, RulesError> {
            match h.get(name) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) if s.len() <= 1024 => Template::parse(s, f.version)
                    .map(Some)
                    .map_err(|e| RulesError::SqlParse(e.to_string())),
                Some(_) => Err(f.bad(
                    &format!("headers.{name}"),
                    "Member must have length less than or equal to 1024",
                )),
            }
        };
        let mut user_properties = Vec::new();
        if let Some(Json::Array(ps)) = h.get("userProperties") {
            if ps.is_empty() || ps.len() > 100 {
                return Err(f.bad(
                    "headers.userProperties",
                    "Member must have length between 1 and 100",
                ));
            }
            for p in ps {
                let get = |k: &str| -> Result<Template, RulesError> {
                    let s = p.get(k).and_then(Json::as_str).ok_or_else(|| {
                        f.bad(
                            &format!("headers.userProperties.member.{k}"),
                            "Member must not be null",
                        )
                    })?;
                    Template::parse(s, f.version).map_err(|e| RulesError::SqlParse(e.to_string()))
                };
                user_properties.push((get("key")?, get("value")?));
            }
        }
        Ok(RepublishHeaders {
            payload_format_indicator: one("payloadFormatIndicator")?,
            content_type: one("contentType")?,
            response_topic: one("responseTopic")?,
            correlation_data: one("correlationData")?,
            message_expiry: one("messageExpiry")?,
            user_properties,
        })
    }
}

/// `CloudwatchLogsAction`.
#[derive(Debug)]
pub struct CloudwatchLogs {
    /// `logGroupName` (a substitution template).
    pub log_group_name: Template,
    /// `batchMode`: the payload is a JSON array whose elements are the log events.
    pub batch_mode: bool,
}

/// `CloudwatchMetricAction`: every member a substitution template.
#[derive(Debug)]
pub struct CloudwatchMetric {
    /// `metricNamespace`.
    pub namespace: Template,
    /// `metricName`.
    pub name: Template,
    /// `metricValue` (a number as text after substitution).
    pub value: Template,
    /// `metricUnit` (a CloudWatch unit).
    pub unit: Template,
    /// `metricTimestamp`, epoch **seconds** after substitution; absent = now.
    pub timestamp: Option<Template>,
}

/// `CloudwatchAlarmAction`.
#[derive(Debug)]
pub struct CloudwatchAlarm {
    /// `alarmName`.
    pub alarm_name: Template,
    /// `stateReason`.
    pub state_reason: Template,
    /// `stateValue`: `OK`, `ALARM` or `INSUFFICIENT_DATA` after substitution.
    pub state_value: Template,
}

/// `HttpAction`.
#[derive(Debug)]
pub struct Http {
    /// `url` (a substitution template; must be `https://` after substitution on AWS —
    /// Thingwatch also accepts `http://` to a loopback destination).
    pub url: Template,
    /// `url` as written (its destination is looked up by it when it has no templates).
    pub url_text: String,
    /// `confirmationUrl`: the destination the action uses (defaults to `url`).
    pub confirmation_url: Option<String>,
    /// `headers`: key and value template.
    pub headers: Vec<(String, Template)>,
}

/// A snapshot of every rule, as the engine reads it (swapped whole on every change).
pub type RuleTable = Vec<Arc<CompiledRule>>;
