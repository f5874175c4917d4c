//! AWS IoT Core policy evaluation, data-driven from the examples in the AWS IoT Developer Guide.
//! Each table names its source page and section; every row is one authorization question
//! asked the way the broker will ask it (action, full resource ARN, connection context).

use thingwatch_policy::iot::{self, IotResource};
use thingwatch_policy::{Decision, PolicyDocument, PolicyKind, Request, evaluate};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// One authorization question and its expected answer.
struct Case<'a> {
    /// Why this row exists (shown on failure).
    what: &'a str,
    action: &'a str,
    resource: IotResource,
    name: &'a str,
    context: &'a [(&'a str, &'a str)],
    want: Decision,
}

fn iot_doc(json: &str) -> PolicyDocument {
    match PolicyDocument::parse(json, PolicyKind::IotPolicy) {
        Ok(d) => d,
        Err(e) => panic!("test policy must parse: {e:?}\n{json}"),
    }
}

fn run(source: &str, docs: &[PolicyDocument], cases: &[Case<'_>]) {
    for c in cases {
        let mut req = Request::new(c.action, c.resource.arn(REGION, ACCOUNT, c.name));
        for (k, v) in c.context {
            req = req.with(k, *v);
        }
        assert_eq!(
            evaluate(docs, &req),
            c.want,
            "[{source}] {}: {} {} with {:?}",
            c.what,
            c.action,
            req.resource(),
            c.context
        );
    }
}

use Decision::{Allow, ExplicitDeny, ImplicitDeny};
use IotResource::{Client, Topic, TopicFilter};

#[test]
fn connect_with_thing_name_variable() {
    // Developer Guide, "Connect policy examples" / "Thing policy variables":
    // iot:Connect on client/${iot:Connection.Thing.ThingName}.
    let doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [{
            "Effect": "Allow",
            "Action": ["iot:Connect"],
            "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]
          }]
        }"#,
    );
    let thing = iot::KEY_THING_NAME;
    run(
        "Connect policy examples",
        &[doc],
        &[
            Case {
                what: "client ID equals the attached thing's name",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "sensor-1",
                context: &[(thing, "sensor-1"), (iot::KEY_CLIENT_ID, "sensor-1")],
                want: Allow,
            },
            Case {
                what: "client ID differs from the thing name",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "sensor-2",
                context: &[(thing, "sensor-1")],
                want: ImplicitDeny,
            },
            Case {
                what: "certificate attached to no thing: the variable is unresolved",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "sensor-1",
                context: &[(iot::KEY_CLIENT_ID, "sensor-1")],
                want: ImplicitDeny,
            },
            Case {
                what: "a thing named '*' is substituted literally, not as a wildcard",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "anyone",
                context: &[(thing, "*")],
                want: ImplicitDeny,
            },
            Case {
                what: "a thing named '*' still connects as client '*'",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "*",
                context: &[(thing, "*")],
                want: Allow,
            },
            Case {
                what: "the policy grants Connect only",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "sensor-1",
                context: &[(thing, "sensor-1")],
                want: ImplicitDeny,
            },
        ],
    );
}

#[test]
fn publish_subscribe_receive_specific_topic() {
    // Developer Guide, "Publish/Subscribe policy examples", "Policies to publish, subscribe
    // and receive messages to/from specific topics": Publish/Receive name topic/…,
    // Subscribe names topicfilter/….
    let doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": ["iot:Connect"],
             "Resource": ["arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"]},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/some_specific_topic"]},
            {"Effect": "Allow", "Action": ["iot:Subscribe"],
             "Resource": ["arn:aws:iot:us-east-1:123456789012:topicfilter/some_specific_topic"]}
          ]
        }"#,
    );
    let t = "some_specific_topic";
    run(
        "Publish/Subscribe policy examples: specific topics",
        &[doc],
        &[
            Case {
                what: "publish to the topic",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: t,
                context: &[],
                want: Allow,
            },
            Case {
                what: "receive from the topic",
                action: iot::ACTION_RECEIVE,
                resource: Topic,
                name: t,
                context: &[],
                want: Allow,
            },
            Case {
                what: "subscribe to the topic filter",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: t,
                context: &[],
                want: Allow,
            },
            Case {
                what: "subscribe checked against a topic/ ARN does not match topicfilter/",
                action: iot::ACTION_SUBSCRIBE,
                resource: Topic,
                name: t,
                context: &[],
                want: ImplicitDeny,
            },
            Case {
                what: "publish to another topic",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "some_specific_topic/sub",
                context: &[],
                want: ImplicitDeny,
            },
            Case {
                what: "retained publish is a separate action",
                action: iot::ACTION_RETAIN_PUBLISH,
                resource: Topic,
                name: t,
                context: &[],
                want: ImplicitDeny,
            },
        ],
    );
}

