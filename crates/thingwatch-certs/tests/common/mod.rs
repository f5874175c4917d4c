//! Shared test fixtures: a registry in a temporary directory, a tokio-rustls server that
//! reports each handshake's outcome, and a client; the stand-alone CA is test-support's.

#![allow(dead_code)]

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thingwatch_certs::{CertificateAuthority, CertificateRegistry, Refusal, crypto_provider};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

#[allow(unused_imports)] // not every test file uses the CA
pub use thingwatch_test_support::ca::{TestCa, self_signed};
pub use thingwatch_test_support::{ACCOUNT, REGION};

pub fn open(dir: &std::path::Path) -> CertificateRegistry {
    let ca = CertificateAuthority::load_or_create(dir, &[]).expect("ca");
    CertificateRegistry::open(dir, Arc::new(ca), REGION, ACCOUNT).expect("registry")
}

pub fn setup() -> (tempfile::TempDir, CertificateRegistry) {
    let dir = thingwatch_test_support::temp_dir();
    let reg = open(dir.path());
    (dir, reg)
}

/// What the server saw for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handshake done; the peer certificate's ID and the negotiated ALPN.
    Accepted { id: String, alpn: Option<Vec<u8>> },
    /// Handshake failed with this refusal (None = some other TLS error).
    Refused(Option<Refusal>),
}

/// A TLS server on 127.0.0.1:0 using the registry's server config; each handshake outcome
/// goes to the returned channel. Accepted connections get "OK <id>\n".
pub async fn server(reg: &CertificateRegistry) -> (SocketAddr, mpsc::UnboundedReceiver<Outcome>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(reg.server_config().expect("server config"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(mut tls) => {
                        let (_, conn) = tls.get_ref();
                        let id = conn
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| thingwatch_certs::certificate_id(c))
                            .unwrap_or_default();
                        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
                        let _ = tls.write_all(format!("OK {id}\n").as_bytes()).await;
                        let _ = tls.flush().await;
                        let _ = tx.send(Outcome::Accepted { id, alpn });
                    }
                    Err(e) => {
                        let _ = tx.send(Outcome::Refused(Refusal::from_io_error(&e).cloned()));
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// Connects with the client certificate chain and key; returns the server's "OK <id>" line
/// or the error the client saw.
pub async fn client(
    addr: SocketAddr,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    alpn: &[&[u8]],
) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| e.to_string())?;
    let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(tls).read_line(&mut line),
    )
    .await
    .map_err(|_| "timeout".to_owned())?;
    match read {
        Ok(0) => Err("closed".to_owned()),
        Ok(_) => Ok(line.trim_end().to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

pub async fn next(rx: &mut mpsc::UnboundedReceiver<Outcome>) -> Outcome {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("server outcome in time")
        .expect("server alive")
}
