//! [`PolicyDocument`]: parsing and validation of one JSON policy document of a given
//! [`PolicyKind`], compiled for evaluation, and its per-document evaluation.
//!
//! Grammar source: IAM User Guide, *Grammar of the IAM JSON policy language* and *IAM JSON policy
//! element reference* (`Version`, `Id`, `Statement`, `Sid`, `Effect`, `Principal`,
//! `NotPrincipal`, `Action`, `NotAction`, `Resource`, `NotResource`, `Condition`); AWS IoT
//! Developer Guide, *AWS IoT Core policies* ("AWS IoT Core policies are JSON documents … follow
//! the same conventions as IAM policies"). Which elements a kind allows:
//!
//! | element                      | `IotPolicy` | `IamIdentity` | `IamTrust` |
//! |------------------------------|-------------|---------------|------------|
//! | `Action` / `NotAction`       | required    | required      | required   |
//! | `Resource` / `NotResource`   | required    | required      | prohibited |
//! | `Principal` / `NotPrincipal` | prohibited  | prohibited    | required   |
//!
//! Both halves of a pair in one statement are rejected; IAM kinds also require `Sid`s to be
//! alphanumeric and unique.

use serde_json::{Map, Value};

use crate::condition::{self, Condition};
use crate::error::PolicyError;
use crate::limits;
use crate::pattern::{Pattern, Syntax};
use crate::request::{Principal, Request};

/// Which service and role a policy document plays; decides the allowed elements and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An AWS IoT Core policy attached to a certificate, thing group or Cognito identity
    /// (`CreatePolicy`): no `Principal`; at most [`limits::IOT_POLICY_MAX_CHARS`].
    IotPolicy,
    /// An IAM identity-based policy (inline user/role/group policy or managed policy): no
    /// `Principal`; at most [`limits::IAM_ROLE_INLINE_AGGREGATE_MAX_CHARS`] per document (the
    /// largest IAM allows anywhere; the store checks the tighter per-entity aggregates).
    IamIdentity,
    /// An IAM role trust policy (`AssumeRolePolicyDocument`): `Principal` required, no
    /// `Resource`; at most [`limits::IAM_TRUST_POLICY_MAX_CHARS`].
    IamTrust,
}

impl PolicyKind {
    /// The per-document size limit in non-whitespace characters (see [`crate::limits`]).
    pub const fn max_document_chars(self) -> usize {
        match self {
            PolicyKind::IotPolicy => limits::IOT_POLICY_MAX_CHARS,
            PolicyKind::IamIdentity => limits::IAM_ROLE_INLINE_AGGREGATE_MAX_CHARS,
            PolicyKind::IamTrust => limits::IAM_TRUST_POLICY_MAX_CHARS,
        }
    }

    fn is_iam(self) -> bool {
        matches!(self, PolicyKind::IamIdentity | PolicyKind::IamTrust)
    }
}

/// The policy language version (`Version` element). Source: IAM User Guide, *IAM JSON policy
/// elements: Version*: without a `Version` the 2008-10-17 rules apply, under which policy
/// variables are not recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17` (also the meaning of an absent `Version`): `${...}` is literal text.
    V2008_10_17,
}

impl PolicyVersion {
    /// The version string as written in documents.
    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2012_10_17 => "2012-10-17",
            PolicyVersion::V2008_10_17 => "2008-10-17",
        }
    }
}

/// A statement's `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Allow"`.
    Allow,
    /// `"Deny"`.
    Deny,
}

/// `Action` (any pattern matches) or `NotAction` (no pattern matches); patterns are stored
/// lower-cased and compared with the request's lower-cased action; never contain variables.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Actions {
    negated: bool,
    patterns: Box<[Pattern]>,
}

/// `Resource` / `NotResource`: case-sensitive patterns over the full ARN, with variables.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resources {
    negated: bool,
    patterns: Box<[Pattern]>,
}

/// A compiled `Principal` value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalSpec {
    /// `"Principal": "*"` or `{"AWS": "*"}`-style everyone.
    Anyone,
    Map {
        aws: Box<[String]>,
        service: Box<[String]>,
        federated: Box<[String]>,
        canonical: Box<[String]>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Principals {
    negated: bool,
    spec: PrincipalSpec,
}

/// One compiled statement.
#[derive(Debug, Clone, PartialEq)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    actions: Actions,
    /// `None` only in trust policies (which prohibit `Resource`): any resource.
    resources: Option<Resources>,
    /// `None` outside trust policies: any principal.
    principals: Option<Principals>,
    conditions: Box<[Condition]>,
}

