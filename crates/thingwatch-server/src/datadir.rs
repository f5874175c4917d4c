//! The data directory: its layout, the root credentials file, the node ID and the persisted
//! V2 logging configuration.
//!
//! Layout (`DATA_DIR` = `--data-dir`, default `./thingwatch-data`):
//!
//! | path | what |
//! |---|---|
//! | `credentials` | root credentials, AWS shared-credentials format (`[default]` profile), mode 0600; only when generated |
//! | `config` | AWS CLI config file with the `[default]` region, for `AWS_CONFIG_FILE` |
//! | `node-id` | this server's node ID (part of log stream names) |
//! | `registry/` | SQLite: things, thing groups, memberships and the account's logging configuration |
//! | `logs/` | the embedded log store |
//! | `broker/` | broker state: retained messages, persistent sessions |
//! | `metrics/` | SQLite: CloudWatch metric series and their 1 s/1 min/5 min/1 h roll-ups |

use crate::GivenCredentials;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Root credentials in effect.
#[derive(Clone, Debug)]
pub struct RootCredentials {
    /// Access key ID.
    pub access_key_id: String,
    /// Secret access key. Never logged.
    pub secret_access_key: String,
    /// Where they came from (environment, config file, or the credentials file).
    pub source: String,
    /// Whether they live in `DATA_DIR/credentials`.
    pub in_credentials_file: bool,
}

