//! End-to-end tests of the CloudWatch Logs API through the real HTTP interface: a server on
//! 127.0.0.1:0 (via `serve`, with graceful shutdown), requests signed by the AWS SDK for
//! Rust's SigV4 signer (`aws-sigv4`, an independent implementation) and sent with reqwest.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use std::sync::Arc;

use thingwatch_http::{ApiState, StaticCredentials, serve};
use thingwatch_logs_api::LogsService;
use thingwatch_logstore::{LogStore, StoreOptions};
use thingwatch_test_support::aws::{Credentials, Request};
use thingwatch_test_support::server::ApiServer;
use thingwatch_test_support::{
    ACCOUNT, REGION, ROOT_AKID as AKID, ROOT_SECRET as SECRET, temp_dir,
};

type Server = ApiServer;

/// A server over a log store in a fresh temp dir, serving CloudWatch Logs with the root key
/// as its only credentials.
async fn start_logs() -> Server {
    start_logs_with(|s| s).await
}

/// As [`start_logs`], the state adjusted by `f`.
async fn start_logs_with(f: impl FnOnce(ApiState) -> ApiState) -> Server {
    let dir = temp_dir();
    let store = LogStore::open(dir.path(), StoreOptions::default()).unwrap();
    let creds = Arc::new(StaticCredentials::root(AKID, SECRET, ACCOUNT));
    let logs = LogsService::new(store, ACCOUNT.to_owned(), REGION.to_owned());
    let state = f(ApiState::new(creds, ACCOUNT, REGION).with_service("logs", Arc::new(logs)));
    ApiServer::start(dir, move |l, sd| serve(l, state, sd)).await
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

impl Reply {
    fn error_type(&self) -> &str {
        self.json["__type"].as_str().unwrap_or("")
    }
    fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or("")
    }
}

/// Sends `request`; the answer's body is JSON (or empty: `null`) and it carries a UUID
/// `x-amzn-RequestId`.
async fn send(server: &Server, request: Request) -> Reply {
    let resp = server.aws.send(request).await;
    let json = if resp.body.is_empty() {
        Value::Null
    } else {
        resp.json()
    };
    let rid = resp
        .request_id()
        .expect("every response carries x-amzn-RequestId");
    assert!(
        uuid::Uuid::parse_str(rid).is_ok(),
        "request id {rid} is a UUID"
    );
    Reply {
        status: resp.status,
        headers: resp.headers,
        json,
    }
}

async fn logs(server: &Server, op: &str, body: Value) -> Reply {
    send(server, Request::logs(op, &body)).await
}

