//! `GET /metrics` (Prometheus, OpenMetrics text) on the in-process server: N MQTT publishes
//! show up as `aws_iot_publish_in_success_total{protocol="MQTT"} N`, every `AWS/IoT` family
//! is present from the start, the text is well-formed OpenMetrics, and only a SigV4-signed
//! caller allowed `cloudwatch:GetMetricData` may read it unless the server runs with
//! `metrics_open`.

use rumqttc::{AsyncClient, Event, EventLoop, Incoming, QoS};
use std::collections::HashSet;
use std::time::Duration;
use thingwatch_events::MetricName;
use thingwatch_server::{Server, ServerConfig};
use thingwatch_test_support::aws::{AwsClient, Credentials, Request, Response};
use thingwatch_test_support::eventually;
use thingwatch_test_support::rumqtt::connect;

const WAIT: Duration = Duration::from_secs(10);
const N: u64 = 25;
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn start(metrics_open: bool) -> (tempfile::TempDir, Server) {
    let dir = thingwatch_test_support::temp_dir();
    let config = ServerConfig {
        metrics_open,
        ..ServerConfig::loopback(dir.path())
    };
    let server = Server::start(config).await.expect("server starts");
    (dir, server)
}

fn root(server: &Server) -> AwsClient {
    AwsClient::new(
        server.http_addr,
        Credentials::new(
            &server.credentials.access_key_id,
            &server.credentials.secret_access_key,
        ),
    )
}

async fn scrape(client: &AwsClient, request: Request) -> Response {
    client.send(request).await
}

fn signed() -> Request {
    Request::new("monitoring", "GET", "/metrics")
}

