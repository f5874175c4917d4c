//! MQTT over WebSocket at `GET /mqtt` on the HTTP port, authenticated by a SigV4-presigned
//! URL as the AWS IoT Device SDKs build it (signing name `iotdevicegateway`; query
//! `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders=host`,
//! `X-Amz-Signature`, with `X-Amz-Security-Token` appended after signing for temporary
//! credentials). The WebSocket subprotocol is `mqtt`; binary frames carry the MQTT byte
//! stream, which the broker serves like a TCP connection with the signer's IAM identity as
//! the connection's principal (`principalId` = the identity's ARN).
//!
//! A request without valid SigV4 parameters is refused before the upgrade with the AWS
//! error of the rest-json protocol (403 `InvalidSignatureException`, …).
//!
//! Sources: AWS IoT Developer Guide *MQTT over WebSocket protocol* ("Signing MQTT over
//! WebSocket connections with SigV4"), RFC 6455.

use std::net::SocketAddr;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use thingwatch_broker::{Broker, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use axum::Router;
use axum::routing::get;
use thingwatch_http::error::{Protocol, RenderError, auth_error};
use thingwatch_http::server::ApiState;
use thingwatch_http::sigv4::{self, SignedRequest, Verifier};

/// The path of the MQTT-over-WebSocket endpoint (AWS IoT's).
pub const MQTT_PATH: &str = "/mqtt";

/// The SigV4 signing name of AWS IoT's device gateway.
pub const SIGNING_NAME: &str = "iotdevicegateway";

/// Largest WebSocket message accepted (an MQTT packet is at most 128 KiB of payload plus
/// headers in AWS IoT).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The routes to mount on the HTTP port ([`ApiState::with_routes`]): `GET /mqtt` into
/// `broker`.
pub fn routes(broker: Broker) -> Router<ApiState> {
    Router::new().route(
        MQTT_PATH,
        get(move |State(state): State<ApiState>, req: Request| upgrade(state, broker.clone(), req)),
    )
}

/// `GET /mqtt`: verifies the presigned URL, then upgrades and hands the byte stream to the
/// broker.
async fn upgrade(state: ApiState, broker: Broker, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (mut parts, _body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| ([127, 0, 0, 1], 0).into(), |c| c.0);
    let signed = SignedRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query(),
        authority: parts.uri.authority().map(|a| a.as_str()),
        headers: &parts.headers,
        body: &[],
    };
    let verified = sigv4::parse_auth(&signed).and_then(|parsed| {
        if parsed.scope.service != SIGNING_NAME {
            return Err(sigv4::AuthError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{SIGNING_NAME}'."
            )));
        }
        Verifier::new(state.credentials().clone(), state.clock().clone())
            .verify_parsed(&signed, &parsed)
    });
    let principal = match verified {
        Ok(v) => v.principal,
        Err(e) => {
            tracing::debug!(error = %e, "MQTT over WebSocket: SigV4 refused");
            return auth_error(&e).render(Protocol::RestJson, &request_id);
        }
    };
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    ws.protocols(["mqtt"])
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| bridge(socket, broker, peer, principal.arn))
}

/// Pumps WebSocket binary frames into the broker's connection and its output back out as
/// binary frames, until either side closes.
async fn bridge(socket: WebSocket, broker: Broker, peer: SocketAddr, principal_arn: String) {
    let (broker_side, ours) = tokio::io::duplex(64 * 1024);
    let transport = Transport {
        tls: false,
        client_certificate: None,
        principal: Some(principal_arn),
    };
    let mqtt =
        tokio::spawn(async move { broker.serve_connection(broker_side, peer, transport).await });
    let (mut ws_tx, mut ws_rx) = socket.split();
    let (mut from_broker, mut to_broker) = tokio::io::split(ours);
    let inbound = async {
        while let Some(Ok(msg)) = ws_rx.next().await {
            match msg {
                Message::Binary(bytes) if to_broker.write_all(&bytes).await.is_err() => break,
                Message::Binary(_) => {}
                Message::Close(_) => break,
                // Text frames are not MQTT; pings are answered by the library.
                _ => {}
            }
        }
        let _ = to_broker.shutdown().await;
    };
    let outbound = async {
        // Read into spare capacity (no zero-filled buffer held by an idle connection) and
        // hand the bytes to the frame without a copy.
        let mut buf = bytes::BytesMut::new();
        loop {
            buf.reserve(16 * 1024);
            match from_broker.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let frame = Message::Binary(buf.split().freeze());
                    if ws_tx.send(frame).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = ws_tx.close().await;
    };
    tokio::select! {
        _ = inbound => {}
        _ = outbound => {}
    }
    let _ = mqtt.await;
}
