//! Public request/response shapes of [`crate::LogStore`] (the contract with `thingwatch-logs-api`).
//!
//! Field names follow the CloudWatch Logs API members (`creationTime` → `creation_time`, …).
//! All times are epoch **milliseconds**.

use crate::filter_pattern::FilterPattern;

/// Options for [`crate::LogStore::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Journal fsync cadence in milliseconds. Every successful write reaches the OS (survives
    /// `kill -9` of the process) regardless; this bounds what a power loss / OS crash can lose.
    /// `0` means fsync on every write (slow; for tests and paranoid setups).
    pub fsync_interval_ms: u64,
}

impl Default for StoreOptions {
    /// `fsync_interval_ms = 1000`.
    fn default() -> Self {
        StoreOptions {
            fsync_interval_ms: 1000,
        }
    }
}

/// One page of a Describe* listing. `next_token` is `None` when the listing is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Items of this page, in the listing's order.
    pub items: Vec<T>,
    /// Opaque token for the next page (`nextToken`), `None` at the end.
    pub next_token: Option<String>,
}

/// A log group as DescribeLogGroups reports it (`LogGroup` shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupInfo {
    /// `logGroupName`.
    pub name: String,
    /// `creationTime`, epoch ms.
    pub creation_time: i64,
    /// `storedBytes`: sum of the UTF-8 message bytes of the events stored in the group.
    pub stored_bytes: u64,
    /// `retentionInDays`, `None` = never expire.
    pub retention_in_days: Option<u32>,
    /// `metricFilterCount` (metric filters are not stored here yet: always 0).
    pub metric_filter_count: u32,
}

/// A log stream as DescribeLogStreams reports it (`LogStream` shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamInfo {
    /// `logStreamName`.
    pub name: String,
    /// `creationTime`, epoch ms.
    pub creation_time: i64,
    /// `firstEventTimestamp` (smallest event timestamp), epoch ms; `None` if no events.
    pub first_event_timestamp: Option<i64>,
    /// `lastEventTimestamp` (largest event timestamp), epoch ms; `None` if no events.
    pub last_event_timestamp: Option<i64>,
    /// `lastIngestionTime`, epoch ms; `None` if no events.
    pub last_ingestion_time: Option<i64>,
    /// `storedBytes`: sum of UTF-8 message bytes stored in the stream.
    pub stored_bytes: u64,
}

/// DescribeLogStreams `orderBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamOrder {
    /// `LogStreamName` (the AWS default): lexicographic by name.
    #[default]
    LogStreamName,
    /// `LastEventTime`: by `lastEventTimestamp` (streams without events first), then name.
    LastEventTime,
}

/// DescribeLogStreams request parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeStreamsQuery {
    /// `logStreamNamePrefix`; not allowed together with [`StreamOrder::LastEventTime`].
    pub prefix: Option<String>,
    /// `orderBy`.
    pub order_by: StreamOrder,
    /// `descending`.
    pub descending: bool,
    /// `nextToken` from a previous page of the same query.
    pub next_token: Option<String>,
    /// `limit`, 1..=50 (validated by the caller; values outside are clamped).
    pub limit: usize,
}

impl Default for DescribeStreamsQuery {
    /// Name order, ascending, no prefix, limit 50.
    fn default() -> Self {
        DescribeStreamsQuery {
            prefix: None,
            order_by: StreamOrder::LogStreamName,
            descending: false,
            next_token: None,
            limit: crate::limits::MAX_DESCRIBE_LIMIT,
        }
    }
}

/// One PutLogEvents input event (`InputLogEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLogEvent {
    /// Event time, epoch ms.
    pub timestamp: i64,
    /// The raw message (UTF-8, at least 1 byte).
    pub message: String,
}

/// PutLogEvents `rejectedLogEventsInfo`: indexes into the request's `logEvents`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RejectedLogEventsInfo {
    /// First index of the events more than 2 hours in the future.
    pub too_new_log_event_start_index: Option<usize>,
    /// Last index of the events older than 14 days.
    pub too_old_log_event_end_index: Option<usize>,
    /// Last index of the events older than the group's retention period.
    pub expired_log_event_end_index: Option<usize>,
}

