//! [`CertificateRegistry`]: the AWS IoT certificate operations (create, register, describe,
//! list, update, delete; device and CA certificates) over the SQLite store, with an
//! in-memory mirror the TLS verifier reads and a broadcast change feed.
//!
//! **Invariant:** every mutation writes SQLite first, then the in-memory cache, then
//! publishes a [`CertificateEvent`], all while holding the store lock, so the cache never
//! shows a state the database does not have and events arrive in commit order.

use crate::ca::CertificateAuthority;
use crate::error::CertError;
use crate::model::{
    AutoRegistrationStatus, CaCertificateDescription, CaCertificateStatus, CaCertificateSummary,
    CertificateDescription, CertificateEvent, CertificateMode, CertificateStatus,
    CertificateSummary, CreatedKeysAndCertificate, DEFAULT_PAGE_SIZE, IssuedCertificate,
    ListOptions, MAX_PAGE_SIZE, Page, Validity,
};
use crate::store::{CaRow, CertRow, IssuerKind, PageQuery, Store};
use crate::x509::{self, CertFacts, der_to_pem};
use parking_lot::{Mutex, RwLock};
use rustls_pki_types::{CertificateDer, TrustAnchor};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use thingwatch_aws::IotKind;
use thingwatch_aws::page_token::{self, Alphabet};
use tokio::sync::broadcast;

/// Capacity of the change-feed channel; a subscriber that falls further behind gets
/// `RecvError::Lagged` and should re-read the statuses it cares about.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// Message of the CertificateStateException DeleteCertificate answers for an ACTIVE
/// certificate.
pub const MSG_DELETE_ACTIVE: &str = "Certificate must be deactivated before deletion";

/// What the caller (which owns policies and thing principals) found attached to a
/// certificate, for [`CertificateRegistry::delete_certificate`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attachments {
    /// Things the certificate is attached to (AttachThingPrincipal).
    pub things: usize,
    /// Policies attached to the certificate (AttachPolicy).
    pub policies: usize,
}

/// What the TLS verifier needs about a device certificate.
#[derive(Debug, Clone)]
pub(crate) struct CachedCert {
    pub status: CertificateStatus,
    pub issuer: IssuerKind,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
}

/// What the TLS verifier needs about a registered CA.
#[derive(Debug, Clone)]
pub(crate) struct CachedCa {
    pub status: CaCertificateStatus,
    pub auto_registration: AutoRegistrationStatus,
    pub der: CertificateDer<'static>,
    pub anchor: TrustAnchor<'static>,
}

#[derive(Default)]
pub(crate) struct Cache {
    pub certs: HashMap<String, CachedCert>,
    pub cas: HashMap<String, CachedCa>,
}

pub(crate) struct Inner {
    pub ca: Arc<CertificateAuthority>,
    pub own_anchor: TrustAnchor<'static>,
    region: String,
    account_id: String,
    store: Mutex<Store>,
    pub cache: RwLock<Cache>,
    events: broadcast::Sender<CertificateEvent>,
}

/// The certificate registry. Cheap to clone (one `Arc`); share one per process.
#[derive(Clone)]
pub struct CertificateRegistry {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for CertificateRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateRegistry")
            .field("region", &self.inner.region)
            .field("account_id", &self.inner.account_id)
            .finish_non_exhaustive()
    }
}

