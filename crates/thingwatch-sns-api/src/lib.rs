//! `thingwatch-sns-api`: the `sns` API (awsQuery, version 2010-03-31, SigV4 signing name
//! `sns`) over `thingwatch_sns::Sns` as a [`ServiceHandler`] ([`SnsService`]), and the
//! unauthenticated routes a receiver follows ([`routes`]): `GET /sns/?Action=ConfirmSubscription`
//! (SubscribeURL), `GET /sns/?Action=Unsubscribe` (UnsubscribeURL) and
//! `GET /sns/SimpleNotificationService-thingwatch.pem` (SigningCertURL).
//!
//! Shapes follow botocore's `sns/2010-03-31/service-2.json` (botocore 1.43.11, `python3 ../shared/tools/aws-op.py sns OP`; error codes and statuses checked there): results in
//! `<{Op}Result>`, lists as `<member>`, `NextToken` paging (100 per page).
//!
//! **API Boundary:** this crate knows SNS's wire shapes; topics, subscriptions and deliveries
//! are `thingwatch_sns`'s.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use thingwatch_http::{
    ApiError, ApiState, AwsRequest, ErrorCode, HandlerFuture, Protocol, RequestContext,
    ServiceHandler,
};
use thingwatch_sns::{SIGNING_CERT_FILE, Sns, SnsError, Subscription};
use thingwatch_wire::query::{self, QueryRequest};
use thingwatch_wire::{Reader, Value};

/// The XML namespace of SNS responses (the model's `xmlNamespace`).
pub const SNS_XML_NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";
/// The API version SNS requests carry (`Version=2010-03-31`).
pub const SNS_API_VERSION: &str = "2010-03-31";
/// The path prefix of the unauthenticated receiver routes.
pub const RECEIVER_PATH: &str = "/sns/";

/// The `sns` service. Register it with
/// `ApiState::with_service("sns", Arc::new(SnsService::new(sns)))`.
#[derive(Clone, Debug)]
pub struct SnsService {
    sns: Sns,
}

impl SnsService {
    /// A service over `sns`.
    pub fn new(sns: Sns) -> Self {
        Self { sns }
    }
}

fn err(e: SnsError) -> ApiError {
    e.to_api_error()
}

fn missing(name: &str) -> ApiError {
    // SNS answers a missing required member with InvalidParameter (e.g. Publish without
    // TopicArn: "Invalid parameter: TopicArn or TargetArn Reason: no value for required
    // parameter").
    ApiError::new(
        ErrorCode::SnsInvalidParameter,
        format!("Invalid parameter: {name} Reason: no value for required parameter"),
    )
}

fn xml(action: &str, request_id: &str, result: Option<&Value>) -> Response {
    let body = query::to_body(action, SNS_XML_NAMESPACE, request_id, result);
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-RequestId", v);
    }
    resp
}

fn subscription_value(s: &Subscription) -> Value {
    Value::structure()
        .with("SubscriptionArn", s.reported_arn())
        .with("Owner", s.topic_arn.split(':').nth(4).unwrap_or(""))
        .with("Protocol", s.protocol.as_str())
        .with("Endpoint", s.endpoint.as_str())
        .with("TopicArn", s.topic_arn.as_str())
}

