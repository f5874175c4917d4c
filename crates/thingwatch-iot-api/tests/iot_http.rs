//! End-to-end tests of the AWS IoT control-plane API (rest-json) through the real HTTP
//! interface: a server on 127.0.0.1:0 serving `IotService` over a real registry (SQLite in a
//! temp dir) wired to a real logger, requests signed by the AWS SDK for Rust's SigV4 signer
//! (`aws-sigv4`) and sent with reqwest. Every error is checked by status, `x-amzn-ErrorType`
//! and message, the three things botocore reads.

mod common;

use std::time::SystemTime;

use common::{IotOptions as Options, IotServer as Server};
use serde_json::{Value, json};
use thingwatch_events::{LevelSetting, LoggingConfig};
use thingwatch_iot_api::Endpoints;

const ROLE: &str = "arn:aws:iam::123456789012:role/IoTLoggingRole";

impl Server {
    async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// A call that must fail with exactly `status`, `code` and `message`.
    async fn err(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: &str,
        message: &str,
    ) -> Value {
        let json = self.failure(method, path, &[], body, status, code).await;
        assert_eq!(json["message"], message, "{method} {path}");
        json
    }
}

/// One expected failure: method, path, body, status, `x-amzn-ErrorType`, message.
type ErrorCase = (
    &'static str,
    &'static str,
    Option<Value>,
    u16,
    &'static str,
    &'static str,
);

const LEVEL_ENUM: &str = "[DEBUG, INFO, ERROR, WARN, DISABLED]";

