//! The certificate data model as AWS IoT shapes it: statuses, modes, the Describe/List
//! records, the one-time key pair, list paging, and the change-feed event.
//!
//! Field names follow the AWS IoT API Reference data types `CertificateDescription`,
//! `Certificate`, `CACertificateDescription`, `CACertificate`, `KeyPair` and
//! `CertificateValidity`; dates are kept as epoch **milliseconds** (`*_ms`) and the API layer
//! renders them as the epoch-seconds JSON numbers AWS uses.

use crate::error::CertError;
use std::fmt;
use std::str::FromStr;

/// Default `pageSize` of ListCertificates / ListCACertificates / ListCertificatesByCA
/// ("The results are paginated with a default page size of 25", ListCertificates API page).
pub const DEFAULT_PAGE_SIZE: u32 = 25;

/// Largest `pageSize` AWS accepts (ListCertificates: "Valid Range: Minimum value of 1.
/// Maximum value of 250").
pub const MAX_PAGE_SIZE: u32 = 250;

/// A device certificate's status (`CertificateStatus` in the AWS IoT API Reference).
///
/// Only [`CertificateStatus::Active`] authenticates a device. `PendingTransfer` and
/// `PendingActivation` are set by AWS IoT itself (the latter by just-in-time registration,
/// see [`crate::CertificateRegistry::register_ca_certificate`]); `RegisterInactive` is
/// deprecated by AWS and behaves like `Inactive` here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    /// `ACTIVE`: may connect.
    Active,
    /// `INACTIVE`: may not connect; may be re-activated or deleted.
    Inactive,
    /// `REVOKED`: may not connect, and can never become ACTIVE again.
    Revoked,
    /// `PENDING_TRANSFER`: being transferred to another account (not settable by users).
    PendingTransfer,
    /// `REGISTER_INACTIVE`: deprecated alias of INACTIVE kept for wire compatibility.
    RegisterInactive,
    /// `PENDING_ACTIVATION`: auto-registered through a CA with auto-registration enabled;
    /// waits for UpdateCertificate ACTIVE.
    PendingActivation,
}

impl CertificateStatus {
    /// Every status, in the order the AWS enum lists them.
    pub const ALL: [CertificateStatus; 6] = [
        CertificateStatus::Active,
        CertificateStatus::Inactive,
        CertificateStatus::Revoked,
        CertificateStatus::PendingTransfer,
        CertificateStatus::RegisterInactive,
        CertificateStatus::PendingActivation,
    ];

    /// The wire spelling, e.g. `"ACTIVE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Active => "ACTIVE",
            CertificateStatus::Inactive => "INACTIVE",
            CertificateStatus::Revoked => "REVOKED",
            CertificateStatus::PendingTransfer => "PENDING_TRANSFER",
            CertificateStatus::RegisterInactive => "REGISTER_INACTIVE",
            CertificateStatus::PendingActivation => "PENDING_ACTIVATION",
        }
    }
}

impl fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CertificateStatus {
    type Err = CertError;

    /// Parses the wire spelling; anything else is `InvalidRequestException`.
    fn from_str(s: &str) -> Result<Self, CertError> {
        CertificateStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                CertError::InvalidRequest(format!(
                    "Value '{s}' is not a valid certificate status (ACTIVE | INACTIVE | REVOKED | \
                     PENDING_TRANSFER | REGISTER_INACTIVE | PENDING_ACTIVATION)"
                ))
            })
    }
}

/// A CA certificate's status (`CACertificateStatus`: `ACTIVE | INACTIVE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaCertificateStatus {
    /// `ACTIVE`: device certificates it signed may connect and be registered.
    Active,
    /// `INACTIVE`: devices it signed are refused; the CA may be deleted.
    Inactive,
}

impl CaCertificateStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CaCertificateStatus::Active => "ACTIVE",
            CaCertificateStatus::Inactive => "INACTIVE",
        }
    }
}

impl fmt::Display for CaCertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaCertificateStatus {
    type Err = CertError;

    /// Parses `ACTIVE` / `INACTIVE`; anything else is `InvalidRequestException`.
    fn from_str(s: &str) -> Result<Self, CertError> {
        match s {
            "ACTIVE" => Ok(CaCertificateStatus::Active),
            "INACTIVE" => Ok(CaCertificateStatus::Inactive),
            other => Err(CertError::InvalidRequest(format!(
                "Value '{other}' is not a valid CA certificate status (ACTIVE | INACTIVE)"
            ))),
        }
    }
}

