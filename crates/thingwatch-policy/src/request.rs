//! What is being authorized: [`Request`] (action, resource, optional principal) and its
//! request [`Context`] (condition keys → values, which also feed policy variables).
//!
//! Context keys are case-insensitive (IAM User Guide, *IAM JSON policy elements: Condition*:
//! "Condition key names are not case-sensitive"); they are stored lower-cased. A key may have
//! several values (multivalued keys such as `aws:TagKeys`, or `iot:Certificate.*.List`).

/// Condition keys and their values for one request. Small (a handful of keys) and searched
/// linearly, which beats hashing at this size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(Box<str>, Vec<String>)>,
}

impl Context {
    /// Sets `key` (any case) to `values`, replacing earlier values. An empty `values` makes the
    /// key present-but-empty, which conditions treat like an absent key.
    pub fn set<I, V>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        let lower = key.to_ascii_lowercase();
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        match self.entries.iter_mut().find(|(k, _)| **k == *lower) {
            Some((_, v)) => *v = values,
            None => self.entries.push((lower.into_boxed_str(), values)),
        }
    }

    /// Removes `key` (any case).
    pub fn remove(&mut self, key: &str) {
        let lower = key.to_ascii_lowercase();
        self.entries.retain(|(k, _)| **k != *lower);
    }

    /// The values of `key` (any case), or `None` if it is absent.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }

    /// Like [`Context::get`] for a key already lower-cased (the compiled policy's keys).
    pub(crate) fn get_lower(&self, lower: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| **k == *lower)
            .map(|(_, v)| v.as_slice())
    }
}

/// The principal making a request, for resource-based policies (role trust policies).
/// Source: IAM User Guide, *AWS JSON policy elements: Principal*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An AWS service, e.g. `iot.amazonaws.com` (matched case-insensitively).
    Service(String),
    /// An IAM identity by ARN, e.g. `arn:aws:iam::123456789012:user/alice` or
    /// `arn:aws:iam::123456789012:root` (the account).
    Aws(String),
    /// A web identity or SAML provider, e.g. `cognito-identity.amazonaws.com`.
    Federated(String),
    /// An Amazon S3 canonical user ID.
    CanonicalUser(String),
}

/// One authorization question: may `principal` perform `action` on `resource` given `context`?
///
/// `action` is `service:Action` (e.g. `iot:Publish`, `iam:PassRole`), matched
/// case-insensitively; `resource` is the full ARN (e.g.
/// `arn:aws:iot:us-east-1:123456789012:topic/a/b`), matched case-sensitively, or `*` for
/// actions without a resource and for trust-policy checks (trust statements have no
/// `Resource`). A request can be reused: change the resource with [`Request::set_resource`]
/// (the broker keeps one per connection and action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    action: String,
    /// `action` in ASCII lower case, computed once so evaluation compares bytes.
    action_lower: String,
    resource: String,
    principal: Option<Principal>,
    context: Context,
}

impl Request {
    /// A request for `action` on `resource` with an empty context and no principal.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        let action = action.into();
        Self {
            action_lower: action.to_ascii_lowercase(),
            action,
            resource: resource.into(),
            principal: None,
            context: Context::default(),
        }
    }

    /// Adds the single-valued context key `key` (any case), e.g.
    /// `.with("iot:ClientId", "sensor-1")`; replaces an earlier value.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context.set(key, [value.into()]);
        self
    }

    /// Adds the multivalued context key `key` (any case).
    #[must_use]
    pub fn with_values<I, V>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        self.context.set(key, values);
        self
    }

    /// Sets the requesting principal (trust policies).
    #[must_use]
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// The action as given.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The action in ASCII lower case (what action patterns are compared with).
    pub(crate) fn action_lower(&self) -> &str {
        &self.action_lower
    }

    /// Replaces the action.
    pub fn set_action(&mut self, action: &str) {
        self.action.clear();
        self.action.push_str(action);
        self.action_lower.clear();
        self.action_lower.push_str(action);
        self.action_lower.make_ascii_lowercase();
    }

    /// The resource ARN.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Replaces the resource ARN, reusing the allocation.
    pub fn set_resource(&mut self, resource: &str) {
        self.resource.clear();
        self.resource.push_str(resource);
    }

    /// The requesting principal, if any.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The request context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The request context, for adding or changing keys in place.
    pub fn context_mut(&mut self) -> &mut Context {
        &mut self.context
    }
}
