//! The JSON of every broker event type against the examples in the AWS IoT Developer Guide
//! (*CloudWatch AWS IoT log entries*), attribute names and order included, and the level
//! gate through the public `Logger` API.

use std::sync::Arc;
use thingwatch_events::*;

const ACCOUNT: &str = "123456789012";
/// 2017-08-10 15:37:23.476 UTC, the documented Connect example's timestamp.
const T0: i64 = 1_502_379_443_476;

fn doc_client() -> ClientIdentity {
    ClientIdentity {
        client_id: "abf27092886e49a8a5c1922749736453".into(),
        principal_id: "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167".into(),
        source_ip: "205.251.233.181".parse().unwrap(),
        source_port: 13490,
        protocol: Protocol::Mqtt,
        thing_name: None,
    }
}

fn trace() -> TraceId {
    TraceId(0x20b23f3f_d7f1_feae_169f_82263394fbdb)
}

#[test]
fn timestamp_format_is_the_documented_one() {
    assert_eq!(format_timestamp(T0), "2017-08-10 15:37:23.476");
    assert_eq!(format_timestamp(0), "1970-01-01 00:00:00.000");
    assert_eq!(
        format_timestamp(1_502_379_443_005),
        "2017-08-10 15:37:23.005"
    );
}

/// (event JSON, documented example) pairs; the documented examples are restated from the
/// developer guide with our fixed trace id and timestamp.
#[test]
fn broker_events_match_documented_examples() {
    let c = doc_client();
    let cases: Vec<(String, &str)> = vec![
        (
            encode(&Connect::success(&c), LogLevel::Info, trace(), ACCOUNT, T0),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Connect","protocol":"MQTT","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490}"#,
        ),
        (
            encode(
                &Connect::failure(&c, "AUTHORIZATION_FAILURE", "Authorization Failure"),
                LogLevel::Error,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"ERROR","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Failure","eventType":"Connect","protocol":"MQTT","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490,"reason":"AUTHORIZATION_FAILURE","details":"Authorization Failure"}"#,
        ),
        (
            encode(
                &Disconnect::new(&c, DisconnectReason::ClientInitiatedDisconnect),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Disconnect","protocol":"MQTT","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490,"disconnectReason":"CLIENT_INITIATED_DISCONNECT"}"#,
        ),
        (
            encode(
                &Disconnect::new(&c, DisconnectReason::DuplicateClientid),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Disconnect","protocol":"MQTT","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490,"reason":"DUPLICATE_CLIENT_ID","details":"A new connection was established with the same client ID","disconnectReason":"DUPLICATE_CLIENTID"}"#,
        ),
        (
            encode(
                &PublishIn::success(&c, "$aws/things/MyThing/shadow/get", false),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Publish-In","protocol":"MQTT","topicName":"$aws/things/MyThing/shadow/get","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490}"#,
        ),
        (
            encode(
                &PublishIn::success(&c, "dt/a", true),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Publish-In","protocol":"MQTT","topicName":"dt/a","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490,"retain":"True"}"#,
        ),
        (
            encode(
                &PublishIn::failure(
                    &c,
                    "dt/a",
                    false,
                    "AUTHORIZATION_FAILURE",
                    "Authorization Failure",
                ),
                LogLevel::Error,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"ERROR","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Failure","eventType":"Publish-In","protocol":"MQTT","topicName":"dt/a","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490,"reason":"AUTHORIZATION_FAILURE","details":"Authorization Failure"}"#,
        ),
        (
            encode(
                &PublishOut::success(&c, "$aws/things/MyThing/shadow/get/accepted", false),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Publish-Out","protocol":"MQTT","topicName":"$aws/things/MyThing/shadow/get/accepted","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490}"#,
        ),
        (
            encode(
                &Subscribe::success(&c, "$aws/things/MyThing/shadow/#", false),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Subscribe","protocol":"MQTT","topicName":"$aws/things/MyThing/shadow/#","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490}"#,
        ),
        (
            encode(
                &Unsubscribe::success(&c, "a/#", false),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Unsubscribe","protocol":"MQTT","topicName":"a/#","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490}"#,
        ),
        (
            encode(
                &Queued::success(&c, "a/b", false),
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T0,
            ),
            r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"INFO","traceId":"20b23f3f-d7f1-feae-169f-82263394fbdb","accountId":"123456789012","status":"Success","eventType":"Queued","protocol":"MQTT","topicName":"a/b","clientId":"abf27092886e49a8a5c1922749736453","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","sourceIp":"205.251.233.181","sourcePort":13490}"#,
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
        // And it is valid JSON whose keys come in exactly that order.
        let v: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert!(v.is_object());
    }
}

#[test]
fn strings_are_json_escaped() {
    let mut c = doc_client();
    c.client_id = "we\"ird\\id\n".into();
    let json = encode(&Connect::success(&c), LogLevel::Info, trace(), ACCOUNT, T0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["clientId"], "we\"ird\\id\n");
}

fn logger(level: Option<LevelSetting>) -> (Logger, MemorySink) {
    let sink = MemorySink::new();
    let options = level.map(|l| LoggingOptions {
        default_log_level: l,
        ..Default::default()
    });
    let logger = Logger::start(
        LoggerSettings {
            account_id: ACCOUNT.into(),
            node_id: "node-1".into(),
            pipeline: PipelineConfig::default(),
        },
        options,
        Box::new(sink.clone()),
    );
    (logger, sink)
}

#[test]
fn gate_admits_by_level_and_never_builds_dropped_events() {
    let (logger, sink) = logger(Some(LevelSetting::Error));
    let client = logger.client(doc_client());
    let built = std::cell::Cell::new(0);
    logger.emit(&client, Connect::SUCCESS, TraceId::new(), |id| {
        built.set(built.get() + 1);
        Connect::success(id)
    });
    assert_eq!(
        built.get(),
        0,
        "an INFO entry under ERROR must not even be built"
    );
    logger.emit(&client, Connect::AUTH_ERROR, TraceId::new(), |id| {
        built.set(built.get() + 1);
        Connect::failure(id, "AUTHORIZATION_FAILURE", "Authorization Failure")
    });
    assert_eq!(built.get(), 1);
    logger.flush();
    let records = sink.records();
    assert_eq!(records.len(), 1);
    assert_eq!(&*records[0].log_group, DEFAULT_LOG_GROUP);
    assert!(records[0].message.contains("\"status\":\"Failure\""));
}

#[test]
fn configuration_changes_reach_connected_clients_at_once() {
    let (logger, sink) = logger(Some(LevelSetting::Info));
    let client = logger.client(doc_client());
    assert!(logger.enabled(&client, EventType::PublishIn, LogLevel::Info));
    assert!(!logger.enabled(&client, EventType::PublishIn, LogLevel::Debug));

    // disableAllLogs switches everything off for the already-connected client.
    logger.set_options(Some(LoggingOptions {
        default_log_level: LevelSetting::Debug,
        disable_all_logs: true,
        ..Default::default()
    }));
    assert!(!logger.enabled(&client, EventType::PublishIn, LogLevel::Error));

    // DEBUG plus an event-level override with its own destination.
    logger.set_options(Some(LoggingOptions {
        default_log_level: LevelSetting::Debug,
        event_configurations: vec![
            EventConfiguration {
                event_type: "Publish-In".into(),
                log_level: Some(LevelSetting::Error),
                log_destination: None,
            },
            EventConfiguration {
                event_type: "Connect".into(),
                log_level: None,
                log_destination: Some("/aws/iot/connects".into()),
            },
        ],
        ..Default::default()
    }));
    assert!(logger.enabled(&client, EventType::PublishOut, LogLevel::Debug));
    assert!(!logger.enabled(&client, EventType::PublishIn, LogLevel::Info));
    logger.emit(&client, Connect::SUCCESS, TraceId::new(), Connect::success);
    logger.flush();
    let r = sink.records();
    assert_eq!(r.len(), 1);
    assert_eq!(&*r[0].log_group, "/aws/iot/connects");

    // Not configured: nothing at all.
    logger.set_options(None);
    assert!(!logger.enabled(&client, EventType::Connect, LogLevel::Error));
    assert_eq!(logger.options(), None);
}

#[test]
fn publish_in_and_its_deliveries_share_one_trace_id() {
    let (logger, sink) = logger(Some(LevelSetting::Info));
    let publisher = logger.client(doc_client());
    let mut sub_id = doc_client();
    sub_id.client_id = "subscriber-1".into();
    let subscriber = logger.client(sub_id);
    let trace = TraceId::new();
    logger.emit(&publisher, PublishIn::SUCCESS, trace, |id| {
        PublishIn::success(id, "a/b", false)
    });
    logger.emit(&subscriber, PublishOut::SUCCESS, trace, |id| {
        PublishOut::success(id, "a/b", false)
    });
    logger.flush();
    let traces: Vec<String> = sink
        .records()
        .iter()
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.message).unwrap()["traceId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[0], traces[1]);
    assert_eq!(traces[0], trace.to_string());
}

#[test]
fn log_stream_is_one_per_node_per_utc_day() {
    assert_eq!(log_stream_name(T0, "node-1"), "2017/08/10/node-1");
    let (logger, sink) = logger(Some(LevelSetting::Info));
    let c = logger.client(doc_client());
    logger.emit(&c, Connect::SUCCESS, TraceId::new(), Connect::success);
    logger.flush();
    let r = sink.records();
    assert_eq!(&*r[0].log_stream, log_stream_name(r[0].timestamp, "node-1"));
    let _ = Arc::strong_count(&r[0].log_group);
}

#[test]
fn legacy_plain_text_entries() {
    let c = doc_client();
    let line = encode_plain_text(
        &PublishIn::success(&c, "dt/a", true),
        LogLevel::Info,
        trace(),
        T0,
    );
    assert_eq!(
        line,
        "2017-08-10 15:37:23.476 TRACEID:20b23f3f-d7f1-feae-169f-82263394fbdb PRINCIPALID:145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167 [INFO] EVENT:Publish-In STATUS:Success PROTOCOL:MQTT TOPICNAME:dt/a CLIENTID:abf27092886e49a8a5c1922749736453 SOURCEIP:205.251.233.181 SOURCEPORT:13490 RETAIN:True"
    );
}

#[test]
fn legacy_mode_writes_plain_text_to_the_v1_group_and_v2_takes_over() {
    let sink = MemorySink::new();
    let logger = Logger::start(
        LoggerSettings {
            account_id: ACCOUNT.into(),
            node_id: "n".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig {
            legacy: Some(LegacyOptions {
                role_arn: "arn:aws:iam::123456789012:role/R".into(),
                log_level: LevelSetting::Info,
            }),
            ..Default::default()
        },
        Box::new(sink.clone()),
    );
    let client = logger.client(doc_client());
    logger.emit(&client, Connect::SUCCESS, TraceId::new(), Connect::success);
    logger.set_options(Some(LoggingOptions {
        default_log_level: LevelSetting::Info,
        ..Default::default()
    }));
    logger.emit(&client, Connect::SUCCESS, TraceId::new(), Connect::success);
    logger.flush();
    let r = sink.records();
    assert_eq!(r.len(), 2);
    assert_eq!(&*r[0].log_group, LEGACY_LOG_GROUP);
    assert!(
        r[0].message.contains(" EVENT:Connect STATUS:Success "),
        "{}",
        r[0].message
    );
    assert_eq!(&*r[1].log_group, DEFAULT_LOG_GROUP);
    assert!(r[1].message.starts_with('{'));
}

struct OneGroup;
impl GroupMembership for OneGroup {
    fn for_each_group_chain(&self, thing: &str, visit: &mut dyn FnMut(&[Arc<str>])) {
        if thing == "phone-1" {
            visit(&[Arc::from("Phones"), Arc::from("MobilePhones")]);
        }
    }
}

#[test]
fn thing_group_targets_apply_to_connected_clients_when_membership_changes() {
    let (logger, _sink) = logger(Some(LevelSetting::Error));
    let mut id = doc_client();
    id.client_id = "phone-1".into();
    id.thing_name = Some("phone-1".into());
    let client = logger.client(id);
    let mut config = logger.config();
    config.targets.push(LogTargetConfiguration {
        target: LogTarget {
            target_type: LogTargetType::ThingGroup,
            target_name: Some("MobilePhones".into()),
        },
        level: LevelSetting::Debug,
    });
    logger.set_config(config);
    // No registry yet: the thing is in no group.
    assert!(!logger.enabled(&client, EventType::PublishIn, LogLevel::Debug));
    logger.set_group_membership(Arc::new(OneGroup));
    assert!(logger.enabled(&client, EventType::PublishIn, LogLevel::Debug));
}

/// The rules engine's six entries against the developer guide's examples (*Rules engine log
/// entries*), each with the example's own trace id and timestamp. The FunctionExecution
/// example has no `accountId`; ours keeps the common header's (documented in `rules.rs`).
#[test]
fn rules_engine_events_match_documented_examples() {
    const PRINCIPAL: &str = "145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167";
    const CLIENT: &str = "abf27092886e49a8a5c1922749736453";
    let t = |s: &str| TraceId(u128::from_str_radix(&s.replace('-', ""), 16).unwrap());
    let test_rule = RuleMessage {
        client_id: CLIENT,
        topic_name: "rules/test",
        rule_name: "JSONLogsRule",
        principal_id: PRINCIPAL,
    };
    let ingest = RuleMessage {
        client_id: CLIENT,
        topic_name: "$aws/rules/example_rule",
        rule_name: "example_rule",
        principal_id: PRINCIPAL,
    };
    let republish = [("RepublishTopic", "rules/republish")];
    let model = [("ModelId", "predict-model")];
    let throttled = throttled_details("example_rule");
    let not_found = not_found_details("example_rule");
    let trace_a = t("30aa7ccc-1d23-0b97-aa7b-76196d83537e");
    let cases: Vec<(String, &str)> = vec![
        (
            encode(
                &RuleMatch { message: test_rule },
                RuleMatch::MATCHED.level(),
                trace_a,
                ACCOUNT,
                1_502_382_766_002,
            ),
            r#"{"timestamp":"2017-08-10 16:32:46.002","logLevel":"INFO","traceId":"30aa7ccc-1d23-0b97-aa7b-76196d83537e","accountId":"123456789012","status":"Success","eventType":"RuleMatch","clientId":"abf27092886e49a8a5c1922749736453","topicName":"rules/test","ruleName":"JSONLogsRule","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167"}"#,
        ),
        (
            encode(
                &StartingRuleExecution {
                    message: test_rule,
                    rule_action: "RepublishAction",
                },
                StartingRuleExecution::STARTING.level(),
                trace_a,
                ACCOUNT,
                1_502_382_766_002,
            ),
            r#"{"timestamp":"2017-08-10 16:32:46.002","logLevel":"DEBUG","traceId":"30aa7ccc-1d23-0b97-aa7b-76196d83537e","accountId":"123456789012","status":"Success","eventType":"StartingRuleExecution","clientId":"abf27092886e49a8a5c1922749736453","topicName":"rules/test","ruleName":"JSONLogsRule","ruleAction":"RepublishAction","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167"}"#,
        ),
        (
            encode(
                &RuleExecution {
                    message: test_rule,
                    rule_action: "RepublishAction",
                    resources: Resources(&republish),
                    failure: None,
                },
                RuleExecution::SUCCESS.level(),
                trace_a,
                ACCOUNT,
                1_502_382_766_070,
            ),
            r#"{"timestamp":"2017-08-10 16:32:46.070","logLevel":"INFO","traceId":"30aa7ccc-1d23-0b97-aa7b-76196d83537e","accountId":"123456789012","status":"Success","eventType":"RuleExecution","clientId":"abf27092886e49a8a5c1922749736453","topicName":"rules/test","ruleName":"JSONLogsRule","ruleAction":"RepublishAction","resources":{"RepublishTopic":"rules/republish"},"principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167"}"#,
        ),
        (
            encode(
                &FunctionExecution {
                    message: RuleMessage {
                        rule_name: "ruleTestPredict",
                        ..test_rule
                    },
                    rule_action: "MachinelearningPredict",
                    resources: Resources(&model),
                    failure: None,
                },
                FunctionExecution::CALLED.level(),
                t("180532b7-0cc7-057b-687a-5ca1824838f5"),
                ACCOUNT,
                1_499_970_831_903,
            ),
            r#"{"timestamp":"2017-07-13 18:33:51.903","logLevel":"DEBUG","traceId":"180532b7-0cc7-057b-687a-5ca1824838f5","accountId":"123456789012","status":"Success","eventType":"FunctionExecution","clientId":"N/A","topicName":"rules/test","ruleName":"ruleTestPredict","ruleAction":"MachinelearningPredict","resources":{"ModelId":"predict-model"},"principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167"}"#,
        ),
        (
            encode(
                &RuleMessageThrottled {
                    message: ingest,
                    details: &throttled,
                },
                RuleMessageThrottled::THROTTLED.level(),
                trace_a,
                ACCOUNT,
                1_507_145_146_070,
            ),
            r#"{"timestamp":"2017-10-04 19:25:46.070","logLevel":"ERROR","traceId":"30aa7ccc-1d23-0b97-aa7b-76196d83537e","accountId":"123456789012","status":"Failure","eventType":"RuleMessageThrottled","clientId":"abf27092886e49a8a5c1922749736453","topicName":"$aws/rules/example_rule","ruleName":"example_rule","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","reason":"RuleExecutionThrottled","details":"Message for Rule example_rule throttled"}"#,
        ),
        (
            encode(
                &RuleNotFound {
                    message: ingest,
                    details: &not_found,
                },
                RuleNotFound::NOT_FOUND.level(),
                trace_a,
                ACCOUNT,
                1_507_145_146_070,
            ),
            r#"{"timestamp":"2017-10-04 19:25:46.070","logLevel":"ERROR","traceId":"30aa7ccc-1d23-0b97-aa7b-76196d83537e","accountId":"123456789012","status":"Failure","eventType":"RuleNotFound","clientId":"abf27092886e49a8a5c1922749736453","topicName":"$aws/rules/example_rule","ruleName":"example_rule","principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","reason":"RuleNotFound","details":"Rule example_rule not found"}"#,
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    // The Failure form of RuleExecution: ERROR, reason and details after principalId.
    let failed = encode(
        &RuleExecution {
            message: test_rule,
            rule_action: "HttpAction",
            resources: Resources(&[("Url", "https://example.com/in")]),
            failure: Some(Failure {
                reason: "HttpCode_5XX",
                details: "HTTP 503",
            }),
        },
        RuleExecution::FAILURE.level(),
        trace_a,
        ACCOUNT,
        1_502_382_766_070,
    );
    assert!(failed.contains(r#""logLevel":"ERROR""#), "{failed}");
    assert!(failed.contains(r#""status":"Failure""#), "{failed}");
    assert!(
        failed.ends_with(r#""principalId":"145179c40e2219e18a909d896a5340b74cf97a39641beec2fc3eeafc5a932167","reason":"HttpCode_5XX","details":"HTTP 503"}"#),
        "{failed}"
    );
}

/// The developer guide's *Job logs* examples (no `traceId`, `versionNumber` a string),
/// restated with each example's own timestamp.
#[test]
fn job_events_match_documented_examples() {
    /// 2018-06-13 17:45:17.197 UTC (the GetPendingJobExecution example).
    const T_GET_PENDING: i64 = 1_528_911_917_197;
    /// 2017-08-10 19:13:22.841 UTC (the DescribeJobExecution example).
    const T_DESCRIBE: i64 = 1_502_392_402_841;
    /// 2017-08-10 19:25:14.758 UTC (the UpdateJobExecution example).
    const T_UPDATE: i64 = 1_502_393_114_758;
    /// 2017-08-10 19:44:16.776 UTC (the ReportFinalJobExecutionCount example).
    const T_FINAL: i64 = 1_502_394_256_776;
    /// 2018-06-13 17:49:51.036 UTC (the StartNextPendingJobExecution example).
    const T_START_NEXT: i64 = 1_528_912_191_036;
    assert_eq!(format_timestamp(T_GET_PENDING), "2018-06-13 17:45:17.197");
    assert_eq!(format_timestamp(T_DESCRIBE), "2017-08-10 19:13:22.841");
    assert_eq!(format_timestamp(T_UPDATE), "2017-08-10 19:25:14.758");
    assert_eq!(format_timestamp(T_FINAL), "2017-08-10 19:44:16.776");
    assert_eq!(format_timestamp(T_START_NEXT), "2018-06-13 17:49:51.036");

    let mqtt = |client_id, topic_name, client_token| JobRequest {
        protocol: Protocol::Mqtt,
        client_id,
        topic_name,
        client_token: Some(client_token),
    };
    let update_details = update_succeeded_details("IN_PROGRESS");
    let cases: Vec<(String, &str)> = vec![
        (
            encode(
                &GetPendingJobExecution::success(
                    mqtt(
                        "299966ad-54de-40b4-99d3-4fc8b52ec39f",
                        "$aws/things/thingOne/jobs/get",
                        "24b9a741-15a9-44fc-bd3c-1ff2e4e46b0b",
                    ),
                    None,
                ),
                LogLevel::Debug,
                trace(),
                ACCOUNT,
                T_GET_PENDING,
            ),
            r#"{"timestamp":"2018-06-13 17:45:17.197","logLevel":"DEBUG","accountId":"123456789012","status":"Success","eventType":"GetPendingJobExecution","protocol":"MQTT","clientId":"299966ad-54de-40b4-99d3-4fc8b52ec39f","topicName":"$aws/things/thingOne/jobs/get","clientToken":"24b9a741-15a9-44fc-bd3c-1ff2e4e46b0b","details":"The request status is SUCCESS."}"#,
        ),
        (
            encode(
                &DescribeJobExecution::success(
                    mqtt(
                        "thingOne",
                        "$aws/things/thingOne/jobs/002/get",
                        "thingOne-1",
                    ),
                    Some("002"),
                ),
                LogLevel::Debug,
                trace(),
                ACCOUNT,
                T_DESCRIBE,
            ),
            r#"{"timestamp":"2017-08-10 19:13:22.841","logLevel":"DEBUG","accountId":"123456789012","status":"Success","eventType":"DescribeJobExecution","protocol":"MQTT","clientId":"thingOne","jobId":"002","topicName":"$aws/things/thingOne/jobs/002/get","clientToken":"thingOne-1","details":"The request status is SUCCESS."}"#,
        ),
        (
            encode(
                &StartNextPendingJobExecution::success(
                    mqtt(
                        "299966ad-54de-40b4-99d3-4fc8b52ec39f",
                        "$aws/things/thingOne/jobs/start-next",
                        "95c47808-b50c-4b6d-9cf8-a1bb1f3c69b4",
                    ),
                    None,
                ),
                LogLevel::Debug,
                trace(),
                ACCOUNT,
                T_START_NEXT,
            ),
            r#"{"timestamp":"2018-06-13 17:49:51.036","logLevel":"DEBUG","accountId":"123456789012","status":"Success","eventType":"StartNextPendingJobExecution","protocol":"MQTT","clientId":"299966ad-54de-40b4-99d3-4fc8b52ec39f","topicName":"$aws/things/thingOne/jobs/start-next","clientToken":"95c47808-b50c-4b6d-9cf8-a1bb1f3c69b4","details":"The request status is SUCCESS."}"#,
        ),
        (
            encode(
                &UpdateJobExecution {
                    request: mqtt(
                        "thingOne",
                        "$aws/things/thingOne/jobs/002/update",
                        "thingOne-0",
                    ),
                    job_id: "002",
                    version_number: Some(1),
                    outcome: Ok(&update_details),
                },
                LogLevel::Debug,
                trace(),
                ACCOUNT,
                T_UPDATE,
            ),
            r#"{"timestamp":"2017-08-10 19:25:14.758","logLevel":"DEBUG","accountId":"123456789012","status":"Success","eventType":"UpdateJobExecution","protocol":"MQTT","clientId":"thingOne","jobId":"002","topicName":"$aws/things/thingOne/jobs/002/update","clientToken":"thingOne-0","versionNumber":"1","details":"The destination status is IN_PROGRESS. The request status is SUCCESS."}"#,
        ),
        (
            encode(
                &ReportFinalJobExecutionCount {
                    job_id: "002",
                    counts: FinalExecutionCounts {
                        succeeded: 1,
                        ..Default::default()
                    },
                },
                LogLevel::Info,
                trace(),
                ACCOUNT,
                T_FINAL,
            ),
            r#"{"timestamp":"2017-08-10 19:44:16.776","logLevel":"INFO","accountId":"123456789012","status":"Success","eventType":"ReportFinalJobExecutionCount","jobId":"002","details":"Job 002 completed. QUEUED job execution count: 0 IN_PROGRESS job execution count: 0 FAILED job execution count: 0 SUCCEEDED job execution count: 1 CANCELED job execution count: 0 REJECTED job execution count: 0 REMOVED job execution count: 0"}"#,
        ),
    ];
    for (ours, documented) in cases {
        assert_eq!(ours, documented);
    }
}

/// A rejected device request is the Failure form: ERROR-level `reason` + `details`.
#[test]
fn job_failures_carry_reason_and_details() {
    let details = request_failed_details("Job execution is in a terminal state.");
    let entry = encode(
        &UpdateJobExecution {
            request: JobRequest {
                protocol: Protocol::Http,
                client_id: "N/A",
                topic_name: "$aws/things/t1/jobs/j1/update",
                client_token: None,
            },
            job_id: "j1",
            version_number: Some(3),
            outcome: Err(Failure {
                reason: "InvalidStateTransition",
                details: &details,
            }),
        },
        LogLevel::Error,
        trace(),
        ACCOUNT,
        T0,
    );
    assert_eq!(
        entry,
        r#"{"timestamp":"2017-08-10 15:37:23.476","logLevel":"ERROR","accountId":"123456789012","status":"Failure","eventType":"UpdateJobExecution","protocol":"HTTP","clientId":"N/A","jobId":"j1","topicName":"$aws/things/t1/jobs/j1/update","versionNumber":"3","reason":"InvalidStateTransition","details":"The request status is FAILURE. Job execution is in a terminal state."}"#
    );
}
