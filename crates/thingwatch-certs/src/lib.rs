//! X.509 certificates for AWS IoT: Thingwatch's server CA and server certificate, device
//! certificates with AWS IoT API semantics (CreateKeysAndCertificate,
//! CreateCertificateFromCsr, RegisterCertificate, RegisterCertificateWithoutCA, RegisterCACertificate,
//! Describe/List/Update/Delete for device and CA certificates), their SQLite registry, and
//! the rustls mutual-TLS verifier that admits only registered, ACTIVE certificates.
//!
//! Entry points:
//! - [`CertificateAuthority::load_or_create`] — CA + server certificate in the data directory.
//! - [`CertificateRegistry::open`] — the registry (`certificates.sqlite3`) and its operations.
//! - [`CertificateRegistry::server_config`] — the `rustls::ServerConfig` for port 8883.
//! - [`certificate_id`] — the principal ID of a peer certificate after the handshake.
//! - [`CertificateRegistry::subscribe`] — status changes, for closing live connections.
//!
//! **API boundary:** this crate knows X.509, TLS and the AWS certificate rules; it knows
//! nothing of HTTP, JSON or MQTT. Errors carry their AWS code and HTTP status
//! ([`CertError::code`], [`CertError::status`]).
//!
//! Crypto provider: aws-lc-rs (rustls' default; also the only rcgen backend that generates
//! RSA keys, which CreateKeysAndCertificate returns).

mod ca;
mod error;
mod model;
mod registry;
mod store;
mod verifier;
mod x509;

pub use ca::{
    CA_COMMON_NAME, CA_KEY_FILE, CA_PEM_FILE, CA_VALIDITY, CertificateAuthority,
    DEFAULT_SERVER_NAMES, DEVICE_COMMON_NAME, DEVICE_NOT_AFTER_S, SERVER_CERT_FILE,
    SERVER_KEY_FILE, SERVER_RENEW_BEFORE, SERVER_VALIDITY, TLS_DIR, TlsFiles,
};
pub use error::CertError;
pub use model::{
    AutoRegistrationStatus, CaCertificateDescription, CaCertificateStatus, CaCertificateSummary,
    CertificateDescription, CertificateEvent, CertificateMode, CertificateStatus,
    CertificateSummary, CreatedKeysAndCertificate, DEFAULT_PAGE_SIZE, IssuedCertificate,
    KeyPairPem, ListOptions, MAX_PAGE_SIZE, Page, Validity,
};
pub use registry::{
    Attachments, CertificateRegistry, EVENT_CHANNEL_CAPACITY, MSG_DELETE_ACTIVE, check_transition,
};
pub use store::DB_FILE;
pub use verifier::{
    ALPN_AWS_IOT_MQTT, Refusal, RefusalReason, RegistryClientVerifier, crypto_provider,
};
pub use x509::{
    MAX_CSR_CHARS, MAX_PEM_CHARS, certificate_id, der_to_pem, is_self_signed, is_signed_by,
    normalize_certificate_id, pem_to_der,
};
