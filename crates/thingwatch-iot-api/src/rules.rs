//! The rules engine's control plane over `thingwatch_rules::Rules`: the topic rule
//! operations — CreateTopicRule, GetTopicRule, ListTopicRules, ReplaceTopicRule,
//! DeleteTopicRule, EnableTopicRule, DisableTopicRule — and the topic rule destination
//! operations — CreateTopicRuleDestination, GetTopicRuleDestination,
//! ListTopicRuleDestinations, UpdateTopicRuleDestination, DeleteTopicRuleDestination,
//! ConfirmTopicRuleDestination — plus the unsigned `enableUrl` route ([`confirm_routes`]).
//!
//! Members, routes, statuses and errors: botocore 1.43.11, `iot-2015-05-28` (AWS IoT API
//! Reference, e.g. <https://docs.aws.amazon.com/iot/latest/apireference/API_CreateTopicRule.html>).
//! The body of CreateTopicRule / ReplaceTopicRule *is* the `TopicRulePayload` (the model's
//! `payload` trait); it is stored as sent, so GetTopicRule answers every member of every
//! action, null members left out. Timestamps (`createdAt`, `lastUpdatedAt`) are epoch
//! **seconds** as JSON numbers (fractional).
//!
//! Errors (`rules_error`): `SqlParseException` (400), `InvalidRequestException` (400),
//! `ResourceAlreadyExistsException` (409), `LimitExceededException` (410),
//! `ConflictingResourceUpdateException` (409), `InternalException` (500, the code every one
//! of these operations models; the cause is logged, never sent). A rule that does not exist
//! is `UnauthorizedException` (401) — the model has no not-found error for topic rules and
//! AWS answers 401 — and a destination or token that does not exist is
//! `InvalidRequestException`.
//!
//! `iam:PassRole`: when the service has a [`RoleChecker`](crate::RoleChecker)
//! ([`IotService::with_role_checker`]), CreateTopicRule and ReplaceTopicRule check every
//! distinct `roleArn` of the rule's actions and error action for the caller before storing.
//!
//! Reads (Get/List) answer from the rules' in-memory snapshot; writes run on the blocking
//! pool (SQLite). Without [`IotService::with_rules`] every operation here answers
//! `UnknownOperationException`.
//!
//! The `enableUrl` a confirmation message carries (`BASE/confirmdestination/TOKEN`, see
//! `thingwatch_rules::RulesSettings`) is fetched by whoever receives the message, without a
//! signature; [`confirm_routes`] serves it on the API port.

use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use http::{Method, Uri};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use thingwatch_aws::page_token::{self, Alphabet};
use thingwatch_http::error::{ApiError, ErrorCode, Protocol, RenderError, json_success};
use thingwatch_http::server::ApiState;
use thingwatch_rules::{
    CompiledRule, Destination, DestinationStatus, RuleFilter, Rules, RulesError, TopicRule,
};

use super::validate::{
    MAX_CONFIRMATION_TOKEN_LEN, MAX_RULE_NAME_LEN, MAX_URL_LEN, Pattern, Validation,
};
use super::{Empty, Input, IotService, epoch_seconds};

/// The 500 code every topic rule and destination operation models.
const INTERNAL: ErrorCode = ErrorCode::Internal;

/// `maxResults` of ListTopicRules: 1..=10000 (model `TopicRuleMaxResults`).
pub const MAX_TOPIC_RULE_RESULTS: i64 = 10_000;
/// ListTopicRules' page size when the caller sends no `maxResults` (our choice: AWS
/// documents none; [`thingwatch_rules::model::MAX_RULES`], so one page holds every rule).
pub const DEFAULT_TOPIC_RULE_RESULTS: usize = thingwatch_rules::model::MAX_RULES;
/// `maxResults` of ListTopicRuleDestinations: 1..=1000 (model
/// `TopicRuleDestinationMaxResults`); also its default (our choice).
pub const MAX_DESTINATION_RESULTS: i64 = 1000;
/// The optional CreateTopicRule header carrying the rule's tags (`k1=v1&k2=v2`). Accepted
/// and not stored: Thingwatch has no resource tagging for rules yet.
pub const TAGGING_HEADER: &str = "x-amz-tagging";
/// The axum path of the unsigned `enableUrl` route ([`confirm_routes`]): the
/// ConfirmTopicRuleDestination path, `thingwatch_rules::destinations::ENABLE_PATH` + token.
pub const CONFIRM_ROUTE: &str = "/confirmdestination/{*confirmationToken}";

