//! The certificate registry through its public API: AWS statuses and transitions, delete
//! rules, registration errors, paging, CSR signing, persistence across reopen, the CA files.

mod common;

use common::{ACCOUNT, REGION, TestCa, open, self_signed, setup};
use thingwatch_certs::{
    Attachments, CaCertificateStatus, CertificateEvent, CertificateMode, CertificateStatus,
    ListOptions, MSG_DELETE_ACTIVE, check_transition,
};

use CertificateStatus::*;
use rustls::pki_types::pem::PemObject as _;

#[test]
fn create_keys_and_certificate_matches_aws_shapes() {
    let (_dir, reg) = setup();
    let c = reg.create_keys_and_certificate(true).expect("create");
    assert_eq!(c.certificate_id.len(), 64);
    assert!(
        c.certificate_id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let der = thingwatch_certs::pem_to_der(&c.certificate_pem).expect("der");
    assert_eq!(thingwatch_certs::certificate_id(&der), c.certificate_id);
    assert_eq!(
        c.certificate_arn,
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:cert/{}", c.certificate_id)
    );
    assert!(
        c.key_pair
            .public_key
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert!(
        c.key_pair
            .private_key
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    assert!(
        !format!("{:?}", c.key_pair).contains("PRIVATE KEY-----"),
        "Debug redacts"
    );
    // The key pair is really the certificate's: rustls loads the PKCS#1 key and matches it.
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(c.key_pair.private_key.as_bytes())
        .expect("pkcs1");
    assert!(matches!(key, rustls::pki_types::PrivateKeyDer::Pkcs1(_)));
    let signer = thingwatch_certs::crypto_provider()
        .key_provider
        .load_private_key(key)
        .expect("load");
    let certified = rustls::sign::CertifiedKey::new(vec![der.clone()], signer);
    assert!(certified.keys_match().is_ok());
    // RSA 2048: the SubjectPublicKeyInfo of an RSA-2048 key is 294 bytes DER.
    let spki = c
        .key_pair
        .public_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    assert_eq!(spki.len(), 392, "base64 of a 294-byte RSA-2048 SPKI");
    assert!(thingwatch_certs::is_signed_by(
        &der,
        reg.authority().ca_der()
    ));

    let d = reg
        .describe_certificate(&c.certificate_id.to_uppercase())
        .expect("describe");
    assert_eq!(d.status, Active);
    assert_eq!(d.certificate_pem, c.certificate_pem);
    assert_eq!(d.ca_certificate_id, None);
    assert_eq!(d.owned_by, ACCOUNT);
    assert_eq!(d.customer_version, 1);
    assert_eq!(d.certificate_mode, CertificateMode::Default);
    assert_eq!(
        d.validity.not_after_ms,
        thingwatch_certs::DEVICE_NOT_AFTER_S * 1000
    );
    assert!(d.validity.not_before_ms <= d.creation_date_ms);
    // The private key is nowhere in the data directory.
    let key_body: String = c
        .key_pair
        .private_key
        .lines()
        .nth(1)
        .expect("line")
        .to_owned();
    for entry in walk(_dir.path()) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(
            !bytes
                .windows(key_body.len())
                .any(|w| w == key_body.as_bytes()),
            "private key found in {}",
            entry.display()
        );
    }

    let inactive = reg.create_keys_and_certificate(false).expect("create");
    assert_eq!(reg.status_of(&inactive.certificate_id), Some(Inactive));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn status_transition_table() {
    // (from, to, expected error code or "ok"), per the UpdateCertificate API page.
    let table: &[(CertificateStatus, CertificateStatus, &str)] = &[
        (Active, Inactive, "ok"),
        (Active, Revoked, "ok"),
        (Active, Active, "ok"),
        (Inactive, Active, "ok"),
        (Inactive, Revoked, "ok"),
        (Revoked, Revoked, "ok"),
        (Revoked, Active, "CertificateStateException"),
        (Revoked, Inactive, "CertificateStateException"),
        (PendingActivation, Active, "ok"),
        (RegisterInactive, Active, "ok"),
        (Active, RegisterInactive, "ok"),
        (PendingTransfer, Active, "CertificateStateException"),
        (Active, PendingTransfer, "InvalidRequestException"),
        (Inactive, PendingActivation, "InvalidRequestException"),
    ];
    for &(from, to, want) in table {
        let got = check_transition(from, to).map_or_else(|e| e.code(), |()| "ok");
        assert_eq!(got, want, "{from} -> {to}");
    }

    // And through update_certificate on stored certificates, with statuses and versions.
    let (_dir, reg) = setup();
    let c = reg.create_keys_and_certificate(true).expect("create");
    reg.update_certificate(&c.certificate_id, Inactive)
        .expect("inactive");
    reg.update_certificate(&c.certificate_id, Inactive)
        .expect("idempotent");
    let d = reg
        .describe_certificate(&c.certificate_id)
        .expect("describe");
    assert_eq!((d.status, d.customer_version), (Inactive, 2));
    reg.update_certificate(&c.certificate_id, Revoked)
        .expect("revoke");
    let e = reg
        .update_certificate(&c.certificate_id, Active)
        .expect_err("revoked stays");
    assert_eq!((e.code(), e.status()), ("CertificateStateException", 406));
    let d2 = reg
        .describe_certificate(&c.certificate_id)
        .expect("describe");
    assert_eq!((d2.status, d2.customer_version), (Revoked, 3));
    assert_ne!(d.generation_id, d2.generation_id);
    let missing = "0".repeat(64);
    let e = reg
        .update_certificate(&missing, Active)
        .expect_err("missing");
    assert_eq!((e.code(), e.status()), ("ResourceNotFoundException", 404));
    let e = reg.update_certificate("abc", Active).expect_err("bad id");
    assert_eq!((e.code(), e.status()), ("InvalidRequestException", 400));
}

#[test]
fn delete_rules() {
    let (_dir, reg) = setup();
    let c = reg.create_keys_and_certificate(true).expect("create");
    let id = c.certificate_id.as_str();
    let mut events = reg.subscribe();

    let e = reg
        .delete_certificate(id, false, Attachments::default())
        .expect_err("active");
    assert_eq!(
        (e.code(), e.status(), e.message()),
        (
            "CertificateStateException",
            406,
            MSG_DELETE_ACTIVE.to_owned()
        )
    );
    let e = reg
        .delete_certificate(id, true, Attachments::default())
        .expect_err("force does not override ACTIVE");
    assert_eq!(e.code(), "CertificateStateException");

    reg.update_certificate(id, Inactive).expect("deactivate");
    let thing = Attachments {
        things: 1,
        policies: 0,
    };
    let policy = Attachments {
        things: 0,
        policies: 2,
    };
    for (attached, force, want) in [
        (thing, false, "DeleteConflictException"),
        (thing, true, "DeleteConflictException"),
        (policy, false, "DeleteConflictException"),
    ] {
        let e = reg
            .delete_certificate(id, force, attached)
            .expect_err("conflict");
        assert_eq!(
            (e.code(), e.status()),
            (want, 409),
            "{attached:?} force={force}"
        );
    }
    reg.delete_certificate(id, true, policy)
        .expect("force deletes with policies attached");
    assert_eq!(reg.status_of(id), None);
    let e = reg.describe_certificate(id).expect_err("gone");
    assert_eq!(e.code(), "ResourceNotFoundException");
    let e = reg
        .delete_certificate(id, false, Attachments::default())
        .expect_err("gone");
    assert_eq!(e.code(), "ResourceNotFoundException");

    // Revoked certificates can be deleted.
    let r = reg.create_keys_and_certificate(true).expect("create");
    reg.update_certificate(&r.certificate_id, Revoked)
        .expect("revoke");
    reg.delete_certificate(&r.certificate_id, false, Attachments::default())
        .expect("delete revoked");

    let mut seen = Vec::new();
    while let Ok(ev) = events.try_recv() {
        seen.push(ev);
    }
    assert_eq!(
        seen,
        vec![
            CertificateEvent::StatusChanged {
                id: id.to_owned(),
                old: Active,
                status: Inactive
            },
            CertificateEvent::Deleted { id: id.to_owned() },
            CertificateEvent::Registered {
                id: r.certificate_id.clone(),
                status: Active
            },
            CertificateEvent::StatusChanged {
                id: r.certificate_id.clone(),
                old: Active,
                status: Revoked
            },
            CertificateEvent::Deleted {
                id: r.certificate_id.clone()
            },
        ]
    );
}

#[test]
fn register_certificate_errors() {
    let (_dir, reg) = setup();
    let (pem, _) = self_signed("dev");
    let ok = reg
        .register_certificate_without_ca(&pem, None)
        .expect("register");
    let d = reg
        .describe_certificate(&ok.certificate_id)
        .expect("describe");
    assert_eq!(
        (d.status, d.certificate_mode),
        (Inactive, CertificateMode::SniOnly)
    );

    let e = reg
        .register_certificate_without_ca(&pem, Some(Active))
        .expect_err("dup");
    assert_eq!(
        (e.code(), e.status()),
        ("ResourceAlreadyExistsException", 409)
    );
    match e {
        thingwatch_certs::CertError::ResourceAlreadyExists {
            resource_id,
            resource_arn,
            ..
        } => {
            assert_eq!(resource_id, ok.certificate_id);
            assert_eq!(resource_arn, ok.certificate_arn);
        }
        other => panic!("unexpected {other:?}"),
    }
    for bad in [
        "",
        "garbage",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        let e = reg
            .register_certificate_without_ca(bad, None)
            .expect_err("bad pem");
        assert_eq!(
            (e.code(), e.status()),
            ("CertificateValidationException", 400),
            "{bad:?}"
        );
    }
    let (pem2, _) = self_signed("dev2");
    let e = reg
        .register_certificate_without_ca(&pem2, Some(PendingTransfer))
        .expect_err("status");
    assert_eq!(e.code(), "InvalidRequestException");

    // RegisterCertificate: issuer lookup, wrong CA, CA not registered, conflict, CA inactive.
    let fleet = TestCa::new("Fleet CA");
    let (dev_pem, _) = fleet.device("d1");
    let e = reg
        .register_certificate(&dev_pem, Some(&fleet.pem), None)
        .expect_err("CA unregistered");
    assert_eq!(e.code(), "CertificateValidationException");
    let fleet_reg = reg
        .register_ca_certificate(&fleet.pem, None, false, false)
        .expect("CA");
    let e = reg
        .register_certificate(&dev_pem, None, Some(Active))
        .expect_err("CA inactive");
    assert_eq!((e.code(), e.status()), ("CertificateStateException", 406));
    let ok = reg
        .register_certificate(&dev_pem, None, None)
        .expect("issuer found by lookup");
    assert_eq!(
        reg.describe_certificate(&ok.certificate_id)
            .expect("d")
            .ca_certificate_id,
        Some(fleet_reg.certificate_id.clone())
    );
    let other = TestCa::new("Other CA");
    reg.register_ca_certificate(&other.pem, None, true, false)
        .expect("CA 2");
    let (dev2, _) = fleet.device("d2");
    let e = reg
        .register_certificate(&dev2, Some(&other.pem), None)
        .expect_err("wrong CA");
    assert_eq!(e.code(), "CertificateValidationException");

    // A certificate our own CA issued can be registered again after deletion.
    let own = reg.create_keys_and_certificate(false).expect("own");
    reg.delete_certificate(&own.certificate_id, false, Attachments::default())
        .expect("delete");
    let again = reg
        .register_certificate(&own.certificate_pem, None, Some(Active))
        .expect("re-register");
    assert_eq!(again.certificate_id, own.certificate_id);
    assert_eq!(
        reg.describe_certificate(&own.certificate_id)
            .expect("d")
            .ca_certificate_id,
        None
    );
}

#[test]
fn certificate_conflict_when_two_registered_cas_verify() {
    let (_dir, reg) = setup();
    // Two distinct CA certificates with the same subject and key: both verify the device.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mk = |serial: u8| {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Twin CA");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&[serial]));
        p.self_signed(&key).expect("ca")
    };
    let (a, b) = (mk(1), mk(2));
    reg.register_ca_certificate(&a.pem(), None, true, false)
        .expect("a");
    reg.register_ca_certificate(&b.pem(), None, true, false)
        .expect("b");
    let issuer = rcgen::Issuer::from_ca_cert_der(a.der(), key).expect("issuer");
    let dkey = rcgen::KeyPair::generate().expect("dkey");
    let dev = rcgen::CertificateParams::default()
        .signed_by(&dkey, &issuer)
        .expect("dev");
    let e = reg
        .register_certificate(&dev.pem(), None, None)
        .expect_err("conflict");
    assert_eq!(
        (e.code(), e.status()),
        ("CertificateConflictException", 409)
    );
    reg.register_certificate(&dev.pem(), Some(&a.pem()), None)
        .expect("explicit CA resolves it");
}

#[test]
fn ca_certificate_lifecycle_and_registration_code() {
    let (_dir, reg) = setup();
    let code = reg.registration_code().expect("code");
    assert_eq!(code.len(), 64);
    assert_eq!(reg.registration_code().expect("stable"), code);

    let fleet = TestCa::new("Fleet CA");
    let e = reg
        .register_ca_certificate(
            &fleet.pem,
            Some(&fleet.verification("wrong-code")),
            true,
            false,
        )
        .expect_err("wrong code");
    assert_eq!(
        (e.code(), e.status()),
        ("RegistrationCodeValidationException", 400)
    );
    let stranger = TestCa::new("Stranger");
    let e = reg
        .register_ca_certificate(&fleet.pem, Some(&stranger.verification(&code)), true, false)
        .expect_err("verification not signed by the CA");
    assert_eq!(e.code(), "RegistrationCodeValidationException");
    let (leaf, _) = self_signed("not a CA");
    let e = reg
        .register_ca_certificate(&leaf, None, true, false)
        .expect_err("not a CA");
    assert_eq!(e.code(), "CertificateValidationException");

    let r = reg
        .register_ca_certificate(&fleet.pem, Some(&fleet.verification(&code)), true, false)
        .expect("register");
    assert_eq!(
        r.certificate_arn,
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:cacert/{}", r.certificate_id)
    );
    let e = reg
        .register_ca_certificate(&fleet.pem, None, true, false)
        .expect_err("dup");
    assert_eq!(e.code(), "ResourceAlreadyExistsException");
    let list = reg
        .list_ca_certificates(&ListOptions::default())
        .expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].status, CaCertificateStatus::Active);

    let (dev, _) = fleet.device("d");
    let dev = reg
        .register_certificate(&dev, None, Some(Active))
        .expect("device");
    let e = reg
        .delete_ca_certificate(&r.certificate_id)
        .expect_err("active CA");
    assert_eq!(e.code(), "CertificateStateException");
    reg.update_ca_certificate(&r.certificate_id, Some(CaCertificateStatus::Inactive), None)
        .expect("deactivate");
    let d = reg
        .describe_ca_certificate(&r.certificate_id)
        .expect("describe");
    assert_eq!(
        (d.status, d.customer_version),
        (CaCertificateStatus::Inactive, 2)
    );
    let e = reg
        .delete_ca_certificate(&r.certificate_id)
        .expect_err("has devices");
    assert_eq!(e.code(), "CertificateStateException");
    reg.update_certificate(&dev.certificate_id, Inactive)
        .expect("inactive");
    reg.delete_certificate(&dev.certificate_id, false, Attachments::default())
        .expect("delete device");
    reg.delete_ca_certificate(&r.certificate_id)
        .expect("delete CA");
    assert_eq!(
        reg.describe_ca_certificate(&r.certificate_id)
            .map_err(|e| e.code())
            .err(),
        Some("ResourceNotFoundException")
    );
}

