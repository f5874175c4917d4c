//! Real TLS handshakes (tokio-rustls server with the registry's `ServerConfig`, rustls
//! client) over 127.0.0.1: which client certificates get in, and what the server learns.

mod common;

use common::{Outcome, TestCa, client, next, self_signed, server, setup};
use std::net::SocketAddr;
use thingwatch_certs::{
    AutoRegistrationStatus, CaCertificateStatus, CertificateEvent, CertificateRegistry,
    CertificateStatus, CreatedKeysAndCertificate, ListOptions, RefusalReason,
};
use tokio::sync::mpsc;

fn refused_with(outcome: &Outcome) -> Option<RefusalReason> {
    match outcome {
        Outcome::Refused(Some(r)) => Some(r.reason),
        _ => None,
    }
}

/// A registry in a temporary directory, a TLS server on its `ServerConfig`, and the CA PEM
/// its clients trust.
struct Rig {
    _dir: tempfile::TempDir,
    reg: CertificateRegistry,
    ca: String,
    addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Outcome>,
}

impl Rig {
    async fn start() -> Rig {
        let (dir, reg) = setup();
        let ca = reg.authority().ca_pem().to_owned();
        let (addr, rx) = server(&reg).await;
        Rig {
            _dir: dir,
            reg,
            ca,
            addr,
            rx,
        }
    }

    /// Connects presenting `pem` and `key`, offering `alpn`: the server's line or the
    /// client's error.
    async fn connect(&self, pem: &str, key: &str, alpn: &[&[u8]]) -> Result<String, String> {
        client(self.addr, &self.ca, pem, key, alpn).await
    }

    /// What the server saw for the next connection.
    async fn next(&mut self) -> Outcome {
        next(&mut self.rx).await
    }

    /// Connects presenting `pem` and `key`, asserts that the handshake succeeds, and returns
    /// what the server saw.
    async fn admitted(&mut self, pem: &str, key: &str) -> Outcome {
        let line = self.connect(pem, key, &[]).await;
        assert!(line.is_ok(), "{line:?}");
        self.next().await
    }

    /// Connects presenting `pem` and `key`, asserts that the client is refused, and returns
    /// the reason the server gave.
    async fn refused(&mut self, pem: &str, key: &str) -> Option<RefusalReason> {
        let line = self.connect(pem, key, &[]).await;
        assert!(line.is_err(), "{line:?}");
        refused_with(&self.next().await)
    }
}

/// The certificate and key of a CreateKeysAndCertificate answer.
fn pem_and_key(c: &CreatedKeysAndCertificate) -> (&str, &str) {
    (&c.certificate_pem, &c.key_pair.private_key)
}

/// An ACTIVE certificate from CreateKeysAndCertificate connecting with `alpn` offered: the
/// certificate, what the client read, and what the server saw.
async fn connect_created(
    alpn: &[&[u8]],
) -> (CreatedKeysAndCertificate, Result<String, String>, Outcome) {
    let mut rig = Rig::start().await;
    let created = rig.reg.create_keys_and_certificate(true).expect("create");
    let (pem, key) = pem_and_key(&created);
    let line = rig.connect(pem, key, alpn).await;
    let outcome = rig.next().await;
    (created, line, outcome)
}

#[tokio::test]
async fn active_created_certificate_is_accepted_and_id_matches() {
    let (created, line, outcome) = connect_created(&[]).await;
    assert_eq!(line, Ok(format!("OK {}", created.certificate_id)));
    assert_eq!(
        outcome,
        Outcome::Accepted {
            id: created.certificate_id.clone(),
            alpn: None
        }
    );
}

#[tokio::test]
async fn alpn_x_amzn_mqtt_ca_is_negotiated_when_offered() {
    let (created, line, outcome) = connect_created(&[b"x-amzn-mqtt-ca"]).await;
    assert!(line.is_ok(), "{line:?}");
    assert_eq!(
        outcome,
        Outcome::Accepted {
            id: created.certificate_id,
            alpn: Some(b"x-amzn-mqtt-ca".to_vec())
        }
    );
}

