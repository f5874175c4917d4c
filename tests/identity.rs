//! Identities end to end through the `thingwatch` binary: certificates created with the AWS IoT
//! API, IoT policies with policy variables attached to them, a real MQTT-over-TLS client
//! (rumqttc + rustls, mutual TLS on the `--mqtts-listen` port, trusting `DATA_DIR/ca.pem`)
//! allowed and refused per policy, the Failure log entries, and revocation closing a live
//! connection.

mod common;

use common::{Server, temp_dir};
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, Incoming, MqttOptions, QoS,
    SubscribeReasonCode, TlsConfiguration, Transport,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "123456789012";

/// A certificate from CreateKeysAndCertificate.
struct DeviceCert {
    id: String,
    arn: String,
    cert_pem: String,
    key_pem: String,
}

async fn create_certificate(server: &Server) -> DeviceCert {
    let (status, v) = server
        .iot("POST", "/keys-and-certificate?setAsActive=true", None)
        .await;
    assert_eq!(status, 200, "{v}");
    DeviceCert {
        id: v["certificateId"].as_str().unwrap().to_owned(),
        arn: v["certificateArn"].as_str().unwrap().to_owned(),
        cert_pem: v["certificatePem"].as_str().unwrap().to_owned(),
        key_pem: v["keyPair"]["PrivateKey"].as_str().unwrap().to_owned(),
    }
}

fn tls_options(server: &Server, client_id: &str, cert: &DeviceCert) -> MqttOptions {
    let ca = std::fs::read(server.data_dir.join("ca.pem")).expect("DATA_DIR/ca.pem");
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
            .map(|c| c.unwrap())
            .collect();
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    let mut opts = MqttOptions::new(client_id, "localhost", server.mqtts.port());
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
        Arc::new(config),
    )));
    opts
}

/// Connects; `Ok` with the event loop after CONNACK success, `Err(text)` otherwise.
async fn connect(opts: MqttOptions) -> Result<(AsyncClient, EventLoop), String> {
    let (client, mut el) = AsyncClient::new(opts, 50);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::ConnAck(ack)))) => {
                return if ack.code == ConnectReturnCode::Success {
                    Ok((client, el))
                } else {
                    Err(format!("CONNACK {:?}", ack.code))
                };
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("timeout".into()),
        }
    }
}

