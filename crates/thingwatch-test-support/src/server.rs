//! Loopback harnesses shared by the test suites:
//!
//! - [`LoopbackServer`]: an in-process server (the API's `serve`, the broker's `serve`) on a
//!   `127.0.0.1` ephemeral port, ready as soon as it is returned (the listener is bound before
//!   the task starts), stopped gracefully by [`LoopbackServer::stop`] or signalled to stop on
//!   drop.
//! - [`ChildServer`]: a server binary started as a child process, ready when the banner it
//!   prints on stdout says so (read line by line, never a guessed sleep), killed on drop.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`LoopbackServer::stop`] waits for the graceful shutdown.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `127.0.0.1:0` and returns the listener with the port the OS chose. Panics when the
/// bind fails.
pub async fn bind_loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    (listener, addr)
}

/// The shutdown signal handed to a server's `serve`: resolves when [`LoopbackServer::stop`]
/// is called or the [`LoopbackServer`] is dropped.
#[derive(Debug)]
pub struct Shutdown(oneshot::Receiver<()>);

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// An in-process server task on a loopback ephemeral port.
#[derive(Debug)]
pub struct LoopbackServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl LoopbackServer {
    /// Binds `127.0.0.1:0` and spawns `serve(listener, shutdown)` on the current tokio
    /// runtime. `serve` is expected to return once `shutdown` resolves and its connections
    /// are done.
    pub async fn start<F, Fut>(serve: F) -> LoopbackServer
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let (listener, addr) = bind_loopback().await;
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, Shutdown(rx)));
        LoopbackServer {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Signals shutdown and waits (at most [`STOP_TIMEOUT`]) for `serve` to return; panics
    /// when it does not finish in time, panicked, or returned an error.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(STOP_TIMEOUT, task)
                .await
                .expect("graceful shutdown finishes")
                .expect("server task")
                .expect("serve");
        }
    }
}

impl Drop for LoopbackServer {
    /// Signals shutdown; the task finishes on the runtime (or ends with it).
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A server binary running as a child process with its stdout piped. Killed (SIGKILL) and
/// reaped on drop.
#[derive(Debug)]
pub struct ChildServer {
    /// The child process (for its PID, signals, `wait`).
    pub child: Child,
    /// The stdout lines read until the banner was complete.
    pub banner: Vec<String>,
}

impl ChildServer {
    /// Spawns `command` with stdout piped and reads its stdout line by line until
    /// `ready(&lines_so_far)` holds; later output is drained on a thread so the child never
    /// blocks on a full pipe. Panics when the child cannot be spawned or closes stdout (exits)
    /// before it is ready, with the lines it printed.
    pub fn spawn(mut command: Command, mut ready: impl FnMut(&[String]) -> bool) -> ChildServer {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        while !ready(&banner) {
            match lines.next() {
                Some(Ok(line)) => banner.push(line),
                _ => panic!("{command:?} exited before it was ready: {banner:?}"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        ChildServer { child, banner }
    }

    /// The first address printed on a banner line starting with `prefix` (the address is the
    /// first word after it), e.g. `("HTTP listening on ", …)`.
    pub fn banner_addr(banner: &[String], prefix: &str) -> Option<SocketAddr> {
        banner.iter().find_map(|line| {
            line.strip_prefix(prefix)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
    }

    /// SIGKILL and reap: the child gets no chance to flush anything.
    pub fn kill_9(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An AWS API server on loopback ([`LoopbackServer`]) with a client signing as the root key
/// ([`crate::ROOT_AKID`]) and the data directory its stores live in (removed on drop).
pub struct ApiServer {
    server: LoopbackServer,
    /// Signs with [`crate::ROOT_AKID`] / [`crate::ROOT_SECRET`].
    pub aws: crate::aws::AwsClient,
    /// The data directory (log store, registry, …).
    pub dir: tempfile::TempDir,
}

impl ApiServer {
    /// Serves with `serve` (e.g. `|l, s| thingwatch_http::serve(l, state, s)`) whose stores
    /// live in `dir`.
    pub async fn start<F, Fut>(dir: tempfile::TempDir, serve: F) -> ApiServer
    where
        F: FnOnce(TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let server = LoopbackServer::start(serve).await;
        ApiServer {
            aws: crate::aws::AwsClient::root(server.addr()),
            server,
            dir,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Graceful shutdown; panics unless it finishes within [`STOP_TIMEOUT`] without error.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn serves_until_stopped() {
        let server = LoopbackServer::start(|listener, shutdown| async move {
            tokio::select! {
                _ = shutdown => Ok(()),
                accepted = listener.accept() => {
                    let (mut s, _) = accepted?;
                    s.write_all(b"hi").await
                }
            }
        })
        .await;
        assert!(server.addr().ip().is_loopback());
        let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"hi");
        server.stop().await;
    }

    #[tokio::test]
    async fn drop_signals_shutdown() {
        let (done_tx, done_rx) = oneshot::channel();
        let server = LoopbackServer::start(|_listener, shutdown| async move {
            shutdown.await;
            let _ = done_tx.send(());
            Ok(())
        })
        .await;
        drop(server);
        tokio::time::timeout(Duration::from_secs(5), done_rx)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn a_child_is_ready_when_its_banner_says_so() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo 'listening on 127.0.0.1:9 (x)'; echo ready; sleep 30",
        ]);
        let child = ChildServer::spawn(command, |lines| lines.iter().any(|l| l == "ready"));
        assert_eq!(
            ChildServer::banner_addr(&child.banner, "listening on "),
            Some("127.0.0.1:9".parse().unwrap())
        );
        child.kill_9();
    }
}