/// `AutoRegistrationStatus` of a CA certificate (`ENABLE | DISABLE`): whether unknown device
/// certificates it signed are registered as PENDING_ACTIVATION on their first connect
/// (just-in-time registration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoRegistrationStatus {
    /// `ENABLE`.
    Enable,
    /// `DISABLE` (the default).
    Disable,
}

impl AutoRegistrationStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoRegistrationStatus::Enable => "ENABLE",
            AutoRegistrationStatus::Disable => "DISABLE",
        }
    }
}

impl FromStr for AutoRegistrationStatus {
    type Err = CertError;

    /// Parses `ENABLE` / `DISABLE`; anything else is `InvalidRequestException`.
    fn from_str(s: &str) -> Result<Self, CertError> {
        match s {
            "ENABLE" => Ok(AutoRegistrationStatus::Enable),
            "DISABLE" => Ok(AutoRegistrationStatus::Disable),
            other => Err(CertError::InvalidRequest(format!(
                "Value '{other}' is not a valid auto registration status (ENABLE | DISABLE)"
            ))),
        }
    }
}

/// `CertificateMode`: `DEFAULT` (issued by or registered with a CA) or `SNI_ONLY`
/// (registered without a CA through RegisterCertificateWithoutCA).
///
/// AWS requires SNI_ONLY devices to send the TLS SNI extension; Thingwatch does not enforce
/// that (clients connecting by IP address cannot send SNI) and only reports the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateMode {
    /// `DEFAULT`.
    Default,
    /// `SNI_ONLY`.
    SniOnly,
}

impl CertificateMode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateMode::Default => "DEFAULT",
            CertificateMode::SniOnly => "SNI_ONLY",
        }
    }

    pub(crate) fn parse_stored(s: &str) -> CertificateMode {
        if s == "SNI_ONLY" {
            CertificateMode::SniOnly
        } else {
            CertificateMode::Default
        }
    }
}

/// `CertificateValidity`: the certificate's own `notBefore` / `notAfter`, epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// `notBefore`, epoch ms.
    pub not_before_ms: i64,
    /// `notAfter`, epoch ms.
    pub not_after_ms: i64,
}

/// `CertificateDescription` (DescribeCertificate response `certificateDescription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateDescription {
    /// `certificateArn`: `arn:aws:iot:REGION:ACCOUNT:cert/ID`.
    pub certificate_arn: String,
    /// `certificateId`: lowercase hex SHA-256 of the DER, 64 characters.
    pub certificate_id: String,
    /// `caCertificateId`: the registered CA that signed it; `None` for certificates issued by
    /// Thingwatch's own CA (AWS omits it for Amazon-issued certificates) and for SNI_ONLY ones.
    pub ca_certificate_id: Option<String>,
    /// `status`.
    pub status: CertificateStatus,
    /// `certificatePem`: the certificate, PEM (never a private key).
    pub certificate_pem: String,
    /// `ownedBy`: the account ID.
    pub owned_by: String,
    /// `creationDate`, epoch ms.
    pub creation_date_ms: i64,
    /// `lastModifiedDate`, epoch ms.
    pub last_modified_date_ms: i64,
    /// `customerVersion`: 1 at creation, +1 on every status change.
    pub customer_version: i32,
    /// `generationId`: a fresh random identifier on every change.
    pub generation_id: String,
    /// `validity`.
    pub validity: Validity,
    /// `certificateMode`.
    pub certificate_mode: CertificateMode,
}

/// `Certificate` (one entry of ListCertificates / ListCertificatesByCA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// `certificateArn`.
    pub certificate_arn: String,
    /// `certificateId`.
    pub certificate_id: String,
    /// `status`.
    pub status: CertificateStatus,
    /// `certificateMode`.
    pub certificate_mode: CertificateMode,
    /// `creationDate`, epoch ms.
    pub creation_date_ms: i64,
}

