//! awsQuery: form-encoded requests (`Action=…&Version=…&Name.member.1=…`) to [`Value`], and
//! [`Value`]s to XML responses.
//!
//! Request paths (botocore's query serializer): structure members are `.`-separated, list
//! elements `Name.member.N` (1-based), map entries `Name.entry.N.key` / `.value`; every
//! scalar is a string, timestamps ISO 8601. An empty list is sent as `Name=`.
//!
//! Responses: `<OpResponse xmlns=NS><OpResult>…</OpResult><ResponseMetadata><RequestId>…
//! </RequestId></ResponseMetadata></OpResponse>`, lists as `<member>`, maps as
//! `<entry><key/><value/></entry>`, timestamps ISO 8601 UTC, blobs base64 (botocore's query
//! parser; aws-wire.md §5).

use std::collections::BTreeMap;

use base64::Engine as _;
use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use thingwatch_aws::error::{ApiError, ErrorCode};

use crate::Value;
use crate::value::format_timestamp;

/// A parsed awsQuery request: its `Action`, `Version` and the other parameters as a
/// structure.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRequest {
    /// `Action` (the operation name).
    pub action: String,
    /// `Version` (the API version, e.g. `2010-08-01`), if sent.
    pub version: Option<String>,
    /// Every other parameter, nested by path.
    pub params: Value,
}

#[derive(Debug)]
enum Node {
    Leaf(String),
    Struct(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

impl Node {
    fn insert(&mut self, path: &[&str], value: String, full: &str) -> Result<(), ApiError> {
        let conflict = || {
            ApiError::new(
                ErrorCode::Serialization,
                format!("The parameter {full} conflicts with another parameter."),
            )
        };
        let Some((first, rest)) = path.split_first() else {
            return match self {
                Node::Struct(m) if m.is_empty() => {
                    *self = Node::Leaf(value);
                    Ok(())
                }
                _ => Err(conflict()),
            };
        };
        let is_list = matches!(*first, "member" | "entry")
            && rest.first().and_then(|i| i.parse::<usize>().ok()).is_some();
        if is_list {
            let index = rest
                .first()
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|i| *i >= 1)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Serialization,
                        format!("The parameter {full} has an invalid list index."),
                    )
                })?;
            if matches!(self, Node::Struct(m) if m.is_empty()) {
                *self = Node::List(BTreeMap::new());
            }
            let Node::List(items) = self else {
                return Err(conflict());
            };
            return items
                .entry(index)
                .or_insert_with(|| Node::Struct(BTreeMap::new()))
                .insert(&rest[1..], value, full);
        }
        if matches!(self, Node::List(l) if l.is_empty()) {
            *self = Node::Struct(BTreeMap::new());
        }
        let Node::Struct(members) = self else {
            return Err(conflict());
        };
        members
            .entry((*first).to_owned())
            .or_insert_with(|| Node::Struct(BTreeMap::new()))
            .insert(rest, value, full)
    }

    fn into_value(self) -> Value {
        match self {
            Node::Leaf(s) => Value::String(s),
            Node::Struct(m) => {
                Value::Struct(m.into_iter().map(|(k, v)| (k, v.into_value())).collect())
            }
            Node::List(items) => Value::List(items.into_values().map(Node::into_value).collect()),
        }
    }
}

/// Parses an awsQuery request from its form body and/or query string (the body wins on
/// duplicates).
///
/// # Errors
/// `SerializationException` for a body that is not UTF-8 or parameters whose paths conflict
/// (`A=1&A.B=2`); `UnknownOperationException` "Missing Action" without `Action`.
pub fn parse(query_string: Option<&str>, body: &[u8]) -> Result<QueryRequest, ApiError> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::serialization(
            "The request body is not valid UTF-8 form data.",
        ));
    }
    let mut flat = BTreeMap::new();
    if let Some(q) = query_string {
        flat.extend(
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    flat.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    let action = flat
        .remove("Action")
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownOperation, "Missing Action"))?;
    let version = flat.remove("Version");
    let mut root = Node::Struct(BTreeMap::new());
    for (key, value) in flat {
        let path: Vec<&str> = key.split('.').collect();
        if path.iter().any(|s| s.is_empty()) {
            return Err(ApiError::serialization(format!(
                "The parameter name {key} is not valid."
            )));
        }
        root.insert(&path, value, &key)?;
    }
    Ok(QueryRequest {
        action,
        version,
        params: root.into_value(),
    })
}

struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    fn event(&mut self, e: Event<'_>) {
        // Writing into a Vec cannot fail.
        let _ = self.w.write_event(e);
    }

    fn open(&mut self, name: &str) {
        self.event(Event::Start(BytesStart::new(name)));
    }

    fn close(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    fn text(&mut self, text: &str) {
        self.event(Event::Text(BytesText::new(text)));
    }

    fn element(&mut self, name: &str, v: &Value) {
        if matches!(v, Value::Null) {
            return;
        }
        self.open(name);
        self.content(v);
        self.close(name);
    }

    fn content(&mut self, v: &Value) {
        match v {
            Value::Null => {}
            Value::Bool(b) => self.text(if *b { "true" } else { "false" }),
            Value::Int(i) => self.text(&i.to_string()),
            Value::Float(f) => self.text(&format_double(*f)),
            Value::String(s) => self.text(s),
            Value::Timestamp(ms) => self.text(&format_timestamp(*ms)),
            Value::Blob(b) => self.text(&base64::engine::general_purpose::STANDARD.encode(b)),
            Value::List(items) => {
                for item in items {
                    self.element("member", item);
                }
            }
            Value::Struct(members) => {
                for (name, value) in members {
                    self.element(name, value);
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    self.open("entry");
                    self.element("key", &Value::String(key.clone()));
                    self.element("value", value);
                    self.close("entry");
                }
            }
        }
    }
}

