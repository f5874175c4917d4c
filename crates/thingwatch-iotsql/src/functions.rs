//! The built-in functions of *Functions* (iot-sql-functions.html): the table of names,
//! argument counts and the SQL version that introduced each (checked at parse time), and
//! their evaluation with AWS's argument-conversion rules (an argument that cannot be
//! converted makes the result `Undefined`). Functions that reach other services or the
//! publisher's identity go through [`Context`](crate::Context).

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::{LazyLock, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use regex::Regex;

use crate::ast::Expr;
use crate::error::EvalError;
use crate::eval::Env;
use crate::ops::{self, num_result};
use crate::timefmt;
use crate::value::{Num, Object, Value, f64_to_i64};
use crate::version::SqlVersion;

/// One built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Abs,
    AccountId,
    Acos,
    Asin,
    Atan,
    Atan2,
    AwsLambda,
    BitAnd,
    BitOr,
    BitXor,
    BitNot,
    Ceil,
    Chr,
    ClientId,
    Concat,
    Cos,
    Cosh,
    Decode,
    Encode,
    EndsWith,
    Exp,
    Floor,
    Get,
    GetDynamoDb,
    GetMqttProperty,
    GetOrDefault,
    GetUserProperties,
    GetRegistryData,
    GetSecret,
    GetThingShadow,
    Md2,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    IndexOf,
    IsNull,
    IsUndefined,
    Length,
    Ln,
    Log,
    Lower,
    Lpad,
    Ltrim,
    MlPredict,
    Mod,
    Nanvl,
    NewUuid,
    NumBytes,
    ParseTime,
    Power,
    Principal,
    Rand,
    RegexpMatches,
    RegexpReplace,
    RegexpSubstr,
    Remainder,
    Replace,
    Rpad,
    Round,
    Rtrim,
    Sign,
    Sin,
    Sinh,
    SourceIp,
    Substring,
    SqlVersionFn,
    Sqrt,
    StartsWith,
    Tan,
    Tanh,
    TimeToEpoch,
    Timestamp,
    Topic,
    TraceId,
    Transform,
    Trim,
    Trunc,
    Upper,
}

/// A function's name, accepted argument counts and first SQL version.
pub(crate) struct FuncDef {
    pub(crate) name: &'static str,
    pub(crate) func: Func,
    pub(crate) arity: RangeInclusive<usize>,
    /// Extra accepted counts outside `arity`'s steps (for `4 or 6`).
    pub(crate) not: Option<usize>,
    pub(crate) since: SqlVersion,
}

impl FuncDef {
    pub(crate) fn accepts(&self, n: usize) -> bool {
        self.arity.contains(&n) && self.not != Some(n)
    }

    pub(crate) fn arity_text(&self) -> String {
        let (lo, hi) = (*self.arity.start(), *self.arity.end());
        match (lo, hi, self.not) {
            (lo, hi, _) if lo == hi => lo.to_string(),
            (lo, usize::MAX, _) => format!("at least {lo}"),
            (lo, hi, Some(_)) => format!("{lo} or {hi}"),
            (lo, hi, None) if hi == lo + 1 => format!("{lo} or {hi}"),
            (lo, hi, None) => format!("{lo} to {hi}"),
        }
    }
}

const V1: SqlVersion = SqlVersion::V2015_10_08;
const V2: SqlVersion = SqlVersion::V2016_03_23;

macro_rules! defs {
    ($( $name:literal => $f:ident, $lo:literal ..= $hi:expr, $since:ident $(, not $not:literal)? ;)*) => {
        &[$( FuncDef { name: $name, func: Func::$f, arity: $lo..=$hi, not: defs!(@not $($not)?), since: $since }, )*]
    };
    (@not) => { None };
    (@not $n:literal) => { Some($n) };
}