/// `nextToken` tag of ListTopicRules (tokens carry the last rule name of the page).
const RULES_TAG: &str = "rules";
/// `nextToken` tag of ListTopicRuleDestinations (tokens carry the last ARN of the page).
const DESTINATIONS_TAG: &str = "destinations";

/// `TopicRuleDestinationStatus` values, as the model lists them.
const DESTINATION_STATUSES: &[&str] = &["ENABLED", "IN_PROGRESS", "DISABLED", "ERROR", "DELETING"];

/// Maps a rules error to its AWS error; `not_found` is what an unknown resource answers
/// (`UnauthorizedException` for a rule, `InvalidRequestException` for a destination).
/// Storage causes are logged and answered `InternalException` with a generic message.
pub(crate) fn rules_error(e: RulesError, not_found: ErrorCode) -> ApiError {
    match e {
        RulesError::SqlParse(m) => ApiError::new(ErrorCode::SqlParse, m),
        RulesError::InvalidRequest(m) => ApiError::new(ErrorCode::InvalidRequest, m),
        RulesError::NotFound(m) => ApiError::new(not_found, m),
        RulesError::AlreadyExists(m) => ApiError::new(ErrorCode::ResourceAlreadyExists, m),
        RulesError::LimitExceeded(m) => ApiError::new(ErrorCode::LimitExceeded, m),
        RulesError::Conflict(m) => ApiError::new(ErrorCode::ConflictingResourceUpdate, m),
        RulesError::Storage(cause) => {
            tracing::error!(%cause, "rules storage failure");
            ApiError::new(INTERNAL, "An unexpected error has occurred.")
        }
    }
}

/// Runs a blocking rules call on the blocking pool, mapping its error with [`rules_error`].
async fn blocking<T, F>(not_found: ErrorCode, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, RulesError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| rules_error(e, not_found)),
        Err(join) => {
            tracing::error!(error = %join, "rules task failed");
            Err(ApiError::new(INTERNAL, "An unexpected error has occurred."))
        }
    }
}

/// One page of `items` (sorted by `key`): those strictly after the key in `token`, at most
/// `max`, and the token of the next page when more remain.
fn paginate<T>(
    tag: &str,
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> &str,
    token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let after = match token {
        None => None,
        Some(t) => Some(
            page_token::decode_one(Alphabet::UrlSafe, tag, t).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("The nextToken {t} is not valid."),
                )
            })?,
        ),
    };
    let mut rest = items
        .into_iter()
        .filter(|i| after.as_deref().is_none_or(|a| key(i) > a))
        .peekable();
    let mut page = Vec::new();
    while page.len() < max {
        match rest.next() {
            Some(i) => page.push(i),
            None => break,
        }
    }
    let next = match (rest.peek(), page.last()) {
        (Some(_), Some(last)) => Some(page_token::encode(Alphabet::UrlSafe, tag, &[key(last)])),
        _ => None,
    };
    Ok((page, next))
}

/// A copy of `v` without null members (at any depth): absent members are omitted on the
/// wire, never `null`.
fn without_nulls(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// GetTopicRule's `rule` (`TopicRule`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TopicRuleOut {
    rule_name: String,
    sql: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// Epoch seconds.
    created_at: f64,
    actions: Vec<Json>,
    rule_disabled: bool,
    aws_iot_sql_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_action: Option<Json>,
}

/// GetTopicRule's output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetTopicRuleOutput {
    rule_arn: String,
    rule: TopicRuleOut,
}

