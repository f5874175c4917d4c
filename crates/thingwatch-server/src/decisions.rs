//! [`IamDecisions`]: IAM's policy evaluation as the other components ask for it — the API
//! dispatcher (every signed call), `iam:PassRole` checks, and MQTT connections authenticated
//! by an IAM identity (WebSocket).

use thingwatch_aws::{ApiError, ErrorCode};

/// IAM decisions for the API dispatcher, `iam:PassRole` and MQTT over WebSocket.
pub struct IamDecisions(pub thingwatch_iam::Iam);

impl thingwatch_http::RequestAuthorizer for IamDecisions {
    fn authorize(&self, principal_arn: &str, action: &str, resource: &str) -> Option<String> {
        let decision = self.0.authorize(principal_arn, action, resource, &[]);
        thingwatch_iam::access_denied_message(principal_arn, action, resource, decision)
    }
}

impl thingwatch_iot_api::RoleChecker for IamDecisions {
    fn check(&self, caller_arn: &str, role_arn: &str) -> Result<(), ApiError> {
        match self.0.check_pass_role(caller_arn, role_arn) {
            Ok(_) => Ok(()),
            Err(e @ thingwatch_iam::PassRoleError::NotAuthorized { .. }) => {
                Err(ApiError::new(ErrorCode::AccessDenied, e.to_string()))
            }
            Err(e) => Err(ApiError::new(ErrorCode::InvalidRequest, e.to_string())),
        }
    }
}

impl thingwatch_authz::IdentityPolicies for IamDecisions {
    fn allows(&self, principal_arn: &str, action: &str, resource: &str) -> bool {
        self.0
            .authorize(principal_arn, action, resource, &[])
            .is_allowed()
    }
}

impl thingwatch_rules::RoleAuthority for IamDecisions {
    fn role_allows(&self, role_arn: &str, action: &str, resource: &str) -> bool {
        self.0.role_allows(role_arn, action, resource)
    }
}

impl thingwatch_audit::DeliveryRoles for IamDecisions {
    fn role_allows(&self, role_arn: &str, action: &str, resource: &str) -> bool {
        self.0.role_allows(role_arn, action, resource)
    }
}

/// Names the caller of an API call for the audit trail: the owner of its access key id (the
/// root user or an IAM user with an active key), also when the signature did not verify.
pub struct AuditIdentities(pub thingwatch_iam::Iam);

impl thingwatch_audit::Identities for AuditIdentities {
    fn identify(&self, access_key_id: &str) -> Option<thingwatch_audit::Identity> {
        use thingwatch_aws::CredentialProvider as _;
        let p = self.0.lookup(access_key_id)?;
        let (kind, principal_id) = if p.arn == self.0.root_arn() {
            (thingwatch_audit::IdentityType::Root, p.account_id.clone())
        } else {
            let user = self.0.user_by_arn(&p.arn)?;
            (thingwatch_audit::IdentityType::IamUser, user.user_id)
        };
        Some(thingwatch_audit::Identity {
            kind,
            principal_id,
            arn: p.arn,
            account_id: p.account_id,
            access_key_id: p.access_key_id,
            user_name: p.user_name,
            session_issuer: None,
        })
    }
}
