//! Amazon Resource Names (AWS General Reference, *Amazon Resource Names (ARNs)*):
//! `arn:partition:service:region:account-id:resource`, where `resource` is
//! `resource-type/resource-id` or `resource-type:resource-id` depending on the service.
//! IAM and STS ARNs have an empty region; everything Thingwatch serves is in partition `aws`.
//!
//! Resource forms, per service (Service Authorization Reference, each service's *Resource
//! types* table):
//!
//! | constructor | ARN |
//! |---|---|
//! | [`Arn::iot`] + [`IotKind`] | `arn:aws:iot:REGION:ACCOUNT:thing/NAME` (and `thinggroup/`, `policy/`, `cert/`, …) |
//! | [`Arn::iam_root`] | `arn:aws:iam::ACCOUNT:root` |
//! | [`Arn::iam_user`], [`Arn::iam_role`] | `arn:aws:iam::ACCOUNT:user/PATH/NAME` |
//! | [`Arn::sts_assumed_role`] | `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` |
//! | [`Arn::log_group`] | `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*` (the form DescribeLogGroups answers and IAM policies name) |
//! | [`Arn::log_group_bare`] | `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` (`logGroupArn`) |
//! | [`Arn::log_stream`] | `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:log-stream:STREAM` |
//! | [`Arn::cloudwatch_alarm`] | `arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME` |
//! | [`Arn::cloudwatch_dashboard`] | `arn:aws:cloudwatch::ACCOUNT:dashboard/NAME` |
//! | [`Arn::sns_topic`] | `arn:aws:sns:REGION:ACCOUNT:NAME` |

use std::fmt;
use std::str::FromStr;

/// The partition every ARN Thingwatch issues is in.
pub const PARTITION: &str = "aws";

/// The account and region a server serves: what every regional resource ARN carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The 12-digit account ID.
    pub account_id: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
}

impl Scope {
    /// A scope for `account_id` in `region`.
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Scope {
        Scope {
            account_id: account_id.into(),
            region: region.into(),
        }
    }
}

/// The AWS IoT resource types (Service Authorization Reference, *AWS IoT*: resource types),
/// each `arn:aws:iot:REGION:ACCOUNT:PREFIX/ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IotKind {
    /// `client/CLIENT_ID` (`iot:Connect`).
    Client,
    /// `topic/TOPIC_NAME` (`iot:Publish`, `iot:Receive`).
    Topic,
    /// `topicfilter/TOPIC_FILTER` (`iot:Subscribe`).
    TopicFilter,
    /// `thing/THING_NAME`.
    Thing,
    /// `thinggroup/GROUP_NAME`.
    ThingGroup,
    /// `thingtype/TYPE_NAME`.
    ThingType,
    /// `policy/POLICY_NAME`.
    Policy,
    /// `cert/CERTIFICATE_ID`.
    Cert,
    /// `cacert/CERTIFICATE_ID`.
    CaCert,
    /// `rule/RULE_NAME`.
    Rule,
    /// `ruledestination/DESTINATION_TYPE/UUID` (the id holds both parts).
    RuleDestination,
    /// `job/JOB_ID`.
    Job,
    /// `jobtemplate/TEMPLATE_ID`.
    JobTemplate,
    /// `stream/STREAM_ID`.
    Stream,
    /// `otaupdate/OTA_UPDATE_ID`.
    OtaUpdate,
    /// `provisioningtemplate/TEMPLATE_NAME`.
    ProvisioningTemplate,
    /// `rolealias/ROLE_ALIAS`.
    RoleAlias,
}

impl IotKind {
    /// The resource-type prefix, e.g. `thinggroup`.
    pub const fn prefix(self) -> &'static str {
        match self {
            IotKind::Client => "client",
            IotKind::Topic => "topic",
            IotKind::TopicFilter => "topicfilter",
            IotKind::Thing => "thing",
            IotKind::ThingGroup => "thinggroup",
            IotKind::ThingType => "thingtype",
            IotKind::Policy => "policy",
            IotKind::Cert => "cert",
            IotKind::CaCert => "cacert",
            IotKind::Rule => "rule",
            IotKind::RuleDestination => "ruledestination",
            IotKind::Job => "job",
            IotKind::JobTemplate => "jobtemplate",
            IotKind::Stream => "stream",
            IotKind::OtaUpdate => "otaupdate",
            IotKind::ProvisioningTemplate => "provisioningtemplate",
            IotKind::RoleAlias => "rolealias",
        }
    }

    /// `arn:aws:iot:REGION:ACCOUNT:PREFIX/ID` as text in one allocation ([`Arn::iot`]
    /// without the parsed form), for per-message paths: the MQTT authorizer builds the
    /// resource ARN of every publish, subscribe and delivery.
    pub fn arn(self, region: &str, account_id: &str, id: &str) -> String {
        let prefix = self.prefix();
        let mut s = String::with_capacity(
            "arn::iot:::/".len()
                + PARTITION.len()
                + region.len()
                + account_id.len()
                + prefix.len()
                + id.len(),
        );
        for part in [
            "arn:", PARTITION, ":iot:", region, ":", account_id, ":", prefix, "/", id,
        ] {
            s.push_str(part);
        }
        s
    }
}