/// A parsed, validated and compiled policy document. Cheap to evaluate repeatedly: every
/// pattern, operator and constant is compiled once here.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    kind: PolicyKind,
    version: Option<PolicyVersion>,
    id: Option<String>,
    statements: Box<[Statement]>,
    size_chars: usize,
}

fn strings(v: &Value, element: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(PolicyError::syntax(format!(
                    "{element} must be a string or an array of strings"
                ))),
            })
            .collect(),
        _ => Err(PolicyError::syntax(format!(
            "{element} must be a string or an array of strings"
        ))),
    }
}

/// Takes at most one of a `(positive, negative)` element pair out of `obj`.
fn take_pair<'a>(
    obj: &'a Map<String, Value>,
    pos: &'static str,
    neg: &'static str,
) -> Result<Option<(bool, &'a Value)>, PolicyError> {
    match (obj.get(pos), obj.get(neg)) {
        (Some(_), Some(_)) => Err(PolicyError::Conflicting(pos, neg)),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_principal(v: &Value) -> Result<PrincipalSpec, PolicyError> {
    let invalid = || PolicyError::InvalidPrincipal(v.to_string());
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalSpec::Anyone),
        Value::Object(map) if !map.is_empty() => {
            let (mut aws, mut service, mut federated, mut canonical) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (typ, vals) in map {
                let vals = strings(vals, "Principal").map_err(|_| invalid())?;
                if vals.is_empty() || vals.iter().any(String::is_empty) {
                    return Err(invalid());
                }
                match typ.as_str() {
                    "AWS" => {
                        for a in &vals {
                            if a != "*" && !is_account_id(a) && !a.starts_with("arn:") {
                                return Err(PolicyError::InvalidPrincipal(v.to_string()));
                            }
                        }
                        aws.extend(vals);
                    }
                    "Service" => service.extend(vals),
                    "Federated" => federated.extend(vals),
                    "CanonicalUser" => canonical.extend(vals),
                    _ => return Err(invalid()),
                }
            }
            Ok(PrincipalSpec::Map {
                aws: aws.into(),
                service: service.into(),
                federated: federated.into(),
                canonical: canonical.into(),
            })
        }
        _ => Err(invalid()),
    }
}

/// The account field of an ARN (`arn:aws:iam::123456789012:user/x` → `123456789012`).
fn arn_account(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    (fields.next()? == "arn").then_some(())?;
    fields.nth(3)
}

impl PrincipalSpec {
    fn matches(&self, who: Option<&Principal>) -> bool {
        let (aws, service, federated, canonical) = match self {
            PrincipalSpec::Anyone => return true,
            PrincipalSpec::Map {
                aws,
                service,
                federated,
                canonical,
            } => (aws, service, federated, canonical),
        };
        match who {
            None => false,
            Some(Principal::Service(s)) => service.iter().any(|x| x.eq_ignore_ascii_case(s)),
            Some(Principal::Federated(f)) => federated.iter().any(|x| x == f),
            Some(Principal::CanonicalUser(c)) => canonical.iter().any(|x| x == c),
            Some(Principal::Aws(arn)) => aws.iter().any(|p| {
                if p == "*" || p == arn {
                    return true;
                }
                // An account (12 digits or arn:…:root) trusts every identity in it.
                let account = if is_account_id(p) {
                    Some(p.as_str())
                } else if p.ends_with(":root") {
                    arn_account(p)
                } else {
                    None
                };
                account.is_some_and(|acct| arn_account(arn) == Some(acct))
            }),
        }
    }
}

fn validate_action(a: &str) -> Result<(), PolicyError> {
    match a.split_once(':') {
        _ if a == "*" => Ok(()),
        Some((vendor, name)) if !vendor.is_empty() && !name.is_empty() => Ok(()),
        _ => Err(PolicyError::InvalidAction(a.to_owned())),
    }
}

fn validate_resource(r: &str) -> Result<(), PolicyError> {
    if r == "*" || (r.starts_with("arn:") && r.matches(':').count() >= 5) {
        Ok(())
    } else {
        Err(PolicyError::InvalidResource(r.to_owned()))
    }
}

