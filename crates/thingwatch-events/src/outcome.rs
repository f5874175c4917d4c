//! [`Outcome`]: what one emitted entry reports — its level and the `AWS/IoT` metric it counts —
//! declared once per event type beside the type, so that a log entry and its metric are one
//! call ([`Logger::emit`](crate::Logger::emit)) and cannot drift apart.
//!
//! A component names the outcome (`PublishIn::AUTH_ERROR`), never a level and a metric
//! separately: the level decides whether the gate admits the entry, the metric is counted
//! whether or not it does (metrics are cheap when logging is DISABLED: one relaxed atomic add).
//!
//! The mapping of outcomes to metrics is AWS's (AWS IoT Developer Guide, *AWS IoT metrics and
//! dimensions*, message-broker and Device Shadow metrics; `../shared/reference/aws-iot-logging.md`
//! §4): a Success entry counts `X.Success` (`X.Accepted` for shadows), a refusal counts the
//! metric of its cause (`AuthError`, `ClientError`, `ServerError`, `Throttle`). Events AWS counts
//! no metric for (`Disconnect`, `Queued` successes, shadow rejections) declare `None`.

use crate::broker::{Connect, Disconnect, PublishIn, PublishOut, Queued, Subscribe, Unsubscribe};
use crate::jobs::{
    DescribeJobExecution, GetPendingJobExecution, ReportFinalJobExecutionCount,
    StartNextPendingJobExecution, UpdateJobExecution,
};
use crate::level::LogLevel;
use crate::metrics::MetricName;
use crate::rules::{
    FunctionExecution, RuleExecution, RuleMatch, RuleMessageThrottled, RuleNotFound,
    StartingRuleExecution,
};
use crate::shadow::{DeleteThingShadow, GetThingShadow, UpdateThingShadow};
use std::marker::PhantomData;

/// The level of an entry of event type `E` and the `AWS/IoT` metric it counts (under the
/// emitting client's `Protocol` dimension). `Copy`; built only through the constants declared
/// on each event type, e.g. [`PublishIn::SUCCESS`].
pub struct Outcome<E> {
    level: LogLevel,
    metric: Option<MetricName>,
    event: PhantomData<fn() -> E>,
}

impl<E> Clone for Outcome<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Outcome<E> {}

impl<E> std::fmt::Debug for Outcome<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("level", &self.level)
            .field("metric", &self.metric.map(MetricName::as_str))
            .finish()
    }
}

impl<E> Outcome<E> {
    const fn new(level: LogLevel, metric: Option<MetricName>) -> Self {
        Outcome {
            level,
            metric,
            event: PhantomData,
        }
    }

    /// The entry's level (what the gate compares with the client's effective level).
    pub const fn level(self) -> LogLevel {
        self.level
    }

    /// The metric counted for every emission, admitted by the gate or not.
    pub const fn metric(self) -> Option<MetricName> {
        self.metric
    }
}

const fn info<E>(metric: MetricName) -> Outcome<E> {
    Outcome::new(LogLevel::Info, Some(metric))
}

const fn error<E>(metric: MetricName) -> Outcome<E> {
    Outcome::new(LogLevel::Error, Some(metric))
}

impl Connect<'_> {
    /// CONNACK accepted: INFO, `Connect.Success`.
    pub const SUCCESS: Outcome<Self> = info(MetricName::ConnectSuccess);
    /// Refused by authentication or authorization: ERROR, `Connect.AuthError`.
    pub const AUTH_ERROR: Outcome<Self> = error(MetricName::ConnectAuthError);
    /// A malformed or non-conforming CONNECT: ERROR, `Connect.ClientError`.
    pub const CLIENT_ERROR: Outcome<Self> = error(MetricName::ConnectClientError);
    /// Over the per-client-ID connect rate: ERROR, `Connect.ClientIDThrottle`.
    pub const CLIENT_ID_THROTTLE: Outcome<Self> = error(MetricName::ConnectClientIdThrottle);
    /// Refused by an internal failure: ERROR, `Connect.ServerError`.
    pub const SERVER_ERROR: Outcome<Self> = error(MetricName::ConnectServerError);
    /// Over the account's connect rate or connection limit: ERROR, `Connect.Throttle`.
    pub const THROTTLE: Outcome<Self> = error(MetricName::ConnectThrottle);
}