/// `CACertificateDescription` (DescribeCACertificate response `certificateDescription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificateDescription {
    /// `certificateArn`: `arn:aws:iot:REGION:ACCOUNT:cacert/ID`.
    pub certificate_arn: String,
    /// `certificateId`: lowercase hex SHA-256 of the DER.
    pub certificate_id: String,
    /// `status`.
    pub status: CaCertificateStatus,
    /// `certificatePem`.
    pub certificate_pem: String,
    /// `ownedBy`: the account ID.
    pub owned_by: String,
    /// `creationDate`, epoch ms.
    pub creation_date_ms: i64,
    /// `autoRegistrationStatus`.
    pub auto_registration_status: AutoRegistrationStatus,
    /// `lastModifiedDate`, epoch ms.
    pub last_modified_date_ms: i64,
    /// `customerVersion`: 1 at creation, +1 on every update.
    pub customer_version: i32,
    /// `generationId`.
    pub generation_id: String,
    /// `validity`.
    pub validity: Validity,
    /// `certificateMode`.
    pub certificate_mode: CertificateMode,
}

/// `CACertificate` (one entry of ListCACertificates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificateSummary {
    /// `certificateArn`.
    pub certificate_arn: String,
    /// `certificateId`.
    pub certificate_id: String,
    /// `status`.
    pub status: CaCertificateStatus,
    /// `creationDate`, epoch ms.
    pub creation_date_ms: i64,
}

/// `KeyPair` of CreateKeysAndCertificate: returned once, never stored.
///
/// A 2048-bit RSA key, as AWS returns: the private key PKCS#1 PEM
/// (`BEGIN RSA PRIVATE KEY`), the public key SubjectPublicKeyInfo PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPairPem {
    /// `PublicKey`: SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    pub public_key: String,
    /// `PrivateKey`: PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`). Secret: never log it.
    pub private_key: String,
}

impl fmt::Debug for KeyPairPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPairPem")
            .field("public_key", &self.public_key)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// CreateKeysAndCertificate response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedKeysAndCertificate {
    /// `certificateArn`.
    pub certificate_arn: String,
    /// `certificateId`.
    pub certificate_id: String,
    /// `certificatePem`.
    pub certificate_pem: String,
    /// `keyPair`.
    pub key_pair: KeyPairPem,
}

/// CreateCertificateFromCsr response (`certificateArn`, `certificateId`, `certificatePem`);
/// RegisterCertificate / RegisterCertificateWithoutCA / RegisterCACertificate answer with the
/// ARN and ID only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// `certificateArn`.
    pub certificate_arn: String,
    /// `certificateId`.
    pub certificate_id: String,
    /// `certificatePem`.
    pub certificate_pem: String,
}

/// Paging and order of a List call (`pageSize`, `marker`, `ascendingOrder`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// `pageSize`: 1..=[`MAX_PAGE_SIZE`]; `None` means [`DEFAULT_PAGE_SIZE`].
    pub page_size: Option<u32>,
    /// `marker`: the `nextMarker` of the previous page.
    pub marker: Option<String>,
    /// `ascendingOrder`: oldest first when `true`; newest first otherwise (AWS default).
    pub ascending_order: bool,
}

/// One page of a List call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's entries, ordered by creation date (then ID).
    pub items: Vec<T>,
    /// `nextMarker`: present when more entries follow.
    pub next_marker: Option<String>,
}

/// A change to the registry, published on [`crate::CertificateRegistry::subscribe`].
///
/// The broker closes live connections whose certificate leaves ACTIVE or is deleted, and
/// drops cached authorization decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateEvent {
    /// A device certificate was created or registered.
    Registered {
        /// Certificate ID.
        id: String,
        /// Its initial status.
        status: CertificateStatus,
    },
    /// A device certificate's status changed (only published when it really changed).
    StatusChanged {
        /// Certificate ID.
        id: String,
        /// The status before.
        old: CertificateStatus,
        /// The status now.
        status: CertificateStatus,
    },
    /// A device certificate was deleted.
    Deleted {
        /// Certificate ID.
        id: String,
    },
    /// An unknown device certificate signed by a CA with auto-registration enabled tried to
    /// connect and was registered as PENDING_ACTIVATION (AWS publishes this on
    /// `$aws/events/certificates/registered/<caCertificateId>`).
    AutoRegistered {
        /// The new certificate's ID.
        id: String,
        /// The CA certificate's ID.
        ca_certificate_id: String,
    },
    /// A CA certificate was registered, updated (status or auto-registration) or deleted;
    /// every device certificate it signed is affected.
    CaChanged {
        /// CA certificate ID.
        id: String,
        /// Its status now; `None` when it was deleted.
        status: Option<CaCertificateStatus>,
    },
}
