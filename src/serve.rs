//! `thingwatch serve`: opens the data directory, starts the log store, the logger (level gate
//! and pipeline into the store), the MQTT broker and the HTTP API, prints where everything
//! is, and shuts down gracefully on SIGINT/SIGTERM (stop accepting, wait for connections,
//! flush the log pipeline, sync the store).

use crate::datadir::{DataDir, require_loopback};
use crate::settings::{InitialLogging, ServeSettings};
use anyhow::{Context, Result};
use std::io::Write;
use std::sync::Arc;
use thingwatch_events::{
    LogRecord, LogSink, Logger, LoggerSettings, LoggingConfig, PipelineConfig, SinkError,
};
use thingwatch_logstore::{AppendEvent, LogStore, StoreOptions};
use thingwatch_registry::{Registry, RegistrySettings};

/// The log pipeline's sink into the embedded log store: one durable `append` per batch.
///
/// Delivery goes through the account's logging role, as on AWS: entries for a log group the
/// role may not write (`logs:CreateLogGroup`, `logs:CreateLogStream`, `logs:PutLogEvents`, or
/// a role that no longer exists) are dropped and counted as
/// `NumLogEventsFailedToPublishUnauthorized`.
struct StoreSink {
    store: LogStore,
    iam: thingwatch_iam::Iam,
    /// The logger this sink serves (set right after it starts): its configuration names the
    /// role, its metrics count refused entries.
    logger: Arc<std::sync::OnceLock<Logger>>,
    /// When the last "entries dropped" warning was printed (at most one per 10 s).
    warned: Option<std::time::Instant>,
}

impl StoreSink {
    /// The role entries are delivered with: the V2 `roleArn`, else the legacy one.
    fn role(&self) -> Option<String> {
        self.logger.get()?.delivery_role_arn()
    }
}

impl LogSink for StoreSink {
    fn write_batch(&mut self, records: &[LogRecord]) -> Result<(), SinkError> {
        let role = self.role();
        let mut allowed: Vec<(&str, bool)> = Vec::new();
        let mut refused = 0u64;
        let events: Vec<AppendEvent<'_>> = records
            .iter()
            .filter(|r| {
                let Some(role) = role.as_deref() else {
                    return true;
                };
                let ok = match allowed.iter().find(|(g, _)| *g == &*r.log_group) {
                    Some((_, ok)) => *ok,
                    None => {
                        let ok = self.iam.role_allows_log_delivery(role, &r.log_group);
                        allowed.push((&r.log_group, ok));
                        ok
                    }
                };
                refused += u64::from(!ok);
                ok
            })
            .map(|r| AppendEvent {
                log_group: &r.log_group,
                log_stream: &r.log_stream,
                timestamp: r.timestamp,
                message: &r.message,
            })
            .collect();
        if refused > 0
            && let Some(logger) = self.logger.get()
        {
            logger.metrics().add(
                thingwatch_events::MetricName::NumLogEventsFailedToPublishUnauthorized,
                thingwatch_events::Dimension::None,
                refused,
            );
            if self
                .warned
                .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10))
            {
                self.warned = Some(std::time::Instant::now());
                tracing::warn!(
                    events = refused,
                    role = role.as_deref().unwrap_or(""),
                    "the logging role may not write these log groups; entries dropped \
                     (counted as NumLogEventsFailedToPublishUnauthorized)"
                );
            }
        }
        if events.is_empty() {
            return Ok(());
        }
        self.store
            .append(&events, thingwatch_events::now_ms())
            .map_err(|e| SinkError(e.to_string()))
    }
}

/// IAM decisions for the API dispatcher and for MQTT over WebSocket.
struct IamDecisions(thingwatch_iam::Iam);

impl thingwatch_api::RequestAuthorizer for IamDecisions {
    fn authorize(&self, principal_arn: &str, action: &str, resource: &str) -> Option<String> {
        let decision = self.0.authorize(principal_arn, action, resource, &[]);
        thingwatch_iam::access_denied_message(principal_arn, action, resource, decision)
    }
}

impl thingwatch_api::RoleChecker for IamDecisions {
    fn check(&self, caller_arn: &str, role_arn: &str) -> Result<(), thingwatch_api::ApiError> {
        use thingwatch_api::{ApiError, ErrorCode};
        match self.0.check_pass_role(caller_arn, role_arn) {
            Ok(_) => Ok(()),
            Err(e @ thingwatch_iam::PassRoleError::NotAuthorized { .. }) => {
                Err(ApiError::new(ErrorCode::AccessDenied, e.to_string()))
            }
            Err(e) => Err(ApiError::new(ErrorCode::InvalidRequest, e.to_string())),
        }
    }
}

