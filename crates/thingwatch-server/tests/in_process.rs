//! The whole server booted in process (`Server::start` on loopback, ephemeral ports), driven
//! through its real interfaces — MQTT over TCP, mutual TLS and SigV4 WebSocket (rumqttc), and
//! SigV4-signed HTTPS — to show the one ingress:
//!
//! - a message observer registered on the broker sees every message, whatever its transport,
//!   with the sender's protocol, client ID and principal;
//! - an HTTPS `Publish` to a shadow request topic and an MQTT PUBLISH to it produce the same
//!   log entries and the same answers on MQTT (only the requester's identity differs).

use rumqttc::{Event, EventLoop, Incoming, MqttOptions, QoS, TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};
use thingwatch_broker::{MessageObserver, ObservedMessage, ObserverConfig, Sender};
use thingwatch_events::{DEFAULT_LOG_GROUP, Protocol, WhenFull};
use thingwatch_server::{Server, ServerConfig};
use thingwatch_test_support::rumqtt::{connect_with, publish};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const WAIT: Duration = Duration::from_secs(10);

/// Forwards every observed message to the test.
struct Recorder(mpsc::Sender<ObservedMessage>);

impl MessageObserver for Recorder {
    fn on_message(&mut self, message: &ObservedMessage) {
        let _ = self.0.send(message.clone());
    }
}

async fn start() -> (tempfile::TempDir, Server, mpsc::Receiver<ObservedMessage>) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(ServerConfig::loopback(dir.path()))
        .await
        .expect("server starts");
    let (tx, rx) = mpsc::channel();
    server
        .broker()
        .add_observer(
            ObserverConfig {
                name: "test",
                capacity: 1024,
                when_full: WhenFull::Block,
            },
            Recorder(tx),
        )
        .unwrap();
    (dir, server, rx)
}

/// The next observed message on `topic` (others are skipped), waiting up to [`WAIT`].
fn observed(rx: &mpsc::Receiver<ObservedMessage>, topic: &str) -> ObservedMessage {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(m) if m.topic() == topic => return m,
            Ok(_) => {}
            Err(e) => panic!("no message on {topic} observed: {e}"),
        }
    }
}

/// The next PUBLISH this client receives on `topic`, as JSON.
async fn received(el: &mut EventLoop, topic: &str) -> Value {
    loop {
        match tokio::time::timeout(WAIT, el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::Publish(p)))) if p.topic == topic => {
                return serde_json::from_slice(&p.payload).unwrap();
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("connection failed: {e}"),
            Err(_) => panic!("nothing received on {topic}"),
        }
    }
}

fn tcp_options(server: &Server, client_id: &str) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id, "127.0.0.1", server.mqtt_addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    opts
}

/// Mutual TLS with a certificate from CreateKeysAndCertificate, trusting `DATA_DIR/ca.pem`.
fn tls_options(server: &Server, client_id: &str, cert_pem: &str, key_pem: &str) -> MqttOptions {
    let ca = std::fs::read(server.data_dir().root().join("ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    let mut opts = MqttOptions::new(client_id, "localhost", server.mqtts_addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
        Arc::new(config),
    )));
    opts
}

