//! Test harness shared by the HTTP tests: a real API server on 127.0.0.1:0 serving the `iam`
//! and `sts` services over a real IAM store (SQLite in a temp dir), with `Iam` as the
//! credential provider; requests are form bodies signed by `thingwatch-test-support`'s
//! `AwsClient` (the AWS SDK for Rust's SigV4 signer); XML answers are read with its `xml_texts`.

#![allow(dead_code)]

use std::sync::Arc;

use thingwatch_http::{ApiState, serve};
use thingwatch_iam::{Iam, IamSettings};
use thingwatch_iam_api::{IamService, StsService};
use thingwatch_test_support::aws::{AwsClient, Credentials, Request, xml_texts};
use thingwatch_test_support::server::LoopbackServer;
pub use thingwatch_test_support::{ACCOUNT, REGION, ROOT_AKID, ROOT_SECRET};

pub fn settings() -> IamSettings {
    IamSettings {
        account_id: ACCOUNT.to_owned(),
        region: REGION.to_owned(),
        root_access_key_id: ROOT_AKID.to_owned(),
        root_secret_access_key: ROOT_SECRET.to_owned(),
    }
}

pub struct Server {
    pub iam: Iam,
    server: LoopbackServer,
    aws: AwsClient,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// The server's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }
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

impl Server {
    pub async fn start() -> Self {
        let dir = thingwatch_test_support::temp_dir();
        let iam = Iam::open(&dir.path().join("iam"), settings()).expect("open IAM store");
        let state = ApiState::new(Arc::new(iam.clone()), ACCOUNT, REGION)
            .with_service("iam", Arc::new(IamService::new(iam.clone())))
            .with_service("sts", Arc::new(StsService::new(iam.clone())));
        let server =
            LoopbackServer::start(|listener, shutdown| serve(listener, state, shutdown)).await;
        Server {
            aws: AwsClient::root(server.addr()),
            iam,
            server,
            dir,
        }
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }

    /// POSTs `form` (awsQuery) to `service`, signed with `(akid, secret)`.
    pub async fn call_as(
        &self,
        creds: (&str, &str),
        service: &str,
        form: &[(&str, &str)],
    ) -> Reply {
        let resp = self
            .aws
            .send(Request::query(service, form).signed_with(Credentials::new(creds.0, creds.1)))
            .await;
        assert!(
            resp.request_id().is_some(),
            "every response carries x-amzn-RequestId"
        );
        Reply {
            status: resp.status,
            content_type: resp.content_type().to_owned(),
            body: resp.text(),
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