#[test]
fn csr_flow() {
    let (_dir, reg) = setup();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "csr-device");
    let csr = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");

    let a = reg.create_certificate_from_csr(&csr, true).expect("sign");
    let b = reg
        .create_certificate_from_csr(&csr, false)
        .expect("sign again");
    assert_ne!(
        a.certificate_id, b.certificate_id,
        "each call issues a new certificate"
    );
    let der = thingwatch_certs::pem_to_der(&a.certificate_pem).expect("der");
    assert!(thingwatch_certs::is_signed_by(
        &der,
        reg.authority().ca_der()
    ));
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).expect("parse");
    assert_eq!(parsed.public_key().raw, {
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(
            rcgen::PublicKeyData::subject_public_key_info(&key),
        );
        spki.to_vec()
    });
    assert_eq!(
        parsed
            .subject()
            .iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok()),
        Some("csr-device")
    );
    assert_eq!(reg.status_of(&a.certificate_id), Some(Active));
    assert_eq!(reg.status_of(&b.certificate_id), Some(Inactive));

    for bad in [
        "",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    ] {
        let e = reg
            .create_certificate_from_csr(bad, true)
            .expect_err("bad csr");
        assert_eq!((e.code(), e.status()), ("InvalidRequestException", 400));
    }
    // A CSR whose signature does not match its content.
    let mut tampered = csr.clone();
    let pos = tampered.len() / 2;
    let ch = if tampered.as_bytes()[pos] == b'A' {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(pos..pos + 1, ch);
    assert!(reg.create_certificate_from_csr(&tampered, true).is_err());
    let e = reg
        .create_certificate_from_csr(&"x".repeat(4097), true)
        .expect_err("too long");
    assert_eq!(e.code(), "InvalidRequestException");
}

