//! The CloudWatch Logs API (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.<Op>`) over
//! [`thingwatch_logstore::LogStore`].
//!
//! Operations: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, CreateLogStream,
//! DeleteLogStream, DescribeLogStreams, PutLogEvents, GetLogEvents, FilterLogEvents. Member
//! names, shapes and constraints follow the botocore `logs-2014-03-28` model
//! (aws-wire.md Appendix A); each operation is one `op_*` function that parses, validates,
//! then calls the store on the blocking pool ([`tokio::task::spawn_blocking`]).
//!
//! Response members that are absent are omitted (never `null`). ARNs:
//! `arn` = `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`, `logGroupArn` = the same without
//! `:*`, streams `arn:aws:logs:REGION:ACCOUNT:log-group:G:log-stream:S`.

mod validate;

use std::future::Future;

use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thingwatch_logstore::{
    DescribeStreamsQuery, FilterQuery, GetEventsQuery, InputLogEvent, LogStore, StoreError,
    StreamOrder, filter_pattern,
};

pub use validate::{Pattern, Validation};

use thingwatch_http::error::{ApiError, ErrorCode, Protocol, json_success};
use thingwatch_http::server::{AwsRequest, HandlerFuture, RequestContext, ServiceHandler};

/// The `X-Amz-Target` prefix of CloudWatch Logs (model `targetPrefix`).
pub const TARGET_PREFIX: &str = "Logs_20140328";

/// Maximum and default `limit` of DescribeLogGroups / DescribeLogStreams (`DescribeLimit`
/// 1..=50; "the default is up to 50 items").
pub const MAX_DESCRIBE_LIMIT: i64 = 50;
/// Maximum and default `limit` of GetLogEvents / FilterLogEvents (`EventsLimit`
/// 1..=10000; default "as many log events as can fit in a response size of 1 MB (up to
/// 10,000 log events)").
pub const MAX_EVENTS_LIMIT: i64 = 10_000;
/// `LogGroupName` / `LogStreamName` maximum length (model: max=512).
pub const MAX_NAME_LEN: usize = 512;
/// `LogGroupIdentifier` maximum length (model: max=2048).
pub const MAX_IDENTIFIER_LEN: usize = 2048;
/// `FilterPattern` maximum length (model: max=1024).
pub const MAX_FILTER_PATTERN_LEN: usize = 1024;
/// `InputLogStreamNames` maximum number of items (model: max=100).
pub const MAX_FILTER_STREAM_NAMES: usize = 100;
/// `InputLogEvents` maximum number of items (model: max=10000).
pub const MAX_PUT_EVENTS: usize = 10_000;
/// `KmsKeyId` maximum length (model: max=256).
pub const MAX_KMS_KEY_ID_LEN: usize = 256;
/// `DescribeLogGroupsLogGroupIdentifiers` maximum number of items (model: max=50).
pub const MAX_DESCRIBE_IDENTIFIERS: usize = 50;

/// `LogGroupClass` enum values (model).
const LOG_GROUP_CLASSES: &[&str] = &["STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS"];
/// `OrderBy` enum values (model).
const ORDER_BY: &[&str] = &["LogStreamName", "LastEventTime"];

/// The CloudWatch Logs service handler (signing name `logs`).
#[derive(Clone)]
pub struct LogsService {
    store: LogStore,
    account_id: String,
    region: String,
}

impl LogsService {
    /// Serves `store` for `account_id` in `region` (both used in ARNs).
    pub fn new(store: LogStore, account_id: String, region: String) -> Self {
        Self {
            store,
            account_id,
            region,
        }
    }

    fn group_arn(&self, group: &str) -> String {
        thingwatch_aws::Arn::log_group_bare(
            &thingwatch_aws::Scope::new(&*self.account_id, &*self.region),
            group,
        )
        .to_string()
    }

    fn stream_arn(&self, group: &str, stream: &str) -> String {
        format!("{}:log-stream:{stream}", self.group_arn(group))
    }

