//! The rules engine: a [`MessageObserver`] of the broker's ingress that runs topic rules on
//! every accepted message (AWS IoT Developer Guide, *Rules for AWS IoT*).
//!
//! For each message, on the observer thread `observer-rules` (behind the bounded queue
//! [`QUEUE_NAME`], which drops and counts when full):
//! 1. **match**: a Basic Ingest message (`$aws/rules/<rule>/…`) goes to the rule it names
//!    (`RuleNotFound` and the `RuleNotFound` metric when it does not exist or is disabled);
//!    any other message goes to every enabled rule whose FROM topic filter matches it —
//!    `RuleMatch` (INFO) and `TopicMatch` per rule;
//! 2. **evaluate** the SQL ([`thingwatch_iotsql::Statement::run`]) with the publisher's
//!    identity ([`Context`]: `clientid()`, `principal()`, `traceid()`, `sourceip()`,
//!    `timestamp()`, `get_thing_shadow()` — each external function logs `FunctionExecution`);
//!    a payload that is not JSON while the statement needs fields counts `ParseError`; WHERE
//!    not true ends here;
//! 3. **run each action** (`RulesExecuted` once per message and rule): `StartingRuleExecution`
//!    (DEBUG), the action, then `RuleExecution` Success (INFO) or Failure (ERROR) and the
//!    `Success`/`Failure` metric with `RuleName` and `ActionType` dimensions;
//! 4. when actions failed and the rule has an `errorAction`, run it on AWS's error message
//!    (`ruleName`, `topic`, `cloudwatchTraceId`, `clientId`, `base64OriginalPayload`,
//!    `failures[]`) — `ErrorActionSuccess`/`ErrorActionFailure`.
//!
//! Every action with a `roleArn` runs only when that role may do what the action does
//! ([`RoleAuthority`]: `iot:Publish` on the topic, `logs:PutLogEvents` on the stream,
//! `cloudwatch:PutMetricData`, `cloudwatch:SetAlarmState` on the alarm), as AWS assumes the
//! role for each action. `http` actions run asynchronously behind their own bounded queue
//! ([`HTTP_QUEUE_NAME`]): a full queue throttles the message (`RuleMessageThrottled` event and
//! metric, and the action fails into the error action).
//!
//! Log entries are written under the publisher's logging handle, so a client's log targets
//! (thing group, client ID, source IP, principal) and the event-type overrides filter them
//! like the client's own entries; messages of a server component (a shadow's `…/accepted`,
//! a republished message) use the component's handle.
//!
//! **Rule chains.** A republished message enters the ingress again and may trigger rules
//! (AWS allows chains). It keeps the trace id of the message that started the chain, and one
//! chain may cause at most [`MAX_CHAIN_MESSAGES`] rule-published messages; beyond that the
//! engine stops evaluating them (a warning is logged): a rule republishing to a topic its own
//! FROM matches would otherwise loop forever.

use crate::destinations::DestinationStatus;
use crate::model::{ActionKind, CompiledRule, RuleAction};
use crate::registry::Rules;
use base64::Engine as _;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thingwatch_aws::{Arn, IotKind};
use thingwatch_broker::{
    MessageObserver, ObservedMessage, Origin, PublishProperties, PublishRequest, Sender, WeakBroker,
};
use thingwatch_events::rules::{
    FunctionExecution, Resources, RuleExecution, RuleMatch, RuleMessage, RuleMessageThrottled,
    RuleNotFound, StartingRuleExecution, not_found_details, throttled_details,
};
use thingwatch_events::{ClientIdentity, ClientLog, Failure, Logger, Protocol, TraceId};
use thingwatch_iotsql::{Context, Message, MqttProperties, Value, Variables};
use thingwatch_logstore::{AppendEvent, LogStore};
use thingwatch_metrics::alarms::{Alarms, StateValue};
use thingwatch_metrics::{CounterSource, Datum, MetricId, MetricStore, UNITS, Values};

/// The name of the engine's observer queue (listed in ARCHITECTURE.md and the Prometheus
/// queue metrics).
pub const QUEUE_NAME: &str = "rules";
/// The name of the queue of pending `http` action requests.
pub const HTTP_QUEUE_NAME: &str = "rules-http";
/// Default capacity of the [`QUEUE_NAME`] queue, messages.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Default capacity of the [`HTTP_QUEUE_NAME`] queue, requests.
pub const DEFAULT_HTTP_QUEUE_CAPACITY: usize = 1_000;
/// At most this many `http` requests are in flight at once.
pub const MAX_HTTP_IN_FLIGHT: usize = 64;
/// How long one attempt of an `http` action waits for the endpoint's answer (our choice; AWS
/// documents no number).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts of an `http` request that fails in a retryable way (AWS IoT: "after 2 retries").
pub const HTTP_ATTEMPTS: u32 = 3;
/// At most this many messages published by rules are evaluated per chain (one trace id):
/// the loop guard of the module docs.
pub const MAX_CHAIN_MESSAGES: u32 = 32;
/// The component name republished messages carry ([`Origin::Component`]).
pub const COMPONENT: &str = "rules";
/// How many chains the loop guard remembers (oldest forgotten first).
const CHAINS_REMEMBERED: usize = 4096;

/// The role check each action makes before it runs (the server answers it with IAM).
pub trait RoleAuthority: Send + Sync + 'static {
    /// Whether `role_arn` exists, trusts `iot.amazonaws.com`, and its policies allow
    /// `action` (e.g. `iot:Publish`) on `resource` (an ARN).
    fn role_allows(&self, role_arn: &str, action: &str, resource: &str) -> bool;
}

