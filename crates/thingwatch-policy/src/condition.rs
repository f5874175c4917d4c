//! The `Condition` element: operators parsed and values compiled at parse time, evaluated
//! against a request [`Context`].
//!
//! Source: IAM User Guide, *IAM JSON policy elements: Condition operators* and *Set operators
//! for multivalued context keys*. Rules implemented:
//!
//! * Within one condition block every operator, and within an operator every key, must hold
//!   (AND); the values listed for one key are alternatives (OR).
//! * Key absent (or present with no values): the condition is `false`, except that it is `true`
//!   for negated operators (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, …), for the
//!   `…IfExists` forms and for `ForAllValues:`; `Null` tests presence itself.
//! * Several context values without a set operator: a positive operator holds if any context
//!   value matches any policy value; a negated one if none does. `ForAnyValue:` holds if some
//!   context value satisfies the operator, `ForAllValues:` if every one does.
//! * Policy variables are substituted in string, ARN and boolean values (2012-10-17 only); not
//!   in numeric, date, binary or IP values.

use std::net::IpAddr;

use serde_json::Value;

use crate::error::PolicyError;
use crate::pattern::{Pattern, Syntax};
use crate::request::Context;

/// Comparison of ordered values (numbers, dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, ctx: T, policy: T) -> bool {
        match self {
            Cmp::Eq => ctx == policy,
            Cmp::Lt => ctx < policy,
            Cmp::Le => ctx <= policy,
            Cmp::Gt => ctx > policy,
            Cmp::Ge => ctx >= policy,
        }
    }
}

/// Operator family, with its positive sense (negation is separate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `StringEquals` / `StringEqualsIgnoreCase` / `StringLike`.
    String {
        ignore_case: bool,
        like: bool,
    },
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    /// `ArnEquals` and `ArnLike` behave the same (both take wildcards per ARN field).
    Arn,
    Null,
}

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    family: Family,
    negated: bool,
    if_exists: bool,
    set: Option<SetOp>,
}

impl Operator {
    /// Parses an operator name such as `ForAllValues:StringLikeIfExists`. Operator names are
    /// matched case-insensitively.
    fn parse(name: &str) -> Result<Self, PolicyError> {
        let unknown = || PolicyError::UnknownConditionOperator(name.to_owned());
        let lower = name.to_ascii_lowercase();
        let (set, rest) = if let Some(r) = lower.strip_prefix("foranyvalue:") {
            (Some(SetOp::Any), r)
        } else if let Some(r) = lower.strip_prefix("forallvalues:") {
            (Some(SetOp::All), r)
        } else {
            (None, lower.as_str())
        };
        let (if_exists, base) = match rest.strip_suffix("ifexists") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        use Family as F;
        let (family, negated) = match base {
            "stringequals" => (
                F::String {
                    ignore_case: false,
                    like: false,
                },
                false,
            ),
            "stringnotequals" => (
                F::String {
                    ignore_case: false,
                    like: false,
                },
                true,
            ),
            "stringequalsignorecase" => (
                F::String {
                    ignore_case: true,
                    like: false,
                },
                false,
            ),
            "stringnotequalsignorecase" => (
                F::String {
                    ignore_case: true,
                    like: false,
                },
                true,
            ),
            "stringlike" => (
                F::String {
                    ignore_case: false,
                    like: true,
                },
                false,
            ),
            "stringnotlike" => (
                F::String {
                    ignore_case: false,
                    like: true,
                },
                true,
            ),
            "numericequals" => (F::Numeric(Cmp::Eq), false),
            "numericnotequals" => (F::Numeric(Cmp::Eq), true),
            "numericlessthan" => (F::Numeric(Cmp::Lt), false),
            "numericlessthanequals" => (F::Numeric(Cmp::Le), false),
            "numericgreaterthan" => (F::Numeric(Cmp::Gt), false),
            "numericgreaterthanequals" => (F::Numeric(Cmp::Ge), false),
            "dateequals" => (F::Date(Cmp::Eq), false),
            "datenotequals" => (F::Date(Cmp::Eq), true),
            "datelessthan" => (F::Date(Cmp::Lt), false),
            "datelessthanequals" => (F::Date(Cmp::Le), false),
            "dategreaterthan" => (F::Date(Cmp::Gt), false),
            "dategreaterthanequals" => (F::Date(Cmp::Ge), false),
            "bool" => (F::Bool, false),
            "binaryequals" => (F::Binary, false),
            "ipaddress" => (F::Ip, false),
            "notipaddress" => (F::Ip, true),
            "arnequals" | "arnlike" => (F::Arn, false),
            "arnnotequals" | "arnnotlike" => (F::Arn, true),
            "null" => (F::Null, false),
            _ => return Err(unknown()),
        };
        if family == F::Null && (if_exists || set.is_some()) {
            return Err(unknown());
        }
        Ok(Self {
            family,
            negated,
            if_exists,
            set,
        })
    }
}