fn policy(thing_var: bool) -> Value {
    let name = if thing_var {
        "${iot:Connection.Thing.ThingName}"
    } else {
        "sensor-1"
    };
    let arn = |kind: &str, rest: &str| format!("arn:aws:iot:us-east-1:{ACCOUNT}:{kind}/{rest}");
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client", name)},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": arn("topic", &format!("dt/{name}/*"))},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": arn("topicfilter", &format!("dt/{name}/*"))},
            {"Effect": "Deny", "Action": "iot:Publish", "Resource": arn("topic", &format!("dt/{name}/secret"))}
        ]
    })
}

async fn ok(server: &Server, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, v) = server.iot(method, path, body).await;
    assert_eq!(status, 200, "{method} {path}: {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_policies_decide_over_mutual_tls() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "INFO"], &[]);
    let cert = create_certificate(&server).await;
    assert_eq!(cert.id.len(), 64);
    let described = ok(&server, "GET", &format!("/certificates/{}", cert.id), None).await;
    assert_eq!(described["certificateDescription"]["status"], "ACTIVE");

    // Without a policy, the certificate authenticates but may not connect.
    let err = connect(tls_options(&server, "sensor-1", &cert)).await.err();
    assert!(err.is_some(), "no policy attached: connect must be refused");

    ok(
        &server,
        "POST",
        "/policies/SensorPolicy",
        Some(json!({"policyDocument": policy(true).to_string()})),
    )
    .await;
    ok(
        &server,
        "PUT",
        "/target-policies/SensorPolicy",
        Some(json!({"target": cert.arn})),
    )
    .await;
    ok(&server, "POST", "/things/sensor-1", Some(json!({}))).await;
    let r = server
        .iot_with_headers(
            "PUT",
            "/things/sensor-1/principals",
            None,
            &[("x-amzn-principal", &cert.arn)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // ${iot:Connection.Thing.ThingName}: only the client ID equal to the attached thing.
    let refused = connect(tls_options(&server, "intruder", &cert)).await;
    assert!(
        refused.is_err(),
        "client ID other than the thing name is refused"
    );
    let (client, mut el) = connect(tls_options(&server, "sensor-1", &cert))
        .await
        .expect("sensor-1 connects over mutual TLS");

    // Subscribe: allowed filter granted, other filter refused in the SUBACK.
    client
        .subscribe("dt/sensor-1/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    client
        .subscribe("dt/other/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut codes = Vec::new();
    while codes.len() < 2 {
        if let Event::Incoming(Incoming::SubAck(ack)) =
            tokio::time::timeout(Duration::from_secs(5), el.poll())
                .await
                .unwrap()
                .unwrap()
        {
            codes.extend(ack.return_codes);
        }
    }
    assert_eq!(codes[0], SubscribeReasonCode::Success(QoS::AtLeastOnce));
    assert_eq!(codes[1], SubscribeReasonCode::Failure);

    // Publish to an allowed topic and receive it back.
    client
        .publish("dt/sensor-1/temp", QoS::AtLeastOnce, false, b"21".to_vec())
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll())
            .await
            .unwrap()
        {
            Ok(Event::Incoming(Incoming::Publish(p))) => {
                assert_eq!(p.topic, "dt/sensor-1/temp");
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }

    // A second connection with the same client ID takes over and keeps the rights: the old
    // connection's end must not drop the new connection's authorization context.
    let (client2, mut el2) = connect(tls_options(&server, "sensor-1", &cert))
        .await
        .expect("takeover connects");
    // Let the old connection finish (it is closed by the takeover).
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Err(_)) | Err(_) => break,
            Ok(Ok(_)) => {}
        }
    }
    client2
        .subscribe("dt/sensor-1/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    client2
        .publish("dt/sensor-1/temp", QoS::AtLeastOnce, false, b"22".to_vec())
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el2.poll())
            .await
            .unwrap()
        {
            Ok(Event::Incoming(Incoming::Publish(p))) => {
                assert_eq!(&p.payload[..], b"22");
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("after takeover: {e}"),
        }
    }
    let (client, mut el) = (client2, el2);

    // An explicitly denied topic: MQTT 3.1.1 has no way to refuse a PUBLISH but closing.
    client
        .publish("dt/sensor-1/secret", QoS::AtLeastOnce, false, b"x".to_vec())
        .await
        .unwrap();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Err(_)) => break true,
            Ok(Ok(_)) => {}
            Err(_) => break false,
        }
    };
    assert!(
        closed,
        "an unauthorized 3.1.1 PUBLISH closes the connection"
    );

    // The entries carry the certificate ID as principalId; the refusals are Failures.
    let pattern = format!(
        r#"{{ $.eventType = "Connect" && $.principalId = "{}" && $.status = "Success" }}"#,
        cert.id
    );
    assert!(!server.wait_for_events(&pattern, 1).await.is_empty());
    let failures = server
        .wait_for_events(r#"{ $.eventType = "Connect" && $.status = "Failure" }"#, 2)
        .await;
    assert!(failures.len() >= 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|f| f["reason"] == "AUTHORIZATION_FAILURE" && f["logLevel"] == "ERROR")
    );
    let denied = server
        .wait_for_events(
            r#"{ $.eventType = "Publish-In" && $.status = "Failure" && $.topicName = "dt/sensor-1/secret" }"#,
            1,
        )
        .await;
    assert_eq!(denied[0]["reason"], "AUTHORIZATION_FAILURE");
    assert_eq!(denied[0]["principalId"], cert.id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_closes_live_connections_and_refuses_new_ones() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "INFO"], &[]);
    let cert = create_certificate(&server).await;
    ok(
        &server,
        "POST",
        "/policies/Fixed",
        Some(json!({"policyDocument": policy(false).to_string()})),
    )
    .await;
    ok(
        &server,
        "PUT",
        "/target-policies/Fixed",
        Some(json!({"target": cert.arn})),
    )
    .await;
    let (_client, mut el) = connect(tls_options(&server, "sensor-1", &cert))
        .await
        .expect("connects");

    ok(
        &server,
        "PUT",
        &format!("/certificates/{}?newStatus=REVOKED", cert.id),
        None,
    )
    .await;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll()).await {
            Ok(Err(_)) => break true,
            Ok(Ok(_)) => {}
            Err(_) => break false,
        }
    };
    assert!(
        closed,
        "the live connection of a revoked certificate is closed"
    );
    let gone = server
        .wait_for_events(
            &format!(
                r#"{{ $.eventType = "Disconnect" && $.principalId = "{}" }}"#,
                cert.id
            ),
            1,
        )
        .await;
    assert_eq!(gone[0]["disconnectReason"], "AUTH_ERROR");

    // A new TLS handshake with it fails; the refusal is logged with the certificate ID.
    assert!(
        connect(tls_options(&server, "sensor-1", &cert))
            .await
            .is_err()
    );
    let refused = server
        .wait_for_events(
            &format!(
                r#"{{ $.eventType = "Connect" && $.status = "Failure" && $.principalId = "{}" }}"#,
                cert.id
            ),
            1,
        )
        .await;
    assert_eq!(refused[0]["reason"], "AUTHORIZATION_FAILURE");
    assert!(
        refused[0]["details"].as_str().unwrap().contains("REVOKED"),
        "{}",
        refused[0]
    );

    // An unknown certificate (never registered here) is refused the same way.
    let other_dir = temp_dir();
    let other = Server::start(other_dir.path(), &[], &[]);
    let foreign = create_certificate(&other).await;
    assert!(
        connect(tls_options(&server, "sensor-1", &foreign))
            .await
            .is_err()
    );
    let unknown = server
        .wait_for_events(
            &format!(
                r#"{{ $.eventType = "Connect" && $.status = "Failure" && $.principalId = "{}" }}"#,
                foreign.id
            ),
            1,
        )
        .await;
    assert!(
        unknown[0]["details"].as_str().unwrap().contains("UNKNOWN")
            || unknown[0]["details"]
                .as_str()
                .unwrap()
                .contains("BAD_CHAIN"),
        "{}",
        unknown[0]
    );
}