/// `get_thing_shadow()`'s source (the server answers it with the Device Shadow service).
pub trait ShadowReader: Send + Sync + 'static {
    /// The shadow document (GetThingShadow's JSON) of `thing` (`shadow` = a named shadow,
    /// `None` = the classic one).
    ///
    /// # Errors
    /// Why it cannot be read (e.g. `No shadow exists with name: 'x'`).
    fn get_shadow(&self, thing: &str, shadow: Option<&str>) -> Result<Vec<u8>, String>;
}

/// Where the actions deliver, and the engine's checks. Every member is optional: an action
/// whose target is absent fails with a clear message (a test can wire only what it needs).
#[derive(Clone, Default)]
pub struct Targets {
    /// `cloudwatchLogs` actions write here.
    pub logs: Option<LogStore>,
    /// `cloudwatchMetric` actions write here.
    pub metrics: Option<MetricStore>,
    /// `cloudwatchAlarm` actions set states here.
    pub alarms: Option<Alarms>,
    /// Checks each action's role; `None` runs every action without a check.
    pub roles: Option<Arc<dyn RoleAuthority>>,
    /// Answers `get_thing_shadow()`.
    pub shadows: Option<Arc<dyn ShadowReader>>,
    /// `http` actions run on this runtime with this client; `None` fails them.
    pub http: Option<(tokio::runtime::Handle, reqwest::Client)>,
    /// Capacity of the [`HTTP_QUEUE_NAME`] queue (0 = [`DEFAULT_HTTP_QUEUE_CAPACITY`]).
    pub http_queue_capacity: usize,
}

/// The rule metrics (`AWS/IoT`, *AWS IoT metrics* → rule metrics), cumulative since start,
/// published through [`CounterSource`]: `RulesExecuted` (no dimension); `TopicMatch`,
/// `ParseError`, `RuleNotFound`, `RuleMessageThrottled` (`RuleName`); `Success`, `Failure`,
/// `ErrorActionSuccess`, `ErrorActionFailure` (`RuleName`, `ActionType`).
#[derive(Default)]
pub struct RuleCounters {
    rules_executed: AtomicU64,
    by_rule: Mutex<HashMap<CounterKey, u64>>,
}

/// `(metric name, RuleName, ActionType)`.
type CounterKey = (&'static str, String, Option<String>);

impl RuleCounters {
    fn incr(&self, metric: &'static str, rule: &str, action_type: Option<&str>) {
        *self
            .by_rule
            .lock()
            .entry((metric, rule.to_owned(), action_type.map(str::to_owned)))
            .or_default() += 1;
    }

    /// The cumulative value of `metric` for `rule` (and `action_type`), for tests and tools.
    pub fn get(&self, metric: &str, rule: &str, action_type: Option<&str>) -> u64 {
        if metric == "RulesExecuted" {
            return self.rules_executed.load(Ordering::Relaxed);
        }
        self.by_rule
            .lock()
            .iter()
            .filter(|((m, r, a), _)| *m == metric && r == rule && a.as_deref() == action_type)
            .map(|(_, v)| *v)
            .sum()
    }
}

impl CounterSource for RuleCounters {
    fn counters(&self) -> Vec<(MetricId, u64)> {
        let ns = thingwatch_metrics::AWS_IOT_NAMESPACE;
        let mut out = vec![(
            MetricId::new(ns, "RulesExecuted", Vec::new()),
            self.rules_executed.load(Ordering::Relaxed),
        )];
        for ((metric, rule, action), v) in self.by_rule.lock().iter() {
            let mut dims = vec![("RuleName".to_owned(), rule.clone())];
            if let Some(a) = action {
                dims.push(("ActionType".to_owned(), a.clone()));
            }
            out.push((MetricId::new(ns, *metric, dims), *v));
        }
        out
    }
}

/// Counters of the [`HTTP_QUEUE_NAME`] queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HttpQueueStats {
    /// Its capacity in requests.
    pub capacity: usize,
    /// Requests queued.
    pub queued: u64,
    /// Requests refused because the queue was full (each a `RuleMessageThrottled`).
    pub dropped: u64,
}

/// The rules engine. Register it with `broker.add_observer(ObserverConfig { name:
/// QUEUE_NAME, capacity, when_full: WhenFull::DropNewest }, engine)`; keep the
/// [`EngineHandle`] [`RulesEngine::new`] returns to read its counters. Never with
/// `WhenFull::Block`: a republish action publishes from the engine's own thread into the
/// queue that thread drains, and would wait forever once it is full.
pub struct RulesEngine {
    exec: Arc<Executor>,
    component_logs: Vec<(&'static str, Arc<ClientLog>)>,
}

/// What stays readable after the engine moved into the broker: its counters.
#[derive(Clone)]
pub struct EngineHandle {
    exec: Arc<Executor>,
}

impl EngineHandle {
    /// The rule metrics.
    pub fn counters(&self) -> Arc<RuleCounters> {
        self.exec.counters.clone()
    }