/// Every function, with the version its documentation says introduced it.
static FUNCS: &[FuncDef] = defs! {
    "abs" => Abs, 1..=1, V1;
    "accountid" => AccountId, 0..=0, V1;
    "acos" => Acos, 1..=1, V1;
    "asin" => Asin, 1..=1, V1;
    "atan" => Atan, 1..=1, V1;
    "atan2" => Atan2, 2..=2, V1;
    "aws_lambda" => AwsLambda, 2..=2, V1;
    "bitand" => BitAnd, 2..=2, V1;
    "bitor" => BitOr, 2..=2, V1;
    "bitxor" => BitXor, 2..=2, V1;
    "bitnot" => BitNot, 1..=1, V1;
    "ceil" => Ceil, 1..=1, V1;
    "chr" => Chr, 1..=1, V1;
    "clientid" => ClientId, 0..=0, V1;
    "concat" => Concat, 0..=usize::MAX, V1;
    "cos" => Cos, 1..=1, V1;
    "cosh" => Cosh, 1..=1, V1;
    "decode" => Decode, 2..=2, V2;
    "encode" => Encode, 2..=2, V2;
    "endswith" => EndsWith, 2..=2, V1;
    "exp" => Exp, 1..=1, V1;
    "floor" => Floor, 1..=1, V1;
    "get" => Get, 2..=2, V1;
    "get_dynamodb" => GetDynamoDb, 4..=6, V2, not 5;
    "get_mqtt_property" => GetMqttProperty, 1..=1, V2;
    "get_or_default" => GetOrDefault, 2..=2, V2;
    "get_user_properties" => GetUserProperties, 1..=1, V2;
    "get_registry_data" => GetRegistryData, 3..=3, V2;
    "get_secret" => GetSecret, 3..=4, V2;
    "get_thing_shadow" => GetThingShadow, 2..=3, V2;
    "md2" => Md2, 1..=1, V1;
    "md5" => Md5, 1..=1, V1;
    "sha1" => Sha1, 1..=1, V1;
    "sha224" => Sha224, 1..=1, V1;
    "sha256" => Sha256, 1..=1, V1;
    "sha384" => Sha384, 1..=1, V1;
    "sha512" => Sha512, 1..=1, V1;
    "indexof" => IndexOf, 2..=2, V2;
    "isnull" => IsNull, 1..=1, V1;
    "isundefined" => IsUndefined, 1..=1, V2;
    "length" => Length, 1..=1, V2;
    "ln" => Ln, 1..=1, V1;
    "log" => Log, 1..=1, V1;
    "lower" => Lower, 1..=1, V1;
    "lpad" => Lpad, 2..=2, V1;
    "ltrim" => Ltrim, 1..=1, V1;
    "machinelearning_predict" => MlPredict, 3..=3, V1;
    "mod" => Mod, 2..=2, V1;
    "nanvl" => Nanvl, 2..=2, V1;
    "newuuid" => NewUuid, 0..=0, V1;
    "numbytes" => NumBytes, 1..=1, V2;
    "parse_time" => ParseTime, 2..=3, V2;
    "power" => Power, 2..=2, V1;
    "principal" => Principal, 0..=0, V1;
    "rand" => Rand, 0..=0, V1;
    "regexp_matches" => RegexpMatches, 2..=2, V1;
    "regexp_replace" => RegexpReplace, 3..=3, V1;
    "regexp_substr" => RegexpSubstr, 2..=2, V1;
    "remainder" => Remainder, 2..=2, V1;
    "replace" => Replace, 3..=3, V1;
    "rpad" => Rpad, 2..=2, V1;
    "round" => Round, 1..=1, V1;
    "rtrim" => Rtrim, 1..=1, V1;
    "sign" => Sign, 1..=1, V1;
    "sin" => Sin, 1..=1, V1;
    "sinh" => Sinh, 1..=1, V1;
    "sourceip" => SourceIp, 0..=0, V2;
    "substring" => Substring, 2..=3, V1;
    "sql_version" => SqlVersionFn, 0..=0, V1;
    "sqrt" => Sqrt, 1..=1, V1;
    "startswith" => StartsWith, 2..=2, V1;
    "tan" => Tan, 1..=1, V1;
    "tanh" => Tanh, 1..=1, V1;
    "time_to_epoch" => TimeToEpoch, 2..=2, V2;
    "timestamp" => Timestamp, 0..=0, V1;
    "topic" => Topic, 0..=1, V1;
    "traceid" => TraceId, 0..=0, V1;
    "transform" => Transform, 3..=3, V2;
    "trim" => Trim, 1..=1, V1;
    "trunc" => Trunc, 2..=2, V1;
    "upper" => Upper, 1..=1, V1;
};