/// One `TopicRuleListItem`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TopicRuleListItem {
    rule_arn: String,
    rule_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic_pattern: Option<String>,
    /// Epoch seconds.
    created_at: f64,
    rule_disabled: bool,
}

/// ListTopicRules' output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListTopicRulesOutput {
    rules: Vec<TopicRuleListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateDestinationInput {
    destination_configuration: Option<DestinationConfigurationIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DestinationConfigurationIn {
    http_url_configuration: Option<HttpUrlIn>,
    vpc_configuration: Option<Json>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpUrlIn {
    confirmation_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateDestinationInput {
    arn: Option<String>,
    status: Option<String>,
}

/// `HttpUrlDestinationProperties` / `HttpUrlDestinationSummary`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HttpUrlOut {
    confirmation_url: String,
}

/// `TopicRuleDestination`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DestinationOut {
    arn: String,
    status: &'static str,
    /// Epoch seconds.
    created_at: f64,
    /// Epoch seconds.
    last_updated_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    http_url_properties: HttpUrlOut,
}

impl From<&Destination> for DestinationOut {
    fn from(d: &Destination) -> Self {
        DestinationOut {
            arn: d.arn.clone(),
            status: d.status.as_str(),
            created_at: epoch_seconds(d.created_at_ms),
            last_updated_at: epoch_seconds(d.last_updated_at_ms),
            status_reason: d.status_reason.clone(),
            http_url_properties: HttpUrlOut {
                confirmation_url: d.confirmation_url.clone(),
            },
        }
    }
}

/// `TopicRuleDestinationSummary`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DestinationSummaryOut {
    arn: String,
    status: &'static str,
    /// Epoch seconds.
    created_at: f64,
    /// Epoch seconds.
    last_updated_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    http_url_summary: HttpUrlOut,
}

/// Create/GetTopicRuleDestination's output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DestinationOutput {
    topic_rule_destination: DestinationOut,
}

/// ListTopicRuleDestinations' output.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListDestinationsOutput {
    destination_summaries: Vec<DestinationSummaryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Validates the `ruleName` path label (1..=128, `^[a-zA-Z0-9_]+$`).
fn rule_name<'a>(input: &'a Input<'_>) -> Result<&'a str, ApiError> {
    let name = input.matched.label("ruleName");
    let mut v = Validation::new();
    v.string(
        "ruleName",
        Some(name),
        1,
        MAX_RULE_NAME_LEN,
        Some(Pattern::RuleName),
    );
    v.finish()?;
    Ok(name)
}

/// Validates the `arn` path label of Get/DeleteTopicRuleDestination.
fn destination_arn<'a>(input: &'a Input<'_>) -> Result<&'a str, ApiError> {
    let arn = input.matched.label("arn");
    let mut v = Validation::new();
    v.string("arn", Some(arn), 1, usize::MAX, None);
    v.finish()?;
    Ok(arn)
}

/// ConfirmTopicRuleDestination, signed or through the `enableUrl`: validates the token
/// (1..=2048) and enables the destination that holds it.
async fn confirm(rules: Rules, token: String, now_ms: i64) -> Result<Empty, ApiError> {
    let mut v = Validation::new();
    v.string(
        "confirmationToken",
        Some(&token),
        1,
        MAX_CONFIRMATION_TOKEN_LEN,
        None,
    );
    v.finish()?;
    blocking(ErrorCode::InvalidRequest, move || {
        rules.confirm_destination(&token, now_ms)
    })
    .await?;
    Ok(Empty {})
}

/// The unsigned route of the `enableUrl` that destination confirmation messages carry:
/// `GET /confirmdestination/{confirmationToken}` ([`CONFIRM_ROUTE`]), answered exactly as
/// ConfirmTopicRuleDestination (`200 {}` with `x-amzn-RequestId`, or a rest-json error).
///
/// Mount it on the API port beside the `iot` service:
/// `ApiState::with_routes(thingwatch_iot_api::confirm_routes(rules.clone()))`. Mounted
/// routes are served before the SigV4 dispatcher, so this route also answers signed
/// ConfirmTopicRuleDestination calls (their signature is not checked: the token is the
/// credential, as for AWS's own `enableUrl`; IAM is not consulted for the action).
pub fn confirm_routes(rules: Rules) -> Router<ApiState> {
    Router::new().route(
        CONFIRM_ROUTE,
        get(move |uri: Uri| {
            let rules = rules.clone();
            async move { confirm_unsigned(rules, &uri).await }
        }),
    )
}

