//! Full TLS handshakes per second with client certificates over loopback, through the
//! registry's `ServerConfig` and client-certificate verifier (no session resumption).
//!
//! Client and server share this process (and the machine's cores), so the figure is a
//! lower bound for the server alone. Each handshake completes when the client has read one
//! byte the server writes after `accept`, so the server-side verification is included.
//!
//! Usage: `cargo run --release -p thingwatch-certs --example tls_handshake_bench -- [SECONDS] [CONCURRENCY]`
//! (defaults 5 and 8).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use thingwatch_certs::{CertificateAuthority, CertificateRegistry, crypto_provider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn client_config(
    reg: &CertificateRegistry,
    cert_pem: &str,
    key_pem: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(reg.authority().ca_der().clone())?;
    let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes())?];
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
    let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[version])?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

async fn run(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
    seconds: u64,
    concurrency: usize,
) -> (u64, u64, Duration) {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let (ok, failed) = (ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let attempt = async {
                    let tcp = TcpStream::connect(addr).await?;
                    tcp.set_nodelay(true)?;
                    let name = ServerName::try_from("localhost")?;
                    let mut tls = connector.connect(name, tcp).await?;
                    let mut b = [0u8; 1];
                    tls.read_exact(&mut b).await?;
                    Ok::<(), BoxError>(())
                };
                match attempt.await {
                    Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        start.elapsed(),
    )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let concurrency: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(8);

    let dir = tempfile::tempdir()?;
    let ca = CertificateAuthority::load_or_create(dir.path(), &[])?;
    let reg = CertificateRegistry::open(dir.path(), Arc::new(ca), "us-east-1", "123456789012")?;
    // RSA 2048 client key (CreateKeysAndCertificate) and an ECDSA P-256 one (CSR).
    let rsa = reg.create_keys_and_certificate(true)?;
    let ec_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bench");
    let csr = params.serialize_request(&ec_key)?.pem()?;
    let ec = reg.create_certificate_from_csr(&csr, true)?;
    // A realistic registry: many other certificates registered.
    for _ in 0..200 {
        reg.create_certificate_from_csr(&csr, true)?;
    }

    // The verifier's decision alone (lookup + validity + webpki chain to our CA).
    let verifier = reg.client_verifier();
    let ec_der = thingwatch_certs::pem_to_der(&ec.certificate_pem)?;
    let now = rustls::pki_types::UnixTime::now();
    let n = 20_000u32;
    let t = Instant::now();
    for _ in 0..n {
        verifier
            .decide(&ec_der, &[], now)
            .map_err(|r| r.to_string())?;
    }
    let per = t.elapsed() / n;
    println!(
        "verifier decision (registered ACTIVE, chain to own CA): {per:?} each, {:.0}/s on one core",
        1.0 / per.as_secs_f64()
    );

    let acceptor = tokio_rustls::TlsAcceptor::from(reg.server_config()?);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tls.write_all(b"k").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });

    println!(
        "full mutual-TLS handshakes over loopback, {seconds} s each, {concurrency} concurrent clients, server key ECDSA P-256, aws-lc-rs"
    );
    println!(
        "{:<8} {:<16} {:>10} {:>8} {:>14}",
        "tls", "client key", "handshakes", "failed", "handshakes/s"
    );
    let ec_key_pem = ec_key.serialize_pem();
    for (version, vname) in [
        (&rustls::version::TLS13, "1.3"),
        (&rustls::version::TLS12, "1.2"),
    ] {
        for (cert, key, kname) in [
            (
                &rsa.certificate_pem,
                rsa.key_pair.private_key.as_str(),
                "RSA 2048",
            ),
            (&ec.certificate_pem, ec_key_pem.as_str(), "ECDSA P-256"),
        ] {
            let config = client_config(&reg, cert, key, version)?;
            let (ok, failed, elapsed) = run(addr, config, seconds, concurrency).await;
            println!(
                "{vname:<8} {kname:<16} {ok:>10} {failed:>8} {:>14.0}",
                ok as f64 / elapsed.as_secs_f64()
            );
        }
    }
    Ok(())
}
