//! The Thingwatch server, assembled: opens every component in a declared order, binds the
//! listeners, serves, and stops in the reverse order. The `thingwatch serve` binary only
//! resolves its settings into a [`ServerConfig`] and calls [`Server::start`]; tests boot the
//! whole server in process the same way (on loopback, ephemeral ports).
//!
//! **Start order** (each step uses only what was opened before it):
//!
//! | # | component | opens |
//! |---|---|---|
//! | 1 | data directory | `DATA_DIR`, node ID, root credentials ([`datadir`]) |
//! | 2 | log store | `DATA_DIR/logs` (CloudWatch Logs–compatible store) |
//! | 3 | IAM | `DATA_DIR/iam` + the built-in logging role on a fresh directory |
//! | 4 | logger | level gate + `log-pipeline` queue into a [`StoreSink`] (delivery through the logging role) |
//! | 4b | metrics | `DATA_DIR/metrics` (CloudWatch metrics and alarms) + the `metrics-publisher` thread publishing the logger's `AWS/IoT` counters + the `alarm-evaluator` thread |
//! | 5 | registry | `DATA_DIR/registry`: things, groups, IoT policies, the logging configuration (pushed into the logger) |
//! | 6 | certificates | `DATA_DIR/ca.pem` server CA, `DATA_DIR/certificates` |
//! | 7 | broker | `DATA_DIR/broker` (retained messages, sessions) behind the IoT authorizer |
//! | 8 | Device Shadow | `DATA_DIR/shadows` + its gateway, registered as the broker's reserved-topic handler |
//! | 8a | Jobs | `DATA_DIR/jobs` (jobs, executions, templates) + the `jobs-scheduler` thread; its gateway (queue `jobs-requests`, `jobs-worker`) registered as the broker's reserved-topic handler for `$aws/things/…/jobs/…`; continuous jobs follow the registry's membership changes |
//! | 8b | rules engine | `DATA_DIR/rules` (topic rules, destinations) + the engine on the broker's `rules` observer queue and its `rules-http` queue (after the listeners bind: destination confirmations name the HTTP address) |
//! | 9 | SNS | `DATA_DIR/sns` (topics, subscriptions, the signing key) + the `sns-deliveries` queue; alarm actions publish to it (after the listeners bind: its URLs name the HTTP address) |
//! | 9a | audit trail | `DATA_DIR/audit` (records, digests, trails, the digest key) + the `audit` queue and its `audit-writer` thread; the API-call observer that feeds it |
//! | 9b | AWS APIs | iot, iot-data, iot-jobs-data, logs, monitoring, sns, iam, sts, cloudtrail on one HTTP dispatcher; MQTT over WebSocket at `/mqtt`; `/metrics`; the unsigned SNS URLs under `/sns/` |
//! | 10 | listeners | MQTT, MQTT over TLS, HTTP bound; serving tasks started |
//!
//! **Stop order** ([`Server::stop`]): listeners stop accepting and every connection ends
//! (MQTT `Disconnect` entries are written), the audit trail writes what is queued and a final
//! digest, the certificate watcher ends, the shadow worker
//! finishes its queue, the jobs worker and scheduler stop, the logger flushes its pipeline into the store, the metrics publisher
//! publishes the last counts, the store syncs.

pub mod config;
pub mod datadir;
mod decisions;
mod notify;
pub mod sink;

pub use config::{GivenCredentials, InitialLogging, ServerConfig};
pub use datadir::{DataDir, RootCredentials, require_loopback};
pub use sink::{SinkBinding, StoreSink};
pub use thingwatch_sns::DeliveryPolicy;

use anyhow::{Context, Result};
use decisions::IamDecisions;
use std::net::SocketAddr;
use std::sync::Arc;
use thingwatch_broker::Broker;
use thingwatch_events::{Logger, LoggerSettings, LoggingConfig, PipelineConfig};
use thingwatch_logstore::{LogStore, StoreOptions};
use thingwatch_registry::{Registry, RegistrySettings};
use tokio::task::JoinHandle;