/// Runs one SNS operation on the parsed request (shared by the SigV4 handler and the
/// receiver routes).
fn run(sns: &Sns, q: &QueryRequest, request_id: &str) -> Result<Response, ApiError> {
    let r = Reader::new(&q.params);
    let req = |name: &str| -> Result<&str, ApiError> { r.str(name)?.ok_or_else(|| missing(name)) };
    let action = q.action.as_str();
    let result = match action {
        "CreateTopic" => {
            let arn = sns.create_topic(req("Name")?).map_err(err)?;
            Some(Value::structure().with("TopicArn", arn))
        }
        "DeleteTopic" => {
            sns.delete_topic(req("TopicArn")?).map_err(err)?;
            None
        }
        "GetTopicAttributes" => {
            let t = sns.topic(req("TopicArn")?).map_err(err)?;
            let subs = sns.list_subscriptions(Some(&t.arn), None).map_err(err)?;
            let confirmed = subs.items.iter().filter(|s| s.confirmed).count();
            let pending = subs.items.len() - confirmed;
            let owner = t.arn.split(':').nth(4).unwrap_or("").to_owned();
            Some(Value::structure().with(
                "Attributes",
                Value::Map(vec![
                    ("TopicArn".into(), Value::from(t.arn.as_str())),
                    ("Owner".into(), Value::from(owner)),
                    ("DisplayName".into(), Value::from("")),
                    (
                        "SubscriptionsConfirmed".into(),
                        Value::from(confirmed.to_string()),
                    ),
                    (
                        "SubscriptionsPending".into(),
                        Value::from(pending.to_string()),
                    ),
                    ("SubscriptionsDeleted".into(), Value::from("0")),
                    (
                        "SignatureVersion".into(),
                        Value::from(thingwatch_sns::SIGNATURE_VERSION),
                    ),
                ]),
            ))
        }
        "ListTopics" => {
            let page = sns.list_topics(r.str("NextToken")?).map_err(err)?;
            let topics = page
                .items
                .iter()
                .map(|t| Value::structure().with("TopicArn", t.arn.as_str()));
            Some(
                Value::structure()
                    .with("Topics", Value::List(topics.collect()))
                    .with_opt("NextToken", page.next_token),
            )
        }
        "Subscribe" => {
            let arn = sns
                .subscribe(req("TopicArn")?, req("Protocol")?, r.str("Endpoint")?)
                .map_err(err)?;
            Some(Value::structure().with("SubscriptionArn", arn))
        }
        "ConfirmSubscription" => {
            let arn = sns
                .confirm_subscription(req("TopicArn")?, req("Token")?)
                .map_err(err)?;
            Some(Value::structure().with("SubscriptionArn", arn))
        }
        "Unsubscribe" => {
            sns.unsubscribe(req("SubscriptionArn")?).map_err(err)?;
            None
        }
        "GetSubscriptionAttributes" => {
            let s = sns.subscription(req("SubscriptionArn")?).map_err(err)?;
            let owner = s.topic_arn.split(':').nth(4).unwrap_or("").to_owned();
            Some(Value::structure().with(
                "Attributes",
                Value::Map(vec![
                    ("SubscriptionArn".into(), Value::from(s.arn.as_str())),
                    ("TopicArn".into(), Value::from(s.topic_arn.as_str())),
                    ("Owner".into(), Value::from(owner)),
                    ("Protocol".into(), Value::from(s.protocol.as_str())),
                    ("Endpoint".into(), Value::from(s.endpoint.as_str())),
                    (
                        "PendingConfirmation".into(),
                        Value::from(if s.confirmed { "false" } else { "true" }),
                    ),
                    ("ConfirmationWasAuthenticated".into(), Value::from("false")),
                    ("RawMessageDelivery".into(), Value::from("false")),
                ]),
            ))
        }
        "ListSubscriptions" | "ListSubscriptionsByTopic" => {
            let topic = if action == "ListSubscriptionsByTopic" {
                Some(req("TopicArn")?)
            } else {
                None
            };
            let page = sns
                .list_subscriptions(topic, r.str("NextToken")?)
                .map_err(err)?;
            Some(
                Value::structure()
                    .with(
                        "Subscriptions",
                        Value::List(page.items.iter().map(subscription_value).collect()),
                    )
                    .with_opt("NextToken", page.next_token),
            )
        }
        "Publish" => {
            let topic = r
                .str("TopicArn")?
                .or(r.str("TargetArn")?)
                .ok_or_else(|| missing("TopicArn or TargetArn"))?;
            let id = sns
                .publish(topic, r.str("Subject")?, req("Message")?)
                .map_err(err)?;
            Some(Value::structure().with("MessageId", id))
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Could not find operation {other} for version {SNS_API_VERSION}"),
            ));
        }
    };
    Ok(xml(action, request_id, result.as_ref()))
}

impl ServiceHandler for SnsService {
    fn protocol(&self) -> Protocol {
        Protocol::AwsQuery
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let sns = self.sns.clone();
        Box::pin(async move {
            let q = query::parse(req.uri.query(), &req.body)?;
            tokio::task::spawn_blocking(move || run(&sns, &q, &ctx.request_id))
                .await
                .map_err(|e| ApiError::internal(&e))?
        })
    }
}

fn error_response(e: &ApiError, request_id: &str) -> Response {
    let w = e.to_wire(Protocol::AwsQuery, request_id);
    let mut resp = (
        StatusCode::from_u16(w.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        w.body,
    )
        .into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(w.content_type),
    );
    resp
}

/// The unauthenticated routes a receiver follows, merged with
/// `ApiState::with_routes(routes(sns))`:
/// * `GET /sns/?Action=ConfirmSubscription&TopicArn=…&Token=…` — the SubscribeURL; answers
///   the ConfirmSubscription XML;
/// * `GET /sns/?Action=Unsubscribe&SubscriptionArn=…` — the UnsubscribeURL;
/// * `GET /sns/SimpleNotificationService-thingwatch.pem` — the SigningCertURL (PEM).
///
/// Any other `Action` is `InvalidAction` (400): these URLs carry no signature, so only the
/// two actions AWS puts in them are served.
pub fn routes(sns: Sns) -> Router<ApiState> {
    let pem = sns.signing_cert_pem().to_owned();
    Router::new()
        .route(
            RECEIVER_PATH,
            get(move |_: State<ApiState>, RawQuery(q): RawQuery| {
                let sns = sns.clone();
                async move { receiver(sns, q).await }
            }),
        )
        .route(
            &format!("{RECEIVER_PATH}{SIGNING_CERT_FILE}"),
            get(move || {
                let pem = pem.clone();
                async move { ([(header::CONTENT_TYPE, "application/x-pem-file")], pem) }
            }),
        )
}

async fn receiver(sns: Sns, q: Option<String>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let parsed = query::parse(q.as_deref(), &[]).and_then(|q| {
        if matches!(q.action.as_str(), "ConfirmSubscription" | "Unsubscribe") {
            Ok(q)
        } else {
            Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!(
                    "Could not find operation {} for version {SNS_API_VERSION}",
                    q.action
                ),
            ))
        }
    });
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return error_response(&e, &request_id),
    };
    let rid = request_id.clone();
    match tokio::task::spawn_blocking(move || run(&sns, &q, &rid)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => error_response(&e, &request_id),
        Err(e) => error_response(&ApiError::internal(&e), &request_id),
    }
}
