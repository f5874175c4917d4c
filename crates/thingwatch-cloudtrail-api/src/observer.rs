//! [`AuditObserver`]: the API-call observer that turns every management call on the HTTP
//! port into a [`ManagementCall`] for the audit trail.
//!
//! A call is recorded when its operation is known, it is a management event
//! ([`thingwatch_audit::record::is_management_event`]: no `iotdata`, no log-event or
//! metric-data reads and writes), and its access key id names someone (a bad signature with
//! a valid key id is recorded with its error; an unknown key is not).
//!
//! `requestParameters` and `responseElements` are read from the wire in every protocol:
//! JSON bodies as they are; rest-json path labels and query parameters merged with the body;
//! awsQuery forms (`Tags.member.1.Key`) and XML responses (`<XResult>`, `<member>` lists)
//! as nested JSON; Smithy RPC v2 CBOR decoded. Services whose members are PascalCase
//! (`cloudtrail`, `monitoring`, `iam`, `sns`, `sts`) get lowerCamelCase member names, as
//! CloudTrail writes them (`S3BucketName` → `s3BucketName`).
//!
//! Only copying and parsing happen here, on the request's task; the record is built, stored
//! and delivered on the `audit-writer` thread ([`Audit::record`] never blocks).

use std::sync::Arc;

use serde_json::{Map, Value};
use thingwatch_audit::record::is_management_event;
use thingwatch_audit::{Audit, Identities, ManagementCall};
use thingwatch_http::{ApiCall, ApiCallObserver, Protocol};

/// Records every management call into an [`Audit`].
pub struct AuditObserver {
    audit: Audit,
    identities: Arc<dyn Identities>,
}

impl AuditObserver {
    /// Records into `audit`, naming callers with `identities`.
    pub fn new(audit: Audit, identities: Arc<dyn Identities>) -> Self {
        Self { audit, identities }
    }
}

impl ApiCallObserver for AuditObserver {
    fn on_call(&self, call: &ApiCall) {
        if let Some(c) = management_call(call, self.identities.as_ref()) {
            self.audit.record(c);
        }
    }
}

/// The [`ManagementCall`] of an observed call, or `None` when it is not recorded.
pub fn management_call(call: &ApiCall, identities: &dyn Identities) -> Option<ManagementCall> {
    let service = call.service.as_deref()?;
    let operation = call.operation.as_deref()?;
    if !is_management_event(service, operation) {
        return None;
    }
    let identity = identities.identify(call.access_key_id.as_deref()?)?;
    let pascal = matches!(service, "cloudtrail" | "monitoring" | "iam" | "sns" | "sts");
    let protocol = call.protocol.unwrap_or(Protocol::RestJson);
    let mut request = request_parameters(call, protocol);
    let mut response = if call.outcome.error_code.is_none() {
        response_elements(&call.outcome.response_body, protocol)
    } else {
        None
    };
    if pascal {
        request = request.map(camel_keys);
        response = response.map(camel_keys);
    }
    Some(ManagementCall {
        request_id: call.request_id.clone(),
        event_time_ms: call
            .received_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        source_ip: call.source.map(|s| s.ip().to_string()),
        user_agent: call.user_agent().map(str::to_owned),
        service: service.to_owned(),
        region: call.region.clone().unwrap_or_default(),
        operation: operation.to_owned(),
        identity,
        request_parameters: request,
        response_elements: response,
        error: call.outcome.error_code.map(|code| {
            (
                code.to_owned(),
                call.outcome.error_message.clone().unwrap_or_default(),
            )
        }),
    })
}

/// `null` for an empty object: CloudTrail writes `null` when a call has no parameters.
fn non_empty(v: Value) -> Option<Value> {
    match &v {
        Value::Object(m) if m.is_empty() => None,
        Value::Null => None,
        _ => Some(v),
    }
}

fn request_parameters(call: &ApiCall, protocol: Protocol) -> Option<Value> {
    let body = &call.request_body[..];
    match protocol {
        Protocol::AwsJson11 | Protocol::AwsJson10QueryCompatible => {
            serde_json::from_slice(body).ok().and_then(non_empty)
        }
        Protocol::RpcV2Cbor => cbor_to_json(body).and_then(non_empty),
        Protocol::AwsQuery => {
            let raw = if body.is_empty() {
                call.uri.query().unwrap_or("").as_bytes()
            } else {
                body
            };
            non_empty(form_to_json(raw))
        }
        Protocol::RestJson => {
            let mut out = Map::new();
            for (k, v) in &call.path_labels {
                out.insert(k.clone(), Value::String(v.clone()));
            }
            if let Some(q) = call.uri.query() {
                for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                    out.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => out.extend(m),
                Ok(other) if !other.is_null() => {
                    out.insert("body".into(), other);
                }
                _ => {}
            }
            non_empty(Value::Object(out))
        }
    }
}

fn response_elements(body: &[u8], protocol: Protocol) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match protocol {
        Protocol::AwsQuery => xml_to_json(body).and_then(non_empty),
        Protocol::RpcV2Cbor => cbor_to_json(body).and_then(non_empty),
        _ => serde_json::from_slice(body).ok().and_then(non_empty),
    }
}

fn cbor_to_json(body: &[u8]) -> Option<Value> {
    let v: ciborium::Value = ciborium::from_reader(body).ok()?;
    Some(cbor_value(v))
}