/// A running server. Dropping it without [`Server::stop`] leaves its tasks to end with the
/// tokio runtime (nothing is flushed): call `stop`.
pub struct Server {
    /// Where the plain MQTT listener is bound.
    pub mqtt_addr: SocketAddr,
    /// Where the MQTT over TLS listener is bound.
    pub mqtts_addr: SocketAddr,
    /// Where the HTTP listener (AWS APIs, `/mqtt` WebSocket) is bound.
    pub http_addr: SocketAddr,
    /// The root credentials in effect.
    pub credentials: RootCredentials,
    data: DataDir,
    config: ServerConfig,
    store: LogStore,
    logger: Logger,
    iam: thingwatch_iam::Iam,
    registry: Registry,
    certificates: thingwatch_certs::CertificateRegistry,
    broker: Broker,
    shadows: thingwatch_shadow::ShadowGateway,
    jobs: thingwatch_jobs::Jobs,
    jobs_gateway: thingwatch_jobs::JobsGateway,
    rules: thingwatch_rules::Rules,
    rules_engine: thingwatch_rules::EngineHandle,
    metrics: thingwatch_metrics::MetricStore,
    publisher: thingwatch_metrics::Publisher,
    alarms: thingwatch_metrics::alarms::Alarms,
    evaluator: thingwatch_metrics::alarms::Evaluator,
    sns: thingwatch_sns::Sns,
    audit: thingwatch_audit::Audit,
    api: thingwatch_http::ApiState,
    stop_tx: tokio::sync::watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<std::io::Result<()>>)>,
    watcher: JoinHandle<()>,
}

