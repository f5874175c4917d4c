//! Test harness shared by the HTTP tests: a real API server on 127.0.0.1:0 serving the `iam`
//! and `sts` services over a real IAM store (SQLite in a temp dir), with `Iam` as the
//! credential provider; requests are form bodies signed by the AWS SDK for Rust's SigV4 signer
//! (`aws-sigv4`) and sent with reqwest; XML answers are read with quick-xml.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use thingwatch_api::{ApiState, serve};
use thingwatch_iam::{Iam, IamService, IamSettings, StsService};
use thingwatch_logstore::{LogStore, StoreOptions};

pub const ROOT_AKID: &str = "AKIDEXAMPLE";
pub const ROOT_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub fn settings() -> IamSettings {
    IamSettings {
        account_id: ACCOUNT.to_owned(),
        region: REGION.to_owned(),
        root_access_key_id: ROOT_AKID.to_owned(),
        root_secret_access_key: ROOT_SECRET.to_owned(),
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub iam: Iam,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// An HTTP answer: status, content type and body text.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    /// Texts of every element at `path` (`/`-separated element names from the root).
    pub fn all(&self, path: &str) -> Vec<String> {
        xml_texts(&self.body, path)
    }

    /// The one text at `path`; panics with the body when absent.
    pub fn one(&self, path: &str) -> String {
        let v = self.all(path);
        assert_eq!(v.len(), 1, "exactly one {path} in {}", self.body);
        v.into_iter().next().unwrap_or_default()
    }
}

/// Element texts at `path` in `xml`, unescaped.
pub fn xml_texts(xml: &str, path: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                if stack.join("/") == path {
                    current = Some(String::new());
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&t.decode().expect("utf-8 text"));
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(c) = current.as_mut() {
                    let name = r.decode().expect("utf-8 ref");
                    let s = match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected entity {other}"),
                    };
                    c.push_str(s);
                }
            }
            Ok(Event::End(_)) => {
                if stack.join("/") == path
                    && let Some(c) = current.take()
                {
                    out.push(c);
                }
                stack.pop();
            }
            Ok(Event::Empty(e)) => {
                stack.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                if stack.join("/") == path {
                    out.push(String::new());
                }
                stack.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("invalid XML ({e}): {xml}"),
        }
    }
    out
}

impl Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let iam = Iam::open(&dir.path().join("iam"), settings()).expect("open IAM store");
        let store =
            LogStore::open(&dir.path().join("logs"), StoreOptions::default()).expect("log store");
        let state = ApiState::new(Arc::new(iam.clone()), ACCOUNT, REGION, store)
            .with_service("iam", Arc::new(IamService::new(iam.clone())))
            .with_service("sts", Arc::new(StsService::new(iam.clone())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async move {
            let _ = rx.await;
        }));
        Server {
            addr,
            iam,
            shutdown: Some(tx),
            task: Some(task),
            client: reqwest::Client::new(),
            dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("graceful shutdown finishes")
                .expect("server task")
                .expect("serve");
        }
    }

    /// POSTs `form` (awsQuery) to `service`, signed with `(akid, secret)`.
    pub async fn call_as(
        &self,
        creds: (&str, &str),
        service: &str,
        form: &[(&str, &str)],
    ) -> Reply {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let url = format!("http://{}/", self.addr);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish()
            .into_bytes();
        let mut headers: Vec<(String, String)> = vec![
            ("host".to_owned(), self.addr.to_string()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let identity =
            aws_credential_types::Credentials::new(creds.0, creds.1, None, None, "test").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("signing params")
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(&body),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
        for (k, v) in instructions.headers() {
            headers.push((k.to_owned(), v.to_owned()));
        }
        let mut req = self.client.post(&url).body(body);
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        assert!(
            resp.headers().contains_key("x-amzn-requestid"),
            "every response carries x-amzn-RequestId"
        );
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp.text().await.expect("body");
        Reply {
            status,
            content_type,
            body,
        }
    }

    /// An `iam` call as root.
    pub async fn iam(&self, form: &[(&str, &str)]) -> Reply {
        self.call_as((ROOT_AKID, ROOT_SECRET), "iam", form).await
    }

    /// An `iam` call (`Action` = `action`, `Version` added) as root that must succeed.
    pub async fn ok(&self, action: &str, params: &[(&str, &str)]) -> Reply {
        self.ok_as((ROOT_AKID, ROOT_SECRET), action, params).await
    }

    /// An `iam` call with `creds` that must succeed.
    pub async fn ok_as(&self, creds: (&str, &str), action: &str, params: &[(&str, &str)]) -> Reply {
        let r = self.call_as(creds, "iam", &form(action, params)).await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        assert_eq!(r.content_type, "text/xml", "{action}");
        assert!(
            !r.all(&format!("{action}Response/ResponseMetadata/RequestId"))
                .is_empty(),
            "{action}: response metadata carries the request id: {}",
            r.body
        );
        r
    }

    /// An `iam` call as root that must fail with `status`, `code` and `message`.
    pub async fn err(
        &self,
        action: &str,
        params: &[(&str, &str)],
        status: u16,
        code: &str,
        message: &str,
    ) {
        self.err_as(
            (ROOT_AKID, ROOT_SECRET),
            action,
            params,
            status,
            code,
            message,
        )
        .await;
    }

    /// An `iam` call with `creds` that must fail with `status`, `code` and `message`.
    pub async fn err_as(
        &self,
        creds: (&str, &str),
        action: &str,
        params: &[(&str, &str)],
        status: u16,
        code: &str,
        message: &str,
    ) {
        let r = self.call_as(creds, "iam", &form(action, params)).await;
        assert_error(&r, status, code, message, action);
    }
}

/// `Action=action&Version=2010-05-08&params…`.
pub fn form<'a>(action: &'a str, params: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![("Action", action), ("Version", "2010-05-08")];
    f.extend_from_slice(params);
    f
}

/// Checks an awsQuery `<ErrorResponse>`.
pub fn assert_error(r: &Reply, status: u16, code: &str, message: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(r.content_type, "text/xml", "{what}");
    assert_eq!(r.one("ErrorResponse/Error/Code"), code, "{what}");
    assert_eq!(r.one("ErrorResponse/Error/Message"), message, "{what}");
    let side = if status >= 500 { "Receiver" } else { "Sender" };
    assert_eq!(r.one("ErrorResponse/Error/Type"), side, "{what}");
    assert!(!r.one("ErrorResponse/RequestId").is_empty(), "{what}");
}

/// URL-decodes a policy document as botocore does.
pub fn url_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .expect("utf-8")
        .into_owned()
}
