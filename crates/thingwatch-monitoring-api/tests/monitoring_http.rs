//! The CloudWatch API through the real HTTP interface (a loopback server, SigV4-signed
//! requests) in its three protocols — AWS JSON 1.0, awsQuery and Smithy RPC v2 CBOR — each
//! a separate serializer, so each is exercised on its own; plus the raw requests captured
//! from botocore (awsQuery, CBOR, gzip JSON) replayed byte for byte.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use thingwatch_aws::Scope;
use thingwatch_http::{ApiState, FixedClock, StaticCredentials, serve};
use thingwatch_metrics::MetricStore;
use thingwatch_metrics::alarms::Alarms;
use thingwatch_metrics::dashboards::Dashboards;
use thingwatch_monitoring_api::MonitoringService;
use thingwatch_test_support::aws::{Request, Response};
use thingwatch_test_support::server::ApiServer;
use thingwatch_test_support::{ACCOUNT, REGION, ROOT_AKID, ROOT_SECRET, temp_dir};

const TARGET: &str = "GraniteServiceVersion20100801";

fn service(dir: &std::path::Path) -> MonitoringService {
    let store = MetricStore::open(&dir.join("metrics")).unwrap();
    let alarms = Alarms::open(
        &dir.join("metrics"),
        store.clone(),
        Scope::new(ACCOUNT, REGION),
    )
    .unwrap();
    let dashboards = Arc::new(Dashboards::open(&dir.join("metrics")).unwrap());
    MonitoringService::new(store, alarms, dashboards, ACCOUNT)
}

async fn start() -> ApiServer {
    let dir = temp_dir();
    let creds = Arc::new(StaticCredentials::root(ROOT_AKID, ROOT_SECRET, ACCOUNT));
    let state = ApiState::new(creds, ACCOUNT, REGION)
        .with_service("monitoring", Arc::new(service(dir.path())));
    ApiServer::start(dir, move |l, sd| serve(l, state, sd)).await
}

fn now_s() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn json_req(op: &str, body: &Value) -> Request {
    Request::aws_json("monitoring", "1.0", &format!("{TARGET}.{op}"), body)
        .header("x-amzn-query-mode", "true")
}

fn query_req(op: &str, params: &[(&str, &str)]) -> Request {
    let mut form = vec![("Action", op), ("Version", "2010-08-01")];
    form.extend_from_slice(params);
    Request::query("monitoring", &form)
}

fn cbor_req(op: &str, body: &ciborium::Value) -> Request {
    let mut bytes = Vec::new();
    ciborium::into_writer(body, &mut bytes).unwrap();
    Request::new(
        "monitoring",
        "POST",
        &format!("/service/{TARGET}/operation/{op}"),
    )
    .headers(&[
        ("smithy-protocol", "rpc-v2-cbor"),
        ("content-type", "application/cbor"),
        ("accept", "application/cbor"),
        ("x-amzn-query-mode", "true"),
    ])
    .body(bytes)
}

fn cbor_body(resp: &Response) -> ciborium::Value {
    ciborium::from_reader(&resp.body[..]).unwrap_or_else(|e| panic!("not CBOR ({e})"))
}

fn cbor_get<'a>(v: &'a ciborium::Value, key: &str) -> Option<&'a ciborium::Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

