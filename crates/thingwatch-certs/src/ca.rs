//! [`CertificateAuthority`]: Thingwatch's own root CA and the MQTT/TLS server certificate,
//! generated on first run and loaded afterwards, plus the issuing of device certificates
//! (CreateKeysAndCertificate) and the signing of CSRs (CreateCertificateFromCsr).
//!
//! Files, all under the directory the caller gives (the data directory):
//!
//! | path | content | mode |
//! |---|---|---|
//! | `ca.pem` ([`CA_PEM_FILE`]) | root CA certificate, for clients' `--cafile` | 0644 |
//! | `tls/ca-key.pem` | root CA private key (PKCS#8) | 0600 |
//! | `tls/server.pem` | server certificate | 0644 |
//! | `tls/server-key.pem` | server private key (PKCS#8) | 0600 |
//!
//! Key types: the CA and server keys are ECDSA P-256 (cheap handshakes; every TLS 1.2/1.3
//! client supports them); device keys from CreateKeysAndCertificate are RSA 2048 like AWS's.
//! Crypto provider: aws-lc-rs throughout (rcgen, rustls, webpki, x509-parser verification).

use crate::error::CertError;
use crate::model::KeyPairPem;
use crate::x509::{self, der_to_pem};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, RsaKeySize, SanType,
    SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fs;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// File name of the public root CA certificate inside the data directory.
pub const CA_PEM_FILE: &str = "ca.pem";
/// Subdirectory (mode 0700) holding the private keys and the server certificate.
pub const TLS_DIR: &str = "tls";
/// Root CA private key, inside [`TLS_DIR`].
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// Server certificate, inside [`TLS_DIR`].
pub const SERVER_CERT_FILE: &str = "server.pem";
/// Server private key, inside [`TLS_DIR`].
pub const SERVER_KEY_FILE: &str = "server-key.pem";
/// Common name of the generated root CA.
pub const CA_COMMON_NAME: &str = "Thingwatch Root CA";
/// Common name AWS IoT gives the certificates it issues (and so does Thingwatch).
pub const DEVICE_COMMON_NAME: &str = "AWS IoT Certificate";
/// Root CA lifetime: 20 years.
pub const CA_VALIDITY: Duration = Duration::days(20 * 365);
/// Server certificate lifetime: 397 days (the CA/Browser Forum maximum, which some TLS
/// clients enforce).
pub const SERVER_VALIDITY: Duration = Duration::days(397);
/// A server certificate with less than this left is re-issued at start-up.
pub const SERVER_RENEW_BEFORE: Duration = Duration::days(30);
/// Names every generated server certificate covers, before the configured ones.
pub const DEFAULT_SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// `notAfter` of issued device certificates: 2049-12-31T23:59:59Z, the date AWS IoT puts in
/// the certificates CreateKeysAndCertificate returns. Epoch seconds.
pub const DEVICE_NOT_AFTER_S: i64 = 2_524_607_999;

/// Server certificate and key PEM files configured instead of the generated ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file with the server certificate, then any intermediates.
    pub cert: PathBuf,
    /// PEM file with the server private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The root CA (issues device certificates, trusted by the client verifier) and the server
/// certificate the TLS listener presents.
pub struct CertificateAuthority {
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    ca_path: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("ca_path", &self.ca_path)
            .field("ca_id", &x509::certificate_id(&self.ca_der))
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Loads the CA and server certificate from `dir`, generating whatever is missing.
    ///
    /// First run: a self-signed root CA (`CN=Thingwatch Root CA`, ECDSA P-256, 20 years) and a
    /// server certificate signed by it for `localhost`, `127.0.0.1`, `::1` and
    /// `server_names` (DNS names or IP literals). Later runs load both; the server
    /// certificate is re-issued when it does not cover every requested name, expires within
    /// [`SERVER_RENEW_BEFORE`], or was not signed by this CA.
    ///
    /// Errors: `InternalFailureException` on I/O failure, on unreadable key/certificate
    /// files, when `ca.pem` exists without `tls/ca-key.pem` (or the reverse: the CA is never
    /// silently replaced), or when a name is not a valid DNS name or IP address.
    pub fn load_or_create(dir: &Path, server_names: &[String]) -> Result<Self, CertError> {
        let tls_dir = dir.join(TLS_DIR);
        fs::create_dir_all(&tls_dir)?;
        set_mode(&tls_dir, 0o700)?;
        let ca_path = dir.join(CA_PEM_FILE);
        let ca_key_path = tls_dir.join(CA_KEY_FILE);

        let (ca_der, ca_key) = match (ca_path.exists(), ca_key_path.exists()) {
            (true, true) => {
                let der = CertificateDer::from_pem_file(&ca_path)
                    .map_err(|e| CertError::Internal(format!("{}: {e}", ca_path.display())))?;
                let key = read_key_pair(&ca_key_path)?;
                (der, key)
            }
            (false, false) => {
                let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
                let mut params = CertificateParams::default();
                params.distinguished_name = dn(CA_COMMON_NAME);
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ];
                let now = OffsetDateTime::now_utc();
                params.not_before = now - Duration::minutes(5);
                params.not_after = now + CA_VALIDITY;
                params.serial_number = Some(random_serial()?);
                let cert = params.self_signed(&key)?;
                write_file(&ca_key_path, key.serialize_pem().as_bytes(), 0o600)?;
                write_file(&ca_path, cert.pem().as_bytes(), 0o644)?;
                (cert.der().clone(), key)
            }
            (true, false) => {
                return Err(CertError::Internal(format!(
                    "{} exists but its key {} is missing; restore the key or remove both",
                    ca_path.display(),
                    ca_key_path.display()
                )));
            }
            (false, true) => {
                return Err(CertError::Internal(format!(
                    "{} exists but the CA certificate {} is missing; restore it or remove both",
                    ca_key_path.display(),
                    ca_path.display()
                )));
            }
        };
        let issuer = Issuer::from_ca_cert_der(&ca_der, ca_key)?;
        let ca_pem = der_to_pem("CERTIFICATE", &ca_der);

