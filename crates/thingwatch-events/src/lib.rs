//! Thingwatch's logging spine: typed AWS IoT v2 log events, the level gate, the bounded log
//! pipeline and the `AWS/IoT` metric counters.
//!
//! Every component (broker, shadow, rules, …) emits through one path,
//! [`Logger::emit`]: **gate** (atomic loads; nothing built when the level excludes the entry)
//! → **build** the typed event (one Rust type per `eventType`, borrowed fields) → **encode**
//! the exact AWS JSON (a hand-written writer, `json.rs`, tested byte for byte against the
//! `serde` form and the developer guide's examples) → **enqueue** on the bounded `log-pipeline` queue
//! (never blocks; overflow counted as `NumLogEventsFailedToPublishThrottled`) → the batcher
//! thread writes batches into a [`LogSink`] (the embedded log store by default).
//!
//! Sources: AWS IoT Developer Guide *Configure AWS IoT logging*, *CloudWatch AWS IoT log
//! entries* (`cwl-format`), *AWS IoT metrics and dimensions*; `../shared/reference/aws-iot-logging.md`.

pub mod broker;
pub mod config;
pub mod event;
pub mod jobs;
mod json;
pub mod level;
pub mod logger;
pub mod metrics;
pub mod outcome;
pub mod pipeline;
pub mod rules;
pub mod shadow;
pub mod trace;

pub use broker::{
    ClientIdentity, Connect, Disconnect, DisconnectReason, Protocol, PublishIn, PublishOut, Queued,
    Subscribe, Unsubscribe,
};
pub use config::{
    DEFAULT_LOG_GROUP, EventConfiguration, GroupMembership, LEGACY_LOG_GROUP, LegacyOptions,
    LogFormat, LogTarget, LogTargetConfiguration, LogTargetType, LoggingConfig, LoggingOptions,
    NoGroups, ResolvedConfig, is_valid_source_ip_target,
};
pub use event::{
    EventType, Failure, IotLogEvent, Status, encode, encode_plain_text, format_timestamp,
};
pub use jobs::{
    DescribeJobExecution, FinalExecutionCounts, GetPendingJobExecution, JobRequest,
    REQUEST_SUCCEEDED, ReportFinalJobExecutionCount, StartNextPendingJobExecution,
    UpdateJobExecution, request_failed_details, update_succeeded_details,
};
pub use json::JsonFields;
pub use level::{LevelSetting, LogLevel, ParseLevelError};
pub use logger::{ClientLog, Logger, LoggerSettings, log_stream_name, now_ms};
pub use metrics::{Dimension, MetricName, Metrics};
pub use outcome::Outcome;
pub use pipeline::{
    LogPipeline, LogRecord, LogSink, MemorySink, PipelineConfig, PipelineStats, SinkError, WhenFull,
};
pub use rules::{
    FunctionExecution, Resources, RuleExecution, RuleMatch, RuleMessage, RuleMessageThrottled,
    RuleNotFound, StartingRuleExecution, not_found_details, throttled_details,
};
pub use shadow::{DeleteThingShadow, GetThingShadow, UpdateThingShadow};
pub use trace::TraceId;