    /// Resolves `logGroupName` / `logGroupIdentifier` (a name, or the `logGroupArn` form
    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`; the model pattern excludes the `:*`
    /// form) to a log group name. Exactly one must be given.
    fn resolve_group(
        &self,
        name: Option<String>,
        identifier: Option<String>,
    ) -> Result<String, ApiError> {
        match (name, identifier) {
            (Some(_), Some(_)) => Err(ApiError::invalid_parameter(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            )),
            (None, None) => Err(ApiError::invalid_parameter(
                "Should provide either name or ARN of the log group (logGroupName or logGroupIdentifier).",
            )),
            (Some(name), None) => Ok(name),
            (None, Some(id)) if !id.starts_with("arn:") => Ok(id),
            (None, Some(arn)) => {
                let parts: Vec<&str> = arn.split(':').collect();
                match parts.as_slice() {
                    [
                        "arn",
                        _partition,
                        "logs",
                        region,
                        account,
                        "log-group",
                        group,
                        rest @ ..,
                    ] if rest.is_empty() || rest == ["*"] => {
                        if *region == self.region && *account == self.account_id {
                            Ok((*group).to_owned())
                        } else {
                            Err(ApiError::new(
                                ErrorCode::ResourceNotFound,
                                "The specified log group does not exist.",
                            ))
                        }
                    }
                    _ => Err(ApiError::invalid_parameter(format!(
                        "Invalid log group ARN: '{arn}'."
                    ))),
                }
            }
        }
    }
}

impl ServiceHandler for LogsService {
    fn protocol(&self) -> Protocol {
        Protocol::AwsJson11
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let svc = self.clone();
        Box::pin(async move { svc.dispatch(ctx, req).await })
    }
}

/// Maps a store error to its AWS error; storage failures are logged and hidden.
fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::ResourceNotFound(m) => ApiError::new(ErrorCode::ResourceNotFound, m),
        StoreError::ResourceAlreadyExists(m) => ApiError::new(ErrorCode::ResourceAlreadyExists, m),
        StoreError::InvalidParameter(m) => ApiError::invalid_parameter(m),
        StoreError::Storage(m) => ApiError::internal(&m),
    }
}

/// Runs a blocking store call on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(store_error),
        Err(join) => Err(ApiError::internal(&join)),
    }
}

/// Parses a JSON body (see [`thingwatch_http::json::parse_body`]).
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    thingwatch_http::json::parse_body("logs", body)
}

/// The empty JSON object returned by operations without output.
#[derive(Serialize)]
struct Empty {}

impl LogsService {
    async fn dispatch(self, ctx: RequestContext, req: AwsRequest) -> Result<Response, ApiError> {
        let target = req
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let op = match target.split_once('.') {
            Some((prefix, op)) if prefix == TARGET_PREFIX && req.method == http::Method::POST => {
                op.to_owned()
            }
            _ => {
                return Err(ApiError::new(
                    ErrorCode::UnknownOperation,
                    format!(
                        "Unknown operation: expected POST with X-Amz-Target '{TARGET_PREFIX}.<Operation>', got '{target}'."
                    ),
                ));
            }
        };
        let rid = ctx.request_id.clone();
        let body = &req.body;
        match op.as_str() {
            "CreateLogGroup" => {
                reply(&rid, self.op_create_log_group(&ctx, parse_body(body)?)).await
            }
            "DeleteLogGroup" => reply(&rid, self.op_delete_log_group(parse_body(body)?)).await,
            "DescribeLogGroups" => {
                reply(&rid, self.op_describe_log_groups(parse_body(body)?)).await
            }
            "CreateLogStream" => {
                reply(&rid, self.op_create_log_stream(&ctx, parse_body(body)?)).await
            }
            "DeleteLogStream" => reply(&rid, self.op_delete_log_stream(parse_body(body)?)).await,
            "DescribeLogStreams" => {
                reply(&rid, self.op_describe_log_streams(parse_body(body)?)).await
            }
            "PutLogEvents" => reply(&rid, self.op_put_log_events(&ctx, parse_body(body)?)).await,
            "GetLogEvents" => reply(&rid, self.op_get_log_events(parse_body(body)?)).await,
            "FilterLogEvents" => reply(&rid, self.op_filter_log_events(parse_body(body)?)).await,
            other => Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!(
                    "Operation '{other}' is not supported by this server's CloudWatch Logs API."
                ),
            )),
        }
    }

    // ---------------------------------------------------------------- log groups

    async fn op_create_log_group(
        &self,
        ctx: &RequestContext,
        input: CreateLogGroupInput,
    ) -> Result<Empty, ApiError> {
        let mut v = Validation::new();
        check_group_name(
            &mut v,
            "logGroupName",
            input.log_group_name.as_deref(),
            true,
        );
        v.string(
            "kmsKeyId",
            input.kms_key_id.as_deref(),
            0,
            MAX_KMS_KEY_ID_LEN,
            None,
        );
        v.one_of(
            "logGroupClass",
            input.log_group_class.as_deref(),
            LOG_GROUP_CLASSES,
        );
        v.finish()?;
        let name = input.log_group_name.unwrap_or_default();
        let store = self.store.clone();
        let now = ctx.now_ms();
        blocking(move || store.create_log_group(&name, now)).await?;
        Ok(Empty {})
    }

    async fn op_delete_log_group(&self, input: GroupNameInput) -> Result<Empty, ApiError> {
        let mut v = Validation::new();
        check_group_name(
            &mut v,
            "logGroupName",
            input.log_group_name.as_deref(),
            true,
        );
        v.finish()?;
        let name = input.log_group_name.unwrap_or_default();
        let store = self.store.clone();
        blocking(move || store.delete_log_group(&name)).await?;
        Ok(Empty {})
    }

    async fn op_describe_log_groups(
        &self,
        input: DescribeLogGroupsInput,
    ) -> Result<DescribeLogGroupsOutput, ApiError> {
        let mut v = Validation::new();
        check_group_name(
            &mut v,
            "logGroupNamePrefix",
            input.log_group_name_prefix.as_deref(),
            false,
        );
        v.string(
            "logGroupNamePattern",
            input.log_group_name_pattern.as_deref(),
            0,
            MAX_NAME_LEN,
            Some(Pattern::LogGroupNamePattern),
        );
        check_page(
            &mut v,
            input.next_token.as_deref(),
            input.limit,
            MAX_DESCRIBE_LIMIT,
        );
        v.one_of(
            "logGroupClass",
            input.log_group_class.as_deref(),
            LOG_GROUP_CLASSES,
        );
        if let Some(ids) = &input.log_group_identifiers {
            v.list_len(
                "logGroupIdentifiers",
                Some(ids.len()),
                1,
                MAX_DESCRIBE_IDENTIFIERS,
            );
            for (i, id) in ids.iter().enumerate() {
                v.string(
                    &format!("logGroupIdentifiers.{}.member", i + 1),
                    Some(id),
                    1,
                    MAX_IDENTIFIER_LEN,
                    Some(Pattern::LogGroupIdentifier),
                );
            }
        }
        v.finish()?;
        if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
            return Err(ApiError::invalid_parameter(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            ));
        }
        if input.log_group_identifiers.is_some()
            && (input.log_group_name_prefix.is_some() || input.log_group_name_pattern.is_some())
        {
            return Err(ApiError::invalid_parameter(
                "logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.",
            ));
        }
        // Every group here is STANDARD class.
        if input
            .log_group_class
            .as_deref()
            .is_some_and(|c| c != "STANDARD")
        {
            return Ok(DescribeLogGroupsOutput {
                log_groups: Vec::new(),
                next_token: None,
            });
        }
        let limit = usize::try_from(input.limit.unwrap_or(MAX_DESCRIBE_LIMIT)).unwrap_or(50);
        let store = self.store.clone();
        let page = if let Some(ids) = input.log_group_identifiers {
            let mut names = Vec::with_capacity(ids.len());
            for id in ids {
                match self.resolve_group(None, Some(id)) {
                    Ok(n) => names.push(n),
                    Err(e) if e.code == ErrorCode::ResourceNotFound => {}
                    Err(e) => return Err(e),
                }
            }
            blocking(move || {
                let mut items = Vec::new();
                for name in names {
                    // The exact name sorts first among the names it prefixes.
                    let page = store.describe_log_groups(Some(&name), None, None, 1)?;
                    items.extend(page.items.into_iter().filter(|g| g.name == name));
                }
                items.sort_by(|a, b| a.name.cmp(&b.name));
                items.dedup_by(|a, b| a.name == b.name);
                Ok(thingwatch_logstore::Page {
                    items,
                    next_token: None,
                })
            })
            .await?
        } else {
            let prefix = input.log_group_name_prefix;
            let pattern = input.log_group_name_pattern;
            let token = input.next_token;
            blocking(move || {
                store.describe_log_groups(
                    prefix.as_deref(),
                    pattern.as_deref(),
                    token.as_deref(),
                    limit,
                )
            })
            .await?
        };
        Ok(DescribeLogGroupsOutput {
            log_groups: page
                .items
                .into_iter()
                .map(|g| {
                    let arn = self.group_arn(&g.name);
                    LogGroupOut {
                        arn: format!("{arn}:*"),
                        log_group_arn: arn,
                        log_group_name: g.name,
                        creation_time: g.creation_time,
                        retention_in_days: g.retention_in_days,
                        metric_filter_count: g.metric_filter_count,
                        stored_bytes: g.stored_bytes,
                        log_group_class: "STANDARD",
                    }
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    // ---------------------------------------------------------------- log streams

    async fn op_create_log_stream(
        &self,
        ctx: &RequestContext,
        input: GroupStreamInput,
    ) -> Result<Empty, ApiError> {
        let (group, stream) = input.validated()?;
        let store = self.store.clone();
        let now = ctx.now_ms();
        blocking(move || store.create_log_stream(&group, &stream, now)).await?;
        Ok(Empty {})
    }

    async fn op_delete_log_stream(&self, input: GroupStreamInput) -> Result<Empty, ApiError> {
        let (group, stream) = input.validated()?;
        let store = self.store.clone();
        blocking(move || store.delete_log_stream(&group, &stream)).await?;
        Ok(Empty {})
    }

    async fn op_describe_log_streams(
        &self,
        input: DescribeLogStreamsInput,
    ) -> Result<DescribeLogStreamsOutput, ApiError> {
        let mut v = Validation::new();
        check_group_ref(
            &mut v,
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        );
        check_stream_name(
            &mut v,
            "logStreamNamePrefix",
            input.log_stream_name_prefix.as_deref(),
            false,
        );
        v.one_of("orderBy", input.order_by.as_deref(), ORDER_BY);
        check_page(
            &mut v,
            input.next_token.as_deref(),
            input.limit,
            MAX_DESCRIBE_LIMIT,
        );
        v.finish()?;
        let group = self.resolve_group(input.log_group_name, input.log_group_identifier)?;
        let order_by = match input.order_by.as_deref() {
            Some("LastEventTime") => StreamOrder::LastEventTime,
            _ => StreamOrder::LogStreamName,
        };
        if order_by == StreamOrder::LastEventTime && input.log_stream_name_prefix.is_some() {
            return Err(ApiError::invalid_parameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let query = DescribeStreamsQuery {
            prefix: input.log_stream_name_prefix,
            order_by,
            descending: input.descending.unwrap_or(false),
            next_token: input.next_token,
            limit: usize::try_from(input.limit.unwrap_or(MAX_DESCRIBE_LIMIT)).unwrap_or(50),
        };
        let store = self.store.clone();
        let g = group.clone();
        let page = blocking(move || store.describe_log_streams(&g, &query)).await?;
        Ok(DescribeLogStreamsOutput {
            log_streams: page
                .items
                .into_iter()
                .map(|s| LogStreamOut {
                    arn: self.stream_arn(&group, &s.name),
                    log_stream_name: s.name,
                    creation_time: s.creation_time,
                    first_event_timestamp: s.first_event_timestamp,
                    last_event_timestamp: s.last_event_timestamp,
                    last_ingestion_time: s.last_ingestion_time,
                    stored_bytes: s.stored_bytes,
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    // ---------------------------------------------------------------- events

    async fn op_put_log_events(
        &self,
        ctx: &RequestContext,
        input: PutLogEventsInput,
    ) -> Result<PutLogEventsOutput, ApiError> {
        let mut v = Validation::new();
        check_group_and_stream(
            &mut v,
            input.log_group_name.as_deref(),
            input.log_stream_name.as_deref(),
        );
        if v.required("logEvents", input.log_events.is_some()) {
            let events = input.log_events.as_deref().unwrap_or_default();
            v.list_len("logEvents", Some(events.len()), 1, MAX_PUT_EVENTS);
            for (i, e) in events.iter().enumerate() {
                let base = format!("logEvents.{}.member", i + 1);
                if v.required(&format!("{base}.timestamp"), e.timestamp.is_some()) {
                    v.range(&format!("{base}.timestamp"), e.timestamp, 0, i64::MAX);
                }
                if v.required(&format!("{base}.message"), e.message.is_some()) {
                    v.string(
                        &format!("{base}.message"),
                        e.message.as_deref(),
                        1,
                        usize::MAX,
                        None,
                    );
                }
            }
        }
        v.string(
            "sequenceToken",
            input.sequence_token.as_deref(),
            1,
            usize::MAX,
            None,
        );
        v.finish()?;
        let (group, stream) = (
            input.log_group_name.unwrap_or_default(),
            input.log_stream_name.unwrap_or_default(),
        );
        let events: Vec<InputLogEvent> = input
            .log_events
            .unwrap_or_default()
            .into_iter()
            .map(|e| InputLogEvent {
                timestamp: e.timestamp.unwrap_or_default(),
                message: e.message.unwrap_or_default(),
            })
            .collect();
        let store = self.store.clone();
        let now = ctx.now_ms();
        let outcome = blocking(move || store.put_log_events(&group, &stream, &events, now)).await?;
        let rejected = outcome.rejected.and_then(|r| {
            let out = RejectedOut {
                too_new_log_event_start_index: r.too_new_log_event_start_index,
                too_old_log_event_end_index: r.too_old_log_event_end_index,
                expired_log_event_end_index: r.expired_log_event_end_index,
            };
            (out.too_new_log_event_start_index.is_some()
                || out.too_old_log_event_end_index.is_some()
                || out.expired_log_event_end_index.is_some())
            .then_some(out)
        });
        Ok(PutLogEventsOutput {
            // Sequence tokens are ignored (as AWS does since January 2023); the token is
            // opaque and only returned for clients that still read it.
            next_sequence_token: format!("{:056}", uuid::Uuid::new_v4().as_u128() % 10u128.pow(38)),
            rejected_log_events_info: rejected,
        })
    }

    async fn op_get_log_events(
        &self,
        input: GetLogEventsInput,
    ) -> Result<GetLogEventsOutput, ApiError> {
        let mut v = Validation::new();
        check_group_ref(
            &mut v,
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        );
        check_stream_name(
            &mut v,
            "logStreamName",
            input.log_stream_name.as_deref(),
            true,
        );
        check_time_range(&mut v, input.start_time, input.end_time);
        check_page(
            &mut v,
            input.next_token.as_deref(),
            input.limit,
            MAX_EVENTS_LIMIT,
        );
        v.finish()?;
        let group = self.resolve_group(input.log_group_name, input.log_group_identifier)?;
        let stream = input.log_stream_name.unwrap_or_default();
        let query = GetEventsQuery {
            start_time: input.start_time,
            end_time: input.end_time,
            next_token: input.next_token,
            limit: usize::try_from(input.limit.unwrap_or(MAX_EVENTS_LIMIT)).unwrap_or(10_000),
            start_from_head: input.start_from_head.unwrap_or(false),
        };
        let store = self.store.clone();
        let page = blocking(move || store.get_log_events(&group, &stream, &query)).await?;
        Ok(GetLogEventsOutput {
            events: page
                .events
                .into_iter()
                .map(|e| OutputEventOut {
                    timestamp: e.timestamp,
                    message: e.message,
                    ingestion_time: e.ingestion_time,
                })
                .collect(),
            next_forward_token: page.next_forward_token,
            next_backward_token: page.next_backward_token,
        })
    }

    async fn op_filter_log_events(
        &self,
        input: FilterLogEventsInput,
    ) -> Result<FilterLogEventsOutput, ApiError> {
        let mut v = Validation::new();
        check_group_ref(
            &mut v,
            input.log_group_name.as_deref(),
            input.log_group_identifier.as_deref(),
        );
        if let Some(names) = &input.log_stream_names {
            v.list_len(
                "logStreamNames",
                Some(names.len()),
                1,
                MAX_FILTER_STREAM_NAMES,
            );
            for (i, n) in names.iter().enumerate() {
                check_stream_name(
                    &mut v,
                    &format!("logStreamNames.{}.member", i + 1),
                    Some(n),
                    true,
                );
            }
        }
        check_stream_name(
            &mut v,
            "logStreamNamePrefix",
            input.log_stream_name_prefix.as_deref(),
            false,
        );
        check_time_range(&mut v, input.start_time, input.end_time);
        v.string(
            "filterPattern",
            input.filter_pattern.as_deref(),
            0,
            MAX_FILTER_PATTERN_LEN,
            None,
        );
        check_page(
            &mut v,
            input.next_token.as_deref(),
            input.limit,
            MAX_EVENTS_LIMIT,
        );
        v.finish()?;
        let group = self.resolve_group(input.log_group_name, input.log_group_identifier)?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return Err(ApiError::invalid_parameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
            ));
        }
        let pattern = match input.filter_pattern.as_deref() {
            Some(p) => Some(
                filter_pattern::parse(p).map_err(|e| ApiError::invalid_parameter(e.to_string()))?,
            ),
            None => None,
        };
        let query = FilterQuery {
            stream_names: input.log_stream_names,
            stream_name_prefix: input.log_stream_name_prefix,
            start_time: input.start_time,
            end_time: input.end_time,
            pattern,
            next_token: input.next_token,
            limit: usize::try_from(input.limit.unwrap_or(MAX_EVENTS_LIMIT)).unwrap_or(10_000),
        };
        let store = self.store.clone();
        let page = blocking(move || store.filter_log_events(&group, &query)).await?;
        Ok(FilterLogEventsOutput {
            events: page
                .events
                .into_iter()
                .map(|e| FilteredEventOut {
                    log_stream_name: e.log_stream_name,
                    timestamp: e.timestamp,
                    message: e.message,
                    ingestion_time: e.ingestion_time,
                    event_id: e.event_id,
                })
                .collect(),
            searched_log_streams: Vec::new(),
            next_token: page.next_token,
        })
    }
}

/// Awaits an operation and renders its output as a JSON 1.1 success response.
async fn reply<T: Serialize>(
    request_id: &str,
    op: impl Future<Output = Result<T, ApiError>>,
) -> Result<Response, ApiError> {
    let out = op.await?;
    json_success(Protocol::AwsJson11, request_id, &out)
}

fn check_group_name(v: &mut Validation, field: &str, value: Option<&str>, required: bool) {
    if required && !v.required(field, value.is_some()) {
        return;
    }
    v.string(field, value, 1, MAX_NAME_LEN, Some(Pattern::LogGroupName));
}

fn check_stream_name(v: &mut Validation, field: &str, value: Option<&str>, required: bool) {
    if required && !v.required(field, value.is_some()) {
        return;
    }
    v.string(field, value, 1, MAX_NAME_LEN, Some(Pattern::LogStreamName));
}

/// Both `logGroupName` and `logStreamName`, required (CreateLogStream, DeleteLogStream,
/// PutLogEvents).
fn check_group_and_stream(v: &mut Validation, group: Option<&str>, stream: Option<&str>) {
    check_group_name(v, "logGroupName", group, true);
    check_stream_name(v, "logStreamName", stream, true);
}

/// The optional `logGroupName` / `logGroupIdentifier` pair naming the group of a read
/// (DescribeLogStreams, GetLogEvents, FilterLogEvents; resolved by `resolve_group`).
fn check_group_ref(v: &mut Validation, name: Option<&str>, identifier: Option<&str>) {
    check_group_name(v, "logGroupName", name, false);
    check_group_identifier(v, identifier);
}

/// The paging members: `nextToken` (length >= 1) and `limit` (1..=`max_limit`).
fn check_page(v: &mut Validation, next_token: Option<&str>, limit: Option<i64>, max_limit: i64) {
    v.string("nextToken", next_token, 1, usize::MAX, None);
    v.range("limit", limit, 1, max_limit);
}

/// `startTime` / `endTime` (epoch ms, >= 0).
fn check_time_range(v: &mut Validation, start: Option<i64>, end: Option<i64>) {
    v.range("startTime", start, 0, i64::MAX);
    v.range("endTime", end, 0, i64::MAX);
}

fn check_group_identifier(v: &mut Validation, value: Option<&str>) {
    v.string(
        "logGroupIdentifier",
        value,
        1,
        MAX_IDENTIFIER_LEN,
        Some(Pattern::LogGroupIdentifier),
    );
}

// -------------------------------------------------------------------- wire shapes
// Inputs: every member optional at the serde level so that missing required members are
// reported with AWS's validation message rather than a serialization error; unknown
// members are ignored, as AWS JSON services do.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateLogGroupInput {
    log_group_name: Option<String>,
    kms_key_id: Option<String>,
    #[serde(rename = "tags")]
    _tags: Option<serde_json::Map<String, serde_json::Value>>,
    log_group_class: Option<String>,
    #[serde(rename = "deletionProtectionEnabled")]
    _deletion_protection_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupNameInput {
    log_group_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupStreamInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
}

impl GroupStreamInput {
    /// The validated `(logGroupName, logStreamName)`.
    ///
    /// # Errors
    /// `InvalidParameterException` when either is missing or malformed.
    fn validated(self) -> Result<(String, String), ApiError> {
        let mut v = Validation::new();
        check_group_and_stream(
            &mut v,
            self.log_group_name.as_deref(),
            self.log_stream_name.as_deref(),
        );
        v.finish()?;
        Ok((
            self.log_group_name.unwrap_or_default(),
            self.log_stream_name.unwrap_or_default(),
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogGroupsInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    log_group_class: Option<String>,
    log_group_identifiers: Option<Vec<String>>,
    #[serde(rename = "accountIdentifiers")]
    _account_identifiers: Option<Vec<String>>,
    #[serde(rename = "includeLinkedAccounts")]
    _include_linked_accounts: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogStreamsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputEventIn {
    timestamp: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    log_events: Option<Vec<InputEventIn>>,
    sequence_token: Option<String>,
    #[serde(rename = "entity")]
    _entity: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetLogEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
    #[serde(rename = "unmask")]
    _unmask: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    #[serde(rename = "startFromHead")]
    _start_from_head: Option<bool>,
    #[serde(rename = "interleaved")]
    _interleaved: Option<bool>,
    #[serde(rename = "unmask")]
    _unmask: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogGroupOut {
    log_group_name: String,
    creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_in_days: Option<u32>,
    metric_filter_count: u32,
    arn: String,
    stored_bytes: u64,
    log_group_class: &'static str,
    log_group_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogGroupsOutput {
    log_groups: Vec<LogGroupOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogStreamOut {
    log_stream_name: String,
    creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_ingestion_time: Option<i64>,
    arn: String,
    stored_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogStreamsOutput {
    log_streams: Vec<LogStreamOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectedOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    too_new_log_event_start_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    too_old_log_event_end_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expired_log_event_end_index: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsOutput {
    next_sequence_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected_log_events_info: Option<RejectedOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputEventOut {
    timestamp: i64,
    message: String,
    ingestion_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetLogEventsOutput {
    events: Vec<OutputEventOut>,
    next_forward_token: String,
    next_backward_token: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilteredEventOut {
    log_stream_name: String,
    timestamp: i64,
    message: String,
    ingestion_time: i64,
    event_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchedStreamOut {
    log_stream_name: String,
    searched_completely: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEventsOutput {
    events: Vec<FilteredEventOut>,
    searched_log_streams: Vec<SearchedStreamOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_aws_codes_and_hide_storage_causes() {
        let table = [
            (
                StoreError::ResourceNotFound("The specified log group does not exist.".into()),
                ErrorCode::ResourceNotFound,
                "The specified log group does not exist.",
            ),
            (
                StoreError::ResourceAlreadyExists("The specified log group already exists".into()),
                ErrorCode::ResourceAlreadyExists,
                "The specified log group already exists",
            ),
            (
                StoreError::InvalidParameter("The specified nextToken is invalid.".into()),
                ErrorCode::InvalidParameter,
                "The specified nextToken is invalid.",
            ),
            (
                StoreError::Storage("journal write failed: /secret/path".into()),
                ErrorCode::ServiceUnavailable,
                "The service cannot complete the request.",
            ),
        ];
        for (err, code, message) in table {
            let api = store_error(err);
            assert_eq!((api.code, api.message.as_str()), (code, message));
        }
        assert_eq!(
            ErrorCode::ServiceUnavailable.http_status(Protocol::AwsJson11),
            500
        );
    }
}