        let mut names: Vec<String> = DEFAULT_SERVER_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for n in server_names {
            if !names.iter().any(|have| have.eq_ignore_ascii_case(n)) {
                names.push(n.clone());
            }
        }
        let server_path = tls_dir.join(SERVER_CERT_FILE);
        let server_key_path = tls_dir.join(SERVER_KEY_FILE);
        let existing = if server_path.exists() && server_key_path.exists() {
            let der = CertificateDer::from_pem_file(&server_path)
                .map_err(|e| CertError::Internal(format!("{}: {e}", server_path.display())))?;
            let key = PrivateKeyDer::from_pem_file(&server_key_path)
                .map_err(|e| CertError::Internal(format!("{}: {e}", server_key_path.display())))?;
            server_cert_usable(&der, &ca_der, &names).then_some((der, key))
        } else {
            None
        };
        let (server_der, server_key) = match existing {
            Some(pair) => pair,
            None => {
                let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
                let mut params = CertificateParams::new(Vec::<String>::new())?;
                params.subject_alt_names = names
                    .iter()
                    .map(|n| san(n))
                    .collect::<Result<Vec<_>, _>>()?;
                params.distinguished_name = dn(names.get(3).map_or("localhost", String::as_str));
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                let now = OffsetDateTime::now_utc();
                params.not_before = now - Duration::minutes(5);
                params.not_after = now + SERVER_VALIDITY;
                params.serial_number = Some(random_serial()?);
                params.use_authority_key_identifier_extension = true;
                let cert = params.signed_by(&key, &issuer)?;
                write_file(&server_key_path, key.serialize_pem().as_bytes(), 0o600)?;
                write_file(&server_path, cert.pem().as_bytes(), 0o644)?;
                let key_der = PrivateKeyDer::try_from(key.serialize_der())
                    .map_err(|e| CertError::Internal(format!("server key: {e}")))?;
                (cert.der().clone(), key_der)
            }
        };

