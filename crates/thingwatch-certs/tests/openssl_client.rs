//! A real third-party TLS client: `openssl s_client` presenting a certificate from
//! CreateKeysAndCertificate (RSA 2048, PKCS#8 key file) against the registry's
//! `ServerConfig`, verifying the server with `ca.pem` — the same files a mosquitto client
//! gets (`--cafile ca.pem --cert c.pem --key k.pem`).
//!
//! Skips (with a note on stderr) when no `openssl` binary is on PATH.

mod common;

use common::{Outcome, next, server, setup};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use thingwatch_certs::{
    CertificateRegistry, CertificateStatus, CreatedKeysAndCertificate, RefusalReason,
};
use tokio::process::Command;
use tokio::sync::mpsc;

async fn s_client(port: u16, dir: &std::path::Path) -> Option<(bool, String)> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args([
            "-servername",
            "localhost",
            "-verify_return_error",
            "-ign_eof",
        ])
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .arg("-cert")
        .arg(dir.join("c.pem"))
        .arg("-key")
        .arg(dir.join("k.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?
        .wait_with_output();
    let out = tokio::time::timeout(Duration::from_secs(20), out)
        .await
        .ok()?
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.success(), text))
}

/// Whether `program` runs with `arg` (and, if `must_succeed`, exits 0).
fn have(program: &str, arg: &str, must_succeed: bool) -> bool {
    std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success() || !must_succeed)
}

/// A registry in a temporary directory with an ACTIVE certificate from
/// CreateKeysAndCertificate written beside `ca.pem` as `c.pem` and `k.pem`, and a TLS server
/// on the registry's `ServerConfig`.
async fn created_certificate_files() -> (
    tempfile::TempDir,
    CertificateRegistry,
    CreatedKeysAndCertificate,
    SocketAddr,
    mpsc::UnboundedReceiver<Outcome>,
) {
    let (dir, reg) = setup();
    let c = reg.create_keys_and_certificate(true).expect("create");
    std::fs::write(dir.path().join("c.pem"), &c.certificate_pem).expect("w");
    std::fs::write(dir.path().join("k.pem"), &c.key_pair.private_key).expect("w");
    let (addr, rx) = server(&reg).await;
    (dir, reg, c, addr, rx)
}

#[tokio::test]
async fn openssl_s_client_with_created_certificate() {
    if !have("openssl", "version", true) {
        eprintln!("openssl not installed; skipping the real-client check");
        return;
    }
    let (dir, reg, c, addr, mut rx) = created_certificate_files().await;

    let (_, text) = s_client(addr.port(), dir.path())
        .await
        .expect("s_client ran");
    assert!(
        text.contains("Verify return code: 0 (ok)"),
        "server cert verified by openssl:\n{text}"
    );
    assert!(text.contains(&format!("OK {}", c.certificate_id)), "{text}");
    assert_eq!(
        next(&mut rx).await,
        Outcome::Accepted {
            id: c.certificate_id.clone(),
            alpn: None
        }
    );

    reg.update_certificate(&c.certificate_id, CertificateStatus::Revoked)
        .expect("revoke");
    let (_, text) = s_client(addr.port(), dir.path())
        .await
        .expect("s_client ran");
    assert!(
        !text.contains("OK "),
        "revoked certificate must not get in:\n{text}"
    );
    match next(&mut rx).await {
        Outcome::Refused(Some(r)) => {
            assert_eq!(
                (r.certificate_id.as_str(), r.reason),
                (c.certificate_id.as_str(), RefusalReason::Revoked)
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// mosquitto_pub's TLS layer against the registry's `ServerConfig`: the handshake succeeds
/// with the created certificate (the MQTT exchange after it fails, as this test server
/// does not speak MQTT; the lead's broker test covers the full publish).
#[tokio::test]
async fn mosquitto_pub_tls_handshake_with_created_certificate() {
    if !have("mosquitto_pub", "--help", false) {
        eprintln!("mosquitto_pub not installed; skipping the real-client check");
        return;
    }
    let (dir, _reg, c, addr, mut rx) = created_certificate_files().await;
    let child = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &addr.port().to_string(),
            "-t",
            "t",
            "-m",
            "m",
        ])
        .arg("--cafile")
        .arg(dir.path().join("ca.pem"))
        .arg("--cert")
        .arg(dir.path().join("c.pem"))
        .arg("--key")
        .arg(dir.path().join("k.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mosquitto_pub");
    assert_eq!(
        next(&mut rx).await,
        Outcome::Accepted {
            id: c.certificate_id.clone(),
            alpn: None
        }
    );
    drop(child);
}