#[test]
fn list_paging_both_orders() {
    let (_dir, reg) = setup();
    let mut ids = Vec::new();
    for _ in 0..7 {
        let (pem, _) = self_signed("p");
        ids.push(
            reg.register_certificate_without_ca(&pem, None)
                .expect("reg")
                .certificate_id,
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for ascending in [true, false] {
        let mut got = Vec::new();
        let mut marker = None;
        let mut pages = 0;
        loop {
            let page = reg
                .list_certificates(&ListOptions {
                    page_size: Some(3),
                    marker: marker.clone(),
                    ascending_order: ascending,
                })
                .expect("page");
            pages += 1;
            assert!(page.items.len() <= 3);
            got.extend(page.items.into_iter().map(|c| c.certificate_id));
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        let mut want = ids.clone();
        if !ascending {
            want.reverse();
        }
        assert_eq!(got, want, "ascending={ascending}");
        assert_eq!(pages, 3);
    }
    let all = reg
        .list_certificates(&ListOptions::default())
        .expect("default page");
    assert_eq!(all.items.len(), 7);
    assert_eq!(all.next_marker, None);
    assert_eq!(
        all.items[0].certificate_id, ids[6],
        "newest first by default"
    );
    for bad in [Some(0), Some(251)] {
        let e = reg
            .list_certificates(&ListOptions {
                page_size: bad,
                ..ListOptions::default()
            })
            .expect_err("size");
        assert_eq!(e.code(), "InvalidRequestException");
    }
    let e = reg
        .list_certificates(&ListOptions {
            marker: Some("nothex!".into()),
            ..ListOptions::default()
        })
        .expect_err("marker");
    assert_eq!(e.code(), "InvalidRequestException");
}

#[test]
fn persistence_across_reopen() {
    let dir = tempfile::tempdir().expect("tmp");
    let (active, revoked, ca_id, ca_pem, server_pem) = {
        let reg = open(dir.path());
        let a = reg.create_keys_and_certificate(true).expect("a");
        let r = reg.create_keys_and_certificate(true).expect("r");
        reg.update_certificate(&r.certificate_id, Revoked)
            .expect("revoke");
        let fleet = TestCa::new("Fleet");
        let ca = reg
            .register_ca_certificate(&fleet.pem, None, true, true)
            .expect("ca");
        let server = reg.authority().server_chain()[0].to_vec();
        (
            a,
            r,
            ca.certificate_id,
            reg.authority().ca_pem().to_owned(),
            server,
        )
    };
    let reg = open(dir.path());
    assert_eq!(
        reg.authority().ca_pem(),
        ca_pem,
        "CA loaded, not regenerated"
    );
    assert_eq!(
        reg.authority().server_chain()[0].to_vec(),
        server_pem,
        "server cert kept"
    );
    assert_eq!(reg.status_of(&active.certificate_id), Some(Active));
    assert_eq!(reg.status_of(&revoked.certificate_id), Some(Revoked));
    let d = reg
        .describe_certificate(&revoked.certificate_id)
        .expect("d");
    assert_eq!((d.status, d.customer_version), (Revoked, 2));
    assert_eq!(d.certificate_pem, revoked.certificate_pem);
    let ca = reg.describe_ca_certificate(&ca_id).expect("ca");
    assert_eq!(
        ca.auto_registration_status,
        thingwatch_certs::AutoRegistrationStatus::Enable
    );
    assert_eq!(
        reg.list_certificates(&ListOptions::default())
            .expect("list")
            .items
            .len(),
        2
    );
    assert!(dir.path().join(thingwatch_certs::DB_FILE).exists());
}

#[test]
fn authority_files_modes_names_and_configured_server_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tmp");
    let names = vec!["iot.example.com".to_owned(), "10.0.0.7".to_owned()];
    let ca =
        thingwatch_certs::CertificateAuthority::load_or_create(dir.path(), &names).expect("ca");
    assert_eq!(ca.ca_path(), dir.path().join("ca.pem"));
    let mode = |p: &str| {
        std::fs::metadata(dir.path().join(p))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("tls/ca-key.pem"), 0o600);
    assert_eq!(mode("tls/server-key.pem"), 0o600);
    assert_eq!(mode("tls"), 0o700);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca.pem"),
        ca.ca_pem()
    );
    let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.ca_der()).expect("parse");
    assert_eq!(
        ca_cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok()),
        Some("Thingwatch Root CA")
    );
    let server_der = ca.server_chain()[0].to_vec();
    let sans = san_strings(&server_der);
    for want in [
        "localhost",
        "127.0.0.1",
        "::1",
        "iot.example.com",
        "10.0.0.7",
    ] {
        assert!(sans.contains(&want.to_owned()), "{want} in {sans:?}");
    }
    drop(ca);

    // Same names again: kept. A new name: the server certificate is re-issued, the CA kept.
    let again =
        thingwatch_certs::CertificateAuthority::load_or_create(dir.path(), &names).expect("again");
    assert_eq!(again.server_chain()[0].to_vec(), server_der);
    let more = vec!["other.example.com".to_owned()];
    let reissued =
        thingwatch_certs::CertificateAuthority::load_or_create(dir.path(), &more).expect("more");
    assert_ne!(reissued.server_chain()[0].to_vec(), server_der);
    assert_eq!(reissued.ca_der(), again.ca_der());
    assert!(san_strings(&reissued.server_chain()[0]).contains(&"other.example.com".to_owned()));

    // Missing CA key next to an existing ca.pem: refused, never silently replaced.
    std::fs::remove_file(dir.path().join("tls/ca-key.pem")).expect("rm");
    let e = thingwatch_certs::CertificateAuthority::load_or_create(dir.path(), &[])
        .expect_err("no key");
    assert_eq!(e.code(), "InternalFailureException");

    // Configured server files replace the generated server certificate.
    let other = tempfile::tempdir().expect("tmp");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["configured.example".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    std::fs::write(other.path().join("c.pem"), cert.pem()).expect("w");
    std::fs::write(other.path().join("k.pem"), key.serialize_pem()).expect("w");
    let files = thingwatch_certs::TlsFiles {
        cert: other.path().join("c.pem"),
        key: other.path().join("k.pem"),
    };
    let fresh = tempfile::tempdir().expect("tmp");
    let ca = thingwatch_certs::CertificateAuthority::load_or_create(fresh.path(), &[])
        .expect("ca")
        .with_server_files(&files)
        .expect("files");
    assert_eq!(ca.server_chain()[0].to_vec(), cert.der().to_vec());
    let bad = thingwatch_certs::TlsFiles {
        cert: other.path().join("k.pem"),
        key: other.path().join("k.pem"),
    };
    assert!(
        thingwatch_certs::CertificateAuthority::load_or_create(fresh.path(), &[])
            .expect("ca")
            .with_server_files(&bad)
            .is_err()
    );
}

fn san_strings(der: &[u8]) -> Vec<String> {
    use x509_parser::prelude::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse");
    let sans = cert.subject_alternative_name().expect("ext").expect("sans");
    sans.value
        .general_names
        .iter()
        .filter_map(|g| match g {
            GeneralName::DNSName(d) => Some((*d).to_owned()),
            GeneralName::IPAddress(b) if b.len() == 4 => {
                Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())
            }
            GeneralName::IPAddress(b) if b.len() == 16 => {
                let arr: [u8; 16] = (*b).try_into().expect("16");
                Some(std::net::Ipv6Addr::from(arr).to_string())
            }
            _ => None,
        })
        .collect()
}