fn cbor_value(v: ciborium::Value) -> Value {
    use ciborium::Value as C;
    match v {
        C::Integer(i) => i64::try_from(i)
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(i128::from(i) as f64)),
        C::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        C::Text(s) => Value::String(s),
        C::Bool(b) => Value::Bool(b),
        C::Null => Value::Null,
        C::Bytes(b) => Value::String(format!("<{} bytes>", b.len())),
        C::Tag(_, inner) => cbor_value(*inner),
        C::Array(a) => Value::Array(a.into_iter().map(cbor_value).collect()),
        C::Map(m) => Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| match k {
                    C::Text(k) => Some((k, cbor_value(v))),
                    _ => None,
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// An awsQuery form as nested JSON: `A.B=1` → `{"A":{"B":"1"}}`, `Tags.member.2.Key=k` →
/// `{"Tags":[…, {"Key":"k"}]}` (also the flattened `Names.1=x` form); `Action` and
/// `Version` are left out.
pub fn form_to_json(raw: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in form_urlencoded::parse(raw) {
        if k == "Action" || k == "Version" {
            continue;
        }
        let parts: Vec<&str> = k
            .split('.')
            .filter(|p| *p != "member" && *p != "entry")
            .collect();
        insert_path(&mut root, &parts, Value::String(v.into_owned()));
    }
    root
}

fn insert_path(node: &mut Value, parts: &[&str], leaf: Value) {
    let Some((head, rest)) = parts.split_first() else {
        *node = leaf;
        return;
    };
    if let Ok(index) = head.parse::<usize>() {
        if !node.is_array() {
            *node = Value::Array(Vec::new());
        }
        if let Value::Array(items) = node {
            let i = index.saturating_sub(1).min(10_000);
            if items.len() <= i {
                items.resize(i + 1, Value::Null);
            }
            insert_path(&mut items[i], rest, leaf);
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        let child = map.entry((*head).to_owned()).or_insert(Value::Null);
        insert_path(child, rest, leaf);
    }
}

/// An awsQuery XML response as JSON: the children of `<OperationResult>` (the root's first
/// child other than `ResponseMetadata`), `<member>` children as arrays, text as strings.
pub fn xml_to_json(body: &[u8]) -> Option<Value> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    // The open elements: (name, children, text).
    type Open = (String, Vec<(String, Value)>, String);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push((name, Vec::new(), String::new()));
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if let Some(top) = stack.last_mut() {
                    top.1.push((name, Value::String(String::new())));
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.decode().ok()?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    let c = match name.as_str() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    };
                    top.2.push_str(c);
                }
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop()?;
                let value = if children.is_empty() {
                    Value::String(text)
                } else if children.iter().all(|(n, _)| n == "member") {
                    Value::Array(children.into_iter().map(|(_, v)| v).collect())
                } else {
                    Value::Object(children.into_iter().collect())
                };
                match stack.last_mut() {
                    Some(parent) => parent.1.push((name, value)),
                    None => root = Some((name, value)),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let (_, Value::Object(top)) = root? else {
        return None;
    };
    top.into_iter()
        .find(|(k, _)| k != "ResponseMetadata")
        .map(|(_, v)| match v {
            Value::String(s) if s.is_empty() => Value::Null,
            other => other,
        })
}

/// lowerCamelCase of a PascalCase member name: `S3BucketName` → `s3BucketName`,
/// `SNSTopicArn` → `snsTopicArn`, `Name` → `name`.
pub fn lower_camel(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < chars.len() && (chars[i].is_ascii_uppercase() || chars[i].is_ascii_digit()) {
        let next_is_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
        if i > 0 && next_is_lower {
            break;
        }
        out.push(chars[i].to_ascii_lowercase());
        i += 1;
    }
    out.extend(&chars[i..]);
    out
}

fn camel_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (lower_camel(&k), camel_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_camel_case_as_cloudtrail_writes_it() {
        assert_eq!(lower_camel("S3BucketName"), "s3BucketName");
        assert_eq!(lower_camel("SNSTopicArn"), "snsTopicArn");
        assert_eq!(lower_camel("Name"), "name");
        assert_eq!(lower_camel("userName"), "userName");
        assert_eq!(lower_camel("ARN"), "arn");
    }

    #[test]
    fn reads_query_forms_and_xml() {
        let v = form_to_json(
            b"Action=CreateUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=k&Tags.member.1.Value=v&Tags.member.2.Key=k2",
        );
        assert_eq!(
            v,
            serde_json::json!({"UserName": "bob", "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k2"}]})
        );
        let xml = br#"<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><UserName>bob</UserName><Arn>arn:aws:iam::1:user/bob</Arn></User></CreateUserResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></CreateUserResponse>"#;
        assert_eq!(
            xml_to_json(xml),
            Some(
                serde_json::json!({"User": {"UserName": "bob", "Arn": "arn:aws:iam::1:user/bob"}})
            )
        );
        let list = br#"<R><ListResult><Users><member><UserName>a</UserName></member><member><UserName>b</UserName></member></Users></ListResult></R>"#;
        assert_eq!(
            xml_to_json(list),
            Some(serde_json::json!({"Users": [{"UserName": "a"}, {"UserName": "b"}]}))
        );
    }
}
