//! Rest-json routing shared by every rest-json service (iot, iotdata, later iot-jobs-data):
//! route tables of `(method, path template, operation)` rows, the matcher that
//! percent-decodes path labels (literal templates win over labels:
//! `PUT /thing-groups/addThingToThingGroup`), and the query-string reader.
//!
//! Source: the `http` traits (`method`, `requestUri`) of the botocore service models; label
//! and query decoding as botocore's rest serializer encodes them (a space is `%20`, `+`
//! stays `+`).

use std::borrow::Cow;

use http::Method;
use percent_encoding::percent_decode_str;

use crate::error::{ApiError, ErrorCode};

/// One row of a rest-json route table (`O`: the service's operation enum).
#[derive(Clone, Debug)]
pub struct Route<O> {
    /// HTTP method.
    pub method: Method,
    /// Path template: `/`-separated literal segments and `{label}` segments.
    pub template: &'static str,
    /// The operation served.
    pub operation: O,
}

/// A route table row (for `const` tables).
pub const fn route<O>(method: Method, template: &'static str, operation: O) -> Route<O> {
    Route {
        method,
        template,
        operation,
    }
}

/// Percent-decodes one path segment or query component (`+` stays `+`: botocore encodes a
/// space as `%20`). Bytes that are not UTF-8 are rejected.
fn decode(raw: &str, what: &str) -> Result<String, ApiError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("The {what} is not valid percent-encoded UTF-8."),
            )
        })
}

/// Matches `template` against the raw path segments; `None` when the shape differs.
///
/// A last segment `{name+}` is a greedy label (Smithy `httpLabel` greedy, e.g. AWS IoT's
/// `/destinations/{arn+}`): it takes one or more remaining segments, `/` kept, as
/// botocore's serializer leaves `/` unencoded in greedy labels.
fn match_template(
    template: &'static str,
    segments: &[&str],
) -> Result<Option<Vec<(&'static str, String)>>, ApiError> {
    let parts: Vec<&'static str> = template.trim_start_matches('/').split('/').collect();
    let greedy = parts
        .last()
        .and_then(|p| p.strip_prefix('{'))
        .and_then(|p| p.strip_suffix("+}"));
    let fits = match greedy {
        Some(_) => segments.len() >= parts.len(),
        None => segments.len() == parts.len(),
    };
    if !fits {
        return Ok(None);
    }
    let mut labels = Vec::new();
    for (i, (part, seg)) in parts.iter().zip(segments).enumerate() {
        if let (Some(name), true) = (greedy, i + 1 == parts.len()) {
            let rest = segments[i..].join("/");
            if rest.is_empty() {
                return Ok(None);
            }
            labels.push((name, decode(&rest, "request path")?));
        } else if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            labels.push((name, decode(seg, "request path")?));
        } else if part != seg {
            return Ok(None);
        }
    }
    Ok(Some(labels))
}

/// The decoded path labels of a match, `(label, value)` in template order.
pub type Labels = Vec<(&'static str, String)>;

/// Finds the operation of any rest-json route table for `method` and the raw (still
/// percent-encoded) `path`; literal templates are tried before templates with labels.
/// `Ok(None)` when nothing matches.
///
/// # Errors
/// `InvalidRequestException` when a path label is not valid percent-encoded UTF-8.
pub fn match_in<O: Copy>(
    routes: &[Route<O>],
    method: &Method,
    path: &str,
) -> Result<Option<(O, Labels)>, ApiError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let literal_first = routes
        .iter()
        .filter(|r| !r.template.contains('{'))
        .chain(routes.iter().filter(|r| r.template.contains('{')));
    for r in literal_first {
        if r.method != *method {
            continue;
        }
        if let Some(labels) = match_template(r.template, &segments)? {
            return Ok(Some((r.operation, labels)));
        }
    }
    Ok(None)
}

/// The decoded query parameters of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (`a=1&b=x%3Ay`); a key without `=` has the value `""`.
    ///
    /// # Errors
    /// `InvalidRequestException` for components that are not percent-encoded UTF-8.
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k, "query string")?, decode(v, "query string")?));
        }
        Ok(Query { pairs })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter (`true` / `false`, as botocore serializes them).
    ///
    /// # Errors
    /// `InvalidRequestException` for any other value.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("Value '{other}' at '{name}' is not a valid boolean (true or false)."),
            )),
        }
    }

    /// An integer parameter.
    ///
    /// # Errors
    /// `InvalidRequestException` when the value is not a base-10 integer.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("Value '{v}' at '{name}' is not a valid integer."),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Op {
        ByName,
        Literal,
    }

    const TABLE: &[Route<Op>] = &[
        route(Method::GET, "/things/{thingName}", Op::ByName),
        route(Method::GET, "/things/literal", Op::Literal),
    ];

    #[test]
    fn literal_templates_win_and_labels_are_decoded() {
        let (op, labels) = match_in(TABLE, &Method::GET, "/things/literal")
            .unwrap()
            .unwrap();
        assert_eq!(op, Op::Literal);
        assert!(labels.is_empty());
        let (op, labels) = match_in(TABLE, &Method::GET, "/things/a%3Ab%20c")
            .unwrap()
            .unwrap();
        assert_eq!(op, Op::ByName);
        assert_eq!(labels, vec![("thingName", "a:b c".to_owned())]);
        assert!(
            match_in(TABLE, &Method::PUT, "/things/x")
                .unwrap()
                .is_none()
        );
        assert!(
            match_in(TABLE, &Method::GET, "/things/x/y")
                .unwrap()
                .is_none()
        );
        let e = match_in(TABLE, &Method::GET, "/things/%FF").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum GreedyOp {
        List,
        Get,
    }

    const GREEDY: &[Route<GreedyOp>] = &[
        route(Method::GET, "/destinations", GreedyOp::List),
        route(Method::GET, "/destinations/{arn+}", GreedyOp::Get),
    ];

    #[test]
    fn greedy_labels_take_the_rest_of_the_path() {
        let (op, labels) = match_in(
            GREEDY,
            &Method::GET,
            "/destinations/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Aruledestination/http/ab-1",
        )
        .unwrap()
        .unwrap();
        assert_eq!(op, GreedyOp::Get);
        assert_eq!(
            labels,
            vec![(
                "arn",
                "arn:aws:iot:us-east-1:123456789012:ruledestination/http/ab-1".to_owned()
            )]
        );
        let (op, labels) = match_in(GREEDY, &Method::GET, "/destinations/x")
            .unwrap()
            .unwrap();
        assert_eq!(op, GreedyOp::Get);
        assert_eq!(labels, vec![("arn", "x".to_owned())]);
        let (op, _) = match_in(GREEDY, &Method::GET, "/destinations")
            .unwrap()
            .unwrap();
        assert_eq!(op, GreedyOp::List);
        assert!(
            match_in(GREEDY, &Method::GET, "/destinations/")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn query_values() {
        let q = Query::parse(Some(
            "endpointType=iot%3AData-ATS&recursive=true&maxResults=5&x",
        ))
        .unwrap();
        assert_eq!(q.get("endpointType"), Some("iot:Data-ATS"));
        assert_eq!(q.bool("recursive").unwrap(), Some(true));
        assert_eq!(q.int("maxResults").unwrap(), Some(5));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.get("missing"), None);
        assert!(q.bool("endpointType").is_err());
        assert!(q.int("endpointType").is_err());
    }
}
