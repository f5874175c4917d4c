//! Harness shared by the HTTP tests: the real API server (`serve`, with graceful shutdown) on
//! 127.0.0.1:0 ([`Api`]), optionally serving `IotService` over a real registry (SQLite in a
//! temp dir) wired to a real logger, and maybe a real certificate registry and real topic
//! rules (`thingwatch_rules::Rules`, SQLite in the same temp dir) ([`IotServer`]).
//! Requests are signed by the AWS SDK for Rust's SigV4 signer (`aws-sigv4`, an independent
//! implementation) through `thingwatch-test-support`'s [`AwsClient`] and sent with reqwest.

#![allow(dead_code)]

use std::sync::Arc;

use serde_json::Value;
use thingwatch_certs::{CertificateAuthority, CertificateRegistry};
use thingwatch_events::{Logger, LoggerSettings, LoggingConfig, MemorySink, PipelineConfig};
use thingwatch_http::{ApiState, StaticCredentials, serve};
use thingwatch_iot_api::{Endpoints, IotService, IotSettings, RoleChecker};
use thingwatch_logs_api::LogsService;
use thingwatch_logstore::{LogStore, StoreOptions};
use thingwatch_registry::{Registry, RegistrySettings};
use thingwatch_rules::{Rules, RulesSettings};
use thingwatch_test_support::aws::Request;
use thingwatch_test_support::server::ApiServer;
use thingwatch_test_support::{ACCOUNT, REGION, ROOT_AKID, ROOT_SECRET, temp_dir};

/// An API server on 127.0.0.1:0 and a client signing as root.
pub type Api = ApiServer;

/// An `ApiState` serving CloudWatch Logs over `store`, whose only credentials are the root
/// key [`ROOT_AKID`] / [`ROOT_SECRET`].
pub fn root_state(store: LogStore) -> ApiState {
    let creds = Arc::new(StaticCredentials::root(ROOT_AKID, ROOT_SECRET, ACCOUNT));
    let logs = LogsService::new(store, ACCOUNT.to_owned(), REGION.to_owned());
    ApiState::new(creds, ACCOUNT, REGION).with_service("logs", Arc::new(logs))
}

/// How an [`IotServer`] is set up.
pub struct IotOptions {
    /// The registry's limit on resource-specific log targets.
    pub max_log_targets: usize,
    /// The registry's initial logging configuration.
    pub initial: LoggingConfig,
    /// What DescribeEndpoint answers.
    pub endpoints: Endpoints,
    /// Whether the certificate operations are configured (a certificate registry with a CA
    /// generated in the data directory).
    pub certificates: bool,
    /// Whether the topic rule operations are configured, with these settings (rules in
    /// `rules/` of the data directory).
    pub rules: Option<RulesSettings>,
    /// Whether the rules POST destination confirmations (`Rules::with_http`).
    pub rules_http: bool,
    /// Whether the unsigned `enableUrl` route (`confirm_routes`) is mounted.
    pub confirm_route: bool,
    /// The `iam:PassRole` check, if any.
    pub role_checker: Option<Arc<dyn RoleChecker>>,
}

impl Default for IotOptions {
    fn default() -> Self {
        IotOptions {
            max_log_targets: 10,
            initial: LoggingConfig::default(),
            endpoints: Endpoints::data_only("127.0.0.1:1883"),
            certificates: false,
            rules: None,
            rules_http: false,
            confirm_route: false,
            role_checker: None,
        }
    }
}

/// An API server with the `iot` service, its logger and registry.
pub struct IotServer {
    pub api: Api,
    pub logger: Logger,
    pub registry: Registry,
    /// The topic rules, when configured.
    pub rules: Option<Rules>,
}