    /// The `http` queue's counters.
    pub fn http_queue(&self) -> HttpQueueStats {
        HttpQueueStats {
            capacity: self.exec.http.as_ref().map_or(0, |h| h.capacity),
            queued: self.exec.http_queued.load(Ordering::Relaxed),
            dropped: self.exec.http_dropped.load(Ordering::Relaxed),
        }
    }
}

struct HttpLane {
    handle: tokio::runtime::Handle,
    tx: tokio::sync::mpsc::Sender<HttpJob>,
    capacity: usize,
}

struct Executor {
    rules: Rules,
    broker: WeakBroker,
    logger: Logger,
    targets: Targets,
    counters: Arc<RuleCounters>,
    http: Option<HttpLane>,
    http_queued: AtomicU64,
    http_dropped: AtomicU64,
    /// Log groups whose rule stream exists (created once per group).
    streams: Mutex<HashSet<(String, String)>>,
    /// The loop guard: messages published by rules per chain (trace id).
    chains: Mutex<Chains>,
}

#[derive(Default)]
struct Chains {
    seen: HashMap<TraceId, u32>,
    order: VecDeque<TraceId>,
}

impl Chains {
    /// Counts one more rule-published message of `trace`; `false` past the limit.
    fn admit(&mut self, trace: TraceId) -> bool {
        if let Some(n) = self.seen.get_mut(&trace) {
            *n += 1;
            return *n <= MAX_CHAIN_MESSAGES;
        }
        if self.order.len() >= CHAINS_REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(trace, 1);
        self.order.push_back(trace);
        true
    }
}

/// The publisher of one message, as the rule entries and SQL functions see it.
#[derive(Clone)]
struct Meta {
    client_id: String,
    principal_id: String,
    source_ip: Option<IpAddr>,
    /// Published over MQTT (`clientid()` and `traceid()` are defined).
    over_mqtt: bool,
    trace: TraceId,
    timestamp_ms: i64,
    log: Arc<ClientLog>,
    topic: String,
    payload: Arc<Vec<u8>>,
    properties: MqttProperties,
}

impl Meta {
    fn message(&self) -> Message {
        Message::new(self.topic.clone(), self.payload.as_slice().to_vec())
            .with_properties(self.properties.clone())
    }