#[tokio::test]
async fn v2_logging_options_round_trip_and_reach_the_logger() {
    let s = Server::start().await;
    s.err(
        "GET",
        "/v2LoggingOptions",
        None,
        404,
        "NotConfiguredException",
        "V2 logging options have not been configured for this account.",
    )
    .await;

    // The CLI's exact body (aws-wire.md Appendix C).
    let out = s
        .ok(
            "POST",
            "/v2LoggingOptions",
            Some(json!({"roleArn": ROLE, "defaultLogLevel": "WARN", "disableAllLogs": false})),
        )
        .await;
    assert_eq!(out, json!({}));
    assert_eq!(
        s.ok("GET", "/v2LoggingOptions", None).await,
        json!({"roleArn": ROLE, "defaultLogLevel": "WARN", "disableAllLogs": false})
    );
    let v2 = s.logger.config().v2.expect("pushed to the logger");
    assert_eq!(v2.default_log_level, LevelSetting::Warn);
    assert_eq!(v2.role_arn.as_deref(), Some(ROLE));

    // roleArn / defaultLogLevel left out keep their stored values.
    s.ok(
        "POST",
        "/v2LoggingOptions",
        Some(json!({"disableAllLogs": true, "eventConfigurations": [{"eventType": "Subscribe", "logLevel": "DEBUG"}]})),
    )
    .await;
    assert_eq!(
        s.ok("GET", "/v2LoggingOptions", None).await,
        json!({"roleArn": ROLE, "defaultLogLevel": "WARN", "disableAllLogs": true,
            "eventConfigurations": [{"eventType": "Subscribe", "logLevel": "DEBUG"}]})
    );
    assert!(s.logger.config().v2.unwrap().disable_all_logs);
    // disableAllLogs / eventConfigurations left out take AWS's documented defaults
    // (false, no overrides).
    s.ok(
        "POST",
        "/v2LoggingOptions",
        Some(json!({"defaultLogLevel": "WARN"})),
    )
    .await;
    assert_eq!(
        s.ok("GET", "/v2LoggingOptions", None).await,
        json!({"roleArn": ROLE, "defaultLogLevel": "WARN", "disableAllLogs": false})
    );

    // Event-based logging (the CLI's exact body).
    s.ok(
        "POST",
        "/v2LoggingOptions",
        Some(json!({"roleArn": ROLE, "defaultLogLevel": "INFO", "disableAllLogs": false,
            "eventConfigurations": [
                {"eventType": "Connect", "logLevel": "DEBUG", "logDestination": "/aws/iot/connects"},
                {"eventType": "Publish-In", "logLevel": "ERROR"}]})),
    )
    .await;
    assert_eq!(
        s.ok("GET", "/v2LoggingOptions", None).await,
        json!({"roleArn": ROLE, "defaultLogLevel": "INFO", "disableAllLogs": false,
            "eventConfigurations": [
                {"eventType": "Connect", "logLevel": "DEBUG", "logDestination": "/aws/iot/connects"},
                {"eventType": "Publish-In", "logLevel": "ERROR"}]})
    );
    let v2 = s.logger.config().v2.unwrap();
    assert_eq!(v2.event_configurations.len(), 2);

    // verbose: every event type Thingwatch emits, with what applies at account level.
    let verbose = s.ok("GET", "/v2LoggingOptions?verbose=true", None).await;
    let events = verbose["eventConfigurations"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = thingwatch_events::EventType::ALL
        .iter()
        .map(|e| e.as_str())
        .collect();
    assert_eq!(names, want);
    assert_eq!(
        events[0],
        json!({"eventType": "Connect", "logLevel": "DEBUG", "logDestination": "/aws/iot/connects"})
    );
    assert_eq!(
        events[1],
        json!({"eventType": "Disconnect", "logLevel": "INFO", "logDestination": "AWSIotLogsV2"})
    );
    let publish_in = events
        .iter()
        .find(|e| e["eventType"] == "Publish-In")
        .unwrap();
    assert_eq!(
        *publish_in,
        json!({"eventType": "Publish-In", "logLevel": "ERROR", "logDestination": "AWSIotLogsV2"})
    );
    s.stop().await;
}

#[tokio::test]
async fn v2_logging_options_validation() {
    let s = Server::start().await;
    let table: Vec<(Value, &str)> = vec![
        (
            json!({"defaultLogLevel": "VERBOSE"}),
            "1 validation error detected: Value 'VERBOSE' at 'defaultLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, ERROR, WARN, DISABLED]",
        ),
        (
            json!({"eventConfigurations": [{"logLevel": "INFO"}]}),
            "1 validation error detected: Value null at 'eventConfigurations.1.member.eventType' failed to satisfy constraint: Member must not be null",
        ),
        (
            json!({"eventConfigurations": [{"eventType": "Teleport"}]}),
            "Unsupported eventType 'Teleport'. Supported event types: Connect, Disconnect, Subscribe, Unsubscribe, Publish-In, Publish-Out, Queued, GetThingShadow, UpdateThingShadow, DeleteThingShadow, RuleMatch, StartingRuleExecution, RuleExecution, RuleNotFound, RuleMessageThrottled, FunctionExecution, GetPendingJobExecution, DescribeJobExecution, StartNextPendingJobExecution, UpdateJobExecution, ReportFinalJobExecutionCount.",
        ),
        (
            json!({"eventConfigurations": [{"eventType": "Connect", "logDestination": "bad group"}]}),
            r"1 validation error detected: Value 'bad group' at 'eventConfigurations.1.member.logDestination' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[.\-_/#A-Za-z0-9]+$",
        ),
        (
            json!({"eventConfigurations": [{"eventType": "Connect"}, {"eventType": "Connect"}]}),
            "Duplicate eventType 'Connect' in eventConfigurations.",
        ),
    ];
    for (body, message) in table {
        s.err(
            "POST",
            "/v2LoggingOptions",
            Some(body),
            400,
            "InvalidRequestException",
            message,
        )
        .await;
    }
    // The logging role must be an IAM role of this account (the registry's role check).
    for role in [
        "arn:aws:iam::210987654321:role/IoTLoggingRole",
        "arn:aws:iam::123456789012:user/alice",
        "IoTLoggingRole",
    ] {
        let r = s
            .call(
                "POST",
                "/v2LoggingOptions",
                Some(json!({"roleArn": role, "defaultLogLevel": "INFO"})),
            )
            .await;
        assert_eq!(r.status, 400, "{role}: {}", r.json);
        assert_eq!(r.headers["x-amzn-errortype"], "InvalidRequestException");
        assert!(
            r.json["message"].as_str().unwrap().contains(role),
            "{}",
            r.json
        );
    }
    // Nothing was stored by the rejected calls.
    s.err(
        "GET",
        "/v2LoggingOptions",
        None,
        404,
        "NotConfiguredException",
        "V2 logging options have not been configured for this account.",
    )
    .await;
    s.err(
        "GET",
        "/v2LoggingOptions?verbose=yes",
        None,
        400,
        "InvalidRequestException",
        "Value 'yes' at 'verbose' is not a valid boolean (true or false).",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn v2_logging_levels_set_list_delete() {
    let s = Server::start().await;
    let set = |target: Value, level: &str| Some(json!({"logTarget": target, "logLevel": level}));
    // NotConfigured before SetV2LoggingOptions.
    s.err(
        "POST",
        "/v2LoggingLevel",
        set(
            json!({"targetType": "CLIENT_ID", "targetName": "c1"}),
            "DEBUG",
        ),
        404,
        "NotConfiguredException",
        "V2 logging is not configured. Call SetV2LoggingOptions first.",
    )
    .await;
    s.err(
        "GET",
        "/v2LoggingLevel",
        None,
        404,
        "NotConfiguredException",
        "V2 logging is not configured. Call SetV2LoggingOptions first.",
    )
    .await;
    s.ok(
        "POST",
        "/v2LoggingOptions",
        Some(json!({"roleArn": ROLE, "defaultLogLevel": "ERROR"})),
    )
    .await;

    for (target, level) in [
        (
            json!({"targetType": "THING_GROUP", "targetName": "myGroup"}),
            "DEBUG",
        ),
        (
            json!({"targetType": "CLIENT_ID", "targetName": "client-1"}),
            "ERROR",
        ),
        (
            json!({"targetType": "SOURCE_IP", "targetName": "10.0.0.0/8"}),
            "WARN",
        ),
        (
            json!({"targetType": "PRINCIPAL_ID", "targetName": "abc123"}),
            "INFO",
        ),
        (json!({"targetType": "DEFAULT"}), "WARN"),
    ] {
        assert_eq!(
            s.ok("POST", "/v2LoggingLevel", set(target, level)).await,
            json!({})
        );
    }
    let all = s.ok("GET", "/v2LoggingLevel", None).await;
    assert_eq!(
        all,
        json!({"logTargetConfigurations": [
            {"logTarget": {"targetType": "DEFAULT"}, "logLevel": "WARN"},
            {"logTarget": {"targetType": "THING_GROUP", "targetName": "myGroup"}, "logLevel": "DEBUG"},
            {"logTarget": {"targetType": "CLIENT_ID", "targetName": "client-1"}, "logLevel": "ERROR"},
            {"logTarget": {"targetType": "SOURCE_IP", "targetName": "10.0.0.0/8"}, "logLevel": "WARN"},
            {"logTarget": {"targetType": "PRINCIPAL_ID", "targetName": "abc123"}, "logLevel": "INFO"},
        ]})
    );
    assert_eq!(
        s.logger.config().targets.len(),
        4,
        "targets pushed to the logger"
    );
    assert_eq!(
        s.ok("GET", "/v2LoggingLevel?targetType=THING_GROUP", None)
            .await,
        json!({"logTargetConfigurations": [
            {"logTarget": {"targetType": "THING_GROUP", "targetName": "myGroup"}, "logLevel": "DEBUG"}]})
    );

    // Pagination, one entry per page, until no nextToken.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            None => "/v2LoggingLevel?maxResults=2".to_owned(),
            Some(t) => format!(
                "/v2LoggingLevel?maxResults=2&nextToken={}",
                url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
            ),
        };
        let page = s.ok("GET", &path, None).await;
        let items = page["logTargetConfigurations"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().cloned());
        match page.get("nextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(Value::Array(seen), all["logTargetConfigurations"]);

    // The CLI's DELETE form (both query parameters).
    s.ok(
        "DELETE",
        "/v2LoggingLevel?targetType=THING_GROUP&targetName=myGroup",
        None,
    )
    .await;
    assert_eq!(
        s.ok("GET", "/v2LoggingLevel?targetType=THING_GROUP", None)
            .await,
        json!({"logTargetConfigurations": []})
    );
    s.stop().await;
}

#[tokio::test]
async fn v2_logging_level_errors() {
    let s = Server::start_with(Options {
        max_log_targets: 2,
        initial: LoggingConfig::with_default_level(LevelSetting::Error),
        ..Options::default()
    })
    .await;
    let table: Vec<(&str, &str, Option<Value>, &str)> = vec![
        (
            "POST",
            "/v2LoggingLevel",
            Some(json!({"logTarget": {"targetType": "CLIENT_ID", "targetName": "c"}})),
            "1 validation error detected: Value null at 'logLevel' failed to satisfy constraint: Member must not be null",
        ),
        (
            "POST",
            "/v2LoggingLevel",
            Some(json!({"logLevel": "INFO"})),
            "1 validation error detected: Value null at 'logTarget' failed to satisfy constraint: Member must not be null",
        ),
        (
            "POST",
            "/v2LoggingLevel",
            Some(
                json!({"logTarget": {"targetType": "THING", "targetName": "c"}, "logLevel": "LOUD"}),
            ),
            "2 validation errors detected: Value 'THING' at 'logTarget.targetType' failed to satisfy constraint: Member must satisfy enum value set: [DEFAULT, THING_GROUP, CLIENT_ID, SOURCE_IP, PRINCIPAL_ID]; Value 'LOUD' at 'logLevel' failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, ERROR, WARN, DISABLED]",
        ),
        (
            "POST",
            "/v2LoggingLevel",
            Some(json!({"logTarget": {"targetType": "CLIENT_ID"}, "logLevel": "INFO"})),
            "targetName is required for log target type CLIENT_ID.",
        ),
        (
            "POST",
            "/v2LoggingLevel",
            Some(
                json!({"logTarget": {"targetType": "SOURCE_IP", "targetName": "not-an-ip"}, "logLevel": "INFO"}),
            ),
            "Invalid SOURCE_IP target name 'not-an-ip': expected an IPv4 or IPv6 address or CIDR block.",
        ),
        (
            "POST",
            "/v2LoggingLevel",
            Some(
                json!({"logTarget": {"targetType": "THING_GROUP", "targetName": "bad group"}, "logLevel": "INFO"}),
            ),
            "1 validation error detected: Value 'bad group' at 'logTarget.targetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+",
        ),
        (
            "GET",
            "/v2LoggingLevel?targetType=NOPE",
            None,
            "1 validation error detected: Value 'NOPE' at 'targetType' failed to satisfy constraint: Member must satisfy enum value set: [DEFAULT, THING_GROUP, CLIENT_ID, SOURCE_IP, PRINCIPAL_ID]",
        ),
        (
            "GET",
            "/v2LoggingLevel?maxResults=0",
            None,
            "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        (
            "GET",
            "/v2LoggingLevel?maxResults=251",
            None,
            "1 validation error detected: Value '251' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 250",
        ),
        (
            "GET",
            "/v2LoggingLevel?maxResults=ten",
            None,
            "Value 'ten' at 'maxResults' is not a valid integer.",
        ),
        (
            "DELETE",
            "/v2LoggingLevel?targetType=CLIENT_ID",
            None,
            "1 validation error detected: Value null at 'targetName' failed to satisfy constraint: Member must not be null",
        ),
        (
            "DELETE",
            "/v2LoggingLevel",
            None,
            "2 validation errors detected: Value null at 'targetType' failed to satisfy constraint: Member must not be null; Value null at 'targetName' failed to satisfy constraint: Member must not be null",
        ),
        (
            "DELETE",
            "/v2LoggingLevel?targetType=DEFAULT&targetName=x",
            None,
            "The DEFAULT log level cannot be deleted; set it with SetV2LoggingOptions.",
        ),
    ];
    for (method, path, body, message) in table {
        s.err(method, path, body, 400, "InvalidRequestException", message)
            .await;
    }
    let malformed = s
        .call("GET", "/v2LoggingLevel?nextToken=garbage", None)
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.json);
    assert_eq!(
        malformed.headers["x-amzn-errortype"],
        "InvalidRequestException"
    );

    // The target limit (2 here): a third NEW target is LimitExceededException, HTTP 410;
    // changing an existing one still works.
    for name in ["c1", "c2"] {
        s.ok(
            "POST",
            "/v2LoggingLevel",
            Some(json!({"logTarget": {"targetType": "CLIENT_ID", "targetName": name}, "logLevel": "DEBUG"})),
        )
        .await;
    }
    s.err(
        "POST",
        "/v2LoggingLevel",
        Some(json!({"logTarget": {"targetType": "CLIENT_ID", "targetName": "c3"}, "logLevel": "DEBUG"})),
        410,
        "LimitExceededException",
        "The number of log targets cannot exceed 2.",
    )
    .await;
    s.ok(
        "POST",
        "/v2LoggingLevel",
        Some(json!({"logTarget": {"targetType": "CLIENT_ID", "targetName": "c2"}, "logLevel": "INFO"})),
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn legacy_logging_options() {
    let s = Server::start().await;
    assert_eq!(s.ok("GET", "/loggingOptions", None).await, json!({}));
    // The body IS the loggingOptionsPayload (CLI capture).
    s.ok(
        "POST",
        "/loggingOptions",
        Some(json!({"roleArn": "arn:aws:iam::123456789012:role/R", "logLevel": "INFO"})),
    )
    .await;
    assert_eq!(
        s.ok("GET", "/loggingOptions", None).await,
        json!({"roleArn": "arn:aws:iam::123456789012:role/R", "logLevel": "INFO"})
    );
    assert_eq!(
        s.logger.config().legacy.map(|l| l.log_level),
        Some(LevelSetting::Info)
    );
    // Level left out: kept.
    s.ok(
        "POST",
        "/loggingOptions",
        Some(json!({"roleArn": "arn:aws:iam::123456789012:role/R2"})),
    )
    .await;
    assert_eq!(
        s.ok("GET", "/loggingOptions", None).await,
        json!({"roleArn": "arn:aws:iam::123456789012:role/R2", "logLevel": "INFO"})
    );
    s.err(
        "POST",
        "/loggingOptions",
        Some(json!({"logLevel": "INFO"})),
        400,
        "InvalidRequestException",
        "1 validation error detected: Value null at 'loggingOptionsPayload.roleArn' failed to satisfy constraint: Member must not be null",
    )
    .await;
    s.err(
        "POST",
        "/loggingOptions",
        Some(json!({"roleArn": "arn:aws:iam::123456789012:role/R", "logLevel": "TRACE"})),
        400,
        "InvalidRequestException",
        &format!("1 validation error detected: Value 'TRACE' at 'loggingOptionsPayload.logLevel' failed to satisfy constraint: Member must satisfy enum value set: {LEVEL_ENUM}"),
    )
    .await;
    let r = s
        .call(
            "POST",
            "/loggingOptions",
            Some(json!({"roleArn": "arn:aws:iam::999999999999:role/R"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.headers["x-amzn-errortype"], "InvalidRequestException");
    s.stop().await;
}

#[tokio::test]
async fn things_lifecycle() {
    let s = Server::start().await;
    let created = s
        .ok(
            "POST",
            "/things/myThing",
            Some(json!({"attributePayload": {"attributes": {"a": "1"}}})),
        )
        .await;
    assert_eq!(created["thingName"], "myThing");
    assert_eq!(
        created["thingArn"],
        "arn:aws:iot:us-east-1:123456789012:thing/myThing"
    );
    let id = created["thingId"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    // Same name and configuration: succeeds with the same thing (AWS: idempotent).
    let again = s
        .ok(
            "POST",
            "/things/myThing",
            Some(json!({"attributePayload": {"attributes": {"a": "1"}}})),
        )
        .await;
    assert_eq!(again, created);
    // Different configuration: 409 with resourceId / resourceArn.
    let conflict = s
        .err(
            "POST",
            "/things/myThing",
            Some(json!({"attributePayload": {"attributes": {"a": "2"}}})),
            409,
            "ResourceAlreadyExistsException",
            "Thing myThing already exists in account with different attributes",
        )
        .await;
    assert_eq!(conflict["resourceId"], id.as_str());
    assert_eq!(
        conflict["resourceArn"],
        "arn:aws:iot:us-east-1:123456789012:thing/myThing"
    );

    assert_eq!(
        s.ok("GET", "/things/myThing", None).await,
        json!({"defaultClientId": "myThing", "thingName": "myThing", "thingId": id,
            "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/myThing",
            "attributes": {"a": "1"}, "version": 1})
    );
    // Percent-encoded path labels are decoded.
    s.ok("POST", "/things/dev%3A2", None).await;
    assert_eq!(
        s.ok("GET", "/things/dev%3A2", None).await["thingName"],
        "dev:2"
    );

    // UpdateThing: merge, "" removes; expectedVersion.
    s.ok(
        "PATCH",
        "/things/myThing",
        Some(json!({"attributePayload": {"attributes": {"b": "2", "a": ""}, "merge": true}, "expectedVersion": 1})),
    )
    .await;
    let d = s.ok("GET", "/things/myThing", None).await;
    assert_eq!(d["attributes"], json!({"b": "2"}));
    assert_eq!(d["version"], 2);
    let vc = s
        .call(
            "PATCH",
            "/things/myThing",
            Some(json!({"attributePayload": {"attributes": {"c": "3"}}, "expectedVersion": 1})),
        )
        .await;
    assert_eq!(vc.status, 409, "{}", vc.json);
    assert_eq!(vc.headers["x-amzn-errortype"], "VersionConflictException");

    // ListThings: all, attribute filter, pagination.
    s.ok(
        "POST",
        "/things/other",
        Some(json!({"attributePayload": {"attributes": {"b": "9"}}})),
    )
    .await;
    let all = s.ok("GET", "/things", None).await;
    let names: Vec<&str> = all["things"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["thingName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{all}");
    assert!(names.contains(&"myThing") && names.contains(&"other") && names.contains(&"dev:2"));
    let filtered = s
        .ok("GET", "/things?attributeName=b&attributeValue=2", None)
        .await;
    assert_eq!(
        filtered,
        json!({"things": [{"thingName": "myThing",
            "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/myThing",
            "attributes": {"b": "2"}, "version": 2}]})
    );
    let page1 = s.ok("GET", "/things?maxResults=2", None).await;
    assert_eq!(page1["things"].as_array().unwrap().len(), 2);
    let token = page1["nextToken"].as_str().unwrap();
    let page2 = s
        .ok(
            "GET",
            &format!(
                "/things?maxResults=2&nextToken={}",
                url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
            ),
            None,
        )
        .await;
    assert_eq!(page2["things"].as_array().unwrap().len(), 1);
    assert!(page2.get("nextToken").is_none());

    // DeleteThing with a stale expectedVersion, then for real.
    let vc = s
        .call("DELETE", "/things/myThing?expectedVersion=1", None)
        .await;
    assert_eq!(vc.status, 409);
    assert_eq!(vc.headers["x-amzn-errortype"], "VersionConflictException");
    s.ok("DELETE", "/things/myThing?expectedVersion=2", None)
        .await;
    s.err(
        "GET",
        "/things/myThing",
        None,
        404,
        "ResourceNotFoundException",
        "Thing myThing cannot be found.",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn thing_errors() {
    let s = Server::start().await;
    let table: Vec<ErrorCase> = vec![
        (
            "GET",
            "/things/nope",
            None,
            404,
            "ResourceNotFoundException",
            "Thing nope cannot be found.",
        ),
        (
            "GET",
            "/things/bad%20name",
            None,
            400,
            "InvalidRequestException",
            "1 validation error detected: Value 'bad name' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+",
        ),
        (
            "POST",
            "/things/t1",
            Some(json!({"attributePayload": {"attributes": {"bad key": "v"}}})),
            400,
            "InvalidRequestException",
            "1 validation error detected: Value 'bad key' at 'attributePayload.attributes.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.,@/:#-]+",
        ),
        (
            "POST",
            "/things/t1",
            Some(
                json!({"attributePayload": {"attributes": {"a": "1", "b": "2", "c": "3", "d": "4"}}}),
            ),
            400,
            "InvalidRequestException",
            "The number of attributes (4) exceeds the maximum of 3.",
        ),
        (
            "POST",
            "/things/t1",
            Some(json!({"thingTypeName": "Bulb"})),
            404,
            "ResourceNotFoundException",
            "Thing type Bulb cannot be found.",
        ),
        (
            "PATCH",
            "/things/nope",
            Some(json!({"attributePayload": {"attributes": {"a": "1"}}})),
            404,
            "ResourceNotFoundException",
            "Thing nope cannot be found.",
        ),
        (
            "GET",
            "/things?maxResults=300",
            None,
            400,
            "InvalidRequestException",
            "1 validation error detected: Value '300' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 250",
        ),
        (
            "GET",
            "/things?attributeValue=1",
            None,
            400,
            "InvalidRequestException",
            "attributeValue requires attributeName.",
        ),
        (
            "GET",
            "/things/nope/thing-groups",
            None,
            404,
            "ResourceNotFoundException",
            "Thing nope cannot be found.",
        ),
        (
            "POST",
            "/things/t1",
            Some(json!({"attributePayload": "not an object"})),
            400,
            "SerializationException",
            "Could not parse the request: a member has the wrong type (line 1, column 35).",
        ),
    ];
    for (method, path, body, status, code, message) in table {
        s.err(method, path, body, status, code, message).await;
    }
    let long = "x".repeat(129);
    s.err(
        "POST",
        &format!("/things/{long}"),
        None,
        400,
        "InvalidRequestException",
        &format!("1 validation error detected: Value '{long}' at 'thingName' failed to satisfy constraint: Member must have length less than or equal to 128"),
    )
    .await;
    s.ok("POST", &format!("/things/{}", "x".repeat(128)), None)
        .await;
    s.stop().await;
}

#[tokio::test]
async fn thing_groups_hierarchy_and_membership() {
    let s = Server::start().await;
    let before = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let phones = s
        .ok(
            "POST",
            "/thing-groups/Phones",
            Some(
                json!({"thingGroupProperties": {"thingGroupDescription": "All phones",
                "attributePayload": {"attributes": {"vendor": "acme"}}}}),
            ),
        )
        .await;
    assert_eq!(phones["thingGroupName"], "Phones");
    assert_eq!(
        phones["thingGroupArn"],
        "arn:aws:iot:us-east-1:123456789012:thinggroup/Phones"
    );
    assert!(
        phones["thingGroupId"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    s.ok(
        "POST",
        "/thing-groups/MobilePhones",
        Some(json!({"parentGroupName": "Phones"})),
    )
    .await;
    s.ok(
        "POST",
        "/thing-groups/Android",
        Some(json!({"parentGroupName": "MobilePhones"})),
    )
    .await;
    s.ok("POST", "/thing-groups/Tablets", None).await;

    let d = s.ok("GET", "/thing-groups/Android", None).await;
    assert_eq!(d["thingGroupName"], "Android");
    assert_eq!(d["version"], 1);
    assert_eq!(
        d["thingGroupProperties"],
        json!({"attributePayload": {"attributes": {}}})
    );
    let meta = &d["thingGroupMetadata"];
    assert_eq!(meta["parentGroupName"], "MobilePhones");
    assert_eq!(
        meta["rootToParentThingGroups"],
        json!([
            {"groupName": "Phones", "groupArn": "arn:aws:iot:us-east-1:123456789012:thinggroup/Phones"},
            {"groupName": "MobilePhones", "groupArn": "arn:aws:iot:us-east-1:123456789012:thinggroup/MobilePhones"}
        ])
    );
    let created = meta["creationDate"].as_f64().expect("epoch seconds number");
    assert!(
        created >= before - 2.0 && created <= before + 60.0,
        "creationDate {created} is epoch seconds near {before}"
    );
    let root = s.ok("GET", "/thing-groups/Phones", None).await;
    assert_eq!(
        root["thingGroupProperties"],
        json!({"thingGroupDescription": "All phones", "attributePayload": {"attributes": {"vendor": "acme"}}})
    );
    assert!(
        root["thingGroupMetadata"].get("parentGroupName").is_none()
            && root["thingGroupMetadata"]
                .get("rootToParentThingGroups")
                .is_none(),
        "{root}"
    );

    // UpdateThingGroup returns the new version; a stale expectedVersion conflicts.
    assert_eq!(
        s.ok(
            "PATCH",
            "/thing-groups/Phones",
            Some(json!({"thingGroupProperties": {"thingGroupDescription": "Phones v2"}, "expectedVersion": 1})),
        )
        .await,
        json!({"version": 2})
    );
    let vc = s
        .call(
            "PATCH",
            "/thing-groups/Phones",
            Some(json!({"thingGroupProperties": {"thingGroupDescription": "x"}, "expectedVersion": 1})),
        )
        .await;
    assert_eq!(vc.status, 409);
    assert_eq!(vc.headers["x-amzn-errortype"], "VersionConflictException");

    // ListThingGroups: all levels, children of a parent, prefix, recursive.
    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v["thingGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["groupName"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(&s.ok("GET", "/thing-groups", None).await),
        ["Android", "MobilePhones", "Phones", "Tablets"]
    );
    assert_eq!(
        names(&s.ok("GET", "/thing-groups?parentGroup=Phones", None).await),
        ["MobilePhones"]
    );
    assert_eq!(
        names(
            &s.ok(
                "GET",
                "/thing-groups?parentGroup=Phones&recursive=true",
                None
            )
            .await
        ),
        ["Android", "MobilePhones"]
    );
    assert_eq!(
        names(
            &s.ok("GET", "/thing-groups?namePrefixFilter=Mob", None)
                .await
        ),
        ["MobilePhones"]
    );

    // Membership, by name and by ARN (the CLI capture's body first).
    s.ok("POST", "/things/phone-1", None).await;
    s.ok("POST", "/things/phone-2", None).await;
    s.ok(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "Android", "thingName": "phone-1"})),
    )
    .await;
    s.ok(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(
            json!({"thingGroupArn": "arn:aws:iot:us-east-1:123456789012:thinggroup/Phones",
            "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/phone-2"}),
        ),
    )
    .await;
    let things = |v: Value| -> Vec<String> {
        let mut n: Vec<String> = v["things"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        things(s.ok("GET", "/thing-groups/Phones/things", None).await),
        ["phone-2"]
    );
    assert_eq!(
        things(
            s.ok("GET", "/thing-groups/Phones/things?recursive=true", None)
                .await
        ),
        ["phone-1", "phone-2"]
    );
    assert_eq!(
        s.ok("GET", "/things/phone-1/thing-groups", None).await,
        json!({"thingGroups": [{"groupName": "Android",
            "groupArn": "arn:aws:iot:us-east-1:123456789012:thinggroup/Android"}]})
    );
    s.ok(
        "PUT",
        "/thing-groups/removeThingFromThingGroup",
        Some(json!({"thingGroupName": "Android", "thingName": "phone-1"})),
    )
    .await;
    assert_eq!(
        s.ok("GET", "/things/phone-1/thing-groups", None).await,
        json!({"thingGroups": []})
    );

    // A group with children cannot be deleted; leaves first, then it can.
    let r = s.call("DELETE", "/thing-groups/MobilePhones", None).await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.headers["x-amzn-errortype"], "InvalidRequestException");
    s.ok("DELETE", "/thing-groups/Android", None).await;
    s.ok("DELETE", "/thing-groups/MobilePhones", None).await;
    s.err(
        "GET",
        "/thing-groups/MobilePhones",
        None,
        404,
        "ResourceNotFoundException",
        "Thing group MobilePhones cannot be found.",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn thing_group_errors() {
    let s = Server::start().await;
    s.ok("POST", "/thing-groups/G1", None).await;
    s.ok("POST", "/things/t1", None).await;
    let table: Vec<ErrorCase> = vec![
        (
            "GET",
            "/thing-groups/nope",
            None,
            404,
            "ResourceNotFoundException",
            "Thing group nope cannot be found.",
        ),
        (
            "POST",
            "/thing-groups/bad.name",
            None,
            400,
            "InvalidRequestException",
            "1 validation error detected: Value 'bad.name' at 'thingGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+",
        ),
        (
            "PATCH",
            "/thing-groups/G1",
            Some(json!({})),
            400,
            "InvalidRequestException",
            "1 validation error detected: Value null at 'thingGroupProperties' failed to satisfy constraint: Member must not be null",
        ),
        (
            "PUT",
            "/thing-groups/addThingToThingGroup",
            Some(json!({"thingName": "t1"})),
            400,
            "InvalidRequestException",
            "Either thingGroupName or thingGroupArn must be specified.",
        ),
        (
            "PUT",
            "/thing-groups/addThingToThingGroup",
            Some(
                json!({"thingGroupName": "G1", "thingArn": "arn:aws:iot:eu-west-1:123456789012:thing/t1"}),
            ),
            400,
            "InvalidRequestException",
            "Invalid thingArn 'arn:aws:iot:eu-west-1:123456789012:thing/t1': expected arn:aws:iot:us-east-1:123456789012:thing/NAME.",
        ),
        (
            "PUT",
            "/thing-groups/addThingToThingGroup",
            Some(json!({"thingGroupName": "G1", "thingName": "t1",
                "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/t2"})),
            400,
            "InvalidRequestException",
            "thingName 't1' and thingArn name 't2' do not name the same resource.",
        ),
        (
            "PUT",
            "/thing-groups/addThingToThingGroup",
            Some(json!({"thingGroupName": "nope", "thingName": "t1"})),
            404,
            "ResourceNotFoundException",
            "Thing group nope cannot be found.",
        ),
        (
            "PUT",
            "/thing-groups/addThingToThingGroup",
            Some(json!({"thingGroupName": "G1", "thingName": "nope"})),
            404,
            "ResourceNotFoundException",
            "Thing nope cannot be found.",
        ),
        (
            "GET",
            "/thing-groups/nope/things",
            None,
            404,
            "ResourceNotFoundException",
            "Thing group nope cannot be found.",
        ),
        (
            "GET",
            "/thing-groups?recursive=maybe",
            None,
            400,
            "InvalidRequestException",
            "Value 'maybe' at 'recursive' is not a valid boolean (true or false).",
        ),
    ];
    for (method, path, body, status, code, message) in table {
        s.err(method, path, body, status, code, message).await;
    }
    // CreateThingGroup under a parent that does not exist: the model lists no
    // ResourceNotFoundException for CreateThingGroup, so it is InvalidRequestException.
    s.err(
        "POST",
        "/thing-groups/Child",
        Some(json!({"parentGroupName": "Missing"})),
        400,
        "InvalidRequestException",
        "Parent thing group Missing does not exist.",
    )
    .await;
    // Same name, different properties: 409 with the existing group's id and ARN.
    let r = s
        .call(
            "POST",
            "/thing-groups/G1",
            Some(json!({"thingGroupProperties": {"thingGroupDescription": "different"}})),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(
        r.headers["x-amzn-errortype"],
        "ResourceAlreadyExistsException"
    );
    assert_eq!(
        r.json["resourceArn"],
        "arn:aws:iot:us-east-1:123456789012:thinggroup/G1"
    );
    assert!(r.json["resourceId"].as_str().is_some_and(|s| !s.is_empty()));
    s.stop().await;
}

#[tokio::test]
async fn describe_endpoint() {
    let s = Server::start_with(Options {
        endpoints: Endpoints {
            data: "mqtt.example.test".to_owned(),
            jobs: Some("127.0.0.1:4580".to_owned()),
            credential_provider: None,
        },
        ..Options::default()
    })
    .await;
    for path in [
        "/endpoint",
        "/endpoint?endpointType=iot%3AData-ATS",
        "/endpoint?endpointType=iot%3AData",
    ] {
        assert_eq!(
            s.ok("GET", path, None).await,
            json!({"endpointAddress": "mqtt.example.test"}),
            "{path}"
        );
    }
    assert_eq!(
        s.ok("GET", "/endpoint?endpointType=iot%3AJobs", None).await,
        json!({"endpointAddress": "127.0.0.1:4580"})
    );
    s.err(
        "GET",
        "/endpoint?endpointType=iot%3ACredentialProvider",
        None,
        400,
        "InvalidRequestException",
        "Endpoint type iot:CredentialProvider is not supported by this server.",
    )
    .await;
    s.err(
        "GET",
        "/endpoint?endpointType=iot%3AWeird",
        None,
        400,
        "InvalidRequestException",
        "Invalid endpoint type 'iot:Weird': expected one of iot:Data-ATS, iot:Data, iot:CredentialProvider, iot:Jobs.",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_rest_json_404() {
    let s = Server::start().await;
    s.err(
        "GET",
        "/no-such-thing",
        None,
        404,
        "UnknownOperationException",
        "No AWS IoT operation matches GET /no-such-thing.",
    )
    .await;
    s.err(
        "PUT",
        "/things/t1",
        None,
        404,
        "UnknownOperationException",
        "No AWS IoT operation matches PUT /things/t1.",
    )
    .await;
    s.stop().await;
}
