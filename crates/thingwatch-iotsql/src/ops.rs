//! The operators of *Operators* (iot-sql-operators.html) and `cast` (*Functions*, cast), each
//! following its operand-type table: mismatched or unconvertible operands give `Undefined`,
//! never an error.

use std::cmp::Ordering;

use crate::ast::CastType;
use crate::value::{Num, Value, decimal_to_string, f64_to_i64, whole_to_i64};
use crate::version::SqlVersion;

/// A Decimal result of arithmetic: not finite → Undefined; in 2016-03-23 a whole number is an
/// Int (*Data types*).
pub(crate) fn num_result(d: f64, version: SqlVersion) -> Value {
    if !d.is_finite() {
        return Value::Undefined;
    }
    if version.is_v2()
        && let Some(i) = whole_to_i64(d)
    {
        return Value::Int(i);
    }
    Value::Decimal(d)
}

/// `AND`: Boolean (or "true"/"false" string) operands. A false operand makes the result
/// false even if the other is not Boolean; otherwise a non-Boolean operand gives Undefined.
pub(crate) fn and(l: &Value, r: &Value) -> Value {
    match (l.to_bool(), r.to_bool()) {
        (Some(a), Some(b)) => Value::Boolean(a && b),
        (Some(false), None) | (None, Some(false)) => Value::Boolean(false),
        _ => Value::Undefined,
    }
}

/// `OR`: like [`and`]; a true operand makes the result true.
pub(crate) fn or(l: &Value, r: &Value) -> Value {
    match (l.to_bool(), r.to_bool()) {
        (Some(a), Some(b)) => Value::Boolean(a || b),
        (Some(true), None) | (None, Some(true)) => Value::Boolean(true),
        _ => Value::Undefined,
    }
}

/// `=`: Undefined on either side → Undefined; same types compare by value (Int and Decimal
/// numerically, Arrays item by item in order, Objects by keys and values in any order);
/// mismatched types → false.
pub(crate) fn eq(l: &Value, r: &Value) -> Value {
    if l.is_undefined() || r.is_undefined() {
        return Value::Undefined;
    }
    Value::Boolean(deep_eq(l, r))
}

pub(crate) fn deep_eq(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Int(_) | Value::Decimal(_), Value::Int(_) | Value::Decimal(_)) => {
            num_of(l) == num_of(r)
        }
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Boolean(a), Value::Boolean(b)) => a == b,
        (Value::Null, Value::Null) => true,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| deep_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| deep_eq(v, w)))
        }
        _ => false,
    }
}

fn num_of(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Decimal(d) => *d,
        _ => f64::NAN,
    }
}

/// `< <= > >=`: both operands converted to Decimal (strings must match AWS's decimal
/// pattern); otherwise Undefined.
pub(crate) fn compare(l: &Value, r: &Value, test: impl Fn(Ordering) -> bool) -> Value {
    let ord = match (l.to_num(), r.to_num()) {
        (Some(Num::Int(a)), Some(Num::Int(b))) => a.cmp(&b),
        (Some(a), Some(b)) => match a.as_f64().partial_cmp(&b.as_f64()) {
            Some(o) => o,
            None => return Value::Undefined,
        },
        _ => return Value::Undefined,
    };
    Value::Boolean(test(ord))
}

/// `x IN array`: whether the array holds an item equal to `x`; Undefined when `x` is
/// Undefined or the right operand is not an Array.
pub(crate) fn in_array(l: &Value, r: &Value) -> Value {
    match r {
        Value::Array(items) if !l.is_undefined() => {
            Value::Boolean(items.iter().any(|i| deep_eq(l, i)))
        }
        _ => Value::Undefined,
    }
}

/// `+`: a String on either side concatenates the other operand's string form; Int + Int is
/// an Int; Int/Decimal mixes are Decimal; anything else Undefined.
pub(crate) fn add(l: &Value, r: &Value, version: SqlVersion) -> Value {
    match (l, r) {
        (Value::String(a), other) => match other.to_sql_string() {
            Some(b) => Value::String(format!("{a}{b}")),
            None => Value::Undefined,
        },
        (other, Value::String(b)) => match other.to_sql_string() {
            Some(a) => Value::String(format!("{a}{b}")),
            None => Value::Undefined,
        },
        _ => arith(l, r, version, i64::checked_add, |a, b| a + b),
    }
}

