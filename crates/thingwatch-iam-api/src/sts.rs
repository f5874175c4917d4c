//! [`StsService`]: the `sts` API (awsQuery, version 2011-06-15, SigV4 signing name `sts`),
//! GetCallerIdentity only — so users can check which identity their credentials are.
//! GetCallerIdentity needs no permission (AWS STS API Reference: "No permissions are required
//! to perform this operation").

use thingwatch_http::{
    ApiError, AwsRequest, ErrorCode, HandlerFuture, Protocol, RequestContext, ServiceHandler,
};

use crate::query::{Params, respond};
use thingwatch_iam::Iam;

/// The XML namespace of STS responses.
pub const STS_XML_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The `sts` service. Register it with
/// `ApiState::with_service("sts", Arc::new(StsService::new(iam)))`.
#[derive(Clone, Debug)]
pub struct StsService {
    iam: Iam,
}

impl StsService {
    /// A service answering for the identities of `iam`.
    pub fn new(iam: Iam) -> Self {
        Self { iam }
    }
}

impl ServiceHandler for StsService {
    fn protocol(&self) -> Protocol {
        Protocol::AwsQuery
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let iam = self.iam.clone();
        Box::pin(async move {
            let p = Params::parse(&req)?;
            if p.action != "GetCallerIdentity" {
                return Err(ApiError::new(
                    ErrorCode::UnknownOperation,
                    format!(
                        "Could not find operation {} for version 2011-06-15",
                        p.action
                    ),
                ));
            }
            let principal = &ctx.auth.principal;
            // UserId: the account id for the root user, the unique id (AIDA…) for a user.
            let user_id = iam
                .user_by_arn(&principal.arn)
                .map_or_else(|| principal.account_id.clone(), |u| u.user_id);
            respond(
                "GetCallerIdentity",
                STS_XML_NAMESPACE,
                &ctx.request_id,
                Some(&|x| {
                    x.leaf("UserId", &user_id);
                    x.leaf("Account", &principal.account_id);
                    x.leaf("Arn", &principal.arn);
                }),
            )
        })
    }
}
