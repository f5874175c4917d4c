//! Who may call the API: the [`Principal`] an access key id resolves to, the
//! [`CredentialProvider`] lookup the SigV4 verifier uses, and [`StaticCredentials`], the
//! provider holding the root credentials the binary is configured with.
//!
//! Secrets never reach a log: [`Principal`]'s `Debug` redacts the secret access key and
//! the session token.

use std::fmt;

/// An authenticated identity: what an access key id resolves to.
///
/// Source: IAM identifiers (IAM User Guide, "IAM identifiers"); root ARN form
/// `arn:aws:iam::ACCOUNT:root`.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access key id (`AKID…`), as it appears in the SigV4 credential scope.
    pub access_key_id: String,
    /// The secret access key the SigV4 signing key is derived from. Never logged.
    pub secret_access_key: String,
    /// When `Some`, requests must carry exactly this `X-Amz-Security-Token` (temporary
    /// credentials). When `None`, a token sent by the client is ignored (but must still be
    /// signed, as SigV4 requires).
    pub session_token: Option<String>,
    /// 12-digit AWS account id the principal belongs to.
    pub account_id: String,
    /// The principal's ARN, e.g. `arn:aws:iam::123456789012:root`.
    pub arn: String,
    /// Friendly name (`root` for the account root user).
    pub user_name: String,
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("account_id", &self.account_id)
            .field("arn", &self.arn)
            .field("user_name", &self.user_name)
            .finish()
    }
}

/// Resolves access key ids to principals. Called once per request by the SigV4 verifier,
/// on the request task (keep it cheap and non-blocking).
pub trait CredentialProvider: Send + Sync + 'static {
    /// The principal owning `access_key_id`, or `None` when the key is unknown (the API
    /// answers `UnrecognizedClientException`).
    fn lookup(&self, access_key_id: &str) -> Option<Principal>;
}

/// A fixed set of credentials; the binary configures it with the account's root key.
#[derive(Clone, Debug)]
pub struct StaticCredentials {
    principals: Vec<Principal>,
}

impl StaticCredentials {
    /// Root credentials of `account_id`: ARN `arn:aws:iam::ACCOUNT:root`, user name `root`,
    /// no session token.
    pub fn root(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        account_id: impl Into<String>,
    ) -> Self {
        let account_id = account_id.into();
        Self {
            principals: vec![Principal {
                access_key_id: access_key_id.into(),
                secret_access_key: secret_access_key.into(),
                session_token: None,
                arn: crate::Arn::iam_root(&account_id).to_string(),
                account_id,
                user_name: "root".to_owned(),
            }],
        }
    }

    /// Adds another principal (e.g. an IAM user or temporary credentials); a later entry
    /// with the same access key id is shadowed by the earlier one.
    #[must_use]
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principals.push(principal);
        self
    }
}

impl CredentialProvider for StaticCredentials {
    fn lookup(&self, access_key_id: &str) -> Option<Principal> {
        self.principals
            .iter()
            .find(|p| p.access_key_id == access_key_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_lookup_and_redacted_debug() {
        let creds = StaticCredentials::root("AKIDEXAMPLE", "s3cr3t-value", "123456789012");
        let p = creds.lookup("AKIDEXAMPLE").expect("root key is known");
        assert_eq!(p.arn, "arn:aws:iam::123456789012:root");
        assert_eq!(p.user_name, "root");
        assert!(creds.lookup("AKIDOTHER").is_none());
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("s3cr3t-value"), "{dbg}");
    }
}