    fn rule_message<'a>(&'a self, rule: &'a str) -> RuleMessage<'a> {
        RuleMessage {
            client_id: &self.client_id,
            topic_name: &self.topic,
            rule_name: rule,
            principal_id: &self.principal_id,
        }
    }
}

/// Why an action failed: the `failures[]` entry of the error message and the `RuleExecution`
/// Failure entry.
#[derive(Debug, Clone)]
struct ActionError {
    /// `reason` of the log entry.
    reason: &'static str,
    /// `failedResource`.
    resource: String,
    /// `errorMessage` (and the entry's `details`).
    message: String,
}

impl ActionError {
    fn new(reason: &'static str, resource: impl Into<String>, message: impl Into<String>) -> Self {
        ActionError {
            reason,
            resource: resource.into(),
            message: message.into(),
        }
    }
}

enum Ran {
    /// Done: the `resources` of its `RuleExecution` entry.
    Done(Vec<(&'static str, String)>),
    /// Failed.
    Failed(ActionError),
    /// Handed to the http queue: its outcome is logged when the request ends.
    Queued,
}

/// Which action of a rule is running.
#[derive(Clone, Copy)]
enum Slot {
    Action(usize),
    Error,
}

struct HttpJob {
    rule: Arc<CompiledRule>,
    slot: Slot,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    meta: Meta,
    variables: Variables,
}

impl RulesEngine {
    /// An engine over `rules`, publishing back through `broker` (held weakly), logging with
    /// `logger`, delivering to `targets`, counting into `counters` (give them to the metrics
    /// publisher as a [`CounterSource`]). With `targets.http`, call it inside that runtime's
    /// context or not — the http worker is spawned on the handle.
    pub fn new(
        rules: Rules,
        broker: WeakBroker,
        logger: Logger,
        targets: Targets,
        counters: Arc<RuleCounters>,
    ) -> (RulesEngine, EngineHandle) {
        let http = targets.http.as_ref().map(|(handle, client)| {
            let capacity = if targets.http_queue_capacity == 0 {
                DEFAULT_HTTP_QUEUE_CAPACITY
            } else {
                targets.http_queue_capacity
            };
            let (tx, rx) = tokio::sync::mpsc::channel(capacity);
            (
                HttpLane {
                    handle: handle.clone(),
                    tx,
                    capacity,
                },
                rx,
                client.clone(),
            )
        });
        let (lane, start) = match http {
            Some((lane, rx, client)) => (Some(lane), Some((rx, client))),
            None => (None, None),
        };
        let exec = Arc::new(Executor {
            rules,
            broker,
            logger,
            targets,
            counters,
            http: lane,
            http_queued: AtomicU64::new(0),
            http_dropped: AtomicU64::new(0),
            streams: Mutex::new(HashSet::new()),
            chains: Mutex::new(Chains::default()),
        });
        if let (Some((rx, client)), Some(lane)) = (start, exec.http.as_ref()) {
            lane.handle
                .spawn(http_worker(Arc::downgrade(&exec), rx, client));
        }
        let handle = EngineHandle { exec: exec.clone() };
        (
            RulesEngine {
                exec,
                component_logs: Vec::new(),
            },
            handle,
        )
    }

    fn component_log(&mut self, name: &'static str) -> Arc<ClientLog> {
        if let Some((_, log)) = self.component_logs.iter().find(|(n, _)| *n == name) {
            return log.clone();
        }
        let log = Arc::new(self.exec.logger.client(ClientIdentity {
            client_id: name.to_owned(),
            principal_id: name.to_owned(),
            source_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            source_port: 0,
            protocol: Protocol::Mqtt,
            thing_name: None,
        }));
        self.component_logs.push((name, log.clone()));
        log
    }

    fn meta(&mut self, m: &ObservedMessage) -> Meta {
        let p = m.properties();
        let properties = MqttProperties {
            payload_format_utf8: p.payload_format_utf8,
            content_type: p.content_type,
            response_topic: p.response_topic,
            correlation_data: p.correlation_data,
            user_properties: p.user_properties,
        };
        let (client_id, principal_id, source_ip, over_mqtt, log) = match &m.sender {
            Sender::Client {
                protocol,
                client_id,
                principal_id,
                source,
            } => (
                client_id.as_str().to_owned(),
                principal_id.to_string(),
                Some(source.ip()),
                *protocol == Protocol::Mqtt,
                match &m.client_log {
                    Some(l) => l.clone(),
                    None => self.component_log(COMPONENT),
                },
            ),
            Sender::Component(name) => (
                (*name).to_owned(),
                (*name).to_owned(),
                None,
                false,
                self.component_log(name),
            ),
        };
        Meta {
            client_id,
            principal_id,
            source_ip,
            over_mqtt,
            trace: m.trace_id(),
            timestamp_ms: m.timestamp_ms,
            log,
            topic: m.topic().as_str().to_owned(),
            payload: Arc::new(m.payload().to_vec()),
            properties,
        }
    }
}

impl MessageObserver for RulesEngine {
    fn on_message(&mut self, m: &ObservedMessage) {
        let table = self.exec.rules.table();
        let topic = m.topic().as_str();
        let ingest = topic.strip_prefix("$aws/rules/");
        if table.is_empty() && ingest.is_none() {
            return;
        }
        if m.sender == Sender::Component(COMPONENT) && !self.exec.chains.lock().admit(m.trace_id())
        {
            tracing::warn!(
                topic,
                trace_id = %m.trace_id(),
                "a rule chain published more than {MAX_CHAIN_MESSAGES} messages; \
                 rules are not evaluated on the rest (a rule republishing to its own topic?)"
            );
            return;
        }
        if let Some(rest) = ingest {
            let name = rest.split('/').next().unwrap_or("");
            let meta = self.meta(m);
            match table.binary_search_by(|r| r.rule.name.as_str().cmp(name)) {
                Ok(i) if !table[i].rule.disabled() => {
                    self.exec.run_rule(&table[i], &meta);
                }
                _ => self.exec.rule_not_found(name, &meta),
            }
            return;
        }
        let mut meta = None;
        for rule in table.iter() {
            // Not a Basic Ingest topic (handled above): the FROM filter decides.
            let from = rule.statement.topic_filter();
            if rule.rule.disabled() || !from.is_none_or(|f| f.matches(topic)) {
                continue;
            }
            let meta = meta.get_or_insert_with(|| self.meta(m));
            self.exec.run_rule(rule, meta);
        }
    }
}

impl Executor {
    fn broker(&self) -> Option<thingwatch_broker::Broker> {
        self.broker.upgrade()
    }

    fn scope(&self) -> &thingwatch_aws::Scope {
        self.rules.scope()
    }

    fn rule_not_found(&self, name: &str, meta: &Meta) {
        self.counters.incr("RuleNotFound", name, None);
        let details = not_found_details(name);
        self.logger
            .emit(&meta.log, RuleNotFound::NOT_FOUND, meta.trace, |_| {
                RuleNotFound {
                    message: meta.rule_message(name),
                    details: &details,
                }
            });
    }

    fn run_rule(&self, rule: &Arc<CompiledRule>, meta: &Meta) {
        let name = rule.rule.name.as_str();
        self.counters.incr("TopicMatch", name, None);
        self.logger
            .emit(&meta.log, RuleMatch::MATCHED, meta.trace, |_| RuleMatch {
                message: meta.rule_message(name),
            });
        let msg = meta.message();
        let ctx = SqlContext {
            exec: self,
            meta,
            rule: name,
        };
        let matched = match rule.statement.run(&msg, &ctx) {
            Ok(Some(m)) => m,
            Ok(None) => {
                if msg.json(rule.statement.version()).is_none() && !msg.payload().is_empty() {
                    self.counters.incr("ParseError", name, None);
                }
                return;
            }
            Err(e) => {
                // The failing function logged its FunctionExecution Failure; no action runs.
                tracing::debug!(rule = name, error = %e, "rule evaluation failed");
                return;
            }
        };
        self.counters.rules_executed.fetch_add(1, Ordering::Relaxed);
        let payload = matched.output.to_bytes();
        let mut failures = Vec::new();
        for (i, action) in rule.actions.iter().enumerate() {
            if let Some(f) = self.run_action(
                rule,
                Slot::Action(i),
                action,
                &payload,
                &msg,
                &ctx,
                &matched.variables,
            ) {
                failures.push((action, f));
            }
        }
        if !failures.is_empty() {
            self.run_error_action(rule, meta, &msg, &ctx, &matched.variables, &failures);
        }
    }

    /// Runs one action and logs its outcome; returns its failure (not for queued actions).
    #[allow(clippy::too_many_arguments)]
    fn run_action(
        &self,
        rule: &Arc<CompiledRule>,
        slot: Slot,
        action: &RuleAction,
        payload: &[u8],
        msg: &Message,
        ctx: &SqlContext<'_>,
        vars: &Variables,
    ) -> Option<ActionError> {
        let meta = ctx.meta;
        let name = rule.rule.name.as_str();
        let log_name = action.log_name();
        self.logger.emit(
            &meta.log,
            StartingRuleExecution::STARTING,
            meta.trace,
            |_| StartingRuleExecution {
                message: meta.rule_message(name),
                rule_action: &log_name,
            },
        );
        let ran = self
            .execute(rule, slot, action, payload, msg, ctx, vars)
            .unwrap_or_else(Ran::Failed);
        match ran {
            Ran::Queued => None,
            Ran::Done(resources) => {
                self.record(rule, slot, action, meta, Ok(&resources));
                None
            }
            Ran::Failed(e) => {
                self.record(rule, slot, action, meta, Err(&e));
                Some(e)
            }
        }
    }

    /// Logs an action's `RuleExecution` entry and counts its metric.
    fn record(
        &self,
        rule: &CompiledRule,
        slot: Slot,
        action: &RuleAction,
        meta: &Meta,
        outcome: Result<&[(&'static str, String)], &ActionError>,
    ) {
        let name = rule.rule.name.as_str();
        let dim = action.dimension_name();
        let metric = match (slot, outcome.is_ok()) {
            (Slot::Action(_), true) => "Success",
            (Slot::Action(_), false) => "Failure",
            (Slot::Error, true) => "ErrorActionSuccess",
            (Slot::Error, false) => "ErrorActionFailure",
        };
        self.counters.incr(metric, name, Some(&dim));
        let log_name = action.log_name();
        match outcome {
            Ok(resources) => {
                let pairs: Vec<(&str, &str)> =
                    resources.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.logger
                    .emit(&meta.log, RuleExecution::SUCCESS, meta.trace, |_| {
                        RuleExecution {
                            message: meta.rule_message(name),
                            rule_action: &log_name,
                            resources: Resources(&pairs),
                            failure: None,
                        }
                    });
            }
            Err(e) => {
                tracing::debug!(rule = name, action = %log_name, error = %e.message, "rule action failed");
                let pairs = [("Resource", e.resource.as_str())];
                self.logger
                    .emit(&meta.log, RuleExecution::FAILURE, meta.trace, |_| {
                        RuleExecution {
                            message: meta.rule_message(name),
                            rule_action: &log_name,
                            resources: Resources(&pairs),
                            failure: Some(Failure {
                                reason: e.reason,
                                details: &e.message,
                            }),
                        }
                    });
            }
        }
    }

    /// Runs the rule's `errorAction` on AWS's error message (guide, *Error handling (error
    /// action)* → *Error action message format*).
    fn run_error_action(
        &self,
        rule: &Arc<CompiledRule>,
        meta: &Meta,
        msg: &Message,
        ctx: &SqlContext<'_>,
        vars: &Variables,
        failures: &[(&RuleAction, ActionError)],
    ) {
        let Some(error_action) = &rule.error_action else {
            return;
        };
        let payload = error_message(rule, meta, failures);
        // The error action's own failure is logged and counted; it has no error action.
        let _ = self.run_action(rule, Slot::Error, error_action, &payload, msg, ctx, vars);
    }

    fn check_role(
        &self,
        action: &RuleAction,
        iam_action: &str,
        resource: &str,
    ) -> Result<(), ActionError> {
        let (Some(roles), Some(role)) = (&self.targets.roles, &action.role_arn) else {
            return Ok(());
        };
        if roles.role_allows(role, iam_action, resource) {
            return Ok(());
        }
        Err(ActionError::new(
            "AccessDenied",
            resource,
            format!(
                "User: {role} is not authorized to perform: {iam_action} on resource: {resource}"
            ),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        rule: &Arc<CompiledRule>,
        slot: Slot,
        action: &RuleAction,
        payload: &[u8],
        msg: &Message,
        ctx: &SqlContext<'_>,
        vars: &Variables,
    ) -> Result<Ran, ActionError> {
        let render = |t: &thingwatch_iotsql::Template, what: &str| {
            t.render_with(msg, ctx, vars).map_err(|e| {
                ActionError::new(
                    "SubstitutionFailure",
                    what,
                    format!("Failed to evaluate the substitution template of {what}: {e}"),
                )
            })
        };
        match &action.kind {
            ActionKind::Republish(r) => {
                let topic = render(&r.topic, "topic")?;
                let arn = Arn::iot(self.scope(), IotKind::Topic, &topic).to_string();
                self.check_role(action, "iot:Publish", &arn)?;
                let h = &r.headers;
                let opt = |t: &Option<thingwatch_iotsql::Template>, what: &str| {
                    t.as_ref().map(|t| render(t, what)).transpose()
                };
                let mut properties = PublishProperties {
                    payload_format_utf8: opt(&h.payload_format_indicator, "headers")?
                        .map(|s| s == "UTF8_DATA"),
                    content_type: opt(&h.content_type, "headers")?,
                    response_topic: opt(&h.response_topic, "headers")?,
                    correlation_data: None,
                    user_properties: Vec::new(),
                };
                if let Some(c) = opt(&h.correlation_data, "headers")? {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(c.as_bytes())
                        .map_err(|_| {
                            ActionError::new(
                                "InvalidHeader",
                                &topic,
                                "correlationData is not valid base64",
                            )
                        })?;
                    properties.correlation_data = Some(bytes);
                }
                for (k, v) in &h.user_properties {
                    properties
                        .user_properties
                        .push((render(k, "headers")?, render(v, "headers")?));
                }
                let message_expiry = match opt(&h.message_expiry, "headers")? {
                    None => None,
                    Some(s) => Some(s.trim().parse::<u32>().map_err(|_| {
                        ActionError::new(
                            "InvalidHeader",
                            &topic,
                            format!("messageExpiry {s:?} is not a number of seconds"),
                        )
                    })?),
                };
                let broker = self.broker().ok_or_else(|| {
                    ActionError::new("ServiceUnavailable", &topic, "the broker has stopped")
                })?;
                broker
                    .publish_detached(
                        Origin::Component(COMPONENT),
                        PublishRequest {
                            topic: topic.clone(),
                            payload: payload.to_vec(),
                            qos: r.qos,
                            retain: false,
                            trace_id: ctx.meta.trace,
                            message_expiry,
                            properties,
                        },
                    )
                    .map_err(|e| {
                        ActionError::new(
                            "RepublishFailure",
                            &topic,
                            format!("Failed to republish to topic {topic}: {e}"),
                        )
                    })?;
                Ok(Ran::Done(vec![("RepublishTopic", topic)]))
            }
            ActionKind::CloudwatchLogs(l) => {
                let group = render(&l.log_group_name, "logGroupName")?;
                let stream = rule.rule.name.clone();
                let arn = Arn::log_stream(self.scope(), &group, &stream).to_string();
                self.check_role(action, "logs:PutLogEvents", &arn)?;
                let store = self.targets.logs.as_ref().ok_or_else(|| {
                    ActionError::new("ServiceUnavailable", &group, "no log store")
                })?;
                let events = log_events(payload, l.batch_mode, ctx.meta.timestamp_ms)
                    .map_err(|m| ActionError::new("InvalidPayload", &group, m))?;
                self.ensure_stream(store, &group, &stream)?;
                let append: Vec<AppendEvent<'_>> = events
                    .iter()
                    .map(|(ts, m)| AppendEvent {
                        log_group: &group,
                        log_stream: &stream,
                        timestamp: *ts,
                        message: m,
                    })
                    .collect();
                store
                    .append(&append, thingwatch_events::now_ms())
                    .map_err(|e| ActionError::new("PutLogEventsFailure", &group, e.to_string()))?;
                Ok(Ran::Done(vec![("LogGroupName", group)]))
            }
            ActionKind::CloudwatchMetric(c) => {
                let namespace = render(&c.namespace, "metricNamespace")?;
                let name = render(&c.name, "metricName")?;
                let value = render(&c.value, "metricValue")?;
                let unit = render(&c.unit, "metricUnit")?;
                self.check_role(action, "cloudwatch:PutMetricData", "*")?;
                let bad = |m: String| ActionError::new("InvalidMetricData", &name, m);
                let v: f64 = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| bad(format!("metricValue {value:?} is not a number")))?;
                if !UNITS.contains(&unit.as_str()) {
                    return Err(bad(format!("metricUnit {unit:?} is not a CloudWatch unit")));
                }
                if namespace.is_empty() || namespace.starts_with("AWS/") {
                    return Err(bad(format!(
                        "The value {namespace:?} for parameter Namespace is invalid"
                    )));
                }
                let timestamp_ms = match &c.timestamp {
                    None => ctx.meta.timestamp_ms,
                    Some(t) => {
                        let s = render(t, "metricTimestamp")?;
                        let secs: i64 = s.trim().parse().map_err(|_| {
                            bad(format!("metricTimestamp {s:?} is not epoch seconds"))
                        })?;
                        secs.saturating_mul(1000)
                    }
                };
                let store = self.targets.metrics.as_ref().ok_or_else(|| {
                    ActionError::new("ServiceUnavailable", &name, "no metric store")
                })?;
                let datum = Datum {
                    metric: MetricId::new(namespace.clone(), name.clone(), Vec::new()),
                    timestamp_ms,
                    values: Values::Single(v),
                    unit,
                    storage_resolution: 60,
                };
                store
                    .put(&[datum], thingwatch_events::now_ms())
                    .map_err(|e| bad(e.to_string()))?;
                Ok(Ran::Done(vec![
                    ("MetricNamespace", namespace),
                    ("MetricName", name),
                ]))
            }
            ActionKind::CloudwatchAlarm(a) => {
                let alarm = render(&a.alarm_name, "alarmName")?;
                let reason = render(&a.state_reason, "stateReason")?;
                let state_text = render(&a.state_value, "stateValue")?;
                let arn = Arn::cloudwatch_alarm(self.scope(), &alarm).to_string();
                self.check_role(action, "cloudwatch:SetAlarmState", &arn)?;
                let state = StateValue::parse(&state_text).ok_or_else(|| {
                    ActionError::new(
                        "InvalidAlarmState",
                        &alarm,
                        format!("stateValue {state_text:?} is not OK, ALARM or INSUFFICIENT_DATA"),
                    )
                })?;
                let alarms = self.targets.alarms.as_ref().ok_or_else(|| {
                    ActionError::new("ServiceUnavailable", &alarm, "no alarm store")
                })?;
                alarms
                    .set_state(&alarm, state, &reason, None, thingwatch_events::now_ms())
                    .map_err(|e| ActionError::new("SetAlarmStateFailure", &alarm, e.to_string()))?;
                Ok(Ran::Done(vec![("AlarmName", alarm)]))
            }
            ActionKind::Http(h) => {
                let url = render(&h.url, "url")?;
                let dest = self
                    .rules
                    .destination_for_url(h.confirmation_url.as_deref().unwrap_or(&url));
                match dest {
                    Some(d)
                        if d.status == DestinationStatus::Enabled
                            && url.starts_with(&d.confirmation_url) => {}
                    Some(d) => {
                        return Err(ActionError::new(
                            "DestinationNotEnabled",
                            &url,
                            format!(
                                "The topic rule destination {} is {}, not ENABLED",
                                d.arn,
                                d.status.as_str()
                            ),
                        ));
                    }
                    None => {
                        return Err(ActionError::new(
                            "DestinationNotFound",
                            &url,
                            "No topic rule destination covers this URL",
                        ));
                    }
                }
                let mut headers = Vec::with_capacity(h.headers.len());
                for (k, v) in &h.headers {
                    headers.push((k.clone(), render(v, "headers")?));
                }
                let lane = self.http.as_ref().ok_or_else(|| {
                    ActionError::new(
                        "ServiceUnavailable",
                        &url,
                        "HTTP actions are not configured",
                    )
                })?;
                let job = HttpJob {
                    rule: rule.clone(),
                    slot,
                    url: url.clone(),
                    headers,
                    body: payload.to_vec(),
                    meta: ctx.meta.clone(),
                    variables: vars.clone(),
                };
                match lane.tx.try_send(job) {
                    Ok(()) => {
                        self.http_queued.fetch_add(1, Ordering::Relaxed);
                        Ok(Ran::Queued)
                    }
                    Err(_) => {
                        self.http_dropped.fetch_add(1, Ordering::Relaxed);
                        let name = rule.rule.name.as_str();
                        self.counters.incr("RuleMessageThrottled", name, None);
                        let details = throttled_details(name);
                        let meta = ctx.meta;
                        self.logger.emit(
                            &meta.log,
                            RuleMessageThrottled::THROTTLED,
                            meta.trace,
                            |_| RuleMessageThrottled {
                                message: meta.rule_message(name),
                                details: &details,
                            },
                        );
                        Err(ActionError::new("RuleExecutionThrottled", &url, details))
                    }
                }
            }
            ActionKind::NotHosted => Err(ActionError::new(
                "ServiceNotHosted",
                action.member,
                format!(
                    "The {} action targets a service Thingwatch does not host",
                    action.log_name()
                ),
            )),
        }
    }

    /// Creates the rule's log stream in `group` once; the group must exist (the action's
    /// role is not allowed `logs:CreateLogGroup`, as on AWS).
    fn ensure_stream(
        &self,
        store: &LogStore,
        group: &str,
        stream: &str,
    ) -> Result<(), ActionError> {
        let key = (group.to_owned(), stream.to_owned());
        if self.streams.lock().contains(&key) {
            return Ok(());
        }
        match store.create_log_stream(group, stream, thingwatch_events::now_ms()) {
            Ok(()) | Err(thingwatch_logstore::StoreError::ResourceAlreadyExists(_)) => {
                self.streams.lock().insert(key);
                Ok(())
            }
            Err(e) => Err(ActionError::new(
                "ResourceNotFound",
                group,
                format!("Failed to put log events to log group {group}: {e}"),
            )),
        }
    }

    /// The end of an http request: log and count it, and run the error action on failure.
    fn finish_http(&self, job: HttpJob, result: Result<(), ActionError>) {
        let action = match job.slot {
            Slot::Action(i) => job.rule.actions.get(i),
            Slot::Error => job.rule.error_action.as_ref(),
        };
        let Some(action) = action else { return };
        match result {
            Ok(()) => {
                let resources = [("Url", job.url.clone())];
                self.record(&job.rule, job.slot, action, &job.meta, Ok(&resources));
            }
            Err(e) => {
                self.record(&job.rule, job.slot, action, &job.meta, Err(&e));
                if let Slot::Action(_) = job.slot {
                    let msg = job.meta.message();
                    let ctx = SqlContext {
                        exec: self,
                        meta: &job.meta,
                        rule: &job.rule.rule.name,
                    };
                    self.run_error_action(
                        &job.rule,
                        &job.meta,
                        &msg,
                        &ctx,
                        &job.variables,
                        &[(action, e)],
                    );
                }
            }
        }
    }
}

/// The `cloudwatchLogs` events of one message: the payload as one event, or — `batchMode`
/// — each element of its JSON array (`{"timestamp": epoch ms, "message": text}`).
fn log_events(payload: &[u8], batch: bool, now_ms: i64) -> Result<Vec<(i64, String)>, String> {
    if !batch {
        let text = String::from_utf8(payload.to_vec())
            .unwrap_or_else(|_| base64::engine::general_purpose::STANDARD.encode(payload));
        if text.is_empty() {
            return Err("The message payload is empty".into());
        }
        return Ok(vec![(now_ms, text)]);
    }
    let records: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|_| "batchMode: the payload is not a JSON array of log records".to_string())?;
    let Some(records) = records.as_array() else {
        return Err("batchMode: the payload is not a JSON array of log records".into());
    };
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let ts = r.get("timestamp").and_then(serde_json::Value::as_i64);
        let message = match r.get("message") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err("batchMode: a log record has no \"message\"".into()),
        };
        let ts =
            ts.ok_or_else(|| "batchMode: a log record has no numeric \"timestamp\"".to_string())?;
        out.push((ts, message));
    }
    if out.is_empty() {
        return Err("batchMode: the payload holds no log record".into());
    }
    Ok(out)
}

/// AWS's error action message (guide, *Error action message format*).
fn error_message(
    rule: &CompiledRule,
    meta: &Meta,
    failures: &[(&RuleAction, ActionError)],
) -> Vec<u8> {
    let failures: Vec<serde_json::Value> = failures
        .iter()
        .map(|(a, e)| {
            serde_json::json!({
                "failedAction": a.log_name(),
                "failedResource": e.resource,
                "errorMessage": e.message,
            })
        })
        .collect();
    serde_json::json!({
        "ruleName": rule.rule.name,
        "topic": meta.topic,
        "cloudwatchTraceId": meta.trace.to_string(),
        "clientId": meta.client_id,
        "base64OriginalPayload": base64::engine::general_purpose::STANDARD.encode(meta.payload.as_slice()),
        "failures": failures,
    })
    .to_string()
    .into_bytes()
}

/// The http queue's consumer: at most [`MAX_HTTP_IN_FLIGHT`] requests at once; each result is
/// recorded on the blocking pool (the error action may write SQLite).
async fn http_worker(
    exec: std::sync::Weak<Executor>,
    mut rx: tokio::sync::mpsc::Receiver<HttpJob>,
    client: reqwest::Client,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_HTTP_IN_FLIGHT));
    while let Some(job) = rx.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let client = client.clone();
        let exec = exec.clone();
        tokio::spawn(async move {
            let result = post(&client, &job).await;
            drop(permit);
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(exec) = exec.upgrade() {
                    exec.finish_http(job, result);
                }
            })
            .await;
        });
    }
}

