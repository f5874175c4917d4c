//! Test harness for end-to-end tests: starts the real `thingwatch` binary on ephemeral
//! loopback ports with a temporary data directory, and calls the CloudWatch Logs API with
//! real SigV4 signatures (the AWS SDK's `aws-sigv4` signer).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A running `thingwatch serve` child process. Killed (SIGKILL) on drop.
pub struct Server {
    pub child: Child,
    pub mqtt: SocketAddr,
    pub mqtts: SocketAddr,
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub banner: Vec<String>,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).unwrap();
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let p = std::env::temp_dir().join(format!("thingwatch-e2e-{tag}-{name}"));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_addr(line: &str, prefix: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix(prefix)?;
    rest.split_whitespace().next()?.parse().ok()
}

impl Server {
    /// Starts the binary with `--data-dir data_dir` on port 0 listeners plus `extra` flags.
    pub fn start(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_thingwatch"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(if extra.contains(&"--mqtt-listen") {
                &[][..]
            } else {
                &["--mqtt-listen", "127.0.0.1:0"][..]
            })
            .args(if extra.contains(&"--mqtts-listen") {
                &[][..]
            } else {
                &["--mqtts-listen", "127.0.0.1:0"][..]
            })
            .args(["--http-listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("THINGWATCH_ACCESS_KEY_ID")
            .env_remove("THINGWATCH_SECRET_ACCESS_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn thingwatch");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let (mut mqtt, mut mqtts, mut http) = (None, None, None);
        let mut banner = Vec::new();
        // The banner ends with the credentials line.
        while mqtt.is_none()
            || mqtts.is_none()
            || http.is_none()
            || !banner
                .iter()
                .any(|l: &String| l.starts_with("credentials:"))
        {
            let line = match lines.next() {
                Some(Ok(l)) => l,
                _ => panic!("thingwatch exited before printing its addresses: {banner:?}"),
            };
            mqtt = mqtt.or_else(|| parse_addr(&line, "MQTT listening on "));
            mqtts = mqtts.or_else(|| parse_addr(&line, "MQTT over TLS listening on "));
            http = http.or_else(|| parse_addr(&line, "HTTP listening on "));
            banner.push(line);
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let (access_key_id, secret_access_key) =
            match env.iter().find(|(k, _)| *k == "THINGWATCH_ACCESS_KEY_ID") {
                Some((_, id)) => {
                    let secret = env
                        .iter()
                        .find(|(k, _)| *k == "THINGWATCH_SECRET_ACCESS_KEY")
                        .unwrap()
                        .1;
                    (id.to_string(), secret.to_string())
                }
                None => read_credentials(&data_dir.join("credentials")),
            };
        Server {
            child,
            mqtt: mqtt.unwrap(),
            mqtts: mqtts.unwrap(),
            http: http.unwrap(),
            data_dir: data_dir.to_path_buf(),
            access_key_id,
            secret_access_key,
            banner,
        }
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill_9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Calls a CloudWatch Logs operation (JSON 1.1) signed with the server's credentials.
    pub async fn logs(&self, op: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        signed_logs_call(
            self.http,
            op,
            &body,
            &self.access_key_id,
            &self.secret_access_key,
        )
        .await
    }

    /// Calls an AWS IoT control-plane operation (rest-json, signing name `iot`).
    pub async fn iot(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        signed_rest_call(
            self.http,
            "iot",
            method,
            path_and_query,
            body,
            &self.access_key_id,
            &self.secret_access_key,
        )
        .await
    }

    /// Calls an `iot-data` operation (signing name `iotdata`) with a raw body.
    pub async fn iotdata(&self, method: &str, path_and_query: &str, body: &[u8]) -> RawResponse {
        signed_raw_call(
            self.http,
            "iotdata",
            method,
            path_and_query,
            body.to_vec(),
            None,
            &[],
            &self.access_key_id,
            &self.secret_access_key,
        )
        .await
    }

    /// Calls an AWS IoT operation (signing name `iot`) with a JSON body and extra headers
    /// (e.g. `x-amzn-principal`).
    pub async fn iot_with_headers(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> RawResponse {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let ct = (!bytes.is_empty()).then_some("application/json");
        signed_raw_call(
            self.http,
            "iot",
            method,
            path_and_query,
            bytes,
            ct,
            headers,
            &self.access_key_id,
            &self.secret_access_key,
        )
        .await
    }

    /// Polls FilterLogEvents (all pages) until at least `min` events match `pattern`, or 10 s.
    pub async fn wait_for_events(&self, pattern: &str, min: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.filter_all(pattern).await;
            if events.len() >= min || Instant::now() > deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every event of `AWSIotLogsV2` matching `pattern`, following nextToken; messages parsed.
    pub async fn filter_all(&self, pattern: &str) -> Vec<serde_json::Value> {
        self.filter_all_raw(pattern)
            .await
            .iter()
            .map(|m| serde_json::from_str(m).unwrap())
            .collect()
    }

    /// Like [`Server::filter_all`], the messages as stored text.
    pub async fn filter_all_raw(&self, pattern: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body =
                serde_json::json!({"logGroupName": "AWSIotLogsV2", "filterPattern": pattern});
            if let Some(t) = &token {
                body["nextToken"] = t.clone().into();
            }
            let (status, v) = self.logs("FilterLogEvents", body).await;
            if status == 400 && v["__type"] == "ResourceNotFoundException" {
                return out;
            }
            assert_eq!(status, 200, "{v}");
            for e in v["events"].as_array().unwrap() {
                out.push(e["message"].as_str().unwrap().to_string());
            }
            match v["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return out,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_credentials(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).expect("credentials file");
    let get = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.split_once('=')
                    .filter(|(k, _)| k.trim() == key)
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("{key} missing"))
    };
    (get("aws_access_key_id"), get("aws_secret_access_key"))
}

/// One SigV4-signed JSON 1.1 call to the Logs API.
pub async fn signed_logs_call(
    http: SocketAddr,
    op: &str,
    body: &serde_json::Value,
    access_key_id: &str,
    secret: &str,
) -> (u16, serde_json::Value) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let url = format!("http://{http}/");
    let bytes = serde_json::to_vec(body).unwrap();
    let target = format!("Logs_20140328.{op}");
    let mut req = http::Request::builder()
        .method("POST")
        .uri(&url)
        .header("host", http.to_string())
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", &target)
        .body(bytes.clone())
        .unwrap();
    let identity =
        aws_credential_types::Credentials::new(access_key_id, secret, None, None, "e2e").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("logs")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        req.headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
        SignableBody::Bytes(&bytes),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut req);

    let client = reqwest::Client::new();
    let mut builder = client.post(&url).body(bytes);
    for (k, v) in req.headers() {
        builder = builder.header(k.as_str(), v.to_str().unwrap());
    }
    let resp = builder.send().await.expect("HTTP call");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, value)
}

/// One SigV4-signed rest-json call (`service` is the signing name, e.g. `iot`) with a JSON
/// body; the answer parsed as JSON (`{"raw": text}` when it is not JSON).
pub async fn signed_rest_call(
    http: SocketAddr,
    service: &str,
    method: &str,
    path_and_query: &str,
    body: Option<serde_json::Value>,
    access_key_id: &str,
    secret: &str,
) -> (u16, serde_json::Value) {
    let bytes = body
        .map(|b| serde_json::to_vec(&b).unwrap())
        .unwrap_or_default();
    let content_type = (!bytes.is_empty()).then_some("application/json");
    let resp = signed_raw_call(
        http,
        service,
        method,
        path_and_query,
        bytes,
        content_type,
        &[],
        access_key_id,
        secret,
    )
    .await;
    let value = if resp.body.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_slice(&resp.body)
            .unwrap_or(serde_json::json!({"raw": String::from_utf8_lossy(&resp.body)}))
    };
    (resp.status, value)
}

