//! A minimal Thingwatch AWS API server with the AWS IoT control plane, for manual testing with
//! the real AWS CLI:
//! `cargo run -p thingwatch-iot-api --example iot_server -- 127.0.0.1:4581 /tmp/tw-iot [LEVEL]`
//! (LEVEL: the initial V2 default log level of a fresh directory, e.g. `INFO`; omitted or
//! `UNCONFIGURED` = no V2 configuration), then e.g.
//! `AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
//! AWS_DEFAULT_REGION=us-east-1 aws iot describe-thing --thing-name t --endpoint-url http://127.0.0.1:4581`.
//!
//! The logger writes into memory (this example has no MQTT broker); the registry pushes every
//! configuration change into it as the real server does.

use std::sync::Arc;

use thingwatch_events::{
    LevelSetting, Logger, LoggerSettings, LoggingConfig, MemorySink, PipelineConfig,
};
use thingwatch_http::{ApiState, StaticCredentials, serve};
use thingwatch_iot_api::{Endpoints, IotService, IotSettings};
use thingwatch_logs_api::LogsService;
use thingwatch_logstore::{LogStore, StoreOptions};
use thingwatch_registry::{Registry, RegistrySettings};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:4581".to_owned());
    let dir = std::path::PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/tmp/thingwatch-iot-example".to_owned()),
    );
    let initial = match args.next().as_deref() {
        None | Some("UNCONFIGURED") => LoggingConfig::default(),
        Some(level) => LoggingConfig::with_default_level(level.parse::<LevelSetting>()?),
    };
    let store = LogStore::open(&dir.join("logs"), StoreOptions::default())?;
    let logger = Logger::start(
        LoggerSettings {
            account_id: ACCOUNT.to_owned(),
            node_id: "example".to_owned(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::default(),
        Box::new(MemorySink::new()),
    );
    let registry = Registry::open(
        &dir.join("registry"),
        RegistrySettings {
            account_id: ACCOUNT.to_owned(),
            region: REGION.to_owned(),
            max_log_targets: 10,
        },
        logger.clone(),
        initial,
    )?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let http_addr = listener.local_addr()?;
    let iot = IotService::new(
        registry,
        IotSettings {
            account_id: ACCOUNT.to_owned(),
            region: REGION.to_owned(),
            endpoints: Endpoints {
                data: "127.0.0.1:1883".to_owned(),
                jobs: Some(http_addr.to_string()),
                credential_provider: None,
            },
        },
    );
    let creds = Arc::new(StaticCredentials::root(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ACCOUNT,
    ));
    let state = ApiState::new(creds, ACCOUNT, REGION)
        .with_service(
            "logs",
            Arc::new(LogsService::new(
                store.clone(),
                ACCOUNT.into(),
                REGION.into(),
            )),
        )
        .with_service("iot", Arc::new(iot));
    println!("listening on {http_addr}");
    serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    logger.shutdown();
    store.sync()?;
    Ok(())
}
