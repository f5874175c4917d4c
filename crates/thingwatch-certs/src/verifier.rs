//! Mutual TLS: the rustls [`ClientCertVerifier`] that admits only registered, ACTIVE device
//! certificates, the [`Refusal`] it reports, and the server configuration for the MQTT/TLS
//! listener (port 8883).
//!
//! Decision per client certificate (all from memory; no I/O except just-in-time
//! registration):
//!
//! 1. Look the certificate up by ID (SHA-256 of the DER).
//! 2. Unknown: if its chain verifies against a registered ACTIVE CA whose auto-registration
//!    is ENABLE, register it PENDING_ACTIVATION (AWS just-in-time registration) and refuse
//!    ([`RefusalReason::AutoRegistered`]); otherwise refuse ([`RefusalReason::Unknown`]).
//! 3. Status other than ACTIVE: refuse ([`RefusalReason::Revoked`] / [`RefusalReason::NotActive`]).
//! 4. Validity dates: refuse outside `notBefore..=notAfter`.
//! 5. Chain: issued by Thingwatch's CA → webpki path validation (clientAuth) to it;
//!    registered with a CA → that CA must be ACTIVE, then path validation to it; registered
//!    without a CA (SNI_ONLY) → no chain check.
//!
//! The TLS signature (CertificateVerify) is then checked by rustls with the aws-lc-rs
//! provider, which proves possession of the private key.
//!
//! Refusals travel inside the handshake error: `rustls::Error::InvalidCertificate(
//! CertificateError::Other(..))` wrapping a [`Refusal`], which the listener recovers with
//! [`Refusal::from_io_error`] to log a Connect failure with the certificate ID as principal.
//!
//! Session resumption is disabled (no session cache, no TLS 1.3 tickets): every connection
//! runs the verifier, so a revoked certificate cannot come back through a resumed session.

use crate::error::CertError;
use crate::model::{AutoRegistrationStatus, CaCertificateStatus, CertificateStatus};
use crate::registry::CertificateRegistry;
use crate::store::IssuerKind;
use crate::x509::certificate_id;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, ServerConfig,
    SignatureScheme,
};
use std::fmt;
use std::sync::Arc;

/// ALPN protocol AWS IoT Core accepts for MQTT over TLS with client certificates (used on
/// port 443; "Protocols, port mappings, and authentication", AWS IoT developer guide).
pub const ALPN_AWS_IOT_MQTT: &[u8] = b"x-amzn-mqtt-ca";

/// Why a client certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// Not registered.
    Unknown,
    /// Not registered; it was just registered as PENDING_ACTIVATION through its CA's
    /// auto-registration, and must be activated before it can connect.
    AutoRegistered,
    /// Registered, status REVOKED.
    Revoked,
    /// Registered, status INACTIVE / PENDING_* / REGISTER_INACTIVE (carried).
    NotActive(CertificateStatus),
    /// Before `notBefore`.
    NotYetValid,
    /// After `notAfter`.
    Expired,
    /// Registered with a CA that is now INACTIVE or deleted.
    CaNotActive,
    /// The chain does not verify (signature, extended key usage, CA constraints).
    BadChain,
}

impl RefusalReason {
    /// A short, stable, log-friendly name (`UNKNOWN`, `REVOKED`, `INACTIVE`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Unknown => "UNKNOWN",
            RefusalReason::AutoRegistered => "PENDING_ACTIVATION_AUTO_REGISTERED",
            RefusalReason::Revoked => "REVOKED",
            RefusalReason::NotActive(s) => s.as_str(),
            RefusalReason::NotYetValid => "NOT_YET_VALID",
            RefusalReason::Expired => "EXPIRED",
            RefusalReason::CaNotActive => "CA_NOT_ACTIVE",
            RefusalReason::BadChain => "BAD_CHAIN",
        }
    }
}

/// A refused client certificate: its ID and the reason. Travels in the handshake error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The certificate ID (SHA-256 of the DER), usable as the log event's `principalId`.
    pub certificate_id: String,
    /// Why.
    pub reason: RefusalReason,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "client certificate {} refused: {}",
            self.certificate_id,
            self.reason.as_str()
        )
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// Finds the refusal inside a rustls error, if the verifier produced it.
    pub fn from_rustls_error(err: &rustls::Error) -> Option<&Refusal> {
        match err {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
                inner.downcast_ref::<Refusal>()
            }
            _ => None,
        }
    }

    /// Finds the refusal inside the `io::Error` a tokio-rustls `accept` returned.
    pub fn from_io_error(err: &std::io::Error) -> Option<&Refusal> {
        err.get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .and_then(Refusal::from_rustls_error)
    }

    fn into_error(self) -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(self))))
    }
}

/// The registry-backed client-certificate verifier (see the module docs).
pub struct RegistryClientVerifier {
    registry: CertificateRegistry,
    algorithms: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for RegistryClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClientVerifier")
            .finish_non_exhaustive()
    }
}

