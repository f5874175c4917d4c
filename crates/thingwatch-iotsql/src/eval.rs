//! Evaluation: [`Message`] (topic, payload bytes, MQTT 5 properties), the [`Context`] the
//! rules engine supplies (identity of the publisher, clock, randomness, external functions),
//! [`Statement`] (a parsed rule query) and its [`Output`].
//!
//! Order, as *WHERE clause* (iot-sql-where.html) says: the FROM filter is matched, then WHERE
//! is evaluated on the incoming payload (SELECT aliases are not visible to it), then SELECT
//! builds the outgoing payload.

use std::sync::OnceLock;

use crate::ast::{BinOp, Expr, Query, SelectItem};
use crate::error::{EvalError, SqlParseError};
use crate::functions;
use crate::ops;
use crate::parser::Parser;
use crate::topic::TopicFilter;
use crate::value::{Object, Value};
use crate::version::SqlVersion;

/// MQTT 5 properties of the incoming message, read by `get_mqtt_property()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MqttProperties {
    /// Payload format indicator: `Some(true)` for UTF-8 data, `Some(false)` for unspecified
    /// bytes.
    pub payload_format_utf8: Option<bool>,
    /// Content type.
    pub content_type: Option<String>,
    /// Response topic.
    pub response_topic: Option<String>,
    /// Correlation data (returned base64-encoded, as AWS does).
    pub correlation_data: Option<Vec<u8>>,
    /// User properties, in order; a name may repeat.
    pub user_properties: Vec<(String, String)>,
}

/// One incoming message: the topic it was published to, its payload bytes and properties.
///
/// The payload is decoded as JSON at most once per SQL-version family (lazily), so one
/// `Message` can be evaluated by every matching rule. A payload that is not JSON (including
/// an empty one) is a *binary payload* (binary-payloads.html): `SELECT *` returns its raw
/// bytes, `encode(*, 'base64')` encodes them, and field references evaluate to `Undefined`.
#[derive(Debug)]
pub struct Message {
    topic: String,
    payload: Vec<u8>,
    properties: MqttProperties,
    faithful: OnceLock<Option<Value>>,
    whole_as_int: OnceLock<Option<Value>>,
}

impl Message {
    /// A message published to `topic` (a topic name, not a filter) with `payload`.
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Message {
            topic: topic.into(),
            payload: payload.into(),
            properties: MqttProperties::default(),
            faithful: OnceLock::new(),
            whole_as_int: OnceLock::new(),
        }
    }

    /// The same message with MQTT 5 properties.
    pub fn with_properties(mut self, properties: MqttProperties) -> Self {
        self.properties = properties;
        self
    }

    /// The topic as published.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The raw payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The MQTT 5 properties.
    pub fn properties(&self) -> &MqttProperties {
        &self.properties
    }

    /// The topic as the SQL sees it: for Basic Ingest (`$aws/rules/<rule>/…`) the prefix is
    /// not visible to `topic()` (*Functions*, topic).
    pub fn rule_topic(&self) -> &str {
        basic_ingest_rest(&self.topic).unwrap_or(&self.topic)
    }

    /// The payload decoded as JSON for `version`, `None` for a binary payload.
    pub fn json(&self, version: SqlVersion) -> Option<&Value> {
        if version.is_v2() {
            self.whole_as_int
                .get_or_init(|| {
                    let mut v = Value::from_json_slice(&self.payload)?;
                    v.whole_decimals_to_int();
                    Some(v)
                })
                .as_ref()
        } else {
            self.faithful
                .get_or_init(|| Value::from_json_slice(&self.payload))
                .as_ref()
        }
    }
}

/// `$aws/rules/<rule>/rest` → `rest` (empty when nothing follows the rule name).
fn basic_ingest_rest(topic: &str) -> Option<&str> {
    let rest = topic.strip_prefix("$aws/rules/")?;
    Some(rest.split_once('/').map_or("", |(_, r)| r))
}

