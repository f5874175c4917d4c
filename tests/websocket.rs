//! MQTT over WebSocket at `/mqtt` on the HTTP port, authenticated by a SigV4-presigned URL the
//! way the AWS IoT Device SDKs sign it (signing name `iotdevicegateway`), with rumqttc's
//! WebSocket transport as the client; the connection's `principalId` is the IAM identity.

mod common;

use common::{Credentials, Server, temp_dir};
use rumqttc::{AsyncClient, ConnectReturnCode, Event, Incoming, MqttOptions, QoS, Transport};
use std::time::{Duration, SystemTime};
use thingwatch_test_support::aws::PresignedPayload;

/// `ws://HOST/mqtt?X-Amz-…` presigned for `iotdevicegateway` with the given secret, the
/// payload hash that of the empty body as the AWS IoT Device SDKs sign it.
fn presigned_url(server: &Server, secret: &str) -> String {
    let query = server
        .aws
        .with_credentials(Credentials::new(&server.access_key_id, secret))
        .presign(
            "iotdevicegateway",
            "/mqtt",
            SystemTime::now(),
            Duration::from_secs(300),
            PresignedPayload::Empty,
        );
    format!("ws://{}/mqtt?{query}", server.http)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_websocket_connects_publishes_and_logs_the_iam_identity() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "INFO"], &[]);
    let url = presigned_url(&server, &server.secret_access_key.clone());
    let mut opts = MqttOptions::new("ws-app", url, server.http.port());
    opts.set_transport(Transport::Ws);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(opts, 10);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll())
            .await
            .unwrap()
        {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                assert_eq!(ack.code, ConnectReturnCode::Success);
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("WebSocket connect failed: {e}"),
        }
    }
    client
        .subscribe("app/echo", QoS::AtLeastOnce)
        .await
        .unwrap();
    client
        .publish(
            "app/echo",
            QoS::AtLeastOnce,
            false,
            b"over websocket".to_vec(),
        )
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), el.poll())
            .await
            .unwrap()
        {
            Ok(Event::Incoming(Incoming::Publish(p))) => {
                assert_eq!(&p.payload[..], b"over websocket");
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let connects = server
        .wait_for_events(r#"{ $.eventType = "Connect" && $.clientId = "ws-app" }"#, 1)
        .await;
    assert_eq!(connects[0]["principalId"], "arn:aws:iam::123456789012:root");

    // A URL signed with the wrong secret is refused before the upgrade (403, AWS error).
    let bad = presigned_url(&server, "wrong-secret-0123456789");
    let resp = reqwest::get(bad.replacen("ws://", "http://", 1))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(
        resp.headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap().to_owned()),
        Some("InvalidSignatureException".to_owned())
    );
    // And so is an unsigned one.
    let resp = reqwest::get(format!("http://{}/mqtt", server.http))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}