impl Disconnect<'_> {
    /// A connection ended: INFO; AWS counts no metric for disconnections.
    pub const LOGGED: Outcome<Self> = Outcome::new(LogLevel::Info, None);
}

impl PublishIn<'_> {
    /// A PUBLISH accepted for routing: INFO, `PublishIn.Success`.
    pub const SUCCESS: Outcome<Self> = info(MetricName::PublishInSuccess);
    /// Refused by the IoT policy (`iot:Publish`): ERROR, `PublishIn.AuthError`.
    pub const AUTH_ERROR: Outcome<Self> = error(MetricName::PublishInAuthError);
    /// Refused for breaking a requirement or quota (topic, size, QoS, retain): ERROR,
    /// `PublishIn.ClientError`.
    pub const CLIENT_ERROR: Outcome<Self> = error(MetricName::PublishInClientError);
    /// Failed inside the server (storage): ERROR, `PublishIn.ServerError`.
    pub const SERVER_ERROR: Outcome<Self> = error(MetricName::PublishInServerError);
    /// Over a publish rate: ERROR, `PublishIn.Throttle`.
    pub const THROTTLE: Outcome<Self> = error(MetricName::PublishInThrottle);
}

impl PublishOut<'_> {
    /// A delivery written to a subscriber: INFO, `PublishOut.Success`.
    pub const SUCCESS: Outcome<Self> = info(MetricName::PublishOutSuccess);
    /// A delivery refused by the receiver's policy (`iot:Receive`): ERROR, `PublishOut.AuthError`.
    pub const AUTH_ERROR: Outcome<Self> = error(MetricName::PublishOutAuthError);
    /// A delivery the subscriber cannot take (e.g. over its maximum packet size): ERROR,
    /// `PublishOut.ClientError`.
    pub const CLIENT_ERROR: Outcome<Self> = error(MetricName::PublishOutClientError);
    /// A delivery dropped because the session's queue is full: ERROR, `PublishOut.Throttle`.
    pub const THROTTLE: Outcome<Self> = error(MetricName::PublishOutThrottle);
}

impl Queued<'_> {
    /// A message stored for an offline persistent session: INFO; the message's delivery is
    /// counted when it happens (`PublishOut.Success`), so storing counts nothing.
    pub const SUCCESS: Outcome<Self> = Outcome::new(LogLevel::Info, None);
    /// Not stored: the offline session's queue is full. ERROR, `PublishOut.Throttle`.
    pub const QUEUE_FULL: Outcome<Self> = error(MetricName::PublishOutThrottle);
}

impl Subscribe<'_> {
    /// A topic filter granted: INFO, `Subscribe.Success`.
    pub const SUCCESS: Outcome<Self> = info(MetricName::SubscribeSuccess);
    /// Refused by the IoT policy (`iot:Subscribe`): ERROR, `Subscribe.AuthError`.
    pub const AUTH_ERROR: Outcome<Self> = error(MetricName::SubscribeAuthError);
    /// An invalid filter, QoS or quota: ERROR, `Subscribe.ClientError`.
    pub const CLIENT_ERROR: Outcome<Self> = error(MetricName::SubscribeClientError);
    /// Failed inside the server: ERROR, `Subscribe.ServerError`.
    pub const SERVER_ERROR: Outcome<Self> = error(MetricName::SubscribeServerError);
    /// Over the subscription rate: ERROR, `Subscribe.Throttle`.
    pub const THROTTLE: Outcome<Self> = error(MetricName::SubscribeThrottle);
}

impl Unsubscribe<'_> {
    /// A topic filter removed: INFO, `Unsubscribe.Success`.
    pub const SUCCESS: Outcome<Self> = info(MetricName::UnsubscribeSuccess);
    /// An invalid filter: ERROR, `Unsubscribe.ClientError`.
    pub const CLIENT_ERROR: Outcome<Self> = error(MetricName::UnsubscribeClientError);
    /// Failed inside the server: ERROR, `Unsubscribe.ServerError`.
    pub const SERVER_ERROR: Outcome<Self> = error(MetricName::UnsubscribeServerError);
    /// Over the unsubscription rate: ERROR, `Unsubscribe.Throttle`.
    pub const THROTTLE: Outcome<Self> = error(MetricName::UnsubscribeThrottle);
}

