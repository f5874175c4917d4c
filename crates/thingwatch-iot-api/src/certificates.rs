//! The AWS IoT certificate operations over [`thingwatch_certs::CertificateRegistry`]:
//! CreateKeysAndCertificate, CreateCertificateFromCsr, RegisterCertificate,
//! RegisterCertificateWithoutCA, RegisterCACertificate, DescribeCertificate,
//! ListCertificates, ListCertificatesByCA, UpdateCertificate, DeleteCertificate,
//! DescribeCACertificate, ListCACertificates, UpdateCACertificate, DeleteCACertificate,
//! GetRegistrationCode.
//!
//! Members, locations and shapes: botocore `iot-2015-05-28` (`setAsActive`,
//! `allowAutoRegistration`, `newStatus`, `newAutoRegistrationStatus`, `forceDelete`,
//! `pageSize`, `marker`, `isAscendingOrder` in the query string; the PEMs in the body). Dates
//! are epoch seconds. The private key of CreateKeysAndCertificate is in its response only:
//! it is never stored, logged or put in an error.
//!
//! Without a certificate registry ([`IotService::with_certificates`] not called) every one
//! of these operations answers `UnknownOperationException` naming the missing configuration.
//!
//! DeleteCertificate passes the real attachments (things from AttachThingPrincipal, policies
//! from AttachPolicy) to the certificate registry, and with `forceDelete` detaches the
//! certificate's policies once it is deleted.

use serde::{Deserialize, Serialize};
use thingwatch_certs::{
    Attachments, AutoRegistrationStatus, CaCertificateStatus, CertError, CertificateRegistry,
    CertificateStatus, ListOptions, Validity,
};

use super::validate::{MAX_CERTIFICATE_PEM_LEN, MAX_CSR_LEN, MAX_MARKER_LEN, Pattern, Validation};
use super::{Empty, Input, IotService, blocking, epoch_seconds};
use thingwatch_http::error::{ApiError, ErrorCode};

/// Maps a certificate-registry error to its AWS error (code and status from
/// [`CertError::code`] / [`CertError::status`]); internal causes are logged, never sent.
pub(crate) fn cert_error(e: CertError) -> ApiError {
    let message = e.message();
    match e {
        CertError::InvalidRequest(_) => ApiError::new(ErrorCode::InvalidRequest, message),
        CertError::CertificateValidation(_) => {
            ApiError::new(ErrorCode::CertificateValidation, message)
        }
        CertError::RegistrationCodeValidation(_) => {
            ApiError::new(ErrorCode::RegistrationCodeValidation, message)
        }
        CertError::ResourceNotFound(_) => ApiError::new(ErrorCode::ResourceNotFound, message),
        CertError::CertificateState(_) => ApiError::new(ErrorCode::CertificateState, message),
        CertError::ResourceAlreadyExists {
            resource_id,
            resource_arn,
            ..
        } => ApiError::new(ErrorCode::ResourceAlreadyExists, message)
            .with_field("resourceId", resource_id)
            .with_field("resourceArn", resource_arn),
        CertError::CertificateConflict(_) => ApiError::new(ErrorCode::CertificateConflict, message),
        CertError::DeleteConflict(_) => ApiError::new(ErrorCode::IotDeleteConflict, message),
        CertError::Internal(cause) => {
            tracing::error!(%cause, "certificate registry failure");
            ApiError::new(ErrorCode::InternalFailure, message)
        }
    }
}

/// Runs a blocking certificate-registry call on the blocking pool (key generation and
/// signing are CPU work, storage is SQLite), mapping its error with [`cert_error`].
pub(crate) async fn cert_blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, CertError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(cert_error),
        Err(join) => {
            tracing::error!(error = %join, "certificate task failed");
            Err(ApiError::new(
                ErrorCode::InternalFailure,
                "An unexpected error has occurred.",
            ))
        }
    }
}