/// An IPv4 or IPv6 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a /32 or /128).
    fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is compared as IPv4.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses a date as an ISO 8601 / RFC 3339 timestamp (`2026-01-01T00:00:00Z`) or as epoch
/// seconds; returns nanoseconds since the epoch.
fn parse_date(s: &str) -> Option<i128> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Some(i128::from(secs) * 1_000_000_000);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

/// An ARN pattern split into its six fields (`arn:partition:service:region:account:resource`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ArnPattern {
    fields: Box<[Pattern]>,
}

impl ArnPattern {
    fn parse(raw: &str, variables: bool) -> Self {
        let syntax = Syntax {
            variables,
            wildcards: true,
        };
        Self {
            fields: split_arn_fields(raw, variables)
                .into_iter()
                .map(|f| Pattern::parse(f, syntax))
                .collect(),
        }
    }

    fn matches(&self, arn: &str, ctx: &Context) -> bool {
        let mut n = 0;
        for (field, pat) in arn.splitn(6, ':').zip(self.fields.iter()) {
            if !pat.matches(field, ctx, false) {
                return false;
            }
            n += 1;
        }
        n == 6 && self.fields.len() == 6
    }
}

/// Splits an ARN pattern into at most six fields at `:`, ignoring colons inside `${...}` (a
/// variable name such as `${aws:SourceAccount}` contains one).
fn split_arn_fields(raw: &str, variables: bool) -> Vec<&str> {
    let mut fields = Vec::with_capacity(6);
    let (mut start, mut depth) = (0, 0usize);
    let bytes = raw.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'$' if variables && bytes.get(i + 1) == Some(&b'{') => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 && fields.len() < 5 => {
                fields.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(&raw[start..]);
    fields
}

/// One compiled policy value of a condition.
#[derive(Debug, Clone, PartialEq)]
enum CondValue {
    /// String and boolean operators (boolean compares case-insensitively).
    Text(Pattern),
    Arn(ArnPattern),
    Number(f64),
    Date(i128),
    Ip(Cidr),
    Binary(String),
    /// `Null`: `true` means "the key must be absent".
    Null(bool),
}

/// One `operator: { key: values }` entry, compiled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    op: Operator,
    /// Lower-cased condition key.
    key: Box<str>,
    values: Box<[CondValue]>,
}

/// Turns a JSON condition value (string, number, boolean, or array of those) into strings.
fn value_strings(v: &Value) -> Option<Vec<String>> {
    fn one(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    }
}

/// Parses a whole `Condition` element (an object of operator → object of key → values).
pub(crate) fn parse_block(v: &Value, variables: bool) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = v else {
        return Err(PolicyError::syntax("Condition must be an object"));
    };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let op = Operator::parse(op_name)?;
        let Value::Object(keys) = keys else {
            return Err(PolicyError::syntax(format!(
                "Condition operator {op_name} must map to an object"
            )));
        };
        for (key, raw_values) in keys {
            let strings = value_strings(raw_values).ok_or_else(|| {
                PolicyError::syntax(format!("Condition values for {key} must be scalars"))
            })?;
            let bad = |value: &str| PolicyError::InvalidConditionValue {
                operator: op_name.clone(),
                key: key.clone(),
                value: value.to_owned(),
            };
            let values = strings
                .iter()
                .map(|s| {
                    Ok(match op.family {
                        Family::String { like, .. } => CondValue::Text(Pattern::parse(
                            s,
                            Syntax {
                                variables,
                                wildcards: like,
                            },
                        )),
                        Family::Bool => {
                            let p = Pattern::parse(
                                s,
                                Syntax {
                                    variables,
                                    wildcards: false,
                                },
                            );
                            if !p.has_variables()
                                && !s.eq_ignore_ascii_case("true")
                                && !s.eq_ignore_ascii_case("false")
                            {
                                return Err(bad(s));
                            }
                            CondValue::Text(p)
                        }
                        Family::Arn => CondValue::Arn(ArnPattern::parse(s, variables)),
                        Family::Numeric(_) => {
                            CondValue::Number(s.trim().parse::<f64>().map_err(|_| bad(s))?)
                        }
                        Family::Date(_) => CondValue::Date(parse_date(s).ok_or_else(|| bad(s))?),
                        Family::Ip => CondValue::Ip(Cidr::parse(s.trim()).ok_or_else(|| bad(s))?),
                        Family::Binary => CondValue::Binary(s.clone()),
                        Family::Null => match s.to_ascii_lowercase().as_str() {
                            "true" => CondValue::Null(true),
                            "false" => CondValue::Null(false),
                            _ => return Err(bad(s)),
                        },
                    })
                })
                .collect::<Result<Box<[_]>, PolicyError>>()?;
            out.push(Condition {
                op,
                key: key.to_ascii_lowercase().into_boxed_str(),
                values,
            });
        }
    }
    Ok(out)
}