impl GetThingShadow<'_> {
    /// The document was returned: INFO, `GetThingShadow.Accepted`.
    pub const ACCEPTED: Outcome<Self> = info(MetricName::GetThingShadowAccepted);
    /// The request was rejected (`…/get/rejected`, an HTTP error): ERROR, no metric.
    pub const REJECTED: Outcome<Self> = Outcome::new(LogLevel::Error, None);
}

impl UpdateThingShadow<'_> {
    /// The update was applied: INFO, `UpdateThingShadow.Accepted`.
    pub const ACCEPTED: Outcome<Self> = info(MetricName::UpdateThingShadowAccepted);
    /// The update was rejected: ERROR, no metric.
    pub const REJECTED: Outcome<Self> = Outcome::new(LogLevel::Error, None);
}

impl DeleteThingShadow<'_> {
    /// The shadow was deleted: INFO, `DeleteThingShadow.Accepted`.
    pub const ACCEPTED: Outcome<Self> = info(MetricName::DeleteThingShadowAccepted);
    /// The delete was rejected: ERROR, no metric.
    pub const REJECTED: Outcome<Self> = Outcome::new(LogLevel::Error, None);
}

// Rules-engine entries count no metric here: AWS's rule metrics carry the `RuleName` and
// `ActionType` dimensions, which the engine counts itself (`thingwatch-rules`).

impl RuleMatch<'_> {
    /// A message matched the rule: INFO.
    pub const MATCHED: Outcome<Self> = Outcome::new(LogLevel::Info, None);
}

impl StartingRuleExecution<'_> {
    /// An action is about to run: DEBUG.
    pub const STARTING: Outcome<Self> = Outcome::new(LogLevel::Debug, None);
}

impl RuleExecution<'_> {
    /// The action succeeded: INFO.
    pub const SUCCESS: Outcome<Self> = Outcome::new(LogLevel::Info, None);
    /// The action failed: ERROR.
    pub const FAILURE: Outcome<Self> = Outcome::new(LogLevel::Error, None);
}

impl FunctionExecution<'_> {
    /// An external SQL function was called (success or failure): DEBUG.
    pub const CALLED: Outcome<Self> = Outcome::new(LogLevel::Debug, None);
}

impl RuleMessageThrottled<'_> {
    /// The message was dropped for the rule: ERROR.
    pub const THROTTLED: Outcome<Self> = Outcome::new(LogLevel::Error, None);
}

impl RuleNotFound<'_> {
    /// The Basic Ingest rule does not exist: ERROR.
    pub const NOT_FOUND: Outcome<Self> = Outcome::new(LogLevel::Error, None);
}

// Jobs entries count no metric here either: AWS's Jobs metrics carry the `JobId` dimension
// and are counted by the Jobs service (`thingwatch-jobs`).

macro_rules! job_request_outcomes {
    ($($name:ident),*) => {$(
        impl $name<'_> {
            /// The request was answered on `…/accepted` (or HTTP 200): DEBUG.
            pub const SUCCESS: Outcome<Self> = Outcome::new(LogLevel::Debug, None);
            /// The request was rejected (`…/rejected`, an HTTP error): ERROR.
            pub const FAILURE: Outcome<Self> = Outcome::new(LogLevel::Error, None);
        }
    )*};
}

job_request_outcomes!(
    GetPendingJobExecution,
    DescribeJobExecution,
    StartNextPendingJobExecution,
    UpdateJobExecution
);

impl ReportFinalJobExecutionCount<'_> {
    /// A job completed: INFO.
    pub const COMPLETED: Outcome<Self> = Outcome::new(LogLevel::Info, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successes_are_info_and_refusals_error() {
        assert_eq!(PublishIn::SUCCESS.level(), LogLevel::Info);
        assert_eq!(
            PublishIn::SUCCESS.metric(),
            Some(MetricName::PublishInSuccess)
        );
        assert_eq!(PublishIn::AUTH_ERROR.level(), LogLevel::Error);
        assert_eq!(
            Subscribe::CLIENT_ERROR.metric(),
            Some(MetricName::SubscribeClientError)
        );
        assert_eq!(Disconnect::LOGGED.metric(), None);
        assert_eq!(
            UpdateThingShadow::ACCEPTED.metric(),
            Some(MetricName::UpdateThingShadowAccepted)
        );
        assert_eq!(UpdateThingShadow::REJECTED.level(), LogLevel::Error);
    }
}