const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn parse_statement(v: &Value, kind: PolicyKind, variables: bool) -> Result<Statement, PolicyError> {
    let Value::Object(obj) = v else {
        return Err(PolicyError::syntax("a statement must be an object"));
    };
    if let Some(unknown) = obj
        .keys()
        .find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str()))
    {
        return Err(PolicyError::UnknownElement(unknown.clone()));
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => {
            if kind.is_iam() && !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(PolicyError::InvalidSid(s.clone()));
            }
            Some(s.clone())
        }
        Some(_) => return Err(PolicyError::syntax("Sid must be a string")),
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            return Err(PolicyError::InvalidEffect(shown));
        }
        None => return Err(PolicyError::MissingEffect),
    };

    let principals = match take_pair(obj, "Principal", "NotPrincipal")? {
        Some(_) if kind != PolicyKind::IamTrust => return Err(PolicyError::PrincipalNotAllowed),
        Some((negated, v)) => Some(Principals {
            negated,
            spec: parse_principal(v)?,
        }),
        None if kind == PolicyKind::IamTrust => return Err(PolicyError::MissingPrincipal),
        None => None,
    };

    let actions = match take_pair(obj, "Action", "NotAction")? {
        None => return Err(PolicyError::MissingAction),
        Some((negated, v)) => {
            let list = strings(v, "Action")?;
            if list.is_empty() {
                return Err(PolicyError::MissingAction);
            }
            for a in &list {
                validate_action(a)?;
            }
            let syntax = Syntax {
                variables: false,
                wildcards: true,
            };
            // Lower-cased once here; requests carry a lower-cased action, so matching is a
            // byte comparison (IAM: action names are case-insensitive).
            Actions {
                negated,
                patterns: list
                    .iter()
                    .map(|a| Pattern::parse(&a.to_ascii_lowercase(), syntax))
                    .collect(),
            }
        }
    };

    let resources = match take_pair(obj, "Resource", "NotResource")? {
        Some((negated, _)) if kind == PolicyKind::IamTrust => {
            return Err(PolicyError::Prohibited(if negated {
                "NotResource"
            } else {
                "Resource"
            }));
        }
        None if kind == PolicyKind::IamTrust => None,
        None => return Err(PolicyError::MissingResource),
        Some((negated, v)) => {
            let list = strings(v, "Resource")?;
            if list.is_empty() {
                return Err(PolicyError::MissingResource);
            }
            for r in &list {
                validate_resource(r)?;
            }
            let syntax = Syntax {
                variables,
                wildcards: true,
            };
            Some(Resources {
                negated,
                patterns: list.iter().map(|r| Pattern::parse(r, syntax)).collect(),
            })
        }
    };

    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => condition::parse_block(c, variables)?,
    };

    Ok(Statement {
        sid,
        effect,
        actions,
        resources,
        principals,
        conditions: conditions.into_boxed_slice(),
    })
}

impl Statement {
    /// Whether the statement applies to `req`: action, resource, principal and every
    /// condition match.
    fn applies(&self, req: &Request) -> bool {
        let action_hit = self
            .actions
            .patterns
            .iter()
            .any(|p| p.matches(req.action_lower(), req.context(), false));
        if action_hit == self.actions.negated {
            return false;
        }
        if let Some(res) = &self.resources {
            let hit = res
                .patterns
                .iter()
                .any(|p| p.matches(req.resource(), req.context(), false));
            if hit == res.negated {
                return false;
            }
        }
        if let Some(pr) = &self.principals
            && pr.spec.matches(req.principal()) == pr.negated
        {
            return false;
        }
        self.conditions.iter().all(|c| c.holds(req.context()))
    }
}

