//! `thingwatch serve`: starts the assembled server ([`thingwatch_server::Server`]), prints
//! where everything is, and on SIGINT/SIGTERM stops it gracefully (stop accepting, wait for
//! connections, flush the log pipeline, sync the store).

use anyhow::{Context, Result};
use std::io::Write;
use thingwatch_server::{Server, ServerConfig};

/// Runs the server until SIGINT/SIGTERM.
pub fn run(config: ServerConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("thingwatch")
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let server = Server::start(config).await?;
        {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(server.banner().as_bytes());
            let _ = out.flush();
        }
        wait_for_signal().await;
        eprintln!("thingwatch: shutting down");
        server.stop().await
    })
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
