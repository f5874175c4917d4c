//! A minimal Thingwatch AWS API server for manual testing with the real AWS CLI:
//! `cargo run -p thingwatch-logs-api --example logs_server -- 127.0.0.1:4580 /tmp/tw-logs`,
//! then e.g. `AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
//! AWS_DEFAULT_REGION=us-east-1 aws logs describe-log-groups --endpoint-url http://127.0.0.1:4580`.

use std::sync::Arc;

use thingwatch_http::{ApiState, StaticCredentials, serve};
use thingwatch_logs_api::LogsService;
use thingwatch_logstore::{LogStore, StoreOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:4580".to_owned());
    let dir = args
        .next()
        .unwrap_or_else(|| "/tmp/thingwatch-logs-example".to_owned());
    let store = LogStore::open(std::path::Path::new(&dir), StoreOptions::default())?;
    let creds = Arc::new(StaticCredentials::root(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "123456789012",
    ));
    let logs = LogsService::new(store.clone(), "123456789012".into(), "us-east-1".into());
    let state =
        ApiState::new(creds, "123456789012", "us-east-1").with_service("logs", Arc::new(logs));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    store.sync()?;
    Ok(())
}