/// Publishes `n` messages at QoS 1, each acknowledged before the next.
async fn publish_n(client: &AsyncClient, el: &mut EventLoop, n: u64) {
    for i in 0..n {
        client
            .publish("prom/test", QoS::AtLeastOnce, false, format!("m{i}"))
            .await
            .unwrap();
        loop {
            match tokio::time::timeout(WAIT, el.poll()).await {
                Ok(Ok(Event::Incoming(Incoming::PubAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("publish failed: {e}"),
                Err(_) => panic!("no PUBACK"),
            }
        }
    }
}

/// The value of the sample written exactly as `series` (name and labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

/// Checks the OpenMetrics text structure: `# TYPE`/`# HELP`/`# UNIT` metadata before a
/// family's samples, each family contiguous and declared once, every sample belonging to the
/// family declared last (with the suffixes its type allows), numeric values, and `# EOF` as
/// the last line. Returns the family names.
fn check_openmetrics(text: &str) -> HashSet<String> {
    assert!(text.ends_with("# EOF\n"), "no trailing # EOF");
    let mut families = HashSet::new();
    let mut current: Option<(String, String)> = None;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if *line == "# EOF" {
            assert_eq!(i, lines.len() - 1, "# EOF before the end");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().expect("a name"));
            match kind {
                "TYPE" => {
                    let ty = parts.next().expect("a type").to_owned();
                    assert!(
                        ["counter", "gauge", "info", "unknown"].contains(&ty.as_str()),
                        "{line}"
                    );
                    assert!(families.insert(name.to_owned()), "{name} declared twice");
                    current = Some((name.to_owned(), ty));
                }
                "HELP" | "UNIT" => {
                    if current.as_ref().is_none_or(|(n, _)| n != name) {
                        assert!(!families.contains(name), "{name} is not contiguous");
                    }
                }
                _ => panic!("unknown metadata line {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample: series value");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("{line:?}: bad value"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{name}"
        );
        let (family, ty) = current.as_ref().expect("a sample before any # TYPE");
        let allowed = match ty.as_str() {
            "counter" => name == format!("{family}_total") || name == format!("{family}_created"),
            _ => name == family,
        };
        assert!(allowed, "{line:?} outside its family {family} ({ty})");
        let labels = &series[name.len()..];
        if !labels.is_empty() {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        }
    }
    families
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_publishes_are_counted_and_the_text_is_openmetrics() {
    let (_dir, server) = start(false).await;
    let client = root(&server);

    // Before any message: every AWS/IoT family is there, at zero.
    let first = scrape(&client, signed()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.content_type(), CONTENT_TYPE);
    let families = check_openmetrics(&first.text());
    for &metric in MetricName::ALL {
        let family = thingwatch_prometheus::family_name(metric);
        assert!(families.contains(&family), "{family} missing");
    }
    let publish_in =
        "aws_iot_publish_in_success_total{metric_name=\"PublishIn.Success\",protocol=\"MQTT\"}";
    assert_eq!(sample(&first.text(), publish_in), Some(0.0));
    for process in [
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "process_threads",
    ] {
        assert!(families.contains(process), "{process} missing");
    }
    assert!(
        sample(
            &first.text(),
            "thingwatch_queue_capacity{queue=\"shadow-requests\"}"
        )
        .is_some_and(|c| c > 0.0),
        "{}",
        first.text()
    );

    let (mqtt, mut el) = connect(server.mqtt_addr, "prom-device").await;
    publish_n(&mqtt, &mut el, N).await;
    let last = eventually(
        WAIT,
        || async { scrape(&client, signed()).await.text() },
        |text| sample(text, publish_in) == Some(N as f64),
    )
    .await;
    assert_eq!(sample(&last, publish_in), Some(N as f64), "{last}");
    check_openmetrics(&last);
    assert_eq!(
        sample(
            &last,
            "aws_iot_connect_success_total{metric_name=\"Connect.Success\",protocol=\"MQTT\"}"
        ),
        Some(1.0)
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_signature_and_cloudwatch_permission_unless_open() {
    let (_dir, server) = start(false).await;
    let client = root(&server);

    let unsigned = scrape(&client, signed().unsigned()).await;
    assert_eq!(unsigned.status, 403, "{}", unsigned.text());
    assert_eq!(
        unsigned.error_type(),
        Some("MissingAuthenticationTokenException")
    );
    assert!(
        unsigned.text().contains("--metrics-open"),
        "{}",
        unsigned.text()
    );

    let wrong_scope = scrape(&client, Request::new("iot", "GET", "/metrics")).await;
    assert_eq!(wrong_scope.status, 403, "{}", wrong_scope.text());

    let bad_key = scrape(
        &client,
        signed().signed_with(Credentials::new(
            "AKIAUNKNOWNUNKNOWN1",
            "not-the-secret-at-all",
        )),
    )
    .await;
    assert_eq!(bad_key.status, 403, "{}", bad_key.text());

    // An IAM user without a policy may not read the metrics.
    let iam = |form: &[(&str, &str)]| {
        let request = Request::query("iam", form);
        let client = client.clone();
        async move { client.send(request).await }
    };
    let r = iam(&[("Action", "CreateUser"), ("UserName", "scraper")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = iam(&[("Action", "CreateAccessKey"), ("UserName", "scraper")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let result = "CreateAccessKeyResponse/CreateAccessKeyResult/AccessKey";
    let key = r.xml(&format!("{result}/AccessKeyId")).remove(0);
    let secret = r.xml(&format!("{result}/SecretAccessKey")).remove(0);
    let denied = scrape(
        &client,
        signed().signed_with(Credentials::new(&key, &secret)),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.text());
    assert_eq!(denied.error_type(), Some("AccessDeniedException"));
    assert!(
        denied.text().contains("cloudwatch:GetMetricData"),
        "{}",
        denied.text()
    );

    // HTTP Basic with an access key (Prometheus's basic_auth): the same key, the same IAM.
    let basic = |id: &str, secret: &str| {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        signed()
            .unsigned()
            .header("authorization", &format!("Basic {token}"))
    };
    let root_key = &server.credentials;
    let ok = scrape(
        &client,
        basic(&root_key.access_key_id, &root_key.secret_access_key),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    check_openmetrics(&ok.text());
    let wrong = scrape(&client, basic(&root_key.access_key_id, "not-the-secret")).await;
    assert_eq!(wrong.status, 403, "{}", wrong.text());
    assert_eq!(wrong.error_type(), Some("InvalidSignatureException"));
    let unknown = scrape(&client, basic("AKIAUNKNOWNUNKNOWN1", "x")).await;
    assert_eq!(unknown.error_type(), Some("UnrecognizedClientException"));
    let garbled = scrape(
        &client,
        signed()
            .unsigned()
            .header("authorization", "Basic %%%not-base64"),
    )
    .await;
    assert_eq!(garbled.status, 403, "{}", garbled.text());
    assert_eq!(garbled.error_type(), Some("IncompleteSignatureException"));
    let denied = scrape(&client, basic(&key, &secret)).await;
    assert_eq!(denied.error_type(), Some("AccessDeniedException"));
    // Granted cloudwatch:GetMetricData, the IAM user may scrape.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudwatch:GetMetricData","Resource":"*"}]}"#;
    let r = iam(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "scraper"),
        ("PolicyName", "scrape"),
        ("PolicyDocument", policy),
    ])
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let allowed = scrape(&client, basic(&key, &secret)).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    server.stop().await.unwrap();

    // Opened by the flag: a plain GET is served.
    let (_dir, server) = start(true).await;
    let open = scrape(&root(&server), signed().unsigned()).await;
    assert_eq!(open.status, 200, "{}", open.text());
    assert_eq!(open.content_type(), CONTENT_TYPE);
    check_openmetrics(&open.text());
    server.stop().await.unwrap();
}