/// Calls a Logs operation that must succeed and returns its JSON output.
async fn ok(server: &Server, op: &str, body: Value) -> Value {
    let r = logs(server, op, body).await;
    assert_eq!(r.status, 200, "{op}: {}", r.json);
    assert_eq!(
        r.headers["content-type"], "application/x-amz-json-1.1",
        "{op} content type"
    );
    r.json
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test]
async fn every_logs_operation_happy_path() {
    let s = start_logs().await;
    let before = now_ms();
    assert_eq!(
        ok(
            &s,
            "CreateLogGroup",
            json!({"logGroupName": "AWSIotLogsV2"})
        )
        .await,
        json!({})
    );
    let groups = ok(
        &s,
        "DescribeLogGroups",
        json!({"logGroupNamePrefix": "AWSIot"}),
    )
    .await;
    let g = &groups["logGroups"][0];
    assert_eq!(g["logGroupName"], "AWSIotLogsV2");
    assert_eq!(
        g["arn"],
        "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2:*"
    );
    assert_eq!(
        g["logGroupArn"],
        "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2"
    );
    let created = g["creationTime"].as_i64().unwrap();
    assert!(
        created >= before - 1000 && created <= now_ms() + 1000,
        "{created}"
    );
    assert_eq!(g["storedBytes"], 0);
    assert!(
        g.get("retentionInDays").is_none(),
        "absent members are omitted: {g}"
    );
    assert!(groups.get("nextToken").is_none(), "{groups}");
    assert!(
        !groups.to_string().contains("null"),
        "no nulls on the wire: {groups}"
    );

    ok(
        &s,
        "CreateLogStream",
        json!({"logGroupName": "AWSIotLogsV2", "logStreamName": "stream1"}),
    )
    .await;
    let t = now_ms() - 10_000;
    let put = ok(
        &s,
        "PutLogEvents",
        json!({"logGroupName": "AWSIotLogsV2", "logStreamName": "stream1", "logEvents": [
            {"timestamp": t, "message": "{\"logLevel\":\"INFO\",\"eventType\":\"Connect\"}"},
            {"timestamp": t + 1, "message": "hello"},
            {"timestamp": t + 2, "message": "{\"logLevel\":\"ERROR\",\"eventType\":\"Disconnect\"}"}
        ]}),
    )
    .await;
    assert!(
        put["nextSequenceToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{put}"
    );
    assert!(put.get("rejectedLogEventsInfo").is_none(), "{put}");

    let streams = ok(
        &s,
        "DescribeLogStreams",
        json!({"logGroupName": "AWSIotLogsV2"}),
    )
    .await;
    let st = &streams["logStreams"][0];
    assert_eq!(st["logStreamName"], "stream1");
    assert_eq!(
        st["arn"],
        "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2:log-stream:stream1"
    );
    assert_eq!(st["firstEventTimestamp"], t);
    assert_eq!(st["lastEventTimestamp"], t + 2);

    let got = ok(
        &s,
        "GetLogEvents",
        json!({"logGroupName": "AWSIotLogsV2", "logStreamName": "stream1", "startFromHead": true}),
    )
    .await;
    let msgs: Vec<&str> = got["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[1], "hello");
    assert_eq!(got["events"][0]["timestamp"], t);
    assert!(got["events"][0]["ingestionTime"].as_i64().unwrap() >= before);
    assert!(got["nextForwardToken"].as_str().unwrap().starts_with("f/"));
    assert!(got["nextBackwardToken"].as_str().unwrap().starts_with("b/"));

    // logGroupIdentifier as a name or an ARN.
    for id in [
        "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2",
        "AWSIotLogsV2",
    ] {
        let got = ok(
            &s,
            "GetLogEvents",
            json!({"logGroupIdentifier": id, "logStreamName": "stream1", "startFromHead": true}),
        )
        .await;
        assert_eq!(got["events"].as_array().unwrap().len(), 3, "{id}");
    }
    // The model's LogGroupIdentifier pattern `[\w#+=/:,.@-]*` has no `*`: the `arn` form
    // with a trailing `:*` is refused, as AWS refuses it.
    let r = logs(
        &s,
        "GetLogEvents",
        json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2:*", "logStreamName": "stream1"}),
    )
    .await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "InvalidParameterException")
    );

    let filtered = ok(
        &s,
        "FilterLogEvents",
        json!({"logGroupName": "AWSIotLogsV2", "filterPattern": "{ $.eventType = \"Connect\" }", "startTime": t - 1}),
    )
    .await;
    let events = filtered["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{filtered}");
    assert_eq!(events[0]["logStreamName"], "stream1");
    assert!(events[0]["eventId"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(filtered["searchedLogStreams"], json!([]));
    assert!(filtered.get("nextToken").is_none(), "{filtered}");

    ok(
        &s,
        "DeleteLogStream",
        json!({"logGroupName": "AWSIotLogsV2", "logStreamName": "stream1"}),
    )
    .await;
    let streams = ok(
        &s,
        "DescribeLogStreams",
        json!({"logGroupName": "AWSIotLogsV2"}),
    )
    .await;
    assert_eq!(streams["logStreams"], json!([]));
    ok(
        &s,
        "DeleteLogGroup",
        json!({"logGroupName": "AWSIotLogsV2"}),
    )
    .await;
    let groups = ok(&s, "DescribeLogGroups", json!({})).await;
    assert_eq!(groups["logGroups"], json!([]));
    s.stop().await;
}

#[tokio::test]
async fn pagination_across_pages() {
    let s = start_logs().await;
    for i in 0..5 {
        ok(
            &s,
            "CreateLogGroup",
            json!({"logGroupName": format!("g{i}")}),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"limit": 2});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = ok(&s, "DescribeLogGroups", body).await;
        pages += 1;
        for g in page["logGroups"].as_array().unwrap() {
            names.push(g["logGroupName"].as_str().unwrap().to_owned());
        }
        match page.get("nextToken") {
            Some(t) => token = Some(t.as_str().unwrap().to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination terminates");
    }
    assert_eq!(names, ["g0", "g1", "g2", "g3", "g4"]);
    assert_eq!(pages, 3);

    ok(
        &s,
        "CreateLogStream",
        json!({"logGroupName": "g0", "logStreamName": "a"}),
    )
    .await;
    ok(
        &s,
        "CreateLogStream",
        json!({"logGroupName": "g0", "logStreamName": "b"}),
    )
    .await;
    let t = now_ms() - 60_000;
    for (stream, offs) in [("a", [0, 2, 4]), ("b", [1, 3, 5])] {
        let events: Vec<Value> = offs
            .iter()
            .map(|o| json!({"timestamp": t + o, "message": format!("ERROR {stream}{o}")}))
            .collect();
        ok(
            &s,
            "PutLogEvents",
            json!({"logGroupName": "g0", "logStreamName": stream, "logEvents": events}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..20 {
        let mut body = json!({"logGroupName": "g0", "filterPattern": "ERROR", "limit": 2});
        if let Some(tk) = &token {
            body["nextToken"] = json!(tk);
        }
        let page = ok(&s, "FilterLogEvents", body).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 2, "limit honoured: {page}");
        seen.extend(
            events
                .iter()
                .map(|e| e["message"].as_str().unwrap().to_owned()),
        );
        match page.get("nextToken") {
            Some(tk) => token = Some(tk.as_str().unwrap().to_owned()),
            None => {
                token = None;
                break;
            }
        }
    }
    assert!(token.is_none(), "filter pagination ends without nextToken");
    assert_eq!(
        seen,
        [
            "ERROR a0", "ERROR b1", "ERROR a2", "ERROR b3", "ERROR a4", "ERROR b5"
        ]
    );
    s.stop().await;
}

#[tokio::test]
async fn validation_and_resource_errors() {
    let s = start_logs().await;
    ok(&s, "CreateLogGroup", json!({"logGroupName": "grp"})).await;
    let long = "a".repeat(513);
    // (operation, body, __type, exact message or "~substring")
    let table: Vec<(&str, Value, &str, String)> = vec![
        (
            "CreateLogGroup",
            json!({"logGroupName": "bad name"}),
            "InvalidParameterException",
            r"1 validation error detected: Value 'bad name' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+".to_owned(),
        ),
        (
            "CreateLogGroup",
            json!({}),
            "InvalidParameterException",
            "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null".to_owned(),
        ),
        (
            "CreateLogGroup",
            json!({"logGroupName": long}),
            "InvalidParameterException",
            "~Member must have length less than or equal to 512".to_owned(),
        ),
        (
            "CreateLogStream",
            json!({"logGroupName": "grp", "logStreamName": "a:b"}),
            "InvalidParameterException",
            "1 validation error detected: Value 'a:b' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*".to_owned(),
        ),
        (
            "DescribeLogGroups",
            json!({"limit": 51}),
            "InvalidParameterException",
            "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50".to_owned(),
        ),
        (
            "DescribeLogGroups",
            json!({"limit": 0}),
            "InvalidParameterException",
            "~Member must have value greater than or equal to 1".to_owned(),
        ),
        (
            "DescribeLogStreams",
            json!({"logGroupName": "grp", "orderBy": "Size"}),
            "InvalidParameterException",
            "~Member must satisfy enum value set: [LogStreamName, LastEventTime]".to_owned(),
        ),
        (
            "DescribeLogStreams",
            json!({"logGroupName": "grp", "logGroupIdentifier": "grp"}),
            "InvalidParameterException",
            "~mutually exclusive".to_owned(),
        ),
        (
            "GetLogEvents",
            json!({"logGroupName": "grp"}),
            "InvalidParameterException",
            "~Value null at 'logStreamName'".to_owned(),
        ),
        (
            "GetLogEvents",
            json!({"logGroupName": "grp", "logStreamName": "s", "limit": 10001}),
            "InvalidParameterException",
            "~Member must have value less than or equal to 10000".to_owned(),
        ),
        (
            "PutLogEvents",
            json!({"logGroupName": "grp", "logStreamName": "s", "logEvents": []}),
            "InvalidParameterException",
            "~Member must have length greater than or equal to 1".to_owned(),
        ),
        (
            "PutLogEvents",
            json!({"logGroupName": "grp", "logStreamName": "s", "logEvents": [{"timestamp": 1, "message": ""}]}),
            "InvalidParameterException",
            "~at 'logEvents.1.member.message'".to_owned(),
        ),
        (
            "FilterLogEvents",
            json!({"logGroupName": "grp", "filterPattern": "{ $.a = "}),
            "InvalidParameterException",
            "~".to_owned(),
        ),
        (
            "FilterLogEvents",
            json!({"logGroupName": "grp", "logStreamNames": ["a"], "logStreamNamePrefix": "a"}),
            "InvalidParameterException",
            "~mutually exclusive".to_owned(),
        ),
        (
            "DescribeLogStreams",
            json!({"logGroupName": "nope"}),
            "ResourceNotFoundException",
            "The specified log group does not exist.".to_owned(),
        ),
        (
            "FilterLogEvents",
            json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:999999999999:log-group:grp"}),
            "ResourceNotFoundException",
            "The specified log group does not exist.".to_owned(),
        ),
        (
            "GetLogEvents",
            json!({"logGroupName": "grp", "logStreamName": "nope"}),
            "ResourceNotFoundException",
            "The specified log stream does not exist.".to_owned(),
        ),
        (
            "CreateLogGroup",
            json!({"logGroupName": "grp"}),
            "ResourceAlreadyExistsException",
            "~already exists".to_owned(),
        ),
        (
            "DescribeLogGroups",
            json!({"nextToken": "garbage"}),
            "InvalidParameterException",
            "~nextToken".to_owned(),
        ),
        (
            "DescribeLogGroups",
            json!({"limit": "ten"}),
            "SerializationException",
            "~".to_owned(),
        ),
        (
            "NoSuchOperation",
            json!({}),
            "UnknownOperationException",
            "~NoSuchOperation".to_owned(),
        ),
    ];
    for (op, body, code, message) in table {
        let r = logs(&s, op, body.clone()).await;
        assert_eq!(r.status, 400, "{op} {body}: {}", r.json);
        assert_eq!(r.error_type(), code, "{op} {body}: {}", r.json);
        assert_eq!(r.headers["content-type"], "application/x-amz-json-1.1");
        match message.strip_prefix('~') {
            Some(sub) => assert!(r.message().contains(sub), "{op}: {}", r.message()),
            None => assert_eq!(r.message(), message, "{op}"),
        }
        assert!(!r.message().is_empty(), "{op}: message present");
    }
    s.stop().await;
}

#[tokio::test]
async fn put_log_events_reports_rejected_events() {
    let s = start_logs().await;
    ok(&s, "CreateLogGroup", json!({"logGroupName": "g"})).await;
    ok(
        &s,
        "CreateLogStream",
        json!({"logGroupName": "g", "logStreamName": "s"}),
    )
    .await;
    let now = now_ms();
    let old = now - 15 * 24 * 3600 * 1000;
    let put = ok(
        &s,
        "PutLogEvents",
        json!({"logGroupName": "g", "logStreamName": "s", "sequenceToken": "ignored", "logEvents": [
            {"timestamp": old, "message": "too old"},
            {"timestamp": now, "message": "fine"}
        ]}),
    )
    .await;
    assert_eq!(
        put["rejectedLogEventsInfo"],
        json!({"tooOldLogEventEndIndex": 0}),
        "{put}"
    );
    // Out-of-order batch: the store's batch rule, reported as InvalidParameterException.
    let r = logs(
        &s,
        "PutLogEvents",
        json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [
            {"timestamp": now, "message": "b"}, {"timestamp": now - 5, "message": "a"}
        ]}),
    )
    .await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "InvalidParameterException")
    );
    s.stop().await;
}

#[tokio::test]
async fn authentication_failures() {
    let s = start_logs().await;
    let body = json!({});

    let c = Request::logs("DescribeLogGroups", &body)
        .signed_with(Credentials::new(AKID, "not-the-secret"));
    let r = send(&s, c).await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "InvalidSignatureException")
    );
    assert_eq!(
        r.message(),
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    );

    let c = Request::logs("DescribeLogGroups", &body)
        .signed_with(Credentials::new("AKIDUNKNOWN", SECRET));
    let r = send(&s, c).await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "UnrecognizedClientException")
    );
    assert_eq!(
        r.message(),
        "The security token included in the request is invalid."
    );

    let c = Request::logs("DescribeLogGroups", &body).unsigned();
    let r = send(&s, c).await;
    assert_eq!(
        (r.status, r.error_type()),
        (403, "MissingAuthenticationTokenException")
    );
    assert_eq!(r.message(), "Missing Authentication Token");

    let c = Request::logs("DescribeLogGroups", &body)
        .signed_at(SystemTime::now() - Duration::from_secs(20 * 60));
    let r = send(&s, c).await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "InvalidSignatureException")
    );
    assert!(
        r.message().starts_with("Signature expired: ") && r.message().ends_with(" - 15 min.)"),
        "{}",
        r.message()
    );

    let c = Request::logs("DescribeLogGroups", &body)
        .signed_at(SystemTime::now() + Duration::from_secs(20 * 60));
    let r = send(&s, c).await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "InvalidSignatureException")
    );
    assert!(
        r.message().starts_with("Signature not yet current: "),
        "{}",
        r.message()
    );
    s.stop().await;
}