fn cmap(pairs: Vec<(&str, ciborium::Value)>) -> ciborium::Value {
    ciborium::Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

fn ctime(secs: i64) -> ciborium::Value {
    ciborium::Value::Tag(1, Box::new(secs.into()))
}

async fn put(server: &ApiServer, name: &str, values: &[f64], at: i64) {
    let data: Vec<Value> = values
        .iter()
        .map(|v| {
            json!({"MetricName": name, "Value": v, "Unit": "Count", "Timestamp": at,
                   "Dimensions": [{"Name": "Thing", "Value": "t1"}]})
        })
        .collect();
    let r = server
        .aws
        .send(json_req(
            "PutMetricData",
            &json!({"Namespace": "Custom", "MetricData": data}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn statistics_read_the_same_in_all_three_protocols() {
    let server = start().await;
    let minute = (now_s() / 60 - 5) * 60;
    put(&server, "M1", &[1.0, 2.0, 3.0, 10.0], minute + 5).await;
    put(&server, "M1", &[4.0], minute + 65).await;
    let start = minute;
    let end = minute + 180;

    // AWS JSON 1.0 (AWS CLI v1, boto3).
    let r = server
        .aws
        .send(json_req(
            "GetMetricStatistics",
            &json!({"Namespace": "Custom", "MetricName": "M1", "StartTime": start, "EndTime": end,
                    "Period": 60, "Statistics": ["Sum", "SampleCount", "Maximum"],
                    "Dimensions": [{"Name": "Thing", "Value": "t1"}]}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type(), "application/x-amz-json-1.0");
    let j = r.json();
    assert_eq!(j["Label"], "M1");
    let points = j["Datapoints"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{j}");
    assert_eq!(points[0]["Timestamp"], json!(minute));
    assert_eq!(points[0]["Sum"], json!(16.0));
    assert_eq!(points[0]["SampleCount"], json!(4.0));
    assert_eq!(points[0]["Maximum"], json!(10.0));
    assert_eq!(points[0]["Unit"], "Count");
    assert!(points[0].get("Average").is_none(), "only what was asked");
    assert_eq!(points[1]["Sum"], json!(4.0));

    // awsQuery (botocore <= 1.42.6).
    let start_iso = thingwatch_wire::format_timestamp(start * 1000);
    let end_iso = thingwatch_wire::format_timestamp(end * 1000);
    let r = server
        .aws
        .send(query_req(
            "GetMetricStatistics",
            &[
                ("Namespace", "Custom"),
                ("MetricName", "M1"),
                ("Dimensions.member.1.Name", "Thing"),
                ("Dimensions.member.1.Value", "t1"),
                ("StartTime", &start_iso),
                ("EndTime", &end_iso),
                ("Period", "60"),
                ("ExtendedStatistics.member.1", "p50"),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let base = "GetMetricStatisticsResponse/GetMetricStatisticsResult/Datapoints/member";
    assert_eq!(r.xml(&format!("{base}/Unit")), ["Count", "Count"]);
    let p50 = r.xml(&format!("{base}/ExtendedStatistics/entry/value"));
    assert_eq!(p50.len(), 2);
    let first: f64 = p50[0].parse().unwrap();
    assert!((1.9..=3.1).contains(&first), "p50 {first}");
    assert_eq!(
        r.xml("GetMetricStatisticsResponse/ResponseMetadata/RequestId")[0],
        r.request_id().unwrap()
    );

    // Smithy RPC v2 CBOR (Go, Java, JS SDKs).
    let r = server
        .aws
        .send(cbor_req(
            "GetMetricStatistics",
            &cmap(vec![
                ("Namespace", "Custom".into()),
                ("MetricName", "M1".into()),
                (
                    "Dimensions",
                    ciborium::Value::Array(vec![cmap(vec![
                        ("Name", "Thing".into()),
                        ("Value", "t1".into()),
                    ])]),
                ),
                ("StartTime", ctime(start)),
                ("EndTime", ctime(end)),
                ("Period", 60.into()),
                ("Statistics", ciborium::Value::Array(vec!["Average".into()])),
            ]),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type(), "application/cbor");
    assert_eq!(r.header("smithy-protocol"), Some("rpc-v2-cbor"));
    let body = cbor_body(&r);
    let points = cbor_get(&body, "Datapoints").unwrap().as_array().unwrap();
    assert_eq!(points.len(), 2);
    let ts = cbor_get(&points[0], "Timestamp").unwrap();
    match ts {
        ciborium::Value::Tag(1, v) => {
            assert_eq!(v.as_integer().map(i128::from), Some(i128::from(minute)))
        }
        other => panic!("timestamp not tag 1: {other:?}"),
    }
    assert_eq!(
        cbor_get(&points[0], "Average").and_then(ciborium::Value::as_float),
        Some(4.0)
    );
    server.stop().await;
}

#[tokio::test]
async fn errors_carry_cloudwatchs_codes_in_each_protocol() {
    let server = start().await;
    // JSON 1.0: the modeled name in __type, the legacy query code in x-amzn-query-error.
    let r = server
        .aws
        .send(json_req("PutMetricData", &json!({"MetricData": []})))
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["__type"]
            .as_str()
            .unwrap()
            .ends_with("MissingRequiredParameterException"),
        "{}",
        r.text()
    );
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("MissingParameter;Sender")
    );
    assert_eq!(r.json()["message"], "The parameter Namespace is required.");

    let reserved = server
        .aws
        .send(json_req(
            "PutMetricData",
            &json!({"Namespace": "AWS/IoT", "MetricData": [{"MetricName": "x", "Value": 1}]}),
        ))
        .await;
    assert_eq!(reserved.status, 400);
    assert_eq!(
        reserved.header("x-amzn-query-error"),
        Some("InvalidParameterValue;Sender")
    );

    // awsQuery: an XML ErrorResponse naming the member by its query path.
    let r = server
        .aws
        .send(query_req(
            "PutMetricData",
            &[
                ("Namespace", "Custom"),
                ("MetricData.member.1.MetricName", "M"),
                ("MetricData.member.1.Value", "1"),
                ("MetricData.member.1.Unit", "Furlongs"),
            ],
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.xml("ErrorResponse/Error/Code"), ["InvalidParameterValue"]);
    assert_eq!(
        r.xml("ErrorResponse/Error/Message"),
        ["The value Furlongs for parameter MetricData.member.1.Unit is invalid."]
    );

    let both = server
        .aws
        .send(query_req(
            "PutMetricData",
            &[
                ("Namespace", "Custom"),
                ("MetricData.member.1.MetricName", "M"),
                ("MetricData.member.1.Value", "1"),
                ("MetricData.member.1.Values.member.1", "2"),
            ],
        ))
        .await;
    assert_eq!(
        both.xml("ErrorResponse/Error/Code"),
        ["InvalidParameterCombination"]
    );

    // CBOR: an error map with __type, and the query code header.
    let now = now_s();
    let r = server
        .aws
        .send(cbor_req(
            "GetMetricStatistics",
            &cmap(vec![
                ("Namespace", "Custom".into()),
                ("MetricName", "M1".into()),
                ("StartTime", ctime(now - 86_400 * 2)),
                ("EndTime", ctime(now)),
                ("Period", 60.into()),
                ("Statistics", ciborium::Value::Array(vec!["Sum".into()])),
            ]),
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("InvalidParameterCombination;Sender")
    );
    let body = cbor_body(&r);
    let message = cbor_get(&body, "message")
        .and_then(ciborium::Value::as_text)
        .unwrap();
    assert!(message.contains("exceeds the limit of 1440"), "{message}");

    for (period, ok) in [(61, false), (0, false), (30, true), (120, true)] {
        let r = server
            .aws
            .send(json_req(
                "GetMetricStatistics",
                &json!({"Namespace": "Custom", "MetricName": "M", "StartTime": now - 600,
                        "EndTime": now, "Period": period, "Statistics": ["Sum"]}),
            ))
            .await;
        assert_eq!(r.status == 200, ok, "period {period}: {}", r.text());
    }
    let r = server
        .aws
        .send(json_req(
            "GetMetricStatistics",
            &json!({"Namespace": "Custom", "MetricName": "M", "StartTime": now,
                    "EndTime": now - 60, "Period": 60, "Statistics": ["Sum"]}),
        ))
        .await;
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("InvalidParameterValue;Sender")
    );
    let r = server
        .aws
        .send(json_req("DescribeNothing", &json!({})))
        .await;
    assert_eq!(r.status, 400);
    // A body that is not gzip although it says so.
    let r = server
        .aws
        .send(json_req("ListMetrics", &json!({})).header("content-encoding", "gzip"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn gzip_bodies_list_metrics_and_get_metric_data_with_math_and_pages() {
    let server = start().await;
    let minute = (now_s() / 60 - 10) * 60;
    // A gzip-compressed PutMetricData, as botocore sends bodies of 10 KiB or more.
    let data: Vec<Value> = (0..3)
        .flat_map(|i| {
            [("A", 1.0), ("B", 10.0)].map(|(name, v)| {
                json!({"MetricName": name, "Value": v, "Timestamp": minute + i * 60,
                       "Dimensions": [{"Name": "Thing", "Value": "t1"}]})
            })
        })
        .collect();
    let body = json!({"Namespace": "Custom", "MetricData": data}).to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let r = server
        .aws
        .send(
            Request::new("monitoring", "POST", "/")
                .headers(&[
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amz-target", &format!("{TARGET}.PutMetricData")),
                    ("content-encoding", "gzip"),
                ])
                .body(gz.finish().unwrap()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = server
        .aws
        .send(json_req(
            "ListMetrics",
            &json!({"Namespace": "Custom", "Dimensions": [{"Name": "Thing"}]}),
        ))
        .await;
    let mut names: Vec<String> = r.json()["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["MetricName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["A", "B"]);
    let r = server
        .aws
        .send(json_req("ListMetrics", &json!({"NextToken": "bogus"})))
        .await;
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("InvalidNextToken;Sender")
    );

    let stat = |id: &str, name: &str| {
        json!({"Id": id, "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "Custom",
               "MetricName": name, "Dimensions": [{"Name": "Thing", "Value": "t1"}]},
               "Period": 60, "Stat": "Sum"}})
    };
    let request = |extra: Value| {
        let mut body = json!({
        "StartTime": minute, "EndTime": minute + 240, "ScanBy": "TimestampAscending",
        "MetricDataQueries": [
            stat("a", "A"), stat("b", "B"),
            {"Id": "total", "Expression": "a + b", "Label": "A+B"},
            {"Id": "scaled", "Expression": "SUM(METRICS()) * 2"},
            {"Id": "found", "Expression": "SEARCH('{Custom,Thing} MetricName=\"B\"', 'Sum', 60)"},
        ]});
        if let Value::Object(m) = extra {
            body.as_object_mut().unwrap().extend(m);
        }
        json_req("GetMetricData", &body)
    };
    let r = server.aws.send(request(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let results = r.json()["MetricDataResults"].as_array().unwrap().clone();
    assert_eq!(
        results.len(),
        3,
        "ReturnData false hides a and b: {results:?}"
    );
    assert_eq!(results[0]["Id"], "total");
    assert_eq!(results[0]["Label"], "A+B");
    assert_eq!(results[0]["Values"], json!([11.0, 11.0, 11.0]));
    assert_eq!(
        results[0]["Timestamps"],
        json!([minute, minute + 60, minute + 120])
    );
    assert_eq!(results[0]["StatusCode"], "Complete");
    assert_eq!(results[1]["Values"], json!([22.0, 22.0, 22.0]));
    assert_eq!(results[2]["Label"], "t1");
    assert_eq!(results[2]["Values"], json!([10.0, 10.0, 10.0]));

    // Pages of at most 4 points across the results.
    let mut seen = 0;
    let mut token: Option<String> = None;
    for _ in 0..5 {
        let extra = match &token {
            Some(t) => json!({"MaxDatapoints": 4, "NextToken": t}),
            None => json!({"MaxDatapoints": 4}),
        };
        let j = server.aws.send(request(extra)).await.json();
        let n: usize = j["MetricDataResults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Values"].as_array().unwrap().len())
            .sum();
        assert!(n <= 4);
        seen += n;
        token = j["NextToken"].as_str().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, 9);

    let bad = server
        .aws
        .send(json_req(
            "GetMetricData",
            &json!({"StartTime": minute, "EndTime": minute + 60,
                    "MetricDataQueries": [{"Id": "e", "Expression": "nope + 1"}]}),
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["message"].as_str().unwrap().contains("nope"),
        "{}",
        bad.text()
    );
    server.stop().await;
}

/// The captured botocore requests, replayed byte for byte with the clock at their signing
/// time: awsQuery PutMetricData/GetMetricData, CBOR GetMetricStatistics and the AWS CLI's
/// gzip PutMetricData are all accepted; SetAlarmState reaches the alarms (no such alarm).
#[tokio::test]
async fn captured_requests_are_served() {
    use thingwatch_test_support::captures::load_captures;
    let captures: Vec<_> = load_captures()
        .into_iter()
        .filter(|c| c.file.starts_with("log_cloudwatch"))
        .collect();
    assert!(captures.len() >= 5, "{} captures", captures.len());
    for c in captures {
        let dir = temp_dir();
        let creds = Arc::new(StaticCredentials::root("AKIDEXAMPLE", c.secret, ACCOUNT));
        let state = ApiState::new(creds, ACCOUNT, REGION)
            .with_clock(Arc::new(FixedClock(c.amz_date() + Duration::from_secs(1))))
            .with_service("monitoring", Arc::new(service(dir.path())));
        let server = ApiServer::start(dir, move |l, sd| serve(l, state, sd)).await;
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(&c.to_http1()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw);
        let status = text.split(' ').nth(1).unwrap_or("");
        let op = c
            .headers
            .get("x-amz-target")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| format!("{}{}", c.path, String::from_utf8_lossy(&c.body)));
        if op.contains("SetAlarmState") {
            // Authenticated and parsed: the alarm a1 simply does not exist.
            assert_eq!(status, "404", "{op}: {text}");
            assert!(text.contains("ResourceNotFound"), "{text}");
        } else {
            assert_eq!(status, "200", "{} {op}: {text}", c.file);
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn alarms_change_state_on_new_data_and_keep_their_history() {
    let server = start().await;
    // Created over awsQuery, read over JSON: one operation, two serializers.
    let r = server
        .aws
        .send(query_req(
            "PutMetricAlarm",
            &[
                ("AlarmName", "hot"),
                ("Namespace", "Custom"),
                ("MetricName", "Temp"),
                ("Dimensions.member.1.Name", "Thing"),
                ("Dimensions.member.1.Value", "t1"),
                ("Statistic", "Maximum"),
                ("Period", "60"),
                ("EvaluationPeriods", "1"),
                ("Threshold", "30"),
                ("ComparisonOperator", "GreaterThanThreshold"),
                ("TreatMissingData", "ignore"),
                (
                    "AlarmActions.member.1",
                    "arn:aws:sns:us-east-1:123456789012:ops",
                ),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let describe = || json_req("DescribeAlarms", &json!({"AlarmNames": ["hot"]}));
    let a = server.aws.send(describe()).await.json();
    let alarm = &a["MetricAlarms"][0];
    assert_eq!(alarm["StateValue"], "INSUFFICIENT_DATA");
    assert_eq!(alarm["StateReason"], "Unchecked: Initial alarm creation");
    assert_eq!(
        alarm["AlarmArn"],
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:hot"
    );
    assert_eq!(alarm["Statistic"], "Maximum");
    assert_eq!(alarm["DatapointsToAlarm"], 1);
    assert_eq!(a["CompositeAlarms"], json!([]));

    put(&server, "Temp", &[20.0], now_s()).await;
    let a = server.aws.send(describe()).await.json();
    assert_eq!(a["MetricAlarms"][0]["StateValue"], "OK", "{a}");
    put(&server, "Temp", &[35.0], now_s()).await;
    let a = server.aws.send(describe()).await.json();
    let alarm = &a["MetricAlarms"][0];
    assert_eq!(alarm["StateValue"], "ALARM", "{a}");
    let data: Value = serde_json::from_str(alarm["StateReasonData"].as_str().unwrap()).unwrap();
    assert_eq!(data["statistic"], "Maximum");
    assert_eq!(data["threshold"], json!(30.0));

    let r = server
        .aws
        .send(json_req(
            "DescribeAlarmsForMetric",
            &json!({"Namespace": "Custom", "MetricName": "Temp",
                    "Dimensions": [{"Name": "Thing", "Value": "t1"}]}),
        ))
        .await;
    assert_eq!(r.json()["MetricAlarms"][0]["AlarmName"], "hot");
    let r = server
        .aws
        .send(json_req(
            "DescribeAlarmHistory",
            &json!({"AlarmName": "hot", "HistoryItemType": "StateUpdate"}),
        ))
        .await;
    let items = r.json()["AlarmHistoryItems"].as_array().unwrap().clone();
    let summaries: Vec<&str> = items
        .iter()
        .map(|i| i["HistorySummary"].as_str().unwrap())
        .collect();
    assert_eq!(
        summaries,
        [
            "Alarm updated from OK to ALARM",
            "Alarm updated from INSUFFICIENT_DATA to OK"
        ]
    );
    let r = server
        .aws
        .send(json_req(
            "DescribeAlarmHistory",
            &json!({"AlarmName": "hot", "HistoryItemType": "Action"}),
        ))
        .await;
    assert!(
        r.json()["AlarmHistoryItems"][0]["HistorySummary"]
            .as_str()
            .unwrap()
            .starts_with("Failed to execute action"),
        "no notifier in this rig: {}",
        r.text()
    );

    // Errors: bad reason data, unknown alarms, anomaly operators.
    let r = server
        .aws
        .send(json_req(
            "SetAlarmState",
            &json!({"AlarmName": "hot", "StateValue": "OK", "StateReason": "x", "StateReasonData": "{not json"}),
        ))
        .await;
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("InvalidFormat;Sender"),
        "{}",
        r.text()
    );
    let r = server
        .aws
        .send(json_req(
            "DeleteAlarms",
            &json!({"AlarmNames": ["hot", "ghost"]}),
        ))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("ResourceNotFound;Sender")
    );
    let r = server
        .aws
        .send(json_req(
            "PutMetricAlarm",
            &json!({"AlarmName": "band", "Namespace": "Custom", "MetricName": "Temp",
                    "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
                    "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}),
        ))
        .await;
    assert_eq!(r.status, 400);
    // A composite alarm over it, listed only when AlarmTypes asks.
    let r = server
        .aws
        .send(json_req(
            "PutCompositeAlarm",
            &json!({"AlarmName": "any-hot", "AlarmRule": "ALARM(hot) OR ALARM(\"hot\")"}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = server
        .aws
        .send(json_req(
            "DescribeAlarms",
            &json!({"AlarmTypes": ["CompositeAlarm"]}),
        ))
        .await
        .json();
    assert_eq!(c["CompositeAlarms"][0]["StateValue"], "ALARM", "{c}");
    assert_eq!(c["MetricAlarms"], json!([]));
    let r = server
        .aws
        .send(json_req(
            "PutCompositeAlarm",
            &json!({"AlarmName": "x", "AlarmRule": "ALARM(nope)"}),
        ))
        .await;
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("InvalidParameterValue;Sender")
    );
    let r = server
        .aws
        .send(json_req(
            "SetAlarmState",
            &json!({"AlarmName": "hot", "StateValue": "OK", "StateReason": "manual"}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = server
        .aws
        .send(json_req(
            "DeleteAlarms",
            &json!({"AlarmNames": ["hot", "any-hot"]}),
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        server.aws.send(describe()).await.json()["MetricAlarms"],
        json!([])
    );
    server.stop().await;
}

#[tokio::test]
async fn alarms_on_metric_math_watch_the_expression_the_metrics_list_returns() {
    let server = start().await;
    let stat = |id: &str, name: &str| {
        json!({"Id": id, "ReturnData": false, "MetricStat": {
            "Metric": {"Namespace": "Custom", "MetricName": name,
                       "Dimensions": [{"Name": "Thing", "Value": "t1"}]},
            "Period": 60, "Stat": "Sum"}})
    };
    let metrics = json!([
        {"Id": "ratio", "Expression": "100 * fail / total", "Label": "Failure %"},
        stat("fail", "Fail"),
        stat("total", "Total"),
    ]);
    let alarm = |extra: Value| {
        let mut body = json!({"AlarmName": "failure-rate", "EvaluationPeriods": 1,
            "Threshold": 50, "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "ignore", "Metrics": metrics});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        json_req("PutMetricAlarm", &body)
    };
    let r = server.aws.send(alarm(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let describe = || json_req("DescribeAlarms", &json!({"AlarmNames": ["failure-rate"]}));
    let a = server.aws.send(describe()).await.json();
    let got = &a["MetricAlarms"][0];
    assert_eq!(got["Period"], Value::Null, "{got}");
    assert_eq!(got["MetricName"], Value::Null);
    assert_eq!(got["Metrics"][0]["Expression"], "100 * fail / total");
    assert_eq!(got["Metrics"][0]["ReturnData"], true);
    assert_eq!(
        got["Metrics"][1]["MetricStat"]["Metric"]["MetricName"],
        "Fail"
    );
    assert_eq!(got["Metrics"][2]["ReturnData"], false);

    put(&server, "Total", &[10.0], now_s()).await;
    put(&server, "Fail", &[1.0], now_s()).await;
    let a = server.aws.send(describe()).await.json();
    assert_eq!(a["MetricAlarms"][0]["StateValue"], "OK", "{a}");
    // 10 of 10 failed: 100 % > 50 %.
    put(&server, "Fail", &[9.0], now_s()).await;
    let a = server.aws.send(describe()).await.json();
    let got = &a["MetricAlarms"][0];
    assert_eq!(got["StateValue"], "ALARM", "{a}");
    assert!(
        got["StateReason"].as_str().unwrap().contains("[100.0 ("),
        "{got}"
    );
    let data: Value = serde_json::from_str(got["StateReasonData"].as_str().unwrap()).unwrap();
    assert_eq!(data["recentDatapoints"], json!([100.0]));
    assert_eq!(data.get("statistic"), None, "{data}");

    // The single-metric parameters beside Metrics, two series returned, SEARCH: refused.
    for (extra, message) in [
        (
            json!({"Statistic": "Sum"}),
            "Statistic should not be set if list of Metrics is set.",
        ),
        (
            json!({"Period": 60}),
            "Period should not be set if list of Metrics is set.",
        ),
        (
            json!({"Metrics": [{"Id": "a", "Expression": "fail"}, stat("fail", "Fail")
                .as_object().unwrap().clone().into_iter()
                .map(|(k, v)| if k == "ReturnData" { (k, json!(true)) } else { (k, v) })
                .collect::<serde_json::Map<_, _>>()]}),
            "Exactly one element of the metrics list should return data.",
        ),
        (
            json!({"Metrics": [{"Id": "s", "Expression": "SUM(SEARCH('{Custom} Fail', 'Sum', 60))"}]}),
            "uses SEARCH",
        ),
    ] {
        let r = server.aws.send(alarm(extra)).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(
            r.header("x-amzn-query-error"),
            Some("ValidationError;Sender")
        );
        let m = r.json()["message"].as_str().unwrap().to_owned();
        assert!(m.contains(message), "{m}");
    }
    // An expression naming an unknown id is refused at evaluation as at GetMetricData.
    let r = server
        .aws
        .send(json_req(
            "GetMetricData",
            &json!({"StartTime": now_s() - 600, "EndTime": now_s() + 60,
                    "MetricDataQueries": [{"Id": "e", "Expression": "nope * 2"}]}),
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn dashboards_round_trip_and_invalid_bodies_name_their_problems() {
    let server = start().await;
    let body = r#"{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"region":"us-east-1","metrics":[["AWS/IoT","PublishIn.Success","Protocol","MQTT"]],"stat":"Sum","period":60}}]}"#;
    let r = server
        .aws
        .send(json_req(
            "PutDashboard",
            &json!({"DashboardName": "fleet", "DashboardBody": body}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["DashboardValidationMessages"], json!([]));
    let r = server
        .aws
        .send(query_req("GetDashboard", &[("DashboardName", "fleet")]))
        .await;
    assert_eq!(
        r.xml("GetDashboardResponse/GetDashboardResult/DashboardBody"),
        [body]
    );
    assert_eq!(
        r.xml("GetDashboardResponse/GetDashboardResult/DashboardArn"),
        ["arn:aws:cloudwatch::123456789012:dashboard/fleet"]
    );
    let r = server
        .aws
        .send(json_req(
            "ListDashboards",
            &json!({"DashboardNamePrefix": "fl"}),
        ))
        .await;
    assert_eq!(r.json()["DashboardEntries"][0]["Size"], json!(body.len()));
    let r = server
        .aws
        .send(json_req(
            "PutDashboard",
            &json!({"DashboardName": "bad", "DashboardBody": r#"{"widgets":[{"type":"metric","properties":{"metrics":[]}}]}"#}),
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("InvalidParameterInput;Sender")
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("/widgets/0/properties"),
        "{}",
        r.text()
    );
    let r = server
        .aws
        .send(json_req("GetDashboard", &json!({"DashboardName": "bad"})))
        .await;
    assert_eq!(r.status, 404);
    let r = server
        .aws
        .send(json_req(
            "DeleteDashboards",
            &json!({"DashboardNames": ["fleet", "ghost"]}),
        ))
        .await;
    assert_eq!(r.status, 404);
    let r = server
        .aws
        .send(json_req(
            "DeleteDashboards",
            &json!({"DashboardNames": ["fleet"]}),
        ))
        .await;
    assert_eq!(r.status, 200);
    server.stop().await;
}
