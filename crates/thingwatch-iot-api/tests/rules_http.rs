//! End-to-end tests of the rules engine's control plane (topic rules and topic rule
//! destinations) through the real HTTP interface: a server on 127.0.0.1:0 serving
//! `IotService::with_rules` over real `thingwatch_rules::Rules` (SQLite in a temp dir),
//! requests signed by the AWS SDK for Rust's SigV4 signer and sent with reqwest; a second
//! loopback listener receives the destination confirmation POSTs, and the `enableUrl` is
//! fetched unsigned. Shapes are botocore 1.43.11's `iot-2015-05-28`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use common::{IotOptions as Options, IotServer as Server};
use serde_json::{Value, json};
use thingwatch_http::{ApiError, ErrorCode};
use thingwatch_iot_api::RoleChecker;
use thingwatch_rules::RulesSettings;
use thingwatch_test_support::server::LoopbackServer;
use thingwatch_test_support::{ACCOUNT, REGION};
use tokio::sync::mpsc;

const ROLE: &str = "arn:aws:iam::123456789012:role/RulesRole";

fn rules_options() -> Options {
    Options {
        rules: Some(RulesSettings::default()),
        ..Options::default()
    }
}

impl Server {
    async fn start_rules() -> Self {
        Self::start_with(rules_options()).await
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

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Checks that `v[key]` is epoch seconds within `[from, to]` (a number, not milliseconds)
/// and replaces it with `0` so the rest can be compared exactly.
fn take_time(v: &mut Value, key: &str, from: f64, to: f64) -> f64 {
    let t = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number: {v}"));
    assert!(
        t >= from.floor() - 1.0 && t <= to + 1.0,
        "{key} = {t} is epoch seconds in [{from}, {to}]"
    );
    v[key] = json!(0);
    t
}

fn rule_arn(name: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:rule/{name}")
}

fn alerts_payload() -> Value {
    json!({
        "sql": "SELECT temp FROM 'sensors/+/temp' WHERE temp > 50",
        "description": "Hot sensors",
        "actions": [
            {"republish": {"roleArn": ROLE, "topic": "alerts/${topic(2)}", "qos": 1}}
        ],
        "ruleDisabled": false,
        "awsIotSqlVersion": "2016-03-23",
        "errorAction": {"republish": {"roleArn": ROLE, "topic": "errors"}}
    })
}

#[tokio::test]
async fn topic_rules_round_trip() {
    let s = Server::start_rules().await;
    let t0 = now_s();
    assert_eq!(
        s.ok("POST", "/rules/alerts", Some(alerts_payload())).await,
        json!({})
    );
    s.ok_with(
        "POST",
        "/rules/other_rule",
        &[("x-amz-tagging", "team=ops")],
        Some(json!({"sql": "SELECT * FROM 'other/topic'", "actions": [], "ruleDisabled": true})),
    )
    .await;
    let t1 = now_s();

    // GetTopicRule: the payload as sent, with the ARN and createdAt (epoch seconds).
    let mut got = s.ok("GET", "/rules/alerts", None).await;
    let created = take_time(&mut got["rule"], "createdAt", t0, t1);
    assert_eq!(
        got,
        json!({
            "ruleArn": rule_arn("alerts"),
            "rule": {
                "ruleName": "alerts",
                "sql": "SELECT temp FROM 'sensors/+/temp' WHERE temp > 50",
                "description": "Hot sensors",
                "createdAt": 0,
                "actions": [
                    {"republish": {"roleArn": ROLE, "topic": "alerts/${topic(2)}", "qos": 1}}
                ],
                "ruleDisabled": false,
                "awsIotSqlVersion": "2016-03-23",
                "errorAction": {"republish": {"roleArn": ROLE, "topic": "errors"}}
            }
        })
    );
    // Members not sent are omitted, except the defaults AWS answers.
    let mut other = s.ok("GET", "/rules/other_rule", None).await;
    take_time(&mut other["rule"], "createdAt", t0, t1);
    assert_eq!(
        other,
        json!({
            "ruleArn": rule_arn("other_rule"),
            "rule": {
                "ruleName": "other_rule",
                "sql": "SELECT * FROM 'other/topic'",
                "createdAt": 0,
                "actions": [],
                "ruleDisabled": true,
                "awsIotSqlVersion": "2015-10-08"
            }
        })
    );

    // ListTopicRules: every rule, sorted by name, then each filter.
    let mut all = s.ok("GET", "/rules", None).await;
    for r in all["rules"].as_array_mut().unwrap() {
        take_time(r, "createdAt", t0, t1);
    }
    let alerts_item = json!({
        "ruleArn": rule_arn("alerts"),
        "ruleName": "alerts",
        "topicPattern": "sensors/+/temp",
        "createdAt": 0,
        "ruleDisabled": false
    });
    let other_item = json!({
        "ruleArn": rule_arn("other_rule"),
        "ruleName": "other_rule",
        "topicPattern": "other/topic",
        "createdAt": 0,
        "ruleDisabled": true
    });
    assert_eq!(
        all,
        json!({"rules": [alerts_item.clone(), other_item.clone()]})
    );
    let names = |v: &Value| -> Vec<String> {
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ruleName"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_topic = s.ok("GET", "/rules?topic=sensors%2F%2B%2Ftemp", None).await;
    assert_eq!(names(&by_topic), ["alerts"]);
    let none = s.ok("GET", "/rules?topic=sensors%2Fx%2Ftemp", None).await;
    assert_eq!(none, json!({"rules": []}), "topic is compared as written");
    let disabled = s.ok("GET", "/rules?ruleDisabled=true", None).await;
    assert_eq!(names(&disabled), ["other_rule"]);
    let enabled = s.ok("GET", "/rules?ruleDisabled=false", None).await;
    assert_eq!(names(&enabled), ["alerts"]);

    // Pagination: maxResults=1 gives a nextToken that continues after the first rule.
    let p1 = s.ok("GET", "/rules?maxResults=1", None).await;
    assert_eq!(names(&p1), ["alerts"]);
    let token = p1["nextToken"].as_str().expect("a nextToken").to_owned();
    let p2 = s
        .ok(
            "GET",
            &format!("/rules?maxResults=1&nextToken={token}"),
            None,
        )
        .await;
    assert_eq!(names(&p2), ["other_rule"]);
    assert!(p2.get("nextToken").is_none(), "last page: {p2}");
    s.err(
        "GET",
        "/rules?nextToken=bm9wZQ",
        None,
        400,
        "InvalidRequestException",
        "The nextToken bm9wZQ is not valid.",
    )
    .await;
    for (q, constraint) in [
        ("0", "Member must have value greater than or equal to 1"),
        (
            "10001",
            "Member must have value less than or equal to 10000",
        ),
    ] {
        s.err(
            "GET",
            &format!("/rules?maxResults={q}"),
            None,
            400,
            "InvalidRequestException",
            &format!(
                "1 validation error detected: Value '{q}' at 'maxResults' failed to satisfy constraint: {constraint}"
            ),
        )
        .await;
    }
    assert_eq!(
        names(&s.ok("GET", "/rules?maxResults=10000", None).await),
        ["alerts", "other_rule"]
    );

    // ReplaceTopicRule: a new payload, createdAt kept.
    s.ok(
        "PATCH",
        "/rules/alerts",
        Some(json!({
            "sql": "SELECT * FROM 'sensors/#'",
            "actions": [{"republish": {"roleArn": ROLE, "topic": "all"}}]
        })),
    )
    .await;
    let mut got = s.ok("GET", "/rules/alerts", None).await;
    assert_eq!(take_time(&mut got["rule"], "createdAt", t0, t1), created);
    assert_eq!(
        got["rule"],
        json!({
            "ruleName": "alerts",
            "sql": "SELECT * FROM 'sensors/#'",
            "createdAt": 0,
            "actions": [{"republish": {"roleArn": ROLE, "topic": "all"}}],
            "ruleDisabled": false,
            "awsIotSqlVersion": "2015-10-08"
        })
    );

    // DisableTopicRule / EnableTopicRule.
    assert_eq!(s.ok("POST", "/rules/alerts/disable", None).await, json!({}));
    assert_eq!(
        s.ok("GET", "/rules/alerts", None).await["rule"]["ruleDisabled"],
        true
    );
    assert_eq!(
        names(&s.ok("GET", "/rules?ruleDisabled=true", None).await),
        ["alerts", "other_rule"]
    );
    s.ok("POST", "/rules/alerts/enable", None).await;
    assert_eq!(
        s.ok("GET", "/rules/alerts", None).await["rule"]["ruleDisabled"],
        false
    );
    assert!(
        !s.rules
            .as_ref()
            .unwrap()
            .get_rule("alerts")
            .unwrap()
            .rule
            .disabled(),
        "the engine's table follows"
    );

    // Duplicates, then DeleteTopicRule.
    s.err(
        "POST",
        "/rules/other_rule",
        Some(json!({"sql": "SELECT * FROM 'x'", "actions": []})),
        409,
        "ResourceAlreadyExistsException",
        "Rule with name other_rule already exists.",
    )
    .await;
    assert_eq!(s.ok("DELETE", "/rules/alerts", None).await, json!({}));
    s.err(
        "GET",
        "/rules/alerts",
        None,
        401,
        "UnauthorizedException",
        "Rule alerts does not exist.",
    )
    .await;
    assert_eq!(names(&s.ok("GET", "/rules", None).await), ["other_rule"]);
    s.stop().await;
}

#[tokio::test]
async fn topic_rule_errors() {
    let s = Server::start_rules().await;
    let parse = s
        .failure(
            "POST",
            "/rules/broken",
            &[],
            Some(json!({"sql": "SELECT * FROM", "actions": []})),
            400,
            "SqlParseException",
        )
        .await;
    let message = parse["message"].as_str().unwrap();
    assert!(!message.is_empty(), "{parse}");
    assert_eq!(message, SQL_PARSE_MESSAGE, "{parse}");
    s.err(
        "POST",
        "/rules/broken",
        Some(json!({"actions": []})),
        400,
        "InvalidRequestException",
        "1 validation error detected: Value at 'topicRulePayload.sql' failed to satisfy constraint: Member must not be null",
    )
    .await;
    s.err(
        "POST",
        "/rules/broken",
        Some(json!({"sql": "SELECT * FROM 'a'", "actions": [{"nope": {}}]})),
        400,
        "InvalidRequestException",
        "Unknown action type: nope",
    )
    .await;
    // Nothing was stored by the failed creates.
    assert_eq!(s.ok("GET", "/rules", None).await, json!({"rules": []}));

    // An unknown rule is UnauthorizedException (401) for every operation naming it.
    let payload = json!({"sql": "SELECT * FROM 'a'", "actions": []});
    for (method, path, body) in [
        ("GET", "/rules/missing", None),
        ("PATCH", "/rules/missing", Some(payload.clone())),
        ("DELETE", "/rules/missing", None),
        ("POST", "/rules/missing/enable", None),
        ("POST", "/rules/missing/disable", None),
    ] {
        s.err(
            method,
            path,
            body,
            401,
            "UnauthorizedException",
            "Rule missing does not exist.",
        )
        .await;
    }

    // ruleName: ^[a-zA-Z0-9_]+$, 1..=128.
    s.err(
        "POST",
        "/rules/bad-name",
        Some(payload.clone()),
        400,
        "InvalidRequestException",
        "1 validation error detected: Value 'bad-name' at 'ruleName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$",
    )
    .await;
    let long = "r".repeat(129);
    s.err(
        "GET",
        &format!("/rules/{long}"),
        None,
        400,
        "InvalidRequestException",
        &format!(
            "1 validation error detected: Value '{long}' at 'ruleName' failed to satisfy constraint: Member must have length less than or equal to 128"
        ),
    )
    .await;
    s.ok(
        "POST",
        &format!("/rules/{}", "r".repeat(128)),
        Some(payload),
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn http_actions_create_their_destination_and_nulls_are_omitted() {
    let s = Server::start_rules().await;
    s.ok(
        "POST",
        "/rules/to_http",
        Some(json!({
            "sql": "SELECT * FROM 'in/#'",
            "description": null,
            "actions": [{"http": {"url": "https://example.com/in", "confirmationUrl": null}}],
            "errorAction": null
        })),
    )
    .await;
    let mut got = s.ok("GET", "/rules/to_http", None).await;
    got["rule"]["createdAt"] = json!(0);
    assert_eq!(
        got["rule"],
        json!({
            "ruleName": "to_http",
            "sql": "SELECT * FROM 'in/#'",
            "createdAt": 0,
            "actions": [{"http": {"url": "https://example.com/in"}}],
            "ruleDisabled": false,
            "awsIotSqlVersion": "2015-10-08"
        })
    );
    let list = s.ok("GET", "/destinations", None).await;
    let d = &list["destinationSummaries"];
    assert_eq!(d.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(d[0]["status"], "IN_PROGRESS");
    assert_eq!(
        d[0]["httpUrlSummary"],
        json!({"confirmationUrl": "https://example.com/in"})
    );
    s.err(
        "POST",
        "/rules/bad_http",
        Some(json!({
            "sql": "SELECT * FROM 'in/#'",
            "actions": [{"http": {"url": "https://other.example/x", "confirmationUrl": "https://example.com/"}}]
        })),
        400,
        "InvalidRequestException",
        "The url https://other.example/x does not start with the confirmationUrl https://example.com/.",
    )
    .await;
    s.stop().await;
}

/// The parser's message for `SELECT * FROM` (a FROM clause without its topic).
const SQL_PARSE_MESSAGE: &str =
    "Expected a token of type STRING (a quoted topic filter) but got EOF at 1:14";

#[tokio::test]
async fn rule_operations_need_rules() {
    let s = Server::start_with(Options::default()).await;
    for (method, path) in [
        ("GET", "/rules"),
        ("POST", "/rules/r1"),
        ("GET", "/destinations"),
        ("GET", "/confirmdestination/abc"),
    ] {
        s.err(
            method,
            path,
            Some(json!({})),
            404,
            "UnknownOperationException",
            "Topic rule operations are not configured on this server.",
        )
        .await;
    }
    s.stop().await;
}

/// Refuses one role, records every check.
struct Roles {
    seen: Mutex<Vec<(String, String)>>,
}

impl RoleChecker for Roles {
    fn check(&self, caller_arn: &str, role_arn: &str) -> Result<(), ApiError> {
        self.seen
            .lock()
            .unwrap()
            .push((caller_arn.to_owned(), role_arn.to_owned()));
        if role_arn.ends_with("/Forbidden") {
            Err(ApiError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: {caller_arn} is not authorized to perform: iam:PassRole on resource: {role_arn}"
                ),
            ))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn action_roles_are_passed_by_the_caller() {
    let roles = Arc::new(Roles {
        seen: Mutex::new(Vec::new()),
    });
    let s = Server::start_with(Options {
        role_checker: Some(roles.clone()),
        ..rules_options()
    })
    .await;
    let forbidden = "arn:aws:iam::123456789012:role/Forbidden";
    let other = "arn:aws:iam::123456789012:role/Other";
    let payload = |error_role: &str| {
        json!({
            "sql": "SELECT * FROM 'a/b'",
            "actions": [
                {"republish": {"roleArn": ROLE, "topic": "x"}},
                {"cloudwatchLogs": {"roleArn": ROLE, "logGroupName": "g"}},
                {"republish": {"roleArn": other, "topic": "y"}}
            ],
            "errorAction": {"republish": {"roleArn": error_role, "topic": "e"}}
        })
    };
    let e = s
        .failure(
            "POST",
            "/rules/guarded",
            &[],
            Some(payload(forbidden)),
            403,
            "AccessDeniedException",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains(forbidden), "{e}");
    let checked: Vec<(String, String)> = roles.seen.lock().unwrap().drain(..).collect();
    let role_list: Vec<&str> = checked.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        role_list,
        [ROLE, other, forbidden],
        "each distinct role once"
    );
    assert!(
        checked
            .iter()
            .all(|(c, _)| c == &format!("arn:aws:iam::{ACCOUNT}:root")),
        "{checked:?}"
    );
    s.err(
        "GET",
        "/rules/guarded",
        None,
        401,
        "UnauthorizedException",
        "Rule guarded does not exist.",
    )
    .await;

    s.ok("POST", "/rules/guarded", Some(payload(ROLE))).await;
    let checked: Vec<String> = roles
        .seen
        .lock()
        .unwrap()
        .drain(..)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(checked, [ROLE, other]);
    // ReplaceTopicRule checks too.
    s.failure(
        "PATCH",
        "/rules/guarded",
        &[],
        Some(payload(forbidden)),
        403,
        "AccessDeniedException",
    )
    .await;
    assert_eq!(
        s.ok("GET", "/rules/guarded", None).await["rule"]["errorAction"]["republish"]["roleArn"],
        ROLE,
        "the refused replace changed nothing"
    );
    s.stop().await;
}

/// The ARN as botocore puts it in a greedy label: `:` percent-encoded, `/` kept.
fn arn_path(arn: &str) -> String {
    arn.replace(':', "%3A")
}

#[tokio::test]
async fn destinations_round_trip_with_signed_confirmation() {
    let s = Server::start_rules().await;
    let url = "https://example.com/hook";
    let t0 = now_s();
    let mut created = s
        .ok(
            "POST",
            "/destinations",
            Some(json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": url}}})),
        )
        .await;
    let t1 = now_s();
    let d = &mut created["topicRuleDestination"];
    let arn = d["arn"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with(&format!(
            "arn:aws:iot:{REGION}:{ACCOUNT}:ruledestination/http/"
        )),
        "{arn}"
    );
    take_time(d, "createdAt", t0, t1);
    take_time(d, "lastUpdatedAt", t0, t1);
    assert_eq!(
        created,
        json!({"topicRuleDestination": {
            "arn": arn,
            "status": "IN_PROGRESS",
            "createdAt": 0,
            "lastUpdatedAt": 0,
            "httpUrlProperties": {"confirmationUrl": url}
        }})
    );
    let path = format!("/destinations/{}", arn_path(&arn));
    let mut got = s.ok("GET", &path, None).await;
    take_time(&mut got["topicRuleDestination"], "createdAt", t0, t1);
    take_time(&mut got["topicRuleDestination"], "lastUpdatedAt", t0, t1);
    assert_eq!(got, created);

    s.err(
        "POST",
        "/destinations",
        Some(
            json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": url}}}),
        ),
        409,
        "ResourceAlreadyExistsException",
        "A topic rule destination with confirmation URL https://example.com/hook already exists.",
    )
    .await;
    s.err(
        "POST",
        "/destinations",
        Some(json!({})),
        400,
        "InvalidRequestException",
        "1 validation error detected: Value null at 'destinationConfiguration' failed to satisfy constraint: Member must not be null",
    )
    .await;
    s.err(
        "POST",
        "/destinations",
        Some(json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": "ftp://x"}}})),
        400,
        "InvalidRequestException",
        "The confirmation URL ftp://x is not a valid HTTPS URL.",
    )
    .await;

    // Confirmation by token (ConfirmTopicRuleDestination, signed).
    let status = |v: &Value| {
        v["topicRuleDestination"]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    s.err(
        "GET",
        "/confirmdestination/not-a-token",
        None,
        400,
        "InvalidRequestException",
        "The confirmation token is not valid.",
    )
    .await;
    let token = s.rules.as_ref().unwrap().confirmation_token(&arn).unwrap();
    assert_eq!(
        s.ok("GET", &format!("/confirmdestination/{token}"), None)
            .await,
        json!({})
    );
    assert_eq!(status(&s.ok("GET", &path, None).await), "ENABLED");

    // UpdateTopicRuleDestination: DISABLED, then ENABLED again.
    let update = |st: &str| Some(json!({"arn": arn, "status": st}));
    assert_eq!(
        s.ok("PATCH", "/destinations", update("DISABLED")).await,
        json!({})
    );
    assert_eq!(status(&s.ok("GET", &path, None).await), "DISABLED");
    s.ok("PATCH", "/destinations", update("ENABLED")).await;
    assert_eq!(status(&s.ok("GET", &path, None).await), "ENABLED");
    s.err(
        "PATCH",
        "/destinations",
        update("ERROR"),
        400,
        "InvalidRequestException",
        &format!("The topic rule destination {arn} cannot go from ENABLED to ERROR."),
    )
    .await;
    s.err(
        "PATCH",
        "/destinations",
        update("ON"),
        400,
        "InvalidRequestException",
        "1 validation error detected: Value 'ON' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, IN_PROGRESS, DISABLED, ERROR, DELETING]",
    )
    .await;

    // ListTopicRuleDestinations, paginated.
    let url2 = "https://example.com/other";
    s.ok(
        "POST",
        "/destinations",
        Some(json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": url2}}})),
    )
    .await;
    let list = s.ok("GET", "/destinations", None).await;
    let summaries = list["destinationSummaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 2, "{list}");
    assert!(list.get("nextToken").is_none());
    let mine = summaries.iter().find(|d| d["arn"] == arn.as_str()).unwrap();
    let mut mine = mine.clone();
    take_time(&mut mine, "createdAt", t0, now_s());
    take_time(&mut mine, "lastUpdatedAt", t0, now_s());
    assert_eq!(
        mine,
        json!({
            "arn": arn,
            "status": "ENABLED",
            "createdAt": 0,
            "lastUpdatedAt": 0,
            "httpUrlSummary": {"confirmationUrl": url}
        })
    );
    let p1 = s.ok("GET", "/destinations?maxResults=1", None).await;
    let next = p1["nextToken"].as_str().unwrap();
    let p2 = s
        .ok(
            "GET",
            &format!("/destinations?maxResults=1&nextToken={next}"),
            None,
        )
        .await;
    assert!(p2.get("nextToken").is_none());
    let arns: Vec<&Value> = [&p1, &p2]
        .iter()
        .map(|p| &p["destinationSummaries"][0]["arn"])
        .collect();
    assert_eq!(
        arns,
        summaries.iter().map(|d| &d["arn"]).collect::<Vec<_>>(),
        "pages follow the list's order"
    );
    s.err(
        "GET",
        "/destinations?maxResults=1001",
        None,
        400,
        "InvalidRequestException",
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    )
    .await;

    // DeleteTopicRuleDestination; an unknown ARN is InvalidRequestException.
    assert_eq!(s.ok("DELETE", &path, None).await, json!({}));
    let gone = format!("Topic rule destination {arn} does not exist.");
    s.err("GET", &path, None, 400, "InvalidRequestException", &gone)
        .await;
    s.err("DELETE", &path, None, 400, "InvalidRequestException", &gone)
        .await;
    assert_eq!(
        s.ok("GET", "/destinations", None).await["destinationSummaries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    s.stop().await;
}

/// One confirmation POST as the receiver saw it.
#[derive(Debug)]
struct Received {
    uri: Uri,
    headers: HeaderMap,
    body: Value,
}

/// A loopback HTTP receiver: `POST /hook` answers 200, `POST /fail` 500; every POST is sent
/// on the channel.
async fn receiver() -> (LoopbackServer, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let record = move |ok: bool| {
        let tx = tx.clone();
        move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = tx.send(Received { uri, headers, body });
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            }
        }
    };
    let app = Router::new()
        .route("/hook", post(record(true)))
        .route("/fail", post(record(false)));
    let server = LoopbackServer::start(move |l, shutdown| async move {
        axum::serve(l, app).with_graceful_shutdown(shutdown).await
    })
    .await;
    (server, rx)
}

#[tokio::test]
async fn confirmation_message_and_unsigned_enable_url() {
    let (hook, mut posts) = receiver().await;
    let base = "http://iot.thingwatch.test:8443";
    let s = Server::start_with(Options {
        rules: Some(RulesSettings {
            enable_base_url: base.to_owned(),
        }),
        rules_http: true,
        confirm_route: true,
        ..Options::default()
    })
    .await;
    let url = format!("http://{}/hook", hook.addr());
    let created = s
        .ok(
            "POST",
            "/destinations",
            Some(json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": url}}})),
        )
        .await;
    let arn = created["topicRuleDestination"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let msg = tokio::time::timeout(Duration::from_secs(10), posts.recv())
        .await
        .expect("the confirmation is POSTed")
        .unwrap();
    assert_eq!(msg.uri.path(), "/hook");
    assert_eq!(
        msg.headers["x-amz-rules-engine-message-type"],
        "DestinationConfirmation"
    );
    assert_eq!(
        msg.headers["x-amz-rules-engine-destination-arn"],
        arn.as_str()
    );
    let token = msg.body["confirmationToken"].as_str().unwrap().to_owned();
    assert_eq!(
        msg.uri.query(),
        Some(format!("confirmationToken={token}").as_str())
    );
    let enable_url = format!("{base}/confirmdestination/{token}");
    assert_eq!(
        msg.body,
        json!({
            "arn": arn,
            "confirmationToken": token,
            "enableUrl": enable_url,
            "messageType": "DestinationConfirmation"
        })
    );

    // The enableUrl's path, fetched unsigned from the API port.
    let plain = reqwest::Client::new();
    let api = format!("http://{}", s.api.addr());
    let bad = plain
        .get(format!("{api}/confirmdestination/wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["x-amzn-errortype"], "InvalidRequestException");
    let bad: Value = serde_json::from_slice(&bad.bytes().await.unwrap()).unwrap();
    assert_eq!(bad["message"], "The confirmation token is not valid.");
    let dest_path = format!("/destinations/{}", arn_path(&arn));
    assert_eq!(
        s.ok("GET", &dest_path, None).await["topicRuleDestination"]["status"],
        "IN_PROGRESS",
        "a wrong token confirms nothing"
    );
    let resp = plain
        .get(format!("{api}/confirmdestination/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-amzn-requestid"));
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body, json!({}));
    assert_eq!(
        s.ok("GET", &dest_path, None).await["topicRuleDestination"]["status"],
        "ENABLED"
    );

    // A receiver that answers 500 puts its destination in ERROR with the reason.
    let failing = format!("http://{}/fail", hook.addr());
    let created = s
        .ok(
            "POST",
            "/destinations",
            Some(json!({"destinationConfiguration": {"httpUrlConfiguration": {"confirmationUrl": failing}}})),
        )
        .await;
    let arn2 = created["topicRuleDestination"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::timeout(Duration::from_secs(10), posts.recv())
        .await
        .expect("the second confirmation is POSTed")
        .unwrap();
    let path2 = format!("/destinations/{}", arn_path(&arn2));
    let mut d = Value::Null;
    for _ in 0..100 {
        d = s.ok("GET", &path2, None).await["topicRuleDestination"].clone();
        if d["status"] == "ERROR" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d["status"], "ERROR", "{d}");
    assert_eq!(d["statusReason"], "The confirmation URL answered HTTP 500.");
    s.stop().await;
    hook.stop().await;
}