/// What the rules engine supplies to a statement being evaluated: who published the message,
/// the clock, randomness, and the functions that call other services. The engine's
/// implementation is where `FunctionExecution` log events are emitted and real shadows are
/// read; [`TestContext`] is a fixed one for tests.
pub trait Context {
    /// `clientid()`: the MQTT client ID, `None` when not published over MQTT (the function
    /// then returns `"n/a"`).
    fn clientid(&self) -> Option<String>;
    /// `principal()`: certificate thumbprint, IAM `role-id:session` or user ID.
    fn principal(&self) -> Option<String>;
    /// `timestamp()`: epoch milliseconds as observed by the rules engine.
    fn timestamp(&self) -> i64;
    /// `traceid()`: the MQTT message's trace ID, `None` when not over MQTT (Undefined).
    fn traceid(&self) -> Option<String>;
    /// `newuuid()`: a random UUID string.
    fn newuuid(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
    /// `rand()`: a uniformly distributed double in [0, 1).
    fn rand(&self) -> f64 {
        let b = uuid::Uuid::new_v4().as_u128() >> 75;
        b as f64 / (1u64 << 53) as f64
    }
    /// `accountid()`: the ID of the account that owns the rule.
    fn accountid(&self) -> String;
    /// `sourceip()`: the publisher's IP address, `None` when unknown (Undefined).
    fn sourceip(&self) -> Option<String> {
        None
    }
    /// `get_thing_shadow(thingName[, shadowName], roleArn)`: the shadow document.
    fn get_thing_shadow(
        &self,
        thing_name: &str,
        shadow_name: Option<&str>,
        role_arn: &str,
    ) -> Result<Value, String>;
    /// `aws_lambda(functionArn, inputJson)`: the function's JSON result.
    fn aws_lambda(&self, function_arn: &str, input: &Value) -> Result<Value, String> {
        let _ = (function_arn, input);
        Err("AWS Lambda is not hosted by Thingwatch".into())
    }
    /// `get_dynamodb(table, pkName, pkValue[, skName, skValue], roleArn)`: the item.
    fn get_dynamodb(
        &self,
        table: &str,
        keys: &[(String, Value)],
        role_arn: &str,
    ) -> Result<Value, String> {
        let _ = (table, keys, role_arn);
        Err("Amazon DynamoDB is not hosted by Thingwatch".into())
    }
    /// `get_secret(secretId, secretType[, key], roleArn)`: the secret value.
    fn get_secret(
        &self,
        secret_id: &str,
        secret_type: &str,
        key: Option<&str>,
        role_arn: &str,
    ) -> Result<Value, String> {
        let _ = (secret_id, secret_type, key, role_arn);
        Err("AWS Secrets Manager is not hosted by Thingwatch".into())
    }
    /// `machinelearning_predict(modelId, roleArn, record)`: the prediction object.
    fn machinelearning_predict(
        &self,
        model_id: &str,
        role_arn: &str,
        record: &Value,
    ) -> Result<Value, String> {
        let _ = (model_id, role_arn, record);
        Err("Amazon Machine Learning is not hosted by Thingwatch".into())
    }
    /// `get_registry_data(registryAPI, thingName, roleArn)`: registry data of a thing.
    fn get_registry_data(
        &self,
        api: &str,
        thing_name: &str,
        role_arn: &str,
    ) -> Result<Value, String> {
        let _ = (api, thing_name, role_arn);
        Err("get_registry_data is not supported".into())
    }
}

/// A fixed [`Context`] for tests and tools: every value is a public field; shadows are looked
/// up by `(thing, shadow name)`.
#[derive(Debug, Clone)]
pub struct TestContext {
    /// Returned by `clientid()`.
    pub clientid: Option<String>,
    /// Returned by `principal()`.
    pub principal: Option<String>,
    /// Returned by `timestamp()` (epoch ms).
    pub timestamp: i64,
    /// Returned by `traceid()`.
    pub traceid: Option<String>,
    /// Returned by `newuuid()`.
    pub uuid: String,
    /// Returned by `rand()`.
    pub rand: f64,
    /// Returned by `accountid()`.
    pub accountid: String,
    /// Returned by `sourceip()`.
    pub sourceip: Option<String>,
    /// Shadows: `((thing, shadow name or None for the classic shadow), document)`.
    pub shadows: Vec<((String, Option<String>), Value)>,
}

impl Default for TestContext {
    fn default() -> Self {
        TestContext {
            clientid: Some("client-1".into()),
            principal: Some(
                "ba67293af50bf2506f5f93469686da660c7c844e7b3950bfb16813e0d31e9373".into(),
            ),
            timestamp: 1_481_825_251_155,
            traceid: Some("12345678-1234-1234-1234-123456789012".into()),
            uuid: "123e4567-e89b-12d3-a456-426614174000".into(),
            rand: 0.5,
            accountid: "123456789012".into(),
            sourceip: Some("192.0.2.1".into()),
            shadows: Vec::new(),
        }
    }
}

impl Context for TestContext {
    fn clientid(&self) -> Option<String> {
        self.clientid.clone()
    }
    fn principal(&self) -> Option<String> {
        self.principal.clone()
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn traceid(&self) -> Option<String> {
        self.traceid.clone()
    }
    fn newuuid(&self) -> String {
        self.uuid.clone()
    }
    fn rand(&self) -> f64 {
        self.rand
    }
    fn accountid(&self) -> String {
        self.accountid.clone()
    }
    fn sourceip(&self) -> Option<String> {
        self.sourceip.clone()
    }
    fn get_thing_shadow(
        &self,
        thing: &str,
        shadow: Option<&str>,
        _role: &str,
    ) -> Result<Value, String> {
        self.shadows
            .iter()
            .find(|((t, s), _)| t == thing && s.as_deref() == shadow)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("No shadow exists with name: '{thing}'"))
    }
}

/// The outgoing payload of a matched rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A JSON value: the SELECT object, or the `SELECT VALUE` value (possibly `Undefined`,
    /// which is sent as an empty payload).
    Json(Value),
    /// The raw bytes of a binary payload selected with `SELECT *`.
    Binary(Vec<u8>),
}