/// The function named `name` (case-insensitive).
pub(crate) fn lookup(name: &str) -> Option<&'static FuncDef> {
    FUNCS.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// The documented name of `f`.
pub(crate) fn name_of(f: Func) -> &'static str {
    FUNCS.iter().find(|d| d.func == f).map_or("", |d| d.name)
}

/// The names of every supported function, in table order.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCS.iter().map(|d| d.name)
}

/// Evaluates `f(args)`.
pub(crate) fn call(f: Func, args: &[Expr], env: &Env<'_>) -> Result<Value, EvalError> {
    use Func::*;
    // Functions that look at an argument's syntax or call out, before eager evaluation.
    if f == Encode {
        return encode(args, env);
    }
    let a: Vec<Value> = args.iter().map(|e| env.eval(e)).collect::<Result<_, _>>()?;
    let v = env.version;
    let ctx = env.ctx;
    Ok(match f {
        Abs => match &a[0] {
            Value::Int(i) => i.checked_abs().map_or(Value::Undefined, Value::Int),
            other => other
                .to_f64()
                .map_or(Value::Undefined, |d| num_result(d.abs(), v)),
        },
        AccountId => Value::String(ctx.accountid()),
        Acos => math(&a[0], f64::acos),
        Asin => math(&a[0], f64::asin),
        Atan => math(&a[0], f64::atan),
        Atan2 => math2(&a[0], &a[1], f64::atan2),
        Cos => math(&a[0], f64::cos),
        Cosh => math(&a[0], f64::cosh),
        Exp => math(&a[0], f64::exp),
        Ln => math(&a[0], f64::ln),
        Log => math(&a[0], f64::log10),
        Power => math2(&a[0], &a[1], f64::powf),
        Sin => math(&a[0], f64::sin),
        Sinh => math(&a[0], f64::sinh),
        Sqrt => math(&a[0], f64::sqrt),
        Tan => math(&a[0], f64::tan),
        Tanh => math(&a[0], f64::tanh),
        AwsLambda => {
            let arn = string_arg(&a[0]);
            external("aws_lambda", arn.map(|arn| ctx.aws_lambda(&arn, &a[1])))?
        }
        BitAnd => bit2(&a[0], &a[1], |x, y| x & y),
        BitOr => bit2(&a[0], &a[1], |x, y| x | y),
        BitXor => bit2(&a[0], &a[1], |x, y| x ^ y),
        BitNot => a[0]
            .to_int_floor()
            .map_or(Value::Undefined, |x| Value::Int(!x)),
        Ceil => round_with(&a[0], f64::ceil),
        Floor => round_with(&a[0], f64::floor),
        Round => round_with(&a[0], f64::round),
        Sign => match a[0].to_num() {
            Some(Num::Int(i)) => Value::Int(i.signum()),
            Some(Num::Dec(0.0)) => Value::Int(0),
            Some(Num::Dec(d)) => Value::Int(if d > 0.0 { 1 } else { -1 }),
            None => Value::Undefined,
        },
        Chr => match a[0].to_int_floor() {
            Some(c @ 0..=127) => Value::String(char::from(c as u8).to_string()),
            _ => Value::Undefined,
        },
        ClientId => Value::String(ctx.clientid().unwrap_or_else(|| "n/a".into())),
        Concat => concat(a),
        Decode => decode(&a[0], &a[1], v),
        Encode => Value::Undefined,
        EndsWith => str2(&a[0], &a[1], |x, y| Value::Boolean(x.ends_with(y))),
        StartsWith => str2(&a[0], &a[1], |x, y| Value::Boolean(x.starts_with(y))),
        IndexOf => str2(&a[0], &a[1], |x, y| {
            Value::Int(x.find(y).map_or(-1, |b| x[..b].chars().count() as i64))
        }),
        Get => get(&a[0], &a[1]),
        GetDynamoDb => {
            let s: Vec<Option<String>> = a.iter().map(string_arg).collect();
            let role = s[a.len() - 1].clone();
            let (Some(table), Some(pk), Some(role)) = (s[0].clone(), s[1].clone(), role) else {
                return Ok(Value::Undefined);
            };
            let mut keys = vec![(pk, a[2].clone())];
            if a.len() == 6 {
                let Some(sk) = s[3].clone() else {
                    return Ok(Value::Undefined);
                };
                keys.push((sk, a[4].clone()));
            }
            external("get_dynamodb", Some(ctx.get_dynamodb(&table, &keys, &role)))?
        }
        GetMqttProperty => mqtt_property(&a[0], env),
        GetOrDefault => match &a[0] {
            Value::Undefined | Value::Null => a[1].clone(),
            other => other.clone(),
        },
        GetUserProperties => match &a[0] {
            Value::String(key) => {
                let values: Vec<Value> = env
                    .msg
                    .properties()
                    .user_properties
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| Value::string(v.clone()))
                    .collect();
                if values.is_empty() {
                    Value::Undefined
                } else {
                    Value::Array(values)
                }
            }
            _ => Value::Undefined,
        },
        GetRegistryData => {
            let s: Vec<Option<String>> = a.iter().map(string_arg).collect();
            let (Some(api), Some(thing), Some(role)) = (&s[0], &s[1], &s[2]) else {
                return Ok(Value::Undefined);
            };
            external(
                "get_registry_data",
                Some(ctx.get_registry_data(api, thing, role)),
            )?
        }
        GetSecret => {
            let s: Vec<Option<String>> = a.iter().map(string_arg).collect();
            let key = if a.len() == 4 { s[2].clone() } else { None };
            let (Some(id), Some(ty), Some(role)) = (&s[0], &s[1], &s[a.len() - 1]) else {
                return Ok(Value::Undefined);
            };
            external(
                "get_secret",
                Some(ctx.get_secret(id, ty, key.as_deref(), role)),
            )?
        }
        GetThingShadow => {
            let s: Vec<Option<String>> = a.iter().map(string_arg).collect();
            let shadow = if a.len() == 3 { s[1].clone() } else { None };
            let (Some(thing), Some(role)) = (&s[0], &s[a.len() - 1]) else {
                return Ok(Value::Undefined);
            };
            let mut doc = external(
                "get_thing_shadow",
                Some(ctx.get_thing_shadow(thing, shadow.as_deref(), role)),
            )?;
            if v.is_v2() {
                doc.whole_decimals_to_int();
            }
            doc
        }
        MlPredict => {
            let (Some(model), Some(role)) = (string_arg(&a[0]), string_arg(&a[1])) else {
                return Ok(Value::Undefined);
            };
            external(
                "machinelearning_predict",
                Some(ctx.machinelearning_predict(&model, &role, &a[2])),
            )?
        }
        Md2 => hash::<md2::Md2>(&a[0]),
        Md5 => hash::<md5::Md5>(&a[0]),
        Sha1 => hash::<sha1::Sha1>(&a[0]),
        Sha224 => hash::<sha2::Sha224>(&a[0]),
        Sha256 => hash::<sha2::Sha256>(&a[0]),
        Sha384 => hash::<sha2::Sha384>(&a[0]),
        Sha512 => hash::<sha2::Sha512>(&a[0]),
        IsNull => Value::Boolean(matches!(a[0], Value::Null)),
        IsUndefined => Value::Boolean(a[0].is_undefined()),
        Length => str1(&a[0], |s| Value::Int(s.chars().count() as i64)),
        NumBytes => str1(&a[0], |s| Value::Int(s.len() as i64)),
        Lower => str1(&a[0], |s| Value::String(s.to_lowercase())),
        Upper => str1(&a[0], |s| Value::String(s.to_uppercase())),
        Ltrim => str1(&a[0], |s| Value::string(s.trim_start())),
        Rtrim => str1(&a[0], |s| Value::string(s.trim_end())),
        Trim => str1(&a[0], |s| Value::string(s.trim())),
        Lpad => pad(&a[0], &a[1], true),
        Rpad => pad(&a[0], &a[1], false),
        Mod | Remainder => ops::rem(&a[0], &a[1], v),
        Nanvl => match &a[0] {
            Value::Undefined | Value::Null => a[1].clone(),
            Value::Decimal(d) if d.is_nan() => a[1].clone(),
            other => other.clone(),
        },
        NewUuid => Value::String(ctx.newuuid()),
        ParseTime => {
            let (Some(pattern), Some(ms)) = (string_arg(&a[0]), a[1].to_int_floor()) else {
                return Ok(Value::Undefined);
            };
            let tz = match a.get(2) {
                Some(t) => match string_arg(t) {
                    Some(t) => t,
                    None => return Ok(Value::Undefined),
                },
                None => "UTC".to_string(),
            };
            timefmt::format(&pattern, ms, &tz).map_or(Value::Undefined, Value::String)
        }
        TimeToEpoch => match (string_arg(&a[0]), string_arg(&a[1])) {
            (Some(ts), Some(pattern)) => {
                timefmt::parse(&ts, &pattern).map_or(Value::Undefined, Value::Int)
            }
            _ => Value::Undefined,
        },
        Principal => ctx.principal().map_or(Value::Undefined, Value::String),
        Rand => Value::Decimal(ctx.rand()),
        RegexpMatches => match (string_arg(&a[0]), string_arg(&a[1]).and_then(|r| regex(&r))) {
            (Some(s), Some(re)) => Value::Boolean(re.is_match(&s)),
            _ => Value::Undefined,
        },
        RegexpReplace => match (
            string_arg(&a[0]),
            string_arg(&a[1]).and_then(|r| regex(&r)),
            string_arg(&a[2]),
        ) {
            (Some(s), Some(re), Some(rep)) => Value::String(
                re.replace_all(&s, java_replacement(&rep).as_str())
                    .into_owned(),
            ),
            _ => Value::Undefined,
        },
        RegexpSubstr => match (string_arg(&a[0]), string_arg(&a[1]).and_then(|r| regex(&r))) {
            (Some(s), Some(re)) => Value::string(re.find(&s).map_or("", |m| m.as_str())),
            _ => Value::Undefined,
        },
        Replace => match (string_arg(&a[0]), string_arg(&a[1]), string_arg(&a[2])) {
            (Some(s), Some(from), Some(to)) if !from.is_empty() => {
                Value::String(s.replace(&from, &to))
            }
            (Some(s), Some(_), Some(_)) => Value::String(s),
            _ => Value::Undefined,
        },
        SourceIp => ctx.sourceip().map_or(Value::Undefined, Value::String),
        Substring => substring(&a),
        SqlVersionFn => Value::string(v.as_str()),
        Timestamp => Value::Int(ctx.timestamp()),
        Topic => topic(&a, env),
        TraceId => ctx.traceid().map_or(Value::Undefined, Value::String),
        Transform => transform(&a),
        Trunc => trunc(&a[0], &a[1]),
    })
}