/// PutLogEvents result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutLogEventsOutcome {
    /// `Some` if some events were skipped (too new / too old / expired).
    pub rejected: Option<RejectedLogEventsInfo>,
}

/// One event on the log pipeline's [`crate::LogStore::append`] path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendEvent<'a> {
    /// Target log group (created on first use).
    pub log_group: &'a str,
    /// Target log stream (created on first use).
    pub log_stream: &'a str,
    /// Event time, epoch ms.
    pub timestamp: i64,
    /// The message.
    pub message: &'a str,
}

/// GetLogEvents output event (`OutputLogEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLogEvent {
    /// Event time, epoch ms.
    pub timestamp: i64,
    /// The message.
    pub message: String,
    /// When the store ingested the event, epoch ms.
    pub ingestion_time: i64,
}

/// GetLogEvents request parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetEventsQuery {
    /// `startTime` (inclusive), epoch ms.
    pub start_time: Option<i64>,
    /// `endTime` (**exclusive**, as AWS documents for GetLogEvents), epoch ms.
    pub end_time: Option<i64>,
    /// `nextToken`: a `nextForwardToken` (`f/…`) or `nextBackwardToken` (`b/…`).
    pub next_token: Option<String>,
    /// `limit`, 1..=10000 (default 10000; values outside are clamped).
    pub limit: usize,
    /// `startFromHead` (AWS default `false` = newest events first page). Ignored with a token.
    pub start_from_head: bool,
}

impl Default for GetEventsQuery {
    /// No time bounds, no token, limit 10000, `start_from_head = false` (AWS defaults).
    fn default() -> Self {
        GetEventsQuery {
            start_time: None,
            end_time: None,
            next_token: None,
            limit: crate::limits::MAX_EVENTS_PER_PAGE,
            start_from_head: false,
        }
    }
}

/// GetLogEvents result. Events are always in ascending time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetEventsPage {
    /// The events of this page, oldest first.
    pub events: Vec<OutputLogEvent>,
    /// `nextForwardToken` (`f/…`); at the end of the stream the token passed in comes back.
    pub next_forward_token: String,
    /// `nextBackwardToken` (`b/…`); at the head of the stream the token passed in comes back.
    pub next_backward_token: String,
}

/// FilterLogEvents request parameters.
#[derive(Debug, Clone, Default)]
pub struct FilterQuery {
    /// `logStreamNames` (the caller rejects combining it with a prefix).
    pub stream_names: Option<Vec<String>>,
    /// `logStreamNamePrefix`.
    pub stream_name_prefix: Option<String>,
    /// `startTime`, inclusive ("events with a timestamp before this time are not returned").
    pub start_time: Option<i64>,
    /// `endTime`, inclusive ("events with a timestamp later than this time are not returned").
    pub end_time: Option<i64>,
    /// Parsed `filterPattern`; `None` matches everything.
    pub pattern: Option<FilterPattern>,
    /// `nextToken` from a previous page of the same query.
    pub next_token: Option<String>,
    /// `limit`, 1..=10000 (default 10000; values outside are clamped).
    pub limit: usize,
}

/// FilterLogEvents output event (`FilteredLogEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilteredLogEvent {
    /// `logStreamName`.
    pub log_stream_name: String,
    /// Event time, epoch ms.
    pub timestamp: i64,
    /// The message.
    pub message: String,
    /// Ingestion time, epoch ms.
    pub ingestion_time: i64,
    /// `eventId`: unique per event, stable across calls (decimal digits, like AWS).
    pub event_id: String,
}

/// FilterLogEvents result. Events are in timestamp order, interleaved across streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPage {
    /// Matching events of this page (at most `limit`, at most ~1 MB).
    pub events: Vec<FilteredLogEvent>,
    /// `None` only when the search is complete; a page may be short or empty and still carry
    /// a token when the scan budget ran out.
    pub next_token: Option<String>,
}