/// `- *` (and the numeric part of `+`): Int op Int is an Int (a Decimal on overflow);
/// Int/Decimal/decimal-String operands give a Decimal; anything else Undefined.
pub(crate) fn arith(
    l: &Value,
    r: &Value,
    version: SqlVersion,
    int_op: fn(i64, i64) -> Option<i64>,
    dec_op: fn(f64, f64) -> f64,
) -> Value {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => match int_op(*a, *b) {
            Some(i) => Value::Int(i),
            None => Value::decimal(dec_op(*a as f64, *b as f64)),
        },
        _ => match (l.to_num(), r.to_num()) {
            (Some(a), Some(b)) => num_result(dec_op(a.as_f64(), b.as_f64()), version),
            _ => Value::Undefined,
        },
    }
}

/// `/`: Int / Int is an Int (truncated); division by zero is Undefined.
pub(crate) fn div(l: &Value, r: &Value, version: SqlVersion) -> Value {
    match (l, r) {
        (Value::Int(_), Value::Int(0)) => Value::Undefined,
        (Value::Int(a), Value::Int(b)) => a.checked_div(*b).map_or(Value::Undefined, Value::Int),
        _ => match (l.to_num(), r.to_num()) {
            (Some(_), Some(b)) if b.as_f64() == 0.0 => Value::Undefined,
            (Some(a), Some(b)) => num_result(a.as_f64() / b.as_f64(), version),
            _ => Value::Undefined,
        },
    }
}

/// `%`, `mod()`, `remainder()`: the remainder with the sign of the dividend; by zero →
/// Undefined.
pub(crate) fn rem(l: &Value, r: &Value, version: SqlVersion) -> Value {
    match (l, r) {
        (Value::Int(_), Value::Int(0)) => Value::Undefined,
        (Value::Int(a), Value::Int(b)) => a.checked_rem(*b).map_or(Value::Int(0), Value::Int),
        _ => match (l.to_num(), r.to_num()) {
            (Some(_), Some(b)) if b.as_f64() == 0.0 => Value::Undefined,
            (Some(a), Some(b)) => num_result(a.as_f64() % b.as_f64(), version),
            _ => Value::Undefined,
        },
    }
}

/// Unary minus.
pub(crate) fn neg(v: &Value, version: SqlVersion) -> Value {
    match v {
        Value::Int(i) => i
            .checked_neg()
            .map_or_else(|| Value::decimal(-(*i as f64)), Value::Int),
        other => match other.to_num() {
            Some(n) => num_result(-n.as_f64(), version),
            None => Value::Undefined,
        },
    }
}

/// `cast(v AS type)` (*Functions*, cast): the standard conversions plus numbers ↔ Booleans.
pub(crate) fn cast(v: &Value, ty: CastType, version: SqlVersion) -> Value {
    match ty {
        CastType::String => match v {
            Value::Decimal(d) => Value::String(decimal_to_string(*d)),
            other => other
                .to_sql_string()
                .map_or(Value::Undefined, Value::String),
        },
        CastType::Int => match v {
            Value::Boolean(b) => Value::Int(i64::from(*b)),
            Value::Int(i) => Value::Int(*i),
            other => match other.to_num() {
                Some(n) => f64_to_i64(n.as_f64().floor()).map_or(Value::Undefined, Value::Int),
                None => Value::Undefined,
            },
        },
        CastType::Double | CastType::Decimal => {
            let d = match v {
                Value::Boolean(b) => f64::from(u8::from(*b)),
                other => match other.to_f64() {
                    Some(d) => d,
                    None => return Value::Undefined,
                },
            };
            if ty == CastType::Decimal {
                num_result(d, version)
            } else {
                Value::decimal(d)
            }
        }
        CastType::Boolean => match v {
            Value::Int(i) => Value::Boolean(*i != 0),
            Value::Decimal(d) => Value::Boolean(*d != 0.0),
            other => other.to_bool().map_or(Value::Undefined, Value::Boolean),
        },
    }
}