/// A rest-json answer whose body is JSON.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl IotServer {
    /// Starts the server: log store in `logs/`, registry in `registry/`, certificates (if
    /// asked) in `ca/` and `certs/` of a fresh temp dir; the logger writes to a memory sink.
    pub async fn start_with(opts: IotOptions) -> IotServer {
        let dir = temp_dir();
        let store = LogStore::open(&dir.path().join("logs"), StoreOptions::default()).unwrap();
        let logger = Logger::start(
            LoggerSettings {
                account_id: ACCOUNT.to_owned(),
                node_id: "test".to_owned(),
                pipeline: PipelineConfig::default(),
            },
            LoggingConfig::default(),
            Box::new(MemorySink::new()),
        );
        let registry = Registry::open(
            &dir.path().join("registry"),
            RegistrySettings {
                account_id: ACCOUNT.to_owned(),
                region: REGION.to_owned(),
                max_log_targets: opts.max_log_targets,
            },
            logger.clone(),
            opts.initial,
        )
        .unwrap();
        let mut iot = IotService::new(
            registry.clone(),
            IotSettings {
                account_id: ACCOUNT.to_owned(),
                region: REGION.to_owned(),
                endpoints: opts.endpoints,
            },
        );
        if opts.certificates {
            let ca = CertificateAuthority::load_or_create(&dir.path().join("ca"), &[]).unwrap();
            let certs =
                CertificateRegistry::open(&dir.path().join("certs"), Arc::new(ca), REGION, ACCOUNT)
                    .unwrap();
            iot = iot.with_certificates(certs);
        }
        if let Some(checker) = opts.role_checker {
            iot = iot.with_role_checker(checker);
        }
        let mut rules = None;
        if let Some(settings) = opts.rules {
            let scope = thingwatch_aws::Scope::new(ACCOUNT, REGION);
            let mut r = Rules::open_with(&dir.path().join("rules"), scope, settings).unwrap();
            if opts.rules_http {
                r = r.with_http(tokio::runtime::Handle::current(), reqwest::Client::new());
            }
            iot = iot.with_rules(r.clone());
            rules = Some(r);
        }
        let mut state = root_state(store).with_service("iot", Arc::new(iot));
        if let (true, Some(r)) = (opts.confirm_route, &rules) {
            state = state.with_routes(thingwatch_iot_api::confirm_routes(r.clone()));
        }
        IotServer {
            api: Api::start(dir, move |l, s| serve(l, state, s)).await,
            logger,
            registry,
            rules,
        }
    }

    /// Graceful shutdown of the server, then of the logger.
    pub async fn stop(self) {
        self.api.stop().await;
        self.logger.shutdown();
    }

    /// Sends a SigV4-signed (service `iot`) request with extra signed headers; `path`
    /// includes the query string. The body must be JSON and the answer carry
    /// `x-amzn-RequestId`.
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let resp = self
            .api
            .aws
            .send(Request::rest_json("iot", method, path, body.as_ref()).headers(extra))
            .await;
        let json: Value = serde_json::from_slice(&resp.body)
            .unwrap_or_else(|e| panic!("{method} {path}: non-JSON body {e}: {}", resp.text()));
        assert!(
            resp.request_id().is_some(),
            "{method} {path}: every response carries x-amzn-RequestId"
        );
        Reply {
            status: resp.status,
            headers: resp.headers,
            json,
        }
    }

    /// [`IotServer::call_with`] without extra headers.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_with(method, path, &[], body).await
    }

    /// A call that must succeed (200, `application/json`, absent members omitted rather than
    /// null); returns its output.
    pub async fn ok_with(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<Value>,
    ) -> Value {
        let r = self.call_with(method, path, extra, body).await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.json);
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(
            !r.json.to_string().contains("null"),
            "absent members are omitted: {}",
            r.json
        );
        r.json
    }

    /// [`IotServer::ok_with`] without extra headers.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.ok_with(method, path, &[], body).await
    }

    /// A call that must fail with exactly `status` and `x-amzn-ErrorType: code`; returns the
    /// answer.
    pub async fn failure(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> Value {
        let r = self.call_with(method, path, extra, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.json);
        assert_eq!(
            r.headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok()),
            Some(code),
            "{method} {path}: {}",
            r.json
        );
        r.json
    }
}