impl Output {
    /// The bytes to hand to rule actions.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Output::Json(v) => v.to_json_string().into_bytes(),
            Output::Binary(b) => b.clone(),
        }
    }

    /// The JSON value, `None` for a binary output.
    pub fn json(&self) -> Option<&Value> {
        match self {
            Output::Json(v) => Some(v),
            Output::Binary(_) => None,
        }
    }
}

/// A parsed and validated rule query (`SELECT … FROM '…' WHERE …`).
///
/// Parse once at CreateTopicRule/ReplaceTopicRule, evaluate on every message.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: String,
    version: SqlVersion,
    query: Query,
    from: Option<TopicFilter>,
    dynamodb_calls: usize,
    variables: Vec<(String, Expr)>,
}

/// The SET clause's variables as evaluated for one message (iot-sql-set.html), for the
/// substitution templates of the rule's actions ([`Template::render_with`](crate::Template::render_with)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables(pub(crate) Vec<(String, Value)>);

impl Variables {
    /// The value of `@name` (without the `@`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// A matched message: the outgoing payload and the SET variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    /// The outgoing payload.
    pub output: Output,
    /// The SET variables, for the actions' substitution templates.
    pub variables: Variables,
}

impl Statement {
    /// Parses `sql` for the SQL `version`.
    ///
    /// # Errors
    /// [`SqlParseError`] for syntax errors, unknown functions, wrong argument counts,
    /// features newer than `version`, or an invalid FROM topic filter.
    pub fn parse(sql: &str, version: SqlVersion) -> Result<Statement, SqlParseError> {
        let parsed = Parser::new(sql, version)?.statement()?;
        Ok(Statement {
            sql: sql.to_string(),
            version,
            query: parsed.query,
            from: parsed.from,
            dynamodb_calls: parsed.dynamodb_calls,
            variables: parsed.variables,
        })
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The SQL version.
    pub fn version(&self) -> SqlVersion {
        self.version
    }

    /// The FROM topic filter (`None` for a rule only triggered by Basic Ingest).
    pub fn topic_filter(&self) -> Option<&TopicFilter> {
        self.from.as_ref()
    }

    /// Whether the statement is `SELECT VALUE …`.
    pub fn is_select_value(&self) -> bool {
        self.query.value
    }

    /// Whether the FROM clause accepts `msg`. Basic Ingest topics (`$aws/rules/…`) are
    /// addressed to a rule by name, so the filter does not apply to them.
    pub fn matches_topic(&self, msg: &Message) -> bool {
        if basic_ingest_rest(msg.topic()).is_some() {
            return true;
        }
        self.from.as_ref().is_none_or(|f| f.matches(msg.topic()))
    }

    /// Evaluates the statement on `msg`.
    ///
    /// Returns `Ok(None)` when the FROM filter does not match or WHERE is not `true` (false,
    /// Undefined, or any non-Boolean), `Ok(Some(output))` otherwise.
    ///
    /// # Errors
    /// [`EvalError`] when an external function fails (the engine then runs no action).
    pub fn evaluate(&self, msg: &Message, ctx: &dyn Context) -> Result<Option<Output>, EvalError> {
        Ok(self.run(msg, ctx)?.map(|m| m.output))
    }

    /// Like [`Statement::evaluate`], also returning the SET variables (for the actions'
    /// substitution templates). Variables are evaluated in order, before WHERE.
    ///
    /// # Errors
    /// [`EvalError`] when an external function fails.
    pub fn run(&self, msg: &Message, ctx: &dyn Context) -> Result<Option<Matched>, EvalError> {
        if !self.matches_topic(msg) {
            return Ok(None);
        }
        if self.dynamodb_calls > 1 {
            return Err(EvalError::TooManyDynamoDbCalls);
        }
        let json = msg.json(self.version);
        let undefined = Value::Undefined;
        let mut vars: Vec<(String, Value)> = Vec::with_capacity(self.variables.len());
        for (name, e) in &self.variables {
            let v = Env::top(msg, ctx, self.version, json.unwrap_or(&undefined), &vars).eval(e)?;
            vars.push((name.clone(), v));
        }
        let env = Env::top(msg, ctx, self.version, json.unwrap_or(&undefined), &vars);
        if let Some(w) = &self.query.filter
            && env.eval(w)?.to_bool() != Some(true)
        {
            return Ok(None);
        }
        let output = match (self.query.value, self.query.items.as_slice()) {
            (true, [SelectItem::Expr { expr, .. }]) => Output::Json(env.eval(expr)?),
            (_, [SelectItem::Wildcard]) => match json {
                Some(j) => Output::Json(j.clone()),
                None => Output::Binary(msg.payload().to_vec()),
            },
            (_, items) => Output::Json(env.select_object(items)?),
        };
        Ok(Some(Matched {
            output,
            variables: Variables(vars),
        }))
    }
}

/// The evaluation environment of one expression: the message, the context, and the current
/// document (the payload, or the element a nested query is iterating over).
pub(crate) struct Env<'a> {
    pub(crate) msg: &'a Message,
    pub(crate) ctx: &'a dyn Context,
    pub(crate) version: SqlVersion,
    pub(crate) doc: &'a Value,
    /// Whether `doc` is the message payload (then `*` can mean its raw bytes).
    pub(crate) top: bool,
    /// In a nested query, the name bound to the current element.
    pub(crate) alias: Option<&'a str>,
    /// The SET variables' values.
    pub(crate) vars: &'a [(String, Value)],
}

