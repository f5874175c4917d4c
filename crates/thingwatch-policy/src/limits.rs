//! Size limits on policy documents, as typed constants with their AWS sources, and the
//! whitespace-excluding character count AWS measures them with.
//!
//! Per-document limits are enforced by [`crate::PolicyDocument::parse`] (see
//! [`crate::PolicyKind::max_document_chars`]); IAM's *aggregate* inline-policy limits (the sum of
//! all inline policies of one user, group or role) can only be checked by the IAM store, which
//! sums [`crate::PolicyDocument::size_chars`] over the entity's policies and calls
//! [`check_size`].

use crate::error::PolicyError;

/// AWS IoT policy document: at most 2,048 characters, excluding whitespace.
/// Source: AWS IoT API Reference, *CreatePolicy* / *CreatePolicyVersion*, `policyDocument`
/// ("must have a minimum length of 1, with a maximum length of 2048, excluding whitespace").
pub const IOT_POLICY_MAX_CHARS: usize = 2048;

/// IAM: aggregate size of all inline policies embedded in one user, 2,048 characters.
/// Source: IAM User Guide, *IAM and AWS STS quotas* ("IAM doesn't count white space when
/// calculating the size of a policy").
pub const IAM_USER_INLINE_AGGREGATE_MAX_CHARS: usize = 2048;

/// IAM: aggregate size of all inline policies embedded in one group, 5,120 characters.
/// Source: IAM User Guide, *IAM and AWS STS quotas*.
pub const IAM_GROUP_INLINE_AGGREGATE_MAX_CHARS: usize = 5120;

/// IAM: aggregate size of all inline policies embedded in one role, 10,240 characters.
/// Source: IAM User Guide, *IAM and AWS STS quotas*.
pub const IAM_ROLE_INLINE_AGGREGATE_MAX_CHARS: usize = 10240;

/// IAM: one customer managed policy, 6,144 characters.
/// Source: IAM User Guide, *IAM and AWS STS quotas* ("Managed policy size").
pub const IAM_MANAGED_POLICY_MAX_CHARS: usize = 6144;

/// IAM: role trust policy (`AssumeRolePolicyDocument`), 2,048 characters by default (an
/// adjustable quota). Source: IAM User Guide, *IAM and AWS STS quotas* ("Role trust policy
/// length"); `GetAccountSummary` reports it as `AssumeRolePolicySizeQuota`.
pub const IAM_TRUST_POLICY_MAX_CHARS: usize = 2048;

/// The size AWS compares with these limits: the number of characters (Unicode scalar values)
/// in `json` that are not whitespace.
pub fn policy_size_chars(json: &str) -> usize {
    json.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks an aggregate size (e.g. the sum of [`crate::PolicyDocument::size_chars`] over a
/// user's inline policies after adding one) against `max` (e.g.
/// [`IAM_USER_INLINE_AGGREGATE_MAX_CHARS`]).
///
/// # Errors
/// [`PolicyError::TooLarge`] when `chars > max`.
pub fn check_size(chars: usize, max: usize) -> Result<(), PolicyError> {
    if chars > max {
        Err(PolicyError::TooLarge { chars, max })
    } else {
        Ok(())
    }
}

/// Whether `c` may appear in an IAM policy document: horizontal tab, line feed, carriage return
/// and U+0020–U+00FF. Source: IAM User Guide, *IAM and AWS STS quotas*, "IAM name requirements".
pub fn is_iam_policy_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')
}