/// The crypto provider used everywhere in this crate: aws-lc-rs.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn chain_ok(
    algs: &WebPkiSupportedAlgorithms,
    anchor: &TrustAnchor<'_>,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> bool {
    let Ok(ee) = webpki::EndEntityCert::try_from(end_entity) else {
        return false;
    };
    ee.verify_for_usage(
        algs.all,
        std::slice::from_ref(anchor),
        intermediates,
        now,
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .is_ok()
}

impl RegistryClientVerifier {
    /// A verifier over `registry` with the aws-lc-rs signature algorithms.
    pub fn new(registry: CertificateRegistry) -> Self {
        RegistryClientVerifier {
            registry,
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
        }
    }

    /// The decision for one presented chain (see the module docs). `Ok(id)` = accepted.
    pub fn decide(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<String, Refusal> {
        let id = certificate_id(end_entity);
        let refuse = |reason| Refusal {
            certificate_id: id.clone(),
            reason,
        };
        let inner = &self.registry.inner;
        let cache = inner.cache.read();
        let Some(cert) = cache.certs.get(&id) else {
            // Just-in-time registration candidates: ACTIVE CAs with auto-registration on.
            let ca_id = cache
                .cas
                .iter()
                .filter(|(_, ca)| {
                    ca.status == CaCertificateStatus::Active
                        && ca.auto_registration == AutoRegistrationStatus::Enable
                })
                .find(|(_, ca)| {
                    chain_ok(&self.algorithms, &ca.anchor, end_entity, intermediates, now)
                })
                .map(|(ca_id, _)| ca_id.clone());
            drop(cache);
            if let Some(ca_id) = ca_id
                && self.registry.auto_register(end_entity, &ca_id)
            {
                return Err(refuse(RefusalReason::AutoRegistered));
            }
            return Err(refuse(RefusalReason::Unknown));
        };
        match cert.status {
            CertificateStatus::Active => {}
            CertificateStatus::Revoked => return Err(refuse(RefusalReason::Revoked)),
            other => return Err(refuse(RefusalReason::NotActive(other))),
        }
        let now_ms = i64::try_from(now.as_secs())
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        if now_ms < cert.not_before_ms {
            return Err(refuse(RefusalReason::NotYetValid));
        }
        if now_ms > cert.not_after_ms {
            return Err(refuse(RefusalReason::Expired));
        }
        let chain_verified = match &cert.issuer {
            IssuerKind::None => true,
            IssuerKind::Own => chain_ok(
                &self.algorithms,
                &inner.own_anchor,
                end_entity,
                intermediates,
                now,
            ),
            IssuerKind::Ca(ca_id) => match cache.cas.get(ca_id) {
                Some(ca) if ca.status == CaCertificateStatus::Active => {
                    chain_ok(&self.algorithms, &ca.anchor, end_entity, intermediates, now)
                }
                _ => return Err(refuse(RefusalReason::CaNotActive)),
            },
        };
        if !chain_verified {
            return Err(refuse(RefusalReason::BadChain));
        }
        Ok(id)
    }
}

impl ClientCertVerifier for RegistryClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// No hints: clients such as mosquitto send their one certificate regardless, and a CA
    /// list would change with every RegisterCACertificate.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.decide(end_entity, intermediates, now) {
            Ok(_) => Ok(ClientCertVerified::assertion()),
            Err(refusal) => {
                tracing::debug!(certificate_id = %refusal.certificate_id, reason = refusal.reason.as_str(), "client certificate refused");
                Err(refusal.into_error())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl CertificateRegistry {
    /// The registry-backed client-certificate verifier, for callers assembling their own
    /// rustls configuration.
    pub fn client_verifier(&self) -> Arc<RegistryClientVerifier> {
        Arc::new(RegistryClientVerifier::new(self.clone()))
    }

    /// The rustls server configuration for MQTT over TLS: the CA's server certificate
    /// chain, TLS 1.2 and 1.3 (aws-lc-rs), a mandatory client certificate checked by
    /// [`RegistryClientVerifier`], ALPN `x-amzn-mqtt-ca` and `mqtt` offered (a client sending
    /// no ALPN is accepted; rustls refuses a client whose ALPN list has neither), and no
    /// session resumption. Build it once per listener.
    ///
    /// After the handshake, the peer certificate's ID is
    /// [`certificate_id`](crate::certificate_id)`(peer_certificates()[0])`.
    ///
    /// Errors: `InternalFailureException` when the server key does not match the
    /// certificate or is of an unsupported type.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, CertError> {
        let ca = self.authority();
        let mut config = ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| CertError::Internal(format!("tls versions: {e}")))?
            .with_client_cert_verifier(self.client_verifier())
            .with_single_cert(ca.server_chain().to_vec(), ca.server_key())
            .map_err(|e| CertError::Internal(format!("server certificate: {e}")))?;
        config.alpn_protocols = vec![ALPN_AWS_IOT_MQTT.to_vec(), b"mqtt".to_vec()];
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }
}
