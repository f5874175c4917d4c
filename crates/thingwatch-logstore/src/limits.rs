//! Typed limits of the log store, each checked against the AWS documentation it cites.
//!
//! PutLogEvents source: CloudWatch Logs API Reference, `PutLogEvents`
//! (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html>,
//! current text as mirrored by the AWS SDK for .NET v4 / Kotlin API docs, checked 2026):
//! "The maximum batch size is 1,048,576 bytes. This size is calculated as the sum of all event
//! messages in UTF-8, plus 26 bytes for each log event", "Events more than 2 hours in the future
//! are rejected while processing remaining valid events", "Events older than 14 days or preceding
//! the log group's retention period are rejected …", "must be in chronological order",
//! "Each log event can be no larger than 1 MB", "The maximum number of log events in a batch is
//! 10,000", "For valid events (within 14 days in the past to 2 hours in future), the time span in
//! a single batch cannot exceed 24 hours".

/// Maximum number of events in one PutLogEvents batch (API reference; botocore model
/// `InputLogEvents` max=10000).
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// Maximum PutLogEvents batch size in bytes: sum of UTF-8 message bytes plus
/// [`EVENT_OVERHEAD_BYTES`] per event (API reference).
pub const MAX_BATCH_BYTES: usize = 1_048_576;

/// Bytes counted per event on top of its UTF-8 message when sizing a batch (API reference).
pub const EVENT_OVERHEAD_BYTES: usize = 26;

/// Maximum size of one log event. The current API reference says "no larger than 1 MB" (older
/// revisions said 256 KB); an event is also bounded by [`MAX_BATCH_BYTES`] including its
/// [`EVENT_OVERHEAD_BYTES`], so the effective maximum message is 1,048,550 bytes.
pub const MAX_EVENT_BYTES: usize = MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES;

/// Events more than this far in the future (ms) are skipped and reported as
/// `tooNewLogEventStartIndex` (API reference: 2 hours).
pub const MAX_FUTURE_MS: i64 = 2 * 60 * 60 * 1000;

/// Events older than this (ms) are skipped and reported as `tooOldLogEventEndIndex`
/// (API reference: 14 days).
pub const MAX_AGE_MS: i64 = 14 * 24 * 60 * 60 * 1000;

/// Maximum span (ms) between the oldest and newest *valid* event of one batch
/// (API reference: 24 hours).
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// Maximum events per GetLogEvents / FilterLogEvents page (botocore model `EventsLimit`
/// max=10000; also the default).
pub const MAX_EVENTS_PER_PAGE: usize = 10_000;

/// Maximum items per DescribeLogGroups / DescribeLogStreams page (botocore model `DescribeLimit`
/// max=50; also the default).
pub const MAX_DESCRIBE_LIMIT: usize = 50;

/// Maximum response size of GetLogEvents / FilterLogEvents: "up to 1 MB" of log events
/// (API reference of both operations). Measured as message bytes + [`EVENT_OVERHEAD_BYTES`].
pub const MAX_RESPONSE_BYTES: usize = 1_048_576;

/// Default number of stored events one FilterLogEvents call examines before it returns a
/// (possibly short or empty) page with a `nextToken`, as AWS does when a search runs long
/// ("the search … can return fewer than `limit` events and a nextToken"). Our own bound, sized
/// so one call stays well under a second on the reference machine; tune with
/// [`crate::LogStore::set_filter_scan_budget`].
pub const DEFAULT_FILTER_SCAN_BUDGET: usize = 1_000_000;
