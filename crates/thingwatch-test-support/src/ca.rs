//! A stand-alone certificate authority for tests (not Thingwatch's own), made with rcgen: an
//! ECDSA P-256 CA whose device certificates carry the clientAuth extended key usage, plus
//! self-signed device certificates. Everything comes out as PEM text.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA certificate (common name as given, unconstrained path length, keyCertSign and
/// digitalSignature) and the issuer that signs with its key.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub pem: String,
    /// Signs certificates with the CA's key (for tests that build their own parameters).
    pub issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A new CA with common name `cn`. Panics if rcgen fails.
    pub fn new(cn: &str) -> TestCa {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("ca cert");
        let pem = cert.pem();
        TestCa {
            issuer: Issuer::from_ca_cert_der(cert.der(), key).expect("issuer"),
            pem,
        }
    }

    /// A device certificate (ECDSA P-256, common name `cn`, clientAuth) signed by this CA,
    /// and its private key: `(certificate PEM, key PEM)`.
    pub fn device(&self, cn: &str) -> (String, String) {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).expect("device cert");
        (cert.pem(), key.serialize_pem())
    }

    /// A TLS server certificate (ECDSA P-256, serverAuth) for `127.0.0.1` and `localhost`
    /// signed by this CA, and its private key: `(certificate PEM, key PEM)`.
    pub fn loopback_server(&self) -> (String, String) {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("names");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).expect("server cert");
        (cert.pem(), key.serialize_pem())
    }

    /// A verification certificate with common name `cn` (AWS IoT's CA registration code),
    /// PEM.
    pub fn verification(&self, cn: &str) -> String {
        self.device(cn).0
    }
}

/// A self-signed certificate (ECDSA P-256, common name `cn`) and its key:
/// `(certificate PEM, key PEM)`.
pub fn self_signed(cn: &str) -> (String, String) {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.self_signed(&key).expect("cert");
    (cert.pem(), key.serialize_pem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_certificates_are_issued_by_the_ca() {
        let ca = TestCa::new("Test CA");
        let (cert, key) = ca.device("dev-1");
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(key.contains("PRIVATE KEY"), "{key}");
        assert_ne!(cert, self_signed("dev-1").0);
    }
}