impl Server {
    /// Opens every component (module docs: start order) and starts serving. Must be called
    /// inside a multi-threaded tokio runtime.
    ///
    /// # Errors
    /// A non-loopback plain listener, an unreadable or corrupt data directory, a listener
    /// address in use — each with the path or address in the message.
    pub async fn start(config: ServerConfig) -> Result<Server> {
        require_loopback("unauthenticated MQTT", config.mqtt_listen)?;
        require_loopback("plain HTTP", config.http_listen)?;
        // 1. Data directory.
        let data = DataDir::open(&config.data_dir)?;
        let credentials = data.root_credentials(config.credentials.as_ref(), &config.region)?;
        let node_id = data.node_id()?;
        // 2. Log store.
        let store =
            LogStore::open(&data.log_store_dir(), StoreOptions::default()).with_context(|| {
                format!(
                    "opening the log store in {}",
                    data.log_store_dir().display()
                )
            })?;
        // 3. IAM: users, access keys, roles; a fresh data directory gets the built-in logging
        // role (the AWS IoT guide's trust and permissions policies).
        let iam = thingwatch_iam::Iam::open(
            &data.iam_dir(),
            thingwatch_iam::IamSettings {
                account_id: config.account_id.clone(),
                region: config.region.clone(),
                root_access_key_id: credentials.access_key_id.clone(),
                root_secret_access_key: credentials.secret_access_key.clone(),
            },
        )
        .map_err(|e| anyhow::anyhow!("opening IAM in {}: {e}", data.iam_dir().display()))?;
        iam.ensure_builtin_logging_role(
            thingwatch_iam::BUILTIN_LOGGING_ROLE_NAME,
            thingwatch_events::now_ms(),
        )
        .map_err(|e| anyhow::anyhow!("creating the built-in logging role: {e}"))?;
        // 4. Logger, delivering into the store through the logging role.
        let (sink, binding) = StoreSink::new(store.clone(), iam.clone());
        let logger = Logger::start(
            LoggerSettings {
                account_id: config.account_id.clone(),
                node_id,
                pipeline: PipelineConfig::default(),
            },
            LoggingConfig::default(),
            Box::new(sink),
        );
        binding.bind(&logger);
        // 4b. CloudWatch metrics, and the publication of the logger's AWS/IoT counters.
        let metrics = thingwatch_metrics::MetricStore::open(&data.metrics_dir())
            .with_context(|| format!("opening metrics in {}", data.metrics_dir().display()))?;
        let rule_counters = Arc::new(thingwatch_rules::RuleCounters::default());
        let job_counters = Arc::new(thingwatch_jobs::JobCounters::default());
        let publisher = thingwatch_metrics::Publisher::start(
            metrics.clone(),
            vec![
                Arc::new(logger.clone()),
                rule_counters.clone(),
                job_counters.clone(),
            ],
            config.metrics_interval,
        );
        let alarms = thingwatch_metrics::alarms::Alarms::open(
            &data.metrics_dir(),
            metrics.clone(),
            thingwatch_aws::Scope::new(config.account_id.clone(), config.region.clone()),
        )
        .with_context(|| format!("opening alarms in {}", data.metrics_dir().display()))?;
        let evaluator =
            thingwatch_metrics::alarms::Evaluator::start(alarms.clone(), config.metrics_interval);
        let dashboards = Arc::new(
            thingwatch_metrics::dashboards::Dashboards::open(&data.metrics_dir()).with_context(
                || format!("opening dashboards in {}", data.metrics_dir().display()),
            )?,
        );
        // 5. Registry, which holds the logging configuration: a fresh data directory gets the
        // one `initial_logging` asks for; opening pushes the stored one into the logger.
        let registry = Registry::open(
            &data.registry_dir(),
            RegistrySettings {
                account_id: config.account_id.clone(),
                region: config.region.clone(),
                max_log_targets: config.max_log_targets,
            },
            logger.clone(),
            initial_logging(&config),
        )
        .with_context(|| format!("opening the registry in {}", data.registry_dir().display()))?;
        // 6. X.509: the server CA (DATA_DIR/ca.pem, what TLS clients trust), the server
        // certificate, and the registry of device and CA certificates.
        let authority = Arc::new(
            thingwatch_certs::CertificateAuthority::load_or_create(data.root(), &[]).map_err(
                |e| anyhow::anyhow!("creating the server CA in {}: {e}", data.root().display()),
            )?,
        );
        let server_ca = authority.ca_der().clone();
        let certificates = thingwatch_certs::CertificateRegistry::open(
            &data.certificates_dir(),
            authority,
            &config.region,
            &config.account_id,
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "opening certificates in {}: {e}",
                data.certificates_dir().display()
            )
        })?;
        let tls_config = certificates
            .server_config()
            .map_err(|e| anyhow::anyhow!("building the TLS configuration: {e}"))?;
        // 7. Broker: certificates + IoT policies on the TLS listener, `anonymous` on the
        // loopback-only plain listener, IAM identities over WebSocket.
        let authorizer = thingwatch_authz::IotAuthorizer::new(
            certificates.clone(),
            Arc::new(registry.clone()),
            Some(Arc::new(IamDecisions(iam.clone()))),
            &config.region,
            &config.account_id,
        );
        let broker = Broker::open(
            &data.broker_dir(),
            thingwatch_broker::BrokerConfig {
                max_connections: config.max_connections,
                ..Default::default()
            },
            logger.clone(),
            Arc::new(authorizer),
        )
        .with_context(|| format!("opening broker state in {}", data.broker_dir().display()))?;
        // 8. Device Shadow, answering the broker's reserved shadow topics.
        let shadow_dir = data.shadow_dir();
        std::fs::create_dir_all(&shadow_dir)
            .with_context(|| format!("creating {}", shadow_dir.display()))?;
        let shadow_service =
            thingwatch_shadow::ShadowService::open(&shadow_dir, Default::default())
                .map_err(|e| anyhow::anyhow!("opening shadows in {}: {e}", shadow_dir.display()))?;
        let shadows = thingwatch_shadow::ShadowGateway::start(
            shadow_service,
            broker.clone(),
            logger.clone(),
            thingwatch_shadow::GatewayLimits::default(),
        );
        broker.add_reserved_handler(Arc::new(shadows.clone()));
        // 8a. AWS IoT Jobs: the control plane's store and scheduler, the device topics.
        let jobs = thingwatch_jobs::Jobs::open_with_counters(
            &data.jobs_dir(),
            thingwatch_aws::Scope::new(config.account_id.clone(), config.region.clone()),
            Arc::new(registry.clone()),
            logger.clone(),
            thingwatch_jobs::JobsSettings {
                minute_ms: config.jobs_minute_ms,
                ..Default::default()
            },
            job_counters,
        )
        .map_err(|e| anyhow::anyhow!("opening jobs in {}: {e}", data.jobs_dir().display()))?;
        let jobs_gateway = thingwatch_jobs::JobsGateway::start(jobs.clone(), broker.clone());
        broker.add_reserved_handler(Arc::new(jobs_gateway.clone()));
        {
            let jobs = jobs.clone();
            registry
                .on_membership_change(Arc::new(move |thing: &str| jobs.membership_changed(thing)));
        }
        // 10 (bind first: DescribeEndpoint answers the bound MQTT address).
        let mqtt = bind(config.mqtt_listen, "MQTT listener").await?;
        let mqtts = bind(config.mqtts_listen, "MQTT over TLS listener").await?;
        let http = bind(config.http_listen, "HTTP listener").await?;
        let (mqtt_addr, mqtts_addr, http_addr) =
            (mqtt.local_addr()?, mqtts.local_addr()?, http.local_addr()?);
        // SNS (DATA_DIR/sns): its SubscribeURL/SigningCertURL point at the HTTP listener.
        let sns = thingwatch_sns::Sns::open(
            &data.root().join("sns"),
            thingwatch_sns::SnsSettings {
                account_id: config.account_id.clone(),
                region: config.region.clone(),
                base_url: format!("http://{http_addr}"),
                delivery: config.sns_delivery.clone(),
                trusted_roots: config
                    .sns_trusted_roots
                    .iter()
                    .cloned()
                    .chain([server_ca.clone()])
                    .collect(),
            },
        )
        .map_err(|e| {
            anyhow::anyhow!("opening SNS in {}: {e}", data.root().join("sns").display())
        })?;
        // Alarm actions publish to SNS topics.
        alarms.set_notifier(Arc::new(notify::SnsAlarmActions(sns.clone())));
        // 8b. The rules engine: rules and destinations, and the engine observing every
        // message the broker accepts. Outbound HTTP (http actions, destination
        // confirmations) trusts the system roots, the SNS trusted roots and the server CA.
        let outbound = thingwatch_sns::outbound_client(
            thingwatch_rules::engine::HTTP_TIMEOUT,
            &config
                .sns_trusted_roots
                .iter()
                .cloned()
                .chain([server_ca])
                .collect::<Vec<_>>(),
        )
        .map_err(|e| anyhow::anyhow!("building the outbound HTTP client: {e}"))?;
        let runtime = tokio::runtime::Handle::current();
        let rules = thingwatch_rules::Rules::open_with(
            &data.rules_dir(),
            thingwatch_aws::Scope::new(config.account_id.clone(), config.region.clone()),
            thingwatch_rules::RulesSettings {
                enable_base_url: format!("http://{http_addr}"),
            },
        )
        .map_err(|e| anyhow::anyhow!("opening rules in {}: {e}", data.rules_dir().display()))?
        .with_http(runtime.clone(), outbound.clone());
        let (engine, rules_engine) = thingwatch_rules::RulesEngine::new(
            rules.clone(),
            broker.downgrade(),
            logger.clone(),
            thingwatch_rules::Targets {
                logs: Some(store.clone()),
                metrics: Some(metrics.clone()),
                alarms: Some(alarms.clone()),
                roles: Some(Arc::new(IamDecisions(iam.clone()))),
                shadows: Some(Arc::new(ShadowDocuments(shadows.clone()))),
                http: Some((runtime, outbound)),
                http_queue_capacity: 0,
            },
            rule_counters,
        );
        broker
            .add_observer(
                thingwatch_broker::ObserverConfig {
                    name: thingwatch_rules::engine::QUEUE_NAME,
                    capacity: thingwatch_rules::engine::DEFAULT_QUEUE_CAPACITY,
                    when_full: thingwatch_events::WhenFull::DropNewest,
                },
                engine,
            )
            .context("starting the rules engine's observer thread")?;
        // 9a. The audit trail: every management call on the HTTP port, recorded.
        let audit = thingwatch_audit::Audit::open(
            &thingwatch_audit::audit_dir(data.root()),
            thingwatch_audit::AuditSettings {
                digest_interval_ms: i64::try_from(config.audit_digest_interval.as_millis())
                    .unwrap_or(thingwatch_audit::DIGEST_INTERVAL_MS),
                ..thingwatch_audit::AuditSettings::new(thingwatch_aws::Scope::new(
                    config.account_id.clone(),
                    config.region.clone(),
                ))
            },
            Some(store.clone()),
            Some(Arc::new(IamDecisions(iam.clone()))),
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "opening the audit trail in {}: {e}",
                thingwatch_audit::audit_dir(data.root()).display()
            )
        })?;
        // 9. The AWS APIs.
        let api_state = api_state(
            &config,
            (mqtt_addr, http_addr),
            &iam,
            &registry,
            &certificates,
            &broker,
            &shadows,
            &logger,
            &store,
            &metrics,
            &alarms,
            dashboards,
            (&rules, &rules_engine),
            &audit,
            (&jobs, &jobs_gateway),
        )
        .with_service(
            "sns",
            Arc::new(thingwatch_sns_api::SnsService::new(sns.clone())),
        )
        .with_routes(thingwatch_sns_api::routes(sns.clone()));
        if config.audit {
            api_state.add_call_observer(Arc::new(thingwatch_cloudtrail_api::AuditObserver::new(
                audit.clone(),
                Arc::new(decisions::AuditIdentities(iam.clone())),
            )));
        }
        // 10. Serve.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let mut tasks = Vec::new();
        {
            let broker = broker.clone();
            let shutdown = stopped(stop_rx.clone());
            tasks.push((
                "MQTT listener",
                tokio::spawn(async move { broker.serve(mqtt, shutdown).await }),
            ));
        }
        {
            let broker = broker.clone();
            let shutdown = stopped(stop_rx.clone());
            tasks.push((
                "MQTT over TLS listener",
                tokio::spawn(async move { broker.serve_tls(mqtts, tls_config, shutdown).await }),
            ));
        }
        tasks.push((
            "HTTP API",
            tokio::spawn(thingwatch_http::serve(
                http,
                api_state.clone(),
                stopped(stop_rx),
            )),
        ));
        let watcher = tokio::spawn(thingwatch_authz::watch_certificates(
            certificates.clone(),
            broker.clone(),
        ));
        Ok(Server {
            mqtt_addr,
            mqtts_addr,
            http_addr,
            credentials,
            data,
            config,
            store,
            logger,
            iam,
            registry,
            certificates,
            broker,
            shadows,
            jobs,
            jobs_gateway,
            rules,
            rules_engine,
            metrics,
            publisher,
            alarms,
            evaluator,
            sns,
            audit,
            api: api_state,
            stop_tx,
            tasks,
            watcher,
        })
    }

    /// Stops in the reverse order of the start (module docs) and reports the first failure of
    /// a listener task or of the final store sync.
    ///
    /// # Errors
    /// A listener that failed while serving, or the log store's final sync.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop_tx.send(true);
        let mut first_error = None;
        for (name, task) in self.tasks {
            let outcome = match task.await {
                Ok(r) => r.with_context(|| name.to_string()),
                Err(e) => Err(anyhow::anyhow!("{name} task: {e}")),
            };
            if let Err(e) = outcome {
                first_error.get_or_insert(e);
            }
        }
        self.watcher.abort();
        {
            let audit = self.audit.clone();
            tokio::task::spawn_blocking(move || audit.stop())
                .await
                .context("stopping the audit trail")?;
        }
        self.sns.stop();
        self.shadows.stop();
        self.jobs_gateway.stop();
        {
            let jobs = self.jobs.clone();
            tokio::task::spawn_blocking(move || jobs.stop())
                .await
                .context("stopping the jobs scheduler")?;
        }
        self.evaluator.stop();
        let (logger, store, publisher) = (self.logger, self.store, self.publisher);
        // Flushing the pipeline and syncing the store block: off the async workers.
        tokio::task::spawn_blocking(move || {
            logger.shutdown();
            publisher.stop();
            store.sync().context("syncing the log store")
        })
        .await
        .context("stopping the logger")??;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Registers an API-call observer: it sees every call on the HTTP port from now on
    /// (caller, operation, parameters, outcome) — the audit trail's hook.
    pub fn add_api_call_observer(&self, observer: Arc<dyn thingwatch_http::ApiCallObserver>) {
        self.api.add_call_observer(observer);
    }

    /// The MQTT broker (e.g. to register a message observer).
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// The logger (its metrics, pipeline counters, configuration).
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// The CloudWatch metric store (`AWS/IoT` and custom metrics).
    pub fn metrics(&self) -> &thingwatch_metrics::MetricStore {
        &self.metrics
    }

    /// The CloudWatch metric alarms.
    pub fn alarms(&self) -> &thingwatch_metrics::alarms::Alarms {
        &self.alarms
    }

    /// Publishes the `AWS/IoT` counters now instead of at the next interval.
    pub fn publish_metrics(&self) {
        self.publisher.flush();
    }

    /// The embedded log store.
    pub fn log_store(&self) -> &LogStore {
        &self.store
    }

    /// IAM (users, roles, policies).
    pub fn iam(&self) -> &thingwatch_iam::Iam {
        &self.iam
    }

    /// The registry (things, thing groups, IoT policies, the logging configuration).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Device and CA certificates.
    pub fn certificates(&self) -> &thingwatch_certs::CertificateRegistry {
        &self.certificates
    }

    /// The Device Shadow service.
    pub fn shadows(&self) -> &thingwatch_shadow::ShadowGateway {
        &self.shadows
    }

    /// Topic rules and topic rule destinations.
    pub fn rules(&self) -> &thingwatch_rules::Rules {
        &self.rules
    }

    /// The rules engine's counters (rule metrics, the `rules-http` queue).
    pub fn rules_engine(&self) -> &thingwatch_rules::EngineHandle {
        &self.rules_engine
    }

    /// AWS IoT Jobs (jobs, executions, templates, the device API).
    pub fn jobs(&self) -> &thingwatch_jobs::Jobs {
        &self.jobs
    }

    /// The Jobs MQTT gateway (the `jobs-requests` queue).
    pub fn jobs_gateway(&self) -> &thingwatch_jobs::JobsGateway {
        &self.jobs_gateway
    }

    /// The audit trail (CloudTrail records, trails, digests).
    pub fn audit(&self) -> &thingwatch_audit::Audit {
        &self.audit
    }

    /// SNS (topics, subscriptions, [`thingwatch_sns::Sns::publish`] for alarm actions).
    pub fn sns(&self) -> &thingwatch_sns::Sns {
        &self.sns
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.data
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The start-up banner: version, account, every listener and how to use it, the data
    /// directory, where the credentials are. Secrets are never printed.
    pub fn banner(&self) -> String {
        let (config, data, credentials) = (&self.config, &self.data, &self.credentials);
        let (mqtt, mqtts, http) = (self.mqtt_addr, self.mqtts_addr, self.http_addr);
        let mut out = format!(
            "thingwatch {} — account {} in {}\n\
             MQTT listening on {mqtt} (plain MQTT 3.1.1/5, loopback only, no authentication)\n\
             MQTT over TLS listening on {mqtts} (X.509 client certificates; CA: {})\n\
             HTTP listening on {http} (AWS APIs: aws --endpoint-url http://{http})\n\
             data directory: {}\n",
            env!("CARGO_PKG_VERSION"),
            config.account_id,
            config.region,
            data.root().join(thingwatch_certs::CA_PEM_FILE).display(),
            data.root().display(),
        );
        if credentials.in_credentials_file {
            out.push_str(&format!(
                "credentials: {} (export AWS_SHARED_CREDENTIALS_FILE={} AWS_CONFIG_FILE={})\n",
                credentials.source,
                data.credentials_path().display(),
                data.aws_config_path().display()
            ));
        } else {
            out.push_str(&format!(
                "credentials: access key {} from the {}\n",
                credentials.access_key_id, credentials.source
            ));
        }
        out
    }
}