fn anchor(der: &CertificateDer<'_>) -> Result<TrustAnchor<'static>, CertError> {
    webpki::anchor_from_trusted_cert(der)
        .map(|a| a.to_owned())
        .map_err(|e| CertError::CertificateValidation(format!("Unusable CA certificate: {e}")))
}

fn cached_ca(row: &CaRow) -> Result<CachedCa, CertError> {
    let der = CertificateDer::from(row.der.clone());
    Ok(CachedCa {
        status: row.status,
        auto_registration: row.auto_registration,
        anchor: anchor(&der)?,
        der,
    })
}

fn cached_cert(row: &CertRow) -> CachedCert {
    CachedCert {
        status: row.status,
        issuer: row.issuer.clone(),
        not_before_ms: row.not_before_ms,
        not_after_ms: row.not_after_ms,
    }
}

fn not_found(id: &str) -> CertError {
    CertError::ResourceNotFound(format!("The certificate {id} does not exist"))
}

fn ca_not_found(id: &str) -> CertError {
    CertError::ResourceNotFound(format!("The CA certificate {id} does not exist"))
}

/// The status RegisterCertificate / RegisterCertificateWithoutCA give a certificate:
/// `status` if given (ACTIVE, INACTIVE, REVOKED or the deprecated REGISTER_INACTIVE),
/// else INACTIVE.
fn register_status(status: Option<CertificateStatus>) -> Result<CertificateStatus, CertError> {
    match status {
        None => Ok(CertificateStatus::Inactive),
        Some(
            s @ (CertificateStatus::Active
            | CertificateStatus::Inactive
            | CertificateStatus::Revoked
            | CertificateStatus::RegisterInactive),
        ) => Ok(s),
        Some(other) => Err(CertError::InvalidRequest(format!(
            "A certificate cannot be registered with status {other}"
        ))),
    }
}

/// UpdateCertificate's transition rule: may a certificate in `from` be set to `to`?
///
/// - `to` = PENDING_TRANSFER or PENDING_ACTIVATION: `InvalidRequestException` (internal
///   statuses, "not intended for developer use", UpdateCertificate API page).
/// - `from` = `to`: allowed (the operation is idempotent).
/// - `from` = REVOKED: `CertificateStateException`; a revoked certificate stays revoked.
/// - `from` = PENDING_TRANSFER: `CertificateStateException`; the transfer must be rejected
///   or cancelled first.
/// - everything else (ACTIVE, INACTIVE, REGISTER_INACTIVE, PENDING_ACTIVATION → ACTIVE,
///   INACTIVE, REVOKED, REGISTER_INACTIVE): allowed.
pub fn check_transition(from: CertificateStatus, to: CertificateStatus) -> Result<(), CertError> {
    use CertificateStatus::*;
    if matches!(to, PendingTransfer | PendingActivation) {
        return Err(CertError::InvalidRequest(format!(
            "The certificate status cannot be set to {to}"
        )));
    }
    if from == to {
        return Ok(());
    }
    match from {
        Revoked => Err(CertError::CertificateState(format!(
            "The certificate is REVOKED and cannot be set to {to}"
        ))),
        PendingTransfer => Err(CertError::CertificateState(
            "The certificate is pending transfer; reject or cancel the transfer first".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// The tag of certificate-list markers ([`thingwatch_aws::page_token`]; the model constrains
/// `Marker` to standard base64).
const MARKER_TAG: &str = "certificates";

fn decode_marker(marker: &str) -> Result<(i64, String), CertError> {
    let bad = || CertError::InvalidRequest("The marker is not valid".to_owned());
    let (ms, id) =
        page_token::decode_two(Alphabet::Standard, MARKER_TAG, marker).map_err(|_| bad())?;
    Ok((ms.parse().map_err(|_| bad())?, id))
}

fn encode_marker(created_ms: i64, id: &str) -> String {
    page_token::encode(
        Alphabet::Standard,
        MARKER_TAG,
        &[&created_ms.to_string(), id],
    )
}

fn page_size(opts: &ListOptions) -> Result<u32, CertError> {
    match opts.page_size {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(n) => Err(CertError::InvalidRequest(format!(
            "pageSize {n} is out of range (1 to {MAX_PAGE_SIZE})"
        ))),
    }
}

impl CertificateRegistry {
    /// Opens (creating if needed) `dir/certificates.sqlite3` and loads every certificate's
    /// status into memory. `ca` issues device certificates and is trusted by the verifier;
    /// `region` and `account_id` build the ARNs (`arn:aws:iot:REGION:ACCOUNT:cert/ID`).
    ///
    /// Errors: `InternalFailureException` when the database cannot be opened or read, or
    /// holds a schema version this build does not know.
    pub fn open(
        dir: &Path,
        ca: Arc<CertificateAuthority>,
        region: &str,
        account_id: &str,
    ) -> Result<Self, CertError> {
        let store = Store::open(dir)?;
        let mut cache = Cache::default();
        for row in store.all_cas()? {
            match cached_ca(&row) {
                Ok(c) => {
                    cache.cas.insert(row.id.clone(), c);
                }
                Err(e) => tracing::warn!(ca_id = %row.id, error = %e, "skipping unusable CA"),
            }
        }
        for row in store.all_certs()? {
            cache.certs.insert(row.id.clone(), cached_cert(&row));
        }
        let own_anchor =
            anchor(ca.ca_der()).map_err(|e| CertError::Internal(format!("own CA: {e}")))?;
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        Ok(CertificateRegistry {
            inner: Arc::new(Inner {
                ca,
                own_anchor,
                region: region.to_owned(),
                account_id: account_id.to_owned(),
                store: Mutex::new(store),
                cache: RwLock::new(cache),
                events,
            }),
        })
    }

    /// The certificate authority this registry issues with.
    pub fn authority(&self) -> &Arc<CertificateAuthority> {
        &self.inner.ca
    }

    /// `arn:aws:iot:REGION:ACCOUNT:cert/ID`.
    pub fn certificate_arn(&self, id: &str) -> String {
        IotKind::Cert.arn(&self.inner.region, &self.inner.account_id, id)
    }

    /// `arn:aws:iot:REGION:ACCOUNT:cacert/ID`.
    pub fn ca_certificate_arn(&self, id: &str) -> String {
        IotKind::CaCert.arn(&self.inner.region, &self.inner.account_id, id)
    }

    /// Subscribes to the change feed (see [`CertificateEvent`]); capacity
    /// [`EVENT_CHANNEL_CAPACITY`].
    pub fn subscribe(&self) -> broadcast::Receiver<CertificateEvent> {
        self.inner.events.subscribe()
    }

    /// The current status of device certificate `id` (lowercase hex), from memory; `None`
    /// when it is not registered. Lets the broker tell "unknown" from "INACTIVE"/"REVOKED"
    /// when logging a refused connect.
    pub fn status_of(&self, id: &str) -> Option<CertificateStatus> {
        self.inner.cache.read().certs.get(id).map(|c| c.status)
    }

    /// CreateKeysAndCertificate: a new RSA 2048 key pair and a certificate for it signed by
    /// Thingwatch's CA, registered ACTIVE when `set_as_active`, else INACTIVE. The private
    /// key is in the result only; it is never stored or logged.
    ///
    /// Errors: `InternalFailureException` (key generation, signing, storage).
    pub fn create_keys_and_certificate(
        &self,
        set_as_active: bool,
    ) -> Result<CreatedKeysAndCertificate, CertError> {
        let (der, key_pair) = self.inner.ca.issue_device_certificate()?;
        let facts = x509::parse(der)?;
        let status = if set_as_active {
            CertificateStatus::Active
        } else {
            CertificateStatus::Inactive
        };
        let issued =
            self.insert_device(facts, status, IssuerKind::Own, CertificateMode::Default)?;
        Ok(CreatedKeysAndCertificate {
            certificate_arn: issued.certificate_arn,
            certificate_id: issued.certificate_id,
            certificate_pem: issued.certificate_pem,
            key_pair,
        })
    }

    /// CreateCertificateFromCsr: signs `csr_pem` with Thingwatch's CA and registers the
    /// certificate ACTIVE when `set_as_active`, else INACTIVE.
    ///
    /// Errors: `InvalidRequestException` for a bad CSR (see
    /// [`CertificateAuthority::sign_csr`]); `InternalFailureException`.
    pub fn create_certificate_from_csr(
        &self,
        csr_pem: &str,
        set_as_active: bool,
    ) -> Result<IssuedCertificate, CertError> {
        let der = self.inner.ca.sign_csr(csr_pem)?;
        let facts = x509::parse(der)?;
        let status = if set_as_active {
            CertificateStatus::Active
        } else {
            CertificateStatus::Inactive
        };
        self.insert_device(facts, status, IssuerKind::Own, CertificateMode::Default)
    }

    /// RegisterCertificate: registers a device certificate signed by a registered CA (or by
    /// Thingwatch's own CA), in DEFAULT mode, with `status` (default INACTIVE).
    ///
    /// With `ca_pem`, that CA must be registered and must have signed the certificate. Without
    /// it, the issuer is looked up among the registered CAs by subject and signature; more
    /// than one match is a `CertificateConflictException`.
    ///
    /// Errors: `CertificateValidationException` (unparsable PEM, CA not registered, signature
    /// does not verify, issuer unknown); `CertificateConflictException`;
    /// `CertificateStateException` (ACTIVE requested while the CA is INACTIVE);
    /// `ResourceAlreadyExistsException` (same certificate already registered);
    /// `InvalidRequestException` (status PENDING_*).
    pub fn register_certificate(
        &self,
        certificate_pem: &str,
        ca_pem: Option<&str>,
        status: Option<CertificateStatus>,
    ) -> Result<IssuedCertificate, CertError> {
        let status = register_status(status)?;
        let facts = x509::parse(x509::pem_to_der(certificate_pem)?)?;
        self.check_absent(&facts.id)?;
        let issuer = match ca_pem {
            Some(ca_pem) => {
                let ca_der = x509::pem_to_der(ca_pem)?;
                let ca_id = x509::certificate_id(&ca_der);
                if !self.inner.cache.read().cas.contains_key(&ca_id) {
                    return Err(CertError::CertificateValidation(
                        "The CA certificate is not registered; register it with \
                         RegisterCACertificate first"
                            .to_owned(),
                    ));
                }
                if !x509::is_signed_by(&facts.der, &ca_der) {
                    return Err(CertError::CertificateValidation(
                        "The certificate is not signed by the given CA certificate".to_owned(),
                    ));
                }
                IssuerKind::Ca(ca_id)
            }
            None => self.find_issuer(&facts)?,
        };
        if let IssuerKind::Ca(ca_id) = &issuer {
            let ca_active = self
                .inner
                .cache
                .read()
                .cas
                .get(ca_id)
                .is_some_and(|c| c.status == CaCertificateStatus::Active);
            if status == CertificateStatus::Active && !ca_active {
                return Err(CertError::CertificateState(
                    "The CA certificate that signed this certificate is not ACTIVE".to_owned(),
                ));
            }
        }
        self.insert_device(facts, status, issuer, CertificateMode::Default)
    }

    /// RegisterCertificateWithoutCA: registers any parsable certificate (self-signed or of
    /// an unregistered issuer) in SNI_ONLY mode with `status` (default INACTIVE). No chain is
    /// checked, at registration or at connect: possession of the private key (the TLS
    /// CertificateVerify signature) is the proof.
    ///
    /// Errors: `CertificateValidationException`, `ResourceAlreadyExistsException`,
    /// `InvalidRequestException` (status PENDING_*).
    pub fn register_certificate_without_ca(
        &self,
        certificate_pem: &str,
        status: Option<CertificateStatus>,
    ) -> Result<IssuedCertificate, CertError> {
        let status = register_status(status)?;
        let facts = x509::parse(x509::pem_to_der(certificate_pem)?)?;
        self.check_absent(&facts.id)?;
        self.insert_device(facts, status, IssuerKind::None, CertificateMode::SniOnly)
    }

    /// GetRegistrationCode: this registry's registration code (64 hex characters, generated
    /// once and persisted), the common name RegisterCACertificate's verification certificate
    /// must carry.
    ///
    /// Errors: `InternalFailureException`.
    pub fn registration_code(&self) -> Result<String, CertError> {
        let store = self.inner.store.lock();
        if let Some(code) = store.meta("registration_code")? {
            return Ok(code);
        }
        let code = hex::encode(x509::random_bytes::<32>()?);
        store.set_meta("registration_code", &code)?;
        Ok(code)
    }

    /// RegisterCACertificate: registers a CA certificate (basicConstraints cA=TRUE), ACTIVE
    /// when `set_as_active`, with auto-registration ENABLE when `allow_auto_registration`.
    ///
    /// Proof of possession: when `verification_pem` is given it must be signed by the CA and
    /// have the [`registration_code`](Self::registration_code) as its common name (the AWS
    /// DEFAULT-mode flow). When it is `None` the CA is registered without that proof (as AWS
    /// does in SNI_ONLY mode); the caller decides whether to allow that.
    ///
    /// Errors: `CertificateValidationException` (unparsable, not a CA);
    /// `RegistrationCodeValidationException`; `ResourceAlreadyExistsException`.
    pub fn register_ca_certificate(
        &self,
        ca_pem: &str,
        verification_pem: Option<&str>,
        set_as_active: bool,
        allow_auto_registration: bool,
    ) -> Result<IssuedCertificate, CertError> {
        let facts = x509::parse(x509::pem_to_der(ca_pem)?)?;
        if !facts.is_ca {
            return Err(CertError::CertificateValidation(
                "The certificate is not a CA certificate (basicConstraints cA is not TRUE)"
                    .to_owned(),
            ));
        }
        if let Some(ver_pem) = verification_pem {
            let ver = x509::parse(x509::pem_to_der(ver_pem)?)?;
            if !x509::is_signed_by(&ver.der, &facts.der) {
                return Err(CertError::RegistrationCodeValidation(
                    "The verification certificate is not signed by the CA certificate".to_owned(),
                ));
            }
            let code = self.registration_code()?;
            if ver.common_name.as_deref() != Some(code.as_str()) {
                return Err(CertError::RegistrationCodeValidation(
                    "The verification certificate's common name is not the registration code"
                        .to_owned(),
                ));
            }
        }
        let now = x509::now_ms();
        let row = CaRow {
            id: facts.id.clone(),
            der: facts.der.to_vec(),
            status: if set_as_active {
                CaCertificateStatus::Active
            } else {
                CaCertificateStatus::Inactive
            },
            auto_registration: if allow_auto_registration {
                AutoRegistrationStatus::Enable
            } else {
                AutoRegistrationStatus::Disable
            },
            mode: CertificateMode::Default,
            created_ms: now,
            modified_ms: now,
            customer_version: 1,
            generation_id: x509::generation_id()?,
            not_before_ms: facts.not_before_ms,
            not_after_ms: facts.not_after_ms,
        };
        let cached = cached_ca(&row)?;
        let store = self.inner.store.lock();
        if store.ca(&row.id)?.is_some() {
            return Err(CertError::ResourceAlreadyExists {
                message: "The CA certificate is already registered".to_owned(),
                resource_arn: self.ca_certificate_arn(&row.id),
                resource_id: row.id,
            });
        }
        store.insert_ca(&row)?;
        self.inner.cache.write().cas.insert(row.id.clone(), cached);
        let _ = self.inner.events.send(CertificateEvent::CaChanged {
            id: row.id.clone(),
            status: Some(row.status),
        });
        Ok(IssuedCertificate {
            certificate_arn: self.ca_certificate_arn(&row.id),
            certificate_pem: der_to_pem("CERTIFICATE", &row.der),
            certificate_id: row.id,
        })
    }

    /// DescribeCertificate. `id` may be upper- or lowercase, with or without `0x`.
    ///
    /// Errors: `InvalidRequestException` (malformed ID), `ResourceNotFoundException`.
    pub fn describe_certificate(&self, id: &str) -> Result<CertificateDescription, CertError> {
        let id = x509::normalize_certificate_id(id)?;
        let row = self
            .inner
            .store
            .lock()
            .cert(&id)?
            .ok_or_else(|| not_found(&id))?;
        Ok(self.description(&row))
    }

    /// ListCertificates: device certificates by creation date (newest first unless
    /// `ascending_order`), `page_size` per page (default 25, max 250).
    ///
    /// Errors: `InvalidRequestException` (page size out of range, bad marker).
    pub fn list_certificates(
        &self,
        opts: &ListOptions,
    ) -> Result<Page<CertificateSummary>, CertError> {
        self.list_devices(None, opts)
    }

    /// ListCertificatesByCA: like [`list_certificates`](Self::list_certificates), only the
    /// certificates registered with CA `ca_certificate_id`.
    ///
    /// Errors: as `list_certificates`, plus `InvalidRequestException` for a malformed ID.
    pub fn list_certificates_by_ca(
        &self,
        ca_certificate_id: &str,
        opts: &ListOptions,
    ) -> Result<Page<CertificateSummary>, CertError> {
        let ca_id = x509::normalize_certificate_id(ca_certificate_id)?;
        self.list_devices(Some(&ca_id), opts)
    }

    fn list_devices(
        &self,
        ca_id: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Page<CertificateSummary>, CertError> {
        let size = page_size(opts)?;
        let after = opts.marker.as_deref().map(decode_marker).transpose()?;
        let q = PageQuery {
            after: after.as_ref().map(|(ms, id)| (*ms, id.as_str())),
            ascending: opts.ascending_order,
            limit: size + 1,
        };
        let mut rows = self.inner.store.lock().page_certs(ca_id, &q)?;
        let next_marker = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last().map(|r| encode_marker(r.created_ms, &r.id))
        } else {
            None
        };
        Ok(Page {
            items: rows
                .iter()
                .map(|r| CertificateSummary {
                    certificate_arn: self.certificate_arn(&r.id),
                    certificate_id: r.id.clone(),
                    status: r.status,
                    certificate_mode: r.mode,
                    creation_date_ms: r.created_ms,
                })
                .collect(),
            next_marker,
        })
    }

    /// UpdateCertificate: sets the status per [`check_transition`]. Leaving ACTIVE publishes
    /// [`CertificateEvent::StatusChanged`], on which the broker closes the certificate's live
    /// connections; the TLS verifier refuses new ones at once.
    ///
    /// Errors: `InvalidRequestException`, `ResourceNotFoundException`,
    /// `CertificateStateException`.
    pub fn update_certificate(
        &self,
        id: &str,
        new_status: CertificateStatus,
    ) -> Result<(), CertError> {
        let id = x509::normalize_certificate_id(id)?;
        let store = self.inner.store.lock();
        let mut row = store.cert(&id)?.ok_or_else(|| not_found(&id))?;
        check_transition(row.status, new_status)?;
        if row.status == new_status {
            return Ok(());
        }
        let old = row.status;
        row.status = new_status;
        row.modified_ms = x509::now_ms();
        row.customer_version = row.customer_version.saturating_add(1);
        row.generation_id = x509::generation_id()?;
        store.update_cert(&row)?;
        self.inner
            .cache
            .write()
            .certs
            .insert(id.clone(), cached_cert(&row));
        let _ = self.inner.events.send(CertificateEvent::StatusChanged {
            id,
            old,
            status: new_status,
        });
        Ok(())
    }

    /// DeleteCertificate.
    ///
    /// The caller owns thing and policy attachments and passes what it found in
    /// `attached`. Rules, in order: unknown ID → `ResourceNotFoundException`; ACTIVE →
    /// `CertificateStateException` ([`MSG_DELETE_ACTIVE`]); PENDING_TRANSFER →
    /// `CertificateStateException`; attached to a thing → `DeleteConflictException` (even with
    /// `force_delete`); attached policies → `DeleteConflictException` unless `force_delete`
    /// ("Forces the deletion of a certificate if it is inactive and is not attached to an IoT
    /// thing", DeleteCertificate API page; the caller then detaches those policies).
    /// Publishes [`CertificateEvent::Deleted`].
    pub fn delete_certificate(
        &self,
        id: &str,
        force_delete: bool,
        attached: Attachments,
    ) -> Result<(), CertError> {
        let id = x509::normalize_certificate_id(id)?;
        let store = self.inner.store.lock();
        let row = store.cert(&id)?.ok_or_else(|| not_found(&id))?;
        match row.status {
            CertificateStatus::Active => {
                return Err(CertError::CertificateState(MSG_DELETE_ACTIVE.to_owned()));
            }
            CertificateStatus::PendingTransfer => {
                return Err(CertError::CertificateState(
                    "A certificate pending transfer cannot be deleted".to_owned(),
                ));
            }
            _ => {}
        }
        if attached.things > 0 {
            return Err(CertError::delete_conflict(&format!(
                "{} thing(s)",
                attached.things
            )));
        }
        if attached.policies > 0 && !force_delete {
            return Err(CertError::delete_conflict(&format!(
                "{} policy(ies)",
                attached.policies
            )));
        }
        store.delete_cert(&id)?;
        self.inner.cache.write().certs.remove(&id);
        let _ = self.inner.events.send(CertificateEvent::Deleted { id });
        Ok(())
    }

    /// DescribeCACertificate.
    ///
    /// Errors: `InvalidRequestException`, `ResourceNotFoundException`.
    pub fn describe_ca_certificate(&self, id: &str) -> Result<CaCertificateDescription, CertError> {
        let id = x509::normalize_certificate_id(id)?;
        let row = self
            .inner
            .store
            .lock()
            .ca(&id)?
            .ok_or_else(|| ca_not_found(&id))?;
        Ok(self.ca_description(&row))
    }

    /// ListCACertificates (same paging as ListCertificates).
    ///
    /// Errors: `InvalidRequestException`.
    pub fn list_ca_certificates(
        &self,
        opts: &ListOptions,
    ) -> Result<Page<CaCertificateSummary>, CertError> {
        let size = page_size(opts)?;
        let after = opts.marker.as_deref().map(decode_marker).transpose()?;
        let q = PageQuery {
            after: after.as_ref().map(|(ms, id)| (*ms, id.as_str())),
            ascending: opts.ascending_order,
            limit: size + 1,
        };
        let mut rows = self.inner.store.lock().page_cas(&q)?;
        let next_marker = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last().map(|r| encode_marker(r.created_ms, &r.id))
        } else {
            None
        };
        Ok(Page {
            items: rows
                .iter()
                .map(|r| CaCertificateSummary {
                    certificate_arn: self.ca_certificate_arn(&r.id),
                    certificate_id: r.id.clone(),
                    status: r.status,
                    creation_date_ms: r.created_ms,
                })
                .collect(),
            next_marker,
        })
    }

    /// UpdateCACertificate: new status and/or auto-registration status. Publishes
    /// [`CertificateEvent::CaChanged`]; device certificates of an INACTIVE CA are refused
    /// at connect.
    ///
    /// Errors: `InvalidRequestException`, `ResourceNotFoundException`.
    pub fn update_ca_certificate(
        &self,
        id: &str,
        new_status: Option<CaCertificateStatus>,
        new_auto_registration_status: Option<AutoRegistrationStatus>,
    ) -> Result<(), CertError> {
        let id = x509::normalize_certificate_id(id)?;
        let store = self.inner.store.lock();
        let mut row = store.ca(&id)?.ok_or_else(|| ca_not_found(&id))?;
        let status = new_status.unwrap_or(row.status);
        let auto = new_auto_registration_status.unwrap_or(row.auto_registration);
        if status == row.status && auto == row.auto_registration {
            return Ok(());
        }
        row.status = status;
        row.auto_registration = auto;
        row.modified_ms = x509::now_ms();
        row.customer_version = row.customer_version.saturating_add(1);
        row.generation_id = x509::generation_id()?;
        store.update_ca(&row)?;
        {
            let mut cache = self.inner.cache.write();
            if let Some(c) = cache.cas.get_mut(&id) {
                c.status = status;
                c.auto_registration = auto;
            }
        }
        let _ = self.inner.events.send(CertificateEvent::CaChanged {
            id,
            status: Some(status),
        });
        Ok(())
    }

    /// DeleteCACertificate: the CA must be INACTIVE (`CertificateStateException`
    /// otherwise) and no device certificate may still be registered with it
    /// (`CertificateStateException`; delete those first).
    ///
    /// Errors: also `InvalidRequestException`, `ResourceNotFoundException`.
    pub fn delete_ca_certificate(&self, id: &str) -> Result<(), CertError> {
        let id = x509::normalize_certificate_id(id)?;
        let store = self.inner.store.lock();
        let row = store.ca(&id)?.ok_or_else(|| ca_not_found(&id))?;
        if row.status == CaCertificateStatus::Active {
            return Err(CertError::CertificateState(
                "The CA certificate must be deactivated before deletion".to_owned(),
            ));
        }
        let n = store.count_by_ca(&id)?;
        if n > 0 {
            return Err(CertError::CertificateState(format!(
                "{n} device certificate(s) are registered with this CA certificate; delete them first"
            )));
        }
        store.delete_ca(&id)?;
        self.inner.cache.write().cas.remove(&id);
        let _ = self
            .inner
            .events
            .send(CertificateEvent::CaChanged { id, status: None });
        Ok(())
    }

    fn description(&self, row: &CertRow) -> CertificateDescription {
        CertificateDescription {
            certificate_arn: self.certificate_arn(&row.id),
            certificate_id: row.id.clone(),
            ca_certificate_id: match &row.issuer {
                IssuerKind::Ca(ca) => Some(ca.clone()),
                IssuerKind::Own | IssuerKind::None => None,
            },
            status: row.status,
            certificate_pem: der_to_pem("CERTIFICATE", &row.der),
            owned_by: self.inner.account_id.clone(),
            creation_date_ms: row.created_ms,
            last_modified_date_ms: row.modified_ms,
            customer_version: row.customer_version,
            generation_id: row.generation_id.clone(),
            validity: Validity {
                not_before_ms: row.not_before_ms,
                not_after_ms: row.not_after_ms,
            },
            certificate_mode: row.mode,
        }
    }

    fn ca_description(&self, row: &CaRow) -> CaCertificateDescription {
        CaCertificateDescription {
            certificate_arn: self.ca_certificate_arn(&row.id),
            certificate_id: row.id.clone(),
            status: row.status,
            certificate_pem: der_to_pem("CERTIFICATE", &row.der),
            owned_by: self.inner.account_id.clone(),
            creation_date_ms: row.created_ms,
            auto_registration_status: row.auto_registration,
            last_modified_date_ms: row.modified_ms,
            customer_version: row.customer_version,
            generation_id: row.generation_id.clone(),
            validity: Validity {
                not_before_ms: row.not_before_ms,
                not_after_ms: row.not_after_ms,
            },
            certificate_mode: row.mode,
        }
    }

    fn check_absent(&self, id: &str) -> Result<(), CertError> {
        if self.inner.cache.read().certs.contains_key(id) {
            return Err(CertError::ResourceAlreadyExists {
                message: "The certificate is already provisioned or registered".to_owned(),
                resource_id: id.to_owned(),
                resource_arn: self.certificate_arn(id),
            });
        }
        Ok(())
    }

    /// The registered CA (or our own) that signed `facts`, for RegisterCertificate without
    /// `caCertificatePem`.
    fn find_issuer(&self, facts: &CertFacts) -> Result<IssuerKind, CertError> {
        let matches: Vec<String> = {
            let cache = self.inner.cache.read();
            cache
                .cas
                .iter()
                .filter(|(_, ca)| x509::is_signed_by(&facts.der, &ca.der))
                .map(|(id, _)| id.clone())
                .collect()
        };
        match matches.as_slice() {
            [one] => Ok(IssuerKind::Ca(one.clone())),
            [] if x509::is_signed_by(&facts.der, self.inner.ca.ca_der()) => Ok(IssuerKind::Own),
            [] => Err(CertError::CertificateValidation(
                "The certificate is not signed by a registered CA certificate; register the CA \
                 with RegisterCACertificate, or use RegisterCertificateWithoutCA"
                    .to_owned(),
            )),
            _ => Err(CertError::CertificateConflict(
                "More than one registered CA certificate can verify this certificate; pass \
                 caCertificatePem"
                    .to_owned(),
            )),
        }
    }

    fn insert_device(
        &self,
        facts: CertFacts,
        status: CertificateStatus,
        issuer: IssuerKind,
        mode: CertificateMode,
    ) -> Result<IssuedCertificate, CertError> {
        let now = x509::now_ms();
        let row = CertRow {
            id: facts.id.clone(),
            der: facts.der.to_vec(),
            status,
            issuer,
            mode,
            created_ms: now,
            modified_ms: now,
            customer_version: 1,
            generation_id: x509::generation_id()?,
            not_before_ms: facts.not_before_ms,
            not_after_ms: facts.not_after_ms,
        };
        {
            let store = self.inner.store.lock();
            if store.cert(&row.id)?.is_some() {
                return Err(CertError::ResourceAlreadyExists {
                    message: "The certificate is already provisioned or registered".to_owned(),
                    resource_arn: self.certificate_arn(&row.id),
                    resource_id: row.id,
                });
            }
            store.insert_cert(&row)?;
            self.inner
                .cache
                .write()
                .certs
                .insert(row.id.clone(), cached_cert(&row));
            let _ = self.inner.events.send(CertificateEvent::Registered {
                id: row.id.clone(),
                status,
            });
        }
        Ok(IssuedCertificate {
            certificate_arn: self.certificate_arn(&row.id),
            certificate_pem: der_to_pem("CERTIFICATE", &row.der),
            certificate_id: row.id,
        })
    }

    /// Just-in-time registration from the verifier: registers `der` (signed by CA `ca_id`)
    /// as PENDING_ACTIVATION and publishes [`CertificateEvent::AutoRegistered`]. Returns
    /// `false` when it could not (already registered by a racing handshake, storage error).
    pub(crate) fn auto_register(&self, der: &[u8], ca_id: &str) -> bool {
        let Ok(facts) = x509::parse(CertificateDer::from(der.to_vec())) else {
            return false;
        };
        let id = facts.id.clone();
        match self.insert_device(
            facts,
            CertificateStatus::PendingActivation,
            IssuerKind::Ca(ca_id.to_owned()),
            CertificateMode::Default,
        ) {
            Ok(_) => {
                let _ = self.inner.events.send(CertificateEvent::AutoRegistered {
                    id,
                    ca_certificate_id: ca_id.to_owned(),
                });
                true
            }
            Err(e) => {
                tracing::warn!(certificate_id = %id, error = %e, "auto-registration failed");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip_and_rejects_garbage() {
        let m = encode_marker(1_700_000_000_123, "abc");
        assert!(
            m.trim_end_matches('=')
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        );
        assert_eq!(
            decode_marker(&m).ok(),
            Some((1_700_000_000_123, "abc".to_owned()))
        );
        let foreign = page_token::encode(Alphabet::Standard, "things", &["1", "abc"]);
        let one_key = page_token::encode(Alphabet::Standard, MARKER_TAG, &["1"]);
        let not_ms = page_token::encode(Alphabet::Standard, MARKER_TAG, &["x", "abc"]);
        for bad in ["zz", "00", &foreign, &one_key, &not_ms] {
            assert_eq!(
                decode_marker(bad).map_err(|e| e.code()),
                Err("InvalidRequestException"),
                "{bad}"
            );
        }
    }

    #[test]
    fn page_size_bounds() {
        let opts = |n| ListOptions {
            page_size: n,
            ..ListOptions::default()
        };
        assert_eq!(page_size(&opts(None)).ok(), Some(25));
        assert_eq!(page_size(&opts(Some(1))).ok(), Some(1));
        assert_eq!(page_size(&opts(Some(250))).ok(), Some(250));
        assert!(page_size(&opts(Some(0))).is_err());
        assert!(page_size(&opts(Some(251))).is_err());
    }
}