impl Condition {
    /// Whether one context value matches at least one policy value (positive sense).
    fn value_matches(&self, v: &str, ctx: &Context) -> bool {
        self.values.iter().any(|pv| match (self.op.family, pv) {
            (Family::String { ignore_case, .. }, CondValue::Text(p)) => {
                p.matches(v, ctx, ignore_case)
            }
            (Family::Bool, CondValue::Text(p)) => p.matches(v, ctx, true),
            (Family::Arn, CondValue::Arn(p)) => p.matches(v, ctx),
            (Family::Numeric(cmp), CondValue::Number(n)) => {
                v.trim().parse::<f64>().is_ok_and(|x| cmp.holds(x, *n))
            }
            (Family::Date(cmp), CondValue::Date(d)) => {
                parse_date(v).is_some_and(|x| cmp.holds(x, *d))
            }
            (Family::Ip, CondValue::Ip(net)) => {
                v.trim().parse::<IpAddr>().is_ok_and(|ip| net.contains(ip))
            }
            (Family::Binary, CondValue::Binary(b)) => b == v,
            _ => false,
        })
    }

    /// Evaluates the condition against `ctx` (see the module docs for the rules).
    pub(crate) fn holds(&self, ctx: &Context) -> bool {
        let values = ctx.get_lower(&self.key).filter(|v| !v.is_empty());
        if self.op.family == Family::Null {
            let absent = values.is_none();
            return self
                .values
                .iter()
                .any(|pv| matches!(pv, CondValue::Null(want) if *want == absent));
        }
        let Some(values) = values else {
            if self.op.if_exists {
                return true;
            }
            return match self.op.set {
                Some(SetOp::All) => true,
                Some(SetOp::Any) => false,
                None => self.op.negated,
            };
        };
        let pred = |v: &String| self.value_matches(v, ctx) != self.op.negated;
        match (self.op.set, self.op.negated) {
            (Some(SetOp::All), _) | (None, true) => values.iter().all(pred),
            (Some(SetOp::Any), _) | (None, false) => values.iter().any(pred),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Cidr, Operator};

    #[test]
    fn operator_names() {
        for ok in [
            "StringEquals",
            "stringequals",
            "ForAnyValue:StringLike",
            "ForAllValues:StringNotEqualsIfExists",
            "ArnLikeIfExists",
            "Null",
            "NumericGreaterThanEquals",
            "DateLessThan",
            "NotIpAddress",
        ] {
            assert!(Operator::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "StringEqual",
            "NullIfExists",
            "ForAnyValue:Null",
            "ForSomeValues:StringLike",
            "",
            "IfExists",
        ] {
            assert!(Operator::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidr_table() {
        let rows: &[(&str, &str, bool)] = &[
            ("203.0.113.0/24", "203.0.113.7", true),
            ("203.0.113.0/24", "203.0.114.7", false),
            ("203.0.113.9", "203.0.113.9", true),
            ("203.0.113.9", "203.0.113.8", false),
            ("0.0.0.0/0", "198.51.100.1", true),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "2001:db9::5", false),
            ("203.0.113.0/24", "::ffff:203.0.113.5", true),
            ("::/0", "203.0.113.5", false),
        ];
        for &(net, ip, want) in rows {
            let c = Cidr::parse(net).expect("valid test CIDR");
            assert_eq!(
                c.contains(ip.parse().expect("valid test IP")),
                want,
                "{net} ∋ {ip}"
            );
        }
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0/8").is_none());
    }
}
