//! The listener (mini-redis style): a semaphore caps concurrent connections, accept errors
//! back off, each connection runs in its own task, and graceful shutdown tells every handler
//! (broadcast) and then waits until all have finished (an mpsc whose senders they hold).
//! Also runs the persistent-session expiry sweeper.

use crate::connection;
use crate::state::Shared;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, broadcast, mpsc};

/// What a listener speaks: plain MQTT over TCP, or MQTT over TLS (mutual TLS when the
/// `rustls::ServerConfig` asks for client certificates).
#[derive(Clone)]
pub(crate) enum Listener {
    Plain,
    Tls(tokio_rustls::TlsAcceptor),
}

/// Runs one accepted TLS connection: the handshake, then the MQTT connection. The MQTT part is
/// boxed so the task holds either the handshake or the connection, not room for both (plain
/// connections are spawned as [`connection::run`] directly: an idle plain connection's task is
/// about 2 KiB instead of the 7 KiB this TLS state machine would cost it).
async fn handle_tls(
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    shutdown: broadcast::Receiver<()>,
) {
    let handshake =
        tokio::time::timeout(shared.config.connect_timeout, acceptor.accept(stream)).await;
    match handshake {
        Ok(Ok(tls)) => {
            let cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec());
            let transport = crate::auth::Transport {
                tls: true,
                client_certificate: cert,
                principal: None,
            };
            Box::pin(connection::run(shared, tls, peer, transport, shutdown)).await;
        }
        Ok(Err(e)) => {
            let (principal, details) = shared.authorizer.describe_tls_failure(&e);
            connection::handshake_refused(&shared, peer, &principal, &details);
        }
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    kind: Listener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let limit = Arc::new(Semaphore::new(shared.config.max_connections));
    let sweeper = {
        let shared = shared.clone();
        let mut stop = notify_shutdown.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(shared.config.expiry_sweep_interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => sweep_expired(&shared),
                    _ = stop.recv() => break,
                }
            }
        })
    };
    let accept_loop = async {
        let mut backoff = Duration::from_millis(10);
        loop {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                return;
            };
            let (stream, peer) = match listener.accept().await {
                Ok(x) => {
                    backoff = Duration::from_millis(10);
                    x
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            let shared = shared.clone();
            let rx = notify_shutdown.subscribe();
            let done = done_tx.clone();
            let _ = stream.set_nodelay(true);
            match &kind {
                Listener::Plain => tokio::spawn(async move {
                    connection::run(shared, stream, peer, Default::default(), rx).await;
                    drop(permit);
                    drop(done);
                }),
                Listener::Tls(acceptor) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        handle_tls(shared, acceptor, stream, peer, rx).await;
                        drop(permit);
                        drop(done);
                    })
                }
            };
        }
    };
    tokio::select! {
        _ = accept_loop => {}
        _ = shutdown => {}
    }
    let _ = shared.external_shutdown.send(());
    drop(notify_shutdown);
    drop(done_tx);
    let _ = done_rx.recv().await;
    let _ = sweeper.await;
    Ok(())
}

/// Ends offline persistent sessions whose expiry elapsed.
pub(crate) fn sweep_expired(shared: &Shared) {
    let now = std::time::Instant::now();
    let mut map = shared.sessions.lock();
    map.retain(|_, sess| {
        let s = sess.lock();
        let expired = s.link.is_none()
            && s.disconnected_at.is_some_and(|t| {
                now.duration_since(t) >= Duration::from_secs(u64::from(s.expiry_secs))
            });
        if expired {
            shared.drop_session_state(&s);
        }
        !expired
    });
}