/// An external call's result; `None` (an argument was not a string) is Undefined.
fn external(function: &'static str, r: Option<Result<Value, String>>) -> Result<Value, EvalError> {
    match r {
        None => Ok(Value::Undefined),
        Some(Ok(v)) => Ok(v),
        Some(Err(message)) => Err(EvalError::External { function, message }),
    }
}

/// The standard string conversion of an argument (`None` for Null/Undefined).
fn string_arg(v: &Value) -> Option<String> {
    v.to_sql_string()
}

/// A double-precision math function; NaN and infinite results are Undefined.
fn math(x: &Value, f: fn(f64) -> f64) -> Value {
    x.to_f64()
        .map_or(Value::Undefined, |d| Value::decimal(f(d)))
}

fn math2(x: &Value, y: &Value, f: fn(f64, f64) -> f64) -> Value {
    match (x.to_f64(), y.to_f64()) {
        (Some(a), Some(b)) => Value::decimal(f(a, b)),
        _ => Value::Undefined,
    }
}

fn bit2(x: &Value, y: &Value, f: fn(i64, i64) -> i64) -> Value {
    match (x.to_int_floor(), y.to_int_floor()) {
        (Some(a), Some(b)) => Value::Int(f(a, b)),
        _ => Value::Undefined,
    }
}

