//! The audit trail in the whole server (booted in process on loopback), through SigV4-signed
//! HTTP in every protocol the APIs speak: each management call is one CloudTrail record
//! carrying the request ID the caller got, refused calls carry their error, data-plane calls
//! are not recorded, secrets never are, and the stopped server's store verifies.

use serde_json::{Value, json};
use thingwatch_server::{Server, ServerConfig};
use thingwatch_test_support::aws::{AwsClient, Credentials, Request, Response};

const TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

async fn start() -> (tempfile::TempDir, Server, AwsClient) {
    let dir = thingwatch_test_support::temp_dir();
    let server = Server::start(ServerConfig::loopback(dir.path()))
        .await
        .expect("server starts");
    let client = AwsClient::new(
        server.http_addr,
        Credentials::new(
            &server.credentials.access_key_id,
            &server.credentials.secret_access_key,
        ),
    );
    (dir, server, client)
}

fn cloudtrail(op: &str, body: &Value) -> Request {
    Request::aws_json("cloudtrail", "1.1", &format!("{TARGET}.{op}"), body)
}

async fn lookup(client: &AwsClient, key: &str, value: &str) -> Vec<Value> {
    let r = client
        .send(cloudtrail(
            "LookupEvents",
            &json!({"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["Events"].as_array().unwrap().clone()
}

fn record(event: &Value) -> Value {
    serde_json::from_str(event["CloudTrailEvent"].as_str().unwrap()).unwrap()
}

fn ok(r: &Response) {
    assert!(r.status < 300, "{} {}", r.status, r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_management_call_is_recorded_with_the_callers_request_id() {
    let (_dir, server, client) = start().await;
    // rest-json (iot): path label + body.
    let created = client
        .send(Request::rest_json(
            "iot",
            "POST",
            "/things/audited",
            Some(&json!({"attributePayload": {"attributes": {"k": "v"}}})),
        ))
        .await;
    ok(&created);
    // awsQuery (iam) with an XML answer, JSON 1.0 (monitoring), JSON 1.1 (logs).
    ok(&client
        .send(Request::query(
            "iam",
            &[
                ("Action", "CreateUser"),
                ("Version", "2010-05-08"),
                ("UserName", "carol"),
            ],
        ))
        .await);
    ok(&client
        .send(Request::aws_json(
            "monitoring",
            "1.0",
            "GraniteServiceVersion20100801.PutMetricAlarm",
            &json!({"AlarmName": "hot", "MetricName": "M", "Namespace": "N", "Statistic": "Sum",
                    "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
                    "ComparisonOperator": "GreaterThanThreshold"}),
        ))
        .await);
    ok(&client
        .send(Request::logs(
            "CreateLogGroup",
            &json!({"logGroupName": "audited-group"}),
        ))
        .await);
    ok(&client
        .send(Request::logs(
            "CreateLogStream",
            &json!({"logGroupName": "audited-group", "logStreamName": "s"}),
        ))
        .await);
    // Data plane: not recorded.
    ok(&client
        .send(Request::new("iotdata", "POST", "/topics/dt%2Fa?qos=0").body(b"{}".to_vec()))
        .await);
    ok(&client
        .send(Request::logs(
            "PutLogEvents",
            &json!({"logGroupName": "audited-group", "logStreamName": "s",
                    "logEvents": [{"timestamp": thingwatch_events::now_ms(), "message": "m"}]}),
        ))
        .await);

    let events = lookup(&client, "EventName", "CreateThing").await;
    assert_eq!(events.len(), 1);
    let r = record(&events[0]);
    assert_eq!(r["requestID"], created.request_id().unwrap());
    assert_eq!(r["sourceIPAddress"], "127.0.0.1");
    assert_eq!(r["userIdentity"]["type"], "Root");
    assert_eq!(
        r["userIdentity"]["accessKeyId"],
        server.credentials.access_key_id
    );
    assert_eq!(
        r["requestParameters"],
        json!({"thingName": "audited", "attributePayload": {"attributes": {"k": "v"}}})
    );
    assert_eq!(r["responseElements"]["thingName"], "audited");
    assert_eq!(events[0]["ReadOnly"], "false");

    let user = lookup(&client, "EventName", "CreateUser").await;
    let r = record(&user[0]);
    assert_eq!(r["eventSource"], "iam.amazonaws.com");
    assert_eq!(r["requestParameters"], json!({"userName": "carol"}));
    assert_eq!(r["responseElements"]["user"]["userName"], "carol");
    assert_eq!(
        user[0]["Resources"],
        json!([{"ResourceType": "AWS::IAM::User", "ResourceName": "carol"}])
    );

    let alarm = record(&lookup(&client, "EventName", "PutMetricAlarm").await[0]);
    assert_eq!(alarm["eventSource"], "monitoring.amazonaws.com");
    assert_eq!(alarm["requestParameters"]["alarmName"], "hot");

    let group = record(&lookup(&client, "EventName", "CreateLogGroup").await[0]);
    assert_eq!(
        group["requestParameters"],
        json!({"logGroupName": "audited-group"})
    );

    assert!(lookup(&client, "EventName", "Publish").await.is_empty());
    assert!(
        lookup(&client, "EventName", "PutLogEvents")
            .await
            .is_empty()
    );
    assert!(
        lookup(&client, "EventSource", "iotdata.amazonaws.com")
            .await
            .is_empty()
    );
    // LookupEvents itself is a (read-only) management call: recorded too.
    let lookups = lookup(&client, "EventName", "LookupEvents").await;
    assert!(!lookups.is_empty());
    assert_eq!(lookups[0]["ReadOnly"], "true");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_calls_are_recorded_and_secrets_never_are() {
    let (dir, server, client) = start().await;
    let keys = client
        .send(Request::rest_json(
            "iot",
            "POST",
            "/keys-and-certificate?setAsActive=true",
            None,
        ))
        .await;
    ok(&keys);
    let private_key = keys.json()["keyPair"]["PrivateKey"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&client
        .send(Request::query(
            "iam",
            &[
                ("Action", "CreateUser"),
                ("Version", "2010-05-08"),
                ("UserName", "dave"),
            ],
        ))
        .await);
    let key = client
        .send(Request::query(
            "iam",
            &[
                ("Action", "CreateAccessKey"),
                ("Version", "2010-05-08"),
                ("UserName", "dave"),
            ],
        ))
        .await;
    ok(&key);
    let id =
        key.xml("CreateAccessKeyResponse/CreateAccessKeyResult/AccessKey/AccessKeyId")[0].clone();
    let secret = key.xml("CreateAccessKeyResponse/CreateAccessKeyResult/AccessKey/SecretAccessKey")
        [0]
    .clone();
    let dave = client.with_credentials(Credentials::new(&id, &secret));
    let denied = dave
        .send(Request::rest_json("iot", "GET", "/things", None))
        .await;
    assert_eq!(denied.error_type(), Some("AccessDeniedException"));
    let forged = client
        .with_credentials(Credentials::new(&id, "wrong-secret-wrong-secret-wrong"))
        .send(Request::rest_json("iot", "GET", "/things/x", None))
        .await;
    assert_eq!(forged.error_type(), Some("InvalidSignatureException"));
    let unknown = client
        .with_credentials(Credentials::new(
            "AKIAUNKNOWNUNKNOWN00",
            "x".repeat(40).as_str(),
        ))
        .send(Request::rest_json("iot", "GET", "/things", None))
        .await;
    assert_eq!(unknown.error_type(), Some("UnrecognizedClientException"));

    let by_dave = lookup(&client, "Username", "dave").await;
    let names: Vec<_> = by_dave
        .iter()
        .map(|e| e["EventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["DescribeThing", "ListThings"], "newest first");
    let listed = record(&by_dave[1]);
    assert_eq!(listed["errorCode"], "AccessDeniedException");
    assert_eq!(listed["requestID"], denied.request_id().unwrap());
    assert_eq!(listed["userIdentity"]["type"], "IAMUser");
    assert_eq!(listed["userIdentity"]["userName"], "dave");
    assert!(
        listed["errorMessage"]
            .as_str()
            .unwrap()
            .contains("iot:ListThings")
    );
    assert_eq!(
        record(&by_dave[0])["errorCode"],
        "InvalidSignatureException"
    );
    assert!(
        lookup(&client, "AccessKeyId", "AKIAUNKNOWNUNKNOWN00")
            .await
            .is_empty(),
        "an unknown key names nobody: not recorded"
    );

    let everything = client
        .send(cloudtrail("LookupEvents", &json!({})))
        .await
        .text();
    let body_line = private_key.lines().nth(1).unwrap();
    assert!(
        !everything.contains(body_line),
        "the private key is recorded"
    );
    assert!(
        !everything.contains(&secret),
        "a secret access key is recorded"
    );
    assert!(!everything.contains(&server.credentials.secret_access_key));
    assert!(everything.contains("HIDDEN_DUE_TO_SECURITY_REASONS"));

    let data_dir = dir.path().to_path_buf();
    server.stop().await.unwrap();
    let report = thingwatch_audit::verify_dir(&data_dir, None, None, None).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(report.records_checked >= 8, "{report:?}");
    assert_eq!(report.unsealed_records, 0, "the stop sealed everything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_events_refuses_bad_input_the_aws_way() {
    let (_dir, server, client) = start().await;
    let cases = [
        (
            json!({"LookupAttributes": [
                {"AttributeKey": "EventName", "AttributeValue": "A"},
                {"AttributeKey": "Username", "AttributeValue": "B"}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "red"}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]}),
            "InvalidLookupAttributesException",
        ),
        (
            json!({"StartTime": 200, "EndTime": 100}),
            "InvalidTimeRangeException",
        ),
        (json!({"MaxResults": 0}), "InvalidMaxResultsException"),
        (json!({"MaxResults": 51}), "InvalidMaxResultsException"),
        (json!({"NextToken": "bm9wZQ"}), "InvalidNextTokenException"),
        (
            json!({"EventCategory": "data"}),
            "InvalidEventCategoryException",
        ),
        (json!({"MaxResults": "ten"}), "SerializationException"),
    ];
    for (body, code) in cases {
        let r = client.send(cloudtrail("LookupEvents", &body)).await;
        assert_eq!(r.status, 400, "{body} → {}", r.text());
        assert_eq!(r.json()["__type"], code, "{body} → {}", r.text());
    }
    // A token is bound to its query.
    for i in 0..3 {
        ok(&client
            .send(Request::rest_json(
                "iot",
                "POST",
                &format!("/things/t{i}"),
                None,
            ))
            .await);
    }
    let page = client
        .send(cloudtrail(
            "LookupEvents",
            &json!({"MaxResults": 1, "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateThing"}]}),
        ))
        .await
        .json();
    let token = page["NextToken"].as_str().unwrap();
    let other = client
        .send(cloudtrail(
            "LookupEvents",
            &json!({"NextToken": token, "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "DeleteThing"}]}),
        ))
        .await;
    assert_eq!(other.json()["__type"], "InvalidNextTokenException");
    let next = client
        .send(cloudtrail(
            "LookupEvents",
            &json!({"NextToken": token, "MaxResults": 5, "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateThing"}]}),
        ))
        .await
        .json();
    assert_eq!(next["Events"].as_array().unwrap().len(), 2);
    assert!(next.get("NextToken").is_none());
    server.stop().await.unwrap();
}
