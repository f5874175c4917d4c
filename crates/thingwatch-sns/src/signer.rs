//! The delivery signing key and its self-signed certificate (`DATA_DIR/sns/signing-key.der`,
//! `DATA_DIR/sns/SimpleNotificationService-thingwatch.pem`), and the canonical string a
//! message is signed over (AWS SNS Developer Guide, "Verifying the signatures of Amazon SNS
//! messages").

use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;

use crate::SnsError;

/// The file name of the served signing certificate (also the last segment of
/// `SigningCertURL`).
pub const SIGNING_CERT_FILE: &str = "SimpleNotificationService-thingwatch.pem";
const SIGNING_KEY_FILE: &str = "signing-key.der";

/// The `SignatureVersion` of every message: `2` = SHA256withRSA (PKCS #1 v1.5), base64. AWS
/// signs with version 1 (SHA1withRSA) unless the topic's `SignatureVersion` attribute is 2;
/// the crypto library in the tree (aws-lc-rs) signs SHA-1 PKCS #1 only for verification, so
/// every topic here behaves as one with `SignatureVersion=2`, which AWS's verifiers accept.
pub const SIGNATURE_VERSION: &str = "2";

/// The RSA key that signs deliveries and its certificate in PEM.
pub(crate) struct Signer {
    key: RsaKeyPair,
    cert_pem: String,
}

impl Signer {
    /// Loads the key and certificate from `dir`, generating both (RSA 2048, a self-signed
    /// certificate for `sns.REGION.amazonaws.com`) on first use.
    pub(crate) fn load_or_create(dir: &Path, region: &str) -> Result<Signer, SnsError> {
        let key_path = dir.join(SIGNING_KEY_FILE);
        let cert_path = dir.join(SIGNING_CERT_FILE);
        if key_path.exists() && cert_path.exists() {
            let der = std::fs::read(&key_path).map_err(|e| internal(&key_path, e))?;
            let key = RsaKeyPair::from_pkcs8(&der)
                .map_err(|e| SnsError::Internal(format!("{}: {e}", key_path.display())))?;
            let cert_pem =
                std::fs::read_to_string(&cert_path).map_err(|e| internal(&cert_path, e))?;
            return Ok(Signer { key, cert_pem });
        }
        let key = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| SnsError::Internal(format!("generating the signing key: {e}")))?;
        let der = key
            .as_der()
            .map_err(|e| SnsError::Internal(format!("encoding the signing key: {e}")))?;
        let der = der.as_ref().to_vec();
        let rc_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_slice()),
            &rcgen::PKCS_RSA_SHA256,
        )
        .map_err(|e| SnsError::Internal(format!("loading the signing key: {e}")))?;
        let mut params = rcgen::CertificateParams::new(vec![format!("sns.{region}.amazonaws.com")])
            .map_err(|e| SnsError::Internal(format!("certificate parameters: {e}")))?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("sns.{region}.amazonaws.com"),
        );
        let cert = params
            .self_signed(&rc_key)
            .map_err(|e| SnsError::Internal(format!("self-signing the certificate: {e}")))?;
        let cert_pem = cert.pem();
        std::fs::write(&key_path, &der).map_err(|e| internal(&key_path, e))?;
        std::fs::write(&cert_path, &cert_pem).map_err(|e| internal(&cert_path, e))?;
        Ok(Signer { key, cert_pem })
    }

    /// The certificate in PEM (what `SigningCertURL` serves).
    pub(crate) fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The base64 SHA256withRSA signature of `canonical`.
    pub(crate) fn sign(&self, canonical: &str) -> Result<String, SnsError> {
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                canonical.as_bytes(),
                &mut sig,
            )
            .map_err(|e| SnsError::Internal(format!("signing: {e}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sig))
    }
}

fn internal(path: &Path, e: std::io::Error) -> SnsError {
    SnsError::Internal(format!("{}: {e}", path.display()))
}

/// The string AWS signs: `key\nvalue\n` for each present field in the documented order —
/// `Message, MessageId, Subject (if any), Timestamp, TopicArn, Type` for a `Notification`;
/// `Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type` for
/// `SubscriptionConfirmation` and `UnsubscribeConfirmation`.
pub fn canonical_string(fields: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (k, v) in fields {
        if let Some(v) = v {
            out.push_str(k);
            out.push('\n');
            out.push_str(v);
            out.push('\n');
        }
    }
    out
}