/// POSTs an http action's request: up to [`HTTP_ATTEMPTS`] attempts (each within
/// [`HTTP_TIMEOUT`], 100 ms then 200 ms apart) while the failure is one AWS retries —
/// a connection error, a timeout, `429` or a `5xx` — as AWS IoT does ("… after 2 retries" in
/// its error messages). `Content-Type` is `application/json` for a JSON payload and
/// `application/octet-stream` otherwise, unless a header sets it (guide, *HTTP* action).
async fn post(client: &reqwest::Client, job: &HttpJob) -> Result<(), ActionError> {
    let mut last = None;
    for attempt in 0..HTTP_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << (attempt - 1))).await;
        }
        match post_once(client, job).await {
            Ok(()) => return Ok(()),
            Err((e, retryable)) => {
                last = Some(e);
                if !retryable {
                    break;
                }
            }
        }
        if attempt + 1 == HTTP_ATTEMPTS
            && let Some(e) = last.as_mut()
        {
            e.message.push_str(&format!(" after {attempt} retries"));
        }
    }
    Err(last.unwrap_or_else(|| ActionError::new("HttpConnectionError", &job.url, "not sent")))
}

/// One attempt; the error says whether AWS would retry it.
async fn post_once(client: &reqwest::Client, job: &HttpJob) -> Result<(), (ActionError, bool)> {
    let mut req = client
        .post(&job.url)
        .timeout(HTTP_TIMEOUT)
        .body(job.body.clone());
    let has_content_type = job
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if !has_content_type {
        let json = serde_json::from_slice::<serde::de::IgnoredAny>(&job.body).is_ok();
        req = req.header(
            "content-type",
            if json {
                "application/json"
            } else {
                "application/octet-stream"
            },
        );
    }
    for (k, v) in &job.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match req.send().await {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => {
            let code = resp.status().as_u16();
            let reason = if code >= 500 {
                "HttpCode_5XX"
            } else {
                "HttpCode_4XX"
            };
            let error = ActionError::new(
                reason,
                &job.url,
                format!("The HTTP endpoint answered {code}"),
            );
            Err((error, code >= 500 || code == 429))
        }
        Err(e) if e.is_timeout() => Err((
            ActionError::new(
                "HttpRequestTimeout",
                &job.url,
                format!(
                    "The HTTP endpoint did not answer within {} ms",
                    HTTP_TIMEOUT.as_millis()
                ),
            ),
            true,
        )),
        Err(e) => Err((
            ActionError::new(
                "HttpConnectionError",
                &job.url,
                format!("Failed to send the HTTP request: {e}"),
            ),
            true,
        )),
    }
}