#[tokio::test]
async fn malformed_json_and_oversized_bodies() {
    let s = start_logs_with(|st| st.with_max_body_bytes(64 * 1024)).await;
    let c = Request::logs("DescribeLogGroups", &json!({})).body(b"{\"limit\": 5".to_vec());
    let r = send(&s, c).await;
    assert_eq!((r.status, r.error_type()), (400, "SerializationException"));

    let c = Request::logs("DescribeLogGroups", &json!({})).body(b"[1,2,3]".to_vec());
    let r = send(&s, c).await;
    assert_eq!((r.status, r.error_type()), (400, "SerializationException"));

    let big = json!({"logGroupName": "g", "logStreamName": "s",
        "logEvents": [{"timestamp": 1, "message": "x".repeat(100 * 1024)}]});
    let r = send(&s, Request::logs("PutLogEvents", &big)).await;
    assert_eq!(
        (r.status, r.error_type()),
        (413, "RequestEntityTooLargeException")
    );
    s.stop().await;

    // The default limit accepts a maximal 1 MiB PutLogEvents batch.
    let s = start_logs().await;
    ok(&s, "CreateLogGroup", json!({"logGroupName": "g"})).await;
    ok(
        &s,
        "CreateLogStream",
        json!({"logGroupName": "g", "logStreamName": "s"}),
    )
    .await;
    let t = now_ms();
    let events: Vec<Value> = (0..1000)
        .map(|i| json!({"timestamp": t, "message": format!("{i:04}{}", "\"q\"".repeat(339))}))
        .collect();
    let put = ok(
        &s,
        "PutLogEvents",
        json!({"logGroupName": "g", "logStreamName": "s", "logEvents": events}),
    )
    .await;
    assert!(put.get("rejectedLogEventsInfo").is_none());
    let r = send(
        &s,
        Request::logs(
            "PutLogEvents",
            &json!({"logGroupName": "g", "logStreamName": "s",
                "logEvents": [{"timestamp": 1, "message": "x".repeat(5 * 1024 * 1024)}]}),
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.error_type()),
        (413, "RequestEntityTooLargeException")
    );
    s.stop().await;
}