/// `ceil`/`floor`/`round`: Int unchanged, Decimal or decimal String rounded to an Int.
fn round_with(x: &Value, f: fn(f64) -> f64) -> Value {
    match x.to_num() {
        Some(Num::Int(i)) => Value::Int(i),
        Some(Num::Dec(d)) => f64_to_i64(f(d)).map_or(Value::Undefined, Value::Int),
        None => Value::Undefined,
    }
}

fn str1(x: &Value, f: impl FnOnce(&str) -> Value) -> Value {
    string_arg(x).map_or(Value::Undefined, |s| f(&s))
}

fn str2(x: &Value, y: &Value, f: impl FnOnce(&str, &str) -> Value) -> Value {
    match (string_arg(x), string_arg(y)) {
        (Some(a), Some(b)) => f(&a, &b),
        _ => Value::Undefined,
    }
}

/// `concat`: no arguments → Undefined; one → itself (a non-Array as its string form, as the
/// `concat(1) = "1"` example shows); with any Array, one Array of every argument (Arrays
/// flattened one level); otherwise the concatenated string forms.
fn concat(a: Vec<Value>) -> Value {
    if a.iter().any(Value::is_undefined) {
        return Value::Undefined;
    }
    match a.len() {
        0 => Value::Undefined,
        1 => match &a[0] {
            Value::Array(_) | Value::Object(_) => a[0].clone(),
            other => other
                .to_sql_string()
                .map_or(Value::Undefined, Value::String),
        },
        _ if a.iter().any(|v| matches!(v, Value::Array(_))) => {
            let mut out = Vec::new();
            for v in a {
                match v {
                    Value::Array(items) => out.extend(items),
                    other => out.push(other),
                }
            }
            Value::Array(out)
        }
        _ => {
            let mut s = String::new();
            for v in &a {
                match v.to_sql_string() {
                    Some(p) => s.push_str(&p),
                    None => return Value::Undefined,
                }
            }
            Value::String(s)
        }
    }
}