/// The SQL functions' view of the publisher, and the functions that call services.
struct SqlContext<'a> {
    exec: &'a Executor,
    meta: &'a Meta,
    rule: &'a str,
}

impl SqlContext<'_> {
    /// Logs a function's `FunctionExecution` entry (DEBUG, with `reason`/`details` on failure).
    fn function<T>(
        &self,
        function: &str,
        resources: &[(&str, &str)],
        result: Result<T, String>,
    ) -> Result<T, String> {
        let meta = self.meta;
        let (outcome, failure) = match &result {
            Ok(_) => (FunctionExecution::CALLED, None),
            Err(e) => (
                FunctionExecution::CALLED,
                Some(Failure {
                    reason: "FunctionExecutionFailure",
                    details: e.as_str(),
                }),
            ),
        };
        self.exec
            .logger
            .emit(&meta.log, outcome, meta.trace, |_| FunctionExecution {
                message: RuleMessage {
                    client_id: "N/A",
                    ..meta.rule_message(self.rule)
                },
                rule_action: function,
                resources: Resources(resources),
                failure,
            });
        result
    }
}

impl Context for SqlContext<'_> {
    fn clientid(&self) -> Option<String> {
        self.meta.over_mqtt.then(|| self.meta.client_id.clone())
    }
    fn principal(&self) -> Option<String> {
        Some(self.meta.principal_id.clone())
    }
    fn timestamp(&self) -> i64 {
        self.meta.timestamp_ms
    }
    fn traceid(&self) -> Option<String> {
        self.meta.over_mqtt.then(|| self.meta.trace.to_string())
    }
    fn accountid(&self) -> String {
        self.exec.scope().account_id.clone()
    }
    fn sourceip(&self) -> Option<String> {
        self.meta.source_ip.map(|ip| ip.to_string())
    }
    fn get_thing_shadow(
        &self,
        thing_name: &str,
        shadow_name: Option<&str>,
        role_arn: &str,
    ) -> Result<Value, String> {
        let arn = Arn::iot(self.exec.scope(), IotKind::Thing, thing_name).to_string();
        let result = (|| {
            if let Some(roles) = &self.exec.targets.roles
                && !roles.role_allows(role_arn, "iot:GetThingShadow", &arn)
            {
                return Err(format!(
                    "User: {role_arn} is not authorized to perform: iot:GetThingShadow on resource: {arn}"
                ));
            }
            let reader = self
                .exec
                .targets
                .shadows
                .as_ref()
                .ok_or_else(|| "the Device Shadow service is not available".to_string())?;
            let doc = reader.get_shadow(thing_name, shadow_name)?;
            Value::from_json_slice(&doc).ok_or_else(|| "the shadow document is not JSON".into())
        })();
        self.function("GetThingShadow", &[("ThingName", thing_name)], result)
    }
    fn aws_lambda(&self, function_arn: &str, _input: &Value) -> Result<Value, String> {
        self.function(
            "Lambda",
            &[("FunctionArn", function_arn)],
            Err("AWS Lambda is not hosted by Thingwatch".into()),
        )
    }
    fn get_dynamodb(
        &self,
        table: &str,
        _keys: &[(String, Value)],
        _role_arn: &str,
    ) -> Result<Value, String> {
        self.function(
            "DynamoDB",
            &[("TableName", table)],
            Err("Amazon DynamoDB is not hosted by Thingwatch".into()),
        )
    }
    fn get_secret(
        &self,
        secret_id: &str,
        _secret_type: &str,
        _key: Option<&str>,
        _role_arn: &str,
    ) -> Result<Value, String> {
        self.function(
            "SecretsManager",
            &[("SecretId", secret_id)],
            Err("AWS Secrets Manager is not hosted by Thingwatch".into()),
        )
    }
    fn machinelearning_predict(
        &self,
        model_id: &str,
        _role_arn: &str,
        _record: &Value,
    ) -> Result<Value, String> {
        self.function(
            "MachinelearningPredict",
            &[("ModelId", model_id)],
            Err("Amazon Machine Learning is not hosted by Thingwatch".into()),
        )
    }
}