/// A double as AWS query services write it: `5.0` for whole numbers, the shortest
/// round-tripping form otherwise (`0.1`, `1.0E-7` is not used: Rust's `1e-7` parses in
/// botocore's `float()` as well).
pub fn format_double(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1.0e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// The XML body of a successful awsQuery response to `action` in namespace `namespace`
/// (e.g. `http://monitoring.amazonaws.com/doc/2010-08-01/`). `result` holds the members of
/// `<{action}Result>`; `None` (an operation without output) writes no Result element.
pub fn to_body(action: &str, namespace: &str, request_id: &str, result: Option<&Value>) -> Vec<u8> {
    let mut x = Xml {
        w: Writer::new(Vec::with_capacity(512)),
    };
    let root = format!("{action}Response");
    x.event(Event::Start(
        BytesStart::new(root.as_str()).with_attributes([("xmlns", namespace)]),
    ));
    if let Some(result) = result {
        let wrapper = format!("{action}Result");
        x.open(&wrapper);
        x.content(result);
        x.close(&wrapper);
    }
    x.open("ResponseMetadata");
    x.element("RequestId", &Value::from(request_id));
    x.close("ResponseMetadata");
    x.close(&root);
    x.w.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reader;

    #[test]
    fn parses_the_captured_put_metric_data() -> Result<(), ApiError> {
        // aws-wire.md §6, botocore 1.42.6.
        let body = "Action=PutMetricData&Version=2010-08-01&Namespace=Custom&MetricData.member.1.MetricName=M1&MetricData.member.1.Value=3.5&MetricData.member.1.Unit=Count&MetricData.member.1.Dimensions.member.1.Name=Thing&MetricData.member.1.Dimensions.member.1.Value=t1";
        let q = parse(None, body.as_bytes())?;
        assert_eq!(q.action, "PutMetricData");
        assert_eq!(q.version.as_deref(), Some("2010-08-01"));
        let r = Reader::new(&q.params);
        assert_eq!(r.str("Namespace")?, Some("Custom"));
        let data = r.member("MetricData").map(|m| m.value().clone());
        let expected = Value::list([Value::structure()
            .with(
                "Dimensions",
                Value::list([Value::structure().with("Name", "Thing").with("Value", "t1")]),
            )
            .with("MetricName", "M1")
            .with("Unit", "Count")
            .with("Value", "3.5")]);
        assert_eq!(data, Some(expected));
        Ok(())
    }

    #[test]
    fn orders_list_members_by_index_and_reads_maps() -> Result<(), ApiError> {
        let body =
            "Action=X&S.member.2=b&S.member.10=c&S.member.1=a&A.entry.1.key=k&A.entry.1.value=v&E=";
        let q = parse(None, body.as_bytes())?;
        let r = Reader::new(&q.params);
        assert_eq!(r.strings("S")?, vec!["a", "b", "c"]);
        assert_eq!(r.string_map("A")?, vec![("k".to_owned(), "v".to_owned())]);
        assert!(r.strings("E")?.is_empty());
        Ok(())
    }

    #[test]
    fn bad_forms_are_client_errors() {
        for body in [
            "Version=1",
            "Action=X&A=1&A.B=2",
            "Action=X&A.member.0=1",
            "Action=X&A..B=1",
        ] {
            let e = parse(None, body.as_bytes()).err();
            assert!(
                e.is_some_and(|e| e.code.fault() == thingwatch_aws::error::Fault::Client),
                "{body}"
            );
        }
        assert!(parse(None, &[0xff]).is_err());
    }

    #[test]
    fn writes_query_xml() {
        let result = Value::structure()
            .with("Label", "M1")
            .with(
                "Datapoints",
                Value::list([Value::structure()
                    .with("Timestamp", Value::time_ms(1_704_067_260_000))
                    .with("Sum", 5.0)
                    .with("Unit", "Count")]),
            )
            .with("Messages", Value::List(vec![]))
            .with("Attrs", Value::Map(vec![("a".into(), Value::from("x<y"))]));
        let body = to_body(
            "GetMetricStatistics",
            "http://monitoring.amazonaws.com/doc/2010-08-01/",
            "rid",
            Some(&result),
        );
        expect_test::expect![[r#"<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricStatisticsResult><Label>M1</Label><Datapoints><member><Timestamp>2024-01-01T00:01:00Z</Timestamp><Sum>5.0</Sum><Unit>Count</Unit></member></Datapoints><Messages></Messages><Attrs><entry><key>a</key><value>x&lt;y</value></entry></Attrs></GetMetricStatisticsResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetMetricStatisticsResponse>"#]]
        .assert_eq(&String::from_utf8_lossy(&body));
        let empty = to_body("PutMetricData", "ns", "rid", None);
        assert_eq!(
            String::from_utf8_lossy(&empty),
            r#"<PutMetricDataResponse xmlns="ns"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></PutMetricDataResponse>"#
        );
    }
}