/// An ARN, parsed: its text is rebuilt by `Display` exactly as AWS prints it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    /// `aws`.
    pub partition: String,
    /// The service namespace, e.g. `iot`, `iam`, `logs`.
    pub service: String,
    /// The region; empty for global services (IAM, STS).
    pub region: String,
    /// The 12-digit account ID; empty for some AWS-owned resources.
    pub account_id: String,
    /// Everything after the fifth colon, e.g. `thing/sensor-1` or `log-group:G:*`.
    pub resource: String,
}

/// Why a text is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    /// Not of the form `arn:partition:service:region:account:resource` with non-empty
    /// partition, service and resource.
    #[error("'{0}' is not a valid ARN")]
    Malformed(String),
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Arn, ArnError> {
        let bad = || ArnError::Malformed(s.to_owned());
        let mut parts = s.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if partition.is_empty() || service.is_empty() || res.is_empty() {
            return Err(bad());
        }
        Ok(Arn {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account_id: account.to_owned(),
            resource: res.to_owned(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account_id, self.resource
        )
    }
}

impl Arn {
    fn regional(scope: &Scope, service: &str, resource: String) -> Arn {
        Arn {
            partition: PARTITION.to_owned(),
            service: service.to_owned(),
            region: scope.region.clone(),
            account_id: scope.account_id.clone(),
            resource,
        }
    }

    fn global(account_id: &str, service: &str, resource: String) -> Arn {
        Arn {
            partition: PARTITION.to_owned(),
            service: service.to_owned(),
            region: String::new(),
            account_id: account_id.to_owned(),
            resource,
        }
    }

    /// An AWS IoT resource: `arn:aws:iot:REGION:ACCOUNT:PREFIX/ID`.
    pub fn iot(scope: &Scope, kind: IotKind, id: &str) -> Arn {
        Arn::regional(scope, "iot", format!("{}/{id}", kind.prefix()))
    }

    /// The prefix every ARN of `kind` in `scope` starts with
    /// (`arn:aws:iot:REGION:ACCOUNT:PREFIX/`): for reading the id back out of an ARN a client
    /// sent ([`Arn::iot_id`]).
    pub fn iot_prefix(scope: &Scope, kind: IotKind) -> String {
        format!(
            "arn:{PARTITION}:iot:{}:{}:{}/",
            scope.region,
            scope.account_id,
            kind.prefix()
        )
    }

    /// The id of an AWS IoT ARN of `kind` in `scope` (`thing/NAME` → `NAME`), or `None` when
    /// `arn` is another kind, account or region.
    pub fn iot_id<'a>(scope: &Scope, kind: IotKind, arn: &'a str) -> Option<&'a str> {
        arn.strip_prefix(&Arn::iot_prefix(scope, kind))
            .filter(|id| !id.is_empty())
    }

    /// The account root user: `arn:aws:iam::ACCOUNT:root`.
    pub fn iam_root(account_id: &str) -> Arn {
        Arn::global(account_id, "iam", "root".to_owned())
    }

    /// An IAM user: `arn:aws:iam::ACCOUNT:user{PATH}{NAME}` (`path` starts and ends with `/`;
    /// the default path is `/`).
    pub fn iam_user(account_id: &str, path: &str, name: &str) -> Arn {
        Arn::global(account_id, "iam", format!("user{path}{name}"))
    }

    /// An IAM role: `arn:aws:iam::ACCOUNT:role{PATH}{NAME}`.
    pub fn iam_role(account_id: &str, path: &str, name: &str) -> Arn {
        Arn::global(account_id, "iam", format!("role{path}{name}"))
    }

    /// An assumed-role session: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub fn sts_assumed_role(account_id: &str, role_name: &str, session: &str) -> Arn {
        Arn::global(
            account_id,
            "sts",
            format!("assumed-role/{role_name}/{session}"),
        )
    }

    /// A log group as DescribeLogGroups' `arn` and IAM policies name it:
    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`.
    pub fn log_group(scope: &Scope, name: &str) -> Arn {
        Arn::regional(scope, "logs", format!("log-group:{name}:*"))
    }

    /// A log group without the trailing `:*` (DescribeLogGroups' `logGroupArn`).
    pub fn log_group_bare(scope: &Scope, name: &str) -> Arn {
        Arn::regional(scope, "logs", format!("log-group:{name}"))
    }

    /// A log stream: `arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM` (what
    /// `logs:PutLogEvents` is authorized against; `*` for every stream).
    pub fn log_stream(scope: &Scope, group: &str, stream: &str) -> Arn {
        Arn::regional(
            scope,
            "logs",
            format!("log-group:{group}:log-stream:{stream}"),
        )
    }

    /// A CloudWatch alarm: `arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`.
    pub fn cloudwatch_alarm(scope: &Scope, name: &str) -> Arn {
        Arn::regional(scope, "cloudwatch", format!("alarm:{name}"))
    }

    /// A CloudWatch dashboard (dashboards are global): `arn:aws:cloudwatch::ACCOUNT:dashboard/NAME`.
    pub fn cloudwatch_dashboard(account_id: &str, name: &str) -> Arn {
        Arn::global(account_id, "cloudwatch", format!("dashboard/{name}"))
    }

    /// A CloudTrail trail: `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`.
    pub fn cloudtrail_trail(scope: &Scope, name: &str) -> Arn {
        Arn::regional(scope, "cloudtrail", format!("trail/{name}"))
    }

    /// An SNS topic: `arn:aws:sns:REGION:ACCOUNT:NAME`.
    pub fn sns_topic(scope: &Scope, name: &str) -> Arn {
        Arn::regional(scope, "sns", name.to_owned())
    }

    /// An SNS subscription: its topic's ARN + `:` + the subscription's UUID
    /// (`arn:aws:sns:REGION:ACCOUNT:TOPIC:UUID`, as SNS answers Subscribe).
    pub fn sns_subscription(topic_arn: &str, id: &str) -> String {
        format!("{topic_arn}:{id}")
    }
}

impl From<Arn> for String {
    fn from(arn: Arn) -> String {
        arn.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new("123456789012", "us-east-1")
    }

    #[test]
    fn constructors_print_aws_forms() {
        let s = scope();
        let cases = [
            (
                Arn::iot(&s, IotKind::Thing, "sensor-1"),
                "arn:aws:iot:us-east-1:123456789012:thing/sensor-1",
            ),
            (
                Arn::iot(&s, IotKind::ThingGroup, "fleet"),
                "arn:aws:iot:us-east-1:123456789012:thinggroup/fleet",
            ),
            (
                Arn::iot(&s, IotKind::Topic, "$aws/things/t/shadow/update"),
                "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/t/shadow/update",
            ),
            (
                Arn::iot(&s, IotKind::CaCert, "ab12"),
                "arn:aws:iot:us-east-1:123456789012:cacert/ab12",
            ),
            (
                Arn::iam_root("123456789012"),
                "arn:aws:iam::123456789012:root",
            ),
            (
                Arn::iam_user("123456789012", "/", "bob"),
                "arn:aws:iam::123456789012:user/bob",
            ),
            (
                Arn::iam_role("123456789012", "/service-role/", "R"),
                "arn:aws:iam::123456789012:role/service-role/R",
            ),
            (
                Arn::sts_assumed_role("123456789012", "R", "s1"),
                "arn:aws:sts::123456789012:assumed-role/R/s1",
            ),
            (
                Arn::log_group(&s, "AWSIotLogsV2"),
                "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2:*",
            ),
            (
                Arn::log_group_bare(&s, "AWSIotLogsV2"),
                "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2",
            ),
            (
                Arn::log_stream(&s, "G", "S"),
                "arn:aws:logs:us-east-1:123456789012:log-group:G:log-stream:S",
            ),
            (
                Arn::cloudwatch_alarm(&s, "high"),
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:high",
            ),
            (
                Arn::sns_topic(&s, "alerts"),
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
        ];
        assert_eq!(
            IotKind::Client.arn(&s.region, &s.account_id, "c1"),
            Arn::iot(&s, IotKind::Client, "c1").to_string()
        );
        for (arn, text) in cases {
            assert_eq!(arn.to_string(), text);
            assert_eq!(text.parse::<Arn>().unwrap(), arn, "{text} round trip");
        }
    }

    #[test]
    fn iot_ids_are_read_back_only_from_the_same_kind_and_scope() {
        let s = scope();
        let arn = Arn::iot(&s, IotKind::Cert, "abc").to_string();
        assert_eq!(Arn::iot_id(&s, IotKind::Cert, &arn), Some("abc"));
        assert_eq!(Arn::iot_id(&s, IotKind::CaCert, &arn), None);
        let other = Scope::new("210987654321", "us-east-1");
        assert_eq!(Arn::iot_id(&other, IotKind::Cert, &arn), None);
        assert_eq!(
            Arn::iot_id(
                &s,
                IotKind::Cert,
                "arn:aws:iot:us-east-1:123456789012:cert/"
            ),
            None
        );
    }

    #[test]
    fn malformed_arns_are_refused() {
        for bad in [
            "",
            "arn",
            "arn:aws:iot",
            "arn::iot:r:a:thing/x",
            "arn:aws::r:a:x",
            "arn:aws:iot:r:a:",
            "urn:aws:iot:r:a:thing/x",
        ] {
            assert!(bad.parse::<Arn>().is_err(), "{bad:?} accepted");
        }
        // Resources may hold colons (log groups) and slashes (topics).
        let arn: Arn = "arn:aws:logs:r:1:log-group:a:b:*".parse().unwrap();
        assert_eq!(arn.resource, "log-group:a:b:*");
    }
}
