//! Combining several policies into one [`Decision`] (default deny, explicit deny wins).
//!
//! Source: IAM User Guide, *Policy evaluation logic* (identity-based policies: "By default, all
//! requests are implicitly denied … An explicit allow in an identity-based policy overrides this
//! default … An explicit deny in any policy overrides any allows"); AWS IoT Developer Guide,
//! *AWS IoT Core policies* (the same rule for the policies attached to a certificate: "By
//! default, all actions are denied … an explicit deny overrides an allow").

use crate::document::{Effect, PolicyDocument};
use crate::request::Request;

/// The outcome of authorizing one request against a set of policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Some statement allows the request and none denies it.
    Allow,
    /// Some statement denies the request (wins over any allow).
    ExplicitDeny,
    /// No statement applies (the default).
    ImplicitDeny,
}

impl Decision {
    /// `true` only for [`Decision::Allow`].
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// Evaluates `req` against every document in `docs` (e.g. all IoT policies attached to a
/// certificate, or a user's inline and attached managed policies). Stops at the first explicit
/// deny.
pub fn evaluate<'a>(docs: impl IntoIterator<Item = &'a PolicyDocument>, req: &Request) -> Decision {
    let mut allowed = false;
    for doc in docs {
        match doc.evaluate(req) {
            Some(Effect::Deny) => return Decision::ExplicitDeny,
            Some(Effect::Allow) => allowed = true,
            None => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}
