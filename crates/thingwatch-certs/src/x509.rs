//! X.509 helpers over `x509-parser` and `rustls-pki-types`: PEM to DER, the certificate ID
//! (SHA-256 of the DER), the facts the registry keeps about a certificate, and
//! "was this signed by that CA" checks.

use crate::error::CertError;
use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Longest `certificatePem` / `caCertificatePem` / `certificateSigningRequest` AWS accepts, in
/// characters ("Length Constraints: Minimum length of 1. Maximum length of 65536",
/// RegisterCertificate and RegisterCACertificate API pages; CreateCertificateFromCsr allows
/// 4096 for the CSR, see [`MAX_CSR_CHARS`]).
pub const MAX_PEM_CHARS: usize = 65_536;

/// Longest `certificateSigningRequest` AWS accepts ("Maximum length of 4096",
/// CreateCertificateFromCsr API page).
pub const MAX_CSR_CHARS: usize = 4_096;

/// The AWS IoT certificate ID of a DER certificate: lowercase hex SHA-256 of the DER bytes,
/// 64 characters (the ID AWS puts at the end of the certificate ARN).
pub fn certificate_id(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Normalises a certificate ID as the API receives it (`(0x)?[a-fA-F0-9]+`, 64 characters)
/// to the lowercase form the registry stores. Errors: `InvalidRequestException`.
pub fn normalize_certificate_id(id: &str) -> Result<String, CertError> {
    let hex_part = id.strip_prefix("0x").unwrap_or(id);
    if id.len() != 64 || hex_part.is_empty() || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CertError::InvalidRequest(format!(
            "Invalid certificate ID '{id}': expected 64 hexadecimal characters"
        )));
    }
    Ok(id.to_ascii_lowercase())
}

/// The first `CERTIFICATE` block of a PEM string, as DER.
///
/// Errors: `InvalidRequestException` when over [`MAX_PEM_CHARS`],
/// `CertificateValidationException` when there is no parsable certificate block.
pub fn pem_to_der(pem: &str) -> Result<CertificateDer<'static>, CertError> {
    if pem.len() > MAX_PEM_CHARS {
        return Err(CertError::InvalidRequest(format!(
            "The certificate PEM is longer than {MAX_PEM_CHARS} characters"
        )));
    }
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
        CertError::CertificateValidation(
            "The certificate is not a valid PEM-encoded X.509 certificate".to_owned(),
        )
    })
}

/// PEM-encodes DER bytes under `label` (64-character lines, trailing newline).
pub fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// What the registry keeps about a parsed certificate.
#[derive(Debug, Clone)]
pub struct CertFacts {
    /// The DER bytes.
    pub der: CertificateDer<'static>,
    /// [`certificate_id`] of the DER.
    pub id: String,
    /// basicConstraints cA = TRUE.
    pub is_ca: bool,
    /// `notBefore`, epoch ms.
    pub not_before_ms: i64,
    /// `notAfter`, epoch ms.
    pub not_after_ms: i64,
    /// The subject's first common name, if any.
    pub common_name: Option<String>,
}

/// Parses a DER certificate. Errors: `CertificateValidationException` when it is not a
/// well-formed X.509 certificate (or has trailing bytes).
pub fn parse(der: CertificateDer<'static>) -> Result<CertFacts, CertError> {
    let facts = {
        let cert = parse_x509(&der)?;
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        let validity = cert.validity();
        (
            is_ca,
            validity.not_before.timestamp().saturating_mul(1000),
            validity.not_after.timestamp().saturating_mul(1000),
            common_name,
        )
    };
    let (is_ca, not_before_ms, not_after_ms, common_name) = facts;
    Ok(CertFacts {
        id: certificate_id(&der),
        der,
        is_ca,
        not_before_ms,
        not_after_ms,
        common_name,
    })
}

fn parse_x509<'a>(der: &'a [u8]) -> Result<X509Certificate<'a>, CertError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(CertError::CertificateValidation(
            "The certificate is not a valid X.509 certificate".to_owned(),
        )),
    }
}

/// Whether `child`'s issuer is `parent`'s subject and `child`'s signature verifies with
/// `parent`'s public key. Unparsable input is simply `false`.
pub fn is_signed_by(child: &[u8], parent: &[u8]) -> bool {
    let (Ok(child), Ok(parent)) = (parse_x509(child), parse_x509(parent)) else {
        return false;
    };
    child.issuer().as_raw() == parent.subject().as_raw()
        && child.verify_signature(Some(parent.public_key())).is_ok()
}

/// Whether `der` is self-signed (issuer = subject and its own key verifies the signature).
pub fn is_self_signed(der: &[u8]) -> bool {
    is_signed_by(der, der)
}

/// The current time as epoch ms.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `n` random bytes from the operating system. Errors: `InternalFailureException`.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], CertError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| CertError::Internal(format!("getrandom: {e}")))?;
    Ok(buf)
}

/// A fresh `generationId`: 16 random bytes as a hyphenated UUID-style string.
pub(crate) fn generation_id() -> Result<String, CertError> {
    let b = random_bytes::<16>()?;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_id_is_lowercase_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            certificate_id(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn normalize_ids() {
        let upper = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(
            normalize_certificate_id(upper).ok().as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(
                normalize_certificate_id(bad).map_err(|e| e.code()),
                Err("InvalidRequestException"),
                "{bad}"
            );
        }
    }

    #[test]
    fn pem_round_trip_and_garbage() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let pem = der_to_pem("CERTIFICATE", &der);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\nMAMCAQU=\n"));
        assert_eq!(pem_to_der(&pem).map(|d| d.to_vec()), Ok(der));
        assert_eq!(
            pem_to_der("not a pem").map_err(|e| e.code()),
            Err("CertificateValidationException")
        );
        assert_eq!(
            pem_to_der(&"x".repeat(MAX_PEM_CHARS + 1)).map_err(|e| e.code()),
            Err("InvalidRequestException")
        );
        assert_eq!(
            parse(CertificateDer::from(vec![1, 2, 3]))
                .map(|f| f.id)
                .map_err(|e| e.code()),
            Err("CertificateValidationException")
        );
    }
}
