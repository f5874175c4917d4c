//! The IAM entities Thingwatch stores: [`User`], [`AccessKey`], [`Role`], and their identifier
//! formats (IAM User Guide, *IAM identifiers*: unique IDs start with `AIDA` for users, `AROA`
//! for roles, `AKIA` for long-term access keys; ARNs `arn:aws:iam::ACCOUNT:user/PATH/NAME` and
//! `arn:aws:iam::ACCOUNT:role/PATH/NAME`, where `PATH` is `/` or `/a/b/`).

use std::fmt;
use thingwatch_aws::{Arn, Scope};

/// An IAM user (the `User` shape of the iam-2010-05-08 model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// `UserName`: 1–64 characters of `[\w+=,.@-]`; unique case-insensitively.
    pub user_name: String,
    /// `UserId`: `AIDA` + 17 characters of `[A-Z2-7]` (21 characters).
    pub user_id: String,
    /// `Arn`: `arn:aws:iam::ACCOUNT:user{path}{name}`.
    pub arn: String,
    /// `Path`: `/` or `/segment/…/` (1–512 characters).
    pub path: String,
    /// `CreateDate` in epoch milliseconds.
    pub create_date_ms: i64,
}

/// Whether an access key may sign requests (`statusType`; IAM `UpdateAccessKey`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    /// The key authenticates requests.
    Active,
    /// The key is kept but refused (`UnrecognizedClientException` / `InvalidClientTokenId`).
    Inactive,
}

impl KeyStatus {
    /// The wire value (`Active` / `Inactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }

    /// Parses the wire value (exact case, as the model's enum).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(KeyStatus::Active),
            "Inactive" => Some(KeyStatus::Inactive),
            _ => None,
        }
    }
}

/// A long-term access key of an IAM user.
///
/// AWS returns the secret only once (CreateAccessKey) and keeps only what it needs to verify
/// signatures; Thingwatch must verify SigV4 itself, and SigV4's signing key is derived from the
/// secret (HMAC chain), so the secret is **stored in plain text** in `iam.sqlite3` (protect the
/// data directory like a credentials file). It is never logged (`Debug` redacts it) and never
/// returned again after CreateAccessKey.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The owning user's name.
    pub user_name: String,
    /// `AccessKeyId`: `AKIA` + 16 characters of `[A-Z2-7]` (20 characters).
    pub access_key_id: String,
    /// `SecretAccessKey`: 40 characters of `[A-Za-z0-9+/]`.
    pub secret_access_key: String,
    /// `Status`.
    pub status: KeyStatus,
    /// `CreateDate` in epoch milliseconds.
    pub create_date_ms: i64,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("user_name", &self.user_name)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("status", &self.status)
            .field("create_date_ms", &self.create_date_ms)
            .finish()
    }
}

/// An IAM role (the `Role` shape of the iam-2010-05-08 model).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// `RoleName`: 1–64 characters of `[\w+=,.@-]`; unique case-insensitively.
    pub role_name: String,
    /// `RoleId`: `AROA` + 17 characters of `[A-Z2-7]` (21 characters).
    pub role_id: String,
    /// `Arn`: `arn:aws:iam::ACCOUNT:role{path}{name}`.
    pub arn: String,
    /// `Path`: `/` or `/segment/…/`.
    pub path: String,
    /// `AssumeRolePolicyDocument`: the trust policy JSON as given (responses URL-encode it).
    pub assume_role_policy_document: String,
    /// `Description` (0–1000 characters), if set.
    pub description: Option<String>,
    /// `MaxSessionDuration` in **seconds** (3600–43200, default 3600).
    pub max_session_duration_s: u32,
    /// `CreateDate` in epoch milliseconds.
    pub create_date_ms: i64,
}

/// The ARN of user `name` under `path` in `account`.
pub fn user_arn(account: &str, path: &str, name: &str) -> String {
    Arn::iam_user(account, path, name).to_string()
}

/// The ARN of role `name` under `path` in `account`.
pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    Arn::iam_role(account, path, name).to_string()
}

/// The ARN of the account root user.
pub fn root_arn(account: &str) -> String {
    Arn::iam_root(account).to_string()
}