/// `encode(value, 'base64')`: `*` at the top level encodes the raw payload bytes (JSON or
/// not); any other value is converted to a string first.
fn encode(args: &[Expr], env: &Env<'_>) -> Result<Value, EvalError> {
    let scheme = env.eval(&args[1])?;
    if !matches!(&scheme, Value::String(s) if s.eq_ignore_ascii_case("base64")) {
        return Ok(Value::Undefined);
    }
    if matches!(args[0], Expr::Wildcard) && env.top {
        return Ok(Value::String(B64.encode(env.msg.payload())));
    }
    Ok(match env.eval(&args[0])?.to_sql_string() {
        Some(s) => Value::String(B64.encode(s.as_bytes())),
        None => Value::Undefined,
    })
}

/// `decode(value, 'base64')`: a decoded JSON document becomes an addressable value, other
/// UTF-8 text a String; what cannot be decoded is Null.
fn decode(x: &Value, scheme: &Value, version: SqlVersion) -> Value {
    if !matches!(scheme, Value::String(s) if s.eq_ignore_ascii_case("base64")) {
        return Value::Undefined;
    }
    let Some(s) = string_arg(x) else {
        return Value::Undefined;
    };
    let Ok(bytes) = B64.decode(s.trim().as_bytes()) else {
        return Value::Null;
    };
    if let Some(mut v) = Value::from_json_slice(&bytes) {
        if version.is_v2() {
            v.whole_decimals_to_int();
        }
        return v;
    }
    String::from_utf8(bytes).map_or(Value::Null, Value::String)
}