#[tokio::test]
async fn unknown_inactive_and_revoked_certificates_are_refused_distinguishably() {
    let mut rig = Rig::start().await;

    // Unknown: a certificate our CA never issued to the registry (self-signed, unregistered).
    let (pem, key) = self_signed("stranger");
    assert!(rig.connect(&pem, &key, &[]).await.is_err());
    let out = rig.next().await;
    assert_eq!(refused_with(&out), Some(RefusalReason::Unknown));
    if let Outcome::Refused(Some(r)) = &out {
        assert_eq!(
            r.certificate_id,
            thingwatch_certs::certificate_id(&thingwatch_certs::pem_to_der(&pem).expect("der"))
        );
    }

    // Created INACTIVE.
    let inactive = rig.reg.create_keys_and_certificate(false).expect("create");
    let (pem, key) = pem_and_key(&inactive);
    assert_eq!(
        rig.refused(pem, key).await,
        Some(RefusalReason::NotActive(CertificateStatus::Inactive))
    );

    // ACTIVE, then REVOKED: accepted, then refused.
    let c = rig.reg.create_keys_and_certificate(true).expect("create");
    let (pem, key) = pem_and_key(&c);
    assert!(matches!(
        rig.admitted(pem, key).await,
        Outcome::Accepted { .. }
    ));
    rig.reg
        .update_certificate(&c.certificate_id, CertificateStatus::Revoked)
        .expect("revoke");
    assert_eq!(rig.refused(pem, key).await, Some(RefusalReason::Revoked));
    assert_eq!(
        rig.reg.status_of(&c.certificate_id),
        Some(CertificateStatus::Revoked)
    );

    // ACTIVE → INACTIVE → ACTIVE again.
    let d = rig.reg.create_keys_and_certificate(true).expect("create");
    let (pem, key) = pem_and_key(&d);
    rig.reg
        .update_certificate(&d.certificate_id, CertificateStatus::Inactive)
        .expect("deactivate");
    assert_eq!(
        rig.refused(pem, key).await,
        Some(RefusalReason::NotActive(CertificateStatus::Inactive))
    );
    rig.reg
        .update_certificate(&d.certificate_id, CertificateStatus::Active)
        .expect("activate");
    assert!(matches!(
        rig.admitted(pem, key).await,
        Outcome::Accepted { .. }
    ));
}

#[tokio::test]
async fn certificate_registered_without_ca_is_accepted() {
    let mut rig = Rig::start().await;
    let (pem, key) = self_signed("my-device");
    let registered = rig
        .reg
        .register_certificate_without_ca(&pem, Some(CertificateStatus::Active))
        .expect("register");
    assert_eq!(
        rig.connect(&pem, &key, &[]).await,
        Ok(format!("OK {}", registered.certificate_id))
    );
    assert!(
        matches!(rig.next().await, Outcome::Accepted { id, .. } if id == registered.certificate_id)
    );
}

#[tokio::test]
async fn registered_ca_signed_certificate_is_accepted_unregistered_ca_refused() {
    let mut rig = Rig::start().await;

    let their_ca = TestCa::new("Fleet CA");
    let code = rig.reg.registration_code().expect("code");
    let ca_reg = rig
        .reg
        .register_ca_certificate(
            &their_ca.pem,
            Some(&their_ca.verification(&code)),
            true,
            false,
        )
        .expect("register CA");
    let (pem, key) = their_ca.device("sensor-1");
    let dev = rig
        .reg
        .register_certificate(&pem, Some(&their_ca.pem), Some(CertificateStatus::Active))
        .expect("register device");
    assert_eq!(
        rig.reg
            .describe_certificate(&dev.certificate_id)
            .expect("describe")
            .ca_certificate_id,
        Some(ca_reg.certificate_id.clone())
    );
    assert!(matches!(
        rig.admitted(&pem, &key).await,
        Outcome::Accepted { .. }
    ));

    // Deactivating the CA refuses its devices.
    rig.reg
        .update_ca_certificate(
            &ca_reg.certificate_id,
            Some(CaCertificateStatus::Inactive),
            None,
        )
        .expect("deactivate CA");
    assert_eq!(
        rig.refused(&pem, &key).await,
        Some(RefusalReason::CaNotActive)
    );

    // A device of a CA that was never registered: refused as unknown.
    let other_ca = TestCa::new("Rogue CA");
    let (rpem, rkey) = other_ca.device("rogue");
    assert_eq!(
        rig.refused(&rpem, &rkey).await,
        Some(RefusalReason::Unknown)
    );
    // …and it cannot be registered through RegisterCertificate either.
    assert_eq!(
        rig.reg
            .register_certificate(&rpem, None, Some(CertificateStatus::Active))
            .map_err(|e| e.code()),
        Err("CertificateValidationException")
    );
}