async fn confirm_unsigned(rules: Rules, uri: &Uri) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let result = match crate::route::match_route(&Method::GET, uri.path()) {
        Ok(m) => {
            let token = m.label("confirmationToken").to_owned();
            confirm(rules, token, now_ms).await
        }
        Err(e) => Err(e),
    };
    match result.and_then(|out| json_success(Protocol::RestJson, &request_id, &out)) {
        Ok(r) => r,
        Err(e) => e.render(Protocol::RestJson, &request_id),
    }
}

impl IotService {
    /// The rules, or the error every rule operation answers without them.
    fn rules_api(&self) -> Result<Rules, ApiError> {
        self.rules().cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownOperation,
                "Topic rule operations are not configured on this server.",
            )
        })
    }

    /// `iam:PassRole` on every distinct `roleArn` of the payload's actions and error action,
    /// when a [`crate::RoleChecker`] is configured. The payload is compiled (a copy) to
    /// find them, so an invalid payload fails here with the error the store would give.
    fn check_action_roles(
        &self,
        input: &Input<'_>,
        name: &str,
        payload: &Map<String, Json>,
    ) -> Result<(), ApiError> {
        if self.inner.roles.is_none() {
            return Ok(());
        }
        let compiled = CompiledRule::compile(TopicRule {
            name: name.to_owned(),
            created_at_ms: 0,
            payload: payload.clone(),
        })
        .map_err(|e| rules_error(e, ErrorCode::Unauthorized))?;
        let mut seen: Vec<&str> = Vec::new();
        for role in compiled
            .actions
            .iter()
            .chain(&compiled.error_action)
            .filter_map(|a| a.role_arn.as_deref())
        {
            if !seen.contains(&role) {
                seen.push(role);
                self.check_role(&input.ctx.auth.principal.arn, role)?;
            }
        }
        Ok(())
    }

    /// CreateTopicRule (`POST /rules/{ruleName}`, body = `TopicRulePayload`, optional
    /// [`TAGGING_HEADER`]): output none (`{}`).
    pub(crate) async fn op_create_topic_rule(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let rules = self.rules_api()?;
        let name = rule_name(input)?.to_owned();
        let payload: Map<String, Json> = input.body()?;
        let _tags = input.header(TAGGING_HEADER);
        self.check_action_roles(input, &name, &payload)?;
        let now = input.ctx.now_ms();
        blocking(ErrorCode::Unauthorized, move || {
            rules.create_rule(&name, payload, now)
        })
        .await?;
        Ok(Empty {})
    }

    /// ReplaceTopicRule (`PATCH /rules/{ruleName}`, body = `TopicRulePayload`): the rule's
    /// `createdAt` is kept. An unknown rule is `UnauthorizedException`.
    pub(crate) async fn op_replace_topic_rule(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let rules = self.rules_api()?;
        let name = rule_name(input)?.to_owned();
        let payload: Map<String, Json> = input.body()?;
        self.check_action_roles(input, &name, &payload)?;
        let now = input.ctx.now_ms();
        blocking(ErrorCode::Unauthorized, move || {
            rules.replace_rule(&name, payload, now)
        })
        .await?;
        Ok(Empty {})
    }

    /// GetTopicRule (`GET /rules/{ruleName}`): `{ruleArn, rule}`. `awsIotSqlVersion` is the
    /// stored one or AWS's API default `2015-10-08`; `ruleDisabled` is always present.
    pub(crate) async fn op_get_topic_rule(
        &self,
        input: &Input<'_>,
    ) -> Result<GetTopicRuleOutput, ApiError> {
        let rules = self.rules_api()?;
        let name = rule_name(input)?;
        let c = rules
            .get_rule(name)
            .map_err(|e| rules_error(e, ErrorCode::Unauthorized))?;
        let r = &c.rule;
        let p = &r.payload;
        let actions = match p.get("actions") {
            Some(Json::Array(a)) => a.iter().map(without_nulls).collect(),
            _ => Vec::new(),
        };
        Ok(GetTopicRuleOutput {
            rule_arn: rules.rule_arn(&r.name),
            rule: TopicRuleOut {
                rule_name: r.name.clone(),
                sql: r.sql().to_owned(),
                description: p
                    .get("description")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                created_at: epoch_seconds(r.created_at_ms),
                actions,
                rule_disabled: r.disabled(),
                aws_iot_sql_version: r.sql_version().to_owned(),
                error_action: p
                    .get("errorAction")
                    .filter(|a| !a.is_null())
                    .map(without_nulls),
            },
        })
    }

    /// ListTopicRules (`GET /rules?topic=&maxResults=&nextToken=&ruleDisabled=`): rules
    /// sorted by name; `topic` selects the rules whose FROM topic filter is exactly that
    /// text (see `thingwatch_rules::RuleFilter`).
    pub(crate) async fn op_list_topic_rules(
        &self,
        input: &Input<'_>,
    ) -> Result<ListTopicRulesOutput, ApiError> {
        let rules = self.rules_api()?;
        let q = &input.query;
        let mut v = Validation::new();
        let max = q.int("maxResults")?;
        v.range("maxResults", max, 1, MAX_TOPIC_RULE_RESULTS);
        let disabled = q.bool("ruleDisabled")?;
        v.finish()?;
        let max = max
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(DEFAULT_TOPIC_RULE_RESULTS);
        let all = rules.list_rules(RuleFilter {
            topic: q.get("topic"),
            rule_disabled: disabled,
        });
        let (page, next_token) = paginate(
            RULES_TAG,
            all,
            |r: &Arc<CompiledRule>| r.rule.name.as_str(),
            q.get("nextToken"),
            max,
        )?;
        Ok(ListTopicRulesOutput {
            rules: page
                .iter()
                .map(|c| TopicRuleListItem {
                    rule_arn: rules.rule_arn(&c.rule.name),
                    rule_name: c.rule.name.clone(),
                    topic_pattern: c.topic_pattern.clone(),
                    created_at: epoch_seconds(c.rule.created_at_ms),
                    rule_disabled: c.rule.disabled(),
                })
                .collect(),
            next_token,
        })
    }

    /// DeleteTopicRule (`DELETE /rules/{ruleName}`). An unknown rule is
    /// `UnauthorizedException`.
    pub(crate) async fn op_delete_topic_rule(&self, input: &Input<'_>) -> Result<Empty, ApiError> {
        let rules = self.rules_api()?;
        let name = rule_name(input)?.to_owned();
        blocking(ErrorCode::Unauthorized, move || rules.delete_rule(&name)).await?;
        Ok(Empty {})
    }

    /// EnableTopicRule (`POST /rules/{ruleName}/enable`, `disabled = false`) and
    /// DisableTopicRule (`POST /rules/{ruleName}/disable`, `true`). An unknown rule is
    /// `UnauthorizedException`.
    pub(crate) async fn op_set_topic_rule_disabled(
        &self,
        input: &Input<'_>,
        disabled: bool,
    ) -> Result<Empty, ApiError> {
        let rules = self.rules_api()?;
        let name = rule_name(input)?.to_owned();
        blocking(ErrorCode::Unauthorized, move || {
            rules.set_rule_disabled(&name, disabled)
        })
        .await?;
        Ok(Empty {})
    }

    /// CreateTopicRuleDestination (`POST /destinations`,
    /// `{destinationConfiguration:{httpUrlConfiguration:{confirmationUrl}}}`): the new
    /// `IN_PROGRESS` destination (its confirmation is POSTed when the rules have an HTTP
    /// client). VPC destinations are `InvalidRequestException`.
    pub(crate) async fn op_create_topic_rule_destination(
        &self,
        input: &Input<'_>,
    ) -> Result<DestinationOutput, ApiError> {
        let rules = self.rules_api()?;
        let body: CreateDestinationInput = input.body()?;
        let mut v = Validation::new();
        let config = v.required("destinationConfiguration", body.destination_configuration);
        let url = match config {
            Some(DestinationConfigurationIn {
                vpc_configuration: Some(vpc),
                ..
            }) if !vpc.is_null() => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "VPC topic rule destinations are not supported by this server.",
                ));
            }
            Some(DestinationConfigurationIn {
                http_url_configuration: Some(http),
                ..
            }) => {
                let url = v.required(
                    "destinationConfiguration.httpUrlConfiguration.confirmationUrl",
                    http.confirmation_url,
                );
                v.string(
                    "destinationConfiguration.httpUrlConfiguration.confirmationUrl",
                    url.as_deref(),
                    0,
                    MAX_URL_LEN,
                    None,
                );
                url
            }
            Some(_) => {
                v.fail("The destinationConfiguration must have an httpUrlConfiguration.");
                None
            }
            None => None,
        };
        v.finish()?;
        let Some(url) = url else {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "The confirmationUrl is required.",
            ));
        };
        let now = input.ctx.now_ms();
        let d = blocking(ErrorCode::InvalidRequest, move || {
            rules.create_destination(&url, now)
        })
        .await?;
        Ok(DestinationOutput {
            topic_rule_destination: DestinationOut::from(&d),
        })
    }

    /// GetTopicRuleDestination (`GET /destinations/{arn+}`). An unknown ARN is
    /// `InvalidRequestException`.
    pub(crate) async fn op_get_topic_rule_destination(
        &self,
        input: &Input<'_>,
    ) -> Result<DestinationOutput, ApiError> {
        let rules = self.rules_api()?;
        let arn = destination_arn(input)?;
        let d = rules
            .get_destination(arn)
            .map_err(|e| rules_error(e, ErrorCode::InvalidRequest))?;
        Ok(DestinationOutput {
            topic_rule_destination: DestinationOut::from(d.as_ref()),
        })
    }

    /// ListTopicRuleDestinations (`GET /destinations?maxResults=&nextToken=`): sorted by
    /// ARN, `destinationSummaries` with `httpUrlSummary`.
    pub(crate) async fn op_list_topic_rule_destinations(
        &self,
        input: &Input<'_>,
    ) -> Result<ListDestinationsOutput, ApiError> {
        let rules = self.rules_api()?;
        let q = &input.query;
        let mut v = Validation::new();
        let max = q.int("maxResults")?;
        v.range("maxResults", max, 1, MAX_DESTINATION_RESULTS);
        v.finish()?;
        let max = usize::try_from(max.unwrap_or(MAX_DESTINATION_RESULTS)).unwrap_or(1);
        let all = rules.list_destinations();
        let (page, next_token) = paginate(
            DESTINATIONS_TAG,
            all.iter(),
            |d: &&Arc<Destination>| d.arn.as_str(),
            q.get("nextToken"),
            max,
        )?;
        Ok(ListDestinationsOutput {
            destination_summaries: page
                .into_iter()
                .map(|d| DestinationSummaryOut {
                    arn: d.arn.clone(),
                    status: d.status.as_str(),
                    created_at: epoch_seconds(d.created_at_ms),
                    last_updated_at: epoch_seconds(d.last_updated_at_ms),
                    status_reason: d.status_reason.clone(),
                    http_url_summary: HttpUrlOut {
                        confirmation_url: d.confirmation_url.clone(),
                    },
                })
                .collect(),
            next_token,
        })
    }

    /// UpdateTopicRuleDestination (`PATCH /destinations`, `{arn, status}`): see
    /// `Rules::update_destination` for the transitions. An unknown ARN or a refused
    /// transition is `InvalidRequestException`.
    pub(crate) async fn op_update_topic_rule_destination(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let rules = self.rules_api()?;
        let body: UpdateDestinationInput = input.body()?;
        let mut v = Validation::new();
        let arn = v.required("arn", body.arn);
        let status = v.required("status", body.status);
        v.one_of("status", status.as_deref(), DESTINATION_STATUSES);
        v.finish()?;
        let (Some(arn), Some(status)) = (arn, status) else {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "arn and status are required.",
            ));
        };
        let status: DestinationStatus = status
            .parse()
            .map_err(|e| rules_error(e, ErrorCode::InvalidRequest))?;
        let now = input.ctx.now_ms();
        blocking(ErrorCode::InvalidRequest, move || {
            rules.update_destination(&arn, status, now)
        })
        .await?;
        Ok(Empty {})
    }

    /// DeleteTopicRuleDestination (`DELETE /destinations/{arn+}`). An unknown ARN is
    /// `InvalidRequestException`.
    pub(crate) async fn op_delete_topic_rule_destination(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let rules = self.rules_api()?;
        let arn = destination_arn(input)?.to_owned();
        blocking(ErrorCode::InvalidRequest, move || {
            rules.delete_destination(&arn)
        })
        .await?;
        Ok(Empty {})
    }

    /// ConfirmTopicRuleDestination (`GET /confirmdestination/{confirmationToken+}`): the
    /// destination holding the token becomes `ENABLED`. A token no destination holds is
    /// `InvalidRequestException`. When [`confirm_routes`] is mounted it serves this path
    /// before the SigV4 dispatcher reaches this operation.
    pub(crate) async fn op_confirm_topic_rule_destination(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let rules = self.rules_api()?;
        let token = input.matched.label("confirmationToken").to_owned();
        confirm(rules, token, input.ctx.now_ms()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_errors_map_to_aws_codes() {
        let table = [
            (RulesError::SqlParse("x".into()), ErrorCode::SqlParse, 400),
            (
                RulesError::InvalidRequest("x".into()),
                ErrorCode::InvalidRequest,
                400,
            ),
            (
                RulesError::NotFound("x".into()),
                ErrorCode::Unauthorized,
                401,
            ),
            (
                RulesError::AlreadyExists("x".into()),
                ErrorCode::ResourceAlreadyExists,
                409,
            ),
            (
                RulesError::LimitExceeded("x".into()),
                ErrorCode::LimitExceeded,
                410,
            ),
            (
                RulesError::Conflict("x".into()),
                ErrorCode::ConflictingResourceUpdate,
                409,
            ),
            (
                RulesError::Storage("disk on fire".into()),
                ErrorCode::Internal,
                500,
            ),
        ];
        for (err, code, status) in table {
            let e = rules_error(err, ErrorCode::Unauthorized);
            assert_eq!(e.code, code);
            assert_eq!(e.code.http_status(Protocol::RestJson), status);
            assert!(!e.message.contains("disk on fire"));
        }
        assert_eq!(ErrorCode::Internal.as_str(), "InternalException");
        let e = rules_error(RulesError::NotFound("x".into()), ErrorCode::InvalidRequest);
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn pages_continue_strictly_after_the_token() {
        let names = ["a", "b", "c"];
        let (p, next) = paginate("t", names, |n| n, None, 2).unwrap();
        assert_eq!(p, ["a", "b"]);
        let next = next.unwrap();
        let (p, none) = paginate("t", names, |n| n, Some(&next), 2).unwrap();
        assert_eq!(p, ["c"]);
        assert!(none.is_none());
        let (p, none) = paginate("t", names, |n| n, None, 3).unwrap();
        assert_eq!(p.len(), 3);
        assert!(none.is_none());
        let e = paginate("other", names, |n| n, Some(&next), 2).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(e.message, format!("The nextToken {next} is not valid."));
    }

    #[test]
    fn nulls_are_left_out() {
        let v = serde_json::json!({"republish": {"topic": "t", "qos": null, "h": [{"a": null}]}});
        assert_eq!(
            without_nulls(&v),
            serde_json::json!({"republish": {"topic": "t", "h": [{}]}})
        );
    }
}