impl thingwatch_authz::IdentityPolicies for IamDecisions {
    fn allows(&self, principal_arn: &str, action: &str, resource: &str) -> bool {
        self.0
            .authorize(principal_arn, action, resource, &[])
            .is_allowed()
    }
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(settings: ServeSettings) -> Result<()> {
    require_loopback("unauthenticated MQTT", settings.mqtt_listen)?;
    require_loopback("plain HTTP", settings.http_listen)?;
    let data = DataDir::open(&settings.data_dir)?;
    let credentials = data.root_credentials(settings.credentials.as_ref(), &settings.region)?;
    let node_id = data.node_id()?;

    let store =
        LogStore::open(&data.log_store_dir(), StoreOptions::default()).with_context(|| {
            format!(
                "opening the log store in {}",
                data.log_store_dir().display()
            )
        })?;
    // IAM: users, access keys, roles; a fresh data directory gets the built-in logging role
    // (the AWS IoT guide's trust and permissions policies), which the initial logging
    // configuration uses.
    let iam = thingwatch_iam::Iam::open(
        &data.iam_dir(),
        thingwatch_iam::IamSettings {
            account_id: settings.account_id.clone(),
            region: settings.region.clone(),
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
    let builtin_role = format!(
        "arn:aws:iam::{}:role/{}",
        settings.account_id,
        thingwatch_iam::BUILTIN_LOGGING_ROLE_NAME
    );
    let delivery = Arc::new(std::sync::OnceLock::new());
    let logger = Logger::start(
        LoggerSettings {
            account_id: settings.account_id.clone(),
            node_id,
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::default(),
        Box::new(StoreSink {
            store: store.clone(),
            iam: iam.clone(),
            logger: delivery.clone(),
            warned: None,
        }),
    );
    let _ = delivery.set(logger.clone());
    // The registry holds the logging configuration; a fresh data directory gets the one
    // `--default-log-level` asks for. Opening it pushes the stored configuration into the
    // logger and installs the thing-group membership the level gate resolves against.
    let initial = match settings.initial_logging {
        InitialLogging::Level(level) => {
            let mut config = LoggingConfig::with_default_level(level);
            if let Some(v2) = config.v2.as_mut() {
                v2.role_arn = Some(builtin_role);
            }
            config
        }
        InitialLogging::Unconfigured => LoggingConfig::default(),
    };
    let registry = Registry::open(
        &data.registry_dir(),
        RegistrySettings {
            account_id: settings.account_id.clone(),
            region: settings.region.clone(),
            max_log_targets: settings.max_log_targets,
        },
        logger.clone(),
        initial,
    )
    .with_context(|| format!("opening the registry in {}", data.registry_dir().display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("thingwatch")
        .build()
        .context("starting the tokio runtime")?;
    let result = runtime.block_on(serve(
        settings,
        data,
        credentials,
        store.clone(),
        logger.clone(),
        registry,
        iam,
    ));
    logger.shutdown();
    store.sync().context("syncing the log store")?;
    result
}

async fn serve(
    settings: ServeSettings,
    data: DataDir,
    credentials: crate::datadir::RootCredentials,
    store: LogStore,
    logger: Logger,
    registry: Registry,
    iam: thingwatch_iam::Iam,
) -> Result<()> {
    // X.509: the server CA (DATA_DIR/ca.pem, what TLS clients trust) and server certificate,
    // and the registry of device and CA certificates.
    let authority = Arc::new(
        thingwatch_certs::CertificateAuthority::load_or_create(data.root(), &[]).map_err(|e| {
            anyhow::anyhow!("creating the server CA in {}: {e}", data.root().display())
        })?,
    );
    let certificates = thingwatch_certs::CertificateRegistry::open(
        &data.certificates_dir(),
        authority.clone(),
        &settings.region,
        &settings.account_id,
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

    // MQTT authorization: certificates + IoT policies on the TLS listener, `anonymous` on the
    // loopback-only plain listener.
    let authorizer = thingwatch_authz::IotAuthorizer::new(
        certificates.clone(),
        Arc::new(registry.clone()),
        Some(Arc::new(IamDecisions(iam.clone()))),
        &settings.region,
        &settings.account_id,
    );
    let broker = thingwatch_broker::Broker::open(
        &data.broker_dir(),
        thingwatch_broker::BrokerConfig {
            max_connections: settings.max_connections,
            ..Default::default()
        },
        logger.clone(),
        Arc::new(authorizer),
    )
    .with_context(|| format!("opening broker state in {}", data.broker_dir().display()))?;

    let shadow_dir = data.shadow_dir();
    std::fs::create_dir_all(&shadow_dir)
        .with_context(|| format!("creating {}", shadow_dir.display()))?;
    let shadows = thingwatch_shadow::ShadowService::open(&shadow_dir, Default::default())
        .map_err(|e| anyhow::anyhow!("opening shadows in {}: {e}", shadow_dir.display()))?;
    let shadows = thingwatch_shadow::ShadowGateway::start(
        shadows,
        broker.clone(),
        logger.clone(),
        thingwatch_shadow::GatewayLimits::default(),
    );
    broker.add_reserved_handler(Arc::new(shadows.clone()));
    let iotdata =
        thingwatch_api::IotDataService::new(shadows.clone(), broker.clone(), logger.clone());

    let mqtt = tokio::net::TcpListener::bind(settings.mqtt_listen)
        .await
        .with_context(|| format!("binding MQTT listener {}", settings.mqtt_listen))?;
    let mqtts = tokio::net::TcpListener::bind(settings.mqtts_listen)
        .await
        .with_context(|| format!("binding MQTT over TLS listener {}", settings.mqtts_listen))?;
    let http = tokio::net::TcpListener::bind(settings.http_listen)
        .await
        .with_context(|| format!("binding HTTP listener {}", settings.http_listen))?;
    let mqtt_addr = mqtt.local_addr()?;
    let mqtts_addr = mqtts.local_addr()?;
    let http_addr = http.local_addr()?;

    // DescribeEndpoint answers the MQTT endpoint: the host alone on the standard port
    // (as AWS answers), `host:port` otherwise.
    let data_endpoint = if mqtt_addr.port() == 1883 {
        mqtt_addr.ip().to_string()
    } else {
        mqtt_addr.to_string()
    };
    let iot = thingwatch_api::IotService::new(
        registry,
        thingwatch_api::IotSettings {
            account_id: settings.account_id.clone(),
            region: settings.region.clone(),
            endpoints: thingwatch_api::Endpoints::data_only(data_endpoint),
        },
    )
    .with_certificates(certificates.clone())
    .with_role_checker(Arc::new(IamDecisions(iam.clone())));
    let api_state = thingwatch_api::ApiState::new(
        Arc::new(iam.clone()),
        settings.account_id.clone(),
        settings.region.clone(),
        store,
    )
    .with_authorizer(Arc::new(IamDecisions(iam.clone())))
    .with_service(
        "iam",
        Arc::new(thingwatch_iam::IamService::new(iam.clone())),
    )
    .with_service(
        "sts",
        Arc::new(thingwatch_iam::StsService::new(iam.clone())),
    )
    .with_mqtt_websocket(broker.clone())
    .with_service("iot", Arc::new(iot))
    .with_service("iotdata", Arc::new(iotdata));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let broker_task = {
        let broker = broker.clone();
        let shutdown = stopped(stop_rx.clone());
        tokio::spawn(async move { broker.serve(mqtt, shutdown).await })
    };
    tokio::spawn(thingwatch_authz::watch_certificates(
        certificates.clone(),
        broker.clone(),
    ));
    let tls_task = {
        let broker = broker.clone();
        let shutdown = stopped(stop_rx.clone());
        tokio::spawn(async move { broker.serve_tls(mqtts, tls_config, shutdown).await })
    };
    let http_task = tokio::spawn(thingwatch_api::serve(
        http,
        api_state,
        stopped(stop_rx.clone()),
    ));

    print_banner(
        &settings,
        &data,
        &credentials,
        mqtt_addr,
        mqtts_addr,
        http_addr,
    );

    wait_for_signal().await;
    eprintln!("thingwatch: shutting down");
    let _ = stop_tx.send(true);
    let (b, t, h) = tokio::join!(broker_task, tls_task, http_task);
    shadows.stop();
    b.context("broker task")?.context("broker")?;
    t.context("TLS broker task")?
        .context("MQTT over TLS listener")?;
    h.context("HTTP task")?.context("HTTP API")?;
    Ok(())
}

fn print_banner(
    settings: &ServeSettings,
    data: &DataDir,
    credentials: &crate::datadir::RootCredentials,
    mqtt: std::net::SocketAddr,
    mqtts: std::net::SocketAddr,
    http: std::net::SocketAddr,
) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "thingwatch {} — account {} in {}",
        env!("CARGO_PKG_VERSION"),
        settings.account_id,
        settings.region
    );
    let _ = writeln!(
        out,
        "MQTT listening on {mqtt} (plain MQTT 3.1.1/5, loopback only, no authentication)"
    );
    let _ = writeln!(
        out,
        "MQTT over TLS listening on {mqtts} (X.509 client certificates; CA: {})",
        data.root().join(thingwatch_certs::CA_PEM_FILE).display()
    );
    let _ = writeln!(
        out,
        "HTTP listening on {http} (AWS APIs: aws --endpoint-url http://{http})"
    );
    let _ = writeln!(out, "data directory: {}", data.root().display());
    if credentials.in_credentials_file {
        let _ = writeln!(
            out,
            "credentials: {} (export AWS_SHARED_CREDENTIALS_FILE={} AWS_CONFIG_FILE={})",
            credentials.source,
            data.credentials_path().display(),
            data.aws_config_path().display()
        );
    } else {
        let _ = writeln!(
            out,
            "credentials: access key {} from the {}",
            credentials.access_key_id, credentials.source
        );
    }
    let _ = out.flush();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