/// Paths inside a data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates the directory (and parents) when missing.
    pub fn open(root: &Path) -> Result<DataDir> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("creating data directory {}", root.display()))?;
        Ok(DataDir {
            root: root.to_path_buf(),
        })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `credentials`
    pub fn credentials_path(&self) -> PathBuf {
        self.root.join("credentials")
    }

    /// `config`
    pub fn aws_config_path(&self) -> PathBuf {
        self.root.join("config")
    }

    /// `logs/`
    pub fn log_store_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `broker/`
    pub fn broker_dir(&self) -> PathBuf {
        self.root.join("broker")
    }

    /// `certificates/`: device and CA certificates (`certificates.sqlite3`). The server CA
    /// itself is `ca.pem` (public) with its keys in `tls/` (0700) at the root.
    pub fn certificates_dir(&self) -> PathBuf {
        self.root.join("certificates")
    }

    /// `iam/`: IAM users, access keys, roles and policies (`iam.sqlite3`).
    pub fn iam_dir(&self) -> PathBuf {
        self.root.join("iam")
    }

    /// `shadow/`: Device Shadow documents (`shadows.db`).
    pub fn shadow_dir(&self) -> PathBuf {
        self.root.join("shadow")
    }

    /// `DATA_DIR/metrics`: CloudWatch metric series and roll-ups (`metrics.db`).
    pub fn metrics_dir(&self) -> PathBuf {
        self.root.join("metrics")
    }

    /// `rules/`: topic rules and topic rule destinations (`rules.db`).
    pub fn rules_dir(&self) -> PathBuf {
        self.root.join("rules")
    }

    /// `DATA_DIR/jobs`: AWS IoT Jobs — jobs, executions, templates (`jobs.db`).
    pub fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    /// `registry/`: things, thing groups and the logging configuration.
    pub fn registry_dir(&self) -> PathBuf {
        self.root.join("registry")
    }

    /// The node ID, generated (`tw-` + 8 hex digits) and persisted on first use.
    pub fn node_id(&self) -> Result<String> {
        let path = self.root.join("node-id");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let id = text.trim().to_string();
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Ok(id);
            }
        }
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
        let id = format!("tw-{}", hex(&bytes));
        write_atomic(&path, id.as_bytes(), false)?;
        Ok(id)
    }

    /// The root credentials: `given` (environment or config file) when present, else the
    /// `credentials` file, else freshly generated ones written to it (mode 0600).
    pub fn root_credentials(
        &self,
        given: Option<&GivenCredentials>,
        region: &str,
    ) -> Result<RootCredentials> {
        if let Some(g) = given {
            return Ok(RootCredentials {
                access_key_id: g.access_key_id.clone(),
                secret_access_key: g.secret_access_key.clone(),
                source: g.source.to_string(),
                in_credentials_file: false,
            });
        }
        let path = self.credentials_path();
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let (id, secret) = parse_shared_credentials(&text).with_context(|| {
                format!(
                    "{} has no [default] aws_access_key_id / aws_secret_access_key",
                    path.display()
                )
            })?;
            return Ok(RootCredentials {
                access_key_id: id,
                secret_access_key: secret,
                source: path.display().to_string(),
                in_credentials_file: true,
            });
        }
        let creds = generate_credentials()?;
        let text = format!(
            "# Thingwatch root credentials (generated). Use with AWS_SHARED_CREDENTIALS_FILE={}\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            path.display(),
            creds.0,
            creds.1
        );
        write_atomic(&path, text.as_bytes(), true)?;
        let config = format!("[default]\nregion = {region}\n");
        write_atomic(&self.aws_config_path(), config.as_bytes(), false)?;
        Ok(RootCredentials {
            access_key_id: creds.0,
            secret_access_key: creds.1,
            source: path.display().to_string(),
            in_credentials_file: true,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random access key ID (`AKIA` + 16 of `A-Z2-7`, the shape of IAM long-term keys) and a
/// 40-character secret.
fn generate_credentials() -> Result<(String, String)> {
    const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut raw = [0u8; 56];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    let id: String = std::iter::once("AKIA".to_string())
        .chain(
            raw[..16]
                .iter()
                .map(|b| (ID_ALPHABET[(*b as usize) % 32] as char).to_string()),
        )
        .collect();
    let secret: String = raw[16..]
        .iter()
        .map(|b| SECRET_ALPHABET[(*b as usize) % 64] as char)
        .collect();
    Ok((id, secret))
}

/// Reads `aws_access_key_id` / `aws_secret_access_key` of the `[default]` profile.
fn parse_shared_credentials(text: &str) -> Option<(String, String)> {
    let mut in_default = false;
    let (mut id, mut secret) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            in_default = line == "[default]";
            continue;
        }
        if !in_default {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            match k.trim() {
                "aws_access_key_id" => id = Some(v.trim().to_string()),
                "aws_secret_access_key" => secret = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    Some((id?, secret?))
}

fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    if let Some(parent) = path.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Refuses unauthenticated listeners on non-loopback addresses (secure by default: the plain
/// MQTT listener has no authentication and the HTTP API no TLS).
///
/// # Errors
/// `addr` is not 127.0.0.0/8 or `::1`.
pub fn require_loopback(what: &str, addr: std::net::SocketAddr) -> Result<()> {
    if !addr.ip().is_loopback() {
        bail!(
            "refusing to listen for {what} on non-loopback address {addr}: plain, unauthenticated listeners are loopback-only (use 127.0.0.1 or ::1)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tw-datadir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn generated_credentials_persist_and_parse_back() {
        let root = tmp("creds");
        let dd = DataDir::open(&root).unwrap();
        let a = dd.root_credentials(None, "us-east-1").unwrap();
        assert!(a.access_key_id.starts_with("AKIA") && a.access_key_id.len() == 20);
        assert_eq!(a.secret_access_key.len(), 40);
        let b = dd.root_credentials(None, "us-east-1").unwrap();
        assert_eq!(
            (a.access_key_id, a.secret_access_key),
            (b.access_key_id, b.secret_access_key)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dd.credentials_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            std::fs::read_to_string(dd.aws_config_path())
                .unwrap()
                .contains("region = us-east-1")
        );
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn shared_credentials_parser_reads_the_default_profile_only() {
        let text = "[other]\naws_access_key_id = X\n[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cr3t\n";
        assert_eq!(
            parse_shared_credentials(text),
            Some(("AKIA1".into(), "s3cr3t".into()))
        );
        assert_eq!(
            parse_shared_credentials("[other]\naws_access_key_id = X\n"),
            None
        );
    }

    #[test]
    fn non_loopback_listeners_are_refused() {
        assert!(require_loopback("MQTT", "127.0.0.1:1883".parse().unwrap()).is_ok());
        assert!(require_loopback("MQTT", "[::1]:1883".parse().unwrap()).is_ok());
        assert!(require_loopback("MQTT", "0.0.0.0:1883".parse().unwrap()).is_err());
    }
}
