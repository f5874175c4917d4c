//! SNS through its real interfaces: the server booted in process (loopback, ephemeral ports),
//! SigV4-signed awsQuery requests, and a loopback HTTP receiver that gets the signed
//! SubscriptionConfirmation and Notification and follows the SubscribeURL; the retry path
//! on a domain instance with millisecond delays.

use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use serde_json::Value;
use thingwatch_server::{GivenCredentials, Server, ServerConfig};
use thingwatch_test_support::aws::{AwsClient, Request};
use thingwatch_test_support::{ROOT_AKID, ROOT_SECRET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

/// One request the receiver got: its headers (lower-case names) and body.
#[derive(Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// A loopback HTTP/1.1 receiver answering every request with `status`.
async fn receiver(status: u16) -> (String, mpsc::UnboundedReceiver<Received>) {
    receiver_on(status, None).await
}

/// A loopback receiver answering `status`, over TLS with `tls` (`https://` URL) when given.
async fn receiver_on(
    status: u16,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => answer(sock, status, tx).await,
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(sock).await {
                            answer(s, status, tx).await;
                        }
                    }
                }
            });
        }
    });
    (url, rx)
}

/// Reads one request from `sock`, answers `status`, and sends what it read to `tx`.
async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut sock: S,
    status: u16,
    tx: mpsc::UnboundedSender<Received>,
) {
    {
        {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let headers: Vec<(String, String)> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = buf[head_end + 4..].to_vec();
            while body.len() < len {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = sock.write_all(answer.as_bytes()).await;
            let _ = tx.send(Received {
                headers,
                body: String::from_utf8_lossy(&body).to_string(),
            });
        }
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a delivery in time")
        .expect("receiver running")
}

async fn start() -> (tempfile::TempDir, Server, AwsClient) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::loopback(dir.path());
    config.credentials = Some(GivenCredentials {
        access_key_id: ROOT_AKID.into(),
        secret_access_key: ROOT_SECRET.into(),
        source: "test",
    });
    let server = Server::start(config).await.expect("server starts");
    let client = AwsClient::root(server.http_addr);
    (dir, server, client)
}

fn sns(form: &[(&str, &str)]) -> Request {
    let mut all = vec![("Version", "2010-03-31")];
    all.extend_from_slice(form);
    Request::query("sns", &all)
}

/// The canonical string AWS documents, rebuilt independently of the server's code.
fn canonical(m: &Value) -> String {
    let keys: &[&str] = if m["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut s = String::new();
    for k in keys {
        if let Some(v) = m[*k].as_str() {
            s.push_str(&format!("{k}\n{v}\n"));
        }
    }
    s
}

/// Fetches `SigningCertURL` and verifies `Signature` over the canonical string.
async fn verify(m: &Value) {
    assert_eq!(m["SignatureVersion"], "2");
    let pem = reqwest::get(m["SigningCertURL"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("PEM");
    let cert = pem.parse_x509().expect("certificate");
    let key = cert.public_key().subject_public_key.data.to_vec();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(m["Signature"].as_str().unwrap())
        .unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(canonical(m).as_bytes(), &sig)
        .expect("signature verifies against the served certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_confirm_publish_unsubscribe() {
    let (_dir, server, client) = start().await;
    let r = client
        .send(sns(&[("Action", "CreateTopic"), ("Name", "alarms")]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let topic = r.xml("CreateTopicResponse/CreateTopicResult/TopicArn")[0].clone();
    assert_eq!(topic, "arn:aws:sns:us-east-1:123456789012:alarms");
    // Idempotent by name.
    let again = client
        .send(sns(&[("Action", "CreateTopic"), ("Name", "alarms")]))
        .await;
    assert_eq!(
        again.xml("CreateTopicResponse/CreateTopicResult/TopicArn"),
        vec![topic.clone()]
    );
    let r = client.send(sns(&[("Action", "ListTopics")])).await;
    assert_eq!(
        r.xml("ListTopicsResponse/ListTopicsResult/Topics/member/TopicArn"),
        vec![topic.clone()]
    );

    let (url, mut rx) = receiver(200).await;
    let r = client
        .send(sns(&[
            ("Action", "Subscribe"),
            ("TopicArn", &topic),
            ("Protocol", "http"),
            ("Endpoint", &url),
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.xml("SubscribeResponse/SubscribeResult/SubscriptionArn"),
        vec!["pending confirmation"]
    );
    let r = client
        .send(sns(&[
            ("Action", "ListSubscriptionsByTopic"),
            ("TopicArn", &topic),
        ]))
        .await;
    assert_eq!(
        r.xml("ListSubscriptionsByTopicResponse/ListSubscriptionsByTopicResult/Subscriptions/member/SubscriptionArn"),
        vec!["PendingConfirmation"]
    );

    let confirmation = next(&mut rx).await;
    assert_eq!(
        confirmation.header("x-amz-sns-message-type"),
        Some("SubscriptionConfirmation")
    );
    assert_eq!(
        confirmation.header("x-amz-sns-topic-arn"),
        Some(topic.as_str())
    );
    assert_eq!(
        confirmation.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    let m = confirmation.json();
    assert_eq!(m["Type"], "SubscriptionConfirmation");
    assert_eq!(m["TopicArn"], topic.as_str());
    assert!(m["Timestamp"].as_str().unwrap().ends_with('Z'));
    verify(&m).await;
    // The receiver follows SubscribeURL without any signature.
    let subscribe_url = m["SubscribeURL"].as_str().unwrap();
    let r = reqwest::get(subscribe_url).await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let sub_arn = thingwatch_test_support::aws::xml_texts(
        &body,
        "ConfirmSubscriptionResponse/ConfirmSubscriptionResult/SubscriptionArn",
    )[0]
    .clone();
    assert!(sub_arn.starts_with(&format!("{topic}:")), "{sub_arn}");
    let r = client
        .send(sns(&[
            ("Action", "ListSubscriptionsByTopic"),
            ("TopicArn", &topic),
        ]))
        .await;
    assert_eq!(
        r.xml("ListSubscriptionsByTopicResponse/ListSubscriptionsByTopicResult/Subscriptions/member/SubscriptionArn"),
        vec![sub_arn.clone()]
    );
    let r = client.send(sns(&[("Action", "ListSubscriptions")])).await;
    assert_eq!(
        r.xml("ListSubscriptionsResponse/ListSubscriptionsResult/Subscriptions/member/Endpoint"),
        vec![url.clone()]
    );

    let r = client
        .send(sns(&[
            ("Action", "Publish"),
            ("TopicArn", &topic),
            ("Subject", "ALARM: hot"),
            ("Message", "{\"state\":\"ALARM\"}"),
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.xml("PublishResponse/PublishResult/MessageId")[0].clone();
    let n = next(&mut rx).await;
    assert_eq!(n.header("x-amz-sns-message-type"), Some("Notification"));
    assert_eq!(
        n.header("x-amz-sns-subscription-arn"),
        Some(sub_arn.as_str())
    );
    assert_eq!(n.header("x-amz-sns-message-id"), Some(id.as_str()));
    let m = n.json();
    assert_eq!(m["Message"], "{\"state\":\"ALARM\"}");
    assert_eq!(m["Subject"], "ALARM: hot");
    assert_eq!(m["MessageId"], id.as_str());
    verify(&m).await;
    // The Rust entry point alarms use.
    let id2 = server.sns().publish(&topic, None, "second").unwrap();
    let m = next(&mut rx).await.json();
    assert_eq!(m["MessageId"], id2.as_str());
    assert!(m.get("Subject").is_none());
    verify(&m).await;

    let r = client
        .send(sns(&[
            ("Action", "Unsubscribe"),
            ("SubscriptionArn", &sub_arn),
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bye = next(&mut rx).await;
    assert_eq!(
        bye.header("x-amz-sns-message-type"),
        Some("UnsubscribeConfirmation")
    );
    verify(&bye.json()).await;
    let r = client.send(sns(&[("Action", "ListSubscriptions")])).await;
    assert!(
        r.xml(
            "ListSubscriptionsResponse/ListSubscriptionsResult/Subscriptions/member/SubscriptionArn"
        )
        .is_empty()
    );
    assert!(server.sns().stats().delivered >= 4);
    let r = client
        .send(sns(&[("Action", "DeleteTopic"), ("TopicArn", &topic)]))
        .await;
    assert_eq!(r.status, 200);
    server.stop().await.unwrap();
}

/// A request form, the HTTP status and the `<Code>` expected.
type ErrorCase<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_sns_errors() {
    let (_dir, server, client) = start().await;
    let cases: &[ErrorCase] = &[
        (
            &[
                ("Action", "Publish"),
                ("TopicArn", "arn:aws:sns:us-east-1:123456789012:nope"),
                ("Message", "x"),
            ],
            404,
            "NotFound",
        ),
        (
            &[("Action", "CreateTopic"), ("Name", "bad name")],
            400,
            "InvalidParameter",
        ),
        (
            &[("Action", "CreateTopic"), ("Name", "t.fifo")],
            400,
            "InvalidParameter",
        ),
        (
            &[("Action", "Publish"), ("Message", "x")],
            400,
            "InvalidParameter",
        ),
        (
            &[
                ("Action", "Subscribe"),
                ("TopicArn", "arn:aws:sns:us-east-1:123456789012:nope"),
                ("Protocol", "http"),
                ("Endpoint", "http://127.0.0.1:1/"),
            ],
            404,
            "NotFound",
        ),
        (
            &[
                ("Action", "Unsubscribe"),
                (
                    "SubscriptionArn",
                    "arn:aws:sns:us-east-1:123456789012:nope:x",
                ),
            ],
            404,
            "NotFound",
        ),
    ];
    for (form, status, code) in cases {
        let r = client.send(sns(form)).await;
        assert_eq!(r.status, *status, "{form:?}: {}", r.text());
        assert_eq!(
            r.xml("ErrorResponse/Error/Code"),
            vec![code.to_string()],
            "{form:?}"
        );
    }
    let r = client
        .send(sns(&[("Action", "CreateTopic"), ("Name", "t")]))
        .await;
    let topic = r.xml("CreateTopicResponse/CreateTopicResult/TopicArn")[0].clone();
    let r = client
        .send(sns(&[
            ("Action", "Subscribe"),
            ("TopicArn", &topic),
            ("Protocol", "email"),
            ("Endpoint", "a@example.com"),
        ]))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.xml("ErrorResponse/Error/Code"), vec!["InvalidParameter"]);
    let long = "x".repeat(101);
    let r = client
        .send(sns(&[
            ("Action", "Publish"),
            ("TopicArn", &topic),
            ("Subject", &long),
            ("Message", "m"),
        ]))
        .await;
    assert_eq!(r.status, 400);
    // Unsigned SubscribeURL with a wrong token, and another action on the unsigned path.
    let base = format!("http://{}/sns/", server.http_addr);
    let r = reqwest::get(format!(
        "{base}?Action=ConfirmSubscription&TopicArn={topic}&Token=nope"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = reqwest::get(format!("{base}?Action=DeleteTopic&TopicArn={topic}"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_gets_the_retries_and_counts_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let sns = thingwatch_sns::Sns::open(
        dir.path(),
        thingwatch_sns::SnsSettings {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            base_url: "http://127.0.0.1:9".into(),
            delivery: fast_policy(),
            trusted_roots: Vec::new(),
        },
    )
    .unwrap();
    let topic = sns.create_topic("t").unwrap();
    let (url, mut rx) = receiver(500).await;
    sns.subscribe(&topic, "http", Some(&url)).unwrap();
    // First attempt + 3 retries.
    for _ in 0..4 {
        assert_eq!(
            next(&mut rx).await.header("x-amz-sns-message-type"),
            Some("SubscriptionConfirmation")
        );
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while sns.stats().failed == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = sns.stats();
    assert_eq!(
        (stats.failed, stats.retries, stats.delivered, stats.dropped),
        (1, 3, 0, 0)
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), rx.recv())
            .await
            .is_err(),
        "no fifth attempt"
    );
    sns.stop();
}

fn fast_policy() -> thingwatch_sns::DeliveryPolicy {
    thingwatch_sns::DeliveryPolicy {
        num_retries: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(30),
        attempt_timeout: Duration::from_secs(5),
    }
}

/// A TLS acceptor serving a loopback certificate of `ca`.
fn acceptor(ca: &thingwatch_test_support::ca::TestCa) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject as _;
    let (cert, key) = ca.loopback_server();
    let certs = vec![rustls_pki_types::CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_endpoints_are_delivered_to_when_their_ca_is_trusted() {
    use rustls_pki_types::pem::PemObject as _;
    let ca = thingwatch_test_support::ca::TestCa::new("webhook CA");
    let ca_der = rustls_pki_types::CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let open = |sub: &str, roots| {
        thingwatch_sns::Sns::open(
            &dir.path().join(sub),
            thingwatch_sns::SnsSettings {
                account_id: "123456789012".into(),
                region: "us-east-1".into(),
                base_url: "http://127.0.0.1:9".into(),
                delivery: fast_policy(),
                trusted_roots: roots,
            },
        )
        .unwrap()
    };
    // Trusted: the SubscriptionConfirmation arrives over TLS, signed as over http.
    let sns = open("trusted", vec![ca_der]);
    let topic = sns.create_topic("t").unwrap();
    let (url, mut rx) = receiver_on(200, Some(acceptor(&ca))).await;
    assert!(url.starts_with("https://127.0.0.1:"));
    sns.subscribe(&topic, "https", Some(&url)).unwrap();
    let got = next(&mut rx).await;
    assert_eq!(
        got.header("x-amz-sns-message-type"),
        Some("SubscriptionConfirmation")
    );
    assert_eq!(got.json()["TopicArn"], topic.as_str());
    sns.stop();

    // Not trusted: every attempt fails the handshake; one failure counted, nothing received.
    let sns = open("untrusted", Vec::new());
    let topic = sns.create_topic("t").unwrap();
    let (url, mut rx) = receiver_on(200, Some(acceptor(&ca))).await;
    sns.subscribe(&topic, "https", Some(&url)).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while sns.stats().failed == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = sns.stats();
    assert_eq!((stats.failed, stats.delivered), (1, 0));
    assert!(rx.try_recv().is_err(), "no request got through");
    sns.stop();
}