#[tokio::test]
async fn auto_registration_registers_pending_activation_then_activation_admits() {
    let mut rig = Rig::start().await;
    let fleet = TestCa::new("JITR CA");
    let ca_reg = rig
        .reg
        .register_ca_certificate(&fleet.pem, None, true, true)
        .expect("register CA");
    assert_eq!(
        rig.reg
            .describe_ca_certificate(&ca_reg.certificate_id)
            .expect("describe")
            .auto_registration_status,
        AutoRegistrationStatus::Enable
    );
    let mut events = rig.reg.subscribe();
    let (pem, key) = fleet.device("jitr-device");
    let id = thingwatch_certs::certificate_id(&thingwatch_certs::pem_to_der(&pem).expect("der"));

    assert_eq!(
        rig.refused(&pem, &key).await,
        Some(RefusalReason::AutoRegistered)
    );
    assert_eq!(
        rig.reg.status_of(&id),
        Some(CertificateStatus::PendingActivation)
    );
    assert_eq!(
        events.recv().await.expect("event"),
        CertificateEvent::Registered {
            id: id.clone(),
            status: CertificateStatus::PendingActivation
        }
    );
    assert_eq!(
        events.recv().await.expect("event"),
        CertificateEvent::AutoRegistered {
            id: id.clone(),
            ca_certificate_id: ca_reg.certificate_id.clone()
        }
    );
    let by_ca = rig
        .reg
        .list_certificates_by_ca(&ca_reg.certificate_id, &ListOptions::default())
        .expect("list by CA");
    assert_eq!(by_ca.items.len(), 1);
    assert_eq!(by_ca.items[0].certificate_id, id);

    // Second attempt while pending: refused as not active (no second registration).
    assert_eq!(
        rig.refused(&pem, &key).await,
        Some(RefusalReason::NotActive(
            CertificateStatus::PendingActivation
        ))
    );

    rig.reg
        .update_certificate(&id, CertificateStatus::Active)
        .expect("activate");
    assert!(matches!(
        rig.admitted(&pem, &key).await,
        Outcome::Accepted { .. }
    ));
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let mut rig = Rig::start().await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rig.reg.authority().ca_der().clone())
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(thingwatch_certs::crypto_provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(rig.addr).await.expect("tcp");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    if let Ok(tls) = connector.connect(name, tcp).await {
        let mut buf = String::new();
        let n =
            tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(tls), &mut buf)
                .await;
        assert!(
            !matches!(n, Ok(k) if k > 0),
            "server must not answer: {buf}"
        );
    }
    assert_eq!(rig.next().await, Outcome::Refused(None));
}

fn dated_self_signed(
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.self_signed(&key).expect("cert");
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn validity_dates_and_chain_usage_are_enforced() {
    let mut rig = Rig::start().await;
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);

    let cases = [
        (
            dated_self_signed(now - day * 10, now - day),
            RefusalReason::Expired,
        ),
        (
            dated_self_signed(now + day, now + day * 10),
            RefusalReason::NotYetValid,
        ),
    ];
    for ((pem, key), want) in cases {
        rig.reg
            .register_certificate_without_ca(&pem, Some(CertificateStatus::Active))
            .expect("register");
        assert_eq!(rig.refused(&pem, &key).await, Some(want));
    }

    // Signed by a registered ACTIVE CA, but for serverAuth only: the chain check fails.
    let fleet = TestCa::new("Fleet CA");
    rig.reg
        .register_ca_certificate(&fleet.pem, None, true, false)
        .expect("CA");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &fleet.issuer).expect("cert");
    rig.reg
        .register_certificate(&cert.pem(), None, Some(CertificateStatus::Active))
        .expect("register");
    assert_eq!(
        rig.refused(&cert.pem(), &key.serialize_pem()).await,
        Some(RefusalReason::BadChain)
    );
}