#[test]
fn mqtt_wildcards_are_literal_in_topicfilter_resources() {
    // Developer Guide, "Publish/Subscribe policy examples", "Using wildcard characters in MQTT
    // and AWS IoT Core policies": "+ and # are treated as those characters with no special
    // meaning"; policies use * and ?.
    let doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": [
               "arn:aws:iot:us-east-1:123456789012:topicfilter/literal/#",
               "arn:aws:iot:us-east-1:123456789012:topicfilter/any/*",
               "arn:aws:iot:us-east-1:123456789012:topicfilter/one/?/data"
             ]},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/*/temp"}
          ]
        }"#,
    );
    run(
        "Publish/Subscribe policy examples: wildcard characters",
        &[doc],
        &[
            Case {
                what: "topicfilter/literal/# allows exactly the filter literal/#",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "literal/#",
                context: &[],
                want: Allow,
            },
            Case {
                what: "topicfilter/literal/# is not an MQTT multi-level wildcard",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "literal/a",
                context: &[],
                want: ImplicitDeny,
            },
            Case {
                what: "topicfilter/literal/# does not allow literal/+",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "literal/+",
                context: &[],
                want: ImplicitDeny,
            },
            Case {
                what: "policy * covers MQTT filters with # and +",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "any/+/x/#",
                context: &[],
                want: Allow,
            },
            Case {
                what: "policy ? is one character",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "one/7/data",
                context: &[],
                want: Allow,
            },
            Case {
                what: "policy ? is exactly one character",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "one/77/data",
                context: &[],
                want: ImplicitDeny,
            },
            Case {
                what: "policy * spans topic levels",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "sensors/building-1/floor-2/temp",
                context: &[],
                want: Allow,
            },
            Case {
                what: "topic names are case-sensitive",
                action: iot::ACTION_RECEIVE,
                resource: Topic,
                name: "Sensors/a/temp",
                context: &[],
                want: ImplicitDeny,
            },
        ],
    );
}

#[test]
fn per_device_topics_with_client_id() {
    // Developer Guide, "Basic AWS IoT Core policy variables" (topic/my/topic/${iot:ClientId},
    // and the warning that a client connecting with client ID "+" can subscribe to
    // topicfilter/my/+/topic) and "Publish/Subscribe policy examples", "topics specific to
    // each device".
    let doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Publish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/my/topic/${iot:ClientId}"},
            {"Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/my/${iot:ClientId}/topic"}
          ]
        }"#,
    );
    let cid = iot::KEY_CLIENT_ID;
    run(
        "Basic AWS IoT Core policy variables",
        &[doc],
        &[
            Case {
                what: "publish to own topic",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "my/topic/dev1",
                context: &[(cid, "dev1")],
                want: Allow,
            },
            Case {
                what: "publish to another device's topic",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "my/topic/dev2",
                context: &[(cid, "dev1")],
                want: ImplicitDeny,
            },
            Case {
                what: "client ID '*' does not become a wildcard",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "my/topic/dev2",
                context: &[(cid, "*")],
                want: ImplicitDeny,
            },
            Case {
                what: "documented hazard: client ID '+' may subscribe to my/+/topic",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "my/+/topic",
                context: &[(cid, "+")],
                want: Allow,
            },
            Case {
                what: "client dev1 may not subscribe to my/+/topic",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "my/+/topic",
                context: &[(cid, "dev1")],
                want: ImplicitDeny,
            },
        ],
    );
}

#[test]
fn explicit_deny_beats_allow() {
    // Developer Guide, "Publish/Subscribe policy examples", "Policies to deny publishing
    // messages to subtopics of a topic name"; AWS IoT Core policies: an explicit deny
    // overrides any allow, across all policies attached to the principal.
    let same_doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Publish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/department/*"},
            {"Effect": "Deny", "Action": "iot:Publish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/department/admins"}
          ]
        }"#,
    );
    let cases = [
        Case {
            what: "allowed sibling subtopic",
            action: iot::ACTION_PUBLISH,
            resource: Topic,
            name: "department/engineering",
            context: &[],
            want: Allow,
        },
        Case {
            what: "denied subtopic",
            action: iot::ACTION_PUBLISH,
            resource: Topic,
            name: "department/admins",
            context: &[],
            want: ExplicitDeny,
        },
    ];
    run("deny publishing to subtopics", &[same_doc], &cases);

    // The same split across two attached policies, in both orders.
    let allow = iot_doc(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}}"#,
    );
    let deny = iot_doc(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:Publish",
            "Resource":"arn:aws:iot:us-east-1:123456789012:topic/department/admins"}}"#,
    );
    run(
        "deny in one policy, allow in another",
        &[allow.clone(), deny.clone()],
        &cases,
    );
    run("deny first, allow second", &[deny, allow], &cases);
}

#[test]
fn not_action_and_not_resource() {
    // IAM User Guide, "IAM JSON policy elements: NotAction" / "NotResource" (the same
    // elements in AWS IoT policies): everything except the listed actions / resources.
    let doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"},
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
            {"Effect": "Deny", "Action": "iot:Publish",
             "NotResource": "arn:aws:iot:us-east-1:123456789012:topic/public/*"}
          ]
        }"#,
    );
    run(
        "NotAction / NotResource",
        &[doc],
        &[
            Case {
                what: "NotAction iot:Publish allows Subscribe",
                action: iot::ACTION_SUBSCRIBE,
                resource: TopicFilter,
                name: "anything/#",
                context: &[],
                want: Allow,
            },
            Case {
                what: "publish inside the NotResource set is not denied",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "public/news",
                context: &[],
                want: Allow,
            },
            Case {
                what: "publish outside the NotResource set is denied",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "private/news",
                context: &[],
                want: ExplicitDeny,
            },
        ],
    );
}

#[test]
fn version_2008_does_not_substitute_variables() {
    // IAM User Guide, "IAM JSON policy elements: Version": without Version 2012-10-17,
    // ${...} is not a variable but literal text.
    for version in [r#""Version": "2008-10-17","#, ""] {
        let doc = iot_doc(&format!(
            r#"{{ {version} "Statement": [{{"Effect": "Allow", "Action": "iot:Publish",
                 "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${{iot:ClientId}}/*"}}]}}"#
        ));
        run(
            "Version element",
            &[doc],
            &[
                Case {
                    what: "no substitution",
                    action: iot::ACTION_PUBLISH,
                    resource: Topic,
                    name: "dev1/x",
                    context: &[(iot::KEY_CLIENT_ID, "dev1")],
                    want: ImplicitDeny,
                },
                Case {
                    what: "the literal text matches",
                    action: iot::ACTION_PUBLISH,
                    resource: Topic,
                    name: "${iot:ClientId}/x",
                    context: &[(iot::KEY_CLIENT_ID, "dev1")],
                    want: Allow,
                },
            ],
        );
    }
}

#[test]
fn thing_attribute_and_type_conditions() {
    // Developer Guide, "Thing policy examples": connect only when IsAttached; publish to
    // device/stats only for a thing type and attribute value; publish to a topic starting
    // with a thing attribute.
    let doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["*"],
             "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": ["true"]}}},
            {"Effect": "Allow", "Action": ["iot:Publish"],
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/device/stats",
             "Condition": {
               "StringEquals": {
                 "iot:Connection.Thing.Attributes[attributeName]": "attributeValue",
                 "iot:Connection.Thing.ThingTypeName": "Thing_Type_Name"
               },
               "Bool": {"iot:Connection.Thing.IsAttached": "true"}
             }},
            {"Effect": "Allow", "Action": ["iot:Publish"],
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.Attributes[attributeName]}/*"}
          ]
        }"#,
    );
    let attached = (iot::KEY_THING_IS_ATTACHED, "true");
    let attr = (
        "iot:Connection.Thing.Attributes[attributeName]",
        "attributeValue",
    );
    let typ = (iot::KEY_THING_TYPE_NAME, "Thing_Type_Name");
    run(
        "Thing policy examples",
        &[doc],
        &[
            Case {
                what: "connect with an attached thing",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "t1",
                context: &[attached],
                want: Allow,
            },
            Case {
                what: "connect without an attached thing",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "t1",
                context: &[(iot::KEY_THING_IS_ATTACHED, "false")],
                want: ImplicitDeny,
            },
            Case {
                what: "IsAttached absent: Bool is false",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "t1",
                context: &[],
                want: ImplicitDeny,
            },
            Case {
                what: "all three conditions hold",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "device/stats",
                context: &[attached, attr, typ],
                want: Allow,
            },
            Case {
                what: "wrong thing type",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "device/stats",
                context: &[attached, attr, (iot::KEY_THING_TYPE_NAME, "Other_Type")],
                want: ImplicitDeny,
            },
            Case {
                what: "attribute missing",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "device/stats",
                context: &[attached, typ],
                want: ImplicitDeny,
            },
            Case {
                what: "topic prefixed with the attribute value",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "attributeValue/reading",
                context: &[attr],
                want: Allow,
            },
            Case {
                what: "attribute unresolved: 'access denied'",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "attributeValue/reading",
                context: &[],
                want: ImplicitDeny,
            },
        ],
    );
}

#[test]
fn certificate_variables_and_source_ip() {
    // Developer Guide, "X.509 Certificate AWS IoT Core policy variables" (subject common name
    // in a resource) and "Basic AWS IoT Core policy variables" (IpAddress on aws:SourceIp).
    let doc = iot_doc(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect",
             "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Certificate.Subject.CommonName}"},
            {"Effect": "Allow", "Action": "iot:Publish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/my/topic/${iot:ClientId}",
             "Condition": {"IpAddress": {"aws:SourceIp": "123.45.167.89"}}}
          ]
        }"#,
    );
    let cn = (iot::KEY_CERT_SUBJECT_CN, "LightBulb Device Cert");
    run(
        "certificate variables / aws:SourceIp",
        &[doc],
        &[
            Case {
                what: "client ID equals the certificate's CN",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "LightBulb Device Cert",
                context: &[cn],
                want: Allow,
            },
            Case {
                what: "client ID differs from the CN",
                action: iot::ACTION_CONNECT,
                resource: Client,
                name: "Other",
                context: &[cn],
                want: ImplicitDeny,
            },
            Case {
                what: "publish from the allowed address",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "my/topic/c1",
                context: &[
                    (iot::KEY_CLIENT_ID, "c1"),
                    (iot::KEY_SOURCE_IP, "123.45.167.89"),
                ],
                want: Allow,
            },
            Case {
                what: "publish from another address",
                action: iot::ACTION_PUBLISH,
                resource: Topic,
                name: "my/topic/c1",
                context: &[(iot::KEY_CLIENT_ID, "c1"), (iot::KEY_SOURCE_IP, "10.0.0.1")],
                want: ImplicitDeny,
            },
        ],
    );
}

#[test]
fn actions_match_case_insensitively_with_wildcards() {
    // IAM User Guide, "IAM JSON policy elements: Action": action names are case-insensitive
    // and take * / ? wildcards ("iot:*", "iot:Pub*").
    let rows: &[(&str, &str, Decision)] = &[
        ("iot:*", "iot:Publish", Allow),
        ("iot:Pub*", "iot:Publish", Allow),
        ("iot:Pub*", "iot:Subscribe", ImplicitDeny),
        ("IOT:PUBLISH", "iot:Publish", Allow),
        ("iot:publish", "IoT:PUBLISH", Allow),
        ("*", "iot:Receive", Allow),
        ("iot:?onnect", "iot:Connect", Allow),
        ("iot:Connect", "iot:ConnectX", ImplicitDeny),
        ("iotx:*", "iot:Connect", ImplicitDeny),
    ];
    for &(pattern, action, want) in rows {
        let doc = iot_doc(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{pattern}","Resource":"*"}}]}}"#
        ));
        let req = Request::new(action, Topic.arn(REGION, ACCOUNT, "t"));
        assert_eq!(evaluate([&doc], &req), want, "{pattern} vs {action}");
    }
}

#[test]
fn no_policies_means_implicit_deny() {
    // AWS IoT Core policies: "By default, all actions are denied".
    let req = Request::new(iot::ACTION_CONNECT, Client.arn(REGION, ACCOUNT, "c"));
    assert_eq!(evaluate(std::iter::empty(), &req), ImplicitDeny);
    assert!(!ImplicitDeny.is_allowed() && !ExplicitDeny.is_allowed() && Allow.is_allowed());
}

#[test]
fn one_request_reused_across_topics_and_actions() {
    // How the broker asks: one Request per connection, resource and action swapped in place.
    let doc = iot_doc(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iot:Publish",
             "Resource":"arn:aws:iot:us-east-1:123456789012:topic/telemetry/${iot:ClientId}/*"},
            {"Effect":"Allow","Action":"iot:Subscribe",
             "Resource":"arn:aws:iot:us-east-1:123456789012:topicfilter/cmd/${iot:ClientId}/#"}]}"#,
    );
    let mut req = Request::new("IOT:PUBLISH", Topic.arn(REGION, ACCOUNT, "telemetry/d1/t"))
        .with(iot::KEY_CLIENT_ID, "d1");
    assert_eq!(req.action(), "IOT:PUBLISH");
    assert_eq!(evaluate([&doc], &req), Allow);
    req.set_resource(&Topic.arn(REGION, ACCOUNT, "telemetry/d2/t"));
    assert_eq!(evaluate([&doc], &req), ImplicitDeny);
    req.context_mut().set(iot::KEY_CLIENT_ID, ["d2"]);
    assert_eq!(evaluate([&doc], &req), Allow);
    req.set_action(iot::ACTION_SUBSCRIBE);
    req.set_resource(&TopicFilter.arn(REGION, ACCOUNT, "cmd/d2/#"));
    assert_eq!(evaluate([&doc], &req), Allow);
    assert_eq!(
        req.context().get("IOT:CLIENTID"),
        Some(&["d2".to_owned()][..])
    );
    req.context_mut().remove(iot::KEY_CLIENT_ID);
    assert_eq!(evaluate([&doc], &req), ImplicitDeny);
}

#[test]
fn compiled_policies_can_be_shared_across_connection_tasks() {
    // The broker keeps compiled policies in an Arc shared by every connection task.
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<PolicyDocument>();
    shareable::<Request>();
    let doc = std::sync::Arc::new(iot_doc(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect",
            "Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"}}"#,
    ));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let doc = std::sync::Arc::clone(&doc);
            std::thread::spawn(move || {
                let id = format!("c{i}");
                let req = Request::new(iot::ACTION_CONNECT, Client.arn(REGION, ACCOUNT, &id))
                    .with(iot::KEY_CLIENT_ID, id);
                evaluate([&*doc], &req)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().ok(), Some(Allow));
    }
}