/// `get(collection, key)`: Array and String by 0-based index (converted to Int), Object by
/// String key (no conversion).
fn get(coll: &Value, key: &Value) -> Value {
    match coll {
        Value::Array(items) => match key.to_int_standard() {
            Some(i) if i >= 0 => items.get(i as usize).cloned().unwrap_or_default(),
            _ => Value::Undefined,
        },
        Value::String(s) => match key.to_int_standard() {
            Some(i) if i >= 0 => s
                .chars()
                .nth(i as usize)
                .map_or(Value::Undefined, |c| Value::String(c.to_string())),
            _ => Value::Undefined,
        },
        Value::Object(o) => match key {
            Value::String(k) => o.get(k).cloned().unwrap_or_default(),
            _ => Value::Undefined,
        },
        _ => Value::Undefined,
    }
}

/// `md2`…`sha512`: the lowercase hex digest of the argument's string form.
fn hash<D: sha2::Digest>(x: &Value) -> Value {
    str1(x, |s| {
        let digest = D::digest(s.as_bytes());
        Value::String(digest.iter().map(|b| format!("{b:02x}")).collect())
    })
}

/// `lpad`/`rpad`: the string form padded with `n` spaces, `n` floored and clamped to 0..=1000.
fn pad(s: &Value, n: &Value, left: bool) -> Value {
    let Some(s) = string_arg(s) else {
        return Value::Undefined;
    };
    let n = match n {
        Value::Int(_) | Value::Decimal(_) | Value::String(_) => match n.to_f64() {
            Some(d) => d.floor().clamp(0.0, 1000.0) as usize,
            None => return Value::Undefined,
        },
        _ => return Value::Undefined,
    };
    let spaces = " ".repeat(n);
    Value::String(if left { spaces + &s } else { s + &spaces })
}