fn credentials(server: &Server) -> aws_credential_types::Credentials {
    let (id, secret) = root_key(server);
    aws_credential_types::Credentials::new(id, secret, None, None, "in-process")
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// MQTT over WebSocket at `/mqtt`, presigned for `iotdevicegateway` with the root key.
fn websocket_options(server: &Server, client_id: &str) -> MqttOptions {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    let http = server.http_addr;
    let url = format!("http://{http}/mqtt");
    let identity = credentials(server).into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(300));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("iotdevicegateway")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = http.to_string();
    let signable = SignableRequest::new(
        "GET",
        &url,
        [("host", host.as_str())].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let query: Vec<String> = instructions
        .params()
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    let mut opts = MqttOptions::new(
        client_id,
        format!("ws://{http}/mqtt?{}", query.join("&")),
        http.port(),
    );
    opts.set_transport(Transport::Ws);
    opts.set_keep_alive(Duration::from_secs(30));
    opts
}

/// One SigV4-signed HTTP call to the server: `service` is the signing name, `headers` the
/// extra headers (signed too). Answers status, `x-amzn-RequestId` and body.
#[allow(clippy::too_many_arguments)]
async fn signed_call(
    server: &Server,
    key: (&str, &str),
    service: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let http = server.http_addr;
    let url = format!("http://{http}{path_and_query}");
    let identity = aws_credential_types::Credentials::new(key.0, key.1, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let host = http.to_string();
    let mut signed_headers = vec![("host", host.as_str())];
    signed_headers.extend_from_slice(headers);
    let signable = SignableRequest::new(
        method,
        &url,
        signed_headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), &url)
        .body(body.to_vec());
    for (name, value) in signed_headers.iter().copied().chain(instructions.headers()) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-amzn-RequestId")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, request_id, response.text().await.unwrap())
}

fn root_key(server: &Server) -> (&str, &str) {
    (
        &server.credentials.access_key_id,
        &server.credentials.secret_access_key,
    )
}

/// iot-data `Publish` (`POST /topics/{topic}?qos=1`), SigV4-signed with the root key.
async fn https_publish(server: &Server, topic: &str, payload: &[u8]) {
    let path = format!("/topics/{}?qos=1", percent_encode(topic));
    let (status, _, body) = signed_call(
        server,
        root_key(server),
        "iotdata",
        "POST",
        &path,
        &[],
        payload,
    )
    .await;
    assert_eq!(status, 200, "Publish {topic}: {body}");
}

fn client_sender(m: &ObservedMessage) -> (Protocol, String, String) {
    match &m.sender {
        Sender::Client {
            protocol,
            client_id,
            principal_id,
            source,
        } => {
            assert!(source.ip().is_loopback(), "{source}");
            (*protocol, client_id.to_string(), principal_id.to_string())
        }
        Sender::Component(name) => panic!("expected a client, got component {name}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_sees_mqtt_tls_websocket_and_https_messages() {
    let (_dir, server, rx) = start().await;

    // MQTT over TCP (loopback, anonymous).
    let (tcp, mut tcp_el) = connect_with(tcp_options(&server, "obs-tcp")).await;
    publish(&tcp, &mut tcp_el, "obs/tcp", b"over tcp").await;

    // MQTT over mutual TLS with a registered certificate and an IoT policy.
    let cert = server
        .certificates()
        .create_keys_and_certificate(true)
        .unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iot:Connect","iot:Publish"],"Resource":["arn:aws:iot:{REGION}:{ACCOUNT}:client/obs-tls","arn:aws:iot:{REGION}:{ACCOUNT}:topic/obs/tls"]}}]}}"#
    );
    let registry = server.registry();
    registry
        .create_policy("obs-tls", &policy, thingwatch_events::now_ms())
        .unwrap();
    registry
        .attach_policy("obs-tls", &cert.certificate_arn)
        .unwrap();
    let (tls, mut tls_el) = connect_with(tls_options(
        &server,
        "obs-tls",
        &cert.certificate_pem,
        &cert.key_pair.private_key,
    ))
    .await;
    publish(&tls, &mut tls_el, "obs/tls", b"over tls").await;

    // MQTT over SigV4 WebSocket, as the root IAM identity.
    let (ws, mut ws_el) = connect_with(websocket_options(&server, "obs-ws")).await;
    publish(&ws, &mut ws_el, "obs/ws", b"over websocket").await;

    // HTTPS iot-data Publish.
    https_publish(&server, "obs/http", b"over https").await;

    let m = observed(&rx, "obs/tcp");
    assert_eq!(m.payload(), b"over tcp");
    assert_eq!(m.qos(), 1);
    assert_eq!(
        client_sender(&m),
        (Protocol::Mqtt, "obs-tcp".into(), "anonymous".into())
    );
    let m = observed(&rx, "obs/tls");
    assert_eq!(m.payload(), b"over tls");
    assert_eq!(
        client_sender(&m),
        (
            Protocol::Mqtt,
            "obs-tls".into(),
            cert.certificate_id.clone()
        )
    );
    let m = observed(&rx, "obs/ws");
    assert_eq!(m.payload(), b"over websocket");
    assert_eq!(
        client_sender(&m),
        (
            Protocol::Mqtt,
            "obs-ws".into(),
            format!("arn:aws:iam::{ACCOUNT}:root")
        )
    );
    let m = observed(&rx, "obs/http");
    assert_eq!(m.payload(), b"over https");
    let (protocol, client_id, _) = client_sender(&m);
    assert_eq!((protocol, client_id.as_str()), (Protocol::Http, "N/A"));

    // Each message's Publish-In shares the observed trace id.
    server.logger().flush();
    let entries = entries(&server);
    for topic in ["obs/tcp", "obs/tls", "obs/ws", "obs/http"] {
        let publish_in = entries
            .iter()
            .find(|e| e["eventType"] == "Publish-In" && e["topicName"] == topic)
            .unwrap_or_else(|| panic!("no Publish-In for {topic}"));
        assert_eq!(publish_in["status"], "Success");
    }
    let stats = server.broker().observer_stats();
    let names: Vec<&str> = stats.iter().map(|s| s.name).collect();
    assert_eq!(names, ["rules", "test"], "the rules engine observes too");
    assert_eq!((stats[1].name, stats[1].dropped), ("test", 0));
    assert!(stats[1].queued >= 4, "{stats:?}");

    for c in [tcp, tls, ws] {
        let _ = c.disconnect().await;
    }
    server.stop().await.unwrap();
}

/// Every entry of the default log group, parsed.
fn entries(server: &Server) -> Vec<Value> {
    let page = server
        .log_store()
        .filter_log_events(
            DEFAULT_LOG_GROUP,
            &thingwatch_logstore::FilterQuery {
                limit: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
    page.events
        .iter()
        .map(|e| serde_json::from_str(&e.message).unwrap())
        .collect()
}

/// Removes what legitimately differs between two requests: times, trace ids and the
/// requester's identity; names the thing `THING`.
fn normalized(mut v: Value, thing: &str) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in [
                    "timestamp",
                    "traceId",
                    "clientId",
                    "principalId",
                    "sourceIp",
                    "sourcePort",
                    "protocol",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v.to_string().replace(thing, "THING")
}

/// The entries sharing the trace of the `Publish-In` on `topic`, normalized and sorted.
fn trace_of(entries: &[Value], topic: &str, thing: &str) -> (String, Vec<String>) {
    let publish_in = entries
        .iter()
        .find(|e| e["eventType"] == "Publish-In" && e["topicName"] == topic)
        .unwrap_or_else(|| panic!("no Publish-In for {topic}"));
    let trace = publish_in["traceId"].clone();
    let mut same: Vec<String> = entries
        .iter()
        .filter(|e| e["traceId"] == trace)
        .map(|e| normalized(e.clone(), thing))
        .collect();
    same.sort();
    (publish_in["protocol"].as_str().unwrap().to_owned(), same)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_mqtt_shadow_publishes_are_one_path() {
    let (_dir, server, rx) = start().await;
    let (watcher, mut watcher_el) = connect_with(tcp_options(&server, "watcher")).await;
    watcher
        .subscribe("$aws/things/+/shadow/update/+", QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        if let Ok(Ok(Event::Incoming(Incoming::SubAck(_)))) =
            tokio::time::timeout(WAIT, watcher_el.poll()).await
        {
            break;
        }
    }
    let (device, mut device_el) = connect_with(tcp_options(&server, "device")).await;
    let update = br#"{"state":{"reported":{"temp":21}},"clientToken":"c-1"}"#;
    let malformed = br#"{"state":"#;

    // The same accepted update and the same malformed one, over MQTT and over HTTPS.
    publish(
        &device,
        &mut device_el,
        "$aws/things/by-mqtt/shadow/update",
        update,
    )
    .await;
    // The answers arrive in order: `accepted`, then `documents`. An answer received means
    // its Publish-Out entry was emitted (before the delivery was written).
    let mqtt_accepted = received(
        &mut watcher_el,
        "$aws/things/by-mqtt/shadow/update/accepted",
    )
    .await;
    let mqtt_documents = received(
        &mut watcher_el,
        "$aws/things/by-mqtt/shadow/update/documents",
    )
    .await;
    https_publish(&server, "$aws/things/by-https/shadow/update", update).await;
    let https_accepted = received(
        &mut watcher_el,
        "$aws/things/by-https/shadow/update/accepted",
    )
    .await;
    let https_documents = received(
        &mut watcher_el,
        "$aws/things/by-https/shadow/update/documents",
    )
    .await;
    publish(
        &device,
        &mut device_el,
        "$aws/things/bad-mqtt/shadow/update",
        malformed,
    )
    .await;
    let mqtt_rejected = received(
        &mut watcher_el,
        "$aws/things/bad-mqtt/shadow/update/rejected",
    )
    .await;
    https_publish(&server, "$aws/things/bad-https/shadow/update", malformed).await;
    let https_rejected = received(
        &mut watcher_el,
        "$aws/things/bad-https/shadow/update/rejected",
    )
    .await;

    // The same answers.
    assert_eq!(mqtt_accepted["version"], 1);
    assert_eq!(mqtt_accepted["clientToken"], "c-1");
    assert_eq!(
        normalized(mqtt_accepted, "by-mqtt"),
        normalized(https_accepted, "by-https")
    );
    assert_eq!(
        normalized(mqtt_documents, "by-mqtt"),
        normalized(https_documents, "by-https")
    );
    assert_eq!(mqtt_rejected["code"], 400);
    assert_eq!(
        normalized(mqtt_rejected, "bad-mqtt"),
        normalized(https_rejected, "bad-https")
    );

    // The same entries, trace by trace: Publish-In, UpdateThingShadow, and the Publish-Out of
    // every answer the watcher received.
    server.logger().flush();
    let all = entries(&server);
    for (mqtt_thing, https_thing) in [("by-mqtt", "by-https"), ("bad-mqtt", "bad-https")] {
        let mqtt_topic = format!("$aws/things/{mqtt_thing}/shadow/update");
        let https_topic = format!("$aws/things/{https_thing}/shadow/update");
        let (mqtt_protocol, by_mqtt) = trace_of(&all, &mqtt_topic, mqtt_thing);
        let (https_protocol, by_https) = trace_of(&all, &https_topic, https_thing);
        assert_eq!(
            (mqtt_protocol.as_str(), https_protocol.as_str()),
            ("MQTT", "HTTP")
        );
        assert_eq!(by_mqtt, by_https, "{mqtt_thing} vs {https_thing}");
        let types: Vec<&str> = ["Publish-In", "UpdateThingShadow", "Publish-Out"]
            .into_iter()
            .filter(|t| {
                by_mqtt
                    .iter()
                    .any(|e| e.contains(&format!(r#""eventType":"{t}""#)))
            })
            .collect();
        assert_eq!(types, ["Publish-In", "UpdateThingShadow", "Publish-Out"]);
    }

    // The observer saw both requests and the service's answers to both.
    let m = observed(&rx, "$aws/things/by-mqtt/shadow/update");
    assert_eq!(client_sender(&m).0, Protocol::Mqtt);
    let m = observed(&rx, "$aws/things/by-mqtt/shadow/update/accepted");
    assert_eq!(m.sender, Sender::Component("shadow"));
    let m = observed(&rx, "$aws/things/by-https/shadow/update");
    assert_eq!(client_sender(&m).0, Protocol::Http);
    let m = observed(&rx, "$aws/things/by-https/shadow/update/accepted");
    assert_eq!(m.sender, Sender::Component("shadow"));

    let _ = watcher.disconnect().await;
    let _ = device.disconnect().await;
    server.stop().await.unwrap();
}

/// Keeps every observed API call.
#[derive(Default)]
struct CallLog(std::sync::Mutex<Vec<thingwatch_http::ApiCall>>);

impl thingwatch_http::ApiCallObserver for CallLog {
    fn on_call(&self, call: &thingwatch_http::ApiCall) {
        self.0.lock().unwrap().push(call.clone());
    }
}

impl CallLog {
    fn by_request_id(&self, id: &str) -> thingwatch_http::ApiCall {
        let calls = self.0.lock().unwrap();
        calls
            .iter()
            .find(|c| c.request_id == id)
            .unwrap_or_else(|| panic!("no call {id} observed among {}", calls.len()))
            .clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_call_observer_sees_every_call_with_its_caller_and_outcome() {
    let (_dir, server, _rx) = start().await;
    let log = Arc::new(CallLog::default());
    server.add_api_call_observer(log.clone());
    let root_arn = format!("arn:aws:iam::{ACCOUNT}:root");

    // A success (rest-json): the operation, the caller, the response body.
    let (status, id, body) = signed_call(
        &server,
        root_key(&server),
        "iot",
        "GET",
        "/things?maxResults=5",
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let call = log.by_request_id(&id);
    assert_eq!(call.service.as_deref(), Some("iot"));
    assert_eq!(call.region.as_deref(), Some(REGION));
    assert_eq!(call.operation.as_deref(), Some("ListThings"));
    assert_eq!(
        call.caller.as_ref().map(|c| c.arn.as_str()),
        Some(root_arn.as_str())
    );
    assert_eq!(call.uri.query(), Some("maxResults=5"));
    assert!(call.source.is_some_and(|s| s.ip().is_loopback()));
    assert_eq!(call.outcome.status, 200);
    assert_eq!(call.outcome.error_code, None);
    assert_eq!(&call.outcome.response_body[..], body.as_bytes());

    // A success (JSON 1.1): the operation from X-Amz-Target, the parameters as sent.
    let params = br#"{"limit":1}"#;
    let (status, id, _) = signed_call(
        &server,
        root_key(&server),
        "logs",
        "POST",
        "/",
        &[
            ("x-amz-target", "Logs_20140328.DescribeLogGroups"),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        params,
    )
    .await;
    assert_eq!(status, 200);
    let call = log.by_request_id(&id);
    assert_eq!(call.operation.as_deref(), Some("DescribeLogGroups"));
    assert_eq!(&call.request_body[..], params);

    // Refused by IAM: an authenticated caller without permission.
    let iam = server.iam();
    let now = thingwatch_events::now_ms();
    iam.create_user("reader", None, now).unwrap();
    let key = iam.create_access_key("reader", now).unwrap();
    let (status, id, _) = signed_call(
        &server,
        (&key.access_key_id, &key.secret_access_key),
        "iot",
        "GET",
        "/things",
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 403);
    let call = log.by_request_id(&id);
    assert_eq!(
        call.caller.as_ref().map(|c| c.arn.as_str()),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/reader").as_str())
    );
    assert_eq!(call.operation.as_deref(), Some("ListThings"));
    assert_eq!(call.outcome.error_code, Some("AccessDeniedException"));
    assert!(
        call.outcome
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("iot:ListThings"))
    );

    // A bad signature with a valid key id: no caller, but the key id and operation.
    let (status, id, _) = signed_call(
        &server,
        (
            &server.credentials.access_key_id,
            "not-the-secret-0123456789",
        ),
        "iot",
        "GET",
        "/things",
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 403);
    let call = log.by_request_id(&id);
    assert_eq!(call.caller, None);
    assert_eq!(
        call.access_key_id.as_deref(),
        Some(server.credentials.access_key_id.as_str())
    );
    assert_eq!(call.operation.as_deref(), Some("ListThings"));
    assert!(call.outcome.error_code.is_some());

    // Unsigned: nothing is known but the request itself.
    let response = reqwest::get(format!("http://{}/things", server.http_addr))
        .await
        .unwrap();
    let id = response
        .headers()
        .get("x-amzn-RequestId")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_owned();
    let call = log.by_request_id(&id);
    assert_eq!(
        (call.service.as_deref(), call.access_key_id.as_deref()),
        (None, None)
    );
    assert_eq!(
        call.outcome.error_code,
        Some("MissingAuthenticationTokenException")
    );
    server.stop().await.unwrap();
}

/// A CloudWatch JSON 1.0 call (`GraniteServiceVersion20100801.op`) signed with the root key.
async fn cloudwatch(server: &Server, op: &str, body: &Value) -> (u16, Value) {
    let target = format!("GraniteServiceVersion20100801.{op}");
    let (status, _, text) = signed_call(
        server,
        root_key(server),
        "monitoring",
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", &target),
            ("x-amzn-query-mode", "true"),
        ],
        body.to_string().as_bytes(),
    )
    .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_iot_counters_become_cloudwatch_metrics_per_protocol() {
    let (_dir, server, _rx) = start().await;
    let (client, mut el) = connect_with(tcp_options(&server, "metrics-device")).await;
    for i in 0..4 {
        publish(&client, &mut el, "telemetry/m", format!("{i}").as_bytes()).await;
    }
    for _ in 0..2 {
        https_publish(&server, "telemetry/h", b"x").await;
    }
    server.publish_metrics();
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    for (protocol, expected) in [("MQTT", 4.0), ("HTTP", 2.0)] {
        let (status, body) = cloudwatch(
            &server,
            "GetMetricStatistics",
            &serde_json::json!({
                "Namespace": "AWS/IoT", "MetricName": "PublishIn.Success",
                "Dimensions": [{"Name": "Protocol", "Value": protocol}],
                "StartTime": now - 600, "EndTime": now + 60, "Period": 3600,
                "Statistics": ["Sum"]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let sum: f64 = body["Datapoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Sum"].as_f64().unwrap())
            .sum();
        assert_eq!(sum, expected, "{protocol}: {body}");
    }
    let (status, body) = cloudwatch(
        &server,
        "ListMetrics",
        &serde_json::json!({"Namespace": "AWS/IoT", "MetricName": "Connect.Success"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["Metrics"][0]["Dimensions"],
        serde_json::json!([{"Name": "Protocol", "Value": "MQTT"}])
    );
    // Custom namespaces may not impersonate AWS's.
    let (status, _) = cloudwatch(
        &server,
        "PutMetricData",
        &serde_json::json!({"Namespace": "AWS/IoT",
                             "MetricData": [{"MetricName": "PublishIn.Success", "Value": 1}]}),
    )
    .await;
    assert_eq!(status, 400);
    client.disconnect().await.ok();
    server.stop().await.unwrap();
}