        Ok(CertificateAuthority {
            ca_der,
            ca_pem,
            ca_path,
            issuer,
            server_chain: vec![server_der],
            server_key,
        })
    }

    /// Replaces the generated server certificate with configured PEM files (certificate
    /// chain + key). The root CA stays: it still issues device certificates and is still
    /// trusted for client certificates.
    ///
    /// Errors: `InternalFailureException` when a file is unreadable or holds no certificate /
    /// no private key.
    pub fn with_server_files(mut self, files: &TlsFiles) -> Result<Self, CertError> {
        let chain = CertificateDer::pem_file_iter(&files.cert)
            .map_err(|e| CertError::Internal(format!("{}: {e}", files.cert.display())))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertError::Internal(format!("{}: {e}", files.cert.display())))?;
        if chain.is_empty() {
            return Err(CertError::Internal(format!(
                "{}: no CERTIFICATE block",
                files.cert.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_file(&files.key)
            .map_err(|e| CertError::Internal(format!("{}: {e}", files.key.display())))?;
        self.server_chain = chain;
        self.server_key = key;
        Ok(self)
    }

    /// The root CA certificate, PEM: what clients pass as `--cafile`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The root CA certificate, DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// Where `ca.pem` was written (`DIR/ca.pem`), for the start-up banner.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The server certificate chain the TLS listener presents (leaf first).
    pub fn server_chain(&self) -> &[CertificateDer<'static>] {
        &self.server_chain
    }

    /// A copy of the server private key.
    pub fn server_key(&self) -> PrivateKeyDer<'static> {
        self.server_key.clone_key()
    }

    /// Issues a device certificate with a fresh RSA 2048 key pair (CreateKeysAndCertificate):
    /// `CN=AWS IoT Certificate`, clientAuth, valid from now to 2049-12-31T23:59:59Z.
    ///
    /// Errors: `InternalFailureException` when key generation or signing fails.
    pub fn issue_device_certificate(
        &self,
    ) -> Result<(CertificateDer<'static>, KeyPairPem), CertError> {
        let key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048)?;
        let params = device_params(dn(DEVICE_COMMON_NAME))?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let pkcs1 = pkcs8_rsa_to_pkcs1(key.serialized_der()).ok_or_else(|| {
            CertError::Internal("generated RSA key is not a PKCS#8 RSA key".to_owned())
        })?;
        let key_pair = KeyPairPem {
            public_key: key.public_key_pem(),
            private_key: der_to_pem("RSA PRIVATE KEY", &pkcs1),
        };
        Ok((cert.der().clone(), key_pair))
    }

    /// Signs a PKCS#10 CSR (CreateCertificateFromCsr): the certificate carries the CSR's
    /// public key and subject; requested extensions are not copied (the certificate is a
    /// clientAuth end-entity certificate valid until 2049-12-31T23:59:59Z, as AWS's are).
    ///
    /// Errors: `InvalidRequestException` when the CSR is over [`x509::MAX_CSR_CHARS`], not
    /// parsable, its self-signature does not verify, or it uses an unsupported algorithm or
    /// extension; `InternalFailureException` when signing fails.
    pub fn sign_csr(&self, csr_pem: &str) -> Result<CertificateDer<'static>, CertError> {
        if csr_pem.len() > x509::MAX_CSR_CHARS {
            return Err(CertError::InvalidRequest(format!(
                "The certificate signing request is longer than {} characters",
                x509::MAX_CSR_CHARS
            )));
        }
        let csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| {
            CertError::InvalidRequest(format!("The certificate signing request is not valid: {e}"))
        })?;
        let subject = if csr.params.distinguished_name.iter().next().is_some() {
            csr.params.distinguished_name.clone()
        } else {
            dn(DEVICE_COMMON_NAME)
        };
        let signed = CertificateSigningRequestParams {
            params: device_params(subject)?,
            public_key: csr.public_key,
        };
        Ok(signed.signed_by(&self.issuer)?.der().clone())
    }
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5: the
/// `privateKey` OCTET STRING, third field of the SEQUENCE). `None` if `pkcs8` is not shaped
/// like one.
fn pkcs8_rsa_to_pkcs1(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (rest, info) = x509_parser::der_parser::parse_der(pkcs8).ok()?;
    if !rest.is_empty() {
        return None;
    }
    match info.as_sequence().ok()?.as_slice() {
        [_version, _algorithm, private_key, ..] => Some(private_key.as_slice().ok()?.to_vec()),
        _ => None,
    }
}

fn device_params(subject: DistinguishedName) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    // Whole seconds: the certificate must be valid at the instant it is returned.
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    params.not_before = now;
    params.not_after = OffsetDateTime::from_unix_timestamp(DEVICE_NOT_AFTER_S)
        .map_err(|e| CertError::Internal(format!("device notAfter: {e}")))?;
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn san(name: &str) -> Result<SanType, CertError> {
    match name.parse::<IpAddr>() {
        Ok(ip) => Ok(SanType::IpAddress(ip)),
        Err(_) => Ok(SanType::DnsName(name.to_owned().try_into().map_err(
            |_| CertError::Internal(format!("server name '{name}' is not a valid DNS name")),
        )?)),
    }
}

/// A random positive 16-byte serial number (RFC 5280 §4.1.2.2: unique per CA, at most 20
/// octets).
fn random_serial() -> Result<SerialNumber, CertError> {
    let mut b = x509::random_bytes::<16>()?;
    b[0] &= 0x7f;
    b[0] |= 0x01;
    Ok(SerialNumber::from_slice(&b))
}

fn read_key_pair(path: &Path) -> Result<KeyPair, CertError> {
    let pem = fs::read_to_string(path)?;
    KeyPair::from_pem(&pem).map_err(|e| CertError::Internal(format!("{}: {e}", path.display())))
}

/// Whether an existing server certificate can be kept: signed by `ca`, not expiring within
/// [`SERVER_RENEW_BEFORE`], covering every name in `names`.
fn server_cert_usable(der: &[u8], ca: &[u8], names: &[String]) -> bool {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    if !x509::is_signed_by(der, ca) {
        return false;
    }
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return false;
    };
    let renew_at = (OffsetDateTime::now_utc() + SERVER_RENEW_BEFORE).unix_timestamp();
    if cert.validity().not_after.timestamp() < renew_at {
        return false;
    }
    let Ok(Some(sans)) = cert.subject_alternative_name() else {
        return false;
    };
    names.iter().all(|name| {
        sans.value
            .general_names
            .iter()
            .any(|gn| match (gn, name.parse::<IpAddr>()) {
                (GeneralName::IPAddress(bytes), Ok(IpAddr::V4(ip))) => *bytes == ip.octets(),
                (GeneralName::IPAddress(bytes), Ok(IpAddr::V6(ip))) => *bytes == ip.octets(),
                (GeneralName::DNSName(dns), Err(_)) => dns.eq_ignore_ascii_case(name),
                _ => false,
            })
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, with Unix mode `mode`.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(mode);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    set_mode(&tmp, mode)?;
    fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), CertError> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), CertError> {
    Ok(())
}