/// A number floored to an index, saturating (so `-2.411E247` is a very negative index).
fn index_arg(v: &Value) -> Option<i64> {
    let d = v.to_f64()?.floor();
    Some(d.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

/// `substring(s, start[, end])`: 0-based, end exclusive, indices clamped to the string.
fn substring(a: &[Value]) -> Value {
    let Some(s) = string_arg(&a[0]) else {
        return Value::Undefined;
    };
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let Some(start) = index_arg(&a[1]) else {
        return Value::Undefined;
    };
    let end = match a.get(2) {
        Some(e) => match index_arg(e) {
            Some(e) => e,
            None => return Value::Undefined,
        },
        None => len,
    };
    let (start, end) = (start.clamp(0, len) as usize, end.clamp(0, len) as usize);
    if start >= end {
        return Value::string("");
    }
    Value::String(chars[start..end].iter().collect())
}

/// `topic([n])`: the whole topic, or its n-th level counted from 1.
fn topic(a: &[Value], env: &Env<'_>) -> Value {
    let t = env.msg.rule_topic();
    match a.first() {
        None => Value::string(t),
        Some(n) => match n.to_int_floor() {
            Some(n) if n >= 1 => t
                .split('/')
                .nth(n as usize - 1)
                .map_or(Value::Undefined, Value::string),
            _ => Value::Undefined,
        },
    }
}

/// `transform('enrichArray', object, array)`: each object of the array with the object's
/// attributes added.
fn transform(a: &[Value]) -> Value {
    let (Value::String(mode), Value::Object(attrs), Value::Array(items)) = (&a[0], &a[1], &a[2])
    else {
        return Value::Undefined;
    };
    if mode != "enrichArray" {
        return Value::Undefined;
    }
    Value::Array(
        items
            .iter()
            .filter_map(|i| match i {
                Value::Object(o) => {
                    let mut out: Object = o.clone();
                    for (k, v) in attrs.iter() {
                        out.insert(k, v.clone());
                    }
                    Some(Value::Object(out))
                }
                _ => None,
            })
            .collect(),
    )
}

/// `trunc(x, n)`: `x` truncated (toward zero) to `n` decimal places, `n` floored and clamped
/// to 0..=34, trailing zeros stripped (a whole result is an Int).
fn trunc(x: &Value, n: &Value) -> Value {
    if let (Value::Int(i), Value::Int(_)) = (x, n) {
        return Value::Int(*i);
    }
    let (Some(d), Some(places)) = (x.to_f64(), n.to_int_floor()) else {
        return Value::Undefined;
    };
    let places = places.clamp(0, 34) as usize;
    let text = crate::value::decimal_to_string(d);
    let truncated = if text.contains(['e', 'E']) {
        let p = 10f64.powi(places as i32);
        (d * p).trunc() / p
    } else {
        match text.split_once('.') {
            Some((int, frac)) => {
                let frac: String = frac.chars().take(places).collect();
                format!("{int}.{frac}0").parse().unwrap_or(d)
            }
            None => d,
        }
    };
    match crate::value::whole_to_i64(truncated) {
        Some(i) => Value::Int(i),
        None => Value::decimal(truncated),
    }
}

/// `get_mqtt_property(name)`: an MQTT 5 property of the message, or a user property by name.
fn mqtt_property(name: &Value, env: &Env<'_>) -> Value {
    let Value::String(name) = name else {
        return Value::Undefined;
    };
    let p = env.msg.properties();
    match name.as_str() {
        "format_indicator" => p.payload_format_utf8.map_or(Value::Undefined, |u| {
            Value::string(if u { "UTF8_DATA" } else { "UNSPECIFIED_BYTES" })
        }),
        "content_type" => p
            .content_type
            .clone()
            .map_or(Value::Undefined, Value::String),
        "response_topic" => p
            .response_topic
            .clone()
            .map_or(Value::Undefined, Value::String),
        "correlation_data" => p
            .correlation_data
            .as_ref()
            .map_or(Value::Undefined, |d| Value::String(B64.encode(d))),
        other => p
            .user_properties
            .iter()
            .find(|(k, _)| k == other)
            .map_or(Value::Undefined, |(_, v)| Value::string(v.clone())),
    }
}

/// Compiled regular expressions by pattern text, so a rule's literal pattern is compiled
/// once. Bounded: cleared when it reaches [`REGEX_CACHE_MAX`] entries.
static REGEX_CACHE: LazyLock<Mutex<HashMap<String, Regex>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const REGEX_CACHE_MAX: usize = 512;

/// The regex for `pattern`, `None` when it is not a valid expression (the function is then
/// Undefined). Rust's `regex` syntax stands in for Java's (no look-around or back-references).
fn regex(pattern: &str) -> Option<Regex> {
    let mut cache = REGEX_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = cache.get(pattern) {
        return Some(r.clone());
    }
    let r = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .ok()?;
    if cache.len() >= REGEX_CACHE_MAX {
        cache.clear();
    }
    cache.insert(pattern.to_string(), r.clone());
    Some(r)
}

/// A Java replacement string (`$1` groups, `\$` a literal dollar) in `regex` crate syntax.
fn java_replacement(rep: &str) -> String {
    let mut out = String::with_capacity(rep.len());
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(o) => out.push(o),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    out
}