#[derive(Serialize)]
struct KeyPairOut {
    #[serde(rename = "PublicKey")]
    public_key: String,
    #[serde(rename = "PrivateKey")]
    private_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateKeysAndCertificateOutput {
    certificate_arn: String,
    certificate_id: String,
    certificate_pem: String,
    key_pair: KeyPairOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertificateOutput {
    certificate_arn: String,
    certificate_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_pem: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CsrInput {
    certificate_signing_request: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterInput {
    certificate_pem: Option<String>,
    ca_certificate_pem: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterCaInput {
    ca_certificate: Option<String>,
    verification_certificate: Option<String>,
    certificate_mode: Option<String>,
    #[allow(dead_code)]
    registration_config: Option<serde_json::Value>,
    #[allow(dead_code)]
    tags: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateCaInput {
    #[allow(dead_code)]
    registration_config: Option<serde_json::Value>,
    remove_auto_registration: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValidityOut {
    not_before: f64,
    not_after: f64,
}

impl From<Validity> for ValidityOut {
    fn from(v: Validity) -> Self {
        ValidityOut {
            not_before: epoch_seconds(v.not_before_ms),
            not_after: epoch_seconds(v.not_after_ms),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateDescriptionOut {
    certificate_arn: String,
    certificate_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_certificate_id: Option<String>,
    status: &'static str,
    certificate_pem: String,
    owned_by: String,
    creation_date: f64,
    last_modified_date: f64,
    customer_version: i32,
    generation_id: String,
    validity: ValidityOut,
    certificate_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeCertificateOutput {
    certificate_description: CertificateDescriptionOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateSummaryOut {
    certificate_arn: String,
    certificate_id: String,
    status: &'static str,
    certificate_mode: &'static str,
    creation_date: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListCertificatesOutput {
    certificates: Vec<CertificateSummaryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CaDescriptionOut {
    certificate_arn: String,
    certificate_id: String,
    status: &'static str,
    certificate_pem: String,
    owned_by: String,
    creation_date: f64,
    auto_registration_status: &'static str,
    last_modified_date: f64,
    customer_version: i32,
    generation_id: String,
    validity: ValidityOut,
    certificate_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeCaCertificateOutput {
    certificate_description: CaDescriptionOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CaSummaryOut {
    certificate_arn: String,
    certificate_id: String,
    status: &'static str,
    creation_date: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListCaCertificatesOutput {
    certificates: Vec<CaSummaryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegistrationCodeOutput {
    registration_code: String,
}

/// Validates a required PEM member (1..=65536 characters).
fn pem(v: &mut Validation, field: &str, value: Option<&str>, max: usize) {
    if v.required(field, value).is_some() {
        v.string(field, value, 1, max, None);
    }
}

/// Reads `pageSize`, `marker` and `isAscendingOrder`.
fn list_options(v: &mut Validation, input: &Input<'_>) -> Result<ListOptions, ApiError> {
    let q = &input.query;
    let marker = q.get("marker");
    v.string("marker", marker, 0, MAX_MARKER_LEN, Some(Pattern::Marker));
    let page_size = q.int("pageSize")?;
    v.range("pageSize", page_size, 1, super::MAX_RESULTS);
    Ok(ListOptions {
        page_size: page_size.and_then(|n| u32::try_from(n).ok()),
        marker: marker.map(str::to_owned),
        ascending_order: q.bool("isAscendingOrder")?.unwrap_or(false),
    })
}

fn summaries(
    page: thingwatch_certs::Page<thingwatch_certs::CertificateSummary>,
) -> ListCertificatesOutput {
    ListCertificatesOutput {
        certificates: page
            .items
            .into_iter()
            .map(|c| CertificateSummaryOut {
                certificate_arn: c.certificate_arn,
                certificate_id: c.certificate_id,
                status: c.status.as_str(),
                certificate_mode: c.certificate_mode.as_str(),
                creation_date: epoch_seconds(c.creation_date_ms),
            })
            .collect(),
        next_marker: page.next_marker,
    }
}

impl IotService {
    /// The certificate registry, or the error every certificate operation answers without
    /// one.
    fn certs(&self) -> Result<CertificateRegistry, ApiError> {
        self.certificates().cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownOperation,
                "Certificate operations are not configured on this server.",
            )
        })
    }

    /// CreateKeysAndCertificate (`POST /keys-and-certificate?setAsActive`).
    pub(crate) async fn op_create_keys_and_certificate(
        &self,
        input: &Input<'_>,
    ) -> Result<CreateKeysAndCertificateOutput, ApiError> {
        let active = input.query.bool("setAsActive")?.unwrap_or(false);
        let certs = self.certs()?;
        let c = cert_blocking(move || certs.create_keys_and_certificate(active)).await?;
        Ok(CreateKeysAndCertificateOutput {
            certificate_arn: c.certificate_arn,
            certificate_id: c.certificate_id,
            certificate_pem: c.certificate_pem,
            key_pair: KeyPairOut {
                public_key: c.key_pair.public_key,
                private_key: c.key_pair.private_key,
            },
        })
    }

    /// CreateCertificateFromCsr (`POST /certificates?setAsActive`, body
    /// `{certificateSigningRequest}`).
    pub(crate) async fn op_create_certificate_from_csr(
        &self,
        input: &Input<'_>,
    ) -> Result<CertificateOutput, ApiError> {
        let body: CsrInput = input.body()?;
        let active = input.query.bool("setAsActive")?.unwrap_or(false);
        let mut v = Validation::new();
        pem(
            &mut v,
            "certificateSigningRequest",
            body.certificate_signing_request.as_deref(),
            MAX_CSR_LEN,
        );
        v.finish()?;
        let certs = self.certs()?;
        let csr = body.certificate_signing_request.unwrap_or_default();
        let c = cert_blocking(move || certs.create_certificate_from_csr(&csr, active)).await?;
        Ok(CertificateOutput {
            certificate_arn: c.certificate_arn,
            certificate_id: c.certificate_id,
            certificate_pem: Some(c.certificate_pem),
        })
    }

    /// RegisterCertificate (`POST /certificate/register?setAsActive`, body
    /// `{certificatePem, caCertificatePem, status}`). The deprecated `setAsActive=true`
    /// means `status` ACTIVE when no status is given.
    pub(crate) async fn op_register_certificate(
        &self,
        input: &Input<'_>,
        without_ca: bool,
    ) -> Result<CertificateOutput, ApiError> {
        let body: RegisterInput = input.body()?;
        let active = input.query.bool("setAsActive")?.unwrap_or(false);
        let mut v = Validation::new();
        pem(
            &mut v,
            "certificatePem",
            body.certificate_pem.as_deref(),
            MAX_CERTIFICATE_PEM_LEN,
        );
        if !without_ca {
            v.string(
                "caCertificatePem",
                body.ca_certificate_pem.as_deref(),
                1,
                MAX_CERTIFICATE_PEM_LEN,
                None,
            );
        }
        v.finish()?;
        let status = body
            .status
            .as_deref()
            .map(str::parse::<CertificateStatus>)
            .transpose()
            .map_err(cert_error)?
            .or(active.then_some(CertificateStatus::Active));
        let certs = self.certs()?;
        let cert_pem = body.certificate_pem.unwrap_or_default();
        let ca_pem = body.ca_certificate_pem;
        let c = cert_blocking(move || {
            if without_ca {
                certs.register_certificate_without_ca(&cert_pem, status)
            } else {
                certs.register_certificate(&cert_pem, ca_pem.as_deref(), status)
            }
        })
        .await?;
        Ok(CertificateOutput {
            certificate_arn: c.certificate_arn,
            certificate_id: c.certificate_id,
            certificate_pem: None,
        })
    }

    /// RegisterCACertificate (`POST /cacertificate?setAsActive&allowAutoRegistration`, body
    /// `{caCertificate, verificationCertificate, certificateMode}`). DEFAULT mode (the
    /// default) requires the verification certificate; SNI_ONLY does not.
    pub(crate) async fn op_register_ca_certificate(
        &self,
        input: &Input<'_>,
    ) -> Result<CertificateOutput, ApiError> {
        let body: RegisterCaInput = input.body()?;
        let active = input.query.bool("setAsActive")?.unwrap_or(false);
        let auto = input.query.bool("allowAutoRegistration")?.unwrap_or(false);
        let mut v = Validation::new();
        pem(
            &mut v,
            "caCertificate",
            body.ca_certificate.as_deref(),
            MAX_CERTIFICATE_PEM_LEN,
        );
        v.string(
            "verificationCertificate",
            body.verification_certificate.as_deref(),
            1,
            MAX_CERTIFICATE_PEM_LEN,
            None,
        );
        let sni_only = match body.certificate_mode.as_deref() {
            None | Some("DEFAULT") => false,
            Some("SNI_ONLY") => true,
            Some(other) => {
                v.fail(format!(
                    "Value '{other}' at 'certificateMode' failed to satisfy constraint: Member must satisfy enum value set: [DEFAULT, SNI_ONLY]"
                ));
                false
            }
        };
        if !sni_only && body.verification_certificate.is_none() {
            v.fail("verificationCertificate is required when certificateMode is DEFAULT.");
        }
        v.finish()?;
        let certs = self.certs()?;
        let ca = body.ca_certificate.unwrap_or_default();
        let verification = body.verification_certificate;
        let c = cert_blocking(move || {
            certs.register_ca_certificate(&ca, verification.as_deref(), active, auto)
        })
        .await?;
        Ok(CertificateOutput {
            certificate_arn: c.certificate_arn,
            certificate_id: c.certificate_id,
            certificate_pem: None,
        })
    }

    /// DescribeCertificate (`GET /certificates/{certificateId}`).
    pub(crate) async fn op_describe_certificate(
        &self,
        input: &Input<'_>,
    ) -> Result<DescribeCertificateOutput, ApiError> {
        let id = input.matched.label("certificateId").to_owned();
        let certs = self.certs()?;
        let d = cert_blocking(move || certs.describe_certificate(&id)).await?;
        Ok(DescribeCertificateOutput {
            certificate_description: CertificateDescriptionOut {
                certificate_arn: d.certificate_arn,
                certificate_id: d.certificate_id,
                ca_certificate_id: d.ca_certificate_id,
                status: d.status.as_str(),
                certificate_pem: d.certificate_pem,
                owned_by: d.owned_by,
                creation_date: epoch_seconds(d.creation_date_ms),
                last_modified_date: epoch_seconds(d.last_modified_date_ms),
                customer_version: d.customer_version,
                generation_id: d.generation_id,
                validity: d.validity.into(),
                certificate_mode: d.certificate_mode.as_str(),
            },
        })
    }

    /// ListCertificates (`GET /certificates?pageSize&marker&isAscendingOrder`).
    pub(crate) async fn op_list_certificates(
        &self,
        input: &Input<'_>,
    ) -> Result<ListCertificatesOutput, ApiError> {
        let mut v = Validation::new();
        let opts = list_options(&mut v, input)?;
        v.finish()?;
        let certs = self.certs()?;
        let page = cert_blocking(move || certs.list_certificates(&opts)).await?;
        Ok(summaries(page))
    }

    /// ListCertificatesByCA (`GET /certificates-by-ca/{caCertificateId}`).
    pub(crate) async fn op_list_certificates_by_ca(
        &self,
        input: &Input<'_>,
    ) -> Result<ListCertificatesOutput, ApiError> {
        let ca = input.matched.label("caCertificateId").to_owned();
        let mut v = Validation::new();
        let opts = list_options(&mut v, input)?;
        v.finish()?;
        let certs = self.certs()?;
        let page = cert_blocking(move || certs.list_certificates_by_ca(&ca, &opts)).await?;
        Ok(summaries(page))
    }

    /// UpdateCertificate (`PUT /certificates/{certificateId}?newStatus=`).
    pub(crate) async fn op_update_certificate(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let id = input.matched.label("certificateId").to_owned();
        let mut v = Validation::new();
        let new_status = v.required("newStatus", input.query.get("newStatus"));
        v.finish()?;
        let status: CertificateStatus =
            new_status.unwrap_or_default().parse().map_err(cert_error)?;
        let certs = self.certs()?;
        cert_blocking(move || certs.update_certificate(&id, status)).await?;
        Ok(Empty {})
    }

    /// DeleteCertificate (`DELETE /certificates/{certificateId}?forceDelete`): the
    /// attachments the registry knows decide `DeleteConflictException`; with `forceDelete`
    /// the certificate's policies are detached after it is deleted.
    pub(crate) async fn op_delete_certificate(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let raw_id = input.matched.label("certificateId").to_owned();
        let force = input.query.bool("forceDelete")?.unwrap_or(false);
        let certs = self.certs()?;
        let id = thingwatch_certs::normalize_certificate_id(&raw_id).map_err(cert_error)?;
        let registry = self.registry();
        let arn = registry.certificate_arn(&id);
        let attached = {
            let registry = registry.clone();
            let arn = arn.clone();
            blocking(ErrorCode::InternalFailure, move || {
                Ok(Attachments {
                    things: registry.principal_things(&arn).len(),
                    policies: registry.attached_policy_count(&arn)?,
                })
            })
            .await?
        };
        cert_blocking(move || certs.delete_certificate(&id, force, attached)).await?;
        if attached.policies > 0 {
            blocking(ErrorCode::InternalFailure, move || {
                registry.detach_all_policies(&arn)
            })
            .await?;
        }
        Ok(Empty {})
    }

    /// DescribeCACertificate (`GET /cacertificate/{caCertificateId}`).
    pub(crate) async fn op_describe_ca_certificate(
        &self,
        input: &Input<'_>,
    ) -> Result<DescribeCaCertificateOutput, ApiError> {
        let id = input.matched.label("caCertificateId").to_owned();
        let certs = self.certs()?;
        let d = cert_blocking(move || certs.describe_ca_certificate(&id)).await?;
        Ok(DescribeCaCertificateOutput {
            certificate_description: CaDescriptionOut {
                certificate_arn: d.certificate_arn,
                certificate_id: d.certificate_id,
                status: d.status.as_str(),
                certificate_pem: d.certificate_pem,
                owned_by: d.owned_by,
                creation_date: epoch_seconds(d.creation_date_ms),
                auto_registration_status: d.auto_registration_status.as_str(),
                last_modified_date: epoch_seconds(d.last_modified_date_ms),
                customer_version: d.customer_version,
                generation_id: d.generation_id,
                validity: d.validity.into(),
                certificate_mode: d.certificate_mode.as_str(),
            },
        })
    }

    /// ListCACertificates (`GET /cacertificates?pageSize&marker&isAscendingOrder`).
    pub(crate) async fn op_list_ca_certificates(
        &self,
        input: &Input<'_>,
    ) -> Result<ListCaCertificatesOutput, ApiError> {
        let mut v = Validation::new();
        let opts = list_options(&mut v, input)?;
        v.finish()?;
        let certs = self.certs()?;
        let page = cert_blocking(move || certs.list_ca_certificates(&opts)).await?;
        Ok(ListCaCertificatesOutput {
            certificates: page
                .items
                .into_iter()
                .map(|c| CaSummaryOut {
                    certificate_arn: c.certificate_arn,
                    certificate_id: c.certificate_id,
                    status: c.status.as_str(),
                    creation_date: epoch_seconds(c.creation_date_ms),
                })
                .collect(),
            next_marker: page.next_marker,
        })
    }

    /// UpdateCACertificate (`PUT /cacertificate/{caCertificateId}?newStatus&
    /// newAutoRegistrationStatus`); `removeAutoRegistration: true` in the body disables
    /// auto-registration.
    pub(crate) async fn op_update_ca_certificate(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let id = input.matched.label("caCertificateId").to_owned();
        let body: UpdateCaInput = input.body()?;
        let status = input
            .query
            .get("newStatus")
            .map(str::parse::<CaCertificateStatus>)
            .transpose()
            .map_err(cert_error)?;
        let mut auto = input
            .query
            .get("newAutoRegistrationStatus")
            .map(str::parse::<AutoRegistrationStatus>)
            .transpose()
            .map_err(cert_error)?;
        if body.remove_auto_registration == Some(true) {
            auto = Some(AutoRegistrationStatus::Disable);
        }
        let certs = self.certs()?;
        cert_blocking(move || certs.update_ca_certificate(&id, status, auto)).await?;
        Ok(Empty {})
    }

    /// DeleteCACertificate (`DELETE /cacertificate/{caCertificateId}`).
    pub(crate) async fn op_delete_ca_certificate(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let id = input.matched.label("caCertificateId").to_owned();
        let certs = self.certs()?;
        cert_blocking(move || certs.delete_ca_certificate(&id)).await?;
        Ok(Empty {})
    }

    /// GetRegistrationCode (`GET /registrationcode`).
    pub(crate) async fn op_get_registration_code(
        &self,
    ) -> Result<RegistrationCodeOutput, ApiError> {
        let certs = self.certs()?;
        let code = cert_blocking(move || certs.registration_code()).await?;
        Ok(RegistrationCodeOutput {
            registration_code: code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingwatch_http::error::Protocol;

    /// Every `CertError` keeps its AWS code and status across the mapping, and internal
    /// causes never reach the client.
    #[test]
    fn cert_errors_keep_their_code_and_status() {
        let table = [
            CertError::InvalidRequest("x".into()),
            CertError::CertificateValidation("x".into()),
            CertError::RegistrationCodeValidation("x".into()),
            CertError::ResourceNotFound("x".into()),
            CertError::CertificateState("x".into()),
            CertError::ResourceAlreadyExists {
                message: "x".into(),
                resource_id: "id".into(),
                resource_arn: "arn".into(),
            },
            CertError::CertificateConflict("x".into()),
            CertError::DeleteConflict("x".into()),
            CertError::Internal("secret cause".into()),
        ];
        for e in table {
            let api = cert_error(e.clone());
            assert_eq!(api.code.as_str(), e.code(), "{e:?}");
            assert_eq!(
                api.code.http_status(Protocol::RestJson),
                e.status(),
                "{e:?}"
            );
            assert!(!api.message.contains("secret"), "{e:?}");
        }
    }
}