impl<'a> Env<'a> {
    /// The environment of the top-level query: the payload as the current document.
    pub(crate) fn top(
        msg: &'a Message,
        ctx: &'a dyn Context,
        version: SqlVersion,
        doc: &'a Value,
        vars: &'a [(String, Value)],
    ) -> Self {
        Env {
            msg,
            ctx,
            version,
            doc,
            top: true,
            alias: None,
            vars,
        }
    }

    pub(crate) fn eval(&self, e: &Expr) -> Result<Value, EvalError> {
        Ok(match e {
            Expr::Literal(v) => v.clone(),
            Expr::Var(name) => self
                .vars
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            Expr::Field(name) if self.alias == Some(name.as_str()) => self.doc.clone(),
            Expr::Field(name) => match self.doc {
                Value::Object(o) => o.get(name).cloned().unwrap_or_default(),
                _ => Value::Undefined,
            },
            Expr::Wildcard => self.doc.clone(),
            Expr::Member(..) | Expr::Index(..) if let Some(v) = self.resolve(e) => v.clone(),
            Expr::Member(base, name) => match self.eval(base)? {
                Value::Object(mut o) => o.remove(name).unwrap_or_default(),
                _ => Value::Undefined,
            },
            Expr::Index(base, idx) => {
                let b = self.eval(base)?;
                let i = self.eval(idx)?;
                match (b, i) {
                    (Value::Array(mut a), i) => match i.to_int_standard() {
                        Some(i) if i >= 0 && (i as usize) < a.len() => a.swap_remove(i as usize),
                        _ => Value::Undefined,
                    },
                    (Value::Object(mut o), Value::String(k)) => o.remove(&k).unwrap_or_default(),
                    _ => Value::Undefined,
                }
            }
            Expr::Neg(x) => ops::neg(&self.eval(x)?, self.version),
            Expr::Not(x) => match self.eval(x)?.to_bool() {
                Some(b) => Value::Boolean(!b),
                None => Value::Undefined,
            },
            Expr::Binary(op, l, r) => {
                let l = self.eval(l)?;
                let r = self.eval(r)?;
                self.binary(*op, &l, &r)
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => return self.case(operand.as_deref(), whens, otherwise.as_deref()),
            Expr::Call(f, args) => return functions::call(*f, args, self),
            Expr::Cast(x, ty) => ops::cast(&self.eval(x)?, *ty, self.version),
            Expr::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.eval(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Object(entries) => {
                let mut o = Object::new();
                for (k, v) in entries {
                    o.insert(k.clone(), self.eval(v)?);
                }
                Value::Object(o)
            }
            Expr::Subquery(q) => return self.subquery(q),
        })
    }

    /// A path into the current document (`a.b[0].c` with literal indexes) resolved by
    /// reference, so reading a leaf does not copy its parents; `None` when `e` is not such a
    /// path or does not exist.
    fn resolve(&self, e: &Expr) -> Option<&Value> {
        match e {
            Expr::Field(name) if self.alias == Some(name.as_str()) => Some(self.doc),
            Expr::Field(name) => match self.doc {
                Value::Object(o) => o.get(name),
                _ => None,
            },
            Expr::Member(base, name) => match self.resolve(base)? {
                Value::Object(o) => o.get(name),
                _ => None,
            },
            Expr::Index(base, idx) => match (self.resolve(base)?, idx.as_ref()) {
                (Value::Array(a), Expr::Literal(Value::Int(i))) => {
                    usize::try_from(*i).ok().and_then(|i| a.get(i))
                }
                (Value::Object(o), Expr::Literal(Value::String(k))) => o.get(k),
                _ => None,
            },
            _ => None,
        }
    }

    fn binary(&self, op: BinOp, l: &Value, r: &Value) -> Value {
        let v = self.version;
        match op {
            BinOp::And => ops::and(l, r),
            BinOp::Or => ops::or(l, r),
            BinOp::Eq => ops::eq(l, r),
            BinOp::Ne => match ops::eq(l, r) {
                Value::Boolean(b) => Value::Boolean(!b),
                other => other,
            },
            BinOp::Lt => ops::compare(l, r, |o| o.is_lt()),
            BinOp::Le => ops::compare(l, r, |o| o.is_le()),
            BinOp::Gt => ops::compare(l, r, |o| o.is_gt()),
            BinOp::Ge => ops::compare(l, r, |o| o.is_ge()),
            BinOp::In => ops::in_array(l, r),
            BinOp::Add => ops::add(l, r, v),
            BinOp::Sub => ops::arith(l, r, v, i64::checked_sub, |a, b| a - b),
            BinOp::Mul => ops::arith(l, r, v, i64::checked_mul, |a, b| a * b),
            BinOp::Div => ops::div(l, r, v),
            BinOp::Mod => ops::rem(l, r, v),
        }
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        otherwise: Option<&Expr>,
    ) -> Result<Value, EvalError> {
        let subject = match operand {
            Some(o) => {
                let v = self.eval(o)?;
                if v.is_undefined() {
                    return Ok(Value::Undefined);
                }
                Some(v)
            }
            None => None,
        };
        for (t, r) in whens {
            let t = self.eval(t)?;
            let hit = match &subject {
                Some(s) => ops::eq(s, &t) == Value::Boolean(true),
                None => t.to_bool() == Some(true),
            };
            if hit {
                return self.eval(r);
            }
        }
        match otherwise {
            Some(e) => self.eval(e),
            None => Ok(Value::Undefined),
        }
    }

    /// A nested object query (iot-sql-nested-queries.html): over an Array, one result per
    /// element that passes WHERE (an Array); over an Object, that object's result itself
    /// (Undefined if WHERE rejects it); over anything else, Undefined.
    fn subquery(&self, q: &Query) -> Result<Value, EvalError> {
        let Some(source) = &q.source else {
            return Ok(Value::Undefined);
        };
        let src = self.eval(source)?;
        let one = |doc: &Value| -> Result<Option<Value>, EvalError> {
            let env = Env {
                msg: self.msg,
                ctx: self.ctx,
                version: self.version,
                doc,
                top: false,
                alias: q.alias.as_deref(),
                vars: self.vars,
            };
            if let Some(w) = &q.filter
                && env.eval(w)?.to_bool() != Some(true)
            {
                return Ok(None);
            }
            if q.value {
                return Ok(Some(match &q.items[0] {
                    SelectItem::Expr { expr, .. } => env.eval(expr)?,
                    SelectItem::Wildcard => doc.clone(),
                }));
            }
            if let [SelectItem::Wildcard] = q.items.as_slice() {
                return Ok(Some(doc.clone()));
            }
            env.select_object(&q.items).map(Some)
        };
        Ok(match &src {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(v) = one(item)? {
                        out.push(v);
                    }
                }
                Value::Array(out)
            }
            Value::Object(_) => one(&src)?.unwrap_or_default(),
            _ => Value::Undefined,
        })
    }

    /// Builds the SELECT object: `*` merges the current document's keys, each expression is
    /// set at its key path; Undefined results are omitted.
    fn select_object(&self, items: &[SelectItem]) -> Result<Value, EvalError> {
        let mut out = Object::new();
        for item in items {
            match item {
                SelectItem::Wildcard => {
                    if let Value::Object(o) = self.doc {
                        for (k, v) in o.iter() {
                            out.insert(k, v.clone());
                        }
                    }
                }
                SelectItem::Expr { expr, key } => {
                    let v = self.eval(expr)?;
                    if !v.is_undefined() {
                        set_path(&mut out, key, v);
                    }
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Sets `path` (`["a","b"]` for `AS a.b`) in `o`, creating (or replacing non-object) parents.
fn set_path(o: &mut Object, path: &[String], v: Value) {
    match path {
        [] => {}
        [last] => o.insert(last.clone(), v),
        [first, rest @ ..] => {
            if !matches!(o.get(first), Some(Value::Object(_))) {
                o.insert(first.clone(), Value::Object(Object::new()));
            }
            if let Some(Value::Object(child)) = o.get_mut(first) {
                set_path(child, rest, v);
            }
        }
    }
}