#[tokio::test]
async fn services_not_implemented_answer_in_their_protocol() {
    let s = start_logs().await;
    // rest-json (iot): 404 + x-amzn-ErrorType.
    let r = send(&s, Request::new("iot", "GET", "/things/myThing")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["x-amzn-errortype"], "UnknownOperationException");
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.message().contains("'iot'"), "{}", r.json);
    // rest-json authentication failures are 403.
    let r = send(
        &s,
        Request::new("iot", "GET", "/things/myThing")
            .signed_with(Credentials::new("AKIDUNKNOWN", SECRET)),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.headers["x-amzn-errortype"], "UnrecognizedClientException");
    // CloudWatch JSON 1.0 query-compatible: x-amzn-query-error.
    let r = send(
        &s,
        Request::aws_json(
            "monitoring",
            "1.0",
            "GraniteServiceVersion20100801.ListMetrics",
            &json!({}),
        )
        .header("x-amzn-query-mode", "true"),
    )
    .await;
    assert_eq!(
        (r.status, r.error_type()),
        (400, "UnknownOperationException")
    );
    assert_eq!(
        r.headers["x-amzn-query-error"],
        "UnknownOperationException;Sender"
    );
    assert_eq!(r.headers["content-type"], "application/x-amz-json-1.0");
    s.stop().await;
}
