//! A real third-party TLS client: `openssl s_client` presenting a certificate from
//! CreateKeysAndCertificate (RSA 2048, PKCS#8 key file) against the registry's
//! `ServerConfig`, verifying the server with `ca.pem` — the same files a mosquitto client
//! gets (`--cafile ca.pem --cert c.pem --key k.pem`).
//!
//! Skips (with a note on stderr) when no `openssl` binary is on PATH.

mod common;

use common::{Outcome, next, server, setup};
use std::process::Stdio;
use std::time::Duration;
use thingwatch_certs::{CertificateStatus, RefusalReason};
use tokio::process::Command;

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

fn have_openssl() -> bool {
    std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn openssl_s_client_with_created_certificate() {
    if !have_openssl() {
        eprintln!("openssl not installed; skipping the real-client check");
        return;
    }
    let (dir, reg) = setup();
    let c = reg.create_keys_and_certificate(true).expect("create");
    std::fs::write(dir.path().join("c.pem"), &c.certificate_pem).expect("w");
    std::fs::write(dir.path().join("k.pem"), &c.key_pair.private_key).expect("w");
    let (addr, mut rx) = server(&reg).await;

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
    let have = std::process::Command::new("mosquitto_pub")
        .arg("--help")
        .output()
        .is_ok();
    if !have {
        eprintln!("mosquitto_pub not installed; skipping the real-client check");
        return;
    }
    let (dir, reg) = setup();
    let c = reg.create_keys_and_certificate(true).expect("create");
    std::fs::write(dir.path().join("c.pem"), &c.certificate_pem).expect("w");
    std::fs::write(dir.path().join("k.pem"), &c.key_pair.private_key).expect("w");
    let (addr, mut rx) = server(&reg).await;
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