/// An HTTP answer: status, `x-amzn-ErrorType` (if any) and the raw body.
pub struct RawResponse {
    pub status: u16,
    pub error_type: Option<String>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One SigV4-signed call with a raw body (as the AWS CLI sends iot-data blobs: no
/// Content-Type), answered raw.
#[allow(clippy::too_many_arguments)]
pub async fn signed_raw_call(
    http: SocketAddr,
    service: &str,
    method: &str,
    path_and_query: &str,
    bytes: Vec<u8>,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    access_key_id: &str,
    secret: &str,
) -> RawResponse {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let url = format!("http://{http}{path_and_query}");
    let mut builder = http::Request::builder()
        .method(method)
        .uri(&url)
        .header("host", http.to_string());
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let mut req = builder.body(bytes.clone()).unwrap();
    let identity =
        aws_credential_types::Credentials::new(access_key_id, secret, None, None, "e2e").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method,
        &url,
        req.headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
        SignableBody::Bytes(&bytes),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut req);
    let client = reqwest::Client::new();
    let mut rb = client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            &url,
        )
        .body(bytes);
    for (k, v) in req.headers() {
        rb = rb.header(k.as_str(), v.to_str().unwrap());
    }
    let resp = rb.send().await.expect("HTTP call");
    let status = resp.status().as_u16();
    let error_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).to_owned());
    let body = resp.bytes().await.unwrap().to_vec();
    RawResponse {
        status,
        error_type,
        body,
    }
}

/// A minimal MQTT 3.1.1 client on a raw socket bound to a chosen source address, for tests
/// that need a particular `sourceIp` (rumqttc cannot bind its local address).
pub struct RawClient {
    stream: tokio::net::TcpStream,
}

impl RawClient {
    /// Connects from `source` to `server` and completes CONNECT/CONNACK with `client_id`.
    pub async fn connect(
        source: std::net::IpAddr,
        server: SocketAddr,
        client_id: &str,
    ) -> RawClient {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = if server.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        let mut stream = socket.connect(server).await.unwrap();
        // CONNECT: protocol "MQTT" level 4, clean session, keep-alive 60 s.
        let mut var = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
        var.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
        var.extend_from_slice(client_id.as_bytes());
        stream.write_all(&packet(0x10, &var)).await.unwrap();
        let mut connack = [0u8; 4];
        stream.read_exact(&mut connack).await.unwrap();
        assert_eq!(connack, [0x20, 2, 0, 0], "CONNACK accepted");
        RawClient { stream }
    }

    /// PUBLISH QoS 1 with packet id 1, waiting for the PUBACK.
    pub async fn publish_qos1(&mut self, topic: &str, payload: &[u8]) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut var = Vec::new();
        var.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        var.extend_from_slice(topic.as_bytes());
        var.extend_from_slice(&[0, 1]);
        var.extend_from_slice(payload);
        self.stream.write_all(&packet(0x32, &var)).await.unwrap();
        let mut puback = [0u8; 4];
        self.stream.read_exact(&mut puback).await.unwrap();
        assert_eq!(puback, [0x40, 2, 0, 1], "PUBACK");
    }

    /// DISCONNECT and close.
    pub async fn disconnect(mut self) {
        use tokio::io::AsyncWriteExt;
        let _ = self.stream.write_all(&[0xE0, 0]).await;
        let _ = self.stream.shutdown().await;
    }
}

/// Fixed header (type/flags byte, remaining length as a variable byte integer) + body.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}
