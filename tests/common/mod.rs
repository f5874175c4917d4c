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
            .args([
                "--mqtt-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
            ])
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
        let (mut mqtt, mut http) = (None, None);
        let mut banner = Vec::new();
        // The banner ends with the credentials line.
        while mqtt.is_none()
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