impl PolicyDocument {
    /// Parses and validates `json` as a policy of `kind`, compiling it for evaluation.
    ///
    /// Checks, in order: non-empty; for IAM kinds the allowed character set
    /// ([`limits::is_iam_policy_char`]); size ([`PolicyKind::max_document_chars`], whitespace
    /// excluded); JSON syntax; top-level elements (`Version`, `Id`, `Statement` only; `Version`
    /// `2012-10-17` or `2008-10-17`); each statement's elements per kind (see the module table),
    /// `Effect`, action format (`vendor:pattern` or `*`), resource format (ARN or `*`),
    /// principal shape, condition operators and values, and for IAM kinds `Sid` format and
    /// uniqueness.
    ///
    /// # Errors
    /// The first [`PolicyError`] found.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        if json.trim().is_empty() {
            return Err(PolicyError::Empty);
        }
        if kind.is_iam()
            && let Some(c) = json.chars().find(|&c| !limits::is_iam_policy_char(c))
        {
            return Err(PolicyError::InvalidCharacter(c));
        }
        let size_chars = limits::policy_size_chars(json);
        let max = kind.max_document_chars();
        if size_chars > max {
            return Err(PolicyError::TooLarge {
                chars: size_chars,
                max,
            });
        }
        let value: Value =
            serde_json::from_str(json).map_err(|e| PolicyError::syntax(e.to_string()))?;
        let Value::Object(top) = value else {
            return Err(PolicyError::syntax(
                "a policy document must be a JSON object",
            ));
        };
        if let Some(unknown) = top
            .keys()
            .find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement"))
        {
            return Err(PolicyError::UnknownElement(unknown.clone()));
        }
        let version = match top.get("Version") {
            None => None,
            Some(Value::String(s)) if s == "2012-10-17" => Some(PolicyVersion::V2012_10_17),
            Some(Value::String(s)) if s == "2008-10-17" => Some(PolicyVersion::V2008_10_17),
            Some(other) => {
                let shown = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned);
                return Err(PolicyError::InvalidVersion(shown));
            }
        };
        let id = match top.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(PolicyError::syntax("Id must be a string")),
        };
        let variables = version == Some(PolicyVersion::V2012_10_17);
        let statements = match top.get("Statement") {
            None => return Err(PolicyError::MissingStatement),
            Some(Value::Array(items)) => items
                .iter()
                .map(|s| parse_statement(s, kind, variables))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single @ Value::Object(_)) => vec![parse_statement(single, kind, variables)?],
            Some(_) => {
                return Err(PolicyError::syntax(
                    "Statement must be an object or an array of objects",
                ));
            }
        };
        if kind.is_iam() {
            let mut seen: Vec<&str> = Vec::new();
            for sid in statements.iter().filter_map(|s| s.sid.as_deref()) {
                if !sid.is_empty() && seen.contains(&sid) {
                    return Err(PolicyError::DuplicateSid(sid.to_owned()));
                }
                seen.push(sid);
            }
        }
        Ok(Self {
            kind,
            version,
            id,
            statements: statements.into_boxed_slice(),
            size_chars,
        })
    }

    /// The kind the document was parsed as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The `Version` element, `None` if absent (which means 2008-10-17 rules).
    pub fn version(&self) -> Option<PolicyVersion> {
        self.version
    }

    /// The `Id` element, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Size in non-whitespace characters, as AWS counts it against the limits in
    /// [`crate::limits`] (for IAM's per-entity aggregate checks).
    pub fn size_chars(&self) -> usize {
        self.size_chars
    }

    /// This document's verdict on `req`: `Some(Deny)` if any applicable statement denies,
    /// else `Some(Allow)` if any applicable statement allows, else `None` (not applicable).
    /// Source: IAM User Guide, *Policy evaluation logic* ("an explicit deny in any of these
    /// policies overrides the allow").
    pub fn evaluate(&self, req: &Request) -> Option<Effect> {
        let mut allowed = false;
        for s in self.statements.iter() {
            if s.effect == Effect::Allow && allowed {
                continue;
            }
            if s.applies(req) {
                match s.effect {
                    Effect::Deny => return Some(Effect::Deny),
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed.then_some(Effect::Allow)
    }

    /// Whether this trust policy lets `principal` perform `action` (e.g. `sts:AssumeRole`):
    /// some statement allows it and none denies it. Context-dependent conditions see an empty
    /// context; use [`PolicyDocument::evaluate`] with a full [`Request`] for those.
    pub fn trusts(&self, principal: Principal, action: &str) -> bool {
        let req = Request::new(action, "*").with_principal(principal);
        self.evaluate(&req) == Some(Effect::Allow)
    }

    /// Shorthand for [`PolicyDocument::trusts`] with a service principal, e.g.
    /// `trusts_service("iot.amazonaws.com", "sts:AssumeRole")` — the check AWS IoT makes on the
    /// logging role passed to `SetV2LoggingOptions`.
    pub fn trusts_service(&self, service: &str, action: &str) -> bool {
        self.trusts(Principal::Service(service.to_owned()), action)
    }
}