/// The IAM resource ARN CloudWatch Logs actions on log group `group` are authorized against
/// (`arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:*`, the form the AWS IoT logging role policy
/// names; Service Authorization Reference, *Amazon CloudWatch Logs*: resource type
/// `log-group`). Use it for `logs:CreateLogGroup` / `logs:CreateLogStream` checks.
pub fn log_group_resource_arn(region: &str, account: &str, group: &str) -> String {
    Arn::log_group(&Scope::new(account, region), group).to_string()
}

/// The resource ARN of log stream `stream` in `group`
/// (`arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM`), what
/// `logs:PutLogEvents` is authorized against.
pub fn log_stream_resource_arn(region: &str, account: &str, group: &str, stream: &str) -> String {
    Arn::log_stream(&Scope::new(account, region), group, stream).to_string()
}

/// Alphabet of IAM unique IDs and access key ids after their prefix (RFC 4648 base32).
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Alphabet of secret access keys (base64 without padding).
const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Length of user and role unique IDs (`AIDA…`, `AROA…`), as AWS issues them.
pub const UNIQUE_ID_LEN: usize = 21;
/// Length of access key ids (`AKIA…`).
pub const ACCESS_KEY_ID_LEN: usize = 20;
/// Length of secret access keys.
pub const SECRET_ACCESS_KEY_LEN: usize = 40;

/// `prefix` followed by random characters of `alphabet` up to `len` characters in total.
fn random_string(prefix: &str, len: usize, alphabet: &[u8]) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; len.saturating_sub(prefix.len())];
    getrandom::fill(&mut bytes)?;
    let mut out = String::with_capacity(len);
    out.push_str(prefix);
    // Both alphabets have a power-of-two size, so the modulo is unbiased.
    out.extend(
        bytes
            .iter()
            .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()])),
    );
    Ok(out)
}

/// A new user id (`AIDA` + 17).
pub(crate) fn new_user_id() -> Result<String, getrandom::Error> {
    random_string("AIDA", UNIQUE_ID_LEN, ID_ALPHABET)
}

/// A new role id (`AROA` + 17).
pub(crate) fn new_role_id() -> Result<String, getrandom::Error> {
    random_string("AROA", UNIQUE_ID_LEN, ID_ALPHABET)
}

/// A new access key id (`AKIA` + 16).
pub(crate) fn new_access_key_id() -> Result<String, getrandom::Error> {
    random_string("AKIA", ACCESS_KEY_ID_LEN, ID_ALPHABET)
}

/// A new secret access key (40 base64 characters, 240 random bits).
pub(crate) fn new_secret_access_key() -> Result<String, getrandom::Error> {
    random_string("", SECRET_ACCESS_KEY_LEN, SECRET_ALPHABET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_formats() -> Result<(), getrandom::Error> {
        let id = new_user_id()?;
        assert_eq!(id.len(), UNIQUE_ID_LEN);
        assert!(id.starts_with("AIDA"));
        assert!(id.bytes().all(|b| ID_ALPHABET.contains(&b)));
        let id = new_role_id()?;
        assert!(id.starts_with("AROA") && id.len() == 21);
        let k = new_access_key_id()?;
        assert!(k.starts_with("AKIA") && k.len() == 20);
        assert!(k.bytes().all(|b| ID_ALPHABET.contains(&b)));
        let s = new_secret_access_key()?;
        assert_eq!(s.len(), 40);
        assert!(s.bytes().all(|b| SECRET_ALPHABET.contains(&b)));
        assert_ne!(new_secret_access_key()?, s, "secrets are random");
        Ok(())
    }

    #[test]
    fn arns() {
        assert_eq!(
            user_arn("123456789012", "/", "bob"),
            "arn:aws:iam::123456789012:user/bob"
        );
        assert_eq!(
            role_arn("123456789012", "/service-role/", "R"),
            "arn:aws:iam::123456789012:role/service-role/R"
        );
        assert_eq!(
            log_stream_resource_arn("us-east-1", "1", "AWSIotLogsV2", "s"),
            "arn:aws:logs:us-east-1:1:log-group:AWSIotLogsV2:log-stream:s"
        );
    }
}