/// `get_thing_shadow()` in rule SQL reads the Device Shadow service.
struct ShadowDocuments(thingwatch_shadow::ShadowGateway);

impl thingwatch_rules::ShadowReader for ShadowDocuments {
    fn get_shadow(&self, thing: &str, shadow: Option<&str>) -> Result<Vec<u8>, String> {
        self.0
            .service()
            .get(thing, shadow, None, thingwatch_events::now_ms())
            .map_err(|e| e.to_string())
    }
}

/// The logging configuration a fresh data directory starts with.
fn initial_logging(config: &ServerConfig) -> LoggingConfig {
    match config.initial_logging {
        InitialLogging::Level(level) => {
            let mut logging = LoggingConfig::with_default_level(level);
            if let Some(v2) = logging.v2.as_mut() {
                v2.role_arn = Some(
                    thingwatch_aws::Arn::iam_role(
                        &config.account_id,
                        "/",
                        thingwatch_iam::BUILTIN_LOGGING_ROLE_NAME,
                    )
                    .to_string(),
                );
            }
            logging
        }
        InitialLogging::Unconfigured => LoggingConfig::default(),
    }
}

async fn bind(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {what} {addr}"))
}

/// The HTTP dispatcher with every hosted AWS service registered.
#[allow(clippy::too_many_arguments)]
fn api_state(
    config: &ServerConfig,
    (mqtt_addr, http_addr): (SocketAddr, SocketAddr),
    iam: &thingwatch_iam::Iam,
    registry: &Registry,
    certificates: &thingwatch_certs::CertificateRegistry,
    broker: &Broker,
    shadows: &thingwatch_shadow::ShadowGateway,
    logger: &Logger,
    store: &LogStore,
    metrics: &thingwatch_metrics::MetricStore,
    alarms: &thingwatch_metrics::alarms::Alarms,
    dashboards: Arc<thingwatch_metrics::dashboards::Dashboards>,
    (rules, rules_engine): (&thingwatch_rules::Rules, &thingwatch_rules::EngineHandle),
    audit: &thingwatch_audit::Audit,
    (jobs, jobs_gateway): (&thingwatch_jobs::Jobs, &thingwatch_jobs::JobsGateway),
) -> thingwatch_http::ApiState {
    // DescribeEndpoint answers the MQTT endpoint: the host alone on the standard port (as
    // AWS answers), `host:port` otherwise.
    let data_endpoint = if mqtt_addr.port() == 1883 {
        mqtt_addr.ip().to_string()
    } else {
        mqtt_addr.to_string()
    };
    let iot = thingwatch_iot_api::IotService::new(
        registry.clone(),
        thingwatch_iot_api::IotSettings {
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            // `iot:Jobs`: the jobs data plane (`iot-jobs-data`) is served on the HTTP port.
            endpoints: thingwatch_iot_api::Endpoints {
                jobs: Some(http_addr.to_string()),
                ..thingwatch_iot_api::Endpoints::data_only(data_endpoint)
            },
        },
    )
    .with_certificates(certificates.clone())
    .with_role_checker(Arc::new(IamDecisions(iam.clone())))
    .with_rules(rules.clone())
    .with_jobs(jobs.clone());
    let iotdata = thingwatch_iotdata_api::IotDataService::new(
        shadows.clone(),
        broker.clone(),
        logger.clone(),
    );
    let logs = thingwatch_logs_api::LogsService::new(
        store.clone(),
        config.account_id.clone(),
        config.region.clone(),
    );
    thingwatch_http::ApiState::new(
        Arc::new(iam.clone()),
        config.account_id.clone(),
        config.region.clone(),
    )
    .with_authorizer(Arc::new(IamDecisions(iam.clone())))
    .with_service("logs", Arc::new(logs))
    .with_service(
        "iam",
        Arc::new(thingwatch_iam_api::IamService::new(iam.clone())),
    )
    .with_service(
        "sts",
        Arc::new(thingwatch_iam_api::StsService::new(iam.clone())),
    )
    .with_routes(thingwatch_iotdata_api::mqtt_ws::routes(broker.clone()))
    // A destination's `enableUrl` (GET, unsigned: the token is the credential, as on AWS).
    .with_routes(thingwatch_iot_api::confirm_routes(rules.clone()))
    .with_routes(thingwatch_prometheus::routes(
        thingwatch_prometheus::Sources {
            logger: logger.clone(),
            broker: Some(broker.clone()),
            shadows: Some(shadows.clone()),
            rules: Some(rules_engine.clone()),
            audit: Some(audit.clone()),
            jobs: Some(jobs_gateway.clone()),
        },
        if config.metrics_open {
            thingwatch_prometheus::Access::Open
        } else {
            thingwatch_prometheus::Access::Signed {
                authorizer: Some(Arc::new(IamDecisions(iam.clone()))),
            }
        },
    ))
    .with_service(
        "cloudtrail",
        Arc::new(thingwatch_cloudtrail_api::CloudTrailService::new(
            audit.clone(),
        )),
    )
    .with_service("iot", Arc::new(iot))
    .with_service("iotdata", Arc::new(iotdata))
    .with_service(
        thingwatch_jobs_data_api::SERVICE,
        Arc::new(thingwatch_jobs_data_api::JobsDataService::new(
            jobs.clone(),
            logger.clone(),
        )),
    )
    .with_service(
        thingwatch_monitoring_api::SERVICE,
        Arc::new(thingwatch_monitoring_api::MonitoringService::new(
            metrics.clone(),
            alarms.clone(),
            dashboards,
            &config.account_id,
        )),
    )
}
