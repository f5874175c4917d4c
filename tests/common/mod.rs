//! Test harness for end-to-end tests: starts the real `thingwatch` binary on ephemeral
//! loopback ports with a temporary data directory ([`ChildServer`], ready when its banner is
//! complete), and calls its AWS APIs with real SigV4 signatures (`thingwatch-test-support`'s
//! [`AwsClient`]).

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub use thingwatch_test_support::aws::{AwsClient, Credentials, Request, Response};
use thingwatch_test_support::eventually;
pub use thingwatch_test_support::mqtt::{ConnectOpts, RawClient};
use thingwatch_test_support::server::ChildServer;
pub use thingwatch_test_support::temp_dir;

/// A running `thingwatch serve` child process. Killed (SIGKILL) on drop.
pub struct Server {
    pub process: ChildServer,
    pub mqtt: SocketAddr,
    pub mqtts: SocketAddr,
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub banner: Vec<String>,
    /// Signs with the server's root credentials.
    pub aws: AwsClient,
}

const MQTT_BANNER: &str = "MQTT listening on ";
const MQTTS_BANNER: &str = "MQTT over TLS listening on ";
const HTTP_BANNER: &str = "HTTP listening on ";

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
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The banner ends with the credentials line.
        let process = ChildServer::spawn(cmd, |banner| {
            let addr = |prefix| ChildServer::banner_addr(banner, prefix);
            addr(MQTT_BANNER).is_some()
                && addr(MQTTS_BANNER).is_some()
                && addr(HTTP_BANNER).is_some()
                && banner.iter().any(|l| l.starts_with("credentials:"))
        });
        let banner = process.banner.clone();
        let addr = |prefix| ChildServer::banner_addr(&banner, prefix).unwrap();
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
        let http = addr(HTTP_BANNER);
        Server {
            mqtt: addr(MQTT_BANNER),
            mqtts: addr(MQTTS_BANNER),
            http,
            data_dir: data_dir.to_path_buf(),
            aws: AwsClient::new(http, Credentials::new(&access_key_id, &secret_access_key)),
            access_key_id,
            secret_access_key,
            banner,
            process,
        }
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill_9(self) {
        self.process.kill_9();
    }

    /// Calls a CloudWatch Logs operation (JSON 1.1) signed with the server's credentials.
    pub async fn logs(&self, op: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        logs_answer(self.aws.send(Request::logs(op, &body)).await)
    }

    /// Calls a CloudWatch Logs operation signed with other credentials.
    pub async fn logs_as(
        &self,
        credentials: Credentials,
        op: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        logs_answer(
            self.aws
                .send(Request::logs(op, &body).signed_with(credentials))
                .await,
        )
    }

    /// Calls an AWS IoT control-plane operation (rest-json, signing name `iot`); the answer
    /// parsed as JSON (`{}` when empty, `{"raw": text}` when it is not JSON).
    pub async fn iot(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let resp = self
            .aws
            .send(Request::rest_json(
                "iot",
                method,
                path_and_query,
                body.as_ref(),
            ))
            .await;
        let value = if resp.body.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_slice(&resp.body).unwrap_or(serde_json::json!({"raw": resp.text()}))
        };
        (resp.status, value)
    }

    /// Calls an `iot-data` operation (signing name `iotdata`) with a raw body and no
    /// Content-Type, as the AWS CLI sends iot-data blobs.
    pub async fn iotdata(&self, method: &str, path_and_query: &str, body: &[u8]) -> Response {
        self.aws
            .send(Request::new("iotdata", method, path_and_query).body(body.to_vec()))
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
    ) -> Response {
        self.aws
            .send(Request::rest_json("iot", method, path_and_query, body.as_ref()).headers(headers))
            .await
    }

    /// Polls FilterLogEvents (all pages) until at least `min` events match `pattern`, or 10 s.
    pub async fn wait_for_events(&self, pattern: &str, min: usize) -> Vec<serde_json::Value> {
        eventually(
            Duration::from_secs(10),
            || self.filter_all(pattern),
            |events| events.len() >= min,
        )
        .await
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

/// A Logs answer as (status, JSON), `{}` for an empty body.
fn logs_answer(resp: Response) -> (u16, serde_json::Value) {
    let value = if resp.body.is_empty() {
        serde_json::json!({})
    } else {
        resp.json()
    };
    (resp.status, value)
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

/// A raw MQTT 3.1.1 client connected from `source` to `server` with `client_id` (for tests
/// that need a particular `sourceIp`: rumqttc cannot bind its local address); asserts the
/// CONNACK accepted it with no session present.
pub async fn mqtt_from(source: IpAddr, server: SocketAddr, client_id: &str) -> RawClient {
    let (client, connack) =
        RawClient::connect_from(source, server, client_id, &ConnectOpts::new(4)).await;
    assert_eq!(connack, [0, 0], "CONNACK accepted");
    client
}
