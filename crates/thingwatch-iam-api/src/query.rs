//! The awsQuery wire format shared by `iam` and `sts`: [`Params`] from the form-encoded body
//! (`Action=CreateUser&Version=2010-05-08&UserName=bob`, also accepted in the query string),
//! and [`Xml`], the response writer (quick-xml) for
//! `<OpResponse xmlns=NS><OpResult>…</OpResult><ResponseMetadata><RequestId>…</RequestId>
//! </ResponseMetadata></OpResponse>`; timestamps ISO 8601 UTC, lists as `<member>`
//! (aws-wire.md §5, botocore's query parser).

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use thingwatch_http::error::{CONTENT_TYPE_XML, REQUEST_ID_HEADER};
use thingwatch_http::{ApiError, AwsRequest, ErrorCode};

/// The request parameters of one awsQuery call.
#[derive(Debug, Default)]
pub(crate) struct Params {
    /// `Action`.
    pub action: String,
    map: HashMap<String, String>,
}

impl Params {
    /// Parses the query string and (for a form body) the body; the body wins on duplicates.
    ///
    /// # Errors
    /// `MalformedQueryString` when the body is not UTF-8, `InvalidAction` ("Missing Action")
    /// without `Action`.
    pub fn parse(req: &AwsRequest) -> Result<Self, ApiError> {
        let mut map = HashMap::new();
        if let Some(q) = req.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        if !req.body.is_empty() {
            if std::str::from_utf8(&req.body).is_err() {
                return Err(ApiError::new(
                    ErrorCode::Serialization,
                    "The request body is not valid UTF-8 form data.",
                ));
            }
            for (k, v) in form_urlencoded::parse(&req.body) {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        let Some(action) = map.remove("Action") else {
            return Err(ApiError::new(ErrorCode::UnknownOperation, "Missing Action"));
        };
        Ok(Self { action, map })
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }
}

/// Builds an awsQuery XML body. Writing into a `Vec` cannot fail; the first error, if any,
/// is kept and reported by [`Xml::finish`].
pub(crate) struct Xml {
    w: Writer<Vec<u8>>,
    failed: Option<std::io::Error>,
}

impl Xml {
    fn new() -> Self {
        Self {
            w: Writer::new(Vec::with_capacity(512)),
            failed: None,
        }
    }

    fn event(&mut self, e: Event<'_>) {
        if self.failed.is_none()
            && let Err(err) = self.w.write_event(e)
        {
            self.failed = Some(err);
        }
    }

    /// `<name>`.
    pub fn open(&mut self, name: &str) {
        self.event(Event::Start(BytesStart::new(name)));
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    /// `<name>text</name>` (escaped).
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.event(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    /// [`Xml::leaf`] when `text` is `Some`.
    pub fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(name, t);
        }
    }

    fn finish(self) -> Result<Vec<u8>, ApiError> {
        match self.failed {
            Some(e) => Err(ApiError::internal(&e)),
            None => Ok(self.w.into_inner()),
        }
    }
}

/// A 200 awsQuery response for `action` in namespace `ns`; `result` writes the members of
/// `<{action}Result>` (`None` for operations without output, which have no Result element).
///
/// # Errors
/// `ServiceUnavailable` if the XML writer failed (cannot happen writing to memory).
pub(crate) fn respond(
    action: &str,
    ns: &str,
    request_id: &str,
    result: Option<&dyn Fn(&mut Xml)>,
) -> Result<Response, ApiError> {
    let mut x = Xml::new();
    let root = format!("{action}Response");
    x.event(Event::Start(
        BytesStart::new(root.as_str()).with_attributes([("xmlns", ns)]),
    ));
    if let Some(f) = result {
        let wrapper = format!("{action}Result");
        x.open(&wrapper);
        f(&mut x);
        x.close(&wrapper);
    }
    x.open("ResponseMetadata");
    x.leaf("RequestId", request_id);
    x.close("ResponseMetadata");
    x.close(&root);
    let body = x.finish()?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_XML),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(REQUEST_ID_HEADER, v);
    }
    Ok(resp)
}

/// `ms` (epoch milliseconds) as ISO 8601 UTC with seconds, `2026-11-21T22:46:44Z` (the
/// `dateType` form IAM answers).
pub(crate) fn iso8601(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Characters left as-is when URL-encoding a policy document: RFC 3986 unreserved.
const DOCUMENT_ENCODE_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A policy document as IAM returns it: URL-encoded (RFC 3986). IAM API Reference,
/// *GetRolePolicy*: "The policy document returned in this structure is URL-encoded compliant
/// with RFC 3986"; botocore URL-decodes `policyDocumentType` members and parses the JSON.
pub(crate) fn encode_document(doc: &str) -> String {
    percent_encoding::utf8_percent_encode(doc, DOCUMENT_ENCODE_SET).to_string()
}

/// One page of `items` after `marker`: `(page, next_marker)`. The marker is the
/// case-insensitive key of the first item of the next page (opaque to clients).
pub(crate) fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: usize,
) -> (Vec<T>, Option<String>) {
    let mut it = items
        .into_iter()
        .filter(|i| marker.is_none_or(|m| key(i).as_str() >= m))
        .peekable();
    let page: Vec<T> = it.by_ref().take(max_items).collect();
    let next = it.peek().map(&key);
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn document_encoding_round_trips() {
        let doc = "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Resource\": \"arn:aws:logs:*:*:log-group:x:*\"}]}";
        let enc = encode_document(doc);
        assert!(
            enc.starts_with("%7B%22Version%22%3A%20%222012-10-17%22"),
            "{enc}"
        );
        assert!(!enc.contains(['{', '"', ' ', ':', '/', '*']));
        let dec = percent_encoding::percent_decode_str(&enc).decode_utf8_lossy();
        assert_eq!(dec, doc);
    }

    #[test]
    fn pages() {
        let items: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let (p, next) = paginate(items.clone(), Clone::clone, None, 2);
        assert_eq!(
            (p, next.as_deref()),
            (vec!["a".to_owned(), "b".to_owned()], Some("c"))
        );
        let (p, next) = paginate(items.clone(), Clone::clone, Some("c"), 2);
        assert_eq!(
            (p, next.as_deref()),
            (vec!["c".to_owned(), "d".to_owned()], Some("e"))
        );
        let (p, next) = paginate(items, Clone::clone, Some("e"), 2);
        assert_eq!((p, next), (vec!["e".to_owned()], None));
    }

    #[test]
    fn response_xml() -> Result<(), ApiError> {
        let mut x = Xml::new();
        x.leaf("UserName", "a<b&c");
        assert_eq!(x.finish()?, b"<UserName>a&lt;b&amp;c</UserName>");
        Ok(())
    }
}
